/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hello: the demo app a vassal runs. A tiny HTTP/1.0 server, static and
 * libc-only so a jail needs nothing but this binary. It serves on the
 * sockets it inherits by socket activation (LISTEN_FDS, checked against
 * LISTEN_PID) or, with none, on HELLO_ADDR (default 127.0.0.1:8000), one
 * client at a time, and answers every request with who it is: vassal name,
 * hostname, pid, uid, gid. For tests: `GET /crash` exits 3 after answering,
 * HELLO_EXIT_AFTER_MS=N exits 1 after N ms, SIGTERM exits 0 ("hello: bye").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, ppoll */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 64
#define HEAD_MAX 8192
#define CLIENT_TIMEOUT_MS 5000
#define DEFAULT_ADDR "127.0.0.1:8000"

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static long parse_long(const char *s, long max)
{
	char *end;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : -1;
	if (s == NULL || errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	return v;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The sockets passed by socket activation, at 3..; 0 when none are ours. */
static int inherited_fds(void)
{
	long n = parse_long(getenv("LISTEN_FDS"), MAX_FDS);
	long pid = parse_long(getenv("LISTEN_PID"), 1L << 30);
	if (n <= 0 || pid != (long)getpid())
		return 0;
	return (int)n;
}

/* Listen on HELLO_ADDR ("ip:port", IPv4). Returns the fd or -1. */
static int listen_default(void)
{
	const char *spec = getenv("HELLO_ADDR") ? getenv("HELLO_ADDR") : DEFAULT_ADDR;
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(spec, ':');
	long port = colon ? parse_long(colon + 1, 65535) : -1;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (port < 0 || (size_t)(colon - spec) >= sizeof(host)) {
		fprintf(stderr, "hello: bad HELLO_ADDR '%s'\n", spec);
		return -1;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "hello: listen on %s: %s\n", spec, strerror(errno));
		return -1;
	}
	return fd;
}

/* Read up to the end of the request head; returns its length or -1. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	int64_t deadline = now_ms() + CLIENT_TIMEOUT_MS;
	while (len < cap - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)len;
	}
	return -1;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* "METHOD PATH" of the request line, printable characters only. */
static void request_line(const char *head, char *out, size_t cap)
{
	size_t len = 0;
	int spaces = 0;
	for (const char *p = head; *p && *p != '\r' && *p != '\n' && len + 1 < cap; p++) {
		if (*p == ' ' && ++spaces == 2)
			break;
		out[len++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	}
	out[len] = '\0';
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

/* Serve one client; returns true when it asked for /crash. */
static bool serve(int fd)
{
	char head[HEAD_MAX], line[256], body[512], host[256] = "?";
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_MS / 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (read_head(fd, head, sizeof(head)) < 0) {
		respond(fd, 400, "Bad Request", "bad request\n");
		return false;
	}
	request_line(head, line, sizeof(line));
	printf("hello: %s\n", line);
	fflush(stdout);
	gethostname(host, sizeof(host) - 1);
	const char *name = getenv("IMPERIUM_VASSAL") ? getenv("IMPERIUM_VASSAL") : "unknown";
	snprintf(body, sizeof(body), "hello from %s\nhostname: %s\npid: %d\nuid: %u\ngid: %u\n",
		 name, host, (int)getpid(), (unsigned)getuid(), (unsigned)getgid());
	respond(fd, 200, "OK", body);
	const char *path = strchr(line, ' ');
	return path && strcmp(path + 1, "/crash") == 0;
}

static void accept_one(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN on a non-blocking socket, a reset client, ... */
	bool crash = serve(fd);
	close(fd);
	if (crash) {
		printf("hello: crashing on request\n");
		fflush(stdout);
		exit(3);
	}
}

static int setup_signals(sigset_t *unblocked)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigset_t block;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM stays blocked except inside ppoll, so no wakeup is lost. */
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigprocmask(SIG_BLOCK, &block, unblocked) < 0)
		return -1;
	sigdelset(unblocked, SIGTERM);
	return 0;
}

int main(void)
{
	struct pollfd pfd[MAX_FDS];
	sigset_t unblocked;
	int n = inherited_fds();
	long exit_after = parse_long(getenv("HELLO_EXIT_AFTER_MS"), 1L << 30);
	int64_t deadline = exit_after >= 0 ? now_ms() + exit_after : -1;

	if (setup_signals(&unblocked) < 0)
		return 2;
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = 3 + i, .events = POLLIN};
	if (n == 0) {
		pfd[0] = (struct pollfd){.fd = listen_default(), .events = POLLIN};
		if (pfd[0].fd < 0)
			return 2;
		n = 1;
	}
	printf("hello: listening on %d sockets\n", n);
	fflush(stdout);
	for (;;) {
		struct timespec ts, *tsp = NULL;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				printf("hello: exiting after %ld ms\n", exit_after);
				fflush(stdout);
				exit(1);
			}
			ts = (struct timespec){left / 1000, (left % 1000) * 1000000};
			tsp = &ts;
		}
		int r = ppoll(pfd, (nfds_t)n, tsp, &unblocked);
		if (got_term) {
			printf("hello: bye\n");
			fflush(stdout);
			return 0;
		}
		for (int i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(pfd[i].fd);
	}
}
