/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for tuntap/gateway.c's pure core and the gateway's keys in
 * tuntap/config.c: a packet sealed and opened comes back whole with its
 * header; any byte flipped, a wrong key and every truncation are refused
 * (exact-size copies, for ASan); the replay window refuses a repeat, takes
 * reordering within TT_GW_WINDOW and refuses what is behind it; senders
 * have windows of their own, and an evicted sender's datagrams stay
 * refused; oversize packets are not sealed. Config: GATEWAY, routes and the
 * key file (hex, its permissions), each error naming file, line and key.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/ttcfg.h"
#include "tuntap/gateway.h"

#define ORIGIN TTCFG_ORIGIN

static const uint8_t psk[32] = {1,  2,	3,  4,	5,  6,	7,  8,	9,  10, 11, 12, 13, 14, 15, 16,
				17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* A small UDP/IPv4 packet 10.1.0.2 -> 10.2.0.2 (not checksummed). */
static size_t mkpkt(uint8_t *d, size_t payload)
{
	size_t n = 28 + payload;
	memset(d, 0, n);
	d[0] = 0x45;
	d[2] = (uint8_t)(n >> 8), d[3] = (uint8_t)n;
	d[8] = 64, d[9] = 17;
	d[12] = 10, d[13] = 1, d[15] = 2;
	d[16] = 10, d[17] = 2, d[19] = 2;
	d[20] = 0x30, d[22] = 0x30, d[24] = (uint8_t)((8 + payload) >> 8),
	d[25] = (uint8_t)(8 + payload);
	for (size_t i = 0; i < payload; i++)
		d[28 + i] = (uint8_t)(i * 7);
	return n;
}

static struct tt_gw_crypt k;

static void crypt_setup(void)
{
	struct err *e = NULL;
	ck_assert_msg(tt_gw_crypt_init(&k, psk, &e) == 0, "%s", err_msg(e));
}

static void crypt_teardown(void)
{
	tt_gw_crypt_free(&k);
}

/* Open a copy of exactly @len bytes (so ASan sees any overread). */
static long open_copy(const uint8_t *dg, size_t len, uint8_t *out, size_t cap, struct tt_gw_hdr *h)
{
	uint8_t *c = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(c);
	memcpy(c, dg, len);
	long r = tt_gw_open(&k, c, len, out, cap, h);
	free(c);
	return r;
}

START_TEST(test_round_trip)
{
	uint8_t pkt[1500], dg[1600], out[1600];
	size_t n = mkpkt(pkt, 100);
	long d = tt_gw_seal(&k, 0xdeadbeef, 42, pkt, n, dg, sizeof(dg));
	ck_assert_int_eq(d, (long)(n + TT_GW_OVERHEAD));
	ck_assert_uint_eq(dg[0], TT_GW_MAGIC);
	ck_assert_uint_eq(dg[1], 0xde);
	ck_assert_uint_eq(dg[12], 42);
	ck_assert_msg(memcmp(dg + TT_GW_HDR, pkt, n) != 0, "the packet went in clear");
	struct tt_gw_hdr h;
	ck_assert_int_eq(open_copy(dg, (size_t)d, out, sizeof(out), &h), (long)n);
	ck_assert_mem_eq(out, pkt, n);
	ck_assert_uint_eq(h.sender, 0xdeadbeef);
	ck_assert_uint_eq(h.counter, 42);
	/* the same packet under the next counter seals differently */
	uint8_t dg2[1600];
	ck_assert_int_eq(tt_gw_seal(&k, 0xdeadbeef, 43, pkt, n, dg2, sizeof(dg2)), d);
	ck_assert_msg(memcmp(dg + TT_GW_HDR, dg2 + TT_GW_HDR, n) != 0, "nonce reused");
	/* an empty packet seals and opens (the router then finds it malformed) */
	ck_assert_int_eq(tt_gw_seal(&k, 1, 1, pkt, 0, dg, sizeof(dg)), TT_GW_OVERHEAD);
	ck_assert_int_eq(open_copy(dg, TT_GW_OVERHEAD, out, sizeof(out), &h), 0);
}
END_TEST

START_TEST(test_tamper)
{
	uint8_t pkt[200], dg[300], out[300];
	size_t n = mkpkt(pkt, 40);
	long d = tt_gw_seal(&k, 7, 1000, pkt, n, dg, sizeof(dg));
	ck_assert_int_gt(d, 0);
	for (long i = 0; i < d; i++) {
		for (int bit = 0; bit < 8; bit++) {
			dg[i] ^= (uint8_t)(1 << bit);
			struct tt_gw_hdr h;
			long r = open_copy(dg, (size_t)d, out, sizeof(out), &h);
			ck_assert_int_eq(r, i == 0 ? -TT_GW_MAGIC_BAD : -TT_GW_AUTH);
			dg[i] ^= (uint8_t)(1 << bit);
		}
	}
	struct tt_gw_hdr h;
	ck_assert_int_eq(open_copy(dg, (size_t)d, out, sizeof(out), &h), (long)n);
}
END_TEST

START_TEST(test_wrong_key)
{
	uint8_t other[32], pkt[200], dg[300], out[300];
	memcpy(other, psk, 32);
	other[31] ^= 1;
	struct tt_gw_crypt k2;
	struct err *e = NULL;
	ck_assert_int_eq(tt_gw_crypt_init(&k2, other, &e), 0);
	size_t n = mkpkt(pkt, 10);
	long d = tt_gw_seal(&k2, 7, 1, pkt, n, dg, sizeof(dg));
	ck_assert_int_gt(d, 0);
	struct tt_gw_hdr h;
	ck_assert_int_eq(open_copy(dg, (size_t)d, out, sizeof(out), &h), -TT_GW_AUTH);
	tt_gw_crypt_free(&k2);
	tt_gw_crypt_free(&k2); /* twice: a no-op */
}
END_TEST

START_TEST(test_truncations)
{
	uint8_t pkt[200], dg[300], out[300];
	size_t n = mkpkt(pkt, 30);
	long d = tt_gw_seal(&k, 9, 5, pkt, n, dg, sizeof(dg));
	for (long len = 0; len < d; len++) {
		struct tt_gw_hdr h;
		long r = open_copy(dg, (size_t)len, out, sizeof(out), &h);
		ck_assert_int_eq(r, len < TT_GW_OVERHEAD ? -TT_GW_SHORT : -TT_GW_AUTH);
	}
	/* an output buffer too small is refused, not overrun */
	struct tt_gw_hdr h;
	ck_assert_int_eq(open_copy(dg, (size_t)d, out, n - 1, &h), -TT_GW_AUTH);
	/* trailing bytes are a different ciphertext */
	dg[d] = 0;
	ck_assert_int_eq(open_copy(dg, (size_t)d + 1, out, sizeof(out), &h), -TT_GW_AUTH);
}
END_TEST

START_TEST(test_too_big)
{
	size_t cap = TT_GW_UDP_MAX + 64;
	uint8_t *pkt = calloc(1, cap), *dg = calloc(1, cap), *out = calloc(1, cap);
	ck_assert(pkt && dg && out);
	ck_assert_int_eq(tt_gw_seal(&k, 1, 1, pkt, TT_GW_PKT_MAX + 1, dg, cap), -1);
	long d = tt_gw_seal(&k, 1, 1, pkt, TT_GW_PKT_MAX, dg, cap);
	ck_assert_int_eq(d, TT_GW_UDP_MAX);
	struct tt_gw_hdr h;
	ck_assert_int_eq(tt_gw_open(&k, dg, (size_t)d, out, cap, &h), TT_GW_PKT_MAX);
	/* an output buffer too small for the datagram */
	ck_assert_int_eq(tt_gw_seal(&k, 1, 1, pkt, 100, dg, 100 + TT_GW_OVERHEAD - 1), -1);
	free(pkt), free(dg), free(out);
}
END_TEST

static enum tt_gw_drop acc(struct tt_gw_senders *t, uint32_t id, uint64_t c)
{
	struct tt_gw_hdr h = {.sender = id, .counter = c};
	return tt_gw_senders_accept(t, &h);
}

START_TEST(test_replay)
{
	static struct tt_gw_senders t;
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(acc(&t, 1, 100), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 1, 100), TT_GW_REPLAY);
	ck_assert_int_eq(acc(&t, 1, 101), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 1, 101), TT_GW_REPLAY);
	ck_assert_int_eq(acc(&t, 1, 100), TT_GW_REPLAY);
}
END_TEST

START_TEST(test_reorder)
{
	static struct tt_gw_senders t;
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(acc(&t, 1, 5000), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 1, 5010), TT_GW_OK);
	for (uint64_t c = 5001; c < 5010; c++)
		ck_assert_int_eq(acc(&t, 1, c), TT_GW_OK);
	for (uint64_t c = 5000; c <= 5010; c++)
		ck_assert_int_eq(acc(&t, 1, c), TT_GW_REPLAY);
	/* the oldest counter still inside the window, and one behind it */
	ck_assert_int_eq(acc(&t, 1, 5010 + TT_GW_WINDOW), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 1, 5011), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 1, 5010), TT_GW_OLD);
	ck_assert_int_eq(acc(&t, 1, 5011), TT_GW_REPLAY);
	/* bits reused by a wrapped position start clear */
	ck_assert_int_eq(acc(&t, 1, 5011 + TT_GW_WINDOW), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 1, 5012), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 1, 5011), TT_GW_OLD);
}
END_TEST

START_TEST(test_too_old)
{
	static struct tt_gw_senders t;
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(acc(&t, 3, 10), TT_GW_OK);
	/* a jump past the window forgets it all */
	ck_assert_int_eq(acc(&t, 3, 10 + 5 * TT_GW_WINDOW), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 3, 10), TT_GW_OLD);
	ck_assert_int_eq(acc(&t, 3, 10 + 4 * TT_GW_WINDOW), TT_GW_OLD);
	ck_assert_int_eq(acc(&t, 3, 11 + 4 * TT_GW_WINDOW), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 3, UINT64_MAX), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 3, UINT64_MAX), TT_GW_REPLAY);
	ck_assert_int_eq(acc(&t, 3, 0), TT_GW_OLD);
}
END_TEST

START_TEST(test_two_senders)
{
	static struct tt_gw_senders t;
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(acc(&t, 1, 100), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 2, 100), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 2, 50), TT_GW_OK);
	ck_assert_int_eq(acc(&t, 1, 100), TT_GW_REPLAY);
	ck_assert_int_eq(acc(&t, 2, 100), TT_GW_REPLAY);
	ck_assert_int_eq(acc(&t, 1, 50), TT_GW_OK);
}
END_TEST

START_TEST(test_eviction)
{
	static struct tt_gw_senders t;
	memset(&t, 0, sizeof(t));
	/* sender 1 is the least recently seen once the table is full */
	ck_assert_int_eq(acc(&t, 1, 1000), TT_GW_OK);
	for (uint32_t id = 2; id <= TT_GW_SENDERS; id++)
		ck_assert_int_eq(acc(&t, id, 2000 + id), TT_GW_OK);
	ck_assert_uint_eq(t.evicted, 0);
	ck_assert_int_eq(acc(&t, 100, 3000), TT_GW_OK);
	ck_assert_uint_eq(t.evicted, 1);
	/* sender 1's recorded datagrams stay refused, its counters under the floor */
	ck_assert_int_eq(acc(&t, 1, 1000), TT_GW_OLD);
	ck_assert_int_eq(acc(&t, 1, 990), TT_GW_OLD);
	/* the others still have their windows */
	ck_assert_int_eq(acc(&t, 2, 2002), TT_GW_REPLAY);
	/* a restarted sender (a counter past the floor) is taken */
	ck_assert_int_eq(acc(&t, 1, 1001), TT_GW_OK);
	ck_assert_uint_eq(t.evicted, 2);
}
END_TEST

START_TEST(test_drop_names)
{
	ck_assert_str_eq(tt_gw_drop_name(TT_GW_AUTH), "auth");
	ck_assert_str_eq(tt_gw_drop_name(TT_GW_REPLAY), "replay");
	ck_assert_str_eq(tt_gw_drop_name(TT_GW_TOO_BIG), "too_big");
	ck_assert_str_eq(tt_gw_drop_name(TT_GW__COUNT), "unknown");
	for (int i = 0; i < TT_GW__COUNT; i++)
		ck_assert_ptr_nonnull(tt_gw_drop_name((enum tt_gw_drop)i));
}
END_TEST

/* ---- config ---- */

static char dir[64];

static void dir_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_tt_gw.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void dir_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write @text to DIR/@name with @mode; the path goes to @path. */
static void key_file(const char *name, const char *text, mode_t mode, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void bad(const char *body, const char *want)
{
	struct tt_config c;
	char msg[512] = "";
	int r = ttcfg_read(body, &c, msg, sizeof(msg));
	tt_config_free(&c);
	ck_assert_msg(r < 0, "'%s' was accepted", body);
	ck_assert_msg(strstr(msg, want) != NULL, "'%s': '%s' lacks '%s'", body, msg, want);
	ck_assert_msg(strncmp(msg, ORIGIN ":", strlen(ORIGIN) + 1) == 0, "'%s': no origin", msg);
}

static const char hexkey[] = "000102030405060708090a0b0c0d0e0f"
			     "101112131415161718191A1B1C1D1E1F";

START_TEST(test_config_gateway)
{
	char path[128], body[1024], msg[512] = "";
	key_file("k", hexkey, 0600, path, sizeof(path));
	snprintf(body, sizeof(body),
		 "tuntap-router = tt0 /s - 192.168.50.1:4040\n"
		 "tuntap-router-route = 10.2.0.0/24 192.168.50.2:4040\n"
		 "tuntap-router-route = fd02::/64 192.168.50.2:4040\n"
		 "tuntap-router-route = 10.3.0.0/16 192.168.50.3:4041\n"
		 "tuntap-router-gateway-key = %s\n",
		 path);
	struct tt_config c;
	ck_assert_msg(ttcfg_read(body, &c, msg, sizeof(msg)) == 5, "%s", msg);
	ck_assert_str_eq(c.gateway, "192.168.50.1:4040");
	ck_assert_uint_eq(c.n_routes, 3);
	ck_assert_uint_eq(c.routes[0].net.prefix, 24);
	ck_assert_uint_eq(c.routes[1].net.family, TT_IPV6);
	ck_assert_str_eq(c.routes[2].peer_text, "192.168.50.3:4041");
	ck_assert_uint_eq(c.routes[2].peer.ss_family, AF_INET);
	ck_assert(c.gw_key_set);
	ck_assert_uint_eq(c.gw_key[0], 0);
	ck_assert_uint_eq(c.gw_key[26], 0x1a);
	ck_assert_uint_eq(c.gw_key[31], 0x1f);
	ck_assert(tt_gw_configured(&c));
	tt_config_free(&c);
	ck_assert(!c.gw_key_set);
	ck_assert_uint_eq(c.gw_key[31], 0);
	/* a key with a trailing newline, a wildcard GATEWAY, v6 */
	key_file("k2", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n", 0400,
		 path, sizeof(path));
	snprintf(body, sizeof(body),
		 "tuntap-router = tt0 /s - [::]:4040\n"
		 "tuntap-router-route = fd02::/64 [fd00::2]:4040\n"
		 "tuntap-router-gateway-key = %s\n",
		 path);
	ck_assert_msg(ttcfg_read(body, &c, msg, sizeof(msg)) == 3, "%s", msg);
	ck_assert_uint_eq(c.gw_key[0], 0xff);
	tt_config_free(&c);
	ck_assert_int_eq(ttcfg_read("tuntap-router = t /s\n", &c, msg, sizeof(msg)), 1);
	ck_assert(!tt_gw_configured(&c));
	tt_config_free(&c);
}
END_TEST

START_TEST(test_config_gateway_errors)
{
	char path[128], body[1024];
	bad("tuntap-router = t /s - not-an-address\n", ":2: tuntap-router: GATEWAY: ");
	bad("tuntap-router = t /s - /run/gw.sock\n", "GATEWAY '/run/gw.sock': expected a UDP");
	bad("tuntap-router = t /s - 10.0.0.1:0\n", "GATEWAY: bad address");
	bad("tuntap-router-route = 10.0.0.0/24\n", ":2: tuntap-router-route: expected CIDR ADDR");
	bad("tuntap-router-route = 10.0.0.0/24 10.0.0.1:1 x\n", "expected CIDR ADDR");
	bad("tuntap-router-route = 10.0.0.0/33 10.0.0.1:1\n", "prefix must be 0 to 32");
	bad("tuntap-router-route = 10.0.0.0/24 0.0.0.0:4040\n", "not a wildcard");
	bad("tuntap-router-route = 10.0.0.0/24 10.0.0.1\n", "ADDR: ");
	bad("tuntap-router-route = 10.0.0.0/24 @abstract\n", "expected a UDP");
	bad("tuntap-router-route = 10.0.0.0/24 10.0.0.1:1\n"
	    "tuntap-router-route = 10.0.0.0/24 10.0.0.2:1\n",
	    ":3: tuntap-router-route: 10.0.0.0/24 is routed twice");
	char many[4096] = "";
	for (int i = 0; i <= TT_GW_ROUTES_MAX; i++) {
		char line[96];
		snprintf(line, sizeof(line), "tuntap-router-route = 10.%d.0.0/16 10.0.0.1:1\n", i);
		strcat(many, line);
	}
	bad(many, "given more than 32 times");
	/* key files */
	bad("tuntap-router-gateway-key = /nonexistent/key\n",
	    ":2: tuntap-router-gateway-key: /nonexistent/key: No such file");
	key_file("open", hexkey, 0644, path, sizeof(path));
	snprintf(body, sizeof(body), "tuntap-router-gateway-key = %s\n", path);
	bad(body, "readable or writable by group or others");
	key_file("group", hexkey, 0640, path, sizeof(path));
	snprintf(body, sizeof(body), "tuntap-router-gateway-key = %s\n", path);
	bad(body, "by group or others");
	key_file("short", "0011", 0600, path, sizeof(path));
	snprintf(body, sizeof(body), "tuntap-router-gateway-key = %s\n", path);
	bad(body, "expected 64 hex digits");
	key_file("junk", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fzz", 0600,
		 path, sizeof(path));
	snprintf(body, sizeof(body), "tuntap-router-gateway-key = %s\n", path);
	bad(body, "expected 64 hex digits");
	key_file("nothex", "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600,
		 path, sizeof(path));
	snprintf(body, sizeof(body), "tuntap-router-gateway-key = %s\n", path);
	bad(body, "expected 64 hex digits");
	snprintf(body, sizeof(body), "tuntap-router-gateway-key = %s\n", dir);
	bad(body, "not a regular file");
	key_file("ok", hexkey, 0600, path, sizeof(path));
	snprintf(body, sizeof(body),
		 "tuntap-router-gateway-key = %s\ntuntap-router-gateway-key = %s\n", path, path);
	bad(body, ":3: tuntap-router-gateway-key: given more than once");
	char link[160];
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	snprintf(body, sizeof(body), "tuntap-router-gateway-key = %s\n", link);
	bad(body, "tuntap-router-gateway-key: ");
}
END_TEST

/* tt_gw_new refuses an incomplete gateway before touching a socket. */
START_TEST(test_config_incomplete)
{
	char path[128], body[1024], msg[512] = "";
	key_file("k", hexkey, 0600, path, sizeof(path));
	struct {
		const char *head; /* then the key line, or not */
		bool key;
		const char *want;
	} cases[] = {
	    {"tuntap-router = t /s\ntuntap-router-route = 10.2.0.0/24 10.9.0.2:1\n", true,
	     "need the GATEWAY field"},
	    {"tuntap-router = t /s - 10.9.0.1:1\ntuntap-router-route = 10.2.0.0/24 10.9.0.2:1\n",
	     false, "needs tuntap-router-gateway-key"},
	    {"tuntap-router = t /s - 10.9.0.1:1\n", true, "has no tuntap-router-route"},
	    {"tuntap-router = t /s - 10.9.0.1:1\ntuntap-router-route = 10.2.0.0/24 [fd00::2]:1\n",
	     true, "not of the gateway 10.9.0.1:1's address family"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tt_config c;
		snprintf(body, sizeof(body), "%s%s%s\n", cases[i].head,
			 cases[i].key ? "tuntap-router-gateway-key = " : "# ", path);
		ck_assert_msg(ttcfg_read(body, &c, msg, sizeof(msg)) >= 0, "%s", msg);
		ck_assert(tt_gw_configured(&c));
		struct err *e = NULL;
		ck_assert_ptr_null(tt_gw_new(NULL, &c, NULL, NULL, &e));
		ck_assert_ptr_nonnull(e);
		ck_assert_msg(strstr(err_msg(e), cases[i].want) != NULL, "'%s' lacks '%s'",
			      err_msg(e), cases[i].want);
		err_free(&e);
		tt_config_free(&c);
	}
}
END_TEST

static Suite *tt_gateway_suite(void)
{
	Suite *s = suite_create("tt_gateway");
	struct {
		const char *name;
		const TTest *fn;
		bool crypt;
	} cases[] = {
	    {"round_trip", test_round_trip, true},
	    {"tamper", test_tamper, true},
	    {"wrong_key", test_wrong_key, true},
	    {"truncations", test_truncations, true},
	    {"too_big", test_too_big, true},
	    {"replay", test_replay, false},
	    {"reorder", test_reorder, false},
	    {"too_old", test_too_old, false},
	    {"two_senders", test_two_senders, false},
	    {"eviction", test_eviction, false},
	    {"drop_names", test_drop_names, false},
	    {"config_gateway", test_config_gateway, false},
	    {"config_gateway_errors", test_config_gateway_errors, false},
	    {"config_incomplete", test_config_incomplete, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 30);
		if (cases[i].crypt)
			tcase_add_checked_fixture(tc, crypt_setup, crypt_teardown);
		else
			tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(tt_gateway_suite());
}
