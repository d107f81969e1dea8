/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Facts the vassal's master reads once a second: a worker's resident memory
 * (/proc/PID/statm), whether a worker is idle, that is blocked waiting for a
 * new connection on one of the listening sockets (/proc/PID/syscall, then its
 * fd links, the poll or select set in its memory, or its epoll set in
 * /proc/PID/fdinfo), and the accept queue of a TCP listener (TCP_INFO). It
 * only ever reads the vassal's own children: same uid and not yet reaped, so
 * a pid cannot be reused under it and the ptrace checks of /proc/PID/syscall
 * and process_vm_readv pass. Every read is bounded, every number is parsed
 * strictly, and nothing is cached between calls.
 */
#include "vassal/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/util.h"

#define POLL_MAX 1024		 /* entries of a poll set looked at */
#define SELECT_MAX 1024		 /* fds of a select set looked at */
#define FDINFO_MAX (8u << 20)	 /* bytes of an epoll fdinfo read at most */
#define FDINFO_BUF 4096		 /* fdinfo read piece; also its longest line */
#define TFD_TOKENS 24		 /* most words on an fdinfo `tfd:` line */
#define LINK_BUF 64		 /* "socket:[INODE]" fits with room */
#define SOCKET_PREFIX "socket:[" /* the fd link of a socket */

/* A word of a /proc line: pointer and length into the read buffer. */
struct tok {
	const char *p;
	size_t len;
};

/* The worker being looked at: its /proc directory and the inodes sought. */
struct target {
	pid_t pid;
	int dfd; /* /proc/PID, O_PATH */
	const ino_t *listen;
	size_t n;
};

/* What /proc/PID/syscall says. */
struct sc {
	bool blocked; /* asleep in syscall @nr; false: running or outside one */
	long nr;
	uint64_t a[6];
};

/* ---- bounded reads and strict parsing ---- */

/* Read all of @name (relative to @dfd) into @buf. Returns 0 with *len, or -1
 * with errno (EFBIG when it does not fit in @cap bytes). */
static int read_small(int dfd, const char *name, char *buf, size_t cap, size_t *len)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		if (n == cap) {
			errno = EFBIG;
			return -1;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return 0;
}

/* The one line of a small /proc file: it must end in its only newline.
 * *len becomes the length without it. */
static bool one_line(const char *buf, size_t *len)
{
	if (*len == 0 || buf[*len - 1] != '\n' || memchr(buf, '\n', *len - 1) != NULL)
		return false;
	*len -= 1;
	return true;
}

static bool is_sep(char c, bool strict)
{
	return c == ' ' || (!strict && c == '\t');
}

/*
 * Split the line @p[0..len) into at most @max words: exactly one space
 * between words when @strict, else any run of spaces and tabs. Returns the
 * count, or -1 when the line is malformed or holds more than @max words.
 */
static int split(const char *p, size_t len, bool strict, struct tok *t, int max)
{
	int n = 0;
	size_t i = 0;
	while (i < len) {
		size_t s = i;
		while (i < len && !is_sep(p[i], strict))
			i++;
		if (i > s) {
			if (n == max)
				return -1;
			t[n++] = (struct tok){p + s, i - s};
		} else if (strict) {
			return -1; /* leading or doubled space */
		}
		if (i < len) {
			i++;
			if (strict && i == len)
				return -1; /* trailing space */
		}
	}
	return n;
}

/* 1..20 decimal digits, no sign, no overflow. */
static bool tok_dec(struct tok t, uint64_t *v)
{
	uint64_t r = 0;
	if (t.len == 0 || t.len > 20)
		return false;
	for (size_t i = 0; i < t.len; i++) {
		unsigned d = (unsigned)((unsigned char)t.p[i] - '0');
		if (d > 9 || r > (UINT64_MAX - d) / 10)
			return false;
		r = r * 10 + d;
	}
	*v = r;
	return true;
}

/* 1..16 hex digits, no prefix. */
static bool tok_hex(struct tok t, uint64_t *v)
{
	uint64_t r = 0;
	if (t.len == 0 || t.len > 16)
		return false;
	for (size_t i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)t.p[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		r = r << 4 | d;
	}
	*v = r;
	return true;
}

/* "0x" then 1..16 hex digits, as the kernel prints syscall arguments. */
static bool tok_0x(struct tok t, uint64_t *v)
{
	if (t.len < 2 || t.p[0] != '0' || t.p[1] != 'x')
		return false;
	return tok_hex((struct tok){t.p + 2, t.len - 2}, v);
}

/* A syscall argument holding an int, as the kernel takes it: the low 32 bits. */
static int arg_int(uint64_t a)
{
	return (int)(uint32_t)a;
}

/* ---- resident memory ---- */

int vsl_proc_rss(pid_t pid, uint64_t *bytes)
{
	char path[40], buf[256];
	struct tok t[16];
	size_t len;
	uint64_t pages = 0;
	long page = sysconf(_SC_PAGESIZE);

	if (pid <= 0 || bytes == NULL || page <= 0) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if (read_small(AT_FDCWD, path, buf, sizeof(buf), &len) < 0)
		return -1;
	int n = one_line(buf, &len) ? split(buf, len, true, t, (int)ARRAY_SIZE(t)) : -1;
	if (n < 2)
		goto bad;
	for (int i = 0; i < n; i++) {
		uint64_t v;
		if (!tok_dec(t[i], &v))
			goto bad;
		if (i == 1)
			pages = v;
	}
	if (pages > UINT64_MAX / (uint64_t)page) {
		errno = EOVERFLOW;
		return -1;
	}
	*bytes = pages * (uint64_t)page;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* ---- what a worker is blocked in ---- */

/*
 * Parse /proc/PID/syscall: "running", "NR SP PC" with a negative NR (asleep
 * outside a syscall), or "NR A1 A2 A3 A4 A5 A6 SP PC". Returns 0, or -1 with
 * errno (EINVAL for a line of another shape).
 */
static int read_syscall(int dfd, struct sc *sc)
{
	char buf[256];
	struct tok t[9];
	size_t len;
	uint64_t v;

	*sc = (struct sc){.blocked = false};
	if (read_small(dfd, "syscall", buf, sizeof(buf), &len) < 0)
		return -1;
	if (!one_line(buf, &len))
		goto bad;
	if (len == 7 && memcmp(buf, "running", 7) == 0)
		return 0;
	int n = split(buf, len, true, t, (int)ARRAY_SIZE(t));
	if (n != 3 && n != 9)
		goto bad;
	for (int i = 1; i < n; i++) {
		if (!tok_0x(t[i], &v))
			goto bad;
		if (i <= 6 && n == 9)
			sc->a[i - 1] = v;
	}
	if (t[0].len > 1 && t[0].p[0] == '-') {
		/* not in a syscall: only the stack and program counters follow */
		if (n != 3 || !tok_dec((struct tok){t[0].p + 1, t[0].len - 1}, &v))
			goto bad;
		return 0;
	}
	if (n != 9 || !tok_dec(t[0], &v) || v > LONG_MAX)
		goto bad;
	sc->blocked = true;
	sc->nr = (long)v;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

static bool in_set(uint64_t ino, const struct target *tg)
{
	for (size_t i = 0; i < tg->n; i++)
		if ((uint64_t)tg->listen[i] == ino)
			return true;
	return false;
}

/*
 * Is the worker's @fd one of the listening sockets? Its link must read
 * exactly "socket:[INODE]". Returns 1 yes, 0 no (a closed fd included), -1
 * with errno.
 */
static int fd_listens(const struct target *tg, int fd)
{
	const size_t pre = sizeof(SOCKET_PREFIX) - 1;
	char name[32], link[LINK_BUF];
	uint64_t ino;

	if (fd < 0 || tg->n == 0)
		return 0;
	snprintf(name, sizeof(name), "fd/%d", fd);
	ssize_t r = readlinkat(tg->dfd, name, link, sizeof(link));
	if (r < 0)
		return errno == ENOENT ? 0 : -1;
	size_t len = (size_t)r;
	if (len == sizeof(link) || len < pre + 2 || memcmp(link, SOCKET_PREFIX, pre) != 0 ||
	    link[len - 1] != ']')
		return 0;
	if (!tok_dec((struct tok){link + pre, len - pre - 1}, &ino))
		return 0;
	return in_set(ino, tg);
}

/* Read @len bytes of the worker's memory at @addr. Returns the bytes read
 * (maybe fewer, where its mapping ends), or -1 with errno. */
static ssize_t peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	if (addr > UINTPTR_MAX) {
		errno = EFAULT;
		return -1;
	}
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	return process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

/* poll/ppoll(@addr, @nfds): does an fd polled for input listen? */
static int poll_listens(const struct target *tg, uint64_t addr, unsigned nfds)
{
	struct pollfd set[POLL_MAX];

	if (addr == 0 || nfds == 0 || tg->n == 0)
		return 0;
	if (nfds > POLL_MAX)
		nfds = POLL_MAX;
	ssize_t got = peek(tg->pid, addr, set, nfds * sizeof(set[0]));
	if (got < 0)
		return -1;
	for (size_t i = 0; i < (size_t)got / sizeof(set[0]); i++) {
		if (set[i].fd < 0 || !(set[i].events & (POLLIN | POLLRDNORM)))
			continue;
		int r = fd_listens(tg, set[i].fd);
		if (r != 0)
			return r;
	}
	return 0;
}

/*
 * select/pselect6(@nfds, @addr): does an fd of the read set listen? The set
 * is read as the kernel reads it, in whole longs.
 */
static int select_listens(const struct target *tg, int nfds, uint64_t addr)
{
	enum { BITS = 8 * sizeof(unsigned long) };
	unsigned long set[SELECT_MAX / BITS];

	if (addr == 0 || nfds <= 0 || tg->n == 0)
		return 0;
	if (nfds > SELECT_MAX)
		nfds = SELECT_MAX;
	size_t words = ((size_t)nfds + BITS - 1) / BITS;
	ssize_t got = peek(tg->pid, addr, set, words * sizeof(set[0]));
	if (got < 0)
		return -1;
	words = (size_t)got / sizeof(set[0]);
	for (size_t w = 0; w < words; w++) {
		for (unsigned b = 0; b < BITS; b++) {
			size_t fd = w * BITS + b;
			if (fd >= (size_t)nfds)
				return 0;
			if (!(set[w] >> b & 1))
				continue;
			int r = fd_listens(tg, (int)fd);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

/*
 * One line of an epoll fd's fdinfo. Only "tfd: FD events: ... [ino:HEX ...]"
 * lines count: FD is looked up through its link. Where the kernel also prints
 * the target's inode, a target whose inode is none sought is skipped without
 * a lookup. Returns 1 a listener, 0 not, -1 with errno.
 */
static int tfd_line(const struct target *tg, const char *p, size_t len)
{
	struct tok t[TFD_TOKENS];
	uint64_t fd, ino;

	if (len < 4 || memcmp(p, "tfd:", 4) != 0)
		return 0;
	int n = split(p, len, false, t, TFD_TOKENS);
	if (n < 2 || t[0].len != 4 || !tok_dec(t[1], &fd) || fd > INT_MAX)
		goto bad;
	for (int i = 2; i < n; i++) {
		if (t[i].len < 4 || memcmp(t[i].p, "ino:", 4) != 0)
			continue;
		if (!tok_hex((struct tok){t[i].p + 4, t[i].len - 4}, &ino))
			goto bad;
		if (!in_set(ino, tg))
			return 0;
	}
	return fd_listens(tg, (int)fd);
bad:
	errno = EINVAL;
	return -1;
}

/* The complete lines of @buf[0..len): *used says how far they go. Returns
 * as tfd_line, at the first listener or error. */
static int tfd_lines(const struct target *tg, const char *buf, size_t len, size_t *used)
{
	size_t s = 0;
	const char *nl;
	while ((nl = memchr(buf + s, '\n', len - s)) != NULL) {
		size_t e = (size_t)(nl - buf);
		int r = tfd_line(tg, buf + s, e - s);
		if (r != 0)
			return r;
		s = e + 1;
	}
	*used = s;
	return 0;
}

/* epoll_wait & co. on @epfd: is a listener among its targets? The fdinfo
 * file is read in bounded pieces, line by line. */
static int epoll_listens(const struct target *tg, int epfd)
{
	char name[32], buf[FDINFO_BUF];
	size_t have = 0, total = 0;

	if (epfd < 0 || tg->n == 0)
		return 0;
	snprintf(name, sizeof(name), "fdinfo/%d", epfd);
	_cleanup_close_ int fd = openat(tg->dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		if (have == sizeof(buf)) {
			errno = EINVAL; /* a line longer than any the kernel writes */
			return -1;
		}
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		total += (size_t)r;
		if (total > FDINFO_MAX) {
			errno = E2BIG;
			return -1;
		}
		have += (size_t)r;
		size_t used = 0;
		int m = tfd_lines(tg, buf, have, &used);
		if (m != 0)
			return m;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	if (have != 0) {
		errno = EINVAL; /* the last line has no newline */
		return -1;
	}
	return 0;
}

/* Is the blocked syscall @sc a wait for a new connection on a listener?
 * Returns 1 yes, 0 no, -1 with errno. */
static int waits_for_connection(const struct target *tg, const struct sc *sc)
{
	switch (sc->nr) {
#ifdef SYS_accept
	case SYS_accept:
#endif
#ifdef SYS_accept4
	case SYS_accept4:
#endif
		return fd_listens(tg, arg_int(sc->a[0]));
#ifdef SYS_poll
	case SYS_poll:
#endif
#ifdef SYS_ppoll
	case SYS_ppoll:
#endif
		return poll_listens(tg, sc->a[0], (unsigned)(uint32_t)sc->a[1]);
#ifdef SYS_select
	case SYS_select:
#endif
#ifdef SYS_pselect6
	case SYS_pselect6:
#endif
		return select_listens(tg, arg_int(sc->a[0]), sc->a[1]);
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
#endif
#ifdef SYS_epoll_pwait
	case SYS_epoll_pwait:
#endif
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
		return epoll_listens(tg, arg_int(sc->a[0]));
	default:
		return 0;
	}
}

int vsl_proc_idle(pid_t pid, const ino_t *listen, size_t n)
{
	char path[32];
	struct sc sc;

	if (pid <= 0 || (n > 0 && listen == NULL)) {
		errno = EINVAL;
		return -1;
	}
	/* Every later lookup is relative to this directory, so all of them are
	 * about the same process. */
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	_cleanup_close_ int dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	if (read_syscall(dfd, &sc) < 0)
		return -1;
	if (!sc.blocked)
		return 1;
	struct target tg = {.pid = pid, .dfd = dfd, .listen = listen, .n = n};
	int r = waits_for_connection(&tg, &sc);
	if (r < 0)
		return -1;
	return r ? 0 : 1;
}

/* ---- accept queues ---- */

static int sockopt_int(int fd, int level, int name, int *v)
{
	socklen_t len = sizeof(*v);
	if (getsockopt(fd, level, name, v, &len) < 0)
		return -1;
	if (len != sizeof(*v)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int vsl_listen_queue(int fd, uint32_t *queued)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int domain, proto;

	if (queued == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &domain) < 0)
		return -1;
	if (domain != AF_INET && domain != AF_INET6)
		goto notsup;
	if (sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto) < 0)
		return -1;
	if (proto != IPPROTO_TCP)
		goto notsup;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	if (len < offsetof(struct tcp_info, tcpi_unacked) + sizeof(ti.tcpi_unacked) ||
	    ti.tcpi_state != TCP_LISTEN)
		goto notsup;
	/* For a listener the kernel reports its accept queue here. */
	*queued = ti.tcpi_unacked;
	return 0;
notsup:
	errno = ENOTSUP;
	return -1;
}
