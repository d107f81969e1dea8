/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The vassal lifecycle as a table: enum emp_state x enum emp_event ->
 * handler, every cell filled. A handler never fails the emperor: whatever a
 * vassal does, the outcome is a state of that vassal (broken, waiting with
 * back-off, stopped), logged with its reason.
 *
 *   BROKEN   --file ok-------------------------------> STARTING
 *   WAITING  --timer-------------------------------> STARTING
 *   STARTING --ready-------------------------------> RUNNING
 *   STARTING/RUNNING --exit------------------------> WAITING (back-off)
 *   STARTING --change/reload/stop/gone-------------> STOPPING
 *   RUNNING  --stop/gone, or a change of its sockets or jail--> STOPPING
 *   RUNNING  --touch/reload, or a change of routing or worker keys--> RUNNING
 *            (applied in place by the vassal: its workers reload gracefully)
 *   STOPPING --exit--> STARTING | STOPPED | removed (as after_stop says)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/ctl.h"
#include "emperor/internal.h"

typedef void (*handler_fn)(struct emp_vassal *v);

static const char *const state_names[ST__COUNT] = {
	[ST_BROKEN] = "broken",     [ST_WAITING] = "waiting",   [ST_STARTING] = "starting",
	[ST_RUNNING] = "running",   [ST_STOPPING] = "stopping", [ST_STOPPED] = "stopped",
};

static const char *const event_names[VE__COUNT] = {
	[VE_FILE_CHANGED] = "file-changed", [VE_FILE_GONE] = "file-gone",
	[VE_TIMER] = "timer",               [VE_READY] = "ready",
	[VE_HEARTBEAT] = "heartbeat",       [VE_EXIT] = "exit",
	[VE_CMD_RELOAD] = "reload",         [VE_CMD_STOP] = "stop",
	[VE_CMD_START] = "start",           [VE_SHUTDOWN] = "shutdown",
};

const char *emp_state_name(enum emp_state s)
{
	return s < ST__COUNT ? state_names[s] : "?";
}

const char *emp_event_name(enum emp_event ev)
{
	return ev < VE__COUNT ? event_names[ev] : "?";
}

uint64_t emp_backoff_ms(const struct emp_config *c, unsigned failures)
{
	if (failures == 0)
		return 0;
	uint64_t d = c->throttle_ms;
	for (unsigned i = 1; i < failures && d < c->max_throttle_ms; i++)
		d *= 2;
	return d < c->max_throttle_ms ? d : c->max_throttle_ms;
}

static void arm_timer(struct emp_vassal *v, uint64_t ms, bool repeat)
{
	double s = (double)ms / 1000.0;
	ev_timer_stop(v->emp->loop, &v->timer);
	ev_timer_set(&v->timer, s, repeat ? s : 0.);
	ev_timer_start(v->emp->loop, &v->timer);
}

static void set_state(struct emp_vassal *v, enum emp_state s)
{
	if (v->state != s)
		log_debug("vassal %s: %s -> %s", v->name, emp_state_name(v->state),
			  emp_state_name(s));
	v->state = s;
}

static void remove_vassal(struct emp_vassal *v)
{
	struct emp *e = v->emp;
	log_info("vassal %s: removed", v->name);
	emp_vassal_remove(v);
	if (e->shutting_down && e->n_vassals == 0)
		ev_break(e->loop, EVBREAK_ALL);
}

static void wait_backoff(struct emp_vassal *v)
{
	uint64_t ms = emp_backoff_ms(&v->emp->cfg, v->failures);
	if (ms > 0)
		log_info("vassal %s: respawn in %.1f s (back-off after %u failed starts)", v->name,
			 (double)ms / 1000.0, v->failures);
	set_state(v, ST_WAITING);
	arm_timer(v, ms, false);
}

static void spawn_now(struct emp_vassal *v)
{
	struct err *err = NULL;
	ev_timer_stop(v->emp->loop, &v->timer);
	if (emp_spawn(v, &err) < 0) {
		snprintf(v->error, sizeof(v->error), "%s", err_msg(err));
		log_error("vassal %s: cannot spawn: %s", v->name, err_msg(err));
		err_free(&err);
		v->failures++;
		wait_backoff(v);
		return;
	}
	set_state(v, ST_STARTING);
	arm_timer(v, v->emp->cfg.heartbeat_timeout_ms, false);
}

/* Read the file; spawn if it is good, else stay (or become) broken.
 * Without @force an unchanged file does nothing. */
static void load_and_spawn(struct emp_vassal *v, bool force)
{
	struct err *err = NULL;
	bool changed;
	if (force && v->cfg == NULL)
		v->fingerprint = 0; /* re-read and re-judge a broken file */
	if (emp_vassal_load(v, &changed, &err) < 0) {
		snprintf(v->error, sizeof(v->error), "%s", err_msg(err));
		log_error("vassal %s: refused: %s", v->name, err_msg(err));
		err_free(&err);
		ev_timer_stop(v->emp->loop, &v->timer);
		emp_vassal_unload(v);
		set_state(v, ST_BROKEN);
		return;
	}
	if (v->cfg == NULL || (!changed && !force))
		return;
	spawn_now(v);
}

static void begin_stop(struct emp_vassal *v, enum emp_after_stop after)
{
	v->after_stop = after;
	/* Going away for good: no request may be routed to it any more. */
	if (after != AFTER_RESPAWN)
		rtr_forget_vassal(v->emp->rtr, v->name);
	set_state(v, ST_STOPPING);
	emp_send(v, CTL_E_GRACEFUL_STOP);
	kill(v->pid, SIGTERM);
	arm_timer(v, v->emp->cfg.stop_timeout_ms, false);
}

/* ---- handlers ---- */

static void h_noop(struct emp_vassal *v)
{
	(void)v;
}

static void h_bug(struct emp_vassal *v)
{
	log_error("vassal %s: unexpected event in state %s (ignored)", v->name,
		  emp_state_name(v->state));
}

static void h_remove(struct emp_vassal *v)
{
	remove_vassal(v);
}

static void h_load_spawn(struct emp_vassal *v)
{
	load_and_spawn(v, false);
}

static void h_force_spawn(struct emp_vassal *v)
{
	v->failures = 0;
	load_and_spawn(v, true);
}

/* The file changed under a live vassal: restart it only if the new file is
 * good; a broken edit never takes a running tenant down. */
/* Re-read a live vassal's file: true when it changed and is good. A broken
 * edit is logged and the running instance stays. */
static bool live_reload_file(struct emp_vassal *v)
{
	struct err *err = NULL;
	bool changed;
	if (emp_vassal_load(v, &changed, &err) < 0) {
		snprintf(v->error, sizeof(v->error), "%s", err_msg(err));
		log_error("vassal %s: new file refused, the running instance stays: %s",
			  v->name, err_msg(err));
		err_free(&err);
		return false;
	}
	return changed;
}

static void h_live_changed(struct emp_vassal *v)
{
	if (!live_reload_file(v))
		return;
	log_info("vassal %s: file changed, reloading", v->name);
	begin_stop(v, AFTER_RESPAWN);
}

/* A running vassal applies what it can in place: a touch reloads its
 * workers, routing and worker keys travel as a new config, and only keys
 * that shape the process itself (sockets, jail, namespaces) restart it. */
static void h_running_changed(struct emp_vassal *v)
{
	struct err *err = NULL;
	if (!live_reload_file(v))
		return;
	if (v->change & VSL_CHANGE_RESTART) {
		log_info("vassal %s: file changed (keys that need a new process): restarting",
			 v->name);
		begin_stop(v, AFTER_RESPAWN);
		return;
	}
	if (v->touched) {
		log_info("vassal %s: file touched: reloading its workers", v->name);
		emp_send(v, CTL_E_RELOAD);
		return;
	}
	if (v->change == 0) {
		log_info("vassal %s: file changed, nothing the vassal uses", v->name);
		return;
	}
	log_info("vassal %s: file changed (%s): applying it in place", v->name,
		 (v->change & VSL_CHANGE_WORKERS) ? "worker keys: a graceful reload"
						  : "subscription keys");
	if (emp_send_config(v, &err) < 0) {
		log_error("vassal %s: %s: restarting instead", v->name, err_msg(err));
		err_free(&err);
		begin_stop(v, AFTER_RESPAWN);
	}
}

static void h_reload_workers(struct emp_vassal *v)
{
	log_info("vassal %s: reloading its workers", v->name);
	emp_send(v, CTL_E_RELOAD);
}

static void h_live_gone(struct emp_vassal *v)
{
	log_info("vassal %s: file gone, stopping", v->name);
	begin_stop(v, AFTER_REMOVE);
}

static void h_live_reload(struct emp_vassal *v)
{
	log_info("vassal %s: reloading", v->name);
	begin_stop(v, AFTER_RESPAWN);
}

static void h_live_stop(struct emp_vassal *v)
{
	log_info("vassal %s: stopping on request", v->name);
	begin_stop(v, AFTER_IDLE);
}

static void h_live_shutdown(struct emp_vassal *v)
{
	begin_stop(v, AFTER_REMOVE);
}

static void h_ready(struct emp_vassal *v)
{
	v->ready_time = ev_time();
	log_info("vassal %s: ready (pid %d) in %.1f ms", v->name, (int)v->pid,
		 (v->ready_time - v->spawn_time) * 1000.0);
	set_state(v, ST_RUNNING);
	arm_timer(v, v->emp->cfg.heartbeat_timeout_ms, true);
}

/* Running: a sign of life re-arms the (repeating) silence timer. While
 * starting only READY counts: the timer there is the ready deadline. */
static void h_heartbeat(struct emp_vassal *v)
{
	ev_timer_again(v->emp->loop, &v->timer);
}

static void h_silent(struct emp_vassal *v)
{
	log_error("vassal %s: no %s for %.1f s: killing it", v->name,
		  v->state == ST_STARTING ? "ready" : "heartbeat",
		  (double)v->emp->cfg.heartbeat_timeout_ms / 1000.0);
	ev_timer_stop(v->emp->loop, &v->timer);
	kill(v->pid, SIGKILL);
}

static void h_crashed(struct emp_vassal *v)
{
	bool loyal = v->ready_time > 0 &&
		     (ev_time() - v->ready_time) * 1000.0 >= EMP_LOYAL_AFTER_MS;
	char st[64];
	emp_format_status(v->last_status, v->has_status, st, sizeof(st));
	log_warn("vassal %s: %s", v->name, st);
	v->failures = loyal ? 0 : v->failures + 1;
	v->restarts++;
	wait_backoff(v);
}

static void h_stop_timeout(struct emp_vassal *v)
{
	log_warn("vassal %s: still alive %.1f s after SIGTERM: SIGKILL", v->name,
		 (double)v->emp->cfg.stop_timeout_ms / 1000.0);
	kill(v->pid, SIGKILL);
}

static void h_stopped(struct emp_vassal *v)
{
	if (v->after_stop != AFTER_RESPAWN)
		rtr_forget_vassal(v->emp->rtr, v->name);
	switch (v->after_stop) {
	case AFTER_REMOVE:
		remove_vassal(v);
		return;
	case AFTER_IDLE:
		ev_timer_stop(v->emp->loop, &v->timer); /* the stop deadline */
		log_info("vassal %s: stopped", v->name);
		set_state(v, ST_STOPPED);
		return;
	case AFTER_RESPAWN:
		v->restarts++;
		/* A reload is not a failure, but keeps the back-off of one. */
		if (v->failures > 0)
			wait_backoff(v);
		else
			spawn_now(v);
		return;
	}
}

static void set_after_respawn(struct emp_vassal *v)
{
	if (v->after_stop != AFTER_REMOVE || !v->emp->shutting_down)
		v->after_stop = AFTER_RESPAWN;
}

static void set_after_remove(struct emp_vassal *v)
{
	v->after_stop = AFTER_REMOVE;
}

static void set_after_idle(struct emp_vassal *v)
{
	if (v->after_stop == AFTER_RESPAWN)
		v->after_stop = AFTER_IDLE;
}

/* A changed file during back-off: a good one ends the back-off (the
 * operator fixed something), a bad one makes the vassal broken. */
static void h_wait_changed(struct emp_vassal *v)
{
	unsigned failures = v->failures;
	v->failures = 0;
	load_and_spawn(v, false);
	if (v->state == ST_WAITING) /* unchanged: the back-off goes on */
		v->failures = failures;
}

static void h_now(struct emp_vassal *v)
{
	spawn_now(v);
}

static void h_stop_idle(struct emp_vassal *v)
{
	ev_timer_stop(v->emp->loop, &v->timer);
	set_state(v, ST_STOPPED);
}

#define ROW(changed, gone, timer, ready, hb, exit, reload, stop, start, shutdown)              \
	{                                                                                      \
		[VE_FILE_CHANGED] = changed, [VE_FILE_GONE] = gone, [VE_TIMER] = timer,        \
		[VE_READY] = ready, [VE_HEARTBEAT] = hb, [VE_EXIT] = exit,                     \
		[VE_CMD_RELOAD] = reload, [VE_CMD_STOP] = stop, [VE_CMD_START] = start,        \
		[VE_SHUTDOWN] = shutdown,                                                      \
	}

/* clang-format off */
static const handler_fn table[ST__COUNT][VE__COUNT] = {
	/*               changed          gone         timer           ready    heartbeat    exit       reload            stop         start         shutdown */
	[ST_BROKEN]   = ROW(h_load_spawn,   h_remove,    h_bug,          h_bug,   h_bug,       h_bug,     h_force_spawn,    h_stop_idle, h_force_spawn, h_remove),
	[ST_WAITING]  = ROW(h_wait_changed, h_remove,    h_now,          h_bug,   h_bug,       h_bug,     h_now,            h_stop_idle, h_now,        h_remove),
	[ST_STARTING] = ROW(h_live_changed, h_live_gone, h_silent,       h_ready, h_noop,      h_crashed, h_live_reload,    h_live_stop, h_noop,       h_live_shutdown),
	[ST_RUNNING]  = ROW(h_running_changed, h_live_gone, h_silent,    h_noop,  h_heartbeat, h_crashed, h_reload_workers, h_live_stop, h_noop,       h_live_shutdown),
	[ST_STOPPING] = ROW(set_after_respawn, set_after_remove, h_stop_timeout, h_noop, h_noop, h_stopped, set_after_respawn, set_after_idle, set_after_respawn, set_after_remove),
	[ST_STOPPED]  = ROW(h_load_spawn,   h_remove,    h_bug,          h_bug,   h_bug,       h_bug,     h_force_spawn,    h_noop,      h_force_spawn, h_remove),
};
/* clang-format on */

void emp_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	emp_event(container_of(w, struct emp_vassal, timer), VE_TIMER);
}

void emp_event(struct emp_vassal *v, enum emp_event ev)
{
	if (v->state >= ST__COUNT || ev >= VE__COUNT || table[v->state][ev] == NULL) {
		log_error("vassal %s: no handler for %s in %s", v->name, emp_event_name(ev),
			  emp_state_name(v->state));
		return;
	}
	table[v->state][ev](v);
}

void emp_shutdown(struct emp *e)
{
	if (e->shutting_down)
		return;
	e->shutting_down = true;
	log_info("emperor: stopping %zu vassals", e->n_vassals);
	for (size_t i = 0; i < e->cfg.max_vassals; i++)
		if (e->vassals[i])
			emp_event(e->vassals[i], VE_SHUTDOWN);
	if (e->n_vassals == 0)
		ev_break(e->loop, EVBREAK_ALL);
}
