/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests of router/uwsgireq.c, the head of a uwsgi request as the
 * fastrouter reads it: packets captured from nginx's uwsgi_pass, the key's
 * precedence (UWSGI_FASTROUTER_KEY, HTTP_HOST, SERVER_NAME), PATH_INFO,
 * CONTENT_LENGTH, the modifiers, the head limit, truncations and every
 * length field off by one. Every head is parsed whole and again byte by
 * byte, each step in a fresh buffer of exactly the bytes so far (so that
 * ASan sees any read past them): 0 until the byte that decides, then the
 * same result as the whole parse.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

#define MAXH (4 + 65535)

/* GET /some/path?x=1&y=2, Host App.Test:8080, through Debian's nginx 1.22
 * with `include uwsgi_params` (HTTP_HOST is $host there, CONTENT_LENGTH is
 * sent empty). */
static const unsigned char nginx_get[] = "\x00u\x01\x00"
					 "\x0c\x00QUERY_STRING\x07\x00x=1&y=2"
					 "\x0e\x00REQUEST_METHOD\x03\x00GET"
					 "\x0c\x00"
					 "CONTENT_TYPE\x00\x00"
					 "\x0e\x00"
					 "CONTENT_LENGTH\x00\x00"
					 "\x0b\x00REQUEST_URI\x12\x00/some/path\x3fx=1&y=2"
					 "\x09\x00PATH_INFO\x0a\x00/some/path"
					 "\x0d\x00"
					 "DOCUMENT_ROOT\x13\x00/tmp/fastr-cap/html"
					 "\x0f\x00SERVER_PROTOCOL\x08\x00HTTP/1.1"
					 "\x0e\x00REQUEST_SCHEME\x04\x00http"
					 "\x0b\x00REMOTE_ADDR\x09\x00"
					 "127.0.0.1"
					 "\x0b\x00REMOTE_PORT\x05\x00"
					 "45250"
					 "\x0b\x00SERVER_PORT\x05\x00"
					 "19900"
					 "\x0b\x00SERVER_NAME\x08\x00"
					 "app.test"
					 "\x09\x00HTTP_HOST\x08\x00"
					 "app.test"
					 "\x0f\x00HTTP_USER_AGENT\x09\x00"
					 "curl/7.88"
					 "\x0b\x00HTTP_ACCEPT\x03\x00*/*";

/* POST /api/post with an 11-byte body, through nginx with
 * `uwsgi_param UWSGI_FASTROUTER_KEY other.test` and no uwsgi_params: the
 * head (228 bytes), then the body as nginx sends it right after. */
static const unsigned char nginx_post_key[] = "\x00\xe0\x00\x00"
					      "\x09\x00PATH_INFO\x09\x00/api/post"
					      "\x0e\x00"
					      "CONTENT_LENGTH\x02\x00"
					      "11"
					      "\x14\x00UWSGI_FASTROUTER_KEY\x0a\x00other.test"
					      "\x09\x00HTTP_HOST\x08\x00"
					      "app.test"
					      "\x0f\x00HTTP_USER_AGENT\x0b\x00"
					      "curl/7.88.1"
					      "\x0b\x00HTTP_ACCEPT\x03\x00*/*"
					      "\x13\x00HTTP_CONTENT_LENGTH\x02\x00"
					      "11"
					      "\x11\x00HTTP_CONTENT_TYPE!\x00"
					      "application/x-www-form-urlencoded"
					      "hello=world";

#define LEN(a) (sizeof(a) - 1) /* without the literal's NUL */

/* ------------------------------------------------------------- builder */

struct pk {
	unsigned char b[MAXH + 64];
	size_t len;
};

static void put16(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)(v >> 8);
}

static void pk_begin(struct pk *k, uint8_t m1, uint8_t m2)
{
	k->b[0] = m1;
	put16(k->b + 1, 0);
	k->b[3] = m2;
	k->len = 4;
}

static void pk_varn(struct pk *k, const char *key, size_t klen, const char *val, size_t vlen)
{
	ck_assert_uint_le(k->len + 4 + klen + vlen, MAXH);
	put16(k->b + k->len, klen);
	memcpy(k->b + k->len + 2, key, klen);
	k->len += 2 + klen;
	put16(k->b + k->len, vlen);
	if (vlen)
		memcpy(k->b + k->len + 2, val, vlen);
	k->len += 2 + vlen;
}

static void pk_var(struct pk *k, const char *key, const char *val)
{
	pk_varn(k, key, strlen(key), val, strlen(val));
}

static size_t pk_end(struct pk *k)
{
	put16(k->b + 1, k->len - 4);
	return k->len;
}

/* A packet of modifiers 0/0 and the NULL-terminated key, value pairs. */
static size_t pk_vars(struct pk *k, ...)
{
	va_list ap;
	va_start(ap, k);
	pk_begin(k, 0, 0);
	const char *key;
	while ((key = va_arg(ap, const char *)) != NULL)
		pk_var(k, key, va_arg(ap, const char *));
	va_end(ap);
	return pk_end(k);
}

/* -------------------------------------------------------------- feeding */

static long off(const void *base, const char *s)
{
	return s ? (long)(s - (const char *)base) : -1;
}

static void same_req(const struct rtr_uwsgi_req *a, const void *pa, const struct rtr_uwsgi_req *b,
		     const void *pb)
{
	ck_assert_uint_eq(a->modifier1, b->modifier1);
	ck_assert_uint_eq(a->modifier2, b->modifier2);
	ck_assert_uint_eq(a->head_len, b->head_len);
	ck_assert_uint_eq(a->key.len, b->key.len);
	ck_assert_int_eq(off(pa, a->key.p), off(pb, b->key.p));
	ck_assert_uint_eq(a->path_info.len, b->path_info.len);
	ck_assert_int_eq(off(pa, a->path_info.p), off(pb, b->path_info.p));
	ck_assert_uint_eq(a->content_length, b->content_length);
}

/* A slice of p[0..n) that is empty exactly when its pointer is NULL. */
static void inside(const void *p, size_t n, struct subpkt_str s)
{
	if (s.p == NULL) {
		ck_assert_uint_eq(s.len, 0);
		return;
	}
	ck_assert_uint_gt(s.len, 0);
	ck_assert(s.p >= (const char *)p && s.p + s.len <= (const char *)p + n);
}

static bool all_zero(const struct rtr_uwsgi_req *q)
{
	static const struct rtr_uwsgi_req z;
	return memcmp(q, &z, sizeof(z)) == 0;
}

static int parse1(const void *p, size_t len, size_t max, struct rtr_uwsgi_req *q, const char **why)
{
	/* garbage in *q first: the parser must set every field */
	memset(q, 0xa5, sizeof(*q));
	*why = "untouched";
	int r = rtr_uwsgi_req_parse(p, len, max, q, why);
	if (r > 0) {
		ck_assert_ptr_null(*why);
		ck_assert_uint_eq(q->head_len, (size_t)r);
		ck_assert_uint_le(q->head_len, len);
		ck_assert_uint_le(q->head_len, max);
		inside(p, q->head_len, q->key);
		inside(p, q->head_len, q->path_info);
	} else if (r < 0) {
		ck_assert_ptr_nonnull(*why);
		ck_assert(strlen(*why) > 0);
		ck_assert(all_zero(q));
	} else {
		ck_assert_ptr_null(*why);
		ck_assert(all_zero(q));
	}
	return r;
}

/*
 * Parse s[0..n) whole with limit @max, then every prefix in a fresh buffer of
 * exactly its bytes: each returns 0 until @decide bytes are there (the whole
 * head, or the header alone for a too-large head), and from there on the
 * same result as the whole parse. Returns the whole parse's result.
 */
static int feed_max(const void *s, size_t n, size_t max, struct rtr_uwsgi_req *q, const char **why)
{
	int r = parse1(s, n, max, q, why);
	size_t decide = r > 0 ? (size_t)r : n;
	if (r < 0 && max < 4)
		decide = 0;
	else if (r < 0 && n >= 4) {
		size_t size = ((const unsigned char *)s)[1] | ((const unsigned char *)s)[2] << 8;
		if (4 + size > max)
			decide = 4;
		else
			decide = 4 + size;
	}
	for (size_t len = 0; len <= n; len++) {
		unsigned char *c = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(c);
		memcpy(c, s, len);
		struct rtr_uwsgi_req g;
		const char *gwhy;
		int rg = parse1(c, len, max, &g, &gwhy);
		if (len < decide) {
			if (rg != 0)
				ck_abort_msg("prefix %zu of %zu: got %d, want 0 (decides at %zu)",
					     len, n, rg, decide);
		} else {
			ck_assert_int_eq(rg, r);
			if (r > 0)
				same_req(q, s, &g, c);
			else
				ck_assert_str_eq(gwhy, *why);
		}
		free(c);
	}
	return r;
}

static int feed(const void *s, size_t n, struct rtr_uwsgi_req *q)
{
	const char *why;
	return feed_max(s, n, MAXH, q, &why);
}

/* Refused (whole and byte by byte) with a reason containing @want. */
static void refused(const void *s, size_t n, const char *want)
{
	struct rtr_uwsgi_req q;
	const char *why;
	int r = feed_max(s, n, MAXH, &q, &why);
	if (r >= 0)
		ck_abort_msg("accepted (%d), want refused: %s", r, want);
	if (strstr(why, want) == NULL)
		ck_abort_msg("reason \"%s\", want \"%s\"", why, want);
}

static void ck_str(struct subpkt_str s, const char *want)
{
	if (s.len != strlen(want) || (s.len && memcmp(s.p, want, s.len) != 0))
		ck_abort_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

/* -------------------------------------------------------- from nginx */

START_TEST(test_nginx_get)
{
	struct rtr_uwsgi_req q;
	ck_assert_int_eq(feed(nginx_get, LEN(nginx_get), &q), (int)LEN(nginx_get));
	ck_assert_uint_eq(q.head_len, 377);
	ck_assert_uint_eq(q.modifier1, 0);
	ck_assert_uint_eq(q.modifier2, 0);
	ck_str(q.key, "app.test");
	ck_assert_ptr_eq(q.key.p, (const char *)nginx_get + 0x143); /* HTTP_HOST's, the later one */
	ck_str(q.path_info, "/some/path");
	ck_assert_uint_eq(q.content_length, 0); /* CONTENT_LENGTH "" */
}
END_TEST

START_TEST(test_nginx_post_body_after)
{
	struct rtr_uwsgi_req q;
	/* the head alone, and the head with the body behind it */
	ck_assert_int_eq(feed(nginx_post_key, 228, &q), 228);
	ck_assert_int_eq(feed(nginx_post_key, LEN(nginx_post_key), &q), 228);
	ck_str(q.key, "other.test");
	ck_str(q.path_info, "/api/post");
	ck_assert_uint_eq(q.content_length, 11);
	ck_assert_int_eq(memcmp(nginx_post_key + q.head_len, "hello=world", 11), 0);
	ck_assert_uint_eq(LEN(nginx_post_key) - q.head_len, q.content_length);
}
END_TEST

/* ---------------------------------------------------------------- key */

START_TEST(test_key_precedence)
{
	struct pk k;
	struct rtr_uwsgi_req q;
	size_t n = pk_vars(&k, "SERVER_NAME", "s.test", "HTTP_HOST", "h.test",
			   "UWSGI_FASTROUTER_KEY", "f.test", NULL);
	ck_assert_int_eq(feed(k.b, n, &q), (int)n);
	ck_str(q.key, "f.test");
	/* order in the packet does not matter */
	n = pk_vars(&k, "UWSGI_FASTROUTER_KEY", "f.test", "HTTP_HOST", "h.test", "SERVER_NAME",
		    "s.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "f.test");
	n = pk_vars(&k, "SERVER_NAME", "s.test", "HTTP_HOST", "h.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "h.test");
	n = pk_vars(&k, "HTTP_HOST", "h.test", "SERVER_NAME", "s.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "h.test");
	n = pk_vars(&k, "SERVER_NAME", "s.test", "PATH_INFO", "/", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "s.test");
	n = pk_vars(&k, "UWSGI_FASTROUTER_KEY", "f.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "f.test");
}
END_TEST

START_TEST(test_key_empty_falls_through)
{
	struct pk k;
	struct rtr_uwsgi_req q;
	size_t n = pk_vars(&k, "UWSGI_FASTROUTER_KEY", "", "HTTP_HOST", "h.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "h.test");
	n = pk_vars(&k, "UWSGI_FASTROUTER_KEY", "", "HTTP_HOST", "", "SERVER_NAME", "s.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "s.test");
	n = pk_vars(&k, "UWSGI_FASTROUTER_KEY", "", "HTTP_HOST", "", "SERVER_NAME", "", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_assert_uint_eq(q.key.len, 0);
	ck_assert_ptr_null(q.key.p);
}
END_TEST

START_TEST(test_key_none)
{
	struct pk k;
	struct rtr_uwsgi_req q;
	size_t n = pk_vars(&k, "REQUEST_METHOD", "GET", "PATH_INFO", "/x", NULL);
	ck_assert_int_eq(feed(k.b, n, &q), (int)n);
	ck_assert_uint_eq(q.key.len, 0);
	ck_assert_ptr_null(q.key.p);
	/* no vars at all: a 4-byte head */
	pk_begin(&k, 0, 0);
	n = pk_end(&k);
	ck_assert_int_eq(feed(k.b, n, &q), 4);
	ck_assert_uint_eq(q.key.len, 0);
	ck_assert_uint_eq(q.path_info.len, 0);
	ck_assert_uint_eq(q.content_length, 0);
}
END_TEST

START_TEST(test_key_last_value)
{
	struct pk k;
	struct rtr_uwsgi_req q;
	size_t n = pk_vars(&k, "HTTP_HOST", "one.test", "HTTP_HOST", "two.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "two.test");
	/* the last UWSGI_FASTROUTER_KEY is empty: it does not count */
	n = pk_vars(&k, "UWSGI_FASTROUTER_KEY", "f.test", "UWSGI_FASTROUTER_KEY", "", "HTTP_HOST",
		    "h.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "h.test");
	/* names are case-sensitive, and a longer or shorter name is another var */
	n = pk_vars(&k, "http_host", "a.test", "HTTP_HOSTS", "b.test", "HTTP_HOS", "c.test",
		    "SERVER_NAME", "s.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "s.test");
}
END_TEST

START_TEST(test_key_as_sent)
{
	/* the key is handed on as it is: port, case and mountpoint included */
	struct pk k;
	struct rtr_uwsgi_req q;
	size_t n = pk_vars(&k, "HTTP_HOST", "App.Test:8080", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "App.Test:8080");
	n = pk_vars(&k, "UWSGI_FASTROUTER_KEY", "app.test/api", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "app.test/api");
}
END_TEST

START_TEST(test_key_length)
{
	struct pk k;
	struct rtr_uwsgi_req q;
	char key[SUBPKT_KEY_MAX + 2];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	key[SUBPKT_KEY_MAX] = '\0'; /* 254 */
	size_t n = pk_vars(&k, "HTTP_HOST", key, NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_assert_uint_eq(q.key.len, SUBPKT_KEY_MAX);
	key[SUBPKT_KEY_MAX] = 'k'; /* 255 */
	const char *names[] = {"UWSGI_FASTROUTER_KEY", "HTTP_HOST", "SERVER_NAME"};
	for (size_t i = 0; i < 3; i++) {
		n = pk_vars(&k, names[i], key, NULL);
		refused(k.b, n, "key is longer");
	}
	/* only the chosen key counts: a long SERVER_NAME behind a Host is fine */
	n = pk_vars(&k, "SERVER_NAME", key, "HTTP_HOST", "h.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "h.test");
}
END_TEST

START_TEST(test_key_bytes)
{
	struct pk k;
	const char *bad[] = {"a b", "a\tb", "a\r\nb", "\x7f", "a\x01", " a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = pk_vars(&k, "HTTP_HOST", bad[i], NULL);
		refused(k.b, n, "space or a control byte");
	}
	pk_begin(&k, 0, 0);
	pk_varn(&k, "HTTP_HOST", 9, "a\0b", 3);
	size_t n = pk_end(&k);
	refused(k.b, n, "space or a control byte");
	/* bytes above 0x7f are handed on (the table will not know them) */
	struct rtr_uwsgi_req q;
	n = pk_vars(&k, "HTTP_HOST", "\xc3\xa9.test", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.key, "\xc3\xa9.test");
}
END_TEST

/* ----------------------------------------------------------- PATH_INFO */

START_TEST(test_path_info)
{
	struct pk k;
	struct rtr_uwsgi_req q;
	size_t n = pk_vars(&k, "HTTP_HOST", "h", "PATH_INFO", "/api/v1/x", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.path_info, "/api/v1/x");
	n = pk_vars(&k, "HTTP_HOST", "h", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_assert_uint_eq(q.path_info.len, 0);
	ck_assert_ptr_null(q.path_info.p);
	n = pk_vars(&k, "PATH_INFO", "", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_assert_uint_eq(q.path_info.len, 0);
	n = pk_vars(&k, "PATH_INFO", "/a", "PATH_INFO", "/b", "REQUEST_URI", "/c", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_str(q.path_info, "/b");
}
END_TEST

/* ------------------------------------------------------ CONTENT_LENGTH */

static uint64_t clen_of(const char *v)
{
	struct pk k;
	struct rtr_uwsgi_req q;
	size_t n = pk_vars(&k, "HTTP_HOST", "h", "CONTENT_LENGTH", v, NULL);
	int r = feed(k.b, n, &q);
	if (r <= 0)
		ck_abort_msg("CONTENT_LENGTH \"%s\" refused", v);
	return q.content_length;
}

START_TEST(test_content_length)
{
	ck_assert_uint_eq(clen_of(""), 0);
	ck_assert_uint_eq(clen_of("0"), 0);
	ck_assert_uint_eq(clen_of("11"), 11);
	ck_assert_uint_eq(clen_of("5242880"), 5242880);
	ck_assert_uint_eq(clen_of("007"), 7);
	ck_assert_uint_eq(clen_of("18446744073709551615"), UINT64_MAX);
	struct pk k;
	struct rtr_uwsgi_req q;
	size_t n = pk_vars(&k, "HTTP_HOST", "h", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_assert_uint_eq(q.content_length, 0);
	/* HTTP_CONTENT_LENGTH is just another header for us */
	n = pk_vars(&k, "HTTP_CONTENT_LENGTH", "junk", "CONTENT_LENGTH", "3", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_assert_uint_eq(q.content_length, 3);
}
END_TEST

START_TEST(test_content_length_junk)
{
	/* signs, spaces, other bases, overflow, more than 20 digits */
	const char *bad[] = {"-1",
			     "+1",
			     " 1",
			     "1 ",
			     "0x10",
			     "1.0",
			     "12a",
			     "a12",
			     "1e3",
			     "\t",
			     "18446744073709551616",
			     "99999999999999999999",
			     "000000000000000000001"};
	struct pk k;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = pk_vars(&k, "HTTP_HOST", "h", "CONTENT_LENGTH", bad[i], NULL);
		refused(k.b, n, "CONTENT_LENGTH");
	}
	pk_begin(&k, 0, 0);
	pk_varn(&k, "CONTENT_LENGTH", 14, "1\0", 2);
	size_t n = pk_end(&k);
	refused(k.b, n, "CONTENT_LENGTH");
}
END_TEST

START_TEST(test_content_length_twice)
{
	struct pk k;
	struct rtr_uwsgi_req q;
	size_t n = pk_vars(&k, "CONTENT_LENGTH", "5", "CONTENT_LENGTH", "5", NULL);
	ck_assert_int_gt(feed(k.b, n, &q), 0);
	ck_assert_uint_eq(q.content_length, 5);
	n = pk_vars(&k, "CONTENT_LENGTH", "5", "CONTENT_LENGTH", "6", NULL);
	refused(k.b, n, "twice");
	n = pk_vars(&k, "CONTENT_LENGTH", "", "CONTENT_LENGTH", "6", NULL);
	refused(k.b, n, "twice");
	n = pk_vars(&k, "CONTENT_LENGTH", "5", "CONTENT_LENGTH", "05", NULL);
	refused(k.b, n, "twice");
}
END_TEST

/* ----------------------------------------------------------- modifiers */

START_TEST(test_modifiers)
{
	const uint8_t m[][2] = {{0, 0}, {5, 0}, {255, 0}, {0, 1}, {30, 17}, {255, 255}};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct pk k;
		struct rtr_uwsgi_req q;
		pk_begin(&k, m[i][0], m[i][1]);
		pk_var(&k, "HTTP_HOST", "h.test");
		size_t n = pk_end(&k);
		ck_assert_int_eq(feed(k.b, n, &q), (int)n);
		ck_assert_uint_eq(q.modifier1, m[i][0]);
		ck_assert_uint_eq(q.modifier2, m[i][1]);
		ck_str(q.key, "h.test");
	}
}
END_TEST

/* -------------------------------------------------------------- framing */

START_TEST(test_truncated)
{
	/* every prefix of a valid head needs more: feed() checks each one; here
	 * the prefixes of the header alone, and of each record's fields */
	struct rtr_uwsgi_req q;
	const char *why;
	for (size_t len = 0; len < LEN(nginx_get); len++)
		ck_assert_int_eq(parse1(nginx_get, len, MAXH, &q, &why), 0);
	ck_assert_int_eq(parse1(nginx_get, LEN(nginx_get), MAXH, &q, &why), 377);
}
END_TEST

/* Each u16 length field in the vars of k (header excluded), by offset. */
static size_t length_fields(const struct pk *k, size_t *offs)
{
	size_t n = 0, pos = 4;
	while (pos < k->len) {
		offs[n++] = pos;
		pos += 2 + (size_t)(k->b[pos] | k->b[pos + 1] << 8);
	}
	ck_assert_uint_eq(pos, k->len);
	return n;
}

static void off_by_one(const unsigned char *s, size_t n)
{
	struct pk k;
	memcpy(k.b, s, n);
	k.len = n;
	struct rtr_uwsgi_req q;
	ck_assert_int_eq(feed(k.b, n, &q), (int)n);

	/* the header's size one short: the last record runs past it */
	put16(k.b + 1, n - 4 - 1);
	refused(k.b, n, "runs past");
	/* one more: with the bytes there it needs more, with any byte after it
	 * the run of records does not fill the size */
	put16(k.b + 1, n - 4 + 1);
	const char *why;
	ck_assert_int_eq(parse1(k.b, n, MAXH, &q, &why), 0);
	for (unsigned extra = 0; extra < 256; extra += 51) {
		k.b[n] = (unsigned char)extra;
		refused(k.b, n + 1, "runs past");
	}
	put16(k.b + 1, n - 4);

	/* each record's length fields, one off either way */
	size_t offs[600];
	size_t nf = length_fields(&k, offs);
	ck_assert_uint_ge(nf, 2);
	for (size_t i = 0; i < nf; i++) {
		size_t o = offs[i], v = k.b[o] | k.b[o + 1] << 8;
		for (int d = -1; d <= 1; d += 2) {
			if (v == 0 && d < 0)
				continue;
			put16(k.b + o, v + (size_t)d);
			struct rtr_uwsgi_req g;
			int r = parse1(k.b, n, MAXH, &g, &why);
			if (r >= 0)
				ck_abort_msg("length field at %zu set to %zu (from %zu): got %d", o,
					     v + (size_t)d, v, r);
			put16(k.b + o, v);
		}
	}
	ck_assert_int_eq(parse1(k.b, n, MAXH, &q, &why), (int)n);
}

START_TEST(test_length_off_by_one)
{
	off_by_one(nginx_get, LEN(nginx_get));
	off_by_one(nginx_post_key, 228);
	struct pk k;
	size_t n = pk_vars(&k, "HTTP_HOST", "h.test", "PATH_INFO", "", "CONTENT_LENGTH", "0", NULL);
	off_by_one(k.b, n);
}
END_TEST

START_TEST(test_bad_records)
{
	struct pk k;
	/* an empty name */
	pk_begin(&k, 0, 0);
	pk_var(&k, "HTTP_HOST", "h");
	pk_varn(&k, "", 0, "v", 1);
	refused(k.b, pk_end(&k), "empty name");
	/* a lone byte, a lone key length, a key without its value's length */
	const char *tails[] = {"\x01", "\x05\x00", "\x01\x00K", "\x01\x00K\x00"};
	const size_t tlen[] = {1, 2, 3, 4};
	for (size_t i = 0; i < 4; i++) {
		pk_begin(&k, 0, 0);
		pk_var(&k, "HTTP_HOST", "h");
		memcpy(k.b + k.len, tails[i], tlen[i]);
		k.len += tlen[i];
		refused(k.b, pk_end(&k), "runs past");
	}
	/* a value length that reaches past the size, into the body behind */
	pk_begin(&k, 0, 0);
	pk_varn(&k, "HTTP_HOST", 9, "h", 1);
	put16(k.b + 4 + 2 + 9, 5);
	pk_end(&k);
	memcpy(k.b + k.len, "XXXX", 4); /* bytes after the head */
	refused(k.b, k.len + 4, "runs past");
}
END_TEST

/* ------------------------------------------------------------ max_head */

START_TEST(test_max_head)
{
	struct rtr_uwsgi_req q;
	const char *why;
	/* exactly at the limit: fine; one over: refused as soon as the header
	 * is there, before any var arrives */
	ck_assert_int_eq(feed_max(nginx_get, LEN(nginx_get), 377, &q, &why), 377);
	ck_assert_int_lt(feed_max(nginx_get, LEN(nginx_get), 376, &q, &why), 0);
	ck_assert_ptr_nonnull(strstr(why, "larger than the limit"));
	for (size_t len = 0; len < 4; len++)
		ck_assert_int_eq(parse1(nginx_get, len, 376, &q, &why), 0);
	ck_assert_int_lt(parse1(nginx_get, 4, 376, &q, &why), 0);
	ck_assert_ptr_nonnull(strstr(why, "larger than the limit"));

	/* the largest head a header can announce, with nothing behind it */
	static const unsigned char big[4] = {0, 0xff, 0xff, 0};
	ck_assert_int_lt(parse1(big, 4, 65538, &q, &why), 0);
	ck_assert_int_eq(parse1(big, 4, 65539, &q, &why), 0);
	ck_assert_int_eq(parse1(big, 4, SIZE_MAX, &q, &why), 0);

	/* a head of 4 bytes fits a limit of 4; no head fits under 4 */
	static const unsigned char empty[4] = {0, 0, 0, 0};
	ck_assert_int_eq(feed_max(empty, 4, 4, &q, &why), 4);
	ck_assert_int_lt(parse1(empty, 0, 3, &q, &why), 0);
	ck_assert_int_lt(parse1(empty, 4, 0, &q, &why), 0);
}
END_TEST

START_TEST(test_largest_head)
{
	/* a body of 65535 bytes: one var whose value fills it */
	struct pk *k = malloc(sizeof(*k));
	ck_assert_ptr_nonnull(k);
	char *v = malloc(65535);
	ck_assert_ptr_nonnull(v);
	memset(v, 'v', 65535);
	pk_begin(k, 0, 0);
	pk_varn(k, "X_BIG", 5, v, 65535 - 4 - 5);
	size_t n = pk_end(k);
	ck_assert_uint_eq(n, MAXH);
	struct rtr_uwsgi_req q;
	const char *why;
	ck_assert_int_eq(parse1(k->b, n, MAXH, &q, &why), MAXH);
	ck_assert_int_eq(parse1(k->b, n - 1, MAXH, &q, &why), 0);
	ck_assert_int_lt(parse1(k->b, n, MAXH - 1, &q, &why), 0);
	free(v);
	free(k);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("uwsgireq");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"nginx_get", test_nginx_get},
	    {"nginx_post_body_after", test_nginx_post_body_after},
	    {"key_precedence", test_key_precedence},
	    {"key_empty_falls_through", test_key_empty_falls_through},
	    {"key_none", test_key_none},
	    {"key_last_value", test_key_last_value},
	    {"key_as_sent", test_key_as_sent},
	    {"key_length", test_key_length},
	    {"key_bytes", test_key_bytes},
	    {"path_info", test_path_info},
	    {"content_length", test_content_length},
	    {"content_length_junk", test_content_length_junk},
	    {"content_length_twice", test_content_length_twice},
	    {"modifiers", test_modifiers},
	    {"truncated", test_truncated},
	    {"length_off_by_one", test_length_off_by_one},
	    {"bad_records", test_bad_records},
	    {"max_head", test_max_head},
	    {"largest_head", test_largest_head},
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
	return unit_run(suite());
}
