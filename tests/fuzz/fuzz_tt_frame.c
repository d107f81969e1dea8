/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for the tuntap framing parser (tuntap/frame): the first two
 * input bytes are the MTU (u16 LE), the rest a stream. The stream is parsed
 * frame after frame from an exact-size copy, each frame checked against its
 * header and the MTU; at every frame boundary each shorter prefix must give
 * "need more" or the same refusal at the same byte, as a byte-at-a-time
 * reader would see. Each accepted frame's header is written again and must
 * equal the input's. Built without libFuzzer it replays
 * tests/fuzz/corpus/fuzz_tt_frame/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_tt_frame: %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Every prefix of s[0..n) agrees with the whole's result @r. */
static void check_prefixes(const uint8_t *s, size_t n, size_t mtu, ssize_t r,
			   const struct tt_frame *whole)
{
	for (size_t k = 0; k < n; k++) {
		struct tt_frame f;
		ssize_t q = tt_frame_parse(s, k, mtu, &f);
		if (r > 0) {
			CHECK(q == (k < (size_t)r ? 0 : r));
		} else if (q < 0) {
			CHECK(r < 0 && f.err == whole->err && f.err_pos == whole->err_pos);
			CHECK(f.err_pos < k);
		} else {
			CHECK(q == 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t mtu = (size_t)data[0] | (size_t)data[1] << 8;
	size_t n = size - 2;
	uint8_t *s = malloc(n ? n : 1);
	CHECK(s != NULL);
	memcpy(s, data + 2, n);
	size_t off = 0;
	for (;;) {
		struct tt_frame f;
		ssize_t r = tt_frame_parse(s + off, n - off, mtu, &f);
		check_prefixes(s + off, n - off < 70000 ? n - off : 70000, mtu, r, &f);
		if (r <= 0) {
			if (r < 0)
				CHECK(f.err > TT_FRAME_OK && f.err < TT_FRAME__COUNT &&
				      f.err_pos < TT_FRAME_HDR_LEN && f.err_pos < n - off);
			break;
		}
		CHECK((size_t)r == TT_FRAME_HDR_LEN + (size_t)f.len && (size_t)r <= n - off);
		CHECK(f.len > 0 && f.len <= mtu && f.payload == s + off + TT_FRAME_HDR_LEN);
		CHECK(f.type == TT_FRAME_PACKET || f.type == TT_FRAME_RULES);
		if (f.type == TT_FRAME_RULES)
			CHECK(f.len % TT_FRAME_RULE_LEN == 0);
		uint8_t h[TT_FRAME_HDR_LEN];
		CHECK(tt_frame_hdr_write(h, f.type, f.len) == TT_FRAME_HDR_LEN);
		CHECK(memcmp(h, s + off, TT_FRAME_HDR_LEN) == 0);
		off += (size_t)r;
	}
	free(s);
	return 0;
}

#define FUZZ_NAME "fuzz_tt_frame"
#include "tests/fuzz/replay.h"
