/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vassal's config: which keys a vassal file may hold and how each value
 * is checked, so that the emperor can refuse a broken file before it spawns
 * anything and the vassal can check again what it was handed. Also the
 * shell-like word splitting of `exec` and the parsers of the subscription
 * keys (`domain`, `subscribe-to`, `subscribe2`), shared by the validator and
 * by the vassal program that acts on them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strndup */
#endif
#include "vassal/vassal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/buf.h"
#include "core/log.h"
#include "jail/jail.h"
#include "vassal/internal.h"

const char *const vsl_sections[] = {"vassal", "uwsgi", NULL};

/* Only used to check jail keys; the real stage dir comes from the emperor. */
#define VALIDATE_STAGE_DIR "/run/imperium/stage"

/* ---- word splitting ---- */

struct words {
	char **v;
	size_t n, cap;
};

static int words_init(struct words *w)
{
	w->n = 0;
	w->cap = 8;
	w->v = calloc(w->cap, sizeof(*w->v));
	return w->v == NULL ? -1 : 0;
}

/* Append a copy of s[0..len) and keep the array NULL-terminated. */
static int words_push(struct words *w, const char *s, size_t len)
{
	if (w->n + 2 > w->cap) {
		size_t cap = w->cap * 2;
		char **v = realloc(w->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		w->v = v;
		w->cap = cap;
	}
	char *word = strndup(s, len);
	if (word == NULL)
		return -1;
	w->v[w->n++] = word;
	w->v[w->n] = NULL;
	return 0;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/*
 * Copy one quoted or escaped run starting at *p (a quote or a backslash) into
 * word[*len...]; leave *p on its last character. Returns 0 or -1 with *err.
 */
static int take_quoted(const char **p, char *word, size_t *len, struct err **err)
{
	const char *s = *p;
	if (*s == '\\') {
		if (s[1] == '\0')
			return err_set(err, 0, "trailing backslash");
		word[(*len)++] = s[1];
		*p = s + 1;
		return 0;
	}
	char quote = *s;
	for (s++; *s != '\0' && *s != quote; s++) {
		if (quote == '"' && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		word[(*len)++] = *s;
	}
	if (*s == '\0')
		return err_set(err, 0, "unterminated %c quote", quote);
	*p = s;
	return 0;
}

int vsl_split_words(const char *s, char ***argv_out, struct err **err)
{
	struct words w = {0};
	/* No word is longer than the input, so one scratch buffer suffices. */
	_cleanup_free_ char *word = malloc(strlen(s) + 1);
	size_t len = 0;
	bool in_word = false;

	if (word == NULL || words_init(&w) < 0)
		goto oom;
	for (const char *p = s; *p != '\0'; p++) {
		if (is_blank(*p)) {
			if (in_word && words_push(&w, word, len) < 0)
				goto oom;
			in_word = false;
			len = 0;
			continue;
		}
		in_word = true;
		if (*p == '\'' || *p == '"' || *p == '\\') {
			if (take_quoted(&p, word, &len, err) < 0) {
				vsl_free_words(w.v);
				return -1;
			}
		} else {
			word[len++] = *p;
		}
	}
	if (in_word && words_push(&w, word, len) < 0)
		goto oom;
	*argv_out = w.v;
	return (int)w.n;
oom:
	vsl_free_words(w.v);
	return err_set(err, ENOMEM, "splitting command");
}

void vsl_free_words(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

/* ---- subscriptions: pure parsers shared with the vassal program ---- */

static bool sub_text_ok(const char *p, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

bool vsl_sub_key_ok(const char *p, size_t len)
{
	return sub_text_ok(p, len, SUBPKT_KEY_MAX);
}

static int sub_key(const char *key, struct err **err)
{
	if (!vsl_sub_key_ok(key, strlen(key)))
		return err_set(err, 0, "key '%s': expected 1..%d bytes, none blank or control", key,
			       SUBPKT_KEY_MAX);
	return 0;
}

static int sub_address(const char *a, struct err **err)
{
	if (!sub_text_ok(a, strlen(a), SUBPKT_ADDR_MAX))
		return err_set(
		    err, 0, "announced address '%s': expected 1..%d bytes, none blank or control",
		    a, SUBPKT_ADDR_MAX);
	return 0;
}

/* Strict decimal in [0, max]: digits only, no sign, no overflow. */
static int sub_number(const char *name, const char *s, uint64_t max, uint64_t *out,
		      struct err **err)
{
	uint64_t v = 0;
	const char *p = s;
	/* Stopping on a digit leaves *p non-NUL: the value is refused. */
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10 || v * 10 + d > max)
			break;
		v = v * 10 + d;
	}
	if (p == s || *p != '\0')
		return err_set(err, 0, "%s '%s': expected a number 0..%" PRIu64, name, s, max);
	*out = v;
	return 0;
}

static int sub_u8(const char *name, const char *s, uint8_t *out, struct err **err)
{
	uint64_t v;
	if (sub_number(name, s, UINT8_MAX, &v, err) < 0)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

/* A server routers listen on: UDP host:port, or a unix datagram socket. */
static int sub_server(const char *s, struct err **err)
{
	struct addr a;
	if (addr_parse(s, &a, err) < 0) {
		err_prefix(err, "server");
		return -1;
	}
	if (a.fd >= 0)
		return err_set(err, 0, "server '%s': expected host:port or a unix path", s);
	return 0;
}

/* Where the server of a subscribe-to value ends (at the ':' before the key). */
static char *sub_server_end(char *s)
{
	if (s[0] == '/')
		return strchr(s, ':');
	char *p = s;
	if (s[0] == '[') {
		p = strchr(s, ']');
		if (p == NULL || p[1] != ':')
			return NULL;
	}
	p = strchr(p, ':');
	return p == NULL ? NULL : strchr(p + 1, ':');
}

/* [ANNOUNCE=]SERVER:KEY[,MODIFIER1[,DIGEST:KEYFILE]], parsed in place. */
static int sub_parse_to(char *s, struct vsl_sub *out, struct err **err)
{
	char *eq = strchr(s, '=');
	if (eq != NULL) {
		*eq = '\0';
		out->address = s;
		s = eq + 1;
		if (sub_address(out->address, err) < 0)
			return -1;
	}
	char *colon = sub_server_end(s);
	if (colon == NULL)
		return err_set(err, 0, "'%s': expected [ANNOUNCE=]HOST:PORT:KEY or /PATH:KEY", s);
	*colon = '\0';
	out->server = s;
	char *key = colon + 1;
	char *comma = strchr(key, ',');
	if (comma != NULL) {
		*comma = '\0';
		char *m1 = comma + 1;
		if (strchr(m1, ',') != NULL)
			return err_set(err, 0, "signing is not supported yet");
		if (sub_u8("modifier1", m1, &out->modifier1, err) < 0)
			return -1;
	}
	if (sub_server(out->server, err) < 0)
		return -1;
	if (key[0] == '@') {
		out->key_file = true;
		out->key = key + 1;
		if (key[1] == '\0')
			return err_set(err, 0, "'@' needs a key file name");
		return 0;
	}
	out->key = key;
	return sub_key(key, err);
}

static int s2_vassal(const char *val, struct err **err)
{
	if (!sub_text_ok(val, strlen(val), SUBPKT_KEY_MAX))
		return err_set(err, 0, "vassal '%s': expected 1..%d bytes, none blank", val,
			       SUBPKT_KEY_MAX);
	return 0;
}

static int s2_proto(const char *val, struct err **err)
{
	if (strcmp(val, "uwsgi") != 0 && strcmp(val, "http") != 0)
		return err_set(err, 0, "proto '%s': expected uwsgi or http", val);
	return 0;
}

static int s2_algo(const char *val, struct err **err)
{
	static const char *const algos[] = {"wrr", "lrc", "wlrc", "iphash"};
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++)
		if (strcmp(val, algos[i]) == 0)
			return 0;
	return err_set(err, 0, "algo '%s': expected wrr, lrc, wlrc or iphash", val);
}

static int s2_path(const char *val, struct err **err)
{
	if (strlen(val) >= PATH_MAX)
		return err_set(err, 0, "'%.32s...': path too long", val);
	return 0;
}

/* subscribe2 names, each with the type and place of its field. */
enum s2_type { S2_STR, S2_U8, S2_U64, S2_UINT, S2_BOOL };

#define S2(name, type, field, max, check)                                                          \
	{                                                                                          \
		name, type, offsetof(struct vsl_sub, field), max, check                            \
	}
static const struct {
	const char *name;
	enum s2_type type;
	size_t off;
	uint64_t max;				   /* numbers */
	int (*check)(const char *, struct err **); /* strings */
} s2_names[] = {
    S2("server", S2_STR, server, 0, sub_server),
    S2("key", S2_STR, key, 0, sub_key),
    S2("addr", S2_STR, address, 0, sub_address), /* "address" too */
    S2("socket", S2_UINT, socket, VSL_MAX_SOCKETS - 1, NULL),
    S2("weight", S2_U64, weight, VSL_SUB_WEIGHT_MAX, NULL),
    S2("modifier1", S2_U8, modifier1, UINT8_MAX, NULL),
    S2("modifier2", S2_U8, modifier2, UINT8_MAX, NULL),
    S2("check", S2_STR, check, 0, s2_path),
    S2("sni_key", S2_STR, sni_key, 0, s2_path),
    S2("sni_crt", S2_STR, sni_crt, 0, s2_path),
    S2("sni_ca", S2_STR, sni_ca, 0, s2_path),
    S2("proto", S2_STR, proto, 0, s2_proto),
    S2("algo", S2_STR, algo, 0, s2_algo),
    S2("backup", S2_U64, backup, VSL_SUB_BACKUP_MAX, NULL),
    S2("vassal", S2_STR, vassal, 0, s2_vassal),
    S2("inactive", S2_BOOL, inactive, 1, NULL),
};
#undef S2

static uint32_t s2_bit(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(s2_names); i++)
		if (strcmp(s2_names[i].name, name) == 0)
			return 1u << i;
	return 0;
}

/* One name=value of subscribe2; @seen has a bit per s2_names entry given. */
static int s2_field(struct vsl_sub *s, const char *name, const char *val, uint32_t *seen,
		    struct err **err)
{
	if (val == NULL)
		return err_set(err, 0, "'%s': expected name=value", name);
	if (strcmp(name, "sign") == 0)
		return err_set(err, 0, "sign: signing is not supported yet");
	const char *canon = strcmp(name, "address") == 0 ? "addr" : name;
	size_t i = 0;
	while (i < ARRAY_SIZE(s2_names) && strcmp(s2_names[i].name, canon) != 0)
		i++;
	if (i == ARRAY_SIZE(s2_names))
		return err_set(err, 0, "unknown name '%s'", name);
	if (*seen & s2_bit(canon))
		return err_set(err, 0, "'%s' given twice", name);
	*seen |= s2_bit(canon);
	if (val[0] == '\0')
		return err_set(err, 0, "%s: empty value", name);
	char *field = (char *)s + s2_names[i].off;
	uint64_t n = 0;
	if (s2_names[i].type != S2_STR && sub_number(name, val, s2_names[i].max, &n, err) < 0)
		return -1;
	switch (s2_names[i].type) {
	case S2_STR:
		*(const char **)field = val;
		return s2_names[i].check(val, err);
	case S2_U8:
		*(uint8_t *)field = (uint8_t)n;
		break;
	case S2_U64:
		*(uint64_t *)field = n;
		break;
	case S2_UINT:
		*(unsigned *)field = (unsigned)n;
		break;
	case S2_BOOL:
		*(bool *)field = n != 0;
		break;
	}
	return 0;
}

/* name=value,... with `\` taking the next character literally, unescaped into
 * buf (at least strlen(value) + 1 bytes) as NUL-separated names and values. */
static int sub_parse2(char *buf, const char *value, struct vsl_sub *out, struct err **err)
{
	uint32_t seen = 0;
	char *o = buf, *name = buf, *val = NULL;
	for (const char *p = value;; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return err_set(err, 0, "trailing backslash");
			*o++ = *++p;
		} else if (*p == '=' && val == NULL) {
			*o++ = '\0';
			val = o;
		} else if (*p == ',' || *p == '\0') {
			*o++ = '\0';
			if (s2_field(out, name, val, &seen, err) < 0)
				return -1;
			if (*p == '\0')
				break;
			name = o;
			val = NULL;
		} else {
			*o++ = *p;
		}
	}
	if (out->server == NULL || out->key == NULL)
		return err_set(err, 0, "server= and key= are required");
	if (out->address != NULL && (seen & s2_bit("socket")) != 0)
		return err_set(err, 0, "addr= and socket= exclude each other");
	return 0;
}

int vsl_sub_parse(enum vsl_sub_kind kind, const char *value, struct vsl_sub *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->buf = strdup(value);
	if (out->buf == NULL)
		return err_set(err, ENOMEM, "parsing");
	int r = 0;
	switch (kind) {
	case VSL_SUB_DOMAIN:
		out->key = out->buf;
		out->weight = 1;
		out->proto = "http";
		r = sub_key(out->key, err);
		break;
	case VSL_SUB_TO:
		r = sub_parse_to(out->buf, out, err);
		break;
	case VSL_SUB_TWO:
		r = sub_parse2(out->buf, value, out, err);
		break;
	}
	if (r < 0)
		vsl_sub_clear(out);
	return r;
}

void vsl_sub_clear(struct vsl_sub *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

int vsl_sub_keyline(char *line, uint8_t dflt_modifier1, const char **key, uint8_t *modifier1,
		    struct err **err)
{
	line = trim(line);
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	*modifier1 = dflt_modifier1;
	char *comma = strchr(line, ',');
	if (comma != NULL) {
		*comma = '\0';
		char *m1 = trim(comma + 1);
		if (strchr(m1, ',') != NULL)
			return err_set(err, 0, "expected key[,modifier1]");
		if (sub_u8("modifier1", m1, modifier1, err) < 0)
			return -1;
		line = trim(line);
	}
	if (sub_key(line, err) < 0)
		return -1;
	*key = line;
	return 1;
}

void vsl_sub_fill(const struct vsl_sub *s, const char *key, const char *address, const char *notify,
		  struct subpkt *out)
{
	struct subpkt_str none = {NULL, 0};
#define STR(x) ((x) != NULL ? (struct subpkt_str){(x), strlen(x)} : none)
	*out = (struct subpkt){
	    .key = STR(key != NULL ? key : s->key),
	    .address = STR(address),
	    .notify = s->kind == VSL_SUB_DOMAIN ? none : STR(notify),
	    .sni_key = STR(s->sni_key),
	    .sni_crt = STR(s->sni_crt),
	    .sni_ca = STR(s->sni_ca),
	    .vassal = STR(s->vassal),
	    .proto = STR(s->proto),
	    .algo = STR(s->algo),
	    .modifier1 = s->modifier1,
	    .modifier2 = s->modifier2,
	    .cores = 1,
	    .weight = s->weight,
	    .backup = s->backup,
	    .inactive = s->inactive,
	};
#undef STR
}

/* ---- per-key checks ---- */

/* Turn an error from a value parser into "ORIGIN:LINE: KEY: why" (some
 * parsers name the key themselves). */
static int entry_fail(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	size_t klen = strlen(e->key);
	const char *msg = err_msg(*err);
	if (strncmp(msg, e->key, klen) == 0 && msg[klen] == ':')
		err_prefix(err, "%s:%u", c->origin, e->line);
	else
		err_prefix(err, "%s:%u: %s", c->origin, e->line, e->key);
	return -1;
}

static int check_exec(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	char **argv = NULL;
	int n = vsl_split_words(e->value, &argv, err);
	vsl_free_words(argv);
	if (n < 0)
		return entry_fail(c, e, err);
	if (n == 0)
		return cfg_error(c, e, err, "empty command");
	return 0;
}

static int check_socket(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	struct addr a;
	if (addr_parse(e->value, &a, err) < 0)
		return entry_fail(c, e, err);
	return 0;
}

static bool env_name_ok(const char *s, size_t len)
{
	if (len == 0 ||
	    !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 1; i < len; i++) {
		char ch = s[i];
		if (!(ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9')))
			return false;
	}
	return true;
}

static int check_env(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	const char *eq = strchr(e->value, '=');
	if (eq == NULL)
		return cfg_error(c, e, err, "'%s': expected NAME=VALUE", e->value);
	if (!env_name_ok(e->value, (size_t)(eq - e->value)))
		return cfg_error(c, e, err, "'%s': bad variable name", e->value);
	return 0;
}

static int check_chdir(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	if (e->value[0] != '/')
		return cfg_error(c, e, err, "'%s': not an absolute path", e->value);
	if (strlen(e->value) >= PATH_MAX)
		return cfg_error(c, e, err, "path too long");
	return 0;
}

static int check_use_clone(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	unsigned long flags;
	if (jail_parse_clone_flags(e->value, &flags, err) < 0)
		return entry_fail(c, e, err);
	return 0;
}

static int check_hook(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	if (e->value[0] == '\0')
		return cfg_error(c, e, err, "empty command");
	return 0;
}

static int check_log_encoder(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	struct log_chain *chain = NULL;
	int r = log_chain_add(&chain, e->value, err);
	log_chain_free(chain);
	return r < 0 ? entry_fail(c, e, err) : 0;
}

static int check_heartbeat(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	uint64_t v;
	return cfg_uint(c, e, VSL_HEARTBEAT_MIN, VSL_HEARTBEAT_MAX, &v, err);
}

static int check_sub(const struct cfg *c, const struct cfg_entry *e, enum vsl_sub_kind kind,
		     struct err **err)
{
	struct vsl_sub s;
	if (vsl_sub_parse(kind, e->value, &s, err) < 0)
		return entry_fail(c, e, err);
	vsl_sub_clear(&s);
	return 0;
}

static int check_domain(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	return check_sub(c, e, VSL_SUB_DOMAIN, err);
}

static int check_subscribe_to(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	return check_sub(c, e, VSL_SUB_TO, err);
}

static int check_subscribe2(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	return check_sub(c, e, VSL_SUB_TWO, err);
}

static int check_subscribe_freq(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	uint64_t v;
	return cfg_uint(c, e, VSL_SUBSCRIBE_FREQ_MIN, VSL_SUBSCRIBE_FREQ_MAX, &v, err);
}

static int check_notify_socket(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	if (e->value[0] != '/')
		return cfg_error(c, e, err, "'%s': not an absolute path", e->value);
	if (strlen(e->value) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return cfg_error(c, e, err, "path longer than %zu bytes",
				 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	return 0;
}

static int check_bool(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	bool v;
	return cfg_bool(c, e, &v, err);
}

typedef int (*check_fn)(const struct cfg *, const struct cfg_entry *, struct err **);

static const struct {
	const char *key;
	check_fn check;
} vsl_keys[] = {
    {"exec", check_exec},
    {"socket", check_socket},
    {"env", check_env},
    {"chdir", check_chdir},
    {"use-clone", check_use_clone},
    {"exec-as-root", check_hook},
    {"log-encoder", check_log_encoder},
    {"heartbeat", check_heartbeat},
    {"domain", check_domain},
    {"subscribe-to", check_subscribe_to},
    {"subscribe2", check_subscribe2},
    {"subscribe-freq", check_subscribe_freq},
    {"subscription-notify-socket", check_notify_socket},
    {"unsubscribe-on-graceful-reload", check_bool},
};

static check_fn find_check(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(vsl_keys); i++)
		if (strcmp(vsl_keys[i].key, key) == 0)
			return vsl_keys[i].check;
	return NULL;
}

/* The vassal's own keys plus the jail's, NULL-terminated, newly allocated. */
static const char **known_keys_new(void)
{
	size_t n_jail = 0;
	while (jail_cfg_keys[n_jail] != NULL)
		n_jail++;
	const char **known = calloc(ARRAY_SIZE(vsl_keys) + n_jail + 1, sizeof(*known));
	if (known == NULL)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(vsl_keys); i++)
		known[n++] = vsl_keys[i].key;
	for (size_t i = 0; i < n_jail; i++)
		known[n++] = jail_cfg_keys[i];
	return known;
}

/* Exactly one `exec`. */
static int check_exec_count(const struct cfg *c, struct err **err)
{
	const struct cfg_entry *e = cfg_next(c, "exec", NULL);
	if (e == NULL)
		return err_set(err, 0, "%s: exec: required", c->origin);
	e = cfg_next(c, "exec", e);
	if (e != NULL)
		return cfg_error(c, e, err, "given more than once");
	return 0;
}

static bool sub_kind_of(const char *key, enum vsl_sub_kind *kind)
{
	if (strcmp(key, "domain") == 0)
		*kind = VSL_SUB_DOMAIN;
	else if (strcmp(key, "subscribe-to") == 0)
		*kind = VSL_SUB_TO;
	else if (strcmp(key, "subscribe2") == 0)
		*kind = VSL_SUB_TWO;
	else
		return false;
	return true;
}

/* What one subscription entry announces must exist, and its packet fit. */
static int check_sub_entry(const struct cfg *c, const struct cfg_entry *e, enum vsl_sub_kind kind,
			   const struct addr *socks, size_t n_socks, struct err **err)
{
	struct vsl_sub s;
	if (vsl_sub_parse(kind, e->value, &s, err) < 0)
		return entry_fail(c, e, err);
	const struct cfg_entry *notify = cfg_get(c, "subscription-notify-socket");
	const char *address = s.address;
	int r = 0;
	if (address == NULL && n_socks == 0)
		r = cfg_error(c, e, err, "%s",
			      kind == VSL_SUB_DOMAIN
				  ? "domain needs a socket"
				  : "no socket to announce: add a socket or an announced address");
	else if (address == NULL && s.socket >= n_socks)
		r = cfg_error(c, e, err, "socket=%u: the vassal has %zu socket(s)", s.socket,
			      n_socks);
	if (r == 0) {
		struct subpkt p;
		_cleanup_buf_ struct buf b = BUF_INIT;
		vsl_sub_fill(&s, NULL, address ? address : socks[s.socket].text,
			     notify ? notify->value : NULL, &p);
		if (subpkt_build(&b, &p) < 0)
			r = cfg_error(c, e, err, "its packet would exceed %d bytes",
				      SUBPKT_DGRAM_MAX);
	}
	vsl_sub_clear(&s);
	return r;
}

static int check_subscriptions(const struct cfg *c, const struct addr *socks, size_t n_socks,
			       struct err **err)
{
	size_t total = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *e = &c->entries[i];
		enum vsl_sub_kind kind;
		if (!sub_kind_of(e->key, &kind))
			continue;
		if (++total > VSL_MAX_SUBSCRIPTIONS)
			return cfg_error(c, e, err, "too many subscriptions (at most %d)",
					 VSL_MAX_SUBSCRIPTIONS);
		if (check_sub_entry(c, e, kind, socks, n_socks, err) < 0)
			return -1;
	}
	return 0;
}

int vsl_config_validate(const struct cfg *c, unsigned long clone_flags, struct err **err)
{
	_cleanup_free_ const char **known = known_keys_new();
	if (known == NULL)
		return err_set(err, ENOMEM, "%s", c->origin);
	if (cfg_check_keys(c, known, err) < 0)
		return -1;
	/* Values in file order, so the first bad line is the one reported. */
	for (size_t i = 0; i < c->n; i++) {
		check_fn check = find_check(c->entries[i].key);
		if (check != NULL && check(c, &c->entries[i], err) < 0)
			return -1;
	}
	if (check_exec_count(c, err) < 0)
		return -1;
	struct addr addrs[VSL_MAX_SOCKETS];
	int n_socks = vsl_config_sockets(c, addrs, ARRAY_SIZE(addrs), err);
	if (n_socks < 0 || check_subscriptions(c, addrs, (size_t)n_socks, err) < 0)
		return -1;
	struct jail_spec spec;
	memset(&spec, 0, sizeof(spec));
	if (jail_spec_from_cfg(c, clone_flags, VALIDATE_STAGE_DIR, &spec, err) < 0)
		return -1;
	jail_spec_free(&spec);
	return 0;
}

int vsl_config_sockets(const struct cfg *c, struct addr *out, size_t max, struct err **err)
{
	size_t n = 0;
	for (const struct cfg_entry *e = cfg_next(c, "socket", NULL); e != NULL;
	     e = cfg_next(c, "socket", e)) {
		if (n >= max || n >= VSL_MAX_SOCKETS)
			return cfg_error(c, e, err, "too many sockets (at most %zu)",
					 max < VSL_MAX_SOCKETS ? max : (size_t)VSL_MAX_SOCKETS);
		if (addr_parse(e->value, &out[n], err) < 0)
			return entry_fail(c, e, err);
		n++;
	}
	return (int)n;
}

int vsl_config_domains(const struct cfg *c, const char **out, size_t max, struct err **err)
{
	size_t n = 0;
	for (const struct cfg_entry *e = cfg_next(c, "domain", NULL); e != NULL;
	     e = cfg_next(c, "domain", e)) {
		if (!vsl_sub_key_ok(e->value, strlen(e->value)))
			return cfg_error(c, e, err,
					 "'%s': expected 1..%d bytes, none blank or control",
					 e->value, SUBPKT_KEY_MAX);
		if (n >= max)
			return cfg_error(c, e, err, "too many domains (at most %zu)", max);
		out[n++] = e->value;
	}
	return (int)n;
}
