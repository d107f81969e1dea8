/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The vassal's workers: N processes of the tenant's app sharing the
 * listening sockets. Workers belong to generations. The first generation
 * starts with the vassal; a reload starts a new one beside it, and only once
 * every new worker is ready are the old ones sent SIGTERM (SIGKILL after
 * `reload-mercy`): the sockets never close, so no connection is refused. A
 * new worker that dies or never gets ready fails the reload and the old
 * generation goes on serving. A worker is ready when it says READY=1 on
 * $NOTIFY_SOCKET (sd_notify; an abstract datagram socket whose sender is
 * checked by its credentials) or, with `worker-ready = exec`, once it has
 * exec'd and is still alive `worker-ready-delay` later. A worker that dies
 * on its own is respawned, with a growing delay while they die young. Once
 * a second the pool reads every worker's RSS and whether it waits for a
 * connection (procfs.c), recycles a worker over `reload-on-rss`, asks the
 * cheaper policy (cheaper.c) whether to grow or shrink, and sends its
 * figures to the emperor (CTL_V_WORKERS).
 */
#include "vassal/internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

#define LOYAL_AFTER 10.0   /* seconds: a worker living this long resets the back-off */
#define HOLD_FIRST 0.1	   /* seconds: the first back-off step */
#define HOLD_MAX 30.0	   /* seconds: the longest back-off */
#define NOTIFY_MAX 4096	   /* bytes of one sd_notify datagram */
#define NOTIFY_PER_WAKEUP 64
#define MIB (1024.0 * 1024.0)

static void on_exec(EV_P_ ev_io *w, int revents);
static void on_worker_timer(EV_P_ ev_timer *w, int revents);
static void fill(struct vassal *v);
static void worker_ready(struct vsl_worker *w);

/* The settings a worker of generation @gen runs with. */
static const struct vsl_conf *conf_of(const struct vassal *v, unsigned gen)
{
	const struct vsl_pool *p = &v->pool;
	if (p->reloading && gen == p->gen && p->next != NULL)
		return p->next;
	return v->conf;
}

static bool live(const struct vsl_worker *w)
{
	return w->state != WK_FREE;
}

/* Workers of the current generation that count towards its target. */
static bool current(const struct vassal *v, const struct vsl_worker *w)
{
	return (w->state == WK_STARTING || w->state == WK_READY) && w->gen == v->pool.gen;
}

unsigned vsl_pool_alive(const struct vassal *v)
{
	unsigned n = 0;
	for (size_t i = 0; v->pool.wk != NULL && i < VSL_POOL_SLOTS; i++)
		n += live(&v->pool.wk[i]);
	return n;
}

static unsigned count_current(const struct vassal *v, enum vsl_wk_state state)
{
	unsigned n = 0;
	for (size_t i = 0; i < VSL_POOL_SLOTS; i++)
		n += current(v, &v->pool.wk[i]) && v->pool.wk[i].state == state;
	return n;
}

static unsigned count_ready(const struct vassal *v)
{
	unsigned n = 0;
	for (size_t i = 0; i < VSL_POOL_SLOTS; i++)
		n += v->pool.wk[i].state == WK_READY;
	return n;
}

static void describe_status(int status, char *out, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(out, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
}

/* ---- the notify socket ---- */

static void on_notify(EV_P_ ev_io *w, int revents);

/* An abstract name nobody can guess; senders are checked by pid anyway. */
static int bind_notify(struct vassal *v, struct err **err)
{
	struct vsl_pool *p = &v->pool;
	uint64_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
		rnd = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ (uint64_t)ev_time();
	snprintf(p->notify_name, sizeof(p->notify_name), "@imperium/notify/%d/%016llx",
		 (int)getpid(), (unsigned long long)rnd);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(p->notify_name);
	memcpy(sun.sun_path, p->notify_name, len); /* sun_path[0] becomes the NUL */
	sun.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) <
		0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		return err_set(err, saved, "workers' notify socket");
	}
	p->notify_fd = fd;
	ev_io_init(&p->notify_w, on_notify, fd, EV_READ);
	ev_io_start(v->loop, &p->notify_w);
	return 0;
}

static struct vsl_worker *find_worker(struct vassal *v, pid_t pid)
{
	for (size_t i = 0; pid > 0 && i < VSL_POOL_SLOTS; i++)
		if (live(&v->pool.wk[i]) && v->pool.wk[i].pid == pid)
			return &v->pool.wk[i];
	return NULL;
}

/* Does the datagram hold the line READY=1? */
static bool says_ready(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len;
		if (end - i == 7 && memcmp(s + i, "READY=1", 7) == 0)
			return true;
		i = end + 1;
	}
	return false;
}

static void on_notify(EV_P_ ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	struct vassal *v = container_of(io, struct vassal, pool.notify_w);
	for (int k = 0; k < NOTIFY_PER_WAKEUP; k++) {
		char data[NOTIFY_MAX];
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(8 * sizeof(int))];
		} ctrl;
		struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctrl.buf,
				   .msg_controllen = sizeof(ctrl.buf)};
		ssize_t n = recvmsg(v->pool.notify_fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0)
			return; /* EAGAIN: drained */
		pid_t sender = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
				struct ucred cr;
				memcpy(&cr, CMSG_DATA(c), sizeof(cr));
				sender = cr.pid;
			}
		/* Nobody may park descriptors with us. */
		int parked = ctl_take_fd(&m);
		if (parked >= 0)
			close(parked);
		struct vsl_worker *w = find_worker(v, sender);
		if (w == NULL || w->state != WK_STARTING)
			continue; /* not a starting worker of ours: ignored */
		if (says_ready(data, (size_t)n < sizeof(data) ? (size_t)n : sizeof(data)))
			worker_ready(w);
	}
}

/* ---- one worker ---- */

static void arm(struct vsl_worker *w, double after)
{
	ev_timer_stop(w->v->loop, &w->timer_w);
	ev_timer_set(&w->timer_w, after, 0.);
	ev_timer_start(w->v->loop, &w->timer_w);
}

static void kill_worker(struct vsl_worker *w, int sig)
{
	if (w->pid <= 0)
		return;
	/* SIGKILL takes the worker's whole session (it called setsid); SIGTERM
	 * goes to the worker alone, which may manage processes of its own. */
	if (sig == SIGKILL) {
		kill(-w->pid, SIGKILL);
		w->killed = true;
	}
	kill(w->pid, sig);
}

static unsigned free_id(const struct vassal *v)
{
	for (unsigned id = 1;; id++) {
		bool used = false;
		for (size_t i = 0; i < VSL_POOL_SLOTS && !used; i++)
			used = live(&v->pool.wk[i]) && v->pool.wk[i].id == id;
		if (!used)
			return id;
	}
}

/* Start one worker of generation @gen. Returns it, or NULL with *err. */
static struct vsl_worker *spawn_one(struct vassal *v, unsigned gen, struct err **err)
{
	struct vsl_pool *p = &v->pool;
	struct vsl_worker *w = NULL;
	for (size_t i = 0; i < VSL_POOL_SLOTS && w == NULL; i++)
		if (!live(&p->wk[i]))
			w = &p->wk[i];
	if (w == NULL) {
		err_set(err, EAGAIN, "no free worker slot (%d in use)", VSL_POOL_SLOTS);
		return NULL;
	}
	const struct vsl_conf *c = conf_of(v, gen);
	unsigned id = free_id(v);
	pid_t pid;
	int exec_fd;
	if (vsl_app_spawn(v, c, id, p->notify_fd >= 0 ? p->notify_name : NULL, &pid, &exec_fd,
			  err) < 0)
		return NULL;
	memset(w, 0, sizeof(*w));
	w->v = v;
	w->state = WK_STARTING;
	w->pid = pid;
	w->id = id;
	w->gen = gen;
	w->seq = ++p->seq;
	w->exec_fd = exec_fd;
	w->idle = -1;
	w->spawned_at = ev_time();
	ev_io_init(&w->exec_w, on_exec, exec_fd, EV_READ);
	ev_io_start(v->loop, &w->exec_w);
	ev_timer_init(&w->timer_w, on_worker_timer, 0., 0.);
	/* The deadline; an exec'd worker in exec mode re-arms it shorter. */
	arm(w, (double)c->w.ready_timeout_ms / 1000.0);
	p->stats.spawned++;
	log_debug("worker %u (pid %d) of generation %u spawned", id, (int)pid, gen);
	return w;
}

/* Stop watching the exec report (a worker leaving before it came). */
static void drop_exec(struct vsl_worker *w)
{
	ev_io_stop(w->v->loop, &w->exec_w);
	if (w->exec_fd >= 0)
		close(steal_fd(&w->exec_fd));
}

/* Send a worker away: SIGTERM now, SIGKILL after reload-mercy. */
static void retire(struct vsl_worker *w, const char *why)
{
	struct vassal *v = w->v;
	if (w->state == WK_STOPPING)
		return;
	drop_exec(w);
	log_info("worker %u (pid %d): %s: SIGTERM", w->id, (int)w->pid, why);
	w->state = WK_STOPPING;
	kill_worker(w, SIGTERM);
	arm(w, (double)v->conf->w.mercy_ms / 1000.0);
}

/* A worker that must go at once (a failed reload's, or on a hard stop). */
static void kill_now(struct vsl_worker *w)
{
	drop_exec(w);
	w->state = WK_STOPPING;
	ev_timer_stop(w->v->loop, &w->timer_w);
	kill_worker(w, SIGKILL);
}

static void release(struct vsl_worker *w)
{
	drop_exec(w);
	ev_timer_stop(w->v->loop, &w->timer_w);
	w->state = WK_FREE;
	w->pid = 0;
}

/* ---- generations ---- */

static void update_serving(struct vassal *v)
{
	struct vsl_pool *p = &v->pool;
	bool serving = count_ready(v) > 0;
	if (!p->announced || serving == p->serving)
		return;
	p->serving = serving;
	vsl_loop_serving(v, serving);
}

static void old_generation_check(struct vassal *v)
{
	struct vsl_pool *p = &v->pool;
	if (!p->resubscribe || p->reloading)
		return;
	for (size_t i = 0; i < VSL_POOL_SLOTS; i++)
		if (live(&p->wk[i]) && p->wk[i].gen != p->gen)
			return;
	p->resubscribe = false;
	if (p->serving)
		vsl_loop_serving(v, true);
}

static void start_queued(struct vassal *v)
{
	struct vsl_pool *p = &v->pool;
	if (!p->reload_queued || v->mode != VSL_RUN)
		return;
	p->reload_queued = false;
	vsl_pool_reload(v, steal_ptr(&p->queued));
}

static void commit_reload(struct vassal *v)
{
	struct vsl_pool *p = &v->pool;
	unsigned retired = 0;
	p->reloading = false;
	if (p->next != NULL)
		vsl_loop_apply(v, steal_ptr(&p->next));
	if (v->subs.unsub_on_reload && v->subs.subscribed) {
		/* Routers stop sending before the old workers stop serving. */
		vsl_sub_stop(v, true);
		p->resubscribe = true;
	}
	for (size_t i = 0; i < VSL_POOL_SLOTS; i++) {
		struct vsl_worker *w = &p->wk[i];
		if (live(w) && w->gen != p->gen && w->state != WK_STOPPING) {
			retire(w, "replaced by a reload");
			retired++;
		}
	}
	log_info("reload done: %u worker(s) of generation %u ready in %.2f s; %u retired",
		 count_current(v, WK_READY), p->gen, ev_time() - p->reload_started, retired);
	old_generation_check(v);
	start_queued(v);
}

static void fail_reload(struct vassal *v, const char *why)
{
	struct vsl_pool *p = &v->pool;
	log_error("reload failed: %s; the previous workers keep serving", why);
	p->stats.failed_reloads++;
	for (size_t i = 0; i < VSL_POOL_SLOTS; i++) {
		struct vsl_worker *w = &p->wk[i];
		if (live(w) && w->gen == p->gen && w->state != WK_STOPPING)
			kill_now(w);
	}
	vsl_conf_free(steal_ptr(&p->next));
	p->reloading = false;
	p->gen = p->prev_gen;
	p->target = p->prev_target;
	fill(v); /* the old generation may have lost workers meanwhile */
	start_queued(v);
}

/* Every worker of the generation starting is ready: go on from there. */
static void generation_check(struct vassal *v)
{
	struct vsl_pool *p = &v->pool;
	if (count_current(v, WK_STARTING) > 0 || count_current(v, WK_READY) < p->target)
		return;
	if (p->reloading) {
		commit_reload(v);
	} else if (!p->announced) {
		p->announced = true;
		p->serving = true;
		vsl_loop_announce(v);
		start_queued(v);
	}
}

static void worker_ready(struct vsl_worker *w)
{
	struct vassal *v = w->v;
	w->state = WK_READY;
	w->ready_at = ev_time();
	ev_timer_stop(v->loop, &w->timer_w);
	log_info("worker %u (pid %d) ready in %.0f ms", w->id, (int)w->pid,
		 (w->ready_at - w->spawned_at) * 1000.0);
	if (w->gen == v->pool.gen)
		generation_check(v);
	update_serving(v);
}

static void on_exec(EV_P_ ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	struct vsl_worker *w = container_of(io, struct vsl_worker, exec_w);
	_cleanup_err_ struct err *err = NULL;
	int r = vsl_app_exec_result(&w->exec_fd, conf_of(w->v, w->gen), &err);
	if (r == 0)
		return;
	ev_io_stop(w->v->loop, io);
	if (r < 0) {
		/* The child exits 127; its death says the rest. */
		log_error("worker %u: %s", w->id, err_msg(err));
		return;
	}
	w->exec_done = true;
	if (w->state != WK_STARTING)
		return; /* READY=1 came first */
	const struct vsl_wcfg *c = &conf_of(w->v, w->gen)->w;
	if (c->ready != VSL_READY_EXEC)
		return;
	if (c->ready_delay_ms == 0)
		worker_ready(w);
	else
		arm(w, (double)c->ready_delay_ms / 1000.0);
}

static void on_worker_timer(EV_P_ ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct vsl_worker *w = container_of(t, struct vsl_worker, timer_w);
	const struct vsl_wcfg *c = &conf_of(w->v, w->gen)->w;
	switch (w->state) {
	case WK_STARTING:
		if (w->exec_done && c->ready == VSL_READY_EXEC &&
		    ev_time() - w->spawned_at < (double)c->ready_timeout_ms / 1000.0) {
			worker_ready(w);
			return;
		}
		log_error("worker %u (pid %d): not ready after %.1f s (worker-ready = %s): "
			  "SIGKILL",
			  w->id, (int)w->pid, (double)c->ready_timeout_ms / 1000.0,
			  c->ready == VSL_READY_EXEC ? "exec" : "notify");
		kill_worker(w, SIGKILL);
		return;
	case WK_STOPPING:
		log_warn("worker %u (pid %d): still alive %.1f s after SIGTERM: SIGKILL", w->id,
			 (int)w->pid, (double)w->v->conf->w.mercy_ms / 1000.0);
		kill_worker(w, SIGKILL);
		return;
	default:
		return;
	}
}

/* ---- keeping the current generation at its target ---- */

static void on_respawn(EV_P_ ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	fill(container_of(t, struct vassal, pool.respawn_w));
}

static void fill(struct vassal *v)
{
	struct vsl_pool *p = &v->pool;
	if (v->mode != VSL_RUN || p->reloading)
		return;
	double now = ev_time();
	if (now < p->hold_until) {
		if (!ev_is_active(&p->respawn_w)) {
			ev_timer_set(&p->respawn_w, p->hold_until - now, 0.);
			ev_timer_start(v->loop, &p->respawn_w);
		}
		return;
	}
	unsigned have = count_current(v, WK_STARTING) + count_current(v, WK_READY);
	while (have < p->target) {
		_cleanup_err_ struct err *err = NULL;
		if (spawn_one(v, p->gen, &err) == NULL) {
			log_error("cannot spawn a worker: %s", err_msg(err));
			p->failures++;
			p->hold_until = ev_time() + HOLD_MAX;
			fill(v); /* arms the timer */
			return;
		}
		have++;
	}
}

/* A worker died young: hold respawns back, longer each time. */
static void hold_back(struct vsl_pool *p)
{
	double d = HOLD_FIRST;
	for (unsigned i = 1; i < p->failures && d < HOLD_MAX; i++)
		d *= 2;
	if (d > HOLD_MAX)
		d = HOLD_MAX;
	p->hold_until = ev_time() + d;
	log_info("respawning in %.1f s (%u worker(s) died young in a row)", d, p->failures);
}

bool vsl_pool_child(struct vassal *v, pid_t pid, int status)
{
	struct vsl_pool *p = &v->pool;
	struct vsl_worker *w = find_worker(v, pid);
	if (w == NULL)
		return false;
	/* An unread report decides between an exec failure and an app that
	 * ran and exited. */
	_cleanup_err_ struct err *err = NULL;
	bool exec_failed = false;
	if (w->exec_fd >= 0 && vsl_app_exec_result(&w->exec_fd, conf_of(v, w->gen), &err) < 0)
		exec_failed = true;
	char st[64];
	describe_status(status, st, sizeof(st));
	enum vsl_wk_state was = w->state;
	unsigned id = w->id, gen = w->gen;
	bool killed = w->killed;
	double lived = ev_time() - w->spawned_at;
	release(w);

	if (was == WK_STOPPING) {
		if (!killed)
			log_info("worker %u (pid %d) %s", id, (int)pid, st);
		if (v->mode == VSL_STOPPING && vsl_pool_alive(v) == 0)
			vsl_loop_all_gone(v);
		else
			old_generation_check(v);
		return true;
	}
	if (v->mode != VSL_RUN)
		return true;
	if (was == WK_STARTING && !p->announced) {
		if (exec_failed) {
			vsl_loop_fail(v, &err);
		} else {
			log_warn("worker %u (pid %d) %s before it was ready", id, (int)pid, st);
			vsl_loop_startup_died(v, status);
		}
		return true;
	}
	if (p->reloading && gen == p->gen) {
		/* Before the whole new generation is ready, any of it dying
		 * fails the reload. */
		char why[768];
		snprintf(why, sizeof(why), "new worker %u (pid %d) %s %s%s%s", id, (int)pid, st,
			 was == WK_STARTING ? "before it was ready" : "before the others were",
			 exec_failed ? ": " : "", exec_failed ? err_msg(err) : "");
		fail_reload(v, why);
		return true;
	}
	if (exec_failed)
		log_error("worker %u: %s", id, err_msg(err));
	else
		log_warn("worker %u (pid %d) %s%s", id, (int)pid, st,
			 was == WK_STARTING ? " before it was ready" : "");
	if (gen != p->gen) {
		update_serving(v);
		return true; /* an old generation's: the new one replaces it */
	}
	if (lived < LOYAL_AFTER && count_ready(v) == 0 && count_current(v, WK_STARTING) == 0) {
		/* The app crash-loops with nobody left serving: the emperor's
		 * back-off and its restart count take over from here. */
		log_warn("no worker left and the last one died young: the vassal exits");
		vsl_loop_startup_died(v, status);
		return true;
	}
	update_serving(v);
	p->stats.respawned++;
	p->failures = (was == WK_READY && lived >= LOYAL_AFTER) ? 0 : p->failures + 1;
	if (p->failures > 0)
		hold_back(p);
	fill(v);
	return true;
}

/* ---- the check, once a second ---- */

static void send_stats(struct vassal *v, const struct vsl_sample *s)
{
	struct vsl_pool *p = &v->pool;
	const struct vsl_wcfg *c = &v->conf->w;
	struct ctl_workers *st = &p->stats;
	st->running = vsl_pool_alive(v);
	st->ready = count_current(v, WK_READY);
	st->busy = s->busy;
	st->idle = s->idle;
	st->target = p->target;
	st->min = c->cheaper_min;
	st->max = c->workers;
	st->generation = p->gen;
	st->backlog = s->backlog;
	st->rss = s->rss;
	st->flags = (p->reloading ? CTL_WORKERS_RELOADING : 0) |
		    (c->cheaper ? CTL_WORKERS_CHEAPER : 0) |
		    (c->algo == VSL_CHEAPER_BACKLOG ? CTL_WORKERS_BACKLOG : 0);
	char pkt[1 + sizeof(*st)];
	pkt[0] = (char)CTL_V_WORKERS;
	memcpy(pkt + 1, st, sizeof(*st));
	/* A lost report is repaired by the next one. */
	send(CTL_FD_CONTROL, pkt, sizeof(pkt), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void take_sample(struct vassal *v, struct vsl_sample *s)
{
	struct vsl_pool *p = &v->pool;
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < VSL_POOL_SLOTS; i++) {
		struct vsl_worker *w = &p->wk[i];
		if (!live(w))
			continue;
		uint64_t rss = 0;
		if (vsl_proc_rss(w->pid, &rss) == 0)
			w->rss = rss;
		s->rss += w->rss;
		if (!current(v, w))
			continue;
		s->running++;
		w->idle = w->state == WK_READY ? vsl_proc_idle(w->pid, p->listen_ino, v->n_listen) : -1;
		s->idle += w->idle == 0;
		s->busy += w->idle == 1;
	}
	for (unsigned i = 0; i < v->n_listen; i++) {
		uint32_t q;
		if (vsl_listen_queue(CTL_FD_LISTEN0 + (int)i, &q) == 0) {
			s->backlog_known = true;
			s->backlog += q;
		}
	}
}

static void recycle_fat(struct vassal *v)
{
	uint64_t limit = v->conf->w.reload_on_rss;
	for (size_t i = 0; limit > 0 && i < VSL_POOL_SLOTS; i++) {
		struct vsl_worker *w = &v->pool.wk[i];
		if (!current(v, w) || w->state != WK_READY || w->rss <= limit)
			continue;
		char why[160];
		snprintf(why, sizeof(why), "RSS %.1f MiB > reload-on-rss %.1f MiB: recycling",
			 (double)w->rss / MIB, (double)limit / MIB);
		snprintf(v->pool.stats.last, sizeof(v->pool.stats.last), "worker %u: %s", w->id,
			 why);
		v->pool.stats.rss_recycled++;
		retire(w, why);
	}
	fill(v);
}

/* The current generation's worker spawned last. */
static struct vsl_worker *last_spawned(struct vassal *v)
{
	struct vsl_worker *last = NULL;
	for (size_t i = 0; i < VSL_POOL_SLOTS; i++) {
		struct vsl_worker *w = &v->pool.wk[i];
		if (current(v, w) && (last == NULL || w->seq > last->seq))
			last = w;
	}
	return last;
}

static void run_cheaper(struct vassal *v, const struct vsl_sample *s)
{
	struct vsl_pool *p = &v->pool;
	struct vsl_decision d;
	vsl_cheaper_check(&v->conf->w, &p->cheaper, s, &d);
	if (d.why[0] != '\0') {
		log_info("cheaper: %s", d.why);
		snprintf(p->stats.last, sizeof(p->stats.last), "%s", d.why);
	}
	if (d.act == VSL_CHEAPER_SPAWN) {
		p->target = s->running + d.count;
		if (p->target > v->conf->w.workers)
			p->target = v->conf->w.workers;
		p->stats.cheaper_spawned += d.count;
		fill(v);
	} else if (d.act == VSL_CHEAPER_STOP) {
		struct vsl_worker *w = last_spawned(v);
		if (w == NULL)
			return;
		p->target = s->running > 0 ? s->running - 1 : 0;
		p->stats.cheaper_stopped++;
		retire(w, "stopped by cheaper");
	}
}

static void on_check(EV_P_ ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct vassal *v = container_of(t, struct vassal, pool.check_w);
	struct vsl_sample s;
	take_sample(v, &s);
	if (v->mode == VSL_RUN && v->pool.announced && !v->pool.reloading) {
		recycle_fat(v);
		if (v->conf->w.cheaper)
			run_cheaper(v, &s);
	}
	send_stats(v, &s);
}

/* ---- the pool as a whole ---- */

int vsl_pool_setup(struct vassal *v, struct err **err)
{
	struct vsl_pool *p = &v->pool;
	p->notify_fd = -1;
	p->wk = calloc(VSL_POOL_SLOTS, sizeof(*p->wk));
	if (p->wk == NULL)
		return err_set(err, ENOMEM, "worker slots");
	for (unsigned i = 0; i < v->n_listen; i++) {
		struct stat st;
		if (fstat(CTL_FD_LISTEN0 + (int)i, &st) < 0)
			return err_set(err, errno, "listening socket %u", i);
		p->listen_ino[i] = st.st_ino;
	}
	ev_timer_init(&p->respawn_w, on_respawn, 0., 0.);
	ev_timer_init(&p->check_w, on_check, 1., 1.);
	return bind_notify(v, err);
}

void vsl_pool_start(struct vassal *v)
{
	struct vsl_pool *p = &v->pool;
	p->gen = 1;
	p->target = v->conf->w.initial;
	p->stats.generation = 1;
	ev_timer_start(v->loop, &p->check_w);
	fill(v);
}

void vsl_pool_reload(struct vassal *v, struct vsl_conf *next)
{
	struct vsl_pool *p = &v->pool;
	if (v->mode != VSL_RUN) {
		vsl_conf_free(next);
		return;
	}
	if (p->reloading || !p->announced) {
		/* One at a time; the latest settings win. */
		if (next != NULL || !p->reload_queued) {
			vsl_conf_free(p->queued);
			p->queued = next;
		}
		p->reload_queued = true;
		log_info("reload queued until the %s", p->reloading ? "one in progress is done"
								     : "first workers are ready");
		return;
	}
	const struct vsl_wcfg *c = next != NULL ? &next->w : &v->conf->w;
	unsigned want = count_current(v, WK_STARTING) + count_current(v, WK_READY);
	if (!c->cheaper || want > c->workers)
		want = c->workers;
	if (want < c->cheaper_min)
		want = c->cheaper_min;
	p->stats.reloads++;
	p->next = next;
	p->prev_gen = p->gen;
	p->prev_target = p->target;
	p->gen = p->stats.generation + 1;
	p->stats.generation = p->gen;
	p->target = want;
	p->reloading = true;
	p->reload_started = ev_time();
	ev_timer_stop(v->loop, &p->respawn_w);
	log_info("reloading: starting %u new worker(s) (generation %u)%s", want, p->gen,
		 next != NULL ? " with the new config" : "");
	for (unsigned i = 0; i < want; i++) {
		_cleanup_err_ struct err *err = NULL;
		if (spawn_one(v, p->gen, &err) == NULL) {
			fail_reload(v, err_msg(err));
			return;
		}
	}
}

void vsl_pool_stop(struct vassal *v, bool graceful)
{
	struct vsl_pool *p = &v->pool;
	if (p->wk == NULL)
		return;
	ev_timer_stop(v->loop, &p->respawn_w);
	for (size_t i = 0; i < VSL_POOL_SLOTS; i++) {
		struct vsl_worker *w = &p->wk[i];
		if (!live(w))
			continue;
		if (graceful)
			retire(w, "stopping");
		else
			kill_now(w);
	}
}

void vsl_pool_end(struct vassal *v)
{
	struct vsl_pool *p = &v->pool;
	ev_timer_stop(v->loop, &p->respawn_w);
	ev_timer_stop(v->loop, &p->check_w);
	if (p->notify_fd >= 0)
		ev_io_stop(v->loop, &p->notify_w);
	for (size_t i = 0; p->wk != NULL && i < VSL_POOL_SLOTS; i++) {
		ev_io_stop(v->loop, &p->wk[i].exec_w);
		ev_timer_stop(v->loop, &p->wk[i].timer_w);
	}
}

void vsl_pool_free(struct vassal *v)
{
	struct vsl_pool *p = &v->pool;
	for (size_t i = 0; p->wk != NULL && i < VSL_POOL_SLOTS; i++)
		if (p->wk[i].exec_fd >= 0 && live(&p->wk[i]))
			close(steal_fd(&p->wk[i].exec_fd));
	free(p->wk);
	p->wk = NULL;
	if (p->notify_fd >= 0)
		close(steal_fd(&p->notify_fd));
	vsl_conf_free(steal_ptr(&p->next));
	vsl_conf_free(steal_ptr(&p->queued));
}
