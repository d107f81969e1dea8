/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for what the router sends a node: the uwsgi vars packet made of
 * a client's request (CGI variables, percent-decoded PATH_INFO, every header
 * as HTTP_NAME but those with '_' in their names, X-Forwarded-For appended
 * to), the rewritten head for http nodes (hop-by-hop headers dropped, our
 * forwarding headers set, a spooled body's length), and the spool itself,
 * in memory and past its threshold in a temporary file.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/upkt.h"
#include "router/internal.h"
#include "router/spool.h"

static void client_for(struct rtr_client *c, const char *req)
{
	memset(c, 0, sizeof(*c));
	c->spool.fd = -1;
	snprintf(c->peer_ip, sizeof(c->peer_ip), "10.0.0.7");
	snprintf(c->peer_port, sizeof(c->peer_port), "40000");
	snprintf(c->local_ip, sizeof(c->local_ip), "127.0.0.1");
	snprintf(c->local_port, sizeof(c->local_port), "8080");
	ck_assert_int_eq(buf_puts(&c->head, req), 0);
	ck_assert_int_gt(rtr_h1_parse_request(c->head.data, c->head.len, 65536, &c->req), 0);
	c->req_body = c->req.chunked ? BODY_CHUNKED : c->req.has_clen ? BODY_CLEN : BODY_NONE;
	c->upgrade = c->req.upgrade;
}

/* The value of uwsgi var @key in packet @b, or NULL; *n its length. */
static const char *var(const struct buf *b, const char *key, size_t *n)
{
	struct upkt_hdr h;
	ck_assert_int_eq(upkt_hdr_read(b->data, b->len, &h), UPKT_HDR_LEN);
	ck_assert_uint_eq(h.size + UPKT_HDR_LEN, b->len);
	size_t off = 0;
	struct upkt_var v;
	int r;
	while ((r = upkt_var_next(b->data + UPKT_HDR_LEN, h.size, &off, &v)) == 1)
		if (upkt_var_is(&v, key)) {
			*n = v.vlen;
			return v.val;
		}
	ck_assert_int_eq(r, 0);
	return NULL;
}

static void assert_var(const struct buf *b, const char *key, const char *want)
{
	size_t n = 0;
	const char *v = var(b, key, &n);
	ck_assert_msg(v != NULL, "%s missing", key);
	ck_assert_msg(n == strlen(want) && memcmp(v, want, n) == 0, "%s = '%.*s', want '%s'", key,
		      (int)n, v, want);
}

START_TEST(uwsgi_cgi_vars)
{
	struct rtr_client c;
	client_for(&c, "POST /a%20b/c?x=1&y=%41 HTTP/1.1\r\nHost: App.Test:8080\r\n"
		       "Content-Type: text/plain\r\nContent-Length: 5\r\nX-Custom-Thing: yes\r\n"
		       "X-Forwarded-For: 1.2.3.4\r\n\r\n");
	struct buf b = BUF_INIT;
	ck_assert_int_eq(rtr_uwsgi_request(&c, &b, 5, 9), 0);
	ck_assert_uint_eq((uint8_t)b.data[0], 5);
	ck_assert_uint_eq((uint8_t)b.data[3], 9);
	assert_var(&b, "REQUEST_METHOD", "POST");
	assert_var(&b, "REQUEST_URI", "/a%20b/c?x=1&y=%41");
	assert_var(&b, "PATH_INFO", "/a b/c");
	assert_var(&b, "QUERY_STRING", "x=1&y=%41");
	assert_var(&b, "SERVER_PROTOCOL", "HTTP/1.1");
	assert_var(&b, "CONTENT_TYPE", "text/plain");
	assert_var(&b, "CONTENT_LENGTH", "5");
	assert_var(&b, "REMOTE_ADDR", "10.0.0.7");
	assert_var(&b, "REMOTE_PORT", "40000");
	assert_var(&b, "SERVER_NAME", "App.Test");
	assert_var(&b, "SERVER_PORT", "8080");
	assert_var(&b, "HTTP_HOST", "App.Test:8080");
	assert_var(&b, "HTTP_X_CUSTOM_THING", "yes");
	assert_var(&b, "HTTP_X_FORWARDED_FOR", "1.2.3.4, 10.0.0.7");
	assert_var(&b, "HTTP_X_REAL_IP", "10.0.0.7");
	assert_var(&b, "UWSGI_SCHEME", "http");
	size_t n;
	ck_assert_ptr_null(var(&b, "HTTP_CONTENT_LENGTH", &n));
	buf_free(&b);
	buf_free(&c.head);
}
END_TEST

START_TEST(uwsgi_underscore_headers_dropped)
{
	struct rtr_client c;
	client_for(&c, "GET / HTTP/1.1\r\nHost: a\r\nX_Real_IP: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n\r\n");
	struct buf b = BUF_INIT;
	ck_assert_int_eq(rtr_uwsgi_request(&c, &b, 0, 0), 0);
	/* neither spelling may override what the router says */
	assert_var(&b, "HTTP_X_REAL_IP", "10.0.0.7");
	size_t n, count = 0, off = 0;
	struct upkt_var v;
	while (upkt_var_next(b.data + 4, b.len - 4, &off, &v) == 1)
		count += upkt_var_is(&v, "HTTP_X_REAL_IP");
	ck_assert_uint_eq(count, 1);
	ck_assert_ptr_null(var(&b, "CONTENT_LENGTH", &n));
	buf_free(&b);
	buf_free(&c.head);
}
END_TEST

START_TEST(uwsgi_spooled_length)
{
	struct rtr_client c;
	client_for(&c, "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	c.req_body = BODY_SPOOL;
	c.spool.size = 123456;
	struct buf b = BUF_INIT;
	ck_assert_int_eq(rtr_uwsgi_request(&c, &b, 0, 0), 0);
	assert_var(&b, "CONTENT_LENGTH", "123456");
	size_t n;
	ck_assert_ptr_null(var(&b, "HTTP_TRANSFER_ENCODING", &n));
	buf_free(&b);
	buf_free(&c.head);
}
END_TEST

START_TEST(http_head_rewritten)
{
	struct rtr_client c;
	client_for(&c, "GET http://a.test/p?q=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n"
		       "Keep-Alive: 5\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
		       "X-Forwarded-For: 1.1.1.1\r\nUpgrade: h2c\r\nAccept: */*\r\n\r\n");
	struct buf b = BUF_INIT;
	ck_assert_int_eq(rtr_http_request(&c, &b), 0);
	ck_assert_msg(strncmp(b.data, "GET /p?q=1 HTTP/1.1\r\n", 21) == 0, "%s", b.data);
	ck_assert_ptr_nonnull(strstr(b.data, "\r\nHost: a.test\r\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\r\nAccept: */*\r\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\r\nX-Forwarded-For: 1.1.1.1, 10.0.0.7\r\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\r\nX-Real-IP: 10.0.0.7\r\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\r\nX-Forwarded-Proto: http\r\n"));
	ck_assert_ptr_null(strstr(b.data, "Connection"));
	ck_assert_ptr_null(strstr(b.data, "Keep-Alive"));
	ck_assert_ptr_null(strstr(b.data, "6.6.6.6"));
	ck_assert_ptr_null(strstr(b.data, "https"));
	ck_assert_ptr_null(strstr(b.data, "h2c")); /* not an upgrade the router tunnels */
	ck_assert_ptr_nonnull(strstr(b.data, "\r\n\r\n"));
	buf_free(&b);
	buf_free(&c.head);
}
END_TEST

START_TEST(http_upgrade_and_spool)
{
	struct rtr_client c;
	client_for(&c, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
	struct buf b = BUF_INIT;
	ck_assert_int_eq(rtr_http_request(&c, &b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "\r\nUpgrade: websocket\r\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\r\nConnection: upgrade\r\n"));
	buf_free(&b);
	buf_free(&c.head);
	client_for(&c, "PUT /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	c.req_body = BODY_SPOOL;
	c.spool.size = 42;
	ck_assert_int_eq(rtr_http_request(&c, &b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "\r\nContent-Length: 42\r\n"));
	ck_assert_ptr_null(strstr(b.data, "chunked"));
	buf_free(&b);
	buf_free(&c.head);
}
END_TEST

/* Feed @body (chunked) in pieces of @step; read it all back. */
static void spool_roundtrip(uint64_t mem, size_t step, bool want_file)
{
	static char data[200000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	struct buf enc = BUF_INIT;
	enc.max = 1 << 22;
	for (size_t off = 0; off < sizeof(data); off += 7777) {
		size_t n = sizeof(data) - off < 7777 ? sizeof(data) - off : 7777;
		buf_printf(&enc, "%zx;ext=1\r\n", n);
		buf_append(&enc, data + off, n);
		buf_puts(&enc, "\r\n");
	}
	buf_puts(&enc, "0\r\nTrailer: x\r\n\r\n");
	struct rtr_spool s = {.fd = -1};
	struct rtr_h1_chunked ch = {0};
	struct buf in = BUF_INIT;
	int r = 0;
	for (size_t off = 0; off < enc.len && r == 0; off += step) {
		size_t n = enc.len - off < step ? enc.len - off : step;
		buf_append(&in, enc.data + off, n);
		r = rtr_spool_feed(&s, &ch, &in, mem, 1 << 20);
		ck_assert_int_ge(r, 0);
	}
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(s.size, sizeof(data));
	ck_assert_int_eq(s.fd >= 0, want_file);
	struct buf out = BUF_INIT;
	out.max = 1 << 22;
	while (s.sent < s.size)
		ck_assert_int_gt(rtr_spool_send(&s, &out, out.len + 4096), 0);
	ck_assert_uint_eq(out.len, sizeof(data));
	ck_assert(memcmp(out.data, data, sizeof(data)) == 0);
	rtr_spool_free(&s);
	buf_free(&in), buf_free(&out), buf_free(&enc);
}

START_TEST(spool_memory)
{
	spool_roundtrip(1 << 20, 1000, false);
}
END_TEST

START_TEST(spool_file)
{
	spool_roundtrip(10000, 333, true);
}
END_TEST

START_TEST(spool_limits)
{
	struct rtr_spool s = {.fd = -1};
	struct rtr_h1_chunked ch = {0};
	struct buf in = BUF_INIT;
	buf_puts(&in, "10\r\n0123456789abcdef\r\n");
	ck_assert_int_eq(rtr_spool_feed(&s, &ch, &in, 1024, 8), -2); /* over max */
	rtr_spool_free(&s);
	memset(&ch, 0, sizeof(ch));
	s.fd = -1;
	buf_reset(&in);
	buf_puts(&in, "zz\r\n");
	ck_assert_int_eq(rtr_spool_feed(&s, &ch, &in, 1024, 1024), -1); /* not hex */
	rtr_spool_free(&s);
	buf_free(&in);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("router_request");
	struct {
		const char *name;
		const TTest *test;
	} cases[] = {
	    {"uwsgi_cgi_vars", uwsgi_cgi_vars},
	    {"uwsgi_underscore_headers_dropped", uwsgi_underscore_headers_dropped},
	    {"uwsgi_spooled_length", uwsgi_spooled_length},
	    {"http_head_rewritten", http_head_rewritten},
	    {"http_upgrade_and_spool", http_upgrade_and_spool},
	    {"spool_memory", spool_memory},
	    {"spool_file", spool_file},
	    {"spool_limits", spool_limits},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(suite());
}
