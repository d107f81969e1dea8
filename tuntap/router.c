/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The tuntap router (see tuntap.h): the host tun device, the framing socket,
 * the peers and the packet path between them, on the emperor's libev loop.
 *
 * The packet path allocates nothing. Buffers are fixed and allocated at
 * setup: one receive buffer for every tun read (the host device's and the
 * vassals' descriptors; reads are handled one at a time, each packet routed
 * before the next read), and per framed peer an input buffer holding at
 * least one whole frame and an output queue of `tuntap-router-queue` bytes.
 * A wakeup reads up to TT_BATCH packets, so one busy peer cannot starve the
 * others; framed peers that got packets during a batch are flushed once at
 * its end (one write for many frames), or at once when their queue is half
 * full. Nothing blocks: tun descriptors are nonblocking and a write that
 * cannot go through drops the packet (counted); a framed peer's queue
 * drains on EV_WRITE and drops (queue_full) past its bound.
 *
 * Each packet is classified (pkt.h), its source checked against the
 * sender's addresses, then judged by the firewall (fw.h) and routed through
 * an open-addressing table from address to peer. A framed peer's address is
 * learnt from its first packet whose source lies in a `tuntap-router-ip`
 * network; if another peer has it, the newcomer is refused and
 * disconnected. Framing cannot resync, so any framing error disconnects;
 * TT_BAD_RUN malformed packets in a row do too. Log lines about a peer name
 * it and are rate-limited per reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include "core/log.h"
#include "tuntap/frame.h"
#include "tuntap/nl.h"
#include "tuntap/tuntap.h"

#define TT_BATCH 64	  /* packets per wakeup */
#define TT_BAD_RUN 100	  /* malformed packets in a row before a framed peer goes */
#define TT_RX_BUF 65536	  /* a tun read: any IP packet fits */
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

static const char *const drop_names[TT_DROP__COUNT] = {
    [TT_DROP_FIREWALL] = "firewall",	 [TT_DROP_SPOOF] = "spoof",
    [TT_DROP_MALFORMED] = "malformed",	 [TT_DROP_NO_ROUTE] = "no_route",
    [TT_DROP_QUEUE_FULL] = "queue_full", [TT_DROP_TOO_BIG] = "too_big",
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
	uint8_t *rx; /* TT_RX_BUF bytes */
	struct tt_peer *peers, *dirty;
	uint32_t n_peers;
	uint64_t next_id;
	struct tt_map map;
	struct tt_counters host; /* in: read from the host device, out: written to it */
	uint64_t drops[TT_DROP__COUNT];
	uint64_t refused[TT_REF__COUNT];
	uint64_t disconnected; /* framed peers dropped for their frames */
	struct {
		double start;	     /* of the current window */
		unsigned lines;	     /* written in it */
		uint64_t suppressed; /* not written since the last line */
	} log[TT_LOG__COUNT];
};

/* ---- the address table ---- */

static size_t slot_of(const struct tt_map *m, uint8_t family, const union tt_ip *ip)
{
	uint64_t h = (ip->q[0] * 0x9e3779b97f4a7c15ull) ^ (ip->q[1] + family);
	h *= 0xff51afd7ed558ccdull;
	return (size_t)(h >> 32) & (m->cap - 1);
}

static struct tt_peer *map_find(const struct tt_map *m, uint8_t family, const union tt_ip *ip)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = slot_of(m, family, ip);; i = (i + 1) & (m->cap - 1)) {
		const struct tt_slot *s = &m->s[i];
		if (s->p == NULL)
			return NULL;
		if (s->family == family && s->ip.q[0] == ip->q[0] && s->ip.q[1] == ip->q[1])
			return s->p;
	}
}

static void map_insert(struct tt_map *m, uint8_t family, const union tt_ip *ip, struct tt_peer *p)
{
	size_t i = slot_of(m, family, ip);
	while (m->s[i].p != NULL)
		i = (i + 1) & (m->cap - 1);
	m->s[i] = (struct tt_slot){.ip = *ip, .family = family, .p = p};
	m->n++;
}

/* Room for @more entries (called at attach time, never per packet). */
static int map_reserve(struct tt_map *m, size_t more)
{
	if ((m->n + more) * 2 <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 64;
	while ((m->n + more) * 2 > cap)
		cap *= 2;
	struct tt_map nm = {.s = calloc(cap, sizeof(struct tt_slot)), .cap = cap};
	if (nm.s == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->s[i].p != NULL)
			map_insert(&nm, m->s[i].family, &m->s[i].ip, m->s[i].p);
	free(m->s);
	*m = nm;
	return 0;
}

/* Remove, shifting back the entries of the probe run behind it. */
static void map_remove(struct tt_map *m, uint8_t family, const union tt_ip *ip)
{
	if (m->cap == 0)
		return;
	size_t mask = m->cap - 1, i = slot_of(m, family, ip);
	for (;; i = (i + 1) & mask) {
		struct tt_slot *s = &m->s[i];
		if (s->p == NULL)
			return;
		if (s->family == family && s->ip.q[0] == ip->q[0] && s->ip.q[1] == ip->q[1])
			break;
	}
	for (size_t j = (i + 1) & mask; m->s[j].p != NULL; j = (j + 1) & mask) {
		size_t home = slot_of(m, m->s[j].family, &m->s[j].ip);
		/* j's entry may fill the hole at i unless its home lies in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	m->s[i].p = NULL;
	m->n--;
}

/* ---- names, logs, counters ---- */

static void ip_text(uint8_t family, const union tt_ip *ip, char *out, size_t n)
{
	if (family == TT_IPV4)
		inet_ntop(AF_INET, ip->b + 12, out, (socklen_t)n);
	else
		inet_ntop(AF_INET6, ip->b, out, (socklen_t)n);
}

/* Whether a line of kind @why is due: the first TT_LOG_BURST of each
 * window are, so every kind of event is seen and a flood of one kind costs
 * counters, not lines. *more: those suppressed since the last line. */
static bool log_due(struct tt *t, enum tt_log why, uint64_t *more)
{
	double now = ev_now(t->loop);
	if (now - t->log[why].start >= TT_LOG_WINDOW) {
		t->log[why].start = now;
		t->log[why].lines = 0;
	}
	if (t->log[why].lines >= TT_LOG_BURST) {
		t->log[why].suppressed++;
		return false;
	}
	t->log[why].lines++;
	*more = t->log[why].suppressed;
	t->log[why].suppressed = 0;
	return true;
}

static void peer_log(struct tt *t, enum log_level level, enum tt_log why, const struct tt_peer *p,
		     const char *fmt, ...) PRINTF_LIKE(5, 6);
static void peer_log(struct tt *t, enum log_level level, enum tt_log why, const struct tt_peer *p,
		     const char *fmt, ...)
{
	uint64_t more;
	if (!log_due(t, why, &more))
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (more > 0)
		log_msg(level, "tuntap: %s: %s (%llu more such lines suppressed)", p->name, msg,
			(unsigned long long)more);
	else
		log_msg(level, "tuntap: %s: %s", p->name, msg);
}

/* Count a drop for the router and for @p (the sender or the destination). */
static void drop(struct tt *t, struct tt_peer *p, enum tt_drop why)
{
	t->drops[why]++;
	if (p != NULL)
		p->c.drops[why]++;
}

/* ---- peers ---- */

static void dirty_unlink(struct tt *t, struct tt_peer *p)
{
	for (struct tt_peer **pp = &t->dirty; *pp != NULL; pp = &(*pp)->dirty_next) {
		if (*pp == p) {
			*pp = p->dirty_next;
			break;
		}
	}
	p->dirty = false;
}

static void peer_free(struct tt_peer *p)
{
	struct tt *t = p->t;
	ev_io_stop(t->loop, &p->rio);
	ev_io_stop(t->loop, &p->wio);
	if (p->fd >= 0)
		close(p->fd);
	for (unsigned i = 0; i < p->addrs.n; i++)
		map_remove(&t->map, p->addrs.family[i], &p->addrs.ip[i]);
	if (p->dirty)
		dirty_unlink(t, p);
	if (p->prev)
		p->prev->next = p->next;
	else
		t->peers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	t->n_peers--;
	tt_fw_list_free(&p->fw);
	free(p->in);
	free(p->out);
	free(p);
}

/* A framed peer goes, for @why (logged with its name). */
static void peer_close(struct tt_peer *p, enum tt_log kind, const char *why)
{
	peer_log(p->t, kind == TT_LOG_CLOSED ? LOGL_INFO : LOGL_WARN, kind, p, "disconnected: %s",
		 why);
	peer_free(p);
}

static struct tt_peer *peer_alloc(struct tt *t, int fd)
{
	struct tt_peer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->t = t;
	p->fd = fd;
	p->next = t->peers;
	if (t->peers)
		t->peers->prev = p;
	t->peers = p;
	t->n_peers++;
	return p;
}

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
		drop(t, NULL,
		     w < 0 && write_failed_soft(errno) ? TT_DROP_QUEUE_FULL : TT_DROP_NO_ROUTE);
	}
}

/* Write out what a framed peer has queued. Returns 0, or -1 when the
 * connection is broken. */
static int peer_flush(struct tt_peer *p)
{
	while (p->out_head < p->out_len) {
		ssize_t w = send(p->fd, p->out + p->out_head, p->out_len - p->out_head,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(p->t->loop, &p->wio);
			return 0;
		}
		if (w <= 0)
			return -1;
		p->out_head += (size_t)w;
	}
	p->out_head = p->out_len = 0;
	ev_io_stop(p->t->loop, &p->wio);
	return 0;
}

static void mark_dirty(struct tt *t, struct tt_peer *p)
{
	if (p->dirty)
		return;
	p->dirty = true;
	p->dirty_next = t->dirty;
	t->dirty = p;
}

/* Frame the packet into @p's queue. */
static void enqueue(struct tt *t, struct tt_peer *p, const uint8_t *pkt, size_t len)
{
	if (len > TT_FRAMED_PKT_MAX) {
		drop(t, p, TT_DROP_TOO_BIG);
		return;
	}
	size_t need = TT_FRAME_HDR_LEN + len;
	if (p->out_cap - p->out_len < need && p->out_head > 0) {
		memmove(p->out, p->out + p->out_head, p->out_len - p->out_head);
		p->out_len -= p->out_head;
		p->out_head = 0;
	}
	if (p->closing || p->out_cap - p->out_len < need) {
		drop(t, p, TT_DROP_QUEUE_FULL);
		return;
	}
	tt_frame_hdr_write(p->out + p->out_len, TT_FRAME_PACKET, len);
	memcpy(p->out + p->out_len + TT_FRAME_HDR_LEN, pkt, len);
	p->out_len += need;
	p->c.packets_out++;
	p->c.bytes_out += len;
	mark_dirty(t, p);
	/* Half full: do not wait for the end of the batch. */
	if (p->out_len - p->out_head >= p->out_cap / 2 && !ev_is_active(&p->wio) &&
	    peer_flush(p) < 0)
		p->closing = true;
}

static void deliver(struct tt *t, struct tt_peer *p, const uint8_t *pkt, size_t len)
{
	if (p->framed) {
		enqueue(t, p, pkt, len);
		return;
	}
	ssize_t w = write(p->fd, pkt, len);
	if (w == (ssize_t)len) {
		p->c.packets_out++;
		p->c.bytes_out += len;
		return;
	}
	int e = w < 0 ? errno : EIO;
	drop(t, p, write_failed_soft(e) ? TT_DROP_QUEUE_FULL : TT_DROP_NO_ROUTE);
	if (!write_failed_soft(e))
		peer_log(t, LOGL_WARN, TT_LOG_IO, p, "writing to its tun device: %s", strerror(e));
}

/* Flush every framed peer that got packets; close the broken ones. */
static void flush_dirty(struct tt *t)
{
	while (t->dirty != NULL) {
		struct tt_peer *p = t->dirty;
		t->dirty = p->dirty_next;
		p->dirty = false;
		if (p->closing || peer_flush(p) < 0)
			peer_close(p, TT_LOG_CLOSED, "the connection broke while sending");
	}
}

/* ---- the packet path: judging and routing ---- */

static void from_host(struct tt *t, const uint8_t *pkt, size_t len)
{
	struct tt_pkt k;
	t->host.packets_in++;
	t->host.bytes_in += len;
	if (tt_pkt_classify(pkt, len, &k) != TT_PKT_OK) {
		drop(t, NULL, TT_DROP_MALFORMED);
		return;
	}
	struct tt_peer *dst = map_find(&t->map, k.family, &k.dst);
	if (dst == NULL) {
		drop(t, NULL, TT_DROP_NO_ROUTE);
		return;
	}
	if (tt_fw_check(&t->cfg.fw_in, t->cfg.policy_in, &dst->fw, NULL, &k, 0) == TT_FW_DENY) {
		drop(t, dst, TT_DROP_FIREWALL);
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

static bool is_router_ip(const struct tt *t, uint8_t family, const union tt_ip *ip)
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
	if (!in_router_net(t, k->family, &k->src) || is_router_ip(t, k->family, &k->src))
		return 0;
	ip_text(k->family, &k->src, a, sizeof(a));
	struct tt_peer *o = map_find(&t->map, k->family, &k->src);
	if (o != NULL) {
		t->refused[TT_REF_DUPLICATE]++;
		peer_log(t, LOGL_WARN, TT_LOG_REFUSED, p, "refused: address %s is %s's", a,
			 o->name);
		return -1;
	}
	if (map_reserve(&t->map, 1) < 0)
		return 0;
	p->addrs.ip[0] = k->src;
	p->addrs.family[0] = k->family;
	p->addrs.n = 1;
	map_insert(&t->map, k->family, &k->src, p);
	peer_log(t, LOGL_INFO, TT_LOG_LEARNT, p, "address %s", a);
	return 1;
}

/* One packet from peer @src. A framed peer to be refused gets ->closing. */
static void from_peer(struct tt *t, struct tt_peer *src, const uint8_t *pkt, size_t len)
{
	struct tt_pkt k;
	src->c.packets_in++;
	src->c.bytes_in += len;
	enum tt_pkt_drop bad = tt_pkt_classify(pkt, len, &k);
	if (bad != TT_PKT_OK) {
		drop(t, src, TT_DROP_MALFORMED);
		if (++src->bad_run == 1)
			peer_log(t, LOGL_WARN, TT_LOG_MALFORMED, src,
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
			ip_text(k.family, &k.src, a, sizeof(a));
			drop(t, src, TT_DROP_SPOOF);
			peer_log(t, LOGL_WARN, TT_LOG_SPOOF, src,
				 "dropped a packet from %s: not its address", a);
			return;
		}
	}
	struct tt_peer *dst = map_find(&t->map, k.family, &k.dst);
	if (dst == src) {
		drop(t, src, TT_DROP_NO_ROUTE);
		return;
	}
	const struct tt_fw_list *other = dst ? &dst->fw : NULL;
	if (tt_fw_check(&t->cfg.fw_out, t->cfg.policy_out, &src->fw, other, &k,
			dst ? TT_FW_V2V : 0) == TT_FW_DENY) {
		drop(t, src, TT_DROP_FIREWALL);
		return;
	}
	if (dst != NULL)
		deliver(t, dst, pkt, len);
	else
		to_host(t, pkt, len);
}

/* ---- readers ---- */

static void dev_read_cb(struct ev_loop *loop, ev_io *w, int revents)
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
	flush_dirty(t);
}

/* A vassal's tun descriptor. On an error it stops being read, but stays
 * (its addresses reserved) until the emperor detaches it. */
static void tun_peer_read_cb(struct ev_loop *loop, ev_io *w, int revents)
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
		from_peer(t, p, t->rx, (size_t)n);
	}
	flush_dirty(t);
}

/* Route every whole frame in @p's input buffer. Returns the packets routed,
 * or -1 when @p was closed. */
static int parse_frames(struct tt *t, struct tt_peer *p)
{
	size_t off = 0;
	int packets = 0;
	for (;;) {
		struct tt_frame f;
		ssize_t r = tt_frame_parse(p->in + off, p->in_len - off, t->cfg.mtu, &f);
		if (r == 0)
			break;
		if (r < 0) {
			char why[128];
			snprintf(why, sizeof(why), "framing error: %s at byte %zu of a frame",
				 tt_frame_err_name(f.err), f.err_pos);
			drop(t, p, TT_DROP_MALFORMED);
			t->disconnected++;
			peer_close(p, TT_LOG_DISCONNECT, why);
			return -1;
		}
		off += (size_t)r;
		if (f.type == TT_FRAME_RULES) {
			p->rules_ignored++;
			continue;
		}
		from_peer(t, p, f.payload, f.len);
		packets++;
		if (p->bad_run >= TT_BAD_RUN) {
			t->disconnected++;
			peer_close(p, TT_LOG_DISCONNECT, "too many malformed packets in a row");
			return -1;
		}
		if (p->closing) {
			peer_free(p); /* refused: already logged */
			return -1;
		}
	}
	if (off > 0) {
		memmove(p->in, p->in + off, p->in_len - off);
		p->in_len -= off;
	}
	return packets;
}

static void framed_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct tt_peer *p = container_of(w, struct tt_peer, rio);
	struct tt *t = p->t;
	int packets = 0;
	while (packets < TT_BATCH) {
		ssize_t n = read(p->fd, p->in + p->in_len, p->in_cap - p->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			peer_close(p, TT_LOG_CLOSED,
				   n == 0 ? "it closed the connection" : strerror(errno));
			break;
		}
		p->in_len += (size_t)n;
		int r = parse_frames(t, p);
		if (r < 0)
			break;
		packets += r;
	}
	flush_dirty(t);
}

static void framed_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct tt_peer *p = container_of(w, struct tt_peer, wio);
	if (peer_flush(p) < 0)
		peer_close(p, TT_LOG_CLOSED, "the connection broke while sending");
}

/* ---- framed peers: the socket ---- */

static void accept_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct tt *t = container_of(w, struct tt, accept_retry);
	ev_io_start(loop, &t->lio);
}

static void framed_new(struct tt *t, int fd)
{
	struct ucred cred = {.pid = 0};
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		cred.pid = 0;
	uint64_t id = ++t->next_id;
	struct tt_peer tmp = {.t = t};
	snprintf(tmp.name, sizeof(tmp.name), "socket peer %llu (pid %d)", (unsigned long long)id,
		 (int)cred.pid);
	if (t->n_peers >= t->cfg.max_peers) {
		t->refused[TT_REF_MAX_PEERS]++;
		peer_log(t, LOGL_WARN, TT_LOG_REFUSED, &tmp, "refused: %u peers already",
			 t->n_peers);
		close(fd);
		return;
	}
	struct tt_peer *p = peer_alloc(t, fd);
	if (p != NULL) {
		p->in_cap = 2 * (TT_FRAME_HDR_LEN + (size_t)t->cfg.mtu);
		p->out_cap = t->cfg.queue_max;
		p->in = malloc(p->in_cap);
		p->out = malloc(p->out_cap);
	}
	if (p == NULL || p->in == NULL || p->out == NULL) {
		log_warn("tuntap: %s: refused: out of memory", tmp.name);
		if (p != NULL)
			peer_free(p);
		else
			close(fd);
		return;
	}
	memcpy(p->name, tmp.name, sizeof(p->name));
	p->framed = true;
	p->pid = cred.pid;
	ev_io_init(&p->rio, framed_read_cb, fd, EV_READ);
	ev_io_init(&p->wio, framed_write_cb, fd, EV_WRITE);
	ev_io_start(t->loop, &p->rio);
	log_info("tuntap: %s connected", p->name);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct tt *t = container_of(w, struct tt, lio);
	for (int i = 0; i < 16; i++) {
		int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0 &&
		    (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
			log_warn("tuntap: accepting on %s: %s; pausing", t->cfg.socket,
				 strerror(errno));
			ev_io_stop(loop, &t->lio);
			ev_timer_set(&t->accept_retry, TT_ACCEPT_RETRY, 0.);
			ev_timer_start(loop, &t->accept_retry);
			return;
		}
		if (fd < 0)
			return;
		framed_new(t, fd);
	}
}

static int listen_socket(struct tt *t, struct err **err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t plen = strlen(t->cfg.socket);
	if (plen >= sizeof(sun.sun_path))
		return err_set(err, ENAMETOOLONG, "tuntap socket %s", t->cfg.socket);
	memcpy(sun.sun_path, t->cfg.socket, plen + 1);
	t->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->lfd < 0)
		return err_set(err, errno, "tuntap socket %s", t->cfg.socket);
	struct stat st;
	if (lstat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(sun.sun_path); /* a stale socket of an earlier run */
	if (bind(t->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return err_set(err, errno, "tuntap socket %s: bind", t->cfg.socket);
	/* Root and the emperor's group: a peer connecting here may claim a
	 * free address of the router's networks. */
	if (chmod(sun.sun_path, 0660) < 0 || listen(t->lfd, SOMAXCONN) < 0)
		return err_set(err, errno, "tuntap socket %s", t->cfg.socket);
	ev_io_init(&t->lio, accept_cb, t->lfd, EV_READ);
	ev_init(&t->accept_retry, accept_retry_cb);
	ev_io_start(t->loop, &t->lio);
	return 0;
}

/* ---- the host device ---- */

static int open_device(struct tt *t, struct err **err)
{
	t->dev_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->dev_fd < 0)
		return err_set(err, errno, "tuntap: /dev/net/tun");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, t->cfg.dev, strlen(t->cfg.dev));
	if (ioctl(t->dev_fd, TUNSETIFF, &ifr) < 0)
		return err_set(err, errno, "tuntap: creating tun device %s", t->cfg.dev);
	memcpy(t->cfg.dev, ifr.ifr_name, sizeof(t->cfg.dev));
	t->cfg.dev[sizeof(t->cfg.dev) - 1] = '\0';
	t->ifindex = (int)if_nametoindex(t->cfg.dev);
	if (t->ifindex == 0)
		return err_set(err, errno, "tuntap: %s: no interface index", t->cfg.dev);
	if (tt_nl_link_setup(t->cfg.dev, t->ifindex, t->cfg.mtu, t->cfg.ips, t->cfg.n_ips, err) < 0)
		return -1;
	ev_io_init(&t->dev_io, dev_read_cb, t->dev_fd, EV_READ);
	ev_io_start(t->loop, &t->dev_io);
	return 0;
}

static void log_started(const struct tt *t)
{
	char ips[TT_MAX_IPS * (INET6_ADDRSTRLEN + 6)] = "";
	size_t at = 0;
	for (size_t i = 0; i < t->cfg.n_ips && at < sizeof(ips); i++) {
		char a[INET6_ADDRSTRLEN];
		ip_text(t->cfg.ips[i].family, &t->cfg.ips[i].ip, a, sizeof(a));
		int n = snprintf(ips + at, sizeof(ips) - at, " %s/%u", a, t->cfg.ips[i].prefix);
		at += n > 0 ? (size_t)n : 0;
	}
	log_info("tuntap: router on %s (mtu %u,%s), socket %s, firewall %u in and %u out rules",
		 t->cfg.dev, t->cfg.mtu, at ? ips : " no address", t->cfg.socket, t->cfg.fw_in.n,
		 t->cfg.fw_out.n);
	if (t->cfg.stats[0] != '\0')
		log_info(
		    "tuntap: the STATS field (%s) is not used: the router's figures are in the "
		    "emperor's stats",
		    t->cfg.stats);
}

/* Move the firewall lists of @from to @to, leaving @from's empty. */
static void move_rules(struct tt_config *to, struct tt_config *from)
{
	to->fw_in = from->fw_in;
	to->fw_out = from->fw_out;
	to->policy_in = from->policy_in;
	to->policy_out = from->policy_out;
	tt_fw_list_init(&from->fw_in, from->fw_in.max);
	tt_fw_list_init(&from->fw_out, from->fw_out.max);
}

struct tt *tt_new(struct ev_loop *loop, struct tt_config *c, struct err **err)
{
	struct tt *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		err_set(err, ENOMEM, "tuntap router");
		return NULL;
	}
	t->loop = loop;
	t->cfg = *c;
	move_rules(&t->cfg, c);
	t->dev_fd = t->lfd = -1;
	ev_io_init(&t->dev_io, dev_read_cb, -1, EV_READ);
	ev_io_init(&t->lio, accept_cb, -1, EV_READ);
	ev_init(&t->accept_retry, accept_retry_cb);
	t->rx = malloc(TT_RX_BUF);
	if (t->rx == NULL || map_reserve(&t->map, 16) < 0) {
		err_set(err, ENOMEM, "tuntap router");
		tt_free(t);
		return NULL;
	}
	if (open_device(t, err) < 0 || listen_socket(t, err) < 0) {
		tt_free(t);
		return NULL;
	}
	log_started(t);
	return t;
}

void tt_free(struct tt *t)
{
	if (t == NULL)
		return;
	while (t->peers != NULL)
		peer_free(t->peers);
	ev_io_stop(t->loop, &t->dev_io);
	ev_io_stop(t->loop, &t->lio);
	ev_timer_stop(t->loop, &t->accept_retry);
	if (t->dev_fd >= 0)
		close(t->dev_fd);
	if (t->lfd >= 0) {
		close(t->lfd);
		struct stat st;
		if (lstat(t->cfg.socket, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(t->cfg.socket);
	}
	tt_config_free(&t->cfg);
	free(t->map.s);
	free(t->rx);
	free(t);
}

void tt_set_rules(struct tt *t, struct tt_config *c)
{
	tt_config_free(&t->cfg);
	move_rules(&t->cfg, c);
	log_info("tuntap: firewall reloaded: %u in rules (policy %s), %u out rules (policy %s)",
		 t->cfg.fw_in.n, t->cfg.policy_in == TT_FW_DENY ? "deny" : "allow", t->cfg.fw_out.n,
		 t->cfg.policy_out == TT_FW_DENY ? "deny" : "allow");
}

const char *tt_socket_path(const struct tt *t)
{
	return t ? t->cfg.socket : NULL;
}

/* ---- vassals' tun descriptors ---- */

static int fw_list_dup(struct tt_fw_list *to, const struct tt_fw_list *from)
{
	tt_fw_list_init(to, from->max);
	if (from->n == 0)
		return 0;
	to->rules = calloc(from->n, sizeof(*to->rules));
	if (to->rules == NULL)
		return -1;
	memcpy(to->rules, from->rules, from->n * sizeof(*to->rules));
	to->n = to->cap = from->n;
	return 0;
}

/* The addresses of @net, each free: the router's own or another peer's
 * is refused. */
static int attach_addrs(struct tt *t, struct tt_peer *p, const struct tt_vassal_net *net,
			struct err **err)
{
	for (size_t i = 0; i < net->n_ips && i < TT_MAX_IPS; i++) {
		const struct tt_cidr *c = &net->ips[i];
		char a[INET6_ADDRSTRLEN];
		ip_text(c->family, &c->ip, a, sizeof(a));
		struct tt_peer *o = map_find(&t->map, c->family, &c->ip);
		const char *why = NULL;
		if (is_router_ip(t, c->family, &c->ip))
			why = "the router's own";
		else if (o != NULL)
			why = "in use by ";
		else if (tt_addr_set_has(&p->addrs, c->family, &c->ip))
			why = "given twice";
		if (why != NULL) {
			t->refused[TT_REF_DUPLICATE]++;
			log_warn("tuntap: %s: refused: address %s is %s%s", p->name, a, why,
				 o ? o->name : "");
			return err_set(err, EADDRINUSE, "tuntap: %s: address %s is %s%s", p->name,
				       a, why, o ? o->name : "");
		}
		if (p->addrs.n >= TT_ADDR_SET_MAX)
			return err_set(err, E2BIG, "tuntap: %s: more than %d addresses", p->name,
				       TT_ADDR_SET_MAX);
		p->addrs.ip[p->addrs.n] = c->ip;
		p->addrs.family[p->addrs.n] = c->family;
		p->addrs.n++;
	}
	if (map_reserve(&t->map, p->addrs.n) < 0)
		return err_set(err, ENOMEM, "tuntap: %s", p->name);
	for (unsigned i = 0; i < p->addrs.n; i++)
		map_insert(&t->map, p->addrs.family[i], &p->addrs.ip[i], p);
	return 0;
}

struct tt_peer *tt_attach(struct tt *t, const char *name, int fd, const struct tt_vassal_net *net,
			  struct err **err)
{
	if (t->n_peers >= t->cfg.max_peers) {
		t->refused[TT_REF_MAX_PEERS]++;
		close(fd);
		err_set(err, EUSERS, "tuntap: vassal %s: refused: %u peers already", name,
			t->n_peers);
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err_set(err, errno, "tuntap: vassal %s: its tun descriptor", name);
		close(fd);
		return NULL;
	}
	struct tt_peer *p = peer_alloc(t, -1);
	if (p == NULL) {
		close(fd);
		err_set(err, ENOMEM, "tuntap: vassal %s", name);
		return NULL;
	}
	snprintf(p->name, sizeof(p->name), "vassal %s", name);
	/* Addresses go in the table only once all are known to be free. */
	if (fw_list_dup(&p->fw, &net->fw) < 0) {
		err_set(err, ENOMEM, "tuntap: %s", p->name);
		close(fd);
		peer_free(p);
		return NULL;
	}
	if (attach_addrs(t, p, net, err) < 0) {
		p->addrs.n = 0; /* none of them went into the table */
		close(fd);
		peer_free(p);
		return NULL;
	}
	p->fd = fd;
	ev_io_init(&p->rio, tun_peer_read_cb, fd, EV_READ);
	ev_init(&p->wio, NULL);
	ev_io_start(t->loop, &p->rio);
	log_info("tuntap: %s attached (%u addresses, %u own firewall rules)", p->name, p->addrs.n,
		 p->fw.n);
	return p;
}

void tt_detach(struct tt_peer *p)
{
	if (p == NULL)
		return;
	log_info("tuntap: %s detached", p->name);
	peer_free(p);
}

/* ---- stats ---- */

static void counters_json(struct json *j, const struct tt_counters *c)
{
	json_key(j, "packets_in"), json_uint(j, c->packets_in);
	json_key(j, "bytes_in"), json_uint(j, c->bytes_in);
	json_key(j, "packets_out"), json_uint(j, c->packets_out);
	json_key(j, "bytes_out"), json_uint(j, c->bytes_out);
}

static void drops_json(struct json *j, const uint64_t *d)
{
	json_obj_begin(j);
	for (int i = 0; i < TT_DROP__COUNT; i++)
		json_key(j, drop_names[i]), json_uint(j, d[i]);
	json_obj_end(j);
}

static void peer_json(struct json *j, const struct tt_peer *p)
{
	json_obj_begin(j);
	json_key(j, "name"), json_str(j, p->name);
	json_key(j, "kind"), json_str(j, p->framed ? "socket" : "vassal");
	if (p->framed)
		json_key(j, "pid"), json_int(j, p->pid);
	else
		json_key(j, "down"), json_bool(j, p->down);
	json_key(j, "addresses");
	json_arr_begin(j);
	for (unsigned i = 0; i < p->addrs.n; i++) {
		char a[INET6_ADDRSTRLEN];
		ip_text(p->addrs.family[i], &p->addrs.ip[i], a, sizeof(a));
		json_str(j, a);
	}
	json_arr_end(j);
	counters_json(j, &p->c);
	json_key(j, "queued"), json_uint(j, p->out_len - p->out_head);
	json_key(j, "rules_ignored"), json_uint(j, p->rules_ignored);
	json_key(j, "drops");
	drops_json(j, p->c.drops);
	json_obj_end(j);
}

void tt_stats_json(struct tt *t, struct json *j)
{
	if (t == NULL) {
		json_null(j);
		return;
	}
	json_obj_begin(j);
	json_key(j, "device"), json_str(j, t->cfg.dev);
	json_key(j, "mtu"), json_uint(j, t->cfg.mtu);
	json_key(j, "socket"), json_str(j, t->cfg.socket);
	json_key(j, "max_peers"), json_uint(j, t->cfg.max_peers);
	json_key(j, "firewall_in"), json_uint(j, t->cfg.fw_in.n);
	json_key(j, "firewall_out"), json_uint(j, t->cfg.fw_out.n);
	json_key(j, "host");
	json_obj_begin(j);
	counters_json(j, &t->host);
	json_obj_end(j);
	json_key(j, "peers");
	json_arr_begin(j);
	for (const struct tt_peer *p = t->peers; p != NULL; p = p->next)
		peer_json(j, p);
	json_arr_end(j);
	json_key(j, "drops");
	drops_json(j, t->drops);
	json_key(j, "peers_refused");
	json_obj_begin(j);
	json_key(j, "duplicate_address"), json_uint(j, t->refused[TT_REF_DUPLICATE]);
	json_key(j, "max_peers"), json_uint(j, t->refused[TT_REF_MAX_PEERS]);
	json_obj_end(j);
	json_key(j, "disconnected_malformed"), json_uint(j, t->disconnected);
	struct tt_counters sum = t->host;
	uint64_t dropped = 0;
	for (const struct tt_peer *p = t->peers; p != NULL; p = p->next) {
		sum.packets_in += p->c.packets_in, sum.bytes_in += p->c.bytes_in;
		sum.packets_out += p->c.packets_out, sum.bytes_out += p->c.bytes_out;
	}
	for (int i = 0; i < TT_DROP__COUNT; i++)
		dropped += t->drops[i];
	json_key(j, "totals");
	json_obj_begin(j);
	json_key(j, "peers"), json_uint(j, t->n_peers);
	counters_json(j, &sum);
	json_key(j, "dropped"), json_uint(j, dropped);
	json_obj_end(j);
	json_obj_end(j);
}
