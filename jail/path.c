/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Symlink-safe mount points inside the root being assembled (see internal.h).
 * The new root may be a user's rootfs or contain tenant-writable bind-rw
 * directories, so a path inside it is walked one component at a time with
 * openat(O_NOFOLLOW) from the root's descriptor, never resolved as a string,
 * and mounts target the resulting descriptor through /proc/self/fd.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_PATH */
#endif
#include "jail/internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void jail_fd_path(int fd, char out[JAIL_FD_PATH_MAX])
{
	snprintf(out, JAIL_FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

/* Absolute, shorter than PATH_MAX, no empty, "." or ".." component. */
static bool normalised(const char *p)
{
	size_t len = strnlen(p, PATH_MAX);
	if (len == 0 || len >= PATH_MAX || p[0] != '/')
		return false;
	if (len == 1)
		return true;
	for (const char *c = p + 1;;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (c[n] == '\0')
			return true;
		c += n + 1;
	}
}

/* openat refused @name: say whether it is a symlink or something else. */
static int refuse(int dirfd, const char *name, const char *shown, int errnum, struct err **err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return err_set(err, 0, "%s: is a symlink inside the new root", shown);
	return err_set(err, errnum, "open %s", shown);
}

static int open_dir(int dirfd, const char *name, const char *shown, struct err **err)
{
	const int flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, name, flags);
	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s", shown);
		fd = openat(dirfd, name, flags);
	}
	if (fd < 0)
		return refuse(dirfd, name, shown, errno, err);
	return fd;
}

static int open_file(int dirfd, const char *name, const char *shown, struct err **err)
{
	const int flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
	_cleanup_close_ int fd = openat(dirfd, name, flags);
	if (fd < 0 && errno == ENOENT) {
		int w =
		    openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (w < 0 && errno != EEXIST)
			return err_set(err, errno, "create %s", shown);
		if (w >= 0)
			close(w);
		fd = openat(dirfd, name, flags);
	}
	if (fd < 0)
		return err_set(err, errno, "open %s", shown);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_set(err, errno, "stat %s", shown);
	if (S_ISLNK(st.st_mode))
		return err_set(err, 0, "%s: is a symlink inside the new root", shown);
	if (S_ISDIR(st.st_mode))
		return err_set(err, EISDIR, "%s", shown);
	return steal_fd(&fd);
}

/*
 * Open the directory that holds the leaf of @buf (a writable copy of a
 * normalised path other than "/"), creating what is missing; *leaf points to
 * the leaf's name inside @buf. While a component is being opened, @buf is
 * cut after it, so messages name the path walked so far.
 */
static int open_parent(int rootfd, char *buf, char **leaf, struct err **err)
{
	char *last = strrchr(buf, '/');
	*leaf = last + 1;
	_cleanup_close_ int dir = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return err_set(err, errno, "open the new root");
	for (char *p = buf + 1; p < last;) {
		char *slash = strchr(p, '/');
		*slash = '\0';
		int next = open_dir(dir, p, buf, err);
		*slash = '/';
		if (next < 0)
			return -1;
		close(dir);
		dir = next;
		p = slash + 1;
	}
	return steal_fd(&dir);
}

int jail_path_at(int rootfd, const char *path, enum jail_leaf leaf, struct err **err)
{
	if (!normalised(path))
		return err_set(err, EINVAL, "'%s': not a normalised absolute path", path);
	if (strcmp(path, "/") == 0) {
		if (leaf != JAIL_LEAF_DIR)
			return err_set(err, EISDIR, "/");
		int fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? err_set(err, errno, "open the new root") : fd;
	}
	char buf[PATH_MAX];
	memcpy(buf, path, strlen(path) + 1);
	char *name;
	_cleanup_close_ int dir = open_parent(rootfd, buf, &name, err);
	if (dir < 0)
		return -1;
	if (leaf == JAIL_LEAF_DIR)
		return open_dir(dir, name, buf, err);
	return open_file(dir, name, buf, err);
}

int jail_symlink_at(int rootfd, const char *path, const char *target, struct err **err)
{
	if (!normalised(path) || strcmp(path, "/") == 0)
		return err_set(err, EINVAL, "'%s': not a normalised absolute path", path);
	char buf[PATH_MAX];
	memcpy(buf, path, strlen(path) + 1);
	char *name;
	_cleanup_close_ int dir = open_parent(rootfd, buf, &name, err);
	if (dir < 0)
		return -1;
	if (symlinkat(target, dir, name) == 0)
		return 0;
	if (errno != EEXIST)
		return err_set(err, errno, "symlink %s", path);
	char cur[PATH_MAX];
	ssize_t n = readlinkat(dir, name, cur, sizeof(cur) - 1);
	if (n < 0)
		return err_set(err, errno == EINVAL ? EEXIST : errno, "symlink %s", path);
	cur[n] = '\0';
	if (strcmp(cur, target) != 0)
		return err_set(err, 0, "%s: already a symlink to '%s', not '%s'", path, cur,
			       target);
	return 0;
}
