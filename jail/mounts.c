/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jail_build: the filesystem of a jail, then its hostname.
 *
 * Theory of operation. The vassal runs this as root, inside the fresh mount
 * namespace it was cloned into, before any tenant code:
 *
 *   0. userns_root     with a user namespace (whose maps the emperor wrote,
 *                      jail_write_id_maps), become its root: the process
 *                      still carries the host's root ids, which are unmapped
 *                      inside, and the kernel refuses to create files (or
 *                      anything owned) with unmapped ids (EOVERFLOW).
 *   1. make_private    / becomes recursively private, so nothing mounted
 *                      here propagates to the host and nothing the host
 *                      mounts later appears in the jail.
 *   2. stage_root      a tmpfs (mode 0755) at spec->stage_dir, or a
 *                      recursive bind of `rootfs` there, made read-only,
 *                      nosuid and nodev down the whole tree (restrict_tree).
 *   3. stage_mount     each bind-ro, bind-rw and tmpfs in file order; mount
 *                      points are created without ever following a symlink
 *                      inside the new root (path.c) and targeted through
 *                      /proc/self/fd. A symlink source (/bin -> usr/bin) is
 *                      recreated as the same symlink, and its resolved
 *                      target is bound at the same path inside. bind-ro
 *                      trees become read-only, nosuid, nodev; bind-rw
 *                      trees nosuid.
 *   4. jail_mount_proc, jail_mount_dev (dev.c): a fresh /proc, which shows
 *                      the jail's own pid namespace, and a minimal /dev.
 *   5. pivot_dance     crun's: pivot_root(".", ".") from inside the new root
 *                      stacks the old root on top of it; detach that, and
 *                      the host's filesystem is out of reach.
 *   6. set_hostname
 *
 * Two other shapes replace stages 2-5:
 *   - `pivot-root = NEW OLD` (pivot_user, uWSGI's semantics): NEW is the
 *     whole root as the administrator prepared it; it is bound onto itself
 *     (so it is a mount point), gets a fresh proc on NEW/proc when that
 *     directory exists, and pivot_root(".", OLD) puts the old root on OLD,
 *     which is then detached (and removed when possible). /dev is NEW's.
 *   - the fs namespace without any filesystem key (keep_host_root): the jail
 *     keeps the host's root, because building an empty one would leave the
 *     app nothing to run; mounts are still made private and, with a new pid
 *     namespace, /proc is remounted so that it shows the jail's pids.
 * Without the fs namespace nothing is mounted at all.
 *
 * Every failure names the stage and the paths: "bind-ro /usr -> /usr:
 * mount: Permission denied".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_PATH, CLONE_NEW* */
#endif
#include "jail/internal.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int userns_root(const struct jail_spec *spec, struct err **err)
{
	if (!(spec->clone_flags & CLONE_NEWUSER))
		return 0;
	if (setgroups(0, NULL) < 0)
		return err_set(err, errno, "user namespace: setgroups");
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return err_set(err, errno,
			       "user namespace: become root (are the id maps written?)");
	return 0;
}

static int make_private(struct err **err)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_set(err, errno, "make / private: mount");
	return 0;
}

/*
 * mkdir -p for the host path of the stage directory: the directory itself
 * 0700, missing parents 0711, so that the root of a user namespace (an
 * unprivileged uid on the host) can still reach a stage directory that the
 * privileged emperor, or an earlier vassal, created.
 */
static int mkdir_p(const char *path, struct err **err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (path[0] != '/' || len >= sizeof(buf))
		return err_set(err, EINVAL, "stage directory '%s'", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, c == '\0' ? 0700 : 0711) < 0 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s", buf);
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/*
 * Remount the bind mount @fd is the root of with @add, keeping the flags it
 * already has: in a user namespace the kernel locks a mount's nosuid, nodev,
 * noexec, atime and read-only flags, and a remount that drops one fails.
 */
static int remount(int fd, unsigned long add, struct err **err)
{
	char p[JAIL_FD_PATH_MAX];
	struct statvfs sv;
	jail_fd_path(fd, p);
	if (statvfs(p, &sv) < 0)
		return err_set(err, errno, "statvfs");
	static const struct {
		unsigned long st, ms;
	} map[] = {
	    {ST_RDONLY, MS_RDONLY},	{ST_NOSUID, MS_NOSUID},	  {ST_NODEV, MS_NODEV},
	    {ST_NOEXEC, MS_NOEXEC},	{ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
	    {ST_RELATIME, MS_RELATIME},
	};
	unsigned long flags = MS_BIND | MS_REMOUNT | add;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (sv.f_flag & map[i].st)
			flags |= map[i].ms;
	if (!(sv.f_flag & (ST_NOATIME | ST_RELATIME)))
		flags |= MS_STRICTATIME; /* a remount defaults to relatime otherwise */
	if (mount(NULL, p, NULL, flags, NULL) < 0)
		return err_set(err, errno, "remount");
	return 0;
}

/*
 * Add @ms (MS_RDONLY, MS_NOSUID, MS_NODEV) to the bind mount @fd is the
 * root of and to every mount below it, so that `bind-ro = /sys` does not
 * leave /sys/fs/cgroup writable. mount_setattr(2) only adds, so locked
 * flags stay as they are; kernels before 5.12 lack it, and there only the
 * top mount is remounted.
 */
static int restrict_tree(int fd, unsigned long ms, struct err **err)
{
	struct mount_attr attr = {
	    .attr_set = (ms & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) |
			(ms & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
			(ms & MS_NODEV ? MOUNT_ATTR_NODEV : 0),
	};
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return err_set(err, errno, "mount_setattr");
	return remount(fd, ms, err);
}

static int stage_root(const struct jail_spec *spec, int *rootfd, struct err **err)
{
	const char *dir = spec->stage_dir;
	if (dir == NULL)
		return err_set(err, EINVAL, "root: no stage directory");
	if (mkdir_p(dir, err) < 0)
		return -1;
	if (spec->rootfs == NULL) {
		if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
			return err_set(err, errno, "root tmpfs %s: mount", dir);
	} else if (mount(spec->rootfs, dir, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return err_set(err, errno, "rootfs %s -> %s: mount", spec->rootfs, dir);
	}
	*rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*rootfd < 0)
		return err_set(err, errno, "root %s: open", dir);
	if (spec->rootfs != NULL &&
	    restrict_tree(*rootfd, MS_RDONLY | MS_NOSUID | MS_NODEV, err) < 0) {
		err_prefix(err, "rootfs %s -> %s", spec->rootfs, dir);
		return -1;
	}
	return 0;
}

/* Bind host path @src (no symlink) at @dst inside the new root. */
static int bind_one(int rootfd, const char *src, const char *dst, bool ro, struct err **err)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return err_set(err, errno, "stat %s", src);
	enum jail_leaf leaf = S_ISDIR(st.st_mode) ? JAIL_LEAF_DIR : JAIL_LEAF_FILE;
	_cleanup_close_ int fd = jail_path_at(rootfd, dst, leaf, err);
	if (fd < 0)
		return -1;
	char p[JAIL_FD_PATH_MAX];
	jail_fd_path(fd, p);
	if (mount(src, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_set(err, errno, "mount");
	/* Walk again: the lookup now ends on the root of the new mount. */
	_cleanup_close_ int top = jail_path_at(rootfd, dst, leaf, err);
	if (top < 0)
		return -1;
	return restrict_tree(top, ro ? MS_RDONLY | MS_NOSUID | MS_NODEV : MS_NOSUID, err);
}

/* A symlink source: the same link at DST, its target bound where it points. */
static int bind_symlink(int rootfd, const struct jail_mount *m, bool ro, struct err **err)
{
	char text[PATH_MAX];
	ssize_t n = readlink(m->src, text, sizeof(text) - 1);
	if (n < 0)
		return err_set(err, errno, "readlink");
	text[n] = '\0';
	if (jail_symlink_at(rootfd, m->dst, text, err) < 0)
		return -1;
	_cleanup_free_ char *real = realpath(m->src, NULL);
	if (real == NULL)
		return err_set(err, errno, "realpath");
	if (strcmp(real, "/") == 0)
		return err_set(err, EINVAL, "the link resolves to /");
	if (bind_one(rootfd, real, real, ro, err) < 0) {
		err_prefix(err, "target %s", real);
		return -1;
	}
	return 0;
}

static int mount_tmpfs(int rootfd, const struct jail_mount *m, struct err **err)
{
	bool sticky = strcmp(m->dst, "/tmp") == 0 || strcmp(m->dst, "/var/tmp") == 0;
	char opts[64];
	int n = snprintf(opts, sizeof(opts), "mode=%s", sticky ? "1777" : "0755");
	if (m->size != 0)
		snprintf(opts + n, sizeof(opts) - (size_t)n, ",size=%llu",
			 (unsigned long long)m->size);
	_cleanup_close_ int fd = jail_path_at(rootfd, m->dst, JAIL_LEAF_DIR, err);
	if (fd < 0)
		return -1;
	char p[JAIL_FD_PATH_MAX];
	jail_fd_path(fd, p);
	if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return err_set(err, errno, "mount");
	return 0;
}

static int stage_mount(int rootfd, const struct jail_mount *m, struct err **err)
{
	if (m->kind == JAIL_TMPFS) {
		if (mount_tmpfs(rootfd, m, err) == 0)
			return 0;
		err_prefix(err, "tmpfs %s", m->dst);
		return -1;
	}
	bool ro = m->kind == JAIL_BIND_RO;
	struct stat st;
	int r;
	if (lstat(m->src, &st) < 0)
		r = err_set(err, errno, "lstat");
	else if (S_ISLNK(st.st_mode))
		r = bind_symlink(rootfd, m, ro, err);
	else
		r = bind_one(rootfd, m->src, m->dst, ro, err);
	if (r < 0)
		err_prefix(err, "%s %s -> %s", ro ? "bind-ro" : "bind-rw", m->src, m->dst);
	return r;
}

/* crun's pivot: no directory for the old root is needed. */
static int pivot_dance(int rootfd, struct err **err)
{
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (oldroot < 0)
		return err_set(err, errno, "pivot_root: open /");
	if (fchdir(rootfd) < 0)
		return err_set(err, errno, "pivot_root: fchdir to the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_set(err, errno, "pivot_root");
	if (fchdir(oldroot) < 0)
		return err_set(err, errno, "pivot_root: fchdir to the old root");
	/* Slave first, so detaching cannot propagate anywhere. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return err_set(err, errno, "pivot_root: make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return err_set(err, errno, "pivot_root: detach the old root");
	if (chdir("/") < 0)
		return err_set(err, errno, "pivot_root: chdir /");
	return 0;
}

static int build_root(const struct jail_spec *spec, struct err **err)
{
	_cleanup_close_ int rootfd = -1;
	if (stage_root(spec, &rootfd, err) < 0)
		return -1;
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (stage_mount(rootfd, &spec->mounts[i], err) < 0)
			return -1;
	if (jail_mount_proc(rootfd, err) < 0 || jail_mount_dev(rootfd, err) < 0)
		return -1;
	return pivot_dance(rootfd, err);
}

/* pivot_root(".", OLD) from inside NEW, then detach OLD. */
static int pivot_old(int newfd, const char *old, struct err **err)
{
	char inside[PATH_MAX];
	if (snprintf(inside, sizeof(inside), "/%s", old) >= (int)sizeof(inside))
		return err_set(err, ENAMETOOLONG, "OLD");
	_cleanup_close_ int oldfd = jail_path_at(newfd, inside, JAIL_LEAF_DIR, err);
	if (oldfd < 0)
		return -1;
	if (fchdir(newfd) < 0)
		return err_set(err, errno, "fchdir NEW");
	if (syscall(SYS_pivot_root, ".", old) < 0)
		return err_set(err, errno, "pivot_root");
	if (chdir("/") < 0)
		return err_set(err, errno, "chdir /");
	if (umount2(inside, MNT_DETACH) < 0)
		return err_set(err, errno, "detach the old root at %s", inside);
	(void)rmdir(inside); /* best effort: NEW may well be read-only */
	return 0;
}

static int pivot_user(const struct jail_spec *spec, struct err **err)
{
	const char *new_root = spec->pivot_new;
	/* Binding NEW onto itself even when it is a mount point already costs
	 * one mount and needs no detection. */
	if (mount(new_root, new_root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_set(err, errno, "pivot-root %s: bind", new_root);
	_cleanup_close_ int newfd = open(new_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (newfd < 0)
		return err_set(err, errno, "pivot-root %s: open", new_root);
	struct stat st;
	if (fstatat(newfd, "proc", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	    jail_mount_proc(newfd, err) < 0)
		return -1;
	int r = strcmp(spec->pivot_old, ".") == 0 ? pivot_dance(newfd, err)
						  : pivot_old(newfd, spec->pivot_old, err);
	if (r < 0)
		err_prefix(err, "pivot-root %s %s", new_root, spec->pivot_old);
	return r;
}

static int keep_host_root(const struct jail_spec *spec, struct err **err)
{
	if (!(spec->clone_flags & CLONE_NEWPID))
		return 0;
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_set(err, errno, "open /");
	return jail_mount_proc(rootfd, err);
}

static int build_fs(const struct jail_spec *spec, struct err **err)
{
	if (make_private(err) < 0)
		return -1;
	if (spec->pivot_new != NULL)
		return pivot_user(spec, err);
	if (spec->rootfs == NULL && spec->n_mounts == 0)
		return keep_host_root(spec, err);
	return build_root(spec, err);
}

static int set_hostname(const struct jail_spec *spec, struct err **err)
{
	if (spec->hostname == NULL)
		return 0;
	if (sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return err_set(err, errno, "hostname %s: sethostname", spec->hostname);
	return 0;
}

/* A jail must never change the host: refuse before touching anything. */
static int check_namespaces(const struct jail_spec *spec, struct err **err)
{
	bool fs_keys = spec->rootfs != NULL || spec->pivot_new != NULL || spec->n_mounts > 0;
	if (fs_keys && !(spec->clone_flags & CLONE_NEWNS))
		return err_set(err, EINVAL, "refusing to mount without the fs namespace");
	if (spec->hostname != NULL && !(spec->clone_flags & CLONE_NEWUTS))
		return err_set(err, EINVAL, "hostname %s: refusing without the uts namespace",
			       spec->hostname);
	return 0;
}

int jail_build(const struct jail_spec *spec, struct err **err)
{
	if (check_namespaces(spec, err) < 0 || userns_root(spec, err) < 0)
		return -1;
	if (spec->clone_flags & CLONE_NEWNS) {
		/* Modes below are meant exactly (0755 dirs, 0666 nodes, 1777 tmp). */
		mode_t saved = umask(0);
		int r = build_fs(spec, err);
		umask(saved);
		if (r < 0)
			return -1;
	}
	return set_hostname(spec, err);
}
