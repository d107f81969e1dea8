/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tuntap router, as the emperor sees it: one tun device in the host's
 * network namespace and the vassals' networks behind it, bridged in
 * userspace on the emperor's libev loop. Every packet is classified
 * (tuntap/pkt.h), its source checked against the addresses of the peer it
 * came from (anti-spoofing), judged by the firewall (tuntap/fw.h: the
 * emperor's rules, then the vassals' own, which can only deny more;
 * vassal-to-vassal denied unless a rule allows it) and routed: to the
 * vassal owning the destination, else out of the host device; from the host
 * device, to the vassal owning the destination, else dropped (no route).
 *
 * Peers come two ways:
 *  - our own vassals hand the router their tun device's descriptor (created
 *    in their network namespace, through their control channel): packets
 *    move tun to tun with no socket hop; their addresses are the `tuntap-ip`
 *    values of their file, given by the emperor, never learnt from packets;
 *  - anything else (a uWSGI instance with `tuntap-device = DEV SOCKET`)
 *    connects to SOCKET and speaks uWSGI's framing (tuntap/frame.h); such a
 *    peer's address is learnt from its first packet's source, must lie in a
 *    `tuntap-router-ip` network and must not be anyone else's; later packets
 *    from another source are spoofed. Rule blocks (modifier2 1) are ignored:
 *    rules never come from a tenant. Per-peer queues are bounded; a peer that
 *    keeps sending malformed frames is disconnected.
 * An address is never taken from a peer that has it: a second claimant is
 * refused, never allowed to evict the first.
 */
#ifndef TUNTAP_TUNTAP_H
#define TUNTAP_TUNTAP_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/err.h"
#include "core/json.h"
#include "tuntap/fw.h"
#include "tuntap/pkt.h"

#define TT_DEV_MAX 16            /* IFNAMSIZ */
#define TT_PATH_MAX 108          /* a unix socket path */
#define TT_MAX_IPS 8             /* `tuntap-router-ip`, `tuntap-ip` values */
#define TT_MTU_DEFAULT 65520
#define TT_MTU_MIN 1280          /* IPv6's minimum */
#define TT_MTU_MAX 65535

/* An address with its prefix length (`tuntap-router-ip`, `tuntap-ip`). */
struct tt_cidr {
	uint8_t family;          /* TT_IPV4 or TT_IPV6 */
	union tt_ip ip;          /* as in tuntap/pkt.h: IPv4 as ::ffff:a.b.c.d */
	uint8_t prefix;          /* 0..32 or 0..128 */
};

/* tt_cidr_parse - "10.0.0.1/24", "fd00::1/64"; a bare address gets /32 or
 * /128. Returns 0, or -1 with *err saying why. */
int tt_cidr_parse(const char *s, struct tt_cidr *out, struct err **err);

#define TT_GW_ROUTES_MAX 32 /* `tuntap-router-route` values */
#define TT_GW_KEY_LEN 32     /* the gateway's pre-shared key */

/* `tuntap-router-route = CIDR ADDR`: packets for CIDR go to the remote
 * router whose gateway is ADDR (see tuntap/gateway.h). */
struct tt_gw_route {
	struct tt_cidr net;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	char peer_text[64];  /* ADDR as written */
};

/* The emperor's [emperor] keys for the router. */
struct tt_config {
	bool enabled;                        /* `tuntap-router` given */
	char dev[TT_DEV_MAX];                /* host tun device name */
	char socket[TT_PATH_MAX];            /* unix stream socket for framed peers */
	char stats[TT_PATH_MAX];             /* 3rd field: accepted for uWSGI's syntax, "" */
	char gateway[64];                    /* 4th field: UDP gateway address; "" = none */
	struct tt_gw_route routes[TT_GW_ROUTES_MAX]; /* `tuntap-router-route` */
	size_t n_routes;
	uint8_t gw_key[TT_GW_KEY_LEN];       /* `tuntap-router-gateway-key` FILE's key */
	bool gw_key_set;
	struct tt_cidr ips[TT_MAX_IPS];      /* `tuntap-router-ip` on the host device */
	size_t n_ips;
	uint32_t mtu;                        /* `tuntap-mtu` (default TT_MTU_DEFAULT) */
	struct tt_fw_list fw_in, fw_out;     /* `tuntap-router-firewall-in` / `-out` */
	enum tt_fw_action policy_in, policy_out; /* `-in-policy` / `-out-policy` (allow) */
	uint32_t max_peers;                  /* `tuntap-router-max-peers` (default 1024) */
	uint32_t queue_max;                  /* `tuntap-router-queue` bytes per framed peer (1 MiB) */
};

/* The [emperor] keys the router reads, NULL-terminated. */
extern const char *const tt_config_keys[];

/* tt_config_defaults - every field to its default (not enabled). */
void tt_config_defaults(struct tt_config *c);

/*
 * tt_config_read - read one [emperor] entry if it is a router key. Returns
 * 1 when it was and is valid, 0 when it is not a router key, -1 with *err
 * "FILE:LINE: KEY: why".
 */
int tt_config_read(struct tt_config *c, const struct cfg *f, const struct cfg_entry *e,
		   struct err **err);

/* tt_config_free - the firewall lists. */
void tt_config_free(struct tt_config *c);

struct tt;

/*
 * tt_new - create the host tun device, give it its `tuntap-router-ip`
 * addresses and bring it up (libnl), bind the framing socket, and start on
 * @loop. The firewall lists of @c are moved into the router (@c's become
 * empty). Returns NULL with *err naming what failed.
 */
struct tt *tt_new(struct ev_loop *loop, struct tt_config *c, struct err **err);

/* tt_free - close every peer and the devices (NULL is a no-op). */
void tt_free(struct tt *t);

/*
 * tt_set_rules - replace the emperor's firewall lists and policies (the
 * emperor's config was reloaded); peers stay connected. The lists of @c are
 * moved in.
 */
void tt_set_rules(struct tt *t, struct tt_config *c);

/* What a vassal's file says about its network (vassal side keys). */
struct tt_vassal_net {
	char dev[TT_DEV_MAX];                /* `tuntap-device` DEV */
	char socket[TT_PATH_MAX];            /* `tuntap-device` SOCKET */
	struct tt_cidr ips[TT_MAX_IPS];      /* `tuntap-ip` */
	size_t n_ips;
	struct tt_cidr gw4, gw6;             /* `tuntap-gateway` (family 0: none) */
	struct tt_fw_list fw;                /* `tuntap-firewall` */
};

/* The vassal file keys of the tuntap device, NULL-terminated. */
extern const char *const tt_vassal_keys[];

/*
 * tt_vassal_net_read - the vassal's tuntap keys from @c into *out (zeroed
 * first). Returns 1 when the vassal has `tuntap-device`, 0 when it has no
 * tuntap key at all, -1 with *err "FILE:LINE: KEY: why" (also for
 * `tuntap-ip` without `tuntap-device`).
 */
int tt_vassal_net_read(const struct cfg *c, struct tt_vassal_net *out, struct err **err);
void tt_vassal_net_free(struct tt_vassal_net *n);

struct tt_peer;

/*
 * tt_attach - take vassal @name's tun descriptor @fd (ownership passes to
 * the router) with the addresses and rules of @net (copied). Refused with
 * *err (and @fd closed) when an address is already another peer's.
 */
struct tt_peer *tt_attach(struct tt *t, const char *name, int fd,
			  const struct tt_vassal_net *net, struct err **err);

/* tt_detach - forget a vassal's peer and close its descriptor (NULL: no-op). */
void tt_detach(struct tt_peer *p);

/* tt_socket_path - the framing socket's path, for the emperor to tell a
 * vassal that its `tuntap-device` SOCKET is this router. */
const char *tt_socket_path(const struct tt *t);

/* tt_stats_json - the router and every peer: packets and bytes in/out, drops
 * by reason (firewall, spoof, malformed, no_route, queue_full); null for a
 * NULL router. */
void tt_stats_json(struct tt *t, struct json *j);

/* tt_stats_prometheus - the same figures as Prometheus text (peers, packets
 * and bytes per peer and direction, drops by reason); nothing for NULL.
 * Returns 0, or -1 when @o could not grow. */
int tt_stats_prometheus(struct tt *t, struct buf *o);

#endif
