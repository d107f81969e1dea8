/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the rest of imperium needs to know about a vassal's config: its keys
 * and how to validate a file before anything is spawned for it. The vassal
 * program itself (vassal/main.c and friends) is built separately.
 */
#ifndef VASSAL_VASSAL_H
#define VASSAL_VASSAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/addr.h"
#include "core/cfg.h"
#include "core/err.h"

/* Sections a vassal file is read from, NULL-terminated: "vassal", "uwsgi". */
extern const char *const vsl_sections[];

#define VSL_MAX_SOCKETS 16

/* At most this many `domain`, `subscribe-to` and `subscribe2` entries in all. */
#define VSL_MAX_SUBSCRIPTIONS 64

/*
 * vsl_config_validate - check every key of a vassal file: unknown keys, bad
 * values, a missing `exec`, jail keys (through jail_spec_from_cfg) against
 * the namespaces it will get (@clone_flags, after the vassal's own
 * `use-clone` override is applied by the caller).
 * Returns 0, or -1 with *err "FILE:LINE: KEY: why".
 */
int vsl_config_validate(const struct cfg *c, unsigned long clone_flags, struct err **err);

/* vsl_config_validate_own - the same without the jail keys, which only
 * make sense on the host: what a running vassal checks in a new config
 * (whose jail keys, were they different, would have restarted it). */
int vsl_config_validate_own(const struct cfg *c, struct err **err);

/*
 * vsl_config_sockets - the parsed `socket` entries, in order (at most
 * VSL_MAX_SOCKETS). Returns the count, or -1 with *err.
 */
int vsl_config_sockets(const struct cfg *c, struct addr *out, size_t max, struct err **err);

/*
 * vsl_config_domains - the `domain` values, in file order: the keys this
 * vassal may claim through the emperor's subscription socket. @out[i]
 * points into @c. Returns the count, or -1 with *err "FILE:LINE: domain:
 * why" (a bad name, more than @max).
 */
int vsl_config_domains(const struct cfg *c, const char **out, size_t max, struct err **err);

/*
 * vsl_config_claims - every key this vassal may claim through the emperor's
 * subscription socket: its `domain` values and the literal keys of its
 * `subscribe-to` and `subscribe2` entries, in file order, each once
 * (compared case-insensitively, as routers do). Keys of `@FILE` key files
 * are not among them: those files are read inside the jail, so such keys go
 * to their server over the network. @out[i] are owned copies (free each).
 * Returns the count, or -1 with *err "FILE:LINE: KEY: why" (a bad entry,
 * more than @max distinct keys) and nothing left in @out.
 */
int vsl_config_claims(const struct cfg *c, char **out, size_t max, struct err **err);

/*
 * vsl_config_sign_keys - the distinct KEYFILE paths of the signed
 * subscriptions of validated config @c, in file order, at most @max: the
 * files the emperor opens, as root, for the vassal at each spawn. @out[i]
 * are owned copies (free each). Returns the count, or -1 with *err
 * "FILE:LINE: KEY: why" and nothing left in @out.
 */
int vsl_config_sign_keys(const struct cfg *c, char **out, size_t max, struct err **err);

/* vsl_proc_rss - resident set size of @pid in bytes (/proc/PID/statm), as
 * the vassal reads its workers' and the emperor its vassals'. Returns 0, or
 * -1 with errno. */
int vsl_proc_rss(pid_t pid, uint64_t *bytes);

/* What differs between two validated configs of one vassal (a mask). */
enum vsl_change {
	VSL_CHANGE_ROUTING = 1, /* `domain`, `subscribe*`: new subscriptions, same workers */
	VSL_CHANGE_WORKERS = 2, /* `exec`, `env`, `chdir`, `workers`, `cheaper*`...: a
				 * graceful reload of the workers with the new settings */
	VSL_CHANGE_RESTART = 4	/* sockets, jail, namespaces, hooks, the set of signing
				 * keys (DIGEST:KEYFILE): a new vassal process */
};

/*
 * vsl_config_change - compare @old and @new key class by key class (the
 * values of each class in file order; a key's line number does not count).
 * `log-encoder` is the emperor's alone and counts for nothing here. A
 * routing change that adds or drops a DIGEST:KEYFILE pair is a restart too:
 * keys are read before the jail, so only a new process can read new ones.
 * Returns a mask of enum vsl_change, 0 when the vassal needs to do nothing.
 */
unsigned vsl_config_change(const struct cfg *old, const struct cfg *new);

/*
 * vsl_split_words - split an `exec` command line into words the way a shell
 * would, without globbing or variables: blanks separate words; 'single'
 * quotes are literal; inside "double" quotes \" and \\ are escapes (any other
 * backslash is literal); outside quotes a backslash takes the next character
 * literally. *argv_out is a NULL-terminated array (free with vsl_free_words).
 * Returns the number of words (0 for a blank line), or -1 with *err for an
 * unterminated quote or a trailing backslash.
 */
int vsl_split_words(const char *s, char ***argv_out, struct err **err);
void vsl_free_words(char **argv);

#endif
