/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one error idiom: a fallible function returns a negative value (or NULL)
 * and fills the `struct err **` given as its last argument, once, at the
 * failure site, with errno and a message naming the thing that failed.
 * Callers may prefix context as the error travels up; whoever finally handles
 * it (logs it, sends it to a peer) frees it.
 */
#ifndef CORE_ERR_H
#define CORE_ERR_H

#include "core/util.h"

struct err {
	int errnum;    /* errno of the failure, 0 when none applies */
	char *msg;     /* full message, owned */
};

/*
 * err_set - record a failure. Always returns -1, so `return err_set(...)`.
 * @e:      where to store the error; when NULL the error is dropped.
 *          A non-NULL *e is left alone (the first failure wins).
 * @errnum: errno to attach (0 for none); its strerror is appended.
 */
int err_set(struct err **e, int errnum, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* err_prefix - prepend "CONTEXT: " to an existing error (no-op if none). */
void err_prefix(struct err **e, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* err_free - free *e and set it to NULL. */
void err_free(struct err **e);

/* err_msg - the message, or "no error". */
const char *err_msg(const struct err *e);

#define _cleanup_err_ __attribute__((cleanup(err_free)))

#endif
