/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for the tuntap router's virtio_net_hdr check (tuntap/path.c):
 * the input is a 10-byte virtio_net_hdr and the packet behind it, as a tun
 * read with IFF_VNET_HDR brings them. A packet the classifier takes is
 * judged with two MTUs; what tt_vnet_check accepts must keep its promises
 * (a segment size within the MTU, a packet without segmentation within
 * it, the checksum place inside the packet), and a partial checksum it
 * accepts is completed on an exact-size copy, so a write past the end
 * shows under ASan. Built without libFuzzer it replays
 * tests/fuzz/corpus/fuzz_tt_vnet/.
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_tt_vnet: %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void judge(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len, uint32_t mtu,
		  const struct tt_pkt *k)
{
	if (tt_vnet_check(h, pkt, len, mtu, k) != NULL)
		return;
	uint16_t gso = le16toh(h->gso_size);
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		CHECK(len <= mtu && gso == 0);
	else
		CHECK(gso >= 1 && gso <= mtu && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM));
	CHECK(le16toh(h->hdr_len) <= len);
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return;
	size_t cs = le16toh(h->csum_start), co = le16toh(h->csum_offset);
	CHECK(cs >= k->l4_off && cs + co + 2 <= len);
	uint8_t *copy = malloc(len);
	CHECK(copy != NULL);
	memcpy(copy, pkt, len);
	struct virtio_net_hdr hc = *h;
	tt_vnet_csum(&hc, copy, len);
	CHECK(!(hc.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM));
	CHECK(memcmp(copy, pkt, cs + co) == 0);
	CHECK(memcmp(copy + cs + co + 2, pkt + cs + co + 2, len - cs - co - 2) == 0);
	free(copy);
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
	if (tt_pkt_classify(pkt, len, &k) == TT_PKT_OK) {
		judge(&h, pkt, len, 1280, &k);
		judge(&h, pkt, len, 65535, &k);
	}
	free(pkt);
	return 0;
}

#define FUZZ_NAME "fuzz_tt_vnet"
#include "tests/fuzz/replay.h"
