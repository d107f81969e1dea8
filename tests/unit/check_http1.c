/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests of router/http1.c: request and response heads (start lines,
 * targets, versions, Host, Content-Length, Transfer-Encoding, Connection,
 * Upgrade, Expect, header syntax, limits, pipelining) and the chunked
 * decoder. Every head is parsed whole and again byte by byte, each step in
 * a fresh buffer of exactly the bytes so far (as after a realloc, and so
 * that ASan sees any read past them); both must agree. Chunked bodies are
 * decoded whole, byte by byte and in random pieces.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/http1.h"

#define MAXH 8192

typedef int (*parse_fn)(const char *p, size_t len, size_t max, struct rtr_h1_head *h);

static long off(const char *base, const char *s)
{
	return s ? (long)(s - base) : -1;
}

/* The same results, slices compared as offsets from each buffer. */
static void same_head(const struct rtr_h1_head *a, const char *pa, const struct rtr_h1_head *b,
		      const char *pb)
{
#define SAME_SLICE(f, l)                                                                           \
	do {                                                                                       \
		ck_assert_uint_eq(a->l, b->l);                                                     \
		ck_assert_int_eq(off(pa, a->f), off(pb, b->f));                                    \
	} while (0)
	SAME_SLICE(method, mlen);
	SAME_SLICE(uri, ulen);
	SAME_SLICE(path, plen);
	SAME_SLICE(query, qlen);
	SAME_SLICE(reason, rlen);
	SAME_SLICE(host, hostlen);
	ck_assert_int_eq(a->status, b->status);
	ck_assert_int_eq(a->minor, b->minor);
	ck_assert_uint_eq(a->n_hdrs, b->n_hdrs);
	for (size_t i = 0; i < a->n_hdrs; i++) {
		SAME_SLICE(hdrs[i].name, hdrs[i].nlen);
		SAME_SLICE(hdrs[i].val, hdrs[i].vlen);
	}
#undef SAME_SLICE
	ck_assert_uint_eq(a->head_len, b->head_len);
	ck_assert_int_eq(a->has_clen, b->has_clen);
	ck_assert_uint_eq(a->clen, b->clen);
	ck_assert_int_eq(a->chunked, b->chunked);
	ck_assert_int_eq(a->conn_close, b->conn_close);
	ck_assert_int_eq(a->conn_keepalive, b->conn_keepalive);
	ck_assert_int_eq(a->upgrade, b->upgrade);
	ck_assert_int_eq(a->expect_continue, b->expect_continue);
}

/*
 * Parse s[0..n) whole into *h, then again in growing prefixes whose lengths
 * come from @cuts (NULL: every length 1..n). Every prefix but the one that
 * completes must return 0; the final result must match the whole parse.
 */
static int feed_cuts(parse_fn fn, const char *s, size_t n, size_t max, struct rtr_h1_head *h,
		     const size_t *cuts, size_t ncuts)
{
	memset(h, 0, sizeof(*h));
	int r = fn(s, n, max, h);
	struct rtr_h1_head *g = calloc(1, sizeof(*g));
	ck_assert_ptr_nonnull(g);
	int r2 = 0;
	size_t steps = cuts ? ncuts : n;
	for (size_t k = 0; k < steps && r2 == 0; k++) {
		size_t len = cuts ? cuts[k] : k + 1;
		char *c = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(c);
		memcpy(c, s, len);
		r2 = fn(c, len, max, g);
		if (r2 > 0) {
			if (!cuts)
				ck_assert_uint_eq((size_t)r2, len); /* all but the last gave 0 */
			same_head(h, s, g, c);
		}
		free(c);
	}
	ck_assert_int_eq(r2, r);
	free(g);
	return r;
}

static int feed(parse_fn fn, const char *s, size_t n, size_t max, struct rtr_h1_head *h)
{
	int r = feed_cuts(fn, s, n, max, h, NULL, 0);
	if (r > 0) {
		/* byte by byte: completes exactly when the last head byte arrives */
		struct rtr_h1_head *g = calloc(1, sizeof(*g));
		ck_assert_ptr_nonnull(g);
		for (size_t len = 1; len < (size_t)r; len++)
			ck_assert_int_eq(fn(s, len, max, g), 0);
		ck_assert_int_eq(fn(s, (size_t)r, max, g), r);
		free(g);
	}
	return r;
}

static int req(const char *s, struct rtr_h1_head *h)
{
	return feed(rtr_h1_parse_request, s, strlen(s), MAXH, h);
}

static int resp(const char *s, struct rtr_h1_head *h)
{
	return feed(rtr_h1_parse_response, s, strlen(s), MAXH, h);
}

static void ck_slice(const char *p, size_t n, const char *want)
{
	ck_assert_uint_eq(n, strlen(want));
	ck_assert(n == 0 || memcmp(p, want, n) == 0);
}

/* Each string parsed as a request gives @want. */
static void req_all(const char *const *v, size_t n, int want)
{
	struct rtr_h1_head h;
	for (size_t i = 0; i < n; i++) {
		int r = req(v[i], &h);
		if (r != want)
			ck_abort_msg("%s: got %d, want %d", v[i], r, want);
	}
}

#define REQ_ALL(want, ...)                                                                         \
	do {                                                                                       \
		const char *const v_[] = {__VA_ARGS__};                                            \
		req_all(v_, sizeof(v_) / sizeof(v_[0]), want);                                     \
	} while (0)

static const char browser_get[] =
    "GET /static/app.js?v=3 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: sid=0123456789abcdef\r\n"
    "\r\n";

START_TEST(test_simple_get)
{
	struct rtr_h1_head h;
	const char *s = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
	ck_assert_int_eq(req(s, &h), (int)strlen(s));
	ck_slice(h.method, h.mlen, "GET");
	ck_slice(h.uri, h.ulen, "/");
	ck_slice(h.path, h.plen, "/");
	ck_assert_uint_eq(h.qlen, 0);
	ck_assert_int_eq(h.minor, 1);
	ck_assert_uint_eq(h.n_hdrs, 1);
	ck_slice(h.hdrs[0].name, h.hdrs[0].nlen, "Host");
	ck_slice(h.host, h.hostlen, "a.example");
	ck_assert_uint_eq(h.head_len, strlen(s));
	ck_assert(!h.has_clen && !h.chunked && !h.conn_close && !h.conn_keepalive);
	ck_assert(!h.upgrade && !h.expect_continue);
}
END_TEST

START_TEST(test_browser_get)
{
	struct rtr_h1_head h;
	ck_assert_int_eq(req(browser_get, &h), (int)strlen(browser_get));
	ck_assert_uint_eq(h.n_hdrs, 8);
	ck_slice(h.path, h.plen, "/static/app.js");
	ck_slice(h.query, h.qlen, "v=3");
	ck_assert(h.conn_keepalive && !h.conn_close);
	const struct rtr_h1_hdr *x = rtr_h1_header(&h, "accept-encoding");
	ck_assert_ptr_nonnull(x);
	ck_slice(x->val, x->vlen, "gzip, deflate, br");
	ck_assert_ptr_null(rtr_h1_header(&h, "accept-encodin"));
}
END_TEST

START_TEST(test_query)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(req("GET /a/b?x=1&y=?z HTTP/1.1\r\nHost: h\r\n\r\n", &h), 0);
	ck_slice(h.path, h.plen, "/a/b");
	ck_slice(h.query, h.qlen, "x=1&y=?z");
	ck_slice(h.uri, h.ulen, "/a/b?x=1&y=?z");
	ck_assert_int_gt(req("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n", &h), 0);
	ck_slice(h.path, h.plen, "/a");
	ck_assert_ptr_nonnull(h.query);
	ck_assert_uint_eq(h.qlen, 0);
	ck_assert_int_gt(req("GET /a HTTP/1.1\r\nHost: h\r\n\r\n", &h), 0);
	ck_assert_ptr_null(h.query);
}
END_TEST

START_TEST(test_http10_close)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(req("GET / HTTP/1.0\r\n\r\n", &h), 0);
	ck_assert_int_eq(h.minor, 0);
	ck_assert(h.conn_close);
	ck_assert_uint_eq(h.hostlen, 0);
	ck_assert_int_gt(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h), 0);
	ck_assert(!h.conn_close && h.conn_keepalive);
	ck_assert_int_gt(req("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &h), 0);
	ck_assert(h.conn_close);
}
END_TEST

START_TEST(test_connection_tokens)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(
	    req("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo,  CLOSE ,bar\r\n\r\n", &h), 0);
	ck_assert(h.conn_close);
	ck_assert_int_gt(req("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed, xclose\r\n\r\n", &h),
			 0);
	ck_assert(!h.conn_close);
	ck_assert_int_gt(req("GET / HTTP/1.1\r\nHost: h\r\nconnection: ,,\r\n"
			     "CONNECTION: close\r\n\r\n",
			     &h),
			 0);
	ck_assert(h.conn_close);
}
END_TEST

START_TEST(test_upgrade)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
			     "Upgrade: websocket\r\n\r\n",
			     &h),
			 0);
	ck_assert(h.upgrade);
	ck_assert_int_gt(req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n", &h), 0);
	ck_assert(!h.upgrade);
	ck_assert_int_gt(req("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", &h), 0);
	ck_assert(!h.upgrade);
	/* RFC 9110 7.8: ignored in a 1.0 request */
	ck_assert_int_gt(
	    req("GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", &h), 0);
	ck_assert(!h.upgrade);
}
END_TEST

START_TEST(test_expect_continue)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(req("PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
			     "Expect:   100-Continue  \r\n\r\n",
			     &h),
			 0);
	ck_assert(h.expect_continue);
	ck_assert_int_gt(req("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continuex\r\n\r\n", &h), 0);
	ck_assert(!h.expect_continue);
	ck_assert_int_gt(req("PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &h), 0);
	ck_assert(!h.expect_continue); /* RFC 9110 10.1.1 */
}
END_TEST

START_TEST(test_options_asterisk)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(req("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &h), 0);
	ck_slice(h.path, h.plen, "*");
	REQ_ALL(RTR_H1_BAD, "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
		"options * HTTP/1.1\r\nHost: h\r\n\r\n", "OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n");
}
END_TEST

START_TEST(test_absolute_form)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(
	    req("GET http://example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n", &h), 0);
	ck_slice(h.path, h.plen, "/p/q");
	ck_slice(h.query, h.qlen, "x=1");
	ck_slice(h.host, h.hostlen, "other");
	ck_assert_int_gt(req("GET HTTPS://example.com:8080/p HTTP/1.0\r\n\r\n", &h), 0);
	ck_slice(h.host, h.hostlen, "example.com:8080");
	ck_slice(h.path, h.plen, "/p");
	ck_assert_int_gt(req("GET http://example.com?q HTTP/1.0\r\n\r\n", &h), 0);
	ck_assert_uint_eq(h.plen, 0); /* stands for "/" */
	ck_slice(h.query, h.qlen, "q");
	ck_slice(h.host, h.hostlen, "example.com");
	ck_assert_int_gt(req("GET http://[::1]:80 HTTP/1.0\r\n\r\n", &h), 0);
	ck_slice(h.host, h.hostlen, "[::1]:80");
	REQ_ALL(RTR_H1_BAD, "GET ftp://example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http:// HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http://user@example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		/* 1.1 needs Host even in absolute-form (RFC 9112 3.2) */
		"GET http://example.com/ HTTP/1.1\r\n\r\n");
}
END_TEST

START_TEST(test_versions)
{
	REQ_ALL(RTR_H1_BAD_VERSION, "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.2\r\nHost: h\r\n\r\n", "GET / HTTP/0.9\r\nHost: h\r\n\r\n",
		"GET / HTTP/3.1\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	REQ_ALL(RTR_H1_BAD, "GET / HTTX/1.1\r\nHost: h\r\n\r\n",
		"GET / http/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/11\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.10\r\nHost: h\r\n\r\n", "GET / HTTP/1.x\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", "GET /\r\n\r\n", "GET / \r\n\r\n",
		"GET / HTTP/1.1 x\r\nHost: h\r\n\r\n");
}
END_TEST

START_TEST(test_host_rules)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(req("GET / HTTP/1.1\r\nhOsT:   h.example:8080\t\r\n\r\n", &h), 0);
	ck_slice(h.host, h.hostlen, "h.example:8080");
	ck_assert_int_gt(req("GET / HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", &h), 0);
	ck_assert_int_gt(req("GET / HTTP/1.0\r\nHost: a\r\n\r\n", &h), 0);
	ck_slice(h.host, h.hostlen, "a");
	REQ_ALL(RTR_H1_BAD, "GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", "GET / HTTP/1.1\r\nHost:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n");
}
END_TEST

START_TEST(test_content_length)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n", &h), 0);
	ck_assert(h.has_clen);
	ck_assert_uint_eq(h.clen, 42);
	ck_assert_int_gt(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42 ,42,\t42\r\n"
			     "content-length: 042\r\n\r\n",
			     &h),
			 0);
	ck_assert_uint_eq(h.clen, 42);
	ck_assert_int_gt(req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", &h), 0);
	ck_assert(h.has_clen);
	ck_assert_uint_eq(h.clen, 0);
	REQ_ALL(RTR_H1_BAD, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42, 43\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ,5\r\n\r\n");
}
END_TEST

START_TEST(test_clen_overflow)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(
	    req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n", &h),
	    0);
	ck_assert_uint_eq(h.clen, (uint64_t)INT64_MAX);
	REQ_ALL(RTR_H1_BAD,
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n");
}
END_TEST

START_TEST(test_transfer_encoding)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(
	    req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", &h), 0);
	ck_assert(h.chunked && !h.has_clen);
	ck_assert_int_gt(
	    req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip , CHUNKED\r\n\r\n", &h), 0);
	ck_assert(h.chunked);
	ck_assert_int_gt(req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip;q=1\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n",
			     &h),
			 0);
	ck_assert(h.chunked);
	REQ_ALL(RTR_H1_NOT_IMPL, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n");
	REQ_ALL(RTR_H1_BAD,
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		"Transfer-Encoding: gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip x, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
}
END_TEST

START_TEST(test_te_with_clen)
{
	REQ_ALL(
	    RTR_H1_BAD,
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n");
}
END_TEST

START_TEST(test_header_name_syntax)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(req("GET / HTTP/1.1\r\nHost: h\r\nX-a_b.c~!#$%&'*+^`|: v\r\n\r\n", &h), 0);
	ck_slice(h.hdrs[1].name, h.hdrs[1].nlen, "X-a_b.c~!#$%&'*+^`|");
	REQ_ALL(RTR_H1_BAD, "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nNa(me: v\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nNa\"me: v\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nNo colon\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nNocolon\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nN\xc3\xa9: v\r\n\r\n");
}
END_TEST

START_TEST(test_obs_fold)
{
	REQ_ALL(RTR_H1_BAD, "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n",
		"GET / HTTP/1.1\r\n Host: h\r\n\r\n");
}
END_TEST

START_TEST(test_value_bytes)
{
	struct rtr_h1_head h;
	static const char s[] = "GET / HTTP/1.1\r\nHost: h\r\nX: \t a \tb\x01\x7f\xff \t \r\n"
				"Y:\r\nZ:   \r\n\r\n";
	ck_assert_int_gt(req(s, &h), 0);
	ck_slice(h.hdrs[1].val, h.hdrs[1].vlen, "a \tb\x01\x7f\xff");
	ck_assert_uint_eq(h.hdrs[2].vlen, 0);
	ck_assert_uint_eq(h.hdrs[3].vlen, 0);
	/* a long value crosses the eight-byte scan with an HT in the middle */
	ck_assert_int_gt(req("GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789abcdef\t0123456789abcdef"
			     "0123456789\r\n\r\n",
			     &h),
			 0);
	ck_assert_uint_eq(h.hdrs[1].vlen, 43);
	REQ_ALL(RTR_H1_BAD, "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: 01234567890123456789\r0123\r\n\r\n");
	/* NUL cannot sit in a C string literal that req() measures */
	static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
	ck_assert_int_eq(feed(rtr_h1_parse_request, nul, sizeof(nul) - 1, MAXH, &h), RTR_H1_BAD);
	static const char nul_name[] = "GET / HTTP/1.1\r\nHost: h\r\nX\0: a\r\n\r\n";
	ck_assert_int_eq(feed(rtr_h1_parse_request, nul_name, sizeof(nul_name) - 1, MAXH, &h),
			 RTR_H1_BAD);
}
END_TEST

START_TEST(test_bare_lf)
{
	struct rtr_h1_head h;
	const char *s = "GET /x HTTP/1.1\nHost: h\nX: y\r\n\n";
	ck_assert_int_eq(req(s, &h), (int)strlen(s));
	ck_slice(h.hdrs[1].val, h.hdrs[1].vlen, "y");
	ck_assert_int_eq(req("GET /x HTTP/1.0\n\r\n", &h), 18);
	ck_assert_int_eq(req("GET /x HTTP/1.0\r\n\n", &h), 18);
}
END_TEST

START_TEST(test_leading_empty_lines)
{
	struct rtr_h1_head h;
	const char *s = "\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
	ck_assert_int_eq(req(s, &h), (int)strlen(s));
	ck_slice(h.method, h.mlen, "GET");
	ck_assert_int_eq(off(s, h.method), 5);
	ck_assert_int_eq(req("\r\n\r\n", &h), 0);
	REQ_ALL(RTR_H1_BAD, "\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", "\r\n\r\r\n",
		" GET / HTTP/1.0\r\n\r\n");
}
END_TEST

START_TEST(test_request_line_syntax)
{
	struct rtr_h1_head h;
	/* runs of blanks between the three parts are tolerated, as HAProxy does */
	ck_assert_int_gt(req("GET  \t/a  HTTP/1.1\r\nHost: h\r\n\r\n", &h), 0);
	ck_slice(h.uri, h.ulen, "/a");
	ck_assert_int_gt(req("M-SEARCH /x HTTP/1.1\r\nHost: h\r\n\r\n", &h), 0);
	ck_slice(h.method, h.mlen, "M-SEARCH");
	REQ_ALL(RTR_H1_BAD, "G(ET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", "GET a HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET\r\nHost: h\r\n\r\n", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n");
	/* a long target crosses the eight-byte scan */
	ck_assert_int_gt(req("GET /0123456789/0123456789/0123456789?0123456789 HTTP/1.1\r\n"
			     "Host: h\r\n\r\n",
			     &h),
			 0);
	ck_slice(h.path, h.plen, "/0123456789/0123456789/0123456789");
}
END_TEST

START_TEST(test_need_more)
{
	struct rtr_h1_head h;
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t n = strlen(s);
	for (size_t len = 0; len < n; len++) {
		memset(&h, 0, sizeof(h));
		ck_assert_int_eq(rtr_h1_parse_request(s, len, MAXH, &h), 0);
		ck_assert_uint_le(h.scanned, len);
	}
	/* the terminator split in two, at every place */
	for (size_t cut = n - 4; cut < n; cut++) {
		size_t cuts[] = {cut, n};
		ck_assert_int_eq(feed_cuts(rtr_h1_parse_request, s, n, MAXH, &h, cuts, 2), (int)n);
	}
}
END_TEST

START_TEST(test_too_large_head)
{
	struct rtr_h1_head h;
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"; /* 27 bytes */
	size_t n = strlen(s);
	ck_assert_int_eq(feed(rtr_h1_parse_request, s, n, n, &h), (int)n);
	ck_assert_int_eq(feed(rtr_h1_parse_request, s, n, n - 1, &h), RTR_H1_TOO_LARGE);
	ck_assert_int_eq(feed(rtr_h1_parse_request, s, n - 1, n - 1, &h), RTR_H1_TOO_LARGE);
	ck_assert_int_eq(feed(rtr_h1_parse_request, s, n - 2, n - 1, &h), 0);
	ck_assert_int_eq(feed(rtr_h1_parse_request, s, n, 1, &h), RTR_H1_TOO_LARGE);
	ck_assert_int_eq(feed(rtr_h1_parse_request, s, n, 0, &h), RTR_H1_TOO_LARGE);
	/* leading empty lines count too */
	const char *e = "\r\n\r\nGET / HTTP/1.0\r\n\r\n";
	ck_assert_int_eq(feed(rtr_h1_parse_request, e, strlen(e), 3, &h), RTR_H1_TOO_LARGE);
	/* a huge buffer: only max bytes are looked at */
	char *big = malloc(1 << 20);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 1 << 20);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(rtr_h1_parse_request(big, 1 << 20, 4096, &h), RTR_H1_TOO_LARGE);
	ck_assert_uint_le(h.scanned, 4096);
	free(big);
}
END_TEST

/* A request with @n headers "X-N: v", in a fresh buffer. */
static char *many_headers(size_t n, size_t *len)
{
	size_t cap = 64 + n * 16, l = 0;
	char *s = malloc(cap);
	ck_assert_ptr_nonnull(s);
	l += (size_t)snprintf(s + l, cap - l, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (size_t i = 1; i < n; i++)
		l += (size_t)snprintf(s + l, cap - l, "X-%zu: v\r\n", i);
	l += (size_t)snprintf(s + l, cap - l, "\r\n");
	*len = l;
	return s;
}

START_TEST(test_too_many_headers)
{
	struct rtr_h1_head h;
	size_t len;
	char *s = many_headers(RTR_H1_MAX_HEADERS, &len);
	ck_assert_int_eq(feed(rtr_h1_parse_request, s, len, MAXH, &h), (int)len);
	ck_assert_uint_eq(h.n_hdrs, RTR_H1_MAX_HEADERS);
	free(s);
	s = many_headers(RTR_H1_MAX_HEADERS + 1, &len);
	ck_assert_int_eq(feed(rtr_h1_parse_request, s, len, MAXH, &h), RTR_H1_TOO_LARGE);
	free(s);
}
END_TEST

START_TEST(test_ten_thousand_headers)
{
	struct rtr_h1_head h;
	size_t len;
	char *s = many_headers(10000, &len);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(rtr_h1_parse_request(s, len, len, &h), RTR_H1_TOO_LARGE); /* count */
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(rtr_h1_parse_request(s, len, 65536, &h), RTR_H1_TOO_LARGE); /* size */
	/* fed in 1000-byte pieces: 0 until the limit, then the same answer */
	memset(&h, 0, sizeof(h));
	int r = 0;
	size_t at = 0;
	while (r == 0 && at < len) {
		at = at + 1000 < len ? at + 1000 : len;
		r = rtr_h1_parse_request(s, at, 65536, &h);
	}
	ck_assert_int_eq(r, RTR_H1_TOO_LARGE);
	ck_assert_uint_ge(at, 65536);
	free(s);
}
END_TEST

START_TEST(test_pipelined)
{
	struct rtr_h1_head h;
	const char *a = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *s = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
			"\r\nPOST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
	int r = feed(rtr_h1_parse_request, s, strlen(s), MAXH, &h);
	ck_assert_int_eq(r, (int)strlen(a));
	ck_slice(h.path, h.plen, "/one");
	const char *t = s + r;
	int r2 = feed(rtr_h1_parse_request, t, strlen(t), MAXH, &h);
	ck_assert_int_eq(r2, (int)strlen(t) - 3);
	ck_slice(h.path, h.plen, "/two");
	ck_assert_uint_eq(h.clen, 3);
}
END_TEST

START_TEST(test_repeat_call)
{
	struct rtr_h1_head h;
	memset(&h, 0, sizeof(h));
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET";
	ck_assert_int_eq(rtr_h1_parse_request(s, strlen(s), MAXH, &h), 27);
	ck_assert_int_eq(rtr_h1_parse_request(s, strlen(s), MAXH, &h), 27);
	ck_assert_uint_eq(h.n_hdrs, 1);
}
END_TEST

START_TEST(test_first_byte_refused)
{
	struct rtr_h1_head h;
	/* a TLS ClientHello is refused on its first byte, not after max bytes */
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(rtr_h1_parse_request(tls, 1, MAXH, &h), RTR_H1_BAD);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(rtr_h1_parse_response("<html>", 1, MAXH, &h), RTR_H1_BAD);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(rtr_h1_parse_response("\r\n\r\nX", 5, MAXH, &h), RTR_H1_BAD);
}
END_TEST

START_TEST(test_response_simple)
{
	struct rtr_h1_head h;
	const char *s = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n";
	ck_assert_int_eq(resp(s, &h), (int)strlen(s));
	ck_assert_int_eq(h.status, 200);
	ck_slice(h.reason, h.rlen, "OK");
	ck_assert_int_eq(h.minor, 1);
	ck_assert(h.has_clen);
	ck_assert_uint_eq(h.clen, 12);
	ck_assert_ptr_null(h.method);
	ck_assert_ptr_null(h.host);
	ck_assert_int_gt(resp("HTTP/1.1 404 Not Found\r\nHost: x\r\n\r\n", &h), 0);
	ck_slice(h.reason, h.rlen, "Not Found");
	ck_assert_ptr_null(h.host);
}
END_TEST

START_TEST(test_response_reason_forms)
{
	struct rtr_h1_head h;
	ck_assert_int_gt(resp("HTTP/1.1 200\r\n\r\n", &h), 0);
	ck_assert_int_eq(h.status, 200);
	ck_assert_uint_eq(h.rlen, 0);
	ck_assert_int_gt(resp("HTTP/1.1 204 \r\n\r\n", &h), 0);
	ck_assert_uint_eq(h.rlen, 0);
	ck_assert_int_gt(resp("HTTP/1.0 999 \tWeird\xff reason \r\n\n", &h), 0);
	ck_assert_int_eq(h.status, 999);
	ck_slice(h.reason, h.rlen, "\tWeird\xff reason ");
	ck_assert_int_gt(resp("\r\nHTTP/1.1 100 Continue\n\n", &h), 0);
	ck_assert_int_eq(h.status, 100);
}
END_TEST

START_TEST(test_response_bad_status)
{
	static const char *const bad[] = {
	    "HTTP/1.1 20 OK\r\n\r\n",	 "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 099 OK\r\n\r\n",	 "HTTP/1.1 abc OK\r\n\r\n",
	    "HTTP/1.1 200OK\r\n\r\n",	 "HTTP/1.1\r\n\r\n",
	    "HTTP/1.1200 OK\r\n\r\n",	 "HTTP/2 200\r\n\r\n",
	    "HTTP/1.1 200 a\rb\r\n\r\n", "HTTP/1.1 200 OK\r\nX : y\r\n\r\n",
	    "HTTPS/1.1 200 OK\r\n\r\n",
	};
	struct rtr_h1_head h;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(resp(bad[i], &h) == RTR_H1_BAD, "%s", bad[i]);
	ck_assert_int_eq(resp("HTTP/2.0 200 OK\r\n\r\n", &h), RTR_H1_BAD_VERSION);
	static const char nul[] = "HTTP/1.1 200 O\0K\r\n\r\n";
	ck_assert_int_eq(feed(rtr_h1_parse_response, nul, sizeof(nul) - 1, MAXH, &h), RTR_H1_BAD);
}
END_TEST

START_TEST(test_response_framing)
{
	struct rtr_h1_head h;
	/* chunked wins over Content-Length (RFC 9112 6.3) */
	ck_assert_int_gt(resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n",
			      &h),
			 0);
	ck_assert(h.chunked && !h.has_clen && !h.conn_close);
	ck_assert_uint_eq(h.clen, 0);
	/* another final coding: neither framing, the body runs to close */
	ck_assert_int_gt(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &h),
			 0);
	ck_assert(!h.chunked && !h.has_clen);
	ck_assert_int_gt(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
			      "Content-Length: 3\r\n\r\n",
			      &h),
			 0);
	ck_assert(!h.chunked && !h.has_clen);
	/* 1.0 with Transfer-Encoding: decoded, then the connection closes */
	ck_assert_int_gt(resp("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n",
			      &h),
			 0);
	ck_assert(h.chunked && h.conn_close);
	ck_assert_int_gt(resp("HTTP/1.0 200 OK\r\n\r\n", &h), 0);
	ck_assert(h.conn_close);
	ck_assert_int_gt(resp("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
			      "Upgrade: websocket\r\n\r\n",
			      &h),
			 0);
	ck_assert(h.upgrade);
	ck_assert_int_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", &h),
			 RTR_H1_BAD);
	ck_assert_int_eq(resp("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", &h), RTR_H1_BAD);
}
END_TEST

START_TEST(test_response_has_body)
{
	ck_assert(rtr_h1_response_has_body("GET", 3, 200));
	ck_assert(rtr_h1_response_has_body("POST", 4, 404));
	ck_assert(!rtr_h1_response_has_body("HEAD", 4, 200));
	ck_assert(!rtr_h1_response_has_body("GET", 3, 100));
	ck_assert(!rtr_h1_response_has_body("GET", 3, 101));
	ck_assert(!rtr_h1_response_has_body("GET", 3, 204));
	ck_assert(!rtr_h1_response_has_body("GET", 3, 304));
	ck_assert(rtr_h1_response_has_body("GET", 3, 205));
	ck_assert(!rtr_h1_response_has_body("CONNECT", 7, 200));
	ck_assert(rtr_h1_response_has_body("CONNECT", 7, 407));
}
END_TEST

START_TEST(test_token_eq_and_lookup)
{
	ck_assert(rtr_h1_token_eq("Keep-Alive", 10, "keep-alive"));
	ck_assert(!rtr_h1_token_eq("Keep-Alive", 9, "keep-alive"));
	ck_assert(!rtr_h1_token_eq("Keep-Alivex", 11, "keep-alive"));
	ck_assert(rtr_h1_token_eq("", 0, ""));
	ck_assert(!rtr_h1_token_eq("[", 1, "{")); /* only letters fold */
	struct rtr_h1_head h;
	ck_assert_int_gt(req("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n", &h), 0);
	const struct rtr_h1_hdr *x = rtr_h1_header(&h, "X-a");
	ck_assert_ptr_eq(x, &h.hdrs[1]);
	ck_assert_ptr_null(rtr_h1_header(&h, "X"));
}
END_TEST

/* ---- chunked ---- */

struct dechunked {
	int r; /* bytes consumed in all, or the error */
	bool done;
	size_t olen;
	char out[4096];
};

/*
 * Decode s[0..n) given in pieces ending at @cuts (NULL: pieces of @step
 * bytes), each in a fresh buffer of exactly its bytes. A piece is presented
 * again from where the decoder stopped until it is used up or done.
 */
static void dechunk(const char *s, size_t n, size_t step, const size_t *cuts, size_t ncuts,
		    struct dechunked *d)
{
	struct rtr_h1_chunked c;
	memset(&c, 0, sizeof(c));
	memset(d, 0, sizeof(*d));
	size_t pos = 0;
	for (size_t k = 0; pos < n && !c.done; k++) {
		size_t stop = cuts ? (k < ncuts ? cuts[k] : n) : pos + step;
		if (stop > n)
			stop = n;
		char *piece = malloc(stop - pos + 1);
		ck_assert_ptr_nonnull(piece);
		memcpy(piece, s + pos, stop - pos);
		size_t at = 0;
		while (at < stop - pos && !c.done) {
			const char *data;
			size_t dlen;
			int r = rtr_h1_chunked_step(&c, piece + at, stop - pos - at, &data, &dlen);
			if (r < 0) {
				d->r = r;
				free(piece);
				return;
			}
			ck_assert_int_gt(r, 0);
			ck_assert_uint_le(dlen, (size_t)r);
			if (dlen) {
				ck_assert(data >= piece + at && data + dlen <= piece + at + r);
				ck_assert_uint_le(d->olen + dlen, sizeof(d->out));
				memcpy(d->out + d->olen, data, dlen);
				d->olen += dlen;
			} else {
				ck_assert_ptr_null(data);
			}
			at += (size_t)r;
		}
		pos += at;
		free(piece);
	}
	d->r = (int)pos;
	d->done = c.done;
}

/* Whole and byte by byte agree; returns the whole result. */
static void dechunk_both(const char *s, size_t n, struct dechunked *d)
{
	struct dechunked *b = malloc(sizeof(*b));
	ck_assert_ptr_nonnull(b);
	dechunk(s, n, n ? n : 1, NULL, 0, d);
	dechunk(s, n, 1, NULL, 0, b);
	ck_assert_int_eq(d->r, b->r);
	ck_assert_int_eq(d->done, b->done);
	ck_assert_uint_eq(d->olen, b->olen);
	ck_assert(memcmp(d->out, b->out, d->olen) == 0);
	free(b);
}

static void chunk_ok(const char *s, const char *want)
{
	struct dechunked d;
	dechunk_both(s, strlen(s), &d);
	ck_assert_msg(d.r == (int)strlen(s) && d.done, "%s: r %d done %d", s, d.r, d.done);
	ck_assert_uint_eq(d.olen, strlen(want));
	ck_assert(memcmp(d.out, want, d.olen) == 0);
}

#define CHUNK_BAD(lit) chunk_bad(lit, sizeof(lit) - 1)

static void chunk_bad(const char *s, size_t n)
{
	struct dechunked d;
	dechunk_both(s, n, &d);
	ck_assert_msg(d.r == RTR_H1_BAD, "%s: r %d", s, d.r);
}

START_TEST(test_chunked_simple)
{
	chunk_ok("5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", "hello, world");
	chunk_ok("0\r\n\r\n", "");
	chunk_ok("A\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
		 "0123456789abcdefghijklmnopqrstuvwxyz");
	chunk_ok("000\r\n\r\n", "");
}
END_TEST

START_TEST(test_chunked_ext_trailers)
{
	chunk_ok("5;name=value;x=\"q;\"\r\nhello\r\n0 ; last\r\nX-Sum: abc\r\nY: z\r\n\r\n",
		 "hello");
	chunk_ok("3 \t\r\nabc\r\n0\r\nTrailer: 1\r\n\r\n", "abc");
	chunk_ok("3;\r\nabc\r\n0;\r\n\r\n", "abc");
}
END_TEST

START_TEST(test_chunked_bare_lf)
{
	chunk_ok("5\nhello\n0\nT: v\n\n", "hello");
	chunk_ok("5;e\nhello\r\n0\r\n\n", "hello");
}
END_TEST

START_TEST(test_chunked_size_limits)
{
	/* 15 hex digits decode; 16 are refused even if they are zeros */
	struct rtr_h1_chunked c;
	memset(&c, 0, sizeof(c));
	const char *data;
	size_t dlen;
	const char *big = "fffffffffffffff\r\nab";
	ck_assert_int_eq(rtr_h1_chunked_step(&c, big, strlen(big), &data, &dlen), (int)strlen(big));
	ck_assert_uint_eq(dlen, 2);
	ck_assert_uint_eq(c.left, 0xfffffffffffffffULL - 2);
	CHUNK_BAD("0000000000000000\r\n\r\n");
	CHUNK_BAD("10000000000000000\r\n");
	CHUNK_BAD("\r\nabc\r\n");
	CHUNK_BAD("x\r\n");
	CHUNK_BAD("-1\r\n");
	CHUNK_BAD("5 5\r\nhello\r\n");
	CHUNK_BAD("5\r\r\nhello\r\n");
}
END_TEST

START_TEST(test_chunked_missing_crlf)
{
	CHUNK_BAD("5\r\nhelloX\r\n0\r\n\r\n");
	CHUNK_BAD("5\r\nhello\rX0\r\n\r\n");
	CHUNK_BAD("5\r\nhello0\r\n\r\n");
	CHUNK_BAD("0\r\n\rX");
	CHUNK_BAD("0\r\nT: v\rX\r\n\r\n");
}
END_TEST

START_TEST(test_chunked_line_limit)
{
	/* a size line or a trailer line of 4096 bytes is fine, 4097 is not */
	char *s = malloc(10000);
	ck_assert_ptr_nonnull(s);
	for (int extra = 0; extra <= 1; extra++) {
		size_t n = 0;
		s[n++] = '1';
		s[n++] = ';';
		memset(s + n, 'e', 4094 + extra);
		n += 4094 + (size_t)extra;
		memcpy(s + n, "\r\nx\r\n0\r\n", 8);
		n += 8;
		memset(s + n, 't', 4096 + extra);
		n += 4096 + (size_t)extra;
		memcpy(s + n, "\r\n\r\n", 4);
		n += 4;
		struct dechunked *d = malloc(sizeof(*d));
		ck_assert_ptr_nonnull(d);
		dechunk_both(s, n, d);
		if (extra) {
			ck_assert_int_eq(d->r, RTR_H1_BAD);
		} else {
			ck_assert_int_eq(d->r, (int)n);
			ck_assert(d->done && d->olen == 1 && d->out[0] == 'x');
		}
		free(d);
	}
	/* the trailer alone too long */
	size_t n = 0;
	memcpy(s, "0\r\n", 3);
	n = 3;
	memset(s + n, 't', 4097);
	n += 4097;
	memcpy(s + n, "\r\n\r\n", 4);
	n += 4;
	chunk_bad(s, n);
	free(s);
}
END_TEST

START_TEST(test_chunked_stops_when_done)
{
	struct rtr_h1_chunked c;
	memset(&c, 0, sizeof(c));
	const char *s = "2\r\nab\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
	const char *data;
	size_t dlen;
	int r = rtr_h1_chunked_step(&c, s, strlen(s), &data, &dlen);
	ck_assert_int_eq(r, 5);
	ck_assert_ptr_eq(data, s + 3);
	ck_assert_uint_eq(dlen, 2);
	r = rtr_h1_chunked_step(&c, s + 5, strlen(s) - 5, &data, &dlen);
	ck_assert_int_eq(r, 7);
	ck_assert_uint_eq(dlen, 0);
	ck_assert(c.done);
	ck_assert_int_eq(rtr_h1_chunked_step(&c, s + 12, strlen(s) - 12, &data, &dlen), 0);
	ck_assert_int_eq(rtr_h1_chunked_step(&c, s, 0, &data, &dlen), 0);
}
END_TEST

START_TEST(test_chunked_bad_bytes)
{
	CHUNK_BAD("3;a\0b\r\nabc\r\n0\r\n\r\n");
	CHUNK_BAD("0\r\nT: a\0\r\n\r\n");
	/* NUL inside data is data */
	struct dechunked d;
	static const char s[] = "3\r\na\0b\r\n0\r\n\r\n";
	dechunk_both(s, sizeof(s) - 1, &d);
	ck_assert_int_eq(d.r, (int)sizeof(s) - 1);
	ck_assert_uint_eq(d.olen, 3);
	ck_assert(memcmp(d.out, "a\0b", 3) == 0);
}
END_TEST

/* ---- random splits ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Up to @max cut points, increasing, inside 1..n. */
static size_t random_cuts(size_t n, size_t *cuts, size_t max)
{
	size_t k = 0, at = 0;
	while (at < n && k < max) {
		at += 1 + (size_t)(rng() % (n / 4 + 1));
		cuts[k++] = at < n ? at : n;
	}
	if (k == 0 || cuts[k - 1] != n)
		cuts[k++] = n;
	return k;
}

START_TEST(test_random_splits)
{
	static const char *const reqs[] = {
	    browser_get,
	    "\r\nPOST /up?x=1 HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3, 3\r\nExpect: "
	    "100-continue\r\n"
	    "\r\nabc",
	    "PUT /c HTTP/1.1\nHost: h\nTransfer-Encoding: gzip, chunked\n\n5\r\nhello\r\n0\r\n\r\n",
	    "GET http://a.example/b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br\r\n\r\n",
	};
	static const char *const resps[] = {
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
	    "HTTP/1.0 304 Not Modified\r\nDate: x\r\n\r\n",
	    "HTTP/1.1 500\r\n\r\n",
	};
	static const char *const bodies[] = {
	    "5;x=y\r\nhello\r\n1\r\n \r\n10\r\n0123456789abcdef\r\n0\r\nA: b\r\nC: d\r\n\r\n",
	    "3\nabc\n0\n\n",
	    "3\r\nabcd\r\n0\r\n\r\n",
	};
	size_t cuts[64];
	struct rtr_h1_head h;
	struct dechunked whole, split;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
			size_t n = strlen(reqs[i]), k = random_cuts(n, cuts, 64);
			feed_cuts(rtr_h1_parse_request, reqs[i], n, MAXH, &h, cuts, k);
		}
		for (size_t i = 0; i < sizeof(resps) / sizeof(resps[0]); i++) {
			size_t n = strlen(resps[i]), k = random_cuts(n, cuts, 64);
			feed_cuts(rtr_h1_parse_response, resps[i], n, MAXH, &h, cuts, k);
		}
		for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
			size_t n = strlen(bodies[i]), k = random_cuts(n, cuts, 64);
			dechunk(bodies[i], n, n, NULL, 0, &whole);
			dechunk(bodies[i], n, 0, cuts, k, &split);
			ck_assert_int_eq(whole.r, split.r);
			ck_assert_int_eq(whole.done, split.done);
			ck_assert_uint_eq(whole.olen, split.olen);
			ck_assert(memcmp(whole.out, split.out, whole.olen) == 0);
		}
	}
}
END_TEST

/* A head copied elsewhere and rebased reads exactly as the copy parsed
 * afresh (what the router does instead of parsing each head twice). */
START_TEST(test_rebase)
{
	static const char req[] = "\r\nGET http://a.test:81/p/q?x=1 HTTP/1.1\r\nHost: a.test:81\r\n"
				  "Accept: */*\r\nX-A:  b c \r\n\r\nNEXT";
	size_t len = sizeof(req) - 1;
	char *orig = strdup(req);
	struct rtr_h1_head a = {0}, b = {0};
	int n = rtr_h1_parse_request(orig, len, 8192, &a);
	ck_assert_int_gt(n, 0);
	char *copy = malloc((size_t)n);
	memcpy(copy, orig, (size_t)n);
	rtr_h1_rebase(&a, orig, copy);
	memset(orig, '#', len); /* nothing may still point here */
	free(orig);
	ck_assert_int_eq(rtr_h1_parse_request(copy, (size_t)n, 8192, &b), n);
	ck_assert(memcmp(&a, &b, sizeof(a)) == 0);
	ck_assert(rtr_h1_token_eq(a.host, a.hostlen, "a.test:81"));
	free(copy);
}
END_TEST

static Suite *http1_suite(void)
{
	Suite *s = suite_create("http1");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"simple_get", test_simple_get},
	    {"rebase", test_rebase},
	    {"browser_get", test_browser_get},
	    {"query", test_query},
	    {"http10_close", test_http10_close},
	    {"connection_tokens", test_connection_tokens},
	    {"upgrade", test_upgrade},
	    {"expect_continue", test_expect_continue},
	    {"options_asterisk", test_options_asterisk},
	    {"absolute_form", test_absolute_form},
	    {"versions", test_versions},
	    {"host_rules", test_host_rules},
	    {"content_length", test_content_length},
	    {"clen_overflow", test_clen_overflow},
	    {"transfer_encoding", test_transfer_encoding},
	    {"te_with_clen", test_te_with_clen},
	    {"header_name_syntax", test_header_name_syntax},
	    {"obs_fold", test_obs_fold},
	    {"value_bytes", test_value_bytes},
	    {"bare_lf", test_bare_lf},
	    {"leading_empty_lines", test_leading_empty_lines},
	    {"request_line_syntax", test_request_line_syntax},
	    {"need_more", test_need_more},
	    {"too_large_head", test_too_large_head},
	    {"too_many_headers", test_too_many_headers},
	    {"ten_thousand_headers", test_ten_thousand_headers},
	    {"pipelined", test_pipelined},
	    {"repeat_call", test_repeat_call},
	    {"first_byte_refused", test_first_byte_refused},
	    {"response_simple", test_response_simple},
	    {"response_reason_forms", test_response_reason_forms},
	    {"response_bad_status", test_response_bad_status},
	    {"response_framing", test_response_framing},
	    {"response_has_body", test_response_has_body},
	    {"token_eq_and_lookup", test_token_eq_and_lookup},
	    {"chunked_simple", test_chunked_simple},
	    {"chunked_ext_trailers", test_chunked_ext_trailers},
	    {"chunked_bare_lf", test_chunked_bare_lf},
	    {"chunked_size_limits", test_chunked_size_limits},
	    {"chunked_missing_crlf", test_chunked_missing_crlf},
	    {"chunked_line_limit", test_chunked_line_limit},
	    {"chunked_stops_when_done", test_chunked_stops_when_done},
	    {"chunked_bad_bytes", test_chunked_bad_bytes},
	    {"random_splits", test_random_splits},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 30);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(http1_suite());
}
