/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for userspace segmentation (tuntap/gso.c): the input is a
 * 10-byte virtio_net_hdr and the packet behind it, as a tun read with
 * IFF_VNET_HDR brings them. A packet the classifier takes and
 * tt_vnet_check accepts with segmentation is cut into a scratch buffer of
 * exactly TT_GSO_SCRATCH bytes and an exact-size copy of the packet, so a
 * read or write past either shows under ASan. Every segment must classify
 * again as the same kind of packet, hold at most the headers plus
 * gso_size bytes, and carry valid checksums (computed here plainly); the
 * payloads must add up to the packet's, and a refusal (only for a TCP
 * data offset under 5 or past the packet) must emit nothing. Built
 * without libFuzzer it replays tests/fuzz/corpus/fuzz_tt_gso/.
 */
#include <endian.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/gso.h"
#include "tests/unit/rfc1071.h"
#include "tuntap/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_tt_gso: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* What every segment of one packet is checked against. */
struct want {
	const struct tt_pkt *k;
	size_t hl;	/* all headers' length */
	size_t mss;	/* gso_size */
	size_t n;	/* segments seen */
	size_t payload; /* their payload bytes */
};

static void on_segment(void *arg, const uint8_t *s, size_t len)
{
	struct want *w = arg;
	const struct tt_pkt *k = w->k;
	struct tt_pkt sk;
	CHECK(tt_pkt_classify(s, len, &sk) == TT_PKT_OK);
	CHECK(sk.family == k->family && sk.proto == k->proto && sk.l4_off == k->l4_off);
	CHECK(!(sk.flags & (TT_PKT_F_FRAG | TT_PKT_F_NOL4)));
	CHECK(len >= w->hl && len <= w->hl + w->mss);
	bool v4 = k->family == TT_IPV4;
	if (v4)
		CHECK(rfc1071_fold(rfc1071_sum(s, k->l4_off, 0)) == 0xffff);
	size_t ulen = len - k->l4_off;
	uint32_t ph = (v4 ? rfc1071_sum(s + 12, 8, 0) : rfc1071_sum(s + 8, 32, 0)) + k->proto + (uint32_t)ulen;
	CHECK(rfc1071_fold(rfc1071_sum(s + k->l4_off, ulen, ph)) == 0xffff);
	if (k->proto == IPPROTO_UDP)
		CHECK(s[k->l4_off + 6] != 0 || s[k->l4_off + 7] != 0);
	w->n++;
	w->payload += len - w->hl;
}

static void cut(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
		const struct tt_pkt *k)
{
	size_t l4 = k->l4_off, l4len = 8;
	bool bad = false;
	if (k->proto == IPPROTO_TCP) {
		l4len = (size_t)(pkt[l4 + 12] >> 4) * 4; /* the classifier saw 20 bytes */
		bad = l4len < 20 || l4len > len - l4;
	}
	struct want w = {.k = k, .hl = l4 + l4len, .mss = le16toh(h->gso_size)};
	uint8_t *scratch = malloc(TT_GSO_SCRATCH);
	CHECK(scratch != NULL);
	int r = tt_gso_segment(h, pkt, len, k, scratch, on_segment, &w);
	free(scratch);
	if (bad) {
		CHECK(r == -1 && w.n == 0);
		return;
	}
	CHECK(r >= 1 && (size_t)r == w.n);
	CHECK(w.payload == len - w.hl);
	CHECK(w.n == (w.payload == 0 ? 1 : (w.payload + w.mss - 1) / w.mss));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < TT_VNET_LEN)
		return 0;
	struct virtio_net_hdr h;
	memcpy(&h, data, TT_VNET_LEN);
	size_t len = size - TT_VNET_LEN;
	uint8_t *pkt = malloc(len ? len : 1);
	CHECK(pkt != NULL);
	memcpy(pkt, data + TT_VNET_LEN, len);
	struct tt_pkt k;
	if (tt_pkt_classify(pkt, len, &k) == TT_PKT_OK &&
	    tt_vnet_check(&h, pkt, len, 65520, &k) == NULL && h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		cut(&h, pkt, len, &k);
	free(pkt);
	return 0;
}

#define FUZZ_NAME "fuzz_tt_gso"
#include "tests/fuzz/replay.h"
