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

#define CTL_MAX 1024

/* emperor -> vassal */
enum ctl_cmd {
	CTL_E_STOP = 0,          /* stop now: kill the app, exit */
	CTL_E_RELOAD = 1,        /* restart the app in place */
	CTL_E_GRACEFUL_STOP = 2, /* SIGTERM the app, exit when it is gone */
};

/* vassal -> emperor */
enum ctl_event {
	CTL_V_READY = 1,      /* jail built, privileges dropped, app exec'd */
	CTL_V_ACCEPTING = 5,
	CTL_V_LOYAL = 17,
	CTL_V_VOLUNTARY = 22, /* the vassal is going away on its own */
	CTL_V_HEARTBEAT = 26,
	CTL_V_ERROR = 69,     /* 'E' + message: setup failed, the vassal exits */
};

/* Fixed fd layout of a freshly spawned vassal process. */
#define CTL_FD_CONTROL 3
#define CTL_FD_CONFIG 4
#define CTL_FD_LISTEN0 5     /* listening sockets follow, in `socket` order */

/* ctl_send - send one message (code + optional text). Returns 0 or -1. */
int ctl_send(int fd, uint8_t code, const char *msg, size_t len);

#endif
