/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * INI configuration in uWSGI's dialect (see cfg.h): a line-by-line parser
 * over pointer+length slices of the input, placeholder expansion into one
 * capped buffer, a serialiser whose output parses back (CFG_RAW) to the same
 * entries on the same lines, and the typed readers (bool, uint, size,
 * duration) whose errors name "ORIGIN:LINE: KEY".
 *
 * Round-trip invariant: every config this parser accepts can be written by
 * cfg_write_fd() and read back. So a kept value never contains a line break
 * nor starts or ends with a blank (values are trimmed again after
 * expansion), and the parser refuses a config whose serialised form would
 * exceed CFG_MAX_FILE. With CFG_RAW a line may be CFG_MAX_VALUE plus the
 * longest "key = " long, since that is what cfg_write_fd() emits for a
 * maximal value.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* vasprintf */
#endif
#include "core/cfg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/file.h"

#define KEY_MAX 64
/* "key = " around a maximal value: the longest line cfg_write_fd() writes. */
#define RAW_MAX_LINE (KEY_MAX + 3 + CFG_MAX_VALUE)
/* The header "[section]\n" cfg_write_fd() writes for a section name of at
 * most KEY_MAX bytes: reserved when bounding the serialised size. */
#define HEADER_MAX (KEY_MAX + 3)
/* Open-addressing index from key to its last kept entry: a power of two
 * above CFG_MAX_ENTRIES so it never fills. */
#define INDEX_SLOTS (2 * CFG_MAX_ENTRIES)

struct slice {
	const char *p;
	size_t n;
};

struct parser {
	const char *origin;
	const char *const *sections;
	unsigned flags;
	unsigned line;
	bool in_section;  /* a header has been seen */
	bool keep;	  /* the current section is one we keep */
	bool seen_wanted; /* one of the wanted sections appeared */
	struct cfg *c;
	size_t cap;		     /* allocated slots in c->entries */
	size_t out_size;	     /* bytes cfg_write_fd would write, header excluded */
	struct buf val;		     /* the value being expanded */
	char *abs;		     /* absolute origin for magic placeholders (lazy) */
	uint32_t index[INDEX_SLOTS]; /* entry index + 1, 0 when free */
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static struct slice trim(struct slice s)
{
	while (s.n && is_blank(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_blank(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool is_key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

static bool valid_key(const char *k, size_t n)
{
	if (n == 0 || n > KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_key_char(k[i]))
			return false;
	return true;
}

static bool slice_eq(struct slice s, const char *str)
{
	return strlen(str) == s.n && memcmp(str, s.p, s.n) == 0;
}

/* ---- key index ---- */

static uint32_t hash_key(struct slice k)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < k.n; i++)
		h = (h ^ (unsigned char)k.p[i]) * 16777619u;
	return h;
}

/* The slot holding key k, or the free slot where it would go. */
static uint32_t *index_slot(struct parser *p, struct slice k)
{
	uint32_t h = hash_key(k) & (INDEX_SLOTS - 1);
	while (p->index[h] != 0 && !slice_eq(k, p->c->entries[p->index[h] - 1].key))
		h = (h + 1) & (INDEX_SLOTS - 1);
	return &p->index[h];
}

static const struct cfg_entry *index_get(struct parser *p, struct slice k)
{
	uint32_t slot = *index_slot(p, k);
	return slot ? &p->c->entries[slot - 1] : NULL;
}

/* ---- magic placeholders ---- */

/* Join cwd and a relative origin, dropping "." and empty components. */
static char *absolute_path(const char *origin, struct err **err)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	_cleanup_free_ char *cwd = NULL;
	const char *s = origin;
	if (origin[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (cwd == NULL)
			return err_set(err, errno, "%s: getcwd", origin), NULL;
		if (buf_puts(&b, cwd) < 0 || buf_putc(&b, '/') < 0 || buf_puts(&b, origin) < 0)
			return err_set(err, errno, "%s: absolute path", origin), NULL;
		s = b.data;
	}
	size_t n = strlen(s);
	char *out = malloc(n + 2);
	if (out == NULL)
		return err_set(err, errno, "%s: absolute path", origin), NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		bool skip = j == i || (j == i + 1 && s[i] == '.');
		if (!skip) {
			out[o++] = '/';
			memcpy(out + o, s + i, j - i);
			o += j - i;
		}
		i = j + 1;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/* The piece of the absolute origin a magic letter stands for. */
static struct slice magic_piece(const char *abs, char which)
{
	const char *slash = strrchr(abs, '/');
	const char *file = slash + 1;
	const char *dot = strrchr(file, '.');
	switch (which) {
	case 'p':
		return (struct slice){abs, strlen(abs)};
	case 's':
		return (struct slice){file, strlen(file)};
	case 'd':
		return (struct slice){abs, (size_t)(file - abs)};
	case 'e':
		return dot ? (struct slice){dot, strlen(dot)} : (struct slice){"", 0};
	case 'n':
		return (struct slice){file, dot ? (size_t)(dot - file) : strlen(file)};
	default: { /* 'c': the directory's own name */
		const char *d = slash;
		while (d > abs && d[-1] != '/')
			d--;
		return (struct slice){d, (size_t)(slash - d)};
	}
	}
}

/* ---- expansion ---- */

static int parse_error(struct parser *p, struct err **err, const char *fmt, ...) PRINTF_LIKE(3, 4);

static int parse_error(struct parser *p, struct err **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return err_set(err, ENOMEM, "%s:%u", p->origin, p->line);
	return err_set(err, 0, "%s:%u: %s", p->origin, p->line, msg);
}

static int append(struct parser *p, struct slice key, const char *s, size_t n, struct err **err)
{
	if (buf_append(&p->val, s, n) == 0)
		return 0;
	if (errno == E2BIG)
		return parse_error(p, err, "%.*s: value too long (max %u bytes after expansion)",
				   (int)key.n, key.p, CFG_MAX_VALUE);
	return err_set(err, errno, "%s:%u: %.*s", p->origin, p->line, (int)key.n, key.p);
}

/* Expand "%(name)" or "$(name)" at v[i]; returns bytes consumed or -1. */
static ssize_t expand_paren(struct parser *p, struct slice key, struct slice v, size_t i,
			    struct err **err)
{
	char sigil = v.p[i];
	const char *close = memchr(v.p + i + 2, ')', v.n - i - 2);
	if (close == NULL)
		return parse_error(p, err, "%.*s: unterminated placeholder %c(", (int)key.n, key.p,
				   sigil);
	struct slice name = {v.p + i + 2, (size_t)(close - (v.p + i + 2))};
	size_t used = name.n + 3;
	if (sigil == '%') {
		const struct cfg_entry *e = index_get(p, name);
		if (e == NULL)
			return parse_error(p, err, "%.*s: unknown placeholder %%(%.*s)", (int)key.n,
					   key.p, (int)name.n, name.p);
		return append(p, key, e->value, strlen(e->value), err) < 0 ? -1 : (ssize_t)used;
	}
	_cleanup_free_ char *env = strndup(name.p, name.n);
	if (env == NULL)
		return err_set(err, errno, "%s:%u", p->origin, p->line);
	const char *val = getenv(env);
	if (val == NULL)
		return parse_error(p, err, "%.*s: environment variable $(%s) is not set",
				   (int)key.n, key.p, env);
	return append(p, key, val, strlen(val), err) < 0 ? -1 : (ssize_t)used;
}

/* Expand "%x" at v[i] (i + 1 < v.n); returns bytes consumed or -1. */
static ssize_t expand_percent(struct parser *p, struct slice key, struct slice v, size_t i,
			      struct err **err)
{
	char x = v.p[i + 1];
	if (x == '(')
		return expand_paren(p, key, v, i, err);
	if (x == '%')
		return append(p, key, "%", 1, err) < 0 ? -1 : 2;
	if (strchr("psdenc", x) == NULL)
		return append(p, key, "%", 1, err) < 0 ? -1 : 1; /* "50%" stays */
	if (p->abs == NULL) {
		p->abs = absolute_path(p->origin, err);
		if (p->abs == NULL)
			return -1;
	}
	struct slice m = magic_piece(p->abs, x);
	return append(p, key, m.p, m.n, err) < 0 ? -1 : 2;
}

/* Expand v into p->val, single pass: what a placeholder yields is not rescanned. */
static int expand(struct parser *p, struct slice key, struct slice v, struct err **err)
{
	buf_reset(&p->val);
	if (p->flags & CFG_RAW)
		return append(p, key, v.p, v.n, err);
	size_t i = 0;
	while (i < v.n) {
		size_t j = i;
		while (j < v.n && v.p[j] != '%' && v.p[j] != '$')
			j++;
		if (append(p, key, v.p + i, j - i, err) < 0)
			return -1;
		if (j == v.n)
			break;
		ssize_t used = 1;
		if (j + 1 < v.n && v.p[j] == '%')
			used = expand_percent(p, key, v, j, err);
		else if (j + 1 < v.n && v.p[j + 1] == '(')
			used = expand_paren(p, key, v, j, err);
		else if (append(p, key, v.p + j, 1, err) < 0)
			used = -1;
		if (used < 0)
			return -1;
		i = j + (size_t)used;
	}
	return 0;
}

/* ---- entries ---- */

static int grow_entries(struct parser *p, struct err **err)
{
	if (p->c->n < p->cap)
		return 0;
	size_t ncap = p->cap ? 2 * p->cap : 16;
	struct cfg_entry *n = reallocarray(p->c->entries, ncap, sizeof(*n));
	if (n == NULL)
		return err_set(err, errno, "%s:%u", p->origin, p->line);
	p->c->entries = n;
	p->cap = ncap;
	return 0;
}

/* Check the expanded value and account for its serialised line. */
static int check_value(struct parser *p, struct slice key, struct slice *val, struct err **err)
{
	*val = trim((struct slice){p->val.data ? p->val.data : "", p->val.len});
	if (memchr(val->p, '\n', val->n) || memchr(val->p, '\r', val->n))
		return parse_error(p, err, "%.*s: value contains a line break", (int)key.n, key.p);
	if (p->c->n >= CFG_MAX_ENTRIES)
		return parse_error(p, err, "too many entries (max %u)", CFG_MAX_ENTRIES);
	/* cfg_write_fd: one newline per line up to this one, "key = value". */
	size_t size = p->out_size + key.n + 3 + val->n;
	if (HEADER_MAX + (size_t)p->line - 1 + size > CFG_MAX_FILE)
		return parse_error(p, err, "config too large once resolved (max %u bytes)",
				   CFG_MAX_FILE);
	p->out_size = size;
	return 0;
}

static int add_entry(struct parser *p, struct slice key, struct slice raw, struct err **err)
{
	struct slice val;
	if (expand(p, key, raw, err) < 0 || check_value(p, key, &val, err) < 0)
		return -1;
	if (grow_entries(p, err) < 0)
		return -1;
	char *block = malloc(key.n + val.n + 2);
	if (block == NULL)
		return err_set(err, errno, "%s:%u", p->origin, p->line);
	memcpy(block, key.p, key.n);
	block[key.n] = '\0';
	memcpy(block + key.n + 1, val.p, val.n);
	block[key.n + 1 + val.n] = '\0';
	struct cfg_entry *e = &p->c->entries[p->c->n];
	e->key = block;
	e->value = block + key.n + 1;
	e->line = p->line;
	uint32_t *slot = index_slot(p, key);
	p->c->n++;
	*slot = (uint32_t)p->c->n;
	return 0;
}

/* ---- lines ---- */

static int parse_header(struct parser *p, struct slice s, struct err **err)
{
	if (s.n < 2 || s.p[s.n - 1] != ']')
		return parse_error(p, err, "unterminated section header");
	struct slice name = trim((struct slice){s.p + 1, s.n - 2});
	if (name.n == 0)
		return parse_error(p, err, "empty section name");
	p->in_section = true;
	p->keep = false;
	for (const char *const *w = p->sections; *w; w++)
		if (slice_eq(name, *w))
			p->keep = true;
	p->seen_wanted |= p->keep;
	return 0;
}

static int parse_line(struct parser *p, struct slice line, struct err **err)
{
	struct slice s = trim(line);
	if (s.n == 0 || s.p[0] == ';' || s.p[0] == '#')
		return 0;
	if (s.p[0] == '[')
		return parse_header(p, s, err);
	const char *eq = memchr(s.p, '=', s.n);
	if (eq == NULL)
		return parse_error(p, err, "expected 'key = value'");
	if (!p->in_section)
		return parse_error(p, err, "entry before any [section]");
	struct slice key = trim((struct slice){s.p, (size_t)(eq - s.p)});
	struct slice val = trim((struct slice){eq + 1, (size_t)(s.p + s.n - (eq + 1))});
	if (key.n == 0)
		return parse_error(p, err, "empty key");
	if (key.n > KEY_MAX)
		return parse_error(p, err, "key too long (max %u bytes)", KEY_MAX);
	if (!valid_key(key.p, key.n))
		return parse_error(p, err, "invalid key '%.*s' (allowed: A-Z a-z 0-9 _ . -)",
				   (int)key.n, key.p);
	if (!p->keep)
		return 0;
	return add_entry(p, key, val, err);
}

/* Split into lines; the line holding byte CFG_MAX_FILE of an oversize input
 * is named in the error, and nothing past it is looked at. */
static int parse_lines(struct parser *p, const char *data, size_t len, struct err **err)
{
	size_t max = (p->flags & CFG_RAW) ? RAW_MAX_LINE : CFG_MAX_LINE;
	bool oversize = len > CFG_MAX_FILE;
	if (oversize)
		len = CFG_MAX_FILE + 1;
	size_t pos = 0;
	while (pos < len) {
		p->line++;
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		if (oversize && end >= CFG_MAX_FILE)
			return parse_error(p, err, "file too large (max %u bytes)", CFG_MAX_FILE);
		struct slice line = {data + pos, end - pos};
		if (line.n && line.p[line.n - 1] == '\r')
			line.n--;
		if (line.n > max)
			return parse_error(p, err, "line too long (max %zu bytes)", max);
		if (memchr(line.p, '\0', line.n))
			return parse_error(p, err, "NUL byte");
		if (parse_line(p, line, err) < 0)
			return -1;
		pos = end + 1;
	}
	return 0;
}

static void parser_free(struct parser *p)
{
	if (p == NULL)
		return;
	cfg_free(p->c);
	buf_free(&p->val);
	free(p->abs);
	free(p);
}

static void parser_freep(struct parser **p)
{
	parser_free(*p);
}

struct cfg *cfg_parse_buf(const char *origin, const char *data, size_t len,
			  const char *const *sections, unsigned flags, struct err **err)
{
	if (origin == NULL)
		origin = "-";
	if (sections == NULL || sections[0] == NULL)
		return err_set(err, EINVAL, "%s: no section to read", origin), NULL;
	__attribute__((cleanup(parser_freep))) struct parser *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->c = calloc(1, sizeof(*p->c))) == NULL ||
	    (p->c->origin = strdup(origin)) == NULL)
		return err_set(err, errno, "%s", origin), NULL;
	p->origin = origin;
	p->sections = sections;
	p->flags = flags;
	p->val.max = CFG_MAX_VALUE;
	if (parse_lines(p, data, len, err) < 0)
		return NULL;
	if (!p->seen_wanted)
		return err_set(err, 0, "%s: no [%s] section", origin, sections[0]), NULL;
	return steal_ptr(&p->c);
}

struct cfg *cfg_parse_fd(int fd, const char *origin, const char *const *sections, unsigned flags,
			 struct err **err)
{
	if (origin == NULL)
		origin = "-";
	_cleanup_free_ char *data = malloc(CFG_MAX_FILE + 1);
	if (data == NULL)
		return err_set(err, errno, "%s", origin), NULL;
	size_t len = 0;
	while (len < CFG_MAX_FILE + 1) {
		ssize_t r = pread(fd, data + len, CFG_MAX_FILE + 1 - len, (off_t)len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(err, errno, "%s: read", origin), NULL;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	return cfg_parse_buf(origin, data, len, sections, flags, err);
}

struct cfg *cfg_parse_file(const char *path, const char *const *sections, unsigned flags,
			   struct err **err)
{
	/* O_NONBLOCK: a FIFO dropped in the directory must not hang the caller. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_set(err, errno, "%s: open", path), NULL;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_set(err, errno, "%s: fstat", path), NULL;
	if (!S_ISREG(st.st_mode))
		return err_set(err, EINVAL, "%s: not a regular file", path), NULL;
	return cfg_parse_fd(fd, path, sections, flags, err);
}

void cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free((char *)c->entries[i].key); /* one block: key then value */
	free(c->entries);
	free(c->origin);
	free(c);
}

/* ---- writing ---- */

static bool writable_value(const char *v)
{
	size_t n = strlen(v);
	if (n > CFG_MAX_VALUE || strpbrk(v, "\r\n"))
		return false;
	return n == 0 || (!is_blank(v[0]) && !is_blank(v[n - 1]));
}

static int put_entry(struct buf *b, const char *origin, const struct cfg_entry *e, unsigned prev,
		     struct err **err)
{
	if (e->line <= prev)
		return err_set(err, EINVAL, "%s:%u: entry out of line order", origin, e->line);
	if (!valid_key(e->key, strlen(e->key)) || !writable_value(e->value))
		return err_set(err, EINVAL, "%s:%u: %.*s: cannot be written back", origin, e->line,
			       KEY_MAX, e->key);
	size_t gap = e->line - prev - 1;
	if (gap > CFG_MAX_FILE || buf_reserve(b, gap) < 0)
		return err_set(err, E2BIG, "%s:%u: config too large to write", origin, e->line);
	memset(b->data + b->len, '\n', gap);
	b->len += gap;
	b->data[b->len] = '\0';
	if (buf_printf(b, "%s = %s\n", e->key, e->value) < 0)
		return err_set(err, errno, "%s:%u: config too large to write", origin, e->line);
	return 0;
}

int cfg_write_fd(const struct cfg *c, int fd, const char *section, struct err **err)
{
	const char *origin = c->origin ? c->origin : "-";
	if (section == NULL || !valid_key(section, strlen(section)))
		return err_set(err, EINVAL, "%s: cannot write section name '%.*s'", origin, KEY_MAX,
			       section ? section : "");
	_cleanup_buf_ struct buf b = BUF_INIT;
	b.max = CFG_MAX_FILE;
	if (buf_printf(&b, "[%s]\n", section) < 0)
		return err_set(err, errno, "%s", origin);
	unsigned prev = 1;
	for (size_t i = 0; i < c->n; i++) {
		if (put_entry(&b, origin, &c->entries[i], prev, err) < 0)
			return -1;
		prev = c->entries[i].line;
	}
	if (file_write_all(fd, b.data, b.len) < 0)
		return err_set(err, errno, "%s: write", origin);
	return 0;
}

/* ---- lookup ---- */

const struct cfg_entry *cfg_get(const struct cfg *c, const char *key)
{
	for (size_t i = c->n; i > 0; i--)
		if (strcmp(c->entries[i - 1].key, key) == 0)
			return &c->entries[i - 1];
	return NULL;
}

const struct cfg_entry *cfg_next(const struct cfg *c, const char *key, const struct cfg_entry *prev)
{
	size_t i = prev ? (size_t)(prev - c->entries) + 1 : 0;
	for (; i < c->n; i++)
		if (strcmp(c->entries[i].key, key) == 0)
			return &c->entries[i];
	return NULL;
}

int cfg_check_keys(const struct cfg *c, const char *const *known, struct err **err)
{
	for (size_t i = 0; i < c->n; i++) {
		const char *const *k = known;
		while (*k && strcmp(*k, c->entries[i].key) != 0)
			k++;
		if (*k == NULL)
			return err_set(err, 0, "%s:%u: unknown key '%s'", c->origin,
				       c->entries[i].line, c->entries[i].key);
	}
	return 0;
}

/* ---- typed readers ---- */

int cfg_error(const struct cfg *c, const struct cfg_entry *e, struct err **err, const char *fmt,
	      ...)
{
	const char *origin = c && c->origin ? c->origin : "-";
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return err_set(err, ENOMEM, "%s", origin);
	if (e == NULL)
		return err_set(err, 0, "%s: %s", origin, msg);
	return err_set(err, 0, "%s:%u: %s: %s", origin, e->line, e->key, msg);
}

int cfg_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

/* Leading decimal digits of s into *out; returns the first other char or NULL. */
static const char *parse_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (*s < '0' || *s > '9') {
		errno = EINVAL;
		return NULL;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10) {
			errno = ERANGE;
			return NULL;
		}
		v = v * 10 + d;
	}
	*out = v;
	return s;
}

/* *out = a * b, or -1 with errno ERANGE and *out untouched. */
static int mul_checked(uint64_t a, uint64_t b, uint64_t *out)
{
	uint64_t r;
	if (__builtin_mul_overflow(a, b, &r)) {
		errno = ERANGE;
		return -1;
	}
	*out = r;
	return 0;
}

int cfg_parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;
	const char *q = parse_digits(s, &v);
	if (q == NULL)
		return -1;
	const char *units = "kmgt";
	const char *u = *q ? strchr(units, tolower((unsigned char)*q)) : NULL;
	if (u) {
		mult = 1ull << (10 * (u - units + 1));
		q++;
	}
	if (*q == 'b' || *q == 'B')
		q++;
	if (*q != '\0') {
		errno = EINVAL;
		return -1;
	}
	return mul_checked(v, mult, out);
}

int cfg_bool(const struct cfg *c, const struct cfg_entry *e, bool *out, struct err **err)
{
	if (e == NULL)
		return cfg_error(c, NULL, err, "missing boolean entry");
	if (cfg_parse_bool(e->value, out) < 0)
		return cfg_error(c, e, err, "expected a boolean, got '%s'", e->value);
	return 0;
}

int cfg_uint(const struct cfg *c, const struct cfg_entry *e, uint64_t min, uint64_t max,
	     uint64_t *out, struct err **err)
{
	if (e == NULL)
		return cfg_error(c, NULL, err, "missing integer entry");
	uint64_t v;
	const char *q = parse_digits(e->value, &v);
	if (q == NULL && errno == EINVAL)
		return cfg_error(c, e, err, "expected a decimal integer, got '%s'", e->value);
	if (q != NULL && *q != '\0')
		return cfg_error(c, e, err, "expected a decimal integer, got '%s'", e->value);
	if (q == NULL || v < min || v > max)
		return cfg_error(c, e, err, "'%s' is out of range [%" PRIu64 ", %" PRIu64 "]",
				 e->value, min, max);
	*out = v;
	return 0;
}

int cfg_size(const struct cfg *c, const struct cfg_entry *e, uint64_t *out, struct err **err)
{
	if (e == NULL)
		return cfg_error(c, NULL, err, "missing size entry");
	if (cfg_parse_size(e->value, out) == 0)
		return 0;
	if (errno == ERANGE)
		return cfg_error(c, e, err, "size '%s' is too large", e->value);
	return cfg_error(c, e, err, "expected a size like 64M, got '%s'", e->value);
}

/* Milliseconds per unit of a duration suffix, 0 when unknown. */
static uint64_t duration_unit(const char *q, uint64_t bare)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {{"", 0}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strcmp(q, units[i].suffix) == 0)
			return i == 0 ? bare : units[i].ms;
	return 0;
}

int cfg_duration(const struct cfg *c, const struct cfg_entry *e, uint64_t unit_ms, uint64_t *out_ms,
		 struct err **err)
{
	if (e == NULL)
		return cfg_error(c, NULL, err, "missing duration entry");
	uint64_t v;
	const char *q = parse_digits(e->value, &v);
	uint64_t unit = q ? duration_unit(q, unit_ms) : 0;
	if ((q == NULL && errno == EINVAL) || (q != NULL && unit == 0 && *q != '\0'))
		return cfg_error(
		    c, e, err, "expected a duration like 500ms, 30s, 5m or 1h, got '%s'", e->value);
	if (q == NULL || mul_checked(v, unit, out_ms) < 0)
		return cfg_error(c, e, err, "duration '%s' is too large", e->value);
	return 0;
}
