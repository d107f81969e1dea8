/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests of vassal/wcfg.c and vassal/cheaper.c: which worker keys a
 * vassal file may hold, their defaults and bounds, the checks of the keys
 * against each other and how errors name file, line and key; then the
 * cheaper policy fed sequences of samples: when it grows, by how much, when
 * it shrinks, that it holds still under steady load, and how the memory
 * limits stop workers or hold spawns back.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/err.h"
#include "vassal/internal.h"
#include "vassal/vassal.h"

#define ORIGIN "/etc/imperium/vassals.d/app.ini"
#define MIB (1024ull * 1024ull)

/* ---- helpers: worker keys ---- */

static struct cfg *parse(const char *text)
{
	_cleanup_err_ struct err *err = NULL;
	struct cfg *c = cfg_parse_buf(ORIGIN, text, strlen(text), vsl_sections, 0, &err);
	ck_assert_msg(c != NULL, "parse: %s", err_msg(err));
	return c;
}

/* Read @text's worker keys; return the error (static copy) or NULL. */
static const char *wread(const char *text, struct vsl_wcfg *out)
{
	static char msg[1024];
	_cleanup_cfg_ struct cfg *c = parse(text);
	_cleanup_err_ struct err *err = NULL;
	struct vsl_wcfg scratch;
	int r = vsl_wcfg_read(c, out ? out : &scratch, &err);
	if (r == 0) {
		ck_assert_ptr_null(err);
		return NULL;
	}
	ck_assert_int_eq(r, -1);
	ck_assert_ptr_nonnull(err);
	snprintf(msg, sizeof(msg), "%s", err_msg(err));
	return msg;
}

static struct vsl_wcfg wread_ok(const char *text)
{
	struct vsl_wcfg w;
	memset(&w, 0xa5, sizeof(w));
	const char *m = wread(text, &w);
	ck_assert_msg(m == NULL, "rejected: %s\n%s", m ? m : "", text);
	return w;
}

#define assert_ok(text) (void)wread_ok(text)

#define assert_fails_with(text, needle)                                                            \
	do {                                                                                       \
		const char *m_ = wread(text, NULL);                                                \
		ck_assert_msg(m_ != NULL, "accepted: %s", text);                                   \
		ck_assert_msg(strstr(m_, needle) != NULL, "'%s' lacks '%s'", m_, needle);          \
	} while (0)

/* A valid value of each key, with workers = 4 and cheaper = 1 around. */
static const struct {
	const char *key, *value;
} valid_values[] = {
    {"workers", "4"},
    {"processes", "4"},
    {"cheaper", "1"},
    {"cheaper-initial", "2"},
    {"cheaper-step", "2"},
    {"cheaper-algo", "spare"},
    {"cheaper-overload", "5"},
    {"cheaper-backlog", "8"},
    {"cheaper-rss-limit-soft", "64M"},
    {"cheaper-rss-limit-hard", "1G"},
    {"reload-on-rss", "256M"},
    {"reload-mercy", "10"},
    {"worker-ready", "notify"},
    {"worker-ready-delay", "250"},
    {"worker-ready-timeout", "30"},
};

/* ---- worker keys ---- */

START_TEST(test_defaults)
{
	struct vsl_wcfg w = wread_ok("[vassal]\nexec = /bin/true\n");
	ck_assert_uint_eq(w.workers, 1);
	ck_assert(!w.cheaper);
	ck_assert_uint_eq(w.cheaper_min, 1);
	ck_assert_uint_eq(w.initial, 1);
	ck_assert_uint_eq(w.step, 1);
	ck_assert_int_eq(w.algo, VSL_CHEAPER_SPARE);
	ck_assert_uint_eq(w.overload, 3);
	ck_assert_uint_eq(w.backlog, 1);
	ck_assert_uint_eq(w.rss_soft, 0);
	ck_assert_uint_eq(w.rss_hard, 0);
	ck_assert_uint_eq(w.reload_on_rss, 0);
	ck_assert_uint_eq(w.mercy_ms, 30000);
	ck_assert_int_eq(w.ready, VSL_READY_EXEC);
	ck_assert_uint_eq(w.ready_delay_ms, 100);
	ck_assert_uint_eq(w.ready_timeout_ms, 60000);

	/* A fixed count: all of them start and all of them are the minimum. */
	w = wread_ok("[vassal]\nworkers = 4\n");
	ck_assert_uint_eq(w.workers, 4);
	ck_assert(!w.cheaper);
	ck_assert_uint_eq(w.cheaper_min, 4);
	ck_assert_uint_eq(w.initial, 4);

	/* With cheaper, the initial count defaults to the minimum. */
	w = wread_ok("[vassal]\nworkers = 4\ncheaper = 2\n");
	ck_assert(w.cheaper);
	ck_assert_uint_eq(w.cheaper_min, 2);
	ck_assert_uint_eq(w.initial, 2);
}
END_TEST

START_TEST(test_all_keys)
{
	struct vsl_wcfg w = wread_ok("[uwsgi]\n"
				     "socket = 127.0.0.1:3031\n"
				     "workers = 8\n"
				     "cheaper = 2\n"
				     "cheaper-initial = 3\n"
				     "cheaper-step = 2\n"
				     "cheaper-algo = backlog\n"
				     "cheaper-overload = 5\n"
				     "cheaper-backlog = 16\n"
				     "cheaper-rss-limit-soft = 64M\n"
				     "cheaper-rss-limit-hard = 1G\n"
				     "reload-on-rss = 200m\n"
				     "reload-mercy = 10\n"
				     "worker-ready = notify\n"
				     "worker-ready-delay = 250\n"
				     "worker-ready-timeout = 30\n");
	ck_assert_uint_eq(w.workers, 8);
	ck_assert(w.cheaper);
	ck_assert_uint_eq(w.cheaper_min, 2);
	ck_assert_uint_eq(w.initial, 3);
	ck_assert_uint_eq(w.step, 2);
	ck_assert_int_eq(w.algo, VSL_CHEAPER_BACKLOG);
	ck_assert_uint_eq(w.overload, 5);
	ck_assert_uint_eq(w.backlog, 16);
	ck_assert_uint_eq(w.rss_soft, 64 * MIB);
	ck_assert_uint_eq(w.rss_hard, 1024 * MIB);
	ck_assert_uint_eq(w.reload_on_rss, 200 * MIB);
	ck_assert_uint_eq(w.mercy_ms, 10000);
	ck_assert_int_eq(w.ready, VSL_READY_NOTIFY);
	ck_assert_uint_eq(w.ready_delay_ms, 250);
	ck_assert_uint_eq(w.ready_timeout_ms, 30000);
}
END_TEST

START_TEST(test_workers_bounds)
{
	ck_assert_uint_eq(wread_ok("[vassal]\nworkers = 1\n").workers, 1);
	ck_assert_uint_eq(wread_ok("[vassal]\nworkers = 256\n").workers, VSL_MAX_WORKERS);
	assert_fails_with("[vassal]\nworkers = 0\n", ORIGIN ":2: workers: '0' is out of range");
	assert_fails_with("[vassal]\nworkers = 257\n", ORIGIN ":2: workers: '257' is out of range");
	assert_fails_with("[vassal]\nworkers = four\n", ORIGIN ":2: workers: expected");
	assert_fails_with("[vassal]\nworkers = -1\n", ORIGIN ":2: workers");
	assert_fails_with("[vassal]\nworkers = 4x\n", ORIGIN ":2: workers");
	assert_fails_with("[vassal]\nworkers =\n", ORIGIN ":2: workers");
	assert_fails_with("[vassal]\nprocesses = 300\n", ORIGIN ":2: processes");
}
END_TEST

START_TEST(test_processes_alias)
{
	struct vsl_wcfg w = wread_ok("[vassal]\nprocesses = 3\n");
	ck_assert_uint_eq(w.workers, 3);
	ck_assert_uint_eq(w.initial, 3);
	w = wread_ok("[vassal]\nprocesses = 3\ncheaper = 1\n");
	ck_assert_uint_eq(w.workers, 3);
	ck_assert_uint_eq(w.cheaper_min, 1);
	/* Both: the error is on whichever comes second. */
	assert_fails_with("[vassal]\nworkers = 2\nexec = x\nprocesses = 2\n",
			  ORIGIN ":4: processes: alias of workers, already given at line 2");
	assert_fails_with("[vassal]\nprocesses = 2\nworkers = 2\n",
			  ORIGIN ":3: workers: alias of processes");
}
END_TEST

START_TEST(test_duplicates)
{
	for (size_t i = 0; i < ARRAY_SIZE(valid_values); i++) {
		const char *k = valid_values[i].key, *v = valid_values[i].value;
		if (strcmp(k, "processes") == 0)
			continue; /* the alias case */
		bool base = strcmp(k, "workers") == 0 || strcmp(k, "cheaper") == 0;
		char text[512], needle[256];
		/* workers and cheaper are on lines 2 and 3; the key follows. */
		if (base)
			snprintf(text, sizeof(text),
				 "[vassal]\nworkers = 4\ncheaper = 1\n%s = %s\n", k, v);
		else
			snprintf(text, sizeof(text),
				 "[vassal]\nworkers = 4\ncheaper = 1\n%s = %s\n%s = %s\n", k, v, k,
				 v);
		snprintf(needle, sizeof(needle), ORIGIN ":%d: %s: given more than once",
			 base ? 4 : 5, k);
		assert_fails_with(text, needle);
		/* Once is fine. */
		if (!base) {
			snprintf(text, sizeof(text),
				 "[vassal]\nworkers = 4\ncheaper = 1\n%s = %s\n", k, v);
			assert_ok(text);
		}
	}
}
END_TEST

START_TEST(test_cheaper_only)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(valid_values); i++) {
		const char *k = valid_values[i].key, *v = valid_values[i].value;
		if (strncmp(k, "cheaper-", 8) != 0)
			continue;
		char text[512], needle[256];
		snprintf(text, sizeof(text), "[vassal]\nworkers = 4\n%s = %s\n", k, v);
		snprintf(needle, sizeof(needle), ORIGIN ":3: %s: only with cheaper", k);
		assert_fails_with(text, needle);
		n++;
	}
	ck_assert_uint_eq(n, 7);
	/* The other keys stand alone. */
	assert_ok("[vassal]\nworkers = 4\nreload-on-rss = 1G\nreload-mercy = 5\n"
		  "worker-ready = notify\nworker-ready-delay = 0\nworker-ready-timeout = 10\n");
}
END_TEST

START_TEST(test_cheaper_vs_workers)
{
	assert_fails_with("[vassal]\nworkers = 2\ncheaper = 2\n",
			  ORIGIN ":3: cheaper: cheaper 2 needs workers > 2");
	assert_fails_with("[vassal]\ncheaper = 3\nworkers = 2\n",
			  ORIGIN ":2: cheaper: cheaper 3 needs workers > 3");
	/* workers defaults to 1. */
	assert_fails_with("[vassal]\ncheaper = 1\n", "cheaper 1 needs workers > 1");
	assert_fails_with("[vassal]\nworkers = 4\ncheaper = 0\n",
			  ORIGIN ":3: cheaper: '0' is out of range");
	assert_fails_with("[vassal]\nworkers = 256\ncheaper = 256\n", ORIGIN ":3: cheaper");
	struct vsl_wcfg w = wread_ok("[vassal]\nworkers = 2\ncheaper = 1\n");
	ck_assert_uint_eq(w.cheaper_min, 1);
	w = wread_ok("[vassal]\nworkers = 256\ncheaper = 255\n");
	ck_assert_uint_eq(w.cheaper_min, 255);
}
END_TEST

START_TEST(test_initial_range)
{
	const char *base = "[vassal]\nworkers = 4\ncheaper = 2\n";
	char text[256];
	static const struct {
		const char *value;
		unsigned want; /* 0: refused */
	} cases[] = {{"0", 0}, {"1", 0}, {"2", 2}, {"3", 3}, {"4", 4}, {"5", 0}, {"x", 0}};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "%scheaper-initial = %s\n", base, cases[i].value);
		if (cases[i].want == 0)
			assert_fails_with(text, ORIGIN ":4: cheaper-initial");
		else
			ck_assert_uint_eq(wread_ok(text).initial, cases[i].want);
	}
	assert_fails_with("[vassal]\nworkers = 4\ncheaper = 2\ncheaper-initial = 5\n",
			  "5 is out of range [cheaper 2, workers 4]");
}
END_TEST

START_TEST(test_step_bounds)
{
	const char *base = "[vassal]\nworkers = 4\ncheaper = 1\n";
	char text[256];
	snprintf(text, sizeof(text), "%scheaper-step = 0\n", base);
	assert_fails_with(text, ORIGIN ":4: cheaper-step: '0' is out of range");
	snprintf(text, sizeof(text), "%scheaper-step = 5\n", base);
	assert_fails_with(text, ORIGIN ":4: cheaper-step: 5 is more than workers (4)");
	snprintf(text, sizeof(text), "%scheaper-step = 1\n", base);
	ck_assert_uint_eq(wread_ok(text).step, 1);
	snprintf(text, sizeof(text), "%scheaper-step = 4\n", base);
	ck_assert_uint_eq(wread_ok(text).step, 4);
}
END_TEST

START_TEST(test_algo_values)
{
	const char *base = "[vassal]\nworkers = 4\ncheaper = 1\n";
	char text[256];
	snprintf(text, sizeof(text), "%scheaper-algo = spare\n", base);
	ck_assert_int_eq(wread_ok(text).algo, VSL_CHEAPER_SPARE);
	snprintf(text, sizeof(text), "%scheaper-algo = backlog\nsocket = :80\n", base);
	ck_assert_int_eq(wread_ok(text).algo, VSL_CHEAPER_BACKLOG);
	/* Case-sensitive, and only these two. */
	static const char *const bad[] = {"Spare", "BACKLOG", "busyness", "", "spare,backlog"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "%scheaper-algo = %s\nsocket = :80\n", base, bad[i]);
		assert_fails_with(text, ORIGIN ":4: cheaper-algo");
	}
	snprintf(text, sizeof(text), "%scheaper-algo = busyness\n", base);
	assert_fails_with(text, "'busyness': expected spare or backlog");
}
END_TEST

START_TEST(test_overload_backlog_bounds)
{
	const char *base = "[vassal]\nworkers = 4\ncheaper = 1\n";
	char text[256];
	static const struct {
		const char *key, *value;
		bool ok;
		unsigned want;
	} cases[] = {
	    {"cheaper-overload", "0", false, 0},      {"cheaper-overload", "1", true, 1},
	    {"cheaper-overload", "3600", true, 3600}, {"cheaper-overload", "3601", false, 0},
	    {"cheaper-backlog", "0", true, 0},	      {"cheaper-backlog", "65535", true, 65535},
	    {"cheaper-backlog", "65536", false, 0},   {"cheaper-backlog", "-1", false, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "%s%s = %s\n", base, cases[i].key, cases[i].value);
		if (!cases[i].ok) {
			char needle[128];
			snprintf(needle, sizeof(needle), ORIGIN ":4: %s", cases[i].key);
			assert_fails_with(text, needle);
			continue;
		}
		struct vsl_wcfg w = wread_ok(text);
		unsigned got = cases[i].key[8] == 'o' ? w.overload : w.backlog;
		ck_assert_uint_eq(got, cases[i].want);
	}
}
END_TEST

START_TEST(test_rss_limits)
{
	const char *base = "[vassal]\nworkers = 4\ncheaper = 1\n";
	char text[256];
	snprintf(text, sizeof(text), "%scheaper-rss-limit-soft = 0\n", base);
	assert_fails_with(text, ORIGIN ":4: cheaper-rss-limit-soft: '0': expected a size above 0");
	snprintf(text, sizeof(text), "%scheaper-rss-limit-hard = 0M\n", base);
	assert_fails_with(text, ORIGIN ":4: cheaper-rss-limit-hard");
	snprintf(text, sizeof(text), "%scheaper-rss-limit-hard = 12X\n", base);
	assert_fails_with(text, ORIGIN ":4: cheaper-rss-limit-hard: expected a size");
	snprintf(text, sizeof(text), "%scheaper-rss-limit-soft = 99999999T\n", base);
	assert_fails_with(text, ORIGIN ":4: cheaper-rss-limit-soft");
	assert_fails_with("[vassal]\nreload-on-rss = 0\n", ORIGIN ":2: reload-on-rss");
	ck_assert_uint_eq(wread_ok("[vassal]\nreload-on-rss = 1\n").reload_on_rss, 1);
	ck_assert_uint_eq(wread_ok("[vassal]\nreload-on-rss = 2G\n").reload_on_rss, 2048 * MIB);

	/* Alone, either is fine. */
	snprintf(text, sizeof(text), "%scheaper-rss-limit-soft = 64M\n", base);
	ck_assert_uint_eq(wread_ok(text).rss_soft, 64 * MIB);
	snprintf(text, sizeof(text), "%scheaper-rss-limit-hard = 64M\n", base);
	ck_assert_uint_eq(wread_ok(text).rss_hard, 64 * MIB);
	/* Soft below hard. */
	snprintf(text, sizeof(text),
		 "%scheaper-rss-limit-soft = 64M\ncheaper-rss-limit-hard = 65M\n", base);
	assert_ok(text);
	/* Soft at or above hard: the error is on the later line. */
	snprintf(text, sizeof(text),
		 "%scheaper-rss-limit-soft = 64M\ncheaper-rss-limit-hard = 64M\n", base);
	assert_fails_with(text, ORIGIN ":5: cheaper-rss-limit-hard: 64M is not above "
				       "cheaper-rss-limit-soft = 64M (line 4)");
	snprintf(text, sizeof(text),
		 "%scheaper-rss-limit-hard = 60M\ncheaper-rss-limit-soft = 1G\n", base);
	assert_fails_with(text, ORIGIN ":5: cheaper-rss-limit-soft: 1G is not below "
				       "cheaper-rss-limit-hard = 60M (line 4)");
}
END_TEST

START_TEST(test_durations)
{
	static const struct {
		const char *key, *value;
		bool ok;
		uint64_t want_ms;
	} cases[] = {
	    {"reload-mercy", "0", false, 0},
	    {"reload-mercy", "0s", false, 0},
	    {"reload-mercy", "1ms", true, 1},
	    {"reload-mercy", "30", true, 30000},
	    {"reload-mercy", "500ms", true, 500},
	    {"reload-mercy", "1h", true, 3600000},
	    {"reload-mercy", "3600", true, 3600000},
	    {"reload-mercy", "3601", false, 0},
	    {"reload-mercy", "61m", false, 0},
	    {"reload-mercy", "ten", false, 0},
	    {"worker-ready-delay", "0", true, 0},
	    {"worker-ready-delay", "100", true, 100},
	    {"worker-ready-delay", "2s", true, 2000},
	    {"worker-ready-delay", "1m", true, 60000},
	    {"worker-ready-delay", "60000", true, 60000},
	    {"worker-ready-delay", "60001", false, 0},
	    {"worker-ready-delay", "1x", false, 0},
	    {"worker-ready-timeout", "0", false, 0},
	    {"worker-ready-timeout", "999ms", false, 0},
	    {"worker-ready-timeout", "1", true, 1000},
	    {"worker-ready-timeout", "1000ms", true, 1000},
	    {"worker-ready-timeout", "3600", true, 3600000},
	    {"worker-ready-timeout", "3601", false, 0},
	    {"worker-ready-timeout", "2h", false, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[256], needle[128];
		snprintf(text, sizeof(text), "[vassal]\nexec = x\n%s = %s\n", cases[i].key,
			 cases[i].value);
		if (!cases[i].ok) {
			snprintf(needle, sizeof(needle), ORIGIN ":3: %s: ", cases[i].key);
			assert_fails_with(text, needle);
			continue;
		}
		struct vsl_wcfg w = wread_ok(text);
		uint64_t got = strcmp(cases[i].key, "reload-mercy") == 0 ? w.mercy_ms
			       : strcmp(cases[i].key, "worker-ready-delay") == 0
				   ? w.ready_delay_ms
				   : w.ready_timeout_ms;
		ck_assert_msg(got == cases[i].want_ms, "%s = %s: got %llu ms", cases[i].key,
			      cases[i].value, (unsigned long long)got);
	}
	assert_fails_with("[vassal]\nreload-mercy = 0\n",
			  ORIGIN ":2: reload-mercy: '0' is out of range");
}
END_TEST

START_TEST(test_worker_ready)
{
	ck_assert_int_eq(wread_ok("[vassal]\nworker-ready = exec\n").ready, VSL_READY_EXEC);
	ck_assert_int_eq(wread_ok("[vassal]\nworker-ready = notify\n").ready, VSL_READY_NOTIFY);
	assert_fails_with("[vassal]\nworker-ready = Notify\n",
			  ORIGIN ":2: worker-ready: 'Notify': expected exec or notify");
	assert_fails_with("[vassal]\nworker-ready = sd_notify\n", ORIGIN ":2: worker-ready");
}
END_TEST

START_TEST(test_backlog_needs_tcp)
{
	const char *tail = "workers = 4\ncheaper = 1\ncheaper-algo = backlog\n";
	char text[256];
	/* No socket at all, or only unix ones: refused at the cheaper-algo line. */
	snprintf(text, sizeof(text), "[vassal]\n%s", tail);
	assert_fails_with(text, ORIGIN ":4: cheaper-algo: backlog needs a TCP socket");
	snprintf(text, sizeof(text), "[vassal]\nsocket = /run/app.sock\nsocket = @abstract\n%s",
		 tail);
	assert_fails_with(text, ORIGIN ":6: cheaper-algo: backlog needs a TCP socket");
	/* One TCP socket suffices, v4 or v6, wherever it is written. */
	snprintf(text, sizeof(text), "[vassal]\nsocket = 127.0.0.1:8000\n%s", tail);
	ck_assert_int_eq(wread_ok(text).algo, VSL_CHEAPER_BACKLOG);
	snprintf(text, sizeof(text), "[vassal]\nsocket = /run/app.sock\n%ssocket = [::1]:8000\n",
		 tail);
	ck_assert_int_eq(wread_ok(text).algo, VSL_CHEAPER_BACKLOG);
	snprintf(text, sizeof(text), "[vassal]\nsocket = :8000\n%s", tail);
	assert_ok(text);
	/* spare needs no TCP socket. */
	assert_ok("[vassal]\nsocket = /run/app.sock\nworkers = 4\ncheaper = 1\n"
		  "cheaper-algo = spare\n");
	/* A bad socket is reported as such. */
	snprintf(text, sizeof(text), "[vassal]\nsocket = nowhere:x\n%s", tail);
	assert_fails_with(text, ORIGIN ":2: socket");
}
END_TEST

START_TEST(test_keys_list)
{
	size_t n = 0;
	while (vsl_wcfg_keys[n] != NULL)
		n++;
	ck_assert_uint_eq(n, ARRAY_SIZE(valid_values));
	for (size_t i = 0; i < ARRAY_SIZE(valid_values); i++) {
		bool found = false;
		for (size_t j = 0; j < n; j++)
			found = found || strcmp(vsl_wcfg_keys[j], valid_values[i].key) == 0;
		ck_assert_msg(found, "%s missing", valid_values[i].key);
	}
	/* Keys that are not worker keys are left to the caller. */
	assert_ok("[vassal]\nexec = x\nsocket = :80\nsomething-else = 1\n");
}
END_TEST

START_TEST(test_first_bad_line_wins)
{
	/* Values are checked in file order before the keys against each other. */
	assert_fails_with("[vassal]\ncheaper = 9\nworkers = 2\nreload-mercy = 0\n",
			  ORIGIN ":4: reload-mercy");
	assert_fails_with("[vassal]\nworker-ready = x\nworkers = 0\n", ORIGIN ":2: worker-ready");
}
END_TEST

/* ---- helpers: the policy ---- */

static struct vsl_wcfg policy(unsigned workers, unsigned min)
{
	struct vsl_wcfg w = {
	    .workers = workers,
	    .cheaper = true,
	    .cheaper_min = min,
	    .initial = min,
	    .step = 1,
	    .algo = VSL_CHEAPER_SPARE,
	    .overload = 3,
	    .backlog = 1,
	    .mercy_ms = 30000,
	    .ready_delay_ms = 100,
	    .ready_timeout_ms = 60000,
	};
	return w;
}

static struct vsl_sample sample(unsigned running, unsigned busy, unsigned idle)
{
	struct vsl_sample s = {.running = running, .busy = busy, .idle = idle};
	return s;
}

static struct vsl_sample queued(unsigned running, unsigned busy, unsigned idle, uint32_t backlog)
{
	struct vsl_sample s = sample(running, busy, idle);
	s.backlog_known = true;
	s.backlog = backlog;
	return s;
}

static struct vsl_decision check(const struct vsl_wcfg *w, struct vsl_cheaper *st,
				 struct vsl_sample s)
{
	struct vsl_decision d;
	memset(&d, 0x5a, sizeof(d)); /* every field must be set by the check */
	vsl_cheaper_check(w, st, &s, &d);
	ck_assert(memchr(d.why, '\0', sizeof(d.why)) != NULL);
	if (d.act == VSL_CHEAPER_NONE)
		ck_assert_uint_eq(d.count, 0);
	else
		ck_assert_msg(d.why[0] != '\0', "an action without a why");
	return d;
}

/* Each macro evaluates its decision once (it is usually a check() call). */
#define assert_none(expr)                                                                          \
	do {                                                                                       \
		struct vsl_decision d_ = (expr);                                                   \
		ck_assert_msg(d_.act == VSL_CHEAPER_NONE, "acted: %s", d_.why);                    \
	} while (0)

#define assert_quiet(expr)                                                                         \
	do {                                                                                       \
		struct vsl_decision d_ = (expr);                                                   \
		ck_assert_msg(d_.act == VSL_CHEAPER_NONE, "acted: %s", d_.why);                    \
		ck_assert_msg(d_.why[0] == '\0', "said: %s", d_.why);                              \
	} while (0)

#define assert_spawn(expr, n)                                                                      \
	do {                                                                                       \
		struct vsl_decision d_ = (expr);                                                   \
		ck_assert_msg(d_.act == VSL_CHEAPER_SPAWN, "no spawn: '%s'", d_.why);              \
		ck_assert_uint_eq(d_.count, (n));                                                  \
	} while (0)

#define assert_stop(expr)                                                                          \
	do {                                                                                       \
		struct vsl_decision d_ = (expr);                                                   \
		ck_assert_msg(d_.act == VSL_CHEAPER_STOP, "no stop: '%s'", d_.why);                \
		ck_assert_uint_eq(d_.count, 1);                                                    \
	} while (0)

/* ---- the policy ---- */

START_TEST(test_grow_after_overload)
{
	struct vsl_wcfg w = policy(4, 1);
	struct vsl_cheaper st = {0};
	struct vsl_decision d;
	assert_quiet(check(&w, &st, sample(2, 2, 0)));
	assert_quiet(check(&w, &st, sample(2, 2, 0)));
	d = check(&w, &st, sample(2, 2, 0));
	assert_spawn(d, 1);
	ck_assert_str_eq(d.why, "all 2 workers busy for 3 checks: spawning 1");
	/* The count starts again from zero. */
	assert_quiet(check(&w, &st, sample(3, 3, 0)));
	assert_quiet(check(&w, &st, sample(3, 3, 0)));
	assert_spawn(check(&w, &st, sample(3, 3, 0)), 1);

	/* Another overload. */
	w.overload = 5;
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < 4; i++)
		assert_quiet(check(&w, &st, sample(1, 1, 0)));
	d = check(&w, &st, sample(1, 1, 0));
	assert_spawn(d, 1);
	ck_assert_str_eq(d.why, "all 1 workers busy for 5 checks: spawning 1");
}
END_TEST

START_TEST(test_grow_by_step_capped)
{
	struct vsl_wcfg w = policy(4, 1);
	w.step = 2;
	struct vsl_cheaper st = {0};
	for (int i = 0; i < 2; i++)
		assert_quiet(check(&w, &st, sample(1, 1, 0)));
	assert_spawn(check(&w, &st, sample(1, 1, 0)), 2);
	for (int i = 0; i < 2; i++)
		assert_quiet(check(&w, &st, sample(3, 3, 0)));
	struct vsl_decision d = check(&w, &st, sample(3, 3, 0));
	assert_spawn(d, 1); /* only room for one more */
	ck_assert_str_eq(d.why, "all 3 workers busy for 3 checks: spawning 1");
	/* At workers, never more however long they are busy. */
	for (int i = 0; i < 50; i++)
		assert_quiet(check(&w, &st, sample(4, 4, 0)));
}
END_TEST

START_TEST(test_not_busy_resets)
{
	struct vsl_wcfg w = policy(4, 1);
	struct vsl_cheaper st = {0};
	assert_quiet(check(&w, &st, sample(2, 2, 0)));
	assert_quiet(check(&w, &st, sample(2, 2, 0)));
	assert_quiet(check(&w, &st, sample(2, 1, 1))); /* one free: the count restarts */
	assert_quiet(check(&w, &st, sample(2, 2, 0)));
	assert_quiet(check(&w, &st, sample(2, 2, 0)));
	assert_spawn(check(&w, &st, sample(2, 2, 0)), 1);
	/* An unknown worker is not busy either. */
	memset(&st, 0, sizeof(st));
	assert_quiet(check(&w, &st, sample(2, 2, 0)));
	assert_quiet(check(&w, &st, sample(2, 2, 0)));
	assert_quiet(check(&w, &st, sample(2, 1, 0)));
	assert_quiet(check(&w, &st, sample(2, 2, 0)));
	/* And none running asks for nothing. */
	w.cheaper_min = 0;
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < 10; i++)
		assert_quiet(check(&w, &st, sample(0, 0, 0)));
}
END_TEST

START_TEST(test_shrink_to_minimum)
{
	struct vsl_wcfg w = policy(4, 1);
	struct vsl_cheaper st = {0};
	struct vsl_decision d;
	assert_quiet(check(&w, &st, sample(4, 1, 3)));
	assert_quiet(check(&w, &st, sample(4, 1, 3)));
	d = check(&w, &st, sample(4, 1, 3));
	assert_stop(d);
	ck_assert_str_eq(d.why, "3 of 4 workers idle for 3 checks: stopping one");
	/* One at a time, each after its own `overload` checks. */
	assert_quiet(check(&w, &st, sample(3, 1, 2)));
	assert_quiet(check(&w, &st, sample(3, 1, 2)));
	assert_stop(check(&w, &st, sample(3, 1, 2)));
	assert_quiet(check(&w, &st, sample(2, 0, 2)));
	assert_quiet(check(&w, &st, sample(2, 0, 2)));
	assert_stop(check(&w, &st, sample(2, 0, 2)));
	/* Never below the minimum. */
	for (int i = 0; i < 50; i++)
		assert_quiet(check(&w, &st, sample(1, 0, 1)));

	/* None busy counts as spare, even when the others are unknown. */
	memset(&st, 0, sizeof(st));
	assert_quiet(check(&w, &st, sample(3, 0, 0)));
	assert_quiet(check(&w, &st, sample(3, 0, 0)));
	d = check(&w, &st, sample(3, 0, 0));
	assert_stop(d);
	ck_assert_str_eq(d.why, "none of 3 workers busy for 3 checks: stopping one");

	/* One idle among busy ones is not enough; a busy check resets. */
	memset(&st, 0, sizeof(st));
	w.cheaper_min = 2;
	assert_quiet(check(&w, &st, sample(4, 2, 2)));
	assert_quiet(check(&w, &st, sample(4, 2, 2)));
	assert_quiet(check(&w, &st, sample(4, 3, 1)));
	assert_quiet(check(&w, &st, sample(4, 2, 2)));
	assert_quiet(check(&w, &st, sample(4, 2, 2)));
	assert_stop(check(&w, &st, sample(4, 2, 2)));
	for (int i = 0; i < 20; i++)
		assert_quiet(check(&w, &st, sample(2, 0, 2)));
}
END_TEST

START_TEST(test_steady_load)
{
	static const struct {
		unsigned running, busy, idle;
	} loads[] = {{3, 2, 1}, {4, 3, 1}, {2, 1, 1}, {8, 6, 1}};
	for (size_t i = 0; i < ARRAY_SIZE(loads); i++) {
		struct vsl_wcfg w = policy(8, 1);
		struct vsl_cheaper st = {0};
		for (int n = 0; n < 1000; n++)
			assert_quiet(
			    check(&w, &st, sample(loads[i].running, loads[i].busy, loads[i].idle)));
	}
	/* Load that comes and goes within `overload` checks moves nothing. */
	struct vsl_wcfg w = policy(8, 1);
	struct vsl_cheaper st = {0};
	for (int n = 0; n < 1000; n++) {
		if (n % 3 == 2)
			assert_quiet(check(&w, &st, sample(3, 1, 2)));
		else
			assert_quiet(check(&w, &st, sample(3, 3, 0)));
	}
}
END_TEST

START_TEST(test_hard_limit)
{
	struct vsl_wcfg w = policy(4, 1);
	w.rss_hard = 60 * MIB;
	struct vsl_cheaper st = {.over_ticks = 2, .idle_ticks = 2};
	struct vsl_sample s = sample(2, 2, 0);
	s.rss = 80 * MIB;
	struct vsl_decision d = check(&w, &st, s);
	assert_stop(d);
	ck_assert_str_eq(d.why, "workers' RSS 80.0 MiB >= cheaper-rss-limit-hard 60.0 MiB: "
				"stopping one of 2 workers");
	ck_assert_uint_eq(st.over_ticks, 0);
	ck_assert_uint_eq(st.idle_ticks, 0);
	/* At the limit counts; fractions show. */
	s = sample(3, 0, 3);
	s.rss = 60 * MIB;
	assert_stop(check(&w, &st, s));
	w.rss_hard = 60 * MIB + 100 * 1024;
	s.rss = w.rss_hard + 3 * MIB;
	d = check(&w, &st, s);
	assert_stop(d);
	ck_assert_str_eq(d.why, "workers' RSS 63.1 MiB >= cheaper-rss-limit-hard 60.1 MiB: "
				"stopping one of 3 workers");
	/* Never the last one, even below the minimum. */
	w.cheaper_min = 2;
	s = sample(1, 1, 0);
	s.rss = 1024 * MIB;
	d = check(&w, &st, s);
	ck_assert(d.act != VSL_CHEAPER_STOP);
	/* Just below: no stop. */
	w.cheaper_min = 1;
	s = sample(2, 1, 1);
	s.rss = w.rss_hard - 1;
	assert_quiet(check(&w, &st, s));
	/* Hard wins over the minimum. */
	w.cheaper_min = 3;
	s = sample(3, 3, 0);
	s.rss = w.rss_hard;
	assert_stop(check(&w, &st, s));
}
END_TEST

/* Without a soft limit the hard one holds spawns back, or a stop would be
 * undone by the next check's spawn. */
START_TEST(test_hard_holds_spawns)
{
	struct vsl_wcfg w = policy(4, 2);
	w.rss_hard = 60 * MIB;
	struct vsl_cheaper st = {0};
	struct vsl_sample s = sample(1, 1, 0);
	s.rss = 70 * MIB;
	struct vsl_decision d = check(&w, &st, s);
	assert_none(d);
	ck_assert_msg(strstr(d.why, "cheaper-rss-limit-hard 60.0 MiB: not spawning") != NULL,
		      "why: %s", d.why);
	assert_quiet(check(&w, &st, s)); /* said once */
	s.rss = 50 * MIB;
	assert_spawn(check(&w, &st, s), 1);
}
END_TEST

START_TEST(test_soft_blocks_growth)
{
	struct vsl_wcfg w = policy(4, 1);
	w.rss_soft = 64 * MIB;
	struct vsl_cheaper st = {0};
	struct vsl_sample s = sample(2, 2, 0);
	s.rss = 70 * MIB;
	assert_quiet(check(&w, &st, s));
	assert_quiet(check(&w, &st, s));
	struct vsl_decision d = check(&w, &st, s);
	assert_none(d);
	ck_assert_str_eq(d.why, "workers' RSS 70.0 MiB >= cheaper-rss-limit-soft 64.0 MiB: "
				"not spawning (all 2 workers busy)");
	ck_assert(st.soft_blocked);
	/* Said once only. */
	for (int i = 0; i < 10; i++)
		assert_quiet(check(&w, &st, s));
	/* Below the limit again, the held-back spawn goes at once. */
	s.rss = 63 * MIB;
	assert_spawn(check(&w, &st, s), 1);
	ck_assert(!st.soft_blocked);

	/* A check that does not hit the limit resets it: it is said again. */
	memset(&st, 0, sizeof(st));
	s = sample(2, 2, 0);
	s.rss = 64 * MIB;
	assert_quiet(check(&w, &st, s));
	assert_quiet(check(&w, &st, s));
	d = check(&w, &st, s);
	ck_assert_str_ne(d.why, "");
	assert_quiet(check(&w, &st, s));
	assert_quiet(check(&w, &st, sample(2, 1, 1)));
	ck_assert(!st.soft_blocked);
	assert_quiet(check(&w, &st, s));
	assert_quiet(check(&w, &st, s));
	d = check(&w, &st, s);
	assert_none(d);
	ck_assert_str_ne(d.why, "");

	/* Soft does not stop anything, nor prevent shrinking. */
	memset(&st, 0, sizeof(st));
	s = sample(4, 0, 4);
	s.rss = 1024 * MIB;
	assert_quiet(check(&w, &st, s));
	assert_quiet(check(&w, &st, s));
	assert_stop(check(&w, &st, s));
}
END_TEST

START_TEST(test_below_minimum)
{
	struct vsl_wcfg w = policy(4, 2);
	struct vsl_cheaper st = {0};
	struct vsl_decision d = check(&w, &st, sample(1, 0, 1));
	assert_spawn(d, 1);
	ck_assert_str_eq(d.why, "1 worker(s) running, below cheaper 2: spawning 1");
	d = check(&w, &st, sample(0, 0, 0));
	assert_spawn(d, 2);
	ck_assert_str_eq(d.why, "0 worker(s) running, below cheaper 2: spawning 2");
	/* At once, not after `overload` checks, whatever the load. */
	assert_spawn(check(&w, &st, sample(1, 1, 0)), 1);

	/* The soft limit holds a respawn back too, and says so once. */
	w.rss_soft = 64 * MIB;
	struct vsl_sample s = sample(1, 1, 0);
	s.rss = 70 * MIB;
	d = check(&w, &st, s);
	assert_none(d);
	ck_assert_str_eq(d.why, "workers' RSS 70.0 MiB >= cheaper-rss-limit-soft 64.0 MiB: "
				"not spawning (1 of at least 2 running)");
	assert_quiet(check(&w, &st, s));
	s.rss = 10 * MIB;
	assert_spawn(check(&w, &st, s), 1);
}
END_TEST

START_TEST(test_backlog_grow)
{
	struct vsl_wcfg w = policy(6, 1);
	w.algo = VSL_CHEAPER_BACKLOG;
	w.backlog = 4;
	w.step = 2;
	struct vsl_cheaper st = {0};
	assert_quiet(check(&w, &st, queued(2, 2, 0, 12)));
	assert_quiet(check(&w, &st, queued(2, 1, 1, 5)));
	struct vsl_decision d = check(&w, &st, queued(2, 0, 2, 12));
	assert_spawn(d, 2);
	ck_assert_str_eq(d.why, "accept queue 12 > cheaper-backlog 4 for 3 checks: spawning 2");
	/* At or below the threshold: never, however busy. */
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < 50; i++) {
		assert_quiet(check(&w, &st, queued(2, 2, 0, 4)));
		assert_quiet(check(&w, &st, queued(2, 2, 0, 3)));
	}
	/* An unknown queue asks for nothing. */
	for (int i = 0; i < 50; i++) {
		struct vsl_sample s = queued(2, 2, 0, 100);
		s.backlog_known = false;
		assert_quiet(check(&w, &st, s));
	}
	/* One check at the threshold restarts the count. */
	memset(&st, 0, sizeof(st));
	assert_quiet(check(&w, &st, queued(2, 2, 0, 5)));
	assert_quiet(check(&w, &st, queued(2, 2, 0, 5)));
	assert_quiet(check(&w, &st, queued(2, 2, 0, 4)));
	assert_quiet(check(&w, &st, queued(2, 2, 0, 5)));
	assert_quiet(check(&w, &st, queued(2, 2, 0, 5)));
	assert_spawn(check(&w, &st, queued(5, 2, 0, 5)), 1); /* capped at workers */
	/* cheaper-backlog = 0: any queue at all. */
	w.backlog = 0;
	memset(&st, 0, sizeof(st));
	assert_quiet(check(&w, &st, queued(2, 2, 0, 1)));
	assert_quiet(check(&w, &st, queued(2, 2, 0, 1)));
	assert_spawn(check(&w, &st, queued(2, 2, 0, 1)), 2);
}
END_TEST

START_TEST(test_backlog_shrink)
{
	struct vsl_wcfg w = policy(6, 1);
	w.algo = VSL_CHEAPER_BACKLOG;
	w.backlog = 4;
	struct vsl_cheaper st = {0};
	assert_quiet(check(&w, &st, queued(3, 1, 2, 0)));
	assert_quiet(check(&w, &st, queued(3, 1, 2, 0)));
	struct vsl_decision d = check(&w, &st, queued(3, 1, 2, 0));
	assert_stop(d);
	ck_assert_str_eq(d.why, "2 of 3 workers idle, accept queue empty, for 3 checks: "
				"stopping one");
	/* Something queued (even within the threshold) keeps them. */
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < 50; i++)
		assert_quiet(check(&w, &st, queued(3, 0, 3, 1)));
	/* Idle with an unknown queue: spare. */
	memset(&st, 0, sizeof(st));
	struct vsl_sample s = sample(3, 0, 3);
	assert_quiet(check(&w, &st, s));
	assert_quiet(check(&w, &st, s));
	assert_stop(check(&w, &st, s));
	/* An empty queue but busy workers: kept. */
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < 50; i++)
		assert_quiet(check(&w, &st, queued(3, 2, 1, 0)));
}
END_TEST

START_TEST(test_decision_cleared)
{
	struct vsl_wcfg w = policy(4, 1);
	struct vsl_cheaper st = {0};
	struct vsl_decision d;
	memset(&d, 0x7f, sizeof(d));
	struct vsl_sample s = sample(2, 1, 1);
	vsl_cheaper_check(&w, &st, &s, &d);
	ck_assert_int_eq(d.act, VSL_CHEAPER_NONE);
	ck_assert_uint_eq(d.count, 0);
	ck_assert_str_eq(d.why, "");
	for (size_t i = 0; i < sizeof(d.why); i++)
		ck_assert_int_eq(d.why[i], 0);
}
END_TEST

/* A config read from a file drives the policy as written. */
START_TEST(test_read_then_check)
{
	struct vsl_wcfg w = wread_ok("[vassal]\nworkers = 3\ncheaper = 1\ncheaper-overload = 2\n"
				     "cheaper-rss-limit-hard = 100M\n");
	struct vsl_cheaper st = {0};
	assert_quiet(check(&w, &st, sample(1, 1, 0)));
	assert_spawn(check(&w, &st, sample(1, 1, 0)), 1);
	struct vsl_sample s = sample(2, 2, 0);
	s.rss = 100 * MIB;
	assert_stop(check(&w, &st, s));
}
END_TEST

static Suite *cheaper_suite(void)
{
	Suite *s = suite_create("cheaper");
	struct {
		const char *name;
		const TTest *test;
	} cases[] = {
	    {"defaults", test_defaults},
	    {"all_keys", test_all_keys},
	    {"workers_bounds", test_workers_bounds},
	    {"processes_alias", test_processes_alias},
	    {"duplicates", test_duplicates},
	    {"cheaper_only", test_cheaper_only},
	    {"cheaper_vs_workers", test_cheaper_vs_workers},
	    {"initial_range", test_initial_range},
	    {"step_bounds", test_step_bounds},
	    {"algo_values", test_algo_values},
	    {"overload_backlog_bounds", test_overload_backlog_bounds},
	    {"rss_limits", test_rss_limits},
	    {"durations", test_durations},
	    {"worker_ready", test_worker_ready},
	    {"backlog_needs_tcp", test_backlog_needs_tcp},
	    {"keys_list", test_keys_list},
	    {"first_bad_line_wins", test_first_bad_line_wins},
	    {"grow_after_overload", test_grow_after_overload},
	    {"grow_by_step_capped", test_grow_by_step_capped},
	    {"not_busy_resets", test_not_busy_resets},
	    {"shrink_to_minimum", test_shrink_to_minimum},
	    {"steady_load", test_steady_load},
	    {"hard_limit", test_hard_limit},
	    {"hard_holds_spawns", test_hard_holds_spawns},
	    {"soft_blocks_growth", test_soft_blocks_growth},
	    {"below_minimum", test_below_minimum},
	    {"backlog_grow", test_backlog_grow},
	    {"backlog_shrink", test_backlog_shrink},
	    {"decision_cleared", test_decision_cleared},
	    {"read_then_check", test_read_then_check},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(cheaper_suite());
}
