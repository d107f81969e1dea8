/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The jail's /proc and minimal /dev (stage 4 of jail_build, see mounts.c).
 * /dev is a small tmpfs holding the six character devices every program
 * expects, made with mknod or, where that is refused (in a user namespace),
 * bound from the host's; a private devpts instance; a tmpfs for POSIX shared
 * memory; and the /proc/self/fd symlinks. Nothing else of the host's /dev is
 * visible.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_PATH */
#endif
#include "jail/internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* Mount @fstype at @path inside @rootfd (created as a directory). */
static int mount_fs(int rootfd, const char *path, const char *fstype, unsigned long flags,
		    const char *opts, struct err **err)
{
	_cleanup_close_ int fd = jail_path_at(rootfd, path, JAIL_LEAF_DIR, err);
	if (fd < 0) {
		err_prefix(err, "%s %s", fstype, path);
		return -1;
	}
	char p[JAIL_FD_PATH_MAX];
	jail_fd_path(fd, p);
	if (mount(fstype, p, fstype, flags, opts) < 0)
		return err_set(err, errno, "%s %s: mount", fstype, path);
	return 0;
}

int jail_mount_proc(int rootfd, struct err **err)
{
	return mount_fs(rootfd, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
}

static const struct {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {
    {"null", 1, 3},   {"zero", 1, 5},	 {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const struct {
	const char *name, *target;
} dev_links[] = {
    {"ptmx", "pts/ptmx"},	   {"fd", "/proc/self/fd"},	  {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
};

/* mknod, or bind the host's node onto an empty file when mknod is refused. */
static int make_node(int rootfd, int devfd, const char *name, dev_t dev, struct err **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/dev/%s", name);
	if (mknodat(devfd, name, S_IFCHR | 0666, dev) == 0)
		return 0;
	if (errno != EPERM)
		return err_set(err, errno, "dev %s: mknod", path);
	_cleanup_close_ int fd = jail_path_at(rootfd, path, JAIL_LEAF_FILE, err);
	if (fd < 0) {
		err_prefix(err, "dev %s", path);
		return -1;
	}
	char p[JAIL_FD_PATH_MAX];
	jail_fd_path(fd, p);
	/* Still the host's /dev: the old root is reachable until pivot_root. */
	if (mount(path, p, NULL, MS_BIND, NULL) < 0)
		return err_set(err, errno, "dev %s: bind from the host", path);
	return 0;
}

int jail_mount_dev(int rootfd, struct err **err)
{
	if (mount_fs(rootfd, "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m", err) < 0)
		return -1;
	/* Walked again, so that it is the new tmpfs, empty and ours. */
	_cleanup_close_ int devfd = jail_path_at(rootfd, "/dev", JAIL_LEAF_DIR, err);
	if (devfd < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		dev_t dev = makedev(dev_nodes[i].major, dev_nodes[i].minor);
		if (make_node(rootfd, devfd, dev_nodes[i].name, dev, err) < 0)
			return -1;
	}
	if (mount_fs(rootfd, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620", err) < 0 ||
	    mount_fs(rootfd, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i].target, devfd, dev_links[i].name) < 0)
			return err_set(err, errno, "dev /dev/%s: symlink", dev_links[i].name);
	return 0;
}
