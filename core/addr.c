/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Socket addresses as users write them (see addr.h): a bounded parser that
 * never resolves names (only numeric hosts and "localhost"), listening and
 * connecting for TCP v4/v6, unix paths, abstract names and inherited
 * descriptors, and formatting a sockaddr back to text for logs and stats.
 */
#include "core/addr.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#define ADDR_BAD "bad address '%s': "
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

/* ---- parsing ---------------------------------------------------------- */

/* Decimal digits only, at most @max; returns -1 on anything else. */
static long parse_decimal(const char *s, long max)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v;
}

static int parse_port(const char *s, struct addr *out, struct err **err)
{
	long port = parse_decimal(s, 65535);
	if (port < 1)
		return err_set(err, 0, ADDR_BAD "port must be 1..65535", out->text);
	return (int)port;
}

static int parse_unix(const char *path, bool abstract, struct addr *out, struct err **err)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	size_t n = strlen(path);

	if (n == 0)
		return err_set(err, 0, ADDR_BAD "empty %s", out->text,
			       abstract ? "abstract name" : "path");
	if (n + 1 > SUN_PATH_MAX)
		return err_set(err, 0, ADDR_BAD "longer than %zu bytes", out->text,
			       SUN_PATH_MAX - 1);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + (abstract ? 1 : 0), path, n);
	/* abstract: no NUL terminator counts; path: include it, as the kernel allows */
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	return 0;
}

static int parse_fd(const char *s, struct addr *out, struct err **err)
{
	long fd = parse_decimal(s, INT_MAX);
	if (fd < 0)
		return err_set(err, 0, ADDR_BAD "fd:// needs a descriptor number", out->text);
	out->fd = (int)fd;
	return 0;
}

/* "[v6]:port" */
static int parse_v6(const char *s, struct addr *out, struct err **err)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	char host[INET6_ADDRSTRLEN];
	const char *close = strchr(s, ']');

	if (close == NULL || close[1] != ':')
		return err_set(err, 0, ADDR_BAD "expected [v6]:port", out->text);
	size_t n = (size_t)(close - s - 1);
	if (n >= sizeof(host))
		return err_set(err, 0, ADDR_BAD "bad IPv6 address", out->text);
	memcpy(host, s + 1, n);
	host[n] = '\0';
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return err_set(err, 0, ADDR_BAD "bad IPv6 address", out->text);
	int port = parse_port(close + 2, out, err);
	if (port < 0)
		return -1;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	out->len = sizeof(*sin6);
	return 0;
}

/* "host:port" with a dotted quad, "localhost" or nothing as host. */
static int parse_v4(const char *s, struct addr *out, struct err **err)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	char host[ADDR_TEXT_MAX];
	const char *colon = strrchr(s, ':');

	if (colon == NULL)
		return err_set(err, 0, ADDR_BAD "missing :port", out->text);
	size_t n = (size_t)(colon - s);
	memcpy(host, s, n); /* n < strlen(s) < ADDR_TEXT_MAX */
	host[n] = '\0';
	if (memchr(host, ':', n) != NULL)
		return err_set(err, 0, ADDR_BAD "IPv6 addresses go in brackets: [v6]:port",
			       out->text);
	if (n == 0)
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return err_set(err, 0,
			       ADDR_BAD "only numeric hosts, localhost, unix paths, @abstract and "
					"fd://N are accepted",
			       out->text);
	int port = parse_port(colon + 1, out, err);
	if (port < 0)
		return -1;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	out->len = sizeof(*sin);
	return 0;
}

int addr_parse(const char *s, struct addr *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	size_t n = strnlen(s, ADDR_TEXT_MAX);
	if (n >= ADDR_TEXT_MAX)
		return err_set(err, 0, "bad address '%.32s...': longer than %d bytes", s,
			       ADDR_TEXT_MAX - 1);
	memcpy(out->text, s, n + 1);
	if (n == 0)
		return err_set(err, 0, ADDR_BAD "empty", out->text);

	int r;
	if (strncmp(s, "unix:", 5) == 0)
		r = parse_unix(s + 5, false, out, err);
	else if (s[0] == '/' || strncmp(s, "./", 2) == 0)
		r = parse_unix(s, false, out, err);
	else if (s[0] == '@')
		r = parse_unix(s + 1, true, out, err);
	else if (strncmp(s, "fd://", 5) == 0)
		r = parse_fd(s + 5, out, err);
	else if (s[0] == '[')
		r = parse_v6(s, out, err);
	else
		r = parse_v4(s, out, err);
	if (r < 0) {
		out->ss.ss_family = AF_UNSPEC;
		out->len = 0;
		out->fd = -1;
		return -1;
	}
	return 0;
}

bool addr_is_unix(const struct addr *a)
{
	return a->fd < 0 && a->ss.ss_family == AF_UNIX;
}

/* ---- sockets ---------------------------------------------------------- */

/* The address's name in messages: as written, else formatted. */
static const char *addr_name(const struct addr *a, char *tmp, size_t n)
{
	if (a->text[0] != '\0')
		return a->text;
	if (a->fd >= 0)
		snprintf(tmp, n, "fd://%d", a->fd);
	else
		addr_format((const struct sockaddr *)&a->ss, a->len, tmp, n);
	return tmp;
}

static int listen_fd(const struct addr *a, bool nonblock, struct err **err)
{
	int acc = 0;
	socklen_t alen = sizeof(acc);

	if (getsockopt(a->fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0)
		return err_set(err, errno, "fd://%d", a->fd);
	if (!acc)
		return err_set(err, EINVAL, "fd://%d: not a listening socket", a->fd);
	_cleanup_close_ int fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errno, "fd://%d: dup", a->fd);
	/* O_NONBLOCK lives on the shared open file, so this also affects N. */
	if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return err_set(err, errno, "fd://%d: O_NONBLOCK", a->fd);
	return steal_fd(&fd);
}

/* Before binding a unix path: remove a leftover socket, refuse anything else. */
static int clear_unix_path(const char *path, const char *name, struct err **err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set(err, errno, "bind %s: lstat", name);
	if (!S_ISSOCK(st.st_mode))
		return err_set(err, EADDRINUSE, "bind %s: exists and is not a socket", name);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(err, errno, "bind %s: removing the old socket", name);
	return 0;
}

static int set_int_opt(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

static int bind_opts(int fd, const struct addr *a, const char *name, struct err **err)
{
	int family = a->ss.ss_family;
	if (family != AF_UNIX && set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
		return err_set(err, errno, "%s: SO_REUSEADDR", name);
	if (family == AF_INET6 && set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0)
		return err_set(err, errno, "%s: IPV6_V6ONLY", name);
	return 0;
}

int addr_listen(const struct addr *a, int backlog, bool nonblock, unsigned mode, struct err **err)
{
	char tmp[ADDR_TEXT_MAX];
	const char *name = addr_name(a, tmp, sizeof(tmp));
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
	bool path = addr_is_unix(a) && a->len > offsetof(struct sockaddr_un, sun_path) &&
		    sun->sun_path[0] != '\0';

	if (a->fd >= 0)
		return listen_fd(a, nonblock, err);
	if (a->len == 0)
		return err_set(err, EINVAL, "listen %s: no address", name);
	_cleanup_close_ int fd =
	    socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return err_set(err, errno, "socket %s", name);
	if (bind_opts(fd, a, name, err) < 0)
		return -1;
	if (path && clear_unix_path(sun->sun_path, name, err) < 0)
		return -1;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		return err_set(err, errno, "bind %s", name);
	if (path && mode != 0 && chmod(sun->sun_path, (mode_t)mode) < 0)
		return err_set(err, errno, "chmod %s", name);
	if (listen(fd, backlog) < 0)
		return err_set(err, errno, "listen %s", name);
	return steal_fd(&fd);
}

/* connect(2) interrupted by a signal goes on in the background: wait for it. */
static int finish_connect(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int r, soerr = 0;
	socklen_t len = sizeof(soerr);

	while ((r = poll(&p, 1, -1)) < 0 && errno == EINTR)
		;
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	errno = soerr;
	return soerr == 0 ? 0 : -1;
}

int addr_connect(const struct addr *a, struct err **err)
{
	char tmp[ADDR_TEXT_MAX];
	const char *name = addr_name(a, tmp, sizeof(tmp));

	if (a->fd >= 0 || a->len == 0)
		return err_set(err, EINVAL, "connect %s: not a connectable address", name);
	_cleanup_close_ int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errno, "socket %s", name);
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 &&
	    (errno != EINTR || finish_connect(fd) < 0))
		return err_set(err, errno, "connect %s", name);
	return steal_fd(&fd);
}

/* ---- formatting ------------------------------------------------------- */

static void format_unix(const struct sockaddr_un *sun, socklen_t len, char *out, size_t outlen)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (len <= off) {
		snprintf(out, outlen, "unix:?");
		return;
	}
	size_t n = len - off;
	if (n > SUN_PATH_MAX)
		n = SUN_PATH_MAX;
	if (sun->sun_path[0] == '\0')
		snprintf(out, outlen, "@%.*s", (int)(n - 1), sun->sun_path + 1);
	else
		snprintf(out, outlen, "%.*s", (int)strnlen(sun->sun_path, n), sun->sun_path);
}

void addr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];

	if (outlen == 0)
		return;
	if (sa == NULL || len < sizeof(sa_family_t)) {
		snprintf(out, outlen, "?");
	} else if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		format_unix((const struct sockaddr_un *)sa, len, out, outlen);
	} else {
		snprintf(out, outlen, "?");
	}
}
