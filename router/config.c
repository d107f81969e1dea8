/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The router's keys in emperor.ini ([emperor] section): listeners, the
 * subscription table's tolerance and limits, resubscribe targets and the
 * HTTP front end's timeouts and limits. Each error names file, line and key.
 */
#include <string.h>

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
}

bool rtr_config_enabled(const struct rtr_config *rc)
{
	return rc->n_http > 0 || rc->n_subs > 0;
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

int rtr_config_read(struct rtr_config *rc, const struct cfg *f, const struct cfg_entry *e,
		    struct err **err)
{
	const char *k = e->key;
	if (!strcmp(k, "http"))
		return add_addr(f, e, rc->http, &rc->n_http, RTR_MAX_LISTEN, false, err);
	if (!strcmp(k, "subscription-server") || !strcmp(k, "http-subscription-server"))
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
	return 0;
}
