/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for core/addr.c: every address syntax and its errors, the
 * formatting of each socket family, and real listen/connect round trips on
 * unix paths (fresh, stale, refused), abstract names, IPv4 and IPv6 loopback
 * on an ephemeral port and inherited fd://N descriptors.
 */
#define _GNU_SOURCE
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/addr.h"

static char tmpdir[64];

static void setup_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_addr.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(tmpdir);
}

static void parse_ok(const char *s, struct addr *a)
{
	struct err *e = NULL;
	int r = addr_parse(s, a, &e);
	ck_assert_msg(r == 0, "'%s': %s", s, err_msg(e));
	ck_assert_ptr_null(e);
	ck_assert_str_eq(a->text, s);
}

static void parse_bad(const char *s, const char *want)
{
	struct addr a;
	struct err *e = NULL;
	ck_assert_int_eq(addr_parse(s, &a, &e), -1);
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(strcmp(err_msg(e), want) == 0, "'%s': got '%s', want '%s'", s, err_msg(e),
		      want);
	err_free(&e);
}

/* The formatted address must equal want. */
static void check_format(const struct addr *a, const char *want)
{
	char out[128];
	addr_format((const struct sockaddr *)&a->ss, a->len, out, sizeof(out));
	ck_assert_str_eq(out, want);
}

START_TEST(test_parse_ipv4)
{
	struct addr a;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;

	parse_ok("127.0.0.1:3031", &a);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 3031);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in));
	ck_assert_int_eq(a.fd, -1);
	ck_assert(!addr_is_unix(&a));
	check_format(&a, "127.0.0.1:3031");

	parse_ok("localhost:80", &a);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	check_format(&a, "127.0.0.1:80");

	parse_ok(":8080", &a);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), INADDR_ANY);
	check_format(&a, "0.0.0.0:8080");

	parse_ok("10.1.2.3:65535", &a);
	check_format(&a, "10.1.2.3:65535");
	parse_ok("0.0.0.0:1", &a);
	ck_assert_int_eq(ntohs(sin->sin_port), 1);
}
END_TEST

START_TEST(test_parse_ipv6)
{
	struct addr a;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;

	parse_ok("[::1]:8080", &a);
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 8080);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in6));
	check_format(&a, "[::1]:8080");

	parse_ok("[::]:80", &a);
	ck_assert(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));
	check_format(&a, "[::]:80");

	parse_ok("[2001:db8::42]:443", &a);
	check_format(&a, "[2001:db8::42]:443");
	parse_ok("[::ffff:1.2.3.4]:1", &a);
	check_format(&a, "[::ffff:1.2.3.4]:1");
}
END_TEST

START_TEST(test_parse_unix)
{
	struct addr a;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&a.ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);

	parse_ok("unix:/run/app.sock", &a);
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, "/run/app.sock");
	ck_assert_uint_eq(a.len, off + strlen("/run/app.sock") + 1);
	ck_assert(addr_is_unix(&a));
	check_format(&a, "/run/app.sock");

	parse_ok("/tmp/x.sock", &a);
	ck_assert_str_eq(sun->sun_path, "/tmp/x.sock");
	parse_ok("./rel.sock", &a);
	ck_assert_str_eq(sun->sun_path, "./rel.sock");
	check_format(&a, "./rel.sock");

	parse_ok("@imperium-ctl", &a);
	ck_assert_int_eq(sun->sun_path[0], '\0');
	ck_assert_int_eq(memcmp(sun->sun_path + 1, "imperium-ctl", 12), 0);
	ck_assert_uint_eq(a.len, off + 1 + 12);
	ck_assert(addr_is_unix(&a));
	check_format(&a, "@imperium-ctl");

	/* the longest path that fits: sizeof(sun_path) - 1 bytes */
	char path[sizeof(sun->sun_path) + 8];
	memset(path, 'p', sizeof(sun->sun_path) - 1);
	path[0] = '/';
	path[sizeof(sun->sun_path) - 1] = '\0';
	parse_ok(path, &a);
	ck_assert_uint_eq(a.len, sizeof(struct sockaddr_un));
	check_format(&a, path);
}
END_TEST

START_TEST(test_parse_fd)
{
	struct addr a;
	parse_ok("fd://3", &a);
	ck_assert_int_eq(a.fd, 3);
	ck_assert(!addr_is_unix(&a));
	parse_ok("fd://0", &a);
	ck_assert_int_eq(a.fd, 0);
	parse_ok("fd://2147483647", &a);
	ck_assert_int_eq(a.fd, 2147483647);
}
END_TEST

START_TEST(test_parse_errors)
{
	parse_bad("example.com:80", "bad address 'example.com:80': only numeric hosts, localhost, "
				    "unix paths, @abstract and fd://N are accepted");
	parse_bad("1.2.3:80", "bad address '1.2.3:80': only numeric hosts, localhost, unix paths, "
			      "@abstract and fd://N are accepted");
	parse_bad("", "bad address '': empty");
	parse_bad("1.2.3.4", "bad address '1.2.3.4': missing :port");
	parse_bad("1.2.3.4:0", "bad address '1.2.3.4:0': port must be 1..65535");
	parse_bad(":65536", "bad address ':65536': port must be 1..65535");
	parse_bad(":", "bad address ':': port must be 1..65535");
	parse_bad(":http", "bad address ':http': port must be 1..65535");
	parse_bad(":-1", "bad address ':-1': port must be 1..65535");
	parse_bad(":+80", "bad address ':+80': port must be 1..65535");
	parse_bad(":80 ", "bad address ':80 ': port must be 1..65535");
	parse_bad("::1:80", "bad address '::1:80': IPv6 addresses go in brackets: [v6]:port");
	parse_bad("[::1]", "bad address '[::1]': expected [v6]:port");
	parse_bad("[::1]80", "bad address '[::1]80': expected [v6]:port");
	parse_bad("[::1", "bad address '[::1': expected [v6]:port");
	parse_bad("[1.2.3.4]:80", "bad address '[1.2.3.4]:80': bad IPv6 address");
	parse_bad("[fe80::1%eth0]:80", "bad address '[fe80::1%eth0]:80': bad IPv6 address");
	parse_bad("[::1]:0", "bad address '[::1]:0': port must be 1..65535");
	parse_bad("fd://", "bad address 'fd://': fd:// needs a descriptor number");
	parse_bad("fd://-1", "bad address 'fd://-1': fd:// needs a descriptor number");
	parse_bad("fd://2147483648",
		  "bad address 'fd://2147483648': fd:// needs a descriptor number");
	parse_bad("fd://3x", "bad address 'fd://3x': fd:// needs a descriptor number");
	parse_bad("@", "bad address '@': empty abstract name");
	parse_bad("unix:", "bad address 'unix:': empty path");

	/* paths: at most sizeof(sun_path) - 1 bytes; abstract names: the same
	 * count after the '@', as the leading NUL takes the terminator's place */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];
	char want[256];
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	path[0] = '@';
	snprintf(want, sizeof(want), "bad address '%s': longer than 107 bytes", path);
	parse_bad(path, want);
	path[sizeof(path) - 2] = '\0';
	struct addr a;
	parse_ok(path, &a); /* '@' + 107 bytes fits */
	path[0] = '/';
	snprintf(want, sizeof(want), "bad address '%s': longer than 107 bytes", path);
	parse_bad(path, want);

	char huge[ADDR_TEXT_MAX + 1];
	memset(huge, '1', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	snprintf(want, sizeof(want), "bad address '%.32s...': longer than 127 bytes", huge);
	parse_bad(huge, want);
	huge[ADDR_TEXT_MAX - 1] = '\0'; /* 127 bytes fit in text */
	huge[0] = ':';
	snprintf(want, sizeof(want), "bad address '%s': port must be 1..65535", huge);
	parse_bad(huge, want);
}
END_TEST

START_TEST(test_failed_parse_is_inert)
{
	struct addr a;
	ck_assert_int_eq(addr_parse("[::1]:0", &a, NULL), -1); /* NULL err is allowed */
	ck_assert_uint_eq(a.len, 0);
	ck_assert_int_eq(a.fd, -1);
	ck_assert(!addr_is_unix(&a));
	struct err *e = NULL;
	ck_assert_int_eq(addr_listen(&a, 1, false, 0, &e), -1);
	err_free(&e);
	ck_assert_int_eq(addr_connect(&a, &e), -1);
	err_free(&e);
}
END_TEST

START_TEST(test_format_edge_cases)
{
	char out[64];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	addr_format((struct sockaddr *)&sun, sizeof(sa_family_t), out, sizeof(out));
	ck_assert_str_eq(out, "unix:?");
	addr_format(NULL, 0, out, sizeof(out));
	ck_assert_str_eq(out, "?");
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
	sin.sin_addr.s_addr = htonl(0x01020304);
	addr_format((struct sockaddr *)&sin, sizeof(sin), out, 6);
	ck_assert_str_eq(out, "1.2.3"); /* cut to the room given */
	addr_format((struct sockaddr *)&sin, sizeof(sin) - 1, out, sizeof(out));
	ck_assert_str_eq(out, "?"); /* too short for its family */
	out[0] = 'x';
	addr_format((struct sockaddr *)&sin, sizeof(sin), out, 0);
	ck_assert_int_eq(out[0], 'x');
}
END_TEST

/* Accept one connection on lfd from cfd and pass a byte across. */
static void round_trip(int lfd, int cfd)
{
	int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(write(cfd, "z", 1), 1);
	char c = 0;
	ck_assert_int_eq(read(s, &c, 1), 1);
	ck_assert_int_eq(c, 'z');
	close(s);
}

static void check_cloexec(int fd, bool nonblock)
{
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, nonblock);
	int acc = 0;
	socklen_t len = sizeof(acc);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len), 0);
	ck_assert_int_eq(acc, 1);
}

static int listen_ok(const char *text, bool nonblock, unsigned mode)
{
	struct addr a;
	struct err *e = NULL;
	parse_ok(text, &a);
	int fd = addr_listen(&a, 16, nonblock, mode, &e);
	ck_assert_msg(fd >= 0, "listen %s: %s", text, err_msg(e));
	check_cloexec(fd, nonblock);
	return fd;
}

static int connect_ok(const char *text)
{
	struct addr a;
	struct err *e = NULL;
	parse_ok(text, &a);
	int fd = addr_connect(&a, &e);
	ck_assert_msg(fd >= 0, "connect %s: %s", text, err_msg(e));
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	return fd;
}

START_TEST(test_unix_listen_connect)
{
	char text[128];
	snprintf(text, sizeof(text), "unix:%s/s.sock", tmpdir);
	int lfd = listen_ok(text, true, 0660);
	struct stat st;
	ck_assert_int_eq(stat(text + 5, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	int cfd = connect_ok(text);
	round_trip(lfd, cfd);
	close(cfd);
	close(lfd);

	/* a plain path, blocking, no chmod */
	snprintf(text, sizeof(text), "%s/t.sock", tmpdir);
	lfd = listen_ok(text, false, 0);
	cfd = connect_ok(text);
	round_trip(lfd, cfd);
	close(cfd);
	close(lfd);
}
END_TEST

START_TEST(test_unix_stale_socket_replaced)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/stale.sock", tmpdir);
	/* leave a socket file behind with nobody listening on it */
	int old = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(old, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(old);
	/* a second link pins the old inode, so the new file cannot reuse it */
	char pin[160];
	snprintf(pin, sizeof(pin), "%s.pin", path);
	ck_assert_int_eq(link(path, pin), 0);
	struct stat before, after;
	ck_assert_int_eq(stat(path, &before), 0);
	struct addr a;
	struct err *e = NULL;
	parse_ok(path, &a);
	ck_assert_int_eq(addr_connect(&a, &e), -1);
	ck_assert_int_eq(e->errnum, ECONNREFUSED); /* stale indeed */
	err_free(&e);

	int lfd = listen_ok(path, false, 0);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_uint_ne(before.st_ino, after.st_ino); /* a new socket file */
	ck_assert_int_eq(stat(pin, &before), 0);
	ck_assert_uint_eq(before.st_nlink, 1); /* the old one was unlinked */
	int cfd = connect_ok(path);
	round_trip(lfd, cfd);
	close(cfd);
	close(lfd);
}
END_TEST

START_TEST(test_unix_regular_file_refused)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/data", tmpdir);
	int f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(f, 0);
	ck_assert_int_eq(write(f, "keep", 4), 4);
	close(f);

	struct addr a;
	struct err *e = NULL;
	parse_ok(path, &a);
	ck_assert_int_eq(addr_listen(&a, 16, false, 0, &e), -1);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->errnum, EADDRINUSE);
	char want[256];
	snprintf(want, sizeof(want), "bind %s: exists and is not a socket: %s", path,
		 strerror(EADDRINUSE));
	ck_assert_str_eq(err_msg(e), want);
	err_free(&e);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 4);

	/* a directory is refused the same way */
	snprintf(path, sizeof(path), "%s/dir", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	parse_ok(path, &a);
	ck_assert_int_eq(addr_listen(&a, 16, false, 0, &e), -1);
	ck_assert_int_eq(e->errnum, EADDRINUSE);
	err_free(&e);
	ck_assert_int_eq(rmdir(path), 0);
}
END_TEST

START_TEST(test_abstract_listen_connect)
{
	char text[64];
	snprintf(text, sizeof(text), "@check-addr-%d", (int)getpid());
	int lfd = listen_ok(text, false, 0);
	int cfd = connect_ok(text);
	round_trip(lfd, cfd);

	/* the socket's own name formats back to the text */
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
	char out[64];
	addr_format((struct sockaddr *)&ss, len, out, sizeof(out));
	ck_assert_str_eq(out, text);
	/* the connecting end is unnamed */
	len = sizeof(ss);
	ck_assert_int_eq(getsockname(cfd, (struct sockaddr *)&ss, &len), 0);
	addr_format((struct sockaddr *)&ss, len, out, sizeof(out));
	ck_assert_str_eq(out, "unix:?");
	close(cfd);
	close(lfd);
}
END_TEST

/* A port on @host nobody listens on right now: bind a probe to port 0. */
static int free_port(int family, const char *host)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, host, &sin->sin_addr), 1);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, host, &sin6->sin6_addr), 1);
		len = sizeof(*sin6);
	}
	int p = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(p, 0);
	ck_assert_int_eq(bind(p, (struct sockaddr *)&ss, len), 0);
	ck_assert_int_eq(getsockname(p, (struct sockaddr *)&ss, &len), 0);
	close(p);
	return family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
				 : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

START_TEST(test_tcp4_listen_connect)
{
	char text[64];
	int port = free_port(AF_INET, "127.0.0.1");
	snprintf(text, sizeof(text), "127.0.0.1:%d", port);
	int lfd = listen_ok(text, true, 0);
	int one = 0;
	socklen_t len = sizeof(one);
	ck_assert_int_eq(getsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, &len), 0);
	ck_assert_int_eq(one, 1);

	snprintf(text, sizeof(text), "localhost:%d", port);
	int cfd = connect_ok(text);
	round_trip(lfd, cfd);

	/* the same port again: the error names the address */
	struct addr a;
	struct err *e = NULL;
	snprintf(text, sizeof(text), "127.0.0.1:%d", port);
	parse_ok(text, &a);
	ck_assert_int_eq(addr_listen(&a, 16, false, 0, &e), -1);
	char want[128];
	snprintf(want, sizeof(want), "bind 127.0.0.1:%d: %s", port, strerror(EADDRINUSE));
	ck_assert_str_eq(err_msg(e), want);
	ck_assert_int_eq(e->errnum, EADDRINUSE);
	err_free(&e);
	close(cfd);
	close(lfd);
}
END_TEST

START_TEST(test_tcp6_listen_connect)
{
	char text[64];
	int port = free_port(AF_INET6, "::1");
	snprintf(text, sizeof(text), "[::1]:%d", port);
	int lfd = listen_ok(text, false, 0);
	int v6only = 0;
	socklen_t len = sizeof(v6only);
	ck_assert_int_eq(getsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len), 0);
	ck_assert_int_eq(v6only, 1);
	int cfd = connect_ok(text);
	round_trip(lfd, cfd);
	close(cfd);
	close(lfd);
}
END_TEST

START_TEST(test_tcp6_any_is_v6_only)
{
	/* [::] must not take the IPv4 port too: a v4 listener on it still works */
	char text[64];
	int port = free_port(AF_INET6, "::");
	snprintf(text, sizeof(text), "[::]:%d", port);
	int l6 = listen_ok(text, false, 0);
	int v6only = 0;
	socklen_t len = sizeof(v6only);
	ck_assert_int_eq(getsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len), 0);
	ck_assert_int_eq(v6only, 1);
	snprintf(text, sizeof(text), ":%d", port);
	int l4 = listen_ok(text, false, 0);
	snprintf(text, sizeof(text), "127.0.0.1:%d", port);
	int c4 = connect_ok(text);
	round_trip(l4, c4);
	snprintf(text, sizeof(text), "[::1]:%d", port);
	int c6 = connect_ok(text);
	round_trip(l6, c6);
	close(c6);
	close(c4);
	close(l4);
	close(l6);
}
END_TEST

START_TEST(test_connect_refused)
{
	char text[128];
	snprintf(text, sizeof(text), "127.0.0.1:%d", free_port(AF_INET, "127.0.0.1"));
	struct addr a;
	struct err *e = NULL;
	parse_ok(text, &a);
	ck_assert_int_eq(addr_connect(&a, &e), -1);
	char want[256];
	snprintf(want, sizeof(want), "connect %s: %s", text, strerror(ECONNREFUSED));
	ck_assert_str_eq(err_msg(e), want);
	err_free(&e);

	snprintf(text, sizeof(text), "%s/none.sock", tmpdir);
	parse_ok(text, &a);
	ck_assert_int_eq(addr_connect(&a, &e), -1);
	ck_assert_int_eq(e->errnum, ENOENT);
	err_free(&e);

	parse_ok("fd://0", &a);
	ck_assert_int_eq(addr_connect(&a, &e), -1);
	ck_assert_int_eq(e->errnum, EINVAL);
	err_free(&e);
}
END_TEST

START_TEST(test_fd_listen)
{
	char path[128], text[32];
	snprintf(path, sizeof(path), "%s/fd.sock", tmpdir);
	int orig = listen_ok(path, false, 0);
	snprintf(text, sizeof(text), "fd://%d", orig);
	int lfd = listen_ok(text, true, 0);
	ck_assert_int_ne(lfd, orig);
	int cfd = connect_ok(path);
	round_trip(lfd, cfd); /* the dup accepts on the same socket */
	close(cfd);
	close(lfd);
	close(orig);
}
END_TEST

START_TEST(test_fd_not_listening)
{
	struct addr a;
	struct err *e = NULL;
	char text[32];

	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(text, sizeof(text), "fd://%d", s);
	parse_ok(text, &a);
	ck_assert_int_eq(addr_listen(&a, 16, false, 0, &e), -1);
	char want[64];
	snprintf(want, sizeof(want), "fd://%d: not a listening socket: %s", s, strerror(EINVAL));
	ck_assert_str_eq(err_msg(e), want);
	err_free(&e);
	close(s);

	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	snprintf(text, sizeof(text), "fd://%d", p[0]);
	parse_ok(text, &a);
	ck_assert_int_eq(addr_listen(&a, 16, false, 0, &e), -1);
	ck_assert_int_eq(e->errnum, ENOTSOCK);
	err_free(&e);
	close(p[0]);
	close(p[1]);

	parse_ok("fd://999999", &a);
	ck_assert_int_eq(addr_listen(&a, 16, false, 0, &e), -1);
	ck_assert_int_eq(e->errnum, EBADF);
	err_free(&e);
}
END_TEST

static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"parse_ipv4", test_parse_ipv4},
	    {"parse_ipv6", test_parse_ipv6},
	    {"parse_unix", test_parse_unix},
	    {"parse_fd", test_parse_fd},
	    {"parse_errors", test_parse_errors},
	    {"failed_parse_is_inert", test_failed_parse_is_inert},
	    {"format_edge_cases", test_format_edge_cases},
	    {"unix_listen_connect", test_unix_listen_connect},
	    {"unix_stale_socket_replaced", test_unix_stale_socket_replaced},
	    {"unix_regular_file_refused", test_unix_regular_file_refused},
	    {"abstract_listen_connect", test_abstract_listen_connect},
	    {"tcp4_listen_connect", test_tcp4_listen_connect},
	    {"tcp6_listen_connect", test_tcp6_listen_connect},
	    {"tcp6_any_is_v6_only", test_tcp6_any_is_v6_only},
	    {"connect_refused", test_connect_refused},
	    {"fd_listen", test_fd_listen},
	    {"fd_not_listening", test_fd_not_listening},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 10);
		/* unchecked: runs in the runner, so teardown happens even when the test fails */
		tcase_add_unchecked_fixture(tc, setup_tmpdir, teardown_tmpdir);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(addr_suite());
}
