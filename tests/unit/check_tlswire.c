/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for router/tlswire.c: the server_name list of a ClientHello
 * (real ones captured from openssl s_client, and crafted ones with one,
 * several or no entries, every length field one off either way, truncated
 * at every byte), the ALPN list (http/1.1 among others, h2 alone, empty and
 * overrunning entries), host name normalisation (case, one trailing dot,
 * bytes outside the allowed set, NUL, the length limit) and the check
 * before a name becomes an sni-dir file name. Every input is parsed from a
 * heap buffer of exactly its bytes, so ASan sees any read past it.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

/* server_name bodies from `openssl s_client -servername www.Example.COM.
 * -alpn h2,http/1.1` and `-servername a.test -alpn h2` (OpenSSL 3.0), and
 * their ALPN lists without the 2-byte list length, as the callback gets them. */
static const char real_sni_example[] = "00130000107777772e4578616d706c652e434f4d2e";
static const char real_sni_a_test[] = "0009000006612e74657374";
static const char real_alpn_both[] = "02683208687474702f312e31";
static const char real_alpn_h2[] = "026832";

/* Decode @hex into a malloc'ed buffer of exactly the right size. */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *p = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) {
		char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
		p[i] = (uint8_t)strtoul(two, NULL, 16);
	}
	*len = n;
	return p;
}

/* An exact-size heap copy, so ASan sees any read past the end. */
static uint8_t *dup_exact(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(d);
	memcpy(d, p, n);
	return d;
}

/* One server_name entry: its type and name. */
struct ent {
	uint8_t type;
	const char *name;
	size_t len;
};

static struct ent other(uint8_t type, const char *name)
{
	return (struct ent){type, name, strlen(name)};
}

static struct ent host(const char *name)
{
	return other(0, name);
}

/* A server_name body of @n entries into @out (room enough); its length. */
static size_t sni_body(uint8_t *out, const struct ent *e, size_t n)
{
	size_t at = 2;
	for (size_t i = 0; i < n; i++) {
		out[at++] = e[i].type;
		out[at++] = (uint8_t)(e[i].len >> 8);
		out[at++] = (uint8_t)e[i].len;
		memcpy(out + at, e[i].name, e[i].len);
		at += e[i].len;
	}
	out[0] = (uint8_t)((at - 2) >> 8);
	out[1] = (uint8_t)(at - 2);
	return at;
}

/* rtr_tlswire_sni on an exact copy of p[0..n); *off gets the name's offset
 * (-1 for none), *nlen its length. The slice must lie inside the input. */
static int sni(const void *p, size_t n, long *off, size_t *nlen)
{
	uint8_t *d = dup_exact(p, n);
	const uint8_t *name = (const uint8_t *)"x";
	size_t len = 99;
	int rc = rtr_tlswire_sni(d, n, &name, &len);
	ck_assert(rc >= -1 && rc <= 1);
	if (rc == 1) {
		ck_assert(name >= d + 5 && name <= d + n && len <= (size_t)(d + n - name));
		*off = name - d;
	} else {
		ck_assert_ptr_null(name);
		ck_assert_uint_eq(len, 0);
		*off = -1;
	}
	*nlen = len;
	free(d);
	return rc;
}

/* The name rtr_tlswire_sni finds in @p, compared with @want. */
static void sni_is(const uint8_t *p, size_t n, const char *want)
{
	long off;
	size_t len;
	ck_assert_int_eq(sni(p, n, &off, &len), 1);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert(memcmp(p + off, want, len) == 0);
}

static int sni_rc(const uint8_t *p, size_t n)
{
	long off;
	size_t len;
	return sni(p, n, &off, &len);
}

/* rtr_tlswire_alpn on an exact copy: the result, *off where it points. */
static int alpn(const void *p, size_t n, long *off)
{
	uint8_t *d = dup_exact(p, n);
	const uint8_t *out = (const uint8_t *)"x";
	int rc = rtr_tlswire_alpn(d, n, &out);
	ck_assert(rc >= -1 && rc <= 1);
	if (rc == 1) {
		ck_assert(out > d && out + 8 <= d + n && memcmp(out, "http/1.1", 8) == 0);
		*off = out - d;
	} else {
		ck_assert_ptr_null(out);
		*off = -1;
	}
	free(d);
	return rc;
}

static int alpn_rc(const void *p, size_t n)
{
	long off;
	return alpn(p, n, &off);
}

/* rtr_tlswire_host on an exact copy; @want NULL: refused. */
static void host_is(const char *name, size_t len, const char *want)
{
	char *d = (char *)dup_exact(name, len);
	char out[RTR_TLSWIRE_HOST_MAX + 1];
	memset(out, '#', sizeof(out));
	int rc = rtr_tlswire_host(d, len, out);
	free(d);
	if (want == NULL) {
		ck_assert_msg(rc == -1, "'%.*s' accepted as '%s'", (int)len, name, out);
		ck_assert_str_eq(out, "");
		return;
	}
	ck_assert_int_eq(rc, (int)strlen(want));
	ck_assert_str_eq(out, want);
}

static bool dir_ok(const char *h)
{
	char *d = (char *)dup_exact(h, strlen(h));
	bool ok = rtr_tlswire_dir_name_ok(d, strlen(h));
	free(d);
	return ok;
}

START_TEST(test_sni_one_name)
{
	uint8_t b[64];
	struct ent e[] = {host("a.test")};
	size_t n = sni_body(b, e, 1);
	ck_assert_uint_eq(n, 11);
	sni_is(b, n, "a.test");
	long off;
	size_t len;
	sni(b, n, &off, &len);
	ck_assert_int_eq(off, 5);
}
END_TEST

/* What openssl s_client sends: the name as given, case and dot kept. */
START_TEST(test_sni_real_client_hello)
{
	size_t n;
	uint8_t *p = unhex(real_sni_example, &n);
	sni_is(p, n, "www.Example.COM.");
	char out[RTR_TLSWIRE_HOST_MAX + 1];
	ck_assert_int_eq(rtr_tlswire_host((const char *)p + 5, n - 5, out), 15);
	ck_assert_str_eq(out, "www.example.com");
	free(p);
	p = unhex(real_sni_a_test, &n);
	sni_is(p, n, "a.test");
	free(p);
}
END_TEST

/* Other name types are skipped; the first host_name wins. */
START_TEST(test_sni_several_entries)
{
	uint8_t b[128];
	struct ent e1[] = {other(1, "x"), host("a.test"), host("b.test")};
	sni_is(b, sni_body(b, e1, 3), "a.test");
	struct ent e2[] = {other(7, "abc"), other(1, ""), other(255, "zz")};
	ck_assert_int_eq(sni_rc(b, sni_body(b, e2, 3)), 0);
	struct ent e3[] = {other(2, ""), host("b.test")};
	sni_is(b, sni_body(b, e3, 2), "b.test");
}
END_TEST

/* An empty list names nothing; an empty host_name is found, and refused
 * as a host name. */
START_TEST(test_sni_empty_list)
{
	ck_assert_int_eq(sni_rc((const uint8_t *)"\0\0", 2), 0);
	ck_assert_int_eq(sni_rc((const uint8_t *)"", 0), -1);
	ck_assert_int_eq(sni_rc((const uint8_t *)"\0", 1), -1);
	uint8_t b[16];
	struct ent e[] = {host("")};
	size_t n = sni_body(b, e, 1);
	long off;
	size_t len;
	ck_assert_int_eq(sni(b, n, &off, &len), 1);
	ck_assert_uint_eq(len, 0);
	host_is((const char *)b + off, len, NULL);
}
END_TEST

/* Each length field (the list's, every entry's) one too long or one too
 * short: the whole list is refused. */
START_TEST(test_sni_length_off_by_one)
{
	uint8_t b[128];
	struct ent e[] = {other(1, "x"), host("a.test"), other(2, "yz")};
	size_t n = sni_body(b, e, 3);
	size_t fields[] = {0, 3, 7, 16}; /* offsets of the 2-byte lengths */
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
		for (int d = -1; d <= 1; d += 2) {
			uint8_t c[128];
			memcpy(c, b, n);
			size_t v = ((size_t)c[fields[f]] << 8 | c[fields[f] + 1]) + (size_t)d;
			c[fields[f]] = (uint8_t)(v >> 8);
			c[fields[f] + 1] = (uint8_t)v;
			ck_assert_msg(sni_rc(c, n) == -1, "field at %zu %+d", fields[f], d);
		}
	/* one entry, host_name last: its length one short leaves a stray byte */
	struct ent one[] = {host("a.test")};
	n = sni_body(b, one, 1);
	b[4]--;
	ck_assert_int_eq(sni_rc(b, n), -1);
	b[4] += 2;
	ck_assert_int_eq(sni_rc(b, n), -1);
	/* a length high byte: 0x0106 where 0x0006 was meant */
	b[4] = 6;
	b[3] = 1;
	ck_assert_int_eq(sni_rc(b, n), -1);
}
END_TEST

/* Every prefix of a valid list is refused (list length and input differ),
 * and so is every prefix re-labelled with its own length (a cut entry). */
START_TEST(test_sni_truncated)
{
	uint8_t b[128];
	struct ent e[] = {other(1, "x"), host("a.test")};
	size_t n = sni_body(b, e, 2);
	for (size_t k = 0; k < n; k++) {
		ck_assert_msg(sni_rc(b, k) == -1, "prefix of %zu accepted", k);
		if (k < 2)
			continue;
		uint8_t c[128];
		memcpy(c, b, k);
		c[0] = (uint8_t)((k - 2) >> 8);
		c[1] = (uint8_t)(k - 2);
		int want = k == 2 ? 0 : k == 6 ? 0 : -1; /* empty, or just the first entry */
		ck_assert_msg(sni_rc(c, k) == want, "relabelled prefix of %zu", k);
	}
	sni_is(b, n, "a.test");
}
END_TEST

/* Lower-cased, one trailing dot removed, the allowed bytes kept. */
START_TEST(test_host_normalised)
{
	host_is("a.test", 6, "a.test");
	host_is("A.TeSt", 6, "a.test");
	host_is("a.test.", 7, "a.test");
	host_is("a.test..", 8, "a.test."); /* one dot only */
	host_is("x_y-z.0-9", 9, "x_y-z.0-9");
	host_is("..", 2, ".");
	host_is("a.test", 3, "a.t"); /* the length given, not a NUL, ends it */
}
END_TEST

/* NUL and every byte outside [A-Za-z0-9._-] refuse the whole name. */
START_TEST(test_host_bad_bytes)
{
	host_is("a\0.test", 7, NULL);
	host_is("a.test\0", 7, NULL);
	host_is("\0", 1, NULL);
	for (int ch = 0; ch < 256; ch++) {
		char name[] = "ab?cd";
		name[2] = (char)ch;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
		char want[] = "ab?cd";
		want[2] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
		host_is(name, 5, ok ? want : NULL);
	}
	host_is("a.test:443", 10, NULL);
	host_is("a b", 3, NULL);
	host_is("[::1]", 5, NULL);
	host_is("caf\xc3\xa9", 5, NULL);
}
END_TEST

/* At most RTR_TLSWIRE_HOST_MAX bytes without the trailing dot; nothing is
 * empty. */
START_TEST(test_host_too_long)
{
	char name[RTR_TLSWIRE_HOST_MAX + 3];
	memset(name, 'a', sizeof(name));
	char want[RTR_TLSWIRE_HOST_MAX + 1];
	memset(want, 'a', RTR_TLSWIRE_HOST_MAX);
	want[RTR_TLSWIRE_HOST_MAX] = '\0';
	host_is(name, RTR_TLSWIRE_HOST_MAX, want);
	host_is(name, RTR_TLSWIRE_HOST_MAX + 1, NULL);
	host_is(name, RTR_TLSWIRE_HOST_MAX + 2, NULL);
	name[RTR_TLSWIRE_HOST_MAX] = '.';
	host_is(name, RTR_TLSWIRE_HOST_MAX + 1, want);
	name[RTR_TLSWIRE_HOST_MAX + 1] = '.';
	host_is(name, RTR_TLSWIRE_HOST_MAX + 2, NULL);
	host_is("", 0, NULL);
	host_is(".", 1, NULL);
	/* an SNI entry of the longest name is found and refused whole */
	uint8_t b[70000];
	static char big[65535];
	memset(big, 'b', sizeof(big));
	struct ent e[] = {{0, big, sizeof(big) - 5}};
	size_t n = sni_body(b, e, 1);
	long off;
	size_t len;
	ck_assert_int_eq(sni(b, n, &off, &len), 1);
	ck_assert_uint_eq(len, sizeof(big) - 5);
	host_is((const char *)b + off, len, NULL);
}
END_TEST

/* Only [a-z0-9.-] names file names: no leading dot, no "..", no '_'. */
START_TEST(test_dir_name)
{
	ck_assert(dir_ok("a.test"));
	ck_assert(dir_ok("a-b.c0"));
	ck_assert(dir_ok("a.test."));
	ck_assert(dir_ok("-a"));
	ck_assert(!dir_ok(""));
	ck_assert(!dir_ok("."));
	ck_assert(!dir_ok(".."));
	ck_assert(!dir_ok(".a"));
	ck_assert(!dir_ok("a..b"));
	ck_assert(!dir_ok("a.."));
	ck_assert(!dir_ok("x_y"));
	ck_assert(!dir_ok("A.test"));
	ck_assert(!dir_ok("a/b"));
	ck_assert(!rtr_tlswire_dir_name_ok("a\0b", 3));
	ck_assert(rtr_tlswire_dir_name_ok("a..b", 2)); /* the length given ends it */
}
END_TEST

START_TEST(test_alpn_picks_http11)
{
	long off;
	size_t n;
	uint8_t *p = unhex(real_alpn_both, &n);
	ck_assert_int_eq(alpn(p, n, &off), 1);
	ck_assert_int_eq(off, 4);
	free(p);
	static const char several[] = "\x02h2\x08spdy/3.1\x08http/1.1\x06http/1";
	ck_assert_int_eq(alpn(several, sizeof(several) - 1, &off), 1);
	ck_assert_int_eq(off, 13);
	static const char only[] = "\x08http/1.1";
	ck_assert_int_eq(alpn(only, sizeof(only) - 1, &off), 1);
	ck_assert_int_eq(off, 1);
	/* the first of two */
	static const char twice[] = "\x08http/1.1\x08http/1.1";
	ck_assert_int_eq(alpn(twice, sizeof(twice) - 1, &off), 1);
	ck_assert_int_eq(off, 1);
}
END_TEST

/* h2 alone, or names that only look like http/1.1: nothing picked. */
START_TEST(test_alpn_h2_only)
{
	size_t n;
	uint8_t *p = unhex(real_alpn_h2, &n);
	ck_assert_int_eq(alpn_rc(p, n), 0);
	free(p);
	static const char *const lists[] = {"\x02h2\x03h2c", "\x08HTTP/1.1", "\x09http/1.1x",
					    "\x07http/1.", "\x08http/1.0"};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		ck_assert_msg(alpn_rc(lists[i], strlen(lists[i])) == 0, "list %zu", i);
}
END_TEST

/* RFC 7301: empty protocol names must not be sent; a list holding one is
 * refused whole, even with http/1.1 before it. An empty list too. */
START_TEST(test_alpn_zero_length_entry)
{
	ck_assert_int_eq(alpn_rc("\x00", 1), -1);
	ck_assert_int_eq(alpn_rc("\x00\x08http/1.1", 10), -1);
	ck_assert_int_eq(alpn_rc("\x02h2\x00\x08http/1.1", 13), -1);
	ck_assert_int_eq(alpn_rc("\x08http/1.1\x00", 10), -1);
	ck_assert_int_eq(alpn_rc("", 0), -1);
}
END_TEST

/* Each entry's length one too long or one too short: refused, or (when the
 * bytes happen to frame a list still) no http/1.1 where there was one. */
START_TEST(test_alpn_length_off_by_one)
{
	static const char list[] = "\x02h2\x08http/1.1\x03xyz";
	size_t n = sizeof(list) - 1, at[] = {0, 3, 12};
	for (size_t f = 0; f < 3; f++)
		for (int d = -1; d <= 1; d += 2) {
			char c[32];
			memcpy(c, list, n);
			c[at[f]] = (char)(c[at[f]] + d);
			ck_assert_msg(alpn_rc(c, n) == -1, "entry at %zu %+d", at[f], d);
		}
	ck_assert_int_eq(alpn_rc("\x09http/1.1", 9), -1);
	ck_assert_int_eq(alpn_rc("\x07http/1.1", 9), -1); /* '1' = 49 overruns */
}
END_TEST

/* Every prefix of a valid list: refused unless it ends between entries. */
START_TEST(test_alpn_truncated)
{
	static const char list[] = "\x02h2\x08http/1.1\x03xyz";
	size_t n = sizeof(list) - 1;
	for (size_t k = 0; k <= n; k++) {
		int want = k == 3 ? 0 : k == 12 || k == n ? 1 : -1;
		ck_assert_msg(alpn_rc(list, k) == want, "prefix of %zu", k);
	}
}
END_TEST

static Suite *tlswire_suite(void)
{
	Suite *s = suite_create("tlswire");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"sni_one_name", test_sni_one_name},
	    {"sni_real_client_hello", test_sni_real_client_hello},
	    {"sni_several_entries", test_sni_several_entries},
	    {"sni_empty_list", test_sni_empty_list},
	    {"sni_length_off_by_one", test_sni_length_off_by_one},
	    {"sni_truncated", test_sni_truncated},
	    {"host_normalised", test_host_normalised},
	    {"host_bad_bytes", test_host_bad_bytes},
	    {"host_too_long", test_host_too_long},
	    {"dir_name", test_dir_name},
	    {"alpn_picks_http11", test_alpn_picks_http11},
	    {"alpn_h2_only", test_alpn_h2_only},
	    {"alpn_zero_length_entry", test_alpn_zero_length_entry},
	    {"alpn_length_off_by_one", test_alpn_length_off_by_one},
	    {"alpn_truncated", test_alpn_truncated},
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
	return unit_run(tlswire_suite());
}
