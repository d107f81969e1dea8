/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The vassal's loop, once the jail is locked down: it starts the workers
 * (workers.c), tells the emperor when the first ones are ready
 * (CTL_V_READY) and that it is alive (CTL_V_HEARTBEAT), obeys the emperor's
 * commands and SIGTERM/SIGINT/SIGHUP, and reaps every child: as PID 1 of its
 * pid namespace it inherits orphans. A new config from the emperor
 * (CTL_E_CONFIG) is applied in place: changed subscription keys are
 * re-announced, changed worker keys reload the workers with them. With a
 * foreign tuntap router, the tun pump (tunpump.c) runs on this loop too.
 * Once the
 * workers are ready the subscriptions start (subscribe.c); whenever no
 * worker can serve, or the vassal goes away, they are withdrawn first.
 * Nothing here blocks.
 */
#include "vassal/internal.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctl.h"
#include "core/log.h"
#include "vassal/vassal.h"

/* Stop every watcher (which also drops their pending events) and leave. */
static void finish(struct vassal *v, int code)
{
	v->exit_code = code;
	vsl_sub_end(v);
	vsl_pool_end(v);
	vsl_tun_pump_end(v);
	ev_io_stop(v->loop, &v->ctl_w);
	ev_timer_stop(v->loop, &v->hb_w);
	ev_signal_stop(v->loop, &v->term_w);
	ev_signal_stop(v->loop, &v->int_w);
	ev_signal_stop(v->loop, &v->hup_w);
	ev_child_stop(v->loop, &v->child_w);
	ev_break(v->loop, EVBREAK_ALL);
}

void vsl_loop_fail(struct vassal *v, struct err **err)
{
	const char *msg = err_msg(*err);
	if (ctl_send(CTL_FD_CONTROL, CTL_V_ERROR, msg, strlen(msg)) < 0)
		log_error("%s", msg);
	err_free(err);
	vsl_pool_stop(v, false);
	finish(v, 2);
}

void vsl_loop_startup_died(struct vassal *v, int status)
{
	vsl_pool_stop(v, false);
	finish(v, WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
}

void vsl_loop_all_gone(struct vassal *v)
{
	finish(v, 0);
}

void vsl_loop_announce(struct vassal *v)
{
	log_info("app '%s' running: %u worker(s) ready", v->conf->argv[0], v->pool.target);
	if (ctl_send(CTL_FD_CONTROL, CTL_V_READY, NULL, 0) < 0)
		log_warn("sending READY: %s", strerror(errno));
	if (!ev_is_active(&v->hb_w))
		ev_timer_start(v->loop, &v->hb_w);
	vsl_sub_start(v);
}

void vsl_loop_serving(struct vassal *v, bool serving)
{
	if (v->mode != VSL_RUN)
		return;
	if (serving) {
		log_info("a worker is ready again: subscribing");
		vsl_sub_start(v);
	} else {
		/* Routers go elsewhere while nobody accepts. */
		log_warn("no worker is ready: unsubscribing until one is");
		vsl_sub_stop(v, true);
	}
}

void vsl_loop_apply(struct vassal *v, struct vsl_conf *next)
{
	struct vsl_conf *old = v->conf;
	if (vsl_config_change(old->cfg, next->cfg) & VSL_CHANGE_ROUTING) {
		_cleanup_err_ struct err *err = NULL;
		if (vsl_sub_replace(v, next->cfg, &err) < 0)
			log_error("new subscriptions refused, the old ones stay: %s", err_msg(err));
	}
	if (next->heartbeat != old->heartbeat) {
		ev_timer_stop(v->loop, &v->hb_w);
		ev_timer_set(&v->hb_w, next->heartbeat, next->heartbeat);
		if (v->pool.announced)
			ev_timer_start(v->loop, &v->hb_w);
	}
	v->conf = next;
	vsl_conf_free(old);
}

static void graceful_stop(struct vassal *v)
{
	if (v->mode == VSL_STOPPING)
		return;
	/* Routers stop sending before the workers stop serving. */
	vsl_sub_stop(v, true);
	v->mode = VSL_STOPPING;
	if (vsl_pool_alive(v) == 0)
		finish(v, 0);
	else
		vsl_pool_stop(v, true);
}

/* A new config from the emperor, on @fd: apply what changed in place. */
static void new_config(struct vassal *v, int fd)
{
	_cleanup_close_ int cfd = fd;
	_cleanup_err_ struct err *err = NULL;
	struct cfg *c = cfg_parse_fd(cfd, v->origin, vsl_sections, CFG_RAW, &err);
	if (c != NULL && vsl_config_validate_own(c, &err) < 0) {
		cfg_free(c);
		c = NULL;
	}
	struct vsl_conf *next = c != NULL ? vsl_conf_new(c, v->n_listen, &err) : NULL;
	if (next == NULL) {
		log_error("new config refused, the current one stays: %s", err_msg(err));
		return;
	}
	unsigned change = vsl_config_change(v->conf->cfg, next->cfg);
	if (change & VSL_CHANGE_RESTART) {
		log_error("new config changes keys only a new vassal process can apply; ignored");
		vsl_conf_free(next);
	} else if (change & VSL_CHANGE_WORKERS) {
		log_info("new config: reloading the workers with it");
		vsl_pool_reload(v, next);
	} else {
		if (change & VSL_CHANGE_ROUTING)
			log_info("new config: updating the subscriptions, the workers stay");
		vsl_loop_apply(v, next);
	}
}

static void on_ctl(EV_P_ ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct vassal *v = container_of(w, struct vassal, ctl_w);
	uint8_t pkt[CTL_MAX];
	int fd;
	ssize_t n = ctl_recv(CTL_FD_CONTROL, pkt, sizeof(pkt), &fd);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_error("control channel closed (%s): the emperor is gone",
			  n < 0 ? strerror(errno) : "EOF");
		vsl_pool_stop(v, false);
		finish(v, 1);
		return;
	}
	if (pkt[0] != CTL_E_CONFIG && fd >= 0)
		close(steal_fd(&fd));
	switch (pkt[0]) {
	case CTL_E_STOP:
		vsl_sub_stop(v, true);
		vsl_pool_stop(v, false);
		finish(v, 0);
		break;
	case CTL_E_GRACEFUL_STOP:
		graceful_stop(v);
		break;
	case CTL_E_RELOAD:
		vsl_pool_reload(v, NULL);
		break;
	case CTL_E_CONFIG:
		if (fd < 0)
			log_warn("config command without a config: ignored");
		else
			new_config(v, fd);
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
		vsl_pool_reload(container_of(w, struct vassal, hup_w), NULL);
	else if (w->signum == SIGTERM)
		graceful_stop(container_of(w, struct vassal, term_w));
	else
		graceful_stop(container_of(w, struct vassal, int_w));
}

static void on_child(EV_P_ ev_child *w, int revents)
{
	(void)loop;
	(void)revents;
	struct vassal *v = container_of(w, struct vassal, child_w);
	/* Anything else is an orphan, reaped. */
	vsl_pool_child(v, w->rpid, w->rstatus);
}

static void init_watchers(struct vassal *v)
{
	ev_io_init(&v->ctl_w, on_ctl, CTL_FD_CONTROL, EV_READ);
	ev_timer_init(&v->hb_w, on_heartbeat, v->conf->heartbeat, v->conf->heartbeat);
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
	_cleanup_err_ struct err *err = NULL;
	v->loop = ev_default_loop(EVFLAG_AUTO);
	if (v->loop == NULL) {
		const char *msg = "cannot initialise the event loop";
		ctl_send(CTL_FD_CONTROL, CTL_V_ERROR, msg, strlen(msg));
		return 2;
	}
	init_watchers(v);
	v->exit_code = 2;
	if (vsl_pool_setup(v, &err) < 0) {
		vsl_loop_fail(v, &err);
		return v->exit_code;
	}
	/* The network first: the app may use it as soon as it runs. */
	vsl_tun_pump_start(v);
	vsl_pool_start(v);
	/* A spawn failure may already have stopped every watcher. */
	if (ev_is_active(&v->ctl_w))
		ev_run(v->loop, 0);
	return v->exit_code;
}
