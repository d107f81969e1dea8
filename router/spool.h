/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Request bodies spooled before they go to a node (inside router/): a
 * chunked body bound for a uwsgi node, which needs CONTENT_LENGTH up front,
 * is decoded into memory up to `http-spool-memory`, then into an anonymous
 * O_TMPFILE file (mkostemp + unlink where O_TMPFILE is refused), and sent
 * from there.
 */
#ifndef ROUTER_SPOOL_H
#define ROUTER_SPOOL_H

#include "core/buf.h"
#include "router/http1.h"
#include "router/internal.h"

/* rtr_spool_reset - empty it for the next request (keeps memory). */
void rtr_spool_reset(struct rtr_spool *s);
void rtr_spool_free(struct rtr_spool *s);

/*
 * rtr_spool_feed - decode chunked bytes from @in (consumed as decoded).
 * Returns 1 when the body is complete, 0 when more is needed, -1 for a
 * malformed body or a file error, -2 when it would pass @max bytes.
 */
int rtr_spool_feed(struct rtr_spool *s, struct rtr_h1_chunked *ch, struct buf *in, uint64_t mem,
		   uint64_t max);

/*
 * rtr_spool_send - append spooled bytes not yet sent to @out while it holds
 * less than @high bytes. Returns the bytes appended, or -1.
 */
ssize_t rtr_spool_send(struct rtr_spool *s, struct buf *out, size_t high);

#endif
