/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The vassal table: a fixed number of slots (`max-vassals`), found by name.
 * Adding past the capacity is a clean refusal; removing frees everything the
 * record owns (the caller has made sure no process is left).
 */
#include <stdio.h>
#include <string.h>

#include "emperor/internal.h"

struct emp_vassal *emp_vassal_find(struct emp *e, const char *name)
{
	for (size_t i = 0; i < e->cfg.max_vassals; i++)
		if (e->vassals[i] && !strcmp(e->vassals[i]->name, name))
			return e->vassals[i];
	return NULL;
}

struct emp_vassal *emp_vassal_add(struct emp *e, const char *name, const char *path,
				  struct err **err)
{
	size_t slot = 0;
	while (slot < e->cfg.max_vassals && e->vassals[slot] != NULL)
		slot++;
	if (slot == e->cfg.max_vassals) {
		err_set(err, ENOSPC, "%s: the emperor already runs max-vassals = %zu vassals",
			path, (size_t)e->cfg.max_vassals);
		return NULL;
	}
	struct emp_vassal *v = calloc(1, sizeof(*v));
	if (v == NULL || (v->path = strdup(path)) == NULL) {
		free(v);
		err_set(err, ENOMEM, "%s", path);
		return NULL;
	}
	v->emp = e;
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->state = ST_BROKEN;
	v->pid = 0;
	v->ctl_fd = v->out_fd = v->err_fd = -1;
	for (size_t i = 0; i < VSL_MAX_SOCKETS; i++)
		v->sock_fds[i] = -1;
	v->out_line.max = v->err_line.max = EMP_LINE_MAX;
	ev_init(&v->timer, emp_timer_cb);
	e->vassals[slot] = v;
	e->n_vassals++;
	return v;
}

void emp_vassal_remove(struct emp_vassal *v)
{
	struct emp *e = v->emp;
	ev_timer_stop(e->loop, &v->timer);
	emp_close_io(v);
	emp_vassal_unload(v);
	emp_vassal_close_sockets(v);
	for (size_t i = 0; i < e->cfg.max_vassals; i++)
		if (e->vassals[i] == v)
			e->vassals[i] = NULL;
	e->n_vassals--;
	free(v->path);
	free(v);
}
