/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Growable byte buffers with a hard cap. Used to build log lines, stats JSON
 * and resolved configs. A buffer whose cap would be exceeded refuses the
 * append (returns -1, errno E2BIG) and keeps what it had, so callers bound
 * anything that grows from outside input.
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/util.h"

struct buf {
	char *data;   /* always NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t cap;   /* allocated bytes */
	size_t max;   /* hard limit on len; 0 means the default (16 MiB) */
};

#define BUF_INIT {NULL, 0, 0, 0}

/* Each returns 0, or -1 with errno ENOMEM / E2BIG and the buffer unchanged. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);

/* Drop the first n bytes (n > len drops everything). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* Take the contents as a malloc'ed NUL-terminated string; b becomes empty. */
char *buf_steal(struct buf *b);

#define _cleanup_buf_ __attribute__((cleanup(buf_free)))

#endif
