/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging and uWSGI-style log encoders (see log.h). A `log-encoder` value is
 * parsed once, in log_chain_add, into an encoder holding its text and, for
 * `format` and `json`, a list of segments (literal bytes or a variable), so
 * encoding a line only walks segments. Lines pass through the chain by
 * ping-ponging between two buffers. The process-wide settings (default
 * chain, fd, level) and log_write's two line buffers are the only mutable
 * globals, as the house style allows for log settings.
 */
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/json.h"

#define LOG_MAX_ENCODERS 16
#define LOG_LINE_MAX (64 * 1024) /* longest line log_write writes */
#define LOG_MSG_MAX 8192	 /* longest message log_msg formats */
#define STRFTIME_MAX 256
#define NAME_SHOWN_MAX 64 /* how much of a bad name an error quotes */

enum seg_kind {
	SEG_LIT,
	SEG_MSG,
	SEG_MSGNL,
	SEG_UNIX,
	SEG_MICROS,
	SEG_MILLIS,
	SEG_STRFTIME,
	SEG_VASSAL,
	SEG_LEVEL,
	SEG_PID,
};

/* A piece of a template: literal bytes, or a variable (strftime's format). */
struct seg {
	enum seg_kind kind;
	size_t off, len; /* into the encoder's text; a strftime format is NUL-terminated there */
};

enum enc_kind { ENC_PREFIX, ENC_SUFFIX, ENC_NL, ENC_FORMAT, ENC_JSON };

struct encoder {
	enum enc_kind kind;
	char *text; /* owned copy of the argument, NULL for nl */
	size_t text_len;
	struct seg *segs; /* format and json only */
	size_t n_segs;
};

struct log_chain {
	size_t n;
	struct encoder enc[LOG_MAX_ENCODERS];
};

static const struct {
	const char *name;
	enum enc_kind kind;
	bool takes_arg;
} encoder_defs[] = {
    {"prefix", ENC_PREFIX, true}, {"suffix", ENC_SUFFIX, true}, {"nl", ENC_NL, false},
    {"format", ENC_FORMAT, true}, {"json", ENC_JSON, true},
};

static const struct {
	const char *name;
	enum seg_kind kind;
} var_defs[] = {
    {"msg", SEG_MSG},	    {"msgnl", SEG_MSGNL},   {"unix", SEG_UNIX},	  {"micros", SEG_MICROS},
    {"millis", SEG_MILLIS}, {"vassal", SEG_VASSAL}, {"level", SEG_LEVEL}, {"pid", SEG_PID},
};

#define STRFTIME_PREFIX "strftime:"

/* Process-wide log settings. */
static const struct log_chain *log_default_chain;
static int log_fd = 2;
static enum log_level log_max_level = LOGL_INFO;

/*
 * log_write's scratch lines, capped at LOG_LINE_MAX and kept between calls:
 * no allocation per line once grown, and no 128 KiB stack frame in a cloned
 * child running on a small stack. Not thread-safe (one loop per process).
 */
static struct buf log_line_a = {NULL, 0, 0, LOG_LINE_MAX};
static struct buf log_line_b = {NULL, 0, 0, LOG_LINE_MAX};

/* ---- parsing ---------------------------------------------------------- */

static int shown_len(size_t n)
{
	return (int)(n > NAME_SHOWN_MAX ? NAME_SHOWN_MAX : n);
}

static void add_seg(struct encoder *e, enum seg_kind kind, size_t off, size_t len)
{
	if (kind == SEG_LIT && len == 0)
		return;
	e->segs[e->n_segs++] = (struct seg){kind, off, len};
}

/* The variable named by text[start, end) (end is its closing brace). */
static int parse_var(struct encoder *e, size_t start, size_t end, struct err **err)
{
	const char *name = e->text + start;
	size_t len = end - start;
	size_t plen = strlen(STRFTIME_PREFIX);

	if (len >= plen && memcmp(name, STRFTIME_PREFIX, plen) == 0) {
		e->text[end] = '\0'; /* the brace is no literal: end the format there */
		add_seg(e, SEG_STRFTIME, start + plen, len - plen);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(var_defs); i++) {
		if (strlen(var_defs[i].name) == len && memcmp(var_defs[i].name, name, len) == 0) {
			add_seg(e, var_defs[i].kind, 0, 0);
			return 0;
		}
	}
	return err_set(err, 0, "log-encoder: unknown variable ${%.*s}", shown_len(len), name);
}

/* Split e->text into segments; at most one literal around each `${`. */
static int parse_template(struct encoder *e, struct err **err)
{
	const char *t = e->text;
	size_t n = e->text_len, max = 1;

	for (size_t i = 0; i + 1 < n; i++)
		if (t[i] == '$' && t[i + 1] == '{')
			max += 2;
	e->segs = calloc(max, sizeof(*e->segs));
	if (e->segs == NULL)
		return err_set(err, ENOMEM, "log-encoder");

	size_t lit = 0, i = 0;
	while (i < n) {
		if (t[i] != '$' || i + 1 >= n || t[i + 1] != '{') {
			i++;
			continue;
		}
		const char *close = memchr(t + i + 2, '}', n - i - 2);
		if (close == NULL)
			return err_set(err, 0, "log-encoder: unterminated ${ at offset %zu", i);
		add_seg(e, SEG_LIT, lit, i - lit);
		if (parse_var(e, i + 2, (size_t)(close - t), err) < 0)
			return -1;
		i = (size_t)(close - t) + 1;
		lit = i;
	}
	add_seg(e, SEG_LIT, lit, n - lit);
	return 0;
}

static void encoder_free(struct encoder *e)
{
	free(e->text);
	free(e->segs);
	*e = (struct encoder){0};
}

/* "NAME" or "NAME<spaces>ARG" into *e; on failure *e holds nothing. */
static int parse_encoder(const char *spec, struct encoder *e, struct err **err)
{
	size_t name_len = strcspn(spec, " \t");
	const char *arg = spec + name_len + strspn(spec + name_len, " \t");
	size_t d = 0;

	while (d < ARRAY_SIZE(encoder_defs) && (strlen(encoder_defs[d].name) != name_len ||
						memcmp(encoder_defs[d].name, spec, name_len) != 0))
		d++;
	if (d == ARRAY_SIZE(encoder_defs))
		return err_set(err, 0, "log-encoder: unknown encoder '%.*s'", shown_len(name_len),
			       spec);
	e->kind = encoder_defs[d].kind;
	if (!encoder_defs[d].takes_arg)
		return *arg == '\0' ? 0
				    : err_set(err, 0, "log-encoder: %s takes no argument",
					      encoder_defs[d].name);
	if (*arg == '\0')
		return err_set(err, 0, "log-encoder: %s needs an argument", encoder_defs[d].name);
	e->text_len = strlen(arg);
	e->text = strdup(arg);
	if (e->text == NULL)
		return err_set(err, ENOMEM, "log-encoder");
	if ((e->kind == ENC_FORMAT || e->kind == ENC_JSON) && parse_template(e, err) < 0) {
		encoder_free(e);
		return -1;
	}
	return 0;
}

int log_chain_add(struct log_chain **chain, const char *spec, struct err **err)
{
	if (*chain != NULL && (*chain)->n >= LOG_MAX_ENCODERS)
		return err_set(err, 0, "log-encoder: too many encoders (at most %d)",
			       LOG_MAX_ENCODERS);
	struct encoder e = {0};
	if (parse_encoder(spec, &e, err) < 0) {
		encoder_free(&e);
		return -1;
	}
	if (*chain == NULL) {
		*chain = calloc(1, sizeof(**chain));
		if (*chain == NULL) {
			encoder_free(&e);
			return err_set(err, ENOMEM, "log-encoder");
		}
	}
	(*chain)->enc[(*chain)->n++] = e;
	return 0;
}

void log_chain_free(struct log_chain *chain)
{
	if (chain == NULL)
		return;
	for (size_t i = 0; i < chain->n; i++)
		encoder_free(&chain->enc[i]);
	free(chain);
}

/* ---- encoding --------------------------------------------------------- */

/* One encoding pass: the resolved context and how to treat a full buffer. */
struct run {
	enum log_level level;
	const char *vassal;
	int64_t now_us;
	int pid;
	bool cut;     /* fill a full buffer to its max and go on, instead of failing */
	bool was_cut; /* set when that happened */
};

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void run_init(struct run *r, const struct log_ctx *ctx, bool cut)
{
	*r = (struct run){.level = LOGL_INFO, .cut = cut};
	if (ctx != NULL) {
		r->level = ctx->level;
		r->vassal = ctx->vassal;
		r->now_us = ctx->now_us;
		r->pid = ctx->pid;
	}
	if (r->vassal == NULL)
		r->vassal = "emperor";
}

/* The clock and pid are read on first use, once per line (most chains use neither). */
static int64_t run_now(struct run *r)
{
	if (r->now_us == 0)
		r->now_us = wall_us();
	return r->now_us;
}

static int run_pid(struct run *r)
{
	if (r->pid == 0)
		r->pid = (int)getpid();
	return r->pid;
}

/* A failed append is only an error when not cutting (or out of memory). */
static int append_failed(struct run *r)
{
	if (!r->cut || errno != E2BIG)
		return -1;
	r->was_cut = true;
	return 0;
}

static int put(struct run *r, struct buf *b, const char *s, size_t n)
{
	if (buf_append(b, s, n) == 0)
		return 0;
	if (append_failed(r) < 0)
		return -1;
	/* Cutting: b->max is set on every buffer a cutting run writes. */
	return buf_append(b, s, b->max > b->len ? b->max - b->len : 0);
}

static int put_value(struct run *r, struct buf *b, bool json, const char *s, size_t n)
{
	if (!json)
		return put(r, b, s, n);
	if (json_escape(b, s, n) == 0)
		return 0;
	return append_failed(r);
}

static int put_int(struct run *r, struct buf *b, int64_t v)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);
	return put(r, b, num, (size_t)n);
}

/* The format comes from the config by design; strftime writes at most sizeof(out). */
static int put_time(struct run *r, struct buf *b, bool json, const char *fmt)
{
	time_t secs = (time_t)(run_now(r) / 1000000);
	struct tm tm;
	char out[STRFTIME_MAX];
	size_t n = 0;

	if (localtime_r(&secs, &tm) == NULL)
		return 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(out, sizeof(out), fmt, &tm); /* 0: empty or too long */
#pragma GCC diagnostic pop
	return put_value(r, b, json, out, n);
}

static int put_seg(struct run *r, const struct encoder *e, const struct seg *sg, const char *in,
		   size_t n, struct buf *out)
{
	bool json = e->kind == ENC_JSON;
	size_t bare = n > 0 && in[n - 1] == '\n' ? n - 1 : n;

	switch (sg->kind) {
	case SEG_LIT:
		return put(r, out, e->text + sg->off, sg->len);
	case SEG_MSG:
		return put_value(r, out, json, in, bare);
	case SEG_MSGNL:
		return put_value(r, out, json, in, n);
	case SEG_UNIX:
		return put_int(r, out, run_now(r) / 1000000);
	case SEG_MICROS:
		return put_int(r, out, run_now(r));
	case SEG_MILLIS:
		return put_int(r, out, run_now(r) / 1000);
	case SEG_STRFTIME:
		return put_time(r, out, json, e->text + sg->off);
	case SEG_VASSAL:
		return put_value(r, out, json, r->vassal, strlen(r->vassal));
	case SEG_LEVEL:
		return put_value(r, out, json, log_level_name(r->level),
				 strlen(log_level_name(r->level)));
	case SEG_PID:
		return put_int(r, out, run_pid(r));
	}
	return -1;
}

static int run_encoder(struct run *r, const struct encoder *e, const char *in, size_t n,
		       struct buf *out)
{
	switch (e->kind) {
	case ENC_PREFIX:
		return put(r, out, e->text, e->text_len) < 0 ? -1 : put(r, out, in, n);
	case ENC_SUFFIX:
		return put(r, out, in, n) < 0 ? -1 : put(r, out, e->text, e->text_len);
	case ENC_NL:
		return put(r, out, in, n) < 0 ? -1 : put(r, out, "\n", 1);
	case ENC_FORMAT:
	case ENC_JSON:
		for (size_t i = 0; i < e->n_segs; i++)
			if (put_seg(r, e, &e->segs[i], in, n, out) < 0)
				return -1;
		return 0;
	}
	return -1;
}

/*
 * Run msg + "\n" through @chain (NULL: none), alternating between the
 * scratch buffers *a and *b; *res is the one holding the result.
 */
static int run_chain(struct run *r, const struct log_chain *chain, const char *msg, size_t len,
		     struct buf *a, struct buf *b, struct buf **res)
{
	buf_reset(a);
	if (put(r, a, msg, len) < 0 || put(r, a, "\n", 1) < 0)
		return -1;
	for (size_t i = 0; chain != NULL && i < chain->n; i++) {
		buf_reset(b);
		if (run_encoder(r, &chain->enc[i], a->data ? a->data : "", a->len, b) < 0)
			return -1;
		struct buf *t = a;
		a = b;
		b = t;
	}
	*res = a;
	return 0;
}

int log_encode(const struct log_chain *chain, const struct log_ctx *ctx, const char *msg,
	       size_t len, struct buf *out)
{
	size_t had = out->len;

	if (chain == NULL || chain->n == 0) {
		if (buf_append(out, msg, len) == 0 && buf_putc(out, '\n') == 0)
			return 0;
		if (out->len > had) { /* the message went in, its newline did not */
			out->len = had;
			out->data[had] = '\0';
		}
		return -1;
	}
	_cleanup_buf_ struct buf a = BUF_INIT;
	_cleanup_buf_ struct buf b = BUF_INIT;
	struct buf *res = NULL;
	struct run r;
	run_init(&r, ctx, false);
	if (run_chain(&r, chain, msg, len, &a, &b, &res) < 0)
		return -1;
	return buf_append(out, res->data, res->len);
}

/* ---- output ----------------------------------------------------------- */

void log_set_chain(const struct log_chain *chain)
{
	log_default_chain = chain;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

void log_set_level(enum log_level max)
{
	log_max_level = max;
}

const char *log_level_name(enum log_level level)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	if ((unsigned)level >= ARRAY_SIZE(names))
		return "unknown";
	return names[level];
}

/* One writev(2), retried on EINTR; a log that cannot be written is dropped. */
static void write_line(const char *p, size_t n, const char *tail, size_t tail_len)
{
	struct iovec iov[2] = {{(void *)p, n}, {(void *)tail, tail_len}};
	while (writev(log_fd, iov, tail_len ? 2 : 1) < 0 && errno == EINTR)
		;
}

void log_write(const struct log_chain *chain, enum log_level level, const char *vassal,
	       const char *msg, size_t len)
{
	if ((int)level > (int)log_max_level)
		return;
	int saved = errno;
	struct log_ctx ctx = {.level = level, .vassal = vassal};
	struct buf *res = NULL;
	struct run r;

	run_init(&r, &ctx, true);
	if (len > LOG_LINE_MAX - 1)
		len = LOG_LINE_MAX - 1; /* leaves room for the first encoder's "\n" */
	if (run_chain(&r, chain ? chain : log_default_chain, msg, len, &log_line_a, &log_line_b,
		      &res) < 0) {
		write_line(msg, len, "\n", 1); /* out of memory: the bare message */
		errno = saved;
		return;
	}
	if (r.was_cut && res->len > 0)
		res->data[res->len - 1] = '\n'; /* a cut line still ends a line */
	write_line(res->data, res->len, NULL, 0);
	errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if ((int)level > (int)log_max_level)
		return;
	int saved = errno;
	char line[LOG_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= 0)
		log_write(NULL, level, NULL, line,
			  (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	errno = saved;
}
