/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for the subscription packet parser (core/subpkt): parses the
 * input as one datagram and, whenever it is accepted, checks that every
 * string slice lies inside the input's body and signed_len inside the body,
 * then rebuilds a packet from the parsed fields (no signature) and parses it
 * again: it must be accepted with the same fields. Built without libFuzzer it
 * replays a corpus (arguments, or tests/fuzz/corpus/fuzz_subpkt/).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/subpkt.h"
#include "core/upkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * How much a rebuilt packet can outgrow its source: the five vars uWSGI
 * always sends (modifier1, modifier2, cores, load, weight) written as "0"
 * when the source left them out. Every other var is written no longer than
 * it was read (numbers lose leading zeros, flags become "1").
 */
#define REBUILD_GROWTH (2 * (2 + 9 + 2 + 1) + (2 + 5 + 2 + 1) + (2 + 4 + 2 + 1) + (2 + 6 + 2 + 1))

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_subpkt: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const struct subpkt_str *strs(const struct subpkt *p, size_t i)
{
	const struct subpkt_str *all[] = {&p->key,     &p->address, &p->notify, &p->sni_key,
					  &p->sni_crt, &p->sni_ca,  &p->vassal, &p->proto,
					  &p->algo,    &p->sign};
	return i < sizeof(all) / sizeof(all[0]) ? all[i] : NULL;
}

static void check_inside(const struct subpkt *p, const uint8_t *data, size_t size)
{
	const char *lo = (const char *)data + UPKT_HDR_LEN, *hi = (const char *)data + size;
	const struct subpkt_str *s;
	for (size_t i = 0; (s = strs(p, i)) != NULL; i++) {
		if (s->p == NULL) {
			CHECK(s->len == 0);
			continue;
		}
		CHECK(s->p >= lo && s->p <= hi);
		CHECK(s->len <= (size_t)(hi - s->p));
	}
	CHECK(size >= UPKT_HDR_LEN && p->signed_len <= size - UPKT_HDR_LEN);
	CHECK(p->key.len > 0 && p->key.len <= SUBPKT_KEY_MAX);
	CHECK(p->address.len > 0 && p->address.len <= SUBPKT_ADDR_MAX);
}

static bool str_eq(const struct subpkt_str *a, const struct subpkt_str *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static void check_same(const struct subpkt *a, const struct subpkt *b)
{
	/* All strings but the signature, which the builder never writes. */
	for (size_t i = 0; strs(a, i) != &a->sign; i++)
		CHECK(str_eq(strs(a, i), strs(b, i)));
	CHECK(b->sign.len == 0);
	CHECK(a->unsubscribe == b->unsubscribe);
	CHECK(a->modifier1 == b->modifier1 && a->modifier2 == b->modifier2);
	CHECK(a->cores == b->cores && a->load == b->load && a->weight == b->weight);
	CHECK(a->backup == b->backup && a->hops == b->hops);
	CHECK(a->has_unix == b->has_unix && a->unix_time == b->unix_time);
	CHECK(a->inactive == b->inactive && a->clear == b->clear);
}

static void rebuild(const struct subpkt *p, size_t size)
{
	struct buf b = BUF_INIT;
	ssize_t n = subpkt_build(&b, p);
	if (n < 0) {
		/* Only a source near the limit may rebuild too big. */
		CHECK(errno == E2BIG && size + REBUILD_GROWTH > SUBPKT_DGRAM_MAX);
		CHECK(b.len == 0);
		buf_free(&b);
		return;
	}
	CHECK((size_t)n == b.len && b.len <= SUBPKT_DGRAM_MAX);
	CHECK(b.len <= size + REBUILD_GROWTH);
	/* An exact-size copy, so a read past the end is caught. */
	uint8_t *copy = malloc(b.len);
	CHECK(copy != NULL);
	memcpy(copy, b.data, b.len);
	struct subpkt again;
	enum subpkt_drop r = subpkt_parse(copy, b.len, &again);
	if (r != SUBPKT_OK)
		fprintf(stderr, "fuzz_subpkt: rebuilt packet dropped: %s\n", subpkt_drop_name(r));
	CHECK(r == SUBPKT_OK);
	CHECK(again.signed_len == b.len - UPKT_HDR_LEN);
	check_same(p, &again);
	free(copy);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subpkt p;
	enum subpkt_drop r = subpkt_parse(data, size, &p);
	CHECK((unsigned)r < SUBPKT__COUNT);
	CHECK(subpkt_drop_name(r) != NULL);
	if (r != SUBPKT_OK)
		return 0;
	check_inside(&p, data, size);
	rebuild(&p, size);
	return 0;
}

#define FUZZ_NAME "fuzz_subpkt"
#include "tests/fuzz/replay.h"
