/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for core/upkt.c: the header in both directions, the vars reader
 * on valid runs and on every kind of broken record (empty key, each length
 * and each field running past the body), the strict decimal reader at its
 * edges, and the writer: exact bytes, sticky errors, and a failed packet
 * (body over 65535, a full buffer) leaving the buffer as it was.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <errno.h>
#include <string.h>

#include "core/upkt.h"

START_TEST(test_hdr)
{
	const unsigned char in[] = {0xe0, 0x68, 0x01, 0x07, 0xff};
	struct upkt_hdr h;
	for (size_t n = 0; n < UPKT_HDR_LEN; n++)
		ck_assert_int_eq(upkt_hdr_read(in, n, &h), 0);
	ck_assert_int_eq(upkt_hdr_read(in, sizeof(in), &h), UPKT_HDR_LEN);
	ck_assert_uint_eq(h.modifier1, 0xe0);
	ck_assert_uint_eq(h.size, 0x0168);
	ck_assert_uint_eq(h.modifier2, 7);

	unsigned char out[UPKT_HDR_LEN];
	upkt_hdr_write(out, &(struct upkt_hdr){.modifier1 = 1, .size = 0xfffe, .modifier2 = 2});
	const unsigned char want[] = {1, 0xfe, 0xff, 2};
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

/* Two records, the second with an empty value. */
static const unsigned char two_vars[] = {3, 0, 'k', 'e', 'y', 2, 0, 'v', '1', 1, 0, 'x', 0, 0};

START_TEST(test_var_next_valid)
{
	size_t off = 0;
	struct upkt_var v;
	ck_assert_int_eq(upkt_var_next(two_vars, sizeof(two_vars), &off, &v), 1);
	ck_assert_uint_eq(off, 9);
	ck_assert_uint_eq(v.klen, 3);
	ck_assert_mem_eq(v.key, "key", 3);
	ck_assert_uint_eq(v.vlen, 2);
	ck_assert_mem_eq(v.val, "v1", 2);
	ck_assert(upkt_var_is(&v, "key"));
	ck_assert(!upkt_var_is(&v, "ke"));
	ck_assert(!upkt_var_is(&v, "keys"));
	ck_assert(!upkt_var_is(&v, "KEY"));

	ck_assert_int_eq(upkt_var_next(two_vars, sizeof(two_vars), &off, &v), 1);
	ck_assert_uint_eq(off, sizeof(two_vars));
	ck_assert(upkt_var_is(&v, "x"));
	ck_assert_uint_eq(v.vlen, 0);
	ck_assert_ptr_eq(v.val, (const char *)two_vars + sizeof(two_vars));

	ck_assert_int_eq(upkt_var_next(two_vars, sizeof(two_vars), &off, &v), 0);
	ck_assert_uint_eq(off, sizeof(two_vars));

	ck_assert(upkt_vars_valid(two_vars, sizeof(two_vars)));
	ck_assert(upkt_vars_valid(two_vars, 0)); /* an empty body is a valid run */
	ck_assert(upkt_vars_valid(NULL, 0));
}
END_TEST

static void var_bad(const unsigned char *body, size_t len, size_t want_off)
{
	size_t off = 0;
	struct upkt_var v;
	int r;
	while ((r = upkt_var_next(body, len, &off, &v)) == 1)
		;
	ck_assert_int_eq(r, -1);
	ck_assert_uint_eq(off, want_off);
	ck_assert(!upkt_vars_valid(body, len));
}

START_TEST(test_var_next_invalid)
{
	/* Every prefix of a valid run that cuts a record is invalid. */
	for (size_t n = 1; n < sizeof(two_vars); n++) {
		if (n == 9)
			continue; /* the boundary between the two records */
		var_bad(two_vars, n, n < 9 ? 0 : 9);
	}
	/* Key length 0, even with a valid value after it. */
	const unsigned char empty_key[] = {0, 0, 1, 0, 'v'};
	var_bad(empty_key, sizeof(empty_key), 0);
	/* Lengths far beyond the body. */
	const unsigned char huge_key[] = {0xff, 0xff, 'a'};
	var_bad(huge_key, sizeof(huge_key), 0);
	const unsigned char huge_val[] = {1, 0, 'a', 0xff, 0xff, 'b'};
	var_bad(huge_val, sizeof(huge_val), 0);
	/* A valid record then one stray byte. */
	const unsigned char trailing[] = {1, 0, 'a', 1, 0, 'b', 0};
	var_bad(trailing, sizeof(trailing), 6);
	/* An offset past the end is refused, not read. */
	size_t off = sizeof(two_vars) + 1;
	struct upkt_var v;
	ck_assert_int_eq(upkt_var_next(two_vars, sizeof(two_vars), &off, &v), -1);
	ck_assert_uint_eq(off, sizeof(two_vars) + 1);
}
END_TEST

static void u64_ok(const char *s, uint64_t want)
{
	uint64_t v = 12345;
	ck_assert_msg(upkt_u64(s, strlen(s), &v) == 0, "'%s' refused", s);
	ck_assert_msg(v == want, "'%s' gave %llu", s, (unsigned long long)v);
}

static void u64_bad(const char *s, size_t n)
{
	uint64_t v = 12345;
	ck_assert_msg(upkt_u64(s, n, &v) == -1, "'%.*s' accepted", (int)n, s);
	ck_assert_uint_eq(v, 12345);
}

START_TEST(test_u64)
{
	u64_ok("0", 0);
	u64_ok("7", 7);
	u64_ok("007", 7);
	u64_ok("4294967296", 4294967296ull);
	u64_ok("18446744073709551615", UINT64_MAX);
	u64_ok("00000000000000000001", 1); /* 20 digits */
	u64_bad("18446744073709551616", 20);
	u64_bad("99999999999999999999", 20);
	u64_bad("000000000000000000001", 21); /* 21 digits, even if small */
	u64_bad("", 0);
	u64_bad("1a", 2);
	u64_bad("a1", 2);
	u64_bad("+1", 2);
	u64_bad("-1", 2);
	u64_bad(" 1", 2);
	u64_bad("1 ", 2);
	u64_bad("1\0", 2);
	u64_bad("0x10", 4);
	/* Only n bytes are read: "12" out of "123". */
	uint64_t v;
	ck_assert_int_eq(upkt_u64("123", 2, &v), 0);
	ck_assert_uint_eq(v, 12);
}
END_TEST

START_TEST(test_writer_bytes)
{
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_append(&b, "pre", 3), 0); /* a packet need not start the buffer */
	struct upkt_writer w;
	upkt_begin(&w, &b, 224, 1);
	ck_assert_uint_eq(w.start, 3);
	upkt_put_str(&w, "key", "a:1");
	upkt_put(&w, "v", 1, NULL, 0);
	upkt_put_u64(&w, "n", 0);
	upkt_put_u64(&w, "max", UINT64_MAX);
	upkt_put_str(&w, "e", NULL);
	ssize_t n = upkt_end(&w);
	const char want[] = "pre"
			    "\xe0\x35\x00\x01"
			    "\x03\x00key\x03\x00"
			    "a:1"
			    "\x01\x00v\x00\x00"
			    "\x01\x00n\x01\x00"
			    "0"
			    "\x03\x00max\x14\x00"
			    "18446744073709551615"
			    "\x01\x00"
			    "e\x00\x00";
	ck_assert_int_eq(n, (ssize_t)sizeof(want) - 1 - 3);
	ck_assert_uint_eq(b.len, sizeof(want) - 1);
	ck_assert_mem_eq(b.data, want, sizeof(want) - 1);

	/* What was written reads back. */
	struct upkt_hdr h;
	ck_assert_int_eq(upkt_hdr_read(b.data + 3, b.len - 3, &h), UPKT_HDR_LEN);
	ck_assert_uint_eq(h.size, b.len - 3 - UPKT_HDR_LEN);
	ck_assert(upkt_vars_valid(b.data + 3 + UPKT_HDR_LEN, h.size));
	buf_free(&b);
}
END_TEST

START_TEST(test_writer_empty_body)
{
	struct buf b = BUF_INIT;
	struct upkt_writer w;
	upkt_begin(&w, &b, 0, 0);
	ck_assert_int_eq(upkt_end(&w), UPKT_HDR_LEN);
	ck_assert_mem_eq(b.data, "\0\0\0\0", 4);
	buf_free(&b);
}
END_TEST

/* The writer failed: -1, errno, and the buffer exactly as before begin. */
static void check_rolled_back(struct upkt_writer *w, int want_errno, const char *before,
			      size_t before_len)
{
	errno = 0;
	ck_assert_int_eq(upkt_end(w), -1);
	ck_assert_int_eq(errno, want_errno);
	ck_assert_uint_eq(w->b->len, before_len);
	ck_assert_mem_eq(w->b->data, before, before_len);
	ck_assert_int_eq(w->b->data[before_len], '\0');
}

START_TEST(test_writer_body_too_big)
{
	static char big[40000];
	memset(big, 'x', sizeof(big));
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_puts(&b, "keep"), 0);
	struct upkt_writer w;
	upkt_begin(&w, &b, 0, 0);
	upkt_put(&w, "a", 1, big, sizeof(big));
	ck_assert_int_eq(w.error, 0);
	upkt_put(&w, "b", 1, big, sizeof(big)); /* body passes 65535 */
	ck_assert_int_eq(w.error, E2BIG);
	size_t len = b.len;
	upkt_put_str(&w, "c", "d"); /* sticky: ignored */
	ck_assert_uint_eq(b.len, len);
	check_rolled_back(&w, E2BIG, "keep", 4);

	/* Exactly 65535 body bytes is fine; one more is not. */
	upkt_begin(&w, &b, 0, 0);
	upkt_put(&w, "a", 1, big, 32765);
	upkt_put(&w, "b", 1, big, 32760);
	ck_assert_int_eq(upkt_end(&w), UPKT_HDR_LEN + UPKT_BODY_MAX);
	ck_assert_mem_eq(b.data + 4, "\0\xff\xff\0", 4);
	buf_reset(&b);
	upkt_begin(&w, &b, 0, 0);
	upkt_put(&w, "a", 1, big, 32765);
	upkt_put(&w, "b", 1, big, 32761);
	check_rolled_back(&w, E2BIG, "", 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_writer_field_too_big)
{
	static char big[UPKT_BODY_MAX + 1];
	memset(big, 'k', sizeof(big));
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_puts(&b, "x"), 0);
	struct upkt_writer w;
	upkt_begin(&w, &b, 0, 0);
	upkt_put(&w, big, sizeof(big), "v", 1);
	check_rolled_back(&w, E2BIG, "x", 1);
	upkt_begin(&w, &b, 0, 0);
	upkt_put(&w, "k", 1, big, sizeof(big));
	check_rolled_back(&w, E2BIG, "x", 1);
	buf_free(&b);
}
END_TEST

START_TEST(test_writer_empty_key)
{
	struct buf b = BUF_INIT;
	struct upkt_writer w;
	upkt_begin(&w, &b, 0, 0);
	upkt_put_str(&w, "ok", "1");
	upkt_put(&w, "", 0, "v", 1);
	ck_assert_int_eq(w.error, EINVAL);
	errno = 0;
	ck_assert_int_eq(upkt_end(&w), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_writer_buf_full)
{
	/* The buffer's own cap refuses the append: its errno is reported. */
	struct buf b = BUF_INIT;
	b.max = 20;
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	struct upkt_writer w;
	upkt_begin(&w, &b, 0, 0);
	upkt_put_str(&w, "k", "v"); /* 3 + 4 + 6 = 13 bytes */
	ck_assert_int_eq(w.error, 0);
	upkt_put_str(&w, "key", "value"); /* would be 25 */
	ck_assert_int_eq(w.error, E2BIG);
	check_rolled_back(&w, E2BIG, "abc", 3);

	/* A header that does not fit. */
	b.max = 5;
	upkt_begin(&w, &b, 0, 0);
	ck_assert_int_eq(w.error, E2BIG);
	upkt_put_str(&w, "k", "v");
	check_rolled_back(&w, E2BIG, "abc", 3);
	buf_free(&b);
}
END_TEST

static Suite *upkt_suite(void)
{
	Suite *s = suite_create("upkt");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"hdr", test_hdr},
	    {"var_next_valid", test_var_next_valid},
	    {"var_next_invalid", test_var_next_invalid},
	    {"u64", test_u64},
	    {"writer_bytes", test_writer_bytes},
	    {"writer_empty_body", test_writer_empty_body},
	    {"writer_body_too_big", test_writer_body_too_big},
	    {"writer_field_too_big", test_writer_field_too_big},
	    {"writer_empty_key", test_writer_empty_key},
	    {"writer_buf_full", test_writer_buf_full},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(upkt_suite());
}
