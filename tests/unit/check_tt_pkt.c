/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for tuntap/pkt.c: IPv4 and IPv6 packets built byte by byte are
 * classified with their addresses (IPv4 mapped), protocol, ports and ICMP
 * type; each drop reason is reached with the limit on both sides; fragments
 * (first, non-first, atomic, tiny, overlapping, oversized), IPv4 options and
 * IPv6 extension chains behave as pkt.h says; every truncation of a valid
 * packet, with its length field patched to match, is classified without a
 * read past the end (exact-size copies, for ASan).
 */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/pkt.h"

#define BUF 2048

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 packet: header with @opt, then @l4 and @pad zero bytes. */
static size_t mk4(uint8_t *d, const void *opt, size_t optlen, uint8_t proto, uint16_t frag,
		  const void *l4, size_t l4len, size_t pad)
{
	size_t ihl = 20 + optlen, n = ihl + l4len + pad;
	ck_assert_uint_le(n, BUF);
	memset(d, 0, n);
	d[0] = (uint8_t)(0x40 | ihl / 4);
	put16(d + 2, (unsigned)n);
	put16(d + 6, frag);
	d[8] = 64;
	d[9] = proto;
	ck_assert_int_eq(inet_pton(AF_INET, "10.0.0.2", d + 12), 1);
	ck_assert_int_eq(inet_pton(AF_INET, "192.168.1.7", d + 16), 1);
	if (optlen)
		memcpy(d + 20, opt, optlen);
	if (l4len)
		memcpy(d + ihl, l4, l4len);
	return n;
}

/* An IPv6 packet: header, the chain @ext starting with @nh, @l4, @pad. */
static size_t mk6(uint8_t *d, uint8_t nh, const void *ext, size_t extlen, const void *l4,
		  size_t l4len, size_t pad)
{
	size_t n = 40 + extlen + l4len + pad;
	ck_assert_uint_le(n, BUF);
	memset(d, 0, n);
	d[0] = 0x60;
	put16(d + 4, (unsigned)(n - 40));
	d[6] = nh;
	d[7] = 64;
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::2", d + 8), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::9", d + 24), 1);
	if (extlen)
		memcpy(d + 40, ext, extlen);
	if (l4len)
		memcpy(d + 40 + extlen, l4, l4len);
	return n;
}

/* Classify an exact-size copy (ASan sees any read past the end). */
static enum tt_pkt_drop cls(const uint8_t *d, size_t n, struct tt_pkt *p)
{
	uint8_t *c = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(c);
	memcpy(c, d, n);
	enum tt_pkt_drop r = tt_pkt_classify(c, n, p);
	free(c);
	ck_assert_uint_lt((unsigned)r, TT_PKT__COUNT);
	if (r == TT_PKT_OK) {
		ck_assert_uint_le(p->l4_off, n);
		ck_assert(p->family == TT_IPV4 || p->family == TT_IPV6);
	}
	return r;
}

static void ip_is(const union tt_ip *ip, int af, const char *text)
{
	uint8_t want[16] = {0};
	if (af == AF_INET) {
		want[10] = want[11] = 0xff;
		ck_assert_int_eq(inet_pton(AF_INET, text, want + 12), 1);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, want), 1);
	}
	ck_assert_mem_eq(ip->b, want, 16);
}

static const uint8_t tcp_hdr[20] = {0x9c, 0x40, 0x00, 0x50, [12] = 0x50}; /* 40000 -> 80 */
static const uint8_t udp_hdr[8] = {0x00, 0x35, 0x13, 0x89, 0x00, 0x08};	  /* 53 -> 5001 */
static const uint8_t icmp_echo[8] = {8, 0};
static const uint8_t icmp6_echo[8] = {128, 0};

START_TEST(test_v4_tcp)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	size_t n = mk4(d, NULL, 0, IPPROTO_TCP, 0, tcp_hdr, sizeof(tcp_hdr), 5);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.family, TT_IPV4);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	ck_assert_uint_eq(p.sport, 40000);
	ck_assert_uint_eq(p.dport, 80);
	ck_assert_uint_eq(p.flags, 0);
	ck_assert_uint_eq(p.l4_off, 20);
	ip_is(&p.src, AF_INET, "10.0.0.2");
	ip_is(&p.dst, AF_INET, "192.168.1.7");
	/* DF set is not a fragment. */
	n = mk4(d, NULL, 0, IPPROTO_TCP, 0x4000, tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.flags, 0);
}
END_TEST

START_TEST(test_v4_udp_icmp_other)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	size_t n = mk4(d, NULL, 0, IPPROTO_UDP, 0, udp_hdr, sizeof(udp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.sport, 53);
	ck_assert_uint_eq(p.dport, 5001);
	n = mk4(d, NULL, 0, IPPROTO_ICMP, 0, (uint8_t[]){3, 4, 0, 0, 0, 0, 5, 0xdc}, 8, 28);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.icmp_type, 3);
	ck_assert_uint_eq(p.icmp_code, 4);
	ck_assert_uint_eq(p.sport + p.dport, 0);
	/* GRE: no ports, nothing read past the IP header. */
	n = mk4(d, NULL, 0, IPPROTO_GRE, 0, NULL, 0, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.proto, IPPROTO_GRE);
	ck_assert_uint_eq(p.l4_off, 20);
	ck_assert_uint_eq(p.dport, 0);
}
END_TEST

START_TEST(test_short_and_version)
{
	uint8_t d[BUF] = {0};
	struct tt_pkt p;
	ck_assert_int_eq(cls(d, 0, &p), TT_PKT_SHORT);
	size_t n = mk4(d, NULL, 0, IPPROTO_GRE, 0, NULL, 0, 0);
	ck_assert_int_eq(cls(d, 19, &p), TT_PKT_SHORT);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	n = mk6(d, 59, NULL, 0, NULL, 0, 0);
	ck_assert_int_eq(cls(d, 39, &p), TT_PKT_SHORT);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	for (unsigned v = 0; v < 16; v++) {
		d[0] = (uint8_t)(v << 4 | 5);
		if (v != 4 && v != 6)
			ck_assert_int_eq(cls(d, n, &p), TT_PKT_VERSION);
	}
}
END_TEST

START_TEST(test_v4_ihl)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	size_t n = mk4(d, NULL, 0, IPPROTO_GRE, 0, NULL, 0, 20);
	for (unsigned ihl = 0; ihl < 5; ihl++) {
		d[0] = (uint8_t)(0x40 | ihl);
		ck_assert_int_eq(cls(d, n, &p), TT_PKT_V4_IHL);
	}
	d[0] = 0x4a; /* 40 bytes: exactly the packet, options all EOL */
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.l4_off, 40);
	d[0] = 0x4b; /* 44 > 40 */
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V4_IHL);
}
END_TEST

START_TEST(test_v4_length)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	size_t n = mk4(d, NULL, 0, IPPROTO_UDP, 0, udp_hdr, sizeof(udp_hdr), 4);
	/* Trailing bytes are refused, as is a length beyond the buffer. */
	ck_assert_int_eq(cls(d, n + 1, &p), TT_PKT_V4_LENGTH);
	put16(d + 2, (unsigned)n - 1);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V4_LENGTH);
	put16(d + 2, (unsigned)n + 1);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V4_LENGTH);
	put16(d + 2, (unsigned)n);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
}
END_TEST

START_TEST(test_v4_options)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	/* NOP, NOP, record route (7 bytes, harmless), EOL. */
	const uint8_t rr[12] = {1, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0};
	size_t n = mk4(d, rr, sizeof(rr), IPPROTO_TCP, 0, tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.l4_off, 32);
	ck_assert_uint_eq(p.dport, 80);
	/* An option of length 1, and one running past the header. */
	n = mk4(d, (uint8_t[]){7, 1, 0, 0}, 4, IPPROTO_TCP, 0, tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V4_OPTIONS);
	n = mk4(d, (uint8_t[]){1, 1, 7, 3}, 4, IPPROTO_TCP, 0, tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V4_OPTIONS);
	n = mk4(d, (uint8_t[]){1, 1, 1, 7}, 4, IPPROTO_TCP, 0, tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V4_OPTIONS);
	/* Loose and strict source routes. */
	const uint8_t lsrr[8] = {0x83, 7, 4, 10, 0, 0, 1, 0};
	n = mk4(d, lsrr, sizeof(lsrr), IPPROTO_TCP, 0, tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_SOURCE_ROUTE);
	const uint8_t ssrr[8] = {1, 0x89, 6, 4, 10, 0, 0, 1};
	n = mk4(d, ssrr, sizeof(ssrr), IPPROTO_TCP, 0, tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_SOURCE_ROUTE);
	/* Past EOL nothing is read. */
	n = mk4(d, (uint8_t[]){0, 0x83, 9, 9}, 4, IPPROTO_TCP, 0, tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
}
END_TEST

START_TEST(test_v4_fragments)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	/* First fragment (MF, offset 0) with the whole TCP header. */
	size_t n = mk4(d, NULL, 0, IPPROTO_TCP, 0x2000, tcp_hdr, sizeof(tcp_hdr), 4);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.flags, TT_PKT_F_FRAG);
	ck_assert_uint_eq(p.dport, 80);
	/* A tiny first fragment: ports present, TCP header not whole. */
	n = mk4(d, NULL, 0, IPPROTO_TCP, 0x2000, tcp_hdr, 8, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_L4_SHORT);
	n = mk4(d, NULL, 0, IPPROTO_UDP, 0x2000, udp_hdr, 4, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_L4_SHORT);
	/* Non-first fragments: no upper-layer header, ports unknown. */
	n = mk4(d, NULL, 0, IPPROTO_TCP, 0x2000 | 3, tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.flags, TT_PKT_F_FRAG | TT_PKT_F_NOL4);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	ck_assert_uint_eq(p.sport + p.dport, 0);
	ck_assert_uint_eq(p.l4_off, n);
	n = mk4(d, NULL, 0, IPPROTO_UDP, 7, NULL, 0, 3); /* last fragment, 3 bytes */
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.flags, TT_PKT_F_FRAG | TT_PKT_F_NOL4);
	/* TCP at offset 1 (8 bytes) could rewrite the TCP flags; UDP may. */
	n = mk4(d, NULL, 0, IPPROTO_TCP, 0x2001, NULL, 0, 16);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_FRAGMENT);
	n = mk4(d, NULL, 0, IPPROTO_UDP, 0x2001, NULL, 0, 16);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	/* Reassembly past 65535 bytes: offset 65512 with 23 bytes is the limit. */
	n = mk4(d, NULL, 0, IPPROTO_UDP, 8189, NULL, 0, 3);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	n = mk4(d, NULL, 0, IPPROTO_UDP, 8189, NULL, 0, 4);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_FRAGMENT);
}
END_TEST

START_TEST(test_v6_basic)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	size_t n = mk6(d, IPPROTO_TCP, NULL, 0, tcp_hdr, sizeof(tcp_hdr), 10);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.family, TT_IPV6);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	ck_assert_uint_eq(p.dport, 80);
	ck_assert_uint_eq(p.l4_off, 40);
	ip_is(&p.src, AF_INET6, "fd00::2");
	ip_is(&p.dst, AF_INET6, "2001:db8::9");
	n = mk6(d, IPPROTO_UDP, NULL, 0, udp_hdr, sizeof(udp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.sport, 53);
	n = mk6(d, IPPROTO_ICMPV6, NULL, 0, icmp6_echo, 4, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.icmp_type, 128);
	n = mk6(d, IPPROTO_ICMPV6, NULL, 0, icmp6_echo, 3, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_L4_SHORT);
	/* No next header: nothing after the header. */
	n = mk6(d, 59, NULL, 0, NULL, 0, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.proto, 59);
	/* An IPv4-mapped source in an IPv6 packet stays IPv6. */
	n = mk6(d, IPPROTO_UDP, NULL, 0, udp_hdr, sizeof(udp_hdr), 0);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.0.0.2", d + 8), 1);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.family, TT_IPV6);
	ip_is(&p.src, AF_INET, "10.0.0.2");
}
END_TEST

START_TEST(test_v6_length)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	size_t n = mk6(d, IPPROTO_UDP, NULL, 0, udp_hdr, sizeof(udp_hdr), 2);
	ck_assert_int_eq(cls(d, n + 1, &p), TT_PKT_V6_LENGTH);
	put16(d + 4, (unsigned)(n - 41));
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V6_LENGTH);
	put16(d + 4, 0); /* a jumbogram's zero: refused */
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V6_LENGTH);
	put16(d + 4, (unsigned)(n - 40));
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
}
END_TEST

START_TEST(test_v6_ext_chain)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	/* hop-by-hop (8) -> destination options (16) -> routing, segments
	 * left 0 (8) -> AH (12) -> TCP. */
	uint8_t ext[44] = {0};
	ext[0] = IPPROTO_DSTOPTS;
	ext[1] = 0;
	ext[8] = IPPROTO_ROUTING;
	ext[9] = 1;
	ext[24] = IPPROTO_AH;
	ext[25] = 0;
	ext[26] = 2; /* type 2, segments left 0 */
	ext[32] = IPPROTO_TCP;
	ext[33] = 1; /* (1 + 2) * 4 = 12 */
	size_t n = mk6(d, IPPROTO_HOPOPTS, ext, sizeof(ext), tcp_hdr, sizeof(tcp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	ck_assert_uint_eq(p.l4_off, 84);
	ck_assert_uint_eq(p.dport, 80);
	/* ESP ends the walk: opaque. */
	n = mk6(d, IPPROTO_DSTOPTS, (uint8_t[8]){IPPROTO_ESP}, 8, NULL, 0, 16);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.proto, IPPROTO_ESP);
	ck_assert_uint_eq(p.l4_off, 48);
}
END_TEST

START_TEST(test_v6_ext_bad)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	/* Hop-by-hop after another header. */
	uint8_t ext[16] = {IPPROTO_HOPOPTS, 0, [8] = 59};
	size_t n = mk6(d, IPPROTO_DSTOPTS, ext, sizeof(ext), NULL, 0, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V6_EXT);
	/* Truncated: fewer than 8 bytes left, or a length past the end. */
	n = mk6(d, IPPROTO_DSTOPTS, NULL, 0, NULL, 0, 7);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V6_EXT);
	n = mk6(d, IPPROTO_DSTOPTS, (uint8_t[8]){59, 1}, 8, NULL, 0, 7);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V6_EXT);
	n = mk6(d, IPPROTO_DSTOPTS, (uint8_t[8]){59, 1}, 8, NULL, 0, 8);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	/* The chain bound: TT_PKT_V6_EXT_MAX headers pass, one more does not. */
	uint8_t many[8 * (TT_PKT_V6_EXT_MAX + 1)] = {0};
	for (size_t i = 0; i <= TT_PKT_V6_EXT_MAX; i++)
		many[8 * i] = IPPROTO_DSTOPTS;
	many[8 * (TT_PKT_V6_EXT_MAX - 1)] = 59;
	n = mk6(d, IPPROTO_DSTOPTS, many, 8 * TT_PKT_V6_EXT_MAX, NULL, 0, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	many[8 * (TT_PKT_V6_EXT_MAX - 1)] = IPPROTO_DSTOPTS;
	many[8 * TT_PKT_V6_EXT_MAX] = 59;
	n = mk6(d, IPPROTO_DSTOPTS, many, sizeof(many), NULL, 0, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V6_EXT);
}
END_TEST

START_TEST(test_v6_routing)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	for (unsigned type = 0; type < 5; type++) {
		uint8_t rh[24] = {IPPROTO_UDP, 2, (uint8_t)type, 1};
		size_t n = mk6(d, IPPROTO_ROUTING, rh, sizeof(rh), udp_hdr, sizeof(udp_hdr), 0);
		ck_assert_int_eq(cls(d, n, &p), TT_PKT_SOURCE_ROUTE);
		rh[3] = 0;
		n = mk6(d, IPPROTO_ROUTING, rh, sizeof(rh), udp_hdr, sizeof(udp_hdr), 0);
		ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
		ck_assert_uint_eq(p.dport, 5001);
	}
}
END_TEST

START_TEST(test_v6_fragments)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	/* First fragment: offset 0, M set, UDP header whole. */
	uint8_t fh[8] = {IPPROTO_UDP, 0, 0x00, 0x01, 1, 2, 3, 4};
	size_t n = mk6(d, IPPROTO_FRAGMENT, fh, 8, udp_hdr, sizeof(udp_hdr), 8);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.flags, TT_PKT_F_FRAG);
	ck_assert_uint_eq(p.dport, 5001);
	/* First fragment without the whole upper-layer header (RFC 7112). */
	n = mk6(d, IPPROTO_FRAGMENT, fh, 8, udp_hdr, 4, 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_L4_SHORT);
	/* Non-first: offset 16, ports unknown, protocol from the header. */
	fh[3] = 0x10;
	n = mk6(d, IPPROTO_FRAGMENT, fh, 8, NULL, 0, 16);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.flags, TT_PKT_F_FRAG | TT_PKT_F_NOL4);
	ck_assert_uint_eq(p.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.l4_off, n);
	ck_assert_uint_eq(p.dport, 0);
	/* Atomic fragment: offset 0, M clear, a whole packet. */
	fh[3] = 0;
	n = mk6(d, IPPROTO_FRAGMENT, fh, 8, udp_hdr, sizeof(udp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	ck_assert_uint_eq(p.flags, 0);
	ck_assert_uint_eq(p.dport, 5001);
	/* Two fragment headers. */
	uint8_t two[16] = {IPPROTO_FRAGMENT, 0, 0, 1, [8] = IPPROTO_UDP, [11] = 1};
	n = mk6(d, IPPROTO_FRAGMENT, two, 16, udp_hdr, sizeof(udp_hdr), 0);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_V6_EXT);
	/* Reassembly past 65535: offset 65528 + 8 bytes is the limit. */
	uint8_t last[8] = {IPPROTO_UDP, 0, 0xff, 0xf8};
	n = mk6(d, IPPROTO_FRAGMENT, last, 8, NULL, 0, 7);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_OK);
	n = mk6(d, IPPROTO_FRAGMENT, last, 8, NULL, 0, 8);
	ck_assert_int_eq(cls(d, n, &p), TT_PKT_FRAGMENT);
}
END_TEST

/*
 * Every valid packet cut at every length, its length field patched to the
 * cut: classified without a read past the end, and never with an upper
 * layer past the end.
 */
START_TEST(test_truncations)
{
	uint8_t d[BUF];
	struct tt_pkt p;
	/* hop-by-hop -> fragment (offset 0, M) -> TCP */
	uint8_t ext[16] = {IPPROTO_FRAGMENT, 0, [8] = IPPROTO_TCP, [11] = 1};
	size_t lens[6];
	uint8_t pkts[6][BUF];
	lens[0] = mk4(pkts[0], NULL, 0, IPPROTO_TCP, 0, tcp_hdr, sizeof(tcp_hdr), 3);
	lens[1] = mk4(pkts[1], (uint8_t[]){1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0, 0}, 12, IPPROTO_UDP, 0,
		      udp_hdr, sizeof(udp_hdr), 0);
	lens[2] = mk4(pkts[2], NULL, 0, IPPROTO_ICMP, 0, icmp_echo, 8, 0);
	lens[3] = mk6(pkts[3], IPPROTO_HOPOPTS, ext, sizeof(ext), tcp_hdr, sizeof(tcp_hdr), 0);
	lens[4] = mk6(pkts[4], IPPROTO_ICMPV6, NULL, 0, icmp6_echo, 8, 0);
	lens[5] = mk6(pkts[5], IPPROTO_AH, (uint8_t[12]){IPPROTO_UDP, 1}, 12, udp_hdr, 8, 0);
	for (size_t k = 0; k < 6; k++) {
		ck_assert_int_eq(cls(pkts[k], lens[k], &p), TT_PKT_OK);
		for (size_t cut = 0; cut < lens[k]; cut++) {
			memcpy(d, pkts[k], cut);
			if (cut >= 4 && (d[0] >> 4) == 4)
				put16(d + 2, (unsigned)cut);
			if (cut >= 6 && (d[0] >> 4) == 6)
				put16(d + 4, cut >= 40 ? (unsigned)(cut - 40) : 0);
			enum tt_pkt_drop r = cls(d, cut, &p);
			/* What remains may be whole only when the cut falls on
			 * the end of a header that needs nothing after it. */
			if (r == TT_PKT_OK)
				ck_assert_uint_le(p.l4_off, cut);
		}
	}
}
END_TEST

START_TEST(test_drop_names)
{
	for (unsigned i = 0; i < TT_PKT__COUNT; i++) {
		const char *n = tt_pkt_drop_name((enum tt_pkt_drop)i);
		ck_assert_ptr_nonnull(n);
		ck_assert_str_ne(n, "unknown");
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(n, tt_pkt_drop_name((enum tt_pkt_drop)j));
	}
	ck_assert_str_eq(tt_pkt_drop_name(TT_PKT_OK), "ok");
	ck_assert_str_eq(tt_pkt_drop_name(TT_PKT_SOURCE_ROUTE), "source_route");
	ck_assert_str_eq(tt_pkt_drop_name(TT_PKT__COUNT), "unknown");
	ck_assert_str_eq(tt_pkt_drop_name((enum tt_pkt_drop)(TT_PKT__COUNT + 5)), "unknown");
}
END_TEST

static Suite *tt_pkt_suite(void)
{
	Suite *s = suite_create("tt_pkt");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"v4_tcp", test_v4_tcp},
	    {"v4_udp_icmp_other", test_v4_udp_icmp_other},
	    {"short_and_version", test_short_and_version},
	    {"v4_ihl", test_v4_ihl},
	    {"v4_length", test_v4_length},
	    {"v4_options", test_v4_options},
	    {"v4_fragments", test_v4_fragments},
	    {"v6_basic", test_v6_basic},
	    {"v6_length", test_v6_length},
	    {"v6_ext_chain", test_v6_ext_chain},
	    {"v6_ext_bad", test_v6_ext_bad},
	    {"v6_routing", test_v6_routing},
	    {"v6_fragments", test_v6_fragments},
	    {"truncations", test_truncations},
	    {"drop_names", test_drop_names},
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
	return unit_run(tt_pkt_suite());
}
