/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for router/uwsgireq.c, the fastrouter's request head parser:
 * the input is parsed with the largest limit and with a small one derived
 * from its last byte, whole, split in two at a place derived from its first
 * byte (the first part in a buffer of exactly its bytes, so ASan sees any
 * read past it), and byte by byte. Every way of feeding must give the same
 * result; an accepted head must be 4 + the header's size bytes, within the
 * limit, a whole run of valid records, with the key, PATH_INFO and
 * CONTENT_LENGTH a plain second reading of the vars finds. Built without
 * libFuzzer it replays a corpus (arguments, or
 * tests/fuzz/corpus/fuzz_uwsgireq/).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/upkt.h"
#include "router/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool zero(const struct rtr_uwsgi_req *q)
{
	static const struct rtr_uwsgi_req z;
	return memcmp(q, &z, sizeof(z)) == 0;
}

static bool same_str(struct subpkt_str a, struct subpkt_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The same results; a's strings in pa, b's in pb, at the same offsets. */
static void same(const struct rtr_uwsgi_req *a, const uint8_t *pa, const struct rtr_uwsgi_req *b,
		 const uint8_t *pb)
{
#define OFF(s, base) ((s).p ? (long)((const uint8_t *)(s).p - (base)) : -1)
	check(a->modifier1 == b->modifier1 && a->modifier2 == b->modifier2 &&
	      a->head_len == b->head_len && a->content_length == b->content_length);
	check(a->key.len == b->key.len && OFF(a->key, pa) == OFF(b->key, pb));
	check(a->path_info.len == b->path_info.len &&
	      OFF(a->path_info, pa) == OFF(b->path_info, pb));
#undef OFF
}

static void inside(const uint8_t *p, size_t n, struct subpkt_str s)
{
	if (s.p == NULL) {
		check(s.len == 0);
		return;
	}
	check(s.len > 0 && (const uint8_t *)s.p >= p && (const uint8_t *)s.p + s.len <= p + n);
}

/* What a plain reading of an accepted head's vars says. */
static void reread(const uint8_t *p, const struct rtr_uwsgi_req *q)
{
	const uint8_t *body = p + UPKT_HDR_LEN;
	size_t n = q->head_len - UPKT_HDR_LEN, off = 0;
	check(upkt_vars_valid(body, n));
	struct subpkt_str fkey = {0}, host = {0}, name = {0}, path = {0};
	struct upkt_var v;
	while (upkt_var_next(body, n, &off, &v) > 0) {
		struct subpkt_str s = {v.val, v.vlen};
		if (upkt_var_is(&v, "UWSGI_FASTROUTER_KEY"))
			fkey = s;
		else if (upkt_var_is(&v, "HTTP_HOST"))
			host = s;
		else if (upkt_var_is(&v, "SERVER_NAME"))
			name = s;
		else if (upkt_var_is(&v, "PATH_INFO"))
			path = s;
		else if (upkt_var_is(&v, "CONTENT_LENGTH") && v.vlen > 0) {
			uint64_t c;
			check(upkt_u64(v.val, v.vlen, &c) == 0 && c == q->content_length);
		}
	}
	struct subpkt_str key = fkey.len ? fkey : host.len ? host : name;
	check(same_str(key, q->key) && same_str(path, q->path_info));
	check(q->key.len <= SUBPKT_KEY_MAX);
	for (size_t i = 0; i < q->key.len; i++)
		check((unsigned char)q->key.p[i] > 0x20 && (unsigned char)q->key.p[i] != 0x7f);
}

static int parse(const uint8_t *p, size_t n, size_t max, struct rtr_uwsgi_req *q)
{
	const char *why = "untouched";
	memset(q, 0x5a, sizeof(*q));
	int r = rtr_uwsgi_req_parse(p, n, max, q, &why);
	if (r < 0) {
		check(why != NULL && why[0] != '\0' && zero(q));
		return r;
	}
	check(why == NULL);
	if (r == 0) {
		check(zero(q));
		/* need more: the header is not all there, or the head it announces */
		check(n < UPKT_HDR_LEN || n < UPKT_HDR_LEN + (size_t)(p[1] | p[2] << 8));
		return 0;
	}
	size_t h = UPKT_HDR_LEN + (size_t)(p[1] | p[2] << 8);
	check((size_t)r == h && q->head_len == h && h <= n && h <= max);
	check(q->modifier1 == p[0] && q->modifier2 == p[3]);
	inside(p, h, q->key);
	inside(p, h, q->path_info);
	reread(p, q);
	return r;
}

static void one(const uint8_t *p, size_t n, size_t k, size_t max)
{
	struct rtr_uwsgi_req whole, part, bytes;
	int r = parse(p, n, max, &whole);

	uint8_t *first = malloc(k ? k : 1);
	if (first == NULL)
		abort();
	memcpy(first, p, k);
	int r1 = parse(first, k, max, &part);
	if (r1 != 0) {
		check(r1 == r);
		if (r > 0)
			same(&whole, p, &part, first);
	}
	free(first);

	/* byte by byte: 0 until the byte that decides */
	int rb = 0;
	size_t len = 0;
	while (rb == 0 && len < n)
		rb = parse(p, ++len, max, &bytes);
	check(rb == r);
	if (r > 0) {
		check(len == (size_t)r);
		same(&whole, p, &bytes, p);
	} else if (r < 0) {
		/* refused at the header when too large, else at the head's end */
		size_t h = UPKT_HDR_LEN + (size_t)(p[1] | p[2] << 8);
		check(len == (h > max ? UPKT_HDR_LEN : h));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t k = size ? size * data[0] / 255 : 0;
	one(data, size, k, UPKT_HDR_LEN + UPKT_BODY_MAX);
	one(data, size, k, size ? 4 + 2 * (size_t)data[size - 1] : 4);
	return 0;
}

#define FUZZ_NAME "fuzz_uwsgireq"
#include "tests/fuzz/replay.h"
