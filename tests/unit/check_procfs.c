/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for vassal/procfs.c against real processes: the RSS of a child
 * that touched 64 MiB, of the test itself and of a reaped pid; children
 * blocked waiting for a connection (accept4, accept on a dup, poll, ppoll,
 * select, pselect, epoll_wait, epoll_pwait) are idle, and children blocked
 * in anything else, waiting on other sockets, or running, are busy; the
 * accept queue of a TCP listener, and ENOTSUP for sockets that are not one.
 */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "vassal/internal.h"

#define MIB (1024u * 1024u)
#define WAIT_MS 2000 /* how long a child may take to block */
#define NO_NR (-1000L)

/* ---- children ---- */

/* What a child gets: the listener, a pipe end nobody writes to, and the
 * pipe on which it says it is set up. */
struct kid {
	int lfd;
	int hold;
	int ready;
};

typedef void (*kid_fn)(const struct kid *k);

/* In the child: setup is done. */
static void say_ready(const struct kid *k)
{
	if (write(k->ready, "r", 1) != 1)
		_exit(2);
	close(k->ready);
}

/* Fork a child running @fn (which calls say_ready, then blocks); return once
 * it said it is ready. */
static pid_t spawn(kid_fn fn, int lfd, int hold)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* dies with the test even when a failed assertion ends it early */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(2);
		close(p[0]);
		struct kid k = {.lfd = lfd, .hold = hold, .ready = p[1]};
		fn(&k);
		_exit(3);
	}
	close(p[1]);
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	int st;
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The syscall @pid sleeps in, per /proc/PID/syscall: NO_NR when running or
 * outside one. */
static long syscall_of(pid_t pid)
{
	char path[40], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	if (strncmp(buf, "running", 7) == 0)
		return NO_NR;
	char *end;
	errno = 0;
	long nr = strtol(buf, &end, 10);
	ck_assert(errno == 0 && end != buf && *end == ' ');
	return nr < 0 ? NO_NR : nr;
}

static bool nr_in(long nr, const long *nrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (nrs[i] == nr)
			return true;
	return false;
}

/*
 * Wait until @pid sleeps in one of @nrs (right after saying it is ready it
 * may still be running), then check vsl_proc_idle says @want.
 */
static void expect(pid_t pid, const long *nrs, size_t n_nrs, const ino_t *listen, size_t n,
		   int want)
{
	long nr = NO_NR;
	for (int ms = 0; ms < WAIT_MS && !nr_in(nr, nrs, n_nrs); ms += 10) {
		sleep_ms(10);
		nr = syscall_of(pid);
	}
	ck_assert_msg(nr_in(nr, nrs, n_nrs), "child %d never blocked as expected (last %ld)",
		      (int)pid, nr);
	errno = 0;
	int r = vsl_proc_idle(pid, listen, n);
	ck_assert_msg(r == want, "vsl_proc_idle: %d, want %d (errno %d, syscall %ld)", r, want,
		      errno, nr);
}

/* ---- a listener and a pipe ---- */

struct fx {
	int lfd;
	ino_t ino;
	int hold[2]; /* the child waits on hold[0]; nobody writes hold[1] */
};

static int tcp_listener(int backlog, struct sockaddr_in *addr)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	if (addr)
		*addr = a;
	return fd;
}

static ino_t ino_of(int fd)
{
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

static void fx_open(struct fx *f)
{
	f->lfd = tcp_listener(16, NULL);
	f->ino = ino_of(f->lfd);
	ck_assert_int_eq(pipe2(f->hold, O_CLOEXEC), 0);
}

static void fx_close(struct fx *f)
{
	close(f->lfd);
	close(f->hold[0]);
	close(f->hold[1]);
}

/* Fork @fn over a fresh fixture, expect @want while it sleeps in one of
 * @nrs, clean up. */
static void run_kid(kid_fn fn, const long *nrs, size_t n_nrs, int want)
{
	struct fx f;
	fx_open(&f);
	pid_t pid = spawn(fn, f.lfd, f.hold[0]);
	expect(pid, nrs, n_nrs, &f.ino, 1, want);
	reap(pid);
	fx_close(&f);
}

#define RUN_KID(fn, want, ...)                                                                     \
	do {                                                                                       \
		static const long nrs_[] = {__VA_ARGS__};                                          \
		run_kid(fn, nrs_, ARRAY_SIZE(nrs_), want);                                         \
	} while (0)

/* The syscalls each libc call may use on this architecture. */
#ifdef SYS_poll
#define NR_POLL SYS_poll, SYS_ppoll
#else
#define NR_POLL SYS_ppoll
#endif
#ifdef SYS_select
#define NR_SELECT SYS_select, SYS_pselect6
#else
#define NR_SELECT SYS_pselect6
#endif
#ifdef SYS_epoll_wait
#define NR_EPOLL SYS_epoll_wait, SYS_epoll_pwait
#else
#define NR_EPOLL SYS_epoll_pwait
#endif
#ifdef SYS_nanosleep
#define NR_SLEEP SYS_nanosleep, SYS_clock_nanosleep
#else
#define NR_SLEEP SYS_clock_nanosleep
#endif

/* ---- what the children block in ---- */

static void kid_accept4(const struct kid *k)
{
	say_ready(k);
	accept4(k->lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void kid_accept_dup(const struct kid *k)
{
	/* the listener only at another number, as a worker may keep it */
	int d = fcntl(k->lfd, F_DUPFD_CLOEXEC, 100);
	if (d < 0 || close(k->lfd) < 0)
		_exit(4);
	say_ready(k);
	accept(d, NULL, NULL);
}

static void kid_poll(const struct kid *k)
{
	struct pollfd p[2] = {{.fd = k->hold, .events = POLLIN}, {.fd = k->lfd, .events = POLLIN}};
	say_ready(k);
	poll(p, 2, -1);
}

static void kid_ppoll(const struct kid *k)
{
	struct pollfd p[2] = {{.fd = k->hold, .events = POLLIN}, {.fd = k->lfd, .events = POLLIN}};
	say_ready(k);
	ppoll(p, 2, NULL, NULL);
}

static void kid_select(const struct kid *k)
{
	fd_set r;
	FD_ZERO(&r);
	FD_SET(k->hold, &r);
	FD_SET(k->lfd, &r);
	say_ready(k);
	select((k->lfd > k->hold ? k->lfd : k->hold) + 1, &r, NULL, NULL, NULL);
}

#ifdef SYS_select
static void kid_select_raw(const struct kid *k)
{
	/* libc's select may be pselect6 underneath: the select syscall itself */
	fd_set r;
	FD_ZERO(&r);
	FD_SET(k->lfd, &r);
	say_ready(k);
	syscall(SYS_select, k->lfd + 1, &r, NULL, NULL, NULL);
}
#endif

static void kid_pselect(const struct kid *k)
{
	fd_set r;
	FD_ZERO(&r);
	FD_SET(k->lfd, &r);
	say_ready(k);
	pselect(k->lfd + 1, &r, NULL, NULL, NULL, NULL);
}

static void kid_select_writes(const struct kid *k)
{
	/* no read set at all: the listener is only in the write set */
	fd_set w;
	FD_ZERO(&w);
	FD_SET(k->lfd, &w);
	say_ready(k);
	select(k->lfd + 1, NULL, &w, NULL, NULL);
}

/* An epoll set over @a and, unless negative, @b. */
static int epoll_over(int a, int b)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	if (ep < 0)
		_exit(4);
	ev.data.fd = a;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev) < 0)
		_exit(4);
	ev.data.fd = b;
	if (b >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev) < 0)
		_exit(4);
	return ep;
}

static void kid_epoll(const struct kid *k)
{
	struct epoll_event ev[4];
	int ep = epoll_over(k->hold, k->lfd);
	say_ready(k);
	epoll_wait(ep, ev, 4, -1);
}

static void kid_epoll_pwait(const struct kid *k)
{
	struct epoll_event ev[4];
	int ep = epoll_over(k->lfd, -1);
	say_ready(k);
	epoll_pwait(ep, ev, 4, -1, NULL);
}

static void kid_epoll_pipe(const struct kid *k)
{
	struct epoll_event ev[4];
	int ep = epoll_over(k->hold, -1);
	say_ready(k);
	epoll_wait(ep, ev, 4, -1);
}

static void kid_poll_pipe(const struct kid *k)
{
	/* the listener is in the set, but ignored (negative fd) or not read */
	struct pollfd p[3] = {{.fd = k->hold, .events = POLLIN},
			      {.fd = ~k->lfd, .events = POLLIN},
			      {.fd = k->lfd, .events = POLLOUT}};
	say_ready(k);
	poll(p, 3, -1);
}

static void kid_read(const struct kid *k)
{
	char c;
	say_ready(k);
	if (read(k->hold, &c, 1) < 0)
		_exit(4);
}

static void kid_sleep(const struct kid *k)
{
	struct timespec ts = {.tv_sec = 3600};
	say_ready(k);
	nanosleep(&ts, NULL);
}

static void kid_spin(const struct kid *k)
{
	say_ready(k);
	for (;;)
		__asm__ volatile("" ::: "memory");
}

static void kid_rss(const struct kid *k)
{
	size_t len = 64 * MIB;
	char *p = malloc(len);
	if (p == NULL)
		_exit(4);
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	/* keep the compiler from dropping the buffer */
	__asm__ volatile("" : : "r"(p) : "memory");
	say_ready(k);
	pause();
}

static pid_t reaped_pid(void)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

/* ---- rss ---- */

START_TEST(rss_child)
{
	uint64_t rss = 0;
	pid_t pid = spawn(kid_rss, -1, -1);
	ck_assert_int_eq(vsl_proc_rss(pid, &rss), 0);
	ck_assert_msg(rss >= 64ull * MIB, "rss %llu", (unsigned long long)rss);
	reap(pid);
}
END_TEST

START_TEST(rss_self)
{
	uint64_t rss = 0;
	ck_assert_int_eq(vsl_proc_rss(getpid(), &rss), 0);
	ck_assert_uint_gt(rss, 0);
	ck_assert_uint_eq(rss % (uint64_t)sysconf(_SC_PAGESIZE), 0);
	ck_assert_uint_lt(rss, 64ull * 1024 * MIB);
}
END_TEST

START_TEST(rss_gone)
{
	uint64_t rss = 7;
	pid_t pid = reaped_pid();
	errno = 0;
	ck_assert_int_eq(vsl_proc_rss(pid, &rss), -1);
	ck_assert(errno == ENOENT || errno == ESRCH);
	ck_assert_uint_eq(rss, 7);
	errno = 0;
	ck_assert_int_eq(vsl_proc_rss(0, &rss), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- idle ---- */

START_TEST(idle_accept4)
{
	RUN_KID(kid_accept4, 0, SYS_accept4);
}
END_TEST

START_TEST(idle_accept_dup)
{
	RUN_KID(kid_accept_dup, 0, SYS_accept, SYS_accept4);
}
END_TEST

START_TEST(idle_poll)
{
	RUN_KID(kid_poll, 0, NR_POLL);
}
END_TEST

START_TEST(idle_ppoll)
{
	RUN_KID(kid_ppoll, 0, SYS_ppoll);
}
END_TEST

START_TEST(idle_select)
{
	RUN_KID(kid_select, 0, NR_SELECT);
}
END_TEST

#ifdef SYS_select
START_TEST(idle_select_raw)
{
	RUN_KID(kid_select_raw, 0, SYS_select);
}
END_TEST
#endif

START_TEST(idle_pselect)
{
	RUN_KID(kid_pselect, 0, SYS_pselect6);
}
END_TEST

START_TEST(idle_epoll_wait)
{
	RUN_KID(kid_epoll, 0, NR_EPOLL);
}
END_TEST

START_TEST(idle_epoll_pwait)
{
	RUN_KID(kid_epoll_pwait, 0, SYS_epoll_pwait);
}
END_TEST

/* ---- busy ---- */

START_TEST(busy_epoll_pipe)
{
	RUN_KID(kid_epoll_pipe, 1, NR_EPOLL);
}
END_TEST

START_TEST(busy_poll_pipe)
{
	RUN_KID(kid_poll_pipe, 1, NR_POLL);
}
END_TEST

START_TEST(busy_select_writes)
{
	RUN_KID(kid_select_writes, 1, NR_SELECT);
}
END_TEST

START_TEST(busy_read)
{
	RUN_KID(kid_read, 1, SYS_read);
}
END_TEST

START_TEST(busy_sleep)
{
	RUN_KID(kid_sleep, 1, NR_SLEEP);
}
END_TEST

START_TEST(busy_running)
{
	struct fx f;
	fx_open(&f);
	pid_t pid = spawn(kid_spin, f.lfd, f.hold[0]);
	char path[40], buf[16];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	ssize_t n = 0;
	for (int ms = 0; ms < WAIT_MS; ms += 10) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n == 8 && memcmp(buf, "running\n", 8) == 0)
			break;
		sleep_ms(10);
	}
	ck_assert(n == 8 && memcmp(buf, "running\n", 8) == 0);
	ck_assert_int_eq(vsl_proc_idle(pid, &f.ino, 1), 1);
	reap(pid);
	fx_close(&f);
}
END_TEST

START_TEST(busy_other_listener)
{
	/* accept4 on a listener that is not one of those asked about */
	struct fx f;
	fx_open(&f);
	int other = tcp_listener(4, NULL);
	ino_t ino = ino_of(other);
	pid_t pid = spawn(kid_accept4, f.lfd, f.hold[0]);
	static const long nrs[] = {SYS_accept4};
	expect(pid, nrs, 1, &ino, 1, 1);
	expect(pid, nrs, 1, NULL, 0, 1);
	const ino_t both[] = {ino, f.ino};
	expect(pid, nrs, 1, both, 2, 0);
	reap(pid);
	close(other);
	fx_close(&f);
}
END_TEST

START_TEST(idle_gone)
{
	ino_t ino = 1;
	pid_t pid = reaped_pid();
	errno = 0;
	ck_assert_int_eq(vsl_proc_idle(pid, &ino, 1), -1);
	ck_assert(errno == ENOENT || errno == ESRCH);
	errno = 0;
	ck_assert_int_eq(vsl_proc_idle(-1, &ino, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- accept queues ---- */

/* Wait up to WAIT_MS for @fd's queue to reach @want. */
static void expect_queue(int fd, uint32_t want)
{
	uint32_t q = UINT32_MAX;
	for (int ms = 0; ms < WAIT_MS; ms += 10) {
		ck_assert_int_eq(vsl_listen_queue(fd, &q), 0);
		if (q == want)
			break;
		sleep_ms(10);
	}
	ck_assert_uint_eq(q, want);
}

START_TEST(queue_counts)
{
	struct sockaddr_in a;
	int l = tcp_listener(16, &a);
	int c[3];
	expect_queue(l, 0);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(c[i], 0);
		ck_assert_int_eq(connect(c[i], (struct sockaddr *)&a, sizeof(a)), 0);
	}
	expect_queue(l, 3);
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(s, 0);
	expect_queue(l, 2);
	/* an accepted connection is no listener */
	uint32_t q = 9;
	errno = 0;
	ck_assert_int_eq(vsl_listen_queue(s, &q), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert_uint_eq(q, 9);
	close(s);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		close(c[i]);
	close(l);
}
END_TEST

START_TEST(queue_unix)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_storage ss = {.ss_family = AF_UNIX};
	/* an address of sa_family_t only: the kernel picks an abstract name */
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, sizeof(sa_family_t)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	uint32_t q;
	errno = 0;
	ck_assert_int_eq(vsl_listen_queue(fd, &q), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	close(fd);
}
END_TEST

START_TEST(queue_udp)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	uint32_t q;
	errno = 0;
	ck_assert_int_eq(vsl_listen_queue(fd, &q), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	close(fd);
}
END_TEST

START_TEST(queue_not_listening)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	uint32_t q;
	errno = 0;
	ck_assert_int_eq(vsl_listen_queue(fd, &q), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	close(fd);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	errno = 0;
	ck_assert_int_eq(vsl_listen_queue(p[0], &q), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	close(p[0]);
	close(p[1]);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

int main(void)
{
	Suite *s = suite_create("procfs");
	add(s, "rss_child", rss_child);
	add(s, "rss_self", rss_self);
	add(s, "rss_gone", rss_gone);
	add(s, "idle_accept4", idle_accept4);
	add(s, "idle_accept_dup", idle_accept_dup);
	add(s, "idle_poll", idle_poll);
	add(s, "idle_ppoll", idle_ppoll);
	add(s, "idle_select", idle_select);
#ifdef SYS_select
	add(s, "idle_select_raw", idle_select_raw);
#endif
	add(s, "idle_pselect", idle_pselect);
	add(s, "idle_epoll_wait", idle_epoll_wait);
	add(s, "idle_epoll_pwait", idle_epoll_pwait);
	add(s, "idle_gone", idle_gone);
	add(s, "busy_epoll_pipe", busy_epoll_pipe);
	add(s, "busy_poll_pipe", busy_poll_pipe);
	add(s, "busy_select_writes", busy_select_writes);
	add(s, "busy_read", busy_read);
	add(s, "busy_sleep", busy_sleep);
	add(s, "busy_running", busy_running);
	add(s, "busy_other_listener", busy_other_listener);
	add(s, "queue_counts", queue_counts);
	add(s, "queue_unix", queue_unix);
	add(s, "queue_udp", queue_udp);
	add(s, "queue_not_listening", queue_not_listening);
	return unit_run(s);
}
