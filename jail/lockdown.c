/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jail_lockdown: the last stage of a jail, after the root hooks ran.
 *
 *   1. set_rlimits      each rlimit-*
 *   2. set_ids          keep capabilities across the uid change, then the
 *                       supplementary groups (just the gid), gid, uid
 *   3. limit_bounding   every capability not in `cap` leaves the bounding
 *                       set, so not even a setuid or file-capability binary
 *                       can bring it back
 *   4. set_caps         permitted = effective = inheritable = the kept ones
 *   5. set_ambient      the kept ones also ambient, so they survive the exec
 *                       of an ordinary program by a non-root uid
 *   6. no_new_privs     drop keep-caps and set no_new_privs
 *
 * With no `cap`, /proc/self/status then shows CapInh, CapPrm, CapEff, CapBnd
 * and CapAmb all zero, before and after exec.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setresuid */
#endif
#include "jail/internal.h"

#include <grp.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <unistd.h>

static int set_rlimits(const struct jail_spec *spec, struct err **err)
{
	for (size_t i = 0; i < spec->n_rlimits; i++) {
		const struct jail_rlimit *r = &spec->rlimits[i];
		if (setrlimit(r->resource, &r->lim) < 0)
			return err_set(err, errno, "%s: setrlimit", jail_rlimit_name(r->resource));
	}
	return 0;
}

static int set_ids(const struct jail_spec *spec, struct err **err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_set(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setgroups(1, &spec->gid) < 0)
		return err_set(err, errno, "setgroups(%u)", (unsigned)spec->gid);
	if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
		return err_set(err, errno, "setresgid(%u)", (unsigned)spec->gid);
	if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
		return err_set(err, errno, "setresuid(%u)", (unsigned)spec->uid);
	return 0;
}

/* An error naming a capability: "WHAT cap_net_admin: strerror". */
static int cap_err(struct err **err, const char *what, cap_value_t v)
{
	int saved = errno;
	char *name = cap_to_name(v);
	err_set(err, saved, "%s %s", what, name ? name : "?");
	cap_free(name);
	return -1;
}

static bool kept(const struct jail_spec *spec, cap_value_t cap)
{
	for (size_t i = 0; i < spec->n_caps; i++)
		if (spec->caps[i] == cap)
			return true;
	return false;
}

/*
 * Leaving uid 0 cleared the effective set (keep-caps saves only the
 * permitted one), and PR_CAPBSET_DROP needs CAP_SETPCAP effective: raise
 * effective to permitted first.
 */
static int raise_effective(struct err **err)
{
	_cleanup_cap_ cap_t c = cap_get_proc();
	if (c == NULL)
		return err_set(err, errno, "cap_get_proc");
	cap_value_t max = cap_max_bits();
	for (cap_value_t v = 0; v < max; v++) {
		cap_flag_value_t on;
		if (cap_get_flag(c, v, CAP_PERMITTED, &on) < 0 ||
		    cap_set_flag(c, CAP_EFFECTIVE, 1, &v, on) < 0)
			return err_set(err, errno, "cap_set_flag");
	}
	if (cap_set_proc(c) < 0)
		return err_set(err, errno, "cap_set_proc (raising effective)");
	return 0;
}

static int limit_bounding(const struct jail_spec *spec, struct err **err)
{
	if (raise_effective(err) < 0)
		return -1;
	cap_value_t max = cap_max_bits();
	for (cap_value_t v = 0; v < max; v++) {
		if (kept(spec, v))
			continue;
		/* EINVAL: a capability this kernel does not know. */
		if (prctl(PR_CAPBSET_DROP, (unsigned long)v, 0, 0, 0) < 0 && errno != EINVAL)
			return cap_err(err, "prctl(PR_CAPBSET_DROP)", v);
	}
	return 0;
}

static int set_caps(const struct jail_spec *spec, struct err **err)
{
	_cleanup_cap_ cap_t c = cap_init();
	if (c == NULL)
		return err_set(err, errno, "cap_init");
	for (size_t i = 0; i < spec->n_caps; i++) {
		cap_value_t v = spec->caps[i];
		if (cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
		    cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0 ||
		    cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_SET) < 0)
			return err_set(err, errno, "cap_set_flag");
	}
	if (cap_set_proc(c) < 0)
		return err_set(err, errno, "cap_set_proc");
	return 0;
}

static int set_ambient(const struct jail_spec *spec, struct err **err)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return err_set(err, errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
	for (size_t i = 0; i < spec->n_caps; i++) {
		cap_value_t v = spec->caps[i];
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)v, 0, 0) < 0)
			return cap_err(err, "prctl(PR_CAP_AMBIENT_RAISE)", v);
	}
	return 0;
}

static int no_new_privs(struct err **err)
{
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return err_set(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}

int jail_lockdown(const struct jail_spec *spec, struct err **err)
{
	if (set_rlimits(spec, err) < 0 || set_ids(spec, err) < 0 || limit_bounding(spec, err) < 0 ||
	    set_caps(spec, err) < 0 || set_ambient(spec, err) < 0 || no_new_privs(err) < 0) {
		err_prefix(err, "lockdown");
		return -1;
	}
	return 0;
}
