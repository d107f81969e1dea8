/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the emperor's pure parts: back-off, vassal file names, exit
 * status words, emperor.ini parsing and its errors, the control commands and
 * the lifecycle table on vassals that have no process.
 */
#define _GNU_SOURCE
#include "tests/unit/unit.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "emperor/internal.h"

static char tmpdir[] = "/tmp/check-emperor-XXXXXX";

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 0);
}

static const char *write_ini(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

START_TEST(backoff_doubles_and_caps)
{
	struct emp_config c = {.throttle_ms = 100, .max_throttle_ms = 1000};
	ck_assert_uint_eq(emp_backoff_ms(&c, 0), 0);
	ck_assert_uint_eq(emp_backoff_ms(&c, 1), 100);
	ck_assert_uint_eq(emp_backoff_ms(&c, 2), 200);
	ck_assert_uint_eq(emp_backoff_ms(&c, 4), 800);
	ck_assert_uint_eq(emp_backoff_ms(&c, 5), 1000);
	ck_assert_uint_eq(emp_backoff_ms(&c, 4000000000u), 1000);
}
END_TEST

START_TEST(vassal_names)
{
	char n[EMP_NAME_MAX + 1];
	ck_assert(emp_name_from_file("app.ini", n, sizeof(n)));
	ck_assert_str_eq(n, "app");
	ck_assert(emp_name_from_file("my-app_2.v1.ini", n, sizeof(n)));
	ck_assert_str_eq(n, "my-app_2.v1");
	ck_assert(!emp_name_from_file(".app.ini", n, sizeof(n)));
	ck_assert(!emp_name_from_file("app.ini.swp", n, sizeof(n)));
	ck_assert(!emp_name_from_file(".ini", n, sizeof(n)));
	ck_assert(!emp_name_from_file("a b.ini", n, sizeof(n)));
	ck_assert(!emp_name_from_file("app.INI", n, sizeof(n)));
	char longname[100];
	memset(longname, 'a', 65);
	strcpy(longname + 65, ".ini");
	ck_assert(!emp_name_from_file(longname, n, sizeof(n)));
}
END_TEST

START_TEST(exit_status_words)
{
	char s[64];
	emp_format_status(0, false, s, sizeof(s));
	ck_assert_str_eq(s, "none");
	emp_format_status(3 << 8, true, s, sizeof(s));
	ck_assert_str_eq(s, "exited 3");
	emp_format_status(SIGKILL, true, s, sizeof(s));
	ck_assert_str_eq(s, "killed by SIGKILL");
}
END_TEST

START_TEST(config_defaults_and_keys)
{
	char text[512];
	snprintf(text, sizeof(text),
		 "[emperor]\nvassals = %s\nthrottle = 250\nmax-throttle = 2s\n"
		 "stop-timeout = 5\nuse-clone = pid,net\nstats = 127.0.0.1:9191\n",
		 tmpdir);
	struct emp_config c = {0};
	struct err *err = NULL;
	ck_assert_int_eq(emp_config_load(&c, write_ini("e.ini", text), &err), 0);
	ck_assert_uint_eq(c.n_dirs, 1);
	ck_assert_uint_eq(c.throttle_ms, 250);
	ck_assert_uint_eq(c.max_throttle_ms, 2000);
	ck_assert_uint_eq(c.stop_timeout_ms, 5000);
	ck_assert_uint_eq(c.heartbeat_timeout_ms, 30000);
	ck_assert(c.has_stats);
	ck_assert_str_eq(c.run_dir, "/run/imperium");
	ck_assert_ptr_nonnull(c.log_chain);
	emp_config_free(&c);
}
END_TEST

static void expect_config_error(const char *text, const char *needle)
{
	struct emp_config c = {0};
	struct err *err = NULL;
	ck_assert_int_eq(emp_config_load(&c, write_ini("bad.ini", text), &err), -1);
	ck_assert_msg(strstr(err_msg(err), needle), "'%s' lacks '%s'", err_msg(err), needle);
	err_free(&err);
	emp_config_free(&c);
}

START_TEST(config_errors_name_file_line_key)
{
	expect_config_error("[emperor]\nvassals = /tmp\nbogus = 1\n", "bad.ini:3: unknown key 'bogus'");
	expect_config_error("[emperor]\nvassals = /tmp\nuse-clone = pid,nope\n", "bad.ini:3: use-clone");
	expect_config_error("[emperor]\nvassals = /tmp\nstats = 10.1.2.3:9000\n",
			    "bad.ini:3: stats: must be a unix socket or a loopback address");
	expect_config_error("[emperor]\nvassals = /no/such/dir\n", "/no/such/dir");
	expect_config_error("[emperor]\nstats = /tmp/x.sock\n", "no `vassals`");
	expect_config_error("[emperor]\nvassals = /tmp\nthrottle = fast\n", "bad.ini:3: throttle");
	expect_config_error("[emperor]\nvassals = /tmp\nlog-encoder = rot13\n", "bad.ini:3: log-encoder");
	expect_config_error("[emperor]\nvassals = /tmp\nrun-dir = relative\n", "bad.ini:3: run-dir");
}
END_TEST

/* A table with one vassal and a loop, no process: exercises the cells that
 * need none (broken file, stop and start of a broken vassal, removal). */
START_TEST(lifecycle_without_process)
{
	struct emp e = {.inotify_fd = -1, .stats_fd = -1};
	struct err *err = NULL;
	ck_assert_int_eq(emp_config_defaults(&e.cfg, tmpdir, &err), 0);
	e.cfg.max_vassals = 2;
	e.vassals = calloc(2, sizeof(*e.vassals));
	e.loop = ev_loop_new(EVFLAG_AUTO);
	const char *path = write_ini("v.ini", "[vassal]\nexec = /bin/true\nwat = 1\n");
	struct emp_vassal *v = emp_vassal_add(&e, "v", path, &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(emp_vassal_add(&e, "w", path, &err));
	ck_assert_ptr_null(emp_vassal_add(&e, "x", path, &err));
	ck_assert(strstr(err_msg(err), "max-vassals"));
	err_free(&err);
	emp_event(v, VE_FILE_CHANGED);
	ck_assert_int_eq(v->state, ST_BROKEN);
	ck_assert(strstr(v->error, "v.ini:3: unknown key 'wat'"));
	emp_event(v, VE_FILE_CHANGED); /* same bytes: still broken, no crash */
	ck_assert_int_eq(v->state, ST_BROKEN);
	emp_event(v, VE_CMD_STOP);
	ck_assert_int_eq(v->state, ST_STOPPED);
	_cleanup_buf_ struct buf reply = BUF_INIT;
	ck_assert_int_eq(emp_command(&e, "status", &reply), 0);
	ck_assert(strstr(reply.data, "stopped"));
	buf_reset(&reply);
	ck_assert_int_eq(emp_command(&e, "stop nosuch", &reply), -1);
	ck_assert(strstr(reply.data, "error: no vassal named 'nosuch'"));
	buf_reset(&reply);
	ck_assert_int_eq(emp_command(&e, "frobnicate v", &reply), -1);
	buf_reset(&reply);
	ck_assert_int_eq(emp_command(&e, "stats", &reply), 0);
	ck_assert(strstr(reply.data, "\"name\":\"v\""));
	emp_event(v, VE_FILE_GONE);
	ck_assert_uint_eq(e.n_vassals, 1);
	ck_assert_ptr_null(emp_vassal_find(&e, "v"));
	emp_vassal_remove(emp_vassal_find(&e, "w"));
	ck_assert_uint_eq(e.n_vassals, 0);
	ev_loop_destroy(e.loop);
	free(e.vassals);
	emp_config_free(&e.cfg);
}
END_TEST

/* While starting, the timer is the ready deadline: a heartbeat must not
 * disarm it; once running, a heartbeat re-arms the silence timer. */
START_TEST(heartbeat_keeps_the_deadlines)
{
	struct emp e = {.inotify_fd = -1, .stats_fd = -1};
	struct err *err = NULL;
	ck_assert_int_eq(emp_config_defaults(&e.cfg, tmpdir, &err), 0);
	e.cfg.max_vassals = 1;
	e.vassals = calloc(1, sizeof(*e.vassals));
	e.loop = ev_loop_new(EVFLAG_AUTO);
	struct emp_vassal *v = emp_vassal_add(&e, "v", "/nonexistent/v.ini", &err);
	ck_assert_ptr_nonnull(v);
	v->state = ST_STARTING;
	ev_timer_set(&v->timer, 30., 0.);
	ev_timer_start(e.loop, &v->timer);
	emp_event(v, VE_HEARTBEAT);
	ck_assert(ev_is_active(&v->timer));
	ck_assert_int_eq(v->state, ST_STARTING);
	ev_timer_stop(e.loop, &v->timer);
	v->state = ST_RUNNING;
	ev_timer_set(&v->timer, 30., 30.);
	emp_event(v, VE_HEARTBEAT);
	ck_assert(ev_is_active(&v->timer));
	ev_timer_stop(e.loop, &v->timer);
	v->state = ST_BROKEN;
	emp_vassal_remove(v);
	ev_loop_destroy(e.loop);
	free(e.vassals);
	emp_config_free(&e.cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("emperor");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
		{"backoff", backoff_doubles_and_caps},
		{"names", vassal_names},
		{"status", exit_status_words},
		{"config", config_defaults_and_keys},
		{"config_errors", config_errors_name_file_line_key},
		{"lifecycle", lifecycle_without_process},
		{"heartbeat_deadlines", heartbeat_keeps_the_deadlines},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return unit_run(s);
}
