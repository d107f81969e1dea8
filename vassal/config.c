/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vassal's config: which keys a vassal file may hold and how each value
 * is checked, so that the emperor can refuse a broken file before it spawns
 * anything and the vassal can check again what it was handed. Also the
 * shell-like word splitting of `exec`. The subscription keys' parsers are
 * in subspec.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strndup */
#endif
#include "vassal/vassal.h"

#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/sign.h"
#include "jail/jail.h"
#include "tuntap/tuntap.h"
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

static size_t count_keys(const char *const *list)
{
	size_t n = 0;
	while (list[n] != NULL)
		n++;
	return n;
}

/* The vassal's own keys, the worker keys, the jail's and the tuntap
 * device's, NULL-terminated, newly allocated. */
static const char **known_keys_new(void)
{
	size_t n_jail = count_keys(jail_cfg_keys), n_wk = count_keys(vsl_wcfg_keys);
	size_t n_tt = count_keys(tt_vassal_keys);
	const char **known =
	    calloc(ARRAY_SIZE(vsl_keys) + n_jail + n_wk + n_tt + 1, sizeof(*known));
	if (known == NULL)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(vsl_keys); i++)
		known[n++] = vsl_keys[i].key;
	for (size_t i = 0; i < n_jail; i++)
		known[n++] = jail_cfg_keys[i];
	for (size_t i = 0; i < n_wk; i++)
		known[n++] = vsl_wcfg_keys[i];
	for (size_t i = 0; i < n_tt; i++)
		known[n++] = tt_vassal_keys[i];
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

bool vsl_sub_kind_of(const char *key, enum vsl_sub_kind *kind)
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

/*
 * A signed entry, in the host's view: its key must be a readable RSA private
 * key (read and dropped at once), and the packet with `unix` and the
 * signature must still fit a datagram. @len: the unsigned packet's length.
 */
static int check_sign_key(const struct cfg *c, const struct cfg_entry *e, const struct vsl_sub *s,
			  size_t len, struct err **err)
{
	struct sign_key *k = sign_key_load(s->sign_key, true, err);
	if (k == NULL) {
		err_prefix(err, "sign");
		return entry_fail(c, e, err);
	}
	/* `unix` (at most 20 digits) and `sign` records: 2+4+2 bytes of framing each. */
	size_t signed_len = len + 8 + 20 + 8 + (sign_key_bits(k) + 7) / 8;
	sign_key_free(k);
	if (signed_len > SUBPKT_DGRAM_MAX)
		return cfg_error(c, e, err, "its signed packet would exceed %d bytes",
				 SUBPKT_DGRAM_MAX);
	return 0;
}

/* What one subscription entry announces must exist, and its packet fit;
 * with @host, a signing key is loaded once as a check. */
static int check_sub_entry(const struct cfg *c, const struct cfg_entry *e, enum vsl_sub_kind kind,
			   const struct addr *socks, size_t n_socks, bool host, struct err **err)
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
		else if (host && s.sign_key != NULL)
			r = check_sign_key(c, e, &s, b.len, err);
	}
	vsl_sub_clear(&s);
	return r;
}

static int check_subscriptions(const struct cfg *c, const struct addr *socks, size_t n_socks,
			       bool host, struct err **err)
{
	size_t total = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *e = &c->entries[i];
		enum vsl_sub_kind kind;
		if (!vsl_sub_kind_of(e->key, &kind))
			continue;
		if (++total > VSL_MAX_SUBSCRIPTIONS)
			return cfg_error(c, e, err, "too many subscriptions (at most %d)",
					 VSL_MAX_SUBSCRIPTIONS);
		if (check_sub_entry(c, e, kind, socks, n_socks, host, err) < 0)
			return -1;
	}
	return 0;
}

/* Every check but the jail's; @host: in the host's view (signing keys). */
static int validate(const struct cfg *c, bool host, struct err **err)
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
	if (n_socks < 0 || check_subscriptions(c, addrs, (size_t)n_socks, host, err) < 0)
		return -1;
	struct vsl_wcfg w;
	if (vsl_wcfg_read(c, &w, err) < 0)
		return -1;
	struct tt_vassal_net net;
	int r = tt_vassal_net_read(c, &net, err);
	tt_vassal_net_free(&net);
	return r < 0 ? -1 : 0;
}

/* A tun device is created in the vassal's network namespace: without one
 * of its own it would be the host's. */
static int check_tuntap_netns(const struct cfg *c, unsigned long clone_flags, struct err **err)
{
	const struct cfg_entry *e = cfg_get(c, "tuntap-device");
	if (e == NULL || (clone_flags & CLONE_NEWNET))
		return 0;
	return cfg_error(c, e, err,
			 "needs a network namespace of its own: add `net` to use-clone");
}

int vsl_config_validate_own(const struct cfg *c, struct err **err)
{
	return validate(c, false, err);
}

int vsl_config_validate(const struct cfg *c, unsigned long clone_flags, struct err **err)
{
	if (validate(c, true, err) < 0 || check_tuntap_netns(c, clone_flags, err) < 0)
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

/* Whether @key is already among @out[0..n) (compared as the router does). */
static bool claimed(char *const *out, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(out[i], key) == 0)
			return true;
	return false;
}

int vsl_config_claims(const struct cfg *c, char **out, size_t max, struct err **err)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *e = &c->entries[i];
		enum vsl_sub_kind kind;
		struct vsl_sub s;
		if (!vsl_sub_kind_of(e->key, &kind))
			continue;
		if (vsl_sub_parse(kind, e->value, &s, err) < 0) {
			entry_fail(c, e, err);
			goto fail;
		}
		int r = 0;
		if (!s.key_file && !claimed(out, n, s.key)) {
			if (n >= max)
				r = cfg_error(c, e, err,
					      "more than %zu distinct keys to claim (domain, "
					      "subscribe-to and subscribe2 keys)",
					      max);
			else if ((out[n] = strdup(s.key)) == NULL)
				r = err_set(err, ENOMEM, "%s", c->origin);
			else
				n++;
		}
		vsl_sub_clear(&s);
		if (r < 0)
			goto fail;
	}
	return (int)n;
fail:
	while (n > 0)
		free(out[--n]);
	return -1;
}

/* ---- what a new config changes ---- */

static const char *const routing_keys[] = {
    "domain",	      "subscribe-to", "subscribe2", "subscribe-freq", "subscription-notify-socket",
    "unsubscribe-on-graceful-reload", NULL};

static const char *const worker_keys[] = {"exec", "env", "chdir", "heartbeat", NULL};

static bool in_list(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

static unsigned class_of(const char *key)
{
	if (in_list(routing_keys, key))
		return VSL_CHANGE_ROUTING;
	if (in_list(worker_keys, key) || in_list(vsl_wcfg_keys, key))
		return VSL_CHANGE_WORKERS;
	if (strcmp(key, "log-encoder") == 0)
		return 0;
	return VSL_CHANGE_RESTART;
}

/* The next entry of @cls at or after index *i, or NULL. */
static const struct cfg_entry *next_of(const struct cfg *c, size_t *i, unsigned cls)
{
	for (; *i < c->n; (*i)++)
		if (class_of(c->entries[*i].key) == cls)
			return &c->entries[(*i)++];
	return NULL;
}

static bool class_differs(const struct cfg *a, const struct cfg *b, unsigned cls)
{
	size_t i = 0, j = 0;
	for (;;) {
		const struct cfg_entry *x = next_of(a, &i, cls), *y = next_of(b, &j, cls);
		if (x == NULL || y == NULL)
			return x != y;
		if (strcmp(x->key, y->key) != 0 || strcmp(x->value, y->value) != 0)
			return true;
	}
}

/* Whether @c signs anything with @digest and @path. */
static bool signs_with(const struct cfg *c, const char *digest, const char *path)
{
	bool found = false;
	for (size_t i = 0; i < c->n && !found; i++) {
		enum vsl_sub_kind kind;
		struct vsl_sub s;
		if (!vsl_sub_kind_of(c->entries[i].key, &kind) ||
		    vsl_sub_parse(kind, c->entries[i].value, &s, NULL) < 0)
			continue;
		found = s.sign_key != NULL && strcmp(s.sign_digest, digest) == 0 &&
			strcmp(s.sign_key, path) == 0;
		vsl_sub_clear(&s);
	}
	return found;
}

/* Whether every DIGEST:KEYFILE of @a is also used by @b. */
static bool signing_subset(const struct cfg *a, const struct cfg *b)
{
	bool subset = true;
	for (size_t i = 0; i < a->n && subset; i++) {
		enum vsl_sub_kind kind;
		struct vsl_sub s;
		if (!vsl_sub_kind_of(a->entries[i].key, &kind) ||
		    vsl_sub_parse(kind, a->entries[i].value, &s, NULL) < 0)
			continue;
		subset = s.sign_key == NULL || signs_with(b, s.sign_digest, s.sign_key);
		vsl_sub_clear(&s);
	}
	return subset;
}

unsigned vsl_config_change(const struct cfg *old, const struct cfg *new)
{
	unsigned mask = 0;
	const unsigned classes[] = {VSL_CHANGE_ROUTING, VSL_CHANGE_WORKERS, VSL_CHANGE_RESTART};
	for (size_t k = 0; k < ARRAY_SIZE(classes); k++)
		if (class_differs(old, new, classes[k]))
			mask |= classes[k];
	/* Signing keys are read before the jail, so only a new vassal process
	 * can take up a different set of them. */
	if ((mask & VSL_CHANGE_ROUTING) && (!signing_subset(old, new) || !signing_subset(new, old)))
		mask |= VSL_CHANGE_RESTART;
	return mask;
}
