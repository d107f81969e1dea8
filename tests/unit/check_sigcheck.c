/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for router/sigcheck.c: which key file governs a key (case,
 * port and mountpoint fallbacks), unsigned and signed packets with and
 * without key files and with `subscriptions-sign-required`, the clock
 * tolerance both ways, strictly increasing counters per key and node for
 * subscribe and unsubscribe alike, counters outliving nothing but the
 * tolerance, a full counter table, a key file replaced in place, and a key
 * file that does not load. Keys are made once per run with openssl(1).
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sign.h"
#include "core/subpkt.h"
#include "router/internal.h"

#define NOW 1700000000

static char dir[] = "/tmp/check_sigcheck.XXXXXX";
static char keydir[128];

__attribute__((format(printf, 1, 2))) static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

/* Keys a and b (1024 bits: fast), private in dir, public under keydir. */
static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(keydir, sizeof(keydir), "%s/keys", dir);
	ck_assert_int_eq(mkdir(keydir, 0755), 0);
	const char *names[] = {"a", "b"};
	for (size_t i = 0; i < 2; i++) {
		char priv[256];
		snprintf(priv, sizeof(priv), "%s/%s.key", dir, names[i]);
		sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out %s 2>/dev/null",
		   priv);
	}
}

static void teardown(void)
{
	sh("rm -rf %s", dir);
}

static void pub(const char *who, const char *file)
{
	char in[256], out[256];
	snprintf(in, sizeof(in), "%s/%s.key", dir, who);
	snprintf(out, sizeof(out), "%s/%s", keydir, file);
	sh("openssl pkey -in %s -pubout -out %s.tmp 2>/dev/null", in, out);
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	ck_assert_int_eq(rename(tmp, out), 0);
}

static struct rtr_sigcheck *checker(bool required, uint64_t counters)
{
	struct rtr_config rc;
	rtr_config_defaults(&rc);
	if (keydir[0]) {
		snprintf(rc.sign_dirs[0].digest, sizeof(rc.sign_dirs[0].digest), "SHA256");
		snprintf(rc.sign_dirs[0].dir, sizeof(rc.sign_dirs[0].dir), "%s", keydir);
		rc.n_sign_dirs = 1;
	}
	rc.sign_required = required;
	rc.sign_tolerance_ms = 60000;
	if (counters)
		rc.sign_counters = counters;
	struct err *e = NULL;
	struct rtr_sigcheck *s = rtr_sigcheck_new(&rc, &e);
	ck_assert_msg(s != NULL, "%s", err_msg(e));
	return s;
}

/* A packet for @key at @addr, signed by @who ("" for unsigned) at @unix. */
struct pkt {
	uint8_t data[SUBPKT_DGRAM_MAX];
	struct subpkt p;
};

static void make(struct pkt *out, const char *key, const char *addr, const char *who,
		 int64_t unix_time, bool unsubscribe)
{
	struct subpkt p;
	memset(&p, 0, sizeof(p));
	p.key = subpkt_str_of(key);
	p.address = subpkt_str_of(addr);
	p.weight = 1;
	p.unsubscribe = unsubscribe;
	p.has_unix = who[0] != '\0';
	p.unix_time = (uint64_t)unix_time;
	struct buf b = {.max = SUBPKT_DGRAM_MAX};
	ck_assert_int_gt(subpkt_build(&b, &p), 0);
	if (who[0]) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s.key", dir, who);
		struct err *e = NULL;
		struct sign_key *k = sign_key_load(path, true, &e);
		ck_assert_msg(k != NULL, "%s", err_msg(e));
		ck_assert_int_eq(sign_subpkt(&b, k, sign_digest("SHA256", NULL), &e), 0);
		sign_key_free(k);
	}
	memcpy(out->data, b.data, b.len);
	ck_assert_int_eq(subpkt_parse(out->data, b.len, &out->p), SUBPKT_OK);
	buf_free(&b);
}

/* Check @key/@addr by @who at @t; returns the verdict, *drop the reason. */
static enum rtr_sig run(struct rtr_sigcheck *s, const char *key, const char *addr,
			const char *who, int64_t t, bool unsub, enum rtr_drop *drop)
{
	struct pkt k;
	make(&k, key, addr, who, t, unsub);
	const char *why = NULL;
	enum rtr_drop d = RTR_DROP__COUNT;
	enum rtr_sig v = rtr_sigcheck(s, &k.p, k.data, NOW, &d, &why);
	if (v == RTR_SIG_DROP)
		ck_assert_ptr_nonnull(why);
	if (drop)
		*drop = d;
	return v;
}

static void want_drop(struct rtr_sigcheck *s, const char *key, const char *addr, const char *who,
		      int64_t t, bool unsub, enum rtr_drop want)
{
	enum rtr_drop d;
	ck_assert_int_eq(run(s, key, addr, who, t, unsub, &d), RTR_SIG_DROP);
	ck_assert_int_eq(d, want);
}

START_TEST(nothing_configured)
{
	struct rtr_config rc;
	rtr_config_defaults(&rc);
	struct err *e = NULL;
	ck_assert_ptr_null(rtr_sigcheck_new(&rc, &e));
	ck_assert_ptr_null(e);
	snprintf(rc.sign_dirs[0].digest, sizeof(rc.sign_dirs[0].digest), "SHA256");
	snprintf(rc.sign_dirs[0].dir, sizeof(rc.sign_dirs[0].dir), "%s/missing", dir);
	rc.n_sign_dirs = 1;
	ck_assert_ptr_null(rtr_sigcheck_new(&rc, &e));
	ck_assert_ptr_nonnull(strstr(err_msg(e), "missing"));
	err_free(&e);
}
END_TEST

START_TEST(unsigned_and_key_files)
{
	pub("a", "a.test.pem");
	struct rtr_sigcheck *s = checker(false, 0);
	ck_assert_int_eq(run(s, "free.test", "127.0.0.1:1", "", NOW, false, NULL), RTR_SIG_NONE);
	/* a signature for a key without a file counts for nothing */
	ck_assert_int_eq(run(s, "free.test", "127.0.0.1:1", "a", NOW, false, NULL), RTR_SIG_NONE);
	want_drop(s, "a.test", "127.0.0.1:1", "", NOW, false, RTR_DROP_UNSIGNED);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1", "a", NOW, false, NULL), RTR_SIG_OK);
	want_drop(s, "a.test", "127.0.0.1:2", "b", NOW, false, RTR_DROP_BAD_SIGNATURE);
	rtr_sigcheck_free(s);
}
END_TEST

START_TEST(required)
{
	pub("a", "a.test.pem");
	struct rtr_sigcheck *s = checker(true, 0);
	want_drop(s, "free.test", "127.0.0.1:1", "", NOW, false, RTR_DROP_UNSIGNED);
	want_drop(s, "free.test", "127.0.0.1:1", "a", NOW, false, RTR_DROP_NO_KEY_FILE);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1", "a", NOW, false, NULL), RTR_SIG_OK);
	rtr_sigcheck_free(s);
}
END_TEST

START_TEST(key_file_names)
{
	pub("a", "a.test.pem");
	pub("b", "b.test_8080.pem");
	pub("b", "b.test.pem");
	struct rtr_sigcheck *s = checker(false, 0);
	/* case does not dodge the key file */
	want_drop(s, "A.TEST", "127.0.0.1:1", "", NOW, false, RTR_DROP_UNSIGNED);
	ck_assert_int_eq(run(s, "A.Test", "127.0.0.1:1", "a", NOW, false, NULL), RTR_SIG_OK);
	/* nor a port, a mountpoint or a trailing dot */
	want_drop(s, "a.test:8080", "127.0.0.1:1", "", NOW, false, RTR_DROP_UNSIGNED);
	ck_assert_int_eq(run(s, "a.test:8080", "127.0.0.1:1", "a", NOW, false, NULL), RTR_SIG_OK);
	want_drop(s, "a.test/app", "127.0.0.1:1", "", NOW, false, RTR_DROP_UNSIGNED);
	ck_assert_int_eq(run(s, "a.test/app", "127.0.0.1:1", "a", NOW, false, NULL), RTR_SIG_OK);
	want_drop(s, "a.test.", "127.0.0.1:1", "", NOW, false, RTR_DROP_UNSIGNED);
	/* a port's own file comes first */
	want_drop(s, "b.test:8080", "127.0.0.1:1", "a", NOW, false, RTR_DROP_BAD_SIGNATURE);
	ck_assert_int_eq(run(s, "b.test:8080", "127.0.0.1:1", "b", NOW, false, NULL), RTR_SIG_OK);
	/* bytes outside the set map to '_': no way out of the directory */
	ck_assert_int_eq(run(s, "../keys/a.test", "127.0.0.1:1", "", NOW, false, NULL),
			 RTR_SIG_NONE);
	rtr_sigcheck_free(s);
}
END_TEST

START_TEST(clock_skew)
{
	pub("a", "a.test.pem");
	struct rtr_sigcheck *s = checker(false, 0);
	want_drop(s, "a.test", "127.0.0.1:1", "a", NOW + 61, false, RTR_DROP_CLOCK_SKEW);
	want_drop(s, "a.test", "127.0.0.1:1", "a", NOW - 61, false, RTR_DROP_CLOCK_SKEW);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1", "a", NOW + 60, false, NULL), RTR_SIG_OK);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:2", "a", NOW - 60, false, NULL), RTR_SIG_OK);
	rtr_sigcheck_free(s);
}
END_TEST

START_TEST(counters)
{
	pub("a", "a.test.pem");
	struct rtr_sigcheck *s = checker(false, 0);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1", "a", NOW, false, NULL), RTR_SIG_OK);
	want_drop(s, "a.test", "127.0.0.1:1", "a", NOW, false, RTR_DROP_REPLAY);
	want_drop(s, "a.test", "127.0.0.1:1", "a", NOW - 1, false, RTR_DROP_REPLAY);
	/* per node: another node of the key has its own counter */
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:2", "a", NOW, false, NULL), RTR_SIG_OK);
	/* per key, case-insensitively */
	want_drop(s, "A.TEST", "127.0.0.1:1", "a", NOW, false, RTR_DROP_REPLAY);
	/* unsubscribe is held to the same counter */
	want_drop(s, "a.test", "127.0.0.1:1", "a", NOW, true, RTR_DROP_REPLAY);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1", "a", NOW + 1, true, NULL), RTR_SIG_OK);
	want_drop(s, "a.test", "127.0.0.1:1", "a", NOW + 1, false, RTR_DROP_REPLAY);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1", "a", NOW + 2, false, NULL), RTR_SIG_OK);
	/* a sweep keeps what is within the tolerance */
	rtr_sigcheck_sweep(s, NOW);
	want_drop(s, "a.test", "127.0.0.1:1", "a", NOW + 2, false, RTR_DROP_REPLAY);
	rtr_sigcheck_free(s);
}
END_TEST

START_TEST(counters_full)
{
	pub("a", "a.test.pem");
	struct rtr_sigcheck *s = checker(false, 16);
	char addr[32];
	for (int i = 0; i < 16; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", 1000 + i);
		ck_assert_int_eq(run(s, "a.test", addr, "a", NOW - 60, false, NULL), RTR_SIG_OK);
	}
	want_drop(s, "a.test", "127.0.0.1:2000", "a", NOW, false, RTR_DROP_COUNTERS_FULL);
	/* known nodes still refresh */
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1000", "a", NOW, false, NULL), RTR_SIG_OK);
	/* once the old ones leave the tolerance they are forgotten */
	rtr_sigcheck_sweep(s, NOW + 1);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:2000", "a", NOW, false, NULL), RTR_SIG_OK);
	rtr_sigcheck_free(s);
}
END_TEST

START_TEST(rotation)
{
	pub("a", "a.test.pem");
	struct rtr_sigcheck *s = checker(false, 0);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1", "a", NOW, false, NULL), RTR_SIG_OK);
	pub("b", "a.test.pem");
	want_drop(s, "a.test", "127.0.0.1:1", "a", NOW + 1, false, RTR_DROP_BAD_SIGNATURE);
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1", "b", NOW + 1, false, NULL), RTR_SIG_OK);
	/* a file that does not load refuses its key, and recovers when fixed */
	char path[256];
	snprintf(path, sizeof(path), "%s/a.test.pem", keydir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("garbage\n", f);
	fclose(f);
	want_drop(s, "a.test", "127.0.0.1:1", "b", NOW + 2, false, RTR_DROP_BAD_SIGNATURE);
	pub("b", "a.test.pem");
	ck_assert_int_eq(run(s, "a.test", "127.0.0.1:1", "b", NOW + 3, false, NULL), RTR_SIG_OK);
	rtr_sigcheck_free(s);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sigcheck");
	struct {
		const char *name;
		const TTest *t;
	} cases[] = {
	    {"nothing_configured", nothing_configured},
	    {"unsigned_and_key_files", unsigned_and_key_files},
	    {"required", required},
	    {"key_file_names", key_file_names},
	    {"clock_skew", clock_skew},
	    {"counters", counters},
	    {"counters_full", counters_full},
	    {"rotation", rotation},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 30);
		tcase_add_test(tc, cases[i].t);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(suite());
}
