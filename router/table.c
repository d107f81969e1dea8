/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The router's node table (see table.h): a chained hash table of pools keyed
 * by the normalised subscription key (FNV-1a, power-of-two buckets sized from
 * max_keys), each pool a list of nodes in insertion order. Subscriptions
 * create, refresh and remove nodes within the configured capacity; lookups
 * compose mountpoint keys on the stack and allocate nothing; picks choose a
 * live node of the lowest backup level by the pool's algorithm. Nodes still
 * referenced by connections outlive their removal until the last unref.
 */
#include "router/table.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEF_MAX_KEYS 10000
#define DEF_MAX_NODES 100000
#define DEF_MAX_KEY_NODES 256
#define DEF_TOLERANCE 17.0
#define DEF_RETRY 5.0
#define MIN_BUCKETS 16
#define MAX_BUCKETS ((size_t)1 << 20) /* past a million keys, chains grow */
/* wrr sums weights in int64: cap each one so the sum cannot overflow. */
#define WRR_WEIGHT_MAX ((uint64_t)1 << 31)
/* Each path segment adds at least "/x" to a key, so no more fit than this. */
#define MAX_SEGMENTS (SUBPKT_KEY_MAX / 2 + 1)

struct rtr_table {
	struct rtr_table_limits lim;
	struct rtr_pool **buckets;
	size_t mask;	/* buckets - 1 */
	size_t n_keys;	/* pools */
	size_t n_nodes; /* nodes linked in pools */
};

/* ---- names ------------------------------------------------------------ */

static const char *const algo_names[RTR_ALGO__COUNT] = {
    [RTR_ALGO_WRR] = "wrr",
    [RTR_ALGO_LRC] = "lrc",
    [RTR_ALGO_WLRC] = "wlrc",
    [RTR_ALGO_IPHASH] = "iphash",
};

int rtr_algo_parse(const char *p, size_t n, enum rtr_algo *out)
{
	if (n == 0) {
		*out = RTR_ALGO_WRR;
		return 0;
	}
	for (size_t i = 0; i < RTR_ALGO__COUNT; i++) {
		if (strlen(algo_names[i]) == n && strncasecmp(p, algo_names[i], n) == 0) {
			*out = (enum rtr_algo)i;
			return 0;
		}
	}
	return -1;
}

const char *rtr_algo_name(enum rtr_algo a)
{
	if ((unsigned)a >= RTR_ALGO__COUNT)
		return "unknown";
	return algo_names[a];
}

const char *rtr_sub_result_name(enum rtr_sub_result r)
{
	static const char *const names[] = {
	    [RTR_SUB_CREATED] = "created",
	    [RTR_SUB_REFRESHED] = "refreshed",
	    [RTR_SUB_REMOVED] = "removed",
	    [RTR_SUB_NOT_FOUND] = "not_found",
	    [RTR_SUB_BAD_ADDRESS] = "bad_address",
	    [RTR_SUB_BAD_ALGO] = "bad_algo",
	    [RTR_SUB_FULL_KEYS] = "full_keys",
	    [RTR_SUB_FULL_NODES] = "full_nodes",
	    [RTR_SUB_FULL_KEY_NODES] = "full_key_nodes",
	};
	if ((unsigned)r >= sizeof(names) / sizeof(names[0]) || names[r] == NULL)
		return "unknown";
	return names[r];
}

/* ---- keys ------------------------------------------------------------- */

static uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ASCII only: keys are bytes, not locale text. */
static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Lower-case the host part (before the first '/') of @key in place. */
static void normalise(char *key, size_t n)
{
	for (size_t i = 0; i < n && key[i] != '/'; i++)
		key[i] = lower(key[i]);
}

/* Copy @key into @out (SUBPKT_KEY_MAX + 1 bytes) normalised; false when it
 * is empty or too long to be a key. */
static bool key_copy(char *out, const char *key, size_t n)
{
	if (n == 0 || n > SUBPKT_KEY_MAX)
		return false;
	memcpy(out, key, n);
	out[n] = '\0';
	normalise(out, n);
	return true;
}

static size_t bucket_of(const struct rtr_table *t, const char *key, size_t n)
{
	return (size_t)fnv1a(key, n) & t->mask;
}

/* The pool of an already normalised key. */
static struct rtr_pool *find_norm(const struct rtr_table *t, const char *key, size_t n)
{
	for (struct rtr_pool *p = t->buckets[bucket_of(t, key, n)]; p != NULL; p = p->hnext)
		if (p->keylen == n && memcmp(p->key, key, n) == 0)
			return p;
	return NULL;
}

/* ---- table ------------------------------------------------------------ */

static size_t bucket_count(size_t max_keys)
{
	size_t n = MIN_BUCKETS;

	while (n < max_keys && n < MAX_BUCKETS)
		n <<= 1;
	return n;
}

struct rtr_table *rtr_table_new(const struct rtr_table_limits *l)
{
	struct rtr_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	if (l != NULL)
		t->lim = *l;
	if (t->lim.max_keys == 0)
		t->lim.max_keys = DEF_MAX_KEYS;
	if (t->lim.max_nodes == 0)
		t->lim.max_nodes = DEF_MAX_NODES;
	if (t->lim.max_nodes_per_key == 0)
		t->lim.max_nodes_per_key = DEF_MAX_KEY_NODES;
	if (!(t->lim.tolerance > 0))
		t->lim.tolerance = DEF_TOLERANCE;
	if (!(t->lim.retry > 0))
		t->lim.retry = DEF_RETRY;
	size_t n = bucket_count(t->lim.max_keys);
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (t->buckets == NULL) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	return t;
}

static void pool_sni_free(struct rtr_pool *p)
{
	free(p->sni_crt);
	free(p->sni_key);
	free(p->sni_ca);
	p->sni_crt = p->sni_key = p->sni_ca = NULL;
}

void rtr_table_free(struct rtr_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct rtr_pool *p = t->buckets[i];
		while (p != NULL) {
			struct rtr_pool *pnext = p->hnext;
			struct rtr_node *n = p->nodes;
			while (n != NULL) {
				struct rtr_node *nnext = n->next;
				free(n);
				n = nnext;
			}
			pool_sni_free(p);
			free(p);
			p = pnext;
		}
	}
	free(t->buckets);
	free(t);
}

size_t rtr_table_keys(const struct rtr_table *t)
{
	return t->n_keys;
}

size_t rtr_table_nodes(const struct rtr_table *t)
{
	return t->n_nodes;
}

struct rtr_pool *rtr_table_find(struct rtr_table *t, const char *key, size_t keylen)
{
	char k[SUBPKT_KEY_MAX + 1];

	if (!key_copy(k, key, keylen))
		return NULL;
	return find_norm(t, k, keylen);
}

struct rtr_pool *rtr_table_next(struct rtr_table *t, struct rtr_pool *prev)
{
	size_t i = 0;

	if (prev != NULL) {
		if (prev->hnext != NULL)
			return prev->hnext;
		i = bucket_of(t, prev->key, prev->keylen) + 1;
	}
	for (; i <= t->mask; i++)
		if (t->buckets[i] != NULL)
			return t->buckets[i];
	return NULL;
}

/* ---- removal ---------------------------------------------------------- */

static void pool_unhash(struct rtr_table *t, struct rtr_pool *p)
{
	struct rtr_pool **pp = &t->buckets[bucket_of(t, p->key, p->keylen)];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	t->n_keys--;
	pool_sni_free(p);
	free(p);
}

static char *dup_path(const struct subpkt_str *s)
{
	if (s->len == 0 || s->len >= RTR_SNI_PATH_MAX || memchr(s->p, '\0', s->len) != NULL)
		return NULL;
	return strndup(s->p, s->len);
}

static bool same_str(const char *a, const struct subpkt_str *s)
{
	if (a == NULL)
		return s->len == 0;
	return strlen(a) == s->len && memcmp(a, s->p, s->len) == 0;
}

int rtr_pool_set_sni(struct rtr_pool *p, const struct subpkt *pkt)
{
	if (pkt->sni_crt.len == 0 || pkt->sni_key.len == 0)
		return 0;
	if (same_str(p->sni_crt, &pkt->sni_crt) && same_str(p->sni_key, &pkt->sni_key) &&
	    same_str(p->sni_ca, &pkt->sni_ca))
		return 0;
	char *crt = dup_path(&pkt->sni_crt), *key = dup_path(&pkt->sni_key);
	char *ca = pkt->sni_ca.len ? dup_path(&pkt->sni_ca) : NULL;
	if (crt == NULL || key == NULL || (pkt->sni_ca.len && ca == NULL)) {
		free(crt);
		free(key);
		free(ca);
		return -1;
	}
	pool_sni_free(p);
	p->sni_crt = crt;
	p->sni_key = key;
	p->sni_ca = ca;
	p->sni_gen++;
	return 1;
}

/*
 * Unlink @n (found at *@link in its pool's list) and free it unless a
 * connection still holds it. Frees the pool when it was its last node.
 * Returns true when the pool was freed too.
 */
static bool node_unlink(struct rtr_table *t, struct rtr_node **link, struct rtr_node *n)
{
	struct rtr_pool *p = n->pool;

	*link = n->next;
	n->next = NULL;
	n->pool = NULL;
	p->n_nodes--;
	t->n_nodes--;
	if (n->refs == 0)
		free(n);
	if (p->nodes != NULL)
		return false;
	pool_unhash(t, p);
	return true;
}

void rtr_node_ref(struct rtr_node *n)
{
	n->refs++;
}

void rtr_node_unref(struct rtr_node *n)
{
	if (n->refs > 0)
		n->refs--;
	if (n->refs == 0 && n->pool == NULL)
		free(n);
}

/* Does the stored vassal name equal @name as it was stored (truncated)? */
static bool vassal_is(const struct rtr_node *n, const char *name, size_t len)
{
	return strlen(n->vassal) == len && memcmp(n->vassal, name, len) == 0;
}

/*
 * Remove every node for which @match says so, calling @gone first. The
 * chains are walked through pointers-to-links so unlinking (and freeing an
 * emptied pool) never loses the walk.
 */
static size_t remove_where(struct rtr_table *t, bool (*match)(const struct rtr_node *, void *),
			   void *mctx, void (*gone)(void *ctx, const struct rtr_node *n), void *ctx)
{
	size_t removed = 0;

	for (size_t i = 0; i <= t->mask; i++) {
		struct rtr_pool **pp = &t->buckets[i];
		while (*pp != NULL) {
			struct rtr_pool *p = *pp;
			bool pool_gone = false;
			struct rtr_node **link = &p->nodes;
			while (!pool_gone && *link != NULL) {
				struct rtr_node *n = *link;
				if (!match(n, mctx)) {
					link = &n->next;
					continue;
				}
				if (gone != NULL)
					gone(ctx, n);
				pool_gone = node_unlink(t, link, n);
				removed++;
			}
			/* a freed pool was replaced in *pp by its successor */
			if (!pool_gone)
				pp = &p->hnext;
		}
	}
	return removed;
}

struct expire_ctx {
	double now, tolerance;
};

static bool is_expired(const struct rtr_node *n, void *c)
{
	const struct expire_ctx *e = c;
	return n->last_seen + e->tolerance < e->now;
}

size_t rtr_table_expire(struct rtr_table *t, double now,
			void (*gone)(void *ctx, const struct rtr_node *n), void *ctx)
{
	struct expire_ctx e = {now, t->lim.tolerance};
	return remove_where(t, is_expired, &e, gone, ctx);
}

struct vassal_ctx {
	const char *name;
	size_t len;
};

static bool is_vassals(const struct rtr_node *n, void *c)
{
	const struct vassal_ctx *v = c;
	return vassal_is(n, v->name, v->len);
}

size_t rtr_table_remove_vassal(struct rtr_table *t, const char *vassal)
{
	if (vassal == NULL || vassal[0] == '\0')
		return 0; /* "" marks nodes no vassal owns: never a match */
	struct vassal_ctx v = {vassal, strnlen(vassal, RTR_VASSAL_MAX)};
	return remove_where(t, is_vassals, &v, NULL, NULL);
}

struct keep_ctx {
	struct vassal_ctx v;
	const char *const *keys;
	size_t n_keys;
};

static bool is_vassals_other_key(const struct rtr_node *n, void *c)
{
	const struct keep_ctx *k = c;
	if (!vassal_is(n, k->v.name, k->v.len) || n->pool == NULL)
		return false;
	for (size_t i = 0; i < k->n_keys; i++)
		if (strcasecmp(n->pool->key, k->keys[i]) == 0)
			return false;
	return true;
}

size_t rtr_table_remove_vassal_except(struct rtr_table *t, const char *vassal,
				      const char *const *keys, size_t n_keys)
{
	if (vassal == NULL || vassal[0] == '\0')
		return 0;
	struct keep_ctx k = {{vassal, strnlen(vassal, RTR_VASSAL_MAX)}, keys, n_keys};
	return remove_where(t, is_vassals_other_key, &k, NULL, NULL);
}

/* ---- subscriptions ---------------------------------------------------- */

/* The node of @p whose announced address is exactly @a; *@link_out gets
 * the link pointing at it. */
static struct rtr_node *find_node(struct rtr_pool *p, const struct subpkt_str *a,
				  struct rtr_node ***link_out)
{
	for (struct rtr_node **link = &p->nodes; *link != NULL; link = &(*link)->next) {
		struct rtr_node *n = *link;
		if (strlen(n->addr.text) == a->len && memcmp(n->addr.text, a->p, a->len) == 0) {
			if (link_out != NULL)
				*link_out = link;
			return n;
		}
	}
	return NULL;
}

/* Parse the announced address into @out: a connectable socket address,
 * never an inherited descriptor. */
static bool parse_address(const struct subpkt_str *s, struct addr *out)
{
	char text[SUBPKT_ADDR_MAX + 1];

	if (s->len == 0 || s->len > SUBPKT_ADDR_MAX || memchr(s->p, '\0', s->len) != NULL)
		return false;
	memcpy(text, s->p, s->len);
	text[s->len] = '\0';
	if (addr_parse(text, out, NULL) < 0)
		return false;
	return out->fd < 0;
}

/* Copy @s into @dst (@size bytes, NUL-terminated), cut to fit. */
static void copy_cut(char *dst, size_t size, const char *s, size_t len)
{
	if (len >= size)
		len = size - 1;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
}

/* The fields a refresh updates (and a creation sets). */
static void node_refresh(struct rtr_node *n, const struct subpkt *p, double now)
{
	n->weight = p->weight == 0 ? 1 : p->weight;
	n->backup = p->backup;
	n->proto =
	    p->proto.len > 0 && lower(p->proto.p[0]) == 'h' ? RTR_PROTO_HTTP : RTR_PROTO_UWSGI;
	n->cores = p->cores;
	n->load = p->load;
	n->last_seen = now;
	n->last_seen_wall = (int64_t)time(NULL);
	n->dead_until = 0;
	n->inactive = p->inactive;
}

static struct rtr_node *node_new(const struct subpkt *p, const struct addr *a, const char *vassal,
				 double now)
{
	struct rtr_node *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->addr = *a;
	n->modifier1 = p->modifier1;
	n->modifier2 = p->modifier2;
	/* a notify path that does not fit is dropped, not cut: a cut path
	 * would name another socket */
	if (p->notify.len > 0 && p->notify.len < sizeof(n->notify) &&
	    memchr(p->notify.p, '\0', p->notify.len) == NULL)
		copy_cut(n->notify, sizeof(n->notify), p->notify.p, p->notify.len);
	if (vassal != NULL)
		copy_cut(n->vassal, sizeof(n->vassal), vassal, strnlen(vassal, RTR_VASSAL_MAX));
	else
		copy_cut(n->vassal, sizeof(n->vassal), p->vassal.p, p->vassal.len);
	n->created = now;
	node_refresh(n, p, now);
	return n;
}

/* Append @n to @pool's list (insertion order matters to iphash and ties). */
static void node_link(struct rtr_table *t, struct rtr_pool *pool, struct rtr_node *n)
{
	struct rtr_node **link = &pool->nodes;

	while (*link != NULL)
		link = &(*link)->next;
	*link = n;
	n->pool = pool;
	pool->n_nodes++;
	t->n_nodes++;
}

static struct rtr_pool *pool_new(struct rtr_table *t, const char *key, size_t n, enum rtr_algo algo)
{
	struct rtr_pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	memcpy(p->key, key, n);
	p->key[n] = '\0';
	p->keylen = n;
	p->algo = algo;
	size_t b = bucket_of(t, key, n);
	p->hnext = t->buckets[b];
	t->buckets[b] = p;
	t->n_keys++;
	return p;
}

/* A subscribe for a node not in the table yet (@pool NULL: nor its key). */
static enum rtr_sub_result subscribe_new(struct rtr_table *t, struct rtr_pool *pool,
					 const char *key, size_t keylen, const struct subpkt *p,
					 const char *vassal, double now, struct rtr_node **out)
{
	enum rtr_algo algo = RTR_ALGO_WRR;
	struct addr a;

	if (pool == NULL && rtr_algo_parse(p->algo.p, p->algo.len, &algo) < 0)
		return RTR_SUB_BAD_ALGO;
	if (!parse_address(&p->address, &a))
		return RTR_SUB_BAD_ADDRESS;
	if (pool == NULL && t->n_keys >= t->lim.max_keys)
		return RTR_SUB_FULL_KEYS;
	if (t->n_nodes >= t->lim.max_nodes)
		return RTR_SUB_FULL_NODES;
	if (pool != NULL && pool->n_nodes >= t->lim.max_nodes_per_key)
		return RTR_SUB_FULL_KEY_NODES;

	struct rtr_node *n = node_new(p, &a, vassal, now);
	if (n == NULL)
		return RTR_SUB_FULL_NODES; /* out of memory: a refusal like any other */
	if (pool == NULL)
		pool = pool_new(t, key, keylen, algo);
	if (pool == NULL) {
		free(n);
		return RTR_SUB_FULL_KEYS;
	}
	node_link(t, pool, n);
	*out = n;
	return RTR_SUB_CREATED;
}

enum rtr_sub_result rtr_table_apply(struct rtr_table *t, const struct subpkt *p, const char *vassal,
				    double now, struct rtr_node **node_out)
{
	char key[SUBPKT_KEY_MAX + 1];
	struct rtr_node *dummy = NULL;
	struct rtr_node **out = node_out != NULL ? node_out : &dummy;

	*out = NULL;
	if (!key_copy(key, p->key.p, p->key.len))
		/* subpkt_parse never lets such a key through; no pool can hold it */
		return p->unsubscribe ? RTR_SUB_NOT_FOUND : RTR_SUB_FULL_KEYS;
	size_t keylen = p->key.len;
	struct rtr_pool *pool = find_norm(t, key, keylen);
	struct rtr_node **link = NULL;
	struct rtr_node *n = pool != NULL ? find_node(pool, &p->address, &link) : NULL;

	if (p->unsubscribe) {
		if (n == NULL)
			return RTR_SUB_NOT_FOUND;
		node_unlink(t, link, n);
		return RTR_SUB_REMOVED;
	}
	if (n != NULL) {
		node_refresh(n, p, now);
		*out = n;
		return RTR_SUB_REFRESHED;
	}
	return subscribe_new(t, pool, key, keylen, p, vassal, now, out);
}

/* ---- lookup ----------------------------------------------------------- */

struct rtr_pool *rtr_table_lookup(struct rtr_table *t, const char *host, size_t hostlen,
				  const char *path, size_t pathlen, unsigned mountpoints)
{
	char k[SUBPKT_KEY_MAX + 1];
	size_t ends[MAX_SEGMENTS]; /* key length after each segment */
	size_t nseg = 0;

	if (hostlen == 0 || hostlen > SUBPKT_KEY_MAX)
		return NULL;
	memcpy(k, host, hostlen);
	size_t len = hostlen;
	if (path == NULL)
		pathlen = 0;
	const char *q = pathlen > 0 ? memchr(path, '?', pathlen) : NULL;
	if (q != NULL)
		pathlen = (size_t)(q - path);

	for (size_t i = 0; i < pathlen && nseg < mountpoints && nseg < MAX_SEGMENTS;) {
		if (path[i] == '/') {
			i++;
			continue;
		}
		const char *slash = memchr(path + i, '/', pathlen - i);
		size_t seg = slash != NULL ? (size_t)(slash - path) - i : pathlen - i;
		if (len + 1 + seg > SUBPKT_KEY_MAX)
			break; /* this and every longer candidate is too long */
		k[len] = '/';
		memcpy(k + len + 1, path + i, seg);
		len += 1 + seg;
		ends[nseg++] = len;
		i += seg;
	}
	/* the whole Host is the host part, whatever bytes it holds */
	for (size_t i = 0; i < hostlen; i++)
		k[i] = lower(k[i]);

	while (nseg > 0) {
		struct rtr_pool *p = find_norm(t, k, ends[--nseg]);
		if (p != NULL)
			return p;
	}
	return find_norm(t, k, hostlen);
}

/* ---- picking ---------------------------------------------------------- */

/* Who may be picked: live, not excluded, at the lowest backup level. */
struct pick {
	double now;
	const struct rtr_node *exclude;
	uint64_t level;
	size_t count; /* candidates at that level */
};

static bool is_live(const struct rtr_node *n, const struct pick *k)
{
	return n != k->exclude && n->dead_until <= k->now && !n->inactive;
}

static bool is_candidate(const struct rtr_node *n, const struct pick *k)
{
	return is_live(n, k) && n->backup == k->level;
}

/* Fill k->level and k->count; count 0 when no node is live. */
static void candidate_level(const struct rtr_pool *p, struct pick *k)
{
	k->count = 0;
	for (const struct rtr_node *n = p->nodes; n != NULL; n = n->next) {
		if (!is_live(n, k))
			continue;
		if (k->count == 0 || n->backup < k->level) {
			k->level = n->backup;
			k->count = 1;
		} else if (n->backup == k->level) {
			k->count++;
		}
	}
}

/* nginx's smooth weighted round robin: exact proportions, evenly spread. */
static struct rtr_node *pick_wrr(struct rtr_pool *p, const struct pick *k)
{
	struct rtr_node *best = NULL;
	int64_t total = 0;

	for (struct rtr_node *n = p->nodes; n != NULL; n = n->next) {
		if (!is_candidate(n, k))
			continue;
		int64_t w = (int64_t)(n->weight < WRR_WEIGHT_MAX ? n->weight : WRR_WEIGHT_MAX);
		n->wrr_current += w;
		total += w;
		if (best == NULL || n->wrr_current > best->wrr_current)
			best = n;
	}
	best->wrr_current -= total;
	return best;
}

/* Is @a strictly less loaded than @b? By inflight, or inflight/weight
 * compared by cross-multiplication (no division, no overflow). */
static bool less_loaded(const struct rtr_node *a, const struct rtr_node *b, bool weighted)
{
	if (!weighted)
		return a->inflight < b->inflight;
	return (unsigned __int128)a->inflight * b->weight <
	       (unsigned __int128)b->inflight * a->weight;
}

/*
 * Least inflight (per weight when @weighted). Ties go to the first in a
 * rotation starting at candidate pool->rr % count, so equal nodes share.
 */
static struct rtr_node *pick_least(struct rtr_pool *p, const struct pick *k, bool weighted)
{
	size_t start = (size_t)(p->rr++ % k->count);
	struct rtr_node *best = NULL;
	size_t best_pos = 0, i = 0;

	for (struct rtr_node *n = p->nodes; n != NULL; n = n->next) {
		if (!is_candidate(n, k))
			continue;
		size_t pos = (i++ + k->count - start) % k->count;
		if (best == NULL || less_loaded(n, best, weighted) ||
		    (!less_loaded(best, n, weighted) && pos < best_pos)) {
			best = n;
			best_pos = pos;
		}
	}
	return best;
}

/* The client's address as a number: IPv4 (also when mapped in IPv6) as a
 * host-order u32, other IPv6 hashed; anything else 0. */
static uint64_t client_hash(const struct sockaddr *client)
{
	if (client == NULL)
		return 0;
	if (client->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)client;
		return ntohl(sin->sin_addr.s_addr);
	}
	if (client->sa_family != AF_INET6)
		return 0;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)client;
	const uint8_t *b = sin6->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		/* a dual-stack listener sees IPv4 clients so: keep their hash */
		return (uint64_t)b[12] << 24 | (uint64_t)b[13] << 16 | (uint64_t)b[14] << 8 | b[15];
	return fnv1a(b, 16);
}

static struct rtr_node *pick_iphash(struct rtr_pool *p, const struct pick *k,
				    const struct sockaddr *client)
{
	uint64_t i = client_hash(client) % k->count;

	for (struct rtr_node *n = p->nodes; n != NULL; n = n->next)
		if (is_candidate(n, k) && i-- == 0)
			return n;
	return NULL; /* not reached: k->count candidates exist */
}

struct rtr_node *rtr_pool_pick(struct rtr_pool *p, double now, const struct sockaddr *client,
			       const struct rtr_node *exclude)
{
	struct pick k = {.now = now, .exclude = exclude};
	struct rtr_node *n = NULL;

	candidate_level(p, &k);
	if (k.count == 0)
		return NULL;
	switch (p->algo) {
	case RTR_ALGO_LRC:
		n = pick_least(p, &k, false);
		break;
	case RTR_ALGO_WLRC:
		n = pick_least(p, &k, true);
		break;
	case RTR_ALGO_IPHASH:
		n = pick_iphash(p, &k, client);
		break;
	case RTR_ALGO_WRR:
	default:
		n = pick_wrr(p, &k);
		break;
	}
	if (n != NULL)
		p->hits++;
	return n;
}

void rtr_node_failed(struct rtr_table *t, struct rtr_node *n, double now)
{
	n->dead_until = now + t->lim.retry;
	n->failcnt++;
	n->failures++;
}
