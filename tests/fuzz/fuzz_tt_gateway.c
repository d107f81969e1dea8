/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for the tuntap gateway's datagram opener (tuntap/gateway.c):
 * opens the input as a datagram from an exact-size copy under a fixed key;
 * a datagram that opens must be as long as its packet plus the overhead and
 * seal back to the very same bytes, and its header then goes through a
 * sender table whose answer must be one of ok, replay, old. The input is
 * also sealed as a packet and must open back whole. Built without libFuzzer
 * it replays tests/fuzz/corpus/fuzz_tt_gateway/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_tt_gateway: %s:%d: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The corpus's valid datagrams are sealed under this key. */
static const uint8_t psk[32] = {0x66, 0x75, 0x7a, 0x7a, 1,  2,	3,  4,	5,  6,	7,
				8,    9,    10,	  11,	12, 13, 14, 15, 16, 17, 18,
				19,   20,   21,	  22,	23, 24, 25, 26, 27, 28};

#define CAP (TT_GW_UDP_MAX + 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tt_gw_crypt k;
	static bool ready;
	static uint8_t out[CAP], again[CAP];
	static struct tt_gw_senders senders;
	if (!ready) {
		struct err *e = NULL;
		CHECK(tt_gw_crypt_init(&k, psk, &e) == 0);
		ready = true;
	}
	uint8_t *dg = malloc(size ? size : 1);
	CHECK(dg != NULL);
	memcpy(dg, data, size);
	struct tt_gw_hdr h;
	long n = tt_gw_open(&k, dg, size, out, CAP, &h);
	if (n >= 0) {
		CHECK((size_t)n + TT_GW_OVERHEAD == size);
		CHECK(tt_gw_seal(&k, h.sender, h.counter, out, (size_t)n, again, CAP) ==
		      (long)size);
		CHECK(memcmp(again, dg, size) == 0);
		enum tt_gw_drop r = tt_gw_senders_accept(&senders, &h);
		CHECK(r == TT_GW_OK || r == TT_GW_REPLAY || r == TT_GW_OLD);
		CHECK(tt_gw_senders_accept(&senders, &h) != TT_GW_OK);
	} else {
		CHECK(n == -TT_GW_SHORT || n == -TT_GW_MAGIC_BAD || n == -TT_GW_AUTH);
		CHECK(n != -TT_GW_SHORT || size < TT_GW_OVERHEAD);
	}
	/* the input as a packet: sealed, it opens back whole */
	long d = tt_gw_seal(&k, 0x01020304, size, dg, size, again, CAP);
	if (size > TT_GW_PKT_MAX) {
		CHECK(d == -1);
	} else {
		CHECK(d == (long)(size + TT_GW_OVERHEAD));
		CHECK(tt_gw_open(&k, again, (size_t)d, out, CAP, &h) == (long)size);
		CHECK(memcmp(out, data, size) == 0 && h.sender == 0x01020304 && h.counter == size);
	}
	free(dg);
	return 0;
}

#define FUZZ_NAME "fuzz_tt_gateway"
#include "tests/fuzz/replay.h"
