/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The emperor's entry point. Two regimes: setup (config, run directory,
 * exec-as-root hooks, stats socket, directory watch) may exit with a clear
 * message (1: usage or config error, 2: system failure); once the loop runs,
 * nothing a vassal does ends it. SIGTERM/SIGINT stop every vassal and exit
 * when none is left; SIGHUP reloads them all and re-reads the tuntap
 * router's firewall rules.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "emperor/internal.h"

static int usage(void)
{
	fprintf(stderr, "usage: emperor -c emperor.ini | emperor --vassals DIR\n"
			"       emperor status|stats|reload NAME|stop NAME|start NAME"
			" [-c emperor.ini | -s ADDR]\n");
	return 1;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* exec-as-root: before the loop, so a plain fork + wait is fine. */
static int run_hooks(const struct emp_config *c, struct err **err)
{
	for (size_t i = 0; i < c->n_hooks; i++) {
		log_info("emperor: exec-as-root: %s", c->hooks[i]);
		pid_t pid = fork();
		if (pid < 0)
			return err_set(err, errno, "fork");
		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", c->hooks[i], (char *)NULL);
			_exit(127);
		}
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			char s[64];
			emp_format_status(st, true, s, sizeof(s));
			return err_set(err, 0, "exec-as-root '%s': %s", c->hooks[i], s);
		}
	}
	return 0;
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop, (void)revents;
	struct emp *e = w->signum == SIGTERM ? container_of(w, struct emp, sig_term)
					     : container_of(w, struct emp, sig_int);
	log_info("emperor: got SIG%s", sigabbrev_np(w->signum));
	emp_shutdown(e);
	if (!ev_is_active(&e->shutdown_timer)) {
		ev_timer_set(&e->shutdown_timer, (double)e->cfg.stop_timeout_ms / 1000.0 + 2., 2.);
		ev_timer_start(e->loop, &e->shutdown_timer);
	}
}

/* Vassals that outlived stop-timeout and their own SIGKILL: kill again,
 * and give up on the loop after the second round. */
static void on_shutdown_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct emp *e = container_of(w, struct emp, shutdown_timer);
	for (size_t i = 0; i < e->cfg.max_vassals; i++)
		if (e->vassals[i] && e->vassals[i]->pid > 0)
			kill(e->vassals[i]->pid, SIGKILL);
	if (++e->shutdown_rounds > 2)
		ev_break(loop, EVBREAK_ALL);
}

/* SIGHUP re-reads emperor.ini for the tuntap router's firewall: the new
 * lists replace the old ones and every peer stays connected. The rest of
 * the file (listeners, devices, directories) takes a restart. */
static void reload_tuntap_rules(struct emp *e)
{
	if (e->tt == NULL || strcmp(e->cfg.origin, "--vassals") == 0)
		return;
	struct emp_config nc = {0};
	struct err *err = NULL;
	if (emp_config_load(&nc, e->cfg.origin, &err) < 0) {
		log_error("emperor: SIGHUP: %s: tuntap firewall left as it was", err_msg(err));
		err_free(&err);
	} else if (!nc.tt.enabled) {
		log_warn("emperor: SIGHUP: `tuntap-router` removed: that takes a restart");
	} else {
		const struct tt_config *o = &e->cfg.tt, *n = &nc.tt;
		if (strcmp(o->dev, n->dev) || strcmp(o->socket, n->socket) || o->mtu != n->mtu ||
		    o->n_ips != n->n_ips || memcmp(o->ips, n->ips, sizeof(o->ips)) ||
		    strcmp(o->gateway, n->gateway) || o->n_routes != n->n_routes ||
		    memcmp(o->routes, n->routes, sizeof(o->routes)) ||
		    memcmp(o->gw_key, n->gw_key, sizeof(o->gw_key)))
			log_warn("emperor: SIGHUP: the tuntap device, socket, addresses, MTU or "
				 "gateway changed: that takes a restart (firewall rules applied now)");
		tt_set_rules(e->tt, &nc.tt);
	}
	emp_config_free(&nc);
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop, (void)revents;
	struct emp *e = container_of(w, struct emp, sig_hup);
	reload_tuntap_rules(e);
	log_info("emperor: SIGHUP: reloading every vassal");
	for (size_t i = 0; i < e->cfg.max_vassals; i++)
		if (e->vassals[i])
			emp_event(e->vassals[i], VE_CMD_RELOAD);
}

static int usage_error(struct err **err)
{
	usage();
	return err_set(err, 0, "give exactly one of -c FILE or --vassals DIR");
}

static int parse_args(int argc, char **argv, struct emp_config *c, struct err **err)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"vassals", required_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *dir = NULL;
	int o;
	while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (o == 'c')
			config = optarg;
		else if (o == 'v')
			dir = optarg;
		else
			return usage_error(err);
	}
	if (optind != argc || (config == NULL) == (dir == NULL))
		return usage_error(err);
	return config ? emp_config_load(c, config, err) : emp_config_defaults(c, dir, err);
}

static void start_signals(struct emp *e)
{
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&e->sig_term, on_stop_signal, SIGTERM);
	ev_signal_init(&e->sig_int, on_stop_signal, SIGINT);
	ev_signal_init(&e->sig_hup, on_hup, SIGHUP);
	ev_signal_start(e->loop, &e->sig_term);
	ev_signal_start(e->loop, &e->sig_int);
	ev_signal_start(e->loop, &e->sig_hup);
	ev_init(&e->shutdown_timer, on_shutdown_timer);
}

static int setup(struct emp *e, struct err **err)
{
	if (emp_config_find_vassal(&e->cfg, err) < 0)
		return -1;
	/* 0711: a vassal that is root only inside its user namespace must
	 * still reach the stage directory it mounts its new root on. */
	char stage[4096];
	snprintf(stage, sizeof(stage), "%s/stage", e->cfg.run_dir);
	if (mkdir_p(e->cfg.run_dir, 0711) < 0 || chmod(e->cfg.run_dir, 0711) < 0 ||
	    mkdir_p(stage, 0711) < 0)
		return err_set(err, errno, "run-dir %s", e->cfg.run_dir);
	if (run_hooks(&e->cfg, err) < 0)
		return -1;
	e->vassals = calloc(e->cfg.max_vassals, sizeof(*e->vassals));
	if (e->vassals == NULL)
		return err_set(err, ENOMEM, "vassal table");
	e->loop = ev_default_loop(EVFLAG_AUTO);
	if (e->loop == NULL)
		return err_set(err, 0, "cannot create the event loop");
	start_signals(e);
	if ((e->rtr = rtr_new(e->loop, &e->cfg.rtr, err)) == NULL)
		return -1;
	if (e->cfg.tt.enabled && (e->tt = tt_new(e->loop, &e->cfg.tt, err)) == NULL)
		return -1;
	if (emp_stats_start(e, err) < 0)
		return -1;
	return emp_watch_start(e, err);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && argv[1][0] != '-')
		return emp_cli(argc, argv);
	struct emp e = {.inotify_fd = -1, .stats_fd = -1, .stats_http_fd = -1};
	struct err *err = NULL;
	if (parse_args(argc, argv, &e.cfg, &err) < 0) {
		fprintf(stderr, "emperor: %s\n", err_msg(err));
		err_free(&err);
		emp_config_free(&e.cfg);
		return 1;
	}
	log_set_chain(e.cfg.log_chain);
	e.started_wall = (int64_t)time(NULL);
	log_info("emperor: starting (pid %d, config %s)", (int)getpid(), e.cfg.origin);
	if (setup(&e, &err) < 0) {
		log_error("emperor: %s", err_msg(err));
		err_free(&err);
		/* What setup made before it failed; descriptors go with the exit. */
		tt_free(e.tt);
		rtr_free(e.rtr);
		free(e.vassals);
		log_set_chain(NULL);
		emp_config_free(&e.cfg);
		return 2;
	}
	ev_run(e.loop, 0);
	log_info("emperor: bye");
	emp_watch_stop(&e);
	emp_stats_stop(&e);
	for (size_t i = 0; i < e.cfg.max_vassals; i++)
		if (e.vassals[i])
			emp_vassal_remove(e.vassals[i]);
	free(e.vassals);
	tt_free(e.tt); /* after the vassals: they detach their peers */
	rtr_free(e.rtr);
	log_set_chain(NULL);
	emp_config_free(&e.cfg);
	return 0;
}
