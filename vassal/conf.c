/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The settings workers are spawned with, read once from a validated config:
 * the command split into words, the working directory, the heartbeat and
 * the worker keys. A vassal holds one; a reload with a new config builds a
 * second and keeps the first until the new workers are ready.
 */
#include "vassal/internal.h"

#include <stdlib.h>

#include "vassal/vassal.h"

struct vsl_conf *vsl_conf_new(struct cfg *cfg, unsigned n_listen, struct err **err)
{
	_cleanup_cfg_ struct cfg *owned = cfg;
	struct vsl_conf *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		err_set(err, ENOMEM, "%s", cfg->origin);
		return NULL;
	}
	c->cfg = steal_ptr(&owned);
	const struct cfg_entry *e = cfg_get(c->cfg, "exec");
	if (e == NULL) {
		err_set(err, 0, "%s: exec: required", c->cfg->origin);
		goto fail;
	}
	if (vsl_split_words(e->value, &c->argv, err) < 0)
		goto fail;
	e = cfg_get(c->cfg, "chdir");
	c->chdir = e ? e->value : "/";
	uint64_t hb = VSL_HEARTBEAT_DEFAULT;
	e = cfg_get(c->cfg, "heartbeat");
	if (e && cfg_uint(c->cfg, e, VSL_HEARTBEAT_MIN, VSL_HEARTBEAT_MAX, &hb, err) < 0)
		goto fail;
	c->heartbeat = (unsigned)hb;
	if (vsl_wcfg_read(c->cfg, &c->w, err) < 0)
		goto fail;
	struct addr addrs[VSL_MAX_SOCKETS];
	int n = vsl_config_sockets(c->cfg, addrs, VSL_MAX_SOCKETS, err);
	if (n < 0)
		goto fail;
	if ((unsigned)n != n_listen) {
		err_set(err, 0, "%s: %d socket(s) configured but %u passed", c->cfg->origin, n,
			n_listen);
		goto fail;
	}
	return c;
fail:
	vsl_conf_free(c);
	return NULL;
}

void vsl_conf_free(struct vsl_conf *c)
{
	if (c == NULL)
		return;
	vsl_free_words(c->argv);
	cfg_free(c->cfg);
	free(c);
}
