/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The stats and control socket. A client may send one line within
 * REQUEST_WAIT seconds:
 *   stats                 the JSON document (also what a silent client gets,
 *                         as uWSGI's stats server does on connect)
 *   status                the same as a table, for humans
 *   reload|stop|start NAME
 *   GET / HTTP/1.x        the JSON document over HTTP, for curl
 * The reply is written and the connection closed. Clients are few and
 * bounded (EMP_STATS_CLIENTS); requests are bounded to one short line.
 *
 * `stats-http` is a second, read-only listener for monitoring: GET / gives
 * the same JSON, GET /metrics the Prometheus text; it takes no commands.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/json.h"
#include "emperor/internal.h"
#include "jail/jail.h"

#define REQUEST_WAIT 0.2
#define REQUEST_MAX 4096
#define CLIENT_DEADLINE 5.0

static void client_free(struct emp_stats_client *c)
{
	struct emp *e = c->emp;
	ev_io_stop(e->loop, &c->io);
	ev_timer_stop(e->loop, &c->timer);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	for (size_t i = 0; i < EMP_STATS_CLIENTS; i++)
		if (e->stats_clients[i] == c)
			e->stats_clients[i] = NULL;
	free(c);
}

/* The vassal's own report of its workers (CTL_V_WORKERS), or null. */
static void workers_json(struct json *j, const struct emp_vassal *v)
{
	if (!v->has_workers || v->pid == 0) {
		json_null(j);
		return;
	}
	const struct ctl_workers *w = &v->workers;
	json_obj_begin(j);
	json_key(j, "running"), json_uint(j, w->running);
	json_key(j, "ready"), json_uint(j, w->ready);
	json_key(j, "busy"), json_uint(j, w->busy);
	json_key(j, "idle"), json_uint(j, w->idle);
	json_key(j, "target"), json_uint(j, w->target);
	json_key(j, "min"), json_uint(j, w->min);
	json_key(j, "max"), json_uint(j, w->max);
	json_key(j, "generation"), json_uint(j, w->generation);
	json_key(j, "reloading"), json_bool(j, (w->flags & CTL_WORKERS_RELOADING) != 0);
	json_key(j, "backlog"), json_uint(j, w->backlog);
	json_key(j, "rss"), json_uint(j, w->rss);
	json_key(j, "spawned"), json_uint(j, w->spawned);
	json_key(j, "respawned"), json_uint(j, w->respawned);
	json_key(j, "reloads"), json_uint(j, w->reloads);
	json_key(j, "failed_reloads"), json_uint(j, w->failed_reloads);
	json_key(j, "rss_recycled"), json_uint(j, w->rss_recycled);
	json_key(j, "cheaper");
	if (w->flags & CTL_WORKERS_CHEAPER) {
		json_obj_begin(j);
		json_key(j, "algo"),
		    json_str(j, (w->flags & CTL_WORKERS_BACKLOG) ? "backlog" : "spare");
		json_key(j, "spawned"), json_uint(j, w->cheaper_spawned);
		json_key(j, "stopped"), json_uint(j, w->cheaper_stopped);
		json_obj_end(j);
	} else {
		json_null(j);
	}
	json_key(j, "last_decision"), json_str(j, w->last);
	json_obj_end(j);
}

static void vassal_json(struct json *j, struct emp_vassal *v)
{
	char ns[128], st[64];
	jail_format_clone_flags(v->clone_flags, ns, sizeof(ns));
	emp_format_status(v->last_status, v->has_status, st, sizeof(st));
	json_obj_begin(j);
	json_key(j, "name"), json_str(j, v->name);
	json_key(j, "file"), json_str(j, v->path);
	json_key(j, "state"), json_str(j, emp_state_name(v->state));
	json_key(j, "pid"), json_int(j, v->pid);
	json_key(j, "namespaces"), json_str(j, ns);
	json_key(j, "started"), json_int(j, v->pid ? v->spawned_wall : 0);
	json_key(j, "ready_ms");
	if (v->ready_time > 0)
		json_int(j, (int64_t)((v->ready_time - v->spawn_time) * 1000.0));
	else
		json_null(j);
	json_key(j, "restarts"), json_uint(j, v->restarts);
	json_key(j, "failures"), json_uint(j, v->failures);
	json_key(j, "last_exit"), json_str(j, v->has_status ? st : "");
	json_key(j, "rss"), json_uint(j, v->pid ? emp_rss_bytes(v->pid) : 0);
	json_key(j, "error"), json_str(j, v->error);
	json_key(j, "workers");
	workers_json(j, v);
	json_key(j, "sockets");
	json_arr_begin(j);
	for (size_t i = 0; i < v->n_socks; i++)
		json_str(j, v->socks[i].text);
	json_arr_end(j);
	json_obj_end(j);
}

int emp_stats_json(struct emp *e, struct buf *out)
{
	struct json j;
	json_init(&j, out);
	json_obj_begin(&j);
	json_key(&j, "emperor");
	json_obj_begin(&j);
	json_key(&j, "pid"), json_int(&j, getpid());
	json_key(&j, "started"), json_int(&j, e->started_wall);
	json_key(&j, "config"), json_str(&j, e->cfg.origin);
	json_key(&j, "rss"), json_uint(&j, emp_rss_bytes(getpid()));
	json_key(&j, "vassals"), json_uint(&j, e->n_vassals);
	json_key(&j, "max_vassals"), json_uint(&j, e->cfg.max_vassals);
	json_key(&j, "shutting_down"), json_bool(&j, e->shutting_down);
	json_obj_end(&j);
	json_key(&j, "vassals");
	json_arr_begin(&j);
	for (size_t i = 0; i < e->cfg.max_vassals; i++)
		if (e->vassals[i])
			vassal_json(&j, e->vassals[i]);
	json_arr_end(&j);
	json_key(&j, "router");
	rtr_stats_json(e->rtr, &j);
	json_key(&j, "tuntap");
	tt_stats_json(e->tt, &j);
	json_obj_end(&j);
	if (json_done(&j) < 0)
		return -1;
	return buf_putc(out, '\n');
}

static void format_age(int64_t since, char *out, size_t len)
{
	int64_t s = since ? (int64_t)time(NULL) - since : -1;
	if (s < 0)
		snprintf(out, len, "-");
	else if (s < 120)
		snprintf(out, len, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(out, len, "%lldm", (long long)s / 60);
	else
		snprintf(out, len, "%lldh", (long long)s / 3600);
}

int emp_stats_table(struct emp *e, struct buf *out)
{
	buf_printf(out, "%-20s %-9s %8s %-22s %6s %8s %9s %-7s %-16s\n", "NAME", "STATE", "PID",
		   "NAMESPACES", "UP", "RESTARTS", "RSS", "WORKERS", "LAST EXIT");
	for (size_t i = 0; i < e->cfg.max_vassals; i++) {
		struct emp_vassal *v = e->vassals[i];
		if (v == NULL)
			continue;
		char ns[128], st[64], up[32];
		jail_format_clone_flags(v->clone_flags, ns, sizeof(ns));
		emp_format_status(v->last_status, v->has_status, st, sizeof(st));
		format_age(v->pid ? v->spawned_wall : 0, up, sizeof(up));
		uint64_t rss = v->pid ? emp_rss_bytes(v->pid) : 0;
		char wk[24] = "-";
		if (v->has_workers && v->pid)
			snprintf(wk, sizeof(wk), "%u/%u", v->workers.ready, v->workers.target);
		buf_printf(out, "%-20s %-9s %8d %-22s %6s %8llu %8lluK %-7s %-16s\n", v->name,
			   emp_state_name(v->state), (int)v->pid, ns[0] ? ns : "-", up,
			   (unsigned long long)v->restarts, (unsigned long long)(rss >> 10), wk,
			   v->has_status ? st : "-");
		if (v->state == ST_BROKEN && v->error[0])
			buf_printf(out, "  ! %s\n", v->error);
	}
	return buf_printf(out, "%zu vassals\n", e->n_vassals);
}

/* One command line; the reply goes to @reply. Returns 0, or -1 on a
 * command error (the reply then starts with "error: "). */
int emp_command(struct emp *e, const char *line, struct buf *reply)
{
	char verb[16], name[EMP_NAME_MAX + 2];
	int n = sscanf(line, "%15s %65s", verb, name);
	if (n < 1 || !strcmp(verb, "stats"))
		return emp_stats_json(e, reply);
	if (!strcmp(verb, "status") && n == 1)
		return emp_stats_table(e, reply);
	static const struct {
		const char *verb;
		enum emp_event ev;
	} verbs[] = {{"reload", VE_CMD_RELOAD}, {"stop", VE_CMD_STOP}, {"start", VE_CMD_START}};
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (strcmp(verb, verbs[i].verb) != 0)
			continue;
		if (n != 2) {
			buf_printf(reply, "error: usage: %s NAME\n", verb);
			return -1;
		}
		struct emp_vassal *v = emp_vassal_find(e, name);
		if (v == NULL) {
			buf_printf(reply, "error: no vassal named '%s'\n", name);
			return -1;
		}
		log_info("emperor: %s %s requested on the control socket", verb, name);
		buf_printf(reply, "ok: %s %s\n", verb, name);
		emp_event(v, verbs[i].ev);
		return 0;
	}
	buf_printf(reply, "error: unknown command '%s' (stats, status, reload, stop, start)\n",
		   verb);
	return -1;
}

/* One metric over every vassal that reported its workers. */
static int worker_metric(struct emp *e, struct buf *o, const char *name, const char *type,
			 const char *help, uint64_t (*value)(const struct ctl_workers *))
{
	int rc = buf_printf(o, "# HELP imperium_workers_%s %s\n# TYPE imperium_workers_%s %s\n",
			    name, help, name, type);
	for (size_t i = 0; i < e->cfg.max_vassals; i++) {
		const struct emp_vassal *v = e->vassals[i];
		if (v && v->has_workers && v->pid)
			rc |= buf_printf(o, "imperium_workers_%s{vassal=\"%s\"} %llu\n", name,
					 v->name, (unsigned long long)value(&v->workers));
	}
	return rc;
}

static uint64_t w_running(const struct ctl_workers *w)
{
	return w->running;
}
static uint64_t w_busy(const struct ctl_workers *w)
{
	return w->busy;
}
static uint64_t w_idle(const struct ctl_workers *w)
{
	return w->idle;
}
static uint64_t w_rss(const struct ctl_workers *w)
{
	return w->rss;
}
static uint64_t w_backlog(const struct ctl_workers *w)
{
	return w->backlog;
}
static uint64_t w_reloads(const struct ctl_workers *w)
{
	return w->reloads;
}
static uint64_t w_failed(const struct ctl_workers *w)
{
	return w->failed_reloads;
}
static uint64_t w_respawned(const struct ctl_workers *w)
{
	return w->respawned;
}

static int worker_metrics(struct emp *e, struct buf *o)
{
	return worker_metric(e, o, "running", "gauge", "Worker processes alive.", w_running) |
	       worker_metric(e, o, "busy", "gauge", "Workers busy at the last check.", w_busy) |
	       worker_metric(e, o, "idle", "gauge", "Workers waiting for a connection.", w_idle) |
	       worker_metric(e, o, "rss_bytes", "gauge", "Workers' summed RSS.", w_rss) |
	       worker_metric(e, o, "backlog", "gauge", "Connections waiting in the accept queues.",
			     w_backlog) |
	       worker_metric(e, o, "reloads_total", "counter", "Graceful reloads.", w_reloads) |
	       worker_metric(e, o, "failed_reloads_total", "counter",
			     "Reloads whose new workers failed.", w_failed) |
	       worker_metric(e, o, "respawned_total", "counter", "Workers respawned after dying.",
			     w_respawned);
}

/* Vassal figures as Prometheus text. */
static int vassal_metrics(struct emp *e, struct buf *o)
{
	int rc = buf_puts(o, "# HELP imperium_vassal_up 1 when the vassal is running.\n"
			     "# TYPE imperium_vassal_up gauge\n");
	for (size_t i = 0; i < e->cfg.max_vassals; i++)
		if (e->vassals[i])
			rc |= buf_printf(o, "imperium_vassal_up{vassal=\"%s\"} %d\n",
					 e->vassals[i]->name, e->vassals[i]->state == ST_RUNNING);
	rc |= buf_puts(o, "# HELP imperium_vassal_restarts_total Restarts of the vassal.\n"
			  "# TYPE imperium_vassal_restarts_total counter\n");
	for (size_t i = 0; i < e->cfg.max_vassals; i++)
		if (e->vassals[i])
			rc |= buf_printf(o, "imperium_vassal_restarts_total{vassal=\"%s\"} %llu\n",
					 e->vassals[i]->name,
					 (unsigned long long)e->vassals[i]->restarts);
	return rc | worker_metrics(e, o);
}

/* A GET: "/" gives the JSON, "/metrics" (stats-http only) Prometheus. */
static void http_reply(struct emp_stats_client *c)
{
	struct emp *e = c->emp;
	_cleanup_buf_ struct buf body = BUF_INIT;
	const char *path = c->in.data + 4, *type = "application/json";
	const char *status = "200 OK";
	if (c->http_only && !strncmp(path, "/metrics ", 9)) {
		type = "text/plain; version=0.0.4";
		vassal_metrics(e, &body);
		rtr_stats_prometheus(e->rtr, &body);
		tt_stats_prometheus(e->tt, &body);
	} else if (!strncmp(path, "/ ", 2) || !c->http_only) {
		emp_stats_json(e, &body);
	} else {
		status = "404 Not Found";
		type = "text/plain";
		buf_puts(&body, "not found: try / or /metrics\n");
	}
	buf_printf(&c->out,
		   "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
		   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		   status, type, body.len);
	buf_append(&c->out, body.data, body.len);
}

static void start_reply(struct emp_stats_client *c)
{
	struct emp *e = c->emp;
	c->replying = true;
	ev_timer_stop(e->loop, &c->timer);
	ev_timer_set(&c->timer, CLIENT_DEADLINE, 0.);
	ev_timer_start(e->loop, &c->timer);
	if (c->in.len >= 4 && !strncmp(c->in.data, "GET ", 4)) {
		http_reply(c);
	} else if (c->http_only) {
		buf_puts(&c->out, "HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\n");
	} else {
		char *nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL;
		if (nl)
			*nl = '\0';
		emp_command(e, c->in.len ? c->in.data : "", &c->out);
	}
	ev_io_stop(e->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(e->loop, &c->io);
}

/* A command is one line; an HTTP request ends with an empty line (its
 * headers must be read, or closing would reset the connection). */
static bool request_complete(const struct emp_stats_client *c)
{
	if (c->in.len >= 4 && !strncmp(c->in.data, "GET ", 4))
		return memmem(c->in.data, c->in.len, "\r\n\r\n", 4) ||
		       memmem(c->in.data, c->in.len, "\n\n", 2);
	return !c->http_only && memchr(c->in.data, '\n', c->in.len);
}

static void on_client_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct emp_stats_client *c = container_of(w, struct emp_stats_client, io);
	if (c->replying) {
		ssize_t n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0)
			c->sent += (size_t)n;
		if (n <= 0 || c->sent == c->out.len)
			client_free(c);
		return;
	}
	char chunk[256];
	ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && buf_append(&c->in, chunk, (size_t)n) < 0) {
		client_free(c); /* more than REQUEST_MAX: not a client of ours */
		return;
	}
	if (n <= 0 || request_complete(c))
		start_reply(c);
}

static void on_client_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct emp_stats_client *c = container_of(w, struct emp_stats_client, timer);
	if (c->replying)
		client_free(c); /* a reader too slow to take its reply */
	else
		start_reply(c); /* said nothing: it gets the JSON */
}

static void accept_client(struct emp *e, int lfd, bool http_only)
{
	struct ev_loop *loop = e->loop;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	size_t slot = 0;
	while (slot < EMP_STATS_CLIENTS && e->stats_clients[slot])
		slot++;
	struct emp_stats_client *c = slot < EMP_STATS_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
	if (c == NULL) {
		close(fd);
		return;
	}
	c->emp = e;
	c->fd = fd;
	c->in.max = REQUEST_MAX;
	c->http_only = http_only;
	e->stats_clients[slot] = c;
	ev_io_init(&c->io, on_client_io, fd, EV_READ);
	ev_timer_init(&c->timer, on_client_timer, http_only ? CLIENT_DEADLINE : REQUEST_WAIT, 0.);
	ev_io_start(loop, &c->io);
	ev_timer_start(loop, &c->timer);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct emp *e = container_of(w, struct emp, stats_io);
	accept_client(e, e->stats_fd, false);
}

static void on_accept_http(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct emp *e = container_of(w, struct emp, stats_http_io);
	accept_client(e, e->stats_http_fd, true);
}

static int start_http(struct emp *e, struct err **err)
{
	if (!e->cfg.has_stats_http)
		return 0;
	e->stats_http_fd = addr_listen(&e->cfg.stats_http, 64, true, 0666, err);
	if (e->stats_http_fd < 0)
		return -1;
	ev_io_init(&e->stats_http_io, on_accept_http, e->stats_http_fd, EV_READ);
	ev_io_start(e->loop, &e->stats_http_io);
	log_info("emperor: stats over HTTP on %s (/ and /metrics)", e->cfg.stats_http.text);
	return 0;
}

int emp_stats_start(struct emp *e, struct err **err)
{
	e->stats_fd = -1;
	e->stats_http_fd = -1;
	if (start_http(e, err) < 0)
		return -1;
	if (!e->cfg.has_stats)
		return 0;
	e->stats_fd = addr_listen(&e->cfg.stats, 16, true, 0600, err);
	if (e->stats_fd < 0)
		return -1;
	ev_io_init(&e->stats_io, on_accept, e->stats_fd, EV_READ);
	ev_io_start(e->loop, &e->stats_io);
	log_info("emperor: stats and control on %s", e->cfg.stats.text);
	return 0;
}

void emp_stats_stop(struct emp *e)
{
	for (size_t i = 0; i < EMP_STATS_CLIENTS; i++)
		if (e->stats_clients[i])
			client_free(e->stats_clients[i]);
	if (e->stats_http_fd >= 0) {
		ev_io_stop(e->loop, &e->stats_http_io);
		close(e->stats_http_fd);
		e->stats_http_fd = -1;
	}
	if (e->stats_fd >= 0) {
		ev_io_stop(e->loop, &e->stats_io);
		close(e->stats_fd);
		e->stats_fd = -1;
		if (addr_is_unix(&e->cfg.stats) && e->cfg.stats.text[0] != '@') {
			const char *p = e->cfg.stats.text;
			unlink(strncmp(p, "unix:", 5) == 0 ? p + 5 : p);
		}
	}
}
