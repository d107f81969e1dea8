/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for the tuntap router's virtio_net_hdr handling (tuntap/path.c):
 * tt_vnet_check accepts a zero header on a packet within the MTU and a
 * segmentation header of each kind on a matching packet larger than the
 * MTU, and refuses unknown flags and types, a type not matching the packet,
 * a segment size of 0 or over the MTU, a fragment, a missing or misplaced
 * partial checksum and hdr_len past the packet; tt_vnet_csum completes a
 * partial TCP and UDP checksum (even and odd lengths) to what a plain
 * computation over the pseudo-header gives, and leaves a header without
 * the flag alone.
 */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <check.h>
#include <endian.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/internal.h"
#include "tests/unit/rfc1071.h"

#define MTU 1500
#define BUF 4096

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 packet of @n bytes (>= 40) with @proto's header at 20. */
static size_t mk4(uint8_t *d, uint8_t proto, size_t n, uint16_t frag)
{
	ck_assert_uint_le(n, BUF);
	memset(d, 0, n);
	d[0] = 0x45;
	put16(d + 2, (unsigned)n);
	put16(d + 6, frag);
	d[8] = 64;
	d[9] = proto;
	ck_assert_int_eq(inet_pton(AF_INET, "10.0.0.2", d + 12), 1);
	ck_assert_int_eq(inet_pton(AF_INET, "10.0.0.3", d + 16), 1);
	put16(d + 20, 40000);
	put16(d + 22, 80);
	if (proto == IPPROTO_TCP)
		d[32] = 0x50; /* data offset 5 */
	else if (proto == IPPROTO_UDP)
		put16(d + 24, (unsigned)(n - 20));
	for (size_t i = 40; i < n; i++)
		d[i] = (uint8_t)(i * 7 + 3);
	return n;
}

/* An IPv6 TCP packet of @n bytes (>= 60). */
static size_t mk6(uint8_t *d, size_t n)
{
	ck_assert_uint_le(n, BUF);
	memset(d, 0, n);
	d[0] = 0x60;
	put16(d + 4, (unsigned)(n - 40));
	d[6] = IPPROTO_TCP;
	d[7] = 64;
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::2", d + 8), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::3", d + 24), 1);
	put16(d + 40, 40000);
	put16(d + 42, 80);
	d[52] = 0x50;
	return n;
}

static struct virtio_net_hdr hdr(uint8_t flags, uint8_t type, unsigned gso, unsigned cs,
				 unsigned co)
{
	struct virtio_net_hdr h = {.flags = flags, .gso_type = type};
	h.gso_size = htole16((uint16_t)gso);
	h.csum_start = htole16((uint16_t)cs);
	h.csum_offset = htole16((uint16_t)co);
	h.hdr_len = htole16(cs ? (uint16_t)(cs + 20) : 0);
	return h;
}

static const char *check(const struct virtio_net_hdr *h, const uint8_t *d, size_t n)
{
	struct tt_pkt k;
	ck_assert_int_eq(tt_pkt_classify(d, n, &k), TT_PKT_OK);
	return tt_vnet_check(h, d, n, MTU, &k);
}

#define NEEDS VIRTIO_NET_HDR_F_NEEDS_CSUM
#define UDP_L4 5

START_TEST(test_plain)
{
	static uint8_t d[BUF];
	struct virtio_net_hdr z = {0};
	ck_assert_ptr_null(check(&z, d, mk4(d, IPPROTO_TCP, MTU, 0)));
	ck_assert_ptr_nonnull(check(&z, d, mk4(d, IPPROTO_TCP, MTU + 1, 0)));
	struct virtio_net_hdr h = hdr(NEEDS, 0, 0, 20, 16);
	ck_assert_ptr_null(check(&h, d, mk4(d, IPPROTO_TCP, 100, 0)));
	h = hdr(VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0);
	ck_assert_ptr_null(check(&h, d, mk4(d, IPPROTO_UDP, 100, 0)));
	h = hdr(0, 0, 1000, 0, 0); /* a segment size without segmentation */
	ck_assert_ptr_nonnull(check(&h, d, mk4(d, IPPROTO_TCP, 100, 0)));
}
END_TEST

START_TEST(test_gso_good)
{
	static uint8_t d[BUF];
	struct virtio_net_hdr h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, 1460, 20, 16);
	ck_assert_ptr_null(check(&h, d, mk4(d, IPPROTO_TCP, 3000, 0)));
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	ck_assert_ptr_null(check(&h, d, mk4(d, IPPROTO_TCP, 3000, 0)));
	h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV6, MTU, 40, 16);
	ck_assert_ptr_null(check(&h, d, mk6(d, 4000)));
	h = hdr(NEEDS, UDP_L4, 1472, 20, 6);
	ck_assert_ptr_null(check(&h, d, mk4(d, IPPROTO_UDP, 3000, 0)));
}
END_TEST

START_TEST(test_gso_size)
{
	static uint8_t d[BUF];
	size_t n = mk4(d, IPPROTO_TCP, 3000, 0);
	struct virtio_net_hdr h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, 0, 20, 16);
	ck_assert_ptr_nonnull(check(&h, d, n));
	h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, MTU + 1, 20, 16);
	ck_assert_ptr_nonnull(check(&h, d, n));
	h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, MTU, 20, 16);
	ck_assert_ptr_null(check(&h, d, n));
}
END_TEST

START_TEST(test_gso_type)
{
	static uint8_t d[BUF];
	size_t n4 = mk4(d, IPPROTO_TCP, 3000, 0);
	struct virtio_net_hdr h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV6, 1000, 20, 16);
	ck_assert_ptr_nonnull(check(&h, d, n4));
	h = hdr(NEEDS, UDP_L4, 1000, 20, 16);
	ck_assert_ptr_nonnull(check(&h, d, n4));
	h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_UDP, 1000, 20, 16);
	ck_assert_ptr_nonnull(check(&h, d, n4));
	h = hdr(NEEDS, 9, 1000, 20, 16);
	ck_assert_ptr_nonnull(check(&h, d, n4));
	size_t n6 = mk6(d, 3000);
	h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 40, 16);
	ck_assert_ptr_nonnull(check(&h, d, n6));
	size_t nu = mk4(d, IPPROTO_UDP, 3000, 0);
	h = hdr(NEEDS, UDP_L4 | VIRTIO_NET_HDR_GSO_ECN, 1000, 20, 6);
	ck_assert_ptr_nonnull(check(&h, d, nu));
	h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 20, 16);
	ck_assert_ptr_nonnull(check(&h, d, nu));
	size_t ni = mk4(d, IPPROTO_ICMP, 3000, 0);
	h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 20, 2);
	ck_assert_ptr_nonnull(check(&h, d, ni));
}
END_TEST

START_TEST(test_gso_fragment)
{
	static uint8_t d[BUF];
	size_t n = mk4(d, IPPROTO_TCP, 1400, 0x2000); /* first fragment */
	struct virtio_net_hdr h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 20, 16);
	ck_assert_ptr_nonnull(check(&h, d, n));
	struct virtio_net_hdr z = {0};
	ck_assert_ptr_null(check(&z, d, n));
}
END_TEST

START_TEST(test_flags_and_lengths)
{
	static uint8_t d[BUF];
	size_t n = mk4(d, IPPROTO_TCP, 200, 0);
	struct virtio_net_hdr h = hdr(4, 0, 0, 0, 0);
	ck_assert_ptr_nonnull(check(&h, d, n));
	h = hdr(0, 0, 0, 0, 0);
	h.hdr_len = htole16(201);
	ck_assert_ptr_nonnull(check(&h, d, n));
	h.hdr_len = htole16(200);
	ck_assert_ptr_null(check(&h, d, n));
}
END_TEST

START_TEST(test_csum_place)
{
	static uint8_t d[BUF];
	size_t n = mk4(d, IPPROTO_TCP, 200, 0);
	struct virtio_net_hdr h = hdr(NEEDS, 0, 0, 19, 16); /* before the TCP header */
	ck_assert_ptr_nonnull(check(&h, d, n));
	h = hdr(NEEDS, 0, 0, 20, 179); /* 20 + 179 + 2 > 200 */
	ck_assert_ptr_nonnull(check(&h, d, n));
	h = hdr(NEEDS, 0, 0, 20, 178);
	h.hdr_len = 0;
	ck_assert_ptr_null(check(&h, d, n));
	h = hdr(NEEDS, 0, 0, 0xffff, 0xffff);
	h.hdr_len = 0;
	ck_assert_ptr_nonnull(check(&h, d, n));
	n = mk4(d, IPPROTO_TCP, 3000, 0);
	h = hdr(0, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 20, 16); /* no partial checksum */
	ck_assert_ptr_nonnull(check(&h, d, n));
	h = hdr(NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 24, 12); /* not the TCP checksum */
	ck_assert_ptr_nonnull(check(&h, d, n));
}
END_TEST

/* The ones' complement sum of big-endian words, plainly. */
/* Fill in the IPv4 pseudo-header sum as a kernel leaves it, complete the
 * checksum, and compare with one computed from scratch. */
static void csum_case(uint8_t proto, size_t n)
{
	static uint8_t d[BUF];
	mk4(d, proto, n, 0);
	unsigned co = proto == IPPROTO_TCP ? 16 : 6;
	uint32_t ph = rfc1071_sum(d + 12, 8, 0) + proto + (uint32_t)(n - 20);
	put16(d + 20 + co, rfc1071_fold(ph));
	struct virtio_net_hdr h = hdr(NEEDS, 0, 0, 20, co);
	tt_vnet_csum(&h, d, n);
	ck_assert_int_eq(h.flags & NEEDS, 0);
	uint16_t got = (uint16_t)(d[20 + co] << 8 | d[20 + co + 1]);
	d[20 + co] = d[20 + co + 1] = 0;
	uint16_t want = (uint16_t)~rfc1071_fold(rfc1071_sum(d + 20, n - 20, ph));
	if (want == 0)
		want = 0xffff;
	ck_assert_uint_eq(got, want);
	/* The receiver's check: the whole sum, pseudo-header included, is 0xffff. */
	put16(d + 20 + co, got);
	ck_assert_uint_eq(rfc1071_fold(rfc1071_sum(d + 20, n - 20, ph)), 0xffff);
}

START_TEST(test_csum)
{
	for (size_t n = 40; n < 80; n++) {
		csum_case(IPPROTO_TCP, n);
		csum_case(IPPROTO_UDP, n);
	}
	csum_case(IPPROTO_TCP, 1500);
	csum_case(IPPROTO_UDP, 1501);
}
END_TEST

START_TEST(test_csum_noop)
{
	static uint8_t d[BUF], before[BUF];
	size_t n = mk4(d, IPPROTO_TCP, 100, 0);
	memcpy(before, d, n);
	struct virtio_net_hdr h = hdr(VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 20, 16);
	tt_vnet_csum(&h, d, n);
	ck_assert_int_eq(memcmp(before, d, n), 0);
	ck_assert_int_eq(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
}
END_TEST

static Suite *tt_vnet_suite(void)
{
	Suite *s = suite_create("tt_vnet");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"plain", test_plain},
	    {"gso_good", test_gso_good},
	    {"gso_size", test_gso_size},
	    {"gso_type", test_gso_type},
	    {"gso_fragment", test_gso_fragment},
	    {"flags_and_lengths", test_flags_and_lengths},
	    {"csum_place", test_csum_place},
	    {"csum", test_csum},
	    {"csum_noop", test_csum_noop},
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
	return unit_run(tt_vnet_suite());
}
