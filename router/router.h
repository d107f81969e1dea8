/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The router, as the emperor sees it: a uWSGI-compatible subscription server
 * (signatures checked where key files say so) feeding a node table, and HTTP
 * and HTTPS front ends routing each request's Host to a live node of that
 * key, all on the emperor's libev loop. Its settings are keys of [emperor];
 * the emperor hands each vassal a datagram socket whose packets may only
 * claim the keys that vassal's file declares.
 */
#ifndef ROUTER_ROUTER_H
#define ROUTER_ROUTER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/buf.h"
#include "core/cfg.h"
#include "core/err.h"
#include "core/json.h"
#include "core/subpkt.h"

#define RTR_MAX_LISTEN 16
#define RTR_MAX_RESUB 16
#define RTR_MAX_SIGN_DIRS 8
#define RTR_LOCAL_KEYS 32 /* keys one local vassal may claim */
#define RTR_PATH_MAX 1024

/* `subscriptions-sign-check = DIGEST:DIR` */
struct rtr_sign_dir {
	char digest[32];                    /* as written; checked with sign_digest() */
	char dir[RTR_PATH_MAX];             /* absolute */
};

/* `rawrouter = ADDR[,KEY]` */
struct rtr_raw {
	struct addr addr;
	char key[SUBPKT_KEY_MAX + 1];       /* the key of every connection: KEY, else ADDR as written */
};

/* `https = ADDR,CERT,KEY`, and `sslrouter = ADDR,CERT,KEY` */
struct rtr_https {
	struct addr addr;
	char crt[RTR_PATH_MAX];             /* PEM certificate (chain), the default one */
	char key[RTR_PATH_MAX];             /* PEM private key */
};

struct rtr_config {
	struct addr http[RTR_MAX_LISTEN];       /* `http` */
	size_t n_http;
	struct addr subs[RTR_MAX_LISTEN];       /* `subscription-server` */
	size_t n_subs;
	struct addr resub[RTR_MAX_RESUB];       /* `resubscribe` */
	size_t n_resub;
	char resub_address[ADDR_TEXT_MAX];      /* `resubscribe-address`; "" = first `http`, else first `fastrouter` */
	uint64_t resub_hops;                    /* `resubscribe-max-hops` */
	uint64_t mountpoints;                   /* `subscription-mountpoints` */
	uint64_t tolerance_ms;                  /* `subscription-tolerance` */
	uint64_t retry_ms;                      /* `subscription-retry` */
	uint64_t max_keys, max_nodes, max_nodes_per_key;
	uint64_t max_conns;                     /* `http-max-connections` */
	uint64_t header_timeout_ms;             /* `http-header-timeout` */
	uint64_t keepalive_timeout_ms;          /* `http-keepalive-timeout` */
	uint64_t connect_timeout_ms;            /* `http-connect-timeout` */
	uint64_t timeout_ms;                    /* `http-timeout`: backend and body I/O */
	uint64_t max_head;                      /* `http-max-header-size` */
	uint64_t spool_memory;                  /* `http-spool-memory` */
	uint64_t max_spool;                     /* `http-max-spool` */
	uint64_t retries;                       /* `http-retries` */
	uint64_t pool_size;                     /* `http-backend-pool` idle conns per node */
	struct rtr_sign_dir sign_dirs[RTR_MAX_SIGN_DIRS]; /* `subscriptions-sign-check` */
	size_t n_sign_dirs;
	bool sign_required;                     /* `subscriptions-sign-required` */
	uint64_t sign_tolerance_ms;             /* `subscriptions-sign-tolerance`: clock skew */
	uint64_t sign_counters;                 /* `subscriptions-sign-counters`: replay table size */
	struct rtr_https https[RTR_MAX_LISTEN]; /* `https` */
	size_t n_https;
	char sni_dir[RTR_PATH_MAX];             /* `sni-dir`; "" = none */
	struct addr fast[RTR_MAX_LISTEN];       /* `fastrouter` */
	size_t n_fast;
	char fast_force_key[SUBPKT_KEY_MAX + 1]; /* `fastrouter-force-key`; "" = none */
	struct rtr_raw raw[RTR_MAX_LISTEN];     /* `rawrouter` */
	size_t n_raw;
	struct rtr_https ssl[RTR_MAX_LISTEN];   /* `sslrouter` */
	size_t n_ssl;
};

/* The [emperor] keys the router reads, NULL-terminated. */
extern const char *const rtr_config_keys[];

/* rtr_config_defaults - every field to its default. */
void rtr_config_defaults(struct rtr_config *rc);

/*
 * rtr_config_read - read one [emperor] entry if it is a router key.
 * Returns 1 when the entry was the router's and is valid, 0 when the key is
 * not a router key, -1 with *err "FILE:LINE: KEY: why".
 */
int rtr_config_read(struct rtr_config *rc, const struct cfg *f, const struct cfg_entry *e,
		    struct err **err);

/* rtr_config_enabled - whether anything of the router is configured. */
bool rtr_config_enabled(const struct rtr_config *rc);

struct rtr;

/*
 * rtr_new - bind every listener (http, subscription servers) and start the
 * router on @loop. @rc is copied. Returns NULL with *err naming the address.
 */
struct rtr *rtr_new(struct ev_loop *loop, const struct rtr_config *rc, struct err **err);

/* rtr_free - close everything (clients get their connections closed). */
void rtr_free(struct rtr *r);

struct rtr_local;

/*
 * rtr_local_attach - watch @fd (a datagram socket; ownership passes to the
 * router) for the subscription packets of local vassal @vassal, which may
 * only claim keys in @keys (case-insensitive) and only with an `address`
 * in @addrs (texts as addr_format gives them). Both lists are copied.
 * Returns a handle, or NULL with *err (the fd is closed).
 */
struct rtr_local *rtr_local_attach(struct rtr *r, const char *vassal, int fd,
				   const char *const *keys, size_t n_keys,
				   const char *const *addrs, size_t n_addrs, struct err **err);

/* rtr_local_set_keys - from now on @l may claim only @keys (a new config
 * of its vassal). Returns 0, or -1 with *err (the old keys stay). */
int rtr_local_set_keys(struct rtr_local *l, const char *const *keys, size_t n_keys,
		       struct err **err);

/* rtr_local_detach - stop watching and close it (NULL is a no-op). */
void rtr_local_detach(struct rtr_local *l);

/* rtr_forget_vassal - remove at once every node vassal @name subscribed
 * (a NULL router: nothing to do). */
void rtr_forget_vassal(struct rtr *r, const char *name);

/* rtr_stats_json - the router's stats as the value of a JSON key (null for
 * a NULL router). */
void rtr_stats_json(struct rtr *r, struct json *j);

/* rtr_stats_prometheus - the same as Prometheus text exposition lines. */
int rtr_stats_prometheus(struct rtr *r, struct buf *out);

#endif
