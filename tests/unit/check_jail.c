/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for jail/: clone flag names both ways, every jail key of
 * jail_spec_from_cfg with its errors ("t.ini:LINE: KEY: why"), the namespace
 * each key needs, the symlink-safe mount point walker (in a temp dir), the
 * refusals of jail_build outside its namespaces, and the error paths of
 * jail_write_id_maps. Nothing here needs root: building real jails is left
 * to the integration tests. This suite includes jail/internal.h on purpose,
 * to test the walker that keeps mounts out of symlinks.
 */
#define _GNU_SOURCE
#include "tests/unit/unit.h"
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cfg.h"
#include "jail/internal.h"
#include "jail/jail.h"

#define ALL_NS                                                                                     \
	(CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUSER | \
	 CLONE_NEWCGROUP)

static char tmpdir[64];

static void setup_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_jail.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void teardown_tmpdir(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* TMPDIR/REL, in the caller's buffer. */
static const char *tmp_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", tmpdir, rel);
	return buf;
}

/* ---- clone flags ---- */

static unsigned long flags_ok(const char *s)
{
	unsigned long f = 12345;
	_cleanup_err_ struct err *e = NULL;
	ck_assert_msg(jail_parse_clone_flags(s, &f, &e) == 0, "'%s': %s", s, err_msg(e));
	ck_assert_ptr_null(e);
	return f;
}

static void flags_bad(const char *s, const char *want)
{
	unsigned long f = 12345;
	_cleanup_err_ struct err *e = NULL;
	ck_assert_int_eq(jail_parse_clone_flags(s, &f, &e), -1);
	ck_assert_str_eq(err_msg(e), want);
	ck_assert_uint_eq(f, 12345);
}

START_TEST(test_clone_flags_parse)
{
	ck_assert_uint_eq(flags_ok(""), 0);
	ck_assert_uint_eq(flags_ok("  "), 0);
	ck_assert_uint_eq(flags_ok("fs"), CLONE_NEWNS);
	ck_assert_uint_eq(flags_ok("ipc,uts,fs,pid,net,user,cgroup"), ALL_NS);
	ck_assert_uint_eq(flags_ok(" pid , net\t"), CLONE_NEWPID | CLONE_NEWNET);
	ck_assert_uint_eq(flags_ok("uts,uts,ipc"), CLONE_NEWUTS | CLONE_NEWIPC);
	flags_bad("pid,bogus",
		  "unknown namespace 'bogus' (expected ipc,uts,fs,pid,net,user,cgroup)");
	flags_bad("PID", "unknown namespace 'PID' (expected ipc,uts,fs,pid,net,user,cgroup)");
	flags_bad("pid,", "unknown namespace '' (expected ipc,uts,fs,pid,net,user,cgroup)");
	flags_bad("pid net",
		  "unknown namespace 'pid net' (expected ipc,uts,fs,pid,net,user,cgroup)");
}
END_TEST

START_TEST(test_clone_flags_format)
{
	char out[64];
	jail_format_clone_flags(0, out, sizeof(out));
	ck_assert_str_eq(out, "");
	jail_format_clone_flags(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET, out, sizeof(out));
	ck_assert_str_eq(out, "ipc,pid,net");
	jail_format_clone_flags(ALL_NS, out, sizeof(out));
	ck_assert_str_eq(out, "ipc,uts,fs,pid,net,user,cgroup");
	/* Too small: only whole names. */
	jail_format_clone_flags(ALL_NS, out, 9);
	ck_assert_str_eq(out, "ipc,uts");
}
END_TEST

START_TEST(test_clone_flags_round_trip)
{
	static const unsigned long bits[] = {CLONE_NEWIPC,   CLONE_NEWUTS, CLONE_NEWNS,
					     CLONE_NEWPID,   CLONE_NEWNET, CLONE_NEWUSER,
					     CLONE_NEWCGROUP};
	for (unsigned mask = 0; mask < 128; mask++) {
		unsigned long f = 0;
		for (unsigned i = 0; i < 7; i++)
			if (mask & (1u << i))
				f |= bits[i];
		char out[64];
		jail_format_clone_flags(f, out, sizeof(out));
		ck_assert_uint_eq(flags_ok(out), f);
	}
}
END_TEST

/* ---- spec parsing ---- */

static struct cfg *parse(const char *body)
{
	char *text = NULL;
	ck_assert_int_ge(asprintf(&text, "[vassal]\n%s", body), 0);
	static const char *const sections[] = {"vassal", NULL};
	_cleanup_err_ struct err *e = NULL;
	struct cfg *c = cfg_parse_buf("t.ini", text, strlen(text), sections, 0, &e);
	ck_assert_msg(c != NULL, "%s", err_msg(e));
	free(text);
	return c;
}

static void spec_ok(const char *body, unsigned long flags, struct jail_spec *spec)
{
	_cleanup_cfg_ struct cfg *c = parse(body);
	_cleanup_err_ struct err *e = NULL;
	int r = jail_spec_from_cfg(c, flags, "/run/stage", spec, &e);
	ck_assert_msg(r == 0, "'%s': %s", body, err_msg(e));
	ck_assert_str_eq(spec->stage_dir, "/run/stage");
}

/* The body's first line is line 2 ("[vassal]" is line 1). */
static void spec_bad(const char *body, unsigned long flags, const char *needle)
{
	_cleanup_cfg_ struct cfg *c = parse(body);
	_cleanup_err_ struct err *e = NULL;
	struct jail_spec spec;
	ck_assert_int_eq(jail_spec_from_cfg(c, flags, "/run/stage", &spec, &e), -1);
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(strstr(err_msg(e), needle) != NULL, "'%s' lacks '%s'", err_msg(e), needle);
	ck_assert_ptr_null(spec.mounts);
	ck_assert_ptr_null(spec.stage_dir);
}

START_TEST(test_spec_defaults)
{
	struct jail_spec spec;
	spec_ok("exec = x\n", 0, &spec);
	ck_assert_uint_eq(spec.clone_flags, 0);
	ck_assert_ptr_null(spec.rootfs);
	ck_assert_ptr_null(spec.pivot_new);
	ck_assert_ptr_null(spec.hostname);
	ck_assert_uint_eq(spec.n_mounts, 0);
	ck_assert_uint_eq(spec.n_caps, 0);
	ck_assert_uint_eq(spec.n_rlimits, 0);
	ck_assert_uint_eq(spec.uid, 65534);
	ck_assert_uint_eq(spec.gid, 65534); /* nobody's primary group on Debian */
	jail_spec_free(&spec);
	ck_assert_ptr_null(spec.stage_dir);
}
END_TEST

START_TEST(test_spec_rootfs)
{
	struct jail_spec spec;
	char body[256], file[128];
	snprintf(body, sizeof(body), "rootfs = %s//\n", tmpdir);
	spec_ok(body, CLONE_NEWNS, &spec);
	ck_assert_str_eq(spec.rootfs, tmpdir);
	jail_spec_free(&spec);

	spec_bad("rootfs = relative/dir\n", CLONE_NEWNS,
		 "t.ini:2: rootfs: rootfs 'relative/dir' must be an absolute path");
	spec_bad("\nrootfs = /nonexistent/root\n", CLONE_NEWNS,
		 "t.ini:3: rootfs: rootfs /nonexistent/root: No such file or directory");
	int fd = open(tmp_path(file, sizeof(file), "f"), O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(body, sizeof(body), "rootfs = %s\n", file);
	spec_bad(body, CLONE_NEWNS, "not a directory");
	spec_bad("rootfs = /a/../b\n", CLONE_NEWNS,
		 "t.ini:2: rootfs: rootfs '/a/../b' must not contain '..'");
}
END_TEST

START_TEST(test_spec_pivot_root)
{
	struct jail_spec spec;
	char body[512];
	snprintf(body, sizeof(body), "pivot-root = %s %s/old/\n", tmpdir, tmpdir);
	spec_ok(body, CLONE_NEWNS, &spec);
	ck_assert_str_eq(spec.pivot_new, tmpdir);
	ck_assert_str_eq(spec.pivot_old, "old");
	jail_spec_free(&spec);

	snprintf(body, sizeof(body), "pivot-root =  %s/\t.oldroot/x \n", tmpdir);
	spec_ok(body, CLONE_NEWNS | CLONE_NEWUTS, &spec);
	ck_assert_str_eq(spec.pivot_old, ".oldroot/x");
	jail_spec_free(&spec);

	snprintf(body, sizeof(body), "pivot-root = %s %s\n", tmpdir, tmpdir);
	spec_ok(body, CLONE_NEWNS, &spec);
	ck_assert_str_eq(spec.pivot_old, ".");
	jail_spec_free(&spec);

	snprintf(body, sizeof(body), "pivot-root = %s /elsewhere/old\n", tmpdir);
	spec_bad(body, CLONE_NEWNS, "t.ini:2: pivot-root: OLD /elsewhere/old is not inside NEW");
	snprintf(body, sizeof(body), "pivot-root = %s %sx/old\n", tmpdir, tmpdir);
	spec_bad(body, CLONE_NEWNS, "is not inside NEW");
	snprintf(body, sizeof(body), "pivot-root = %s ../old\n", tmpdir);
	spec_bad(body, CLONE_NEWNS, "t.ini:2: pivot-root: OLD '../old' must not contain '..'");
	spec_bad("pivot-root = /srv\n", CLONE_NEWNS, "t.ini:2: pivot-root: expected NEW OLD");
	spec_bad("pivot-root = /a /b /c\n", CLONE_NEWNS, "t.ini:2: pivot-root: expected NEW OLD");
	spec_bad("pivot-root = / /old\n", CLONE_NEWNS, "t.ini:2: pivot-root: NEW cannot be /");
	spec_bad("pivot-root = rel /old\n", CLONE_NEWNS, "NEW 'rel' must be an absolute path");
	spec_bad("pivot-root = /nonexistent/new old\n", CLONE_NEWNS,
		 "t.ini:2: pivot-root: NEW /nonexistent/new: No such file or directory");
}
END_TEST

START_TEST(test_spec_pivot_root_conflicts)
{
	char body[512];
	snprintf(body, sizeof(body), "pivot-root = %s old\nhostname = h\nbind-ro = /usr\n", tmpdir);
	spec_bad(body, CLONE_NEWNS | CLONE_NEWUTS,
		 "t.ini:4: bind-ro: pivot-root cannot be combined with bind-ro (see line 2)");
	snprintf(body, sizeof(body), "rootfs = /\npivot-root = %s old\n", tmpdir);
	spec_bad(body, CLONE_NEWNS, "t.ini:2: rootfs: pivot-root cannot be combined with rootfs");
	snprintf(body, sizeof(body), "pivot-root = %s old\ntmpfs = /tmp\n", tmpdir);
	spec_bad(body, CLONE_NEWNS, "t.ini:3: tmpfs: pivot-root cannot be combined with tmpfs");
	snprintf(body, sizeof(body), "pivot-root = %s old\nbind-rw = /tmp\n", tmpdir);
	spec_bad(body, CLONE_NEWNS, "t.ini:3: bind-rw: pivot-root cannot be combined with bind-rw");
}
END_TEST

START_TEST(test_spec_binds)
{
	struct jail_spec spec;
	spec_ok("bind-ro = /usr\n"
		"tmpfs = /tmp:64M\n"
		"bind-rw = //tmp/./:/data/x/\n"
		"bind-ro = /etc/hostname:/etc/h:weird\n"
		"tmpfs = /run\n",
		CLONE_NEWNS, &spec);
	ck_assert_uint_eq(spec.n_mounts, 5);
	ck_assert_int_eq(spec.mounts[0].kind, JAIL_BIND_RO);
	ck_assert_str_eq(spec.mounts[0].src, "/usr");
	ck_assert_str_eq(spec.mounts[0].dst, "/usr");
	ck_assert_int_eq(spec.mounts[1].kind, JAIL_TMPFS);
	ck_assert_ptr_null(spec.mounts[1].src);
	ck_assert_str_eq(spec.mounts[1].dst, "/tmp");
	ck_assert_uint_eq(spec.mounts[1].size, 64ull << 20);
	ck_assert_int_eq(spec.mounts[2].kind, JAIL_BIND_RW);
	ck_assert_str_eq(spec.mounts[2].src, "/tmp");
	ck_assert_str_eq(spec.mounts[2].dst, "/data/x");
	ck_assert_str_eq(spec.mounts[3].src, "/etc/hostname");
	ck_assert_str_eq(spec.mounts[3].dst, "/etc/h:weird");
	ck_assert_uint_eq(spec.mounts[4].size, 0);
	jail_spec_free(&spec);
	ck_assert_ptr_null(spec.mounts);
	ck_assert_uint_eq(spec.n_mounts, 0);
}
END_TEST

START_TEST(test_spec_bind_symlink_source)
{
	/* lstat: a dangling symlink is a fine source (jail_build resolves it). */
	char link[128], body[256];
	ck_assert_int_eq(symlink("nowhere", tmp_path(link, sizeof(link), "l")), 0);
	snprintf(body, sizeof(body), "bind-ro = %s:/l\n", link);
	struct jail_spec spec;
	spec_ok(body, CLONE_NEWNS, &spec);
	ck_assert_str_eq(spec.mounts[0].src, link);
	jail_spec_free(&spec);
}
END_TEST

START_TEST(test_spec_bind_errors)
{
	spec_bad("bind-ro = usr\n", CLONE_NEWNS,
		 "t.ini:2: bind-ro: source 'usr' must be an absolute path");
	spec_bad("bind-ro =\n", CLONE_NEWNS,
		 "t.ini:2: bind-ro: source '' must be an absolute path");
	spec_bad("bind-rw = /nonexistent/x\n", CLONE_NEWNS,
		 "t.ini:2: bind-rw: source /nonexistent/x: No such file or directory");
	spec_bad("bind-ro = /usr/../etc\n", CLONE_NEWNS,
		 "source '/usr/../etc' must not contain '..'");
	spec_bad("bind-ro = /usr:usr\n", CLONE_NEWNS,
		 "t.ini:2: bind-ro: destination 'usr' must be an absolute path");
	spec_bad("bind-ro = /usr:\n", CLONE_NEWNS, "destination '' must be an absolute path");
	spec_bad("bind-ro = /usr:/x/..\n", CLONE_NEWNS,
		 "destination '/x/..' must not contain '..'");
	spec_bad("bind-ro = /usr:/\n", CLONE_NEWNS, "t.ini:2: bind-ro: destination cannot be /");
	spec_bad("tmpfs = /tmp:lots\n", CLONE_NEWNS, "t.ini:2: tmpfs: bad size 'lots'");
	spec_bad("tmpfs = tmp\n", CLONE_NEWNS,
		 "t.ini:2: tmpfs: destination 'tmp' must be an absolute path");
	spec_bad("tmpfs = /\n", CLONE_NEWNS, "destination cannot be /");
	spec_bad("tmpfs = /a/../../etc\n", CLONE_NEWNS, "must not contain '..'");
}
END_TEST

START_TEST(test_spec_too_many_mounts)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	for (int i = 0; i <= JAIL_MAX_MOUNTS; i++)
		fprintf(f, "tmpfs = /t%d\n", i);
	fclose(f);
	spec_bad(body, CLONE_NEWNS, "t.ini:130: tmpfs: too many mounts (max 128)");
	free(body);
}
END_TEST

START_TEST(test_spec_needs_fs)
{
	char body[256];
	const char *want = "needs the fs namespace (use-clone)";
	spec_bad("bind-ro = /usr\n", ALL_NS & ~CLONE_NEWNS,
		 "t.ini:2: bind-ro: needs the fs namespace (use-clone)");
	spec_bad("exec = x\nbind-rw = /tmp\n", 0,
		 "t.ini:3: bind-rw: needs the fs namespace (use-clone)");
	spec_bad("tmpfs = /tmp\n", CLONE_NEWUTS, "t.ini:2: tmpfs: needs the fs namespace");
	spec_bad("rootfs = /\n", CLONE_NEWPID, "t.ini:2: rootfs: needs the fs namespace");
	snprintf(body, sizeof(body), "pivot-root = %s old\n", tmpdir);
	spec_bad(body, CLONE_NEWPID, want);
	/* Checked before the path itself. */
	spec_bad("bind-ro = relative\n", 0, want);
}
END_TEST

START_TEST(test_spec_hostname)
{
	struct jail_spec spec;
	spec_ok("hostname = app-1.example\n", CLONE_NEWUTS, &spec);
	ck_assert_str_eq(spec.hostname, "app-1.example");
	jail_spec_free(&spec);
	char body[128];
	snprintf(body, sizeof(body), "hostname = %s\n",
		 "a234567890123456789012345678901234567890123456789012345678901234");
	spec_ok(body, CLONE_NEWUTS, &spec);
	ck_assert_uint_eq(strlen(spec.hostname), 64);
	jail_spec_free(&spec);

	spec_bad("hostname = h\n", ALL_NS & ~CLONE_NEWUTS,
		 "t.ini:2: hostname: needs the uts namespace (use-clone)");
	snprintf(body, sizeof(body), "hostname = %s\n",
		 "a2345678901234567890123456789012345678901234567890123456789012345");
	spec_bad(body, CLONE_NEWUTS, "t.ini:2: hostname: bad hostname");
	spec_bad("hostname = a_b\n", CLONE_NEWUTS, "bad hostname 'a_b'");
	spec_bad("hostname = a b\n", CLONE_NEWUTS, "bad hostname 'a b'");
}
END_TEST

START_TEST(test_spec_ids)
{
	struct jail_spec spec;
	spec_ok("uid = root\n", 0, &spec);
	ck_assert_uint_eq(spec.uid, 0);
	ck_assert_uint_eq(spec.gid, 0);
	jail_spec_free(&spec);
	spec_ok("uid = nobody\n", 0, &spec);
	ck_assert_uint_eq(spec.uid, 65534);
	ck_assert_uint_eq(spec.gid, 65534);
	jail_spec_free(&spec);
	spec_ok("uid = 0\n", 0, &spec); /* in passwd: its primary group */
	ck_assert_uint_eq(spec.gid, 0);
	jail_spec_free(&spec);
	spec_ok("uid = 4242424\n", 0, &spec); /* not in passwd: 65534 */
	ck_assert_uint_eq(spec.uid, 4242424);
	ck_assert_uint_eq(spec.gid, 65534);
	jail_spec_free(&spec);
	spec_ok("uid = root\ngid = 4242\n", 0, &spec);
	ck_assert_uint_eq(spec.uid, 0);
	ck_assert_uint_eq(spec.gid, 4242);
	jail_spec_free(&spec);
	spec_ok("gid = root\n", 0, &spec);
	ck_assert_uint_eq(spec.uid, 65534);
	ck_assert_uint_eq(spec.gid, 0);
	jail_spec_free(&spec);

	spec_bad("uid = no-such-user-xyz\n", 0, "t.ini:2: uid: unknown user 'no-such-user-xyz'");
	spec_bad("uid = 12ab\n", 0, "unknown user '12ab'");
	spec_bad("uid = 4294967295\n", 0, "t.ini:2: uid: uid 4294967295 out of range");
	spec_bad("uid = 99999999999999999999\n", 0, "out of range");
	spec_bad("gid = no-such-group-xyz\n", 0, "t.ini:2: gid: unknown group 'no-such-group-xyz'");
	spec_bad("gid = 4294967295\n", 0, "t.ini:2: gid: gid 4294967295 out of range");
}
END_TEST

START_TEST(test_spec_caps)
{
	struct jail_spec spec;
	spec_ok("cap = net_bind_service\n"
		"cap = CAP_CHOWN , Cap_Kill,chown\n",
		0, &spec);
	ck_assert_uint_eq(spec.n_caps, 3);
	ck_assert_int_eq(spec.caps[0], CAP_NET_BIND_SERVICE);
	ck_assert_int_eq(spec.caps[1], CAP_CHOWN);
	ck_assert_int_eq(spec.caps[2], CAP_KILL);
	jail_spec_free(&spec);

	spec_bad("cap = bogus\n", 0, "t.ini:2: cap: unknown capability 'bogus'");
	spec_bad("cap = chown\ncap = chown,cap_bogus\n", 0,
		 "t.ini:3: cap: unknown capability 'cap_bogus'");
	spec_bad("cap = chown,\n", 0, "t.ini:2: cap: empty capability name");
	spec_bad("cap = 12\n", 0, "unknown capability '12'");
	spec_bad("cap = cap_\n", 0, "unknown capability 'cap_'");
}
END_TEST

static const struct jail_rlimit *find_rlimit(const struct jail_spec *spec, int resource)
{
	for (size_t i = 0; i < spec->n_rlimits; i++)
		if (spec->rlimits[i].resource == resource)
			return &spec->rlimits[i];
	return NULL;
}

START_TEST(test_spec_rlimits)
{
	struct jail_spec spec;
	spec_ok("rlimit-nofile = 1024\n"
		"rlimit-as = 64M:unlimited\n"
		"rlimit-core = unlimited\n"
		"rlimit-stack = 8M : 16M\n"
		"rlimit-nofile = 512:4096\n",
		0, &spec);
	ck_assert_uint_eq(spec.n_rlimits, 4);
	const struct jail_rlimit *r = find_rlimit(&spec, RLIMIT_NOFILE);
	ck_assert_ptr_nonnull(r); /* the last line wins */
	ck_assert_uint_eq(r->lim.rlim_cur, 512);
	ck_assert_uint_eq(r->lim.rlim_max, 4096);
	r = find_rlimit(&spec, RLIMIT_AS);
	ck_assert_uint_eq(r->lim.rlim_cur, 64u << 20);
	ck_assert_uint_eq(r->lim.rlim_max, RLIM_INFINITY);
	r = find_rlimit(&spec, RLIMIT_CORE);
	ck_assert_uint_eq(r->lim.rlim_cur, RLIM_INFINITY);
	ck_assert_uint_eq(r->lim.rlim_max, RLIM_INFINITY);
	r = find_rlimit(&spec, RLIMIT_STACK);
	ck_assert_uint_eq(r->lim.rlim_cur, 8u << 20);
	ck_assert_uint_eq(r->lim.rlim_max, 16u << 20);
	ck_assert_ptr_null(find_rlimit(&spec, RLIMIT_CPU));
	jail_spec_free(&spec);

	spec_bad("rlimit-nofile = 2048:1024\n", 0,
		 "t.ini:2: rlimit-nofile: soft limit exceeds hard limit");
	spec_bad("rlimit-as = unlimited:1G\n", 0, "soft limit exceeds hard limit");
	spec_bad("rlimit-cpu = forever\n", 0, "t.ini:2: rlimit-cpu: bad limit 'forever'");
	spec_bad("rlimit-cpu = 10:\n", 0, "t.ini:2: rlimit-cpu: bad limit ''");
	spec_bad("rlimit-cpu = :10\n", 0, "bad limit ''");
	spec_bad("rlimit-fsize = 99999999999T\n", 0, "bad limit '99999999999T'");
}
END_TEST

START_TEST(test_cfg_keys)
{
	size_t n = 0;
	while (jail_cfg_keys[n] != NULL)
		n++;
	ck_assert_uint_eq(n, 9 + 15);
	ck_assert_uint_eq(jail_n_rlimit_keys, 15);
	for (size_t i = 0; i < jail_n_rlimit_keys; i++) {
		bool found = false;
		for (size_t k = 0; k < n; k++)
			found = found || strcmp(jail_cfg_keys[k], jail_rlimit_keys[i].key) == 0;
		ck_assert_msg(found, "%s missing", jail_rlimit_keys[i].key);
		ck_assert_str_eq(jail_rlimit_name(jail_rlimit_keys[i].resource),
				 jail_rlimit_keys[i].key);
	}
	/* Every key the parser reads passes cfg_check_keys with jail_cfg_keys. */
	const char *body =
	    "rootfs = /\nbind-ro = /usr\nbind-rw = /tmp\ntmpfs = /run\nhostname = h\n"
	    "uid = root\ngid = root\ncap = chown\nrlimit-sigpending = 10\nrlimit-msgqueue = 1M\n";
	_cleanup_cfg_ struct cfg *c = parse(body);
	_cleanup_err_ struct err *e = NULL;
	ck_assert_int_eq(cfg_check_keys(c, jail_cfg_keys, &e), 0);
	struct jail_spec spec;
	ck_assert_msg(jail_spec_from_cfg(c, ALL_NS, "/s", &spec, &e) == 0, "%s", err_msg(e));
	ck_assert_uint_eq(spec.n_mounts, 3);
	ck_assert_uint_eq(spec.n_rlimits, 2);
	jail_spec_free(&spec);
}
END_TEST

/* ---- symlink-safe mount points ---- */

static int open_tmp(void)
{
	int fd = open(tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(test_path_at_creates)
{
	_cleanup_close_ int root = open_tmp();
	_cleanup_err_ struct err *e = NULL;
	char p[128];
	struct stat st;
	int fd = jail_path_at(root, "/usr/lib/x", JAIL_LEAF_DIR, &e);
	ck_assert_msg(fd >= 0, "%s", err_msg(e));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	close(fd);
	ck_assert_int_eq(stat(tmp_path(p, sizeof(p), "usr/lib/x"), &st), 0);

	fd = jail_path_at(root, "/etc/resolv.conf", JAIL_LEAF_FILE, &e);
	ck_assert_msg(fd >= 0, "%s", err_msg(e));
	close(fd);
	ck_assert_int_eq(stat(tmp_path(p, sizeof(p), "etc/resolv.conf"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 0);

	/* Existing ones are opened again, not recreated. */
	fd = jail_path_at(root, "/usr/lib/x", JAIL_LEAF_DIR, &e);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = jail_path_at(root, "/", JAIL_LEAF_DIR, &e);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_ptr_null(e);
}
END_TEST

START_TEST(test_path_at_refuses_symlinks)
{
	_cleanup_close_ int root = open_tmp();
	char p[128], q[128];
	struct stat st;
	ck_assert_int_eq(mkdir(tmp_path(p, sizeof(p), "outside"), 0755), 0);
	/* usr -> outside, and an absolute one that would leave the tree. */
	ck_assert_int_eq(symlink("outside", tmp_path(p, sizeof(p), "usr")), 0);
	ck_assert_int_eq(symlink(tmp_path(q, sizeof(q), "outside"), tmp_path(p, sizeof(p), "abs")),
			 0);

	_cleanup_err_ struct err *e = NULL;
	ck_assert_int_eq(jail_path_at(root, "/usr/bin", JAIL_LEAF_DIR, &e), -1);
	ck_assert_str_eq(err_msg(e), "/usr: is a symlink inside the new root");
	err_free(&e);
	ck_assert_int_eq(jail_path_at(root, "/abs/x/y", JAIL_LEAF_FILE, &e), -1);
	ck_assert_str_eq(err_msg(e), "/abs: is a symlink inside the new root");
	err_free(&e);
	/* As a leaf too, for both kinds. */
	ck_assert_int_eq(jail_path_at(root, "/usr", JAIL_LEAF_DIR, &e), -1);
	ck_assert_str_eq(err_msg(e), "/usr: is a symlink inside the new root");
	err_free(&e);
	ck_assert_int_eq(jail_path_at(root, "/abs", JAIL_LEAF_FILE, &e), -1);
	ck_assert_str_eq(err_msg(e), "/abs: is a symlink inside the new root");
	err_free(&e);
	/* Nothing was created through the links. */
	ck_assert_int_eq(stat(tmp_path(p, sizeof(p), "outside/bin"), &st), -1);
	ck_assert_int_eq(stat(tmp_path(p, sizeof(p), "outside/x"), &st), -1);
}
END_TEST

START_TEST(test_path_at_wrong_type)
{
	_cleanup_close_ int root = open_tmp();
	_cleanup_err_ struct err *e = NULL;
	int fd = jail_path_at(root, "/f", JAIL_LEAF_FILE, &e);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(jail_path_at(root, "/f", JAIL_LEAF_DIR, &e), -1);
	ck_assert_str_eq(err_msg(e), "open /f: Not a directory");
	err_free(&e);
	ck_assert_int_eq(jail_path_at(root, "/f/g", JAIL_LEAF_DIR, &e), -1);
	ck_assert_str_eq(err_msg(e), "open /f: Not a directory");
	err_free(&e);
	fd = jail_path_at(root, "/d/e", JAIL_LEAF_DIR, &e);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(jail_path_at(root, "/d", JAIL_LEAF_FILE, &e), -1);
	ck_assert_str_eq(err_msg(e), "/d: Is a directory");
	err_free(&e);
	static const char *const bad[] = {"", "rel", "/a//b", "/a/./b", "/a/../b", "/a/", "/.."};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(jail_path_at(root, bad[i], JAIL_LEAF_DIR, &e), -1);
		ck_assert_ptr_nonnull(strstr(err_msg(e), "not a normalised absolute path"));
		err_free(&e);
	}
}
END_TEST

START_TEST(test_symlink_at)
{
	_cleanup_close_ int root = open_tmp();
	_cleanup_err_ struct err *e = NULL;
	char p[128], text[64];
	ck_assert_int_eq(jail_symlink_at(root, "/lib64", "usr/lib64", &e), 0);
	ssize_t n = readlink(tmp_path(p, sizeof(p), "lib64"), text, sizeof(text) - 1);
	ck_assert_int_eq(n, 9);
	text[n] = '\0';
	ck_assert_str_eq(text, "usr/lib64");
	/* The same link again is fine (a rootfs may have it already). */
	ck_assert_int_eq(jail_symlink_at(root, "/lib64", "usr/lib64", &e), 0);
	ck_assert_int_eq(jail_symlink_at(root, "/a/b/bin", "../usr/bin", &e), 0);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(jail_symlink_at(root, "/lib64", "lib", &e), -1);
	ck_assert_str_eq(err_msg(e), "/lib64: already a symlink to 'usr/lib64', not 'lib'");
	err_free(&e);
	ck_assert_int_eq(jail_symlink_at(root, "/a", "x", &e), -1);
	ck_assert_str_eq(err_msg(e), "symlink /a: File exists");
	err_free(&e);
	ck_assert_int_eq(jail_symlink_at(root, "/lib64/x", "y", &e), -1);
	ck_assert_str_eq(err_msg(e), "/lib64: is a symlink inside the new root");
}
END_TEST

/* ---- jail_build and jail_write_id_maps refusals (no privileges needed) ---- */

START_TEST(test_build_refusals)
{
	struct jail_spec spec = {.uid = 65534, .gid = 65534};
	_cleanup_err_ struct err *e = NULL;
	/* Nothing to do without namespaces: succeeds and changes nothing. */
	ck_assert_int_eq(jail_build(&spec, &e), 0);

	struct jail_mount m = {.kind = JAIL_TMPFS, .dst = "/tmp"};
	spec.mounts = &m;
	spec.n_mounts = 1;
	spec.clone_flags = ALL_NS & ~CLONE_NEWNS;
	ck_assert_int_eq(jail_build(&spec, &e), -1);
	ck_assert_str_eq(err_msg(e),
			 "refusing to mount without the fs namespace: Invalid argument");
	err_free(&e);

	spec.n_mounts = 0;
	spec.hostname = "h";
	/* Refused before anything is done, though user and fs are set. */
	spec.clone_flags = ALL_NS & ~CLONE_NEWUTS;
	ck_assert_int_eq(jail_build(&spec, &e), -1);
	ck_assert_str_eq(err_msg(e),
			 "hostname h: refusing without the uts namespace: Invalid argument");
}
END_TEST

START_TEST(test_id_maps_errors)
{
	_cleanup_err_ struct err *e = NULL;
	ck_assert_int_eq(jail_write_id_maps(999999999, 1000, 1000, &e), -1);
	ck_assert_str_eq(err_msg(e), "open /proc/999999999/uid_map: No such file or directory");
	err_free(&e);
	/* Our own maps are already written, so the kernel refuses another. */
	ck_assert_int_eq(jail_write_id_maps(getpid(), 1000, 1000, &e), -1);
	char want[64];
	snprintf(want, sizeof(want), "write /proc/%d/uid_map: ", (int)getpid());
	ck_assert_msg(strncmp(err_msg(e), want, strlen(want)) == 0, "%s", err_msg(e));
}
END_TEST

/* ---- suite ---- */

int main(void)
{
	Suite *s = suite_create("jail");
	const struct {
		const char *name;
		const TTest *fn;
		bool tmp;
	} cases[] = {
	    {"clone_flags_parse", test_clone_flags_parse, false},
	    {"clone_flags_format", test_clone_flags_format, false},
	    {"clone_flags_round_trip", test_clone_flags_round_trip, false},
	    {"spec_defaults", test_spec_defaults, false},
	    {"spec_rootfs", test_spec_rootfs, true},
	    {"spec_pivot_root", test_spec_pivot_root, true},
	    {"spec_pivot_root_conflicts", test_spec_pivot_root_conflicts, true},
	    {"spec_binds", test_spec_binds, false},
	    {"spec_bind_symlink_source", test_spec_bind_symlink_source, true},
	    {"spec_bind_errors", test_spec_bind_errors, false},
	    {"spec_too_many_mounts", test_spec_too_many_mounts, false},
	    {"spec_needs_fs", test_spec_needs_fs, true},
	    {"spec_hostname", test_spec_hostname, false},
	    {"spec_ids", test_spec_ids, false},
	    {"spec_caps", test_spec_caps, false},
	    {"spec_rlimits", test_spec_rlimits, false},
	    {"cfg_keys", test_cfg_keys, false},
	    {"path_at_creates", test_path_at_creates, true},
	    {"path_at_refuses_symlinks", test_path_at_refuses_symlinks, true},
	    {"path_at_wrong_type", test_path_at_wrong_type, true},
	    {"symlink_at", test_symlink_at, true},
	    {"build_refusals", test_build_refusals, false},
	    {"id_maps_errors", test_id_maps_errors, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 10);
		if (cases[i].tmp)
			tcase_add_checked_fixture(tc, setup_tmpdir, teardown_tmpdir);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return unit_run(s);
}
