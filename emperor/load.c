/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Reading a vassal's file (parse, resolve, validate) and binding its sockets
 * in the host namespace. Binding happens at spawn time: a busy address is a
 * failed start (retried with back-off), not a broken file. Sockets are kept
 * across respawns while the file names the same addresses, so a restart
 * never refuses a connection: clients wait in the backlog. A file that fails
 * leaves the previous config untouched. Loading also collects the keys the
 * vassal may claim through its subscription socket (vsl_config_claims): a
 * file claiming more than the router holds per vassal is refused, and its
 * tuntap keys (tt_vassal_net_read): the addresses and rules our tuntap
 * router gives its tun device.
 */
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "emperor/internal.h"
#include "jail/jail.h"

/* FNV-1a over the content. */
static uint64_t content_hash(const char *data, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* The content hash mixed with mtime, so a touch is a change too. */
static uint64_t fingerprint(uint64_t content, const struct stat *st)
{
	uint64_t h = content;
	h ^= (uint64_t)st->st_mtim.tv_sec * 1000000007ull + (uint64_t)st->st_mtim.tv_nsec;
	return h * 1099511628211ull;
}

static int read_file(const char *path, struct buf *out, struct stat *st, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_set(err, errno, "open %s", path);
	if (fstat(fd, st) < 0)
		return err_set(err, errno, "stat %s", path);
	if (!S_ISREG(st->st_mode))
		return err_set(err, EINVAL, "%s: not a regular file", path);
	if (st->st_size > CFG_MAX_FILE)
		return err_set(err, EFBIG, "%s: larger than %u bytes", path, CFG_MAX_FILE);
	char chunk[8192];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, errno, "read %s", path);
		if (buf_append(out, chunk, (size_t)n) < 0)
			return err_set(err, errno, "%s: larger than %u bytes", path, CFG_MAX_FILE);
	}
	return 0;
}

/* A socket already bound for this address: ours (dup'ed, so a failure
 * later leaves our set intact), or one a leaving vassal no longer needs. */
static int find_bound(struct emp_vassal *v, const struct addr *a)
{
	for (size_t j = 0; j < v->n_socks; j++)
		if (v->sock_fds[j] >= 0 && !strcmp(v->socks[j].text, a->text))
			return fcntl(v->sock_fds[j], F_DUPFD_CLOEXEC, 3);
	struct emp *e = v->emp;
	for (size_t i = 0; i < e->cfg.max_vassals; i++) {
		struct emp_vassal *o = e->vassals[i];
		if (o == NULL || o == v || o->state != ST_STOPPING || o->after_stop != AFTER_REMOVE)
			continue;
		for (size_t j = 0; j < o->n_socks; j++)
			if (o->sock_fds[j] >= 0 && !strcmp(o->socks[j].text, a->text)) {
				log_info("vassal %s: takes over %s from %s", v->name, a->text,
					 o->name);
				return steal_fd(&o->sock_fds[j]);
			}
	}
	return -1;
}

int emp_vassal_bind(struct emp_vassal *v, struct err **err)
{
	int fds[VSL_MAX_SOCKETS];
	for (size_t i = 0; i < v->n_want; i++) {
		fds[i] = find_bound(v, &v->want[i]);
		if (fds[i] < 0)
			fds[i] = addr_listen(&v->want[i], 1024, false, 0660, err);
		if (fds[i] < 0) {
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	}
	emp_vassal_close_sockets(v);
	for (size_t i = 0; i < v->n_want; i++) {
		v->socks[i] = v->want[i];
		v->sock_fds[i] = fds[i];
	}
	v->n_socks = v->n_want;
	return 0;
}

static int validate(struct emp_vassal *v, struct cfg *c, unsigned long *flags,
		    struct log_chain **chain, struct err **err)
{
	*flags = v->emp->cfg.clone_flags;
	const struct cfg_entry *uc = cfg_get(c, "use-clone");
	if (uc && jail_parse_clone_flags(uc->value, flags, NULL) < 0)
		return cfg_error(c, uc, err, "bad namespace list");
	if (vsl_config_validate(c, *flags, err) < 0)
		return -1;
	/* The ids, resolved on the host, for the user namespace maps. */
	struct jail_spec spec = {0};
	if (jail_spec_from_cfg(c, *flags, "/", &spec, err) < 0)
		return -1;
	v->uid = spec.uid;
	v->gid = spec.gid;
	jail_spec_free(&spec);
	for (const struct cfg_entry *e = NULL; (e = cfg_next(c, "log-encoder", e));)
		if (log_chain_add(chain, e->value, err) < 0)
			return -1;
	return 0;
}

int emp_vassal_load(struct emp_vassal *v, bool *changed, struct err **err)
{
	_cleanup_buf_ struct buf raw = BUF_INIT;
	raw.max = CFG_MAX_FILE;
	struct stat st;
	if (read_file(v->path, &raw, &st, err) < 0)
		return -1;
	uint64_t ch = content_hash(raw.data ? raw.data : "", raw.len);
	uint64_t fp = fingerprint(ch, &st);
	*changed = fp != v->fingerprint;
	if (!*changed)
		return 0;
	/* Remembered even if the file is refused: the same bytes are not
	 * re-read and re-refused for every event a writer causes. */
	v->fingerprint = fp;
	_cleanup_cfg_ struct cfg *c =
		cfg_parse_buf(v->path, raw.data ? raw.data : "", raw.len, vsl_sections, 0, err);
	if (c == NULL)
		return -1;
	unsigned long flags = 0;
	struct log_chain *chain = NULL;
	struct addr socks[VSL_MAX_SOCKETS];
	char *claims[EMP_MAX_CLAIMS];
	int n = -1, n_claims = -1, has_net = -1;
	struct tt_vassal_net net;
	if (validate(v, c, &flags, &chain, err) < 0 ||
	    (n = vsl_config_sockets(c, socks, VSL_MAX_SOCKETS, err)) < 0 ||
	    (has_net = tt_vassal_net_read(c, &net, err)) < 0 ||
	    (n_claims = vsl_config_claims(c, claims, EMP_MAX_CLAIMS, err)) < 0) {
		if (has_net >= 0)
			tt_vassal_net_free(&net);
		log_chain_free(chain);
		return -1;
	}
	memcpy(v->want, socks, sizeof(socks[0]) * (size_t)n);
	v->n_want = (size_t)n;
	/* What a running vassal would have to do about it. */
	v->change = v->cfg != NULL ? vsl_config_change(v->cfg, c) : VSL_CHANGE_RESTART;
	if (v->cfg != NULL && flags != v->clone_flags)
		v->change |= VSL_CHANGE_RESTART;
	v->touched = v->cfg != NULL && ch == v->content_hash;
	v->content_hash = ch;
	emp_vassal_unload(v);
	v->cfg = steal_ptr(&c);
	memcpy(v->claims, claims, sizeof(claims[0]) * (size_t)n_claims);
	v->n_claims = (size_t)n_claims;
	v->clone_flags = flags;
	v->log_chain = chain;
	/* Its addresses and rules for our tuntap router: from this file, never
	 * from its packets. A running peer keeps the copy it was attached with. */
	v->net = net;
	v->has_net = has_net == 1;
	v->error[0] = '\0';
	return 0;
}

void emp_vassal_unload(struct emp_vassal *v)
{
	cfg_free(v->cfg);
	v->cfg = NULL;
	for (size_t i = 0; i < v->n_claims; i++)
		free(v->claims[i]);
	v->n_claims = 0;
	log_chain_free(v->log_chain);
	v->log_chain = NULL;
	tt_vassal_net_free(&v->net);
	memset(&v->net, 0, sizeof(v->net));
	v->has_net = false;
}

void emp_vassal_close_sockets(struct emp_vassal *v)
{
	for (size_t i = 0; i < v->n_socks; i++) {
		if (v->sock_fds[i] >= 0)
			close(v->sock_fds[i]);
		v->sock_fds[i] = -1;
	}
	v->n_socks = 0;
}
