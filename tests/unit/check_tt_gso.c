/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for tuntap/gso.c: TSO packets over IPv4 (with and without
 * options) and IPv6 (with and without a destination-options header) and
 * USO packets over both are cut, and every segment is checked against the
 * original with a checksum computed here plainly (16-bit big-endian words,
 * RFC 1071), not the module's: lengths, IPv4 identification (wrapping) and
 * header checksum, TCP sequence numbers and flags (FIN and PSH last, CWR
 * first), options copied, the upper-layer checksum with the pseudo-header,
 * UDP's computed 0 sent as 0xffff, and the payloads, in order, adding up to
 * the original's. Edge sizes (an exact multiple of the segment size, less
 * than one segment, no payload), refusals that emit nothing, and a seeded
 * property run over random sizes and headers.
 */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <check.h>
#include <endian.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/gso.h"
#include "tuntap/internal.h"
#include "tests/unit/rfc1071.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define PKT_MAX 65600
#define FIN 0x01
#define PSH 0x08
#define ACK 0x10
#define ECE 0x40
#define CWR 0x80
#define REC_MAX 64 /* segments whose summary a test can look at */

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The pseudo-header's sum for an upper-layer length @ulen of packet @d. */
static uint32_t pseudo(const uint8_t *d, bool v4, uint8_t proto, size_t ulen)
{
	uint32_t s = v4 ? rfc1071_sum(d + 12, 8, 0) : rfc1071_sum(d + 8, 32, 0);
	return s + proto + (uint32_t)ulen;
}

/* ---- packets ---- */

static uint32_t rnd_state;

static uint32_t rnd(void)
{
	uint32_t x = rnd_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rnd_state = x;
}

struct spec {
	bool v4;
	uint8_t proto;	/* IPPROTO_TCP or IPPROTO_UDP */
	size_t ipx;	/* IPv4 option bytes (4k) or IPv6 destination options (8k) */
	size_t tcpx;	/* TCP option bytes (4k) */
	uint8_t flags;	/* TCP */
	uint16_t id;	/* IPv4 */
	uint32_t seq;	/* TCP */
	size_t payload; /* bytes */
	size_t mss;	/* gso_size */
	bool junk_csum; /* the check field holds junk, not the pseudo-header's sum */
	uint32_t seed;	/* of the payload bytes */
};

/* A packet built from @sp into d[0..return), with the headers' lengths. */
static size_t build(const struct spec *sp, uint8_t *d, size_t *l4, size_t *hl)
{
	size_t ip = sp->v4 ? 20 + sp->ipx : 40 + sp->ipx;
	size_t l4len = sp->proto == IPPROTO_TCP ? 20 + sp->tcpx : 8;
	size_t n = ip + l4len + sp->payload;
	ck_assert_uint_le(n, PKT_MAX);
	memset(d, 0, ip + l4len);
	if (sp->v4) {
		d[0] = (uint8_t)(0x40 | ip / 4);
		put16(d + 2, (unsigned)n);
		put16(d + 4, sp->id);
		d[6] = 0x40; /* DF */
		d[8] = 64;
		d[9] = sp->proto;
		ck_assert_int_eq(inet_pton(AF_INET, "10.0.0.2", d + 12), 1);
		ck_assert_int_eq(inet_pton(AF_INET, "192.168.200.77", d + 16), 1);
		for (size_t i = 0; i < sp->ipx; i += 4) /* router alert */
			memcpy(d + 20 + i, "\x94\x04\x00\x00", 4);
		put16(d + 10, (unsigned)(0xffff & ~rfc1071_fold(rfc1071_sum(d, ip, 0))));
	} else {
		d[0] = 0x60;
		d[1] = 0x01; /* a flow label */
		put16(d + 4, (unsigned)(n - 40));
		d[6] = sp->ipx ? IPPROTO_DSTOPTS : sp->proto;
		d[7] = 64;
		ck_assert_int_eq(inet_pton(AF_INET6, "fd00::2", d + 8), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, "fd00:abcd::9:3", d + 24), 1);
		if (sp->ipx) {
			d[40] = sp->proto;
			d[41] = (uint8_t)(sp->ipx / 8 - 1);
			d[42] = 1; /* PadN over the rest */
			d[43] = (uint8_t)(sp->ipx - 4);
		}
	}
	uint8_t *t = d + ip;
	put16(t, 40000);
	put16(t + 2, sp->proto == IPPROTO_TCP ? 80 : 53);
	if (sp->proto == IPPROTO_TCP) {
		t[4] = (uint8_t)(sp->seq >> 24);
		t[5] = (uint8_t)(sp->seq >> 16);
		t[6] = (uint8_t)(sp->seq >> 8);
		t[7] = (uint8_t)sp->seq;
		memcpy(t + 8, "\x11\x22\x33\x44", 4);
		t[12] = (uint8_t)(l4len / 4 << 4);
		t[13] = sp->flags;
		put16(t + 14, 502);
		for (size_t i = 0; i < sp->tcpx; i++) /* NOP, NOP, timestamps, ... */
			t[20 + i] = i % 12 < 2	  ? 1
				    : i % 12 == 2 ? 8
				    : i % 12 == 3 ? 10
						  : (uint8_t)i;
	} else {
		put16(t + 4, (unsigned)(l4len + sp->payload));
	}
	rnd_state = sp->seed | 1;
	for (size_t i = 0; i < sp->payload; i++)
		t[l4len + i] = (uint8_t)rnd();
	unsigned co = sp->proto == IPPROTO_TCP ? 16 : 6;
	uint16_t partial = rfc1071_fold(pseudo(d, sp->v4, sp->proto, l4len + sp->payload));
	put16(t + co, sp->junk_csum ? 0xdead : partial);
	*l4 = ip;
	*hl = ip + l4len;
	return n;
}

static struct virtio_net_hdr vhdr(const struct spec *sp, size_t l4, size_t hl)
{
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};
	h.gso_type = sp->proto == IPPROTO_UDP ? VIRTIO_NET_HDR_GSO_UDP_L4
		     : sp->v4		      ? VIRTIO_NET_HDR_GSO_TCPV4
					      : VIRTIO_NET_HDR_GSO_TCPV6;
	h.gso_size = htole16((uint16_t)sp->mss);
	h.hdr_len = htole16((uint16_t)hl);
	h.csum_start = htole16((uint16_t)l4);
	h.csum_offset = htole16(sp->proto == IPPROTO_TCP ? 16 : 6);
	return h;
}

/* ---- checking the segments as they come ---- */

struct seg_rec {
	size_t len, plen;
	uint8_t flags;
	unsigned id, csum;
	uint32_t seq;
};

struct verify {
	const struct spec *sp;
	const uint8_t *pkt;
	size_t len, l4, hl;
	size_t n;   /* segments expected */
	size_t i;   /* segments seen */
	size_t off; /* payload bytes seen */
	struct seg_rec rec[REC_MAX];
};

/* Header bytes @s[from..to) equal the original's. */
static void same(const struct verify *v, const uint8_t *s, size_t from, size_t to)
{
	ck_assert_int_eq(memcmp(s + from, v->pkt + from, to - from), 0);
}

static void check_ip(const struct verify *v, const uint8_t *s, size_t len)
{
	if (v->sp->v4) {
		same(v, s, 0, 2);
		ck_assert_uint_eq(get16(s + 2), len);
		ck_assert_uint_eq(get16(s + 4), (v->sp->id + v->i) & 0xffff);
		same(v, s, 6, 10);
		same(v, s, 12, v->l4);
		ck_assert_uint_eq(rfc1071_fold(rfc1071_sum(s, v->l4, 0)), 0xffff);
	} else {
		same(v, s, 0, 4);
		ck_assert_uint_eq(get16(s + 4), len - 40);
		same(v, s, 6, v->l4); /* addresses and extension headers */
	}
}

static void check_l4(const struct verify *v, const uint8_t *s, size_t len, size_t plen)
{
	const uint8_t *t = s + v->l4;
	size_t ulen = len - v->l4;
	bool last = v->i + 1 == v->n, first = v->i == 0;
	if (v->sp->proto == IPPROTO_TCP) {
		same(v, s, v->l4, v->l4 + 4);
		ck_assert_uint_eq(get32(t + 4), (uint32_t)(v->sp->seq + v->off));
		same(v, s, v->l4 + 8, v->l4 + 13);
		uint8_t want = v->sp->flags;
		if (!last)
			want &= (uint8_t) ~(FIN | PSH);
		if (!first)
			want &= (uint8_t)~CWR;
		ck_assert_uint_eq(t[13], want);
		same(v, s, v->l4 + 14, v->l4 + 16);
		same(v, s, v->l4 + 18, v->hl); /* urgent pointer, options */
	} else {
		same(v, s, v->l4, v->l4 + 4);
		ck_assert_uint_eq(get16(t + 4), 8 + plen);
		ck_assert_uint_ne(get16(t + 6), 0);
	}
	uint32_t ph = pseudo(s, v->sp->v4, v->sp->proto, ulen);
	ck_assert_uint_eq(rfc1071_fold(rfc1071_sum(t, ulen, ph)), 0xffff);
}

static void on_segment(void *arg, const uint8_t *s, size_t len)
{
	struct verify *v = arg;
	ck_assert_uint_lt(v->i, v->n);
	size_t left = v->len - v->hl - v->off;
	size_t plen = left < v->sp->mss ? left : v->sp->mss;
	ck_assert_uint_eq(len, v->hl + plen);
	check_ip(v, s, len);
	check_l4(v, s, len, plen);
	ck_assert_int_eq(memcmp(s + v->hl, v->pkt + v->hl + v->off, plen), 0);
	struct tt_pkt k;
	ck_assert_int_eq(tt_pkt_classify(s, len, &k), TT_PKT_OK);
	ck_assert_uint_eq(k.l4_off, v->l4);
	if (v->i < REC_MAX) {
		struct seg_rec *r = &v->rec[v->i];
		r->len = len;
		r->plen = plen;
		bool tcp = v->sp->proto == IPPROTO_TCP;
		r->flags = tcp ? s[v->l4 + 13] : 0;
		r->id = v->sp->v4 ? get16(s + 4) : 0;
		r->seq = tcp ? get32(s + v->l4 + 4) : 0;
		r->csum = get16(s + v->l4 + (tcp ? 16 : 6));
	}
	v->off += plen;
	v->i++;
}

static uint8_t *scratch_new(void)
{
	uint8_t *s = malloc(TT_GSO_SCRATCH);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Cut pkt[0..len) (built from @sp, headers @l4 and @hl long) with @h,
 * checking every segment into @v; asserts the count. */
static int run(const struct spec *sp, const struct virtio_net_hdr *h, const uint8_t *pkt,
	       size_t len, size_t l4, size_t hl, struct verify *v)
{
	memset(v, 0, sizeof(*v));
	v->sp = sp;
	v->pkt = pkt;
	v->len = len;
	v->l4 = l4;
	v->hl = hl;
	size_t payload = len - hl;
	v->n = payload == 0 ? 1 : (payload + sp->mss - 1) / sp->mss;
	struct tt_pkt k;
	ck_assert_int_eq(tt_pkt_classify(pkt, len, &k), TT_PKT_OK);
	ck_assert_ptr_null(tt_vnet_check(h, pkt, len, 65535, &k));
	uint8_t *scratch = scratch_new();
	int r = tt_gso_segment(h, pkt, len, &k, scratch, on_segment, v);
	free(scratch);
	ck_assert_int_eq(r, (int)v->n);
	ck_assert_uint_eq(v->i, v->n);
	ck_assert_uint_eq(v->off, payload);
	return r;
}

/* Build @sp into @pkt, cut it and check every segment. */
static int cut(const struct spec *sp, uint8_t *pkt, struct verify *v)
{
	size_t l4, hl, len = build(sp, pkt, &l4, &hl);
	struct virtio_net_hdr h = vhdr(sp, l4, hl);
	return run(sp, &h, pkt, len, l4, hl, v);
}

static uint8_t pkt_buf[PKT_MAX];

/* ---- cases ---- */

START_TEST(test_tcp4)
{
	struct spec sp = {.v4 = true,
			  .proto = IPPROTO_TCP,
			  .tcpx = 12,
			  .flags = ACK | PSH | FIN,
			  .id = 0x1234,
			  .seq = 0xfffff000,
			  .payload = 10000,
			  .mss = 1448,
			  .seed = 7};
	struct verify v;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 7);
	for (size_t i = 0; i < 7; i++) {
		ck_assert_uint_eq(v.rec[i].plen, i < 6 ? 1448 : 10000 - 6 * 1448);
		ck_assert_uint_eq(v.rec[i].len, 20 + 32 + v.rec[i].plen);
		ck_assert_uint_eq(v.rec[i].id, 0x1234 + i);
		ck_assert_uint_eq(v.rec[i].seq, (uint32_t)(0xfffff000 + i * 1448)); /* wraps */
		ck_assert_uint_eq(v.rec[i].flags, i < 6 ? ACK : ACK | PSH | FIN);
	}
}
END_TEST

START_TEST(test_tcp4_id_wrap)
{
	struct spec sp = {.v4 = true,
			  .proto = IPPROTO_TCP,
			  .flags = ACK,
			  .id = 0xfffd,
			  .payload = 5000,
			  .mss = 1000,
			  .seed = 3};
	struct verify v;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 5);
	unsigned want[] = {0xfffd, 0xfffe, 0xffff, 0, 1};
	for (size_t i = 0; i < 5; i++)
		ck_assert_uint_eq(v.rec[i].id, want[i]);
}
END_TEST

START_TEST(test_tcp_flags)
{
	struct spec sp = {.v4 = true,
			  .proto = IPPROTO_TCP,
			  .flags = CWR | ECE | ACK | PSH | FIN,
			  .payload = 3000,
			  .mss = 1000,
			  .seed = 5};
	struct verify v;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 3);
	ck_assert_uint_eq(v.rec[0].flags, CWR | ECE | ACK);
	ck_assert_uint_eq(v.rec[1].flags, ECE | ACK);
	ck_assert_uint_eq(v.rec[2].flags, ECE | ACK | PSH | FIN);
}
END_TEST

START_TEST(test_tcp_options)
{
	/* Timestamps (data offset 8) and the largest TCP header (offset 15):
	 * check_l4 compares every option byte with the original's. */
	struct spec sp = {.v4 = true,
			  .proto = IPPROTO_TCP,
			  .tcpx = 12,
			  .flags = ACK,
			  .payload = 4000,
			  .mss = 1400,
			  .seed = 11};
	struct verify v;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 3);
	ck_assert_uint_eq(pkt_buf[20 + 12], 0x80);
	sp.tcpx = 40;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 3);
	ck_assert_uint_eq(v.rec[0].len, 20 + 60 + 1400);
}
END_TEST

START_TEST(test_ip4_options)
{
	struct spec sp = {.v4 = true,
			  .proto = IPPROTO_TCP,
			  .ipx = 4,
			  .tcpx = 12,
			  .flags = ACK,
			  .id = 9,
			  .payload = 3001,
			  .mss = 1000,
			  .seed = 13};
	struct verify v;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 4);
	ck_assert_uint_eq(v.l4, 24);
	ck_assert_uint_eq(v.rec[3].len, 24 + 32 + 1);
	sp.ipx = 40;
	sp.proto = IPPROTO_UDP;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 4);
}
END_TEST

START_TEST(test_tcp6)
{
	struct spec sp = {.proto = IPPROTO_TCP,
			  .tcpx = 12,
			  .flags = ACK | PSH,
			  .seq = 1,
			  .payload = 10000,
			  .mss = 1428,
			  .seed = 17};
	struct verify v;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 8);
	ck_assert_uint_eq(v.rec[0].len, 40 + 32 + 1428);
	ck_assert_uint_eq(get16(pkt_buf + 4), 32 + 10000);
	ck_assert_uint_eq(v.rec[7].flags, ACK | PSH);
}
END_TEST

START_TEST(test_tcp6_ext)
{
	/* A destination-options header before TCP: copied into every segment,
	 * counted in each one's payload length (check_ip), not in the
	 * pseudo-header's upper-layer length (check_l4). */
	struct spec sp = {.proto = IPPROTO_TCP,
			  .ipx = 8,
			  .tcpx = 12,
			  .flags = ACK,
			  .seq = 77,
			  .payload = 3000,
			  .mss = 1400,
			  .seed = 19};
	struct verify v;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 3);
	ck_assert_uint_eq(v.l4, 48);
	ck_assert_uint_eq(v.rec[0].len, 48 + 32 + 1400);
	sp.ipx = 24;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 3);
	ck_assert_uint_eq(v.l4, 64);
}
END_TEST

START_TEST(test_udp)
{
	struct spec sp = {
	    .v4 = true, .proto = IPPROTO_UDP, .id = 100, .payload = 4000, .mss = 1472, .seed = 23};
	struct verify v;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 3);
	ck_assert_uint_eq(v.rec[2].len, 20 + 8 + 4000 - 2 * 1472);
	sp.v4 = false;
	sp.ipx = 16;
	sp.mss = 1000;
	sp.payload = 2999; /* an odd last segment */
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 3);
	ck_assert_uint_eq(v.rec[2].plen, 999);
}
END_TEST

/* Make the checksum of segment @seg (payload bytes from @off, @plen of
 * them) compute to 0: its first payload word (at an even offset from the
 * UDP header) takes the value that makes the whole sum 0xffff. */
static void zero_udp_sum(uint8_t *d, bool v4, size_t l4, size_t off, size_t plen)
{
	uint8_t *p = d + l4 + 8 + off;
	p[0] = p[1] = 0;
	uint8_t udp[8];
	memcpy(udp, d + l4, 4);
	put16(udp + 4, (unsigned)(8 + plen));
	udp[6] = udp[7] = 0;
	uint32_t s = rfc1071_sum(udp, 8, pseudo(d, v4, IPPROTO_UDP, 8 + plen));
	put16(p, 0xffff - rfc1071_fold(rfc1071_sum(p, plen, s)));
}

static void udp_zero_case(bool v4)
{
	struct spec sp = {.v4 = v4, .proto = IPPROTO_UDP, .payload = 2500, .mss = 1000, .seed = 29};
	struct verify v;
	size_t l4, hl, len = build(&sp, pkt_buf, &l4, &hl);
	zero_udp_sum(pkt_buf, v4, l4, 1000, 1000);
	struct virtio_net_hdr h = vhdr(&sp, l4, hl);
	ck_assert_int_eq(run(&sp, &h, pkt_buf, len, l4, hl, &v), 3);
	ck_assert_uint_eq(v.rec[1].csum, 0xffff);
}

START_TEST(test_udp_zero_sum)
{
	udp_zero_case(true);
	udp_zero_case(false);
}
END_TEST

START_TEST(test_sizes)
{
	struct spec sp = {.v4 = true,
			  .proto = IPPROTO_TCP,
			  .flags = ACK | FIN,
			  .payload = 2896,
			  .mss = 1448,
			  .seed = 31};
	struct verify v;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 2); /* an exact multiple */
	ck_assert_uint_eq(v.rec[1].plen, 1448);
	ck_assert_uint_eq(v.rec[1].flags, ACK | FIN);
	sp.payload = 100; /* less than one segment */
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 1);
	ck_assert_uint_eq(v.rec[0].len, 140);
	ck_assert_uint_eq(v.rec[0].flags, ACK | FIN);
	sp.payload = 0; /* none */
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 1);
	ck_assert_uint_eq(v.rec[0].len, 40);
	sp.proto = IPPROTO_UDP;
	sp.v4 = false;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 1);
	ck_assert_uint_eq(v.rec[0].len, 48);
	sp.payload = 1;
	sp.mss = 1;
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 1);
	sp.payload = 300; /* one byte per segment */
	ck_assert_int_eq(cut(&sp, pkt_buf, &v), 300);
}
END_TEST

static void count_emit(void *arg, const uint8_t *s, size_t len)
{
	(void)s;
	(void)len;
	++*(int *)arg;
}

/* tt_gso_segment on @d with header @h: -1 and nothing emitted. */
static void refused(const struct virtio_net_hdr *h, const uint8_t *d, size_t len)
{
	struct tt_pkt k;
	ck_assert_int_eq(tt_pkt_classify(d, len, &k), TT_PKT_OK);
	uint8_t *scratch = scratch_new();
	int emitted = 0;
	ck_assert_int_eq(tt_gso_segment(h, d, len, &k, scratch, count_emit, &emitted), -1);
	ck_assert_int_eq(emitted, 0);
	free(scratch);
}

START_TEST(test_refusals)
{
	struct spec sp = {
	    .v4 = true, .proto = IPPROTO_TCP, .flags = ACK, .payload = 10, .mss = 4, .seed = 37};
	size_t l4, hl, len = build(&sp, pkt_buf, &l4, &hl);
	struct virtio_net_hdr h = vhdr(&sp, l4, hl);
	pkt_buf[l4 + 12] = 0x40; /* data offset 4 */
	refused(&h, pkt_buf, len);
	pkt_buf[l4 + 12] = 0x00;
	refused(&h, pkt_buf, len);
	pkt_buf[l4 + 12] = 0xf0; /* 60 bytes, past the packet's 30 */
	refused(&h, pkt_buf, len);
	pkt_buf[l4 + 12] = 0x80; /* 32 bytes, past the packet's 30 */
	refused(&h, pkt_buf, len);
	pkt_buf[l4 + 12] = 0x70; /* 28: fits */
	struct tt_pkt k;
	ck_assert_int_eq(tt_pkt_classify(pkt_buf, len, &k), TT_PKT_OK);
	uint8_t *scratch = scratch_new();
	int emitted = 0;
	ck_assert_int_eq(tt_gso_segment(&h, pkt_buf, len, &k, scratch, count_emit, &emitted), 1);
	free(scratch);
	pkt_buf[l4 + 12] = 0x50;
	h.gso_size = 0;
	refused(&h, pkt_buf, len);
	h = vhdr(&sp, l4, hl);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; /* on IPv4 */
	refused(&h, pkt_buf, len);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4; /* on TCP */
	refused(&h, pkt_buf, len);
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	refused(&h, pkt_buf, len);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP; /* UFO */
	refused(&h, pkt_buf, len);

	sp.proto = IPPROTO_UDP;
	len = build(&sp, pkt_buf, &l4, &hl);
	h = vhdr(&sp, l4, hl);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4; /* on UDP */
	refused(&h, pkt_buf, len);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4 | VIRTIO_NET_HDR_GSO_ECN;
	refused(&h, pkt_buf, len);

	sp.v4 = false;
	sp.proto = IPPROTO_TCP;
	len = build(&sp, pkt_buf, &l4, &hl);
	h = vhdr(&sp, l4, hl);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4; /* on IPv6 */
	refused(&h, pkt_buf, len);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	pkt_buf[l4 + 12] = 0x10;
	refused(&h, pkt_buf, len);
}
END_TEST

START_TEST(test_ecn_type)
{
	/* The ECN bit beside a TCP type changes nothing but CWR's place,
	 * which is the first segment's anyway. */
	struct spec sp = {.v4 = true,
			  .proto = IPPROTO_TCP,
			  .flags = CWR | ACK,
			  .payload = 3000,
			  .mss = 1000,
			  .seed = 41};
	size_t l4, hl, len = build(&sp, pkt_buf, &l4, &hl);
	struct virtio_net_hdr h = vhdr(&sp, l4, hl);
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	struct verify v;
	ck_assert_int_eq(run(&sp, &h, pkt_buf, len, l4, hl, &v), 3);
	ck_assert_uint_eq(v.rec[0].flags, CWR | ACK);
	ck_assert_uint_eq(v.rec[1].flags, ACK);
}
END_TEST

START_TEST(test_property)
{
	static const size_t v4x[] = {0, 4, 8, 40}, v6x[] = {0, 8, 16, 64};
	struct verify v;
	uint32_t seed = 0x9e3779b9;
	for (int it = 0; it < 500; it++) {
		rnd_state = seed;
		struct spec sp = {0};
		sp.v4 = rnd() & 1;
		sp.proto = rnd() & 2 ? IPPROTO_TCP : IPPROTO_UDP;
		sp.ipx = sp.v4 ? v4x[rnd() % 4] : v6x[rnd() % 4];
		sp.tcpx = sp.proto == IPPROTO_TCP ? (rnd() % 11) * 4 : 0;
		sp.flags = (uint8_t)rnd();
		sp.id = (uint16_t)rnd();
		sp.seq = rnd();
		sp.payload = rnd() % 65001;
		sp.mss = 1 + rnd() % 9000;
		sp.junk_csum = rnd() & 1;
		sp.seed = rnd();
		seed = rnd();
		cut(&sp, pkt_buf, &v);
	}
}
END_TEST

static Suite *tt_gso_suite(void)
{
	Suite *s = suite_create("tt_gso");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"tcp4", test_tcp4},
	    {"tcp4_id_wrap", test_tcp4_id_wrap},
	    {"tcp_flags", test_tcp_flags},
	    {"tcp_options", test_tcp_options},
	    {"ip4_options", test_ip4_options},
	    {"tcp6", test_tcp6},
	    {"tcp6_ext", test_tcp6_ext},
	    {"udp", test_udp},
	    {"udp_zero_sum", test_udp_zero_sum},
	    {"sizes", test_sizes},
	    {"refusals", test_refusals},
	    {"ecn_type", test_ecn_type},
	    {"property", test_property},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(tt_gso_suite());
}
