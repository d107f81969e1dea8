/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * For `make bench`'s signed-subscription part: write COUNT signed packets
 * to a file, each a u16 little-endian length then the datagram, so the
 * benchmark measures the router verifying them and not us signing them.
 * Each packet unsubscribes a distinct node (KEY, 127.0.0.1:BASE+i) that the
 * router does not have: verified, counted, no table growth, no log line.
 *
 *   sigpackets PRIVKEY DIGEST KEY COUNT BASE OUT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sign.h"
#include "core/subpkt.h"

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: sigpackets PRIVKEY DIGEST KEY COUNT BASE OUT\n");
		return 1;
	}
	struct err *e = NULL;
	struct sign_key *k = sign_key_load(argv[1], true, &e);
	const EVP_MD *md = k ? sign_digest(argv[2], &e) : NULL;
	if (md == NULL) {
		fprintf(stderr, "sigpackets: %s\n", err_msg(e));
		return 1;
	}
	long count = strtol(argv[4], NULL, 10), base = strtol(argv[5], NULL, 10);
	FILE *out = fopen(argv[6], "wb");
	if (out == NULL || count <= 0 || base < 0 || base + count > 65535) {
		fprintf(stderr, "sigpackets: bad COUNT/BASE or %s: %s\n", argv[6], strerror(errno));
		return 1;
	}
	uint64_t now = (uint64_t)time(NULL);
	for (long i = 0; i < count; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "127.0.0.1:%ld", base + i);
		struct subpkt p;
		memset(&p, 0, sizeof(p));
		p.unsubscribe = true;
		p.key = subpkt_str_of(argv[3]);
		p.address = subpkt_str_of(addr);
		p.weight = 1;
		p.has_unix = true;
		p.unix_time = now;
		struct buf b = {.max = SUBPKT_DGRAM_MAX};
		if (subpkt_build(&b, &p) < 0 || sign_subpkt(&b, k, md, &e) < 0) {
			fprintf(stderr, "sigpackets: %s\n", e ? err_msg(e) : "build failed");
			return 1;
		}
		uint8_t len[2] = {(uint8_t)(b.len & 0xff), (uint8_t)(b.len >> 8)};
		if (fwrite(len, 1, 2, out) != 2 || fwrite(b.data, 1, b.len, out) != b.len) {
			fprintf(stderr, "sigpackets: write: %s\n", strerror(errno));
			return 1;
		}
		buf_free(&b);
	}
	sign_key_free(k);
	return fclose(out) == 0 ? 0 : 1;
}
