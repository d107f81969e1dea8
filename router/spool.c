/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Spooling of chunked request bodies for uwsgi nodes: memory first, then an
 * anonymous temporary file, as uWSGI does for large bodies. See spool.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "router/spool.h"

void rtr_spool_reset(struct rtr_spool *s)
{
	buf_reset(&s->mem);
	if (s->fd >= 0)
		close(steal_fd(&s->fd));
	s->size = 0;
	s->sent = 0;
}

void rtr_spool_free(struct rtr_spool *s)
{
	rtr_spool_reset(s);
	buf_free(&s->mem);
}

static int open_tmp(void)
{
	const char *dir = getenv("TMPDIR");
	if (dir == NULL || dir[0] != '/')
		dir = "/tmp";
	return file_tmp_open(dir, "imperium-spool");
}

static int append(struct rtr_spool *s, const char *d, size_t n, uint64_t mem)
{
	if (s->fd < 0 && s->mem.len + n <= mem) {
		s->mem.max = (size_t)mem + 1;
		if (buf_append(&s->mem, d, n) < 0)
			return -1;
	} else {
		if (s->fd < 0) {
			if ((s->fd = open_tmp()) < 0)
				return -1;
			if (file_write_all(s->fd, s->mem.data, s->mem.len) < 0)
				return -1;
			buf_reset(&s->mem);
		}
		if (file_write_all(s->fd, d, n) < 0)
			return -1;
	}
	s->size += n;
	return 0;
}

int rtr_spool_feed(struct rtr_spool *s, struct rtr_h1_chunked *ch, struct buf *in, uint64_t mem,
		   uint64_t max)
{
	while (in->len > 0 && !ch->done) {
		const char *d;
		size_t dl;
		int k = rtr_h1_chunked_step(ch, in->data, in->len, &d, &dl);
		if (k < 0)
			return -1;
		if (dl > 0) {
			if (s->size + dl > max)
				return -2;
			if (append(s, d, dl, mem) < 0)
				return -1;
		}
		buf_consume(in, (size_t)k);
		if (k == 0)
			break;
	}
	return ch->done ? 1 : 0;
}

ssize_t rtr_spool_send(struct rtr_spool *s, struct buf *out, size_t high)
{
	size_t total = 0;
	while (s->sent < s->size && out->len < high) {
		size_t want = high - out->len;
		if (want > s->size - s->sent)
			want = (size_t)(s->size - s->sent);
		if (s->fd < 0) {
			if (buf_append(out, s->mem.data + s->sent, want) < 0)
				return -1;
		} else {
			if (buf_reserve(out, want + 1) < 0)
				return -1;
			ssize_t n = pread(s->fd, out->data + out->len, want, (off_t)s->sent);
			if (n <= 0)
				return -1;
			want = (size_t)n;
			out->len += want;
			out->data[out->len] = '\0';
		}
		s->sent += want;
		total += want;
	}
	return (ssize_t)total;
}
