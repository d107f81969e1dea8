/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for vsl_sub_parse, the parser of a vassal's `domain`,
 * `subscribe-to` and `subscribe2` values (tenant input). The first byte
 * picks the kind. A success must give a key of valid bytes and every string
 * inside the parse's own buffer; a failure must say why and leave *out
 * empty; clearing must free everything (ASan checks). A signed entry has
 * both a digest and an absolute key path, or neither.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vassal/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed string lies inside the parse's copy of the value (never longer
 * than the value itself). */
static void in_buf(const struct vsl_sub *s, const char *p, size_t vlen)
{
	if (p != NULL && (p < s->buf || p + strlen(p) > s->buf + vlen))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	enum vsl_sub_kind kind = (enum vsl_sub_kind)(data[0] % 3);
	char *s = strndup((const char *)data + 1, size - 1);
	if (s == NULL)
		return 0;
	struct vsl_sub sub;
	struct err *err = NULL;
	if (vsl_sub_parse(kind, s, &sub, &err) < 0) {
		if (err == NULL || sub.buf != NULL || sub.key != NULL)
			abort();
		err_free(&err);
	} else {
		if (err != NULL || sub.key == NULL)
			abort();
		if (!sub.key_file && !vsl_sub_key_ok(sub.key, strlen(sub.key)))
			abort();
		if (kind != VSL_SUB_DOMAIN && sub.server == NULL)
			abort();
		if (sub.buf != NULL) {
			size_t vlen = strlen(s);
			in_buf(&sub, sub.server, vlen);
			in_buf(&sub, sub.key, vlen);
			in_buf(&sub, sub.address, vlen);
			in_buf(&sub, sub.sign_digest, vlen);
			in_buf(&sub, sub.sign_key, vlen);
		}
		if ((sub.sign_digest == NULL) != (sub.sign_key == NULL))
			abort();
		if (sub.sign_key != NULL && (sub.sign_key[0] != '/' || sub.sign_digest[0] == '\0'))
			abort();
		vsl_sub_clear(&sub);
		if (sub.buf != NULL)
			abort();
	}
	free(s);
	return 0;
}

#define FUZZ_NAME "fuzz_vsub"
#include "tests/fuzz/replay.h"
