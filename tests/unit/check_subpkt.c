/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for core/subpkt.c: the reference datagrams captured from
 * uWSGI 2.0.21 parse whole and are rebuilt byte for byte; a packet with
 * every field survives build and parse; every prefix of a valid packet is
 * refused without reading past it; each drop reason is reached by a crafted
 * packet, with the limits on both sides; duplicates, unknown vars, the
 * `sign` record and signed_len behave as the header says.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/subpkt.h"
#include "core/upkt.h"

/* `uwsgi --subscribe-to 127.0.0.1:2626:127.0.0.1:9000`, socket 127.0.0.1:3031. */
static const char ref_sub_hex[] =
    "e068000003006b65790e003132372e302e302e313a393030300700616464726573730e003132372e302e302e31"
    "3a3330333109006d6f6469666965723101003009006d6f646966696572320100300500636f72657301003104006c"
    "6f61640100300600776569676874010030";
/* The unsubscribe for key ref2:9000, address 127.0.0.1:3048. */
static const char ref_unsub_hex[] =
    "e063000103006b65790900726566323a393030300700616464726573730e003132372e302e302e313a33303438"
    "09006d6f6469666965723101003009006d6f646966696572320100300500636f72657301003104006c6f61640100"
    "300600776569676874010030";

/* Decode @hex into a malloc'ed buffer of exactly the right size. */
static unsigned char *unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	unsigned char *p = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) {
		char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
		p[i] = (unsigned char)strtoul(two, NULL, 16);
	}
	*len = n;
	return p;
}

/* An exact-size heap copy, so ASan sees any read past the end. */
static unsigned char *dup_exact(const void *p, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(d);
	memcpy(d, p, n);
	return d;
}

static void str_is(const struct subpkt_str *s, const char *want)
{
	size_t n = strlen(want);
	ck_assert_msg(s->len == n && (n == 0 || memcmp(s->p, want, n) == 0),
		      "got '%.*s', want '%s'", (int)s->len, s->p ? s->p : "", want);
}

static bool str_eq(const struct subpkt_str *a, const struct subpkt_str *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Same fields; sign and signed_len are left to the caller. */
static void same_fields(const struct subpkt *a, const struct subpkt *b)
{
	ck_assert(a->unsubscribe == b->unsubscribe);
	ck_assert(str_eq(&a->key, &b->key));
	ck_assert(str_eq(&a->address, &b->address));
	ck_assert(str_eq(&a->notify, &b->notify));
	ck_assert(str_eq(&a->sni_key, &b->sni_key));
	ck_assert(str_eq(&a->sni_crt, &b->sni_crt));
	ck_assert(str_eq(&a->sni_ca, &b->sni_ca));
	ck_assert(str_eq(&a->vassal, &b->vassal));
	ck_assert(str_eq(&a->proto, &b->proto));
	ck_assert(str_eq(&a->algo, &b->algo));
	ck_assert_uint_eq(a->modifier1, b->modifier1);
	ck_assert_uint_eq(a->modifier2, b->modifier2);
	ck_assert_uint_eq(a->cores, b->cores);
	ck_assert_uint_eq(a->load, b->load);
	ck_assert_uint_eq(a->weight, b->weight);
	ck_assert_uint_eq(a->backup, b->backup);
	ck_assert_uint_eq(a->unix_time, b->unix_time);
	ck_assert(a->has_unix == b->has_unix);
	ck_assert(a->inactive == b->inactive);
	ck_assert(a->clear == b->clear);
	ck_assert_uint_eq(a->hops, b->hops);
}

/* Every string of @p lies inside the body of @d (or is absent). */
static void strings_inside(const struct subpkt *p, const void *d, size_t len)
{
	const struct subpkt_str *all[] = {&p->key,     &p->address, &p->notify, &p->sni_key,
					  &p->sni_crt, &p->sni_ca,  &p->vassal, &p->proto,
					  &p->algo,    &p->sign};
	const char *lo = (const char *)d + UPKT_HDR_LEN, *hi = (const char *)d + len;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i]->p == NULL) {
			ck_assert_uint_eq(all[i]->len, 0);
			continue;
		}
		ck_assert(all[i]->p >= lo && all[i]->p <= hi);
		ck_assert_uint_le(all[i]->len, (size_t)(hi - all[i]->p));
	}
}

/*
 * Parse an exact-size copy of @d (so ASan sees any read past the end) and
 * check its slices on OK; then parse @d itself, so @out points into @d.
 */
static enum subpkt_drop parse_copy(const void *d, size_t len, struct subpkt *out)
{
	unsigned char *c = dup_exact(d, len);
	enum subpkt_drop r = subpkt_parse(c, len, out);
	if (r == SUBPKT_OK) {
		strings_inside(out, c, len);
		ck_assert_uint_le(out->signed_len, len - UPKT_HDR_LEN);
	}
	free(c);
	ck_assert_int_eq(subpkt_parse(d, len, out), r);
	return r;
}

/*
 * Write a packet from NULL-terminated key/value pairs (a value may be
 * given as NULL for an empty one) into @b, replacing what it held.
 */
static void craft(struct buf *b, uint8_t modifier1, uint8_t modifier2, const char *const *kv)
{
	buf_reset(b);
	struct upkt_writer w;
	upkt_begin(&w, b, modifier1, modifier2);
	for (size_t i = 0; kv[i]; i += 2)
		upkt_put_str(&w, kv[i], kv[i + 1]);
	ck_assert_int_ge(upkt_end(&w), UPKT_HDR_LEN);
}

#define KV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The drop reason of a subscription packet with these vars. */
static enum subpkt_drop drop_of(const char *const *kv)
{
	struct buf b = BUF_INIT;
	craft(&b, SUBPKT_MODIFIER1, 0, kv);
	struct subpkt p;
	enum subpkt_drop r = parse_copy(b.data, b.len, &p);
	buf_free(&b);
	return r;
}

#define ASSERT_DROP(want, ...)                                                                     \
	do {                                                                                       \
		enum subpkt_drop got_ = drop_of(KV(__VA_ARGS__));                                  \
		ck_assert_msg(got_ == (want), "line %d: got %s, want %s", __LINE__,                \
			      subpkt_drop_name(got_), subpkt_drop_name(want));                     \
	} while (0)

/* Append a `sign` record to the packet at the start of @b and fix its size. */
static void add_sign(struct buf *b, const void *sig, uint16_t n)
{
	const unsigned char rec[] = {
	    4, 0, 's', 'i', 'g', 'n', (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
	ck_assert_int_eq(buf_append(b, rec, sizeof(rec)), 0);
	ck_assert_int_eq(buf_append(b, sig, n), 0);
	struct upkt_hdr h;
	upkt_hdr_read(b->data, b->len, &h);
	h.size = (uint16_t)(b->len - UPKT_HDR_LEN);
	upkt_hdr_write(b->data, &h);
}

/* A packet with every field set (unix included), not signed. */
static struct subpkt full_packet(void)
{
	return (struct subpkt){
	    .unsubscribe = true,
	    .key = subpkt_str_of("app.example.com:8080/api"),
	    .address = subpkt_str_of("10.0.0.7:3031"),
	    .notify = subpkt_str_of("/run/notify.sock"),
	    .sni_key = subpkt_str_of("/etc/k.pem"),
	    .sni_crt = subpkt_str_of("/etc/c.pem"),
	    .sni_ca = subpkt_str_of("/etc/ca.pem"),
	    .vassal = subpkt_str_of("app.ini"),
	    .proto = subpkt_str_of("http"),
	    .algo = subpkt_str_of("wlrc"),
	    .modifier1 = 255,
	    .modifier2 = 9,
	    .cores = 16,
	    .load = 3,
	    .weight = 7,
	    .backup = 2,
	    .unix_time = 1700000000,
	    .has_unix = true,
	    .inactive = true,
	    .clear = true,
	    .hops = 3,
	};
}

START_TEST(test_ref_subscribe_parse)
{
	size_t len;
	unsigned char *d = unhex(ref_sub_hex, &len);
	ck_assert_uint_eq(len, 108);
	struct subpkt p;
	ck_assert_int_eq(subpkt_parse(d, len, &p), SUBPKT_OK);
	strings_inside(&p, d, len);
	ck_assert(!p.unsubscribe);
	str_is(&p.key, "127.0.0.1:9000");
	str_is(&p.address, "127.0.0.1:3031");
	ck_assert_uint_eq(p.modifier1, 0);
	ck_assert_uint_eq(p.modifier2, 0);
	ck_assert_uint_eq(p.cores, 1);
	ck_assert_uint_eq(p.load, 0);
	ck_assert_uint_eq(p.weight, 0);
	ck_assert_uint_eq(p.backup, 0);
	ck_assert_uint_eq(p.hops, 0);
	ck_assert(!p.has_unix && !p.inactive && !p.clear);
	ck_assert_uint_eq(p.sign.len, 0);
	ck_assert_uint_eq(p.notify.len, 0);
	ck_assert_uint_eq(p.signed_len, 104);
	free(d);
}
END_TEST

START_TEST(test_ref_unsubscribe_parse)
{
	size_t len;
	unsigned char *d = unhex(ref_unsub_hex, &len);
	ck_assert_uint_eq(len, 103);
	struct subpkt p;
	ck_assert_int_eq(subpkt_parse(d, len, &p), SUBPKT_OK);
	strings_inside(&p, d, len);
	ck_assert(p.unsubscribe);
	str_is(&p.key, "ref2:9000");
	str_is(&p.address, "127.0.0.1:3048");
	ck_assert_uint_eq(p.cores, 1);
	ck_assert_uint_eq(p.signed_len, 99);
	free(d);
}
END_TEST

START_TEST(test_ref_build)
{
	struct buf b = BUF_INIT;
	size_t len;
	unsigned char *want = unhex(ref_sub_hex, &len);
	struct subpkt p = {
	    .key = subpkt_str_of("127.0.0.1:9000"),
	    .address = subpkt_str_of("127.0.0.1:3031"),
	    .cores = 1,
	};
	ck_assert_int_eq(subpkt_build(&b, &p), 108);
	ck_assert_uint_eq(b.len, 108);
	ck_assert_mem_eq(b.data, want, len);
	free(want);

	/* Appended after what the buffer held. */
	want = unhex(ref_unsub_hex, &len);
	p = (struct subpkt){
	    .unsubscribe = true,
	    .key = subpkt_str_of("ref2:9000"),
	    .address = subpkt_str_of("127.0.0.1:3048"),
	    .cores = 1,
	};
	ck_assert_int_eq(subpkt_build(&b, &p), (ssize_t)len);
	ck_assert_uint_eq(b.len, 108 + len);
	ck_assert_mem_eq(b.data + 108, want, len);
	free(want);
	buf_free(&b);
}
END_TEST

START_TEST(test_round_trip_all_fields)
{
	struct buf b = BUF_INIT;
	struct subpkt in = full_packet(), out;
	ssize_t n = subpkt_build(&b, &in);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq((size_t)n, b.len);
	ck_assert_int_eq(parse_copy(b.data, b.len, &out), SUBPKT_OK);
	same_fields(&in, &out);
	ck_assert_uint_eq(out.sign.len, 0);
	ck_assert_uint_eq(out.signed_len, b.len - UPKT_HDR_LEN);

	/* The vars come in the documented order, unix last. */
	const char *order[] = {"key",	   "address", "modifier1", "modifier2", "cores",
			       "load",	   "weight",  "sni_key",   "sni_crt",	"sni_ca",
			       "notify",   "backup",  "vassal",	   "proto",	"algo",
			       "inactive", "clear",   "hops",	   "unix"};
	size_t off = 0, i = 0;
	struct upkt_var v;
	while (upkt_var_next(b.data + UPKT_HDR_LEN, b.len - UPKT_HDR_LEN, &off, &v) == 1) {
		ck_assert_uint_lt(i, sizeof(order) / sizeof(order[0]));
		ck_assert_msg(upkt_var_is(&v, order[i]), "var %zu is '%.*s', want %s", i,
			      (int)v.klen, v.key, order[i]);
		i++;
	}
	ck_assert_uint_eq(i, sizeof(order) / sizeof(order[0]));
	buf_free(&b);
}
END_TEST

START_TEST(test_signed)
{
	struct buf b = BUF_INIT;
	struct subpkt in = full_packet(), out;
	ck_assert_int_gt(subpkt_build(&b, &in), 0);
	size_t body = b.len - UPKT_HDR_LEN;
	const unsigned char sig[] = {0x00, 0xff, 0x20, 0x7f, 's', 'i', 'g'}; /* raw bytes */
	add_sign(&b, sig, sizeof(sig));
	ck_assert_int_eq(parse_copy(b.data, b.len, &out), SUBPKT_OK);
	same_fields(&in, &out);
	ck_assert_uint_eq(out.signed_len, body);
	ck_assert_uint_eq(out.sign.len, sizeof(sig));
	ck_assert_mem_eq(out.sign.p, sig, sizeof(sig));
	ck_assert_ptr_eq(out.sign.p, b.data + b.len - sizeof(sig));

	/* Anything after `sign`, even another `sign`, is refused. */
	add_sign(&b, sig, sizeof(sig));
	ck_assert_int_eq(parse_copy(b.data, b.len, &out), SUBPKT_BAD_VARS);
	ck_assert_int_eq(drop_of(KV("key", "a", "sign", "x", "address", "b")), SUBPKT_BAD_VARS);
	ck_assert_int_eq(drop_of(KV("sign", "x", "unknown", "")), SUBPKT_BAD_VARS);

	/* An empty signature is still the last record and still marks the end. */
	craft(&b, SUBPKT_MODIFIER1, 0, KV("key", "a", "address", "b", "sign", NULL));
	ck_assert_int_eq(parse_copy(b.data, b.len, &out), SUBPKT_OK);
	ck_assert_uint_eq(out.sign.len, 0);
	ck_assert_uint_eq(out.signed_len, b.len - UPKT_HDR_LEN - 8);
	buf_free(&b);
}
END_TEST

/* Every prefix of @d (but the whole) is refused, as sent and with the size fixed up. */
static void check_prefixes(const unsigned char *d, size_t len)
{
	struct subpkt p;
	ck_assert_int_eq(parse_copy(d, len, &p), SUBPKT_OK);
	/* Where records start, so a fixed-up cut there may still be whole. */
	bool boundary[SUBPKT_DGRAM_MAX + 1] = {0};
	size_t off = 0;
	struct upkt_var v;
	boundary[UPKT_HDR_LEN] = true;
	while (upkt_var_next(d + UPKT_HDR_LEN, len - UPKT_HDR_LEN, &off, &v) == 1)
		boundary[UPKT_HDR_LEN + off] = true;

	unsigned char *c = dup_exact(d, len);
	for (size_t n = 0; n < len; n++) {
		enum subpkt_drop r = parse_copy(d, n, &p);
		ck_assert_msg(r == (n < UPKT_HDR_LEN ? SUBPKT_SHORT : SUBPKT_BAD_SIZE),
			      "prefix %zu: %s", n, subpkt_drop_name(r));
		if (n < UPKT_HDR_LEN)
			continue;
		/* Header size patched to the cut: the cut record must be caught. */
		struct upkt_hdr h;
		upkt_hdr_read(d, len, &h);
		h.size = (uint16_t)(n - UPKT_HDR_LEN);
		upkt_hdr_write(c, &h);
		r = parse_copy(c, n, &p);
		if (!boundary[n])
			ck_assert_msg(r == SUBPKT_BAD_VARS, "cut %zu: %s", n, subpkt_drop_name(r));
		else
			ck_assert_msg(r != SUBPKT_BAD_VARS, "cut %zu: %s", n, subpkt_drop_name(r));
	}
	free(c);
}

START_TEST(test_truncated)
{
	size_t len;
	unsigned char *d = unhex(ref_sub_hex, &len);
	check_prefixes(d, len);
	free(d);

	struct buf b = BUF_INIT;
	struct subpkt in = full_packet();
	ck_assert_int_gt(subpkt_build(&b, &in), 0);
	add_sign(&b, "0123456789", 10);
	check_prefixes((const unsigned char *)b.data, b.len);
	buf_free(&b);
}
END_TEST

START_TEST(test_drop_header)
{
	struct subpkt p;
	const unsigned char hdr_only[] = {0xe0, 0, 0, 0};
	for (size_t n = 0; n < 4; n++)
		ck_assert_int_eq(parse_copy(hdr_only, n, &p), SUBPKT_SHORT);
	/* A bare header is a subscription with no vars. */
	ck_assert_int_eq(parse_copy(hdr_only, 4, &p), SUBPKT_NO_KEY);

	struct buf b = BUF_INIT;
	craft(&b, 0, 0, KV("key", "a", "address", "b"));
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_NOT_SUB);
	craft(&b, 225, 0, KV("key", "a", "address", "b"));
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_NOT_SUB);
	craft(&b, SUBPKT_MODIFIER1, 2, KV("key", "a", "address", "b"));
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_NOT_SUB);
	craft(&b, SUBPKT_MODIFIER1, 255, KV("key", "a", "address", "b"));
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_NOT_SUB);

	/* The header's size must be the datagram's body exactly. */
	craft(&b, SUBPKT_MODIFIER1, 1, KV("key", "a", "address", "b"));
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_OK);
	b.data[1]++;
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_BAD_SIZE);
	b.data[1] -= 2;
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_BAD_SIZE);
	b.data[1]++;
	ck_assert_int_eq(buf_putc(&b, 0), 0); /* one byte the header does not count */
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_BAD_SIZE);
	b.data[1]++;
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_BAD_VARS);
	buf_free(&b);
}
END_TEST

/* A packet of exactly @len bytes, padded with an unknown var. */
static void padded(struct buf *b, size_t len)
{
	static char pad[SUBPKT_DGRAM_MAX * 2];
	memset(pad, 'p', sizeof(pad));
	craft(b, SUBPKT_MODIFIER1, 0, KV("key", "a", "address", "b"));
	size_t rest = len - b->len - 7; /* 2 + "pad" + 2 */
	buf_reset(b);
	struct upkt_writer w;
	upkt_begin(&w, b, SUBPKT_MODIFIER1, 0);
	upkt_put_str(&w, "key", "a");
	upkt_put_str(&w, "address", "b");
	upkt_put(&w, "pad", 3, pad, rest);
	ck_assert_int_eq(upkt_end(&w), (ssize_t)len);
}

START_TEST(test_drop_oversized)
{
	struct buf b = BUF_INIT;
	struct subpkt p;
	padded(&b, SUBPKT_DGRAM_MAX);
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_OK);
	padded(&b, SUBPKT_DGRAM_MAX + 1);
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_OVERSIZED);
	/* Refused before the header is looked at. */
	b.data[0] = 0;
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_OVERSIZED);
	buf_free(&b);
}
END_TEST

START_TEST(test_drop_bad_vars)
{
	struct subpkt p;
	/* key "a", then a record with an empty key and an empty value. */
	const unsigned char ek[] = {0xe0, 12, 0, 0, 3, 0, 'k', 'e', 'y', 1, 0, 'a', 0, 0, 0, 0};
	ck_assert_int_eq(parse_copy(ek, sizeof(ek), &p), SUBPKT_BAD_VARS);
	/* A value length running past the body. */
	const unsigned char over[] = {0xe0, 7, 0, 0, 3, 0, 'k', 'e', 'y', 9, 0};
	ck_assert_int_eq(parse_copy(over, sizeof(over), &p), SUBPKT_BAD_VARS);
	/* A lone length byte. */
	const unsigned char lone[] = {0xe0, 1, 0, 0, 1};
	ck_assert_int_eq(parse_copy(lone, sizeof(lone), &p), SUBPKT_BAD_VARS);
	/* A broken record outranks an earlier bad number. */
	const unsigned char both[] = {0xe0, 11, 0, 0, 5, 0, 'c', 'o', 'r', 'e', 's', 1, 0, 'x', 1};
	ck_assert_int_eq(parse_copy(both, sizeof(both), &p), SUBPKT_BAD_VARS);
}
END_TEST

START_TEST(test_drop_bad_number)
{
	ASSERT_DROP(SUBPKT_OK, "key", "a", "address", "b", "modifier1", "255", "modifier2", "0");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "modifier1", "256");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "modifier2", "1000");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "modifier2", "-1");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "modifier1", NULL);
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "cores", "1a");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "load", NULL);
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "weight",
		    "18446744073709551616");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "backup", "x");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "unix", " 1");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "hops", "+1");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "inactive", "yes");
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "clear", NULL);
	/* A bad number is not repaired by a later good one. */
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "key", "a", "address", "b", "cores", "x", "cores", "1");
	/* Unknown vars are not numbers, whatever they hold. */
	ASSERT_DROP(SUBPKT_OK, "key", "a", "address", "b", "Cores", "x", "coresx", "y");
	/* A bad number outranks a missing key. */
	ASSERT_DROP(SUBPKT_BAD_NUMBER, "cores", "x");
}
END_TEST

START_TEST(test_drop_key)
{
	char k254[SUBPKT_KEY_MAX + 1], k255[SUBPKT_KEY_MAX + 2];
	memset(k254, 'k', sizeof(k254) - 1);
	k254[sizeof(k254) - 1] = 0;
	memset(k255, 'k', sizeof(k255) - 1);
	k255[sizeof(k255) - 1] = 0;
	ASSERT_DROP(SUBPKT_NO_KEY, "address", "b");
	ASSERT_DROP(SUBPKT_NO_KEY, "Key", "a", "address", "b");
	ASSERT_DROP(SUBPKT_BAD_KEY, "key", NULL, "address", "b");
	ASSERT_DROP(SUBPKT_OK, "key", k254, "address", "b");
	ASSERT_DROP(SUBPKT_BAD_KEY, "key", k255, "address", "b");
	ASSERT_DROP(SUBPKT_BAD_KEY, "key", "a b", "address", "b");
	ASSERT_DROP(SUBPKT_BAD_KEY, "key", "a\tb", "address", "b");
	ASSERT_DROP(SUBPKT_BAD_KEY, "key", "a\x7f", "address", "b");
	ASSERT_DROP(SUBPKT_BAD_KEY, "key", "\x01", "address", "b");
	ASSERT_DROP(SUBPKT_OK, "key", "caf\xc3\xa9.example:80/x", "address", "b");
	ASSERT_DROP(SUBPKT_OK, "key", "!~", "address", "b");
	/* A NUL inside the key. */
	struct buf b = BUF_INIT;
	struct upkt_writer w;
	upkt_begin(&w, &b, SUBPKT_MODIFIER1, 0);
	upkt_put(&w, "key", 3, "a\0b", 3);
	upkt_put_str(&w, "address", "b");
	ck_assert_int_gt(upkt_end(&w), 0);
	struct subpkt p;
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_BAD_KEY);
	buf_free(&b);
}
END_TEST

START_TEST(test_drop_address)
{
	char a127[SUBPKT_ADDR_MAX + 1], a128[SUBPKT_ADDR_MAX + 2];
	memset(a127, '/', sizeof(a127) - 1);
	a127[sizeof(a127) - 1] = 0;
	memset(a128, '/', sizeof(a128) - 1);
	a128[sizeof(a128) - 1] = 0;
	ASSERT_DROP(SUBPKT_NO_ADDRESS, "key", "a");
	ASSERT_DROP(SUBPKT_NO_ADDRESS, "key", "a", "addr", "b");
	ASSERT_DROP(SUBPKT_NO_ADDRESS, "key", "a", "address", NULL);
	ASSERT_DROP(SUBPKT_OK, "key", "a", "address", a127);
	ASSERT_DROP(SUBPKT_NO_ADDRESS, "key", "a", "address", a128);
	ASSERT_DROP(SUBPKT_NO_ADDRESS, "key", "a", "address", "1.2.3.4:5 ");
	ASSERT_DROP(SUBPKT_NO_ADDRESS, "key", "a", "address", "/run/x\x7f");
	ASSERT_DROP(SUBPKT_NO_ADDRESS, "key", "a", "address", "/run/x\n");
	ASSERT_DROP(SUBPKT_OK, "key", "a", "address", "@abstract");
	/* A bad key outranks a bad address. */
	ASSERT_DROP(SUBPKT_BAD_KEY, "key", NULL, "address", NULL);
}
END_TEST

START_TEST(test_duplicates_last_wins)
{
	struct buf b = BUF_INIT;
	craft(&b, SUBPKT_MODIFIER1, 0,
	      KV("key", "first", "address", "a1", "cores", "4", "key", "second", "cores", "2",
		 "address", "a2", "notify", "/n", "notify", NULL, "inactive", "1", "inactive", "0",
		 "unix", "5", "unix", "6", "modifier1", "9", "modifier1", "0"));
	struct subpkt p;
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_OK);
	str_is(&p.key, "second");
	str_is(&p.address, "a2");
	ck_assert_uint_eq(p.cores, 2);
	ck_assert_uint_eq(p.notify.len, 0);
	ck_assert(!p.inactive);
	ck_assert(p.has_unix);
	ck_assert_uint_eq(p.unix_time, 6);
	ck_assert_uint_eq(p.modifier1, 0);

	/* A later empty key or address is what counts. */
	ASSERT_DROP(SUBPKT_BAD_KEY, "key", "a", "address", "b", "key", NULL);
	ASSERT_DROP(SUBPKT_NO_ADDRESS, "key", "a", "address", "b", "address", NULL);
	buf_free(&b);
}
END_TEST

START_TEST(test_unknown_and_numbers)
{
	struct buf b = BUF_INIT;
	craft(&b, SUBPKT_MODIFIER1, 0,
	      KV("x-future", "whatever \x01", "key", "k", "address", "a", "weight", "0", "load",
		 "18446744073709551615", "hops", "007", "inactive", "5", "clear", "0", "backup",
		 "3", "proto", "h", "algo", NULL));
	struct subpkt p;
	ck_assert_int_eq(parse_copy(b.data, b.len, &p), SUBPKT_OK);
	ck_assert_uint_eq(p.weight, 0); /* kept as sent */
	ck_assert_uint_eq(p.load, UINT64_MAX);
	ck_assert_uint_eq(p.hops, 7);
	ck_assert(p.inactive);
	ck_assert(!p.clear);
	ck_assert_uint_eq(p.backup, 3);
	ck_assert(!p.has_unix);
	str_is(&p.proto, "h");
	ck_assert_uint_eq(p.algo.len, 0);
	ck_assert_uint_eq(p.signed_len, b.len - UPKT_HDR_LEN);
	buf_free(&b);
}
END_TEST

START_TEST(test_failure_zeroes_out)
{
	struct subpkt p, zero;
	memset(&zero, 0, sizeof(zero));
	memset(&p, 0xa5, sizeof(p));
	/* Fields were being filled when the bad address was found. */
	ck_assert_int_eq(drop_of(KV("key", "a", "cores", "3")), SUBPKT_NO_ADDRESS);
	struct buf b = BUF_INIT;
	craft(&b, SUBPKT_MODIFIER1, 1, KV("key", "a", "cores", "3", "unix", "1"));
	ck_assert_int_eq(subpkt_parse(b.data, b.len, &p), SUBPKT_NO_ADDRESS);
	ck_assert_mem_eq(&p, &zero, sizeof(p));
	memset(&p, 0xa5, sizeof(p));
	ck_assert_int_eq(subpkt_parse(b.data, 2, &p), SUBPKT_SHORT);
	ck_assert_mem_eq(&p, &zero, sizeof(p));
	buf_free(&b);
}
END_TEST

START_TEST(test_drop_names)
{
	for (int i = 0; i < SUBPKT__COUNT; i++) {
		const char *a = subpkt_drop_name((enum subpkt_drop)i);
		ck_assert_ptr_nonnull(a);
		ck_assert_uint_gt(strlen(a), 0);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(a, subpkt_drop_name((enum subpkt_drop)j));
	}
	ck_assert_str_eq(subpkt_drop_name(SUBPKT_SHORT), "short");
	ck_assert_str_eq(subpkt_drop_name(SUBPKT_BAD_VARS), "bad_vars");
	ck_assert_ptr_nonnull(subpkt_drop_name(SUBPKT__COUNT));
	ck_assert_ptr_nonnull(subpkt_drop_name((enum subpkt_drop) - 1));
}
END_TEST

START_TEST(test_build_too_big)
{
	static char big[SUBPKT_DGRAM_MAX];
	memset(big, 'n', sizeof(big) - 1);
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_puts(&b, "keep"), 0);
	struct subpkt p = {.key = subpkt_str_of("k"), .address = subpkt_str_of("a")};
	p.notify = (struct subpkt_str){big, 0};

	/* Find the largest notify that fits: the packet is then exactly the max. */
	ssize_t base = subpkt_build(&b, &p);
	ck_assert_int_gt(base, 0);
	b.len = 4;
	size_t room = SUBPKT_DGRAM_MAX - (size_t)base - 2 - 6 - 2; /* notify's record */
	p.notify.len = room;
	ck_assert_int_eq(subpkt_build(&b, &p), SUBPKT_DGRAM_MAX);
	b.len = 4;
	p.notify.len = room + 1;
	errno = 0;
	ck_assert_int_eq(subpkt_build(&b, &p), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_str_eq(b.data, "keep");
	buf_free(&b);
}
END_TEST

START_TEST(test_str_of)
{
	struct subpkt_str s = subpkt_str_of("abc");
	ck_assert_uint_eq(s.len, 3);
	ck_assert_mem_eq(s.p, "abc", 3);
	s = subpkt_str_of(NULL);
	ck_assert_ptr_null(s.p);
	ck_assert_uint_eq(s.len, 0);
	s = subpkt_str_of("");
	ck_assert_uint_eq(s.len, 0);
}
END_TEST

static Suite *subpkt_suite(void)
{
	Suite *s = suite_create("subpkt");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"ref_subscribe_parse", test_ref_subscribe_parse},
	    {"ref_unsubscribe_parse", test_ref_unsubscribe_parse},
	    {"ref_build", test_ref_build},
	    {"round_trip_all_fields", test_round_trip_all_fields},
	    {"signed", test_signed},
	    {"truncated", test_truncated},
	    {"drop_header", test_drop_header},
	    {"drop_oversized", test_drop_oversized},
	    {"drop_bad_vars", test_drop_bad_vars},
	    {"drop_bad_number", test_drop_bad_number},
	    {"drop_key", test_drop_key},
	    {"drop_address", test_drop_address},
	    {"duplicates_last_wins", test_duplicates_last_wins},
	    {"unknown_and_numbers", test_unknown_and_numbers},
	    {"failure_zeroes_out", test_failure_zeroes_out},
	    {"drop_names", test_drop_names},
	    {"build_too_big", test_build_too_big},
	    {"str_of", test_str_of},
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
	return unit_run(subpkt_suite());
}
