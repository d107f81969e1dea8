/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared inside vassal/ only: the vassal program's one context struct (the
 * settings it read from its config, the app it runs and the watchers of its
 * loop), the functions main.c, app.c, loop.c and subscribe.c call on each
 * other, and the pure parsers of the subscription keys that config.c holds
 * (so that the emperor's validation and the unit tests share them).
 */
#ifndef VASSAL_INTERNAL_H
#define VASSAL_INTERNAL_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/cfg.h"
#include "core/ctl.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/sign.h"
#include "core/subpkt.h"
#include "tuntap/tuntap.h"
#include "vassal/vassal.h"

/* `heartbeat`: seconds between CTL_V_HEARTBEAT messages. */
#define VSL_HEARTBEAT_MIN 1
#define VSL_HEARTBEAT_MAX 3600
#define VSL_HEARTBEAT_DEFAULT 5

/* `subscribe-freq`: seconds between refreshes (after the first two sends). */
#define VSL_SUBSCRIBE_FREQ_MIN 1
#define VSL_SUBSCRIBE_FREQ_MAX 3600
#define VSL_SUBSCRIBE_FREQ_DEFAULT 10

/* Bounds of subscribe2 numbers. */
#define VSL_SUB_WEIGHT_MAX 65535
#define VSL_SUB_BACKUP_MAX 255

/* Distinct signing keys a vassal holds (one per KEYFILE path). */
#define VSL_MAX_SIGN_KEYS VSL_MAX_SUBSCRIPTIONS

/* `--local-server`: the emperor's own subscription servers. */
#define VSL_MAX_LOCAL_SERVERS 16

/* Keys announced at run time, once `@FILE` key files are read. */
#define VSL_MAX_SUB_TARGETS 1024
#define VSL_SUB_KEYFILE_MAX (64 * 1024) /* bytes */

/* Which key a subscription comes from. */
enum vsl_sub_kind {
	VSL_SUB_DOMAIN, /* `domain = NAME`: through the emperor's --subscribe-fd */
	VSL_SUB_TO,	/* `subscribe-to = [ANNOUNCE=]SERVER:KEY[,MODIFIER1[,DIGEST:KEYFILE]]` */
	VSL_SUB_TWO	/* `subscribe2 = name=value,...` */
};

/*
 * One parsed `domain`, `subscribe-to` or `subscribe2` value. Every string
 * points into @buf (owned, freed by vsl_sub_clear) and is NULL when absent.
 */
struct vsl_sub {
	enum vsl_sub_kind kind;
	char *buf;
	const char *server;  /* "host:port", "[v6]:port", "/path" or "@name"; NULL: domain */
	const char *key;     /* the key; with key_file, the path of a file of keys */
	bool key_file;	     /* subscribe-to's `@FILE`: `key[,modifier1]` lines */
	const char *address; /* announced address; NULL: the text of sockets[socket] */
	unsigned socket;     /* 0-based index into the vassal's sockets */
	uint8_t modifier1, modifier2;
	uint64_t weight, backup; /* weight: 1 for a domain, else 0 as uWSGI sends */
	bool inactive;
	const char *check; /* send only while this file exists */
	const char *sni_key, *sni_crt, *sni_ca, *proto, *algo, *vassal;
	const char *sign_digest; /* DIGEST of `DIGEST:KEYFILE` (a known OpenSSL digest); NULL: unsigned */
	const char *sign_key;	 /* KEYFILE: an absolute path, read before the jail */
};

/*
 * vsl_sub_parse - parse one value of @kind into *out (zeroed first). Pure:
 * opens nothing (a key file is only named). Returns 0, or -1 with *err
 * saying why (the caller adds "FILE:LINE: KEY"); *out is then empty.
 */
int vsl_sub_parse(enum vsl_sub_kind kind, const char *value, struct vsl_sub *out, struct err **err);

/* vsl_sub_kind_of - the kind of a config key; false when it is not one of
 * `domain`, `subscribe-to`, `subscribe2`. */
bool vsl_sub_kind_of(const char *key, enum vsl_sub_kind *kind);

/* vsl_sub_clear - free what vsl_sub_parse allocated; *s becomes empty. */
void vsl_sub_clear(struct vsl_sub *s);

/* vsl_sub_key_ok - 1..SUBPKT_KEY_MAX bytes, each > 0x20 and not 0x7f. */
bool vsl_sub_key_ok(const char *p, size_t len);

/*
 * vsl_sub_keyline - one line of a key file (NUL-terminated, newline
 * removed, trimmed in place): `key[,modifier1]`; blank lines and lines
 * starting with '#' are skipped. @dflt_modifier1 applies when the line has
 * none. Returns 1 with *key (pointing into @line) and *modifier1 set, 0 for
 * a line to skip, -1 with *err.
 */
int vsl_sub_keyline(char *line, uint8_t dflt_modifier1, const char **key, uint8_t *modifier1,
		    struct err **err);

/*
 * vsl_sub_fill - the packet struct announcing @s: @key (a key of its key
 * file, or s->key when NULL) at @address, with @notify (NULL: none; never
 * sent for a domain). cores 1, load 0; strings point into the arguments.
 */
void vsl_sub_fill(const struct vsl_sub *s, const char *key, const char *address, const char *notify,
		  struct subpkt *out);

/* ---- signing (subspec.c) ---- */

/* A private key read before the jail, named by its path. */
struct vsl_sign_key {
	char *path;	      /* owned */
	struct sign_key *key; /* owned: sign_key_free */
};

/* Every distinct signing key of a config, held by the vassal master. */
struct vsl_keyring {
	struct vsl_sign_key keys[VSL_MAX_SIGN_KEYS];
	size_t n;
};

/* A key file the emperor opened for the vassal: `--sign-key PATH=FD`. */
struct vsl_key_fd {
	const char *path; /* borrowed: the argument */
	int fd;		  /* read-only, a regular file; the caller closes it */
};

/*
 * vsl_keyring_load - read the private key of every distinct KEYFILE of the
 * subscriptions of validated config @c into @r (empty before), each from
 * its descriptor among @fds (@n_fds, distinct paths), which the emperor
 * opened as root in the host's view: the vassal's own root may not read the
 * file (a user namespace), and the jail may hide it. Reads each from its
 * start, bounded to SIGN_FILE_MAX, and wipes the text. Borrows the fds.
 * Returns 0, or -1 with *err "FILE:LINE: KEY: sign: PATH: why" (no
 * descriptor for PATH, not a regular file, too large, not an RSA private
 * key), or "--sign-key PATH: not a signing key of FILE" when a descriptor
 * is left over. @r then holds the keys read so far: free it.
 */
int vsl_keyring_load(struct vsl_keyring *r, const struct cfg *c, const struct vsl_key_fd *fds,
		     size_t n_fds, struct err **err);

/* vsl_keyring_find - the key read from @path, or NULL. */
const struct sign_key *vsl_keyring_find(const struct vsl_keyring *r, const char *path);

/* vsl_keyring_free - free every key (its memory cleared); @r becomes empty. */
void vsl_keyring_free(struct vsl_keyring *r);

/*
 * vsl_sub_next_unix - the `unix` value of the next signed packet to one
 * target: @now, but strictly above *@last (the value sent before, 0 for
 * none), since routers want a strictly increasing counter per key and node.
 * Stores the result in *@last and returns it.
 */
uint64_t vsl_sub_next_unix(uint64_t *last, uint64_t now);

/*
 * vsl_sub_build_signed - the packet for @p (its unsubscribe flag decides
 * modifier2), with `unix` = vsl_sub_next_unix(@last, @now, plus 1 for an
 * unsubscribe as uWSGI sends), signed with @k and @md, into @out (reset
 * first). Returns the length, or -1 with *err (*@last unchanged then).
 */
ssize_t vsl_sub_build_signed(struct buf *out, const struct subpkt *p, uint64_t *last, uint64_t now,
			     const struct sign_key *k, const EVP_MD *md, struct err **err);

/* ---- workers, cheaper and memory limits: settings (wcfg.c) ---- */

#define VSL_MAX_WORKERS 256

enum vsl_cheaper_algo { VSL_CHEAPER_SPARE, VSL_CHEAPER_BACKLOG };

/* When a freshly spawned worker counts as ready. */
enum vsl_ready_mode {
	VSL_READY_EXEC,  /* exec'd and still alive after ready_delay_ms (or READY=1 earlier) */
	VSL_READY_NOTIFY /* only READY=1 on $NOTIFY_SOCKET (sd_notify) counts */
};

/*
 * Everything the worker keys say, defaults filled in. Sizes are bytes, 0
 * meaning "no limit"; durations are milliseconds.
 */
struct vsl_wcfg {
	unsigned workers;	    /* `workers` (alias `processes`), default 1: the most that run */
	bool cheaper;		    /* `cheaper` was given: the count adapts */
	unsigned cheaper_min;	    /* `cheaper`: the fewest (1..workers-1) */
	unsigned initial;	    /* `cheaper-initial`, default cheaper_min */
	unsigned step;		    /* `cheaper-step`, default 1 */
	enum vsl_cheaper_algo algo; /* `cheaper-algo`, default spare */
	unsigned overload;	    /* `cheaper-overload`: checks (one a second), default 3 */
	unsigned backlog;	    /* `cheaper-backlog`: queued connections, default 1 */
	uint64_t rss_soft;	    /* `cheaper-rss-limit-soft` */
	uint64_t rss_hard;	    /* `cheaper-rss-limit-hard` */
	uint64_t reload_on_rss;	    /* `reload-on-rss`: one worker's RSS */
	uint64_t mercy_ms;	    /* `reload-mercy` (bare number: seconds), default 30 s */
	enum vsl_ready_mode ready;  /* `worker-ready = exec | notify`, default exec */
	uint64_t ready_delay_ms;    /* `worker-ready-delay` (bare: ms), default 100 ms */
	uint64_t ready_timeout_ms;  /* `worker-ready-timeout` (bare: s), default 60 s */
};

/*
 * vsl_wcfg_read - read and check every worker key of @c into *out (defaults
 * for the absent ones). Also checks the keys against each other (cheaper <
 * workers, initial within [cheaper, workers], soft < hard, cheaper-* keys
 * only with `cheaper`, `cheaper-algo = backlog` only with a TCP socket).
 * Returns 0, or -1 with *err "FILE:LINE: KEY: why".
 */
int vsl_wcfg_read(const struct cfg *c, struct vsl_wcfg *out, struct err **err);

/* The worker keys, NULL-terminated (for the known-key list). */
extern const char *const vsl_wcfg_keys[];

/* ---- cheaper: the decision of one check (cheaper.c, pure) ---- */

/* What the workers looked like at one check (once a second). */
struct vsl_sample {
	unsigned running;    /* live workers of the current generation, starting ones included */
	unsigned busy, idle; /* of those, by vsl_proc_idle; unknown ones are neither */
	bool backlog_known;  /* at least one TCP listener answered TCP_INFO */
	uint32_t backlog;    /* connections waiting in the accept queues, summed */
	uint64_t rss;	     /* the workers' RSS, summed, bytes */
};

/* Counters kept between checks; zero it before the first. */
struct vsl_cheaper {
	unsigned over_ticks; /* consecutive checks asking for more workers */
	unsigned idle_ticks; /* consecutive checks with workers to spare */
	bool soft_blocked;   /* the last check wanted to grow but RSS >= soft */
};

enum vsl_cheaper_act { VSL_CHEAPER_NONE, VSL_CHEAPER_SPAWN, VSL_CHEAPER_STOP };

struct vsl_decision {
	enum vsl_cheaper_act act;
	unsigned count; /* workers to spawn or stop (stop: always 1) */
	char why[200];	/* "" or the line to log, with the figures */
};

/*
 * vsl_cheaper_check - one check of @w's policy over @s, updating @st.
 * Only meaningful with w->cheaper. Rules, in order:
 *   1. rss_hard and rss >= rss_hard and running > 1: stop one;
 *   2. running < cheaper_min: spawn up to cheaper_min (unless rss >= soft);
 *   3. spare: every worker busy for `overload` checks: spawn `step` (at most
 *      up to `workers`; not while rss >= soft); backlog: backlog > `backlog`
 *      for `overload` checks, likewise;
 *   4. more than cheaper_min running and, for `overload` checks, at least
 *      two idle workers or none busy (backlog: and nothing queued): stop one.
 * why is set for every spawn and stop, and once when the soft limit starts
 * holding a spawn back.
 */
void vsl_cheaper_check(const struct vsl_wcfg *w, struct vsl_cheaper *st, const struct vsl_sample *s,
		       struct vsl_decision *d);

/* ---- facts from /proc and the kernel (procfs.c) ---- */

/*
 * vsl_proc_idle - is @pid waiting for a new connection? It is idle when it is
 * blocked in accept/accept4 on, or in poll/ppoll/select/pselect6/epoll_wait/
 * epoll_pwait/epoll_pwait2 over a set including, one of the listening sockets
 * whose inodes are @listen[0..n) (found through /proc/PID/syscall, its fd
 * links, its memory for poll and select sets, /proc/PID/fdinfo for epoll).
 * Returns 0 idle, 1 busy (running, or blocked in anything else), -1 unknown
 * with errno (no permission, gone).
 */
int vsl_proc_idle(pid_t pid, const ino_t *listen, size_t n);

/* vsl_listen_queue - connections waiting to be accepted on listening TCP
 * socket @fd (TCP_INFO). Returns 0, or -1 with errno (ENOTSUP for a socket
 * that is not a listening TCP socket). */
int vsl_listen_queue(int fd, uint32_t *queued);

/* What the loop is doing. */
enum vsl_mode {
	VSL_RUN,     /* serving: dead workers are respawned */
	VSL_STOPPING /* graceful stop: exit 0 once every worker is gone */
};

/* The subscription client (subscribe.c); opaque outside it. */
struct vsl_sub_target;
struct vsl_sub_server;

struct vsl_subs {
	struct vsl_sub *specs; /* parsed entries, owning their strings */
	size_t n_specs;
	struct vsl_sub_target *targets; /* one per announced key */
	size_t n_targets;
	struct vsl_sub_server *servers; /* distinct servers, for log-once errors */
	size_t n_servers;
	int udp4_fd, udp6_fd, unix_fd; /* unconnected senders, -1 when unused */
	int domain_fd;		       /* --subscribe-fd, -1 when absent */
	struct buf scratch;	       /* a signed packet being sent */
	bool domain_failing;	       /* an error on domain_fd was logged */
	int notify_fd;		       /* bound `subscription-notify-socket`, or -1 */
	char *notify_path;	       /* owned copy of that path, or NULL */
	unsigned freq;		       /* seconds */
	bool unsub_on_reload;
	bool subscribed; /* sent since the last start and not unsubscribed */
	ev_timer timer_w;
	ev_io notify_w;
};

#define VSL_SUBS_INIT                                                                              \
	{                                                                                          \
		.udp4_fd = -1, .udp6_fd = -1, .unix_fd = -1, .domain_fd = -1, .notify_fd = -1      \
	}

/* The settings workers are spawned with: one validated config and what was
 * read from it. A reload with a new config holds two of these. */
struct vsl_conf {
	struct cfg *cfg;    /* owned */
	char **argv;	    /* `exec`, split into words */
	const char *chdir;  /* `chdir` (points into cfg), default "/" */
	unsigned heartbeat; /* seconds */
	struct vsl_wcfg w;
};

/*
 * vsl_conf_new - the settings of validated config @cfg (taken: freed on
 * failure too), checking that it names @n_listen sockets (the emperor bound
 * and passed exactly those). Returns the settings, or NULL with *err.
 */
struct vsl_conf *vsl_conf_new(struct cfg *cfg, unsigned n_listen, struct err **err);
void vsl_conf_free(struct vsl_conf *c);

/* ---- the workers (workers.c) ---- */

/* Slots: a full generation, the one it replaces, and workers being retired. */
#define VSL_POOL_SLOTS (2 * VSL_MAX_WORKERS + 32)

enum vsl_wk_state { WK_FREE, WK_STARTING, WK_READY, WK_STOPPING };

struct vassal;

struct vsl_worker {
	struct vassal *v;
	enum vsl_wk_state state;
	pid_t pid;
	unsigned id;	/* its number in the log (1, 2, ...; reused when free) */
	unsigned gen;	/* the generation it belongs to */
	uint64_t seq;	/* spawn order: the highest is the last spawned */
	int exec_fd;	/* the exec report pipe while starting, else -1 */
	bool exec_done; /* the child exec'd the app */
	bool killed;	/* SIGKILL was sent */
	ev_io exec_w;
	ev_timer timer_w; /* starting: ready delay or deadline; stopping: reload-mercy */
	double spawned_at, ready_at;
	uint64_t rss; /* at the last check */
	int idle;     /* vsl_proc_idle at the last check: 0 idle, 1 busy, -1 unknown */
};

struct vsl_pool {
	struct vsl_worker *wk; /* VSL_POOL_SLOTS */
	unsigned gen;	       /* the current generation */
	unsigned prev_gen;     /* while reloading: the generation being replaced */
	unsigned target;       /* workers the current generation should have */
	unsigned prev_target;
	bool reloading;		/* generation `gen` is starting; older ones serve */
	double reload_started;
	struct vsl_conf *next;	/* the new settings of the reload in progress */
	bool reload_queued;	/* asked for during a reload or before startup ended */
	struct vsl_conf *queued; /* and its settings (NULL: the current ones) */
	bool resubscribe;	/* unsubscribed for a reload: announce again once the
				 * old workers are gone */
	bool announced;		/* the first generation was ready: READY was sent */
	bool serving;		/* some worker is ready (subscriptions are on) */
	unsigned failures;	/* workers that died young, in a row */
	double hold_until;	/* back-off: no respawn before this */
	uint64_t seq;
	ev_timer respawn_w;
	ev_timer check_w; /* once a second: RSS, busy/idle, cheaper, stats */
	int notify_fd;	  /* $NOTIFY_SOCKET of the workers, or -1 */
	char notify_name[64];
	ev_io notify_w;
	ino_t listen_ino[VSL_MAX_SOCKETS];
	struct vsl_cheaper cheaper;
	struct ctl_workers stats;
};

/*
 * The pump between the vassal's tun device and a router that is not the
 * emperor's own (tunpump.c): uWSGI's framing on a unix stream socket
 * connected before the jail. Both buffers are bounded; nothing blocks.
 */
#define VSL_TUN_FOREIGN_MTU 1500     /* uWSGI's tuntap buffers are 8192 bytes */
#define VSL_TUN_OUT_MAX (256 * 1024) /* framed packets waiting for the socket */

struct vsl_tun {
	int tun_fd;	   /* -1: no pump */
	int sock_fd;	   /* connected to `tuntap-device` SOCKET */
	unsigned mtu;	   /* the tun device's */
	char socket[108];  /* its path, for messages */
	uint8_t *in;	   /* from the socket: frames, parsed in place */
	size_t in_len, in_cap;
	uint8_t *out;	   /* to the socket: whole frames */
	size_t out_off, out_len;
	uint8_t *pkt;	   /* one packet read from the tun, mtu bytes */
	struct tt_addr_set own; /* the vassal's addresses: nothing else leaves */
	uint32_t announce4;	/* an IPv4 address of ours (network order), 0: none */
	uint32_t gw4;		/* where the announcement goes (network order) */
	uint64_t dropped;	/* packets dropped: spoofed source, full queue, tun errors */
	ev_io tun_r, sock_r, sock_w;
};

struct vassal {
	/* from argv (strings borrowed from argv) */
	const char *name;
	const char *origin;
	unsigned long clone_flags;
	unsigned n_listen; /* listening fds at CTL_FD_LISTEN0.. */

	struct addr local_servers[VSL_MAX_LOCAL_SERVERS]; /* `--local-server` */
	size_t n_local_servers;

	struct vsl_conf *conf; /* the current settings, owned */
	struct vsl_keyring keys; /* signing keys, read before the jail */
	struct vsl_subs subs;
	struct vsl_pool pool;
	struct vsl_tun tun;
	enum vsl_mode mode;
	int exit_code; /* what the vassal returns once the loop breaks */

	struct ev_loop *loop;
	ev_io ctl_w; /* commands from the emperor on CTL_FD_CONTROL */
	ev_timer hb_w;
	ev_signal term_w, int_w, hup_w;
	ev_child child_w; /* pid 0: every child, orphans included */
};

/*
 * vsl_app_spawn - fork worker @id of the app with settings @c (see app.c for
 * what the child sets up; @notify is its $NOTIFY_SOCKET, NULL for none).
 * Sets *pid and *exec_fd (the report pipe). Returns 0, or -1 with *err.
 */
int vsl_app_spawn(const struct vassal *v, const struct vsl_conf *c, unsigned id,
		  const char *notify, pid_t *pid, int *exec_fd, struct err **err);

/*
 * vsl_app_exec_result - read the exec report on *exec_fd of a starting
 * worker. Returns 1 when the app was exec'd (*exec_fd is closed), 0 when the
 * report is not there yet, -1 with *err when the child failed before exec
 * ("exec 'CMD': why"; *exec_fd is closed).
 */
int vsl_app_exec_result(int *exec_fd, const struct vsl_conf *c, struct err **err);

/* ---- workers.c ---- */

/* vsl_pool_setup - slots, the notify socket, the listeners' inodes. */
int vsl_pool_setup(struct vassal *v, struct err **err);
/* vsl_pool_start - spawn the first generation (cheaper-initial workers). */
void vsl_pool_start(struct vassal *v);
/* vsl_pool_reload - graceful reload, with new settings @next (taken; NULL:
 * the current ones): a new generation starts, and once all of it is ready
 * the old one is retired; if it fails the old one goes on serving. */
void vsl_pool_reload(struct vassal *v, struct vsl_conf *next);
/* vsl_pool_stop - stop every worker: SIGTERM then SIGKILL after
 * reload-mercy when @graceful, else SIGKILL at once. */
void vsl_pool_stop(struct vassal *v, bool graceful);
/* vsl_pool_child - a child was reaped; false when it was no worker. */
bool vsl_pool_child(struct vassal *v, pid_t pid, int status);
/* vsl_pool_alive - workers still running, any state. */
unsigned vsl_pool_alive(const struct vassal *v);
/* vsl_pool_end - stop every watcher of the pool (the loop is ending). */
void vsl_pool_end(struct vassal *v);
void vsl_pool_free(struct vassal *v);

/* ---- what the pool tells the loop (loop.c) ---- */

/* The first generation is ready: READY to the emperor, subscriptions on. */
void vsl_loop_announce(struct vassal *v);
/* A worker of the first generation died before it was ready, or the app
 * crash-loops with no worker left: the vassal exits mirroring its wait
 * @status (the emperor applies its back-off). */
void vsl_loop_startup_died(struct vassal *v, int status);
/* A failure the vassal cannot go on from (an exec failure at startup). */
void vsl_loop_fail(struct vassal *v, struct err **err);
/* Stopping, and the last worker is gone. */
void vsl_loop_all_gone(struct vassal *v);
/* Some worker is ready again (@serving), or none is any more. */
void vsl_loop_serving(struct vassal *v, bool serving);
/* vsl_loop_apply - make @next the current settings (taken): the
 * subscriptions follow a change of their keys, the heartbeat its own. */
void vsl_loop_apply(struct vassal *v, struct vsl_conf *next);

/* ---- the tun pump to a foreign router (tunpump.c) ---- */

/*
 * vsl_tun_pump_init - take @tun_fd (the configured, non-blocking tun
 * device) and @sock_fd (connected to the router at @socket) for a pump on
 * @v's loop, with the addresses of @net (the only sources let out) and
 * device MTU @mtu. Returns 0, or -1 with *err (both fds closed).
 */
int vsl_tun_pump_init(struct vassal *v, int tun_fd, int sock_fd, const char *socket,
		      const struct tt_vassal_net *net, unsigned mtu, struct err **err);
/* vsl_tun_pump_start - watch both ends; first announce our IPv4 address to
 * the router (uWSGI's learns a peer's address from its first packet). */
void vsl_tun_pump_start(struct vassal *v);
/* vsl_tun_pump_end - stop its watchers. */
void vsl_tun_pump_end(struct vassal *v);
/* vsl_tun_pump_free - close both ends, free the buffers. */
void vsl_tun_pump_free(struct vassal *v);

/*
 * vsl_loop_run - start the workers and run the loop until the vassal is
 * done. Returns the vassal's exit code.
 */
int vsl_loop_run(struct vassal *v);

/*
 * vsl_sub_setup - from the validated config of v->conf: parse the
 * subscription keys, read key files, take the listening sockets' addresses
 * (getsockname), prebuild every packet, open the senders and bind the notify
 * socket. @domain_fd is the --subscribe-fd (-1: domain keys are skipped with
 * one warning); it also carries the packets of subscribe-to/subscribe2
 * targets whose server is one of v->local_servers. Signed targets take
 * their keys from v->keys. Returns 0, or -1 with *err (a missing key file,
 * a signing key that was not read before the jail...).
 */
int vsl_sub_setup(struct vassal *v, int domain_fd, struct err **err);

/*
 * vsl_sub_replace - switch to the subscriptions of config @c: keys no
 * longer announced get an unsubscribe, the others (and new ones) are sent
 * at once if the vassal is subscribed. Returns 0, or -1 with *err (the old
 * subscriptions stay).
 */
int vsl_sub_replace(struct vassal *v, const struct cfg *c, struct err **err);

/* vsl_sub_start - the app is ready: send now, again after 1 s, then every
 * subscribe-freq seconds; listen for acks. */
void vsl_sub_start(struct vassal *v);

/* vsl_sub_stop - stop refreshing; when @unsubscribe and something was sent
 * since the last start, send the unsubscribe packets first. */
void vsl_sub_stop(struct vassal *v, bool unsubscribe);

/* vsl_sub_end - the vassal is leaving: unsubscribe, stop every watcher. */
void vsl_sub_end(struct vassal *v);

/* vsl_sub_free - close the sockets, remove the notify socket, free. */
void vsl_sub_free(struct vassal *v);

#endif
