/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of core/cfg: the INI dialect (sections, comments, CRLF, repeated
 * keys), every syntax error and the file:line it names, placeholders (%(key),
 * $(ENV), the magic %p %s %d %e %n %c %%), the size limits, the
 * write/parse round trip through a real file, and the typed readers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "tests/unit/unit.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cfg.h"

#define ORIGIN "/etc/imp/vassals.d/app.ini"

static const char *const sections[] = {"vassal", "uwsgi", NULL};

static struct cfg *parse_flags(const char *text, unsigned flags, struct err **err)
{
	return cfg_parse_buf(ORIGIN, text, strlen(text), sections, flags, err);
}

static struct cfg *parse_ok(const char *text)
{
	struct err *err = NULL;
	struct cfg *c = parse_flags(text, 0, &err);
	ck_assert_msg(c != NULL, "unexpected error: %s", err_msg(err));
	ck_assert_ptr_null(err);
	return c;
}

/* Parse text that must fail with a message containing want. */
static void parse_fails(const char *text, unsigned flags, const char *want)
{
	struct err *err = NULL;
	struct cfg *c = parse_flags(text, flags, &err);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err_msg(err), want) != NULL, "error '%s' lacks '%s'", err_msg(err),
		      want);
	err_free(&err);
}

static const char *value_of(const struct cfg *c, const char *key)
{
	const struct cfg_entry *e = cfg_get(c, key);
	ck_assert_msg(e != NULL, "no key %s", key);
	return e->value;
}

/* A string of n copies of ch (caller frees). */
static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_basic)
{
	const char *text = "; comment\n"
			   "# other comment\n"
			   "\n"
			   "[vassal]\n"
			   "exec = /bin/app --flag\n"
			   "  workers\t=\t4  \n"
			   "empty =\n"
			   "   ; indented comment\n"
			   "eq = a=b = c\n"
			   "semi = x ; not a comment\n";
	struct cfg *c = parse_ok(text);
	ck_assert_str_eq(c->origin, ORIGIN);
	ck_assert_uint_eq(c->n, 5);
	ck_assert_str_eq(c->entries[0].key, "exec");
	ck_assert_str_eq(c->entries[0].value, "/bin/app --flag");
	ck_assert_uint_eq(c->entries[0].line, 5);
	ck_assert_str_eq(c->entries[1].key, "workers");
	ck_assert_str_eq(c->entries[1].value, "4");
	ck_assert_uint_eq(c->entries[1].line, 6);
	ck_assert_str_eq(c->entries[2].value, "");
	ck_assert_uint_eq(c->entries[2].line, 7);
	ck_assert_str_eq(value_of(c, "eq"), "a=b = c");
	ck_assert_uint_eq(cfg_get(c, "eq")->line, 9);
	ck_assert_str_eq(value_of(c, "semi"), "x ; not a comment");
	ck_assert_ptr_null(cfg_get(c, "nope"));
	cfg_free(c);
}
END_TEST

START_TEST(test_crlf)
{
	struct cfg *c = parse_ok("[vassal]\r\na = 1\r\n\r\nb = two words \r\nc = 3");
	ck_assert_uint_eq(c->n, 3);
	ck_assert_str_eq(value_of(c, "a"), "1");
	ck_assert_str_eq(value_of(c, "b"), "two words");
	ck_assert_uint_eq(cfg_get(c, "b")->line, 4);
	ck_assert_str_eq(value_of(c, "c"), "3");
	ck_assert_uint_eq(cfg_get(c, "c")->line, 5);
	cfg_free(c);
}
END_TEST

START_TEST(test_repeated_keys)
{
	struct cfg *c = parse_ok("[vassal]\nbind-ro = /a\nx = 1\nbind-ro = /b\nbind-ro = /c\n");
	const struct cfg_entry *e = cfg_next(c, "bind-ro", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->value, "/a");
	ck_assert_uint_eq(e->line, 2);
	e = cfg_next(c, "bind-ro", e);
	ck_assert_str_eq(e->value, "/b");
	ck_assert_uint_eq(e->line, 4);
	e = cfg_next(c, "bind-ro", e);
	ck_assert_str_eq(e->value, "/c");
	ck_assert_uint_eq(e->line, 5);
	ck_assert_ptr_null(cfg_next(c, "bind-ro", e));
	ck_assert_ptr_null(cfg_next(c, "missing", NULL));
	ck_assert_str_eq(value_of(c, "bind-ro"), "/c");
	ck_assert_ptr_eq(cfg_get(c, "bind-ro"), &c->entries[3]);
	cfg_free(c);
}
END_TEST

START_TEST(test_sections)
{
	const char *text = "[ vassal ]\n"
			   "a = 1\n"
			   "[other]\n"
			   "a = 2\n"
			   "skipped = $(IMP_SURELY_UNSET_VAR) %(nothing)\n"
			   "[uwsgi]\n"
			   "b = %(a)\n"
			   "[other]\n"
			   "c = 3\n"
			   "[vassal]\n"
			   "d = 4\n";
	struct cfg *c = parse_ok(text);
	ck_assert_uint_eq(c->n, 3);
	ck_assert_str_eq(c->entries[0].key, "a");
	ck_assert_str_eq(c->entries[0].value, "1");
	ck_assert_str_eq(c->entries[1].key, "b");
	ck_assert_str_eq(c->entries[1].value, "1");
	ck_assert_uint_eq(c->entries[1].line, 7);
	ck_assert_str_eq(c->entries[2].key, "d");
	ck_assert_uint_eq(c->entries[2].line, 11);
	ck_assert_ptr_null(cfg_get(c, "c"));
	ck_assert_ptr_null(cfg_get(c, "skipped"));
	cfg_free(c);

	/* A wanted section that is present but empty is fine. */
	c = parse_ok("[other]\nx = 1\n[uwsgi]\n");
	ck_assert_uint_eq(c->n, 0);
	cfg_free(c);

	/* Only the listed sections count. */
	const char *const mine[] = {"emperor", NULL};
	struct err *err = NULL;
	const char *text2 = "[vassal]\na = 1\n[emperor]\nb = 2\n";
	c = cfg_parse_buf("e.ini", text2, strlen(text2), mine, 0, &err);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->n, 1);
	ck_assert_str_eq(c->entries[0].key, "b");
	cfg_free(c);
}
END_TEST

START_TEST(test_no_section)
{
	parse_fails("", 0, ORIGIN ": no [vassal] section");
	parse_fails("[other]\na = 1\n", 0, ORIGIN ": no [vassal] section");
	parse_fails("; only a comment\n", CFG_RAW, ORIGIN ": no [vassal] section");
	const char *const mine[] = {"uwsgi", "vassal", NULL};
	struct err *err = NULL;
	ck_assert_ptr_null(cfg_parse_buf("x.ini", "[a]\n", 4, mine, 0, &err));
	ck_assert_str_eq(err_msg(err), "x.ini: no [uwsgi] section");
	err_free(&err);
}
END_TEST

START_TEST(test_syntax_errors)
{
	parse_fails("[vassal]\na = 1\njunk\n", 0, ORIGIN ":3: expected 'key = value'");
	parse_fails("a = 1\n[vassal]\n", 0, ORIGIN ":1: entry before any [section]");
	parse_fails("; c\n\nfoo\n[vassal]\n", 0, ORIGIN ":3: expected 'key = value'");
	parse_fails("[vassal\na = 1\n", 0, ORIGIN ":1: unterminated section");
	parse_fails("[vassal]\n[ ]\n", 0, ORIGIN ":2: empty section name");
	parse_fails("[vassal]\n = 1\n", 0, ORIGIN ":2: empty key");
	parse_fails("[vassal]\na b = 1\n", 0, ORIGIN ":2: invalid key 'a b'");
	parse_fails("[vassal]\nk%(x) = 1\n", 0, ORIGIN ":2: invalid key");
	/* Entries of skipped sections are still checked. */
	parse_fails("[vassal]\n[other]\nbad key = 1\n", 0, ORIGIN ":3: invalid key 'bad key'");
	parse_fails("[vassal]\n[other]\nnothing here\n", 0, ORIGIN ":3: expected 'key = value'");

	char *k64 = repeat('k', 64);
	char *text = NULL;
	ck_assert_int_ge(asprintf(&text, "[vassal]\n%s = 1\n", k64), 0);
	struct cfg *c = parse_ok(text);
	ck_assert_str_eq(value_of(c, k64), "1");
	cfg_free(c);
	free(text);
	ck_assert_int_ge(asprintf(&text, "[vassal]\n%sk = 1\n", k64), 0);
	parse_fails(text, 0, ORIGIN ":2: key too long");
	free(text);
	free(k64);

	c = parse_ok("[vassal]\nA-z_0.9 = ok\n");
	ck_assert_str_eq(value_of(c, "A-z_0.9"), "ok");
	cfg_free(c);
}
END_TEST

START_TEST(test_nul_byte)
{
	const char text[] = "[vassal]\na = 1\nb = x\0y\n";
	struct err *err = NULL;
	struct cfg *c = cfg_parse_buf("n.ini", text, sizeof(text) - 1, sections, 0, &err);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(err_msg(err), "n.ini:3: NUL byte"));
	err_free(&err);
	/* Also in a comment of a skipped section. */
	const char text2[] = "[vassal]\n[x]\n; \0\n";
	c = cfg_parse_buf("n.ini", text2, sizeof(text2) - 1, sections, CFG_RAW, &err);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(err_msg(err), "n.ini:3: NUL byte"));
	err_free(&err);
}
END_TEST

START_TEST(test_key_placeholder)
{
	struct cfg *c = parse_ok("[vassal]\n"
				 "name = one\n"
				 "name = app\n"
				 "dir = /srv/%(name)/x\n"
				 "both = %(name)-%(dir)\n"
				 "name = three\n"
				 "self = %(name)%(name)\n");
	ck_assert_str_eq(value_of(c, "dir"), "/srv/app/x");
	ck_assert_str_eq(value_of(c, "both"), "app-/srv/app/x");
	ck_assert_str_eq(value_of(c, "self"), "threethree");
	cfg_free(c);

	parse_fails("[vassal]\na = %(b)\nb = 1\n", 0, ORIGIN ":2: a: unknown placeholder %(b)");
	parse_fails("[vassal]\na = %(zz)\n", 0, ORIGIN ":2: a: unknown placeholder %(zz)");
	parse_fails("[vassal]\na = x %(b\n", 0, ORIGIN ":2: a: unterminated placeholder");
	parse_fails("[vassal]\na = %(\n", 0, ORIGIN ":2: a: unterminated placeholder");
	/* Only kept entries can be referred to. */
	parse_fails("[other]\nb = 1\n[vassal]\na = %(b)\n", 0, ORIGIN ":4: a: unknown placeholder");
	/* Placeholders in keys are not expanded: they are invalid keys. */
	parse_fails("[vassal]\na = 1\n%(a) = 2\n", 0, ORIGIN ":3: invalid key");
}
END_TEST

START_TEST(test_single_pass)
{
	/* What a placeholder yields is not scanned again. */
	ck_assert_int_eq(setenv("IMP_CFG_TEST", "%(a) $(HOME) %%", 1), 0);
	struct cfg *c = parse_ok("[vassal]\n"
				 "a = 1\n"
				 "lit = %%(a)\n"
				 "env = $(IMP_CFG_TEST)\n"
				 "again = %(env)\n");
	ck_assert_str_eq(value_of(c, "lit"), "%(a)");
	ck_assert_str_eq(value_of(c, "env"), "%(a) $(HOME) %%");
	ck_assert_str_eq(value_of(c, "again"), "%(a) $(HOME) %%");
	cfg_free(c);
}
END_TEST

START_TEST(test_literal_percent)
{
	struct cfg *c = parse_ok("[vassal]\n"
				 "a = 50%\n"
				 "b = %x %y %1 100%% %\n"
				 "c = cost $5 $x $ end$\n"
				 "d = %%%%\n");
	ck_assert_str_eq(value_of(c, "a"), "50%");
	ck_assert_str_eq(value_of(c, "b"), "%x %y %1 100% %");
	ck_assert_str_eq(value_of(c, "c"), "cost $5 $x $ end$");
	ck_assert_str_eq(value_of(c, "d"), "%%");
	cfg_free(c);
}
END_TEST

START_TEST(test_env)
{
	ck_assert_int_eq(setenv("IMP_CFG_A", "hello", 1), 0);
	ck_assert_int_eq(setenv("IMP_CFG_EMPTY", "", 1), 0);
	ck_assert_int_eq(setenv("IMP_CFG_PADDED", "  padded\t", 1), 0);
	ck_assert_int_eq(unsetenv("IMP_CFG_UNSET"), 0);
	struct cfg *c = parse_ok("[vassal]\n"
				 "a = <$(IMP_CFG_A)>\n"
				 "e = x$(IMP_CFG_EMPTY)y\n"
				 "p = $(IMP_CFG_PADDED)\n");
	ck_assert_str_eq(value_of(c, "a"), "<hello>");
	ck_assert_str_eq(value_of(c, "e"), "xy");
	/* Values are trimmed after expansion too (so they round-trip). */
	ck_assert_str_eq(value_of(c, "p"), "padded");
	cfg_free(c);
	parse_fails("[vassal]\nk = $(IMP_CFG_UNSET)\n", 0, ORIGIN ":2: k: ");
	parse_fails("[vassal]\nk = $(IMP_CFG_UNSET)\n", 0, "$(IMP_CFG_UNSET)");
	parse_fails("[vassal]\nk = $(IMP_CFG_A\n", 0, ORIGIN ":2: k: unterminated placeholder $(");
	/* A line break cannot come in through the environment. */
	ck_assert_int_eq(setenv("IMP_CFG_NL", "a\nb", 1), 0);
	parse_fails("[vassal]\n\nk = $(IMP_CFG_NL)\n", 0,
		    ORIGIN ":3: k: value contains a line break");
	ck_assert_int_eq(setenv("IMP_CFG_CR", "a\r", 1), 0);
	parse_fails("[vassal]\nk = $(IMP_CFG_CR)\n", 0,
		    ORIGIN ":2: k: value contains a line break");
}
END_TEST

START_TEST(test_magic_absolute)
{
	const char *text = "[vassal]\n"
			   "p = %p\ns = %s\nd = %d\ne = %e\nn = %n\nc = %c\npct = %%\n"
			   "mix = %d%n.sock\n";
	struct err *err = NULL;
	struct cfg *c =
	    cfg_parse_buf("/etc/imp/vassals.d/app.ini", text, strlen(text), sections, 0, &err);
	ck_assert_msg(c != NULL, "%s", err_msg(err));
	ck_assert_str_eq(value_of(c, "p"), "/etc/imp/vassals.d/app.ini");
	ck_assert_str_eq(value_of(c, "s"), "app.ini");
	ck_assert_str_eq(value_of(c, "d"), "/etc/imp/vassals.d/");
	ck_assert_str_eq(value_of(c, "e"), ".ini");
	ck_assert_str_eq(value_of(c, "n"), "app");
	ck_assert_str_eq(value_of(c, "c"), "vassals.d");
	ck_assert_str_eq(value_of(c, "pct"), "%");
	ck_assert_str_eq(value_of(c, "mix"), "/etc/imp/vassals.d/app.sock");
	cfg_free(c);

	/* No extension; a dot in the directory does not count. */
	c = cfg_parse_buf("/srv/a.b/plain", text, strlen(text), sections, 0, &err);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(value_of(c, "e"), "");
	ck_assert_str_eq(value_of(c, "n"), "plain");
	ck_assert_str_eq(value_of(c, "c"), "a.b");
	cfg_free(c);

	/* "./" components are dropped, even in an absolute origin. */
	c = cfg_parse_buf("/srv/./x/./v.conf.ini", text, strlen(text), sections, 0, &err);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(value_of(c, "p"), "/srv/x/v.conf.ini");
	ck_assert_str_eq(value_of(c, "e"), ".ini");
	ck_assert_str_eq(value_of(c, "n"), "v.conf");
	ck_assert_str_eq(value_of(c, "c"), "x");
	cfg_free(c);
}
END_TEST

START_TEST(test_magic_relative)
{
	char tmpl[] = "/tmp/check_cfg.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_int_eq(chdir(tmpl), 0);
	char *cwd = getcwd(NULL, 0); /* resolved, in case /tmp is a link */
	ck_assert_ptr_nonnull(cwd);
	const char *text = "[vassal]\np = %p\nd = %d\nc = %c\ns = %s\n";
	struct err *err = NULL;
	/* The file need not exist. */
	struct cfg *c = cfg_parse_buf("./sub/./v.ini", text, strlen(text), sections, 0, &err);
	ck_assert_msg(c != NULL, "%s", err_msg(err));
	char *want = NULL;
	ck_assert_int_ge(asprintf(&want, "%s/sub/v.ini", cwd), 0);
	ck_assert_str_eq(value_of(c, "p"), want);
	free(want);
	ck_assert_int_ge(asprintf(&want, "%s/sub/", cwd), 0);
	ck_assert_str_eq(value_of(c, "d"), want);
	free(want);
	ck_assert_str_eq(value_of(c, "c"), "sub");
	ck_assert_str_eq(value_of(c, "s"), "v.ini");
	/* Messages keep the origin as given. */
	ck_assert_str_eq(c->origin, "./sub/./v.ini");
	cfg_free(c);

	c = cfg_parse_buf("v.ini", text, strlen(text), sections, 0, &err);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_ge(asprintf(&want, "%s/v.ini", cwd), 0);
	ck_assert_str_eq(value_of(c, "p"), want);
	free(want);
	const char *base = strrchr(cwd, '/') + 1;
	ck_assert_str_eq(value_of(c, "c"), base);
	cfg_free(c);
	ck_assert_int_eq(rmdir(cwd), 0);
	free(cwd);
}
END_TEST

START_TEST(test_raw)
{
	struct cfg *c =
	    parse_flags("[vassal]\na = %(b) $(NOPE_X) %% %p 50%\nb = %(\n", CFG_RAW, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(value_of(c, "a"), "%(b) $(NOPE_X) %% %p 50%");
	ck_assert_str_eq(value_of(c, "b"), "%(");
	cfg_free(c);
}
END_TEST

START_TEST(test_value_limit)
{
	/* Exactly CFG_MAX_VALUE after expansion is fine; one more is not. */
	char *half = repeat('v', CFG_MAX_VALUE / 2);
	char *text = NULL;
	ck_assert_int_ge(asprintf(&text, "[vassal]\nh = %s\nfull = %%(h)%%(h)\n", half), 0);
	struct cfg *c = parse_ok(text);
	ck_assert_uint_eq(strlen(value_of(c, "full")), CFG_MAX_VALUE);
	cfg_free(c);
	free(text);
	ck_assert_int_ge(asprintf(&text, "[vassal]\nh = %s\n\nover = %%(h)%%(h)x\n", half), 0);
	parse_fails(text, 0, ORIGIN ":4: over: value too long");
	free(text);
	free(half);
}
END_TEST

START_TEST(test_line_limit)
{
	/* A line of CFG_MAX_LINE bytes (newline excluded) is accepted. */
	char *v = repeat('x', CFG_MAX_LINE - 4);
	char *text = NULL;
	ck_assert_int_ge(asprintf(&text, "[vassal]\na = %s\r\n", v), 0);
	struct cfg *c = parse_ok(text);
	ck_assert_uint_eq(strlen(value_of(c, "a")), CFG_MAX_LINE - 4);
	cfg_free(c);
	free(text);
	ck_assert_int_ge(asprintf(&text, "[vassal]\n\na = %sx\n", v), 0);
	parse_fails(text, 0, ORIGIN ":3: line too long");
	free(text);
	free(v);
	/* Also in a comment of a skipped section. */
	char *comment = repeat(';', CFG_MAX_LINE + 1);
	ck_assert_int_ge(asprintf(&text, "[vassal]\n[x]\n%s\n", comment), 0);
	parse_fails(text, 0, ORIGIN ":3: line too long");
	free(text);
	free(comment);

	/* CFG_RAW reads back what cfg_write_fd wrote for a maximal value. */
	char *k = repeat('k', 64);
	v = repeat('y', CFG_MAX_VALUE);
	ck_assert_int_ge(asprintf(&text, "[vassal]\n%s = %s\n", k, v), 0);
	c = parse_flags(text, CFG_RAW, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(value_of(c, k), v);
	cfg_free(c);
	parse_fails(text, 0, ORIGIN ":2: line too long");
	free(text);
	ck_assert_int_ge(asprintf(&text, "[vassal]\n%s = %sy\n", k, v), 0);
	parse_fails(text, CFG_RAW, ORIGIN ":2: line too long");
	free(text);
	free(k);
	free(v);
}
END_TEST

/* "[vassal]\n" then comment lines up to exactly size bytes. */
static char *big_file(size_t size, size_t *len)
{
	struct buf b = BUF_INIT;
	b.max = 2 * CFG_MAX_FILE;
	ck_assert_int_eq(buf_puts(&b, "[vassal]\nk = v\n"), 0);
	while (b.len < size) {
		size_t n = size - b.len < 1000 ? size - b.len : 1000;
		char *line = repeat(';', n);
		line[n - 1] = '\n';
		ck_assert_int_eq(buf_puts(&b, line), 0);
		free(line);
	}
	*len = b.len;
	return buf_steal(&b);
}

START_TEST(test_file_limit)
{
	size_t len;
	char *data = big_file(CFG_MAX_FILE, &len);
	ck_assert_uint_eq(len, CFG_MAX_FILE);
	struct err *err = NULL;
	struct cfg *c = cfg_parse_buf("big.ini", data, len, sections, 0, &err);
	ck_assert_msg(c != NULL, "%s", err_msg(err));
	ck_assert_str_eq(value_of(c, "k"), "v");
	cfg_free(c);
	free(data);

	data = big_file(CFG_MAX_FILE + 1, &len);
	c = cfg_parse_buf("big.ini", data, len, sections, 0, &err);
	ck_assert_ptr_null(c);
	/* 15 header bytes, then lines of 1000: byte CFG_MAX_FILE is on line 1051. */
	ck_assert_msg(strstr(err_msg(err), "big.ini:1051: file too large") != NULL, "%s",
		      err_msg(err));
	err_free(&err);

	/* The same through a descriptor. */
	char path[] = "/tmp/check_cfg_big.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	c = cfg_parse_fd(fd, "big.ini", sections, 0, &err);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(err_msg(err), "big.ini:1051: file too large"));
	err_free(&err);
	close(fd);
	free(data);
}
END_TEST

START_TEST(test_entry_limit)
{
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_puts(&b, "[vassal]\n"), 0);
	for (unsigned i = 0; i < CFG_MAX_ENTRIES; i++)
		ck_assert_int_eq(buf_printf(&b, "k%u = %u\n", i, i), 0);
	/* Lines of skipped sections do not count. */
	ck_assert_int_eq(buf_puts(&b, "[other]\nx = 1\n[vassal]\n"), 0);
	struct err *err = NULL;
	struct cfg *c = cfg_parse_buf("e.ini", b.data, b.len, sections, 0, &err);
	ck_assert_msg(c != NULL, "%s", err_msg(err));
	ck_assert_uint_eq(c->n, CFG_MAX_ENTRIES);
	cfg_free(c);
	ck_assert_int_eq(buf_puts(&b, "one = too many\n"), 0);
	c = cfg_parse_buf("e.ini", b.data, b.len, sections, 0, &err);
	ck_assert_ptr_null(c);
	char want[64];
	snprintf(want, sizeof(want), "e.ini:%u: too many entries", CFG_MAX_ENTRIES + 5);
	ck_assert_msg(strstr(err_msg(err), want) != NULL, "%s", err_msg(err));
	err_free(&err);
	buf_free(&b);
}
END_TEST

START_TEST(test_many_keys_lookup)
{
	/* Many distinct keys: %(key) must find each one's last value. */
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_puts(&b, "[vassal]\n"), 0);
	for (unsigned i = 0; i < 1500; i++)
		ck_assert_int_eq(buf_printf(&b, "key%u = v%u\n", i, i), 0);
	ck_assert_int_eq(buf_puts(&b, "key77 = again\n"), 0);
	for (unsigned i = 0; i < 1500; i++)
		ck_assert_int_eq(buf_printf(&b, "ref%u = %%(key%u)\n", i, i), 0);
	struct err *err = NULL;
	struct cfg *c = cfg_parse_buf("m.ini", b.data, b.len, sections, 0, &err);
	ck_assert_msg(c != NULL, "%s", err_msg(err));
	char key[32], want[32];
	for (unsigned i = 0; i < 1500; i++) {
		snprintf(key, sizeof(key), "ref%u", i);
		snprintf(want, sizeof(want), "v%u", i);
		ck_assert_str_eq(value_of(c, key), i == 77 ? "again" : want);
	}
	cfg_free(c);
	buf_free(&b);
}
END_TEST

/* Write c to a fresh file and parse it back with CFG_RAW. */
static struct cfg *round_trip(const struct cfg *c, char **text)
{
	char path[] = "/tmp/check_cfg_rt.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(unlink(path), 0);
	struct err *err = NULL;
	ck_assert_msg(cfg_write_fd(c, fd, "vassal", &err) == 0, "%s", err_msg(err));
	/* cfg_parse_fd reads from offset 0 whatever the file offset. */
	struct cfg *back = cfg_parse_fd(fd, "copy", sections, CFG_RAW, &err);
	ck_assert_msg(back != NULL, "%s", err_msg(err));
	off_t end = lseek(fd, 0, SEEK_END);
	*text = calloc(1, (size_t)end + 1);
	ck_assert_int_eq(pread(fd, *text, (size_t)end, 0), end);
	close(fd);
	return back;
}

static void assert_same(const struct cfg *a, const struct cfg *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		ck_assert_str_eq(a->entries[i].key, b->entries[i].key);
		ck_assert_str_eq(a->entries[i].value, b->entries[i].value);
		ck_assert_uint_eq(a->entries[i].line, b->entries[i].line);
	}
}

START_TEST(test_round_trip)
{
	ck_assert_int_eq(setenv("IMP_CFG_RT", "a %(b) $(c)", 1), 0);
	const char *text = "; header comment\n"
			   "[uwsgi]\n"
			   "exec = /bin/app\n"
			   "\n"
			   "[other]\n"
			   "skipped = 1\n"
			   "[vassal]\n"
			   "lit = %%(name) stays\n"
			   "env = $(IMP_CFG_RT)\n"
			   "empty =\n"
			   "exec = %(exec) --again\n"
			   "pct = 50% %p\n";
	struct cfg *c = parse_ok(text);
	ck_assert_str_eq(value_of(c, "lit"), "%(name) stays");
	char *out = NULL;
	struct cfg *back = round_trip(c, &out);
	assert_same(c, back);
	ck_assert_str_eq(out, "[vassal]\n"
			      "\n"
			      "exec = /bin/app\n"
			      "\n\n\n\n"
			      "lit = %(name) stays\n"
			      "env = a %(b) $(c)\n"
			      "empty = \n"
			      "exec = /bin/app --again\n"
			      "pct = 50% " ORIGIN "\n");
	ck_assert_str_eq(back->origin, "copy");
	free(out);
	cfg_free(back);
	cfg_free(c);

	/* An empty config writes just the header. */
	c = parse_ok("[vassal]\n");
	back = round_trip(c, &out);
	ck_assert_str_eq(out, "[vassal]\n");
	ck_assert_uint_eq(back->n, 0);
	free(out);
	cfg_free(back);
	cfg_free(c);
}
END_TEST

START_TEST(test_round_trip_max)
{
	/* A maximal key and value, long gaps: still the same after a trip. */
	char *k = repeat('k', 64);
	char *half = repeat('h', CFG_MAX_VALUE / 2);
	char *text = NULL;
	ck_assert_int_ge(asprintf(&text, "[vassal]\nh = %s\n\n\n\n%s = %%(h)%%(h)\n", half, k), 0);
	struct cfg *c = parse_ok(text);
	char *out = NULL;
	struct cfg *back = round_trip(c, &out);
	assert_same(c, back);
	ck_assert_uint_eq(strlen(back->entries[1].value), CFG_MAX_VALUE);
	free(out);
	cfg_free(back);
	cfg_free(c);
	free(text);
	free(half);
	free(k);
}
END_TEST

START_TEST(test_resolved_too_large)
{
	/* Expansion may not make the written form exceed CFG_MAX_FILE. */
	char *v = repeat('v', CFG_MAX_VALUE / 2);
	struct buf b = BUF_INIT;
	ck_assert_int_eq(buf_printf(&b, "[vassal]\nv = %s\n", v), 0);
	for (unsigned i = 0; i < 200; i++)
		ck_assert_int_eq(buf_puts(&b, "x = %(v)%(v)\n"), 0);
	struct err *err = NULL;
	struct cfg *c = cfg_parse_buf("r.ini", b.data, b.len, sections, 0, &err);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(err_msg(err), "config too large once resolved"));
	/* Header 67 + v's 4100 + per copy 8196 + 1 newline: the 128th copy, on
	 * line 130, is the first to pass 1 MiB. */
	ck_assert_ptr_nonnull(strstr(err_msg(err), "r.ini:130: "));
	err_free(&err);
	buf_free(&b);
	free(v);
}
END_TEST

START_TEST(test_write_errors)
{
	struct cfg *c = parse_ok("[vassal]\na = 1\nb = 2\n");
	struct err *err = NULL;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(cfg_write_fd(c, fd, "bad section", &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), "section"));
	err_free(&err);
	/* Entries out of line order cannot be written. */
	c->entries[1].line = 2;
	ck_assert_int_eq(cfg_write_fd(c, fd, "vassal", &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ORIGIN ":2: "));
	err_free(&err);
	/* Nor a value that would not read back the same. */
	c->entries[1].line = 3;
	c->entries[1].value = " padded";
	ck_assert_int_eq(cfg_write_fd(c, fd, "vassal", &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ORIGIN ":3: b: "));
	err_free(&err);
	c->entries[1].value = "a\nb";
	ck_assert_int_eq(cfg_write_fd(c, fd, "vassal", &err), -1);
	err_free(&err);
	c->entries[1].value = c->entries[1].key + 2; /* back to "2" */
	ck_assert_int_eq(cfg_write_fd(c, fd, "vassal", &err), 0);
	close(fd);
	/* A descriptor that cannot be written. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(cfg_write_fd(c, fd, "vassal", &err), -1);
	ck_assert_int_eq(err->errnum, EBADF);
	err_free(&err);
	close(fd);
	cfg_free(c);
}
END_TEST

START_TEST(test_parse_file)
{
	char dir[] = "/tmp/check_cfg_f.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/app.ini", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("[vassal]\nname = %n\nwhere = %d\n", f);
	fclose(f);
	struct err *err = NULL;
	struct cfg *c = cfg_parse_file(path, sections, 0, &err);
	ck_assert_msg(c != NULL, "%s", err_msg(err));
	ck_assert_str_eq(c->origin, path);
	ck_assert_str_eq(value_of(c, "name"), "app");
	char want[160];
	snprintf(want, sizeof(want), "%s/", dir);
	ck_assert_str_eq(value_of(c, "where"), want);
	cfg_free(c);

	ck_assert_ptr_null(cfg_parse_file(dir, sections, 0, &err));
	ck_assert_ptr_nonnull(strstr(err_msg(err), dir));
	err_free(&err);
	unlink(path);
	ck_assert_ptr_null(cfg_parse_file(path, sections, 0, &err));
	ck_assert_int_eq(err->errnum, ENOENT);
	ck_assert_ptr_nonnull(strstr(err_msg(err), path));
	err_free(&err);
	ck_assert_ptr_null(cfg_parse_fd(-1, "fd", sections, 0, &err));
	ck_assert_int_eq(err->errnum, EBADF);
	err_free(&err);
	rmdir(dir);
}
END_TEST

START_TEST(test_check_keys)
{
	struct cfg *c = parse_ok("[vassal]\nexec = x\nworkers = 2\n\nwrokers = 3\n");
	const char *const known[] = {"exec", "workers", NULL};
	struct err *err = NULL;
	ck_assert_int_eq(cfg_check_keys(c, known, &err), -1);
	ck_assert_str_eq(err_msg(err), ORIGIN ":5: unknown key 'wrokers'");
	err_free(&err);
	const char *const all[] = {"exec", "workers", "wrokers", NULL};
	ck_assert_int_eq(cfg_check_keys(c, all, &err), 0);
	ck_assert_ptr_null(err);
	cfg_free(c);
}
END_TEST

START_TEST(test_cfg_error)
{
	struct cfg *c = parse_ok("[vassal]\n\nsocket = :80\n");
	struct err *err = NULL;
	ck_assert_int_eq(cfg_error(c, cfg_get(c, "socket"), &err, "port %d is taken", 80), -1);
	ck_assert_str_eq(err_msg(err), ORIGIN ":3: socket: port 80 is taken");
	err_free(&err);
	cfg_free(c);
}
END_TEST

START_TEST(test_bool)
{
	struct cfg *c = parse_ok("[vassal]\n"
				 "a = true\nb = YES\nc = On\nd = 1\n"
				 "e = false\nf = No\ng = OFF\nh = 0\n"
				 "bad = maybe\nbad2 = 2\nbad3 =\n");
	const char *t[] = {"a", "b", "c", "d"}, *f[] = {"e", "f", "g", "h"};
	struct err *err = NULL;
	for (size_t i = 0; i < 4; i++) {
		bool v = false;
		ck_assert_int_eq(cfg_bool(c, cfg_get(c, t[i]), &v, &err), 0);
		ck_assert(v);
		v = true;
		ck_assert_int_eq(cfg_bool(c, cfg_get(c, f[i]), &v, &err), 0);
		ck_assert(!v);
	}
	bool v;
	ck_assert_int_eq(cfg_bool(c, cfg_get(c, "bad"), &v, &err), -1);
	ck_assert_str_eq(err_msg(err), ORIGIN ":10: bad: expected a boolean, got 'maybe'");
	err_free(&err);
	ck_assert_int_eq(cfg_bool(c, cfg_get(c, "bad2"), &v, &err), -1);
	err_free(&err);
	ck_assert_int_eq(cfg_bool(c, cfg_get(c, "bad3"), &v, &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ":12: bad3: expected a boolean, got ''"));
	err_free(&err);
	cfg_free(c);

	errno = 0;
	ck_assert_int_eq(cfg_parse_bool("yes ", &v), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cfg_parse_bool("", &v), -1);
	ck_assert_int_eq(cfg_parse_bool("TRUE", &v), 0);
	ck_assert(v);
}
END_TEST

START_TEST(test_uint)
{
	struct cfg *c = parse_ok("[vassal]\n"
				 "a = 42\nz = 007\nmax = 18446744073709551615\n"
				 "over = 99999999999999999999\nneg = -1\nplus = +1\nhex = 0x10\n"
				 "sp = 1 2\nempty =\nlow = 3\n");
	struct err *err = NULL;
	uint64_t v = 0;
	ck_assert_int_eq(cfg_uint(c, cfg_get(c, "a"), 0, 100, &v, &err), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(cfg_uint(c, cfg_get(c, "z"), 0, 100, &v, &err), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(cfg_uint(c, cfg_get(c, "max"), 0, UINT64_MAX, &v, &err), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(cfg_uint(c, cfg_get(c, "a"), 42, 42, &v, &err), 0);

	v = 5;
	ck_assert_int_eq(cfg_uint(c, cfg_get(c, "a"), 0, 41, &v, &err), -1);
	ck_assert_str_eq(err_msg(err), ORIGIN ":2: a: '42' is out of range [0, 41]");
	ck_assert_uint_eq(v, 5);
	err_free(&err);
	ck_assert_int_eq(cfg_uint(c, cfg_get(c, "low"), 4, 10, &v, &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ":11: low: '3' is out of range"));
	err_free(&err);
	ck_assert_int_eq(cfg_uint(c, cfg_get(c, "over"), 0, UINT64_MAX, &v, &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ":5: over: '99999999999999999999' is out"));
	err_free(&err);
	const char *bad[] = {"neg", "plus", "hex", "sp", "empty"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(cfg_uint(c, cfg_get(c, bad[i]), 0, UINT64_MAX, &v, &err), -1);
		ck_assert_msg(strstr(err_msg(err), "expected a decimal integer") != NULL, "%s",
			      err_msg(err));
		err_free(&err);
	}
	cfg_free(c);
}
END_TEST

START_TEST(test_parse_size)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
	    {"0", 0},
	    {"123", 123},
	    {"1k", 1024},
	    {"1K", 1024},
	    {"64M", 64ull << 20},
	    {"64m", 64ull << 20},
	    {"64MB", 64ull << 20},
	    {"64mb", 64ull << 20},
	    {"2G", 2ull << 30},
	    {"3t", 3ull << 40},
	    {"100b", 100},
	    {"100B", 100},
	    {"16777215T", 16777215ull << 40},
	    {"18446744073709551615", UINT64_MAX},
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint64_t v = 0;
		ck_assert_msg(cfg_parse_size(good[i].s, &v) == 0, "%s", good[i].s);
		ck_assert_uint_eq(v, good[i].v);
	}
	const char *inval[] = {"",	"M",   "1.5G", "-1",   "+1",  " 1", "1 M",
			       "64MBB", "64X", "64Mi", "0x10", "1kk", "b"};
	for (size_t i = 0; i < ARRAY_SIZE(inval); i++) {
		uint64_t v = 7;
		errno = 0;
		ck_assert_msg(cfg_parse_size(inval[i], &v) == -1, "%s", inval[i]);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_uint_eq(v, 7);
	}
	const char *range[] = {"16777216T", "18446744073709551616", "99999999999999999999",
			       "17179869184G", "99999999999999999999k"};
	for (size_t i = 0; i < ARRAY_SIZE(range); i++) {
		uint64_t v = 7;
		errno = 0;
		ck_assert_msg(cfg_parse_size(range[i], &v) == -1, "%s", range[i]);
		ck_assert_int_eq(errno, ERANGE);
		ck_assert_uint_eq(v, 7);
	}
}
END_TEST

START_TEST(test_size)
{
	struct cfg *c = parse_ok("[vassal]\nok = 64M\nbad = 1.5G\nhuge = 16777216T\n");
	struct err *err = NULL;
	uint64_t v = 0;
	ck_assert_int_eq(cfg_size(c, cfg_get(c, "ok"), &v, &err), 0);
	ck_assert_uint_eq(v, 64 * 1024 * 1024);
	ck_assert_int_eq(cfg_size(c, cfg_get(c, "bad"), &v, &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ORIGIN ":3: bad: "));
	ck_assert_ptr_nonnull(strstr(err_msg(err), "'1.5G'"));
	err_free(&err);
	ck_assert_int_eq(cfg_size(c, cfg_get(c, "huge"), &v, &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ORIGIN ":4: huge: "));
	ck_assert_ptr_nonnull(strstr(err_msg(err), "too large"));
	err_free(&err);
	cfg_free(c);
}
END_TEST

START_TEST(test_duration)
{
	struct cfg *c = parse_ok("[vassal]\n"
				 "ms = 500ms\ns = 30s\nm = 5m\nh = 1h\nbare = 7\nzero = 0s\n"
				 "big = 18446744073709551615ms\nover = 18446744073709551615s\n"
				 "over2 = 99999999999999999999\n"
				 "sp = 5 s\nunit = 5x\nonly = ms\nneg = -5s\nd = 1d\nup = 5S\n");
	struct err *err = NULL;
	uint64_t v = 0;
	ck_assert_int_eq(cfg_duration(c, cfg_get(c, "ms"), 1000, &v, &err), 0);
	ck_assert_uint_eq(v, 500);
	ck_assert_int_eq(cfg_duration(c, cfg_get(c, "s"), 1, &v, &err), 0);
	ck_assert_uint_eq(v, 30000);
	ck_assert_int_eq(cfg_duration(c, cfg_get(c, "m"), 1, &v, &err), 0);
	ck_assert_uint_eq(v, 300000);
	ck_assert_int_eq(cfg_duration(c, cfg_get(c, "h"), 1, &v, &err), 0);
	ck_assert_uint_eq(v, 3600000);
	ck_assert_int_eq(cfg_duration(c, cfg_get(c, "bare"), 1, &v, &err), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(cfg_duration(c, cfg_get(c, "bare"), 1000, &v, &err), 0);
	ck_assert_uint_eq(v, 7000);
	ck_assert_int_eq(cfg_duration(c, cfg_get(c, "zero"), 1000, &v, &err), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(cfg_duration(c, cfg_get(c, "big"), 1000, &v, &err), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_ptr_null(err);

	const char *range[] = {"over", "over2"};
	for (size_t i = 0; i < ARRAY_SIZE(range); i++) {
		ck_assert_int_eq(cfg_duration(c, cfg_get(c, range[i]), 1, &v, &err), -1);
		ck_assert_msg(strstr(err_msg(err), "too large") != NULL, "%s", err_msg(err));
		err_free(&err);
	}
	const char *bad[] = {"sp", "unit", "only", "neg", "d", "up"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(cfg_duration(c, cfg_get(c, bad[i]), 1, &v, &err), -1);
		ck_assert_msg(strstr(err_msg(err), "expected a duration") != NULL, "%s",
			      err_msg(err));
		err_free(&err);
	}
	ck_assert_int_eq(cfg_duration(c, cfg_get(c, "unit"), 1, &v, &err), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(err), ORIGIN ":12: unit: "));
	ck_assert_ptr_nonnull(strstr(err_msg(err), "'5x'"));
	err_free(&err);
	cfg_free(c);
}
END_TEST

static Suite *cfg_suite(void)
{
	const struct {
		const char *name;
		const TTest *test;
	} cases[] = {
	    {"basic", test_basic},
	    {"crlf", test_crlf},
	    {"repeated_keys", test_repeated_keys},
	    {"sections", test_sections},
	    {"no_section", test_no_section},
	    {"syntax_errors", test_syntax_errors},
	    {"nul_byte", test_nul_byte},
	    {"key_placeholder", test_key_placeholder},
	    {"single_pass", test_single_pass},
	    {"literal_percent", test_literal_percent},
	    {"env", test_env},
	    {"magic_absolute", test_magic_absolute},
	    {"magic_relative", test_magic_relative},
	    {"raw", test_raw},
	    {"value_limit", test_value_limit},
	    {"line_limit", test_line_limit},
	    {"file_limit", test_file_limit},
	    {"entry_limit", test_entry_limit},
	    {"many_keys_lookup", test_many_keys_lookup},
	    {"round_trip", test_round_trip},
	    {"round_trip_max", test_round_trip_max},
	    {"resolved_too_large", test_resolved_too_large},
	    {"write_errors", test_write_errors},
	    {"parse_file", test_parse_file},
	    {"check_keys", test_check_keys},
	    {"cfg_error", test_cfg_error},
	    {"bool", test_bool},
	    {"uint", test_uint},
	    {"parse_size", test_parse_size},
	    {"size", test_size},
	    {"duration", test_duration},
	};
	Suite *s = suite_create("cfg");
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
	return unit_run(cfg_suite());
}
