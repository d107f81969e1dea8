/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hello: the demo app a vassal runs, as one worker or several sharing the
 * same listening sockets. A tiny HTTP/1.0 server, static and libc-only so a
 * jail needs nothing but this binary. It serves on the sockets it inherits
 * by socket activation (LISTEN_FDS at fd 3.., checked against LISTEN_PID)
 * or, with none, on HELLO_ADDR (default 127.0.0.1:8000), one client and one
 * request per connection at a time, and answers with who it is: "hello from
 * $IMPERIUM_VASSAL", "hostname: H", "pid: N", "uid: U", "gid: G". Once ready
 * it sends "READY=1\nMAINPID=N" to $NOTIFY_SOCKET (a path, or "@name" for
 * the abstract namespace) when that is set. It waits for clients only in
 * ppoll over the listening sockets and never polls while it serves one, so a
 * vassal sees it idle exactly when it waits. SIGTERM while idle exits 0 at
 * once; during a request it exits 0 once that is answered ("hello: bye").
 * For tests: `/crash` exits 3 after answering; `/sleep?ms=N` (0..60000)
 * sleeps N ms before answering; `/alloc?mb=N` (1..4096) allocates, touches
 * and keeps N MiB more, adding "allocated N MiB (total T MiB)" to the answer;
 * HELLO_START_DELAY_MS=N sleeps N ms before becoming ready;
 * HELLO_FAIL_START=N exits N after that delay, never ready;
 * HELLO_EXIT_AFTER_MS=N exits 1 after N ms. A malformed HELLO_* value is an
 * error on stderr and exit 2.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, ppoll, memmem */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 64
#define HEAD_MAX 8192
#define CLIENT_TIMEOUT_MS 5000
#define DEFAULT_ADDR "127.0.0.1:8000"
#define SLEEP_MAX_MS 60000
#define ALLOC_MAX_MB 4096
#define MIB ((size_t)1 << 20)

/* Pointer + length into the request head; not NUL-terminated. */
struct slice {
	const char *p;
	size_t len;
};

struct hello {
	const char *name; /* $IMPERIUM_VASSAL */
	struct pollfd pfd[MAX_FDS];
	int nfds;
	sigset_t unblocked; /* the signal mask with SIGTERM let through */
	long exit_after;    /* HELLO_EXIT_AFTER_MS, -1 for never */
	int64_t deadline;   /* when to exit for it, -1 for never */
	void *kept;	    /* /alloc blocks, each holding the previous one's address */
	unsigned long kept_mb;
};

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* Decimal digits only, no sign or blanks, at most max; -1 otherwise. */
static long parse_num(const char *p, size_t len, long max)
{
	long v = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		long d = p[i] - '0';
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

/* A numeric HELLO_* setting: dflt when unset; exits 2 when malformed. */
static long env_num(const char *name, long max, long dflt)
{
	const char *s = getenv(name);
	if (s == NULL)
		return dflt;
	long v = parse_num(s, strlen(s), max);
	if (v < 0) {
		fprintf(stderr, "hello: bad %s '%s' (want 0..%ld)\n", name, s, max);
		exit(2);
	}
	return v;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec ms_ts(int64_t ms)
{
	return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
}

/* The sockets passed by socket activation, at 3..; 0 when none are ours. */
static int inherited_fds(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	long n = fds ? parse_num(fds, strlen(fds), MAX_FDS) : -1;
	long p = pid ? parse_num(pid, strlen(pid), 1L << 30) : -1;
	if (n <= 0 || p != (long)getpid())
		return 0;
	return (int)n;
}

/*
 * Every worker wakes from ppoll for one new connection and all but one find
 * it gone, so accept must not block: a worker blocked in accept would not
 * see SIGTERM. O_NONBLOCK is on the open file the workers share, which is
 * what each of them wants.
 */
static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		fprintf(stderr, "hello: fd %d: O_NONBLOCK: %s\n", fd, strerror(errno));
		return -1;
	}
	return 0;
}

/* Listen on HELLO_ADDR ("ip:port", IPv4), with SO_REUSEPORT so that the
 * workers of a graceful reload bind beside the ones they replace. Returns
 * the fd or -1. */
static int listen_default(void)
{
	const char *spec = getenv("HELLO_ADDR") ? getenv("HELLO_ADDR") : DEFAULT_ADDR;
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(spec, ':');
	long port = colon ? parse_num(colon + 1, strlen(colon + 1), 65535) : -1;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (port < 0 || (size_t)(colon - spec) >= sizeof(host)) {
		fprintf(stderr, "hello: bad HELLO_ADDR '%s'\n", spec);
		return -1;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "hello: listen on %s: %s\n", spec, strerror(errno));
		return -1;
	}
	return fd;
}

/* sd_notify(0, "READY=1\nMAINPID=pid"); failures are reported, not fatal. */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char msg[64];
	size_t plen = path ? strlen(path) : 0;
	if (path == NULL)
		return;
	if ((path[0] != '/' && path[0] != '@') || plen < 2 || plen >= sizeof(sun.sun_path)) {
		fprintf(stderr, "hello: bad NOTIFY_SOCKET '%s'\n", path);
		return;
	}
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract: the name is exactly the rest */
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	int n = snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%d", (int)getpid());
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_MS / 1000};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sun, alen) != n)
		fprintf(stderr, "hello: notify %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Sleep ms with SIGTERM blocked; returns true when SIGTERM came meanwhile. */
static bool start_delay(long ms)
{
	sigset_t term;
	int64_t deadline = now_ms() + ms;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	for (int64_t left = ms; left > 0; left = deadline - now_ms()) {
		struct timespec ts = ms_ts(left);
		if (sigtimedwait(&term, NULL, &ts) == SIGTERM)
			return true;
	}
	return false;
}

/* Sleep ms whatever signal comes: an EINTR just sleeps on to the same end. */
static void sleep_ms(long ms)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) == EINTR)
		;
}

/*
 * Read up to the end of the request head; returns its length or -1. Plain
 * blocking reads bounded by SO_RCVTIMEO, never poll: a worker waiting on
 * its client is busy, not idle.
 */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	int64_t deadline = now_ms() + CLIENT_TIMEOUT_MS;
	while (len < cap) {
		int64_t left = deadline - now_ms();
		struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
		if (left <= 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
			return -1;
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1; /* EOF, error, or EAGAIN at the timeout */
		/* Look for the blank line from just before the new bytes on. */
		size_t from = len > 3 ? len - 3 : 0;
		len += (size_t)n;
		if (memmem(buf + from, len - from, "\r\n\r\n", 4) ||
		    memmem(buf + from, len - from, "\n\n", 2))
			return (ssize_t)len;
	}
	return -1;
}

/* Write it all or give up; SO_SNDTIMEO bounds each write. */
static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, int code, const char *reason, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 code, reason, strlen(body));
	write_all(fd, head, (size_t)n);
	write_all(fd, body, strlen(body));
}

/* Split "METHOD TARGET ..." of the first line; the target at '?'. */
static void parse_target(const char *head, size_t len, struct slice *path, struct slice *query)
{
	const char *eol = memchr(head, '\n', len);
	size_t line = eol ? (size_t)(eol - head) : len;
	const char *sp = memchr(head, ' ', line);
	*path = (struct slice){"", 0};
	*query = (struct slice){"", 0};
	if (sp == NULL)
		return;
	const char *t = sp + 1, *end = head + line;
	const char *sp2 = memchr(t, ' ', (size_t)(end - t));
	if (sp2 != NULL)
		end = sp2;
	else if (end > t && end[-1] == '\r')
		end--;
	const char *q = memchr(t, '?', (size_t)(end - t));
	*path = (struct slice){t, (size_t)((q ? q : end) - t)};
	if (q != NULL)
		*query = (struct slice){q + 1, (size_t)(end - q - 1)};
}

static bool is(struct slice s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* The query "KEY=N" with N in 1..max (0..max when zero_ok); -1 otherwise. */
static long query_num(struct slice q, const char *key, long max, bool zero_ok)
{
	size_t k = strlen(key);
	if (q.len <= k + 1 || memcmp(q.p, key, k) != 0 || q.p[k] != '=')
		return -1;
	long v = parse_num(q.p + k + 1, q.len - k - 1, max);
	return v == 0 && !zero_ok ? -1 : v;
}

/* "METHOD PATH" of the request line, printable characters only. */
static void request_line(const char *head, size_t hlen, char *out, size_t cap)
{
	size_t len = 0;
	int spaces = 0;
	for (size_t i = 0; i < hlen && head[i] != '\r' && head[i] != '\n' && len + 1 < cap; i++) {
		if (head[i] == ' ' && ++spaces == 2)
			break;
		out[len++] = (head[i] >= 0x20 && head[i] < 0x7f) ? head[i] : '?';
	}
	out[len] = '\0';
}

/* Allocate, touch and keep mb MiB more; false when out of memory. */
static bool keep_mb(struct hello *h, long mb)
{
	long page = sysconf(_SC_PAGESIZE);
	if ((size_t)mb > SIZE_MAX / MIB || page <= 0)
		return false;
	size_t size = (size_t)mb * MIB;
	char *mem = malloc(size);
	volatile char *touch = mem;
	if (mem == NULL)
		return false;
	/* A write per page makes each one resident; a read would map the zero page. */
	for (size_t off = 0; off < size; off += (size_t)page)
		touch[off] = 1;
	memcpy(mem, &h->kept, sizeof(h->kept));
	h->kept = mem;
	h->kept_mb += (unsigned long)mb;
	return true;
}

/* The answer's body: who this worker is. Returns its length. */
static size_t whoami(const struct hello *h, char *body, size_t cap)
{
	char host[256] = "?";
	gethostname(host, sizeof(host) - 1);
	int n = snprintf(body, cap, "hello from %s\nhostname: %s\npid: %d\nuid: %u\ngid: %u\n",
			 h->name, host, (int)getpid(), (unsigned)getuid(), (unsigned)getgid());
	return n > 0 && (size_t)n < cap ? (size_t)n : strlen(body);
}

/* Answer one request; returns true when it asked for /crash. */
static bool serve(struct hello *h, int fd)
{
	char head[HEAD_MAX], line[256], body[640];
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_MS / 1000};
	struct slice path, query;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ssize_t hlen = read_head(fd, head, sizeof(head));
	if (hlen < 0) {
		respond(fd, 400, "Bad Request", "bad request\n");
		return false;
	}
	request_line(head, (size_t)hlen, line, sizeof(line));
	printf("hello: %s\n", line);
	fflush(stdout);
	parse_target(head, (size_t)hlen, &path, &query);
	size_t used = whoami(h, body, sizeof(body));
	if (is(path, "/sleep")) {
		long ms = query_num(query, "ms", SLEEP_MAX_MS, true);
		if (ms < 0) {
			respond(fd, 400, "Bad Request", "want /sleep?ms=0..60000\n");
			return false;
		}
		sleep_ms(ms);
	} else if (is(path, "/alloc")) {
		long mb = query_num(query, "mb", ALLOC_MAX_MB, false);
		if (mb < 0) {
			respond(fd, 400, "Bad Request", "want /alloc?mb=1..4096\n");
			return false;
		}
		if (!keep_mb(h, mb)) {
			respond(fd, 500, "Internal Server Error", "out of memory\n");
			return false;
		}
		snprintf(body + used, sizeof(body) - used, "allocated %ld MiB (total %lu MiB)\n",
			 mb, h->kept_mb);
	}
	respond(fd, 200, "OK", body);
	return is(path, "/crash");
}

static void accept_one(struct hello *h, int lfd)
{
	/* Not SOCK_NONBLOCK: reads and writes block, bounded by the timeouts. */
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN: another worker took it; a reset client, ... */
	bool crash = serve(h, fd);
	close(fd);
	if (crash) {
		printf("hello: crashing on request\n");
		fflush(stdout);
		exit(3);
	}
}

/*
 * SIGTERM stays blocked except inside ppoll, so no wakeup is lost and a
 * request in progress is never cut short: a SIGTERM that comes while one is
 * served stays pending until the next ppoll, which returns EINTR at once.
 */
static int setup_signals(sigset_t *unblocked)
{
	struct sigaction sa = {.sa_handler = on_term}; /* no SA_RESTART: ppoll must return */
	sigset_t block;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigprocmask(SIG_BLOCK, &block, unblocked) < 0)
		return -1;
	sigdelset(unblocked, SIGTERM);
	return 0;
}

/* Find the listening sockets; false (reported) when there are none. */
static bool open_sockets(struct hello *h)
{
	h->nfds = inherited_fds();
	for (int i = 0; i < h->nfds; i++) {
		h->pfd[i] = (struct pollfd){.fd = 3 + i, .events = POLLIN};
		if (set_nonblock(3 + i) < 0)
			return false;
	}
	if (h->nfds == 0) {
		h->pfd[0] = (struct pollfd){.fd = listen_default(), .events = POLLIN};
		if (h->pfd[0].fd < 0)
			return false;
		h->nfds = 1;
	}
	return true;
}

static void bye(void)
{
	printf("hello: bye\n");
	fflush(stdout);
	exit(0);
}

/* Wait for clients in ppoll over the listening sockets until SIGTERM. */
static void serve_forever(struct hello *h)
{
	for (;;) {
		struct timespec ts, *tsp = NULL;
		if (h->deadline >= 0) {
			int64_t left = h->deadline - now_ms();
			if (left <= 0) {
				printf("hello: exiting after %ld ms\n", h->exit_after);
				fflush(stdout);
				exit(1);
			}
			ts = ms_ts(left);
			tsp = &ts;
		}
		int r = ppoll(h->pfd, (nfds_t)h->nfds, tsp, &h->unblocked);
		if (got_term)
			bye();
		for (int i = 0; r > 0 && i < h->nfds; i++)
			if (h->pfd[i].revents & POLLIN)
				accept_one(h, h->pfd[i].fd);
	}
}

int main(void)
{
	static struct hello h = {.kept = NULL};
	long delay = env_num("HELLO_START_DELAY_MS", 3600000, 0);
	long fail = env_num("HELLO_FAIL_START", 255, -1);

	h.name = getenv("IMPERIUM_VASSAL") ? getenv("IMPERIUM_VASSAL") : "unknown";
	h.exit_after = env_num("HELLO_EXIT_AFTER_MS", 1L << 30, -1);
	h.deadline = h.exit_after >= 0 ? now_ms() + h.exit_after : -1;
	if (setup_signals(&h.unblocked) < 0 || !open_sockets(&h))
		return 2;
	printf("hello: listening on %d sockets\n", h.nfds);
	fflush(stdout);
	if (delay > 0 && start_delay(delay))
		bye();
	if (fail >= 0) {
		printf("hello: failing at start with %ld\n", fail);
		fflush(stdout);
		return (int)fail;
	}
	notify_ready();
	serve_forever(&h);
}
