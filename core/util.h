/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers every module uses: cleanup attributes for owned memory and
 * descriptors, ownership hand-off (steal_ptr/steal_fd), container_of for
 * recovering a watcher's owner, and array sizing.
 */
#ifndef CORE_UTIL_H
#define CORE_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member)                                        \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void util_freep(void *p)
{
	free(*(void **)p);
}

static inline void util_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#define _cleanup_free_ __attribute__((cleanup(util_freep)))
#define _cleanup_close_ __attribute__((cleanup(util_closep)))

/* Hand ownership of a pointer on: returns it and clears the owner's copy. */
#define steal_ptr(pp)                                                          \
	({                                                                     \
		__typeof__(*(pp)) steal_tmp_ = *(pp);                          \
		*(pp) = NULL;                                                  \
		steal_tmp_;                                                    \
	})

/* Hand ownership of a descriptor on: returns it and sets the owner's to -1. */
static inline int steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

#endif
