/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vassal program. The emperor execs it inside the vassal's fresh
 * namespaces with a fixed fd layout (core/ctl.h): 0 /dev/null, 1 and 2 pipes
 * to the emperor's log, 3 the control channel, 4 the resolved config, 5.. the
 * listening sockets, then (with --subscribe-fd) a datagram socket connected
 * to the emperor's subscription server, then one read-only descriptor per
 * signing key file (--sign-key PATH=FD, in that order), which the emperor
 * opened as root. Startup, in order: read the arguments, check the fds,
 * parse and validate the config, read the subscriptions' signing keys from
 * those descriptors and close them (the process becomes non-dumpable once
 * it holds one, so the tenant's app, running as the same user, can neither
 * ptrace it nor read its memory), build the jail
 * (jail_build), run the `exec-as-root` hooks while still privileged, lock the
 * jail down (jail_lockdown), set up the subscriptions as the tenant
 * (subscribe.c), then hand over to the loop (loop.c) which runs the
 * workers (workers.c).
 * Any startup failure is sent to the emperor as CTL_V_ERROR with the message
 * (naming file:line when it comes from the config). Exit codes: 0 stopped on
 * request, 1 usage error or emperor gone, 2 setup failure, otherwise the
 * app's own exit status (128+signal when it was killed).
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctl.h"
#include "core/log.h"
#include "jail/jail.h"
#include "vassal/internal.h"
#include "vassal/vassal.h"

extern char **environ;

struct opts {
	const char *name;
	const char *origin;
	const char *stage_dir;
	unsigned long clone_flags;
	unsigned n_listen;
	int subscribe_fd;				  /* -1: none */
	struct addr local_servers[VSL_MAX_LOCAL_SERVERS]; /* --local-server */
	size_t n_local_servers;
	char *sign_args[VSL_MAX_SIGN_KEYS];	   /* --sign-key PATH=FD, as given */
	struct vsl_key_fd keys[VSL_MAX_SIGN_KEYS]; /* ... parsed: fds follow the others */
	size_t n_keys;
};

#define USAGE                                                                                      \
	"usage: vassal --name NAME --origin PATH --namespaces FLAGS --listen-fds N "               \
	"--stage-dir DIR [--subscribe-fd N [--local-server ADDR]...] [--sign-key PATH=FD]..."

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* `--local-server ADDR`: one of the emperor's own subscription servers. */
static int add_local_server(struct opts *o, const char *text, struct err **err)
{
	if (o->n_local_servers >= VSL_MAX_LOCAL_SERVERS)
		return err_set(err, 0, "--local-server: more than %d", VSL_MAX_LOCAL_SERVERS);
	struct addr *a = &o->local_servers[o->n_local_servers];
	if (addr_parse(text, a, err) < 0 || a->fd >= 0) {
		if (a->fd >= 0)
			err_set(err, 0, "'%s': expected host:port or a unix path", text);
		err_prefix(err, "--local-server");
		return -1;
	}
	o->n_local_servers++;
	return 0;
}

/*
 * `--sign-key PATH=FD` (split at the last '='): the key files follow the
 * other fds, one each, in the order given; PATH is absolute and named once.
 * The path is cut from its argument in place.
 */
static int parse_sign_keys(struct opts *o, struct err **err)
{
	unsigned next =
	    o->subscribe_fd >= 0 ? (unsigned)o->subscribe_fd + 1 : CTL_FD_LISTEN0 + o->n_listen;
	for (size_t i = 0; i < o->n_keys; i++, next++) {
		char *arg = o->sign_args[i];
		char *eq = strrchr(arg, '=');
		unsigned fd;
		if (eq == NULL || arg[0] != '/' || parse_uint(eq + 1, next, &fd) < 0 || fd != next)
			return err_set(err, 0, "--sign-key '%s': expected /PATH=%u", arg, next);
		*eq = '\0';
		for (size_t j = 0; j < i; j++)
			if (strcmp(o->keys[j].path, arg) == 0)
				return err_set(err, 0, "--sign-key %s: given twice", arg);
		o->keys[i] = (struct vsl_key_fd){arg, (int)fd};
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o, struct err **err)
{
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"origin", required_argument, NULL, 'o'},
	    {"namespaces", required_argument, NULL, 'N'},
	    {"listen-fds", required_argument, NULL, 'l'},
	    {"stage-dir", required_argument, NULL, 's'},
	    {"subscribe-fd", required_argument, NULL, 'S'},
	    {"local-server", required_argument, NULL, 'L'},
	    {"sign-key", required_argument, NULL, 'K'},
	    {NULL, 0, NULL, 0},
	};
	const char *ns = NULL, *nfds = NULL, *sfd = NULL;
	int opt;
	memset(o, 0, sizeof(*o));
	o->subscribe_fd = -1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			o->name = optarg;
			break;
		case 'o':
			o->origin = optarg;
			break;
		case 'N':
			ns = optarg;
			break;
		case 'l':
			nfds = optarg;
			break;
		case 's':
			o->stage_dir = optarg;
			break;
		case 'S':
			sfd = optarg;
			break;
		case 'L':
			if (add_local_server(o, optarg, err) < 0)
				return -1;
			break;
		case 'K':
			if (o->n_keys >= VSL_MAX_SIGN_KEYS)
				return err_set(err, 0, "--sign-key: more than %d",
					       VSL_MAX_SIGN_KEYS);
			o->sign_args[o->n_keys++] = optarg;
			break;
		default:
			return err_set(err, 0, USAGE);
		}
	}
	if (optind != argc || !o->name || !o->origin || !ns || !nfds || !o->stage_dir)
		return err_set(err, 0, USAGE);
	if (parse_uint(nfds, VSL_MAX_SOCKETS, &o->n_listen) < 0)
		return err_set(err, 0, "--listen-fds '%s': expected 0..%d", nfds, VSL_MAX_SOCKETS);
	if (jail_parse_clone_flags(ns, &o->clone_flags, err) < 0) {
		err_prefix(err, "--namespaces");
		return -1;
	}
	/* The fd layout is fixed: the subscription socket follows the listeners. */
	unsigned want = CTL_FD_LISTEN0 + o->n_listen, got;
	if (sfd != NULL && (parse_uint(sfd, want, &got) < 0 || got != want))
		return err_set(err, 0, "--subscribe-fd '%s': expected %u (5 + --listen-fds)", sfd,
			       want);
	if (sfd != NULL)
		o->subscribe_fd = (int)want;
	return parse_sign_keys(o, err);
}

/*
 * The inherited fds must be there, each of its kind (sockets, the config
 * and key files regular files), and no more: the layout must be the one
 * the arguments describe. None may leak into hooks or the app.
 */
static int check_fds(const struct opts *o, struct err **err)
{
	int socks_end =
	    o->subscribe_fd >= 0 ? o->subscribe_fd + 1 : CTL_FD_LISTEN0 + (int)o->n_listen;
	int end = socks_end + (int)o->n_keys;
	for (int fd = CTL_FD_CONTROL; fd < end; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			return err_set(err, errno, "inherited fd %d", fd);
		if (fd != CTL_FD_CONFIG && fd < socks_end && !S_ISSOCK(st.st_mode))
			return err_set(err, ENOTSOCK, "inherited fd %d", fd);
		if (fd >= socks_end && !S_ISREG(st.st_mode))
			return err_set(err, EINVAL,
				       "inherited fd %d (--sign-key): not a regular file", fd);
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return err_set(err, errno, "inherited fd %d", fd);
	}
	if (fcntl(end, F_GETFD) >= 0)
		return err_set(err, EBADF, "inherited fd %d: not in the layout the arguments give",
			       end);
	int type = 0;
	socklen_t len = sizeof(type);
	if (o->subscribe_fd < 0)
		return 0;
	if (getsockopt(o->subscribe_fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return err_set(err, errno, "--subscribe-fd %d", o->subscribe_fd);
	if (type != SOCK_DGRAM)
		return err_set(err, EPROTOTYPE, "--subscribe-fd %d: not a datagram socket",
			       o->subscribe_fd);
	return 0;
}

/* One `exec-as-root` hook: /bin/sh -c CMD inside the jail, still as root. */
static int run_hook(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	pid_t pid = fork();
	if (pid < 0)
		return err_set(err, errno, "%s:%u: exec-as-root: fork", c->origin, e->line);
	if (pid == 0) {
		char *const argv[] = {"/bin/sh", "-c", (char *)e->value, NULL};
		execve(argv[0], argv, environ);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_set(err, errno, "%s:%u: exec-as-root: waitpid", c->origin,
				       e->line);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return cfg_error(c, e, err, "'%s' exited with status %d", e->value,
				 WEXITSTATUS(status));
	return cfg_error(c, e, err, "'%s' killed by signal %d", e->value, WTERMSIG(status));
}

static int jail_up(const struct cfg *c, const struct jail_spec *spec, struct err **err)
{
	if (jail_build(spec, err) < 0)
		return -1;
	for (const struct cfg_entry *e = cfg_next(c, "exec-as-root", NULL); e != NULL;
	     e = cfg_next(c, "exec-as-root", e))
		if (run_hook(c, e, err) < 0)
			return -1;
	return jail_lockdown(spec, err);
}

/*
 * The subscriptions' private keys: read now, before the jail, from the
 * descriptors the emperor opened as root in the host's view (our own root
 * may be an unprivileged host uid, and the jail hides the files), then the
 * descriptors are closed; the keys are kept in this process alone. Once it
 * holds one, the process is no longer dumpable: no core file, and the
 * tenant's app (same user) can neither ptrace it nor open its
 * /proc/PID/mem. It still reads its own /proc/self and its workers' /proc
 * entries (they exec, which makes them dumpable).
 */
static int read_keys(struct vassal *v, struct opts *o, struct err **err)
{
	int r = vsl_keyring_load(&v->keys, v->conf->cfg, o->keys, o->n_keys, err);
	for (size_t i = 0; i < o->n_keys; i++) {
		close(o->keys[i].fd);
		o->keys[i].fd = -1;
	}
	if (r < 0)
		return -1;
	if (v->keys.n > 0)
		log_info("%zu signing key(s) read", v->keys.n);
	return 0;
}

static int setup(struct vassal *v, struct opts *o, struct err **err)
{
	if (check_fds(o, err) < 0)
		return -1;
	struct cfg *c = cfg_parse_fd(CTL_FD_CONFIG, o->origin, vsl_sections, CFG_RAW, err);
	if (c == NULL)
		return -1;
	/* The emperor validated the file in the host's view, key files
	 * included; here the keys come from its descriptors (read_keys) and
	 * the jail keys are checked by jail_spec_from_cfg below. */
	if (vsl_config_validate_own(c, err) < 0) {
		cfg_free(c);
		return -1;
	}
	v->conf = vsl_conf_new(c, o->n_listen, err);
	if (v->conf == NULL)
		return -1;
	struct jail_spec spec;
	memset(&spec, 0, sizeof(spec));
	if (jail_spec_from_cfg(v->conf->cfg, o->clone_flags, o->stage_dir, &spec, err) < 0)
		return -1;
	int r = read_keys(v, o, err);
	if (r == 0)
		r = jail_up(v->conf->cfg, &spec, err);
	jail_spec_free(&spec);
	if (r < 0)
		return -1;
	/* The tenant's app runs as our uid: it must not ptrace us or read our
	 * memory (signing keys) nor use our subscription socket. Changing
	 * uid made us dumpable as fs.suid_dumpable says; be sure, always. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return err_set(err, errno, "prctl(PR_SET_DUMPABLE)");
	/* As the tenant, inside the jail: key files, check files and the
	 * notify socket are the tenant's. */
	return vsl_sub_setup(v, o->subscribe_fd, err);
}

/* The end of a failed startup: the emperor gets the message, else stderr. */
static int report(struct err **err, int code)
{
	const char *msg = err_msg(*err);
	if (ctl_send(CTL_FD_CONTROL, CTL_V_ERROR, msg, strlen(msg)) < 0 || code == 1)
		log_error("%s", msg);
	return code;
}

int main(int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	struct opts o;
	struct vassal v = {.subs = VSL_SUBS_INIT};
	int code;

	/* Writes to a vanished emperor must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	log_set_fd(STDERR_FILENO);
	if (parse_args(argc, argv, &o, &err) < 0)
		return report(&err, 1);
	v.name = o.name;
	v.origin = o.origin;
	v.clone_flags = o.clone_flags;
	v.n_listen = o.n_listen;
	memcpy(v.local_servers, o.local_servers, sizeof(o.local_servers[0]) * o.n_local_servers);
	v.n_local_servers = o.n_local_servers;
	v.pool.notify_fd = -1;
	if (setenv("IMPERIUM_VASSAL", o.name, 1) < 0 || setup(&v, &o, &err) < 0) {
		if (err == NULL)
			err_set(&err, errno, "setenv");
		code = report(&err, 2);
	} else {
		code = vsl_loop_run(&v);
	}
	vsl_sub_free(&v);
	vsl_pool_free(&v);
	vsl_keyring_free(&v.keys);
	vsl_conf_free(v.conf);
	return code;
}
