/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the log encoders: the input's first line is a
 * `log-encoder` spec given to log_chain_add; when it parses, the rest of the
 * input is encoded as a message with a fixed context, through that encoder
 * alone and through a chain that adds json and nl after it, whose output
 * must be a non-empty line. Without libFuzzer, main() replays a corpus.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SPEC_MAX 4096

/*
 * Encode msg; when @must_end_line, a successful result must be non-empty and
 * end with a newline (a chain ending in `nl` guarantees it; a lone encoder
 * may legitimately produce nothing, e.g. `format ${msg}` of "").
 */
static void encode_check(const struct log_chain *chain, const char *msg, size_t len,
			 bool must_end_line)
{
	static const struct log_ctx ctx = {
	    .level = LOGL_INFO,
	    .vassal = "fuzz\"vassal",
	    .now_us = INT64_C(1700000000123456),
	    .pid = 1234,
	};
	struct buf out = BUF_INIT;
	int r = log_encode(chain, &ctx, msg, len, &out);
	if (r == 0 && must_end_line && (out.len == 0 || out.data[out.len - 1] != '\n'))
		abort();
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t spec_len = nl ? (size_t)(nl - (const char *)data) : size;
	if (spec_len >= SPEC_MAX || memchr(data, '\0', spec_len) != NULL)
		return 0;
	char spec[SPEC_MAX];
	memcpy(spec, data, spec_len);
	spec[spec_len] = '\0';
	const char *msg = nl ? nl + 1 : "";
	size_t len = nl ? size - spec_len - 1 : 0;

	struct log_chain *chain = NULL;
	struct err *e = NULL;
	if (log_chain_add(&chain, spec, &e) < 0) {
		if (e == NULL || chain != NULL)
			abort(); /* a failure always explains itself and allocates nothing */
		err_free(&e);
		return 0;
	}
	encode_check(chain, msg, len, false);
	if (log_chain_add(&chain, "json {\"m\":\"${msg}\",\"t\":\"${strftime:%c}\"}", &e) < 0 ||
	    log_chain_add(&chain, "nl", &e) < 0)
		abort();
	encode_check(chain, msg, len, true);
	log_chain_free(chain);
	return 0;
}

#define FUZZ_NAME "fuzz_log_encoder"
#include "tests/fuzz/replay.h"

