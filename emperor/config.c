/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * emperor.ini: the [emperor] section's keys, their defaults and validation.
 * Every error names file, line and key; a broken emperor.ini stops the
 * emperor before it starts anything.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include "emperor/internal.h"
#include "jail/jail.h"

static const char *const emp_sections[] = {"emperor", NULL};

static const char *const emp_keys[] = {
	"vassals",     "use-clone",         "throttle",    "max-throttle",
	"stop-timeout", "heartbeat-timeout", "max-vassals", "stats",
	"exec-as-root", "log-encoder",       "run-dir",     "stats-http", NULL,
};

/* The format lines get when the operator configures no encoder. */
static const char *const default_encoders[] = {
	"format ${strftime:%Y-%m-%d %H:%M:%S} [${vassal}] ${msg}",
	"nl",
	NULL,
};

int emp_config_find_vassal(struct emp_config *c, struct err **err)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return err_set(err, errno, "readlink /proc/self/exe");
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash == NULL)
		return err_set(err, EINVAL, "cannot locate the emperor binary");
	*slash = '\0';
	if (asprintf(&c->vassal_bin, "%s/vassal", exe) < 0)
		return err_set(err, ENOMEM, "vassal path");
	if (access(c->vassal_bin, X_OK) < 0)
		return err_set(err, errno, "vassal program %s", c->vassal_bin);
	return 0;
}

static int set_defaults(struct emp_config *c, struct err **err)
{
	c->clone_flags = 0;
	c->throttle_ms = 1000;
	c->max_throttle_ms = 180000;
	c->stop_timeout_ms = 30000;
	c->heartbeat_timeout_ms = 30000;
	c->max_vassals = 1024;
	rtr_config_defaults(&c->rtr);
	tt_config_defaults(&c->tt);
	c->run_dir = strdup("/run/imperium");
	if (c->run_dir == NULL)
		return err_set(err, ENOMEM, "config");
	return 0;
}

static int add_dir(struct emp_config *c, const char *dir, struct err **err)
{
	if (c->n_dirs >= EMP_MAX_DIRS)
		return err_set(err, E2BIG, "more than %d vassal directories", EMP_MAX_DIRS);
	char *abs = realpath(dir, NULL);
	if (abs == NULL)
		return err_set(err, errno, "vassals directory %s", dir);
	struct stat st;
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(abs);
		return err_set(err, ENOTDIR, "vassals directory %s", dir);
	}
	c->dirs[c->n_dirs++] = abs;
	return 0;
}

static int finish_logging(struct emp_config *c, struct err **err)
{
	if (c->log_chain != NULL)
		return 0;
	for (size_t i = 0; default_encoders[i]; i++)
		if (log_chain_add(&c->log_chain, default_encoders[i], err) < 0)
			return -1;
	return 0;
}

static bool is_loopback(const struct addr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	if (sa->sa_family == AF_UNIX)
		return true;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

static int read_stats(struct emp_config *c, const struct cfg *f, const struct cfg_entry *e,
		      struct err **err)
{
	struct err *sub = NULL;
	if (addr_parse(e->value, &c->stats, &sub) < 0) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	/* The stats socket also takes commands: never on a public address. */
	if (c->stats.fd < 0 && !is_loopback(&c->stats))
		return cfg_error(f, e, err, "must be a unix socket or a loopback address");
	c->has_stats = true;
	return 0;
}

static int read_stats_http(struct emp_config *c, const struct cfg *f, const struct cfg_entry *e,
			   struct err **err)
{
	struct err *sub = NULL;
	if (addr_parse(e->value, &c->stats_http, &sub) < 0) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	c->has_stats_http = true;
	return 0;
}

static int read_entry(struct emp_config *c, const struct cfg *f, const struct cfg_entry *e,
		      struct err **err)
{
	const char *k = e->key;
	struct err *sub = NULL;
	int routed = rtr_config_read(&c->rtr, f, e, err);
	if (routed == 0)
		routed = tt_config_read(&c->tt, f, e, err);
	if (routed != 0)
		return routed < 0 ? -1 : 0;
	if (!strcmp(k, "vassals")) {
		if (add_dir(c, e->value, &sub) < 0)
			goto sub_error;
	} else if (!strcmp(k, "use-clone")) {
		if (jail_parse_clone_flags(e->value, &c->clone_flags, &sub) < 0)
			goto sub_error;
	} else if (!strcmp(k, "throttle")) {
		return cfg_duration(f, e, 1, &c->throttle_ms, err);
	} else if (!strcmp(k, "max-throttle")) {
		return cfg_duration(f, e, 1, &c->max_throttle_ms, err);
	} else if (!strcmp(k, "stop-timeout")) {
		return cfg_duration(f, e, 1000, &c->stop_timeout_ms, err);
	} else if (!strcmp(k, "heartbeat-timeout")) {
		return cfg_duration(f, e, 1000, &c->heartbeat_timeout_ms, err);
	} else if (!strcmp(k, "max-vassals")) {
		return cfg_uint(f, e, 1, 100000, &c->max_vassals, err);
	} else if (!strcmp(k, "stats")) {
		return read_stats(c, f, e, err);
	} else if (!strcmp(k, "stats-http")) {
		return read_stats_http(c, f, e, err);
	} else if (!strcmp(k, "exec-as-root")) {
		if (c->n_hooks >= EMP_MAX_HOOKS)
			return cfg_error(f, e, err, "more than %d hooks", EMP_MAX_HOOKS);
		if ((c->hooks[c->n_hooks] = strdup(e->value)) == NULL)
			return err_set(err, ENOMEM, "config");
		c->n_hooks++;
	} else if (!strcmp(k, "log-encoder")) {
		if (log_chain_add(&c->log_chain, e->value, &sub) < 0)
			goto sub_error;
	} else if (!strcmp(k, "run-dir")) {
		if (e->value[0] != '/')
			return cfg_error(f, e, err, "must be an absolute path");
		free(c->run_dir);
		if ((c->run_dir = strdup(e->value)) == NULL)
			return err_set(err, ENOMEM, "config");
	}
	return 0;
sub_error:
	cfg_error(f, e, err, "%s", err_msg(sub));
	err_free(&sub);
	return -1;
}

/* The emperor's keys, the router's and the tuntap router's. */
static int check_keys(const struct cfg *f, struct err **err)
{
	size_t n = 0, m = 0, k = 0;
	while (emp_keys[n])
		n++;
	while (rtr_config_keys[m])
		m++;
	while (tt_config_keys[k])
		k++;
	_cleanup_free_ const char **known = calloc(n + m + k + 1, sizeof(*known));
	if (known == NULL)
		return err_set(err, ENOMEM, "config");
	memcpy(known, emp_keys, n * sizeof(*known));
	memcpy(known + n, rtr_config_keys, m * sizeof(*known));
	memcpy(known + n + m, tt_config_keys, k * sizeof(*known));
	return cfg_check_keys(f, known, err);
}

/* The tuntap router's other keys mean nothing without `tuntap-router`. */
static int check_tuntap(const struct emp_config *c, const struct cfg *f, struct err **err)
{
	if (c->tt.enabled)
		return 0;
	for (size_t i = 0; i < f->n; i++)
		for (size_t k = 0; tt_config_keys[k]; k++)
			if (!strcmp(f->entries[i].key, tt_config_keys[k]))
				return cfg_error(f, &f->entries[i], err,
						 "needs `tuntap-router` in the same file");
	return 0;
}

int emp_config_load(struct emp_config *c, const char *path, struct err **err)
{
	_cleanup_cfg_ struct cfg *f = cfg_parse_file(path, emp_sections, 0, err);
	if (f == NULL)
		return -1;
	if ((c->origin = strdup(path)) == NULL)
		return err_set(err, ENOMEM, "config");
	if (set_defaults(c, err) < 0 || check_keys(f, err) < 0)
		return -1;
	for (size_t i = 0; i < f->n; i++)
		if (read_entry(c, f, &f->entries[i], err) < 0)
			return -1;
	if (c->n_dirs == 0)
		return err_set(err, EINVAL, "%s: no `vassals` directory configured", path);
	if (check_tuntap(c, f, err) < 0)
		return -1;
	if (c->max_throttle_ms < c->throttle_ms)
		c->max_throttle_ms = c->throttle_ms;
	return finish_logging(c, err);
}

int emp_config_defaults(struct emp_config *c, const char *vassals_dir, struct err **err)
{
	if ((c->origin = strdup("--vassals")) == NULL)
		return err_set(err, ENOMEM, "config");
	if (set_defaults(c, err) < 0 || add_dir(c, vassals_dir, err) < 0)
		return -1;
	return finish_logging(c, err);
}

void emp_config_free(struct emp_config *c)
{
	free(c->origin);
	for (size_t i = 0; i < c->n_dirs; i++)
		free(c->dirs[i]);
	for (size_t i = 0; i < c->n_hooks; i++)
		free(c->hooks[i]);
	log_chain_free(c->log_chain);
	free(c->run_dir);
	free(c->vassal_bin);
	tt_config_free(&c->tt);
	memset(c, 0, sizeof(*c));
}
