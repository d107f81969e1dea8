/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Spawning a vassal and listening to it. The emperor writes the resolved
 * config into an O_TMPFILE file (no path, so no race and nothing left
 * behind), makes a control socketpair and two log pipes, then clones with
 * the vassal's namespace flags (clone3, or clone where the kernel lacks it).
 * It also opens, as root and in the host's view, each key file the
 * vassal signs with: the vassal reads its keys from those descriptors, as
 * its own root may be an unprivileged host uid (a user namespace).
 * The child only arranges its descriptors into the fixed layout of
 * core/ctl.h and execs the vassal program, which builds the jail itself.
 * If exec fails the child says why on the control channel. A vassal whose
 * `tuntap-device` SOCKET is our tuntap router's is told so (--tuntap-local)
 * and sends its tun device back (CTL_V_TUN), which the router takes with the
 * addresses of the file as the emperor read it; the peer is detached when
 * the process is gone.
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <sys/wait.h>
#include <time.h>

#include "core/ctl.h"
#include "core/file.h"
#include "emperor/internal.h"
#include "jail/jail.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

/* Key files opened for one spawn, and their `PATH=FD` arguments. */
struct sign_fds {
	int fds[VSL_MAX_SUBSCRIPTIONS];
	char *args[VSL_MAX_SUBSCRIPTIONS]; /* owned */
	size_t n;
};

static void on_ctl(struct ev_loop *loop, ev_io *w, int revents);
static void on_stdout(struct ev_loop *loop, ev_io *w, int revents);
static void on_stderr(struct ev_loop *loop, ev_io *w, int revents);
static void on_child(struct ev_loop *loop, ev_child *w, int revents);

/* An anonymous file holding the resolved config; mkostemp+unlink where the
 * filesystem has no O_TMPFILE. */
static int config_fd(struct emp_vassal *v, struct err **err)
{
	const char *dir = v->emp->cfg.run_dir;
	_cleanup_close_ int fd = file_tmp_open(dir, ".vassal");
	if (fd < 0)
		return err_set(err, errno, "config file in %s", dir);
	if (cfg_write_fd(v->cfg, fd, "vassal", err) < 0)
		return -1;
	return steal_fd(&fd);
}

static pid_t clone_child(unsigned long flags)
{
	struct clone_args args;
	memset(&args, 0, sizeof(args));
	args.flags = flags;
	args.exit_signal = SIGCHLD;
	long r = syscall(SYS_clone3, &args, sizeof(args));
	if (r < 0 && errno == ENOSYS)
		r = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	return (pid_t)r;
}

struct child_fds {
	int sync;  /* read end: with a user namespace, wait for the id maps */
	int devnull, out, err, ctl, cfg;
	int sub;   /* the vassal's end of its subscription socket */
	const int *socks;
	size_t n_socks;
	const struct sign_fds *keys;
};

/* In the child: move descriptors into the layout of core/ctl.h. Sources are
 * first lifted above every target so no dup2 overwrites a later source. */
static int arrange_fds(const struct child_fds *f)
{
	/* targets: 0 devnull, 1 out, 2 err, 3 ctl, 4 cfg, 5.. sockets, then
	 * the subscription socket, then the key files */
	int src[6 + VSL_MAX_SOCKETS + VSL_MAX_SUBSCRIPTIONS] = {f->devnull, f->out, f->err, f->ctl,
								f->cfg};
	size_t n = 5 + f->n_socks;
	for (size_t i = 0; i < f->n_socks; i++)
		src[5 + i] = f->socks[i];
	src[n++] = f->sub;
	for (size_t i = 0; i < f->keys->n; i++)
		src[n++] = f->keys->fds[i];
	int base = (int)n + 16;
	for (size_t i = 0; i < n; i++)
		if ((src[i] = fcntl(src[i], F_DUPFD, base)) < 0)
			return -1;
	for (size_t i = 0; i < n; i++)
		if (dup2(src[i], (int)i) < 0)
			return -1;
	return syscall(SYS_close_range, (unsigned)n, ~0u, 0) < 0 ? -1 : 0;
}

static __attribute__((noreturn)) void child_main(const struct child_fds *f, char *const argv[],
						 pid_t emperor)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != emperor && getppid() != 0)
		_exit(1); /* the emperor died before PDEATHSIG was armed */
	char go;
	if (f->sync >= 0 && read(f->sync, &go, 1) != 1)
		_exit(1); /* the emperor could not write the id maps */
	/* Become root of the new user namespace before exec: with the host's
	 * (unmapped) ids, exec would drop the capabilities the vassal needs to
	 * build its jail. */
	if (f->sync >= 0 && (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 ||
			     setresuid(0, 0, 0) < 0)) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "user namespace: becoming root: %s",
				 strerror(errno));
		ctl_send(f->ctl, CTL_V_ERROR, msg, (size_t)n);
		_exit(127);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	if (arrange_fds(f) < 0) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "arranging descriptors: %s", strerror(errno));
		ctl_send(f->ctl, CTL_V_ERROR, msg, (size_t)n);
		_exit(127);
	}
	execv(argv[0], argv);
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "exec %s: %s", argv[0], strerror(errno));
	ctl_send(CTL_FD_CONTROL, CTL_V_ERROR, msg, (size_t)n);
	_exit(127);
}

static int open_channels(int ctl[2], int out[2], int errp[2], struct err **err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)
		return err_set(err, errno, "socketpair");
	if (pipe2(out, O_CLOEXEC) < 0)
		return err_set(err, errno, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0)
		return err_set(err, errno, "pipe");
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	fcntl(ctl[0], F_SETFL, O_NONBLOCK);
	return 0;
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

/* User namespace: write the id maps, then let the child go on. On failure
 * the child is killed and reaped here (it has not exec'd anything). */
static int release_child(struct emp_vassal *v, pid_t pid, int sync_w, struct err **err)
{
	if (jail_write_id_maps(pid, v->uid, v->gid, err) == 0 && write(sync_w, "g", 1) == 1)
		return 0;
	if (err && *err == NULL)
		err_set(err, errno, "releasing the child");
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return -1;
}

static void watch_child(struct emp_vassal *v, int ctl, int out, int errfd)
{
	struct ev_loop *loop = v->emp->loop;
	v->ctl_fd = ctl;
	v->out_fd = out;
	v->err_fd = errfd;
	ev_io_init(&v->ctl_io, on_ctl, ctl, EV_READ);
	ev_io_init(&v->out_io, on_stdout, out, EV_READ);
	ev_io_init(&v->err_io, on_stderr, errfd, EV_READ);
	ev_io_start(loop, &v->ctl_io);
	ev_io_start(loop, &v->out_io);
	ev_io_start(loop, &v->err_io);
	ev_child_init(&v->child, on_child, v->pid, 0);
	ev_child_start(loop, &v->child);
}

/* The router reads the emperor's end of the vassal's subscription socket;
 * packets on it may claim only the keys of the vassal's file (`domain`
 * values, literal subscribe-to/subscribe2 keys), announcing only the
 * sockets bound for it. */
static void attach_subscriptions(struct emp_vassal *v, int fd)
{
	char texts[VSL_MAX_SOCKETS][ADDR_TEXT_MAX];
	const char *addrs[VSL_MAX_SOCKETS];
	size_t n = 0;
	for (size_t i = 0; i < v->n_socks; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getsockname(v->sock_fds[i], (struct sockaddr *)&ss, &sl) < 0)
			continue;
		addr_format((struct sockaddr *)&ss, sl, texts[n], sizeof(texts[n]));
		addrs[n] = texts[n];
		n++;
	}
	struct err *err = NULL;
	v->sub = rtr_local_attach(v->emp->rtr, v->name, fd, (const char *const *)v->claims,
				  v->n_claims, addrs, n, &err);
	if (v->sub == NULL) {
		log_warn("vassal %s: %s", v->name, err_msg(err));
		err_free(&err);
	}
}

static void sign_fds_close(struct sign_fds *k)
{
	for (size_t i = 0; i < k->n; i++) {
		close(k->fds[i]);
		free(k->args[i]);
	}
	k->n = 0;
}

/* One key file, as sign_key_load opens it: following symlinks, not waiting
 * on a FIFO, and only a regular file. */
static int open_key(const char *path, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return err_set(err, errno, "sign key %s: cannot open", path);
	if (fstat(fd, &st) < 0)
		return err_set(err, errno, "sign key %s: cannot stat", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, 0, "sign key %s: not a regular file", path);
	return steal_fd(&fd);
}

/*
 * Open every key file the vassal signs with (the config validated them;
 * they are opened again for each spawn, so a replaced file is the one
 * read), each to become fd @first + i in the vassal, named by
 * `--sign-key PATH=FD`. Returns 0, or -1 with *err and nothing left open.
 */
static int sign_fds_open(struct emp_vassal *v, struct sign_fds *k, size_t first, struct err **err)
{
	char *paths[VSL_MAX_SUBSCRIPTIONS];
	k->n = 0;
	int n = vsl_config_sign_keys(v->cfg, paths, ARRAY_SIZE(paths), err);
	int r = n < 0 ? -1 : 0;
	for (int i = 0; i < n && r == 0; i++) {
		int fd = open_key(paths[i], err);
		char *arg = NULL;
		if (fd < 0) {
			r = -1;
		} else if (asprintf(&arg, "%s=%zu", paths[i], first + k->n) < 0) {
			close(fd);
			r = err_set(err, ENOMEM, "sign key %s", paths[i]);
		} else {
			k->fds[k->n] = fd;
			k->args[k->n++] = arg;
		}
	}
	for (int i = 0; i < n; i++)
		free(paths[i]);
	if (r < 0)
		sign_fds_close(k);
	return r;
}

/* The vassal program's arguments: 13 fixed words, two per server and per
 * key file, three for the tuntap router, NULL. */
#define ARGV_MAX (13 + 2 * RTR_MAX_LISTEN + 2 * VSL_MAX_SUBSCRIPTIONS + 3 + 1)

/* Whether @a and @b name the same socket: the same text, or the same file. */
static bool same_socket(const char *a, const char *b)
{
	struct stat sa, sb;
	if (strcmp(a, b) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* A vassal whose `tuntap-device` SOCKET is our own router's hands us its
 * tun device (CTL_V_TUN) instead of connecting to it. */
static bool tuntap_local(const struct emp_vassal *v)
{
	const struct tt *t = v->emp->tt;
	return v->has_net && t != NULL && same_socket(v->net.socket, tt_socket_path(t));
}

/*
 * The vassal's command line. `--local-server` names each subscription
 * server of the emperor's own router: the vassal sends what it addresses to
 * them through its subscription socket instead (in a network namespace of
 * its own it could not reach them).
 */
static void vassal_argv(struct emp_vassal *v, char **argv, char *ns, char *nsocks, char *nsub,
			char *stage, const struct sign_fds *keys, char *mtu)
{
	const struct rtr_config *rc = &v->emp->cfg.rtr;
	char *fixed[] = {v->emp->cfg.vassal_bin,
			 "--name",
			 v->name,
			 "--origin",
			 v->path,
			 "--namespaces",
			 ns,
			 "--listen-fds",
			 nsocks,
			 "--subscribe-fd",
			 nsub,
			 "--stage-dir",
			 stage};
	size_t n = 0;
	for (; n < ARRAY_SIZE(fixed); n++)
		argv[n] = fixed[n];
	for (size_t i = 0; v->emp->rtr != NULL && i < rc->n_subs && i < RTR_MAX_LISTEN; i++) {
		if (rc->subs[i].fd >= 0)
			continue; /* fd://N: no address a vassal could name */
		argv[n++] = "--local-server";
		argv[n++] = (char *)rc->subs[i].text;
	}
	for (size_t i = 0; i < keys->n; i++) {
		argv[n++] = "--sign-key";
		argv[n++] = keys->args[i];
	}
	if (v->tt_local) {
		argv[n++] = "--tuntap-local";
		argv[n++] = "--tuntap-mtu";
		argv[n++] = mtu;
	}
	argv[n] = NULL;
}

int emp_spawn(struct emp_vassal *v, struct err **err)
{
	if (emp_vassal_bind(v, err) < 0)
		return -1;
	/* The key files become the fds after the subscription socket. */
	__attribute__((cleanup(sign_fds_close))) struct sign_fds keys = {.n = 0};
	if (sign_fds_open(v, &keys, CTL_FD_LISTEN0 + v->n_socks + 1, err) < 0)
		return -1;
	_cleanup_close_ int cfgfd = config_fd(v, err);
	if (cfgfd < 0)
		return -1;
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return err_set(err, errno, "/dev/null");
	int ctl[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, sync[2] = {-1, -1};
	if (open_channels(ctl, out, errp, err) < 0) {
		close_pair(ctl), close_pair(out), close_pair(errp);
		return -1;
	}
	if ((v->clone_flags & CLONE_NEWUSER) && pipe2(sync, O_CLOEXEC) < 0) {
		err_set(err, errno, "pipe");
		close_pair(ctl), close_pair(out), close_pair(errp);
		return -1;
	}
	int sub[2] = {-1, -1};
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sub) < 0) {
		err_set(err, errno, "socketpair");
		close_pair(ctl), close_pair(out), close_pair(errp), close_pair(sync);
		return -1;
	}
	char ns[128], nsocks[16], nsub[16], stage[4096], mtu[16];
	v->tt_local = tuntap_local(v);
	snprintf(mtu, sizeof(mtu), "%u", (unsigned)v->emp->cfg.tt.mtu);
	jail_format_clone_flags(v->clone_flags, ns, sizeof(ns));
	snprintf(stage, sizeof(stage), "%s/stage", v->emp->cfg.run_dir);
	snprintf(nsocks, sizeof(nsocks), "%zu", v->n_socks);
	snprintf(nsub, sizeof(nsub), "%zu", (size_t)CTL_FD_LISTEN0 + v->n_socks);
	char *argv[ARGV_MAX];
	vassal_argv(v, argv, ns, nsocks, nsub, stage, &keys, mtu);
	struct child_fds f = {sync[0], devnull, out[1], errp[1], ctl[1],
			      cfgfd, sub[1], v->sock_fds, v->n_socks, &keys};
	pid_t emperor = getpid();
	pid_t pid = clone_child(v->clone_flags);
	if (pid == 0)
		child_main(&f, argv, emperor);
	int saved = errno;
	close(ctl[1]), close(out[1]), close(errp[1]), close(sub[1]);
	int released = pid > 0 && sync[1] >= 0 ? release_child(v, pid, sync[1], err) : 0;
	close_pair(sync);
	if (pid < 0 || released < 0) {
		close(ctl[0]), close(out[0]), close(errp[0]), close(sub[0]);
		if (pid < 0)
			err_set(err, saved, "clone (%s)", ns[0] ? ns : "no namespaces");
		return -1;
	}
	v->pid = pid;
	v->spawn_time = ev_time();
	v->spawned_wall = (int64_t)time(NULL);
	v->ready_time = 0;
	v->has_workers = false;
	watch_child(v, ctl[0], out[0], errp[0]);
	attach_subscriptions(v, sub[0]);
	log_info("vassal %s: spawned pid %d (namespaces: %s)", v->name, (int)pid,
		 ns[0] ? ns : "none");
	return 0;
}

void emp_send(struct emp_vassal *v, uint8_t cmd)
{
	if (v->ctl_fd >= 0)
		ctl_send(v->ctl_fd, cmd, NULL, 0);
}

int emp_send_config(struct emp_vassal *v, struct err **err)
{
	if (v->ctl_fd < 0)
		return err_set(err, ENOTCONN, "vassal %s: no control channel", v->name);
	_cleanup_close_ int fd = config_fd(v, err);
	if (fd < 0)
		return -1;
	if (ctl_send_fd(v->ctl_fd, CTL_E_CONFIG, fd) < 0)
		return err_set(err, errno, "vassal %s: sending its new config", v->name);
	struct err *e = NULL;
	if (rtr_local_set_keys(v->sub, (const char *const *)v->claims, v->n_claims, &e) < 0) {
		log_warn("vassal %s: %s", v->name, err_msg(e));
		err_free(&e);
	}
	return 0;
}

/* ---- what the vassal says ---- */

/* A start that cannot work: say why and end it (a failed start, retried
 * with back-off, as for a busy socket address). */
static void fail_start(struct emp_vassal *v, const char *why)
{
	snprintf(v->error, sizeof(v->error), "%s", why);
	log_error("vassal %s: %s: stopping this start", v->name, why);
	if (v->pid > 0)
		kill(v->pid, SIGKILL);
}

/* Whether @fd is a tun device named @dev, as the vassal was told to make. */
static bool is_tun(int fd, const char *dev)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	return ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_TUN) &&
	       (ifr.ifr_flags & IFF_NO_PI) && strncmp(ifr.ifr_name, dev, IFNAMSIZ) == 0;
}

/*
 * CTL_V_TUN: the vassal's tun device for our router, with the addresses and
 * rules of its file as we read it. Taken once per spawn, only from a vassal
 * told --tuntap-local, only while it starts (before any tenant code runs).
 * A refusal (an address already another peer's) fails the start.
 */
static void take_tun(struct emp_vassal *v, int fd)
{
	_cleanup_close_ int tun = fd;
	if (tun < 0 || !v->tt_local || v->tt_peer != NULL || v->emp->tt == NULL ||
	    v->state != ST_STARTING) {
		log_warn("vassal %s: unexpected tun device (ignored)", v->name);
		return;
	}
	if (!is_tun(tun, v->net.dev)) {
		char why[128];
		snprintf(why, sizeof(why), "tuntap: the descriptor sent is not tun device %s",
			 v->net.dev);
		fail_start(v, why);
		return;
	}
	struct err *err = NULL;
	v->tt_peer = tt_attach(v->emp->tt, v->name, steal_fd(&tun), &v->net, &err);
	if (v->tt_peer == NULL) {
		char why[512];
		snprintf(why, sizeof(why), "tuntap: %s", err_msg(err));
		err_free(&err);
		fail_start(v, why);
		return;
	}
	log_info("vassal %s: tun %s attached to the tuntap router", v->name, v->net.dev);
}

static void handle_ctl(struct emp_vassal *v, const char *pkt, size_t n, int fd)
{
	if ((uint8_t)pkt[0] == CTL_V_TUN) {
		take_tun(v, fd);
		return;
	}
	if (fd >= 0)
		close(fd); /* no other message carries one */
	switch ((uint8_t)pkt[0]) {
	case CTL_V_READY:
		emp_event(v, VE_READY);
		break;
	case CTL_V_HEARTBEAT:
	case CTL_V_ACCEPTING:
	case CTL_V_LOYAL:
		emp_event(v, VE_HEARTBEAT);
		break;
	case CTL_V_VOLUNTARY:
		log_info("vassal %s: leaving on its own", v->name);
		break;
	case CTL_V_ERROR:
		snprintf(v->error, sizeof(v->error), "%.*s", (int)(n - 1), pkt + 1);
		log_error("vassal %s: failed: %s", v->name, v->error);
		break;
	case CTL_V_WORKERS:
		if (n != 1 + sizeof(v->workers)) {
			log_warn("vassal %s: workers report of %zu bytes (ignored)", v->name, n);
			break;
		}
		memcpy(&v->workers, pkt + 1, sizeof(v->workers));
		v->workers.last[sizeof(v->workers.last) - 1] = '\0';
		v->has_workers = true;
		break;
	default:
		log_warn("vassal %s: unknown control code %u (ignored)", v->name,
			 (unsigned)(uint8_t)pkt[0]);
	}
}

/* Bounded per wake-up: a chatty vassal cannot starve the others. */
static void on_ctl(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct emp_vassal *v = container_of(w, struct emp_vassal, ctl_io);
	for (int i = 0; i < 32 && v->ctl_fd >= 0; i++) {
		char pkt[CTL_MAX];
		int fd;
		ssize_t n = ctl_recv(v->ctl_fd, pkt, sizeof(pkt), &fd);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (fd >= 0)
				close(fd);
			/* closed: the exit (ev_child) tells the rest */
			ev_io_stop(loop, w);
			return;
		}
		handle_ctl(v, pkt, (size_t)n, fd);
	}
}

static void log_vassal_line(struct emp_vassal *v, const char *s, size_t n)
{
	log_write(v->log_chain ? v->log_chain : v->emp->cfg.log_chain, LOGL_INFO, v->name, s, n);
}

/* Split what arrived into lines; a line longer than the buffer is logged
 * in pieces, so a tenant cannot make the emperor grow. */
static void drain_lines(struct emp_vassal *v, struct buf *line, bool eof)
{
	char *nl;
	while (line->len && (nl = memchr(line->data, '\n', line->len))) {
		log_vassal_line(v, line->data, (size_t)(nl - line->data));
		buf_consume(line, (size_t)(nl - line->data) + 1);
	}
	if (line->len && (eof || line->len >= EMP_LINE_MAX - 1)) {
		log_vassal_line(v, line->data, line->len);
		buf_reset(line);
	}
}

static void read_output(struct emp_vassal *v, int fd, struct buf *line)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		char chunk[2048];
		size_t room = EMP_LINE_MAX - 1 - line->len;
		ssize_t n = read(fd, chunk, room < sizeof(chunk) ? room : sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN) {
				drain_lines(v, line, true);
				ev_io *w = fd == v->out_fd ? &v->out_io : &v->err_io;
				ev_io_stop(v->emp->loop, w);
			}
			return;
		}
		buf_append(line, chunk, (size_t)n);
		drain_lines(v, line, false);
	}
}

static void on_stdout(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct emp_vassal *v = container_of(w, struct emp_vassal, out_io);
	read_output(v, v->out_fd, &v->out_line);
}

static void on_stderr(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct emp_vassal *v = container_of(w, struct emp_vassal, err_io);
	read_output(v, v->err_fd, &v->err_line);
}

void emp_close_io(struct emp_vassal *v)
{
	struct ev_loop *loop = v->emp->loop;
	ev_child_stop(loop, &v->child);
	ev_io_stop(loop, &v->ctl_io);
	ev_io_stop(loop, &v->out_io);
	ev_io_stop(loop, &v->err_io);
	int *fds[] = {&v->ctl_fd, &v->out_fd, &v->err_fd};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	buf_free(&v->out_line);
	buf_free(&v->err_line);
	rtr_local_detach(v->sub);
	v->sub = NULL;
	if (v->tt_peer != NULL)
		log_info("vassal %s: tun %s detached from the tuntap router", v->name,
			 v->net.dev);
	tt_detach(v->tt_peer);
	v->tt_peer = NULL;
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	(void)loop, (void)revents;
	struct emp_vassal *v = container_of(w, struct emp_vassal, child);
	/* Pending messages (an error, the last lines) first. */
	on_ctl(loop, &v->ctl_io, 0);
	if (v->out_fd >= 0)
		read_output(v, v->out_fd, &v->out_line);
	if (v->err_fd >= 0)
		read_output(v, v->err_fd, &v->err_line);
	v->last_status = w->rstatus;
	v->has_status = true;
	emp_close_io(v);
	v->pid = 0;
	emp_event(v, VE_EXIT);
}
