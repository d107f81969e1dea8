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
#include "core/err.h"
#include "core/subpkt.h"

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

/* Keys announced at run time, once `@FILE` key files are read. */
#define VSL_MAX_SUB_TARGETS 1024
#define VSL_SUB_KEYFILE_MAX (64 * 1024) /* bytes */

/* Which key a subscription comes from. */
enum vsl_sub_kind {
	VSL_SUB_DOMAIN, /* `domain = NAME`: through the emperor's --subscribe-fd */
	VSL_SUB_TO,	/* `subscribe-to = [ANNOUNCE=]SERVER:KEY[,MODIFIER1]` */
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

/* What the loop does when the app exits. */
enum vsl_mode {
	VSL_RUN,      /* an exit is the app's own: the vassal exits with its status */
	VSL_STOPPING, /* graceful stop: exit 0 once the app is gone */
	VSL_RELOADING /* reload: spawn the app again once it is gone */
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
	bool domain_failing;	       /* an error on domain_fd was logged */
	int notify_fd;		       /* bound `subscription-notify-socket`, or -1 */
	const char *notify_path;       /* borrowed from the cfg */
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

struct vassal {
	/* from argv and the config (strings borrowed from argv and cfg) */
	const char *name;
	struct cfg *cfg;
	char **argv;	    /* `exec`, split into words */
	const char *chdir;  /* `chdir`, default "/" */
	unsigned n_listen;  /* listening fds at CTL_FD_LISTEN0.. */
	unsigned heartbeat; /* seconds */
	struct vsl_subs subs;

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

/*
 * vsl_sub_setup - from a validated config: parse the subscription keys, read
 * key files, take the listening sockets' addresses (getsockname), prebuild
 * every packet, open the senders and bind the notify socket. @domain_fd is
 * the --subscribe-fd (-1: domain keys are skipped with one warning).
 * Returns 0, or -1 with *err (a missing key file, a packet too large...).
 */
int vsl_sub_setup(struct vassal *v, int domain_fd, struct err **err);

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
