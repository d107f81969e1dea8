/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for the tuntap firewall's rule and address parsers
 * (tuntap/fw): each input line is parsed as a rule value and as an assigned
 * address. A refused rule must say why; an accepted one must be consistent
 * (a family, a port only with tcp or udp, addresses within their masks) and
 * its canonical text must parse to the same rule and print the same text.
 * Accepted rules go into a list, matched at the end against packets made of
 * the input's bytes. Built without libFuzzer it replays
 * tests/fuzz/corpus/fuzz_tt_fw/.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/fw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_tt_fw: %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_rule(const struct tt_fw_rule *r)
{
	CHECK(r->family != 0 && (r->family & ~(TT_IPV4 | TT_IPV6)) == 0);
	CHECK(r->action == TT_FW_ALLOW || r->action == TT_FW_DENY);
	for (int i = 0; i < 2; i++) {
		CHECK((r->src.q[i] & ~r->smask.q[i]) == 0);
		CHECK((r->dst.q[i] & ~r->dmask.q[i]) == 0);
	}
	if (r->flags & TT_FW_RULE_PORT)
		CHECK(r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP);
	else
		CHECK(r->port_lo == 0 && r->port_span == 0xffff && r->nol4 == 1);
	CHECK((unsigned)r->port_lo + r->port_span <= 65535);
}

static void check_same(const struct tt_fw_rule *a, const struct tt_fw_rule *b)
{
	CHECK(memcmp(a->src.b, b->src.b, 16) == 0 && memcmp(a->smask.b, b->smask.b, 16) == 0);
	CHECK(memcmp(a->dst.b, b->dst.b, 16) == 0 && memcmp(a->dmask.b, b->dmask.b, 16) == 0);
	CHECK(a->port_lo == b->port_lo && a->port_span == b->port_span);
	CHECK(a->proto == b->proto && a->proto_mask == b->proto_mask);
	CHECK(a->family == b->family && a->action == b->action && a->nol4 == b->nol4);
	CHECK(a->flags == b->flags && a->src_plen == b->src_plen && a->dst_plen == b->dst_plen);
}

static void one_line(const char *line, struct tt_fw_list *l, struct tt_addr_set *set)
{
	struct tt_fw_rule r, again;
	struct err *e = NULL;
	if (tt_fw_rule_parse(line, &r, &e) < 0) {
		CHECK(e != NULL && err_msg(e)[0] != '\0');
		err_free(&e);
	} else {
		CHECK(e == NULL);
		check_rule(&r);
		char text[TT_FW_TEXT_MAX], text2[TT_FW_TEXT_MAX];
		int n = tt_fw_rule_format(&r, text, sizeof(text));
		CHECK(n > 0 && (size_t)n < sizeof(text));
		CHECK(tt_fw_rule_parse(text, &again, NULL) == 0);
		check_same(&r, &again);
		CHECK(tt_fw_rule_format(&again, text2, sizeof(text2)) == n);
		CHECK(strcmp(text, text2) == 0);
		uint32_t before = l->n;
		if (tt_fw_list_add(l, line, NULL) == 0)
			CHECK(l->n == before + 1);
		else
			CHECK(l->n == before && before == l->max);
	}
	uint8_t n = set->n;
	if (tt_addr_set_add(set, line, &e) == 0) {
		CHECK(set->n == n + 1);
		CHECK(tt_addr_set_has(set, set->family[n], &set->ip[n]));
	} else {
		CHECK(e != NULL && set->n == n);
		err_free(&e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_fw_list l;
	struct tt_addr_set set = {0};
	tt_fw_list_init(&l, 32);
	/* Lines as NUL-terminated copies (a config value never holds a NUL). */
	for (size_t at = 0; at < size;) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - data) - at : size - at;
		char *line = strndup((const char *)data + at, len);
		CHECK(line != NULL);
		one_line(line, &l, &set);
		free(line);
		at += len + 1;
	}
	/* Packets from the input's bytes, both families. */
	for (size_t off = 0; off + 36 <= size; off += 36) {
		struct tt_pkt p = {.proto = data[off + 32],
				   .flags = data[off + 33] & TT_PKT_F_NOL4};
		memcpy(p.src.b, data + off, 16);
		memcpy(p.dst.b, data + off + 16, 16);
		p.dport = (uint16_t)(data[off + 34] << 8 | data[off + 35]);
		p.family = (data[off + 33] & 0x80) ? TT_IPV6 : TT_IPV4;
		int i = tt_fw_find(&l, &p, 0);
		CHECK(i >= -1 && i < (int)l.n);
		if (i >= 0 && (p.flags & TT_PKT_F_NOL4) && (l.rules[i].flags & TT_FW_RULE_PORT))
			CHECK(l.rules[i].action == TT_FW_DENY);
		if (i >= 0)
			CHECK(l.rules[i].family & p.family);
	}
	tt_fw_list_free(&l);
	return 0;
}

#define FUZZ_NAME "fuzz_tt_fw"
#include "tests/fuzz/replay.h"
