/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * For the tuntap router's unit tests: read emperor keys the way the
 * emperor does, from a text instead of a file.
 */
#ifndef TESTS_UNIT_TTCFG_H
#define TESTS_UNIT_TTCFG_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/err.h"
#include "tuntap/tuntap.h"

/* The file name errors name. */
#define TTCFG_ORIGIN "/etc/imperium/emperor.ini"

/*
 * ttcfg_read - parse "[emperor]\n" + @body as TTCFG_ORIGIN and feed each
 * entry to tt_config_read into *c (defaults first). Returns the number of
 * router keys read, or -1 with the error's message in @msg.
 */
static inline int ttcfg_read(const char *body, struct tt_config *c, char *msg, size_t n)
{
	static const char *const sections[] = {"emperor", NULL};
	char text[4096];
	snprintf(text, sizeof(text), "[emperor]\n%s", body);
	struct err *err = NULL;
	struct cfg *f = cfg_parse_buf(TTCFG_ORIGIN, text, strlen(text), sections, 0, &err);
	ck_assert_msg(f != NULL, "%s", err_msg(err));
	tt_config_defaults(c);
	int count = 0;
	for (size_t i = 0; i < f->n; i++) {
		int r = tt_config_read(c, f, &f->entries[i], &err);
		if (r < 0) {
			snprintf(msg, n, "%s", err_msg(err));
			err_free(&err);
			cfg_free(f);
			return -1;
		}
		count += r;
	}
	cfg_free(f);
	return count;
}

#endif
