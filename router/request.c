/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * A client's request head as a node gets it: for `http` nodes the head
 * rewritten (hop-by-hop headers dropped, X-Forwarded-For / X-Real-IP /
 * X-Forwarded-Proto set, framing fixed for a spooled body); for `uwsgi`
 * nodes a uwsgi vars packet with the CGI variables and every header as
 * HTTP_NAME. Headers whose names hold '_' are not passed as uwsgi vars:
 * `X_Real_IP` must not be able to pose as `X-Real-IP`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/upkt.h"
#include "router/internal.h"

static bool hdr_is(const struct rtr_h1_hdr *h, const char *name)
{
	return rtr_h1_token_eq(h->name, h->nlen, name);
}

/* Headers that never travel to a node as the client sent them. */
static bool hop_by_hop(const struct rtr_client *c, const struct rtr_h1_hdr *h)
{
	static const char *const drop[] = {"connection", "keep-alive", "proxy-connection",
					   "te", "trailer", "x-real-ip", "x-forwarded-proto",
					   "x-forwarded-for", "expect"};
	for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
		if (hdr_is(h, drop[i]))
			return true;
	if (hdr_is(h, "upgrade"))
		return !c->upgrade;
	if (c->req_body == BODY_SPOOL &&
	    (hdr_is(h, "transfer-encoding") || hdr_is(h, "content-length")))
		return true;
	return false;
}

/* The client's X-Forwarded-For, if any (the first one). */
static const struct rtr_h1_hdr *xff(const struct rtr_client *c)
{
	return rtr_h1_header(&c->req, "x-forwarded-for");
}

int rtr_http_request(struct rtr_client *c, struct buf *out)
{
	const struct rtr_h1_head *q = &c->req;
	const char *path = q->uri;
	size_t plen = q->ulen;
	if (plen == 0 || path[0] != '/') { /* absolute-form: origin-form to the node */
		path = q->path;
		plen = q->plen;
		if (plen == 0) { /* "http://host" or "http://host?q" */
			path = "/";
			plen = 1;
		}
	}
	int rc = 0;
	rc |= buf_append(out, q->method, q->mlen);
	rc |= buf_putc(out, ' ');
	rc |= buf_append(out, path, plen);
	if (path != q->uri && q->qlen > 0) {
		rc |= buf_putc(out, '?');
		rc |= buf_append(out, q->query, q->qlen);
	}
	rc |= buf_puts(out, " HTTP/1.1\r\n");
	for (size_t i = 0; i < q->n_hdrs; i++) {
		const struct rtr_h1_hdr *h = &q->hdrs[i];
		if (hop_by_hop(c, h))
			continue;
		rc |= rtr_put_header(out, h->name, h->nlen, h->val, h->vlen);
	}
	const struct rtr_h1_hdr *f = xff(c);
	if (f != NULL)
		rc |= buf_printf(out, "X-Forwarded-For: %.*s, %s\r\n", (int)f->vlen, f->val,
				 c->peer_ip);
	else
		rc |= buf_printf(out, "X-Forwarded-For: %s\r\n", c->peer_ip);
	rc |= rtr_put_header(out, "X-Real-IP", 9, c->peer_ip, strlen(c->peer_ip));
	rc |= buf_puts(out, rtr_tls_on(c) ? "X-Forwarded-Proto: https\r\n"
				       : "X-Forwarded-Proto: http\r\n");
	if (c->upgrade)
		rc |= buf_puts(out, "Connection: upgrade\r\n");
	if (c->req_body == BODY_SPOOL)
		rc |= buf_printf(out, "Content-Length: %" PRIu64 "\r\n", c->spool.size);
	rc |= buf_puts(out, "\r\n");
	return rc < 0 ? -1 : 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode @in into @out (same size or larger); bad escapes stay. */
static size_t url_decode(const char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (in[i] == '%' && i + 2 < n + 0 && (hi = hexval(in[i + 1])) >= 0 &&
		    (lo = hexval(in[i + 2])) >= 0) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}

/* HTTP_NAME of a header name; returns 0 when the name must not be passed. */
static size_t cgi_name(const struct rtr_h1_hdr *h, char *out, size_t max)
{
	if (h->nlen + 5 > max)
		return 0;
	memcpy(out, "HTTP_", 5);
	for (size_t i = 0; i < h->nlen; i++) {
		char ch = h->name[i];
		if (ch == '_')
			return 0;
		if (ch == '-')
			ch = '_';
		else if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		out[5 + i] = ch;
	}
	return h->nlen + 5;
}

static void put(struct upkt_writer *w, const char *k, const char *v, size_t vlen)
{
	upkt_put(w, k, strlen(k), v, vlen);
}

static void put_headers(struct upkt_writer *w, const struct rtr_client *c)
{
	char name[256];
	for (size_t i = 0; i < c->req.n_hdrs; i++) {
		const struct rtr_h1_hdr *h = &c->req.hdrs[i];
		if (hdr_is(h, "content-length") || hdr_is(h, "content-type") ||
		    hdr_is(h, "transfer-encoding") || hdr_is(h, "x-forwarded-for") ||
		    hdr_is(h, "expect") || hdr_is(h, "x-real-ip") || hdr_is(h, "x-forwarded-proto"))
			continue;
		size_t n = cgi_name(h, name, sizeof(name));
		if (n > 0)
			upkt_put(w, name, n, h->val, h->vlen);
	}
	char fwd[1024];
	const struct rtr_h1_hdr *f = xff(c);
	int n = f ? snprintf(fwd, sizeof(fwd), "%.*s, %s", (int)f->vlen, f->val, c->peer_ip)
		  : snprintf(fwd, sizeof(fwd), "%s", c->peer_ip);
	if (n > 0 && (size_t)n < sizeof(fwd))
		put(w, "HTTP_X_FORWARDED_FOR", fwd, (size_t)n);
	put(w, "HTTP_X_REAL_IP", c->peer_ip, strlen(c->peer_ip));
	if (rtr_tls_on(c))
		put(w, "HTTP_X_FORWARDED_PROTO", "https", 5);
	else
		put(w, "HTTP_X_FORWARDED_PROTO", "http", 4);
}

int rtr_uwsgi_request(struct rtr_client *c, struct buf *out, uint8_t m1, uint8_t m2)
{
	const struct rtr_h1_head *q = &c->req;
	struct upkt_writer w;
	upkt_begin(&w, out, m1, m2);
	put(&w, "REQUEST_METHOD", q->method, q->mlen);
	put(&w, "REQUEST_URI", q->uri, q->ulen);
	char path[UPKT_BODY_MAX];
	size_t plen = q->plen < sizeof(path) ? url_decode(q->path, q->plen, path) : 0;
	if (plen == 0)
		path[plen++] = '/';
	put(&w, "PATH_INFO", path, plen);
	put(&w, "QUERY_STRING", q->query ? q->query : "", q->qlen);
	put(&w, "SERVER_PROTOCOL", q->minor ? "HTTP/1.1" : "HTTP/1.0", 8);
	const struct rtr_h1_hdr *ct = rtr_h1_header(q, "content-type");
	if (ct != NULL)
		put(&w, "CONTENT_TYPE", ct->val, ct->vlen);
	if (c->req_body == BODY_SPOOL)
		upkt_put_u64(&w, "CONTENT_LENGTH", c->spool.size);
	else if (q->has_clen)
		upkt_put_u64(&w, "CONTENT_LENGTH", q->clen);
	put(&w, "REMOTE_ADDR", c->peer_ip, strlen(c->peer_ip));
	put(&w, "REMOTE_PORT", c->peer_port, strlen(c->peer_port));
	size_t hl = rtr_host_len(q->host, q->hostlen);
	put(&w, "SERVER_NAME", hl ? q->host : c->local_ip, hl ? hl : strlen(c->local_ip));
	put(&w, "SERVER_PORT", c->local_port, strlen(c->local_port));
	if (rtr_tls_on(c)) {
		char dn[512];
		size_t dl = rtr_tls_client_dn(c, dn, sizeof(dn));
		put(&w, "UWSGI_SCHEME", "https", 5);
		put(&w, "HTTPS", "on", 2);
		if (dl > 0)
			put(&w, "HTTPS_DN", dn, dl);
	} else {
		put(&w, "UWSGI_SCHEME", "http", 4);
	}
	put_headers(&w, c);
	return upkt_end(&w) < 0 ? -1 : 0;
}
