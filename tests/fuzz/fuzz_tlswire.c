/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Fuzz target for router/tlswire.c: the input, copied to a buffer of
 * exactly its bytes (so ASan sees any read past it), is read as a
 * server_name extension body, as an ALPN protocol list and as a host name;
 * a host_name found is normalised and a normalised name checked as an
 * sni-dir file name. Results must lie inside the input and agree with the
 * wire (the entry found is a host_name of that length, http/1.1 is an
 * entry, a refused ALPN list really is broken), a normalised name must be
 * made of allowed bytes and normalise to itself, and every prefix of the
 * input must be parsed without reading past it. Built without libFuzzer it
 * replays a corpus (arguments, or tests/fuzz/corpus/fuzz_tlswire/).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX_MAX 512 /* prefixes parsed each in a buffer of their own */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_tlswire: %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = calloc(n ? n : 1, 1);
	CHECK(d != NULL);
	if (n)
		memcpy(d, p, n);
	return d;
}

static bool allowed(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
	       ch == '_';
}

/* A normalised name: allowed bytes, its length, normalising to itself. */
static void check_host(const char *out, int rc)
{
	if (rc < 0) {
		CHECK(rc == -1 && out[0] == '\0');
		return;
	}
	CHECK(rc > 0 && rc <= RTR_TLSWIRE_HOST_MAX && strlen(out) == (size_t)rc);
	for (int i = 0; i < rc; i++)
		CHECK(allowed(out[i]));
	char again[RTR_TLSWIRE_HOST_MAX + 1];
	int rc2 = rtr_tlswire_host(out, (size_t)rc, again);
	if (out[rc - 1] == '.') /* one more dot goes */
		CHECK(rc2 == rc - 1 || (rc == 1 && rc2 == -1));
	else
		CHECK(rc2 == rc && strcmp(again, out) == 0);
	if (rtr_tlswire_dir_name_ok(out, (size_t)rc))
		CHECK(out[0] != '.' && strstr(out, "..") == NULL && strchr(out, '_') == NULL);
}

static int one_sni(const uint8_t *p, size_t n)
{
	const uint8_t *name;
	size_t len;
	int rc = rtr_tlswire_sni(p, n, &name, &len);
	CHECK(rc >= -1 && rc <= 1);
	if (rc != 1) {
		CHECK(name == NULL && len == 0);
		return rc;
	}
	CHECK(n >= 5 && ((size_t)p[0] << 8 | p[1]) == n - 2);
	CHECK(name >= p + 5 && name <= p + n && len <= (size_t)(p + n - name));
	CHECK(name[-3] == 0 && ((size_t)name[-2] << 8 | name[-1]) == len);
	char out[RTR_TLSWIRE_HOST_MAX + 1];
	check_host(out, rtr_tlswire_host((const char *)name, len, out));
	return rc;
}

/* Whether @p is a well-formed ALPN list (non-empty entries filling it). */
static bool alpn_framed(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (p[i] == 0 || p[i] >= n - i)
			return false;
		i += 1 + (size_t)p[i];
	}
	return n > 0;
}

static int one_alpn(const uint8_t *p, size_t n)
{
	const uint8_t *out;
	int rc = rtr_tlswire_alpn(p, n, &out);
	CHECK(rc >= -1 && rc <= 1);
	CHECK((rc == -1) == !alpn_framed(p, n));
	if (rc != 1) {
		CHECK(out == NULL);
		return rc;
	}
	CHECK(out > p && out + 8 <= p + n && out[-1] == 8 && memcmp(out, "http/1.1", 8) == 0);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = dup_exact(data, size);
	int sni = one_sni(p, size);
	one_alpn(p, size);
	char out[RTR_TLSWIRE_HOST_MAX + 1];
	check_host(out, rtr_tlswire_host((const char *)p, size, out));
	(void)rtr_tlswire_dir_name_ok((const char *)p, size);
	free(p);

	/* every prefix, each alone; a valid server_name list's prefixes are
	 * refused, their list length no longer matching */
	for (size_t k = 0; k < size && k < PREFIX_MAX; k++) {
		uint8_t *q = dup_exact(data, k);
		CHECK(one_sni(q, k) == -1 || sni == -1);
		one_alpn(q, k);
		check_host(out, rtr_tlswire_host((const char *)q, k, out));
		free(q);
	}
	return 0;
}

#define FUZZ_NAME "fuzz_tlswire"
#include "tests/fuzz/replay.h"
