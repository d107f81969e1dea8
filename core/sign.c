/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * RSA signatures of subscription packets (see sign.h). Keys come from PEM
 * through OpenSSL's readers, with a password callback that refuses so an
 * encrypted key is an error and never a prompt, or from OpenSSH's own
 * "openssh-key-v1" format, which OpenSSL cannot read: a bounded parser
 * takes the numbers out of it and builds the key with EVP_PKEY_fromdata.
 * Every key is checked (RSA only, size in range, a private key must make a
 * signature its public half accepts) before it is handed out. Signing and
 * checking are EVP one-shots with PKCS#1 v1.5 padding; OpenSSL's error
 * queue is emptied after every failure so nothing leaks into a later call.
 */
#include "core/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/subpkt.h"
#include "core/upkt.h"

#define BITS_MIN 1024u
#define BITS_MAX 16384u
#define MPINT_MAX (BITS_MAX / 8 + 1) /* bytes of an mpint, with its sign byte */
#define OSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OSSH_MAGIC "openssh-key-v1" /* followed by its NUL */

struct sign_key {
	EVP_PKEY *pk;
	bool priv;
	unsigned bits;
	/* A verify context kept for the last digest used: setting one up costs
	 * OpenSSL 3 about as much as the RSA arithmetic of a 2048-bit verify.
	 * Only a cache, so sign_verify keeps its const key. */
	EVP_PKEY_CTX *vctx;
	const EVP_MD *vmd;
};

static void pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void pctx_freep(EVP_PKEY_CTX **p)
{
	EVP_PKEY_CTX_free(*p);
}

static void mdctx_freep(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p);
}

static void bio_freep(BIO **p)
{
	BIO_free(*p);
}

static void bn_freep(BIGNUM **p)
{
	BN_clear_free(*p);
}

static void bnctx_freep(BN_CTX **p)
{
	BN_CTX_free(*p);
}

static void bld_freep(OSSL_PARAM_BLD **p)
{
	OSSL_PARAM_BLD_free(*p);
}

static void params_freep(OSSL_PARAM **p)
{
	OSSL_PARAM_free(*p);
}

static void dctx_freep(OSSL_DECODER_CTX **p)
{
	OSSL_DECODER_CTX_free(*p);
}

#define _cleanup_pkey_ __attribute__((cleanup(pkey_freep)))
#define _cleanup_pctx_ __attribute__((cleanup(pctx_freep)))
#define _cleanup_mdctx_ __attribute__((cleanup(mdctx_freep)))
#define _cleanup_bio_ __attribute__((cleanup(bio_freep)))
#define _cleanup_bn_ __attribute__((cleanup(bn_freep)))
#define _cleanup_bnctx_ __attribute__((cleanup(bnctx_freep)))
#define _cleanup_bld_ __attribute__((cleanup(bld_freep)))
#define _cleanup_params_ __attribute__((cleanup(params_freep)))
#define _cleanup_dctx_ __attribute__((cleanup(dctx_freep)))

/* OpenSSL's reason for the last failure, for messages. */
static const char *ossl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());
	return r ? r : "unknown reason";
}

/* Digests */

/* Whether a provider implements @md, so a signature can use it. */
static bool md_fetchable(const EVP_MD *md)
{
	const char *name = EVP_MD_get0_name(md);
	EVP_MD *f = name ? EVP_MD_fetch(NULL, name, NULL) : NULL;
	EVP_MD_free(f);
	return f != NULL;
}

const EVP_MD *sign_digest(const char *name, struct err **err)
{
	const EVP_MD *md = name ? EVP_get_digestbyname(name) : NULL;
	/* An XOF (shake) has no fixed output and "none"-like digests no output. */
	if (md != NULL && (EVP_MD_get_size(md) <= 0 || (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) ||
			   !md_fetchable(md)))
		md = NULL;
	ERR_clear_error();
	if (md == NULL)
		err_set(err, 0, "unknown digest '%s'", name ? name : "");
	return md;
}

/* PEM */

/* The password callback: refuse, and remember that a password was wanted. */
static int refuse_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

static bool has(const char *text, size_t len, const char *s)
{
	return memmem(text, len, s, strlen(s)) != NULL;
}

/*
 * A public key: SubjectPublicKeyInfo or PKCS#1, whichever the PEM label
 * says. The refusing callback matters here too: without one a decoder
 * that meets an encrypted key would ask on the terminal.
 */
static EVP_PKEY *decode_public(const char *text, size_t len, bool *asked)
{
	EVP_PKEY *pk = NULL;
	_cleanup_dctx_ OSSL_DECODER_CTX *d =
	    OSSL_DECODER_CTX_new_for_pkey(&pk, "PEM", NULL, NULL, EVP_PKEY_PUBLIC_KEY, NULL, NULL);
	const unsigned char *p = (const unsigned char *)text;
	size_t n = len;
	if (d == NULL || OSSL_DECODER_CTX_set_pem_password_cb(d, refuse_password, asked) != 1 ||
	    OSSL_DECODER_from_data(d, &p, &n) != 1) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

/*
 * A key from PEM text. For a public key a private key file is accepted
 * too (the caller keeps only its public half).
 */
static EVP_PKEY *load_pem(const char *text, size_t len, bool private_key, const char *what,
			  struct err **err)
{
	bool asked = false;
	EVP_PKEY *pk = private_key ? NULL : decode_public(text, len, &asked);
	if (pk == NULL) {
		_cleanup_bio_ BIO *bio = BIO_new_mem_buf(text, (int)len);
		if (bio == NULL) {
			err_set(err, ENOMEM, "%s", what);
			return NULL;
		}
		pk = PEM_read_bio_PrivateKey(bio, NULL, refuse_password, &asked);
	}
	if (pk != NULL)
		return pk;
	if (asked || has(text, len, "ENCRYPTED"))
		err_set(err, 0, "%s: encrypted keys are not supported", what);
	else if (private_key && has(text, len, "PUBLIC KEY-----"))
		err_set(err, 0, "%s: a public key, where a private key is needed", what);
	else if (has(text, len, "-----BEGIN "))
		err_set(err, 0, "%s: no valid %s key in the PEM text (%s)", what,
			private_key ? "private" : "public", ossl_reason());
	else if (len >= 4 && memcmp(text, "ssh-", 4) == 0)
		err_set(err, 0,
			"%s: an OpenSSH public key; convert it with `ssh-keygen -e -m pkcs8`",
			what);
	else
		err_set(err, 0, "%s: not a PEM or OpenSSH key", what);
	return NULL;
}

/* OpenSSH */

/* A bounded reader over the decoded blob. */
struct rd {
	const unsigned char *p;
	size_t n; /* bytes left */
};

static int rd_u32(struct rd *r, uint32_t *v)
{
	if (r->n < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return 0;
}

static int rd_str(struct rd *r, struct rd *s)
{
	uint32_t l;
	if (rd_u32(r, &l) < 0 || l > r->n)
		return -1;
	*s = (struct rd){r->p, l};
	r->p += l;
	r->n -= l;
	return 0;
}

static bool str_is(const struct rd *s, const char *want)
{
	return s->n == strlen(want) && memcmp(s->p, want, s->n) == 0;
}

/* Why an OpenSSH key is refused, and its type when that is the reason. */
struct ossh_fail {
	const char *why;
	char type[33]; /* the key type when it is not ssh-rsa */
};

/* An mpint: big-endian two's complement; only non-negative ones fit RSA. */
static int rd_mpint(struct rd *r, BIGNUM *bn, struct ossh_fail *f)
{
	struct rd s;
	if (rd_str(r, &s) < 0) {
		f->why = "truncated";
		return -1;
	}
	if (s.n > MPINT_MAX) {
		f->why = "a number larger than a 16384-bit key allows (too many bits)";
		return -1;
	}
	if (s.n > 0 && (s.p[0] & 0x80)) {
		f->why = "a negative number";
		return -1;
	}
	if (BN_bin2bn(s.p, (int)s.n, bn) == NULL) {
		f->why = "out of memory";
		return -1;
	}
	return 0;
}

/* The key type string, or why it is not "ssh-rsa" (kept printable). */
static int rd_keytype(struct rd *r, struct ossh_fail *f)
{
	struct rd t;
	if (rd_str(r, &t) < 0) {
		f->why = "truncated";
		return -1;
	}
	if (str_is(&t, "ssh-rsa"))
		return 0;
	f->why = "not an RSA key";
	size_t n = t.n < sizeof(f->type) - 1 ? t.n : sizeof(f->type) - 1;
	for (size_t i = 0; i < n; i++)
		f->type[i] = t.p[i] > 0x20 && t.p[i] < 0x7f ? (char)t.p[i] : '?';
	f->type[n] = '\0';
	return -1;
}

/* The RSA numbers as OpenSSH stores them. */
struct ossh_rsa {
	BIGNUM *n, *e, *d, *iqmp, *p, *q;
};

static void ossh_rsa_free(struct ossh_rsa *k)
{
	BN_free(k->n);
	BN_free(k->e);
	BN_clear_free(k->d);
	BN_clear_free(k->iqmp);
	BN_clear_free(k->p);
	BN_clear_free(k->q);
}

/* The private section: checkints, keytype, the six numbers, comment, padding. */
static int parse_private(struct rd *r, struct ossh_rsa *k, struct ossh_fail *f)
{
	uint32_t c1, c2;
	if (rd_u32(r, &c1) < 0 || rd_u32(r, &c2) < 0) {
		f->why = "truncated";
		return -1;
	}
	if (c1 != c2) {
		f->why = "check numbers differ";
		return -1;
	}
	if (rd_keytype(r, f) < 0)
		return -1;
	BIGNUM **order[] = {&k->n, &k->e, &k->d, &k->iqmp, &k->p, &k->q};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (rd_mpint(r, *order[i], f) < 0)
			return -1;
	struct rd comment;
	if (rd_str(r, &comment) < 0) {
		f->why = "truncated";
		return -1;
	}
	/* Padding to the cipher's block: 1, 2, 3, ... */
	for (size_t i = 0; i < r->n; i++) {
		if (r->p[i] != (unsigned char)(i + 1)) {
			f->why = "bad padding";
			return -1;
		}
	}
	return 0;
}

/* The public key blob: "ssh-rsa", e, n; they must match the private part. */
static int check_public_blob(struct rd pub, const struct ossh_rsa *k, struct ossh_fail *f)
{
	_cleanup_bn_ BIGNUM *e = BN_new(), *n = BN_new();
	if (e == NULL || n == NULL) {
		f->why = "out of memory";
		return -1;
	}
	if (rd_keytype(&pub, f) < 0 || rd_mpint(&pub, e, f) < 0 || rd_mpint(&pub, n, f) < 0)
		return -1;
	if (pub.n != 0 || BN_cmp(e, k->e) != 0 || BN_cmp(n, k->n) != 0) {
		f->why = "public and private parts differ";
		return -1;
	}
	return 0;
}

/* The container: magic, cipher, kdf, one key, its public blob, its private section. */
static int parse_openssh(struct rd r, struct ossh_rsa *k, struct ossh_fail *f)
{
	struct rd cipher, kdf, kdfopts, pub, priv;
	uint32_t nkeys;
	if (r.n < sizeof(OSSH_MAGIC) || memcmp(r.p, OSSH_MAGIC, sizeof(OSSH_MAGIC)) != 0) {
		f->why = "no openssh-key-v1 magic";
		return -1;
	}
	r.p += sizeof(OSSH_MAGIC);
	r.n -= sizeof(OSSH_MAGIC);
	if (rd_str(&r, &cipher) < 0 || rd_str(&r, &kdf) < 0 || rd_str(&r, &kdfopts) < 0 ||
	    rd_u32(&r, &nkeys) < 0) {
		f->why = "truncated";
		return -1;
	}
	if (!str_is(&cipher, "none") || !str_is(&kdf, "none")) {
		f->why = "encrypted OpenSSH keys are not supported";
		return -1;
	}
	if (nkeys != 1) {
		f->why = "not exactly one key";
		return -1;
	}
	if (rd_str(&r, &pub) < 0 || rd_str(&r, &priv) < 0) {
		f->why = "truncated";
		return -1;
	}
	if (r.n != 0) {
		f->why = "bytes after the private section";
		return -1;
	}
	/* The public blob names the type even where the private part is unreadable. */
	struct rd t = pub;
	if (rd_keytype(&t, f) < 0)
		return -1;
	if (parse_private(&priv, k, f) < 0)
		return -1;
	return check_public_blob(pub, k, f);
}

/* Check what OpenSSL's import does not (p, q > 1, n = pq, iqmp = q^-1 mod p). */
static int check_factors(const struct ossh_rsa *k, BN_CTX *bc, struct ossh_fail *f)
{
	BN_CTX_start(bc);
	BIGNUM *t = BN_CTX_get(bc);
	int ok = t != NULL && BN_cmp(k->p, BN_value_one()) > 0 &&
		 BN_cmp(k->q, BN_value_one()) > 0 && BN_mul(t, k->p, k->q, bc) &&
		 BN_cmp(t, k->n) == 0 && BN_mod_mul(t, k->iqmp, k->q, k->p, bc) && BN_is_one(t);
	BN_CTX_end(bc);
	if (!ok)
		f->why = "inconsistent RSA numbers";
	return ok ? 0 : -1;
}

/* Build the EVP_PKEY, computing the CRT exponents OpenSSH does not store. */
static EVP_PKEY *build_rsa(const struct ossh_rsa *k, struct ossh_fail *f)
{
	_cleanup_bnctx_ BN_CTX *bc = BN_CTX_secure_new();
	_cleanup_bn_ BIGNUM *dmp1 = BN_secure_new(), *dmq1 = BN_secure_new(), *t = BN_secure_new();
	_cleanup_bld_ OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	f->why = "out of memory";
	if (bc == NULL || dmp1 == NULL || dmq1 == NULL || t == NULL || bld == NULL)
		return NULL;
	if (check_factors(k, bc, f) < 0)
		return NULL;
	f->why = "inconsistent RSA numbers";
	if (!BN_sub(t, k->p, BN_value_one()) || !BN_mod(dmp1, k->d, t, bc) ||
	    !BN_sub(t, k->q, BN_value_one()) || !BN_mod(dmq1, k->d, t, bc))
		return NULL;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, k->n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, k->e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, k->d) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, k->p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, k->q) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, k->iqmp))
		return NULL;
	/* The private numbers are secure BIGNUMs, so the builder wipes its copies. */
	_cleanup_params_ OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	_cleanup_pctx_ EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;
	if (params == NULL || pc == NULL || EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
		return NULL;
	return pk;
}

static int ossh_rsa_init(struct ossh_rsa *k)
{
	k->n = BN_new();
	k->e = BN_new();
	k->d = BN_secure_new();
	k->iqmp = BN_secure_new();
	k->p = BN_secure_new();
	k->q = BN_secure_new();
	return k->n && k->e && k->d && k->iqmp && k->p && k->q ? 0 : -1;
}

/* An RSA key from the decoded openssh-key-v1 blob. */
static EVP_PKEY *openssh_key(const unsigned char *blob, size_t len, const char *what,
			     struct err **err)
{
	struct ossh_rsa k = {0};
	struct ossh_fail f = {0};
	EVP_PKEY *pk = NULL;
	unsigned bits = 0;
	if (ossh_rsa_init(&k) < 0)
		f.why = "out of memory";
	else if (parse_openssh((struct rd){blob, len}, &k, &f) == 0) {
		/* Refuse a wrong size before any arithmetic on the numbers. */
		bits = (unsigned)BN_num_bits(k.n);
		if (bits >= BITS_MIN && bits <= BITS_MAX)
			pk = build_rsa(&k, &f);
	}
	ossh_rsa_free(&k);
	if (pk != NULL)
		return pk;
	if (f.why == NULL)
		err_set(err, 0, "%s: RSA key of %u bits, allowed %u..%u bits", what, bits, BITS_MIN,
			BITS_MAX);
	else if (f.type[0] != '\0')
		err_set(err, 0, "%s: not an RSA key (%s)", what, f.type);
	else if (strstr(f.why, "encrypted") != NULL)
		err_set(err, 0, "%s: %s", what, f.why);
	else
		err_set(err, 0, "%s: malformed OpenSSH key: %s", what, f.why);
	return NULL;
}

/* The OpenSSH block of @text, base64-decoded by OpenSSL's PEM reader. */
static EVP_PKEY *load_openssh(const char *text, size_t len, const char *what, struct err **err)
{
	_cleanup_bio_ BIO *bio = BIO_new_mem_buf(text, (int)len);
	if (bio == NULL) {
		err_set(err, ENOMEM, "%s", what);
		return NULL;
	}
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long dlen = 0;
		if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
			err_set(err, 0, "%s: malformed OpenSSH key: bad base64 or framing", what);
			return NULL;
		}
		bool found = strcmp(name, "OPENSSH PRIVATE KEY") == 0;
		EVP_PKEY *pk = NULL;
		if (found)
			pk = openssh_key(data, dlen > 0 ? (size_t)dlen : 0, what, err);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_clear_free(data, dlen > 0 ? (size_t)dlen : 0);
		if (found)
			return pk;
	}
}

/* Keys */

/* Whether @pk makes a signature its public half accepts. */
static bool self_test(struct sign_key *k)
{
	static const char msg[] = "imperium key check";
	unsigned char sig[SIGN_MAX];
	const EVP_MD *md = EVP_sha256();
	ssize_t n = sign_data(k, md, msg, sizeof(msg) - 1, sig, sizeof(sig), NULL);
	return n > 0 && sign_verify(k, md, msg, sizeof(msg) - 1, sig, (size_t)n) == 1;
}

/* A new key holding only the public numbers of @pk. */
static EVP_PKEY *public_half(EVP_PKEY *pk)
{
	_cleanup_params_ OSSL_PARAM *params = NULL;
	_cleanup_pctx_ EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *out = NULL;
	if (pc == NULL || EVP_PKEY_todata(pk, EVP_PKEY_PUBLIC_KEY, &params) <= 0 ||
	    EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		return NULL;
	return out;
}

/* RSA, size in range, and for a private key, a consistent one. */
static int check_key(EVP_PKEY *pk, bool private_key, const char *what, struct err **err)
{
	if (!EVP_PKEY_is_a(pk, "RSA")) {
		const char *t = EVP_PKEY_get0_type_name(pk);
		return err_set(err, 0, "%s: not an RSA key (%s)", what, t ? t : "unknown type");
	}
	int bits = EVP_PKEY_get_bits(pk);
	if (bits < (int)BITS_MIN || bits > (int)BITS_MAX)
		return err_set(err, 0, "%s: RSA key of %d bits, allowed %u..%u bits", what, bits,
			       BITS_MIN, BITS_MAX);
	if (!private_key)
		return 0;
	_cleanup_pctx_ EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	struct sign_key k = {.pk = pk, .priv = true, .bits = (unsigned)bits};
	bool ok = pc != NULL && EVP_PKEY_private_check(pc) == 1 && self_test(&k);
	EVP_PKEY_CTX_free(k.vctx); /* the test's verify context, if any */
	if (!ok)
		return err_set(err, 0, "%s: inconsistent RSA private key", what);
	return 0;
}

struct sign_key *sign_key_parse(const void *text, size_t len, bool private_key, const char *what,
				struct err **err)
{
	if (what == NULL)
		what = "key";
	if (text == NULL || len == 0) {
		err_set(err, 0, "%s: empty, not a PEM or OpenSSH key", what);
		return NULL;
	}
	if (len > SIGN_FILE_MAX) {
		err_set(err, EFBIG, "%s: larger than %d bytes", what, SIGN_FILE_MAX);
		return NULL;
	}
	_cleanup_pkey_ EVP_PKEY *pk = has(text, len, OSSH_BEGIN)
					  ? load_openssh(text, len, what, err)
					  : load_pem(text, len, private_key, what, err);
	int r = pk != NULL ? check_key(pk, private_key, what, err) : -1;
	if (r == 0 && !private_key) {
		EVP_PKEY *pub = public_half(pk);
		EVP_PKEY_free(pk);
		pk = pub;
		if (pk == NULL)
			r = err_set(err, 0, "%s: cannot take the public key (%s)", what,
				    ossl_reason());
	}
	ERR_clear_error();
	if (r < 0)
		return NULL;
	struct sign_key *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		err_set(err, ENOMEM, "%s", what);
		return NULL;
	}
	k->pk = steal_ptr(&pk);
	k->priv = private_key;
	k->bits = (unsigned)EVP_PKEY_get_bits(k->pk);
	return k;
}

/* Up to @cap bytes of @fd from its start (EINTR retried); -1 with errno. */
static ssize_t pread_all(int fd, unsigned char *p, size_t cap)
{
	size_t len = 0;
	while (len < cap) {
		ssize_t n = pread(fd, p + len, cap - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

struct sign_key *sign_key_load_fd(int fd, const char *path, bool private_key, struct err **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		err_set(err, errno, "%s: cannot stat", path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, 0, "%s: not a regular file", path);
		return NULL;
	}
	if (st.st_size > SIGN_FILE_MAX) {
		err_set(err, EFBIG, "%s: larger than %d bytes", path, SIGN_FILE_MAX);
		return NULL;
	}
	unsigned char *text = malloc(SIGN_FILE_MAX + 1);
	if (text == NULL) {
		err_set(err, ENOMEM, "%s", path);
		return NULL;
	}
	/* One byte more than allowed, so a file that grew is seen as too large. */
	ssize_t n = pread_all(fd, text, SIGN_FILE_MAX + 1);
	size_t len = n > 0 ? (size_t)n : 0;
	struct sign_key *k = NULL;
	if (n < 0)
		err_set(err, errno, "%s: cannot read", path);
	else if (len > SIGN_FILE_MAX)
		err_set(err, EFBIG, "%s: larger than %d bytes", path, SIGN_FILE_MAX);
	else
		k = sign_key_parse(text, len, private_key, path, err);
	OPENSSL_cleanse(text, len);
	free(text);
	return k;
}

struct sign_key *sign_key_load(const char *path, bool private_key, struct err **err)
{
	/* Symlinks are followed; O_NONBLOCK so a FIFO does not wait for a writer. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err_set(err, errno, "%s: cannot open", path);
		return NULL;
	}
	return sign_key_load_fd(fd, path, private_key, err);
}

void sign_key_free(struct sign_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_CTX_free(k->vctx);
	EVP_PKEY_free(k->pk);
	free(k);
}

unsigned sign_key_bits(const struct sign_key *k)
{
	return k->bits;
}

bool sign_key_is_private(const struct sign_key *k)
{
	return k->priv;
}

/* Signing and checking */

/* A digest context set up for PKCS#1 v1.5 with @md and @k; NULL on failure. */
static EVP_MD_CTX *md_ctx_for(const struct sign_key *k, const EVP_MD *md, bool sign)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	if (c == NULL)
		return NULL;
	int r = sign ? EVP_DigestSignInit(c, &pc, md, NULL, k->pk)
		     : EVP_DigestVerifyInit(c, &pc, md, NULL, k->pk);
	if (r != 1 || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) <= 0) {
		EVP_MD_CTX_free(c);
		return NULL;
	}
	return c;
}

ssize_t sign_data(const struct sign_key *k, const EVP_MD *md, const void *data, size_t len,
		  void *sig, size_t cap, struct err **err)
{
	if (k == NULL || !k->priv || md == NULL)
		return err_set(err, EINVAL, "signing needs a private key and a digest");
	size_t need = (size_t)EVP_PKEY_get_size(k->pk);
	if (cap < need)
		return err_set(err, ENOSPC, "a %u-bit signature needs %zu bytes, %zu given",
			       k->bits, need, cap);
	_cleanup_mdctx_ EVP_MD_CTX *c = md_ctx_for(k, md, true);
	size_t out = cap;
	if (c == NULL || EVP_DigestSign(c, sig, &out, data ? data : "", len) != 1) {
		err_set(err, 0, "signing with %s failed (%s)", EVP_MD_get0_name(md), ossl_reason());
		ERR_clear_error();
		return -1;
	}
	return (ssize_t)out;
}

/* @k's verify context for PKCS#1 v1.5 with @md, made once per digest. */
static EVP_PKEY_CTX *verify_ctx(const struct sign_key *k, const EVP_MD *md)
{
	struct sign_key *cache = (struct sign_key *)k; /* heap object: the cache may change */
	if (cache->vctx != NULL && cache->vmd == md)
		return cache->vctx;
	EVP_PKEY_CTX_free(cache->vctx);
	cache->vctx = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k->pk, NULL);
	if (pc == NULL || EVP_PKEY_verify_init(pc) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(pc, md) <= 0) {
		EVP_PKEY_CTX_free(pc);
		return NULL;
	}
	cache->vctx = pc;
	cache->vmd = md;
	return pc;
}

int sign_verify(const struct sign_key *k, const EVP_MD *md, const void *data, size_t len,
		const void *sig, size_t siglen)
{
	/* A signature is exactly the modulus' size; anything else is refused here. */
	if (k == NULL || md == NULL || sig == NULL || siglen != (size_t)EVP_PKEY_get_size(k->pk))
		return 0;
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	EVP_PKEY_CTX *pc = NULL;
	int r = EVP_Digest(data ? data : "", len, dg, &dlen, md, NULL) == 1 &&
		(pc = verify_ctx(k, md)) != NULL && EVP_PKEY_verify(pc, sig, siglen, dg, dlen) == 1;
	ERR_clear_error();
	return r;
}

/* Whether @body is a whole run of records whose last is `unix`. */
static bool ends_with_unix(const char *body, size_t len)
{
	size_t off = 0;
	struct upkt_var v;
	bool last_unix = false;
	int r;
	while ((r = upkt_var_next(body, len, &off, &v)) > 0)
		last_unix = upkt_var_is(&v, "unix");
	return r == 0 && last_unix;
}

int sign_subpkt(struct buf *b, const struct sign_key *k, const EVP_MD *md, struct err **err)
{
	struct upkt_hdr h;
	if (upkt_hdr_read(b->data, b->len, &h) == 0 || h.size != b->len - UPKT_HDR_LEN)
		return err_set(err, EINVAL, "not a whole uwsgi packet");
	if (!ends_with_unix(b->data + UPKT_HDR_LEN, h.size))
		return err_set(err, EINVAL, "the packet's last record is not `unix`");
	if (k == NULL || !k->priv)
		return err_set(err, EINVAL, "signing needs a private key");
	size_t siglen = (size_t)EVP_PKEY_get_size(k->pk);
	size_t grown = b->len + 2 + 4 + 2 + siglen;
	if (grown > SUBPKT_DGRAM_MAX)
		return err_set(err, E2BIG, "a signed packet of %zu bytes would exceed %d", grown,
			       SUBPKT_DGRAM_MAX);
	/* The whole record in one append, so a failure leaves @b as it was. */
	unsigned char rec[2 + 4 + 2 + SIGN_MAX] = {4, 0, 's', 'i', 'g', 'n'};
	ssize_t n = sign_data(k, md, b->data + UPKT_HDR_LEN, h.size, rec + 8, SIGN_MAX, err);
	if (n < 0)
		return -1;
	rec[6] = (unsigned char)(n & 0xff);
	rec[7] = (unsigned char)(n >> 8);
	if (buf_append(b, rec, 8 + (size_t)n) < 0)
		return err_set(err, errno, "signed packet");
	h.size = (uint16_t)(h.size + 8 + n);
	upkt_hdr_write(b->data, &h);
	return 0;
}
