/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for core/json.c: automatic commas and nesting, every kind of
 * value, string escaping (quotes, backslashes, control characters, DEL,
 * valid and invalid UTF-8) and the sticky error reported by json_done.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/json.h"

/* Escape n bytes of s into a fresh buffer and compare with want. */
static void check_escape(const char *s, size_t n, const char *want)
{
	struct buf b = BUF_INIT;
	ck_assert_int_eq(json_escape(&b, s, n), 0);
	ck_assert_uint_eq(b.len, strlen(want));
	ck_assert_str_eq(b.len ? b.data : "", want);
	buf_free(&b);
}

START_TEST(test_nesting_and_commas)
{
	struct buf b = BUF_INIT;
	struct json j;
	json_init(&j, &b);
	json_obj_begin(&j);
	json_key(&j, "a");
	json_int(&j, -5);
	json_key(&j, "b");
	json_arr_begin(&j);
	json_uint(&j, UINT64_MAX);
	json_bool(&j, true);
	json_bool(&j, false);
	json_null(&j);
	json_obj_begin(&j);
	json_obj_end(&j);
	json_arr_begin(&j);
	json_arr_end(&j);
	json_arr_end(&j);
	json_key(&j, "c");
	json_str(&j, "x");
	json_key(&j, "d");
	json_str(&j, NULL);
	json_key(&j, "e");
	json_strn(&j, "xyz", 2);
	json_obj_end(&j);
	ck_assert_int_eq(json_done(&j), 0);
	ck_assert_str_eq(b.data, "{\"a\":-5,\"b\":[18446744073709551615,true,false,null,{},[]],"
				 "\"c\":\"x\",\"d\":null,\"e\":\"xy\"}");
	buf_free(&b);
}
END_TEST

START_TEST(test_int_extremes)
{
	struct buf b = BUF_INIT;
	struct json j;
	json_init(&j, &b);
	json_arr_begin(&j);
	json_int(&j, INT64_MIN);
	json_int(&j, INT64_MAX);
	json_uint(&j, 0);
	json_arr_end(&j);
	ck_assert_int_eq(json_done(&j), 0);
	ck_assert_str_eq(b.data, "[-9223372036854775808,9223372036854775807,0]");
	buf_free(&b);
}
END_TEST

START_TEST(test_keys_escaped)
{
	struct buf b = BUF_INIT;
	struct json j;
	json_init(&j, &b);
	json_obj_begin(&j);
	json_key(&j, "q\"k\n");
	json_str(&j, "v\\");
	json_obj_end(&j);
	ck_assert_int_eq(json_done(&j), 0);
	ck_assert_str_eq(b.data, "{\"q\\\"k\\n\":\"v\\\\\"}");
	buf_free(&b);
}
END_TEST

START_TEST(test_escape_ascii)
{
	check_escape("plain text / ok", 15, "plain text / ok");
	check_escape("\"\\", 2, "\\\"\\\\");
	check_escape("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f");
	check_escape("\x01\x1f", 2, "\\u0001\\u001f");
	check_escape("a\0b", 3, "a\\u0000b");
	check_escape("\x7f", 1, "\x7f"); /* DEL is legal in JSON strings */
	check_escape("", 0, "");
}
END_TEST

START_TEST(test_escape_utf8_valid)
{
	check_escape("\xc3\xa9", 2, "\xc3\xa9");		 /* U+00E9 */
	check_escape("\xe2\x82\xac", 3, "\xe2\x82\xac");	 /* U+20AC */
	check_escape("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"); /* U+1F600 */
	check_escape("\xef\xbf\xbf", 3, "\xef\xbf\xbf");	 /* U+FFFF */
	check_escape("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	check_escape("\xed\x9f\xbf", 3, "\xed\x9f\xbf");	 /* U+D7FF */
}
END_TEST

START_TEST(test_escape_utf8_invalid)
{
	check_escape("\x80", 1, "\\ufffd");				     /* lone continuation */
	check_escape("\xc0\xaf", 2, "\\ufffd\\ufffd");			     /* overlong '/' */
	check_escape("\xe0\x80\xaf", 3, "\\ufffd\\ufffd\\ufffd");	     /* overlong 3-byte */
	check_escape("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");	     /* surrogate D800 */
	check_escape("\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd"); /* > U+10FFFF */
	check_escape("\xf5\x80", 2, "\\ufffd\\ufffd");
	check_escape("\xff", 1, "\\ufffd");
	/* a truncated sequence is one replacement, then the next byte stands */
	check_escape("\xe2\x82x", 3, "\\ufffdx");
	check_escape("a\xe2\x82", 3, "a\\ufffd");
	check_escape("\xf0\x9f\x98", 3, "\\ufffd");
	check_escape("\xc3\"", 2, "\\ufffd\\\"");
}
END_TEST

START_TEST(test_escape_cut_keeps_prefix)
{
	/* a capped buffer takes the longest escaped prefix that fits */
	struct buf b = {NULL, 0, 0, 5};
	ck_assert_int_eq(json_escape(&b, "abcdefgh", 8), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_str_eq(b.data, "abcde");
	buf_free(&b);

	struct buf c = {NULL, 0, 0, 4};
	ck_assert_int_eq(json_escape(&c, "ab\"c", 4), -1);
	ck_assert_str_eq(c.data, "ab\\\""); /* an escape is never split */
	buf_free(&c);
}
END_TEST

START_TEST(test_done_detects_open_nesting)
{
	struct buf b = BUF_INIT;
	struct json j;
	json_init(&j, &b);
	json_obj_begin(&j);
	ck_assert_int_eq(json_done(&j), -1);
	json_key(&j, "k");
	json_obj_end(&j); /* a key without a value */
	ck_assert_int_eq(json_done(&j), -1);
	buf_free(&b);
}
END_TEST

START_TEST(test_unbalanced_end_is_error)
{
	struct buf b = BUF_INIT;
	struct json j;
	json_init(&j, &b);
	json_arr_end(&j);
	ck_assert_int_eq(json_done(&j), -1);
	ck_assert_int_ne(j.error, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_depth_limit)
{
	struct buf b = BUF_INIT;
	struct json j;
	json_init(&j, &b);
	for (int i = 0; i < JSON_MAX_DEPTH + 2; i++)
		json_arr_begin(&j);
	ck_assert_int_eq(j.error, EOVERFLOW);
	ck_assert_int_eq(json_done(&j), -1);
	ck_assert_int_lt(j.depth, JSON_MAX_DEPTH);
	buf_free(&b);
}
END_TEST

START_TEST(test_sticky_buffer_error)
{
	struct buf b = {NULL, 0, 0, 8};
	struct json j;
	json_init(&j, &b);
	json_arr_begin(&j);
	json_str(&j, "far too long for the cap");
	ck_assert_int_eq(j.error, E2BIG);
	json_int(&j, 1); /* ignored after the failure */
	json_arr_end(&j);
	ck_assert_int_eq(json_done(&j), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_int_le(b.len, 8);
	ck_assert_ptr_null(strchr(b.data, '1'));
	buf_free(&b);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"nesting_and_commas", test_nesting_and_commas},
	    {"int_extremes", test_int_extremes},
	    {"keys_escaped", test_keys_escaped},
	    {"escape_ascii", test_escape_ascii},
	    {"escape_utf8_valid", test_escape_utf8_valid},
	    {"escape_utf8_invalid", test_escape_utf8_invalid},
	    {"escape_cut_keeps_prefix", test_escape_cut_keeps_prefix},
	    {"done_detects_open_nesting", test_done_detects_open_nesting},
	    {"unbalanced_end_is_error", test_unbalanced_end_is_error},
	    {"depth_limit", test_depth_limit},
	    {"sticky_buffer_error", test_sticky_buffer_error},
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
	return unit_run(json_suite());
}
