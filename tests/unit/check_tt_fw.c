/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for tuntap/fw.c: rule values parse into the rule fw.h
 * describes, and every malformed one is refused with a message naming what
 * is wrong; canonical formatting parses back to the same rule; matching is
 * first-match-wins, per family, by prefix (edges included), protocol and
 * port range; non-first fragments match port denies and never port allows;
 * the layered verdict lets a vassal deny more but never allow more, and
 * vassal-to-vassal traffic needs an explicit emperor rule; lists keep to
 * their capacity; the address set tells v4 from v6 and refuses what cannot
 * be a source.
 */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/fw.h"
#include "tuntap/pkt.h"

/* A classified packet from text: "10.0.0.2" or "fd00::2" style addresses. */
static struct tt_pkt pkt(const char *src, const char *dst, uint8_t proto, uint16_t dport)
{
	struct tt_pkt p = {.proto = proto, .dport = dport, .sport = 40000};
	if (strchr(src, ':')) {
		p.family = TT_IPV6;
		ck_assert_int_eq(inet_pton(AF_INET6, src, p.src.b), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, dst, p.dst.b), 1);
	} else {
		p.family = TT_IPV4;
		p.src.b[10] = p.src.b[11] = p.dst.b[10] = p.dst.b[11] = 0xff;
		ck_assert_int_eq(inet_pton(AF_INET, src, p.src.b + 12), 1);
		ck_assert_int_eq(inet_pton(AF_INET, dst, p.dst.b + 12), 1);
	}
	return p;
}

/* A list from NULL-terminated rule values, all of which must parse. */
static void list_of(struct tt_fw_list *l, const char *const *rules)
{
	tt_fw_list_init(l, TT_FW_RULES_MAX);
	for (size_t i = 0; rules[i]; i++) {
		struct err *e = NULL;
		int r = tt_fw_list_add(l, rules[i], &e);
		ck_assert_msg(r == 0, "'%s': %s", rules[i], err_msg(e));
		err_free(&e);
	}
}

#define RULES(...) ((const char *const[]){__VA_ARGS__, NULL})

static struct tt_fw_rule rule(const char *v)
{
	struct tt_fw_rule r;
	struct err *e = NULL;
	ck_assert_msg(tt_fw_rule_parse(v, &r, &e) == 0, "'%s': %s", v, err_msg(e));
	return r;
}

static const char *format(const struct tt_fw_rule *r)
{
	static char s[TT_FW_TEXT_MAX];
	int n = tt_fw_rule_format(r, s, sizeof(s));
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, (int)sizeof(s));
	return s;
}

/* Every field (not memcmp: the struct has padding). */
static void same_rule(const struct tt_fw_rule *a, const struct tt_fw_rule *b)
{
	ck_assert_mem_eq(a->src.b, b->src.b, 16);
	ck_assert_mem_eq(a->smask.b, b->smask.b, 16);
	ck_assert_mem_eq(a->dst.b, b->dst.b, 16);
	ck_assert_mem_eq(a->dmask.b, b->dmask.b, 16);
	ck_assert_uint_eq(a->port_lo, b->port_lo);
	ck_assert_uint_eq(a->port_span, b->port_span);
	ck_assert_uint_eq(a->proto, b->proto);
	ck_assert_uint_eq(a->proto_mask, b->proto_mask);
	ck_assert_uint_eq(a->family, b->family);
	ck_assert_uint_eq(a->action, b->action);
	ck_assert_uint_eq(a->nol4, b->nol4);
	ck_assert_uint_eq(a->flags, b->flags);
	ck_assert_uint_eq(a->src_family, b->src_family);
	ck_assert_uint_eq(a->dst_family, b->dst_family);
	ck_assert_uint_eq(a->src_plen, b->src_plen);
	ck_assert_uint_eq(a->dst_plen, b->dst_plen);
}

START_TEST(test_parse_ok)
{
	struct tt_fw_rule r = rule("deny 10.0.0.0/24 any tcp 22-25");
	ck_assert_uint_eq(r.action, TT_FW_DENY);
	ck_assert_uint_eq(r.family, TT_IPV4);
	ck_assert_uint_eq(r.src_plen, 24);
	ck_assert_uint_eq(r.dst_family, TT_IPV4 | TT_IPV6);
	ck_assert_uint_eq(r.proto, IPPROTO_TCP);
	ck_assert_uint_eq(r.port_lo, 22);
	ck_assert_uint_eq(r.port_span, 3);
	ck_assert(r.flags & TT_FW_RULE_PORT);
	ck_assert_uint_eq(r.nol4, 1);
	r = rule("  allow\tfd00::/8   fd00::1  udp 53 ");
	ck_assert_uint_eq(r.family, TT_IPV6);
	ck_assert_uint_eq(r.dst_plen, 128);
	ck_assert_uint_eq(r.port_span, 0);
	ck_assert_uint_eq(r.nol4, 0);
	ck_assert(!(r.flags & TT_FW_RULE_WILD_ALLOW));
	r = rule("allow any any");
	ck_assert_uint_eq(r.family, TT_IPV4 | TT_IPV6);
	ck_assert_uint_eq(r.proto_mask, 0);
	ck_assert_uint_eq(r.port_span, 0xffff);
	ck_assert(r.flags & TT_FW_RULE_WILD_ALLOW);
	r = rule("allow any any icmpv6");
	ck_assert_uint_eq(r.family, TT_IPV6);
	r = rule("deny 10.0.0.5 any icmp");
	ck_assert_uint_eq(r.family, TT_IPV4);
	r = rule("allow any any tcp 0-65535");
	ck_assert_uint_eq(r.port_lo, 0);
	ck_assert_uint_eq(r.port_span, 65535);
	r = rule("allow 0.0.0.0/0 10.0.0.0/8 any");
	ck_assert_uint_eq(r.src_plen, 0);
	ck_assert_uint_eq(r.family, TT_IPV4);
}
END_TEST

START_TEST(test_parse_errors)
{
	static const struct {
		const char *value, *why;
	} bad[] = {
	    {"", "empty rule"},
	    {"   ", "empty rule"},
	    {"allow any", "got 2 fields"},
	    {"allow any any tcp 80 extra", "more than 5"},
	    {"permit any any", "unknown action 'permit'"},
	    {"Allow any any", "unknown action"},
	    {"allow 10.0.0.300 any", "SRC '10.0.0.300' is not an address"},
	    {"allow any 10.0.0", "DST '10.0.0' is not an address"},
	    {"allow 010.0.0.1 any", "not an address"},
	    {"allow 10.0.0.0/33 any", "prefix must be 0 to 32"},
	    {"allow fd00::/129 any", "prefix must be 0 to 128"},
	    {"allow 10.0.0.0/ any", "prefix must be"},
	    {"allow 10.0.0.0/2x any", "prefix must be"},
	    {"allow 10.0.0.0/-1 any", "prefix must be"},
	    {"allow 10.0.0.1/24 any", "bits set past its prefix /24"},
	    {"allow fd00::1/64 any", "bits set past its prefix /64"},
	    {"allow 10.0.0.0/8 fd00::/8", "different families"},
	    {"allow any any sctp", "unknown protocol 'sctp'"},
	    {"allow any any icmp 8", "a port needs tcp or udp"},
	    {"allow any any any 80", "a port needs tcp or udp"},
	    {"allow any any tcp 65536", "port '65536'"},
	    {"allow any any tcp 80-", "port '80-'"},
	    {"allow any any tcp -80", "port '-80'"},
	    {"allow any any tcp 8o", "port '8o'"},
	    {"allow any any tcp 90-80", "ends before it starts"},
	    {"allow fd00::/8 any icmp", "icmp does not go with IPv6"},
	    {"allow 10.0.0.0/8 any icmpv6", "icmpv6 does not go with IPv4"},
	    {"allow 1234567890123456789012345678901234567890123456789 any", "not an address"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tt_fw_rule r;
		struct err *e = NULL;
		ck_assert_msg(tt_fw_rule_parse(bad[i].value, &r, &e) == -1, "'%s' accepted",
			      bad[i].value);
		ck_assert_ptr_nonnull(e);
		ck_assert_msg(strstr(err_msg(e), bad[i].why) != NULL, "'%s': got '%s', want '%s'",
			      bad[i].value, err_msg(e), bad[i].why);
		err_free(&e);
	}
}
END_TEST

/* uWSGI's own examples: a lone action, and a bare 0.0.0.0 as wildcard. */
START_TEST(test_uwsgi_compat)
{
	struct tt_fw_rule r = rule("deny");
	ck_assert_str_eq(format(&r), "deny any any any");
	r = rule("allow");
	ck_assert_str_eq(format(&r), "allow any any any");
	r = rule("allow 192.168.0.0/24 0.0.0.0");
	ck_assert_str_eq(format(&r), "allow 192.168.0.0/24 0.0.0.0/0 any");
	ck_assert(r.flags & TT_FW_RULE_WILD_ALLOW);
	r = rule("deny :: fd00::1");
	ck_assert_str_eq(format(&r), "deny ::/0 fd00::1/128 any");
	struct tt_fw_list l;
	list_of(&l, RULES("allow 192.168.0.0/24 192.168.0.1", "deny 192.168.0.0/24 192.168.0.0/24",
			  "allow 192.168.0.0/24 0.0.0.0", "deny"));
	struct tt_pkt p = pkt("192.168.0.5", "192.168.0.1", IPPROTO_TCP, 80);
	ck_assert_int_eq(tt_fw_match(&l, &p, TT_FW_DENY), TT_FW_ALLOW);
	p = pkt("192.168.0.5", "192.168.0.6", IPPROTO_TCP, 80);
	ck_assert_int_eq(tt_fw_match(&l, &p, TT_FW_ALLOW), TT_FW_DENY);
	p = pkt("192.168.0.5", "8.8.8.8", IPPROTO_UDP, 53);
	ck_assert_int_eq(tt_fw_match(&l, &p, TT_FW_DENY), TT_FW_ALLOW);
	p = pkt("192.168.1.5", "8.8.8.8", IPPROTO_UDP, 53);
	ck_assert_int_eq(tt_fw_match(&l, &p, TT_FW_ALLOW), TT_FW_DENY);
	p = pkt("fd00::5", "fd00::1", IPPROTO_UDP, 53); /* only the lone deny covers v6 */
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 3);
	tt_fw_list_free(&l);
}
END_TEST

START_TEST(test_format_round_trip)
{
	static const char *const in[] = {
	    "deny 10.0.0.0/24 any tcp 22-25",
	    "allow fd00::/8 2001:db8::1/128 udp 53",
	    "allow any any any",
	    "deny 10.1.2.3/32 10.0.0.0/8 icmp",
	    "allow any fe80::/10 icmpv6",
	    "deny 0.0.0.0/0 0.0.0.0/0 tcp 0-65535",
	    "allow 255.255.255.255/32 any udp 65535",
	};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct tt_fw_rule a = rule(in[i]);
		ck_assert_str_eq(format(&a), in[i]);
		struct tt_fw_rule b = rule(format(&a));
		same_rule(&a, &b);
	}
	/* Short forms come back in full. */
	struct tt_fw_rule r = rule("allow 10.0.0.1 any tcp 80");
	ck_assert_str_eq(format(&r), "allow 10.0.0.1/32 any tcp 80");
	/* A short buffer is cut and NUL-terminated; the length is what it needed. */
	char s[8];
	ck_assert_int_eq(tt_fw_rule_format(&r, s, sizeof(s)), 28);
	ck_assert_str_eq(s, "allow 1");
}
END_TEST

START_TEST(test_first_match_wins)
{
	struct tt_fw_list l;
	list_of(&l, RULES("allow 10.0.0.2 any tcp 80", "deny 10.0.0.0/24 any", "allow any any"));
	struct tt_pkt p = pkt("10.0.0.2", "1.1.1.1", IPPROTO_TCP, 80);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	ck_assert_int_eq(tt_fw_match(&l, &p, TT_FW_DENY), TT_FW_ALLOW);
	p.dport = 81;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 1);
	ck_assert_int_eq(tt_fw_match(&l, &p, TT_FW_ALLOW), TT_FW_DENY);
	p = pkt("10.0.1.2", "1.1.1.1", IPPROTO_TCP, 81);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 2);
	tt_fw_list_free(&l);
	/* The empty list: the policy. */
	tt_fw_list_init(&l, 4);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), -1);
	ck_assert_int_eq(tt_fw_match(&l, &p, TT_FW_ALLOW), TT_FW_ALLOW);
	ck_assert_int_eq(tt_fw_match(&l, &p, TT_FW_DENY), TT_FW_DENY);
	tt_fw_list_free(&l);
}
END_TEST

START_TEST(test_families)
{
	struct tt_fw_list l;
	list_of(&l, RULES("deny 0.0.0.0/0 0.0.0.0/0", "deny any any icmp"));
	/* An IPv6 packet carrying mapped IPv4 addresses is not IPv4. */
	struct tt_pkt p = pkt("::ffff:10.0.0.2", "::ffff:1.1.1.1", IPPROTO_ICMP, 0);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), -1);
	p = pkt("10.0.0.2", "1.1.1.1", IPPROTO_UDP, 1);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	tt_fw_list_free(&l);
	list_of(&l, RULES("deny ::/0 ::/0", "deny ::ffff:0:0/96 any", "allow any any udp"));
	p = pkt("10.0.0.2", "1.1.1.1", IPPROTO_UDP, 1);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 2);
	p = pkt("fd00::1", "::1", IPPROTO_TCP, 1);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	p = pkt("::ffff:10.0.0.2", "fd00::1", IPPROTO_TCP, 1);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	tt_fw_list_free(&l);
	list_of(&l, RULES("deny any any icmpv6", "deny any any icmp", "allow any any"));
	p = pkt("fd00::1", "fd00::2", IPPROTO_ICMPV6, 0);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	p = pkt("10.0.0.1", "10.0.0.2", IPPROTO_ICMP, 0);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 1);
	p = pkt("fd00::1", "fd00::2", IPPROTO_ICMP, 0); /* icmp implies IPv4 */
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 2);
	tt_fw_list_free(&l);
}
END_TEST

/* @rule's SRC against @addr: 1 when it matches. */
static int src_in(const char *net, const char *addr)
{
	char v[128];
	snprintf(v, sizeof(v), "deny %s any", net);
	struct tt_fw_list l;
	list_of(&l, RULES(v));
	struct tt_pkt p = pkt(addr, strchr(addr, ':') ? "::1" : "127.0.0.1", IPPROTO_UDP, 1);
	int r = tt_fw_find(&l, &p, 0) == 0;
	tt_fw_list_free(&l);
	return r;
}

START_TEST(test_prefixes)
{
	ck_assert(src_in("10.0.0.0/24", "10.0.0.0"));
	ck_assert(src_in("10.0.0.0/24", "10.0.0.255"));
	ck_assert(!src_in("10.0.0.0/24", "10.0.1.0"));
	ck_assert(!src_in("10.0.0.0/24", "9.255.255.255"));
	ck_assert(src_in("10.0.0.2/31", "10.0.0.3"));
	ck_assert(!src_in("10.0.0.2/31", "10.0.0.4"));
	ck_assert(src_in("10.0.0.2", "10.0.0.2"));
	ck_assert(!src_in("10.0.0.2", "10.0.0.3"));
	ck_assert(src_in("128.0.0.0/1", "255.1.2.3"));
	ck_assert(!src_in("128.0.0.0/1", "127.255.255.255"));
	ck_assert(src_in("0.0.0.0/0", "1.2.3.4"));
	ck_assert(src_in("10.0.0.0/7", "11.255.0.0"));
	ck_assert(!src_in("10.0.0.0/7", "12.0.0.0"));
	ck_assert(src_in("fd00::/64", "fd00::ffff:ffff:ffff:ffff"));
	ck_assert(!src_in("fd00::/64", "fd00:0:0:1::"));
	ck_assert(src_in("fd00::/65", "fd00::7fff:ffff:ffff:ffff"));
	ck_assert(!src_in("fd00::/65", "fd00::8000:0:0:0"));
	ck_assert(src_in("fd00::2/127", "fd00::3"));
	ck_assert(!src_in("fd00::2/127", "fd00::4"));
	ck_assert(src_in("fd00::2", "fd00::2"));
	ck_assert(!src_in("fd00::2", "fd00::2:0"));
	ck_assert(src_in("8000::/1", "ffff::"));
	ck_assert(!src_in("8000::/1", "7fff::"));
}
END_TEST

START_TEST(test_ports_and_protocols)
{
	struct tt_fw_list l;
	list_of(&l, RULES("allow any any tcp 1000-1999", "allow any any udp 53", "deny any any tcp",
			  "allow any any"));
	struct tt_pkt p = pkt("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 999);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 2);
	p.dport = 1000;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	p.dport = 1999;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	p.dport = 2000;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 2);
	p.dport = 65535;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 2);
	/* The source port is not the rule's port. */
	p.dport = 80;
	p.sport = 1500;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 2);
	p = pkt("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 53);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 1);
	p.dport = 54;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 3);
	p = pkt("10.0.0.1", "10.0.0.2", IPPROTO_ICMP, 0);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 3);
	p = pkt("10.0.0.1", "10.0.0.2", IPPROTO_GRE, 0);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 3);
	/* IPPROTO_IP (0) is not `any`'s 0 confused with a rule for proto 0. */
	p = pkt("10.0.0.1", "10.0.0.2", 0, 0);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 3);
	tt_fw_list_free(&l);
}
END_TEST

START_TEST(test_fragments)
{
	struct tt_fw_list l;
	list_of(&l, RULES("allow any 10.0.0.2 tcp 80", "deny any 10.0.0.2 tcp 22",
			  "allow any 10.0.0.3 udp", "deny any any"));
	struct tt_pkt p = pkt("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 0);
	p.flags = TT_PKT_F_FRAG | TT_PKT_F_NOL4;
	/* A port allow never passes a portless fragment; a port deny stops it. */
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 1);
	ck_assert_int_eq(tt_fw_match(&l, &p, TT_FW_ALLOW), TT_FW_DENY);
	/* Rules without a port judge fragments like any packet. */
	p = pkt("10.0.0.1", "10.0.0.3", IPPROTO_UDP, 0);
	p.flags = TT_PKT_F_FRAG | TT_PKT_F_NOL4;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 2);
	/* A first fragment has its ports: judged by them. */
	p = pkt("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 80);
	p.flags = TT_PKT_F_FRAG;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	tt_fw_list_free(&l);
	/* A port deny after a portless allow: the allow decides first. */
	list_of(&l, RULES("allow any any tcp", "deny any any tcp 22"));
	p = pkt("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 0);
	p.flags = TT_PKT_F_FRAG | TT_PKT_F_NOL4;
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	tt_fw_list_free(&l);
}
END_TEST

/* Classified bytes, not a hand-made struct: the two modules agree. */
START_TEST(test_classified_packets)
{
	/* 10.0.0.2:40000 -> 8.8.8.8:53, a first fragment. */
	uint8_t v4[28] = {0x45, 0, 0, 28, 0, 0, 0x20, 0, 64, IPPROTO_UDP};
	memcpy(v4 + 12, (uint8_t[]){10, 0, 0, 2, 8, 8, 8, 8, 0x9c, 0x40, 0, 53, 0, 8}, 14);
	uint8_t v6[48] = {0x60, 0, 0, 0, 0, 8, IPPROTO_UDP, 64};
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::2", v6 + 8), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:4860:4860::8888", v6 + 24), 1);
	memcpy(v6 + 40, v4 + 20, 8);
	struct tt_fw_list l;
	list_of(&l, RULES("deny 10.0.0.2 8.8.8.8 udp 53", "allow fd00::/64 2001:4860::/32 udp 53",
			  "deny any any"));
	struct tt_pkt p;
	ck_assert_int_eq(tt_pkt_classify(v4, sizeof(v4), &p), TT_PKT_OK);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 0);
	ck_assert_int_eq(tt_pkt_classify(v6, sizeof(v6), &p), TT_PKT_OK);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 1);
	tt_fw_list_free(&l);
}
END_TEST

START_TEST(test_layers)
{
	struct tt_fw_list emp, own, other;
	list_of(&emp, RULES("deny any 10.0.0.0/8 tcp 25", "allow 10.0.0.2 any"));
	list_of(&own, RULES("allow any any tcp 443", "deny any any tcp"));
	tt_fw_list_init(&other, 4);
	struct tt_pkt p = pkt("10.0.0.2", "1.1.1.1", IPPROTO_TCP, 443);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_DENY, &own, NULL, &p, 0), TT_FW_ALLOW);
	/* The vassal denies more. */
	p.dport = 80;
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_DENY, &own, NULL, &p, 0), TT_FW_DENY);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_DENY, NULL, NULL, &p, 0), TT_FW_ALLOW);
	/* A vassal's allow never widens what the emperor denies. */
	p = pkt("10.0.0.9", "1.1.1.1", IPPROTO_TCP, 443);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_DENY, &own, NULL, &p, 0), TT_FW_DENY);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_ALLOW, &own, NULL, &p, 0), TT_FW_ALLOW);
	p = pkt("10.0.0.2", "10.0.0.3", IPPROTO_TCP, 25);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_ALLOW, NULL, NULL, &p, 0), TT_FW_DENY);
	/* An empty vassal list, or none, changes nothing; no emperor list is the policy. */
	p = pkt("10.0.0.2", "1.1.1.1", IPPROTO_UDP, 53);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_DENY, &other, &other, &p, 0), TT_FW_ALLOW);
	ck_assert_int_eq(tt_fw_check(NULL, TT_FW_DENY, NULL, NULL, &p, 0), TT_FW_DENY);
	ck_assert_int_eq(tt_fw_check(NULL, TT_FW_ALLOW, &own, NULL, &p, 0), TT_FW_ALLOW);
	/* Either vassal list may deny. */
	p = pkt("1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1);
	ck_assert_int_eq(tt_fw_check(NULL, TT_FW_ALLOW, &other, &own, &p, 0), TT_FW_DENY);
	tt_fw_list_free(&emp);
	tt_fw_list_free(&own);
	tt_fw_list_free(&other);
}
END_TEST

START_TEST(test_vassal_to_vassal)
{
	struct tt_fw_list emp, own, other;
	list_of(&emp, RULES("allow 10.0.0.0/24 any", "allow fd00::/64 ::/0"));
	tt_fw_list_init(&own, 4);
	tt_fw_list_init(&other, 4);
	struct tt_pkt p = pkt("10.0.0.2", "10.0.0.3", IPPROTO_TCP, 80);
	/* To the world the wildcard allows; between vassals it does not. */
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_DENY, &own, NULL, &p, 0), TT_FW_ALLOW);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_ALLOW, &own, &other, &p, TT_FW_V2V), TT_FW_DENY);
	struct tt_pkt q = pkt("fd00::2", "fd00::3", IPPROTO_TCP, 80);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_ALLOW, &own, &other, &q, TT_FW_V2V), TT_FW_DENY);
	tt_fw_list_free(&emp);
	/* A rule naming the destination allows; the vassals may still deny. */
	list_of(&emp, RULES("allow 10.0.0.2 10.0.0.3 tcp 80", "allow any any"));
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_DENY, &own, &other, &p, TT_FW_V2V), TT_FW_ALLOW);
	p.dport = 81;
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_ALLOW, &own, &other, &p, TT_FW_V2V), TT_FW_DENY);
	p.dport = 80;
	ck_assert_int_eq(tt_fw_list_add(&other, "deny 10.0.0.2 any", NULL), 0);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_ALLOW, &own, &other, &p, TT_FW_V2V), TT_FW_DENY);
	/* Denies with a wildcard DST still count. */
	tt_fw_list_free(&emp);
	list_of(&emp, RULES("deny 10.0.0.2 any", "allow 10.0.0.0/24 10.0.0.0/24"));
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_ALLOW, NULL, NULL, &p, TT_FW_V2V), TT_FW_DENY);
	p = pkt("10.0.0.4", "10.0.0.3", IPPROTO_TCP, 80);
	ck_assert_int_eq(tt_fw_check(&emp, TT_FW_DENY, NULL, NULL, &p, TT_FW_V2V), TT_FW_ALLOW);
	ck_assert_int_eq(tt_fw_find(&emp, &p, TT_FW_RULE_WILD_ALLOW), 1);
	tt_fw_list_free(&emp);
	tt_fw_list_free(&own);
	tt_fw_list_free(&other);
}
END_TEST

START_TEST(test_capacity)
{
	struct tt_fw_list l;
	tt_fw_list_init(&l, 20);
	for (int i = 0; i < 20; i++) {
		char v[64];
		snprintf(v, sizeof(v), "deny 10.0.0.%d any", i);
		ck_assert_int_eq(tt_fw_list_add(&l, v, NULL), 0);
	}
	ck_assert_uint_eq(l.n, 20);
	ck_assert_uint_le(l.cap, 20);
	struct err *e = NULL;
	ck_assert_int_eq(tt_fw_list_add(&l, "allow any any", &e), -1);
	ck_assert_str_eq(err_msg(e), "too many rules (at most 20)");
	err_free(&e);
	ck_assert_uint_eq(l.n, 20);
	/* A bad rule leaves the list as it was. */
	ck_assert_int_eq(tt_fw_list_add(&l, "allow bogus any", &e), -1);
	err_free(&e);
	ck_assert_uint_eq(l.n, 20);
	struct tt_pkt p = pkt("10.0.0.19", "1.1.1.1", IPPROTO_TCP, 1);
	ck_assert_int_eq(tt_fw_find(&l, &p, 0), 19);
	tt_fw_list_free(&l);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(l.max, 20);
	tt_fw_list_init(&l, 0);
	ck_assert_int_eq(tt_fw_list_add(&l, "allow any any", NULL), -1);
	tt_fw_list_free(&l);
}
END_TEST

START_TEST(test_policy_parse)
{
	enum tt_fw_action a = TT_FW_DENY;
	ck_assert_int_eq(tt_fw_policy_parse("allow", &a, NULL), 0);
	ck_assert_int_eq(a, TT_FW_ALLOW);
	ck_assert_int_eq(tt_fw_policy_parse("deny", &a, NULL), 0);
	ck_assert_int_eq(a, TT_FW_DENY);
	struct err *e = NULL;
	ck_assert_int_eq(tt_fw_policy_parse("drop", &a, &e), -1);
	ck_assert_str_eq(err_msg(e), "unknown policy 'drop' (allow or deny)");
	err_free(&e);
	ck_assert_int_eq(tt_fw_policy_parse("allow ", &a, NULL), -1);
}
END_TEST

START_TEST(test_addr_set)
{
	struct tt_addr_set s = {0};
	ck_assert_int_eq(tt_addr_set_add(&s, "10.0.0.2", NULL), 0);
	ck_assert_int_eq(tt_addr_set_add(&s, "fd00::2", NULL), 0);
	struct tt_pkt p = pkt("10.0.0.2", "1.1.1.1", IPPROTO_UDP, 1);
	ck_assert(tt_addr_set_has(&s, p.family, &p.src));
	ck_assert(!tt_addr_set_has(&s, p.family, &p.dst));
	p = pkt("10.0.0.3", "1.1.1.1", IPPROTO_UDP, 1);
	ck_assert(!tt_addr_set_has(&s, p.family, &p.src));
	p = pkt("fd00::2", "::1", IPPROTO_UDP, 1);
	ck_assert(tt_addr_set_has(&s, p.family, &p.src));
	p = pkt("fd00::2:0", "::1", IPPROTO_UDP, 1);
	ck_assert(!tt_addr_set_has(&s, p.family, &p.src));
	/* The mapped form in an IPv6 packet is not the IPv4 address. */
	p = pkt("::ffff:10.0.0.2", "::1", IPPROTO_UDP, 1);
	ck_assert(!tt_addr_set_has(&s, p.family, &p.src));
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"10.0.0.2", "given twice"},
	    {"fd00:0::2", "given twice"},
	    {"0.0.0.0", "unspecified"},
	    {"::", "unspecified"},
	    {"224.0.0.1", "not a unicast"},
	    {"255.255.255.255", "not a unicast"},
	    {"ff02::1", "not a unicast"},
	    {"10.0.0.0/24", "not an IPv4 or IPv6 address"},
	    {"host", "not an IPv4 or IPv6 address"},
	    {"", "not an IPv4 or IPv6 address"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err *e = NULL;
		ck_assert_int_eq(tt_addr_set_add(&s, bad[i].text, &e), -1);
		ck_assert_msg(strstr(err_msg(e), bad[i].why) != NULL, "'%s': %s", bad[i].text,
			      err_msg(e));
		err_free(&e);
	}
	ck_assert_uint_eq(s.n, 2);
	for (int i = 3; i < 3 + TT_ADDR_SET_MAX - 2; i++) {
		char v[32];
		snprintf(v, sizeof(v), "10.0.0.%d", i);
		ck_assert_int_eq(tt_addr_set_add(&s, v, NULL), 0);
	}
	struct err *e = NULL;
	ck_assert_int_eq(tt_addr_set_add(&s, "10.0.1.1", &e), -1);
	ck_assert_str_eq(err_msg(e), "too many addresses (at most 8)");
	err_free(&e);
	struct tt_addr_set empty = {0};
	ck_assert(!tt_addr_set_has(&empty, TT_IPV4, &p.src));
}
END_TEST

static Suite *tt_fw_suite(void)
{
	Suite *s = suite_create("tt_fw");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"parse_ok", test_parse_ok},
	    {"parse_errors", test_parse_errors},
	    {"uwsgi_compat", test_uwsgi_compat},
	    {"format_round_trip", test_format_round_trip},
	    {"first_match_wins", test_first_match_wins},
	    {"families", test_families},
	    {"prefixes", test_prefixes},
	    {"ports_and_protocols", test_ports_and_protocols},
	    {"fragments", test_fragments},
	    {"classified_packets", test_classified_packets},
	    {"layers", test_layers},
	    {"vassal_to_vassal", test_vassal_to_vassal},
	    {"capacity", test_capacity},
	    {"policy_parse", test_policy_parse},
	    {"addr_set", test_addr_set},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(tt_fw_suite());
}
