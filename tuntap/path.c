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
 * A tun read brings a virtio_net_hdr (internal.h) and the IP packet behind
 * it: the packet is classified, then the header judged against it
 * (tt_vnet_check: a bad one is a malformed packet), and both go on unchanged
 * to another tun device with the header; toward one without it, a framed
 * peer or the gateway, the packet is made plain: its checksum completed, a
 * segmentation-offload packet cut into whole packets (gso.h). Packets from framed
 * peers and the gateway get a zero header (no segmentation, no checksum to
 * complete) on a device that has one.
 *
 * A wakeup reads up to TT_BATCH packets, so one busy peer cannot starve the
 * others; framed peers that got packets during a batch are flushed once at
 * its end (tt_flush_dirty). Nothing blocks: tun descriptors are nonblocking
 * and a write that cannot go through drops the packet (counted).
 */
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "tuntap/gso.h"
#include "tuntap/internal.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* linux/virtio_net.h of Linux 4.18 */
#endif

/* One packet on the path: its virtio_net_hdr (a copy; zero when the source
 * carries plain packets) and the IP packet pkt[0..len); buf is the same
 * bytes when they may be changed in place (a tun read into t->rx), else
 * NULL (the header then asks for nothing to be done). */
struct vpkt {
	struct virtio_net_hdr h;
	const uint8_t *pkt;
	uint8_t *buf;
	size_t len;
};

/* ---- the virtio_net_hdr ---- */

/* Whether segmentation type @type (without the ECN bit) fits @k. */
static bool gso_fits(uint8_t type, const struct tt_pkt *k)
{
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return k->proto == IPPROTO_TCP && k->family == TT_IPV4;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return k->proto == IPPROTO_TCP && k->family == TT_IPV6;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		return k->proto == IPPROTO_UDP;
	default: /* UFO (VIRTIO_NET_HDR_GSO_UDP) too: never offered */
		return false;
	}
}

const char *tt_vnet_check(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
			  uint32_t mtu, const struct tt_pkt *k)
{
	(void)pkt;
	uint16_t hdr_len = le16toh(h->hdr_len), gso_size = le16toh(h->gso_size);
	uint16_t cs = le16toh(h->csum_start), co = le16toh(h->csum_offset);
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return "vnet flags";
	if (hdr_len > len)
		return "vnet hdr_len past the packet";
	if (csum && (cs < k->l4_off || (size_t)cs + co + 2 > len))
		return "vnet checksum place outside the packet";
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE || gso_size != 0)
			return "vnet segment size without segmentation";
		return len > mtu ? "over the MTU" : NULL;
	}
	bool tcp = k->proto == IPPROTO_TCP;
	if (!gso_fits(type, k))
		return "vnet segmentation type";
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !tcp)
		return "vnet ECN without TCP";
	if (k->flags & (TT_PKT_F_FRAG | TT_PKT_F_NOL4))
		return "vnet segmentation of a fragment";
	if (gso_size == 0 || gso_size > mtu)
		return "vnet segment size";
	if (!csum || cs != k->l4_off || co != (tcp ? 16 : 6))
		return "vnet segmentation without the upper-layer checksum";
	return NULL;
}

void tt_vnet_csum(struct virtio_net_hdr *h, uint8_t *pkt, size_t len)
{
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return;
	size_t cs = le16toh(h->csum_start), at = cs + le16toh(h->csum_offset);
	/* The field holds the pseudo-header's sum: add the rest over it. */
	uint16_t c = tt_csum_fold(tt_csum_add(0, pkt + cs, len - cs));
	if (c == 0)
		c = 0xffff; /* UDP's "no checksum" is 0; the same sum for TCP */
	memcpy(pkt + at, &c, 2);
	h->flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
}

/* Write @v to tun descriptor @fd, with its header when @vnet. */
static ssize_t tun_write(int fd, bool vnet, const struct vpkt *v)
{
	if (!vnet)
		return write(fd, v->pkt, v->len);
	struct iovec iov[2] = {{.iov_base = (void *)&v->h, .iov_len = TT_VNET_LEN},
			       {.iov_base = (void *)v->pkt, .iov_len = v->len}};
	ssize_t w = writev(fd, iov, 2);
	return w >= (ssize_t)TT_VNET_LEN ? w - (ssize_t)TT_VNET_LEN : w < 0 ? w : 0;
}

/* ---- the packet path: delivery ---- */

static bool write_failed_soft(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == ENOMEM;
}

/* Where a packet goes: a peer, the host device (dst NULL, gw false) or the
 * gateway (gw true). */
struct out {
	struct tt *t;
	struct tt_peer *dst;
	bool gw;
	const struct tt_pkt *k;
};

/* Whether the reader of @o takes the virtio_net_hdr. */
static bool out_vnet(const struct out *o)
{
	return o->gw ? false : o->dst != NULL ? o->dst->vnet : true; /* the host device: always */
}

/* Hand @v, fit for @o's reader, over to it. */
static void put(const struct out *o, const struct vpkt *v)
{
	struct tt *t = o->t;
	struct tt_peer *p = o->dst;
	if (o->gw) {
		if (!tt_gw_route_out(t->gw, v->pkt, v->len, o->k))
			put(&(struct out){.t = t, .k = o->k}, v);
		return;
	}
	if (p != NULL && p->framed) {
		tt_enqueue(t, p, v->pkt, v->len);
		return;
	}
	ssize_t w = tun_write(p != NULL ? p->fd : t->dev_fd, out_vnet(o), v);
	struct tt_counters *c = p != NULL ? &p->c : &t->host;
	if (w == (ssize_t)v->len) {
		c->packets_out++;
		c->bytes_out += v->len;
		return;
	}
	int e = w < 0 ? errno : EIO;
	tt_count_drop(t, p, write_failed_soft(e) ? TT_DROP_QUEUE_FULL : TT_DROP_NO_ROUTE);
	if (p != NULL && !write_failed_soft(e))
		tt_peer_log(t, LOGL_WARN, TT_LOG_IO, p, "writing to its tun device: %s",
			    strerror(e));
}

static void put_segment(void *arg, const uint8_t *seg, size_t len)
{
	const struct out *o = arg;
	o->t->segmented++;
	put(o, &(struct vpkt){.pkt = seg, .len = len});
}

/*
 * Send @v (classified as @k) on to @dst, the host device when NULL, or
 * the gateway when @gw. A reader without the header gets whole packets: a
 * segmentation-offload packet is cut (gso.h), a partial checksum completed.
 */
static void send_out(struct tt *t, struct tt_peer *dst, bool gw, struct vpkt *v,
		     const struct tt_pkt *k)
{
	struct out o = {.t = t, .dst = dst, .gw = gw, .k = k};
	if (out_vnet(&o) || (v->h.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
			     !(v->h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))) {
		put(&o, v);
		return;
	}
	if (v->h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (tt_gso_segment(&v->h, v->pkt, v->len, k, t->gso_buf, put_segment, &o) < 0)
			tt_count_drop(t, dst, TT_DROP_MALFORMED);
		return;
	}
	if (v->buf == NULL) { /* never: only tun reads carry a header */
		tt_count_drop(t, dst, TT_DROP_MALFORMED);
		return;
	}
	tt_vnet_csum(&v->h, v->buf, v->len);
	put(&o, v);
}

/* ---- the packet path: judging and routing ---- */

static void from_host(struct tt *t, struct vpkt *v)
{
	struct tt_pkt k;
	t->host.packets_in++;
	t->host.bytes_in += v->len;
	if (tt_pkt_classify(v->pkt, v->len, &k) != TT_PKT_OK ||
	    tt_vnet_check(&v->h, v->pkt, v->len, t->cfg.mtu, &k) != NULL) {
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
	send_out(t, dst, false, v, &k);
}

static bool cidr_has(const struct tt_cidr *c, uint8_t family, const union tt_ip *ip)
{
	if (c->family != family)
		return false;
	unsigned bits = (family == TT_IPV4 ? 96u : 0u) + c->prefix, full = bits / 8;
	if (memcmp(c->ip.b, ip->b, full) != 0)
		return false;
	return bits % 8 == 0 || ((c->ip.b[full] ^ ip->b[full]) & (0xff00 >> (bits % 8))) == 0;
}

static bool in_router_net(const struct tt *t, uint8_t family, const union tt_ip *ip)
{
	for (size_t i = 0; i < t->cfg.n_ips; i++)
		if (cidr_has(&t->cfg.ips[i], family, ip))
			return true;
	return false;
}

/* Whether @k goes to the gateway (a `tuntap-router-route` has it). */
static bool gw_routed(const struct tt *t, const struct tt_pkt *k)
{
	for (size_t i = 0; t->gw != NULL && i < t->cfg.n_routes; i++)
		if (cidr_has(&t->cfg.routes[i].net, k->family, &k->dst))
			return true;
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
static void from_peer(struct tt *t, struct tt_peer *src, struct vpkt *v)
{
	struct tt_pkt k;
	src->c.packets_in++;
	src->c.bytes_in += v->len;
	enum tt_pkt_drop bad = tt_pkt_classify(v->pkt, v->len, &k);
	const char *why = bad != TT_PKT_OK ? tt_pkt_drop_name(bad)
					   : tt_vnet_check(&v->h, v->pkt, v->len, t->cfg.mtu, &k);
	if (why != NULL) {
		tt_count_drop(t, src, TT_DROP_MALFORMED);
		if (++src->bad_run == 1)
			tt_peer_log(t, LOGL_WARN, TT_LOG_MALFORMED, src,
				    "dropped a malformed packet: %s", why);
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
	send_out(t, dst, dst == NULL && gw_routed(t, &k), v, &k);
}

void tt_from_peer(struct tt *t, struct tt_peer *src, const uint8_t *pkt, size_t len)
{
	struct vpkt v = {.pkt = pkt, .len = len};
	from_peer(t, src, &v);
}

enum tt_gw_drop tt_from_gateway(void *arg, const uint8_t *pkt, size_t len, const struct tt_pkt *k)
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
	struct vpkt v = {.pkt = pkt, .len = len};
	send_out(t, dst, false, &v, k);
	if (dst->framed)
		tt_flush_dirty(t);
	return TT_GW_OK;
}

/* ---- readers ---- */

/* Read one packet from tun descriptor @fd into t->rx as @v: with its
 * header when @vnet, else behind a zero one. Returns read()'s answer;
 * a read too short for the header counts as an empty packet. */
static ssize_t tun_read(struct tt *t, int fd, bool vnet, struct vpkt *v)
{
	uint8_t *at = t->rx + TT_RX_PKT - (vnet ? TT_VNET_LEN : 0);
	ssize_t n = read(fd, at, TT_RX_BUF - (size_t)(at - t->rx));
	if (n < 0)
		return n;
	if (vnet && n < (ssize_t)TT_VNET_LEN) {
		memset(&v->h, 0, sizeof(v->h));
		v->len = 0;
	} else {
		if (vnet)
			memcpy(&v->h, at, TT_VNET_LEN);
		else
			memset(&v->h, 0, sizeof(v->h));
		v->len = (size_t)n - (vnet ? TT_VNET_LEN : 0);
	}
	v->buf = t->rx + TT_RX_PKT;
	v->pkt = v->buf;
	return n;
}

void tt_dev_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct tt *t = container_of(w, struct tt, dev_io);
	for (int i = 0; i < TT_BATCH; i++) {
		struct vpkt v;
		ssize_t n = tun_read(t, t->dev_fd, true, &v);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("tuntap: reading %s: %s", t->cfg.dev, strerror(errno));
			break;
		}
		from_host(t, &v);
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
		struct vpkt v;
		ssize_t n = tun_read(t, p->fd, p->vnet, &v);
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
		from_peer(t, p, &v);
	}
	tt_flush_dirty(t);
}
