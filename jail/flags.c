/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Namespace names <-> clone flags, for `use-clone = ipc,uts,fs,pid,net`.
 * The names are uWSGI's; the table order is the canonical output order.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CLONE_NEW* */
#endif
#include "jail/jail.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned long flag;
} ns_names[] = {
    {"ipc", CLONE_NEWIPC},	 {"uts", CLONE_NEWUTS}, {"fs", CLONE_NEWNS},
    {"pid", CLONE_NEWPID},	 {"net", CLONE_NEWNET}, {"user", CLONE_NEWUSER},
    {"cgroup", CLONE_NEWCGROUP},
};

#define NS_EXPECTED "ipc,uts,fs,pid,net,user,cgroup"

static unsigned long ns_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (strlen(ns_names[i].name) == len && memcmp(ns_names[i].name, name, len) == 0)
			return ns_names[i].flag;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int jail_parse_clone_flags(const char *spec, unsigned long *flags, struct err **err)
{
	unsigned long out = 0;
	const char *p = spec;
	while (is_blank(*p))
		p++;
	if (*p == '\0') {
		*flags = 0;
		return 0;
	}
	for (;;) {
		size_t n = strcspn(p, ",");
		size_t start = 0, end = n;
		while (start < end && is_blank(p[start]))
			start++;
		while (end > start && is_blank(p[end - 1]))
			end--;
		unsigned long f = ns_flag(p + start, end - start);
		if (f == 0)
			return err_set(err, 0,
				       "unknown namespace '%.*s' (expected " NS_EXPECTED ")",
				       (int)(end - start), p + start);
		out |= f;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	*flags = out;
	return 0;
}

void jail_format_clone_flags(unsigned long flags, char *out, size_t outlen)
{
	size_t used = 0;
	if (outlen == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++) {
		if (!(flags & ns_names[i].flag))
			continue;
		int n =
		    snprintf(out + used, outlen - used, "%s%s", used ? "," : "", ns_names[i].name);
		if (n < 0 || (size_t)n >= outlen - used) {
			out[used] = '\0'; /* too small: keep the whole names that fit */
			return;
		}
		used += (size_t)n;
	}
}
