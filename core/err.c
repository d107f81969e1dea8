/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/* The error type: creation, prefixing and release (see err.h). */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int err_set(struct err **e, int errnum, const char *fmt, ...)
{
	if (e == NULL || *e != NULL)
		return -1;
	struct err *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *base = vformat(fmt, ap);
	va_end(ap);
	n->errnum = errnum;
	if (base == NULL)
		n->msg = strdup("out of memory formatting error");
	else if (errnum != 0 && asprintf(&n->msg, "%s: %s", base, strerror(errnum)) >= 0)
		;
	else
		n->msg = steal_ptr(&base);
	*e = n;
	return -1;
}

void err_prefix(struct err **e, const char *fmt, ...)
{
	if (e == NULL || *e == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *ctx = vformat(fmt, ap);
	va_end(ap);
	char *joined = NULL;
	if (ctx == NULL || asprintf(&joined, "%s: %s", ctx, (*e)->msg ? (*e)->msg : "") < 0)
		return;
	free((*e)->msg);
	(*e)->msg = joined;
}

void err_free(struct err **e)
{
	if (e == NULL || *e == NULL)
		return;
	free((*e)->msg);
	free(*e);
	*e = NULL;
}

const char *err_msg(const struct err *e)
{
	if (e == NULL)
		return "no error";
	return e->msg ? e->msg : "unknown error";
}
