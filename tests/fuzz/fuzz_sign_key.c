/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for the key readers of core/sign.c (PEM through OpenSSL, and
 * the OpenSSH private-key parser): the input is parsed as a private and as
 * a public key. A success must be a usable RSA key of an allowed size with
 * no error set; a failure must say why; OpenSSL's error queue is empty
 * after either. Built without libFuzzer it replays a corpus (arguments, or
 * tests/fuzz/corpus/fuzz_sign_key/).
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "core/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, bool private_key)
{
	struct err *err = NULL;
	struct sign_key *k = sign_key_parse(data, size, private_key, "@fuzz", &err);
	if (k == NULL) {
		if (err == NULL || err->msg == NULL)
			abort(); /* a failure must say why */
		err_free(&err);
	} else {
		if (err != NULL || sign_key_is_private(k) != private_key)
			abort();
		if (sign_key_bits(k) < 1024 || sign_key_bits(k) > 16384)
			abort();
		sign_key_free(k);
	}
	if (ERR_peek_error() != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, true);
	one(data, size, false);
	return 0;
}

#define FUZZ_NAME "fuzz_sign_key"
#include "tests/fuzz/replay.h"
