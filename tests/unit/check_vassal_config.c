/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of vassal/config.c: which vassal files vsl_config_validate
 * accepts and how it names what is wrong (file:line:key), the parsed
 * `socket` list, the shell-like splitting of `exec`, and what a new config
 * changes (a different set of signing keys needs a new vassal process).
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/err.h"
#include "jail/jail.h"
#include "vassal/vassal.h"

#define ORIGIN "/etc/imperium/vassals.d/app.ini"

/* The namespaces a vassal usually gets: ipc,uts,fs,pid,net. */
static unsigned long all_ns(void)
{
	unsigned long f = 0;
	ck_assert_int_eq(jail_parse_clone_flags("ipc,uts,fs,pid,net", &f, NULL), 0);
	ck_assert(f != 0);
	return f;
}

static struct cfg *parse(const char *text)
{
	_cleanup_err_ struct err *err = NULL;
	struct cfg *c = cfg_parse_buf(ORIGIN, text, strlen(text), vsl_sections, 0, &err);
	ck_assert_msg(c != NULL, "parse: %s", err_msg(err));
	return c;
}

/* Validate @text; return the error message (static copy) or NULL if valid. */
static const char *validate_ns(const char *text, unsigned long ns)
{
	static char msg[1024];
	_cleanup_cfg_ struct cfg *c = parse(text);
	_cleanup_err_ struct err *err = NULL;
	int r = vsl_config_validate(c, ns, &err);
	if (r == 0) {
		ck_assert_ptr_null(err);
		return NULL;
	}
	ck_assert_int_eq(r, -1);
	ck_assert_ptr_nonnull(err);
	snprintf(msg, sizeof(msg), "%s", err_msg(err));
	return msg;
}

static const char *validate(const char *text)
{
	return validate_ns(text, all_ns());
}

#define assert_fails_with(text, needle)                                                            \
	do {                                                                                       \
		const char *m_ = validate(text);                                                   \
		ck_assert_msg(m_ != NULL, "accepted: %s", text);                                   \
		ck_assert_msg(strstr(m_, needle) != NULL, "'%s' lacks '%s'", m_, needle);          \
	} while (0)

static const char valid[] = "[vassal]\n"
			    "exec = /app/hello --greeting 'hi there'\n"
			    "socket = 127.0.0.1:8000\n"
			    "socket = /run/app.sock\n"
			    "env = GREETING=hello world\n"
			    "env = _X1=\n"
			    "chdir = /srv\n"
			    "use-clone = ipc,uts,fs,pid\n"
			    "exec-as-root = mkdir -p /srv\n"
			    "exec-as-root = true\n"
			    "log-encoder = prefix [app] \n"
			    "log-encoder = json {\"msg\":\"${msg}\"}\n"
			    "heartbeat = 10\n"
			    "bind-ro = /bin:/app/bin\n"
			    "tmpfs = /tmp\n"
			    "hostname = demo\n"
			    "uid = 65534\n";

START_TEST(test_valid)
{
	const char *m = validate(valid);
	ck_assert_msg(m == NULL, "rejected: %s", m ? m : "");
	/* The [uwsgi] section is read the same way. */
	m = validate("[uwsgi]\nexec = /bin/true\n");
	ck_assert_msg(m == NULL, "rejected: %s", m ? m : "");
	/* Heartbeat bounds are inclusive. */
	ck_assert_ptr_null(validate("[vassal]\nexec = x\nheartbeat = 1\n"));
	ck_assert_ptr_null(validate("[vassal]\nexec = x\nheartbeat = 3600\n"));
}
END_TEST

START_TEST(test_missing_exec)
{
	assert_fails_with("[vassal]\nsocket = :8000\n", "exec: required");
	assert_fails_with("[vassal]\nsocket = :8000\n", ORIGIN);
}
END_TEST

START_TEST(test_exec_values)
{
	assert_fails_with("[vassal]\nexec = a\nexec = b\n", ORIGIN ":3: exec");
	assert_fails_with("[vassal]\nheartbeat = 5\nexec = /app/x 'oops\n", ORIGIN ":3: exec");
	assert_fails_with("[vassal]\nexec = /app/x 'oops\n", "unterminated");
	assert_fails_with("[vassal]\nexec = \"\"x\\\n", ORIGIN ":2: exec");
	assert_fails_with("[vassal]\nexec =   \n", ORIGIN ":2: exec");
}
END_TEST

START_TEST(test_unknown_key)
{
	assert_fails_with("[vassal]\nexec = /bin/true\nsockett = :8000\n", ORIGIN ":3:");
	assert_fails_with("[vassal]\nexec = /bin/true\nsockett = :8000\n", "sockett");
}
END_TEST

START_TEST(test_bad_socket)
{
	assert_fails_with("[vassal]\nexec = x\nsocket = :8000\nsocket = 999.1.1.1:80\n",
			  ORIGIN ":4: socket");
	assert_fails_with("[vassal]\nexec = x\nsocket = example.com:80\n", ORIGIN ":3: socket");
	assert_fails_with("[vassal]\nexec = x\nsocket = 127.0.0.1:99999\n", ORIGIN ":3: socket");
}
END_TEST

START_TEST(test_too_many_sockets)
{
	char text[2048] = "[vassal]\nexec = x\n";
	for (int i = 0; i <= VSL_MAX_SOCKETS; i++) {
		size_t len = strlen(text);
		snprintf(text + len, sizeof(text) - len, "socket = 127.0.0.1:%d\n", 9000 + i);
	}
	/* The 17th socket is on line 3 + 16. */
	assert_fails_with(text, ORIGIN ":19: socket");
}
END_TEST

START_TEST(test_sockets_parsed)
{
	_cleanup_cfg_ struct cfg *c = parse(valid);
	_cleanup_err_ struct err *err = NULL;
	struct addr a[VSL_MAX_SOCKETS];
	ck_assert_int_eq(vsl_config_sockets(c, a, VSL_MAX_SOCKETS, &err), 2);
	ck_assert_str_eq(a[0].text, "127.0.0.1:8000");
	ck_assert_str_eq(a[1].text, "/run/app.sock");
	ck_assert_int_eq(a[0].ss.ss_family, AF_INET);
	/* A caller's smaller array is a limit too. */
	ck_assert_int_eq(vsl_config_sockets(c, a, 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ORIGIN ":4: socket"));
}
END_TEST

START_TEST(test_bad_env)
{
	assert_fails_with("[vassal]\nexec = x\nenv = FOO\n", ORIGIN ":3: env");
	assert_fails_with("[vassal]\nexec = x\nenv = 1FOO=x\n", ORIGIN ":3: env");
	assert_fails_with("[vassal]\nexec = x\nenv = FO-O=x\n", ORIGIN ":3: env");
	assert_fails_with("[vassal]\nexec = x\nenv = =x\n", ORIGIN ":3: env");
	ck_assert_ptr_null(validate("[vassal]\nexec = x\nenv = a_B9=x=y\n"));
}
END_TEST

START_TEST(test_bad_chdir)
{
	assert_fails_with("[vassal]\nexec = x\nchdir = srv\n", ORIGIN ":3: chdir");
}
END_TEST

START_TEST(test_bad_use_clone)
{
	assert_fails_with("[vassal]\nexec = x\nuse-clone = ipc,bogus\n", ORIGIN ":3: use-clone");
}
END_TEST

START_TEST(test_bad_log_encoder)
{
	assert_fails_with("[vassal]\nexec = x\nlog-encoder = bogus\n", ORIGIN ":3: log-encoder");
	assert_fails_with("[vassal]\nexec = x\nlog-encoder = format ${nope}\n",
			  ORIGIN ":3: log-encoder");
}
END_TEST

START_TEST(test_bad_heartbeat)
{
	assert_fails_with("[vassal]\nexec = x\nheartbeat = 0\n", ORIGIN ":3: heartbeat");
	assert_fails_with("[vassal]\nexec = x\nheartbeat = 3601\n", ORIGIN ":3: heartbeat");
	assert_fails_with("[vassal]\nexec = x\nheartbeat = 5s\n", ORIGIN ":3: heartbeat");
}
END_TEST

START_TEST(test_bad_hook)
{
	assert_fails_with("[vassal]\nexec = x\nexec-as-root =\n", ORIGIN ":3: exec-as-root");
}
END_TEST

START_TEST(test_jail_needs_namespaces)
{
	const char *text = "[vassal]\nexec = x\nbind-ro = /bin:/app/bin\n";
	ck_assert_ptr_null(validate_ns(text, all_ns()));
	const char *m = validate_ns(text, 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(strstr(m, ORIGIN ":3:") != NULL, "'%s' lacks file:line", m);
}
END_TEST

/* ---- word splitting ---- */

static void assert_words(const char *s, int n, ...)
{
	_cleanup_err_ struct err *err = NULL;
	char **argv = NULL;
	int r = vsl_split_words(s, &argv, &err);
	ck_assert_msg(r == n, "'%s': %d words, want %d (%s)", s, r, n, err_msg(err));
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		ck_assert_str_eq(argv[i], va_arg(ap, const char *));
	va_end(ap);
	ck_assert_ptr_null(argv[n]);
	vsl_free_words(argv);
}

static void assert_split_fails(const char *s, const char *needle)
{
	_cleanup_err_ struct err *err = NULL;
	char **argv = NULL;
	ck_assert_int_eq(vsl_split_words(s, &argv, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err_msg(err), needle) != NULL, "'%s'", err_msg(err));
}

START_TEST(test_split_plain)
{
	assert_words("", 0);
	assert_words("  \t ", 0);
	assert_words("/bin/app", 1, "/bin/app");
	assert_words("  a  b\tc  ", 3, "a", "b", "c");
}
END_TEST

START_TEST(test_split_quotes)
{
	assert_words("a 'b c' d", 3, "a", "b c", "d");
	assert_words("'it''s'", 1, "its");
	assert_words("'a\\b\"c'", 1, "a\\b\"c");
	assert_words("\"say \\\"hi\\\" \\\\ \\n\"", 1, "say \"hi\" \\ \\n");
	assert_words("x'' \"\"", 2, "x", "");
	assert_words("pre'mid dle'post", 1, "premid dlepost");
	assert_words("'' a", 2, "", "a");
	assert_words("'$HOME' *", 2, "$HOME", "*");
}
END_TEST

START_TEST(test_split_backslash)
{
	assert_words("a\\ b c", 2, "a b", "c");
	assert_words("\\'x\\\"", 1, "'x\"");
	assert_words("\\\\", 1, "\\");
}
END_TEST

START_TEST(test_split_errors)
{
	assert_split_fails("a 'b", "unterminated");
	assert_split_fails("a \"b\\\"", "unterminated");
	assert_split_fails("a\\", "trailing backslash");
}
END_TEST

/* change(A, B): vsl_config_change between two configs given as text. */
static unsigned change(const char *a, const char *b)
{
	struct cfg *x = parse(a), *y = parse(b);
	unsigned m = vsl_config_change(x, y);
	cfg_free(x);
	cfg_free(y);
	return m;
}

#define BASE "[vassal]\nexec = /app/hello\nsocket = 127.0.0.1:9000\n"

START_TEST(test_change_classes)
{
	ck_assert_uint_eq(change(BASE, BASE), 0);
	/* Comments, blank lines and line numbers do not count. */
	ck_assert_uint_eq(change(BASE, "# note\n" BASE "\n"), 0);
	ck_assert_uint_eq(change(BASE, BASE "log-encoder = prefix x\n"), 0);
	ck_assert_uint_eq(change(BASE, BASE "domain = a.test\n"), VSL_CHANGE_ROUTING);
	ck_assert_uint_eq(change(BASE "domain = a.test\n", BASE "domain = b.test\n"),
			  VSL_CHANGE_ROUTING);
	ck_assert_uint_eq(change(BASE, BASE "subscribe-freq = 3\n"), VSL_CHANGE_ROUTING);
	ck_assert_uint_eq(change(BASE, BASE "workers = 4\n"), VSL_CHANGE_WORKERS);
	ck_assert_uint_eq(change(BASE, BASE "env = A=1\n"), VSL_CHANGE_WORKERS);
	ck_assert_uint_eq(change(BASE "env = A=1\n", BASE "env = A=2\n"), VSL_CHANGE_WORKERS);
	ck_assert_uint_eq(change(BASE, BASE "workers = 4\ncheaper = 1\n"), VSL_CHANGE_WORKERS);
	ck_assert_uint_eq(change(BASE, BASE "reload-on-rss = 10M\n"), VSL_CHANGE_WORKERS);
	ck_assert_uint_eq(change(BASE, BASE "domain = a.test\nworkers = 2\n"),
			  VSL_CHANGE_ROUTING | VSL_CHANGE_WORKERS);
	ck_assert_uint_eq(change(BASE, BASE "socket = 127.0.0.1:9001\n"), VSL_CHANGE_RESTART);
	ck_assert_uint_eq(change(BASE, BASE "hostname = h\n"), VSL_CHANGE_RESTART);
	ck_assert_uint_eq(change(BASE, BASE "exec-as-root = true\n"), VSL_CHANGE_RESTART);
	/* Order within a class counts: env order decides which one wins. */
	ck_assert_uint_eq(change(BASE "env = A=1\nenv = A=2\n", BASE "env = A=2\nenv = A=1\n"),
			  VSL_CHANGE_WORKERS);
	/* Order across classes does not. */
	ck_assert_uint_eq(change(BASE "domain = a.test\nworkers = 2\n",
				 BASE "workers = 2\ndomain = a.test\n"),
			  0);
}
END_TEST

#define SUB "subscribe-to = 127.0.0.1:2626:app.test"
#define SIGNED BASE SUB ",0,SHA256:/etc/keys/a.pem\n"

/* Keys are read before the jail: a routing change that adds, drops or
 * swaps a DIGEST:KEYFILE restarts the vassal; other routing changes of a
 * signing vassal do not. (vsl_config_change opens no file.) */
START_TEST(test_change_sign_keys)
{
	ck_assert_uint_eq(change(SIGNED, SIGNED), 0);
	ck_assert_uint_eq(change(BASE SUB "\n", SIGNED), VSL_CHANGE_ROUTING | VSL_CHANGE_RESTART);
	ck_assert_uint_eq(change(SIGNED, BASE SUB "\n"), VSL_CHANGE_ROUTING | VSL_CHANGE_RESTART);
	ck_assert_uint_eq(change(SIGNED, BASE SUB ",0,SHA256:/etc/keys/b.pem\n"),
			  VSL_CHANGE_ROUTING | VSL_CHANGE_RESTART);
	ck_assert_uint_eq(change(SIGNED, BASE SUB ",0,SHA1:/etc/keys/a.pem\n"),
			  VSL_CHANGE_ROUTING | VSL_CHANGE_RESTART);
	ck_assert_uint_eq(
	    change(SIGNED, BASE
		   "subscribe2 = server=127.0.0.1:2626,key=x.test,sign=SHA256:/etc/keys/c.pem\n"),
	    VSL_CHANGE_ROUTING | VSL_CHANGE_RESTART);
	/* Same pairs: a new key with a known DIGEST:KEYFILE, another modifier,
	 * another frequency, or the same pair through subscribe2. */
	ck_assert_uint_eq(change(SIGNED, BASE SUB ",5,SHA256:/etc/keys/a.pem\n"),
			  VSL_CHANGE_ROUTING);
	ck_assert_uint_eq(change(SIGNED, SIGNED
				 "subscribe-to = 127.0.0.1:2626:b.test,0,SHA256:/etc/keys/a.pem\n"),
			  VSL_CHANGE_ROUTING);
	ck_assert_uint_eq(change(SIGNED, SIGNED "subscribe-freq = 3\n"), VSL_CHANGE_ROUTING);
	ck_assert_uint_eq(
	    change(SIGNED, BASE
		   "subscribe2 = server=127.0.0.1:2626,key=app.test,sign=SHA256:/etc/keys/a.pem\n"),
	    VSL_CHANGE_ROUTING);
	/* Unsigned routing changes stay routing changes. */
	ck_assert_uint_eq(change(BASE SUB "\n", BASE "domain = d.test\n"), VSL_CHANGE_ROUTING);
}
END_TEST

START_TEST(test_validate_own_skips_jail)
{
	/* A bind source that exists only on the host: the full check needs
	 * it, the in-jail check of a new config does not look. */
	const char *text = BASE "bind-ro = /no/such/path:/x\n";
	struct cfg *c = parse(text);
	struct err *err = NULL;
	ck_assert_int_eq(vsl_config_validate_own(c, &err), 0);
	ck_assert_int_eq(vsl_config_validate(c, all_ns(), &err), -1);
	err_free(&err);
	cfg_free(c);
	c = parse(BASE "workers = 0\n");
	ck_assert_int_eq(vsl_config_validate_own(c, &err), -1);
	ck_assert_msg(strstr(err_msg(err), ORIGIN ":4: workers") != NULL, "%s", err_msg(err));
	err_free(&err);
	cfg_free(c);
}
END_TEST

static Suite *vassal_config_suite(void)
{
	Suite *s = suite_create("vassal_config");
	struct {
		const char *name;
		const TTest *test;
	} cases[] = {
	    {"valid", test_valid},
	    {"missing_exec", test_missing_exec},
	    {"exec_values", test_exec_values},
	    {"unknown_key", test_unknown_key},
	    {"bad_socket", test_bad_socket},
	    {"too_many_sockets", test_too_many_sockets},
	    {"sockets_parsed", test_sockets_parsed},
	    {"bad_env", test_bad_env},
	    {"bad_chdir", test_bad_chdir},
	    {"bad_use_clone", test_bad_use_clone},
	    {"bad_log_encoder", test_bad_log_encoder},
	    {"bad_heartbeat", test_bad_heartbeat},
	    {"bad_hook", test_bad_hook},
	    {"jail_needs_namespaces", test_jail_needs_namespaces},
	    {"split_plain", test_split_plain},
	    {"split_quotes", test_split_quotes},
	    {"split_backslash", test_split_backslash},
	    {"split_errors", test_split_errors},
	    {"change_classes", test_change_classes},
	    {"change_sign_keys", test_change_sign_keys},
	    {"validate_own_skips_jail", test_validate_own_skips_jail},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(vassal_config_suite());
}
