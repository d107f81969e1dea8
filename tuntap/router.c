/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The tuntap router (see tuntap.h): its setup and teardown (the host tun
 * device, configured with libnl; the framing socket, in peers.c), rule
 * reloads, vassals' tun descriptors attached and detached, the address
 * table from address to peer, rate-limited logs and the stats. The packet
 * path is in path.c, framed peers in peers.c (internal.h says how the files
 * share the work).
 *
 * The packet path allocates nothing. Buffers are fixed and allocated at
 * setup: one receive buffer (a virtio_net_hdr and 64 KiB) for every tun
 * read (the host device's and the vassals' descriptors; reads are handled
 * one at a time, each packet routed before the next read), and per framed
 * peer an input buffer holding at least one whole frame and an output queue
 * of `tuntap-router-queue` bytes.
 * The address table grows only when a peer is attached or learns its
 * address. An address is never taken from the peer that has it: a second
 * claimant is refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "tuntap/gso.h"
#include "tuntap/internal.h"
#include "tuntap/nl.h"

#ifndef TUN_F_USO4 /* linux/if_tun.h of Linux 6.2 */
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

static const char *const drop_names[TT_DROP__COUNT] = {
    [TT_DROP_FIREWALL] = "firewall",	 [TT_DROP_SPOOF] = "spoof",
    [TT_DROP_MALFORMED] = "malformed",	 [TT_DROP_NO_ROUTE] = "no_route",
    [TT_DROP_QUEUE_FULL] = "queue_full", [TT_DROP_TOO_BIG] = "too_big",
};

/* ---- the address table ---- */
void tt_map_insert(struct tt_map *m, uint8_t family, const union tt_ip *ip, struct tt_peer *p)
{
	size_t i = tt_map_slot(m, family, ip);
	while (m->s[i].p != NULL)
		i = (i + 1) & (m->cap - 1);
	m->s[i] = (struct tt_slot){.ip = *ip, .family = family, .p = p};
	m->n++;
}

/* Room for @more entries (called at attach time, never per packet). */
int tt_map_reserve(struct tt_map *m, size_t more)
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
			tt_map_insert(&nm, m->s[i].family, &m->s[i].ip, m->s[i].p);
	free(m->s);
	*m = nm;
	return 0;
}

/* Remove, shifting back the entries of the probe run behind it. */
void tt_map_remove(struct tt_map *m, uint8_t family, const union tt_ip *ip)
{
	if (m->cap == 0)
		return;
	size_t mask = m->cap - 1, i = tt_map_slot(m, family, ip);
	for (;; i = (i + 1) & mask) {
		struct tt_slot *s = &m->s[i];
		if (s->p == NULL)
			return;
		if (s->family == family && s->ip.q[0] == ip->q[0] && s->ip.q[1] == ip->q[1])
			break;
	}
	for (size_t j = (i + 1) & mask; m->s[j].p != NULL; j = (j + 1) & mask) {
		size_t home = tt_map_slot(m, m->s[j].family, &m->s[j].ip);
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

void tt_ip_text(uint8_t family, const union tt_ip *ip, char *out, size_t n)
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

void tt_peer_log(struct tt *t, enum log_level level, enum tt_log why, const struct tt_peer *p,
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

void tt_peer_free(struct tt_peer *p)
{
	struct tt *t = p->t;
	ev_io_stop(t->loop, &p->rio);
	ev_io_stop(t->loop, &p->wio);
	if (p->fd >= 0)
		close(p->fd);
	for (unsigned i = 0; i < p->addrs.n; i++)
		tt_map_remove(&t->map, p->addrs.family[i], &p->addrs.ip[i]);
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
void tt_peer_close(struct tt_peer *p, enum tt_log kind, const char *why)
{
	tt_peer_log(p->t, kind == TT_LOG_CLOSED ? LOGL_INFO : LOGL_WARN, kind, p,
		    "disconnected: %s", why);
	tt_peer_free(p);
}

struct tt_peer *tt_peer_alloc(struct tt *t, int fd)
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

/* ---- offloads ---- */

int tt_offload_set(const struct tt *t, int fd)
{
	unsigned long f = t->offloads & (t->gso ? ~0u : (unsigned)TUN_F_CSUM);
	return ioctl(fd, TUNSETOFFLOAD, f);
}

/* The virtio_net_hdr on descriptor @fd, and the offloads the kernel takes:
 * with UDP segmentation if it knows it, else without, else checksums only.
 * Returns the TUN_F_* taken (0: none). */
static unsigned offload_probe(int fd)
{
	static const unsigned tries[] = {
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
	    TUN_F_CSUM,
	};
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0)
			return tries[i];
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
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, t->cfg.dev, strlen(t->cfg.dev));
	if (ioctl(t->dev_fd, TUNSETIFF, &ifr) < 0)
		return err_set(err, errno, "tuntap: creating tun device %s", t->cfg.dev);
	int hdr = (int)TT_VNET_LEN;
	if (ioctl(t->dev_fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return err_set(err, errno, "tuntap: %s: TUNSETVNETHDRSZ", t->cfg.dev);
	t->offloads = offload_probe(t->dev_fd);
	t->gso = (t->offloads & ~(unsigned)TUN_F_CSUM) != 0;
	if (tt_offload_set(t, t->dev_fd) < 0)
		return err_set(err, errno, "tuntap: %s: TUNSETOFFLOAD", t->cfg.dev);
	memcpy(t->cfg.dev, ifr.ifr_name, sizeof(t->cfg.dev));
	t->cfg.dev[sizeof(t->cfg.dev) - 1] = '\0';
	t->ifindex = (int)if_nametoindex(t->cfg.dev);
	if (t->ifindex == 0)
		return err_set(err, errno, "tuntap: %s: no interface index", t->cfg.dev);
	if (tt_nl_link_setup(t->cfg.dev, t->ifindex, t->cfg.mtu, t->cfg.ips, t->cfg.n_ips, err) < 0)
		return -1;
	ev_io_init(&t->dev_io, tt_dev_read_cb, t->dev_fd, EV_READ);
	ev_io_start(t->loop, &t->dev_io);
	return 0;
}

static void log_started(const struct tt *t)
{
	char ips[TT_MAX_IPS * (INET6_ADDRSTRLEN + 6)] = "";
	size_t at = 0;
	for (size_t i = 0; i < t->cfg.n_ips && at < sizeof(ips); i++) {
		char a[INET6_ADDRSTRLEN];
		tt_ip_text(t->cfg.ips[i].family, &t->cfg.ips[i].ip, a, sizeof(a));
		int n = snprintf(ips + at, sizeof(ips) - at, " %s/%u", a, t->cfg.ips[i].prefix);
		at += n > 0 ? (size_t)n : 0;
	}
	log_info("tuntap: router on %s (mtu %u,%s), socket %s, firewall %u in and %u out rules, "
		 "offloads: %s",
		 t->cfg.dev, t->cfg.mtu, at ? ips : " no address", t->cfg.socket, t->cfg.fw_in.n,
		 t->cfg.fw_out.n,
		 t->gso		   ? "checksum and segmentation"
		 : t->offloads != 0 ? "checksum"
				    : "none");
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
	ev_io_init(&t->dev_io, tt_dev_read_cb, -1, EV_READ);
	ev_io_init(&t->lio, NULL, -1, EV_READ); /* set by tt_listen */
	ev_init(&t->accept_retry, NULL);
	t->rx = aligned_alloc(64, TT_RX_BUF);
	t->gso_buf = malloc(TT_GSO_SCRATCH);
	if (t->rx == NULL || t->gso_buf == NULL || tt_map_reserve(&t->map, 16) < 0) {
		err_set(err, ENOMEM, "tuntap router");
		tt_free(t);
		return NULL;
	}
	if (open_device(t, err) < 0 || tt_listen(t, err) < 0) {
		tt_free(t);
		return NULL;
	}
	if (tt_gw_configured(&t->cfg) &&
	    (t->gw = tt_gw_new(loop, &t->cfg, tt_from_gateway, t, err)) == NULL) {
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
	tt_gw_free(t->gw);
	ev_io_stop(t->loop, &t->dev_io);
	if (t->dev_fd >= 0)
		close(t->dev_fd);
	t->dev_fd = -1; /* the peers go without touching offloads */
	while (t->peers != NULL)
		tt_peer_free(t->peers);
	ev_io_stop(t->loop, &t->lio);
	ev_timer_stop(t->loop, &t->accept_retry);
	if (t->lfd >= 0) {
		close(t->lfd);
		struct stat st;
		if (lstat(t->cfg.socket, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(t->cfg.socket);
	}
	tt_config_free(&t->cfg);
	free(t->map.s);
	free(t->rx);
	free(t->gso_buf);
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
		tt_ip_text(c->family, &c->ip, a, sizeof(a));
		struct tt_peer *o = tt_map_find(&t->map, c->family, &c->ip);
		const char *why = NULL;
		if (tt_is_router_ip(t, c->family, &c->ip))
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
	if (tt_map_reserve(&t->map, p->addrs.n) < 0)
		return err_set(err, ENOMEM, "tuntap: %s", p->name);
	for (unsigned i = 0; i < p->addrs.n; i++)
		tt_map_insert(&t->map, p->addrs.family[i], &p->addrs.ip[i], p);
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
	struct tt_peer *p = tt_peer_alloc(t, -1);
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
		tt_peer_free(p);
		return NULL;
	}
	if (attach_addrs(t, p, net, err) < 0) {
		p->addrs.n = 0; /* none of them went into the table */
		close(fd);
		tt_peer_free(p);
		return NULL;
	}
	p->fd = fd;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	int hdr = (int)TT_VNET_LEN;
	p->vnet = ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR);
	if (p->vnet && ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		err_set(err, errno, "tuntap: %s: TUNSETVNETHDRSZ", p->name);
		tt_peer_free(p); /* closes fd */
		return NULL;
	}
	if (!p->vnet)
		log_warn("tuntap: %s: its tun device takes plain packets only", p->name);
	else if (tt_offload_set(t, fd) < 0)
		log_warn("tuntap: %s: setting offloads: %s", p->name, strerror(errno));
	ev_io_init(&p->rio, tt_tun_read_cb, fd, EV_READ);
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
	tt_peer_free(p);
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
		tt_ip_text(p->addrs.family[i], &p->addrs.ip[i], a, sizeof(a));
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
	json_key(j, "segmentation_offload"), json_bool(j, t->gso);
	json_key(j, "segmented"), json_uint(j, t->segmented);
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
	json_key(j, "gateway"), tt_gw_stats_json(t->gw, j);
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

/* A Prometheus label value: backslash, quote and newline escaped. */
static int prom_label(struct buf *o, const char *s)
{
	int rc = 0;
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			rc |= buf_putc(o, '\\'), rc |= buf_putc(o, *s);
		else if (*s == '\n')
			rc |= buf_puts(o, "\\n");
		else
			rc |= buf_putc(o, *s);
	}
	return rc;
}

static int prom_counters(struct buf *o, const char *peer, const struct tt_counters *c)
{
	static const char *const names[] = {"packets", "bytes"};
	const uint64_t v[2][2] = {{c->packets_in, c->packets_out}, {c->bytes_in, c->bytes_out}};
	int rc = 0;
	for (int m = 0; m < 2; m++)
		for (int d = 0; d < 2; d++) {
			rc |= buf_printf(o, "imperium_tuntap_%s_total{peer=\"", names[m]);
			rc |= prom_label(o, peer);
			rc |= buf_printf(o, "\",direction=\"%s\"} %" PRIu64 "\n", d ? "out" : "in",
					 v[m][d]);
		}
	return rc;
}

int tt_stats_prometheus(struct tt *t, struct buf *o)
{
	if (t == NULL)
		return 0;
	int rc = buf_printf(o,
			    "# HELP imperium_tuntap_peers Peers of the tuntap router.\n"
			    "# TYPE imperium_tuntap_peers gauge\n"
			    "imperium_tuntap_peers %" PRIu64 "\n",
			    (uint64_t)t->n_peers);
	rc |= buf_puts(o, "# HELP imperium_tuntap_packets_total Packets from (in) and to (out) each "
			  "peer, and the host device.\n# TYPE imperium_tuntap_packets_total counter\n"
			  "# HELP imperium_tuntap_bytes_total Bytes likewise.\n"
			  "# TYPE imperium_tuntap_bytes_total counter\n");
	rc |= prom_counters(o, "host", &t->host);
	for (const struct tt_peer *p = t->peers; p != NULL; p = p->next)
		rc |= prom_counters(o, p->name, &p->c);
	rc |= buf_puts(o, "# HELP imperium_tuntap_dropped_packets_total Packets dropped, by "
			  "reason.\n# TYPE imperium_tuntap_dropped_packets_total counter\n");
	for (int i = 0; i < TT_DROP__COUNT; i++)
		if (drop_names[i] != NULL)
			rc |= buf_printf(o,
					 "imperium_tuntap_dropped_packets_total{reason=\"%s\"} %" PRIu64
					 "\n",
					 drop_names[i], t->drops[i]);
	rc |= buf_printf(o,
			 "# HELP imperium_tuntap_segmented_packets_total Packets cut from "
			 "segmentation-offload ones for readers of whole packets.\n"
			 "# TYPE imperium_tuntap_segmented_packets_total counter\n"
			 "imperium_tuntap_segmented_packets_total %" PRIu64 "\n",
			 t->segmented);
	return rc;
}
