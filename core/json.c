/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small JSON writer over struct buf (see json.h): it places commas from a
 * per-depth "first element" flag, escapes strings (control characters,
 * quotes, backslashes; invalid UTF-8 replaced by \ufffd), and keeps the
 * first failure sticky so a caller checks once, in json_done(). json_escape
 * is also what the log `json` encoder uses for its values.
 */
#include "core/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The JSON escape of each byte below 0x20 that has a short form, else 0. */
static char short_escape(unsigned char c)
{
	switch (c) {
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '"':
		return '"';
	case '\\':
		return '\\';
	default:
		return 0;
	}
}

/*
 * Length of the UTF-8 sequence at s (n > 0 bytes, s[0] >= 0x80) when it is
 * well formed (no overlongs, no surrogates, nothing past U+10FFFF), else
 * minus the length of its maximal invalid prefix (at least 1), which is
 * replaced by one U+FFFD as Unicode recommends.
 */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	int need;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the 2nd byte */

	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else {
		return -1; /* continuation byte, C0, C1 or F5..FF */
	}
	for (int i = 1; i < need; i++) {
		if ((size_t)i >= n)
			return -i;
		unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xbf;
		if (s[i] < min || s[i] > max)
			return -i;
	}
	return need;
}

/*
 * Append a run of bytes that need no escaping. When the whole run does not
 * fit, append as much of it as fits, byte by byte, so the output is always
 * the longest escaped prefix (the log writer cuts long lines this way).
 */
static int put_run(struct buf *out, const char *s, size_t n)
{
	if (n == 0 || buf_append(out, s, n) == 0)
		return 0;
	if (errno != E2BIG)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (buf_putc(out, s[i]) < 0)
			return -1;
	return 0;
}

/* Append the escape of one special byte (quote, backslash, control). */
static int put_escape(struct buf *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e = short_escape(c);
	if (e != 0) {
		char two[2] = {'\\', e};
		return buf_append(out, two, sizeof(two));
	}
	char six[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
	return buf_append(out, six, sizeof(six));
}

int json_escape(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0; /* start of the pending run of plain bytes */
	size_t i = 0;

	while (i < n) {
		unsigned char c = u[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		int len = c < 0x80 ? 0 : utf8_seq(u + i, n - i);
		if (len > 0) {
			i += (size_t)len;
			continue;
		}
		if (put_run(out, s + run, i - run) < 0)
			return -1;
		if (len == 0 ? put_escape(out, c) < 0 : buf_append(out, "\\ufffd", 6) < 0)
			return -1;
		i += len == 0 ? 1 : (size_t)-len;
		run = i;
	}
	return put_run(out, s + run, n - run);
}

void json_init(struct json *j, struct buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->first[0] = true;
}

static void fail(struct json *j, int errnum)
{
	if (j->error == 0)
		j->error = errnum ? errnum : EINVAL;
}

static void put(struct json *j, const char *s, size_t n)
{
	if (j->error == 0 && buf_append(j->out, s, n) < 0)
		fail(j, errno);
}

/* Before any value or key: the comma, unless it follows its key. */
static bool begin_value(struct json *j)
{
	if (j->error != 0)
		return false;
	if (j->after_key) {
		j->after_key = false;
		return true;
	}
	if (!j->first[j->depth])
		put(j, ",", 1);
	j->first[j->depth] = false;
	return j->error == 0;
}

static void open_nest(struct json *j, char c)
{
	if (!begin_value(j))
		return;
	if (j->depth + 1 >= JSON_MAX_DEPTH) {
		fail(j, EOVERFLOW);
		return;
	}
	put(j, &c, 1);
	j->depth++;
	j->first[j->depth] = true;
}

static void close_nest(struct json *j, char c)
{
	if (j->error != 0)
		return;
	if (j->depth == 0 || j->after_key) {
		fail(j, EINVAL);
		return;
	}
	put(j, &c, 1);
	j->depth--;
}

void json_obj_begin(struct json *j)
{
	open_nest(j, '{');
}

void json_obj_end(struct json *j)
{
	close_nest(j, '}');
}

void json_arr_begin(struct json *j)
{
	open_nest(j, '[');
}

void json_arr_end(struct json *j)
{
	close_nest(j, ']');
}

static void put_quoted(struct json *j, const char *s, size_t n)
{
	put(j, "\"", 1);
	if (j->error == 0 && json_escape(j->out, s, n) < 0)
		fail(j, errno);
	put(j, "\"", 1);
}

void json_key(struct json *j, const char *key)
{
	if (j->error == 0 && (j->after_key || key == NULL)) {
		fail(j, EINVAL);
		return;
	}
	if (!begin_value(j))
		return;
	put_quoted(j, key, strlen(key));
	put(j, ":", 1);
	j->after_key = true;
}

void json_strn(struct json *j, const char *s, size_t n)
{
	if (begin_value(j))
		put_quoted(j, s, n);
}

void json_str(struct json *j, const char *s)
{
	if (s == NULL)
		json_null(j);
	else
		json_strn(j, s, strlen(s));
}

static void put_number(struct json *j, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void put_number(struct json *j, const char *fmt, ...)
{
	char num[32];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(num, sizeof(num), fmt, ap);
	va_end(ap);
	if (begin_value(j))
		put(j, num, (size_t)n);
}

void json_int(struct json *j, int64_t v)
{
	put_number(j, "%" PRId64, v);
}

void json_uint(struct json *j, uint64_t v)
{
	put_number(j, "%" PRIu64, v);
}

void json_bool(struct json *j, bool v)
{
	if (begin_value(j))
		put(j, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json *j)
{
	if (begin_value(j))
		put(j, "null", 4);
}

int json_done(const struct json *j)
{
	if (j->error != 0) {
		errno = j->error;
		return -1;
	}
	if (j->depth != 0 || j->after_key) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
