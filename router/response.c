/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * A node's response on its way to the client: the head parsed and rewritten
 * (hop-by-hop headers replaced by our own Connection decision), then the
 * body moved in the framing the client can use: passed through when the
 * node framed it (Content-Length, chunked), chunk-encoded when the node
 * delimits it by closing (a uwsgi node always does) and the client speaks
 * HTTP/1.1, so the client connection survives; dechunked for HTTP/1.0.
 * Also the tunnel of an upgraded connection (WebSocket).
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "router/internal.h"

static bool hdr_is(const struct rtr_h1_hdr *h, const char *name)
{
	return rtr_h1_token_eq(h->name, h->nlen, name);
}

static enum rtr_body body_mode(struct rtr_client *c)
{
	const struct rtr_h1_head *s = &c->resp;
	if (c->is_head || !rtr_h1_response_has_body(c->req.method, c->req.mlen, s->status))
		return BODY_NONE;
	if (s->chunked)
		return c->req.minor >= 1 ? BODY_CHUNKED : BODY_DECHUNK;
	if (s->has_clen)
		return s->clen > 0 ? BODY_CLEN : BODY_NONE;
	return c->req.minor >= 1 ? BODY_CLOSE_CHUNK : BODY_CLOSE;
}

static int write_head(struct rtr_client *c)
{
	const struct rtr_h1_head *s = &c->resp;
	struct buf *o = &c->out;
	char line[16];
	line[0] = '\0';
	int rc = buf_puts(o, "HTTP/1.1 ");
	snprintf(line, sizeof(line), "%d ", s->status);
	rc |= buf_puts(o, line);
	if (s->rlen > 0)
		rc |= buf_append(o, s->reason, s->rlen);
	rc |= buf_puts(o, "\r\n");
	for (size_t i = 0; i < s->n_hdrs; i++) {
		const struct rtr_h1_hdr *h = &s->hdrs[i];
		if (hdr_is(h, "connection") || hdr_is(h, "keep-alive") ||
		    hdr_is(h, "proxy-connection"))
			continue;
		if (c->resp_body == BODY_DECHUNK && hdr_is(h, "transfer-encoding"))
			continue;
		rc |= rtr_put_header(o, h->name, h->nlen, h->val, h->vlen);
	}
	if (c->resp_body == BODY_CLOSE_CHUNK)
		rc |= buf_puts(o, "Transfer-Encoding: chunked\r\n");
	if (!c->keepalive)
		rc |= buf_puts(o, "Connection: close\r\n");
	else if (c->req.minor == 0)
		rc |= buf_puts(o, "Connection: keep-alive\r\n");
	rc |= buf_puts(o, "\r\n");
	return rc < 0 ? -1 : 0;
}

/* The node broke the protocol, or vanished mid-response. */
static void broken(struct rtr_client *c)
{
	if (!c->resp_started)
		rtr_client_error(c, 502);
	else
		c->abort = true;
}

/* A complete head is in be->in (@n bytes). Returns false when it ended the
 * exchange (error or tunnel). */
static bool take_head(struct rtr_client *c, size_t n)
{
	struct rtr_backend *be = c->be;
	int status = c->resp.status;
	if (status >= 100 && status < 200 && status != 101) {
		/* interim (103 Early Hints...): pass on, read the real head */
		buf_append(&c->out, be->in.data, n);
		buf_consume(&be->in, n);
		memset(&c->resp, 0, sizeof(c->resp));
		return true;
	}
	if (status == 101) {
		if (!c->upgrade) {
			broken(c);
			return false;
		}
		buf_append(&c->out, be->in.data, n);
		buf_consume(&be->in, n);
		c->resp_started = c->resp_head_done = true;
		c->state = C_TUNNEL;
		c->keepalive = false;
		return false;
	}
	c->resp_body = body_mode(c);
	if (c->resp_body == BODY_DECHUNK || c->resp_body == BODY_CLOSE)
		c->keepalive = false;
	c->resp_left = c->resp.clen;
	bool node_keeps = !c->resp.conn_close && (c->resp.minor >= 1 || c->resp.conn_keepalive);
	c->be_reusable = be->node->proto == RTR_PROTO_HTTP && node_keeps &&
			 c->resp_body != BODY_CLOSE && c->resp_body != BODY_CLOSE_CHUNK;
	if (write_head(c) < 0) {
		broken(c);
		return false;
	}
	buf_consume(&be->in, n);
	c->resp_started = c->resp_head_done = true;
	if (c->resp_body == BODY_NONE)
		c->resp_done = true;
	return true;
}

static void chunk_out(struct buf *o, const char *p, size_t n)
{
	buf_printf(o, "%zx\r\n", n);
	buf_append(o, p, n);
	buf_puts(o, "\r\n");
}

/* Body bytes from be->in to c->out. Returns false on a framing error. */
static bool take_body(struct rtr_client *c)
{
	struct rtr_backend *be = c->be;
	struct buf *in = &be->in;
	while (in->len > 0 && !c->resp_done && c->out.len < RTR_HIGH_WATER) {
		size_t room = rtr_room(&c->out);
		if (room < 64)
			return true; /* the client drains first */
		size_t n = in->len < room - 32 ? in->len : room - 32;
		switch (c->resp_body) {
		case BODY_CLEN:
			if (n > c->resp_left)
				n = (size_t)c->resp_left;
			buf_append(&c->out, in->data, n);
			c->resp_left -= n;
			c->resp_done = c->resp_left == 0;
			break;
		case BODY_CHUNKED:
		case BODY_DECHUNK: {
			const char *d;
			size_t dl;
			int k = rtr_h1_chunked_step(&c->resp_chunk, in->data, n, &d, &dl);
			if (k < 0)
				return false;
			n = (size_t)k;
			if (c->resp_body == BODY_CHUNKED)
				buf_append(&c->out, in->data, n);
			else if (dl > 0)
				buf_append(&c->out, d, dl);
			c->resp_done = c->resp_chunk.done;
			if (n == 0)
				return true;
			break;
		}
		case BODY_CLOSE:
			buf_append(&c->out, in->data, n);
			break;
		case BODY_CLOSE_CHUNK:
			chunk_out(&c->out, in->data, n);
			break;
		default:
			return false;
		}
		buf_consume(in, n);
	}
	return true;
}

bool rtr_forward_response(struct rtr_client *c)
{
	struct rtr_backend *be = c->be;
	if (be == NULL || c->resp_done)
		return false;
	size_t before_out = c->out.len, before_in = be->in.len;
	while (!c->resp_head_done && be->in.len > 0) {
		int n = rtr_h1_parse_response(be->in.data, be->in.len, c->r->cfg.max_head, &c->resp);
		if (n == 0)
			break;
		if (n < 0 || !take_head(c, (size_t)n)) {
			if (n < 0)
				broken(c);
			return true;
		}
	}
	if (c->resp_head_done && !take_body(c)) {
		broken(c);
		return true;
	}
	if (be->eof && be->in.len == 0 && !c->resp_done) {
		if (c->resp_head_done &&
		    (c->resp_body == BODY_CLOSE || c->resp_body == BODY_CLOSE_CHUNK)) {
			if (c->resp_body == BODY_CLOSE_CHUNK)
				buf_puts(&c->out, "0\r\n\r\n");
			c->resp_done = true;
			c->be_reusable = false;
		} else {
			broken(c); /* a head or body cut short */
		}
		return true;
	}
	if (c->resp_done && be->in.len > 0)
		c->be_reusable = false; /* the node sent more than it framed */
	return c->out.len != before_out || be->in.len != before_in || c->resp_done;
}

bool rtr_forward_tunnel(struct rtr_client *c)
{
	struct rtr_backend *be = c->be;
	if (be == NULL) {
		c->state = C_CLOSING;
		return true;
	}
	bool progress = false;
	size_t n = c->in.len < rtr_room(&be->out) ? c->in.len : rtr_room(&be->out);
	if (n > 0 && be->out.len < RTR_HIGH_WATER) {
		buf_append(&be->out, c->in.data, n);
		buf_consume(&c->in, n);
		progress = true;
	}
	n = be->in.len < rtr_room(&c->out) ? be->in.len : rtr_room(&c->out);
	if (n > 0 && c->out.len < RTR_HIGH_WATER) {
		buf_append(&c->out, be->in.data, n);
		buf_consume(&be->in, n);
		progress = true;
	}
	/* Half-closes travel: the client done sending shuts the node's side. */
	if (c->in_eof && c->in.len == 0 && be->out.len == 0 && !be->shut && be->connected) {
		shutdown(be->fd, SHUT_WR);
		be->shut = true;
	}
	if (be->eof && be->in.len == 0) {
		c->state = C_CLOSING;
		progress = true;
	}
	return progress;
}
