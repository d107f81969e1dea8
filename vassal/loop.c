/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vassal's loop, once the jail is locked down: it starts the app, tells
 * the emperor when the app was exec'd (CTL_V_READY) and that it is alive
 * (CTL_V_HEARTBEAT), obeys the emperor's commands and SIGTERM/SIGINT/SIGHUP,
 * and reaps every child: as PID 1 of its pid namespace it inherits orphans.
 * Once the app is ready the subscriptions start (subscribe.c); whenever the
 * vassal goes away they are withdrawn first. When the app exits on its own
 * the vassal exits with the same status and lets the emperor decide about
 * respawning. Nothing here blocks.
 */
#include "vassal/internal.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "core/ctl.h"
#include "core/log.h"

/* Stop every watcher (which also drops their pending events) and leave. */
static void finish(struct vassal *v, int code)
{
	v->exit_code = code;
	vsl_sub_end(v);
	ev_io_stop(v->loop, &v->ctl_w);
	ev_io_stop(v->loop, &v->exec_w);
	ev_timer_stop(v->loop, &v->hb_w);
	ev_signal_stop(v->loop, &v->term_w);
	ev_signal_stop(v->loop, &v->int_w);
	ev_signal_stop(v->loop, &v->hup_w);
	ev_child_stop(v->loop, &v->child_w);
	ev_break(v->loop, EVBREAK_ALL);
}

static void kill_app(struct vassal *v, int sig)
{
	if (v->app_pid <= 0)
		return;
	/* SIGKILL takes the app's whole session (it called setsid); SIGTERM
	 * goes to the app alone, which may be a master managing workers. */
	if (sig == SIGKILL)
		kill(-v->app_pid, sig);
	kill(v->app_pid, sig);
}

/* A failure the vassal cannot go on from: tell the emperor, exit 2. */
static void fail(struct vassal *v, struct err **err)
{
	const char *msg = err_msg(*err);
	if (ctl_send(CTL_FD_CONTROL, CTL_V_ERROR, msg, strlen(msg)) < 0)
		log_error("%s", msg);
	err_free(err);
	kill_app(v, SIGKILL);
	finish(v, 2);
}

static void app_ready(struct vassal *v)
{
	ev_io_stop(v->loop, &v->exec_w);
	log_info("app '%s' running as pid %d", v->argv[0], (int)v->app_pid);
	if (ctl_send(CTL_FD_CONTROL, CTL_V_READY, NULL, 0) < 0)
		log_warn("sending READY: %s", strerror(errno));
	if (!ev_is_active(&v->hb_w))
		ev_timer_start(v->loop, &v->hb_w);
	vsl_sub_start(v);
}

static void spawn(struct vassal *v)
{
	_cleanup_err_ struct err *err = NULL;
	if (vsl_app_spawn(v, &err) < 0) {
		fail(v, &err);
		return;
	}
	ev_io_set(&v->exec_w, v->exec_fd, EV_READ);
	ev_io_start(v->loop, &v->exec_w);
}

/* Read the exec report; returns -1 when the vassal failed because of it. */
static int check_exec(struct vassal *v)
{
	_cleanup_err_ struct err *err = NULL;
	int r = vsl_app_exec_result(v, &err);
	if (r < 0) {
		fail(v, &err);
		return -1;
	}
	if (r > 0)
		app_ready(v);
	return 0;
}

static void on_exec(EV_P_ ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	check_exec(container_of(w, struct vassal, exec_w));
}

static void graceful_stop(struct vassal *v)
{
	/* Routers stop sending before the app stops serving. */
	vsl_sub_stop(v, true);
	v->mode = VSL_STOPPING;
	if (v->app_pid == 0)
		finish(v, 0);
	else
		kill_app(v, SIGTERM);
}

static void reload(struct vassal *v)
{
	if (v->mode != VSL_RUN)
		return; /* already reloading, or stopping */
	log_info("reloading app '%s'", v->argv[0]);
	/* Otherwise the refreshes go on and keep the keys while the app
	 * restarts; app_ready starts them over. */
	if (v->subs.unsub_on_reload)
		vsl_sub_stop(v, true);
	v->mode = VSL_RELOADING;
	kill_app(v, SIGTERM);
}

static void on_ctl(EV_P_ ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct vassal *v = container_of(w, struct vassal, ctl_w);
	uint8_t pkt[CTL_MAX];
	ssize_t n = recv(CTL_FD_CONTROL, pkt, sizeof(pkt), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_error("control channel closed (%s): the emperor is gone",
			  n < 0 ? strerror(errno) : "EOF");
		kill_app(v, SIGKILL);
		finish(v, 1);
		return;
	}
	switch (pkt[0]) {
	case CTL_E_STOP:
		vsl_sub_stop(v, true);
		kill_app(v, SIGKILL);
		finish(v, 0);
		break;
	case CTL_E_GRACEFUL_STOP:
		graceful_stop(v);
		break;
	case CTL_E_RELOAD:
		reload(v);
		break;
	default:
		log_warn("unknown control command %u ignored", pkt[0]);
		break;
	}
}

static void on_heartbeat(EV_P_ ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	/* A lost heartbeat is repaired by the next one; EOF is seen by on_ctl. */
	ctl_send(CTL_FD_CONTROL, CTL_V_HEARTBEAT, NULL, 0);
}

static void on_signal(EV_P_ ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP)
		reload(container_of(w, struct vassal, hup_w));
	else if (w->signum == SIGTERM)
		graceful_stop(container_of(w, struct vassal, term_w));
	else
		graceful_stop(container_of(w, struct vassal, int_w));
}

/* The app's own exit, outside a stop or reload: mirror its status. */
static void app_died(struct vassal *v, int status)
{
	if (WIFSIGNALED(status)) {
		log_warn("app killed by signal %d", WTERMSIG(status));
		finish(v, 128 + WTERMSIG(status));
	} else {
		log_warn("app exited with status %d", WEXITSTATUS(status));
		finish(v, WEXITSTATUS(status));
	}
}

static void on_child(EV_P_ ev_child *w, int revents)
{
	(void)loop;
	(void)revents;
	struct vassal *v = container_of(w, struct vassal, child_w);
	if (v->app_pid == 0 || w->rpid != v->app_pid)
		return; /* an orphan, reaped */
	v->app_pid = 0;
	/* The report may still be unread: it decides between exec failure and
	 * an app that ran and exited. */
	if (v->exec_fd >= 0 && check_exec(v) < 0)
		return;
	if (v->exec_fd >= 0) { /* read interrupted: the child is gone anyway */
		ev_io_stop(v->loop, &v->exec_w);
		close(steal_fd(&v->exec_fd));
	}
	switch (v->mode) {
	case VSL_STOPPING:
		finish(v, 0);
		break;
	case VSL_RELOADING:
		v->mode = VSL_RUN;
		spawn(v);
		break;
	case VSL_RUN:
		app_died(v, w->rstatus);
		break;
	}
}

static void init_watchers(struct vassal *v)
{
	ev_io_init(&v->ctl_w, on_ctl, CTL_FD_CONTROL, EV_READ);
	ev_io_init(&v->exec_w, on_exec, -1, EV_READ);
	ev_timer_init(&v->hb_w, on_heartbeat, v->heartbeat, v->heartbeat);
	ev_signal_init(&v->term_w, on_signal, SIGTERM);
	ev_signal_init(&v->int_w, on_signal, SIGINT);
	ev_signal_init(&v->hup_w, on_signal, SIGHUP);
	ev_child_init(&v->child_w, on_child, 0, 0);
	ev_io_start(v->loop, &v->ctl_w);
	ev_signal_start(v->loop, &v->term_w);
	ev_signal_start(v->loop, &v->int_w);
	ev_signal_start(v->loop, &v->hup_w);
	ev_child_start(v->loop, &v->child_w);
}

int vsl_loop_run(struct vassal *v)
{
	v->loop = ev_default_loop(EVFLAG_AUTO);
	if (v->loop == NULL) {
		const char *msg = "cannot initialise the event loop";
		ctl_send(CTL_FD_CONTROL, CTL_V_ERROR, msg, strlen(msg));
		return 2;
	}
	init_watchers(v);
	v->exit_code = 2;
	spawn(v);
	/* A spawn failure has already stopped every watcher. */
	if (ev_is_active(&v->ctl_w))
		ev_run(v->loop, 0);
	return v->exit_code;
}
