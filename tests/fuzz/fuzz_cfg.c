/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the INI parser (core/cfg): parses the input with and
 * without placeholder expansion and, whenever it is accepted, checks the
 * round-trip promise of cfg_write_fd(): written to a memfd and parsed back
 * with CFG_RAW, it must give the same keys, values and line numbers. Built
 * without libFuzzer it replays a corpus (arguments, or
 * tests/fuzz/corpus/fuzz_cfg/).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sections[] = {"vassal", "uwsgi", NULL};

static void check_same(const struct cfg *a, const struct cfg *b)
{
	if (a->n != b->n)
		abort();
	for (size_t i = 0; i < a->n; i++) {
		const struct cfg_entry *x = &a->entries[i], *y = &b->entries[i];
		if (strcmp(x->key, y->key) != 0 || strcmp(x->value, y->value) != 0 ||
		    x->line != y->line)
			abort();
	}
}

static void round_trip(const struct cfg *c)
{
	int fd = memfd_create("fuzz_cfg", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	struct err *err = NULL;
	if (cfg_write_fd(c, fd, "vassal", &err) < 0) {
		fprintf(stderr, "write: %s\n", err_msg(err));
		abort();
	}
	struct cfg *back = cfg_parse_fd(fd, "copy", sections, CFG_RAW, &err);
	if (back == NULL) {
		fprintf(stderr, "read back: %s\n", err_msg(err));
		abort();
	}
	check_same(c, back);
	cfg_free(back);
	close(fd);
}

static void one(const char *text, size_t size, unsigned flags)
{
	struct err *err = NULL;
	/* Magic placeholders see a relative origin, so %p etc. use the cwd. */
	struct cfg *c = cfg_parse_buf("fuzz/./in.ini", text, size, sections, flags, &err);
	if (c == NULL) {
		if (err == NULL || err->msg == NULL)
			abort(); /* a failure must say why */
		err_free(&err);
		return;
	}
	if (err != NULL)
		abort();
	round_trip(c);
	/* Exercise the lookups on what was parsed. */
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *last = cfg_get(c, c->entries[i].key);
		if (last == NULL || last < &c->entries[i])
			abort();
		uint64_t v;
		bool b;
		cfg_size(c, &c->entries[i], &v, NULL);
		cfg_duration(c, &c->entries[i], 1000, &v, NULL);
		cfg_bool(c, &c->entries[i], &b, NULL);
	}
	cfg_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setenv("FUZZ_CFG", "env value", 0);
	one((const char *)data, size, 0);
	one((const char *)data, size, CFG_RAW);
	return 0;
}

#define FUZZ_NAME "fuzz_cfg"
#include "tests/fuzz/replay.h"

