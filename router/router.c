/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The router's life: bind its listeners at start (HTTP, HTTPS, subscription
 * servers, then the stream front ends; a failure there stops the emperor
 * before it runs anything), run on the emperor's loop, and close everything
 * on the way out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "router/internal.h"

/* One stream listener of @kind on @addr (@key: rawrouter's, @tls:
 * sslrouter's certificate), bound and started. */
static int open_stream(struct rtr *r, enum rtr_lkind kind, const struct addr *addr, const char *key,
		       const struct rtr_https *tls, struct err **err)
{
	struct rtr_listener *l = &r->listeners[r->n_listeners];
	l->addr = *addr;
	l->kind = kind;
	l->key = key;
	l->fd = -1;
	if (rtr_stream_open(r, l, err) < 0)
		return -1;
	r->n_listeners++; /* closed by rtr_free from here on */
	if (tls != NULL && rtr_tls_listener(r, l, tls, err) < 0)
		return -1;
	ev_io_start(r->loop, &l->io);
	return 0;
}

static int open_streams(struct rtr *r, struct err **err)
{
	for (size_t i = 0; i < r->cfg.n_fast; i++) {
		if (open_stream(r, RTR_L_FAST, &r->cfg.fast[i], NULL, NULL, err) < 0)
			return -1;
		log_info("router: fastrouter on %s", r->cfg.fast[i].text);
	}
	for (size_t i = 0; i < r->cfg.n_raw; i++) {
		const struct rtr_raw *w = &r->cfg.raw[i];
		if (open_stream(r, RTR_L_RAW, &w->addr, w->key, NULL, err) < 0)
			return -1;
		log_info("router: rawrouter on %s (key %s)", w->addr.text, w->key);
	}
	for (size_t i = 0; i < r->cfg.n_ssl; i++) {
		const struct rtr_https *h = &r->cfg.ssl[i];
		if (open_stream(r, RTR_L_SSL, &h->addr, NULL, h, err) < 0)
			return -1;
		log_info("router: sslrouter on %s (certificate %s%s%s)", h->addr.text, h->crt,
			 r->cfg.sni_dir[0] ? ", sni-dir " : "", r->cfg.sni_dir);
	}
	return 0;
}

static int open_listeners(struct rtr *r, struct err **err)
{
	for (size_t i = 0; i < r->cfg.n_http; i++) {
		struct rtr_listener *l = &r->listeners[r->n_listeners];
		l->addr = r->cfg.http[i];
		l->kind = RTR_L_HTTP;
		l->fd = -1;
		if (rtr_http_open(r, l, err) < 0)
			return -1;
		r->n_listeners++;
		ev_io_start(r->loop, &l->io);
		log_info("router: HTTP on %s", l->addr.text);
	}
	for (size_t i = 0; i < r->cfg.n_https; i++) {
		struct rtr_listener *l = &r->listeners[r->n_listeners];
		l->addr = r->cfg.https[i].addr;
		l->kind = RTR_L_HTTPS;
		l->fd = -1;
		if (rtr_http_open(r, l, err) < 0)
			return -1;
		r->n_listeners++; /* closed by rtr_free from here on */
		if (rtr_tls_listener(r, l, &r->cfg.https[i], err) < 0)
			return -1;
		ev_io_start(r->loop, &l->io);
		log_info("router: HTTPS on %s (certificate %s%s%s)", l->addr.text,
			 r->cfg.https[i].crt, r->cfg.sni_dir[0] ? ", sni-dir " : "", r->cfg.sni_dir);
	}
	for (size_t i = 0; i < r->cfg.n_subs; i++) {
		struct rtr_listener *l = &r->listeners[r->n_listeners];
		l->addr = r->cfg.subs[i];
		l->kind = RTR_L_SUB;
		l->fd = -1;
		if (rtr_subserver_open(r, l, err) < 0)
			return -1;
		r->n_listeners++;
		rtr_subserver_start(r, l);
		log_info("router: subscription server on %s", l->addr.text);
	}
	return open_streams(r, err);
}

struct rtr *rtr_new(struct ev_loop *loop, const struct rtr_config *rc, struct err **err)
{
	struct rtr *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		err_set(err, ENOMEM, "router");
		return NULL;
	}
	r->loop = loop;
	r->cfg = *rc;
	r->notify_fd = r->resub_fd4 = r->resub_fd6 = r->resub_fdu = -1;
	r->accepting = true;
	struct rtr_table_limits lim = {
	    .max_keys = rc->max_keys,
	    .max_nodes = rc->max_nodes,
	    .max_nodes_per_key = rc->max_nodes_per_key,
	    .tolerance = (double)rc->tolerance_ms / 1000.0,
	    .retry = (double)rc->retry_ms / 1000.0,
	};
	r->table = rtr_table_new(&lim);
	if (r->table == NULL) {
		free(r);
		err_set(err, ENOMEM, "router table");
		return NULL;
	}
	r->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ev_init(&r->accept_retry, NULL);
	struct err *sig_err = NULL;
	r->sig = rtr_sigcheck_new(rc, &sig_err);
	if (sig_err != NULL) {
		if (err != NULL && *err == NULL)
			*err = steal_ptr(&sig_err);
		err_free(&sig_err);
		rtr_free(r);
		return NULL;
	}
	if (rtr_tls_new(r, err) < 0 || open_listeners(r, err) < 0) {
		rtr_free(r);
		return NULL;
	}
	/* What we announce to `resubscribe` routers: our own HTTP address. */
	if (rc->resub_address[0] != '\0')
		memcpy(r->resub_address, rc->resub_address, sizeof(r->resub_address));
	else if (rc->n_http > 0)
		memcpy(r->resub_address, rc->http[0].text, sizeof(r->resub_address));
	else if (rc->n_fast > 0)
		memcpy(r->resub_address, rc->fast[0].text, sizeof(r->resub_address));
	/* What speaks at that address: an http listener unless it is (only) a
	 * fastrouter's, whose upstream talks uwsgi to it. */
	r->resub_http = true;
	for (size_t i = 0; i < rc->n_fast; i++)
		if (strcmp(r->resub_address, rc->fast[i].text) == 0)
			r->resub_http = false;
	double sweep = lim.tolerance / 4 < 1.0 ? lim.tolerance / 4 : 1.0;
	ev_timer_init(&r->sweep, rtr_sweep_cb, sweep, sweep);
	ev_timer_start(loop, &r->sweep);
	return r;
}

void rtr_free(struct rtr *r)
{
	if (r == NULL)
		return;
	while (r->clients)
		rtr_client_free(r->clients);
	rtr_streams_free(r);
	for (size_t i = 0; i < r->n_listeners; i++) {
		struct rtr_listener *l = &r->listeners[i];
		ev_io_stop(r->loop, &l->io);
		if (l->fd >= 0)
			close(l->fd);
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&l->addr.ss;
		if (sun->sun_family == AF_UNIX && sun->sun_path[0] == '/')
			unlink(sun->sun_path);
	}
	ev_timer_stop(r->loop, &r->sweep);
	ev_timer_stop(r->loop, &r->accept_retry);
	rtr_sub_close(r);
	rtr_sigcheck_free(r->sig);
	/* idle backend connections hold node refs: close them first */
	for (struct rtr_pool *p = rtr_table_next(r->table, NULL); p; p = rtr_table_next(r->table, p))
		for (struct rtr_node *n = p->nodes; n; n = n->next)
			rtr_backend_close_idle(n);
	rtr_table_free(r->table);
	rtr_tls_free(r->tls);
	free(r);
}
