/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tuntap router's UDP gateway: packets for networks routed to a remote
 * router (`tuntap-router-route = CIDR ADDR`) travel to it sealed in UDP
 * datagrams, so two emperors can join their vassal networks over a wire
 * they do not trust.
 *
 * A datagram is
 *
 *     magic (1) | sender id (4) | counter (8) | ciphertext (n) | tag (16)
 *
 * sealed with ChaCha20-Poly1305: nonce = sender id || counter, associated
 * data = the 13 header bytes, plaintext = one IP packet. ChaCha20-Poly1305
 * rather than AES-256-GCM: it is constant-time in software on any CPU
 * (virtual machines often hide AES-NI), its 96-bit nonce is exactly the
 * 4 + 8 header bytes, and a failed tag check costs no more than a good one.
 * The key is not the pre-shared key itself but one derived from it with
 * HKDF-SHA256 (fixed salt and info naming this protocol and version), so
 * the same secret could later serve another purpose without two uses
 * sharing a key. Both ends derive the same key; directions are kept apart
 * by the sender id, chosen at random at every start, and nonces are never
 * reused because the counter starts at the realtime clock in nanoseconds
 * and only grows: a restart that drew the same sender id again still
 * starts past every counter it used before (unless the clock went back).
 *
 * The receiver checks, in order: the length and magic, the tag (a failure
 * is a tampered or forged datagram), the replay window of that sender id
 * (TT_GW_WINDOW counters; older or repeated ones are refused), then the
 * packet: it must classify (tuntap/pkt.h) and its source must lie in a
 * network routed to the router the datagram came from, else it is a spoof.
 * Sender ids are kept per remote router in a table of TT_GW_SENDERS; a new
 * id past that evicts the least recently seen one and raises the table's
 * floor to that sender's highest counter, so a recorded datagram of an
 * evicted sender is still refused (a new sender's first counter must be
 * above the floor; with clocks as counters a restarted router passes it).
 *
 * Packets larger than a datagram can carry (TT_GW_PKT_MAX) are dropped and
 * counted, never fragmented: set the vassals' MTU (`tuntap-mtu`) at or
 * below the underlay's path MTU minus TT_GW_OVERHEAD and the IP and UDP
 * headers, or let the underlay fragment the datagrams.
 *
 * The pure part (seal, open, the replay window and sender table) touches no
 * socket and allocates nothing per datagram; the socket part is a thin
 * layer on the emperor's libev loop.
 */
#ifndef TUNTAP_GATEWAY_H
#define TUNTAP_GATEWAY_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/json.h"
#include "tuntap/pkt.h"
#include "tuntap/tuntap.h"

#define TT_GW_MAGIC 0xb1 /* version 1 of the datagram format */
#define TT_GW_HDR 13	 /* magic, sender id, counter */
#define TT_GW_TAG 16
#define TT_GW_OVERHEAD (TT_GW_HDR + TT_GW_TAG)
#define TT_GW_UDP_MAX 65507 /* the largest UDP payload over IPv4 */
#define TT_GW_PKT_MAX (TT_GW_UDP_MAX - TT_GW_OVERHEAD)
#define TT_GW_WINDOW 1024 /* counters a sender may be out of order by */
#define TT_GW_SENDERS 16  /* sender ids remembered per remote router */

/* Why a datagram or a packet for the gateway was refused. */
enum tt_gw_drop {
	TT_GW_OK = 0,
	TT_GW_SHORT,	    /* shorter than header + tag */
	TT_GW_MAGIC_BAD,    /* not our format or version */
	TT_GW_AUTH,	    /* the tag does not verify: tampered, forged, wrong key */
	TT_GW_REPLAY,	    /* a counter already seen from that sender */
	TT_GW_OLD,	    /* a counter behind the sender's window, or under the floor */
	TT_GW_MALFORMED,    /* the packet inside does not classify */
	TT_GW_SPOOF,	    /* its source is not in a network routed to that router */
	TT_GW_UNKNOWN_PEER, /* from an address that is no route's ADDR */
	TT_GW_TOO_BIG,	    /* a packet over TT_GW_PKT_MAX, not sent */
	TT_GW_SEND,	    /* sendto failed (a full socket buffer included) */
	TT_GW_NO_ROUTE,	    /* received for an address no local vassal has */
	TT_GW_FIREWALL,	    /* received, denied by the `in` rules */
	TT_GW__COUNT
};

/* tt_gw_drop_name - stable name for stats ("auth", "replay", ...);
 * "unknown" outside the enum. */
const char *tt_gw_drop_name(enum tt_gw_drop d);

/* ---- the pure core ---- */

/* The derived key, in two cipher contexts (seal, open). */
struct tt_gw_crypt {
	void *seal, *open; /* EVP_CIPHER_CTX */
};

/*
 * tt_gw_crypt_init - derive the datagram key from the 32-byte @psk (HKDF)
 * and set up both contexts. Returns 0, or -1 with *err (OpenSSL failed).
 */
int tt_gw_crypt_init(struct tt_gw_crypt *k, const uint8_t psk[32], struct err **err);

/* tt_gw_crypt_free - both contexts, key material wiped (a zeroed struct is
 * a no-op). */
void tt_gw_crypt_free(struct tt_gw_crypt *k);

/*
 * tt_gw_seal - seal @pkt[0..len) as sender @sender with @counter into
 * @out[0..cap). Returns the datagram's length (len + TT_GW_OVERHEAD), or -1
 * when @len is over TT_GW_PKT_MAX, @cap is too small or OpenSSL failed.
 */
long tt_gw_seal(struct tt_gw_crypt *k, uint32_t sender, uint64_t counter, const uint8_t *pkt,
		size_t len, uint8_t *out, size_t cap);

/* What a datagram's header says (valid once its tag verified). */
struct tt_gw_hdr {
	uint32_t sender;
	uint64_t counter;
};

/*
 * tt_gw_open - check the datagram @dg[0..len) and decrypt its packet into
 * @out[0..cap). Returns the packet's length (>= 0) with *h filled, or
 * -TT_GW_SHORT, -TT_GW_MAGIC_BAD, -TT_GW_AUTH (also when @cap is too
 * small). Reads nothing outside @dg; @out holds garbage after a failure.
 * The replay window is the caller's (tt_gw_senders_accept).
 */
long tt_gw_open(struct tt_gw_crypt *k, const uint8_t *dg, size_t len, uint8_t *out, size_t cap,
		struct tt_gw_hdr *h);

/* One sender's sliding window: counter @top and the TT_GW_WINDOW below it. */
struct tt_gw_window {
	uint64_t top;
	uint64_t bits[TT_GW_WINDOW / 64]; /* bit (c % TT_GW_WINDOW) set: seen */
};

/* The sender ids of one remote router. */
struct tt_gw_senders {
	struct {
		uint32_t id;
		bool used;
		uint64_t seen; /* tick of its last datagram, for eviction */
		struct tt_gw_window w;
	} s[TT_GW_SENDERS];
	uint64_t tick;
	uint64_t floor;	  /* a new sender's counter must be above it */
	uint64_t evicted; /* senders evicted so far */
};

/*
 * tt_gw_senders_accept - whether an authenticated datagram @h is fresh:
 * TT_GW_OK (and recorded as seen), TT_GW_REPLAY or TT_GW_OLD. Call only
 * after its tag verified: a forged header must not move a window.
 */
enum tt_gw_drop tt_gw_senders_accept(struct tt_gw_senders *t, const struct tt_gw_hdr *h);

/* ---- the gateway on the loop ---- */

struct tt_gw;

/* tt_gw_configured - whether @c has any gateway key (GATEWAY, a route, a
 * key file): then the router starts one with tt_gw_new. */
bool tt_gw_configured(const struct tt_config *c);

/* The router's hook for a packet received, checked and classified: route it
 * as if it came from the host device (the `in` rules, then the vassal owning
 * its destination). Returns TT_GW_OK, TT_GW_NO_ROUTE or TT_GW_FIREWALL, for
 * the gateway's counters. */
typedef enum tt_gw_drop (*tt_gw_deliver_fn)(void *arg, const uint8_t *pkt, size_t len,
					    const struct tt_pkt *k);

/*
 * tt_gw_new - bind the UDP socket of @c->gateway and start reading it on
 * @loop; received packets go to @deliver(@arg, ...). @c must have a key and
 * routes whose ADDR is of the gateway's family. Returns NULL with *err
 * (also when @c has routes or a key but no gateway).
 */
struct tt_gw *tt_gw_new(struct ev_loop *loop, const struct tt_config *c, tt_gw_deliver_fn deliver,
			void *arg, struct err **err);

/* tt_gw_free - close the socket, wipe the key (NULL is a no-op). */
void tt_gw_free(struct tt_gw *g);

/*
 * tt_gw_route_out - the router's hook for a packet leaving a vassal for no
 * local peer (after the `out` firewall): when its destination lies in a
 * routed network (longest prefix first), seal and send it to that route's
 * router and return true (sent, or dropped and counted); false when no
 * route matches (the packet goes to the host device). NULL @g: false.
 */
bool tt_gw_route_out(struct tt_gw *g, const uint8_t *pkt, size_t len, const struct tt_pkt *k);

/* tt_gw_stats_json - the gateway's address, routes, datagrams and bytes
 * in/out, drops by reason, senders seen; null for NULL. */
void tt_gw_stats_json(const struct tt_gw *g, struct json *j);

#endif
