/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The credential keys of a jail: `uid` and `gid` (names resolved through
 * /etc/passwd and /etc/group now, so the jail needs neither), `cap` (libcap
 * names, kept across the drop) and the `rlimit-*` family (SOFT[:HARD], each a
 * size or `unlimited`).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "jail/internal.h"

#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <strings.h>

#define NOBODY 65534
#define PW_BUF_MAX (1u << 20)

const struct jail_rlimit_key jail_rlimit_keys[] = {
    {"rlimit-as", RLIMIT_AS},		{"rlimit-core", RLIMIT_CORE},
    {"rlimit-cpu", RLIMIT_CPU},		{"rlimit-data", RLIMIT_DATA},
    {"rlimit-fsize", RLIMIT_FSIZE},	{"rlimit-locks", RLIMIT_LOCKS},
    {"rlimit-memlock", RLIMIT_MEMLOCK}, {"rlimit-msgqueue", RLIMIT_MSGQUEUE},
    {"rlimit-nice", RLIMIT_NICE},	{"rlimit-nofile", RLIMIT_NOFILE},
    {"rlimit-nproc", RLIMIT_NPROC},	{"rlimit-rss", RLIMIT_RSS},
    {"rlimit-rtprio", RLIMIT_RTPRIO},	{"rlimit-sigpending", RLIMIT_SIGPENDING},
    {"rlimit-stack", RLIMIT_STACK},
};
const size_t jail_n_rlimit_keys = ARRAY_SIZE(jail_rlimit_keys);

const char *jail_rlimit_name(int resource)
{
	for (size_t i = 0; i < jail_n_rlimit_keys; i++)
		if (jail_rlimit_keys[i].resource == resource)
			return jail_rlimit_keys[i].key;
	return "rlimit-?";
}

/* A decimal id: 1 and *out, 0 when @s is not all digits, -1 out of range. */
static int numeric_id(const char *s, uint32_t *out)
{
	size_t n = strlen(s);
	if (n == 0 || strspn(s, "0123456789") != n)
		return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX - 1) /* (uid_t)-1 means "unchanged" to setresuid */
			return -1;
	}
	*out = (uint32_t)v;
	return 1;
}

/*
 * Look up a passwd entry by @name (or by @uid when @name is NULL).
 * Returns 1 with *uid and *gid, 0 when there is none, -1 with errno.
 */
static int lookup_user(const char *name, uid_t uid, uid_t *uid_out, gid_t *gid_out)
{
	for (size_t len = 1024; len <= PW_BUF_MAX; len *= 2) {
		_cleanup_free_ char *buf = malloc(len);
		if (buf == NULL)
			return -1;
		struct passwd pw, *res = NULL;
		int r = name ? getpwnam_r(name, &pw, buf, len, &res)
			     : getpwuid_r(uid, &pw, buf, len, &res);
		if (r == ERANGE)
			continue;
		if (r == ENOENT || r == ESRCH || (r == 0 && res == NULL))
			return 0;
		if (r != 0) {
			errno = r;
			return -1;
		}
		*uid_out = pw.pw_uid;
		*gid_out = pw.pw_gid;
		return 1;
	}
	errno = ERANGE;
	return -1;
}

/* Same for a group name. */
static int lookup_group(const char *name, gid_t *gid_out)
{
	for (size_t len = 1024; len <= PW_BUF_MAX; len *= 2) {
		_cleanup_free_ char *buf = malloc(len);
		if (buf == NULL)
			return -1;
		struct group gr, *res = NULL;
		int r = getgrnam_r(name, &gr, buf, len, &res);
		if (r == ERANGE)
			continue;
		if (r == ENOENT || r == ESRCH || (r == 0 && res == NULL))
			return 0;
		if (r != 0) {
			errno = r;
			return -1;
		}
		*gid_out = gr.gr_gid;
		return 1;
	}
	errno = ERANGE;
	return -1;
}

/* uid = NAME|NUMBER; *pgid gets the user's primary group when known. */
static int parse_uid(const struct cfg *c, const struct cfg_entry *e, struct jail_spec *spec,
		     gid_t *pgid, bool *have_pgid, struct err **err)
{
	uint32_t v;
	int r = numeric_id(e->value, &v);
	if (r < 0)
		return cfg_error(c, e, err, "uid %s out of range", e->value);
	if (r > 0) {
		spec->uid = v;
		r = lookup_user(NULL, v, &spec->uid, pgid);
	} else {
		r = lookup_user(e->value, 0, &spec->uid, pgid);
		if (r == 0)
			return cfg_error(c, e, err, "unknown user '%s'", e->value);
	}
	if (r < 0)
		return cfg_error(c, e, err, "looking up '%s': %s", e->value, strerror(errno));
	*have_pgid = r > 0;
	return 0;
}

static int parse_gid(const struct cfg *c, const struct cfg_entry *e, struct jail_spec *spec,
		     struct err **err)
{
	uint32_t v;
	int r = numeric_id(e->value, &v);
	if (r < 0)
		return cfg_error(c, e, err, "gid %s out of range", e->value);
	if (r > 0) {
		spec->gid = v;
		return 0;
	}
	r = lookup_group(e->value, &spec->gid);
	if (r == 0)
		return cfg_error(c, e, err, "unknown group '%s'", e->value);
	if (r < 0)
		return cfg_error(c, e, err, "looking up '%s': %s", e->value, strerror(errno));
	return 0;
}

int jail_parse_ids(const struct cfg *c, struct jail_spec *spec, struct err **err)
{
	const struct cfg_entry *eu = cfg_get(c, "uid"), *eg = cfg_get(c, "gid");
	gid_t pgid = NOBODY;
	bool have_pgid = false;
	spec->uid = NOBODY;
	if (eu != NULL) {
		if (parse_uid(c, eu, spec, &pgid, &have_pgid, err) < 0)
			return -1;
	} else {
		uid_t ignored;
		have_pgid = lookup_user(NULL, spec->uid, &ignored, &pgid) > 0;
	}
	spec->gid = have_pgid ? pgid : NOBODY;
	return eg ? parse_gid(c, eg, spec, err) : 0;
}

static int add_cap(const struct cfg *c, const struct cfg_entry *e, struct jail_spec *spec,
		   const char *name, size_t len, struct err **err)
{
	char buf[64] = "cap_";
	size_t off = len >= 4 && strncasecmp(name, "cap_", 4) == 0 ? 0 : 4;
	if (len == 0)
		return cfg_error(c, e, err, "empty capability name");
	if (off + len >= sizeof(buf))
		return cfg_error(c, e, err, "unknown capability '%.*s'", (int)len, name);
	for (size_t i = 0; i < len; i++)
		buf[off + i] = (char)tolower((unsigned char)name[i]);
	buf[off + len] = '\0';
	cap_value_t v;
	if (cap_from_name(buf, &v) < 0 || v < 0 || v >= 64)
		return cfg_error(c, e, err, "unknown capability '%.*s'", (int)len, name);
	for (size_t i = 0; i < spec->n_caps; i++)
		if (spec->caps[i] == v)
			return 0;
	if (spec->n_caps == JAIL_MAX_CAPS)
		return cfg_error(c, e, err, "too many capabilities (max %d)", JAIL_MAX_CAPS);
	spec->caps[spec->n_caps++] = v;
	return 0;
}

/* cap = NAME[,NAME...], repeatable; blanks around names are fine. */
int jail_parse_caps(const struct cfg *c, struct jail_spec *spec, struct err **err)
{
	for (const struct cfg_entry *e = cfg_next(c, "cap", NULL); e; e = cfg_next(c, "cap", e)) {
		for (const char *p = e->value;; p++) {
			size_t n = strcspn(p, ",");
			size_t start = strspn(p, " \t"), end = n;
			if (start > n)
				start = n;
			while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t'))
				end--;
			if (add_cap(c, e, spec, p + start, end - start, err) < 0)
				return -1;
			p += n;
			if (*p == '\0')
				break;
		}
	}
	return 0;
}

/* One limit: `unlimited` or a size; @s is @len bytes, not NUL-terminated. */
static int parse_limit(const char *s, size_t len, rlim_t *out)
{
	char buf[64];
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strcasecmp(buf, "unlimited") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	uint64_t v;
	if (cfg_parse_size(buf, &v) < 0 || v >= (uint64_t)RLIM_INFINITY)
		return -1;
	*out = (rlim_t)v;
	return 0;
}

static int parse_rlimit(const struct cfg *c, const struct cfg_entry *e, struct rlimit *lim,
			struct err **err)
{
	const char *v = e->value, *colon = strchr(v, ':');
	size_t slen = colon ? (size_t)(colon - v) : strlen(v);
	if (parse_limit(v, slen, &lim->rlim_cur) < 0)
		return cfg_error(c, e, err, "bad limit '%.*s' (a size or unlimited)", (int)slen, v);
	lim->rlim_max = lim->rlim_cur;
	if (colon != NULL && parse_limit(colon + 1, strlen(colon + 1), &lim->rlim_max) < 0)
		return cfg_error(c, e, err, "bad limit '%s' (a size or unlimited)", colon + 1);
	if (lim->rlim_cur > lim->rlim_max)
		return cfg_error(c, e, err, "soft limit exceeds hard limit");
	return 0;
}

int jail_parse_rlimits(const struct cfg *c, struct jail_spec *spec, struct err **err)
{
	for (size_t i = 0; i < jail_n_rlimit_keys; i++) {
		const struct cfg_entry *e = cfg_get(c, jail_rlimit_keys[i].key);
		if (e == NULL)
			continue;
		if (spec->rlimits == NULL) {
			spec->rlimits = calloc(jail_n_rlimit_keys, sizeof(*spec->rlimits));
			if (spec->rlimits == NULL)
				return cfg_error(c, e, err, "out of memory");
		}
		struct jail_rlimit *r = &spec->rlimits[spec->n_rlimits];
		r->resource = jail_rlimit_keys[i].resource;
		if (parse_rlimit(c, e, &r->lim, err) < 0)
			return -1;
		spec->n_rlimits++;
	}
	return 0;
}
