/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared inside emperor/: the daemon's context (struct emp), its config, the
 * vassal record and the lifecycle's states and events. One libev loop drives
 * it all; every watcher is embedded in the struct that owns it.
 */
#ifndef EMPEROR_INTERNAL_H
#define EMPEROR_INTERNAL_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/addr.h"
#include "core/buf.h"
#include "core/cfg.h"
#include "core/ctl.h"
#include "core/err.h"
#include "core/log.h"
#include "router/router.h"
#include "tuntap/tuntap.h"
#include "vassal/vassal.h"

#define EMP_NAME_MAX 64
#define EMP_MAX_DIRS 16
#define EMP_MAX_HOOKS 64
#define EMP_LINE_MAX 4096      /* captured output is logged in lines up to this */
#define EMP_LOYAL_AFTER_MS 10000 /* running this long resets the back-off */
#define EMP_STATS_CLIENTS 16
/* Keys a vassal may claim through its subscription socket (vsl_config_claims):
 * the router keeps at most this many per vassal (RTR_LOCAL_KEYS). */
#define EMP_MAX_CLAIMS RTR_LOCAL_KEYS

struct emp_config {
	char *origin;                 /* emperor.ini path, or "--vassals" */
	char *dirs[EMP_MAX_DIRS];     /* `vassals`, absolute paths */
	size_t n_dirs;
	unsigned long clone_flags;    /* `use-clone` */
	uint64_t throttle_ms;         /* `throttle`, first back-off step */
	uint64_t max_throttle_ms;     /* `max-throttle` */
	uint64_t stop_timeout_ms;     /* `stop-timeout`: SIGTERM .. SIGKILL */
	uint64_t heartbeat_timeout_ms;/* `heartbeat-timeout`: silence before a vassal is hung */
	uint64_t max_vassals;         /* `max-vassals` */
	bool has_stats;
	struct addr stats;            /* `stats` */
	char *hooks[EMP_MAX_HOOKS];   /* `exec-as-root`, run at start */
	size_t n_hooks;
	struct log_chain *log_chain;  /* `log-encoder`, or the default format */
	char *run_dir;                /* `run-dir`, default /run/imperium */
	char *vassal_bin;             /* the vassal program, beside the emperor */
	bool has_stats_http;
	struct addr stats_http;       /* `stats-http`: JSON at /, Prometheus at /metrics */
	struct rtr_config rtr;        /* the router's keys */
	struct tt_config tt;          /* the tuntap router's keys */
};

enum emp_state {
	ST_BROKEN,   /* its file does not parse or validate; no process */
	ST_WAITING,  /* back-off before the next spawn */
	ST_STARTING, /* spawned, not ready yet */
	ST_RUNNING,  /* ready */
	ST_STOPPING, /* asked to stop, waiting for it to exit */
	ST_STOPPED,  /* stopped by the operator; no process */
	ST__COUNT
};

enum emp_event {
	VE_FILE_CHANGED, /* the file appeared, changed or was touched */
	VE_FILE_GONE,    /* the file was removed or renamed away */
	VE_TIMER,        /* the vassal's timer: back-off over, stop or silence timeout */
	VE_READY,
	VE_HEARTBEAT,
	VE_EXIT,         /* the process is gone (status in v->last_status) */
	VE_CMD_RELOAD,   /* `emperor reload NAME`, SIGHUP */
	VE_CMD_STOP,     /* `emperor stop NAME` */
	VE_CMD_START,    /* `emperor start NAME` */
	VE_SHUTDOWN,     /* the emperor is going away */
	VE__COUNT
};

/* What a stopping vassal does once its process is gone. */
enum emp_after_stop { AFTER_RESPAWN, AFTER_IDLE, AFTER_REMOVE };

struct emp;

struct emp_vassal {
	struct emp *emp;
	char name[EMP_NAME_MAX + 1];
	char *path;                   /* its file */
	enum emp_state state;
	enum emp_after_stop after_stop;

	/* what the file said last time it was read */
	uint64_t fingerprint;         /* content hash mixed with mtime */
	uint64_t content_hash;        /* the content alone: a touch keeps it */
	unsigned change;              /* enum vsl_change mask of the last load */
	bool touched;                 /* the last load: same content, new mtime */
	struct cfg *cfg;              /* resolved, validated; NULL when broken */
	unsigned long clone_flags;
	uid_t uid;                    /* the tenant's ids, for user namespace maps */
	gid_t gid;
	struct log_chain *log_chain;  /* its own `log-encoder`, or NULL */
	struct addr want[VSL_MAX_SOCKETS]; /* `socket` entries of the file */
	size_t n_want;
	struct addr socks[VSL_MAX_SOCKETS]; /* bound in the host, handed down */
	int sock_fds[VSL_MAX_SOCKETS];
	size_t n_socks;
	char error[512];              /* why it is broken or last failed to start */
	char *claims[EMP_MAX_CLAIMS]; /* keys it may claim on its socket (owned) */
	size_t n_claims;
	struct rtr_local *sub;        /* its subscription socket, while it runs */
	struct tt_vassal_net net;     /* its tuntap keys, when has_net */
	bool has_net;                 /* the file has `tuntap-device` */
	bool tt_local;                /* this spawn's SOCKET is our tuntap router's */
	struct tt_peer *tt_peer;      /* its tun device on our router, while attached */

	/* the running process */
	pid_t pid;
	int ctl_fd, out_fd, err_fd;
	ev_io ctl_io, out_io, err_io;
	ev_child child;
	ev_timer timer;
	struct buf out_line, err_line;
	struct ctl_workers workers;   /* the vassal's last CTL_V_WORKERS */
	bool has_workers;
	double spawn_time;            /* ev_time() at spawn */
	double ready_time;            /* ev_time() at ready; 0 until then */
	int64_t spawned_wall;         /* unix time of the spawn, for stats */

	/* history */
	uint64_t restarts;
	unsigned failures;            /* consecutive exits before being loyal */
	bool has_status;
	int last_status;              /* wait status */
};

struct emp_stats_client {
	struct emp *emp;
	int fd;
	ev_io io;
	ev_timer timer;
	struct buf in, out;
	size_t sent;
	bool replying;
	bool http_only;               /* a stats-http client: GET / and /metrics */
};

struct emp_watch {
	int wd;
	const char *dir;              /* borrowed from emp_config.dirs */
};

struct emp {
	struct ev_loop *loop;
	struct emp_config cfg;
	struct emp_vassal **vassals;  /* cfg.max_vassals slots, NULL = free */
	size_t n_vassals;
	int inotify_fd;
	ev_io inotify_io;
	struct emp_watch watches[EMP_MAX_DIRS];
	ev_timer created_timer;       /* files created but not yet closed */
	ev_signal sig_term, sig_int, sig_hup;
	ev_timer shutdown_timer;
	int shutdown_rounds;          /* SIGKILL rounds after stop-timeout */
	bool shutting_down;
	int stats_fd;
	ev_io stats_io;
	struct emp_stats_client *stats_clients[EMP_STATS_CLIENTS];
	int stats_http_fd;
	ev_io stats_http_io;
	struct rtr *rtr;              /* the router (always present: local vassals subscribe) */
	struct tt *tt;                /* the tuntap router, NULL without `tuntap-router` */
	int64_t started_wall;
};

/* config.c */
int emp_config_load(struct emp_config *c, const char *path, struct err **err);
int emp_config_defaults(struct emp_config *c, const char *vassals_dir, struct err **err);
void emp_config_free(struct emp_config *c);
/* Locate the vassal program beside the running emperor binary. */
int emp_config_find_vassal(struct emp_config *c, struct err **err);

/* table.c */
struct emp_vassal *emp_vassal_find(struct emp *e, const char *name);
struct emp_vassal *emp_vassal_add(struct emp *e, const char *name, const char *path,
				  struct err **err);
void emp_vassal_remove(struct emp_vassal *v);

/* lifecycle.c */
void emp_event(struct emp_vassal *v, enum emp_event ev);
/* The callback of every vassal's timer: feeds VE_TIMER to the lifecycle. */
void emp_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
const char *emp_state_name(enum emp_state s);
const char *emp_event_name(enum emp_event ev);
uint64_t emp_backoff_ms(const struct emp_config *c, unsigned failures);
void emp_shutdown(struct emp *e);

/* load.c: (re)read a vassal's file into v->cfg, sockets and flags */
/* Returns 0 (with *changed false when the file's content and mtime are as
 * last read: nothing to do) or -1 with *err (the previous config stays). */
int emp_vassal_load(struct emp_vassal *v, bool *changed, struct err **err);
void emp_vassal_unload(struct emp_vassal *v);
void emp_vassal_close_sockets(struct emp_vassal *v);
/* Make the bound sockets match v->want: reuse ours, take over those of a
 * vassal on its way out (a renamed file), bind the rest. 0 or -1. */
int emp_vassal_bind(struct emp_vassal *v, struct err **err);

/* spawn.c */
int emp_spawn(struct emp_vassal *v, struct err **err);
void emp_send(struct emp_vassal *v, uint8_t cmd);
/* Hand the running vassal its new resolved config (CTL_E_CONFIG). 0 or -1. */
int emp_send_config(struct emp_vassal *v, struct err **err);
void emp_close_io(struct emp_vassal *v);

/* watch.c */
int emp_watch_start(struct emp *e, struct err **err);
void emp_watch_stop(struct emp *e);
bool emp_name_from_file(const char *file, char *name, size_t len);

/* stats.c */
int emp_stats_start(struct emp *e, struct err **err);
void emp_stats_stop(struct emp *e);
int emp_stats_json(struct emp *e, struct buf *out);
int emp_stats_table(struct emp *e, struct buf *out);
int emp_command(struct emp *e, const char *line, struct buf *reply);

/* cli.c */
int emp_cli(int argc, char **argv);

/* proc.c: process facts from /proc */
uint64_t emp_rss_bytes(pid_t pid);
void emp_format_status(int status, bool has, char *out, size_t len);

#endif
