/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging with uWSGI-style log encoders. Every line, the emperor's own and
 * each captured vassal line, is passed through a chain of encoders before it
 * is written, in order, each feeding the next:
 *
 *   prefix TEXT    TEXT + input            (TEXT literal)
 *   suffix TEXT    input + TEXT            (TEXT literal)
 *   nl             input + "\n"
 *   format TPL     TPL expanded
 *   json TPL       TPL expanded, values JSON-escaped
 *
 * The input of the first encoder is the message followed by "\n". Template
 * variables: ${msg} (the current input without its trailing newline),
 * ${msgnl} (the input as is), ${unix}, ${micros}, ${millis},
 * ${strftime:FMT} (local time), ${vassal} ("emperor" for the emperor's own
 * lines), ${level}, ${pid}. A `$` not followed by `{` is literal; an unknown
 * variable or encoder is a parse error. With no encoders a line is written
 * as "message\n".
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum log_level { LOGL_ERROR, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

struct log_chain;  /* opaque: a parsed list of encoders */

/* What a line is about, for template variables. */
struct log_ctx {
	enum log_level level;
	const char *vassal;  /* NULL means "emperor" */
	int64_t now_us;      /* wall clock in microseconds; 0 means read it now */
	int pid;             /* 0 means getpid() */
};

/*
 * log_chain_add - parse one `log-encoder` value ("json {...}", "nl", ...) and
 * append it to *chain (allocating the chain when *chain is NULL).
 * Returns 0, or -1 with *err naming the encoder or variable at fault.
 */
int log_chain_add(struct log_chain **chain, const char *spec, struct err **err);
void log_chain_free(struct log_chain *chain);

/*
 * log_encode - run @msg (len bytes, no trailing newline) through @chain (may
 * be NULL) and append the result to @out. Returns 0 or -1 (out full / ENOMEM).
 */
int log_encode(const struct log_chain *chain, const struct log_ctx *ctx,
	       const char *msg, size_t len, struct buf *out);

/* Process-wide settings: the default chain (borrowed), the output fd
 * (default 2) and the most verbose level written (default LOGL_INFO). */
void log_set_chain(const struct log_chain *chain);
void log_set_fd(int fd);
void log_set_level(enum log_level max);
const char *log_level_name(enum log_level level);

/*
 * log_write - encode with @chain (NULL: the default chain) and write one line
 * to the log fd with a single write(2). Lines over 64 KiB are cut.
 */
void log_write(const struct log_chain *chain, enum log_level level, const char *vassal,
	       const char *msg, size_t len);

/* log_msg - printf-style convenience: the emperor's own lines. */
void log_msg(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

#endif
