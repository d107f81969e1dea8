/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * INI configuration in uWSGI's dialect: `[section]` headers, `key = value`
 * lines, repeated keys kept in order, whole-line `;` and `#` comments,
 * `%(key)` (an earlier key's last value), `$(ENV)` (an environment variable)
 * and magic `%n %d %p %s %e %c %%` placeholders, sizes (`64M`) and booleans.
 *
 * A parsed config keeps only the entries of the sections asked for, each with
 * its line, so that every later error can name file, line and key. Values are
 * stored resolved (placeholders expanded). cfg_write_fd() serialises a config
 * so that parsing it back yields the same entries on the same line numbers:
 * that is how the emperor hands a vassal its validated config.
 */
#ifndef CORE_CFG_H
#define CORE_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CFG_MAX_FILE (1u << 20)  /* bytes; larger files are refused */
#define CFG_MAX_LINE 8192         /* bytes per line, newline excluded */
#define CFG_MAX_VALUE 8192        /* bytes per value after expansion */
#define CFG_MAX_ENTRIES 4096

struct cfg_entry {
	const char *key;    /* owned by the cfg */
	const char *value;  /* owned by the cfg, resolved, NUL-terminated */
	unsigned line;      /* 1-based line in the origin file */
};

struct cfg {
	char *origin;            /* path (or name) of the file, for messages */
	struct cfg_entry *entries;
	size_t n;
};

/*
 * cfg_parse_buf - parse INI text.
 * @origin:   the file's path, used in messages and for %d %p %s %e %n %c.
 * @sections: NULL-terminated list of section names whose entries are kept
 *            (e.g. {"vassal", "uwsgi", NULL}); other sections are skipped.
 *            Lines before any section header are an error.
 * Returns a new cfg (free with cfg_free) or NULL with *err set, naming
 * "ORIGIN:LINE: ..." for syntax errors (no `=`, empty key, unterminated
 * section or placeholder, unknown %(key), unset $(ENV), overlong line or
 * value, NUL byte) and "ORIGIN: no [S] section" when none of the sections is
 * present.
 */
struct cfg *cfg_parse_buf(const char *origin, const char *data, size_t len,
			  const char *const *sections, unsigned flags, struct err **err);

/* flags: CFG_RAW takes values literally (no placeholder expansion): used to
 * read back what cfg_write_fd wrote, whose values are already resolved. */
#define CFG_RAW 1u

/* cfg_parse_file - read (at most CFG_MAX_FILE bytes) and parse a file. */
struct cfg *cfg_parse_file(const char *path, const char *const *sections,
			   unsigned flags, struct err **err);

/* cfg_parse_fd - same, from an open descriptor read from offset 0 (pread). */
struct cfg *cfg_parse_fd(int fd, const char *origin, const char *const *sections,
			 unsigned flags, struct err **err);

void cfg_free(struct cfg *c);
#define _cleanup_cfg_ __attribute__((cleanup(cfg_freep)))
static inline void cfg_freep(struct cfg **c)
{
	cfg_free(*c);
}

/*
 * cfg_write_fd - write c as INI under `[section]` so that cfg_parse_fd(...,
 * CFG_RAW, ...) on the result gives the same keys, values and line numbers
 * (the header goes on line 1, which no entry can occupy; gaps are blank
 * lines). Writes at the current offset; the caller rewinds if it must.
 */
int cfg_write_fd(const struct cfg *c, int fd, const char *section, struct err **err);

/* cfg_get - the last entry with this key, or NULL. */
const struct cfg_entry *cfg_get(const struct cfg *c, const char *key);

/* cfg_next - iterate entries with this key in order: pass NULL to start. */
const struct cfg_entry *cfg_next(const struct cfg *c, const char *key,
				 const struct cfg_entry *prev);

/*
 * cfg_check_keys - fail on the first entry whose key is not in @known
 * (NULL-terminated): "ORIGIN:LINE: unknown key 'K'".
 */
int cfg_check_keys(const struct cfg *c, const char *const *known, struct err **err);

/* Typed readers of one entry's value; errors read "ORIGIN:LINE: KEY: ...". */

/* true/yes/on/1 and false/no/off/0, case-insensitive. */
int cfg_bool(const struct cfg *c, const struct cfg_entry *e, bool *out, struct err **err);

/* Decimal integer in [min, max]. */
int cfg_uint(const struct cfg *c, const struct cfg_entry *e, uint64_t min, uint64_t max,
	     uint64_t *out, struct err **err);

/* Size: digits with an optional k/K, m/M, g/G, t/T suffix (powers of 1024),
 * an optional trailing b/B; overflow is an error. */
int cfg_size(const struct cfg *c, const struct cfg_entry *e, uint64_t *out, struct err **err);

/* Duration: digits with optional ms, s, m, h suffix; @unit_ms is the unit of a
 * bare number (1 for milliseconds, 1000 for seconds). Result in milliseconds. */
int cfg_duration(const struct cfg *c, const struct cfg_entry *e, uint64_t unit_ms,
		 uint64_t *out_ms, struct err **err);

/* Build an error about an entry: "ORIGIN:LINE: KEY: MESSAGE". Returns -1. */
int cfg_error(const struct cfg *c, const struct cfg_entry *e, struct err **err,
	      const char *fmt, ...) PRINTF_LIKE(4, 5);

/* Parsing helpers shared with callers that parse sizes outside a cfg. */
int cfg_parse_size(const char *s, uint64_t *out);     /* 0 or -1 (EINVAL/ERANGE) */
int cfg_parse_bool(const char *s, bool *out);         /* 0 or -1 */

#endif
