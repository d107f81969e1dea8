/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control channel between the emperor and one vassal: a SOCK_SEQPACKET
 * socketpair, one message per packet. Byte 0 is the code (uWSGI's values);
 * CTL_V_ERROR carries a message after it. Anything longer than CTL_MAX is
 * truncated by the sender; a receiver treats unknown codes as a protocol
 * error of that vassal (logged, never fatal to the emperor).
 */
#ifndef CORE_CTL_H
#define CORE_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_MAX 1024

/* emperor -> vassal */
enum ctl_cmd {
	CTL_E_STOP = 0,          /* stop now: kill the app, exit */
	CTL_E_RELOAD = 1,        /* restart the app in place */
	CTL_E_GRACEFUL_STOP = 2, /* SIGTERM the app, exit when it is gone */
	CTL_E_CONFIG = 3,        /* ours: a new resolved config rides along (SCM_RIGHTS):
				  * apply its routing and worker keys in place */
};

/* vassal -> emperor */
enum ctl_event {
	CTL_V_READY = 1,      /* jail built, privileges dropped, app exec'd */
	CTL_V_ACCEPTING = 5,
	CTL_V_LOYAL = 17,
	CTL_V_VOLUNTARY = 22, /* the vassal is going away on its own */
	CTL_V_HEARTBEAT = 26,
	CTL_V_ERROR = 69,     /* 'E' + message: setup failed, the vassal exits */
	CTL_V_TUN = 84,       /* ours, 'T' + the interface name, with the vassal's tun
			       * descriptor attached (SCM_RIGHTS): sent once, during setup,
			       * when the emperor said --tuntap-local; the vassal keeps no
			       * copy, and the emperor's router takes it (tt_attach) */
	CTL_V_WORKERS = 87,   /* ours, 'W' + struct ctl_workers: the workers' figures */
};

/*
 * The payload of CTL_V_WORKERS, sent once a second. Numbers in host order
 * (both ends are on one host). The emperor checks the size, ends `last` with
 * a NUL itself and escapes it: a tenant controls these bytes.
 */
struct ctl_workers {
	uint32_t running;	/* live workers, every generation */
	uint32_t ready;		/* of the current generation */
	uint32_t busy, idle;	/* at the last check; unknown ones are neither */
	uint32_t target;	/* how many the current generation should have */
	uint32_t min, max;	/* `cheaper` (max when none) and `workers` */
	uint32_t generation;	/* 1 at start, +1 per reload */
	uint32_t backlog;	/* accept queues at the last check */
	uint32_t flags;		/* CTL_WORKERS_* */
	uint64_t rss;		/* the workers' RSS, bytes */
	uint64_t spawned;	/* workers spawned, all reasons */
	uint64_t respawned;	/* after a worker died on its own */
	uint64_t reloads, failed_reloads;
	uint64_t cheaper_spawned, cheaper_stopped;
	uint64_t rss_recycled;	/* `reload-on-rss` */
	char last[200];		/* the last cheaper or memory decision, "" when none */
};

#define CTL_WORKERS_RELOADING 1u /* a new generation is starting */
#define CTL_WORKERS_CHEAPER 2u	 /* the count adapts */
#define CTL_WORKERS_BACKLOG 4u	 /* cheaper-algo = backlog */

/* Fixed fd layout of a freshly spawned vassal process. */
#define CTL_FD_CONTROL 3
#define CTL_FD_CONFIG 4
#define CTL_FD_LISTEN0 5     /* listening sockets follow, in `socket` order, then the
			      * subscription socket (--subscribe-fd), then one read-only
			      * fd per signing key file (--sign-key PATH=FD) */

/* ctl_send - send one message (code + optional text). Returns 0 or -1. */
int ctl_send(int fd, uint8_t code, const char *msg, size_t len);

/* ctl_send_fd - send @code alone with @passfd attached (SCM_RIGHTS).
 * Returns 0 or -1 with errno. */
int ctl_send_fd(int fd, uint8_t code, int passfd);

/* ctl_send_msg_fd - the same with a message after the code (truncated to
 * CTL_MAX - 1 bytes). Returns 0 or -1 with errno. */
int ctl_send_msg_fd(int fd, uint8_t code, const char *msg, size_t len, int passfd);

struct msghdr;

/* ctl_take_fd - the first descriptor passed (SCM_RIGHTS) in received
 * message @m, or -1; every other one is closed. */
int ctl_take_fd(struct msghdr *m);

/*
 * ctl_recv - receive one message into @pkt (at most @cap bytes, the rest of
 * a longer one is lost). A descriptor riding along is stored in *passfd
 * (CLOEXEC; -1 when none; any extra ones are closed). Returns the length
 * (0 at EOF) or -1 with errno (EAGAIN when nothing is waiting).
 */
ssize_t ctl_recv(int fd, void *pkt, size_t cap, int *passfd);

#endif
