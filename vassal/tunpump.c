/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The pump between the vassal's tun device and a tuntap router that is not
 * the emperor's own (a uWSGI `tuntap-router`, or another emperor's), over
 * the unix stream socket the vassal connected before its jail, in uWSGI's
 * framing (tuntap/frame.h). The emperor's own router takes the tun
 * descriptor itself instead (CTL_V_TUN), and no pump runs.
 *
 *  - tun -> socket: each packet read from the tun is framed into a bounded
 *    output buffer. Only packets whose source is one of the vassal's
 *    `tuntap-ip` addresses leave (anything else is counted and dropped: a
 *    uWSGI router takes the first packet's source for the peer's address
 *    and checks nothing after). When the buffer cannot take a whole frame,
 *    the tun is not read until the socket drains: the kernel's tun queue
 *    then drops, as a full link does.
 *  - socket -> tun: frames are parsed in place from a bounded input buffer
 *    and each packet written to the tun (a tun write never waits; a refused
 *    one is a drop). Rule blocks are skipped. A malformed frame leaves the
 *    stream without a boundary to resume from: the connection is given up.
 *  - At start, an empty UDP datagram from the vassal's first IPv4 address
 *    to its IPv4 gateway's discard port tells a uWSGI router who this peer
 *    is before the app sends anything, so the host can reach the app first.
 *  - A lost connection (EOF, error, a malformed frame) ends the vassal with
 *    an error: the socket's path is outside the jail, so only a new vassal
 *    process (which the emperor starts, with its back-off) can connect
 *    again.
 * Each wake-up does a bounded amount of work.
 */
#include "vassal/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "tuntap/frame.h"
#include "tuntap/pkt.h"

#define ROUNDS 64				  /* packets or reads per wake-up */
#define IN_CAP (TT_FRAME_HDR_LEN + 65535 + 65536) /* the largest frame, and room to read ahead */

static void on_tun(struct ev_loop *loop, ev_io *w, int revents);
static void on_sock_read(struct ev_loop *loop, ev_io *w, int revents);
static void on_sock_write(struct ev_loop *loop, ev_io *w, int revents);

static void own_addrs(struct vsl_tun *t, const struct tt_vassal_net *net)
{
	memset(&t->own, 0, sizeof(t->own));
	for (size_t i = 0; i < net->n_ips && t->own.n < TT_ADDR_SET_MAX; i++) {
		t->own.ip[t->own.n] = net->ips[i].ip;
		t->own.family[t->own.n++] = net->ips[i].family;
		if (net->ips[i].family == TT_IPV4 && t->announce4 == 0)
			memcpy(&t->announce4, net->ips[i].ip.b + 12, 4);
	}
	if (net->gw4.family == TT_IPV4)
		memcpy(&t->gw4, net->gw4.ip.b + 12, 4);
}

int vsl_tun_pump_init(struct vassal *v, int tun_fd, int sock_fd, const char *socket,
		      const struct tt_vassal_net *net, unsigned mtu, struct err **err)
{
	struct vsl_tun *t = &v->tun;
	memset(t, 0, sizeof(*t));
	t->tun_fd = tun_fd;
	t->sock_fd = sock_fd;
	t->mtu = mtu;
	snprintf(t->socket, sizeof(t->socket), "%s", socket);
	t->in_cap = IN_CAP;
	t->in = malloc(t->in_cap);
	t->out = malloc(VSL_TUN_OUT_MAX);
	t->pkt = malloc(mtu);
	if (t->in == NULL || t->out == NULL || t->pkt == NULL) {
		vsl_tun_pump_free(v);
		return err_set(err, ENOMEM, "tuntap pump");
	}
	own_addrs(t, net);
	ev_io_init(&t->tun_r, on_tun, tun_fd, EV_READ);
	ev_io_init(&t->sock_r, on_sock_read, sock_fd, EV_READ);
	ev_io_init(&t->sock_w, on_sock_write, sock_fd, EV_WRITE);
	return 0;
}

/* The router is gone or broke the framing: nothing can be resumed here. */
static void lost(struct vassal *v, int errnum, const char *why)
{
	_cleanup_err_ struct err *err = NULL;
	vsl_tun_pump_end(v);
	err_set(&err, errnum,
		"tuntap: the router at %s %s: leaving, a new vassal process connects "
		"again",
		v->tun.socket, why);
	vsl_loop_fail(v, &err);
}

/* Write what is queued; true while the connection is fine. */
static bool flush(struct vassal *v)
{
	struct vsl_tun *t = &v->tun;
	while (t->out_off < t->out_len) {
		ssize_t n = send(t->sock_fd, t->out + t->out_off, t->out_len - t->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ev_io_start(v->loop, &t->sock_w);
			return true;
		}
		if (n <= 0) {
			lost(v, errno, "cannot be written to");
			return false;
		}
		t->out_off += (size_t)n;
	}
	t->out_off = t->out_len = 0;
	ev_io_stop(v->loop, &t->sock_w);
	if (!ev_is_active(&t->tun_r))
		ev_io_start(v->loop, &t->tun_r);
	return true;
}

/* Whether the packet may leave: classified, and from one of our addresses. */
static bool ours(const struct vsl_tun *t, const uint8_t *p, size_t n)
{
	struct tt_pkt k;
	return tt_pkt_classify(p, n, &k) == TT_PKT_OK && tt_addr_set_has(&t->own, k.family, &k.src);
}

static void on_tun(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct vsl_tun *t = container_of(w, struct vsl_tun, tun_r);
	struct vassal *v = container_of(t, struct vassal, tun);
	for (int i = 0; i < ROUNDS; i++) {
		if (VSL_TUN_OUT_MAX - t->out_len < TT_FRAME_HDR_LEN + t->mtu) {
			ev_io_stop(v->loop, &t->tun_r); /* flush restarts it */
			break;
		}
		ssize_t n = read(t->tun_fd, t->pkt, t->mtu);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EAGAIN; a tun read has no end of file */
		if (!ours(t, t->pkt, (size_t)n) ||
		    tt_frame_hdr_write(t->out + t->out_len, TT_FRAME_PACKET, (size_t)n) < 0) {
			t->dropped++;
			continue;
		}
		memcpy(t->out + t->out_len + TT_FRAME_HDR_LEN, t->pkt, (size_t)n);
		t->out_len += TT_FRAME_HDR_LEN + (size_t)n;
	}
	if (t->out_len > t->out_off)
		flush(v);
}

static void on_sock_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct vsl_tun *t = container_of(w, struct vsl_tun, sock_w);
	flush(container_of(t, struct vassal, tun));
}

/* Deliver every whole frame in the input buffer; false when one is bad. */
static bool deliver(struct vassal *v)
{
	struct vsl_tun *t = &v->tun;
	size_t off = 0;
	for (;;) {
		struct tt_frame f;
		ssize_t r = tt_frame_parse(t->in + off, t->in_len - off, 65535, &f);
		if (r == 0)
			break;
		if (r < 0) {
			char why[96];
			snprintf(why, sizeof(why), "sent a malformed frame (%s at byte %zu)",
				 tt_frame_err_name(f.err), f.err_pos);
			lost(v, EPROTO, why);
			return false;
		}
		if (f.type == TT_FRAME_PACKET && write(t->tun_fd, f.payload, f.len) != f.len)
			t->dropped++;
		off += (size_t)r;
	}
	memmove(t->in, t->in + off, t->in_len - off);
	t->in_len -= off;
	return true;
}

static void on_sock_read(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct vsl_tun *t = container_of(w, struct vsl_tun, sock_r);
	struct vassal *v = container_of(t, struct vassal, tun);
	for (int i = 0; i < ROUNDS; i++) {
		ssize_t n =
		    recv(t->sock_fd, t->in + t->in_len, t->in_cap - t->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			lost(v, n < 0 ? errno : 0, n < 0 ? "failed" : "closed the connection");
			return;
		}
		t->in_len += (size_t)n;
		/* The buffer holds a whole largest frame, so parsing always
		 * makes room before the next read. */
		if (!deliver(v))
			return;
	}
}

/* An empty datagram to the gateway's discard port, from our address. */
static void announce(struct vsl_tun *t)
{
	if (t->announce4 == 0 || t->gw4 == 0)
		return;
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = t->announce4};
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_addr.s_addr = t->gw4, .sin_port = htons(9)};
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    sendto(fd, "", 0, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		log_warn("tuntap: announcing our address to the router: %s", strerror(errno));
}

void vsl_tun_pump_start(struct vassal *v)
{
	struct vsl_tun *t = &v->tun;
	if (t->tun_fd < 0 || t->sock_fd < 0)
		return;
	announce(t);
	ev_io_start(v->loop, &t->tun_r);
	ev_io_start(v->loop, &t->sock_r);
	log_info("tuntap: pumping between the tun device and the router at %s (MTU %u)", t->socket,
		 t->mtu);
}

void vsl_tun_pump_end(struct vassal *v)
{
	struct vsl_tun *t = &v->tun;
	if (v->loop == NULL)
		return;
	ev_io_stop(v->loop, &t->tun_r);
	ev_io_stop(v->loop, &t->sock_r);
	ev_io_stop(v->loop, &t->sock_w);
}

void vsl_tun_pump_free(struct vassal *v)
{
	struct vsl_tun *t = &v->tun;
	if (t->tun_fd >= 0)
		close(t->tun_fd);
	if (t->sock_fd >= 0)
		close(t->sock_fd);
	t->tun_fd = t->sock_fd = -1;
	free(t->in);
	free(t->out);
	free(t->pkt);
	t->in = t->out = t->pkt = NULL;
}
