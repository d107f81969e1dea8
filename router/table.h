/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node table (inside router/): key -> pool of nodes. A pool is created by
 * its first subscriber (which also fixes its algorithm) and removed with its
 * last node. Keys are compared case-insensitively in their host part (before
 * the first '/'); the path part of a mountpoint key is case-sensitive.
 *
 * Nodes leave by themselves: a node not refreshed within the tolerance is
 * swept by rtr_table_expire(); a node whose connection failed is out of
 * rotation until `retry` seconds later; an unsubscribe removes it at once.
 * A node still referenced by a connection (rtr_node_ref) stays allocated,
 * unlinked, until the last rtr_node_unref.
 *
 * Capacity is fixed by configuration (total keys, total nodes, nodes per key);
 * going past it is a refusal the caller counts. Nothing here does I/O; time
 * is passed in (seconds, monotonic), so every behaviour is unit-testable.
 */
#ifndef ROUTER_TABLE_H
#define ROUTER_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/subpkt.h"

#define RTR_VASSAL_MAX 64
#define RTR_SNI_PATH_MAX 1024

enum rtr_algo { RTR_ALGO_WRR, RTR_ALGO_LRC, RTR_ALGO_WLRC, RTR_ALGO_IPHASH, RTR_ALGO__COUNT };
enum rtr_proto { RTR_PROTO_UWSGI, RTR_PROTO_HTTP };

/* rtr_algo_parse - "wrr", "lrc", "wlrc", "iphash" (case-insensitive); empty
 * gives wrr. Returns 0 or -1 for an unknown name. */
int rtr_algo_parse(const char *p, size_t n, enum rtr_algo *out);
const char *rtr_algo_name(enum rtr_algo a);

struct rtr_pool;

struct rtr_node {
	struct rtr_pool *pool;       /* NULL once removed from its pool */
	struct rtr_node *next;       /* in the pool, insertion order */
	struct addr addr;            /* where to connect; addr.text as announced */
	uint8_t modifier1, modifier2;/* fixed at creation */
	enum rtr_proto proto;
	uint64_t weight;             /* >= 1 (0 is stored as 1) */
	uint64_t backup;             /* level; 0 serves first */
	uint64_t cores, load;
	char notify[108];            /* ack path, fixed at creation; "" = none */
	char vassal[RTR_VASSAL_MAX + 1]; /* local vassal that subscribed it, or the `vassal` var; "" */
	double created, last_seen;   /* monotonic seconds */
	double dead_until;           /* out of rotation before this (failed connect) */
	int64_t last_seen_wall;      /* unix time, for stats */
	/* counters for stats */
	uint64_t requests, failures, tx, rx, failcnt;
	uint64_t inflight;           /* requests in progress (lrc/wlrc) */
	int64_t wrr_current;         /* smooth weighted round robin state */
	unsigned refs;               /* connections holding it */
	bool inactive;               /* announced `inactive`: kept, never picked,
				      * until a refresh without it */
	void *idle;                  /* owned by the proxy: idle keep-alive
				      * connections to this node (each holds a ref) */
	unsigned n_idle;
};

struct rtr_pool {
	struct rtr_pool *hnext;      /* hash chain */
	char key[SUBPKT_KEY_MAX + 1];/* normalised: host part lower-cased */
	size_t keylen;
	enum rtr_algo algo;
	struct rtr_node *nodes;
	size_t n_nodes;
	uint64_t hits;               /* picks that returned a node */
	uint64_t rr;                 /* rotation for lrc/wlrc ties */
	/* TLS for this key from a trusted (signed or local) subscription's
	 * `sni_crt`/`sni_key`/`sni_ca` paths, owned; NULL when none. */
	char *sni_crt, *sni_key, *sni_ca;
	uint64_t sni_gen;            /* bumped when they change */
};

struct rtr_table_limits {
	size_t max_keys;             /* default 10000 */
	size_t max_nodes;            /* total, default 100000 */
	size_t max_nodes_per_key;    /* default 256 */
	double tolerance;            /* seconds without refresh before a node dies, default 17 */
	double retry;                /* seconds a failed node stays out of rotation, default 5 */
};

/* What a subscribe or unsubscribe did. */
enum rtr_sub_result {
	RTR_SUB_CREATED,             /* a new node (maybe a new pool) */
	RTR_SUB_REFRESHED,           /* an existing node: weight, backup, proto,
				      * cores, load, last_seen updated; a failed
				      * node is back in rotation */
	RTR_SUB_REMOVED,             /* unsubscribe removed the node */
	RTR_SUB_NOT_FOUND,           /* unsubscribe for a node we do not have */
	RTR_SUB_BAD_ADDRESS,         /* `address` does not parse as an address */
	RTR_SUB_BAD_ALGO,            /* unknown `algo` on the pool's creation */
	RTR_SUB_FULL_KEYS,           /* refusals at capacity */
	RTR_SUB_FULL_NODES,
	RTR_SUB_FULL_KEY_NODES,
};

const char *rtr_sub_result_name(enum rtr_sub_result r);

struct rtr_table;

/* rtr_table_new - NULL on ENOMEM. Zero limits take their defaults. */
struct rtr_table *rtr_table_new(const struct rtr_table_limits *l);
/* rtr_table_free - frees every pool and every node still in a pool,
 * referenced or not: drop connections' refs first, or never unref after.
 * A node already removed but still referenced is freed by its last unref. */
void rtr_table_free(struct rtr_table *t);

/*
 * rtr_table_apply - apply a parsed subscription packet at time @now.
 * @vassal: the local vassal the packet came from (its name), or NULL; stored
 *          in the node (else the packet's `vassal` var is stored).
 * @node_out: when not NULL, set to the node created/refreshed (NULL otherwise).
 * The key is normalised; a key with an uppercase host part finds the same pool.
 * A node is identified by its exact `address` text within the pool. Checks
 * run in this order: algo (new pool only), address (new node only; fd://N is
 * refused), then keys, nodes, nodes per key. @p is expected from
 * subpkt_parse; a key outside 1..SUBPKT_KEY_MAX bytes is refused as
 * RTR_SUB_FULL_KEYS (NOT_FOUND for an unsubscribe), and an allocation
 * failure as RTR_SUB_FULL_NODES (or FULL_KEYS for a new pool).
 */
enum rtr_sub_result rtr_table_apply(struct rtr_table *t, const struct subpkt *p,
				    const char *vassal, double now, struct rtr_node **node_out);

/* rtr_table_find - the pool of exactly this key (normalised), or NULL. */
struct rtr_pool *rtr_table_find(struct rtr_table *t, const char *key, size_t keylen);

/*
 * rtr_table_lookup - the pool serving a request for Host @host (as sent,
 * maybe with :port; lower-cased whole) and @path (the request path, query
 * allowed and ignored; may be NULL). With @mountpoints N > 0: try host + the
 * first N non-empty path segments joined by '/', then each shorter prefix,
 * then the bare host; a candidate longer than SUBPKT_KEY_MAX is skipped.
 * Allocates nothing. NULL when none matches.
 */
struct rtr_pool *rtr_table_lookup(struct rtr_table *t, const char *host, size_t hostlen,
				  const char *path, size_t pathlen, unsigned mountpoints);

/*
 * rtr_pool_pick - choose a live node: among nodes not dead (dead_until <=
 * now) and not inactive, only those of the lowest backup level present; then by the pool's
 * algorithm: wrr (smooth weighted round robin: exact weights), lrc (fewest
 * inflight, ties rotate), wlrc (fewest inflight/weight, ties rotate), iphash
 * (@client IPv4 address as a number, or a hash of the IPv6 bytes, modulo the
 * number of candidates, counted in insertion order; an IPv4-mapped IPv6
 * address counts as IPv4; @client NULL or another family hashes as 0).
 * @exclude: a node not to pick (the one that just failed), or NULL.
 * Increments pool->hits (lrc/wlrc also advance pool->rr).
 * Returns NULL when no node is live.
 */
struct rtr_node *rtr_pool_pick(struct rtr_pool *p, double now, const struct sockaddr *client,
			       const struct rtr_node *exclude);

/*
 * rtr_pool_set_sni - take @pkt's `sni_crt`, `sni_key` (both needed) and
 * `sni_ca` (optional) paths for pool @p: the caller has checked that the
 * packet may speak for the key (signed, or from the key's local vassal).
 * A packet without them changes nothing. Returns 1 when they changed, 0 when
 * not, -1 when a path is too long (RTR_SNI_PATH_MAX) or has a NUL, or on
 * ENOMEM (the old ones stay).
 */
int rtr_pool_set_sni(struct rtr_pool *p, const struct subpkt *pkt);

/* rtr_node_failed - a connection to it failed: out of rotation until now +
 * retry; counts failcnt. */
void rtr_node_failed(struct rtr_table *t, struct rtr_node *n, double now);

void rtr_node_ref(struct rtr_node *n);
/* rtr_node_unref - frees the node if it was removed and this was the last ref. */
void rtr_node_unref(struct rtr_node *n);

/*
 * rtr_table_expire - remove nodes whose last_seen + tolerance < now (and
 * pools left empty). Calls @gone (when not NULL) for each removed node
 * before it is unlinked. Returns how many were removed.
 */
size_t rtr_table_expire(struct rtr_table *t, double now,
			void (*gone)(void *ctx, const struct rtr_node *n), void *ctx);

/* rtr_table_remove_vassal - remove every node subscribed by local vassal
 * @vassal (it went away), its name compared as stored (cut to
 * RTR_VASSAL_MAX). NULL or "" removes nothing. Returns how many. */
size_t rtr_table_remove_vassal(struct rtr_table *t, const char *vassal);

/* rtr_table_remove_vassal_except - remove the nodes of local vassal @vassal
 * under keys not in @keys (case-insensitive): its new config dropped them. */
size_t rtr_table_remove_vassal_except(struct rtr_table *t, const char *vassal,
				      const char *const *keys, size_t n_keys);

/* Iteration for stats: pools in no particular order. Pass NULL to start. */
struct rtr_pool *rtr_table_next(struct rtr_table *t, struct rtr_pool *prev);

/* Counts. */
size_t rtr_table_keys(const struct rtr_table *t);
size_t rtr_table_nodes(const struct rtr_table *t);

#endif
