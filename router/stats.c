/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The router's stats: JSON in uWSGI's layout (subscriptions: key, hits,
 * algo, nodes with their counters) plus our own counters (connections,
 * requests, errors the router answered, dropped packets by reason, the
 * stream front ends' connections by outcome), and the
 * same figures as Prometheus text, labelled by key, node and vassal.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "router/internal.h"

static const char *const drop_names[RTR_DROP__COUNT] = {
    [RTR_DROP_MALFORMED] = "malformed",     [RTR_DROP_FOREIGN_KEY] = "foreign_key",
    [RTR_DROP_FOREIGN_ADDR] = "foreign_address", [RTR_DROP_BAD_ADDRESS] = "bad_address",
    [RTR_DROP_BAD_ALGO] = "bad_algo",       [RTR_DROP_FULL] = "full",
    [RTR_DROP_UNSIGNED] = "unsigned",       [RTR_DROP_NO_KEY_FILE] = "no_key_file",
    [RTR_DROP_BAD_SIGNATURE] = "bad_signature", [RTR_DROP_REPLAY] = "replay",
    [RTR_DROP_CLOCK_SKEW] = "clock_skew",   [RTR_DROP_COUNTERS_FULL] = "counters_full",
};

static const char *const lkind_names[] = {
    [RTR_L_SUB] = "subscription", [RTR_L_HTTP] = "http",     [RTR_L_HTTPS] = "https",
    [RTR_L_FAST] = "fastrouter",  [RTR_L_RAW] = "rawrouter", [RTR_L_SSL] = "sslrouter",
};

static const int err_statuses[] = {400, 404, 408, 413, 421, 431, 501, 502, 503, 504, 505};

static void node_json(struct json *j, const struct rtr_node *n, double now)
{
	json_obj_begin(j);
	json_key(j, "name"), json_str(j, n->addr.text);
	json_key(j, "vassal"), json_str(j, n->vassal);
	json_key(j, "modifier1"), json_uint(j, n->modifier1);
	json_key(j, "modifier2"), json_uint(j, n->modifier2);
	json_key(j, "last_check"), json_int(j, n->last_seen_wall);
	json_key(j, "requests"), json_uint(j, n->requests);
	json_key(j, "failures"), json_uint(j, n->failures);
	json_key(j, "tx"), json_uint(j, n->tx);
	json_key(j, "rx"), json_uint(j, n->rx);
	json_key(j, "inflight"), json_uint(j, n->inflight);
	json_key(j, "cores"), json_uint(j, n->cores);
	json_key(j, "load"), json_uint(j, n->load);
	json_key(j, "weight"), json_uint(j, n->weight);
	json_key(j, "backup"), json_uint(j, n->backup);
	json_key(j, "proto"), json_str(j, n->proto == RTR_PROTO_HTTP ? "http" : "uwsgi");
	json_key(j, "ref"), json_uint(j, n->refs);
	json_key(j, "idle_connections"), json_uint(j, n->n_idle);
	json_key(j, "failcnt"), json_uint(j, n->failcnt);
	json_key(j, "death_mark"), json_bool(j, n->dead_until > now);
	json_key(j, "inactive"), json_bool(j, n->inactive);
	json_obj_end(j);
}

/* ---- TLS (the `https` listeners) ---- */

static const char *const tls_fail_names[RTR_TLS_FAIL__COUNT] = {
    [RTR_TLS_FAIL_NO_SHARED_CIPHER] = "no_shared_cipher", [RTR_TLS_FAIL_PROTOCOL] = "protocol",
    [RTR_TLS_FAIL_CLIENT_CERT] = "client_cert",           [RTR_TLS_FAIL_TIMEOUT] = "timeout",
    [RTR_TLS_FAIL_OTHER] = "other",
};

static const char *const tls_src_names[RTR_TLS_SRC__COUNT] = {
    [RTR_TLS_SRC_SUBSCRIPTION] = "subscription",
    [RTR_TLS_SRC_SNI_DIR] = "sni_dir",
    [RTR_TLS_SRC_DEFAULT] = "default",
};

static void tls_json(struct rtr *r, struct json *j)
{
	struct rtr_tls_stats st;
	rtr_tls_stats(r, &st);
	uint64_t failed = 0;
	for (int i = 0; i < RTR_TLS_FAIL__COUNT; i++)
		failed += st.failed[i];
	json_obj_begin(j);
	json_key(j, "handshakes"), json_uint(j, st.handshakes);
	json_key(j, "handshakes_failed"), json_uint(j, failed);
	json_key(j, "failed");
	json_obj_begin(j);
	for (int i = 0; i < RTR_TLS_FAIL__COUNT; i++)
		json_key(j, tls_fail_names[i]), json_uint(j, st.failed[i]);
	json_obj_end(j);
	json_key(j, "sni");
	json_obj_begin(j);
	for (int i = 0; i < RTR_TLS_SRC__COUNT; i++)
		json_key(j, tls_src_names[i]), json_uint(j, st.sni[i]);
	json_obj_end(j);
	json_key(j, "client_verified"), json_uint(j, st.client_verified);
	json_key(j, "misdirected"), json_uint(j, st.misdirected);
	json_key(j, "reloads"), json_uint(j, st.reloads);
	json_key(j, "reload_failures"), json_uint(j, st.reload_failures);
	json_key(j, "contexts"), json_uint(j, st.contexts);
	json_obj_end(j);
}

static int tls_prometheus(struct rtr *r, struct buf *o)
{
	struct rtr_tls_stats st;
	rtr_tls_stats(r, &st);
	int rc = buf_puts(o, "# HELP imperium_tls_handshakes_total Completed TLS handshakes, by "
			    "where the certificate came from.\n"
			    "# TYPE imperium_tls_handshakes_total counter\n");
	for (int i = 0; i < RTR_TLS_SRC__COUNT; i++)
		rc |= buf_printf(o, "imperium_tls_handshakes_total{source=\"%s\"} %" PRIu64 "\n",
				 tls_src_names[i], st.sni[i]);
	rc |= buf_puts(o, "# HELP imperium_tls_handshake_failures_total Failed TLS handshakes, "
			  "by reason.\n# TYPE imperium_tls_handshake_failures_total counter\n");
	for (int i = 0; i < RTR_TLS_FAIL__COUNT; i++)
		rc |= buf_printf(o,
				 "imperium_tls_handshake_failures_total{reason=\"%s\"} %" PRIu64 "\n",
				 tls_fail_names[i], st.failed[i]);
	rc |= buf_printf(o,
			 "# HELP imperium_tls_client_verified_total Handshakes with a verified "
			 "client certificate.\n# TYPE imperium_tls_client_verified_total counter\n"
			 "imperium_tls_client_verified_total %" PRIu64 "\n"
			 "# HELP imperium_tls_misdirected_total Requests refused with 421 (Host "
			 "wants a client certificate its SNI did not verify).\n"
			 "# TYPE imperium_tls_misdirected_total counter\n"
			 "imperium_tls_misdirected_total %" PRIu64 "\n"
			 "# HELP imperium_tls_reloads_total Certificates reloaded after a file "
			 "change.\n# TYPE imperium_tls_reloads_total counter\n"
			 "imperium_tls_reloads_total %" PRIu64 "\n"
			 "# HELP imperium_tls_reload_failures_total Certificate loads that failed "
			 "(the previous one stays).\n# TYPE imperium_tls_reload_failures_total counter\n"
			 "imperium_tls_reload_failures_total %" PRIu64 "\n"
			 "# HELP imperium_tls_contexts SNI certificates cached.\n"
			 "# TYPE imperium_tls_contexts gauge\n"
			 "imperium_tls_contexts %" PRIu64 "\n",
			 st.client_verified, st.misdirected, st.reloads, st.reload_failures,
			 st.contexts);
	return rc;
}

/* ---- the stream front ends ---- */

static void streams_json(const struct rtr *r, struct json *j)
{
	json_obj_begin(j);
	for (int k = 0; k < RTR_S__COUNT; k++) {
		const struct rtr_stream_stats *st = &r->sstats[k];
		json_key(j, rtr_skind_name((enum rtr_skind)k));
		json_obj_begin(j);
		json_key(j, "accepted"), json_uint(j, st->accepted);
		json_key(j, "active"), json_uint(j, st->active);
		json_key(j, "refused_at_limit"), json_uint(j, st->refused_at_limit);
		json_key(j, "connect_failures"), json_uint(j, st->connect_failures);
		json_key(j, "bytes_in"), json_uint(j, st->bytes_in);
		json_key(j, "bytes_out"), json_uint(j, st->bytes_out);
		json_key(j, "closed");
		json_obj_begin(j);
		for (int c = 0; c < RTR_SC__COUNT; c++)
			json_key(j, rtr_sclose_name((enum rtr_sclose)c)), json_uint(j, st->closed[c]);
		json_obj_end(j);
		json_obj_end(j);
	}
	json_obj_end(j);
}

static const struct {
	const char *name, *type, *help;
} stream_metrics[] = {
    {"accepted_total", "counter", "Connections accepted."},
    {"active", "gauge", "Connections open."},
    {"refused_at_limit_total", "counter", "Times accepting paused at http-max-connections."},
    {"connect_failures_total", "counter", "Connects to a node that failed (each try)."},
    {"rx_bytes_total", "counter", "Bytes received from clients."},
    {"tx_bytes_total", "counter", "Bytes sent to clients."},
};

static uint64_t stream_value(size_t i, const struct rtr_stream_stats *st)
{
	switch (i) {
	case 0: return st->accepted;
	case 1: return st->active;
	case 2: return st->refused_at_limit;
	case 3: return st->connect_failures;
	case 4: return st->bytes_in;
	default: return st->bytes_out;
	}
}

static int streams_prometheus(const struct rtr *r, struct buf *o)
{
	int rc = 0;
	for (size_t i = 0; i < ARRAY_SIZE(stream_metrics); i++) {
		rc |= buf_printf(o, "# HELP imperium_stream_%s %s\n# TYPE imperium_stream_%s %s\n",
				 stream_metrics[i].name, stream_metrics[i].help,
				 stream_metrics[i].name, stream_metrics[i].type);
		for (int k = 0; k < RTR_S__COUNT; k++)
			rc |= buf_printf(o, "imperium_stream_%s{frontend=\"%s\"} %" PRIu64 "\n",
					 stream_metrics[i].name, rtr_skind_name((enum rtr_skind)k),
					 stream_value(i, &r->sstats[k]));
	}
	rc |= buf_puts(o, "# HELP imperium_stream_closed_total Connections closed, by reason.\n"
			  "# TYPE imperium_stream_closed_total counter\n");
	for (int k = 0; k < RTR_S__COUNT; k++)
		for (int c = 0; c < RTR_SC__COUNT; c++)
			rc |= buf_printf(o,
					 "imperium_stream_closed_total{frontend=\"%s\",reason=\"%s\"} "
					 "%" PRIu64 "\n",
					 rtr_skind_name((enum rtr_skind)k),
					 rtr_sclose_name((enum rtr_sclose)c), r->sstats[k].closed[c]);
	return rc;
}

void rtr_stats_json(struct rtr *r, struct json *j)
{
	if (r == NULL) {
		json_null(j);
		return;
	}
	double now = ev_now(r->loop);
	json_obj_begin(j);
	json_key(j, "listeners");
	json_arr_begin(j);
	for (size_t i = 0; i < r->n_listeners; i++) {
		json_obj_begin(j);
		json_key(j, "address"), json_str(j, r->listeners[i].addr.text);
		json_key(j, "kind"), json_str(j, lkind_names[r->listeners[i].kind]);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "connections"), json_uint(j, r->n_clients);
	json_key(j, "accepted"), json_uint(j, r->accepted);
	json_key(j, "refused_at_limit"), json_uint(j, r->conn_refusals);
	json_key(j, "requests"), json_uint(j, r->requests);
	json_key(j, "errors");
	json_obj_begin(j);
	for (size_t i = 0; i < ARRAY_SIZE(err_statuses); i++) {
		char k[8];
		snprintf(k, sizeof(k), "%d", err_statuses[i]);
		json_key(j, k), json_uint(j, r->errors[err_statuses[i]]);
	}
	json_obj_end(j);
	json_key(j, "subscriptions_accepted"), json_uint(j, r->sub_accepted);
	json_key(j, "subscriptions_removed"), json_uint(j, r->sub_removed);
	json_key(j, "subscriptions_expired"), json_uint(j, r->sub_expired);
	json_key(j, "resubscribed"), json_uint(j, r->resub_sent);
	json_key(j, "sni_ignored"), json_uint(j, r->sni_ignored);
	json_key(j, "signatures"), rtr_sigcheck_json(r->sig, j);
	json_key(j, "dropped");
	json_obj_begin(j);
	for (int i = 1; i < RTR_DROP__COUNT; i++)
		if (drop_names[i])
			json_key(j, drop_names[i]), json_uint(j, r->drops[i]);
	for (int i = 1; i < SUBPKT__COUNT; i++)
		json_key(j, subpkt_drop_name((enum subpkt_drop)i)), json_uint(j, r->sub_drops[i]);
	json_obj_end(j);
	json_key(j, "tls"), tls_json(r, j);
	json_key(j, "streams"), streams_json(r, j);
	json_key(j, "keys"), json_uint(j, rtr_table_keys(r->table));
	json_key(j, "nodes"), json_uint(j, rtr_table_nodes(r->table));
	json_key(j, "subscriptions");
	json_arr_begin(j);
	for (struct rtr_pool *p = rtr_table_next(r->table, NULL); p; p = rtr_table_next(r->table, p)) {
		json_obj_begin(j);
		json_key(j, "key"), json_strn(j, p->key, p->keylen);
		json_key(j, "hits"), json_uint(j, p->hits);
		json_key(j, "algo"), json_str(j, rtr_algo_name(p->algo));
		if (p->sni_crt != NULL) {
			json_key(j, "sni_crt"), json_str(j, p->sni_crt);
			json_key(j, "sni_key"), json_str(j, p->sni_key);
			json_key(j, "sni_ca"), p->sni_ca ? json_str(j, p->sni_ca) : json_null(j);
		}
		json_key(j, "nodes");
		json_arr_begin(j);
		for (struct rtr_node *n = p->nodes; n; n = n->next)
			node_json(j, n, now);
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static int label(struct buf *o, const char *s, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '\\' || ch == '"')
			rc |= buf_putc(o, '\\'), rc |= buf_putc(o, ch);
		else if (ch == '\n')
			rc |= buf_puts(o, "\\n");
		else
			rc |= buf_putc(o, ch);
	}
	return rc;
}

static int node_metric(struct buf *o, const char *name, const struct rtr_pool *p,
		       const struct rtr_node *n, uint64_t v)
{
	int rc = buf_printf(o, "imperium_router_node_%s{key=\"", name);
	rc |= label(o, p->key, p->keylen);
	rc |= buf_puts(o, "\",node=\"");
	rc |= label(o, n->addr.text, strlen(n->addr.text));
	rc |= buf_puts(o, "\",vassal=\"");
	rc |= label(o, n->vassal, strlen(n->vassal));
	rc |= buf_printf(o, "\",backup=\"%" PRIu64 "\"} %" PRIu64 "\n", n->backup, v);
	return rc;
}

static const struct {
	const char *name, *type, *help;
} node_metrics[] = {
    {"requests_total", "counter", "Requests sent to the node."},
    {"failures_total", "counter", "Failed connections or exchanges with the node."},
    {"tx_bytes_total", "counter", "Bytes sent to the node."},
    {"rx_bytes_total", "counter", "Bytes received from the node."},
    {"inflight", "gauge", "Requests in progress on the node."},
    {"weight", "gauge", "The node's weight."},
    {"last_seen_seconds", "gauge", "Unix time of the node's last subscription."},
    {"up", "gauge", "1 when the node is in rotation."},
};

static uint64_t node_value(size_t i, const struct rtr_node *n, double now)
{
	switch (i) {
	case 0: return n->requests;
	case 1: return n->failures;
	case 2: return n->tx;
	case 3: return n->rx;
	case 4: return n->inflight;
	case 5: return n->weight;
	case 6: return (uint64_t)n->last_seen_wall;
	default: return n->dead_until <= now;
	}
}

int rtr_stats_prometheus(struct rtr *r, struct buf *o)
{
	if (r == NULL)
		return 0;
	double now = ev_now(r->loop);
	int rc = 0;
	rc |= buf_printf(o,
			 "# HELP imperium_router_connections Open client connections.\n"
			 "# TYPE imperium_router_connections gauge\n"
			 "imperium_router_connections %" PRIu64 "\n"
			 "# HELP imperium_router_requests_total Requests read from clients.\n"
			 "# TYPE imperium_router_requests_total counter\n"
			 "imperium_router_requests_total %" PRIu64 "\n",
			 r->n_clients, r->requests);
	rc |= buf_puts(o, "# HELP imperium_router_errors_total Responses the router made itself, "
			  "by status.\n# TYPE imperium_router_errors_total counter\n");
	for (size_t i = 0; i < ARRAY_SIZE(err_statuses); i++)
		rc |= buf_printf(o, "imperium_router_errors_total{status=\"%d\"} %" PRIu64 "\n",
				 err_statuses[i], r->errors[err_statuses[i]]);
	rc |= buf_puts(o, "# HELP imperium_router_dropped_packets_total Subscription packets "
			  "dropped, by reason.\n# TYPE imperium_router_dropped_packets_total counter\n");
	for (int i = 1; i < RTR_DROP__COUNT; i++)
		if (drop_names[i])
			rc |= buf_printf(o,
					 "imperium_router_dropped_packets_total{reason=\"%s\"} %" PRIu64
					 "\n",
					 drop_names[i], r->drops[i]);
	for (int i = 1; i < SUBPKT__COUNT; i++)
		rc |= buf_printf(o, "imperium_router_dropped_packets_total{reason=\"%s\"} %" PRIu64 "\n",
				 subpkt_drop_name((enum subpkt_drop)i), r->sub_drops[i]);
	rc |= buf_puts(o, "# HELP imperium_router_key_hits_total Requests routed to the key.\n"
			  "# TYPE imperium_router_key_hits_total counter\n");
	for (struct rtr_pool *p = rtr_table_next(r->table, NULL); p; p = rtr_table_next(r->table, p)) {
		rc |= buf_puts(o, "imperium_router_key_hits_total{key=\"");
		rc |= label(o, p->key, p->keylen);
		rc |= buf_printf(o, "\",algo=\"%s\"} %" PRIu64 "\n", rtr_algo_name(p->algo), p->hits);
	}
	for (size_t i = 0; i < ARRAY_SIZE(node_metrics); i++) {
		rc |= buf_printf(o, "# HELP imperium_router_node_%s %s\n# TYPE imperium_router_node_%s %s\n",
				 node_metrics[i].name, node_metrics[i].help, node_metrics[i].name,
				 node_metrics[i].type);
		for (struct rtr_pool *p = rtr_table_next(r->table, NULL); p;
		     p = rtr_table_next(r->table, p))
			for (struct rtr_node *n = p->nodes; n; n = n->next)
				rc |= node_metric(o, node_metrics[i].name, p, n, node_value(i, n, now));
	}
	if (r->tls != NULL)
		rc |= tls_prometheus(r, o);
	rc |= streams_prometheus(r, o);
	return rc < 0 ? -1 : 0;
}
