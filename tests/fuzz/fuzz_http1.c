/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for router/http1.c: the input is parsed as a request head, as
 * a response head and as a chunked body, each whole, split in two at a
 * place derived from the first byte (the first part in a buffer of exactly
 * its bytes, so ASan sees any read past it), and byte by byte. Every
 * slice must lie inside the input, the derived fields must obey
 * the framing rules, and every way of feeding must give the same result.
 * Built without libFuzzer it replays a corpus (arguments, or
 * tests/fuzz/corpus/fuzz_http1/).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*parse_fn)(const char *p, size_t len, size_t max, struct rtr_h1_head *h);

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* A slice of p[0..n): NULL only when empty. */
static void inside(const char *p, size_t n, const char *s, size_t len)
{
	if (s == NULL) {
		check(len == 0);
		return;
	}
	check(s >= p && s <= p + n && len <= (size_t)(p + n - s));
}

static void check_head(const char *p, const struct rtr_h1_head *h, int r, size_t max, bool resp)
{
	if (r <= 0) {
		check(r == 0 || r == RTR_H1_BAD || r == RTR_H1_TOO_LARGE || r == RTR_H1_NOT_IMPL ||
		      r == RTR_H1_BAD_VERSION);
		return;
	}
	size_t n = h->head_len;
	check((size_t)r == n && n <= max && h->n_hdrs <= RTR_H1_MAX_HEADERS);
	check(n >= 2 && p[n - 1] == '\n');
	inside(p, n, h->method, h->mlen);
	inside(p, n, h->uri, h->ulen);
	inside(p, n, h->path, h->plen);
	inside(p, n, h->query, h->qlen);
	inside(p, n, h->reason, h->rlen);
	inside(p, n, h->host, h->hostlen);
	for (size_t i = 0; i < h->n_hdrs; i++) {
		inside(p, n, h->hdrs[i].name, h->hdrs[i].nlen);
		inside(p, n, h->hdrs[i].val, h->hdrs[i].vlen);
		check(h->hdrs[i].nlen > 0);
	}
	check(rtr_h1_header(h, "") == NULL);
	check(h->minor == 0 || h->minor == 1);
	check(!(h->chunked && h->has_clen));
	check(h->has_clen || h->clen == 0);
	check(h->minor == 1 || h->conn_close || h->conn_keepalive);
	if (resp) {
		check(h->status >= 100 && h->status <= 999 && h->method == NULL);
	} else {
		check(h->mlen > 0 && h->ulen > 0 && h->status == 0);
		check(h->minor == 0 || h->hostlen > 0);
		check(h->path != NULL && h->path >= h->uri &&
		      h->path + h->plen <= h->uri + h->ulen);
		check(!(h->chunked && h->minor == 0));
	}
}

/* The same results, slices compared as offsets from each one's buffer. */
static void same_head(const struct rtr_h1_head *a, const char *pa, const struct rtr_h1_head *b,
		      const char *pb)
{
#define SAME(f, l) check(a->l == b->l && (a->f ? a->f - pa : -1) == (b->f ? b->f - pb : -1))
	SAME(method, mlen);
	SAME(uri, ulen);
	SAME(path, plen);
	SAME(query, qlen);
	SAME(reason, rlen);
	SAME(host, hostlen);
	for (size_t i = 0; i < a->n_hdrs && i < b->n_hdrs; i++) {
		SAME(hdrs[i].name, hdrs[i].nlen);
		SAME(hdrs[i].val, hdrs[i].vlen);
	}
#undef SAME
	check(a->status == b->status && a->minor == b->minor && a->n_hdrs == b->n_hdrs &&
	      a->head_len == b->head_len && a->has_clen == b->has_clen && a->clen == b->clen &&
	      a->chunked == b->chunked && a->conn_close == b->conn_close &&
	      a->conn_keepalive == b->conn_keepalive && a->upgrade == b->upgrade &&
	      a->expect_continue == b->expect_continue);
}

static void one_head(parse_fn fn, const char *p, size_t n, size_t k, size_t max, bool resp)
{
	static struct rtr_h1_head whole, split, bytes;
	memset(&whole, 0, sizeof(whole));
	int r = fn(p, n, max, &whole);
	check_head(p, &whole, r, max, resp);

	/* split: the first part alone in a buffer of exactly its bytes */
	memset(&split, 0, sizeof(split));
	char *part = malloc(k ? k : 1);
	if (part == NULL)
		abort();
	memcpy(part, p, k);
	int r1 = fn(part, k, max, &split);
	if (r1 != 0) {
		check(r1 == r);
		if (r > 0)
			same_head(&whole, p, &split, part);
	} else {
		check(fn(p, n, max, &split) == r);
		if (r > 0)
			same_head(&whole, p, &split, p);
	}
	free(part);

	/* byte by byte: 0 until the very byte that decides */
	memset(&bytes, 0, sizeof(bytes));
	int rb = 0;
	size_t len = 0;
	while (rb == 0 && len < n)
		rb = fn(p, ++len, max, &bytes);
	check(rb == r);
	if (r > 0) {
		check(len == (size_t)r);
		same_head(&whole, p, &bytes, p);
	}
}

struct decoded {
	int r;
	bool done;
	size_t olen;
};

/* Decode p[0..n) given in pieces ending at cut[0], cut[1]...; out gets data. */
static void decode(const char *p, size_t n, const size_t *cut, size_t ncut, char *out,
		   struct decoded *d)
{
	struct rtr_h1_chunked c;
	memset(&c, 0, sizeof(c));
	memset(d, 0, sizeof(*d));
	size_t pos = 0;
	for (size_t k = 0; k < ncut && pos < n && !c.done; k++) {
		size_t stop = cut[k];
		while (pos < stop && !c.done) {
			const char *data;
			size_t dlen;
			int r = rtr_h1_chunked_step(&c, p + pos, stop - pos, &data, &dlen);
			if (r < 0) {
				check(r == RTR_H1_BAD);
				d->r = r;
				return;
			}
			check(r > 0 || c.done);
			check((size_t)r <= stop - pos && dlen <= (size_t)r);
			if (dlen > 0) {
				check(data >= p + pos && data + dlen <= p + pos + r);
				memcpy(out + d->olen, data, dlen);
				d->olen += dlen;
			} else {
				check(data == NULL);
			}
			pos += (size_t)r;
		}
	}
	d->r = (int)pos;
	d->done = c.done;
}

static void same_decoded(const struct decoded *a, const char *oa, const struct decoded *b,
			 const char *ob)
{
	check(a->r == b->r && a->done == b->done && a->olen == b->olen);
	check(memcmp(oa, ob, a->olen) == 0);
}

static void one_chunked(const char *p, size_t n, size_t k)
{
	char *o1 = malloc(n + 1), *o2 = malloc(n + 1);
	size_t *cuts = malloc((n + 1) * sizeof(*cuts));
	if (o1 == NULL || o2 == NULL || cuts == NULL)
		abort();
	struct decoded whole, other;
	size_t two[2] = {k, n};
	decode(p, n, two + 1, 1, o1, &whole);
	decode(p, n, two, 2, o2, &other);
	same_decoded(&whole, o1, &other, o2);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	decode(p, n, cuts, n, o2, &other);
	same_decoded(&whole, o1, &other, o2);
	free(o1);
	free(o2);
	free(cuts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t k = size ? size * data[0] / 255 : 0;
	/* a small limit too, so that the too-large paths are exercised */
	size_t small = size ? 8 + data[size - 1] : 8;
	one_head(rtr_h1_parse_request, p, size, k, 8192, false);
	one_head(rtr_h1_parse_request, p, size, k, small, false);
	one_head(rtr_h1_parse_response, p, size, k, 8192, true);
	one_head(rtr_h1_parse_response, p, size, k, small, true);
	one_chunked(p, size, k);
	return 0;
}

#define FUZZ_NAME "fuzz_http1"
#include "tests/fuzz/replay.h"
