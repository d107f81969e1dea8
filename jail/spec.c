/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * From config keys to a struct jail_spec: the filesystem keys (rootfs,
 * pivot-root, bind-ro, bind-rw, tmpfs) and hostname here, the credential
 * keys (uid, gid, cap, rlimit-*) in creds.c. Everything a jail will do is
 * checked now, so that the emperor can refuse a broken file before it
 * clones, and every error names "FILE:LINE: KEY".
 *
 * Paths are stored normalised (no empty or "." components, no trailing '/');
 * ".." is refused outright. pivot_old is stored relative to pivot_new ("."
 * when both are the same directory), which is how pivot_root(2) is called
 * once the process sits in NEW.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, CLONE_NEW* */
#endif
#include "jail/internal.h"

#include <limits.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>

const char *const jail_cfg_keys[] = {
    "rootfs",
    "pivot-root",
    "bind-ro",
    "bind-rw",
    "tmpfs",
    "hostname",
    "uid",
    "gid",
    "cap",
    "rlimit-as",
    "rlimit-core",
    "rlimit-cpu",
    "rlimit-data",
    "rlimit-fsize",
    "rlimit-locks",
    "rlimit-memlock",
    "rlimit-msgqueue",
    "rlimit-nice",
    "rlimit-nofile",
    "rlimit-nproc",
    "rlimit-rss",
    "rlimit-rtprio",
    "rlimit-sigpending",
    "rlimit-stack",
    NULL,
};

/*
 * A normalised malloc'd copy of the absolute path @in, or NULL with *why
 * saying what is wrong with it.
 */
static char *path_dup(const char *in, const char **why)
{
	size_t len = strlen(in);
	if (in[0] != '/') {
		*why = "must be an absolute path";
		return NULL;
	}
	if (len >= PATH_MAX) {
		*why = "is too long";
		return NULL;
	}
	_cleanup_free_ char *out = malloc(len + 2);
	if (out == NULL) {
		*why = "out of memory";
		return NULL;
	}
	size_t o = 0;
	for (const char *p = in; *p != '\0';) {
		p += strspn(p, "/");
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = "must not contain '..'";
			return NULL;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return steal_ptr(&out);
}

static int need_ns(const struct cfg *c, const struct cfg_entry *e, const struct jail_spec *spec,
		   unsigned long flag, const char *name, struct err **err)
{
	if (spec->clone_flags & flag)
		return 0;
	return cfg_error(c, e, err, "needs the %s namespace (use-clone)", name);
}

static bool is_mount_key(const char *key)
{
	return strcmp(key, "bind-ro") == 0 || strcmp(key, "bind-rw") == 0 ||
	       strcmp(key, "tmpfs") == 0;
}

/* An existing directory, as a normalised copy in *out. */
static int existing_dir(const struct cfg *c, const struct cfg_entry *e, const char *what,
			const char *path, char **out, struct err **err)
{
	const char *why;
	_cleanup_free_ char *p = path_dup(path, &why);
	if (p == NULL)
		return cfg_error(c, e, err, "%s '%s' %s", what, path, why);
	struct stat st;
	if (stat(p, &st) < 0)
		return cfg_error(c, e, err, "%s %s: %s", what, p, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cfg_error(c, e, err, "%s %s: not a directory", what, p);
	*out = steal_ptr(&p);
	return 0;
}

/* OLD, absolute inside NEW or relative to it, as a path relative to NEW. */
static int pivot_old(const struct cfg *c, const struct cfg_entry *e, const char *new_root,
		     const char *old, char **out, struct err **err)
{
	const char *why;
	_cleanup_free_ char *rel = NULL;
	if (old[0] != '/' && asprintf(&rel, "/%s", old) < 0)
		return cfg_error(c, e, err, "out of memory");
	_cleanup_free_ char *p = path_dup(rel ? rel : old, &why);
	if (p == NULL)
		return cfg_error(c, e, err, "OLD '%s' %s", old, why);
	const char *inside = p;
	size_t nlen = strlen(new_root);
	if (old[0] == '/') {
		if (strncmp(p, new_root, nlen) != 0 || (p[nlen] != '/' && p[nlen] != '\0'))
			return cfg_error(c, e, err, "OLD %s is not inside NEW %s", p, new_root);
		inside = p + nlen;
	}
	*out = strdup(inside[0] == '\0' || strcmp(inside, "/") == 0 ? "." : inside + 1);
	return *out ? 0 : cfg_error(c, e, err, "out of memory");
}

/* "A B" (blanks around and between) into two malloc'd words. */
static int split_two(const char *v, char **a, char **b)
{
	const char *blank = " \t";
	const char *p = v + strspn(v, blank);
	size_t alen = strcspn(p, blank);
	const char *q = p + alen + strspn(p + alen, blank);
	size_t blen = strcspn(q, blank);
	if (alen == 0 || blen == 0 || q[blen + strspn(q + blen, blank)] != '\0')
		return -1;
	*a = strndup(p, alen);
	*b = strndup(q, blen);
	return *a && *b ? 0 : -1;
}

static int parse_pivot(const struct cfg *c, struct jail_spec *spec, struct err **err)
{
	const struct cfg_entry *e = cfg_get(c, "pivot-root");
	if (e == NULL)
		return 0;
	if (need_ns(c, e, spec, CLONE_NEWNS, "fs", err) < 0)
		return -1;
	_cleanup_free_ char *new_root = NULL, *old = NULL;
	if (split_two(e->value, &new_root, &old) < 0)
		return cfg_error(c, e, err, "expected NEW OLD (two paths separated by blanks)");
	if (existing_dir(c, e, "NEW", new_root, &spec->pivot_new, err) < 0)
		return -1;
	if (strcmp(spec->pivot_new, "/") == 0)
		return cfg_error(c, e, err, "NEW cannot be /");
	if (pivot_old(c, e, spec->pivot_new, old, &spec->pivot_old, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *o = &c->entries[i];
		if (strcmp(o->key, "rootfs") == 0 || is_mount_key(o->key))
			return cfg_error(c, o, err,
					 "pivot-root cannot be combined with %s (see line %u)",
					 o->key, e->line);
	}
	return 0;
}

static int parse_rootfs(const struct cfg *c, struct jail_spec *spec, struct err **err)
{
	const struct cfg_entry *e = cfg_get(c, "rootfs");
	if (e == NULL)
		return 0;
	if (need_ns(c, e, spec, CLONE_NEWNS, "fs", err) < 0)
		return -1;
	return existing_dir(c, e, "rootfs", e->value, &spec->rootfs, err);
}

static int mount_dst(const struct cfg *c, const struct cfg_entry *e, const char *dst,
		     struct jail_mount *m, struct err **err)
{
	const char *why;
	m->dst = path_dup(dst, &why);
	if (m->dst == NULL)
		return cfg_error(c, e, err, "destination '%s' %s", dst, why);
	if (strcmp(m->dst, "/") == 0)
		return cfg_error(c, e, err, "destination cannot be / (use rootfs)");
	return 0;
}

/* SRC[:DST], split at the first ':'. */
static int parse_bind(const struct cfg *c, const struct cfg_entry *e, struct jail_mount *m,
		      struct err **err)
{
	const char *colon = strchr(e->value, ':');
	size_t slen = colon ? (size_t)(colon - e->value) : strlen(e->value);
	_cleanup_free_ char *src = strndup(e->value, slen);
	const char *why;
	if (src == NULL)
		return cfg_error(c, e, err, "out of memory");
	m->kind = strcmp(e->key, "bind-ro") == 0 ? JAIL_BIND_RO : JAIL_BIND_RW;
	m->src = path_dup(src, &why);
	if (m->src == NULL)
		return cfg_error(c, e, err, "source '%s' %s", src, why);
	struct stat st;
	if (lstat(m->src, &st) < 0)
		return cfg_error(c, e, err, "source %s: %s", m->src, strerror(errno));
	return mount_dst(c, e, colon ? colon + 1 : src, m, err);
}

/* DST[:SIZE]. */
static int parse_tmpfs(const struct cfg *c, const struct cfg_entry *e, struct jail_mount *m,
		       struct err **err)
{
	const char *colon = strchr(e->value, ':');
	size_t dlen = colon ? (size_t)(colon - e->value) : strlen(e->value);
	_cleanup_free_ char *dst = strndup(e->value, dlen);
	if (dst == NULL)
		return cfg_error(c, e, err, "out of memory");
	m->kind = JAIL_TMPFS;
	if (colon != NULL && cfg_parse_size(colon + 1, &m->size) < 0)
		return cfg_error(c, e, err, "bad size '%s'", colon + 1);
	return mount_dst(c, e, dst, m, err);
}

/* bind-ro, bind-rw and tmpfs, in the order of their lines. */
static int parse_mounts(const struct cfg *c, struct jail_spec *spec, struct err **err)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *e = &c->entries[i];
		if (!is_mount_key(e->key))
			continue;
		if (need_ns(c, e, spec, CLONE_NEWNS, "fs", err) < 0)
			return -1;
		if (spec->n_mounts == JAIL_MAX_MOUNTS)
			return cfg_error(c, e, err, "too many mounts (max %d)", JAIL_MAX_MOUNTS);
		if (spec->mounts == NULL) {
			spec->mounts = calloc(JAIL_MAX_MOUNTS, sizeof(*spec->mounts));
			if (spec->mounts == NULL)
				return cfg_error(c, e, err, "out of memory");
		}
		struct jail_mount *m = &spec->mounts[spec->n_mounts++];
		int r = strcmp(e->key, "tmpfs") == 0 ? parse_tmpfs(c, e, m, err)
						     : parse_bind(c, e, m, err);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int parse_hostname(const struct cfg *c, struct jail_spec *spec, struct err **err)
{
	const struct cfg_entry *e = cfg_get(c, "hostname");
	if (e == NULL)
		return 0;
	if (need_ns(c, e, spec, CLONE_NEWUTS, "uts", err) < 0)
		return -1;
	size_t len = strlen(e->value);
	bool ok = len >= 1 && len <= 64 &&
		  strspn(e->value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789.-") == len;
	if (!ok)
		return cfg_error(c, e, err, "bad hostname '%s' (1-64 of A-Z a-z 0-9 . -)",
				 e->value);
	spec->hostname = strdup(e->value);
	return spec->hostname ? 0 : cfg_error(c, e, err, "out of memory");
}

static int parse_all(const struct cfg *c, const char *stage_dir, struct jail_spec *spec,
		     struct err **err)
{
	if (stage_dir != NULL && (spec->stage_dir = strdup(stage_dir)) == NULL)
		return err_set(err, ENOMEM, "%s", c->origin);
	if (parse_pivot(c, spec, err) < 0 || parse_rootfs(c, spec, err) < 0 ||
	    parse_mounts(c, spec, err) < 0 || parse_hostname(c, spec, err) < 0 ||
	    jail_parse_ids(c, spec, err) < 0 || jail_parse_caps(c, spec, err) < 0 ||
	    jail_parse_rlimits(c, spec, err) < 0)
		return -1;
	return 0;
}

int jail_spec_from_cfg(const struct cfg *c, unsigned long clone_flags, const char *stage_dir,
		       struct jail_spec *spec, struct err **err)
{
	*spec = (struct jail_spec){.clone_flags = clone_flags, .uid = 65534, .gid = 65534};
	if (parse_all(c, stage_dir, spec, err) < 0) {
		jail_spec_free(spec);
		return -1;
	}
	return 0;
}

void jail_spec_free(struct jail_spec *spec)
{
	if (spec == NULL)
		return;
	free(spec->rootfs);
	free(spec->pivot_new);
	free(spec->pivot_old);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		free(spec->mounts[i].src);
		free(spec->mounts[i].dst);
	}
	free(spec->mounts);
	free(spec->hostname);
	free(spec->rlimits);
	free(spec->stage_dir);
	*spec = (struct jail_spec){0};
}
