/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files without names: anonymous temporary files (O_TMPFILE, or mkostemp +
 * unlink on a filesystem without it), used to hand a vassal its config and
 * to spool request bodies, and a write that finishes what it starts.
 */
#ifndef CORE_FILE_H
#define CORE_FILE_H

#include <stddef.h>

/*
 * file_tmp_open - an anonymous read-write file in @dir (CLOEXEC, mode 0600):
 * O_TMPFILE, or where the filesystem refuses it, a file made with mkostemp
 * from "@dir/@prefix-XXXXXX" and unlinked at once. Returns the fd, or -1
 * with errno.
 */
int file_tmp_open(const char *dir, const char *prefix);

/* file_write_all - write all @n bytes (EINTR retried). 0, or -1 with errno
 * (EIO when the file takes no more). */
int file_write_all(int fd, const void *p, size_t n);

#endif
