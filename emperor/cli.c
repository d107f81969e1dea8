/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The operator's verbs: `emperor status|stats|reload NAME|stop NAME|start NAME`
 * talk to a running emperor through its stats socket, found with -s ADDR,
 * or from the `stats` key of -c FILE (default ./emperor.ini).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "emperor/internal.h"

static const char *const emp_sections[] = {"emperor", NULL};

static int usage(void)
{
	fprintf(stderr, "usage: emperor status|stats|reload NAME|stop NAME|start NAME"
			" [-c emperor.ini | -s ADDR]\n");
	return 1;
}

static int stats_address(const char *config, const char *sock, struct addr *a)
{
	struct err *err = NULL;
	char text[ADDR_TEXT_MAX];
	if (sock == NULL) {
		_cleanup_cfg_ struct cfg *c = cfg_parse_file(config, emp_sections, 0, &err);
		const struct cfg_entry *e = c ? cfg_get(c, "stats") : NULL;
		if (c && e == NULL)
			err_set(&err, 0, "%s: no `stats` key: the emperor has no control socket",
				config);
		if (err) {
			fprintf(stderr, "emperor: %s\n", err_msg(err));
			err_free(&err);
			return -1;
		}
		snprintf(text, sizeof(text), "%s", e->value);
		sock = text;
	}
	if (addr_parse(sock, a, &err) < 0) {
		fprintf(stderr, "emperor: %s\n", err_msg(err));
		err_free(&err);
		return -1;
	}
	return 0;
}

static int converse(const struct addr *a, const char *request)
{
	struct err *err = NULL;
	_cleanup_close_ int fd = addr_connect(a, &err);
	if (fd < 0) {
		fprintf(stderr, "emperor: cannot reach the emperor: %s\n", err_msg(err));
		err_free(&err);
		return 2;
	}
	size_t len = strlen(request);
	if (send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len) {
		perror("emperor: send");
		return 2;
	}
	shutdown(fd, SHUT_WR);
	char chunk[4096];
	ssize_t n;
	bool first = true, failed = false;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (first && n >= 6 && !strncmp(chunk, "error:", 6))
			failed = true;
		first = false;
		fwrite(chunk, 1, (size_t)n, failed ? stderr : stdout);
	}
	return failed ? 1 : 0;
}

int emp_cli(int argc, char **argv)
{
	const char *config = "emperor.ini", *sock = NULL;
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	int o;
	optind = 2;
	while ((o = getopt_long(argc, argv, "c:s:", opts, NULL)) != -1) {
		if (o == 'c')
			config = optarg;
		else if (o == 's')
			sock = optarg;
		else
			return usage();
	}
	const char *verb = argv[1];
	const char *name = optind < argc ? argv[optind] : NULL;
	bool needs_name = strcmp(verb, "status") && strcmp(verb, "stats");
	if (needs_name != (name != NULL) || (name && optind + 1 != argc))
		return usage();
	struct addr a;
	if (stats_address(config, sock, &a) < 0)
		return 1;
	char request[128];
	snprintf(request, sizeof(request), "%s%s%s\n", verb, name ? " " : "", name ? name : "");
	return converse(&a, request);
}
