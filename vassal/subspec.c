/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The subscription keys of a vassal file (`domain`, `subscribe-to`,
 * `subscribe2`) parsed into what the vassal announces: pure functions, used
 * by the emperor to validate a file and by the vassal program to build its
 * packets. Forms and names follow uWSGI's; see PROTOCOL.md. Also the
 * signing side: the key files a config names (which the emperor opens for
 * the vassal), the vassal's table of private keys, read from those
 * descriptors before its jail, and the stamping and signing of one packet.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/cfg.h"
#include "core/sign.h"
#include "core/subpkt.h"
#include "vassal/internal.h"
#include "vassal/vassal.h"

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

/* `DIGEST:KEYFILE` (in place): a digest OpenSSL knows, an absolute path. */
static int sub_sign(char *val, struct vsl_sub *out, struct err **err)
{
	char *colon = strchr(val, ':');
	if (colon == NULL || colon == val || colon[1] == '\0')
		return err_set(err, 0, "sign '%s': expected DIGEST:KEYFILE", val);
	*colon = '\0';
	const char *path = colon + 1;
	if (sign_digest(val, err) == NULL) {
		err_prefix(err, "sign");
		return -1;
	}
	if (path[0] != '/')
		return err_set(err, 0, "sign key '%s': not an absolute path", path);
	if (strlen(path) >= PATH_MAX)
		return err_set(err, 0, "sign key '%.32s...': path too long", path);
	out->sign_digest = val;
	out->sign_key = path;
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
		char *sign = strchr(m1, ',');
		if (sign != NULL)
			*sign++ = '\0';
		if (sub_u8("modifier1", m1, &out->modifier1, err) < 0)
			return -1;
		if (sign != NULL && sub_sign(sign, out, err) < 0)
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
_Static_assert(ARRAY_SIZE(s2_names) < 31, "a bit per name, and S2_SIGN_BIT");

static uint32_t s2_bit(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(s2_names); i++)
		if (strcmp(s2_names[i].name, name) == 0)
			return 1u << i;
	return 0;
}

/* The bit of `sign`, which is not in s2_names (it fills two fields). */
#define S2_SIGN_BIT (1u << 31)

/* One name=value of subscribe2; @seen has a bit per s2_names entry given. */
static int s2_field(struct vsl_sub *s, const char *name, char *val, uint32_t *seen,
		    struct err **err)
{
	if (val == NULL)
		return err_set(err, 0, "'%s': expected name=value", name);
	if (strcmp(name, "sign") == 0) {
		if (*seen & S2_SIGN_BIT)
			return err_set(err, 0, "'sign' given twice");
		*seen |= S2_SIGN_BIT;
		return sub_sign(val, s, err);
	}
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

/* ---- signing ---- */

/*
 * Entry @i of @c as a signed subscription: 1 with *s filled (clear it), 0
 * when it signs nothing (or is no subscription), -1 with *err "FILE:LINE:
 * KEY: why".
 */
static int signed_entry(const struct cfg *c, size_t i, struct vsl_sub *s, struct err **err)
{
	const struct cfg_entry *e = &c->entries[i];
	enum vsl_sub_kind kind;
	if (!vsl_sub_kind_of(e->key, &kind))
		return 0;
	if (vsl_sub_parse(kind, e->value, s, err) < 0) {
		err_prefix(err, "%s:%u: %s", c->origin, e->line, e->key);
		return -1;
	}
	if (s->sign_key != NULL)
		return 1;
	vsl_sub_clear(s);
	return 0;
}

static bool path_among(char *const *paths, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(paths[i], path) == 0)
			return true;
	return false;
}

int vsl_config_sign_keys(const struct cfg *c, char **out, size_t max, struct err **err)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct vsl_sub s;
		int r = signed_entry(c, i, &s, err);
		bool held = r > 0;
		if (held && !path_among(out, n, s.sign_key)) {
			if (n >= max)
				r = cfg_error(c, &c->entries[i], err, "more than %zu signing keys",
					      max);
			else if ((out[n] = strdup(s.sign_key)) == NULL)
				r = cfg_error(c, &c->entries[i], err, "sign key: out of memory");
			else
				n++;
		}
		if (held)
			vsl_sub_clear(&s);
		if (r < 0) {
			while (n > 0)
				free(out[--n]);
			return -1;
		}
	}
	return (int)n;
}

static const struct vsl_key_fd *fd_of(const struct vsl_key_fd *fds, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fds[i].path, path) == 0)
			return &fds[i];
	return NULL;
}

/* The key of @path into @r, from its descriptor among @fds. */
static int keyring_add(struct vsl_keyring *r, const char *path, const struct vsl_key_fd *fds,
		       size_t n_fds, struct err **err)
{
	const struct vsl_key_fd *f = fd_of(fds, n_fds, path);
	struct vsl_sign_key *k = &r->keys[r->n];
	if (r->n >= VSL_MAX_SIGN_KEYS)
		return err_set(err, 0, "more than %d signing keys", VSL_MAX_SIGN_KEYS);
	if (f == NULL)
		return err_set(err, EBADF, "sign: %s: no descriptor from the emperor (--sign-key)",
			       path);
	if ((k->path = strdup(path)) == NULL)
		return err_set(err, ENOMEM, "sign key");
	if ((k->key = sign_key_load_fd(f->fd, path, true, err)) == NULL) {
		free(k->path);
		k->path = NULL;
		err_prefix(err, "sign");
		return -1;
	}
	r->n++;
	return 0;
}

int vsl_keyring_load(struct vsl_keyring *r, const struct cfg *c, const struct vsl_key_fd *fds,
		     size_t n_fds, struct err **err)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *e = &c->entries[i];
		struct vsl_sub s;
		int rc = signed_entry(c, i, &s, err);
		if (rc <= 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		if (vsl_keyring_find(r, s.sign_key) == NULL)
			rc = keyring_add(r, s.sign_key, fds, n_fds, err);
		vsl_sub_clear(&s);
		if (rc < 0) {
			err_prefix(err, "%s:%u: %s", c->origin, e->line, e->key);
			return -1;
		}
	}
	/* Descriptors name distinct paths: one left over names no key of @c. */
	for (size_t i = 0; i < n_fds; i++)
		if (vsl_keyring_find(r, fds[i].path) == NULL)
			return err_set(err, 0, "--sign-key %s: not a signing key of %s",
				       fds[i].path, c->origin);
	return 0;
}

const struct sign_key *vsl_keyring_find(const struct vsl_keyring *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->keys[i].path, path) == 0)
			return r->keys[i].key;
	return NULL;
}

void vsl_keyring_free(struct vsl_keyring *r)
{
	for (size_t i = 0; i < r->n; i++) {
		sign_key_free(r->keys[i].key);
		free(r->keys[i].path);
		r->keys[i] = (struct vsl_sign_key){NULL, NULL};
	}
	r->n = 0;
}

uint64_t vsl_sub_next_unix(uint64_t *last, uint64_t now)
{
	uint64_t v = now > *last ? now : *last + 1;
	*last = v;
	return v;
}

ssize_t vsl_sub_build_signed(struct buf *out, const struct subpkt *p, uint64_t *last, uint64_t now,
			     const struct sign_key *k, const EVP_MD *md, struct err **err)
{
	struct subpkt stamped = *p;
	uint64_t next = *last;
	stamped.has_unix = true;
	/* uWSGI stamps an unsubscribe one second ahead. */
	stamped.unix_time = vsl_sub_next_unix(&next, now + (p->unsubscribe ? 1 : 0));
	buf_reset(out);
	if (subpkt_build(out, &stamped) < 0)
		return err_set(err, errno, "building the packet");
	if (sign_subpkt(out, k, md, err) < 0)
		return -1;
	*last = next;
	return (ssize_t)out->len;
}
