/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The tuntap router's framed peers: anything that connects to the router's
 * unix stream socket and speaks uWSGI's tuntap framing (frame.h), a uWSGI
 * instance with `tuntap-device = DEV SOCKET` or a vassal of another
 * emperor. Frames are parsed in place from a bounded input buffer holding
 * at least one whole frame and each packet handed to the packet path
 * (path.c); packets for such a peer are framed into its output queue of
 * `tuntap-router-queue` bytes, flushed once at the end of a batch (one
 * write for many frames), or at once when half full; the queue drains on
 * EV_WRITE and drops (queue_full) past its bound. Framing cannot resync, so
 * any framing error disconnects; TT_BAD_RUN malformed packets in a row do
 * too. Rule blocks are ignored: rules never come from a tenant.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tuntap/internal.h"

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
void tt_enqueue(struct tt *t, struct tt_peer *p, const uint8_t *pkt, size_t len)
{
	if (len > TT_FRAMED_PKT_MAX) {
		tt_count_drop(t, p, TT_DROP_TOO_BIG);
		return;
	}
	size_t need = TT_FRAME_HDR_LEN + len;
	if (p->out_cap - p->out_len < need && p->out_head > 0) {
		memmove(p->out, p->out + p->out_head, p->out_len - p->out_head);
		p->out_len -= p->out_head;
		p->out_head = 0;
	}
	if (p->closing || p->out_cap - p->out_len < need) {
		tt_count_drop(t, p, TT_DROP_QUEUE_FULL);
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

/* Flush every framed peer that got packets; close the broken ones. */
void tt_flush_dirty(struct tt *t)
{
	while (t->dirty != NULL) {
		struct tt_peer *p = t->dirty;
		t->dirty = p->dirty_next;
		p->dirty = false;
		if (p->closing || peer_flush(p) < 0)
			tt_peer_close(p, TT_LOG_CLOSED, "the connection broke while sending");
	}
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
			tt_count_drop(t, p, TT_DROP_MALFORMED);
			t->disconnected++;
			tt_peer_close(p, TT_LOG_DISCONNECT, why);
			return -1;
		}
		off += (size_t)r;
		if (f.type == TT_FRAME_RULES) {
			p->rules_ignored++;
			continue;
		}
		tt_from_peer(t, p, f.payload, f.len);
		packets++;
		if (p->bad_run >= TT_BAD_RUN) {
			t->disconnected++;
			tt_peer_close(p, TT_LOG_DISCONNECT, "too many malformed packets in a row");
			return -1;
		}
		if (p->closing) {
			tt_peer_free(p); /* refused: already logged */
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
			tt_peer_close(p, TT_LOG_CLOSED,
				      n == 0 ? "it closed the connection" : strerror(errno));
			break;
		}
		p->in_len += (size_t)n;
		int r = parse_frames(t, p);
		if (r < 0)
			break;
		packets += r;
	}
	tt_flush_dirty(t);
}

static void framed_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct tt_peer *p = container_of(w, struct tt_peer, wio);
	if (peer_flush(p) < 0)
		tt_peer_close(p, TT_LOG_CLOSED, "the connection broke while sending");
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
		tt_peer_log(t, LOGL_WARN, TT_LOG_REFUSED, &tmp, "refused: %u peers already",
			    t->n_peers);
		close(fd);
		return;
	}
	struct tt_peer *p = tt_peer_alloc(t, fd);
	if (p != NULL) {
		p->in_cap = 2 * (TT_FRAME_HDR_LEN + (size_t)t->cfg.mtu);
		p->out_cap = t->cfg.queue_max;
		p->in = malloc(p->in_cap);
		p->out = malloc(p->out_cap);
	}
	if (p == NULL || p->in == NULL || p->out == NULL) {
		log_warn("tuntap: %s: refused: out of memory", tmp.name);
		if (p != NULL)
			tt_peer_free(p);
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

int tt_listen(struct tt *t, struct err **err)
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
