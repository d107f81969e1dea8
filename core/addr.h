/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Socket addresses as users write them:
 *   host:port  127.0.0.1:3031, localhost:80 (resolved numerically only:
 *              "localhost" maps to 127.0.0.1; other names are refused)
 *   :port      all IPv4 interfaces
 *   [v6]:port  [::1]:8080, [::]:80
 *   unix:/path or /path or ./path  a unix stream socket
 *   @name      an abstract unix socket
 *   fd://N     an already open descriptor
 * Parsing is bounded and never touches the network.
 */
#ifndef CORE_ADDR_H
#define CORE_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

#include "core/err.h"

#define ADDR_TEXT_MAX 128

struct addr {
	struct sockaddr_storage ss;  /* unused for ADDR_FD */
	socklen_t len;
	int fd;                      /* for fd://N, else -1 */
	char text[ADDR_TEXT_MAX];    /* as written, for messages and stats */
};

/* addr_parse - returns 0 or -1 with *err ("bad address 'X': why"). */
int addr_parse(const char *s, struct addr *out, struct err **err);

/* addr_is_unix - true for unix paths and abstract names. */
bool addr_is_unix(const struct addr *a);

/*
 * addr_listen - create a listening socket (SOCK_STREAM, CLOEXEC, NONBLOCK
 * when @nonblock). Sets SO_REUSEADDR on TCP; removes a stale unix socket
 * file (only if it is a socket) before binding, and chmods it to @mode when
 * @mode is not 0. fd://N returns a dup of N after checking it is a
 * listening socket. Returns the fd or -1 with *err naming the address.
 */
int addr_listen(const struct addr *a, int backlog, bool nonblock, unsigned mode,
		struct err **err);

/*
 * addr_connect - blocking connect with CLOEXEC (for CLI clients).
 * Returns the fd or -1 with *err.
 */
int addr_connect(const struct addr *a, struct err **err);

/* addr_format - "ip:port", "[v6]:port", "/path", "@name" of a sockaddr. */
void addr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen);

#endif
