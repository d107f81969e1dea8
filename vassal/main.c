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
 * (jail_build; with `tuntap-device`, /dev/net/tun is opened and a foreign
 * router's socket connected before it, and the tun device configured right
 * after it, then handed to the emperor with CTL_V_TUN when its router is
 * the vassal's, else pumped by tunpump.c), run the `exec-as-root` hooks while
 * still privileged, lock the jail down (jail_lockdown), set up the subscriptions as the tenant
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
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctl.h"
#include "core/log.h"
#include "jail/jail.h"
#include "tuntap/tuntap.h"
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
	bool tuntap_local;   /* --tuntap-local: SOCKET is the emperor's own router */
	unsigned tuntap_mtu; /* --tuntap-mtu: that router's MTU */
};

#define USAGE                                                                                      \
	"usage: vassal --name NAME --origin PATH --namespaces FLAGS --listen-fds N "               \
	"--stage-dir DIR [--subscribe-fd N [--local-server ADDR]...] [--sign-key PATH=FD]... "  \
	"[--tuntap-local --tuntap-mtu N]"

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
	    {"tuntap-local", no_argument, NULL, 'T'},
	    {"tuntap-mtu", required_argument, NULL, 'M'},
	    {NULL, 0, NULL, 0},
	};
	const char *ns = NULL, *nfds = NULL, *sfd = NULL, *mtu = NULL;
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
		case 'T':
			o->tuntap_local = true;
			break;
		case 'M':
			mtu = optarg;
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
	o->tuntap_mtu = TT_MTU_DEFAULT;
	if (mtu != NULL && (parse_uint(mtu, TT_MTU_MAX, &o->tuntap_mtu) < 0 ||
			    o->tuntap_mtu < TT_MTU_MIN))
		return err_set(err, 0, "--tuntap-mtu '%s': expected %d..%d", mtu, TT_MTU_MIN,
			       TT_MTU_MAX);
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

/* The network of a vassal with `tuntap-device` (tunnet), while it is set up. */
struct tunnet {
	struct tt_vassal_net net;
	bool on;	  /* the file has tuntap-device */
	bool local;	  /* SOCKET is the emperor's router: hand it the device */
	int tun_fd;	  /* /dev/net/tun, opened before the jail */
	int sock_fd;	  /* otherwise: connected to SOCKET before the jail */
	struct jail_tun spec;
};

static void tunnet_free(struct tunnet *t)
{
	if (t->tun_fd >= 0)
		close(t->tun_fd);
	if (t->sock_fd >= 0)
		close(t->sock_fd);
	t->tun_fd = t->sock_fd = -1;
	tt_vassal_net_free(&t->net);
}

static void jail_addr(const struct tt_cidr *c, struct jail_tun_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (c->family == TT_IPV4) {
		out->family = AF_INET;
		memcpy(out->addr, c->ip.b + 12, 4);
	} else if (c->family == TT_IPV6) {
		out->family = AF_INET6;
		memcpy(out->addr, c->ip.b, 16);
	}
	out->prefix = c->prefix;
}

/* A stream connection to the router at @path (the host's view, before the
 * jail). Non-blocking: a router whose backlog is full fails this start. */
static int connect_router(const char *path, struct err **err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof(sun.sun_path))
		return err_set(err, ENAMETOOLONG, "tuntap-device: socket %s", path);
	memcpy(sun.sun_path, path, n);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(err, errno, "tuntap-device: socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return err_set(err, errno, "tuntap-device: connecting to the router at %s", path);
	return steal_fd(&fd);
}

/*
 * Before the jail: read the tuntap keys, open /dev/net/tun and, for a
 * router other than the emperor's, connect to its socket: both paths are
 * the host's, which the new root hides.
 */
static int tunnet_open(struct tunnet *t, const struct cfg *c, const struct opts *o,
		       struct err **err)
{
	int r = tt_vassal_net_read(c, &t->net, err);
	if (r <= 0)
		return r;
	t->on = true;
	t->local = o->tuntap_local;
	snprintf(t->spec.dev, sizeof(t->spec.dev), "%s", t->net.dev);
	t->spec.mtu = t->local ? o->tuntap_mtu : VSL_TUN_FOREIGN_MTU;
	t->spec.offload = t->local;
	for (size_t i = 0; i < t->net.n_ips && i < JAIL_TUN_MAX_IPS; i++)
		jail_addr(&t->net.ips[i], &t->spec.ips[t->spec.n_ips++]);
	jail_addr(&t->net.gw4, &t->spec.gw4);
	jail_addr(&t->net.gw6, &t->spec.gw6);
	if ((t->tun_fd = jail_tun_open(err)) < 0)
		return -1;
	if (!t->local && (t->sock_fd = connect_router(t->net.socket, err)) < 0)
		return -1;
	return 0;
}

/*
 * The jail's tun stage, after jail_build and before the hooks: the device
 * configured in our network namespace, then handed to the emperor's router
 * (we keep no copy) or kept for the pump.
 */
static int tunnet_up(struct vassal *v, struct tunnet *t, struct err **err)
{
	if (!t->on)
		return 0;
	if (jail_tun_up(t->tun_fd, &t->spec, err) < 0)
		return -1;
	if (t->local) {
		if (ctl_send_msg_fd(CTL_FD_CONTROL, CTL_V_TUN, t->net.dev, strlen(t->net.dev),
				    t->tun_fd) < 0)
			return err_set(err, errno, "tun %s: handing it to the emperor", t->net.dev);
		close(steal_fd(&t->tun_fd));
		log_info("tun %s: up (MTU %u), handed to the emperor's router", t->net.dev,
			 t->spec.mtu);
		return 0;
	}
	int tun = steal_fd(&t->tun_fd), sock = steal_fd(&t->sock_fd);
	return vsl_tun_pump_init(v, tun, sock, t->net.socket, &t->net, t->spec.mtu, err);
}

static int jail_up(struct vassal *v, const struct jail_spec *spec, struct tunnet *t,
		   struct err **err)
{
	const struct cfg *c = v->conf->cfg;
	if (jail_build(spec, err) < 0 || tunnet_up(v, t, err) < 0)
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
	struct tunnet tn = {.tun_fd = -1, .sock_fd = -1};
	int r = read_keys(v, o, err);
	if (r == 0)
		r = tunnet_open(&tn, v->conf->cfg, o, err);
	if (r == 0)
		r = jail_up(v, &spec, &tn, err);
	tunnet_free(&tn);
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
	v.tun.tun_fd = v.tun.sock_fd = -1;
	if (setenv("IMPERIUM_VASSAL", o.name, 1) < 0 || setup(&v, &o, &err) < 0) {
		if (err == NULL)
			err_set(&err, errno, "setenv");
		code = report(&err, 2);
	} else {
		code = vsl_loop_run(&v);
	}
	vsl_sub_free(&v);
	vsl_pool_free(&v);
	vsl_tun_pump_free(&v);
	vsl_keyring_free(&v.keys);
	vsl_conf_free(v.conf);
	return code;
}
