/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Spawning one worker of the tenant's app. The vassal forks; the child
 * arranges what a socket-activated program expects (listening fds at 3..,
 * LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, NOTIFY_SOCKET for sd_notify
 * readiness), a clean signal state, its own session and the `env` and
 * `chdir` of the config, then execs `exec`. Like crun's sync
 * socket, a CLOEXEC pipe tells the parent how that went: EOF means the exec
 * happened, a struct exec_report means the child failed before it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, dup3, close_range */
#endif
#include "vassal/internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/ctl.h"
#include "vassal/vassal.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* What failed in the child before exec. */
enum report_stage { STAGE_SETUP, STAGE_CHDIR, STAGE_EXEC };

struct exec_report {
	int stage;
	int errnum;
};

static void __attribute__((noreturn)) child_fail(int report_fd, int stage)
{
	struct exec_report r = {stage, errno};
	/* If this fails the parent sees EOF, then a child dead with 127. */
	ssize_t w = write(report_fd, &r, sizeof(r));
	(void)w;
	_exit(127);
}

static void child_reset_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* SIGKILL, SIGSTOP and glibc's internal signals refuse: harmless. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
}

/*
 * Move the n listening fds from CTL_FD_LISTEN0.. to 3.., put the report fd
 * right after them and close everything else above. Every source is first
 * copied above all targets, so no dup2 clobbers a fd still to be moved.
 */
static int child_move_fds(unsigned n, int *report_fd)
{
	int base = CTL_FD_LISTEN0 + (int)n;
	int tmp[VSL_MAX_SOCKETS];
	int rep = fcntl(*report_fd, F_DUPFD_CLOEXEC, base);
	if (rep < 0)
		return -1;
	*report_fd = rep;
	for (unsigned i = 0; i < n; i++) {
		tmp[i] = fcntl(CTL_FD_LISTEN0 + (int)i, F_DUPFD, base);
		if (tmp[i] < 0)
			return -1;
	}
	/* dup2 leaves the new fd without FD_CLOEXEC, as the app needs it. */
	for (unsigned i = 0; i < n; i++)
		if (dup2(tmp[i], 3 + (int)i) < 0)
			return -1;
	if (dup3(rep, 3 + (int)n, O_CLOEXEC) < 0)
		return -1;
	*report_fd = 3 + (int)n;
	return close_range(4 + n, ~0U, 0);
}

/* Each `env = NAME=VALUE` of the config (validated already). */
static int child_config_env(const struct cfg *c)
{
	for (const struct cfg_entry *e = cfg_next(c, "env", NULL); e != NULL;
	     e = cfg_next(c, "env", e)) {
		const char *eq = strchr(e->value, '=');
		if (eq == NULL)
			continue;
		_cleanup_free_ char *name = strndup(e->value, (size_t)(eq - e->value));
		if (name == NULL || setenv(name, eq + 1, 1) < 0)
			return -1;
	}
	return 0;
}

static int child_listen_env(unsigned n)
{
	if (n == 0) {
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		return 0;
	}
	char num[16], pid[16], names[VSL_MAX_SOCKETS * 8] = "";
	size_t len = 0;
	snprintf(num, sizeof(num), "%u", n);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (unsigned i = 0; i < n && len < sizeof(names); i++) {
		int w = snprintf(names + len, sizeof(names) - len, "%ssock%u", i ? ":" : "", i);
		if (w < 0)
			return -1;
		len += (size_t)w;
	}
	if (setenv("LISTEN_FDS", num, 1) < 0 || setenv("LISTEN_PID", pid, 1) < 0 ||
	    setenv("LISTEN_FDNAMES", names, 1) < 0)
		return -1;
	return 0;
}

/* What a child needs to know, gathered so child_run takes one pointer. */
struct child_args {
	const struct vassal *v;
	const struct vsl_conf *c;
	unsigned id;
	const char *notify;
};

/* The config's `env` first, so the variables the vassal owns win. */
static int child_env(const struct child_args *a)
{
	char id[16];
	snprintf(id, sizeof(id), "%u", a->id);
	if (child_config_env(a->c->cfg) < 0 || child_listen_env(a->v->n_listen) < 0)
		return -1;
	if (setenv("IMPERIUM_VASSAL", a->v->name, 1) < 0 || setenv("IMPERIUM_WORKER", id, 1) < 0)
		return -1;
	if (a->notify != NULL ? setenv("NOTIFY_SOCKET", a->notify, 1) < 0
			      : unsetenv("NOTIFY_SOCKET") < 0)
		return -1;
	if (getenv("PATH") == NULL && setenv("PATH", DEFAULT_PATH, 1) < 0)
		return -1;
	return 0;
}

/* In the forked child: never returns. The vassal is single-threaded, so
 * setenv's allocations after fork are safe. */
static void __attribute__((noreturn)) child_run(const struct child_args *a, pid_t parent,
						 int report_fd)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(report_fd, STAGE_SETUP);
	if (getppid() != parent) {
		errno = ESRCH; /* the vassal died before the prctl took effect */
		child_fail(report_fd, STAGE_SETUP);
	}
	child_reset_signals();
	if (setsid() < 0 || child_move_fds(a->v->n_listen, &report_fd) < 0 || child_env(a) < 0)
		child_fail(report_fd, STAGE_SETUP);
	if (chdir(a->c->chdir) < 0)
		child_fail(report_fd, STAGE_CHDIR);
	execvp(a->c->argv[0], a->c->argv);
	child_fail(report_fd, STAGE_EXEC);
}

int vsl_app_spawn(const struct vassal *v, const struct vsl_conf *c, unsigned id,
		  const char *notify, pid_t *pid_out, int *exec_fd, struct err **err)
{
	const struct child_args a = {.v = v, .c = c, .id = id, .notify = notify};
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return err_set(err, errno, "exec '%s': pipe", c->argv[0]);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(p[0]);
		close(p[1]);
		return err_set(err, saved, "exec '%s': fork", c->argv[0]);
	}
	if (pid == 0) {
		close(p[0]);
		child_run(&a, parent, p[1]);
	}
	close(p[1]);
	*pid_out = pid;
	*exec_fd = p[0];
	return 0;
}

int vsl_app_exec_result(int *exec_fd, const struct vsl_conf *c, struct err **err)
{
	struct exec_report r;
	ssize_t n = read(*exec_fd, &r, sizeof(r));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	int saved = errno;
	close(steal_fd(exec_fd));
	if (n == 0)
		return 1;
	if (n != (ssize_t)sizeof(r))
		return err_set(err, n < 0 ? saved : EPROTO, "exec '%s': reading the child's report",
			       c->argv[0]);
	switch (r.stage) {
	case STAGE_CHDIR:
		return err_set(err, r.errnum, "exec '%s': chdir '%s'", c->argv[0], c->chdir);
	case STAGE_EXEC:
		return err_set(err, r.errnum, "exec '%s'", c->argv[0]);
	default:
		return err_set(err, r.errnum, "exec '%s': setting up the child", c->argv[0]);
	}
}
