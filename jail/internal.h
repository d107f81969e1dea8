/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the files of jail/ and nobody else: the libcap cleanup
 * attribute, the rlimit key table, and symlink-safe creation of mount points
 * inside the root being assembled (every component opened with O_NOFOLLOW
 * relative to the new root, so nothing in a rootfs or a bind-rw directory can
 * steer a mount onto a host path).
 */
#ifndef JAIL_INTERNAL_H
#define JAIL_INTERNAL_H

#include <sys/capability.h>

#include "core/err.h"
#include "jail/jail.h"

static inline void jail_cap_freep(cap_t *c)
{
	if (*c != NULL)
		cap_free(*c);
}

#define _cleanup_cap_ __attribute__((cleanup(jail_cap_freep)))

/* The rlimit-* keys, in jail_cfg_keys order. */
struct jail_rlimit_key {
	const char *key; /* "rlimit-nofile" */
	int resource;	 /* RLIMIT_NOFILE */
};

extern const struct jail_rlimit_key jail_rlimit_keys[];
extern const size_t jail_n_rlimit_keys;

/* jail_rlimit_name - "rlimit-nofile" for RLIMIT_NOFILE, "rlimit-?" if unknown. */
const char *jail_rlimit_name(int resource);

/*
 * The credential keys (creds.c), called by jail_spec_from_cfg after the
 * filesystem keys: uid and gid (names or numbers), cap, rlimit-*.
 * Each returns 0 or -1 with *err "ORIGIN:LINE: KEY: why".
 */
int jail_parse_ids(const struct cfg *c, struct jail_spec *spec, struct err **err);
int jail_parse_caps(const struct cfg *c, struct jail_spec *spec, struct err **err);
int jail_parse_rlimits(const struct cfg *c, struct jail_spec *spec, struct err **err);

/* "/proc/self/fd/N": how a mount(2) or chmod(2) reaches an O_PATH descriptor. */
#define JAIL_FD_PATH_MAX 32
void jail_fd_path(int fd, char out[JAIL_FD_PATH_MAX]);

enum jail_leaf { JAIL_LEAF_DIR, JAIL_LEAF_FILE };

/*
 * jail_path_at - open @path (absolute, normalised: no "", "." or ".."
 * components) inside the tree whose root is @rootfd, as an O_PATH|O_CLOEXEC
 * descriptor. Missing directories are created 0755 (less the umask), a
 * missing leaf as a directory or an empty 0644 file per @leaf. No symlink is
 * ever followed: a component that is a symlink, or a leaf of the wrong type,
 * is an error naming the path. Lookups do cross mount points, so calling it
 * again after mounting on the leaf returns the root of the new mount.
 * Returns the descriptor or -1 with *err.
 */
int jail_path_at(int rootfd, const char *path, enum jail_leaf leaf, struct err **err);

/*
 * jail_symlink_at - create the symlink @path -> @target inside @rootfd
 * (parents as jail_path_at). An existing symlink with the same text is fine;
 * anything else already there is an error. Returns 0 or -1 with *err.
 */
int jail_symlink_at(int rootfd, const char *path, const char *target, struct err **err);

/*
 * dev.c: mount a fresh proc at /proc, and a minimal /dev (tmpfs with null,
 * zero, full, random, urandom, tty, devpts, shm and the fd symlinks), inside
 * the tree at @rootfd. Each returns 0 or -1 with *err naming the path.
 */
int jail_mount_proc(int rootfd, struct err **err);
int jail_mount_dev(int rootfd, struct err **err);

#endif
