/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The worker keys of a vassal file, named as uWSGI names them: how many
 * workers run (`workers`, alias `processes`), how the count adapts
 * (`cheaper` and its `cheaper-*` keys), the memory limits and how a worker is
 * reloaded and judged ready. vsl_wcfg_read checks each value on its own in
 * file order (so the first bad line is the one reported), then the keys
 * against each other, and fills in the defaults. The emperor calls it before
 * anything is spawned; the vassal program reads its settings with it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/cfg.h"
#include "core/err.h"
#include "vassal/internal.h"
#include "vassal/vassal.h"

#define MS_PER_S 1000u
#define MS_PER_H (3600u * MS_PER_S)

#define OVERLOAD_MAX 3600 /* checks */
#define BACKLOG_MAX 65535 /* queued connections */

#define MERCY_MAX_MS MS_PER_H
#define READY_DELAY_MAX_MS (60u * MS_PER_S)
#define READY_TIMEOUT_MIN_MS MS_PER_S
#define READY_TIMEOUT_MAX_MS MS_PER_H

#define DEFAULT_OVERLOAD 3
#define DEFAULT_BACKLOG 1
#define DEFAULT_MERCY_MS (30u * MS_PER_S)
#define DEFAULT_READY_DELAY_MS 100u
#define DEFAULT_READY_TIMEOUT_MS (60u * MS_PER_S)

/* ---- one value at a time ---- */

static int read_unsigned(const struct cfg *c, const struct cfg_entry *e, unsigned min, unsigned max,
			 unsigned *out, struct err **err)
{
	uint64_t v;
	if (cfg_uint(c, e, min, max, &v, err) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* A size limit: 0 would mean "no limit", which is what leaving the key out
 * says, so a written 0 is a mistake. */
static int read_limit(const struct cfg *c, const struct cfg_entry *e, uint64_t *out,
		      struct err **err)
{
	if (cfg_size(c, e, out, err) < 0)
		return -1;
	if (*out == 0)
		return cfg_error(c, e, err, "'%s': expected a size above 0", e->value);
	return 0;
}

/* A duration in [min_ms, max_ms]; @bounds says the range in words. */
static int read_duration(const struct cfg *c, const struct cfg_entry *e, uint64_t unit_ms,
			 uint64_t min_ms, uint64_t max_ms, const char *bounds, uint64_t *out,
			 struct err **err)
{
	if (cfg_duration(c, e, unit_ms, out, err) < 0)
		return -1;
	if (*out < min_ms || *out > max_ms)
		return cfg_error(c, e, err, "'%s' is out of range: expected %s", e->value, bounds);
	return 0;
}

static int read_workers(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			struct err **err)
{
	return read_unsigned(c, e, 1, VSL_MAX_WORKERS, &w->workers, err);
}

/* Against `workers` once every key is read (check_cross). */
static int read_cheaper(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			struct err **err)
{
	w->cheaper = true;
	return read_unsigned(c, e, 1, VSL_MAX_WORKERS - 1, &w->cheaper_min, err);
}

static int read_initial(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			struct err **err)
{
	return read_unsigned(c, e, 1, VSL_MAX_WORKERS, &w->initial, err);
}

static int read_step(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
		     struct err **err)
{
	return read_unsigned(c, e, 1, VSL_MAX_WORKERS, &w->step, err);
}

static int read_algo(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
		     struct err **err)
{
	if (strcmp(e->value, "spare") == 0)
		w->algo = VSL_CHEAPER_SPARE;
	else if (strcmp(e->value, "backlog") == 0)
		w->algo = VSL_CHEAPER_BACKLOG;
	else
		return cfg_error(c, e, err, "'%s': expected spare or backlog", e->value);
	return 0;
}

static int read_overload(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			 struct err **err)
{
	return read_unsigned(c, e, 1, OVERLOAD_MAX, &w->overload, err);
}

static int read_backlog(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			struct err **err)
{
	return read_unsigned(c, e, 0, BACKLOG_MAX, &w->backlog, err);
}

static int read_rss_soft(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			 struct err **err)
{
	return read_limit(c, e, &w->rss_soft, err);
}

static int read_rss_hard(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			 struct err **err)
{
	return read_limit(c, e, &w->rss_hard, err);
}

static int read_reload_on_rss(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			      struct err **err)
{
	return read_limit(c, e, &w->reload_on_rss, err);
}

static int read_mercy(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
		      struct err **err)
{
	return read_duration(c, e, MS_PER_S, 1, MERCY_MAX_MS, "above 0 and at most 1h",
			     &w->mercy_ms, err);
}

static int read_ready(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
		      struct err **err)
{
	if (strcmp(e->value, "exec") == 0)
		w->ready = VSL_READY_EXEC;
	else if (strcmp(e->value, "notify") == 0)
		w->ready = VSL_READY_NOTIFY;
	else
		return cfg_error(c, e, err, "'%s': expected exec or notify", e->value);
	return 0;
}

static int read_ready_delay(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			    struct err **err)
{
	return read_duration(c, e, 1, 0, READY_DELAY_MAX_MS, "at most 60s", &w->ready_delay_ms,
			     err);
}

static int read_ready_timeout(const struct cfg *c, const struct cfg_entry *e, struct vsl_wcfg *w,
			      struct err **err)
{
	return read_duration(c, e, MS_PER_S, READY_TIMEOUT_MIN_MS, READY_TIMEOUT_MAX_MS, "1s to 1h",
			     &w->ready_timeout_ms, err);
}

/* ---- the key table ---- */

/* Where each key's entry is remembered; aliases share a slot. */
enum slot {
	S_WORKERS,
	S_CHEAPER,
	S_INITIAL,
	S_STEP,
	S_ALGO,
	S_OVERLOAD,
	S_BACKLOG,
	S_RSS_SOFT,
	S_RSS_HARD,
	S_RELOAD_ON_RSS,
	S_MERCY,
	S_READY,
	S_READY_DELAY,
	S_READY_TIMEOUT,
	S_COUNT
};

typedef int (*read_fn)(const struct cfg *, const struct cfg_entry *, struct vsl_wcfg *,
		       struct err **);

static const struct {
	const char *key;
	enum slot slot;
	bool cheaper_only; /* meaningless without `cheaper` */
	read_fn read;
} wkeys[] = {
    {"workers", S_WORKERS, false, read_workers},
    {"processes", S_WORKERS, false, read_workers},
    {"cheaper", S_CHEAPER, false, read_cheaper},
    {"cheaper-initial", S_INITIAL, true, read_initial},
    {"cheaper-step", S_STEP, true, read_step},
    {"cheaper-algo", S_ALGO, true, read_algo},
    {"cheaper-overload", S_OVERLOAD, true, read_overload},
    {"cheaper-backlog", S_BACKLOG, true, read_backlog},
    {"cheaper-rss-limit-soft", S_RSS_SOFT, true, read_rss_soft},
    {"cheaper-rss-limit-hard", S_RSS_HARD, true, read_rss_hard},
    {"reload-on-rss", S_RELOAD_ON_RSS, false, read_reload_on_rss},
    {"reload-mercy", S_MERCY, false, read_mercy},
    {"worker-ready", S_READY, false, read_ready},
    {"worker-ready-delay", S_READY_DELAY, false, read_ready_delay},
    {"worker-ready-timeout", S_READY_TIMEOUT, false, read_ready_timeout},
};

/* Same keys, same order as wkeys[]. */
const char *const vsl_wcfg_keys[] = {
    "workers",
    "processes",
    "cheaper",
    "cheaper-initial",
    "cheaper-step",
    "cheaper-algo",
    "cheaper-overload",
    "cheaper-backlog",
    "cheaper-rss-limit-soft",
    "cheaper-rss-limit-hard",
    "reload-on-rss",
    "reload-mercy",
    "worker-ready",
    "worker-ready-delay",
    "worker-ready-timeout",
    NULL,
};

_Static_assert(ARRAY_SIZE(vsl_wcfg_keys) == ARRAY_SIZE(wkeys) + 1,
	       "vsl_wcfg_keys and wkeys list the same keys");

static int find_wkey(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(wkeys); i++)
		if (strcmp(wkeys[i].key, key) == 0)
			return (int)i;
	return -1;
}

/*
 * Read every worker entry in file order into *w, remembering each slot's
 * entry in seen[]: a key given twice (or with its alias) and a cheaper-* key
 * without `cheaper` fail at their own line.
 */
static int read_entries(const struct cfg *c, struct vsl_wcfg *w,
			const struct cfg_entry *seen[S_COUNT], struct err **err)
{
	bool has_cheaper = cfg_get(c, "cheaper") != NULL;
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *e = &c->entries[i];
		int k = find_wkey(e->key);
		if (k < 0)
			continue;
		const struct cfg_entry *prev = seen[wkeys[k].slot];
		if (prev != NULL && strcmp(prev->key, e->key) == 0)
			return cfg_error(c, e, err, "given more than once (first at line %u)",
					 prev->line);
		if (prev != NULL)
			return cfg_error(c, e, err, "alias of %s, already given at line %u",
					 prev->key, prev->line);
		seen[wkeys[k].slot] = e;
		if (wkeys[k].cheaper_only && !has_cheaper)
			return cfg_error(c, e, err, "only with cheaper");
		if (wkeys[k].read(c, e, w, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- the keys against each other ---- */

static bool has_tcp_socket(const struct addr *a, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].fd < 0 && (a[i].ss.ss_family == AF_INET || a[i].ss.ss_family == AF_INET6))
			return true;
	return false;
}

/* The accept queue is read with TCP_INFO, which only TCP sockets answer. */
static int check_backlog_socket(const struct cfg *c, const struct cfg_entry *algo, struct err **err)
{
	struct addr addrs[VSL_MAX_SOCKETS];
	int n = vsl_config_sockets(c, addrs, ARRAY_SIZE(addrs), err);
	if (n < 0)
		return -1;
	if (!has_tcp_socket(addrs, n))
		return cfg_error(c, algo, err,
				 "backlog needs a TCP socket (host:port or [v6]:port) to measure "
				 "its accept queue");
	return 0;
}

/* Soft must be below hard; the error goes to whichever line comes last. */
static int check_rss_limits(const struct cfg *c, const struct vsl_wcfg *w,
			    const struct cfg_entry *soft, const struct cfg_entry *hard,
			    struct err **err)
{
	if (soft == NULL || hard == NULL || w->rss_soft < w->rss_hard)
		return 0;
	if (soft->line > hard->line)
		return cfg_error(c, soft, err, "%s is not below %s = %s (line %u)", soft->value,
				 hard->key, hard->value, hard->line);
	return cfg_error(c, hard, err, "%s is not above %s = %s (line %u)", hard->value, soft->key,
			 soft->value, soft->line);
}

static int check_cross(const struct cfg *c, const struct vsl_wcfg *w,
		       const struct cfg_entry *const seen[S_COUNT], struct err **err)
{
	const struct cfg_entry *e = seen[S_CHEAPER];
	if (e != NULL && w->workers <= w->cheaper_min)
		return cfg_error(c, e, err, "cheaper %u needs workers > %u (workers is %u)",
				 w->cheaper_min, w->cheaper_min, w->workers);
	e = seen[S_INITIAL];
	if (e != NULL && (w->initial < w->cheaper_min || w->initial > w->workers))
		return cfg_error(c, e, err, "%u is out of range [cheaper %u, workers %u]",
				 w->initial, w->cheaper_min, w->workers);
	e = seen[S_STEP];
	if (e != NULL && w->step > w->workers)
		return cfg_error(c, e, err, "%u is more than workers (%u)", w->step, w->workers);
	if (check_rss_limits(c, w, seen[S_RSS_SOFT], seen[S_RSS_HARD], err) < 0)
		return -1;
	e = seen[S_ALGO];
	if (e != NULL && w->algo == VSL_CHEAPER_BACKLOG && check_backlog_socket(c, e, err) < 0)
		return -1;
	return 0;
}

int vsl_wcfg_read(const struct cfg *c, struct vsl_wcfg *out, struct err **err)
{
	struct vsl_wcfg w = {
	    .workers = 1,
	    .step = 1,
	    .algo = VSL_CHEAPER_SPARE,
	    .overload = DEFAULT_OVERLOAD,
	    .backlog = DEFAULT_BACKLOG,
	    .mercy_ms = DEFAULT_MERCY_MS,
	    .ready = VSL_READY_EXEC,
	    .ready_delay_ms = DEFAULT_READY_DELAY_MS,
	    .ready_timeout_ms = DEFAULT_READY_TIMEOUT_MS,
	};
	const struct cfg_entry *seen[S_COUNT] = {0};

	if (read_entries(c, &w, seen, err) < 0 || check_cross(c, &w, seen, err) < 0)
		return -1;
	if (!w.cheaper)
		w.cheaper_min = w.workers; /* a fixed count: the minimum is all of them */
	if (seen[S_INITIAL] == NULL)
		w.initial = w.cheaper_min;
	*out = w;
	return 0;
}
