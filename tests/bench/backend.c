/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * bench-backend: the node behind every proxy the router benchmark measures
 * (tests/bench/router.py), so that only the proxies differ. It listens on
 * 127.0.0.1 on two ports: HTTP_PORT speaks HTTP/1.1 with keep-alive and
 * pipelining, answering every request with a fixed 200 and the body
 * "hello\n"; UWSGI_PORT speaks the uwsgi protocol as a uWSGI app does:
 * it reads one packet (4-byte header, vars body, then CONTENT_LENGTH body
 * bytes, discarded), answers the same response as raw HTTP and closes.
 * PROCS processes (default 1) each run one epoll loop on their own pair of
 * SO_REUSEPORT listeners; the first is the process started, the others are
 * its children and die with it (parent-death signal). Everything read is
 * bounded: a head longer than HEAD_MAX, a malformed uwsgi packet or a
 * request it does not handle (chunked bodies) gets an error or a close,
 * never a crash. Standalone (libc only): cc -O2 -o bench-backend backend.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PROCS 64
#define HEAD_MAX 8192	      /* HTTP: one request head, and the read buffer */
#define UWSGI_MAX (4 + 65535) /* uwsgi: header + the largest body */
#define OUT_MAX 16384	      /* responses queued on one connection */
#define BODY_MAX (1ull << 30) /* largest request body accepted (discarded) */
#define EVENTS 256
#define ACCEPTS_PER_EVENT 64

static const char resp_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";
static const char resp_ok_close[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
				    "Connection: close\r\n\r\nhello\n";
static const char resp_400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
			       "Connection: close\r\n\r\n";
static const char resp_431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
			       "Content-Length: 0\r\nConnection: close\r\n\r\n";
static const char resp_501[] = "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n"
			       "Connection: close\r\n\r\n";

enum kind { K_HTTP_LISTEN, K_UWSGI_LISTEN, K_HTTP, K_UWSGI };

/* What an epoll event points at: a listener or a connection. */
struct tag {
	enum kind kind;
};

struct listener {
	struct tag tag;
	int fd;
};

struct conn {
	struct tag tag;
	int fd;
	uint32_t events;  /* what epoll watches now */
	bool close_after; /* close once `out` is flushed */
	bool answered;	  /* uwsgi: the response is queued, read nothing more */
	uint64_t skip;	  /* request body bytes still to discard */
	size_t in_len, in_cap;
	size_t out_off, out_len;
	char out[OUT_MAX];
	char in[]; /* in_cap bytes */
};

static int epfd = -1;

static void die(const char *what)
{
	fprintf(stderr, "bench-backend: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* A port number 1..65535 from text; -1 when it is not one. */
static int parse_port(const char *s)
{
	long v = 0;
	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 65535)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		die("setsockopt");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(fd, 4096) < 0)
		die("listen");
	return fd;
}

static void watch(int fd, struct tag *t, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = t};
	if (epoll_ctl(epfd, op, fd, &ev) < 0)
		die("epoll_ctl");
}

static void conn_close(struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	free(c);
}

/* Queue @len bytes of @p; false when they do not fit (flush first). */
static bool queue_out(struct conn *c, const char *p, size_t len)
{
	if (c->out_off > 0 && c->out_len + len > OUT_MAX) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > OUT_MAX)
		return false;
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
	return true;
}

/* Queue an error response and stop reading: the connection ends with it. */
static void fail(struct conn *c, const char *resp, size_t len)
{
	c->in_len = 0;
	c->close_after = true;
	c->answered = true;
	if (!queue_out(c, resp, len)) {
		/* Responses already queued fill the buffer: just close after them. */
	}
}

/* Drop @n bytes from the front of the input buffer. */
static void consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Discard request body bytes that are already in the buffer. */
static void skip_body(struct conn *c)
{
	size_t n = c->skip < c->in_len ? (size_t)c->skip : c->in_len;
	consume(c, n);
	c->skip -= n;
}

/* Case-insensitive: does header line [p, p+len) start with name ":"? */
static bool header_is(const char *p, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len > n && p[n] == ':' && strncasecmp(p, name, n) == 0;
}

/* The value of a header line (after ':'), without surrounding blanks. */
static void header_value(const char *line, size_t len, const char **v, size_t *vlen)
{
	const char *p = memchr(line, ':', len);
	const char *end = line + len;
	p = p ? p + 1 : end;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*v = p;
	*vlen = (size_t)(end - p);
}

/* Decimal digits only, at most BODY_MAX; -1 otherwise. */
static int parse_len(const char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 12)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > BODY_MAX)
		return -1;
	*out = v;
	return 0;
}

static bool contains_token(const char *p, size_t len, const char *tok)
{
	size_t n = strlen(tok);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(p + i, tok, n) == 0)
			return true;
	return false;
}

/*
 * One HTTP request head [in, in+len) (ending with the blank line): note its
 * body length and whether the connection ends after it. Returns the
 * response to queue.
 */
static const char *http_request(struct conn *c, size_t len, size_t *rlen)
{
	const char *p = c->in, *end = c->in + len - 2; /* the last CRLF ends the head */
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL || eol - p < 14 || eol[-1] != '\r')
		return *rlen = sizeof(resp_400) - 1, resp_400;
	bool http10 = memcmp(eol - 10, " HTTP/1.0", 9) == 0;
	if (!http10 && memcmp(eol - 10, " HTTP/1.1", 9) != 0)
		return *rlen = sizeof(resp_400) - 1, resp_400;
	bool keep = !http10, clen_seen = false;
	for (p = eol + 1; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL || eol == p || eol[-1] != '\r')
			return *rlen = sizeof(resp_400) - 1, resp_400;
		size_t n = (size_t)(eol - 1 - p);
		const char *v;
		size_t vlen;
		header_value(p, n, &v, &vlen);
		if (header_is(p, n, "content-length")) {
			if (clen_seen || parse_len(v, vlen, &c->skip) < 0)
				return *rlen = sizeof(resp_400) - 1, resp_400;
			clen_seen = true;
		} else if (header_is(p, n, "transfer-encoding")) {
			return *rlen = sizeof(resp_501) - 1, resp_501;
		} else if (header_is(p, n, "connection")) {
			if (contains_token(v, vlen, "close"))
				keep = false;
			else if (contains_token(v, vlen, "keep-alive"))
				keep = true;
		}
	}
	if (!keep) {
		c->close_after = true;
		return *rlen = sizeof(resp_ok_close) - 1, resp_ok_close;
	}
	return *rlen = sizeof(resp_ok) - 1, resp_ok;
}

/* Answer every whole request in the buffer, as far as `out` takes them. */
static void http_process(struct conn *c)
{
	while (!c->close_after) {
		if (c->skip > 0) {
			skip_body(c);
			if (c->skip > 0)
				return;
		}
		char *h = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		if (h == NULL) {
			if (c->in_len == c->in_cap)
				fail(c, resp_431, sizeof(resp_431) - 1);
			return;
		}
		if (c->out_len - c->out_off + sizeof(resp_ok_close) > OUT_MAX)
			return; /* flush first; the request stays in the buffer */
		size_t len = (size_t)(h + 4 - c->in), rlen;
		const char *r = http_request(c, len, &rlen);
		if (r == resp_400 || r == resp_501) {
			fail(c, r, rlen);
			return;
		}
		queue_out(c, r, rlen);
		consume(c, len);
	}
}

/*
 * One uwsgi packet: wait for the header and the whole vars body, check the
 * vars (bounded, as a uWSGI app would), then discard CONTENT_LENGTH body
 * bytes and answer. A malformed packet is closed without an answer.
 */
static void uwsgi_process(struct conn *c)
{
	if (c->answered)
		return;
	if (c->skip == 0) {
		if (c->in_len < 4)
			return;
		size_t size = (size_t)(uint8_t)c->in[1] | (size_t)(uint8_t)c->in[2] << 8;
		if (c->in_len < 4 + size)
			return;
		const uint8_t *v = (const uint8_t *)c->in + 4;
		uint64_t clen = 0;
		for (size_t pos = 0; pos < size;) {
			size_t klen, vlen;
			if (size - pos < 2 || (klen = v[pos] | (size_t)v[pos + 1] << 8) == 0 ||
			    size - pos - 2 < klen + 2)
				goto bad;
			const uint8_t *key = v + pos + 2;
			pos += 2 + klen;
			vlen = v[pos] | (size_t)v[pos + 1] << 8;
			if (size - pos - 2 < vlen)
				goto bad;
			if (klen == 14 && memcmp(key, "CONTENT_LENGTH", 14) == 0 && vlen > 0 &&
			    parse_len((const char *)v + pos + 2, vlen, &clen) < 0)
				goto bad;
			pos += 2 + vlen;
		}
		consume(c, 4 + size);
		c->skip = clen;
	}
	skip_body(c);
	if (c->skip > 0)
		return;
	c->in_len = 0;
	c->answered = true;
	c->close_after = true;
	queue_out(c, resp_ok, sizeof(resp_ok) - 1);
	return;
bad:
	c->in_len = 0;
	c->answered = true;
	c->close_after = true;
}

/* Write what is queued. -1 when the connection is gone (closed here). */
static int flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			conn_close(c);
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->close_after) {
		conn_close(c);
		return -1;
	}
	return 0;
}

static void process(struct conn *c)
{
	if (c->tag.kind == K_HTTP)
		http_process(c);
	else
		uwsgi_process(c);
}

/* Read what is there; -1 when the connection is gone (closed here). */
static int fill(struct conn *c)
{
	if (c->answered) {
		/* Nothing more is expected: drain and drop, so a close is not a reset. */
		char sink[4096];
		ssize_t n = read(c->fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return -1;
		}
		return 0;
	}
	ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		conn_close(c);
		return -1;
	}
	c->in_len += (size_t)n;
	return 0;
}

static void conn_event(struct conn *c, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (fill(c) < 0)
			return;
	}
	/* Answer, write, and answer again what waited for room in `out`. */
	for (;;) {
		size_t before = c->in_len;
		process(c);
		if (flush(c) < 0)
			return;
		if (c->out_len > 0 || c->in_len == before)
			break;
	}
	/* Stop reading while responses wait to be written (backpressure). */
	uint32_t want = c->out_len > 0 ? EPOLLOUT : EPOLLIN;
	if (want != c->events) {
		c->events = want;
		watch(c->fd, &c->tag, want, EPOLL_CTL_MOD);
	}
}

static void accept_all(struct listener *l)
{
	bool uwsgi = l->tag.kind == K_UWSGI_LISTEN;
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, "bench-backend: accept: %s\n", strerror(errno));
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		size_t cap = uwsgi ? UWSGI_MAX : HEAD_MAX;
		struct conn *c = malloc(sizeof(*c) + cap);
		if (c == NULL) {
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->tag.kind = uwsgi ? K_UWSGI : K_HTTP;
		c->fd = fd;
		c->in_cap = cap;
		c->events = EPOLLIN;
		watch(fd, &c->tag, EPOLLIN, EPOLL_CTL_ADD);
	}
}

static void loop(struct listener *http, struct listener *uwsgi)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	watch(http->fd, &http->tag, EPOLLIN, EPOLL_CTL_ADD);
	watch(uwsgi->fd, &uwsgi->tag, EPOLLIN, EPOLL_CTL_ADD);
	struct epoll_event evs[EVENTS];
	for (;;) {
		int n = epoll_wait(epfd, evs, EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;
			if (t->kind == K_HTTP_LISTEN || t->kind == K_UWSGI_LISTEN)
				accept_all((struct listener *)t);
			else
				conn_event((struct conn *)t, evs[i].events);
		}
	}
}

int main(int argc, char **argv)
{
	int hport = argc >= 3 ? parse_port(argv[1]) : -1;
	int uport = argc >= 3 ? parse_port(argv[2]) : -1;
	int procs = argc == 4 ? parse_port(argv[3]) : argc == 3 ? 1 : -1;
	if (hport < 0 || uport < 0 || procs < 1 || procs > MAX_PROCS) {
		fprintf(stderr, "usage: bench-backend HTTP_PORT UWSGI_PORT [PROCS 1..%d]\n",
			MAX_PROCS);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Every process's listeners exist before anyone is told we are ready. */
	static struct listener h[MAX_PROCS], u[MAX_PROCS];
	for (int i = 0; i < procs; i++) {
		h[i] = (struct listener){{K_HTTP_LISTEN}, listen_on(hport)};
		u[i] = (struct listener){{K_UWSGI_LISTEN}, listen_on(uport)};
	}
	pid_t parent = getpid();
	int me = 0;
	for (int i = 1; i < procs; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
				die("prctl");
			if (getppid() != parent)
				return 0; /* the parent is already gone */
			me = i;
			break;
		}
	}
	for (int i = 0; i < procs; i++) {
		if (i != me) {
			close(h[i].fd);
			close(u[i].fd);
		}
	}
	if (me == 0) {
		printf(
		    "bench-backend: ready: http 127.0.0.1:%d, uwsgi 127.0.0.1:%d, %d process%s\n",
		    hport, uport, procs, procs > 1 ? "es" : "");
		fflush(stdout);
	}
	loop(&h[me], &u[me]);
	return 0;
}
