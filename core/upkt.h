/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The uwsgi packet codec: a 4-byte header (modifier1, body size as u16
 * little-endian, modifier2) and a *vars* body, a run of records `u16 LE
 * keylen, key, u16 LE vallen, value` with no count and no terminator.
 * Reading is bounded and allocation-free (results point into the input);
 * writing appends to a struct buf with a sticky error, so a caller checks
 * once at the end.
 */
#ifndef CORE_UPKT_H
#define CORE_UPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"

#define UPKT_HDR_LEN 4
#define UPKT_BODY_MAX 65535

struct upkt_hdr {
	uint8_t modifier1;
	uint16_t size;       /* body bytes after the header */
	uint8_t modifier2;
};

/* upkt_hdr_read - 0 when fewer than 4 bytes are given (need more), else
 * fills *h and returns UPKT_HDR_LEN. */
int upkt_hdr_read(const void *p, size_t len, struct upkt_hdr *h);

/* upkt_hdr_write - the 4 header bytes of h into out. */
void upkt_hdr_write(void *out, const struct upkt_hdr *h);

struct upkt_var {
	const char *key;     /* points into the body, not NUL-terminated */
	uint16_t klen;
	const char *val;
	uint16_t vlen;
};

/*
 * upkt_var_next - read the record at body[*off].
 * Returns 1 with *v filled and *off moved past the record; 0 at the end
 * (*off == len); -1 when the record is invalid (key length 0, or a length
 * running past @len), *off left at the bad record.
 */
int upkt_var_next(const void *body, size_t len, size_t *off, struct upkt_var *v);

/* upkt_vars_valid - true when body[0..len) is a whole run of valid records. */
bool upkt_vars_valid(const void *body, size_t len);

/* upkt_var_is - the record's key equals the NUL-terminated @key. */
bool upkt_var_is(const struct upkt_var *v, const char *key);

/*
 * upkt_u64 - strict ASCII decimal: 1..20 digits, no sign, no spaces, no
 * overflow. Returns 0 with *out set, or -1.
 */
int upkt_u64(const char *p, size_t n, uint64_t *out);

/* A packet being written at the end of a buffer. */
struct upkt_writer {
	struct buf *b;
	size_t start;        /* offset of the header in b */
	int error;           /* sticky: first errno (E2BIG when the body passes 65535) */
};

/* upkt_begin - append a header placeholder with these modifiers. */
void upkt_begin(struct upkt_writer *w, struct buf *b, uint8_t modifier1, uint8_t modifier2);

/*
 * upkt_put - append one record. Keys and values over 65535 bytes, or a body
 * that would pass 65535, set E2BIG; an empty key (which no reader accepts)
 * sets EINVAL. @val may be NULL when @vlen is 0.
 */
void upkt_put(struct upkt_writer *w, const char *key, size_t klen, const char *val,
	      size_t vlen);
/* upkt_put_str - NUL-terminated key and value (a NULL value is empty). */
void upkt_put_str(struct upkt_writer *w, const char *key, const char *val);
/* upkt_put_u64 - the value in ASCII decimal. */
void upkt_put_u64(struct upkt_writer *w, const char *key, uint64_t val);

/*
 * upkt_end - write the body size into the header. Returns the packet's total
 * length (header included), or -1 with errno set to the sticky error, in
 * which case the buffer is truncated back to where upkt_begin found it.
 */
ssize_t upkt_end(struct upkt_writer *w);

#endif
