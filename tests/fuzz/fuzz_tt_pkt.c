/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for the tuntap packet classifier (tuntap/pkt): classifies the
 * input as one packet from an exact-size copy and checks what a classified
 * packet promises: addresses copied from the header (IPv4 mapped), the
 * upper-layer offset inside the packet with room for the ports it reported,
 * a non-first fragment flagged as a fragment with no ports; then matches it
 * against a small rule list, whose answer must be a rule index or none.
 * Built without libFuzzer it replays tests/fuzz/corpus/fuzz_tt_pkt/.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/fw.h"
#include "tuntap/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_tt_pkt: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_ok(const uint8_t *d, size_t size, const struct tt_pkt *p)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	CHECK(p->l4_off <= size);
	if (p->family == TT_IPV4) {
		CHECK(size >= TT_PKT_V4_HDR && (d[0] >> 4) == 4);
		CHECK(memcmp(p->src.b, mapped, 12) == 0 && memcmp(p->src.b + 12, d + 12, 4) == 0);
		CHECK(memcmp(p->dst.b, mapped, 12) == 0 && memcmp(p->dst.b + 12, d + 16, 4) == 0);
		CHECK(p->proto == d[9]);
	} else {
		CHECK(p->family == TT_IPV6);
		CHECK(size >= TT_PKT_V6_HDR && (d[0] >> 4) == 6);
		CHECK(memcmp(p->src.b, d + 8, 16) == 0 && memcmp(p->dst.b, d + 24, 16) == 0);
	}
	if (p->flags & TT_PKT_F_NOL4) {
		CHECK(p->flags & TT_PKT_F_FRAG);
		CHECK(p->l4_off == size);
		CHECK(p->sport == 0 && p->dport == 0 && p->icmp_type == 0);
	} else if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		CHECK(size - p->l4_off >= 8);
		CHECK(p->sport == (d[p->l4_off] << 8 | d[p->l4_off + 1]));
		CHECK(p->dport == (d[p->l4_off + 2] << 8 | d[p->l4_off + 3]));
	} else if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		CHECK(size - p->l4_off >= 4 && p->icmp_type == d[p->l4_off]);
	}
}

static void match(const struct tt_pkt *p)
{
	static struct tt_fw_list l;
	static int ready;
	static const char *const rules[] = {
	    "allow 10.0.0.0/8 any tcp 80",  "deny any 10.0.0.0/8 udp 53-60",
	    "allow fd00::/8 any icmpv6",    "deny any any icmp",
	    "allow any 192.168.0.0/16 any", "deny ::/0 2001:db8::/32 tcp 0-1023",
	};
	if (!ready) {
		tt_fw_list_init(&l, 16);
		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
			CHECK(tt_fw_list_add(&l, rules[i], NULL) == 0);
		ready = 1;
	}
	int i = tt_fw_find(&l, p, 0);
	CHECK(i >= -1 && i < (int)l.n);
	enum tt_fw_action a = tt_fw_match(&l, p, TT_FW_DENY);
	CHECK(a == (i < 0 ? TT_FW_DENY : (enum tt_fw_action)l.rules[i].action));
	if ((p->flags & TT_PKT_F_NOL4) && i >= 0 && (l.rules[i].flags & TT_FW_RULE_PORT))
		CHECK(a == TT_FW_DENY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	struct tt_pkt p;
	enum tt_pkt_drop r = tt_pkt_classify(copy, size, &p);
	CHECK((unsigned)r < TT_PKT__COUNT);
	CHECK(tt_pkt_drop_name(r) != NULL);
	if (r == TT_PKT_OK) {
		check_ok(copy, size, &p);
		match(&p);
	}
	free(copy);
	return 0;
}

#define FUZZ_NAME "fuzz_tt_pkt"
#include "tests/fuzz/replay.h"
