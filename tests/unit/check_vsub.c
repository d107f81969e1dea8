/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests of the vassal's subscription keys (the pure half, in
 * vassal/config.c): the forms of `subscribe-to`, `subscribe2` with escapes
 * and every name, what both refuse, `domain` and the other keys as the
 * validator sees them (file:line:key), key file lines, and the packets:
 * uWSGI's captured reference vectors, and byte equality with subpkt_build
 * of the struct a target should announce. Signing: DIGEST:KEYFILE in both
 * forms, the host-side key check of the validator, the key files the
 * emperor opens for a vassal, the keyring read from those descriptors before
 * the jail, signed packets that verify with the public key, and `unix`
 * stamps that strictly increase. And the keys a vassal may claim on the
 * emperor's socket.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/err.h"
#include "core/sign.h"
#include "core/subpkt.h"
#include "jail/jail.h"
#include "vassal/internal.h"
#include "vassal/vassal.h"

#define ORIGIN "/etc/imperium/vassals.d/app.ini"

/* ---- helpers ---- */

static struct vsl_sub parse_ok(enum vsl_sub_kind kind, const char *value)
{
	_cleanup_err_ struct err *err = NULL;
	struct vsl_sub s;
	int r = vsl_sub_parse(kind, value, &s, &err);
	ck_assert_msg(r == 0, "'%s' refused: %s", value, err_msg(err));
	ck_assert_ptr_null(err);
	return s;
}

static void assert_refused(enum vsl_sub_kind kind, const char *value, const char *needle)
{
	_cleanup_err_ struct err *err = NULL;
	struct vsl_sub s;
	ck_assert_msg(vsl_sub_parse(kind, value, &s, &err) == -1, "'%s' accepted", value);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err_msg(err), needle) != NULL, "'%s': '%s' lacks '%s'", value,
		      err_msg(err), needle);
	ck_assert_ptr_null(s.buf);
}

static void assert_str(const char *got, const char *want)
{
	if (want == NULL)
		ck_assert_ptr_null(got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0, "got '%s', want '%s'",
			      got ? got : "(null)", want);
}

/* Validate @text; the error message (static copy) or NULL if valid. */
static const char *validate(const char *text)
{
	static char msg[1024];
	_cleanup_err_ struct err *err = NULL;
	_cleanup_cfg_ struct cfg *c =
	    cfg_parse_buf(ORIGIN, text, strlen(text), vsl_sections, 0, &err);
	ck_assert_msg(c != NULL, "parse: %s", err_msg(err));
	unsigned long ns = 0;
	ck_assert_int_eq(jail_parse_clone_flags("ipc,uts,fs,pid,net", &ns, NULL), 0);
	if (vsl_config_validate(c, ns, &err) == 0)
		return NULL;
	snprintf(msg, sizeof(msg), "%s", err_msg(err));
	return msg;
}

#define HEAD "[vassal]\nexec = /app/hello\n"
#define SOCK "socket = 127.0.0.1:3031\n"

#define assert_valid(text)                                                                         \
	do {                                                                                       \
		const char *m_ = validate(text);                                                   \
		ck_assert_msg(m_ == NULL, "refused: %s", m_);                                      \
	} while (0)

#define assert_invalid(text, needle)                                                               \
	do {                                                                                       \
		const char *m_ = validate(text);                                                   \
		ck_assert_msg(m_ != NULL, "accepted: %s", text);                                   \
		ck_assert_msg(strstr(m_, needle) != NULL, "'%s' lacks '%s'", m_, needle);          \
	} while (0)

/* Hex text to bytes; returns the length. */
static size_t unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = strlen(hex) / 2;
	ck_assert_uint_le(n, max);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
	return n;
}

/* ---- subscribe-to ---- */

START_TEST(test_to_forms)
{
	struct vsl_sub s = parse_ok(VSL_SUB_TO, "127.0.0.1:2626:app.test");
	ck_assert_int_eq(s.kind, VSL_SUB_TO);
	assert_str(s.server, "127.0.0.1:2626");
	assert_str(s.key, "app.test");
	assert_str(s.address, NULL);
	ck_assert(!s.key_file);
	ck_assert_int_eq(s.modifier1, 0);
	ck_assert_int_eq(s.weight, 0);
	ck_assert_uint_eq(s.socket, 0);
	vsl_sub_clear(&s);
	ck_assert_ptr_null(s.buf);

	/* The key is everything after the second ':'. */
	s = parse_ok(VSL_SUB_TO, "127.0.0.1:2626:127.0.0.1:9000,5");
	assert_str(s.server, "127.0.0.1:2626");
	assert_str(s.key, "127.0.0.1:9000");
	ck_assert_int_eq(s.modifier1, 5);
	vsl_sub_clear(&s);

	s = parse_ok(VSL_SUB_TO, "/run/router.sock:app.test/mount");
	assert_str(s.server, "/run/router.sock");
	assert_str(s.key, "app.test/mount");
	vsl_sub_clear(&s);

	s = parse_ok(VSL_SUB_TO, "10.0.0.5:3031=127.0.0.1:2626:app.test,255");
	assert_str(s.address, "10.0.0.5:3031");
	assert_str(s.server, "127.0.0.1:2626");
	assert_str(s.key, "app.test");
	ck_assert_int_eq(s.modifier1, 255);
	vsl_sub_clear(&s);

	s = parse_ok(VSL_SUB_TO, "/run/app.sock=/run/router.sock:app.test");
	assert_str(s.address, "/run/app.sock");
	assert_str(s.server, "/run/router.sock");
	vsl_sub_clear(&s);

	s = parse_ok(VSL_SUB_TO, "localhost:2626:@/etc/keys.txt,7");
	ck_assert(s.key_file);
	assert_str(s.key, "/etc/keys.txt");
	ck_assert_int_eq(s.modifier1, 7);
	vsl_sub_clear(&s);

	s = parse_ok(VSL_SUB_TO, "[::1]:2626:app.test:8080");
	assert_str(s.server, "[::1]:2626");
	assert_str(s.key, "app.test:8080");
	vsl_sub_clear(&s);
}
END_TEST

START_TEST(test_to_refusals)
{
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,",
		       "sign '': expected DIGEST:KEYFILE");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626", "expected [ANNOUNCE=]HOST:PORT:KEY");
	assert_refused(VSL_SUB_TO, "app.test", "expected");
	assert_refused(VSL_SUB_TO, "/run/router.sock", "expected");
	assert_refused(VSL_SUB_TO, "[::1:2626:app.test", "expected");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:", "key ''");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:a b", "key 'a b'");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,256", "modifier1 '256'");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,-1", "modifier1 '-1'");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,", "modifier1 ''");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,x", "modifier1 'x'");
	assert_refused(VSL_SUB_TO, "router.example:2626:app.test", "server");
	assert_refused(VSL_SUB_TO, "127.0.0.1:99999:app.test", "server");
	assert_refused(VSL_SUB_TO, "=127.0.0.1:2626:app.test", "announced address ''");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:@", "key file");
	char key[300];
	memset(key, 'k', 255);
	key[255] = '\0';
	char value[400];
	snprintf(value, sizeof(value), "127.0.0.1:2626:%s", key);
	assert_refused(VSL_SUB_TO, value, "1..254 bytes");
	key[254] = '\0';
	snprintf(value, sizeof(value), "127.0.0.1:2626:%s", key);
	struct vsl_sub s = parse_ok(VSL_SUB_TO, value);
	vsl_sub_clear(&s);
}
END_TEST

/* ---- subscribe2 ---- */

START_TEST(test_two_every_name)
{
	struct vsl_sub s = parse_ok(
	    VSL_SUB_TWO, "server=127.0.0.1:2626,key=app.test,addr=10.0.0.5:3031,weight=65535,"
			 "modifier1=5,modifier2=7,check=/run/up,sni_key=/k.pem,sni_crt=/c.pem,"
			 "sni_ca=/ca.pem,proto=http,algo=wlrc,backup=2,vassal=app,inactive=1");
	ck_assert_int_eq(s.kind, VSL_SUB_TWO);
	assert_str(s.server, "127.0.0.1:2626");
	assert_str(s.key, "app.test");
	assert_str(s.address, "10.0.0.5:3031");
	ck_assert_uint_eq(s.weight, 65535);
	ck_assert_int_eq(s.modifier1, 5);
	ck_assert_int_eq(s.modifier2, 7);
	assert_str(s.check, "/run/up");
	assert_str(s.sni_key, "/k.pem");
	assert_str(s.sni_crt, "/c.pem");
	assert_str(s.sni_ca, "/ca.pem");
	assert_str(s.proto, "http");
	assert_str(s.algo, "wlrc");
	ck_assert_uint_eq(s.backup, 2);
	assert_str(s.vassal, "app");
	ck_assert(s.inactive);
	vsl_sub_clear(&s);
}
END_TEST

START_TEST(test_two_defaults_and_aliases)
{
	struct vsl_sub s = parse_ok(VSL_SUB_TWO, "server=/run/r.sock,key=k,socket=3");
	assert_str(s.server, "/run/r.sock");
	ck_assert_uint_eq(s.socket, 3);
	assert_str(s.address, NULL);
	ck_assert_uint_eq(s.weight, 0);
	ck_assert_int_eq(s.modifier1, 0);
	ck_assert(!s.inactive);
	assert_str(s.proto, NULL);
	vsl_sub_clear(&s);

	s = parse_ok(VSL_SUB_TWO, "address=@app,key=k,server=[::1]:2626,inactive=0");
	assert_str(s.address, "@app");
	assert_str(s.server, "[::1]:2626");
	vsl_sub_clear(&s);
}
END_TEST

START_TEST(test_two_escapes)
{
	/* `\` takes the next character literally: ',' '=' and '\' itself. */
	struct vsl_sub s = parse_ok(VSL_SUB_TWO, "server=/run/r\\,1.sock,key=a\\=b\\\\c,"
						 "check=/x\\,y=z,vassal=v\\w");
	assert_str(s.server, "/run/r,1.sock");
	assert_str(s.key, "a=b\\c");
	assert_str(s.check, "/x,y=z"); /* only the first '=' separates */
	assert_str(s.vassal, "vw");
	vsl_sub_clear(&s);
	/* An escaped '=' in a name is part of the name. */
	assert_refused(VSL_SUB_TWO, "server=/r,ke\\=y=k", "unknown name 'ke=y'");
	assert_refused(VSL_SUB_TWO, "server=/r,key=k\\", "trailing backslash");
}
END_TEST

START_TEST(test_two_refusals)
{
	const char *base = "server=127.0.0.1:2626,key=app.test";
	char v[512];
#define REFUSE(extra, needle)                                                                      \
	do {                                                                                       \
		snprintf(v, sizeof(v), "%s,%s", base, extra);                                      \
		assert_refused(VSL_SUB_TWO, v, needle);                                            \
	} while (0)
	REFUSE("sign=SHA1:/k.pem,sign=SHA1:/k.pem", "'sign' given twice");
	REFUSE("sign=SHA1", "sign 'SHA1': expected DIGEST:KEYFILE");
	REFUSE("sign=NOPE:/k.pem", "sign: unknown digest 'NOPE'");
	REFUSE("sign=SHA1:k.pem", "sign key 'k.pem': not an absolute path");
	REFUSE("color=red", "unknown name 'color'");
	REFUSE("unix=5", "unknown name 'unix'");
	REFUSE("key=again", "'key' given twice");
	REFUSE("addr=a:1,address=b:2", "'address' given twice");
	REFUSE("weight", "'weight': expected name=value");
	REFUSE("weight=", "weight: empty value");
	REFUSE("weight=65536", "weight '65536'");
	REFUSE("weight=1x", "weight '1x'");
	REFUSE("weight=-1", "weight '-1'");
	REFUSE("weight=99999999999999999999999", "weight");
	REFUSE("modifier1=256", "modifier1 '256'");
	REFUSE("modifier2=300", "modifier2 '300'");
	REFUSE("backup=256", "backup '256'");
	REFUSE("socket=16", "socket '16'");
	REFUSE("inactive=2", "inactive '2'");
	REFUSE("proto=fastcgi", "proto 'fastcgi'");
	REFUSE("algo=random", "algo 'random'");
	REFUSE("vassal=a b", "vassal 'a b'");
	REFUSE("addr=a b", "announced address 'a b'");
	REFUSE("addr=10.0.0.1:1,socket=0", "exclude each other");
	REFUSE("", "'': expected name=value");
#undef REFUSE
	assert_refused(VSL_SUB_TWO, "key=app.test", "server= and key= are required");
	assert_refused(VSL_SUB_TWO, "server=127.0.0.1:2626", "server= and key= are required");
	assert_refused(VSL_SUB_TWO, "server=example.com:2626,key=k", "server");
	assert_refused(VSL_SUB_TWO, "server=fd://3,key=k", "server 'fd://3'");
	assert_refused(VSL_SUB_TWO, "server=127.0.0.1:2626,key=a b", "key 'a b'");
	assert_refused(VSL_SUB_TWO, "", "expected name=value");
}
END_TEST

/* ---- domain and the validator ---- */

START_TEST(test_domain)
{
	struct vsl_sub s = parse_ok(VSL_SUB_DOMAIN, "app.example.com");
	ck_assert_int_eq(s.kind, VSL_SUB_DOMAIN);
	assert_str(s.key, "app.example.com");
	assert_str(s.server, NULL);
	assert_str(s.proto, "http");
	ck_assert_uint_eq(s.weight, 1);
	vsl_sub_clear(&s);
	assert_refused(VSL_SUB_DOMAIN, "", "key ''");
	assert_refused(VSL_SUB_DOMAIN, "a b", "key 'a b'");
	assert_refused(VSL_SUB_DOMAIN, "a\tb", "key");
	assert_refused(VSL_SUB_DOMAIN, "a\x7f", "key");
	/* Bytes >= 0x80 are allowed (UTF-8 names). */
	s = parse_ok(VSL_SUB_DOMAIN, "caf\xc3\xa9.test");
	vsl_sub_clear(&s);
	ck_assert(vsl_sub_key_ok("x", 1));
	ck_assert(!vsl_sub_key_ok("x", 0));
	ck_assert(!vsl_sub_key_ok("x\x01", 2));
}
END_TEST

START_TEST(test_domain_validation)
{
	assert_valid(HEAD SOCK "domain = app.test\ndomain = www.app.test\n");
	assert_invalid(HEAD "domain = app.test\n", ORIGIN ":3: domain: domain needs a socket");
	assert_invalid(HEAD SOCK "domain = a b\n", ORIGIN ":4: domain");
	char text[1024];
	char name[256];
	memset(name, 'd', 255);
	name[255] = '\0';
	snprintf(text, sizeof(text), HEAD SOCK "domain = %s\n", name);
	assert_invalid(text, ORIGIN ":4: domain");
	name[254] = '\0';
	snprintf(text, sizeof(text), HEAD SOCK "domain = %s\n", name);
	assert_valid(text);
}
END_TEST

START_TEST(test_config_domains)
{
	const char *text = HEAD SOCK "domain = one.test\nheartbeat = 5\ndomain = two.test\n";
	_cleanup_err_ struct err *err = NULL;
	_cleanup_cfg_ struct cfg *c =
	    cfg_parse_buf(ORIGIN, text, strlen(text), vsl_sections, 0, &err);
	ck_assert_ptr_nonnull(c);
	const char *out[VSL_MAX_SUBSCRIPTIONS];
	ck_assert_int_eq(vsl_config_domains(c, out, VSL_MAX_SUBSCRIPTIONS, &err), 2);
	ck_assert_str_eq(out[0], "one.test");
	ck_assert_str_eq(out[1], "two.test");
	ck_assert_int_eq(vsl_config_domains(c, out, 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ORIGIN ":6: domain: too many domains"));
	err_free(&err);

	const char *none = HEAD SOCK;
	_cleanup_cfg_ struct cfg *c2 =
	    cfg_parse_buf(ORIGIN, none, strlen(none), vsl_sections, 0, &err);
	ck_assert_int_eq(vsl_config_domains(c2, out, VSL_MAX_SUBSCRIPTIONS, &err), 0);

	const char *bad = HEAD SOCK "domain = a b\n";
	_cleanup_cfg_ struct cfg *c3 =
	    cfg_parse_buf(ORIGIN, bad, strlen(bad), vsl_sections, 0, &err);
	ck_assert_int_eq(vsl_config_domains(c3, out, VSL_MAX_SUBSCRIPTIONS, &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ORIGIN ":4: domain"));
}
END_TEST

START_TEST(test_subscription_validation)
{
	assert_valid(HEAD SOCK "subscribe-to = 127.0.0.1:2626:app.test\n"
			       "subscribe2 = server=/run/r.sock,key=k,check=/run/up\n"
			       "subscribe-freq = 2\n"
			       "subscription-notify-socket = /run/acks.sock\n"
			       "unsubscribe-on-graceful-reload = yes\n");
	/* With an announced address no socket is needed. */
	assert_valid(HEAD "subscribe-to = 10.0.0.5:3031=127.0.0.1:2626:app.test\n");
	assert_valid(HEAD "subscribe2 = server=127.0.0.1:2626,key=k,addr=10.0.0.5:3031\n");
	assert_invalid(HEAD "subscribe-to = 127.0.0.1:2626:app.test\n",
		       ORIGIN ":3: subscribe-to: no socket to announce");
	assert_invalid(HEAD SOCK "subscribe2 = server=127.0.0.1:2626,key=k,socket=1\n",
		       ORIGIN ":4: subscribe2: socket=1: the vassal has 1 socket(s)");
	assert_valid(HEAD SOCK "socket = /run/app.sock\n"
			       "subscribe2 = server=127.0.0.1:2626,key=k,socket=1\n");
	assert_invalid(HEAD SOCK "subscribe-to = 127.0.0.1:2626:app.test,1,MD99:/k.pem\n",
		       ORIGIN ":4: subscribe-to: sign: unknown digest 'MD99'");
	assert_invalid(HEAD SOCK "subscribe2 = server=127.0.0.1:2626,key=k,sign=SHA1:k.pem\n",
		       ORIGIN ":4: subscribe2: sign key 'k.pem': not an absolute path");
	assert_invalid(HEAD SOCK "subscribe2 = server=127.0.0.1:2626,key=k,nope=1\n",
		       ORIGIN ":4: subscribe2: unknown name 'nope'");
	assert_invalid(HEAD SOCK "subscribe-freq = 0\n", ORIGIN ":4: subscribe-freq");
	assert_invalid(HEAD SOCK "subscribe-freq = 3601\n", ORIGIN ":4: subscribe-freq");
	assert_invalid(HEAD SOCK "subscribe-freq = 2s\n", ORIGIN ":4: subscribe-freq");
	assert_valid(HEAD SOCK "subscribe-freq = 3600\n");
	assert_invalid(HEAD SOCK "subscription-notify-socket = acks.sock\n",
		       ORIGIN ":4: subscription-notify-socket");
	assert_invalid(HEAD SOCK "unsubscribe-on-graceful-reload = maybe\n",
		       ORIGIN ":4: unsubscribe-on-graceful-reload");
	char text[16384];
	char path[4000];
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(text, sizeof(text),
		 HEAD SOCK "subscribe2 = server=127.0.0.1:2626,key=k,sni_key=%s,sni_crt=%s\n", path,
		 path);
	assert_invalid(text, ORIGIN ":4: subscribe2: its packet would exceed 4096 bytes");
}
END_TEST

START_TEST(test_too_many_subscriptions)
{
	char text[8192] = HEAD SOCK;
	for (int i = 0; i <= VSL_MAX_SUBSCRIPTIONS; i++) {
		size_t len = strlen(text);
		snprintf(text + len, sizeof(text) - len, "domain = d%d.test\n", i);
	}
	/* The 65th is on line 4 + 64. */
	assert_invalid(text, ORIGIN ":68: domain: too many subscriptions");
}
END_TEST

/* ---- key files ---- */

static void assert_keyline(const char *line, int want, const char *key, int m1)
{
	_cleanup_err_ struct err *err = NULL;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", line);
	const char *k = NULL;
	uint8_t got_m1 = 99;
	int r = vsl_sub_keyline(buf, 9, &k, &got_m1, &err);
	ck_assert_msg(r == want, "'%s': %d, want %d (%s)", line, r, want, err_msg(err));
	if (r > 0) {
		ck_assert_str_eq(k, key);
		ck_assert_int_eq(got_m1, m1);
	}
}

START_TEST(test_keyline)
{
	assert_keyline("a.test", 1, "a.test", 9);
	assert_keyline("b.test,5", 1, "b.test", 5);
	assert_keyline("  c.test , 7 \r", 1, "c.test", 7);
	assert_keyline("", 0, NULL, 0);
	assert_keyline("   \r", 0, NULL, 0);
	assert_keyline("# a comment", 0, NULL, 0);
	assert_keyline("bad key", -1, NULL, 0);
	assert_keyline("k,300", -1, NULL, 0);
	assert_keyline("k,", -1, NULL, 0);
	assert_keyline("k,1,2", -1, NULL, 0);
	assert_keyline(",1", -1, NULL, 0);
}
END_TEST

/* ---- packets ---- */

static void build_eq(const struct subpkt *got, const struct subpkt *want)
{
	_cleanup_buf_ struct buf a = BUF_INIT;
	_cleanup_buf_ struct buf b = BUF_INIT;
	ck_assert_int_gt(subpkt_build(&a, got), 0);
	ck_assert_int_gt(subpkt_build(&b, want), 0);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
}

/* PROTOCOL.md: Debian's uWSGI 2.0.21, `--subscribe-to 127.0.0.1:2626:127.0.0.1:9000`
 * with socket 127.0.0.1:3031, and an unsubscribe for ref2:9000 at 127.0.0.1:3048. */
START_TEST(test_reference_vectors)
{
	static const char sub_hex[] =
	    "e068000003006b65790e003132372e302e302e313a393030300700616464726573730e003132372e302e"
	    "302e313a3330333109006d6f6469666965723101003009006d6f646966696572320100300500636f7265"
	    "7301003104006c6f61640100300600776569676874010030";
	static const char unsub_hex[] =
	    "e063000103006b65790900726566323a393030300700616464726573730e003132372e302e302e313a33"
	    "30343809006d6f6469666965723101003009006d6f646966696572320100300500636f72657301003104"
	    "006c6f61640100300600776569676874010030";
	unsigned char want[256];
	struct subpkt p;
	_cleanup_buf_ struct buf b = BUF_INIT;

	struct vsl_sub s = parse_ok(VSL_SUB_TO, "127.0.0.1:2626:127.0.0.1:9000");
	vsl_sub_fill(&s, NULL, "127.0.0.1:3031", NULL, &p);
	size_t n = unhex(sub_hex, want, sizeof(want));
	ck_assert_uint_eq(n, 108);
	ck_assert_int_eq(subpkt_build(&b, &p), (ssize_t)n);
	ck_assert_int_eq(memcmp(b.data, want, n), 0);
	vsl_sub_clear(&s);

	buf_reset(&b);
	s = parse_ok(VSL_SUB_TO, "127.0.0.1:2626:ref2:9000");
	vsl_sub_fill(&s, NULL, "127.0.0.1:3048", NULL, &p);
	p.unsubscribe = true;
	n = unhex(unsub_hex, want, sizeof(want));
	ck_assert_int_eq(subpkt_build(&b, &p), (ssize_t)n);
	ck_assert_int_eq(memcmp(b.data, want, n), 0);
	/* The unsubscribe differs from the subscribe in byte 3 only. */
	p.unsubscribe = false;
	_cleanup_buf_ struct buf b2 = BUF_INIT;
	ck_assert_int_eq(subpkt_build(&b2, &p), (ssize_t)n);
	ck_assert_int_eq(b2.data[3], 0);
	b2.data[3] = 1;
	ck_assert_int_eq(memcmp(b2.data, want, n), 0);
	vsl_sub_clear(&s);
}
END_TEST

START_TEST(test_packet_domain)
{
	struct vsl_sub s = parse_ok(VSL_SUB_DOMAIN, "app.test");
	struct subpkt got, want;
	/* A domain never carries notify. */
	vsl_sub_fill(&s, NULL, "0.0.0.0:8000", "/run/acks.sock", &got);
	memset(&want, 0, sizeof(want));
	want.key = subpkt_str_of("app.test");
	want.address = subpkt_str_of("0.0.0.0:8000");
	want.proto = subpkt_str_of("http");
	want.cores = 1;
	want.weight = 1;
	build_eq(&got, &want);

	/* And it parses back as such. */
	_cleanup_buf_ struct buf b = BUF_INIT;
	ck_assert_int_gt(subpkt_build(&b, &got), 0);
	struct subpkt back;
	ck_assert_int_eq(subpkt_parse(b.data, b.len, &back), SUBPKT_OK);
	ck_assert(!back.unsubscribe);
	ck_assert_uint_eq(back.key.len, 8);
	ck_assert_int_eq(memcmp(back.key.p, "app.test", 8), 0);
	ck_assert_uint_eq(back.notify.len, 0);
	ck_assert_uint_eq(back.weight, 1);
	ck_assert_int_eq((unsigned char)b.data[0], SUBPKT_MODIFIER1);
	vsl_sub_clear(&s);
}
END_TEST

START_TEST(test_packet_subscribe2)
{
	struct vsl_sub s = parse_ok(
	    VSL_SUB_TWO, "server=127.0.0.1:2626,key=app.test,weight=3,modifier1=5,modifier2=7,"
			 "sni_key=/k.pem,sni_crt=/c.pem,sni_ca=/ca.pem,proto=uwsgi,algo=lrc,"
			 "backup=2,vassal=app,inactive=1,check=/run/up");
	struct subpkt got, want;
	vsl_sub_fill(&s, NULL, "10.0.0.5:3031", "/run/acks.sock", &got);
	memset(&want, 0, sizeof(want));
	want.key = subpkt_str_of("app.test");
	want.address = subpkt_str_of("10.0.0.5:3031");
	want.notify = subpkt_str_of("/run/acks.sock");
	want.sni_key = subpkt_str_of("/k.pem");
	want.sni_crt = subpkt_str_of("/c.pem");
	want.sni_ca = subpkt_str_of("/ca.pem");
	want.vassal = subpkt_str_of("app");
	want.proto = subpkt_str_of("uwsgi");
	want.algo = subpkt_str_of("lrc");
	want.modifier1 = 5;
	want.modifier2 = 7;
	want.cores = 1;
	want.weight = 3;
	want.backup = 2;
	want.inactive = true;
	build_eq(&got, &want);
	vsl_sub_clear(&s);

	/* A key file's key replaces the entry's (the file's path). */
	s = parse_ok(VSL_SUB_TO, "/run/r.sock:@/etc/keys,4");
	vsl_sub_fill(&s, "from.file", "/run/app.sock", NULL, &got);
	memset(&want, 0, sizeof(want));
	want.key = subpkt_str_of("from.file");
	want.address = subpkt_str_of("/run/app.sock");
	want.modifier1 = 4;
	want.cores = 1;
	build_eq(&got, &want);
	vsl_sub_clear(&s);
}
END_TEST

/* ---- signing ---- */

static char key_dir[64];

/* key_path - @name in the fixture's key dir (a static buffer per call site
 * is not needed: callers copy into their own). */
static void key_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", key_dir, name);
}

static void write_key(const char *name, EVP_PKEY *pk, bool private_key)
{
	char path[128];
	key_path(path, sizeof(path), name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	int r = private_key ? PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL)
			    : PEM_write_PUBKEY(f, pk);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Keys a (RSA-1024, private a.pem, public a.pub), b likewise, an EC key and
 * a file that is no key at all. */
static void keys_setup(void)
{
	snprintf(key_dir, sizeof(key_dir), "/tmp/check_vsub.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(key_dir));
	const char *names[] = {"a", "b"};
	for (size_t i = 0; i < 2; i++) {
		EVP_PKEY *pk = EVP_RSA_gen(1024);
		ck_assert_ptr_nonnull(pk);
		char name[16];
		snprintf(name, sizeof(name), "%s.pem", names[i]);
		write_key(name, pk, true);
		snprintf(name, sizeof(name), "%s.pub", names[i]);
		write_key(name, pk, false);
		EVP_PKEY_free(pk);
	}
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(ec);
	write_key("ec.pem", ec, true);
	EVP_PKEY_free(ec);
	char path[128];
	key_path(path, sizeof(path), "junk.pem");
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not a key\n", f);
	fclose(f);
}

static void keys_teardown(void)
{
	const char *names[] = {"a.pem", "a.pub", "b.pem", "b.pub", "ec.pem", "junk.pem"};
	char path[128];
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		key_path(path, sizeof(path), names[i]);
		unlink(path);
	}
	rmdir(key_dir);
}

/* A read-only descriptor of @path, as the emperor opens a key file. */
static int open_ro(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	return fd;
}

static void assert_err(const struct err *err, const char *needle)
{
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err_msg(err), needle) != NULL, "'%s' lacks '%s'", err_msg(err),
		      needle);
}

static struct sign_key *load_key(const char *name, bool private_key)
{
	_cleanup_err_ struct err *err = NULL;
	char path[128];
	key_path(path, sizeof(path), name);
	struct sign_key *k = sign_key_load(path, private_key, &err);
	ck_assert_msg(k != NULL, "%s: %s", path, err_msg(err));
	return k;
}

START_TEST(test_sign_forms)
{
	struct vsl_sub s = parse_ok(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,SHA256:/etc/k.pem");
	assert_str(s.key, "app.test");
	ck_assert_int_eq(s.modifier1, 0);
	assert_str(s.sign_digest, "SHA256");
	assert_str(s.sign_key, "/etc/k.pem");
	vsl_sub_clear(&s);

	s = parse_ok(VSL_SUB_TO, "10.0.0.5:3031=127.0.0.1:2626:app.test:8080,5,sha1:/k");
	assert_str(s.address, "10.0.0.5:3031");
	assert_str(s.key, "app.test:8080");
	ck_assert_int_eq(s.modifier1, 5);
	assert_str(s.sign_digest, "sha1");
	assert_str(s.sign_key, "/k");
	vsl_sub_clear(&s);

	s = parse_ok(VSL_SUB_TO, "/run/r.sock:@/etc/keys,3,SHA512:/etc/k.pem");
	ck_assert(s.key_file);
	assert_str(s.key, "/etc/keys");
	assert_str(s.sign_key, "/etc/k.pem");
	vsl_sub_clear(&s);

	/* Everything after the second comma is the DIGEST:KEYFILE pair. */
	s = parse_ok(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,SHA1:/k,1.pem");
	assert_str(s.sign_key, "/k,1.pem");
	vsl_sub_clear(&s);

	s = parse_ok(VSL_SUB_TWO,
		     "server=127.0.0.1:2626,key=k,sign=SHA256:/etc/k\\,2.pem,weight=2");
	assert_str(s.sign_digest, "SHA256");
	assert_str(s.sign_key, "/etc/k,2.pem");
	ck_assert_uint_eq(s.weight, 2);
	vsl_sub_clear(&s);

	/* No third field, no sign=: unsigned. */
	s = parse_ok(VSL_SUB_TO, "127.0.0.1:2626:app.test,0");
	assert_str(s.sign_digest, NULL);
	assert_str(s.sign_key, NULL);
	vsl_sub_clear(&s);
	s = parse_ok(VSL_SUB_DOMAIN, "d.test");
	assert_str(s.sign_key, NULL);
	vsl_sub_clear(&s);

	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,SHA256", "expected DIGEST:KEYFILE");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,:/k.pem", "expected DIGEST:KEYFILE");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,SHA256:", "expected DIGEST:KEYFILE");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,NOPE:/k.pem",
		       "sign: unknown digest 'NOPE'");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,SHAKE128:/k.pem", "unknown digest");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,SHA256:k.pem",
		       "sign key 'k.pem': not an absolute path");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,SHA256:./k.pem", "not an absolute");
	assert_refused(VSL_SUB_TO, "127.0.0.1:2626:app.test,x,SHA256:/k.pem", "modifier1 'x'");
	char value[PATH_MAX + 64];
	char path[PATH_MAX + 1];
	memset(path, 'p', PATH_MAX);
	path[0] = '/';
	path[PATH_MAX] = '\0';
	snprintf(value, sizeof(value), "127.0.0.1:2626:k,0,SHA1:%s", path);
	assert_refused(VSL_SUB_TO, value, "path too long");
}
END_TEST

START_TEST(test_sign_validation)
{
	char text[1024], path[128];
	key_path(path, sizeof(path), "a.pem");
	snprintf(text, sizeof(text),
		 HEAD SOCK "subscribe-to = 127.0.0.1:2626:app.test,0,SHA256:%s\n", path);
	assert_valid(text);
	snprintf(text, sizeof(text),
		 HEAD SOCK "subscribe2 = server=127.0.0.1:2626,key=k,sign=SHA1:%s\n", path);
	assert_valid(text);

	/* The host's view: the key is read (and dropped) as a check. */
	key_path(path, sizeof(path), "none.pem");
	snprintf(text, sizeof(text),
		 HEAD SOCK "subscribe-to = 127.0.0.1:2626:app.test,0,SHA256:%s\n", path);
	assert_invalid(text, ORIGIN ":4: subscribe-to: sign: ");
	assert_invalid(text, "none.pem");
	/* The in-jail check of a new config reads no key. */
	_cleanup_err_ struct err *err = NULL;
	_cleanup_cfg_ struct cfg *c =
	    cfg_parse_buf(ORIGIN, text, strlen(text), vsl_sections, 0, &err);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(vsl_config_validate_own(c, &err), 0);

	const char *bad[][2] = {
	    {"ec.pem", "not an RSA key"}, {"junk.pem", "junk.pem"}, {"a.pub", "a.pub"}};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		key_path(path, sizeof(path), bad[i][0]);
		snprintf(text, sizeof(text),
			 HEAD SOCK "subscribe2 = server=127.0.0.1:2626,key=k,sign=SHA256:%s\n",
			 path);
		assert_invalid(text, ORIGIN ":4: subscribe2: sign: ");
		assert_invalid(text, bad[i][1]);
	}
}
END_TEST

START_TEST(test_keyring)
{
	char text[1024], a[128], b[128];
	key_path(a, sizeof(a), "a.pem");
	key_path(b, sizeof(b), "b.pem");
	snprintf(text, sizeof(text),
		 HEAD SOCK "subscribe-to = 127.0.0.1:2626:one.test,0,SHA256:%s\n"
			   "domain = d.test\n"
			   "subscribe2 = server=127.0.0.1:2626,key=two.test,sign=SHA1:%s\n"
			   "subscribe-to = 127.0.0.1:2627:three.test,0,SHA256:%s\n"
			   "subscribe-to = 127.0.0.1:2627:four.test\n",
		 a, a, b);
	_cleanup_err_ struct err *err = NULL;
	_cleanup_cfg_ struct cfg *c =
	    cfg_parse_buf(ORIGIN, text, strlen(text), vsl_sections, 0, &err);
	ck_assert_ptr_nonnull(c);
	struct vsl_keyring r;
	memset(&r, 0, sizeof(r));
	struct vsl_key_fd fds[] = {{b, open_ro(b)}, {a, open_ro(a)}};
	ck_assert_msg(vsl_keyring_load(&r, c, fds, 2, &err) == 0, "%s", err_msg(err));
	/* One key per distinct path, whatever the digests. */
	ck_assert_uint_eq(r.n, 2);
	const struct sign_key *ka = vsl_keyring_find(&r, a);
	ck_assert_ptr_nonnull(ka);
	ck_assert(sign_key_is_private(ka));
	ck_assert_uint_eq(sign_key_bits(ka), 1024);
	ck_assert_ptr_nonnull(vsl_keyring_find(&r, b));
	ck_assert_ptr_ne(vsl_keyring_find(&r, b), ka);
	ck_assert_ptr_null(vsl_keyring_find(&r, "/etc/none.pem"));
	vsl_keyring_free(&r);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_ptr_null(vsl_keyring_find(&r, a));

	/* A key that came without a descriptor names the line. */
	ck_assert_int_eq(vsl_keyring_load(&r, c, fds + 1, 1, &err), -1);
	assert_err(err, ORIGIN ":7: subscribe-to: sign: ");
	assert_err(err, "b.pem: no descriptor from the emperor");
	ck_assert_uint_eq(r.n, 1); /* what was read stays, to be freed */
	vsl_keyring_free(&r);
	err_free(&err);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		close(fds[i].fd);
}
END_TEST

/* One key file, signed with, as a config and its keyring's result. */
static int load_one(const char *path, int fd, const char *extra, struct err **err)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 HEAD SOCK "subscribe-to = 127.0.0.1:2626:one.test,0,SHA256:%s\n", path);
	_cleanup_cfg_ struct cfg *c =
	    cfg_parse_buf(ORIGIN, text, strlen(text), vsl_sections, 0, err);
	ck_assert_ptr_nonnull(c);
	struct vsl_keyring r;
	memset(&r, 0, sizeof(r));
	struct vsl_key_fd fds[] = {{path, fd}, {extra, -1}};
	int rc = vsl_keyring_load(&r, c, fds, extra != NULL ? 2 : 1, err);
	if (rc == 0) {
		ck_assert_uint_eq(r.n, 1);
		ck_assert(sign_key_is_private(vsl_keyring_find(&r, path)));
	}
	vsl_keyring_free(&r);
	return rc;
}

START_TEST(test_keyring_descriptors)
{
	_cleanup_err_ struct err *err = NULL;
	char a[128], path[128];
	key_path(a, sizeof(a), "a.pem");

	/* Only the descriptor is read: the path may be gone (or unreadable to
	 * the vassal), and the file is read from its start. */
	int fd = open_ro(a);
	ck_assert_int_gt(lseek(fd, 0, SEEK_END), 0);
	key_path(path, sizeof(path), "gone.pem");
	ck_assert_int_eq(link(a, path), 0);
	int gone = open_ro(path);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_msg(load_one(path, gone, NULL, &err) == 0, "%s", err_msg(err));
	ck_assert_msg(load_one(a, fd, NULL, &err) == 0, "%s", err_msg(err));
	close(gone);

	/* A descriptor naming no key of the config. */
	ck_assert_int_eq(load_one(a, fd, "/etc/other.pem", &err), -1);
	assert_err(err, "--sign-key /etc/other.pem: not a signing key of " ORIGIN);
	err_free(&err);
	close(fd);

	/* What sign_key_load refuses, refused from a descriptor too. */
	const char *bad[][2] = {{"ec.pem", "not an RSA key"}, {"a.pub", "a.pub"}};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		key_path(path, sizeof(path), bad[i][0]);
		fd = open_ro(path);
		ck_assert_int_eq(load_one(path, fd, NULL, &err), -1);
		assert_err(err, ORIGIN ":4: subscribe-to: sign: ");
		assert_err(err, bad[i][1]);
		err_free(&err);
		close(fd);
	}
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(load_one("/k.pem", p[0], NULL, &err), -1);
	assert_err(err, ORIGIN ":4: subscribe-to: sign: /k.pem: not a regular file");
	err_free(&err);
	close(p[0]);
	close(p[1]);

	/* Larger than a key file may be. */
	key_path(path, sizeof(path), "big.pem");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, SIGN_FILE_MAX + 1), 0);
	ck_assert_int_eq(load_one(path, fd, NULL, &err), -1);
	assert_err(err, "big.pem: larger than 65536 bytes");
	close(fd);
	unlink(path);
}
END_TEST

START_TEST(test_config_sign_keys)
{
	const char *text =
	    HEAD SOCK "subscribe-to = 127.0.0.1:2626:one.test,0,SHA256:/k/b.pem\n"
		      "domain = d.test\n"
		      "subscribe2 = server=127.0.0.1:2626,key=two.test,sign=SHA1:/k/a.pem\n"
		      "subscribe-to = 127.0.0.1:2627:three.test,0,SHA1:/k/b.pem\n"
		      "subscribe-to = 127.0.0.1:2627:four.test\n"
		      "subscribe2 = server=127.0.0.1:2626,key=five.test,sign=SHA1:/k/c\\,1.pem\n";
	_cleanup_err_ struct err *err = NULL;
	_cleanup_cfg_ struct cfg *c =
	    cfg_parse_buf(ORIGIN, text, strlen(text), vsl_sections, 0, &err);
	ck_assert_ptr_nonnull(c);
	char *out[8];
	/* Distinct paths, in file order, whatever the digests. */
	int n = vsl_config_sign_keys(c, out, ARRAY_SIZE(out), &err);
	ck_assert_msg(n == 3, "%d: %s", n, err_msg(err));
	ck_assert_str_eq(out[0], "/k/b.pem");
	ck_assert_str_eq(out[1], "/k/a.pem");
	ck_assert_str_eq(out[2], "/k/c,1.pem");
	for (int i = 0; i < n; i++)
		free(out[i]);

	ck_assert_int_eq(vsl_config_sign_keys(c, out, 1, &err), -1);
	assert_err(err, ORIGIN ":6: subscribe2: more than 1 signing keys");
	err_free(&err);

	const char *none = HEAD SOCK "subscribe-to = 127.0.0.1:2627:four.test\n";
	_cleanup_cfg_ struct cfg *c2 =
	    cfg_parse_buf(ORIGIN, none, strlen(none), vsl_sections, 0, &err);
	ck_assert_int_eq(vsl_config_sign_keys(c2, out, ARRAY_SIZE(out), &err), 0);

	const char *bad = HEAD SOCK "subscribe-to = 127.0.0.1:2626:one.test,0,SHA256:/k/b.pem\n"
				    "subscribe-to = 127.0.0.1:2626:x,0,SHA256:k.pem\n";
	_cleanup_cfg_ struct cfg *c3 =
	    cfg_parse_buf(ORIGIN, bad, strlen(bad), vsl_sections, 0, &err);
	ck_assert_int_eq(vsl_config_sign_keys(c3, out, ARRAY_SIZE(out), &err), -1);
	assert_err(err, ORIGIN ":5: subscribe-to: sign key 'k.pem': not an absolute path");
}
END_TEST

/* The packet a signing target sends, as a router sees it. */
static void assert_signed(const struct buf *b, const struct sign_key *pub, const EVP_MD *md,
			  bool unsubscribe, uint64_t unix_time)
{
	struct subpkt back;
	ck_assert_int_eq(subpkt_parse(b->data, b->len, &back), SUBPKT_OK);
	ck_assert(back.unsubscribe == unsubscribe);
	ck_assert(back.has_unix);
	ck_assert_uint_eq(back.unix_time, unix_time);
	ck_assert_uint_eq(back.sign.len, 128); /* RSA-1024 */
	ck_assert_uint_eq(back.signed_len + 2 + 4 + 2 + 128, b->len - 4);
	ck_assert_int_eq(
	    sign_verify(pub, md, b->data + 4, back.signed_len, back.sign.p, back.sign.len), 1);
}

START_TEST(test_signed_packet)
{
	struct sign_key *priv = load_key("a.pem", true), *pub = load_key("a.pub", false);
	struct sign_key *other = load_key("b.pub", false);
	const EVP_MD *sha256 = sign_digest("SHA256", NULL), *sha1 = sign_digest("SHA1", NULL);
	ck_assert_ptr_nonnull(sha256);
	ck_assert_ptr_nonnull(sha1);
	struct vsl_sub s = parse_ok(VSL_SUB_TO, "127.0.0.1:2626:app.test,0,SHA256:/k.pem");
	struct subpkt p;
	vsl_sub_fill(&s, NULL, "127.0.0.1:3031", NULL, &p);
	_cleanup_buf_ struct buf plain = BUF_INIT;
	_cleanup_buf_ struct buf b = BUF_INIT;
	ck_assert_int_gt(subpkt_build(&plain, &p), 0);

	uint64_t last = 0;
	_cleanup_err_ struct err *err = NULL;
	ck_assert_int_gt(vsl_sub_build_signed(&b, &p, &last, 1700000000, priv, sha256, &err), 0);
	ck_assert_uint_eq(last, 1700000000);
	assert_signed(&b, pub, sha256, false, 1700000000);
	/* uWSGI's vars in its order, then unix, then sign. */
	ck_assert_int_eq(memcmp(b.data + 4, plain.data + 4, plain.len - 4), 0);
	static const char unix_rec[] = "\x04\x00unix\x0a\x00"
				       "1700000000";
	ck_assert_int_eq(memcmp(b.data + plain.len, unix_rec, sizeof(unix_rec) - 1), 0);
	/* Another key, another digest, an altered byte: refused. */
	struct subpkt back;
	ck_assert_int_eq(subpkt_parse(b.data, b.len, &back), SUBPKT_OK);
	ck_assert_int_eq(
	    sign_verify(other, sha256, b.data + 4, back.signed_len, back.sign.p, back.sign.len), 0);
	ck_assert_int_eq(
	    sign_verify(pub, sha1, b.data + 4, back.signed_len, back.sign.p, back.sign.len), 0);
	b.data[10] ^= 1;
	ck_assert_int_eq(
	    sign_verify(pub, sha256, b.data + 4, back.signed_len, back.sign.p, back.sign.len), 0);

	/* The unsubscribe is signed too, stamped a second ahead (uWSGI). */
	p.unsubscribe = true;
	ck_assert_int_gt(vsl_sub_build_signed(&b, &p, &last, 1700000005, priv, sha1, &err), 0);
	assert_signed(&b, pub, sha1, true, 1700000006);
	ck_assert_int_eq((unsigned char)b.data[3], 1);
	ck_assert_uint_eq(last, 1700000006);

	vsl_sub_clear(&s);
	sign_key_free(priv);
	sign_key_free(pub);
	sign_key_free(other);
}
END_TEST

START_TEST(test_unix_increases)
{
	uint64_t last = 0;
	ck_assert_uint_eq(vsl_sub_next_unix(&last, 100), 100);
	ck_assert_uint_eq(vsl_sub_next_unix(&last, 100), 101); /* the same second */
	ck_assert_uint_eq(vsl_sub_next_unix(&last, 100), 102);
	ck_assert_uint_eq(last, 102);
	ck_assert_uint_eq(vsl_sub_next_unix(&last, 200), 200);
	ck_assert_uint_eq(vsl_sub_next_unix(&last, 150), 201); /* the clock went back */

	/* Two sends in the same second, then an unsubscribe and a subscribe
	 * (a reload with unsubscribe-on-graceful-reload) in that second too. */
	struct sign_key *priv = load_key("b.pem", true), *pub = load_key("b.pub", false);
	const EVP_MD *md = sign_digest("sha256", NULL);
	struct vsl_sub s = parse_ok(VSL_SUB_TWO, "server=127.0.0.1:2626,key=k,sign=sha256:/k");
	struct subpkt p;
	vsl_sub_fill(&s, NULL, "127.0.0.1:3031", NULL, &p);
	_cleanup_buf_ struct buf b = BUF_INIT;
	_cleanup_err_ struct err *err = NULL;
	last = 0;
	uint64_t want[] = {1000, 1001, 1002, 1003};
	bool unsub[] = {false, false, true, false};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		p.unsubscribe = unsub[i];
		ck_assert_int_gt(vsl_sub_build_signed(&b, &p, &last, 1000, priv, md, &err), 0);
		assert_signed(&b, pub, md, unsub[i], want[i]);
	}

	/* A packet that cannot be signed (too large with its signature) leaves
	 * the counter alone. */
	char big[3950];
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	p.unsubscribe = false;
	p.sni_key = subpkt_str_of(big);
	_cleanup_buf_ struct buf plain = BUF_INIT;
	ck_assert_int_gt(subpkt_build(&plain, &p), 0);
	ck_assert_int_eq(vsl_sub_build_signed(&b, &p, &last, 2000, priv, md, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_uint_eq(last, 1003);

	vsl_sub_clear(&s);
	sign_key_free(priv);
	sign_key_free(pub);
}
END_TEST

/* ---- the keys a vassal may claim on the emperor's socket ---- */

START_TEST(test_claims)
{
	const char *text = HEAD SOCK "domain = a.test\n"
				     "subscribe-to = 127.0.0.1:2626:B.test\n"
				     "subscribe-to = 127.0.0.1:2626:@/etc/keys.txt\n"
				     "subscribe2 = server=127.0.0.1:2626,key=c\\,d.test\n"
				     "domain = A.TEST\n"
				     "subscribe-to = 127.0.0.1:2627:b.test,0,SHA1:/k.pem\n"
				     "subscribe2 = server=/run/r.sock,key=e.test/mount\n";
	_cleanup_err_ struct err *err = NULL;
	_cleanup_cfg_ struct cfg *c =
	    cfg_parse_buf(ORIGIN, text, strlen(text), vsl_sections, 0, &err);
	ck_assert_ptr_nonnull(c);
	char *out[8];
	int n = vsl_config_claims(c, out, ARRAY_SIZE(out), &err);
	ck_assert_msg(n == 4, "%d: %s", n, err_msg(err));
	/* File order, each once (case-insensitively), unescaped; key files
	 * are not claimed. */
	ck_assert_str_eq(out[0], "a.test");
	ck_assert_str_eq(out[1], "B.test");
	ck_assert_str_eq(out[2], "c,d.test");
	ck_assert_str_eq(out[3], "e.test/mount");
	for (int i = 0; i < n; i++)
		free(out[i]);

	ck_assert_int_eq(vsl_config_claims(c, out, 2, &err), -1);
	ck_assert_msg(strstr(err_msg(err), ORIGIN ":7: subscribe2: more than 2 distinct keys") !=
			  NULL,
		      "%s", err_msg(err));
	err_free(&err);

	const char *none = HEAD SOCK "subscribe-freq = 3\n";
	_cleanup_cfg_ struct cfg *c2 =
	    cfg_parse_buf(ORIGIN, none, strlen(none), vsl_sections, 0, &err);
	ck_assert_int_eq(vsl_config_claims(c2, out, ARRAY_SIZE(out), &err), 0);
}
END_TEST

static Suite *vsub_suite(void)
{
	Suite *s = suite_create("vsub");
	struct {
		const char *name;
		const TTest *test;
		bool keys; /* with key files made in a temp dir */
	} cases[] = {
#define KEYED true
	    {"to_forms", test_to_forms, false},
	    {"to_refusals", test_to_refusals, false},
	    {"two_every_name", test_two_every_name, false},
	    {"two_defaults_and_aliases", test_two_defaults_and_aliases, false},
	    {"two_escapes", test_two_escapes, false},
	    {"two_refusals", test_two_refusals, false},
	    {"domain", test_domain, false},
	    {"domain_validation", test_domain_validation, false},
	    {"config_domains", test_config_domains, false},
	    {"subscription_validation", test_subscription_validation, false},
	    {"too_many_subscriptions", test_too_many_subscriptions, false},
	    {"keyline", test_keyline, false},
	    {"reference_vectors", test_reference_vectors, false},
	    {"packet_domain", test_packet_domain, false},
	    {"packet_subscribe2", test_packet_subscribe2, false},
	    {"sign_forms", test_sign_forms, false},
	    {"sign_validation", test_sign_validation, KEYED},
	    {"keyring", test_keyring, KEYED},
	    {"keyring_descriptors", test_keyring_descriptors, KEYED},
	    {"config_sign_keys", test_config_sign_keys, false},
	    {"signed_packet", test_signed_packet, KEYED},
	    {"unix_increases", test_unix_increases, KEYED},
	    {"claims", test_claims, false},
#undef KEYED
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 10);
		if (cases[i].keys)
			tcase_add_checked_fixture(tc, keys_setup, keys_teardown);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(vsub_suite());
}
