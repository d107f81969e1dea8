/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for vsl_split_words, the splitter of a vassal's `exec` line
 * (tenant input). Every success must give a NULL-terminated array of the
 * returned length whose words contain no NUL; every failure must say why.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vassal/vassal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size); /* stops at the first NUL */
	if (s == NULL)
		return 0;
	char **argv = NULL;
	struct err *err = NULL;
	int n = vsl_split_words(s, &argv, &err);
	if (n < 0) {
		if (err == NULL || argv != NULL)
			abort();
		err_free(&err);
	} else {
		if (argv == NULL || argv[n] != NULL || err != NULL)
			abort();
		for (int i = 0; i < n; i++)
			if (strlen(argv[i]) > strlen(s))
				abort(); /* a word is never longer than its line */
		vsl_free_words(argv);
	}
	free(s);
	return 0;
}

#define FUZZ_NAME "fuzz_words"
#include "tests/fuzz/replay.h"
