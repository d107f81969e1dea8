/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for core/sign.c. Keys are made once per run, before the suite,
 * with the real tools (openssl, ssh-keygen) in a temporary directory: every
 * accepted private-key form signs and its public key verifies; signatures
 * equal `openssl dgst -sign` byte for byte (PKCS#1 v1.5 is deterministic),
 * and an OpenSSH key signs exactly as its PEM conversion; verification
 * refuses every alteration; every refused input is named with its reason;
 * a signed subscription packet parses with its signature checking; an
 * OpenSSH key cut or garbled anywhere is refused without a crash.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "core/sign.h"
#include "core/subpkt.h"
#include "core/upkt.h"

static char keydir[] = "/tmp/check_sign.XXXXXX";

/* @name inside the key directory (a few results live at once). */
static const char *kp(const char *name)
{
	static char bufs[8][256];
	static unsigned next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof(bufs[0]), "%s/%s", keydir, name);
	return b;
}

static void remove_keys(void)
{
	DIR *d = opendir(keydir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) < 0)
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	closedir(d);
	rmdir(keydir);
}

/* Run @argv with stdout to @out (NULL: /dev/null); its exit status. */
static int run(const char *out, const char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)
			    : open("/dev/null", O_WRONLY);
		int e = open("/dev/null", O_WRONLY);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN(out, ...)                                                                              \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		if (run(out, argv_) != 0) {                                                        \
			fprintf(stderr, "fixture: %s failed (line %d)\n", argv_[0], __LINE__);     \
			remove_keys();                                                             \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n) {
		perror(path);
		exit(1);
	}
	close(fd);
}

/* A whole file, malloc'ed; exits on failure (Check's asserts need a running test). */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	unsigned char *p = malloc(1 << 20);
	if (f == NULL || p == NULL) {
		perror(path);
		exit(1);
	}
	*len = fread(p, 1, 1 << 20, f);
	fclose(f);
	return p;
}

static const char data[] = "subscription body \x01\x02\x03 \xff with bytes";

/* Every key and file the tests use, made once before the suite runs. */
static void make_keys(void)
{
	if (mkdtemp(keydir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	char rsa8[256];
	snprintf(rsa8, sizeof(rsa8), "%s", kp("rsa8.pem"));
	RUN(NULL, "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
	    "-out", rsa8);
	RUN(NULL, "openssl", "rsa", "-in", rsa8, "-traditional", "-out", kp("rsa1.pem"));
	RUN(NULL, "openssl", "pkey", "-in", rsa8, "-pubout", "-out", kp("rsa.pub.pem"));
	RUN(NULL, "openssl", "rsa", "-in", rsa8, "-RSAPublicKey_out", "-out", kp("rsa.rpub.pem"));
	RUN(NULL, "openssl", "rsa", "-in", rsa8, "-traditional", "-aes256", "-passout", "pass:x",
	    "-out", kp("enc1.pem"));
	RUN(NULL, "openssl", "pkey", "-in", rsa8, "-aes256", "-passout", "pass:x", "-out",
	    kp("enc8.pem"));
	RUN(NULL, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
	    "-out", kp("ec.pem"));
	RUN(NULL, "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512",
	    "-out", kp("rsa512.pem"));
	RUN(NULL, "ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "t", "-f",
	    kp("ossh"));
	RUN(kp("ossh.pkcs8.pub"), "ssh-keygen", "-e", "-m", "pkcs8", "-f", kp("ossh.pub"));
	size_t n;
	unsigned char *o = slurp(kp("ossh"), &n);
	write_file(kp("ossh_pem"), o, n);
	free(o);
	RUN(NULL, "ssh-keygen", "-q", "-p", "-m", "PEM", "-P", "", "-N", "", "-f", kp("ossh_pem"));
	RUN(NULL, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "t", "-f", kp("ed"));
	RUN(NULL, "ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-a", "1", "-N", "secret", "-C",
	    "t", "-f", kp("ossh_enc"));
	write_file(kp("data"), data, sizeof(data) - 1);
	RUN(NULL, "openssl", "dgst", "-sha256", "-sign", rsa8, "-out", kp("rsa8.sha256"),
	    kp("data"));
	RUN(NULL, "openssl", "dgst", "-sha1", "-sign", rsa8, "-out", kp("rsa8.sha1"), kp("data"));
	RUN(NULL, "openssl", "dgst", "-sha256", "-sign", kp("ossh_pem"), "-out", kp("ossh.sha256"),
	    kp("data"));
	if (mkfifo(kp("fifo"), 0600) < 0 || mkdir(kp("dir"), 0700) < 0 ||
	    symlink(rsa8, kp("link.pem")) < 0) {
		perror("fixture");
		exit(1);
	}
	static char big[SIGN_FILE_MAX + 1];
	memset(big, 'A', sizeof(big));
	write_file(kp("big.pem"), big, sizeof(big));
	write_file(kp("garbage"), "hello, not a key\n", 17);
}

static struct sign_key *load_ok(const char *path, bool priv)
{
	struct err *e = NULL;
	struct sign_key *k = sign_key_load(path, priv, &e);
	ck_assert_msg(k != NULL, "%s: %s", path, err_msg(e));
	ck_assert_ptr_null(e);
	ck_assert(sign_key_is_private(k) == priv);
	return k;
}

/* @path is refused (as private or public) with a message naming it and @why. */
static void refused(const char *path, bool priv, const char *why)
{
	struct err *e = NULL;
	struct sign_key *k = sign_key_load(path, priv, &e);
	ck_assert_msg(k == NULL, "%s accepted", path);
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(strstr(err_msg(e), path) != NULL, "'%s' does not name the file", err_msg(e));
	ck_assert_msg(strstr(err_msg(e), why) != NULL, "'%s' does not say '%s'", err_msg(e), why);
	err_free(&e);
	ck_assert_uint_eq(ERR_peek_error(), 0);
}

static const EVP_MD *md(const char *name)
{
	struct err *e = NULL;
	const EVP_MD *m = sign_digest(name, &e);
	ck_assert_msg(m != NULL, "%s: %s", name, err_msg(e));
	return m;
}

static size_t sign_ok(const struct sign_key *k, const EVP_MD *m, const void *p, size_t n,
		      unsigned char *sig)
{
	struct err *e = NULL;
	ssize_t r = sign_data(k, m, p, n, sig, SIGN_MAX, &e);
	ck_assert_msg(r > 0, "%s", err_msg(e));
	ck_assert_int_eq(r, (ssize_t)sign_key_bits(k) / 8);
	return (size_t)r;
}

START_TEST(test_round_trip)
{
	/* Each private form with the public key files that go with it. */
	static const struct {
		const char *priv, *pub[3];
	} forms[] = {
	    {"rsa8.pem", {"rsa.pub.pem", "rsa.rpub.pem", "rsa8.pem"}},
	    {"rsa1.pem", {"rsa.pub.pem", "rsa.rpub.pem", "rsa1.pem"}},
	    {"link.pem", {"rsa.pub.pem", "rsa.rpub.pem", "link.pem"}},
	    {"ossh", {"ossh.pkcs8.pub", "ossh", "ossh_pem"}},
	    {"ossh_pem", {"ossh.pkcs8.pub", "ossh", "ossh_pem"}},
	};
	static const char *const digests[] = {"SHA1", "sha256"};
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct sign_key *k = load_ok(kp(forms[i].priv), true);
		ck_assert_uint_eq(sign_key_bits(k), 2048);
		for (size_t d = 0; d < ARRAY_SIZE(digests); d++) {
			unsigned char sig[SIGN_MAX];
			const EVP_MD *m = md(digests[d]);
			size_t n = sign_ok(k, m, data, sizeof(data) - 1, sig);
			ck_assert_int_eq(sign_verify(k, m, data, sizeof(data) - 1, sig, n), 1);
			for (size_t j = 0; j < 3; j++) {
				struct sign_key *pub = load_ok(kp(forms[i].pub[j]), false);
				ck_assert_uint_eq(sign_key_bits(pub), 2048);
				ck_assert_msg(sign_verify(pub, m, data, sizeof(data) - 1, sig, n) ==
						  1,
					      "%s with %s", forms[i].priv, forms[i].pub[j]);
				sign_key_free(pub);
			}
		}
		sign_key_free(k);
	}
	sign_key_free(NULL);
}
END_TEST

/* The signature of `data` by @key with @m equals the file @ref. */
static void same_as(const char *key, const char *m, const char *ref)
{
	struct sign_key *k = load_ok(kp(key), true);
	unsigned char sig[SIGN_MAX];
	size_t n = sign_ok(k, md(m), data, sizeof(data) - 1, sig);
	size_t rn;
	unsigned char *want = slurp(kp(ref), &rn);
	ck_assert_uint_eq(n, rn);
	ck_assert_msg(memcmp(sig, want, n) == 0, "%s %s differs from %s", key, m, ref);
	free(want);
	sign_key_free(k);
}

START_TEST(test_same_as_openssl)
{
	same_as("rsa8.pem", "sha256", "rsa8.sha256");
	same_as("rsa8.pem", "SHA1", "rsa8.sha1");
	same_as("rsa1.pem", "SHA256", "rsa8.sha256");
	same_as("ossh_pem", "sha256", "ossh.sha256");
	/* The OpenSSH form of the key signs exactly as its PEM conversion. */
	same_as("ossh", "sha256", "ossh.sha256");
}
END_TEST

START_TEST(test_verify_refuses)
{
	struct sign_key *k = load_ok(kp("rsa8.pem"), true);
	struct sign_key *other = load_ok(kp("ossh.pkcs8.pub"), false);
	const EVP_MD *m = md("SHA256");
	unsigned char sig[SIGN_MAX + 1];
	size_t n = sign_ok(k, m, data, sizeof(data) - 1, sig);
	size_t dn = sizeof(data) - 1;
	ck_assert_int_eq(sign_verify(k, m, data, dn, sig, n), 1);
	ck_assert_int_eq(sign_verify(other, m, data, dn, sig, n), 0);
	ck_assert_int_eq(sign_verify(k, md("SHA1"), data, dn, sig, n), 0);
	ck_assert_int_eq(sign_verify(k, md("SHA512"), data, dn, sig, n), 0);
	char alt[sizeof(data)];
	memcpy(alt, data, sizeof(data));
	alt[3] ^= 0x10;
	ck_assert_int_eq(sign_verify(k, m, alt, dn, sig, n), 0);
	ck_assert_int_eq(sign_verify(k, m, data, dn - 1, sig, n), 0);
	sig[n / 2] ^= 0x01;
	ck_assert_int_eq(sign_verify(k, m, data, dn, sig, n), 0);
	sig[n / 2] ^= 0x01;
	ck_assert_int_eq(sign_verify(k, m, data, dn, sig, n - 1), 0);
	sig[n] = 0;
	ck_assert_int_eq(sign_verify(k, m, data, dn, sig, n + 1), 0);
	ck_assert_int_eq(sign_verify(k, m, data, dn, sig, 0), 0);
	ck_assert_int_eq(sign_verify(k, m, data, dn, NULL, 0), 0);
	ck_assert_int_eq(sign_verify(k, m, data, dn, sig, SIZE_MAX), 0);
	ck_assert_int_eq(sign_verify(k, NULL, data, dn, sig, n), 0);
	/* None of this left anything in OpenSSL's error queue. */
	ck_assert_uint_eq(ERR_peek_error(), 0);
	/* And the untouched signature still checks. */
	ck_assert_int_eq(sign_verify(other, m, data, dn, sig, n), 0);
	ck_assert_int_eq(sign_verify(k, m, data, dn, sig, n), 1);
	sign_key_free(other);
	sign_key_free(k);
}
END_TEST

START_TEST(test_sign_data_errors)
{
	struct sign_key *pub = load_ok(kp("rsa.pub.pem"), false);
	struct sign_key *k = load_ok(kp("rsa8.pem"), true);
	unsigned char sig[SIGN_MAX];
	struct err *e = NULL;
	ck_assert_int_eq(sign_data(pub, md("SHA256"), data, 4, sig, sizeof(sig), &e), -1);
	ck_assert_int_eq(e->errnum, EINVAL);
	err_free(&e);
	ck_assert_int_eq(sign_data(k, md("SHA256"), data, 4, sig, 255, &e), -1);
	ck_assert_int_eq(e->errnum, ENOSPC);
	err_free(&e);
	ck_assert_int_eq(sign_data(k, md("SHA256"), NULL, 0, sig, 256, &e), 256);
	ck_assert_int_eq(sign_verify(pub, md("SHA256"), NULL, 0, sig, 256), 1);
	sign_key_free(pub);
	sign_key_free(k);
}
END_TEST

START_TEST(test_refuses_encrypted)
{
	refused(kp("enc1.pem"), true, "encrypted keys are not supported");
	refused(kp("enc8.pem"), true, "encrypted keys are not supported");
	refused(kp("enc8.pem"), false, "encrypted keys are not supported");
	refused(kp("ossh_enc"), true, "encrypted OpenSSH keys are not supported");
	refused(kp("ossh_enc"), false, "encrypted OpenSSH keys are not supported");
}
END_TEST

START_TEST(test_refuses_not_rsa)
{
	refused(kp("ed"), true, "not an RSA key (ssh-ed25519)");
	refused(kp("ec.pem"), true, "not an RSA key (EC)");
	refused(kp("ec.pem"), false, "not an RSA key (EC)");
}
END_TEST

START_TEST(test_refuses_size)
{
	refused(kp("rsa512.pem"), true, "512 bits");
	refused(kp("rsa512.pem"), false, "512 bits");
	refused(kp("big.pem"), true, "larger than 65536 bytes");
	struct err *e = NULL;
	static char big[SIGN_FILE_MAX + 1];
	ck_assert_ptr_null(sign_key_parse(big, sizeof(big), true, "@big", &e));
	ck_assert_ptr_nonnull(strstr(err_msg(e), "@big: larger than"));
	err_free(&e);
}
END_TEST

START_TEST(test_refuses_not_a_file)
{
	refused(kp("fifo"), true, "not a regular file");
	refused(kp("dir"), false, "not a regular file");
	refused(kp("missing.pem"), true, "No such file");
}
END_TEST

START_TEST(test_refuses_wrong_content)
{
	refused(kp("garbage"), true, "not a PEM or OpenSSH key");
	refused(kp("garbage"), false, "not a PEM or OpenSSH key");
	refused(kp("rsa.pub.pem"), true, "a public key, where a private key is needed");
	refused(kp("ed.pub"), false, "OpenSSH public key");
	struct err *e = NULL;
	ck_assert_ptr_null(sign_key_parse("", 0, true, "@empty", &e));
	ck_assert_ptr_nonnull(strstr(err_msg(e), "@empty: empty"));
	err_free(&e);
	static const char broken[] =
	    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	ck_assert_ptr_null(sign_key_parse(broken, sizeof(broken) - 1, true, "@broken", &e));
	ck_assert_ptr_nonnull(strstr(err_msg(e), "@broken: no valid private key"));
	err_free(&e);
	ck_assert_uint_eq(ERR_peek_error(), 0);
}
END_TEST

/* A packet for @key with `unix`, as subpkt_build writes it. */
static void build(struct buf *b, const char *notify)
{
	struct subpkt p = {
	    .key = subpkt_str_of("app.example.com:8080"),
	    .address = subpkt_str_of("127.0.0.1:3031"),
	    .notify = subpkt_str_of(notify),
	    .cores = 2,
	    .weight = 1,
	    .unix_time = 1700000000,
	    .has_unix = true,
	};
	ck_assert_int_gt(subpkt_build(b, &p), 0);
}

START_TEST(test_sign_subpkt)
{
	struct sign_key *k = load_ok(kp("ossh"), true);
	struct sign_key *pub = load_ok(kp("ossh.pkcs8.pub"), false);
	const EVP_MD *m = md("sha256");
	struct buf b = BUF_INIT;
	build(&b, NULL);
	size_t before = b.len;
	unsigned char want[SIGN_MAX];
	size_t wn = sign_ok(k, m, b.data + UPKT_HDR_LEN, before - UPKT_HDR_LEN, want);
	struct err *e = NULL;
	ck_assert_msg(sign_subpkt(&b, k, m, &e) == 0, "%s", err_msg(e));
	ck_assert_uint_eq(b.len, before + 8 + wn);
	struct subpkt p;
	ck_assert_int_eq(subpkt_parse(b.data, b.len, &p), SUBPKT_OK);
	ck_assert(p.has_unix);
	ck_assert_uint_eq(p.unix_time, 1700000000);
	ck_assert_uint_eq(p.signed_len, before - UPKT_HDR_LEN);
	ck_assert_uint_eq(p.sign.len, wn);
	ck_assert(memcmp(p.sign.p, want, wn) == 0);
	ck_assert_int_eq(
	    sign_verify(pub, m, b.data + UPKT_HDR_LEN, p.signed_len, p.sign.p, p.sign.len), 1);
	/* Signed already: the last record is `sign`, so it is refused, unchanged. */
	size_t signed_len = b.len;
	ck_assert_int_eq(sign_subpkt(&b, k, m, &e), -1);
	ck_assert_int_eq(e->errnum, EINVAL);
	ck_assert_ptr_nonnull(strstr(err_msg(e), "unix"));
	err_free(&e);
	ck_assert_uint_eq(b.len, signed_len);
	/* Without `unix` there is nothing to sign. */
	buf_reset(&b);
	struct subpkt nounix = {.key = subpkt_str_of("k"), .address = subpkt_str_of("a")};
	ck_assert_int_gt(subpkt_build(&b, &nounix), 0);
	ck_assert_int_eq(sign_subpkt(&b, k, m, &e), -1);
	ck_assert_int_eq(e->errnum, EINVAL);
	err_free(&e);
	/* A public key cannot sign. */
	buf_reset(&b);
	build(&b, NULL);
	ck_assert_int_eq(sign_subpkt(&b, pub, m, &e), -1);
	err_free(&e);
	buf_free(&b);
	sign_key_free(pub);
	sign_key_free(k);
}
END_TEST

START_TEST(test_sign_subpkt_too_big)
{
	struct sign_key *k = load_ok(kp("rsa8.pem"), true);
	const EVP_MD *m = md("sha256");
	static char notify[4096];
	/* The largest packet that still takes a 2048-bit signature, then one more byte. */
	struct buf b = BUF_INIT;
	build(&b, "");
	size_t room = SUBPKT_DGRAM_MAX - b.len - (2 + 6 + 2) - (8 + 256);
	memset(notify, 'n', room);
	notify[room] = '\0';
	buf_reset(&b);
	build(&b, notify);
	ck_assert_uint_eq(b.len + 8 + 256, SUBPKT_DGRAM_MAX);
	struct err *e = NULL;
	ck_assert_msg(sign_subpkt(&b, k, m, &e) == 0, "%s", err_msg(e));
	ck_assert_uint_eq(b.len, SUBPKT_DGRAM_MAX);
	struct subpkt p;
	ck_assert_int_eq(subpkt_parse(b.data, b.len, &p), SUBPKT_OK);

	notify[room] = 'n';
	notify[room + 1] = '\0';
	buf_reset(&b);
	build(&b, notify);
	size_t len = b.len;
	char *copy = malloc(len);
	memcpy(copy, b.data, len);
	ck_assert_int_eq(sign_subpkt(&b, k, m, &e), -1);
	ck_assert_int_eq(e->errnum, E2BIG);
	err_free(&e);
	ck_assert_uint_eq(b.len, len);
	ck_assert(memcmp(b.data, copy, len) == 0);
	free(copy);
	buf_free(&b);
	sign_key_free(k);
}
END_TEST

START_TEST(test_digest)
{
	ck_assert_int_eq(EVP_MD_get_size(md("SHA1")), 20);
	ck_assert_int_eq(EVP_MD_get_size(md("sha256")), 32);
	ck_assert_int_eq(EVP_MD_get_size(md("SHA512")), 64);
	static const char *const bad[] = {"nope", "SHAKE128", "shake256", "none", ""};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct err *e = NULL;
		ck_assert_ptr_null(sign_digest(bad[i], &e));
		char want[64];
		snprintf(want, sizeof(want), "unknown digest '%s'", bad[i]);
		ck_assert_str_eq(err_msg(e), want);
		err_free(&e);
	}
	struct err *e = NULL;
	ck_assert_ptr_null(sign_digest(NULL, &e));
	err_free(&e);
	ck_assert_uint_eq(ERR_peek_error(), 0);
}
END_TEST

/* The base64 body of the OpenSSH key file, decoded. */
static unsigned char *ossh_blob(size_t *len)
{
	size_t n;
	unsigned char *text = slurp(kp("ossh"), &n);
	unsigned char *b64 = malloc(n + 1), *blob = malloc(n);
	size_t m = 0;
	const char *body = strchr((char *)text, '\n') + 1;
	const char *end = strstr(body, "-----END");
	for (const char *c = body; c < end; c++)
		if (*c != '\n')
			b64[m++] = (unsigned char)*c;
	int r = EVP_DecodeBlock(blob, b64, (int)m);
	ck_assert_int_gt(r, 0);
	/* EVP_DecodeBlock counts the '=' padding as zero bytes. */
	*len = (size_t)r - (m > 0 && b64[m - 1] == '=') - (m > 1 && b64[m - 2] == '=');
	free(b64);
	free(text);
	return blob;
}

/* Parse @blob wrapped as an OpenSSH key file; whether it was accepted. */
static bool parse_wrapped(const unsigned char *blob, size_t n)
{
	size_t cap = 64 + (n + 2) / 3 * 4 + n / 48 + 64;
	char *text = malloc(cap);
	int h = snprintf(text, cap, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	size_t len = (size_t)h;
	for (size_t i = 0; i < n; i += 48) {
		size_t take = n - i < 48 ? n - i : 48;
		len += (size_t)EVP_EncodeBlock((unsigned char *)text + len, blob + i, (int)take);
		text[len++] = '\n';
	}
	len += (size_t)snprintf(text + len, cap - len, "-----END OPENSSH PRIVATE KEY-----\n");
	char *exact = malloc(len);
	memcpy(exact, text, len);
	struct err *e = NULL;
	struct sign_key *k = sign_key_parse(exact, len, true, "@cut", &e);
	bool ok = k != NULL;
	ck_assert(ok == (e == NULL));
	if (e != NULL)
		ck_assert_ptr_nonnull(strstr(err_msg(e), "@cut: "));
	err_free(&e);
	sign_key_free(k);
	free(exact);
	free(text);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	return ok;
}

START_TEST(test_openssh_cut_and_garbled)
{
	size_t n;
	unsigned char *blob = ossh_blob(&n);
	ck_assert(parse_wrapped(blob, n));
	for (size_t cut = 0; cut < n; cut++)
		ck_assert_msg(!parse_wrapped(blob, cut), "accepted cut at %zu of %zu", cut, n);
	/* One flipped bit anywhere; only the comment may change unnoticed. */
	size_t accepted = 0;
	for (size_t i = 0; i < n; i++) {
		blob[i] ^= 0x04;
		accepted += parse_wrapped(blob, n);
		blob[i] ^= 0x04;
	}
	ck_assert_uint_le(accepted, 1); /* the comment is "t" */
	/* The text itself cut anywhere before its final newline. */
	size_t tn;
	unsigned char *text = slurp(kp("ossh"), &tn);
	ck_assert_uint_eq(text[tn - 1], '\n');
	for (size_t cut = 0; cut < tn - 1; cut++) {
		char *c = malloc(cut ? cut : 1);
		memcpy(c, text, cut);
		struct err *e = NULL;
		ck_assert_ptr_null(sign_key_parse(c, cut, true, "@text", &e));
		ck_assert_ptr_nonnull(e);
		err_free(&e);
		free(c);
	}
	free(text);
	free(blob);
}
END_TEST

static Suite *sign_suite(void)
{
	Suite *s = suite_create("sign");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"round_trip", test_round_trip},
	    {"same_as_openssl", test_same_as_openssl},
	    {"verify_refuses", test_verify_refuses},
	    {"sign_data_errors", test_sign_data_errors},
	    {"refuses_encrypted", test_refuses_encrypted},
	    {"refuses_not_rsa", test_refuses_not_rsa},
	    {"refuses_size", test_refuses_size},
	    {"refuses_not_a_file", test_refuses_not_a_file},
	    {"refuses_wrong_content", test_refuses_wrong_content},
	    {"sign_subpkt", test_sign_subpkt},
	    {"sign_subpkt_too_big", test_sign_subpkt_too_big},
	    {"digest", test_digest},
	    {"openssh_cut_and_garbled", test_openssh_cut_and_garbled},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 30);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	make_keys();
	int r = unit_run(sign_suite());
	remove_keys();
	return r;
}
