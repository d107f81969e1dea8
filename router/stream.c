/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The stream front ends on the router's node table: `fastrouter` (uwsgi
 * packets, e.g. from nginx's uwsgi_pass: the key comes from the packet's
 * vars), `rawrouter` (TCP bytes: the key is the listener's) and `sslrouter`
 * (TLS terminated here: the key is the SNI name). Each connection goes
 * through three phases: a head (the uwsgi packet's header and vars, within
 * http-header-timeout and http-max-header-size; or the TLS handshake), a
 * connect to a node of its key's pool (http-connect-timeout; a failed or
 * timed-out connect marks the node failed and tries another, up to
 * http-retries, replaying what the client sent so far, since nothing of it
 * went out), then bytes both ways untouched (but for a uwsgi packet's
 * modifiers, set to the node's as uWSGI's fastrouter does).
 *
 * Back-pressure: a side is not read while the buffer towards its peer holds
 * RTR_HIGH_WATER bytes. Half-closes propagate: EOF from one side becomes a
 * shutdown(SHUT_WR) towards the other once its buffer is flushed, and the
 * connection ends when both directions are done (or either side resets);
 * http-timeout without progress either way ends it too. Events only move
 * bytes and set flags; pump() advances, sets the watchers, and frees the
 * connection when it is over, at the end of the callback that decided it.
 *
 * There is no protocol to tell a client why it is refused, so an unknown
 * key, a pool without a live node or a bad head closes the connection, with
 * a log line (each kind and reason at most once per 5 s) and a counter.
 * A fastrouter key served by an `http` node is refused (no_node): the bytes
 * are a uwsgi packet, which such a node cannot read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "router/internal.h"

#define LOG_EVERY 5.0		  /* seconds between two logs of one kind and reason */
#define LOG_CONNECT RTR_SC__COUNT /* stream_log slot of connect failures */

enum phase {
	P_HEAD,	   /* fastrouter: reading the uwsgi head; sslrouter: handshake */
	P_CONNECT, /* connecting to a node */
	P_PIPE,	   /* bytes both ways */
};

struct rtr_stream {
	struct rtr *r;
	struct rtr_listener *l;
	struct rtr_stream *next, *prev;
	enum rtr_skind kind;
	enum phase phase;
	int fd;	 /* the client */
	int nfd; /* the node; -1 when none */
	ev_io io, nio;
	ev_timer timer;		  /* head, connect, or idle timeout by phase */
	struct rtr_tls_conn *tls; /* sslrouter */
	struct rtr_node *node;	  /* held (rtr_node_ref, inflight) while nfd is open */
	struct sockaddr_storage peer;
	char peer_ip[INET6_ADDRSTRLEN], peer_port[8];
	char peer_text[80]; /* ip:port */
	char key[SUBPKT_KEY_MAX + 1];
	size_t keylen;
	size_t path_off, path_len; /* fastrouter: PATH_INFO in `up` (the head stays put
				    * until the node is connected) */
	unsigned tries;
	struct buf up;	     /* client -> node */
	struct buf down;     /* node -> client */
	bool c_eof, n_eof;   /* EOF (or reset) read from the client / node */
	bool c_shut, n_shut; /* our writing side towards it is shut */
	bool n_dead;	     /* the node takes no more bytes: `up` is dropped */
	bool abort;	     /* end now (pump frees) */
	enum rtr_sclose why; /* counted when freed */
};

static const char *const kind_names[RTR_S__COUNT] = {
    [RTR_S_FAST] = "fastrouter",
    [RTR_S_RAW] = "rawrouter",
    [RTR_S_SSL] = "sslrouter",
};

static const char *const close_names[RTR_SC__COUNT] = {
    [RTR_SC_DONE] = "done",
    [RTR_SC_BAD_HEAD] = "bad_head",
    [RTR_SC_UNKNOWN_KEY] = "unknown_key",
    [RTR_SC_NO_NODE] = "no_node",
    [RTR_SC_CONNECT_FAILED] = "connect_failed",
    [RTR_SC_TIMEOUT] = "timeout",
};

const char *rtr_skind_name(enum rtr_skind k)
{
	return k < RTR_S__COUNT ? kind_names[k] : "?";
}

const char *rtr_sclose_name(enum rtr_sclose c)
{
	return c < RTR_SC__COUNT ? close_names[c] : "?";
}

static void pump(struct rtr_stream *s);

static double secs(uint64_t ms)
{
	return (double)ms / 1000.0;
}

static void arm(struct rtr_stream *s, uint64_t ms)
{
	s->timer.repeat = secs(ms);
	ev_timer_again(s->r->loop, &s->timer);
}

/* ---- logs ---- */

/* Whether a line for (@s's kind, @slot) is due; *more: lines not logged
 * for it since its last one. */
static bool log_due(struct rtr_stream *s, size_t slot, uint64_t *more)
{
	struct rtr_droplog *d = &s->r->stream_log[s->kind][slot];
	double now = ev_now(s->r->loop);
	if (d->why != NULL && now - d->last < LOG_EVERY) {
		d->suppressed++;
		return false;
	}
	*more = d->suppressed;
	d->why = "";
	d->last = now;
	d->suppressed = 0;
	return true;
}

/* Close @s for @why, logged (rate-limited) with @detail. */
static void refuse(struct rtr_stream *s, enum rtr_sclose why, const char *detail)
{
	uint64_t more;
	s->abort = true;
	s->why = why;
	if (log_due(s, why, &more))
		log_warn("router: %s %s: closed %s (key \"%s\"): %s: %s (%" PRIu64
			 " more for this reason since the last such line)",
			 kind_names[s->kind], s->l->addr.text, s->peer_text, s->key,
			 close_names[why], detail, more);
}

/* ---- the node side ---- */

/* Let go of the node: close its socket, keep or drop the reference. */
static struct rtr_node *node_release(struct rtr_stream *s)
{
	struct rtr_node *n = s->node;
	if (s->nfd >= 0) {
		ev_io_stop(s->r->loop, &s->nio);
		close(s->nfd);
		s->nfd = -1;
	}
	if (n != NULL && n->inflight > 0)
		n->inflight--;
	s->node = NULL;
	return n; /* still referenced: the caller unrefs */
}

static void on_node_io(struct ev_loop *loop, ev_io *w, int revents);
static void route(struct rtr_stream *s, const struct rtr_node *exclude);

/* Connected: the node gets what the client sent so far. */
static void connected(struct rtr_stream *s)
{
	s->phase = P_PIPE;
	if (s->kind == RTR_S_FAST && s->up.len >= 4) {
		/* uWSGI's fastrouter sends the node's own modifiers */
		s->up.data[0] = (char)s->node->modifier1;
		s->up.data[3] = (char)s->node->modifier2;
	}
	arm(s, s->r->cfg.timeout_ms);
}

/* Connecting to @n failed with @e: count, log (rate-limited), and take the
 * node out of rotation. */
static void node_failed(struct rtr_stream *s, struct rtr_node *n, int e)
{
	struct rtr *r = s->r;
	uint64_t more;
	r->sstats[s->kind].connect_failures++;
	if (log_due(s, LOG_CONNECT, &more))
		log_warn("router: %s %s: key \"%s\": node %s: connect: %s (%" PRIu64
			 " more connect failures since the last such line)",
			 kind_names[s->kind], s->l->addr.text, s->key, n->addr.text, strerror(e),
			 more);
	rtr_node_failed(r->table, n, ev_now(r->loop));
}

/* A connect to s->node failed (@e): mark it, and try another node while
 * http-retries allows. */
static void connect_failed(struct rtr_stream *s, int e)
{
	struct rtr *r = s->r;
	struct rtr_node *n = node_release(s);
	node_failed(s, n, e);
	if (s->tries > r->cfg.retries)
		refuse(s, RTR_SC_CONNECT_FAILED, "no node could be connected");
	else
		route(s, n);
	rtr_node_unref(n);
}

/* Start connecting to @n (referenced by the caller for us). 0 when the
 * connect is under way or done, -1 with errno when it failed at once. */
static int node_connect(struct rtr_stream *s, struct rtr_node *n)
{
	struct rtr *r = s->r;
	bool done;
	int fd = rtr_connect(&n->addr, &done);
	if (fd < 0)
		return -1;
	s->nfd = fd;
	s->node = n;
	n->inflight++;
	ev_io_init(&s->nio, on_node_io, fd, EV_WRITE);
	if (done) {
		connected(s); /* unix sockets connect at once */
		return 0;
	}
	s->phase = P_CONNECT;
	arm(s, r->cfg.connect_timeout_ms);
	return 0;
}

/* The pool for s->key: the fastrouter with mountpoints over PATH_INFO, and
 * host:port falling back to host, as the HTTP router does. */
static struct rtr_pool *find_pool(struct rtr_stream *s)
{
	struct rtr *r = s->r;
	if (s->kind != RTR_S_FAST)
		return rtr_table_lookup(r->table, s->key, s->keylen, NULL, 0, 0);
	const char *path = s->path_len ? s->up.data + s->path_off : NULL;
	unsigned mp = (unsigned)r->cfg.mountpoints;
	struct rtr_pool *p = rtr_table_lookup(r->table, s->key, s->keylen, path, s->path_len, mp);
	size_t hl = rtr_host_len(s->key, s->keylen);
	if (p == NULL && hl < s->keylen)
		p = rtr_table_lookup(r->table, s->key, hl, path, s->path_len, mp);
	return p;
}

/* Pick a node (not @exclude, which just failed) and connect to it. */
static void route(struct rtr_stream *s, const struct rtr_node *exclude)
{
	struct rtr *r = s->r;
	struct rtr_node *held = NULL; /* a node that failed at once, kept for exclude */
	for (;;) {
		struct rtr_pool *pool = find_pool(s);
		struct rtr_node *n = pool
					 ? rtr_pool_pick(pool, ev_now(r->loop),
							 (const struct sockaddr *)&s->peer, exclude)
					 : NULL;
		if (pool == NULL || n == NULL) {
			if (s->tries > 0)
				refuse(s, RTR_SC_CONNECT_FAILED, "no other node to try");
			else if (pool == NULL)
				refuse(s, RTR_SC_UNKNOWN_KEY, "no pool for the key");
			else
				refuse(s, RTR_SC_NO_NODE, "no live node for the key");
			break;
		}
		if (s->kind == RTR_S_FAST && n->proto != RTR_PROTO_UWSGI) {
			refuse(s, RTR_SC_NO_NODE, "the node picked speaks http, not uwsgi");
			break;
		}
		s->tries++;
		n->requests++;
		rtr_node_ref(n);
		if (node_connect(s, n) == 0)
			break;
		node_failed(s, n, errno);
		if (held != NULL)
			rtr_node_unref(held);
		held = n;
		exclude = n;
		if (s->tries > r->cfg.retries) {
			refuse(s, RTR_SC_CONNECT_FAILED, "no node could be connected");
			break;
		}
	}
	if (held != NULL)
		rtr_node_unref(held);
}

/* The key is known (s->key): look it up and connect. */
static void start(struct rtr_stream *s)
{
	if (s->keylen == 0) {
		refuse(s, RTR_SC_UNKNOWN_KEY, "no key");
		return;
	}
	route(s, NULL);
}

/* ---- bytes ---- */

static bool node_send(struct rtr_stream *s)
{
	bool moved = false;
	while (s->up.len > 0 && !s->n_dead) {
		ssize_t n = send(s->nfd, s->up.data, s->up.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				s->n_dead = true; /* what the client sends now goes nowhere */
				buf_reset(&s->up);
			}
			break;
		}
		s->node->tx += (uint64_t)n;
		buf_consume(&s->up, (size_t)n);
		moved = true;
	}
	return moved;
}

static void node_recv(struct rtr_stream *s)
{
	size_t want = rtr_room(&s->down) < RTR_IO_CHUNK ? rtr_room(&s->down) : RTR_IO_CHUNK;
	if (s->n_eof || want == 0 || buf_reserve(&s->down, want) < 0)
		return;
	ssize_t n = recv(s->nfd, s->down.data + s->down.len, want, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			s->n_eof = true; /* reset: nothing more comes, nothing more goes */
			s->n_dead = true;
			buf_reset(&s->up);
		}
		return;
	}
	if (n == 0) {
		s->n_eof = true;
		return;
	}
	s->down.len += (size_t)n;
	s->down.data[s->down.len] = '\0';
	s->node->rx += (uint64_t)n;
}

static ssize_t client_read(struct rtr_stream *s, void *p, size_t n)
{
	if (s->tls != NULL)
		return rtr_tls_session_read(s->tls, p, n);
	return recv(s->fd, p, n, 0);
}

static ssize_t client_write(struct rtr_stream *s, const void *p, size_t n)
{
	if (s->tls != NULL)
		return rtr_tls_session_write(s->tls, p, n);
	return send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void client_recv(struct rtr_stream *s)
{
	size_t want = rtr_room(&s->up) < RTR_IO_CHUNK ? rtr_room(&s->up) : RTR_IO_CHUNK;
	if (s->c_eof || want == 0 || buf_reserve(&s->up, want) < 0)
		return;
	/* TLS hands out one record (<= 16 KiB) a call: go on to fill @want. */
	for (size_t got = 0; got < want;) {
		ssize_t n = client_read(s, s->up.data + s->up.len, want - got);
		if (n > 0) {
			s->up.len += (size_t)n;
			s->up.data[s->up.len] = '\0';
			got += (size_t)n;
			s->r->sstats[s->kind].bytes_in += (uint64_t)n;
		} else if (n == 0) {
			s->c_eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			s->c_eof = true;
			if (s->phase != P_HEAD)
				s->abort = true; /* a reset: nobody to answer any more */
		}
		if (n <= 0 || s->tls == NULL)
			break;
	}
	if (s->n_dead)
		buf_reset(&s->up); /* drained and dropped until the client closes */
}

/* Send what s->down holds; a client that cannot take it ends the stream. */
static bool client_send(struct rtr_stream *s)
{
	bool moved = false;
	while (s->down.len > 0) {
		ssize_t n = client_write(s, s->down.data, s->down.len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				s->abort = true;
			break;
		}
		s->r->sstats[s->kind].bytes_out += (uint64_t)n;
		buf_consume(&s->down, (size_t)n);
		moved = true;
	}
	return moved;
}

/* ---- phases ---- */

/* P_HEAD of a fastrouter: parse the uwsgi head once it is all there. */
static bool fast_head(struct rtr_stream *s)
{
	struct rtr *r = s->r;
	if (s->up.len == 0) {
		if (s->c_eof)
			s->abort = true; /* connected and closed: nothing to refuse */
		return false;
	}
	struct rtr_uwsgi_req q;
	const char *why = NULL;
	int n = rtr_uwsgi_req_parse(s->up.data, s->up.len, r->cfg.max_head, &q, &why);
	if (n == 0) {
		if (s->c_eof)
			refuse(s, RTR_SC_BAD_HEAD, "closed before the whole uwsgi head");
		return false;
	}
	if (n < 0) {
		refuse(s, RTR_SC_BAD_HEAD, why ? why : "invalid uwsgi head");
		return true;
	}
	const char *k = r->cfg.fast_force_key[0] ? r->cfg.fast_force_key : q.key.p;
	size_t kl = r->cfg.fast_force_key[0] ? strlen(k) : q.key.len;
	if (kl > SUBPKT_KEY_MAX)
		kl = SUBPKT_KEY_MAX;
	if (kl > 0)
		memcpy(s->key, k, kl);
	s->key[kl] = '\0';
	s->keylen = kl;
	if (q.path_info.len > 0) {
		s->path_off = (size_t)(q.path_info.p - s->up.data);
		s->path_len = q.path_info.len;
	}
	s->phase = P_CONNECT; /* leaves the head phase even when refused */
	start(s);
	return true;
}

/* The handshake of an sslrouter client; its SNI name is the key. */
static void ssl_head(struct rtr_stream *s)
{
	int hs = rtr_tls_session_handshake(s->tls);
	if (hs < 0) {
		/* tls.c counted and logged the reason */
		s->abort = true;
		s->why = RTR_SC_BAD_HEAD;
		return;
	}
	if (hs == 0)
		return;
	const char *sni = rtr_tls_session_sni(s->tls);
	size_t kl = strlen(sni);
	if (kl > SUBPKT_KEY_MAX)
		kl = SUBPKT_KEY_MAX;
	memcpy(s->key, sni, kl);
	s->key[kl] = '\0';
	s->keylen = kl;
	s->phase = P_CONNECT;
	if (kl == 0) {
		refuse(s, RTR_SC_UNKNOWN_KEY, "no SNI name");
		return;
	}
	route(s, NULL);
}

static size_t head_cap(const struct rtr *r)
{
	return r->cfg.max_head > RTR_HIGH_WATER ? r->cfg.max_head : RTR_HIGH_WATER;
}

static bool want_client_read(const struct rtr_stream *s)
{
	if (s->c_eof)
		return false;
	switch (s->phase) {
	case P_HEAD:
		return s->up.len < head_cap(s->r);
	case P_CONNECT:
		return s->up.len < RTR_HIGH_WATER;
	case P_PIPE:
		return s->n_dead || s->up.len < RTR_HIGH_WATER;
	}
	return false;
}

static void set_events(struct rtr_stream *s)
{
	struct ev_loop *loop = s->r->loop;
	bool rd = want_client_read(s), wr = s->down.len > 0;
	int ev = (rd ? EV_READ : 0) | (wr ? EV_WRITE : 0);
	if (s->tls != NULL)
		ev = rtr_tls_session_events(s->tls, rd, wr); /* the handshake's wants first */
	rtr_io_want(loop, &s->io, s->fd, ev);
	if (s->nfd < 0)
		return;
	int nev = 0;
	if (s->phase == P_CONNECT) {
		nev = EV_WRITE;
	} else {
		if (!s->n_eof && s->down.len < RTR_HIGH_WATER)
			nev |= EV_READ;
		if (s->up.len > 0 && !s->n_dead)
			nev |= EV_WRITE;
	}
	rtr_io_want(loop, &s->nio, s->nfd, nev);
}

/* Half-closes, and the end once both directions are done. */
static void closes(struct rtr_stream *s)
{
	if (s->c_eof && s->up.len == 0 && !s->n_shut && !s->n_dead) {
		shutdown(s->nfd, SHUT_WR);
		s->n_shut = true;
	}
	if (s->n_eof && s->down.len == 0 && !s->c_shut) {
		if (s->tls != NULL)
			rtr_tls_session_close_notify(s->tls);
		shutdown(s->fd, SHUT_WR);
		s->c_shut = true;
	}
	if (s->c_shut && s->c_eof && (s->n_shut || s->n_dead)) {
		s->abort = true;
		s->why = RTR_SC_DONE;
	}
}

static void stream_free(struct rtr_stream *s);

static void pump(struct rtr_stream *s)
{
	/* Until nothing moves: a send that frees room lets the other side's
	 * bytes move with no event left to wake us. */
	int i;
	for (i = 0; i < 64 && !s->abort; i++) {
		bool moved = false;
		if (s->phase == P_HEAD && s->kind == RTR_S_FAST)
			moved |= fast_head(s);
		if (s->phase == P_PIPE && !s->abort) {
			bool io = node_send(s);
			io |= client_send(s);
			if (io)
				ev_timer_again(s->r->loop, &s->timer); /* progress */
			moved |= io;
		}
		if (!moved)
			break;
	}
	if (s->phase == P_PIPE && !s->abort)
		closes(s);
	if (s->abort) {
		stream_free(s);
		return;
	}
	set_events(s);
	if (i == 64)
		ev_feed_event(s->r->loop, &s->io, EV_CUSTOM); /* let others have the loop */
	else if (s->tls != NULL && rtr_tls_session_pending(s->tls) && want_client_read(s))
		ev_feed_event(s->r->loop, &s->io, EV_READ); /* decrypted, not yet taken */
}

/* ---- events ---- */

static void on_client_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct rtr_stream *s = container_of(w, struct rtr_stream, io);
	if (s->tls != NULL && s->phase == P_HEAD) {
		ssl_head(s);
		if (s->phase == P_HEAD || s->abort) {
			pump(s);
			return;
		}
		revents |= EV_READ; /* bytes may have come with the handshake's end */
	}
	/* TLS: a read may wait for a write event; a failed try is harmless */
	if (((revents & EV_READ) || s->tls != NULL) && want_client_read(s)) {
		size_t before = s->up.len;
		client_recv(s);
		if (s->phase == P_PIPE && s->up.len != before)
			ev_timer_again(s->r->loop, &s->timer);
	}
	pump(s);
}

static void on_node_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rtr_stream *s = container_of(w, struct rtr_stream, nio);
	if (s->phase == P_CONNECT) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(s->nfd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr == EINPROGRESS || (soerr == 0 && !(revents & EV_WRITE)))
			return;
		if (soerr != 0) {
			connect_failed(s, soerr);
			pump(s);
			return;
		}
		connected(s);
	}
	if (revents & EV_READ) {
		size_t before = s->down.len;
		bool eof = s->n_eof;
		node_recv(s);
		if (s->down.len != before || s->n_eof != eof)
			ev_timer_again(loop, &s->timer);
	}
	pump(s);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct rtr_stream *s = container_of(w, struct rtr_stream, timer);
	switch (s->phase) {
	case P_HEAD:
		if (s->tls != NULL)
			rtr_tls_session_timeout(s->tls); /* counted as a TLS failure too */
		refuse(s, RTR_SC_TIMEOUT,
		       s->tls != NULL ? "no handshake within http-header-timeout"
				      : "no whole head within http-header-timeout");
		break;
	case P_CONNECT:
		connect_failed(s, ETIMEDOUT);
		break;
	case P_PIPE:
		refuse(s, RTR_SC_TIMEOUT, "no progress either way within http-timeout");
		break;
	}
	pump(s);
}

/* ---- connections ---- */

/* The client's address as text: @ip ("unix" for a unix socket) and @port. */
static void peer_parts(const struct sockaddr_storage *ss, char ip[INET6_ADDRSTRLEN], char port[8])
{
	snprintf(ip, INET6_ADDRSTRLEN, "unix");
	snprintf(port, 8, "0");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, ip, INET6_ADDRSTRLEN);
		snprintf(port, 8, "%u", ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, INET6_ADDRSTRLEN);
		snprintf(port, 8, "%u", ntohs(in6->sin6_port));
	}
}

static void stream_free(struct rtr_stream *s)
{
	struct rtr *r = s->r;
	struct rtr_stream_stats *st = &r->sstats[s->kind];
	struct rtr_node *n = node_release(s);
	if (n != NULL)
		rtr_node_unref(n);
	ev_io_stop(r->loop, &s->io);
	ev_timer_stop(r->loop, &s->timer);
	rtr_tls_session_free(s->tls);
	close(s->fd);
	buf_free(&s->up);
	buf_free(&s->down);
	if (s->prev)
		s->prev->next = s->next;
	else
		r->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	st->closed[s->why]++;
	st->active--;
	free(s);
	r->n_clients--;
	rtr_accept_resume(r);
}

void rtr_streams_free(struct rtr *r)
{
	while (r->streams != NULL)
		stream_free(r->streams);
}

static enum rtr_skind kind_of(enum rtr_lkind k)
{
	return k == RTR_L_FAST ? RTR_S_FAST : k == RTR_L_SSL ? RTR_S_SSL : RTR_S_RAW;
}

static void stream_new(struct rtr *r, struct rtr_listener *l, int fd,
		       const struct sockaddr_storage *peer)
{
	struct rtr_stream *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		return;
	}
	s->r = r;
	s->l = l;
	s->kind = kind_of(l->kind);
	s->fd = fd;
	s->nfd = -1;
	s->peer = *peer;
	peer_parts(peer, s->peer_ip, s->peer_port);
	snprintf(s->peer_text, sizeof(s->peer_text), "%s:%s", s->peer_ip, s->peer_port);
	if (s->kind == RTR_S_SSL) {
		s->tls = rtr_tls_session_new(l, fd, s->peer_ip, s->peer_port);
		if (s->tls == NULL) {
			free(s);
			close(fd);
			return;
		}
	}
	if (peer->ss_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	s->up.max = head_cap(r) + RTR_IO_CHUNK + 1;
	s->down.max = RTR_HIGH_WATER + RTR_IO_CHUNK + 1;
	ev_io_init(&s->io, on_client_io, fd, EV_READ);
	ev_init(&s->timer, on_timer);
	s->next = r->streams;
	if (r->streams)
		r->streams->prev = s;
	r->streams = s;
	r->n_clients++;
	r->accepted++;
	r->sstats[s->kind].accepted++;
	r->sstats[s->kind].active++;
	if (s->kind == RTR_S_RAW) {
		size_t kl = strlen(l->key);
		memcpy(s->key, l->key, kl + 1);
		s->keylen = kl;
		s->phase = P_CONNECT;
		start(s);
	} else {
		s->phase = P_HEAD;
		arm(s, r->cfg.header_timeout_ms);
	}
	pump(s);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct rtr_listener *l = container_of(w, struct rtr_listener, io);
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		bool at_limit;
		int fd = rtr_accept(l->r, l, &ss, &at_limit);
		if (fd < 0) {
			if (at_limit)
				l->r->sstats[kind_of(l->kind)].refused_at_limit++;
			return;
		}
		stream_new(l->r, l, fd, &ss);
	}
}

int rtr_stream_open(struct rtr *r, struct rtr_listener *l, struct err **err)
{
	return rtr_listener_open(r, l, on_accept, err);
}
