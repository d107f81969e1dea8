/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Signed subscriptions: who may speak for a key, and when. A key with a
 * public key file in a `subscriptions-sign-check` directory accepts only
 * packets signed with that key and digest (uWSGI's scheme, see PROTOCOL.md);
 * with `subscriptions-sign-required` every packet must be signed and have a
 * key file. Replays are refused: the packet's `unix` must be within the
 * tolerance of our clock both ways and strictly above the last one accepted
 * for that key and node. Those counters are kept apart from the node table,
 * so they outlive a node's expiry or unsubscribe, and are forgotten only once
 * they are older than the tolerance, when the clock check alone refuses
 * anything they would. Key files are stat()ed on every use and re-read when
 * they change, so a rotated key applies to the next packet.
 *
 * Key file names: the key's host part (before the first '/'), lower-cased,
 * every byte outside [0-9a-z._-] mapped to '_', then ".pem". A key with a
 * port ("a.test:8080") that has no file of its own falls back to the bare
 * host's file, so the owner of a domain owns its ports: otherwise anyone
 * could claim "a.test:8080" unsigned next to a signed "a.test".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/sign.h"
#include "core/util.h"
#include "router/internal.h"

#define KEYFILE_BUCKETS 256
#define KEYFILE_MAX 4096 /* cached key files; the cache is emptied past it */
#define NAME_MAX_LEN (SUBPKT_KEY_MAX + 8)

struct keyfile {
	struct keyfile *next;
	char *path;
	struct sign_key *key;   /* NULL: the file did not load (logged once) */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct counter {
	struct counter *next;
	int64_t last;           /* the last `unix` accepted */
	uint64_t hash;
	size_t len;
	char id[];              /* normalised key, '\n', address */
};

struct sign_dir {
	const EVP_MD *md;
	char path[RTR_PATH_MAX];
};

struct rtr_sigcheck {
	struct sign_dir dirs[RTR_MAX_SIGN_DIRS];
	size_t n_dirs;
	bool required;
	int64_t tolerance;      /* seconds */
	struct keyfile *files[KEYFILE_BUCKETS];
	size_t n_files;
	struct counter **counters;
	size_t n_buckets, n_counters, max_counters;
	int64_t last_sweep;
	uint64_t verified, verify_failed, key_reloads, key_errors;
};

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

struct rtr_sigcheck *rtr_sigcheck_new(const struct rtr_config *rc, struct err **err)
{
	if (rc->n_sign_dirs == 0 && !rc->sign_required)
		return NULL;
	struct rtr_sigcheck *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		err_set(err, ENOMEM, "subscriptions-sign-check");
		return NULL;
	}
	for (size_t i = 0; i < rc->n_sign_dirs; i++) {
		const struct rtr_sign_dir *d = &rc->sign_dirs[i];
		struct stat st;
		int bad = stat(d->dir, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
		if (bad) {
			err_set(err, bad, "subscriptions-sign-check %s", d->dir);
			rtr_sigcheck_free(s);
			return NULL;
		}
		if ((s->dirs[i].md = sign_digest(d->digest, err)) == NULL) {
			rtr_sigcheck_free(s);
			return NULL;
		}
		snprintf(s->dirs[i].path, sizeof(s->dirs[i].path), "%s", d->dir);
		s->n_dirs++;
	}
	s->required = rc->sign_required;
	s->tolerance = (int64_t)(rc->sign_tolerance_ms / 1000);
	if (s->tolerance < 1)
		s->tolerance = 1;
	s->max_counters = rc->sign_counters;
	s->n_buckets = 1024;
	while (s->n_buckets < s->max_counters && s->n_buckets < (1u << 20))
		s->n_buckets <<= 1;
	s->counters = calloc(s->n_buckets, sizeof(*s->counters));
	if (s->counters == NULL) {
		err_set(err, ENOMEM, "subscriptions-sign-check");
		rtr_sigcheck_free(s);
		return NULL;
	}
	return s;
}

static void files_clear(struct rtr_sigcheck *s)
{
	for (size_t i = 0; i < KEYFILE_BUCKETS; i++) {
		struct keyfile *f = s->files[i];
		while (f != NULL) {
			struct keyfile *next = f->next;
			sign_key_free(f->key);
			free(f->path);
			free(f);
			f = next;
		}
		s->files[i] = NULL;
	}
	s->n_files = 0;
}

void rtr_sigcheck_free(struct rtr_sigcheck *s)
{
	if (s == NULL)
		return;
	files_clear(s);
	for (size_t i = 0; s->counters != NULL && i < s->n_buckets; i++) {
		struct counter *c = s->counters[i];
		while (c != NULL) {
			struct counter *next = c->next;
			free(c);
			c = next;
		}
	}
	free(s->counters);
	free(s);
}

/* ---- key files -------------------------------------------------------- */

/* The file name (without ".pem") for @len bytes of host part at @p. */
static size_t sanitize(const char *p, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
			  c == '_' || c == '-';
		out[i] = ok ? (char)c : '_';
	}
	out[len] = '\0';
	return len;
}

static bool same_file(const struct keyfile *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
	       f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       f->ctime.tv_sec == st->st_ctim.tv_sec && f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* The cached key of @path (stat()ed as @st), loaded or re-loaded when the
 * file is new or changed. NULL when it does not load (logged once per
 * version of the file). */
static const struct sign_key *key_of(struct rtr_sigcheck *s, const char *path,
				     const struct stat *st)
{
	size_t b = hash_bytes(path, strlen(path)) % KEYFILE_BUCKETS;
	struct keyfile *f = s->files[b];
	while (f != NULL && strcmp(f->path, path) != 0)
		f = f->next;
	if (f != NULL && same_file(f, st))
		return f->key;
	if (f == NULL) {
		if (s->n_files >= KEYFILE_MAX)
			files_clear(s);
		f = calloc(1, sizeof(*f));
		if (f == NULL || (f->path = strdup(path)) == NULL) {
			free(f);
			return NULL;
		}
		f->next = s->files[b];
		s->files[b] = f;
		s->n_files++;
	} else {
		s->key_reloads++;
		log_info("subscription server: key file %s changed: reloading", path);
	}
	sign_key_free(f->key);
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->ctime = st->st_ctim;
	struct err *e = NULL;
	f->key = sign_key_load(path, false, &e);
	if (f->key == NULL) {
		s->key_errors++;
		log_error("subscription server: %s; packets for its key are refused until it is "
			  "fixed",
			  err_msg(e));
		err_free(&e);
	}
	return f->key;
}

/*
 * Look for the key file of @name (@len bytes, sanitized) in every directory,
 * in order. Returns 1 with *key (NULL when the file exists but does not
 * load) and *md, or 0 when no directory has one.
 */
static int find_file(struct rtr_sigcheck *s, const char *name, size_t len,
		     const struct sign_key **key, const EVP_MD **md)
{
	for (size_t i = 0; i < s->n_dirs; i++) {
		char path[RTR_PATH_MAX + NAME_MAX_LEN + 8];
		int n = snprintf(path, sizeof(path), "%s/%.*s.pem", s->dirs[i].path, (int)len,
				 name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		struct stat st;
		if (stat(path, &st) < 0)
			continue;
		*key = key_of(s, path, &st);
		*md = s->dirs[i].md;
		return 1;
	}
	return 0;
}

/* The key file that governs @key: its host part's, else (with a port) the
 * bare host's. A trailing dot of the host does not count. */
static int key_file_for(struct rtr_sigcheck *s, const struct subpkt_str *key,
			const struct sign_key **k, const EVP_MD **md)
{
	const char *slash = memchr(key->p, '/', key->len);
	size_t hl = slash ? (size_t)(slash - key->p) : key->len;
	const char *colon = memchr(key->p, ':', hl);
	size_t bare = colon ? (size_t)(colon - key->p) : hl;
	char name[NAME_MAX_LEN];
	if (bare > 1 && key->p[bare - 1] == '.')
		bare--;
	if (colon != NULL) {
		/* "host:port" as written, minus a dot before the colon */
		size_t n = sanitize(key->p, bare, name);
		n += sanitize(colon, hl - (size_t)(colon - key->p), name + n);
		if (find_file(s, name, n, k, md))
			return 1;
	}
	return find_file(s, name, sanitize(key->p, bare, name), k, md);
}

/* ---- replay counters -------------------------------------------------- */

/* "key\naddress" with the key's host part lower-cased, as the table does. */
static size_t counter_id(const struct subpkt *p, char *out)
{
	const char *slash = memchr(p->key.p, '/', p->key.len);
	size_t hl = slash ? (size_t)(slash - p->key.p) : p->key.len;
	for (size_t i = 0; i < p->key.len; i++) {
		char c = p->key.p[i];
		out[i] = i < hl && c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
	}
	out[p->key.len] = '\n';
	memcpy(out + p->key.len + 1, p->address.p, p->address.len);
	return p->key.len + 1 + p->address.len;
}

static struct counter **counter_slot(struct rtr_sigcheck *s, const char *id, size_t len,
				     uint64_t h)
{
	struct counter **pp = &s->counters[h & (s->n_buckets - 1)];
	while (*pp != NULL &&
	       ((*pp)->hash != h || (*pp)->len != len || memcmp((*pp)->id, id, len) != 0))
		pp = &(*pp)->next;
	return pp;
}

void rtr_sigcheck_sweep(struct rtr_sigcheck *s, int64_t now)
{
	if (s == NULL)
		return;
	s->last_sweep = now;
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct counter **pp = &s->counters[i];
		while (*pp != NULL) {
			struct counter *c = *pp;
			if (c->last < now - s->tolerance) {
				*pp = c->next;
				free(c);
				s->n_counters--;
			} else {
				pp = &c->next;
			}
		}
	}
}

/* ---- the check -------------------------------------------------------- */

static enum rtr_sig drop(enum rtr_drop *out, enum rtr_drop d, const char **why, const char *w)
{
	*out = d;
	*why = w;
	return RTR_SIG_DROP;
}

enum rtr_sig rtr_sigcheck(struct rtr_sigcheck *s, const struct subpkt *p, const void *dgram,
			  int64_t now, enum rtr_drop *d, const char **why)
{
	const struct sign_key *key = NULL;
	const EVP_MD *md = NULL;
	bool signed_pkt = p->sign.len > 0 && p->has_unix;
	if (!key_file_for(s, &p->key, &key, &md)) {
		if (!s->required)
			return RTR_SIG_NONE;
		if (!signed_pkt)
			return drop(d, RTR_DROP_UNSIGNED, why, "unsigned (signatures are required)");
		return drop(d, RTR_DROP_NO_KEY_FILE, why, "no key file for this key");
	}
	if (!signed_pkt)
		return drop(d, RTR_DROP_UNSIGNED, why, "unsigned, and the key has a key file");
	if (key == NULL)
		return drop(d, RTR_DROP_BAD_SIGNATURE, why, "the key's key file does not load");
	if (now - s->last_sweep >= s->tolerance)
		rtr_sigcheck_sweep(s, now);
	int64_t t = p->unix_time > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)p->unix_time;
	if (t < now - s->tolerance)
		return drop(d, RTR_DROP_CLOCK_SKEW, why, "unix too old");
	if (t > now + s->tolerance)
		return drop(d, RTR_DROP_CLOCK_SKEW, why, "unix in the future");
	char id[SUBPKT_KEY_MAX + 1 + SUBPKT_ADDR_MAX + 1];
	size_t idlen = counter_id(p, id);
	uint64_t h = hash_bytes(id, idlen);
	struct counter **slot = counter_slot(s, id, idlen, h);
	if (*slot != NULL && t <= (*slot)->last)
		return drop(d, RTR_DROP_REPLAY, why,
			    p->unsubscribe ? "unsubscribe replayed (unix not above the last)"
					   : "replayed (unix not above the last)");
	if (*slot == NULL && s->n_counters >= s->max_counters) {
		rtr_sigcheck_sweep(s, now);
		slot = counter_slot(s, id, idlen, h);
		if (s->n_counters >= s->max_counters)
			return drop(d, RTR_DROP_COUNTERS_FULL, why, "replay counters full");
	}
	if (sign_verify(key, md, (const char *)dgram + 4, p->signed_len, p->sign.p, p->sign.len) !=
	    1) {
		s->verify_failed++;
		return drop(d, RTR_DROP_BAD_SIGNATURE, why, "signature does not verify");
	}
	s->verified++;
	if (*slot == NULL) {
		struct counter *c = malloc(sizeof(*c) + idlen);
		if (c == NULL)
			return drop(d, RTR_DROP_COUNTERS_FULL, why, "out of memory for counters");
		c->next = NULL;
		c->hash = h;
		c->len = idlen;
		memcpy(c->id, id, idlen);
		*slot = c;
		s->n_counters++;
	}
	(*slot)->last = t;
	return RTR_SIG_OK;
}

void rtr_sigcheck_json(const struct rtr_sigcheck *s, struct json *j)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	json_obj_begin(j);
	json_key(j, "required"), json_bool(j, s->required);
	json_key(j, "tolerance"), json_int(j, s->tolerance);
	json_key(j, "dirs"), json_uint(j, s->n_dirs);
	json_key(j, "key_files"), json_uint(j, s->n_files);
	json_key(j, "key_reloads"), json_uint(j, s->key_reloads);
	json_key(j, "key_errors"), json_uint(j, s->key_errors);
	json_key(j, "counters"), json_uint(j, s->n_counters);
	json_key(j, "verified"), json_uint(j, s->verified);
	json_key(j, "verify_failed"), json_uint(j, s->verify_failed);
	json_obj_end(j);
}
