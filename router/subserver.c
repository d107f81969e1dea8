/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The subscription server: datagrams from UDP and unix datagram listeners
 * and from the sockets the emperor hands its vassals, parsed strictly,
 * applied to the node table, acknowledged to the node's `notify` socket as
 * uWSGI does, and forwarded to `resubscribe` routers. A timer sweeps nodes
 * that stopped refreshing. Bad packets are counted by reason and logged at
 * most once per few seconds: a flood of garbage costs a counter, not a log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "router/internal.h"

#define DROP_LOG_EVERY 5.0 /* seconds between two logs about dropped packets */

/* Whether a drop for reason @why (a static string) is to be logged now:
 * each reason at most once per DROP_LOG_EVERY, so every kind of refusal is
 * seen and a flood of one kind costs a counter. *suppressed: how many of
 * that reason were not logged since its last line. */
static bool drop_log_due(struct rtr *r, const char *why, uint64_t *suppressed)
{
	uint64_t h = 5381;
	for (const char *c = why; *c; c++)
		h = h * 33 + (unsigned char)*c;
	struct rtr_droplog *d = &r->droplog[h % RTR_DROPLOG_SLOTS];
	double now = ev_now(r->loop);
	bool same = d->why != NULL && strcmp(d->why, why) == 0;
	if (same && now - d->last < DROP_LOG_EVERY) {
		d->suppressed++;
		return false;
	}
	*suppressed = same ? d->suppressed : 0;
	d->why = why;
	d->last = now;
	d->suppressed = 0;
	return true;
}

static void log_drop(struct rtr *r, const char *peer, const char *why)
{
	uint64_t more;
	if (drop_log_due(r, why, &more))
		log_warn("subscription server: dropped a packet from %s: %s (%llu more for this "
			 "reason since the last such line)",
			 peer, why, (unsigned long long)more);
}

/* The same, naming the key the packet claimed. */
static void log_drop_key(struct rtr *r, const char *peer, const struct subpkt *p, const char *why)
{
	uint64_t more;
	if (drop_log_due(r, why, &more))
		log_warn("subscription server: dropped a packet from %s: key %.*s: %s (%llu more "
			 "for this reason since the last such line)",
			 peer, (int)p->key.len, p->key.p, why, (unsigned long long)more);
}

/* TLS settings for a key are honoured only from whom may speak for it:
 * a signed packet or the key's own local vassal. */
static void take_sni(struct rtr *r, struct rtr_pool *pool, const struct subpkt *p, bool trusted,
		     const char *peer)
{
	const char *why = NULL;
	int changed = 0;
	if (!trusted)
		why = "sni_* ignored: only signed or local subscriptions set them";
	else if ((changed = rtr_pool_set_sni(pool, p)) < 0)
		why = "sni_* ignored: a path is too long or has a NUL";
	uint64_t more;
	if (why != NULL) {
		r->sni_ignored++;
		if (drop_log_due(r, why, &more))
			log_warn("subscription server: packet from %s: key %s: %s", peer, pool->key,
				 why);
	}
	else if (changed > 0)
		log_info("router: %s: TLS certificate %s, key %s%s%s (from %s)", pool->key,
			 pool->sni_crt, pool->sni_key, pool->sni_ca ? ", client CA " : "",
			 pool->sni_ca ? pool->sni_ca : "", peer);
}

int rtr_subserver_open(struct rtr *r, struct rtr_listener *l, struct err **err)
{
	const struct sockaddr *sa = (const struct sockaddr *)&l->addr.ss;
	int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errno, "subscription server %s: socket", l->addr.text);
	if (sa->sa_family == AF_UNIX) {
		const char *path = ((const struct sockaddr_un *)sa)->sun_path;
		struct stat st;
		if (path[0] != '\0' && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	}
	if (bind(fd, sa, l->addr.len) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, e, "subscription server %s: bind", l->addr.text);
	}
	if (sa->sa_family == AF_UNIX) {
		const char *path = ((const struct sockaddr_un *)sa)->sun_path;
		/* Nodes run as other users; anyone local could send over UDP
		 * on loopback just the same. */
		if (path[0] != '\0')
			chmod(path, 0666);
	}
	l->fd = fd;
	l->r = r;
	return 0;
}

static bool str_in(const struct subpkt_str *s, char *const *list, size_t n, bool icase)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(list[i]);
		if (len == s->len &&
		    (icase ? strncasecmp(list[i], s->p, len) : memcmp(list[i], s->p, len)) == 0)
			return true;
	}
	return false;
}

static void send_ack(struct rtr *r, const struct rtr_node *n)
{
	if (n->notify[0] == '\0' || r->notify_fd < 0)
		return;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t plen = strlen(n->notify);
	if (plen >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, n->notify, plen);
	char msg[512];
	int len = snprintf(msg, sizeof(msg), "[subscription ack] %s => new node: %s",
			   n->pool ? n->pool->key : "", n->addr.text);
	if (len < 0 || (size_t)len >= sizeof(msg))
		return;
	/* Best effort, like every subscription datagram. */
	(void)sendto(r->notify_fd, msg, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&sun,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen));
}

static int resub_fd(struct rtr *r, int family)
{
	int *slot = family == AF_INET ? &r->resub_fd4 : family == AF_INET6 ? &r->resub_fd6
									   : &r->resub_fdu;
	if (*slot < 0)
		*slot = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return *slot;
}

/* Re-announce an accepted key to the routers above us, with our own
 * address: they send the key's traffic here. */
static void resubscribe(struct rtr *r, const struct subpkt *in, bool unsubscribe)
{
	if (r->cfg.n_resub == 0 || r->resub_address[0] == '\0' || in->hops >= r->cfg.resub_hops)
		return;
	struct subpkt p;
	memset(&p, 0, sizeof(p));
	p.unsubscribe = unsubscribe;
	p.key = in->key;
	p.address = subpkt_str_of(r->resub_address);
	p.cores = 1;
	p.weight = in->weight ? in->weight : 1;
	p.proto = subpkt_str_of(r->resub_http ? "http" : NULL);
	p.hops = in->hops + 1;
	uint8_t stack[SUBPKT_DGRAM_MAX];
	struct buf b = {.max = sizeof(stack)};
	if (subpkt_build(&b, &p) < 0) {
		buf_free(&b);
		return;
	}
	memcpy(stack, b.data, b.len);
	size_t len = b.len;
	buf_free(&b);
	for (size_t i = 0; i < r->cfg.n_resub; i++) {
		const struct addr *a = &r->cfg.resub[i];
		int fd = resub_fd(r, ((const struct sockaddr *)&a->ss)->sa_family);
		if (fd >= 0 && sendto(fd, stack, len, MSG_DONTWAIT, (const struct sockaddr *)&a->ss,
				      a->len) == (ssize_t)len)
			r->resub_sent++;
	}
}

static void applied(struct rtr *r, const struct subpkt *p, enum rtr_sub_result res,
		    struct rtr_node *node, const char *peer)
{
	switch (res) {
	case RTR_SUB_CREATED:
		r->sub_accepted++;
		log_info("router: %.*s: new node %s (from %s)", (int)p->key.len, p->key.p,
			 node->addr.text, peer);
		send_ack(r, node);
		resubscribe(r, p, false);
		break;
	case RTR_SUB_REFRESHED:
		r->sub_accepted++;
		resubscribe(r, p, false);
		break;
	case RTR_SUB_REMOVED:
		r->sub_removed++;
		log_info("router: %.*s: node %.*s unsubscribed", (int)p->key.len, p->key.p,
			 (int)p->address.len, p->address.p);
		if (rtr_table_find(r->table, p->key.p, p->key.len) == NULL)
			resubscribe(r, p, true);
		break;
	case RTR_SUB_NOT_FOUND:
		break;
	case RTR_SUB_BAD_ADDRESS:
		r->drops[RTR_DROP_BAD_ADDRESS]++;
		log_drop(r, peer, "address does not parse");
		break;
	case RTR_SUB_BAD_ALGO:
		r->drops[RTR_DROP_BAD_ALGO]++;
		log_drop(r, peer, "unknown algo");
		break;
	case RTR_SUB_FULL_KEYS:
	case RTR_SUB_FULL_NODES:
	case RTR_SUB_FULL_KEY_NODES:
		r->drops[RTR_DROP_FULL]++;
		log_drop(r, peer, rtr_sub_result_name(res));
		break;
	}
}

/* One datagram. @local: the vassal socket it came on, or NULL. */
static void handle(struct rtr *r, const void *data, size_t len, struct rtr_local *local,
		   const char *peer)
{
	struct subpkt p;
	enum subpkt_drop d = subpkt_parse(data, len, &p);
	if (d != SUBPKT_OK) {
		r->sub_drops[d]++;
		r->drops[RTR_DROP_MALFORMED]++;
		log_drop(r, peer, subpkt_drop_name(d));
		return;
	}
	if (local != NULL) {
		if (!str_in(&p.key, local->keys, local->n_keys, true)) {
			r->drops[RTR_DROP_FOREIGN_KEY]++;
			log_drop_key(r, peer, &p, "key not declared by this vassal");
			return;
		}
		if (!str_in(&p.address, local->addrs, local->n_addrs, false)) {
			r->drops[RTR_DROP_FOREIGN_ADDR]++;
			log_drop_key(r, peer, &p, "address not one of this vassal's sockets");
			return;
		}
	}
	/* A local vassal is known by its socket; anyone else by signature. */
	bool trusted = local != NULL;
	if (local == NULL && r->sig != NULL) {
		enum rtr_drop why_drop;
		const char *why;
		enum rtr_sig v = rtr_sigcheck(r->sig, &p, data, (int64_t)time(NULL), &why_drop, &why);
		if (v == RTR_SIG_DROP) {
			r->drops[why_drop]++;
			log_drop_key(r, peer, &p, why);
			return;
		}
		trusted = v == RTR_SIG_OK;
	}
	struct rtr_node *node = NULL;
	enum rtr_sub_result res =
	    rtr_table_apply(r->table, &p, local ? local->vassal : NULL, ev_now(r->loop), &node);
	if (node != NULL && node->pool != NULL && (p.sni_crt.len || p.sni_key.len))
		take_sni(r, node->pool, &p, trusted, peer);
	applied(r, &p, res, node, peer);
}

static void on_listener(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct rtr_listener *l = container_of(w, struct rtr_listener, io);
	uint8_t pkt[SUBPKT_DGRAM_MAX + 1];
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(l->fd, pkt, sizeof(pkt), MSG_TRUNC, (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error queued on the socket */
		if ((size_t)n > sizeof(pkt))
			n = sizeof(pkt); /* truncated: still one byte too many, so "oversized" */
		char peer[ADDR_TEXT_MAX + 16];
		if (sl > sizeof(sa_family_t))
			addr_format((struct sockaddr *)&ss, sl, peer, sizeof(peer));
		else
			snprintf(peer, sizeof(peer), "%.*s (unnamed)", ADDR_TEXT_MAX - 1, l->addr.text);
		handle(l->r, pkt, (size_t)n, NULL, peer);
	}
}

void rtr_subserver_start(struct rtr *r, struct rtr_listener *l)
{
	ev_io_init(&l->io, on_listener, l->fd, EV_READ);
	ev_io_start(r->loop, &l->io);
}

static void on_local(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct rtr_local *lc = container_of(w, struct rtr_local, io);
	uint8_t pkt[SUBPKT_DGRAM_MAX + 1];
	char peer[RTR_VASSAL_MAX + 16];
	snprintf(peer, sizeof(peer), "vassal %s", lc->vassal);
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(lc->fd, pkt, sizeof(pkt), MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0)
			return;
		if ((size_t)n > sizeof(pkt))
			n = sizeof(pkt); /* truncated: still one byte too many, so "oversized" */
		handle(lc->r, pkt, (size_t)n, lc, peer);
	}
}

static void local_free(struct rtr_local *l)
{
	for (size_t i = 0; i < l->n_keys; i++)
		free(l->keys[i]);
	for (size_t i = 0; i < l->n_addrs; i++)
		free(l->addrs[i]);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

static int copy_list(char **dst, size_t *n, size_t max, const char *const *src, size_t count,
		     struct err **err)
{
	if (count > max)
		return err_set(err, E2BIG, "more than %zu entries", max);
	for (size_t i = 0; i < count; i++) {
		if ((dst[i] = strdup(src[i])) == NULL)
			return err_set(err, ENOMEM, "router");
		*n = i + 1;
	}
	return 0;
}

struct rtr_local *rtr_local_attach(struct rtr *r, const char *vassal, int fd,
				   const char *const *keys, size_t n_keys,
				   const char *const *addrs, size_t n_addrs, struct err **err)
{
	struct rtr_local *l = r ? calloc(1, sizeof(*l)) : NULL;
	if (l == NULL) {
		close(fd);
		err_set(err, ENOMEM, "router");
		return NULL;
	}
	l->r = r;
	l->fd = fd;
	snprintf(l->vassal, sizeof(l->vassal), "%s", vassal);
	if (copy_list(l->keys, &l->n_keys, RTR_LOCAL_KEYS, keys, n_keys, err) < 0 ||
	    copy_list(l->addrs, &l->n_addrs, RTR_LOCAL_ADDRS, addrs, n_addrs, err) < 0) {
		err_prefix(err, "vassal %s: subscription socket", vassal);
		local_free(l);
		return NULL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ev_io_init(&l->io, on_local, fd, EV_READ);
	ev_io_start(r->loop, &l->io);
	l->next = r->locals;
	if (r->locals)
		r->locals->prev = l;
	r->locals = l;
	return l;
}

int rtr_local_set_keys(struct rtr_local *l, const char *const *keys, size_t n_keys,
		       struct err **err)
{
	if (l == NULL)
		return 0;
	char *fresh[RTR_LOCAL_KEYS];
	size_t n = 0;
	if (copy_list(fresh, &n, RTR_LOCAL_KEYS, keys, n_keys, err) < 0) {
		while (n > 0)
			free(fresh[--n]);
		err_prefix(err, "vassal %s: subscription socket", l->vassal);
		return -1;
	}
	for (size_t i = 0; i < l->n_keys; i++)
		free(l->keys[i]);
	memcpy(l->keys, fresh, n * sizeof(fresh[0]));
	l->n_keys = n;
	size_t gone = rtr_table_remove_vassal_except(l->r->table, l->vassal,
						     (const char *const *)l->keys, l->n_keys);
	if (gone > 0)
		log_info("router: vassal %s no longer claims %zu node(s): removed", l->vassal,
			 gone);
	l->r->sub_removed += gone;
	return 0;
}

void rtr_local_detach(struct rtr_local *l)
{
	if (l == NULL)
		return;
	struct rtr *r = l->r;
	ev_io_stop(r->loop, &l->io);
	/* Packets already queued are still the vassal's word: take them. */
	on_local(r->loop, &l->io, EV_READ);
	if (l->prev)
		l->prev->next = l->next;
	else
		r->locals = l->next;
	if (l->next)
		l->next->prev = l->prev;
	local_free(l);
}

void rtr_forget_vassal(struct rtr *r, const char *name)
{
	if (r == NULL)
		return;
	size_t n = rtr_table_remove_vassal(r->table, name);
	if (n > 0)
		log_info("router: vassal %s stopped: %zu node(s) removed", name, n);
	r->sub_removed += n;
}

static void expired(void *ctx, const struct rtr_node *n)
{
	struct rtr *r = ctx;
	r->sub_expired++;
	log_info("router: %s: node %s expired (no refresh for %llu ms)",
		 n->pool ? n->pool->key : "?", n->addr.text,
		 (unsigned long long)r->cfg.tolerance_ms);
	rtr_backend_close_idle((struct rtr_node *)n);
}

void rtr_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct rtr *r = container_of(w, struct rtr, sweep);
	rtr_table_expire(r->table, ev_now(loop), expired, r);
}

void rtr_sub_close(struct rtr *r)
{
	while (r->locals)
		rtr_local_detach(r->locals);
	int *fds[] = {&r->notify_fd, &r->resub_fd4, &r->resub_fd6, &r->resub_fdu};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(steal_fd(fds[i]));
}
