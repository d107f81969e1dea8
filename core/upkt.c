/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The uwsgi packet codec (see upkt.h): the 4-byte header, a bounded reader
 * for vars records that never reads past the length it is given and points
 * into the input, a strict decimal reader, and a writer that appends a
 * packet to a struct buf, remembers the first error and on upkt_end() either
 * patches the body size into the header or truncates the buffer back so a
 * failed packet leaves nothing behind.
 */
#include "core/upkt.h"

#include <errno.h>
#include <string.h>

static uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)(v >> 8);
}

int upkt_hdr_read(const void *p, size_t len, struct upkt_hdr *h)
{
	const unsigned char *b = p;
	if (len < UPKT_HDR_LEN)
		return 0;
	h->modifier1 = b[0];
	h->size = get_le16(b + 1);
	h->modifier2 = b[3];
	return UPKT_HDR_LEN;
}

void upkt_hdr_write(void *out, const struct upkt_hdr *h)
{
	unsigned char *b = out;
	b[0] = h->modifier1;
	put_le16(b + 1, h->size);
	b[3] = h->modifier2;
}

/*
 * Read a u16 length at b[*pos] and the bytes it announces; each step is
 * checked against what is left of @len before it is taken.
 */
static int take_field(const unsigned char *b, size_t len, size_t *pos, const char **s, uint16_t *n)
{
	if (len - *pos < 2)
		return -1;
	uint16_t l = get_le16(b + *pos);
	if (len - *pos - 2 < l)
		return -1;
	*s = (const char *)b + *pos + 2;
	*n = l;
	*pos += 2 + (size_t)l;
	return 0;
}

int upkt_var_next(const void *body, size_t len, size_t *off, struct upkt_var *v)
{
	const unsigned char *b = body;
	size_t pos = *off;
	if (pos == len)
		return 0;
	if (pos > len)
		return -1;
	struct upkt_var r;
	if (take_field(b, len, &pos, &r.key, &r.klen) < 0 || r.klen == 0)
		return -1;
	if (take_field(b, len, &pos, &r.val, &r.vlen) < 0)
		return -1;
	*v = r;
	*off = pos;
	return 1;
}

bool upkt_vars_valid(const void *body, size_t len)
{
	size_t off = 0;
	struct upkt_var v;
	int r;
	while ((r = upkt_var_next(body, len, &off, &v)) > 0)
		;
	return r == 0;
}

bool upkt_var_is(const struct upkt_var *v, const char *key)
{
	size_t n = strlen(key);
	return v->klen == n && memcmp(v->key, key, n) == 0;
}

int upkt_u64(const char *p, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

void upkt_begin(struct upkt_writer *w, struct buf *b, uint8_t modifier1, uint8_t modifier2)
{
	unsigned char h[UPKT_HDR_LEN];
	upkt_hdr_write(h, &(struct upkt_hdr){.modifier1 = modifier1, .modifier2 = modifier2});
	w->b = b;
	w->start = b->len;
	w->error = 0;
	if (buf_append(b, h, sizeof(h)) < 0)
		w->error = errno;
}

void upkt_put(struct upkt_writer *w, const char *key, size_t klen, const char *val, size_t vlen)
{
	if (w->error)
		return;
	if (klen == 0) {
		w->error = EINVAL;
		return;
	}
	size_t body = w->b->len - w->start - UPKT_HDR_LEN;
	if (klen > UPKT_BODY_MAX || vlen > UPKT_BODY_MAX ||
	    4 + klen + vlen > UPKT_BODY_MAX - body) {
		w->error = E2BIG;
		return;
	}
	unsigned char l[2];
	put_le16(l, (uint16_t)klen);
	int r = buf_append(w->b, l, 2);
	if (r == 0)
		r = buf_append(w->b, key, klen);
	put_le16(l, (uint16_t)vlen);
	if (r == 0)
		r = buf_append(w->b, l, 2);
	if (r == 0)
		r = buf_append(w->b, val, vlen);
	if (r < 0)
		w->error = errno;
}

void upkt_put_str(struct upkt_writer *w, const char *key, const char *val)
{
	upkt_put(w, key, strlen(key), val, val ? strlen(val) : 0);
}

void upkt_put_u64(struct upkt_writer *w, const char *key, uint64_t val)
{
	char d[20];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + val % 10);
		val /= 10;
	} while (val);
	upkt_put(w, key, strlen(key), d + i, sizeof(d) - i);
}

ssize_t upkt_end(struct upkt_writer *w)
{
	struct buf *b = w->b;
	if (w->error) {
		if (b->len > w->start) {
			b->len = w->start;
			b->data[b->len] = '\0';
		}
		errno = w->error;
		return -1;
	}
	size_t total = b->len - w->start;
	unsigned char *h = (unsigned char *)b->data + w->start;
	put_le16(h + 1, (uint16_t)(total - UPKT_HDR_LEN));
	return (ssize_t)total;
}
