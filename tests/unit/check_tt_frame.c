/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for tuntap/frame.c: frames laid out as uWSGI's tuntap plugin
 * writes them (modifier1 0, u16 LE size, modifier2 0 for a packet, 1 for a
 * block of 24-byte rules) parse whole, byte by byte and back to back; each
 * refusal comes at the first byte that decides it, with its position; the
 * MTU bound holds on both sides; the header writer gives uWSGI's bytes.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tuntap/frame.h"

#define MTU 1500

/* An exact-size heap copy, so ASan sees any read past the end. */
static uint8_t *dup_exact(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static ssize_t parse(const void *p, size_t n, size_t mtu, struct tt_frame *f)
{
	uint8_t *c = dup_exact(p, n);
	ssize_t r = tt_frame_parse(c, n, mtu, f);
	if (r > 0) {
		ck_assert_ptr_eq(f->payload, c + TT_FRAME_HDR_LEN);
		f->payload = (const uint8_t *)p + TT_FRAME_HDR_LEN;
	}
	free(c);
	return r;
}

/* A frame as uWSGI writes one: 0, size low, size high, modifier2, payload. */
static size_t mk(uint8_t *d, uint8_t m2, size_t len, uint8_t fill)
{
	d[0] = 0;
	d[1] = (uint8_t)(len & 0xff);
	d[2] = (uint8_t)(len >> 8);
	d[3] = m2;
	memset(d + 4, fill, len);
	return 4 + len;
}

START_TEST(test_whole)
{
	uint8_t d[4 + MTU] = {0};
	struct tt_frame f;
	size_t n = mk(d, TT_FRAME_PACKET, 60, 0x45);
	ck_assert_int_eq(parse(d, n, MTU, &f), 64);
	ck_assert_uint_eq(f.type, TT_FRAME_PACKET);
	ck_assert_uint_eq(f.len, 60);
	ck_assert_ptr_eq(f.payload, d + 4);
	ck_assert_int_eq(f.err, TT_FRAME_OK);
	/* Bytes after the frame are the next frame's business. */
	ck_assert_int_eq(tt_frame_parse(d, sizeof(d), MTU, &f), 64);
}
END_TEST

START_TEST(test_byte_by_byte)
{
	uint8_t d[4 + 300];
	struct tt_frame f;
	size_t n = mk(d, TT_FRAME_PACKET, 300, 0x60);
	for (size_t i = 0; i < n; i++) {
		f.err = TT_FRAME__COUNT;
		ck_assert_int_eq(parse(d, i, MTU, &f), 0);
		ck_assert_int_eq(f.err, TT_FRAME__COUNT); /* left alone */
	}
	ck_assert_int_eq(parse(d, n, MTU, &f), (ssize_t)n);
	ck_assert_uint_eq(f.len, 300);
}
END_TEST

/* uWSGI queues several frames in one write: parse them one after another. */
START_TEST(test_back_to_back)
{
	uint8_t d[3 * (4 + MTU)];
	size_t n = 0;
	n += mk(d + n, TT_FRAME_PACKET, 20, 1);
	n += mk(d + n, TT_FRAME_RULES, 48, 2);
	n += mk(d + n, TT_FRAME_PACKET, MTU, 3);
	size_t off = 0, want[] = {20, 48, MTU};
	uint8_t types[] = {TT_FRAME_PACKET, TT_FRAME_RULES, TT_FRAME_PACKET};
	for (size_t k = 0; k < 3; k++) {
		struct tt_frame f;
		ssize_t r = parse(d + off, n - off, MTU, &f);
		ck_assert_int_eq(r, (ssize_t)(4 + want[k]));
		ck_assert_uint_eq(f.len, want[k]);
		ck_assert_uint_eq(f.type, types[k]);
		ck_assert_uint_eq(f.payload[0], k + 1);
		ck_assert_uint_eq(f.payload[f.len - 1], k + 1);
		off += (size_t)r;
	}
	ck_assert_uint_eq(off, n);
	struct tt_frame f;
	ck_assert_int_eq(parse(d + off, 0, MTU, &f), 0);
}
END_TEST

START_TEST(test_bad_modifier1)
{
	struct tt_frame f;
	for (unsigned m1 = 1; m1 < 256; m1++) {
		uint8_t d[8];
		mk(d, 0, 4, 0);
		d[0] = (uint8_t)m1;
		for (size_t n = 1; n <= sizeof(d); n++) {
			ck_assert_int_eq(parse(d, n, MTU, &f), -1);
			ck_assert_int_eq(f.err, TT_FRAME_BAD_MODIFIER1);
			ck_assert_uint_eq(f.err_pos, 0);
		}
	}
	/* uWSGI's credentials handshake (tuntap-use-credentials) is not a frame. */
	ck_assert_int_eq(parse("uwsgi-tuntap", 12, MTU, &f), -1);
	ck_assert_int_eq(f.err, TT_FRAME_BAD_MODIFIER1);
}
END_TEST

START_TEST(test_empty)
{
	uint8_t d[4];
	struct tt_frame f;
	mk(d, TT_FRAME_PACKET, 0, 0);
	ck_assert_int_eq(parse(d, 2, MTU, &f), 0);
	ck_assert_int_eq(parse(d, 3, MTU, &f), -1);
	ck_assert_int_eq(f.err, TT_FRAME_EMPTY);
	ck_assert_uint_eq(f.err_pos, 1);
	ck_assert_int_eq(parse(d, 4, MTU, &f), -1);
}
END_TEST

START_TEST(test_mtu)
{
	uint8_t d[4 + 65535];
	struct tt_frame f;
	size_t n = mk(d, TT_FRAME_PACKET, MTU, 0);
	ck_assert_int_eq(parse(d, n, MTU, &f), (ssize_t)n);
	n = mk(d, TT_FRAME_PACKET, MTU + 1, 0);
	ck_assert_int_eq(parse(d, 2, MTU, &f), 0);
	/* Refused at the third byte, before any payload is buffered. */
	ck_assert_int_eq(parse(d, 3, MTU, &f), -1);
	ck_assert_int_eq(f.err, TT_FRAME_OVER_MTU);
	ck_assert_uint_eq(f.err_pos, 1);
	ck_assert_int_eq(parse(d, n, MTU, &f), -1);
	ck_assert_int_eq(f.err, TT_FRAME_OVER_MTU);
	/* Rule blocks are bounded alike. */
	n = mk(d, TT_FRAME_RULES, 24 * 63, 0);
	ck_assert_int_eq(parse(d, n, MTU, &f), -1);
	ck_assert_int_eq(f.err, TT_FRAME_OVER_MTU);
	/* The largest uwsgi size, with an MTU that takes it. */
	n = mk(d, TT_FRAME_PACKET, 65535, 0);
	ck_assert_int_eq(parse(d, n, 65535, &f), (ssize_t)n);
	ck_assert_uint_eq(f.len, 65535);
	ck_assert_int_eq(parse(d, n, SIZE_MAX, &f), (ssize_t)n);
}
END_TEST

START_TEST(test_bad_type)
{
	struct tt_frame f;
	for (unsigned m2 = 2; m2 < 256; m2++) {
		uint8_t d[4 + 24];
		size_t n = mk(d, (uint8_t)m2, 24, 0);
		ck_assert_int_eq(parse(d, 3, MTU, &f), 0);
		ck_assert_int_eq(parse(d, 4, MTU, &f), -1);
		ck_assert_int_eq(f.err, TT_FRAME_BAD_TYPE);
		ck_assert_uint_eq(f.err_pos, 3);
		ck_assert_int_eq(parse(d, n, MTU, &f), -1);
	}
}
END_TEST

/*
 * A rule block as uWSGI's `tuntap-device-rule` sends it on connect: packed
 * records of direction u8, src, src_mask, dst, dst_mask (u32 host order),
 * action u8, target u32, target_port u16 = 24 bytes each.
 */
START_TEST(test_rules_block)
{
	uint8_t d[4 + 3 * 24];
	struct tt_frame f;
	size_t n = mk(d, TT_FRAME_RULES, 3 * 24, 0);
	d[4] = 1;      /* out */
	d[4 + 17] = 1; /* deny */
	ck_assert_int_eq(parse(d, n, MTU, &f), (ssize_t)n);
	ck_assert_uint_eq(f.type, TT_FRAME_RULES);
	ck_assert_uint_eq(f.len / TT_FRAME_RULE_LEN, 3);
	for (size_t len = 1; len < 3 * 24; len++) {
		if (len % 24 == 0)
			continue;
		n = mk(d, TT_FRAME_RULES, len, 0);
		ck_assert_int_eq(parse(d, 4, MTU, &f), -1);
		ck_assert_int_eq(f.err, TT_FRAME_BAD_RULES);
	}
}
END_TEST

START_TEST(test_hdr_write)
{
	uint8_t h[4] = {9, 9, 9, 9};
	ck_assert_int_eq(tt_frame_hdr_write(h, TT_FRAME_PACKET, 1500), TT_FRAME_HDR_LEN);
	ck_assert_mem_eq(h, ((uint8_t[]){0x00, 0xdc, 0x05, 0x00}), 4);
	ck_assert_int_eq(tt_frame_hdr_write(h, TT_FRAME_RULES, 48), TT_FRAME_HDR_LEN);
	ck_assert_mem_eq(h, ((uint8_t[]){0x00, 48, 0x00, 0x01}), 4);
	ck_assert_int_eq(tt_frame_hdr_write(h, TT_FRAME_PACKET, 65535), TT_FRAME_HDR_LEN);
	ck_assert_mem_eq(h, ((uint8_t[]){0x00, 0xff, 0xff, 0x00}), 4);
	memset(h, 9, 4);
	ck_assert_int_eq(tt_frame_hdr_write(h, TT_FRAME_PACKET, 0), -1);
	ck_assert_int_eq(tt_frame_hdr_write(h, TT_FRAME_PACKET, 65536), -1);
	ck_assert_int_eq(tt_frame_hdr_write(h, (enum tt_frame_type)2, 10), -1);
	ck_assert_mem_eq(h, ((uint8_t[]){9, 9, 9, 9}), 4);
	/* Written then parsed. */
	uint8_t d[4 + 100] = {0};
	struct tt_frame f;
	ck_assert_int_eq(tt_frame_hdr_write(d, TT_FRAME_PACKET, 100), 4);
	ck_assert_int_eq(parse(d, sizeof(d), MTU, &f), (ssize_t)sizeof(d));
	ck_assert_uint_eq(f.len, 100);
}
END_TEST

START_TEST(test_err_names)
{
	for (unsigned i = 0; i < TT_FRAME__COUNT; i++) {
		const char *n = tt_frame_err_name((enum tt_frame_err)i);
		ck_assert_ptr_nonnull(n);
		ck_assert_str_ne(n, "unknown");
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(n, tt_frame_err_name((enum tt_frame_err)j));
	}
	ck_assert_str_eq(tt_frame_err_name(TT_FRAME_OVER_MTU), "over_mtu");
	ck_assert_str_eq(tt_frame_err_name(TT_FRAME__COUNT), "unknown");
}
END_TEST

static Suite *tt_frame_suite(void)
{
	Suite *s = suite_create("tt_frame");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"whole", test_whole},
	    {"byte_by_byte", test_byte_by_byte},
	    {"back_to_back", test_back_to_back},
	    {"bad_modifier1", test_bad_modifier1},
	    {"empty", test_empty},
	    {"mtu", test_mtu},
	    {"bad_type", test_bad_type},
	    {"rules_block", test_rules_block},
	    {"hdr_write", test_hdr_write},
	    {"err_names", test_err_names},
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
	return unit_run(tt_frame_suite());
}
