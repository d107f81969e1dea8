/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small JSON writer over struct buf for the stats documents. It tracks
 * nesting so commas are placed automatically; strings are escaped (control
 * characters as \u00XX, invalid UTF-8 bytes replaced by U+FFFD).
 */
#ifndef CORE_JSON_H
#define CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define JSON_MAX_DEPTH 16

struct json {
	struct buf *out;
	int depth;
	bool first[JSON_MAX_DEPTH];  /* no element written yet at this depth */
	bool after_key;
	int error;                   /* sticky: first failure's errno */
};

void json_init(struct json *j, struct buf *out);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* json_escape - append s (n bytes) JSON-escaped, without quotes. */
int json_escape(struct buf *out, const char *s, size_t n);

/* json_done - 0 if every call succeeded and nesting is closed, else -1. */
int json_done(const struct json *j);

#endif
