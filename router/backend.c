/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Connections to nodes: a non-blocking connect with its own timeout, the
 * write queue towards the node, reads handed to the client side, and the
 * per-node pool of idle keep-alive connections for `http` nodes (uwsgi
 * nodes answer one request per connection). An idle connection that the
 * node closes or writes to is dropped; one idle too long is closed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/upkt.h"
#include "router/internal.h"

#define IDLE_TIMEOUT 30.0 /* seconds an unused pooled connection is kept */

static void be_free(struct rtr_backend *be)
{
	struct rtr *r = be->r;
	ev_io_stop(r->loop, &be->io);
	ev_timer_stop(r->loop, &be->timer);
	if (be->fd >= 0)
		close(be->fd);
	buf_free(&be->out);
	buf_free(&be->in);
	rtr_node_unref(be->node);
	free(be);
}

static void idle_unlink(struct rtr_backend *be)
{
	struct rtr_node *n = be->node;
	struct rtr_backend **pp = (struct rtr_backend **)&n->idle;
	for (; *pp != NULL; pp = &(*pp)->idle_next)
		if (*pp == be) {
			*pp = be->idle_next;
			n->n_idle--;
			break;
		}
	be->idle_next = NULL;
}

/* An idle connection that can serve no request any more. */
static void idle_drop(struct rtr_backend *be)
{
	idle_unlink(be);
	be_free(be);
}

void rtr_backend_close_idle(struct rtr_node *n)
{
	while (n->idle != NULL) {
		struct rtr_backend *be = n->idle;
		idle_drop(be);
	}
}

static void set_events(struct rtr_backend *be, int events)
{
	rtr_io_want(be->r->loop, &be->io, be->fd, events);
}

void rtr_backend_update(struct rtr_backend *be, bool want_read)
{
	int ev = 0;
	if (!be->connected)
		ev = EV_WRITE;
	else {
		if (be->out.len > 0)
			ev |= EV_WRITE;
		if (want_read && !be->eof)
			ev |= EV_READ;
	}
	set_events(be, ev);
}

void rtr_backend_send(struct rtr_backend *be)
{
	if (!be->connected || be->eof)
		return;
	while (be->out.len > 0) {
		ssize_t n = send(be->fd, be->out.data, be->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				be->error = errno;
				be->eof = true; /* reset: nothing more comes either */
			}
			return;
		}
		be->node->tx += (uint64_t)n;
		buf_consume(&be->out, (size_t)n);
	}
}

/* One read into be->in; sets eof/error. */
static void do_read(struct rtr_backend *be)
{
	size_t want = rtr_room(&be->in) < RTR_IO_CHUNK ? rtr_room(&be->in) : RTR_IO_CHUNK;
	if (want == 0 || buf_reserve(&be->in, want) < 0)
		return; /* full: the client side drains it first */
	ssize_t n = recv(be->fd, be->in.data + be->in.len, want, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			be->error = errno;
			be->eof = true;
		}
		return;
	}
	if (n == 0) {
		be->eof = true;
		return;
	}
	be->got_bytes = true;
	be->in.len += (size_t)n;
	be->in.data[be->in.len] = '\0';
	be->node->rx += (uint64_t)n;
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct rtr_backend *be = container_of(w, struct rtr_backend, io);
	if (be->c == NULL) {
		/* Data or EOF on an idle connection: the node closed it or
		 * broke the protocol; either way it cannot serve a request. */
		idle_drop(be);
		return;
	}
	int what = RTR_BE_IO;
	if (!be->connected) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(be->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr != 0) {
			be->error = soerr;
			rtr_client_backend_event(be->c, RTR_BE_FAILED);
			return;
		}
		be->connected = true;
		ev_timer_stop(be->r->loop, &be->timer);
		what |= RTR_BE_CONNECTED;
		revents |= EV_WRITE;
	}
	if (revents & EV_WRITE)
		rtr_backend_send(be);
	if ((revents & EV_READ) && !be->eof)
		do_read(be);
	/* A reused connection the node had closed: a failure to retry. */
	if (be->eof && !be->got_bytes)
		what |= RTR_BE_FAILED;
	rtr_client_backend_event(be->c, what);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct rtr_backend *be = container_of(w, struct rtr_backend, timer);
	if (be->c == NULL) {
		idle_drop(be);
		return;
	}
	be->error = ETIMEDOUT;
	rtr_client_backend_event(be->c, RTR_BE_TIMEOUT);
}

static struct rtr_backend *take_idle(struct rtr_node *n)
{
	struct rtr_backend *be = n->idle;
	if (be == NULL)
		return NULL;
	idle_unlink(be);
	return be;
}

int rtr_connect(const struct addr *a, bool *done)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (sa->sa_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	*done = connect(fd, sa, a->len) == 0;
	if (!*done && errno != EINPROGRESS && errno != EAGAIN) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int rtr_backend_open(struct rtr_client *c, struct rtr_node *node)
{
	struct rtr *r = c->r;
	struct rtr_backend *be = node->proto == RTR_PROTO_HTTP ? take_idle(node) : NULL;
	if (be != NULL) {
		ev_timer_stop(r->loop, &be->timer);
		be->c = c;
		be->reused = true;
		be->got_bytes = false;
		c->be = be;
		return 0;
	}
	bool done;
	int fd = rtr_connect(&node->addr, &done);
	if (fd < 0)
		return -1;
	be = calloc(1, sizeof(*be));
	if (be == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	be->r = r;
	be->c = c;
	be->fd = fd;
	be->node = node;
	rtr_node_ref(node);
	/* a head (a uwsgi packet is at most 64 KiB + 4) plus a window of body */
	size_t head = r->cfg.max_head > UPKT_BODY_MAX ? r->cfg.max_head : UPKT_BODY_MAX + 4;
	be->out.max = head + 2 * RTR_HIGH_WATER + 2 * RTR_IO_CHUNK;
	be->in.max = head + RTR_HIGH_WATER + RTR_IO_CHUNK + 1;
	ev_io_init(&be->io, on_io, fd, EV_WRITE);
	ev_timer_init(&be->timer, on_timer, (double)r->cfg.connect_timeout_ms / 1000.0, 0.);
	if (done) {
		be->connected = true; /* unix sockets connect at once */
	} else {
		ev_io_start(r->loop, &be->io);
		ev_timer_start(r->loop, &be->timer);
	}
	c->be = be;
	return 0;
}

void rtr_backend_release(struct rtr_backend *be, bool reusable)
{
	struct rtr *r = be->r;
	struct rtr_node *n = be->node;
	be->c = NULL;
	if (!reusable || n->proto != RTR_PROTO_HTTP || n->pool == NULL ||
	    n->n_idle >= r->cfg.pool_size || be->in.len > 0 || be->out.len > 0 || !be->connected) {
		be_free(be);
		return;
	}
	be->idle_next = n->idle;
	n->idle = be;
	n->n_idle++;
	set_events(be, EV_READ);
	ev_timer_stop(r->loop, &be->timer);
	ev_timer_set(&be->timer, IDLE_TIMEOUT, 0.);
	ev_timer_start(r->loop, &be->timer);
}
