/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RSA signatures of subscription packets, as uWSGI makes and checks them:
 * PKCS#1 v1.5 over the packet body (from offset 4 up to and including the
 * `unix` record) with a named OpenSSL digest, the raw signature appended as
 * the last record, `sign`. Keys are read from PEM (private: PKCS#1 "RSA
 * PRIVATE KEY" or PKCS#8 "PRIVATE KEY"; public: SubjectPublicKeyInfo "PUBLIC
 * KEY", which `ssh-keygen -e -m pkcs8` prints, or PKCS#1 "RSA PUBLIC KEY")
 * and, for private keys, from OpenSSH's own format ("OPENSSH PRIVATE KEY",
 * unencrypted, ssh-rsa). Only RSA keys are accepted, of 1024..16384 bits.
 * Key files are read with a size bound (64 KiB) and never through a pipe
 * or a device.
 */
#ifndef CORE_SIGN_H
#define CORE_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/err.h"

#define SIGN_FILE_MAX 65536 /* bytes of a key file */
#define SIGN_MAX 2048       /* bytes of a signature (RSA-16384) */

struct sign_key;

/*
 * sign_digest - the OpenSSL digest called @name ("SHA1", "sha256", ...;
 * case-insensitive). Returns NULL with *err "unknown digest 'NAME'" when
 * there is none, or when it is not usable for signatures (shake, none).
 */
const EVP_MD *sign_digest(const char *name, struct err **err);

/*
 * sign_key_load - read an RSA key from @path: a private key when @private_key,
 * else a public key. Returns an owned key, or NULL with *err naming the path
 * and why (missing, too large, not a regular file, not PEM/OpenSSH, not RSA,
 * encrypted, too small or too large).
 */
struct sign_key *sign_key_load(const char *path, bool private_key, struct err **err);

/*
 * sign_key_load_fd - the same from @fd, already open on @path (which names it
 * in errors), read from its start whatever its offset; @fd stays open.
 */
struct sign_key *sign_key_load_fd(int fd, const char *path, bool private_key, struct err **err);

/*
 * sign_key_parse - the same from @len bytes at @text (not NUL-terminated);
 * @what names the source in errors.
 */
struct sign_key *sign_key_parse(const void *text, size_t len, bool private_key,
				const char *what, struct err **err);

/* sign_key_free - NULL is a no-op. */
void sign_key_free(struct sign_key *k);

/* sign_key_bits - the modulus size, e.g. 2048. */
unsigned sign_key_bits(const struct sign_key *k);

/* sign_key_is_private - whether @k can sign. */
bool sign_key_is_private(const struct sign_key *k);

/*
 * sign_data - sign @len bytes at @data with private key @k and digest @md
 * into @sig (room for @cap bytes). Returns the signature's length, or -1
 * with *err (ENOSPC when @cap is too small).
 */
ssize_t sign_data(const struct sign_key *k, const EVP_MD *md, const void *data, size_t len,
		  void *sig, size_t cap, struct err **err);

/*
 * sign_verify - whether @sig (@siglen bytes) is @k's signature of @data
 * with @md. Returns 1 valid, 0 invalid (wrong key, wrong digest, altered
 * data, a truncated or padded signature). Never fails otherwise: any OpenSSL
 * error is "invalid", and OpenSSL's error queue is left empty.
 */
int sign_verify(const struct sign_key *k, const EVP_MD *md, const void *data, size_t len,
		const void *sig, size_t siglen);

/*
 * sign_subpkt - sign a whole subscription packet held in @b (as subpkt_build
 * wrote it, its last record `unix`): append the `sign` record over bytes 4..
 * end and fix the header's size. Returns 0, or -1 with *err and @b as it was
 * (E2BIG when the packet would exceed SUBPKT_DGRAM_MAX).
 */
int sign_subpkt(struct buf *b, const struct sign_key *k, const EVP_MD *md, struct err **err);

#endif
