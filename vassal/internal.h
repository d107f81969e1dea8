/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared inside vassal/ only: the vassal program's one context struct (the
 * settings it read from its config, the app it runs and the watchers of its
 * loop) and the functions main.c, app.c and loop.c call on each other.
 */
#ifndef VASSAL_INTERNAL_H
#define VASSAL_INTERNAL_H

#include <ev.h>
#include <stdbool.h>
#include <sys/types.h>

#include "core/cfg.h"
#include "core/err.h"

/* `heartbeat`: seconds between CTL_V_HEARTBEAT messages. */
#define VSL_HEARTBEAT_MIN 1
#define VSL_HEARTBEAT_MAX 3600
#define VSL_HEARTBEAT_DEFAULT 5

/* What the loop does when the app exits. */
enum vsl_mode {
	VSL_RUN,      /* an exit is the app's own: the vassal exits with its status */
	VSL_STOPPING, /* graceful stop: exit 0 once the app is gone */
	VSL_RELOADING /* reload: spawn the app again once it is gone */
};

struct vassal {
	/* from argv and the config (strings borrowed from argv and cfg) */
	const char *name;
	struct cfg *cfg;
	char **argv;	    /* `exec`, split into words */
	const char *chdir;  /* `chdir`, default "/" */
	unsigned n_listen;  /* listening fds at CTL_FD_LISTEN0.. */
	unsigned heartbeat; /* seconds */

	/* the app */
	pid_t app_pid; /* 0 when none runs */
	int exec_fd;   /* read end of the exec report pipe while starting, else -1 */
	enum vsl_mode mode;
	int exit_code; /* what the vassal returns once the loop breaks */

	struct ev_loop *loop;
	ev_io ctl_w;  /* commands from the emperor on CTL_FD_CONTROL */
	ev_io exec_w; /* exec_fd: EOF means the app was exec'd */
	ev_timer hb_w;
	ev_signal term_w, int_w, hup_w;
	ev_child child_w; /* pid 0: every child, orphans included */
};

/*
 * vsl_app_spawn - fork the app (see app.c for what the child sets up).
 * Sets v->app_pid and v->exec_fd. Returns 0, or -1 with *err.
 */
int vsl_app_spawn(struct vassal *v, struct err **err);

/*
 * vsl_app_exec_result - read the exec report of a starting app.
 * Returns 1 when the app was exec'd (v->exec_fd is closed), 0 when the
 * report is not there yet, -1 with *err when the child failed before exec
 * ("exec 'CMD': why").
 */
int vsl_app_exec_result(struct vassal *v, struct err **err);

/*
 * vsl_loop_run - spawn the app and run the loop until the vassal is done.
 * Returns the vassal's exit code.
 */
int vsl_loop_run(struct vassal *v);

#endif
