/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the tuntap router's files share: the router and peer structs, the
 * address table (address -> peer), counters and log slots, and the calls
 * between the files:
 *  - router.c: setup and teardown, the host device, rules, vassals' tun
 *    descriptors (attach, detach), the address table, logs, stats;
 *  - path.c: the packet path: tun reads (the host device's, the vassals'),
 *    classification, anti-spoofing, the firewall, delivery;
 *  - peers.c: framed (uWSGI) socket peers: the listening socket, frames in,
 *    bounded output queues.
 * The per-packet helpers (the table lookup, drop counting) are inline.
 *
 * Tun devices carry a struct virtio_net_hdr (the 10-byte one) in front of
 * every packet (IFF_VNET_HDR): the host device always, a vassal's when its
 * jail made it so. Checksum and segmentation offloads (TSO, USO: packets
 * of up to 64 KiB) are on for all of them, whatever the MTU, as far as the
 * kernel takes them. Framed peers, the gateway and a tun device without the
 * header take plain packets: for them a partial checksum is completed and a
 * segmentation-offload packet cut into whole packets here (gso.h).
 */
#ifndef TUNTAP_INTERNAL_H
#define TUNTAP_INTERNAL_H

#include <ev.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/log.h"
#include "tuntap/frame.h"
#include "tuntap/gateway.h"
#include "tuntap/tuntap.h"

#define TT_BATCH 64    /* packets per wakeup */
#define TT_BAD_RUN 100 /* malformed packets in a row before a framed peer goes */
/* A tun read: the virtio_net_hdr (10 bytes, without num_buffers), then any
 * IP packet, which starts TT_RX_PKT bytes into the buffer: the kernel's
 * copies to and from a cache-line-aligned packet are faster. */
#define TT_VNET_LEN sizeof(struct virtio_net_hdr)
#define TT_RX_PKT 64
#define TT_RX_BUF (TT_RX_PKT + 65536)
#define TT_LOG_WINDOW 5.0 /* seconds: at most TT_LOG_BURST lines of one reason in each */
#define TT_LOG_BURST 10
#define TT_ACCEPT_RETRY 1.0 /* seconds the listener pauses when out of descriptors */
/* uWSGI reads a frame into a buffer of TT_FRAME_UWSGI_BUF bytes: larger
 * packets are never sent to a framed peer. */
#define TT_FRAMED_PKT_MAX (TT_FRAME_UWSGI_BUF - TT_FRAME_HDR_LEN)

enum tt_drop {
	TT_DROP_FIREWALL,
	TT_DROP_SPOOF,
	TT_DROP_MALFORMED,
	TT_DROP_NO_ROUTE,
	TT_DROP_QUEUE_FULL,
	TT_DROP_TOO_BIG, /* over what a framed (uWSGI) peer can read */
	TT_DROP__COUNT
};

enum tt_refuse { TT_REF_DUPLICATE, TT_REF_MAX_PEERS, TT_REF__COUNT };

/* Log rate-limit slots, one per reason. */
enum tt_log {
	TT_LOG_SPOOF,
	TT_LOG_REFUSED,
	TT_LOG_MALFORMED,  /* a malformed packet dropped */
	TT_LOG_DISCONNECT, /* a framed peer dropped for its frames */
	TT_LOG_CLOSED,
	TT_LOG_IO,
	TT_LOG_LEARNT,
	TT_LOG__COUNT
};

struct tt_counters {
	uint64_t packets_in, bytes_in;	 /* received from it */
	uint64_t packets_out, bytes_out; /* delivered to it */
	uint64_t drops[TT_DROP__COUNT];
};

struct tt_peer {
	struct tt *t;
	struct tt_peer *prev, *next;
	struct tt_peer *dirty_next; /* framed peers with output to flush */
	bool dirty, framed, closing, down;
	bool vnet; /* a tun device with a virtio_net_hdr */
	char name[96];
	int fd;
	pid_t pid;
	ev_io rio, wio;
	struct tt_addr_set addrs;
	struct tt_fw_list fw; /* the vassal's own rules; empty for a framed peer */
	uint8_t *in;	      /* framed: bytes received, from a frame boundary */
	size_t in_len, in_cap;
	uint8_t *out; /* framed: frames to send, out[head..len) */
	size_t out_head, out_len, out_cap;
	unsigned bad_run;
	uint64_t rules_ignored;
	struct tt_counters c;
};

struct tt_slot {
	union tt_ip ip;
	uint8_t family;
	struct tt_peer *p; /* NULL: empty */
};

/* Address -> peer, open addressing with linear probing. */
struct tt_map {
	struct tt_slot *s;
	size_t cap, n; /* cap a power of two, n <= cap / 2 */
};

struct tt {
	struct ev_loop *loop;
	struct tt_config cfg;
	int dev_fd, ifindex, lfd;
	ev_io dev_io, lio;
	ev_timer accept_retry;
	uint8_t *rx; /* TT_RX_BUF bytes, 64-byte aligned */
	struct tt_peer *peers, *dirty;
	uint32_t n_peers;
	uint64_t next_id;
	struct tt_map map;
	struct tt_counters host; /* in: read from the host device, out: written to it */
	uint64_t drops[TT_DROP__COUNT];
	uint64_t refused[TT_REF__COUNT];
	uint64_t disconnected; /* framed peers dropped for their frames */
	struct tt_gw *gw;      /* the UDP gateway, NULL when none */
	bool gso;	       /* segmentation offload is on (see the top) */
	uint8_t *gso_buf;      /* TT_GSO_SCRATCH bytes for tt_gso_segment */
	uint64_t segmented;    /* whole packets cut from offload ones, for plain readers */
	unsigned offloads;     /* TUN_F_* the kernel took on the host device */
	struct {
		double start;	     /* of the current window */
		unsigned lines;	     /* written in it */
		uint64_t suppressed; /* not written since the last line */
	} log[TT_LOG__COUNT];
};

/* ---- the address table (per packet: inline) ---- */

static inline size_t tt_map_slot(const struct tt_map *m, uint8_t family, const union tt_ip *ip)
{
	uint64_t h = (ip->q[0] * 0x9e3779b97f4a7c15ull) ^ (ip->q[1] + family);
	h *= 0xff51afd7ed558ccdull;
	return (size_t)(h >> 32) & (m->cap - 1);
}

static inline struct tt_peer *tt_map_find(const struct tt_map *m, uint8_t family,
					  const union tt_ip *ip)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = tt_map_slot(m, family, ip);; i = (i + 1) & (m->cap - 1)) {
		const struct tt_slot *s = &m->s[i];
		if (s->p == NULL)
			return NULL;
		if (s->family == family && s->ip.q[0] == ip->q[0] && s->ip.q[1] == ip->q[1])
			return s->p;
	}
}

/* Count a drop for the router and for @p (the sender or the destination). */
static inline void tt_count_drop(struct tt *t, struct tt_peer *p, enum tt_drop why)
{
	t->drops[why]++;
	if (p != NULL)
		p->c.drops[why]++;
}

/* ---- router.c ---- */

/* tt_map_insert - add @ip -> @p; room must have been reserved. */
void tt_map_insert(struct tt_map *m, uint8_t family, const union tt_ip *ip, struct tt_peer *p);
/* tt_map_reserve - room for @more entries (at attach time, never per
 * packet). Returns 0, or -1 when out of memory. */
int tt_map_reserve(struct tt_map *m, size_t more);
/* tt_map_remove - forget @ip (absent: no-op). */
void tt_map_remove(struct tt_map *m, uint8_t family, const union tt_ip *ip);

/* tt_ip_text - @ip as text (dotted quad for TT_IPV4) into out[0..n). */
void tt_ip_text(uint8_t family, const union tt_ip *ip, char *out, size_t n);

/* tt_peer_log - a line about @p ("tuntap: NAME: ..."), rate-limited per
 * @why: at most TT_LOG_BURST lines of one kind every TT_LOG_WINDOW s. */
void tt_peer_log(struct tt *t, enum log_level level, enum tt_log why, const struct tt_peer *p,
		 const char *fmt, ...) PRINTF_LIKE(5, 6);

/* tt_peer_alloc - a zeroed peer on @t's list with descriptor @fd; NULL
 * when out of memory. */
struct tt_peer *tt_peer_alloc(struct tt *t, int fd);
/* tt_peer_free - take @p off every list and table, close and free it. */
void tt_peer_free(struct tt_peer *p);
/* tt_peer_close - log why a framed peer goes, then tt_peer_free. */
void tt_peer_close(struct tt_peer *p, enum tt_log kind, const char *why);

/* tt_offload_set - give tun descriptor @fd the offloads of @t's current
 * state (checksum; segmentation when t->gso). Returns 0, or -1 (errno). */
int tt_offload_set(const struct tt *t, int fd);

/* ---- path.c ---- */

/* tt_vnet_check - judge the virtio_net_hdr @h read with the classified
 * packet pkt[0..len) (@k from tt_pkt_classify) on a device of MTU @mtu:
 * known flags and segmentation types only, the type matching the packet
 * (TCP over IPv4 or IPv6, UDP; never a fragment), a segment size of 1 to
 * @mtu, hdr_len within the packet, a partial checksum (required with
 * segmentation) inside the upper-layer header's place; a packet without
 * segmentation no longer than @mtu. Returns NULL when good, else a short
 * reason for logs. Reads nothing outside pkt[0..len). */
const char *tt_vnet_check(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
			  uint32_t mtu, const struct tt_pkt *k);
/* tt_vnet_csum - complete the partial checksum @h asks for in pkt[0..len)
 * (which tt_vnet_check accepted) and clear VIRTIO_NET_HDR_F_NEEDS_CSUM in
 * @h: the packet is then whole for any reader. No-op without the flag. */
void tt_vnet_csum(struct virtio_net_hdr *h, uint8_t *pkt, size_t len);

/* tt_dev_read_cb - the host device is readable: up to TT_BATCH packets. */
void tt_dev_read_cb(struct ev_loop *loop, ev_io *w, int revents);
/* tt_tun_read_cb - a vassal's tun descriptor is readable: up to TT_BATCH
 * packets; on an error it stops being read and the peer is marked down. */
void tt_tun_read_cb(struct ev_loop *loop, ev_io *w, int revents);
/* tt_from_peer - judge and route one packet from @src (any kind of peer).
 * A framed peer to be refused gets ->closing. */
void tt_from_peer(struct tt *t, struct tt_peer *src, const uint8_t *pkt, size_t len);
/* tt_from_gateway - the gateway's tt_gw_deliver_fn (@arg is the router): a
 * packet from a remote router, routed as if from the host device. */
enum tt_gw_drop tt_from_gateway(void *arg, const uint8_t *pkt, size_t len,
				const struct tt_pkt *k);
/* tt_is_router_ip - @ip is one of the host device's own addresses. */
bool tt_is_router_ip(const struct tt *t, uint8_t family, const union tt_ip *ip);

/* ---- peers.c ---- */

/* tt_listen - bind and listen on the framing socket, start accepting.
 * Returns 0, or -1 with *err. */
int tt_listen(struct tt *t, struct err **err);
/* tt_enqueue - frame one packet into framed peer @p's output queue (a
 * drop, counted, when it does not fit or is too big for a uWSGI peer). */
void tt_enqueue(struct tt *t, struct tt_peer *p, const uint8_t *pkt, size_t len);
/* tt_flush_dirty - write out every framed peer that got packets in this
 * wakeup; close the broken ones. */
void tt_flush_dirty(struct tt *t);

#endif
