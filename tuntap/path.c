/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The tuntap router's packet path: reads from the host device and from the
 * vassals' tun descriptors, and for every packet (these and framed peers'
 * alike, peers.c hands those over) the checks, in order: classification
 * (pkt.h: a malformed packet is dropped), the source against the sender's
 * addresses (anti-spoofing; a framed peer without an address learns it
 * here), the firewall (fw.h), then delivery: to the peer owning the
 * destination, else out of the host device; from the host device, to the
 * peer owning the destination, else dropped (no route).
 *
 * A wakeup reads up to TT_BATCH packets, so one busy peer cannot starve the
 * others; framed peers that got packets during a batch are flushed once at
 * its end (tt_flush_dirty). Nothing blocks: tun descriptors are nonblocking
 * and a write that cannot go through drops the packet (counted).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "tuntap/internal.h"

/* ---- the packet path: delivery ---- */

static bool write_failed_soft(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == ENOMEM;
}

static void to_host(struct tt *t, const uint8_t *pkt, size_t len)
{
	ssize_t w = write(t->dev_fd, pkt, len);
	if (w == (ssize_t)len) {
		t->host.packets_out++;
		t->host.bytes_out += len;
	} else {
		tt_count_drop(t, NULL,
			      w < 0 && write_failed_soft(errno) ? TT_DROP_QUEUE_FULL
								: TT_DROP_NO_ROUTE);
	}
}

static void deliver(struct tt *t, struct tt_peer *p, const uint8_t *pkt, size_t len)
{
	if (p->framed) {
		tt_enqueue(t, p, pkt, len);
		return;
	}
	ssize_t w = write(p->fd, pkt, len);
	if (w == (ssize_t)len) {
		p->c.packets_out++;
		p->c.bytes_out += len;
		return;
	}
	int e = w < 0 ? errno : EIO;
	tt_count_drop(t, p, write_failed_soft(e) ? TT_DROP_QUEUE_FULL : TT_DROP_NO_ROUTE);
	if (!write_failed_soft(e))
		tt_peer_log(t, LOGL_WARN, TT_LOG_IO, p, "writing to its tun device: %s",
			    strerror(e));
}

/* ---- the packet path: judging and routing ---- */

static void from_host(struct tt *t, const uint8_t *pkt, size_t len)
{
	struct tt_pkt k;
	t->host.packets_in++;
	t->host.bytes_in += len;
	if (tt_pkt_classify(pkt, len, &k) != TT_PKT_OK) {
		tt_count_drop(t, NULL, TT_DROP_MALFORMED);
		return;
	}
	struct tt_peer *dst = tt_map_find(&t->map, k.family, &k.dst);
	if (dst == NULL) {
		tt_count_drop(t, NULL, TT_DROP_NO_ROUTE);
		return;
	}
	if (tt_fw_check(&t->cfg.fw_in, t->cfg.policy_in, &dst->fw, NULL, &k, 0) == TT_FW_DENY) {
		tt_count_drop(t, dst, TT_DROP_FIREWALL);
		return;
	}
	deliver(t, dst, pkt, len);
}

static bool in_router_net(const struct tt *t, uint8_t family, const union tt_ip *ip)
{
	for (size_t i = 0; i < t->cfg.n_ips; i++) {
		const struct tt_cidr *c = &t->cfg.ips[i];
		if (c->family != family)
			continue;
		unsigned bits = (family == TT_IPV4 ? 96u : 0u) + c->prefix, full = bits / 8;
		if (memcmp(c->ip.b, ip->b, full) != 0)
			continue;
		if (bits % 8 == 0 || ((c->ip.b[full] ^ ip->b[full]) & (0xff00 >> (bits % 8))) == 0)
			return true;
	}
	return false;
}

bool tt_is_router_ip(const struct tt *t, uint8_t family, const union tt_ip *ip)
{
	for (size_t i = 0; i < t->cfg.n_ips; i++)
		if (t->cfg.ips[i].family == family && !memcmp(t->cfg.ips[i].ip.b, ip->b, 16))
			return true;
	return false;
}

/*
 * A framed peer without an address sent @k: take its source as the peer's
 * address if it lies in a router network, is not the router's own and is
 * nobody's. Returns 1 when learnt, 0 when the source cannot be an address
 * of a peer (the packet is dropped), -1 when another peer has it (the
 * newcomer is refused).
 */
static int learn(struct tt *t, struct tt_peer *p, const struct tt_pkt *k)
{
	char a[INET6_ADDRSTRLEN];
	if (!in_router_net(t, k->family, &k->src) || tt_is_router_ip(t, k->family, &k->src))
		return 0;
	tt_ip_text(k->family, &k->src, a, sizeof(a));
	struct tt_peer *o = tt_map_find(&t->map, k->family, &k->src);
	if (o != NULL) {
		t->refused[TT_REF_DUPLICATE]++;
		tt_peer_log(t, LOGL_WARN, TT_LOG_REFUSED, p, "refused: address %s is %s's", a,
			    o->name);
		return -1;
	}
	if (tt_map_reserve(&t->map, 1) < 0)
		return 0;
	p->addrs.ip[0] = k->src;
	p->addrs.family[0] = k->family;
	p->addrs.n = 1;
	tt_map_insert(&t->map, k->family, &k->src, p);
	tt_peer_log(t, LOGL_INFO, TT_LOG_LEARNT, p, "address %s", a);
	return 1;
}

/* One packet from peer @src. A framed peer to be refused gets ->closing. */
void tt_from_peer(struct tt *t, struct tt_peer *src, const uint8_t *pkt, size_t len)
{
	struct tt_pkt k;
	src->c.packets_in++;
	src->c.bytes_in += len;
	enum tt_pkt_drop bad = tt_pkt_classify(pkt, len, &k);
	if (bad != TT_PKT_OK) {
		tt_count_drop(t, src, TT_DROP_MALFORMED);
		if (++src->bad_run == 1)
			tt_peer_log(t, LOGL_WARN, TT_LOG_MALFORMED, src,
				    "dropped a malformed packet: %s", tt_pkt_drop_name(bad));
		return;
	}
	src->bad_run = 0;
	if (!tt_addr_set_has(&src->addrs, k.family, &k.src)) {
		int r = src->framed && src->addrs.n == 0 ? learn(t, src, &k) : 0;
		if (r < 0) {
			src->closing = true;
			return;
		}
		if (r == 0) {
			char a[INET6_ADDRSTRLEN];
			tt_ip_text(k.family, &k.src, a, sizeof(a));
			tt_count_drop(t, src, TT_DROP_SPOOF);
			tt_peer_log(t, LOGL_WARN, TT_LOG_SPOOF, src,
				    "dropped a packet from %s: not its address", a);
			return;
		}
	}
	struct tt_peer *dst = tt_map_find(&t->map, k.family, &k.dst);
	if (dst == src) {
		tt_count_drop(t, src, TT_DROP_NO_ROUTE);
		return;
	}
	const struct tt_fw_list *other = dst ? &dst->fw : NULL;
	if (tt_fw_check(&t->cfg.fw_out, t->cfg.policy_out, &src->fw, other, &k,
			dst ? TT_FW_V2V : 0) == TT_FW_DENY) {
		tt_count_drop(t, src, TT_DROP_FIREWALL);
		return;
	}
	if (dst != NULL)
		deliver(t, dst, pkt, len);
	else if (!tt_gw_route_out(t->gw, pkt, len, &k))
		to_host(t, pkt, len);
}

enum tt_gw_drop tt_from_gateway(void *arg, const uint8_t *pkt, size_t len,
				const struct tt_pkt *k)
{
	struct tt *t = arg;
	/* Never on to the host device or another gateway: no transit. */
	struct tt_peer *dst = tt_map_find(&t->map, k->family, &k->dst);
	if (dst == NULL)
		return TT_GW_NO_ROUTE;
	if (tt_fw_check(&t->cfg.fw_in, t->cfg.policy_in, &dst->fw, NULL, k, 0) == TT_FW_DENY) {
		tt_count_drop(t, dst, TT_DROP_FIREWALL);
		return TT_GW_FIREWALL;
	}
	deliver(t, dst, pkt, len);
	if (dst->framed)
		tt_flush_dirty(t);
	return TT_GW_OK;
}

/* ---- readers ---- */

void tt_dev_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct tt *t = container_of(w, struct tt, dev_io);
	for (int i = 0; i < TT_BATCH; i++) {
		ssize_t n = read(t->dev_fd, t->rx, TT_RX_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("tuntap: reading %s: %s", t->cfg.dev, strerror(errno));
			break;
		}
		from_host(t, t->rx, (size_t)n);
	}
	tt_flush_dirty(t);
}

/* A vassal's tun descriptor. On an error it stops being read, but stays
 * (its addresses reserved) until the emperor detaches it. */
void tt_tun_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct tt_peer *p = container_of(w, struct tt_peer, rio);
	struct tt *t = p->t;
	for (int i = 0; i < TT_BATCH; i++) {
		ssize_t n = read(p->fd, t->rx, TT_RX_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			log_warn("tuntap: %s: its tun device is gone (%s); not read any more",
				 p->name, n < 0 ? strerror(errno) : "end of file");
			ev_io_stop(loop, &p->rio);
			p->down = true;
			break;
		}
		tt_from_peer(t, p, t->rx, (size_t)n);
	}
	tt_flush_dirty(t);
}
