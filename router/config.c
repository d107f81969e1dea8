/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The router's keys in emperor.ini ([emperor] section): listeners, the
 * subscription table's tolerance and limits, resubscribe targets and the
 * HTTP front end's timeouts and limits. Each error names file, line and key.
 */
#include <string.h>

#include "core/sign.h"
#include "router/router.h"

const char *const rtr_config_keys[] = {
	"http",
	"subscription-server",
	"http-subscription-server",
	"subscription-mountpoints",
	"subscription-tolerance",
	"subscription-retry",
	"subscription-max-keys",
	"subscription-max-nodes",
	"subscription-max-nodes-per-key",
	"resubscribe",
	"resubscribe-address",
	"resubscribe-max-hops",
	"http-max-connections",
	"http-header-timeout",
	"http-keepalive-timeout",
	"http-connect-timeout",
	"http-timeout",
	"http-max-header-size",
	"http-spool-memory",
	"http-max-spool",
	"http-retries",
	"http-backend-pool",
	"subscriptions-sign-check",
	"subscriptions-sign-required",
	"subscriptions-sign-tolerance",
	"subscriptions-sign-check-tolerance",
	"subscriptions-sign-counters",
	"https",
	"sni-dir",
	"fastrouter",
	"fastrouter-subscription-server",
	"fastrouter-force-key",
	"rawrouter",
	"sslrouter",
	NULL,
};

void rtr_config_defaults(struct rtr_config *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->resub_hops = 4;
	rc->mountpoints = 0;
	rc->tolerance_ms = 17000;
	rc->retry_ms = 5000;
	rc->max_keys = 10000;
	rc->max_nodes = 100000;
	rc->max_nodes_per_key = 256;
	rc->max_conns = 10000;
	rc->header_timeout_ms = 10000;
	rc->keepalive_timeout_ms = 75000;
	rc->connect_timeout_ms = 3000;
	rc->timeout_ms = 60000;
	rc->max_head = 16384;
	rc->spool_memory = 65536;
	rc->max_spool = 100ull << 20;
	rc->retries = 3;
	rc->pool_size = 256;
	rc->sign_tolerance_ms = 60000;
	rc->sign_counters = 100000;
}

bool rtr_config_enabled(const struct rtr_config *rc)
{
	return rc->n_http > 0 || rc->n_subs > 0 || rc->n_https > 0 || rc->n_fast > 0 ||
	       rc->n_raw > 0 || rc->n_ssl > 0;
}

static int add_addr(const struct cfg *f, const struct cfg_entry *e, struct addr *arr, size_t *n,
		    size_t max, bool datagram, struct err **err)
{
	if (*n >= max)
		return cfg_error(f, e, err, "given more than %zu times", max);
	struct err *sub = NULL;
	if (addr_parse(e->value, &arr[*n], &sub) < 0) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	if (arr[*n].fd >= 0 && datagram)
		return cfg_error(f, e, err, "fd:// is not supported for datagram sockets");
	(*n)++;
	return 1;
}

static int read_duration(const struct cfg *f, const struct cfg_entry *e, uint64_t unit,
			 uint64_t *out, struct err **err)
{
	if (cfg_duration(f, e, unit, out, err) < 0)
		return -1;
	if (*out == 0)
		return cfg_error(f, e, err, "must be more than 0");
	return 1;
}

static int read_uint(const struct cfg *f, const struct cfg_entry *e, uint64_t min, uint64_t max,
		     uint64_t *out, struct err **err)
{
	return cfg_uint(f, e, min, max, out, err) < 0 ? -1 : 1;
}

static int read_size(const struct cfg *f, const struct cfg_entry *e, uint64_t min, uint64_t max,
		     uint64_t *out, struct err **err)
{
	if (cfg_size(f, e, out, err) < 0)
		return -1;
	if (*out < min || *out > max)
		return cfg_error(f, e, err, "must be between %llu and %llu bytes",
				 (unsigned long long)min, (unsigned long long)max);
	return 1;
}

/* An absolute path that fits @cap bytes. */
static int read_path(const struct cfg *f, const struct cfg_entry *e, const char *what,
		     const char *p, size_t len, char *out, size_t cap, struct err **err)
{
	if (len == 0 || p[0] != '/')
		return cfg_error(f, e, err, "%s: expected an absolute path", what);
	if (len >= cap)
		return cfg_error(f, e, err, "%s: path longer than %zu bytes", what, cap - 1);
	if (memchr(p, '\0', len) != NULL)
		return cfg_error(f, e, err, "%s: NUL in path", what);
	memcpy(out, p, len);
	out[len] = '\0';
	return 1;
}

/* A subscription key: 1..SUBPKT_KEY_MAX bytes, none blank or control. */
static int read_key(const struct cfg *f, const struct cfg_entry *e, const char *k, char *out,
		    size_t cap, struct err **err)
{
	size_t n = strlen(k);
	bool ok = n > 0 && n <= SUBPKT_KEY_MAX && n < cap;
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)k[i] > 0x20 && k[i] != 0x7f;
	if (!ok)
		return cfg_error(f, e, err, "key '%s': expected 1..%d bytes, none blank or control",
				 k, SUBPKT_KEY_MAX);
	memcpy(out, k, n + 1);
	return 1;
}

/* DIGEST:DIR */
static int read_sign_check(struct rtr_config *rc, const struct cfg *f, const struct cfg_entry *e,
			   struct err **err)
{
	if (rc->n_sign_dirs >= RTR_MAX_SIGN_DIRS)
		return cfg_error(f, e, err, "given more than %d times", RTR_MAX_SIGN_DIRS);
	struct rtr_sign_dir *d = &rc->sign_dirs[rc->n_sign_dirs];
	const char *colon = strchr(e->value, ':');
	size_t dl = colon ? (size_t)(colon - e->value) : 0;
	if (colon == NULL || dl == 0 || dl >= sizeof(d->digest))
		return cfg_error(f, e, err, "expected DIGEST:DIR, e.g. SHA256:/etc/imperium/keys");
	memcpy(d->digest, e->value, dl);
	d->digest[dl] = '\0';
	struct err *sub = NULL;
	if (sign_digest(d->digest, &sub) == NULL) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	if (read_path(f, e, "DIR", colon + 1, strlen(colon + 1), d->dir, sizeof(d->dir), err) < 0)
		return -1;
	rc->n_sign_dirs++;
	return 1;
}

/* ADDR,CERT,KEY into @arr[*n] (`https`, `sslrouter`) */
static int read_https(struct rtr_https *arr, size_t *n, const struct cfg *f,
		      const struct cfg_entry *e, struct err **err)
{
	if (*n >= RTR_MAX_LISTEN)
		return cfg_error(f, e, err, "given more than %d times", RTR_MAX_LISTEN);
	struct rtr_https *h = &arr[*n];
	const char *c1 = strchr(e->value, ',');
	const char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
	if (c2 == NULL || strchr(c2 + 1, ',') != NULL)
		return cfg_error(f, e, err, "expected ADDR,CERT,KEY");
	char a[ADDR_TEXT_MAX];
	size_t al = (size_t)(c1 - e->value);
	if (al == 0 || al >= sizeof(a))
		return cfg_error(f, e, err, "ADDR: expected 1..%zu bytes", sizeof(a) - 1);
	memcpy(a, e->value, al);
	a[al] = '\0';
	struct err *sub = NULL;
	if (addr_parse(a, &h->addr, &sub) < 0) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	if (read_path(f, e, "CERT", c1 + 1, (size_t)(c2 - c1 - 1), h->crt, sizeof(h->crt), err) <
		0 ||
	    read_path(f, e, "KEY", c2 + 1, strlen(c2 + 1), h->key, sizeof(h->key), err) < 0)
		return -1;
	(*n)++;
	return 1;
}

/* An address, then (for `rawrouter`) an optional ",KEY". */
static int read_raw(struct rtr_config *rc, const struct cfg *f, const struct cfg_entry *e,
		    struct err **err)
{
	if (rc->n_raw >= RTR_MAX_LISTEN)
		return cfg_error(f, e, err, "given more than %d times", RTR_MAX_LISTEN);
	struct rtr_raw *w = &rc->raw[rc->n_raw];
	const char *comma = strchr(e->value, ',');
	size_t al = comma ? (size_t)(comma - e->value) : strlen(e->value);
	char a[ADDR_TEXT_MAX];
	if (al == 0 || al >= sizeof(a))
		return cfg_error(f, e, err, "ADDR: expected 1..%zu bytes", sizeof(a) - 1);
	memcpy(a, e->value, al);
	a[al] = '\0';
	struct err *sub = NULL;
	if (addr_parse(a, &w->addr, &sub) < 0) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	const char *key = comma ? comma + 1 : a;
	if (read_key(f, e, key, w->key, sizeof(w->key), err) < 0)
		return -1;
	rc->n_raw++;
	return 1;
}

int rtr_config_read(struct rtr_config *rc, const struct cfg *f, const struct cfg_entry *e,
		    struct err **err)
{
	const char *k = e->key;
	if (!strcmp(k, "http"))
		return add_addr(f, e, rc->http, &rc->n_http, RTR_MAX_LISTEN, false, err);
	if (!strcmp(k, "subscription-server") || !strcmp(k, "http-subscription-server") ||
	    !strcmp(k, "fastrouter-subscription-server"))
		return add_addr(f, e, rc->subs, &rc->n_subs, RTR_MAX_LISTEN, true, err);
	if (!strcmp(k, "resubscribe"))
		return add_addr(f, e, rc->resub, &rc->n_resub, RTR_MAX_RESUB, true, err);
	if (!strcmp(k, "resubscribe-address")) {
		size_t n = strlen(e->value);
		if (n == 0 || n >= sizeof(rc->resub_address))
			return cfg_error(f, e, err, "must be 1..%zu bytes",
					 sizeof(rc->resub_address) - 1);
		memcpy(rc->resub_address, e->value, n + 1);
		return 1;
	}
	if (!strcmp(k, "resubscribe-max-hops"))
		return read_uint(f, e, 1, 64, &rc->resub_hops, err);
	if (!strcmp(k, "subscription-mountpoints"))
		return read_uint(f, e, 0, 16, &rc->mountpoints, err);
	if (!strcmp(k, "subscription-tolerance"))
		return read_duration(f, e, 1000, &rc->tolerance_ms, err);
	if (!strcmp(k, "subscription-retry"))
		return read_duration(f, e, 1000, &rc->retry_ms, err);
	if (!strcmp(k, "subscription-max-keys"))
		return read_uint(f, e, 1, 10000000, &rc->max_keys, err);
	if (!strcmp(k, "subscription-max-nodes"))
		return read_uint(f, e, 1, 10000000, &rc->max_nodes, err);
	if (!strcmp(k, "subscription-max-nodes-per-key"))
		return read_uint(f, e, 1, 100000, &rc->max_nodes_per_key, err);
	if (!strcmp(k, "http-max-connections"))
		return read_uint(f, e, 1, 1000000, &rc->max_conns, err);
	if (!strcmp(k, "http-header-timeout"))
		return read_duration(f, e, 1000, &rc->header_timeout_ms, err);
	if (!strcmp(k, "http-keepalive-timeout"))
		return read_duration(f, e, 1000, &rc->keepalive_timeout_ms, err);
	if (!strcmp(k, "http-connect-timeout"))
		return read_duration(f, e, 1000, &rc->connect_timeout_ms, err);
	if (!strcmp(k, "http-timeout"))
		return read_duration(f, e, 1000, &rc->timeout_ms, err);
	if (!strcmp(k, "http-max-header-size"))
		return read_size(f, e, 1024, 1 << 20, &rc->max_head, err);
	if (!strcmp(k, "http-spool-memory"))
		return read_size(f, e, 0, 1ull << 30, &rc->spool_memory, err);
	if (!strcmp(k, "http-max-spool"))
		return read_size(f, e, 0, 1ull << 40, &rc->max_spool, err);
	if (!strcmp(k, "http-retries"))
		return read_uint(f, e, 0, 16, &rc->retries, err);
	if (!strcmp(k, "http-backend-pool"))
		return read_uint(f, e, 0, 4096, &rc->pool_size, err);
	if (!strcmp(k, "subscriptions-sign-check"))
		return read_sign_check(rc, f, e, err);
	if (!strcmp(k, "subscriptions-sign-required"))
		return cfg_bool(f, e, &rc->sign_required, err) < 0 ? -1 : 1;
	if (!strcmp(k, "subscriptions-sign-tolerance") ||
	    !strcmp(k, "subscriptions-sign-check-tolerance")) {
		if (read_duration(f, e, 1000, &rc->sign_tolerance_ms, err) < 0)
			return -1;
		if (rc->sign_tolerance_ms > 86400000)
			return cfg_error(f, e, err, "must be at most 24 hours");
		return 1;
	}
	if (!strcmp(k, "subscriptions-sign-counters"))
		return read_uint(f, e, 16, 10000000, &rc->sign_counters, err);
	if (!strcmp(k, "https"))
		return read_https(rc->https, &rc->n_https, f, e, err);
	if (!strcmp(k, "sslrouter"))
		return read_https(rc->ssl, &rc->n_ssl, f, e, err);
	if (!strcmp(k, "fastrouter"))
		return add_addr(f, e, rc->fast, &rc->n_fast, RTR_MAX_LISTEN, false, err);
	if (!strcmp(k, "fastrouter-force-key"))
		return read_key(f, e, e->value, rc->fast_force_key, sizeof(rc->fast_force_key), err);
	if (!strcmp(k, "rawrouter"))
		return read_raw(rc, f, e, err);
	if (!strcmp(k, "sni-dir"))
		return read_path(f, e, "DIR", e->value, strlen(e->value), rc->sni_dir,
				 sizeof(rc->sni_dir), err);
	return 0;
}
