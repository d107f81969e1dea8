/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The cheaper policy: given the settings of the worker keys, the counters
 * kept between checks and what the workers looked like at this check (how
 * many run, how many are busy or idle, the accept queue, the RSS), decide
 * whether to spawn workers, stop one, or do nothing, and say why in a line
 * fit for the log. Pure: no I/O, no clock, no logging, so the vassal's loop
 * acts on the decision and the unit tests replay sequences of samples.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vassal/internal.h"

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

static void set_why(struct vsl_decision *d, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void set_why(struct vsl_decision *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
}

/* A tick counter that stops at @limit rather than wrap while it holds. */
static void tick(unsigned *ticks, unsigned limit)
{
	if (*ticks < limit)
		(*ticks)++;
}

static bool over_soft(const struct vsl_wcfg *w, const struct vsl_sample *s)
{
	/* Without a soft limit the hard one holds spawns back: spawning at
	 * or above it would only be undone at the next check. */
	uint64_t limit = w->rss_soft != 0 ? w->rss_soft : w->rss_hard;
	return limit != 0 && s->rss >= limit;
}

/*
 * The soft limit holds a spawn back: say so only on the check where that
 * starts (the caller then sets st->soft_blocked), with @what saying what
 * asked for the spawn.
 */
static void soft_block(const struct vsl_wcfg *w, const struct vsl_cheaper *st,
		       const struct vsl_sample *s, const char *what, struct vsl_decision *d)
{
	if (st->soft_blocked)
		return;
	set_why(d, "workers' RSS %.1f MiB >= cheaper-rss-limit-%s %.1f MiB: not spawning (%s)",
		mib(s->rss), w->rss_soft != 0 ? "soft" : "hard",
		mib(w->rss_soft != 0 ? w->rss_soft : w->rss_hard), what);
}

/* Rule 1: at or above the hard limit, stop one (never the last). */
static bool hard_stop(const struct vsl_wcfg *w, struct vsl_cheaper *st, const struct vsl_sample *s,
		      struct vsl_decision *d)
{
	if (w->rss_hard == 0 || s->rss < w->rss_hard || s->running <= 1)
		return false;
	d->act = VSL_CHEAPER_STOP;
	d->count = 1;
	st->over_ticks = 0;
	st->idle_ticks = 0;
	set_why(
	    d,
	    "workers' RSS %.1f MiB >= cheaper-rss-limit-hard %.1f MiB: stopping one of %u workers",
	    mib(s->rss), mib(w->rss_hard), s->running);
	return true;
}

/* Rule 2: fewer than the minimum run: spawn the missing ones at once.
 * Returns true when the soft limit holds that back. */
static bool refill(const struct vsl_wcfg *w, struct vsl_cheaper *st, const struct vsl_sample *s,
		   struct vsl_decision *d)
{
	/* Whatever the counters were building up to, the count just changed. */
	st->over_ticks = 0;
	st->idle_ticks = 0;
	if (over_soft(w, s)) {
		char what[64];
		snprintf(what, sizeof(what), "%u of at least %u running", s->running,
			 w->cheaper_min);
		soft_block(w, st, s, what, d);
		return true;
	}
	d->act = VSL_CHEAPER_SPAWN;
	d->count = w->cheaper_min - s->running;
	set_why(d, "%u worker(s) running, below cheaper %u: spawning %u", s->running,
		w->cheaper_min, d->count);
	return false;
}

/* Does this check ask for more workers? */
static bool wants_more(const struct vsl_wcfg *w, const struct vsl_sample *s)
{
	if (w->algo == VSL_CHEAPER_BACKLOG)
		return s->backlog_known && s->backlog > w->backlog;
	return s->running > 0 && s->busy == s->running;
}

/* Does this check have workers to spare? */
static bool has_spare(const struct vsl_wcfg *w, const struct vsl_sample *s)
{
	bool spare = s->idle >= 2 || s->busy == 0;
	if (w->algo == VSL_CHEAPER_BACKLOG)
		return spare && (!s->backlog_known || s->backlog == 0);
	return spare;
}

/* Rule 3: grow by step once the demand held for `overload` checks.
 * Returns true when the soft limit holds that back. */
static bool grow(const struct vsl_wcfg *w, struct vsl_cheaper *st, const struct vsl_sample *s,
		 struct vsl_decision *d)
{
	char what[96];
	st->idle_ticks = 0;
	tick(&st->over_ticks, w->overload);
	if (st->over_ticks < w->overload || s->running >= w->workers)
		return false;
	if (w->algo == VSL_CHEAPER_BACKLOG)
		snprintf(what, sizeof(what), "accept queue %" PRIu32 " > cheaper-backlog %u",
			 s->backlog, w->backlog);
	else
		snprintf(what, sizeof(what), "all %u workers busy", s->running);
	if (over_soft(w, s)) {
		soft_block(w, st, s, what, d);
		return true;
	}
	unsigned step = w->step != 0 ? w->step : 1;
	unsigned room = w->workers - s->running;
	d->act = VSL_CHEAPER_SPAWN;
	d->count = step < room ? step : room;
	st->over_ticks = 0;
	set_why(d, "%s for %u checks: spawning %u", what, w->overload, d->count);
	return false;
}

/* Rule 4: stop one once there were workers to spare for `overload` checks. */
static void shrink(const struct vsl_wcfg *w, struct vsl_cheaper *st, const struct vsl_sample *s,
		   struct vsl_decision *d)
{
	st->over_ticks = 0;
	if (!has_spare(w, s) || s->running <= w->cheaper_min) {
		st->idle_ticks = 0;
		return;
	}
	tick(&st->idle_ticks, w->overload);
	if (st->idle_ticks < w->overload)
		return;
	d->act = VSL_CHEAPER_STOP;
	d->count = 1;
	st->idle_ticks = 0;
	const char *queue = w->algo == VSL_CHEAPER_BACKLOG ? ", accept queue empty," : "";
	if (s->idle >= 2)
		set_why(d, "%u of %u workers idle%s for %u checks: stopping one", s->idle,
			s->running, queue, w->overload);
	else
		set_why(d, "none of %u workers busy%s for %u checks: stopping one", s->running,
			queue, w->overload);
}

void vsl_cheaper_check(const struct vsl_wcfg *w, struct vsl_cheaper *st, const struct vsl_sample *s,
		       struct vsl_decision *d)
{
	bool blocked = false;

	memset(d, 0, sizeof(*d));
	d->act = VSL_CHEAPER_NONE;
	if (hard_stop(w, st, s, d))
		blocked = false;
	else if (s->running < w->cheaper_min)
		blocked = refill(w, st, s, d);
	else if (wants_more(w, s))
		blocked = grow(w, st, s, d);
	else
		shrink(w, st, s, d);
	/* "Once": only a check that is held back by the soft limit keeps it set. */
	st->soft_blocked = blocked;
}
