/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The HTTP front end's client side: accept, read request heads, route each
 * request to a node of its Host's pool, stream the request body one way and
 * the response the other, keep the connection for the next request (which
 * may already be pipelined behind this one), and close cleanly.
 *
 * Everything a client connection does goes through pump(): events on the
 * client socket or on its backend only move bytes and set flags, then pump()
 * advances the state machine as far as the bytes allow and sets which of
 * the two sockets to watch. A connection is freed only at the end of the
 * callback that decided it (client_done), never under a caller's feet.
 *
 * Back-pressure: neither side is read while the other side's queue holds
 * more than RTR_HIGH_WATER bytes, so a slow reader never makes the router
 * buffer a whole body. Timeouts: a head must arrive whole within
 * http-header-timeout of its first byte (no refresh per byte, so a client
 * trickling bytes cannot hold a slot); an idle keep-alive connection closes
 * after http-keepalive-timeout; a request in progress fails after
 * http-timeout without progress on either side.
 *
 * A client of an `https` listener takes the same path: its handshake runs
 * first (within the header timeout), then client_read/client_write go
 * through its TLS session (tls.c) instead of recv/send, and a request whose
 * Host wants client certificates is refused with 421 unless this session
 * verified one for that very host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "router/internal.h"
#include "router/spool.h"

static void pump(struct rtr_client *c);

static double secs(uint64_t ms)
{
	return (double)ms / 1000.0;
}

size_t rtr_host_len(const char *host, size_t len)
{
	if (len > 0 && host[0] == '[') {
		const char *end = memchr(host, ']', len);
		return end ? (size_t)(end - host) + 1 : len;
	}
	const char *colon = memchr(host, ':', len);
	return colon ? (size_t)(colon - host) : len;
}

/* ---- listeners ---- */

static void set_accepting(struct rtr *r, bool on)
{
	if (r->accepting == on)
		return;
	r->accepting = on;
	for (size_t i = 0; i < r->n_listeners; i++) {
		struct rtr_listener *l = &r->listeners[i];
		if (!rtr_lkind_client(l->kind))
			continue;
		if (on)
			ev_io_start(r->loop, &l->io);
		else
			ev_io_stop(r->loop, &l->io);
	}
}

void rtr_accept_resume(struct rtr *r)
{
	if (r->n_clients < r->cfg.max_conns && !ev_is_active(&r->accept_retry))
		set_accepting(r, true);
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	rtr_accept_resume(container_of(w, struct rtr, accept_retry));
}

void rtr_accept_pause(struct rtr *r, double retry)
{
	set_accepting(r, false);
	if (retry > 0 && !ev_is_active(&r->accept_retry)) {
		ev_set_cb(&r->accept_retry, on_accept_retry);
		ev_timer_set(&r->accept_retry, retry, 0.);
		ev_timer_start(r->loop, &r->accept_retry);
	}
}

static void sock_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, char *port,
		      size_t portlen)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)iplen);
		snprintf(port, portlen, "%u", ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)iplen);
		snprintf(port, portlen, "%u", ntohs(in6->sin6_port));
	} else {
		snprintf(ip, iplen, "unix");
		snprintf(port, portlen, "0");
	}
}

static void on_client_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_client_timer(struct ev_loop *loop, ev_timer *w, int revents);

static void arm_timer(struct rtr_client *c, uint64_t ms)
{
	c->timer.repeat = secs(ms);
	ev_timer_again(c->r->loop, &c->timer);
}

static void client_new(struct rtr *r, struct rtr_listener *l, int fd,
		       const struct sockaddr_storage *peer)
{
	struct rtr_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->r = r;
	c->fd = fd;
	if (l->tls != NULL && rtr_tls_accept(c, l) < 0) {
		free(c);
		close(fd);
		return;
	}
	c->peer = *peer;
	sock_text(peer, c->peer_ip, sizeof(c->peer_ip), c->peer_port, sizeof(c->peer_port));
	struct sockaddr_storage local;
	socklen_t sl = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &sl) == 0)
		sock_text(&local, c->local_ip, sizeof(c->local_ip), c->local_port,
			  sizeof(c->local_port));
	if (peer->ss_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	size_t head = r->cfg.max_head;
	c->in.max = head + RTR_HIGH_WATER + RTR_IO_CHUNK + 1;
	c->out.max = head + 2 * RTR_HIGH_WATER + 2 * RTR_IO_CHUNK;
	c->head.max = head + 1;
	c->spool.fd = -1;
	c->state = C_HEAD;
	ev_io_init(&c->io, on_client_io, fd, EV_READ);
	ev_io_start(r->loop, &c->io);
	ev_init(&c->timer, on_client_timer);
	arm_timer(c, r->cfg.header_timeout_ms);
	c->next = r->clients;
	if (r->clients)
		r->clients->prev = c;
	r->clients = c;
	r->n_clients++;
	r->accepted++;
}

int rtr_accept(struct rtr *r, struct rtr_listener *l, struct sockaddr_storage *ss, bool *at_limit)
{
	*at_limit = false;
	if (r->n_clients >= r->cfg.max_conns) {
		rtr_accept_pause(r, 0);
		r->conn_refusals++;
		*at_limit = true;
		return -1;
	}
	socklen_t sl = sizeof(*ss);
	int fd = accept4(l->fd, (struct sockaddr *)ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Out of descriptors: stop accepting for a moment rather
			 * than spin on a ready listener. */
			log_warn("router: accept on %s: %s; pausing for 1 s", l->addr.text,
				 strerror(errno));
			rtr_accept_pause(r, 1.0);
		}
		return -1;
	}
	if (sl == 0 || ss->ss_family == AF_UNSPEC)
		ss->ss_family = AF_UNIX;
	return fd;
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
		if (fd < 0)
			return;
		client_new(l->r, l, fd, &ss);
	}
}

int rtr_listener_open(struct rtr *r, struct rtr_listener *l,
		      void (*on_ready)(struct ev_loop *, ev_io *, int), struct err **err)
{
	int fd = addr_listen(&l->addr, 1024, true, 0666, err);
	if (fd < 0)
		return -1;
	l->fd = fd;
	l->r = r;
	ev_io_init(&l->io, on_ready, fd, EV_READ);
	return 0;
}

int rtr_http_open(struct rtr *r, struct rtr_listener *l, struct err **err)
{
	if (rtr_listener_open(r, l, on_accept, err) < 0)
		return -1;
	ev_init(&r->accept_retry, on_accept_retry);
	return 0;
}

/* ---- teardown ---- */

/* Let go of the backend; @reusable keeps it for the node's next request. */
static void end_backend(struct rtr_client *c, bool reusable)
{
	struct rtr_backend *be = c->be;
	if (be == NULL)
		return;
	if (c->counted && be->node->inflight > 0)
		be->node->inflight--;
	c->counted = false;
	c->be = NULL;
	rtr_backend_release(be, reusable);
}

void rtr_client_free(struct rtr_client *c)
{
	struct rtr *r = c->r;
	end_backend(c, false);
	ev_io_stop(r->loop, &c->io);
	ev_timer_stop(r->loop, &c->timer);
	rtr_tls_conn_free(c);
	close(c->fd);
	rtr_spool_free(&c->spool);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->head);
	if (c->prev)
		c->prev->next = c->next;
	else
		r->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	r->n_clients--;
	rtr_accept_resume(r);
}

/* ---- errors the router answers itself ---- */

static const char *reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 421: return "Misdirected Request";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static const char *explain(int status)
{
	switch (status) {
	case 404: return "No application is served for this host.";
	case 408: return "The request did not arrive in time.";
	case 413: return "The request body is too large.";
	case 421: return "This host needs a client certificate, sent for this host's own name (SNI).";
	case 431: return "The request headers are too large.";
	case 502: return "The application failed to answer.";
	case 503: return "The application is not available right now.";
	case 504: return "The application did not answer in time.";
	default: return "The request could not be handled.";
	}
}

void rtr_client_error(struct rtr_client *c, int status)
{
	struct rtr *r = c->r;
	if (status >= 0 && status < (int)ARRAY_SIZE(r->errors))
		r->errors[status]++;
	end_backend(c, false);
	c->keepalive = false;
	c->state = C_CLOSING;
	if (c->resp_started)
		return; /* too late for a status: the connection just closes */
	char body[160];
	int blen = snprintf(body, sizeof(body), "%d %s\n%s\n", status, reason(status),
			    explain(status));
	buf_printf(&c->out,
		   "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		   "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		   status, reason(status), blen, c->is_head ? "" : body);
	c->resp_started = true;
}

/* ---- routing ---- */

static struct rtr_pool *find_pool(struct rtr_client *c)
{
	struct rtr *r = c->r;
	const struct rtr_h1_head *q = &c->req;
	struct rtr_pool *p = rtr_table_lookup(r->table, q->host, q->hostlen, q->path, q->plen,
					      (unsigned)r->cfg.mountpoints);
	size_t hl = rtr_host_len(q->host, q->hostlen);
	if (p == NULL && hl < q->hostlen) /* "example.org:8080" falls back to the domain */
		p = rtr_table_lookup(r->table, q->host, hl, q->path, q->plen,
				     (unsigned)r->cfg.mountpoints);
	return p;
}

static bool idempotent(const struct rtr_h1_head *q)
{
	return rtr_h1_token_eq(q->method, q->mlen, "GET") ||
	       rtr_h1_token_eq(q->method, q->mlen, "HEAD") ||
	       rtr_h1_token_eq(q->method, q->mlen, "OPTIONS");
}

/* Pick a node and start sending to it. @exclude: the node that just failed. */
static void connect_next(struct rtr_client *c, const struct rtr_node *exclude)
{
	struct rtr *r = c->r;
	double now = ev_now(r->loop);
	for (;;) {
		struct rtr_pool *pool = find_pool(c);
		if (pool == NULL) {
			rtr_client_error(c, c->tries ? 502 : 404);
			return;
		}
		struct rtr_node *node =
		    rtr_pool_pick(pool, now, (const struct sockaddr *)&c->peer, exclude);
		if (node == NULL) {
			rtr_client_error(c, c->tries ? 502 : 503);
			return;
		}
		if (node->proto == RTR_PROTO_UWSGI && c->req_body == BODY_CHUNKED) {
			/* uwsgi wants CONTENT_LENGTH: decode the body first. */
			c->req_body = BODY_SPOOL;
		}
		if (c->req_body == BODY_SPOOL && !c->req_done)
			return; /* pump() spools, then calls us again */
		c->tries++;
		node->requests++;
		if (rtr_backend_open(c, node) < 0) {
			log_warn("router: %.*s: node %s: connect: %s", (int)pool->keylen, pool->key,
				 node->addr.text, strerror(errno));
			rtr_node_failed(r->table, node, now);
			if (c->tries > r->cfg.retries) {
				rtr_client_error(c, 502);
				return;
			}
			exclude = node;
			continue;
		}
		node->inflight++;
		c->counted = true;
		c->spool.sent = 0;
		struct rtr_backend *be = c->be;
		int rc = node->proto == RTR_PROTO_HTTP
			     ? rtr_http_request(c, &be->out)
			     : rtr_uwsgi_request(c, &be->out, node->modifier1, node->modifier2);
		if (rc < 0) {
			rtr_client_error(c, 431);
			return;
		}
		return;
	}
}

/* The node failed before answering: mark it, and retry elsewhere if the
 * request can still be replayed. */
static void backend_failed(struct rtr_client *c, int status)
{
	struct rtr *r = c->r;
	struct rtr_backend *be = c->be;
	struct rtr_node *node = be->node;
	bool stale = be->reused && !be->got_bytes;
	bool never_sent = !be->connected;
	if (!stale) {
		log_warn("router: %s: node %s failed: %s", node->pool ? node->pool->key : "?",
			 node->addr.text, strerror(be->error ? be->error : EPIPE));
		rtr_node_failed(r->table, node, ev_now(r->loop));
	}
	/* rtr_node_failed may not keep the node alive: hold it for exclude */
	rtr_node_ref(node);
	end_backend(c, false);
	bool replayable = c->req_fwd == 0 || c->req_body == BODY_SPOOL;
	if (!c->resp_started && replayable && (never_sent || stale || idempotent(&c->req)) &&
	    (stale || c->tries <= r->cfg.retries))
		connect_next(c, stale ? NULL : node);
	else if (!c->resp_started)
		rtr_client_error(c, status);
	else
		c->abort = true;
	rtr_node_unref(node);
}

void rtr_client_backend_event(struct rtr_client *c, int what)
{
	if (what & RTR_BE_TIMEOUT)
		backend_failed(c, 504);
	else if ((what & RTR_BE_FAILED) && c->state == C_PROXY && !c->resp_head_done)
		backend_failed(c, 502);
	else
		ev_timer_again(c->r->loop, &c->timer);
	pump(c);
}

/* ---- requests ---- */

static void start_request(struct rtr_client *c)
{
	struct rtr *r = c->r;
	const struct rtr_h1_head *q = &c->req;
	r->requests++;
	c->tries = 0;
	c->req_fwd = 0;
	c->req_left = 0;
	memset(&c->req_chunk, 0, sizeof(c->req_chunk));
	memset(&c->resp, 0, sizeof(c->resp));
	memset(&c->resp_chunk, 0, sizeof(c->resp_chunk));
	c->resp_started = c->resp_head_done = c->resp_done = c->be_reusable = false;
	rtr_spool_reset(&c->spool);
	c->is_head = rtr_h1_token_eq(q->method, q->mlen, "HEAD");
	c->keepalive = !q->conn_close && (q->minor == 1 || q->conn_keepalive) && !c->in_eof;
	c->upgrade = q->upgrade;
	c->req_done = false;
	if (q->chunked) {
		c->req_body = BODY_CHUNKED;
	} else if (q->has_clen && q->clen > 0) {
		c->req_body = BODY_CLEN;
		c->req_left = q->clen;
	} else {
		c->req_body = BODY_NONE;
		c->req_done = true;
	}
	c->state = C_PROXY;
	arm_timer(c, r->cfg.timeout_ms);
	if (q->hostlen == 0) {
		c->key[0] = '\0';
		rtr_client_error(c, 404); /* HTTP/1.0 without Host: nothing to route */
		return;
	}
	size_t kl = q->hostlen < sizeof(c->key) - 1 ? q->hostlen : sizeof(c->key) - 1;
	memcpy(c->key, q->host, kl);
	c->key[kl] = '\0';
	if (rtr_tls_misdirected(c, q->host, rtr_host_len(q->host, q->hostlen))) {
		log_debug("router: %s: Host %.*s wants a client certificate for its own SNI",
			  c->peer_ip, (int)q->hostlen, q->host);
		rtr_client_error(c, 421);
		return;
	}
	if (q->expect_continue && !c->req_done && q->minor == 1)
		buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
	connect_next(c, NULL);
}

/* C_HEAD: parse the next request head from c->in. Returns true on progress. */
static bool read_head(struct rtr_client *c)
{
	struct rtr *r = c->r;
	if (c->in.len == 0)
		return false;
	if (!c->head_started) { /* the header timeout runs from the first byte */
		c->head_started = true;
		arm_timer(c, r->cfg.header_timeout_ms);
	}
	int n = rtr_h1_parse_request(c->in.data, c->in.len, r->cfg.max_head, &c->req);
	if (n == 0)
		return false;
	if (n < 0) {
		log_debug("router: bad request from %s: %d", c->peer_ip, -n);
		rtr_client_error(c, -n);
		return true;
	}
	/* Keep the head apart from the body bytes behind it. */
	buf_reset(&c->head);
	if (buf_append(&c->head, c->in.data, (size_t)n) < 0) {
		rtr_client_error(c, 431);
		return true;
	}
	rtr_h1_rebase(&c->req, c->in.data, c->head.data);
	buf_consume(&c->in, (size_t)n);
	c->head_started = false;
	start_request(c);
	return true;
}

/* Body bytes from the client towards the node (or the spool). */
static bool forward_request(struct rtr_client *c)
{
	struct rtr_backend *be = c->be;
	bool progress = false;
	if (c->req_body == BODY_SPOOL) {
		if (!c->req_done) {
			int rc = rtr_spool_feed(&c->spool, &c->req_chunk, &c->in,
						c->r->cfg.spool_memory, c->r->cfg.max_spool);
			if (rc < 0) {
				rtr_client_error(c, rc == -2 ? 413 : 400);
				return true;
			}
			if (rc > 0) {
				c->req_done = true;
				connect_next(c, NULL);
				return true;
			}
			return false;
		}
		if (be != NULL && be->connected)
			progress = rtr_spool_send(&c->spool, &be->out, RTR_HIGH_WATER) > 0;
		return progress;
	}
	if (be == NULL || !be->connected || c->req_done)
		return false;
	while (c->in.len > 0 && !c->req_done && be->out.len < RTR_HIGH_WATER) {
		size_t n, avail = c->in.len < rtr_room(&be->out) ? c->in.len : rtr_room(&be->out);
		if (avail == 0)
			break;
		if (c->req_body == BODY_CLEN) {
			n = avail < c->req_left ? avail : (size_t)c->req_left;
			c->req_left -= n;
			if (c->req_left == 0)
				c->req_done = true;
		} else {
			const char *d;
			size_t dl;
			int k = rtr_h1_chunked_step(&c->req_chunk, c->in.data, avail, &d, &dl);
			if (k < 0) {
				rtr_client_error(c, 400);
				return true;
			}
			n = (size_t)k;
			if (c->req_chunk.done)
				c->req_done = true;
			if (n == 0)
				break;
		}
		buf_append(&be->out, c->in.data, n);
		buf_consume(&c->in, n);
		c->req_fwd += n;
		progress = true;
	}
	return progress;
}


/* The response is complete: release the node, then the next request. */
static void finish_request(struct rtr_client *c)
{
	struct rtr *r = c->r;
	if (!c->req_done)
		c->keepalive = false; /* the rest of the body cannot be skipped safely */
	bool reuse = c->be_reusable && c->req_done && c->be && c->be->out.len == 0;
	end_backend(c, reuse);
	if (!c->keepalive) {
		c->state = C_CLOSING;
		return;
	}
	c->state = C_HEAD;
	memset(&c->req, 0, sizeof(c->req));
	c->head_started = false;
	arm_timer(c, r->cfg.keepalive_timeout_ms);
}

/* One recv/send on the client, in the clear or through its TLS session:
 * the same results either way (EAGAIN: wait for the events set_client_events
 * asks for). */
static ssize_t client_read(struct rtr_client *c, void *p, size_t n)
{
	if (c->tls != NULL)
		return rtr_tls_read(c, p, n);
	return recv(c->fd, p, n, 0);
}

static ssize_t client_write(struct rtr_client *c, const void *p, size_t n)
{
	if (c->tls != NULL)
		return rtr_tls_write(c, p, n);
	return send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Send what c->out holds. False when the client is gone. */
static bool client_send(struct rtr_client *c)
{
	while (c->out.len > 0) {
		ssize_t n = client_write(c, c->out.data, c->out.len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN;
		}
		buf_consume(&c->out, (size_t)n);
	}
	return true;
}

static void client_recv(struct rtr_client *c)
{
	size_t want = rtr_room(&c->in) < RTR_IO_CHUNK ? rtr_room(&c->in) : RTR_IO_CHUNK;
	if (want == 0 || buf_reserve(&c->in, want) < 0)
		return;
	/* TLS hands out one record (<= 16 KiB) a call: go on to fill @want. */
	for (size_t got = 0; got < want;) {
		ssize_t n = c->lingering && c->tls != NULL
				? recv(c->fd, c->in.data + c->in.len, want - got, 0) /* dropped */
				: client_read(c, c->in.data + c->in.len, want - got);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->in.data[c->in.len] = '\0';
			got += (size_t)n;
			if (c->state == C_CLOSING)
				buf_reset(&c->in); /* lingering: drain and drop */
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->in_eof = true;
		}
		if (n <= 0 || c->tls == NULL)
			break;
	}
}

static bool want_client_read(const struct rtr_client *c)
{
	if (c->in_eof)
		return false;
	switch (c->state) {
	case C_HEAD:
		return c->in.len < c->r->cfg.max_head + RTR_IO_CHUNK;
	case C_PROXY:
		/* body bytes for the node; pipelined heads wait (bounded) */
		return c->in.len < (c->req_done ? c->r->cfg.max_head : RTR_HIGH_WATER);
	case C_TUNNEL:
		return c->in.len < RTR_HIGH_WATER;
	case C_CLOSING:
		return true;
	}
	return false;
}

static void set_client_events(struct rtr_client *c)
{
	bool rd = want_client_read(c), wr = c->out.len > 0;
	int ev = (rd ? EV_READ : 0) | (wr ? EV_WRITE : 0);
	if (c->tls != NULL && !c->lingering)
		ev = rtr_tls_events(c, rd, wr);
	rtr_io_want(c->r->loop, &c->io, c->fd, ev);
}

/* One step of the state machine; true when something moved. */
static bool step(struct rtr_client *c)
{
	switch (c->state) {
	case C_HEAD:
		if (c->in_eof) {
			c->abort = true; /* closed between requests, or mid-head */
			return false;
		}
		return read_head(c);
	case C_PROXY: {
		bool p = forward_request(c);
		if (c->state != C_PROXY)
			return true;
		p |= rtr_forward_response(c);
		if (c->state == C_PROXY && c->resp_done) {
			finish_request(c);
			return true;
		}
		if (c->in_eof && !c->req_done && c->state == C_PROXY) {
			c->abort = true; /* the client gave up mid-body */
			return false;
		}
		return p;
	}
	case C_TUNNEL:
		return rtr_forward_tunnel(c);
	case C_CLOSING:
		return false;
	}
	return false;
}

static void pump(struct rtr_client *c)
{
	/* Until nothing moves: a send that frees room lets the next step move
	 * what waits in the other buffer, with no event left to wake us. */
	int i;
	for (i = 0; i < 64 && !c->abort; i++) {
		bool moved = step(c);
		if (c->be && c->be->connected) {
			size_t before = c->be->out.len;
			rtr_backend_send(c->be);
			moved |= c->be->out.len < before;
		}
		size_t before = c->out.len;
		if (!client_send(c)) {
			c->abort = true;
			break;
		}
		moved |= c->out.len < before;
		if (!moved)
			break;
	}
	if (c->state == C_CLOSING && c->out.len == 0 && !c->abort) {
		if (c->in_eof) {
			c->abort = true;
		} else if (!c->lingering) {
			/* Lingering close: shut our side, read until the client
			 * closes (or a short timeout), so unread request bytes do
			 * not make the kernel reset the connection and destroy
			 * the response in flight. */
			rtr_tls_close_notify(c);
			shutdown(c->fd, SHUT_WR);
			c->lingering = true;
			end_backend(c, false);
			arm_timer(c, 2000);
		}
	}
	if (c->abort) {
		rtr_client_free(c);
		return;
	}
	set_client_events(c);
	/* Still moving after 64 rounds: let other connections have the loop,
	 * and come back in its next iteration (stopping the watcher on free
	 * drops this pending event). */
	if (i == 64)
		ev_feed_event(c->r->loop, &c->io, EV_CUSTOM);
	else if (!c->lingering && rtr_tls_pending(c) && want_client_read(c))
		ev_feed_event(c->r->loop, &c->io, EV_READ); /* decrypted, not yet taken */
	if (c->be) {
		bool room = c->out.len < RTR_HIGH_WATER && c->be->in.len < RTR_HIGH_WATER;
		rtr_backend_update(c->be, room);
	}
}

static void on_client_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rtr_client *c = container_of(w, struct rtr_client, io);
	if (c->tls != NULL) {
		int hs = rtr_tls_handshake(c);
		if (hs < 0)
			c->abort = true;
		if (hs <= 0) {
			pump(c); /* nothing moves yet: sets the events, or frees */
			return;
		}
		if (hs == 1)
			revents |= EV_READ; /* just done: the request may be in already */
	}
	if (revents & (EV_READ | rtr_tls_read_event(c)))
		client_recv(c);
	if (c->state != C_HEAD && c->state != C_CLOSING)
		ev_timer_again(loop, &c->timer);
	pump(c);
}

static void on_client_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct rtr_client *c = container_of(w, struct rtr_client, timer);
	switch (c->state) {
	case C_HEAD:
		rtr_tls_timeout(c); /* counted when the handshake was still on */
		if (c->in.len > 0) {
			log_debug("router: %s: request head timeout", c->peer_ip);
			rtr_client_error(c, 408);
		} else {
			c->abort = true; /* idle keep-alive connection */
		}
		break;
	case C_PROXY:
		if (c->be != NULL && c->be->connected && c->req_done)
			log_warn("router: %s: node %s did not answer in time", c->key,
				 c->be->node->addr.text);
		rtr_client_error(c, c->req_done ? 504 : 408);
		break;
	case C_TUNNEL:
	case C_CLOSING:
		c->abort = true;
		break;
	}
	pump(c);
}
