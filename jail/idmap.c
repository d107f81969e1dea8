/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jail_write_id_maps: the emperor's half of a user namespace. Inside, root
 * (the vassal building its jail) is an unprivileged id on the host, and the
 * tenant's own uid/gid are the same numbers inside and out, so what it
 * writes to a bind-rw directory is owned by it on the host:
 *
 *   uid_map  "0 R 1\nUID UID 1\n"   R = 65534 (nobody), or 65533 when UID is
 *                                  65534 itself, as one id cannot be mapped
 *                                  twice. For UID 0 only "0 R 1": a tenant
 *                                  running as root inside is R on the host.
 *   setgroups "allow"              the jail calls setgroups(1, &gid) at
 *                                  lockdown; the emperor is privileged in
 *                                  the parent namespace, so "deny" is not
 *                                  needed, and writing "allow" fails loudly
 *                                  if a parent namespace forbade it.
 *   gid_map  the same with GID.
 *
 * Each file is written with a single write(2), as the kernel requires.
 */
#include "jail/internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#define MAP_ROOT 65534u

static int write_file(const char *path, const char *data, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "open %s", path);
	size_t len = strlen(data);
	ssize_t n = write(fd, data, len);
	if (n < 0)
		return err_set(err, errno, "write %s", path);
	if ((size_t)n != len)
		return err_set(err, EIO, "write %s: short write", path);
	return 0;
}

static int write_map(pid_t pid, const char *file, unsigned id, struct err **err)
{
	char path[64], map[64];
	unsigned root = id == MAP_ROOT ? MAP_ROOT - 1 : MAP_ROOT;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (id == 0)
		snprintf(map, sizeof(map), "0 %u 1\n", root);
	else
		snprintf(map, sizeof(map), "0 %u 1\n%u %u 1\n", root, id, id);
	return write_file(path, map, err);
}

int jail_write_id_maps(pid_t pid, uid_t uid, gid_t gid, struct err **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	if (write_map(pid, "uid_map", uid, err) < 0 || write_file(path, "allow", err) < 0 ||
	    write_map(pid, "gid_map", gid, err) < 0)
		return -1;
	return 0;
}
