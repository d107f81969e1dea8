/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for core/log.c: each log encoder alone and chained, every
 * template variable (with a fixed clock, pid and TZ=UTC), JSON escaping of
 * messages, parse errors, and log_write/log_msg writing single lines to a
 * pipe with level filtering and cutting of long lines.
 */
#define _GNU_SOURCE
#include "tests/unit/unit.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define NOW_US INT64_C(1700000000123456) /* 2023-11-14 22:13:20.123456 UTC */

static const struct log_ctx fixed_ctx = {
    .level = LOGL_WARN,
    .vassal = "app1",
    .now_us = NOW_US,
    .pid = 4242,
};

/* Build a chain from NULL-terminated specs; every one must parse. */
static struct log_chain *chain_of(const char *const *specs)
{
	struct log_chain *c = NULL;
	for (; *specs != NULL; specs++) {
		struct err *e = NULL;
		int r = log_chain_add(&c, *specs, &e);
		ck_assert_msg(r == 0, "'%s': %s", *specs, err_msg(e));
		err_free(&e);
	}
	return c;
}

/* Encode msg with specs and ctx and compare with want. */
static void check_enc(const char *const *specs, const struct log_ctx *ctx, const char *msg,
		      size_t len, const char *want)
{
	struct log_chain *c = specs ? chain_of(specs) : NULL;
	struct buf out = BUF_INIT;
	ck_assert_int_eq(log_encode(c, ctx, msg, len, &out), 0);
	ck_assert_msg(out.data && strcmp(out.data, want) == 0, "got '%s', want '%s'",
		      out.data ? out.data : "(null)", want);
	buf_free(&out);
	log_chain_free(c);
}

#define ENC(want, msg, ...)                                                                        \
	check_enc((const char *const[]){__VA_ARGS__, NULL}, &fixed_ctx, msg, strlen(msg), want)

/* Parse must fail with exactly this message. */
static void check_parse_error(const char *spec, const char *want)
{
	struct log_chain *c = NULL;
	struct err *e = NULL;
	ck_assert_int_eq(log_chain_add(&c, spec, &e), -1);
	ck_assert_ptr_null(c); /* nothing allocated on failure */
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(err_msg(e), want);
	err_free(&e);
}

static void use_utc(void)
{
	ck_assert_int_eq(setenv("TZ", "UTC", 1), 0);
	tzset();
}

START_TEST(test_no_chain)
{
	check_enc(NULL, &fixed_ctx, "hello", 5, "hello\n");
	check_enc(NULL, NULL, "", 0, "\n");
	struct buf out = BUF_INIT;
	buf_puts(&out, "kept:");
	ck_assert_int_eq(log_encode(NULL, NULL, "x", 1, &out), 0);
	ck_assert_str_eq(out.data, "kept:x\n"); /* appends */
	buf_free(&out);
}
END_TEST

START_TEST(test_prefix_suffix_nl)
{
	ENC("[a] hello\n", "hello", "prefix [a] ");
	ENC("hello\n!", "hello", "suffix !");
	ENC("hello\n\n", "hello", "nl");
	/* the argument is the rest after the first run of spaces, verbatim */
	ENC("a  b\thello\n", "hello", "prefix  \ta  b\t");
}
END_TEST

START_TEST(test_format)
{
	ENC("<hello>", "hello", "format <${msg}>");
	ENC("<hello\n>", "hello", "format <${msgnl}>");
	ENC("\"q\" \\", "\"q\" \\", "format ${msg}"); /* format does not escape */
	ENC("no vars", "hello", "format no vars");
}
END_TEST

START_TEST(test_json_escapes_message)
{
	ENC("{\"m\":\"say \\\"hi\\\"\"}", "say \"hi\"", "json {\"m\":\"${msg}\"}");
	ENC("{\"m\":\"a\\nb\\\\c\\t\\u0001\"}", "a\nb\\c\t\x01", "json {\"m\":\"${msg}\"}");
	ENC("{\"m\":\"bad\\ufffd\\ufffd utf8 \xc3\xa9\"}", "bad\xff\xc0 utf8 \xc3\xa9",
	    "json {\"m\":\"${msg}\"}");
	ENC("{\"m\":\"x\\n\"}", "x", "json {\"m\":\"${msgnl}\"}");
	/* literal template text is the author's: not escaped */
	ENC("{\"m\":\"\"} \\", "", "json {\"m\":\"${msg}\"} \\");
}
END_TEST

START_TEST(test_json_escapes_other_strings)
{
	struct log_ctx ctx = fixed_ctx;
	ctx.vassal = "we\"ird";
	const char *const specs[] = {"json ${vassal}|${level}|${strftime:%Y\"%m}", NULL};
	use_utc();
	check_enc(specs, &ctx, "m", 1, "we\\\"ird|warn|2023\\\"11");
	/* numbers are not quoted by the encoder */
	ENC("{\"t\":1700000000,\"pid\":4242}", "m", "json {\"t\":${unix},\"pid\":${pid}}");
}
END_TEST

START_TEST(test_chain_order)
{
	/* each output feeds the next; ${msg} drops only a trailing newline */
	ENC("{\"m\":\"[a]hello\\n!\"}\n", "hello", "prefix [a]", "suffix !",
	    "json {\"m\":\"${msg}\"}", "nl");
	ENC("[a]<hello>\n", "hello", "format <${msg}>", "nl", "prefix [a]");
	ENC("<<hello>>", "hello", "format <${msg}>", "format <${msg}>");
}
END_TEST

START_TEST(test_variables)
{
	use_utc();
	ENC("1700000000 1700000000123 1700000000123456", "m", "format ${unix} ${millis} ${micros}");
	ENC("2023-11-14T22:13:20Z", "m", "format ${strftime:%Y-%m-%dT%H:%M:%SZ}");
	ENC("app1 warn 4242", "m", "format ${vassal} ${level} ${pid}");

	struct log_ctx ctx = {.level = LOGL_DEBUG, .now_us = NOW_US};
	const char *const specs[] = {"format ${vassal} ${level} ${pid}", NULL};
	char want[64];
	snprintf(want, sizeof(want), "emperor debug %d", (int)getpid());
	check_enc(specs, &ctx, "m", 1, want);

	ctx.level = LOGL_ERROR;
	check_enc((const char *const[]){"format ${level}", NULL}, &ctx, "m", 1, "error");
	ctx.level = LOGL_INFO;
	check_enc((const char *const[]){"format ${level}", NULL}, &ctx, "m", 1, "info");
}
END_TEST

START_TEST(test_clock_read_when_zero)
{
	struct log_ctx ctx = {.level = LOGL_INFO};
	const char *const specs[] = {"format ${unix}", NULL};
	struct log_chain *c = chain_of(specs);
	struct buf out = BUF_INIT;
	time_t before = time(NULL);
	ck_assert_int_eq(log_encode(c, &ctx, "m", 1, &out), 0);
	time_t after = time(NULL);
	long long t = strtoll(out.data, NULL, 10);
	ck_assert_int_ge(t, (long long)before);
	ck_assert_int_le(t, (long long)after);
	buf_free(&out);
	log_chain_free(c);
}
END_TEST

START_TEST(test_strftime_edge_cases)
{
	use_utc();
	/* strftime output over 256 bytes, or an empty format, renders nothing */
	char spec[600] = "format <${strftime:";
	for (int i = 0; i < 150; i++)
		strcat(spec, "%Y");
	strcat(spec, "}>");
	check_enc((const char *const[]){spec, NULL}, &fixed_ctx, "m", 1, "<>");
	ENC("<>", "m", "format <${strftime:}>");
	/* the format ends at the first brace; the rest is literal */
	ENC("2023}", "m", "format ${strftime:%Y}}");
}
END_TEST

START_TEST(test_literal_dollar)
{
	ENC("cost $5 hello $", "hello", "format cost $5 ${msg} $");
	ENC("$$hello$}", "hello", "format $$${msg}$}");
	ENC("{}$", "hello", "format {}$");
	/* prefix and suffix text is literal, variables included */
	ENC("${msg}hello\n", "hello", "prefix ${msg}");
}
END_TEST

START_TEST(test_parse_errors)
{
	check_parse_error("xml <${msg}>", "log-encoder: unknown encoder 'xml'");
	check_parse_error("", "log-encoder: unknown encoder ''");
	check_parse_error("format ${nope}", "log-encoder: unknown variable ${nope}");
	check_parse_error("json {\"a\":${msg},\"b\":${MSG}}",
			  "log-encoder: unknown variable ${MSG}");
	check_parse_error("format ${}", "log-encoder: unknown variable ${}");
	check_parse_error("format a ${msg", "log-encoder: unterminated ${ at offset 2");
	check_parse_error("format ${msg} ${", "log-encoder: unterminated ${ at offset 7");
	check_parse_error("nl x", "log-encoder: nl takes no argument");
	check_parse_error("prefix", "log-encoder: prefix needs an argument");
	check_parse_error("suffix   ", "log-encoder: suffix needs an argument");
	check_parse_error("json", "log-encoder: json needs an argument");
	check_parse_error("format", "log-encoder: format needs an argument");
}
END_TEST

START_TEST(test_failed_add_keeps_chain)
{
	struct log_chain *c = chain_of((const char *const[]){"prefix A", NULL});
	struct err *e = NULL;
	ck_assert_int_eq(log_chain_add(&c, "format ${bad}", &e), -1);
	err_free(&e);
	struct buf out = BUF_INIT;
	ck_assert_int_eq(log_encode(c, &fixed_ctx, "m", 1, &out), 0);
	ck_assert_str_eq(out.data, "Am\n");
	buf_free(&out);
	log_chain_free(c);
	log_chain_free(NULL);
}
END_TEST

START_TEST(test_too_many_encoders)
{
	struct log_chain *c = NULL;
	struct err *e = NULL;
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(log_chain_add(&c, "suffix x", &e), 0);
	ck_assert_int_eq(log_chain_add(&c, "suffix x", &e), -1);
	ck_assert_str_eq(err_msg(e), "log-encoder: too many encoders (at most 16)");
	err_free(&e);
	struct buf out = BUF_INIT;
	ck_assert_int_eq(log_encode(c, &fixed_ctx, "m", 1, &out), 0);
	ck_assert_str_eq(out.data, "m\nxxxxxxxxxxxxxxxx");
	buf_free(&out);
	log_chain_free(c);
}
END_TEST

START_TEST(test_encode_out_full)
{
	struct log_chain *c = chain_of((const char *const[]){"prefix 0123456789", NULL});
	struct buf out = {NULL, 0, 0, 8};
	buf_puts(&out, "ab");
	ck_assert_int_eq(log_encode(c, &fixed_ctx, "m", 1, &out), -1);
	ck_assert_str_eq(out.data, "ab");
	ck_assert_int_eq(log_encode(NULL, &fixed_ctx, "123456", 6, &out), -1);
	ck_assert_str_eq(out.data, "ab"); /* message fits, its newline not: nothing kept */
	ck_assert_int_eq(log_encode(NULL, &fixed_ctx, "12345", 5, &out), 0);
	ck_assert_str_eq(out.data, "ab12345\n");
	buf_free(&out);
	log_chain_free(c);
}
END_TEST

/* A pipe whose write end is the log fd; returns the read end. */
static int log_to_pipe(int *wfd)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_ge(fcntl(p[0], F_SETPIPE_SZ, 256 * 1024), 256 * 1024);
	log_set_fd(p[1]);
	*wfd = p[1];
	return p[0];
}

/* Stop logging to the pipe and read everything that was written. */
static char *drain(int rfd, int wfd, size_t *len)
{
	log_set_fd(2);
	close(wfd);
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	while ((n = read(rfd, chunk, sizeof(chunk))) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, (size_t)n), 0);
	close(rfd);
	*len = b.len;
	return buf_steal(&b);
}

START_TEST(test_write_one_line)
{
	int wfd, rfd = log_to_pipe(&wfd);
	struct log_chain *c = chain_of((const char *const[]){"prefix [x] ", NULL});
	log_write(c, LOGL_INFO, "v1", "hello world", 11);
	char *s;
	size_t len;
	/* exactly one read returns the whole line: it went out in one write */
	char first[128];
	ssize_t n = read(rfd, first, sizeof(first));
	ck_assert_int_eq(n, 16);
	ck_assert_int_eq(memcmp(first, "[x] hello world\n", 16), 0);
	s = drain(rfd, wfd, &len);
	ck_assert_uint_eq(len, 0);
	free(s);
	log_chain_free(c);
}
END_TEST

START_TEST(test_write_default_chain)
{
	int wfd, rfd = log_to_pipe(&wfd);
	struct log_chain *def =
	    chain_of((const char *const[]){"format ${vassal}:${level}:${msg}", "nl", NULL});
	struct log_chain *other = chain_of((const char *const[]){"prefix O ", NULL});
	log_write(NULL, LOGL_INFO, NULL, "plain", 5); /* no default chain yet */
	log_set_chain(def);
	log_write(NULL, LOGL_WARN, "app", "one", 3);
	log_write(other, LOGL_WARN, "app", "two", 3);
	log_info("three %d", 3);
	log_set_chain(NULL);
	size_t len;
	char *s = drain(rfd, wfd, &len);
	ck_assert_str_eq(s, "plain\napp:warn:one\nO two\nemperor:info:three 3\n");
	free(s);
	log_chain_free(def);
	log_chain_free(other);
}
END_TEST

START_TEST(test_level_filter)
{
	int wfd, rfd = log_to_pipe(&wfd);
	log_set_level(LOGL_WARN);
	log_debug("d");
	log_info("i");
	log_warn("w");
	log_error("e");
	log_write(NULL, LOGL_INFO, "v", "vi", 2);
	log_write(NULL, LOGL_WARN, "v", "vw", 2);
	log_set_level(LOGL_DEBUG);
	log_debug("d2");
	log_set_level(LOGL_ERROR);
	log_warn("w2");
	log_error("e2");
	log_set_level(LOGL_INFO);
	log_debug("d3");
	log_info("i3");
	size_t len;
	char *s = drain(rfd, wfd, &len);
	ck_assert_str_eq(s, "w\ne\nvw\nd2\ne2\ni3\n");
	free(s);
}
END_TEST

START_TEST(test_log_msg_keeps_errno)
{
	int wfd, rfd = log_to_pipe(&wfd);
	errno = ENOENT;
	log_error("failed: %m");
	ck_assert_int_eq(errno, ENOENT);
	size_t len;
	char *s = drain(rfd, wfd, &len);
	ck_assert_str_eq(s, "failed: No such file or directory\n");
	free(s);
}
END_TEST

START_TEST(test_long_line_cut)
{
	int wfd, rfd = log_to_pipe(&wfd);
	size_t big = 100 * 1024;
	char *msg = malloc(big);
	memset(msg, 'a', big);
	struct log_chain *c =
	    chain_of((const char *const[]){"json {\"m\":\"${msg}\"}", "nl", NULL});
	log_write(NULL, LOGL_INFO, NULL, msg, big);
	log_write(c, LOGL_INFO, NULL, msg, big);
	log_write(c, LOGL_INFO, NULL, "short", 5);
	size_t len;
	char *s = drain(rfd, wfd, &len);
	size_t max = 64 * 1024;
	ck_assert_uint_eq(len, 2 * max + strlen("{\"m\":\"short\"}\n"));
	ck_assert_int_eq(s[max - 1], '\n');
	ck_assert_int_eq(s[max - 2], 'a');
	ck_assert_ptr_eq(memchr(s, '\n', max), s + max - 1);
	ck_assert_int_eq(memcmp(s + max, "{\"m\":\"aaa", 9), 0);
	ck_assert_int_eq(s[2 * max - 1], '\n');
	ck_assert_int_eq(s[2 * max - 2], 'a');
	ck_assert_str_eq(s + 2 * max, "{\"m\":\"short\"}\n");
	free(s);
	free(msg);
	log_chain_free(c);
}
END_TEST

START_TEST(test_level_names)
{
	ck_assert_str_eq(log_level_name(LOGL_ERROR), "error");
	ck_assert_str_eq(log_level_name(LOGL_WARN), "warn");
	ck_assert_str_eq(log_level_name(LOGL_INFO), "info");
	ck_assert_str_eq(log_level_name(LOGL_DEBUG), "debug");
	ck_assert_str_eq(log_level_name((enum log_level)42), "unknown");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"no_chain", test_no_chain},
	    {"prefix_suffix_nl", test_prefix_suffix_nl},
	    {"format", test_format},
	    {"json_escapes_message", test_json_escapes_message},
	    {"json_escapes_other_strings", test_json_escapes_other_strings},
	    {"chain_order", test_chain_order},
	    {"variables", test_variables},
	    {"clock_read_when_zero", test_clock_read_when_zero},
	    {"strftime_edge_cases", test_strftime_edge_cases},
	    {"literal_dollar", test_literal_dollar},
	    {"parse_errors", test_parse_errors},
	    {"failed_add_keeps_chain", test_failed_add_keeps_chain},
	    {"too_many_encoders", test_too_many_encoders},
	    {"encode_out_full", test_encode_out_full},
	    {"write_one_line", test_write_one_line},
	    {"write_default_chain", test_write_default_chain},
	    {"level_filter", test_level_filter},
	    {"log_msg_keeps_errno", test_log_msg_keeps_errno},
	    {"long_line_cut", test_long_line_cut},
	    {"level_names", test_level_names},
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
	return unit_run(log_suite());
}
