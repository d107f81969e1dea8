/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The head of a uwsgi request packet as the fastrouter receives it from
 * nginx's uwsgi_pass or another uWSGI router: the 4-byte header (modifier1,
 * vars size, modifier2) and the vars, before the request body. It checks
 * that the vars are a whole run of valid records filling exactly the size
 * the header announces, refuses a head larger than the caller's limit as
 * soon as the header says so, and picks out what routing needs: the key
 * (the last non-empty UWSGI_FASTROUTER_KEY, else HTTP_HOST, else
 * SERVER_NAME), PATH_INFO for mountpoints and CONTENT_LENGTH for the body.
 * Any modifier1 and modifier2 is accepted and reported: nginx sends 0/0,
 * other senders use modifier1 to pick an application and modifier2 for their
 * own purposes; the node gets its own subscribed modifiers in their place,
 * as from uWSGI's fastrouter. No allocation; results point into the input.
 */
#include "router/internal.h"

#include "core/upkt.h"

/* The last value of each var routing needs; a NULL p means absent. */
struct seen {
	struct subpkt_str fkey, host, server_name, path_info, clen;
	bool clen_conflict; /* CONTENT_LENGTH given twice with different values */
};

static bool str_eq(struct subpkt_str a, const struct upkt_var *v)
{
	return a.len == v->vlen && (a.len == 0 || memcmp(a.p, v->val, a.len) == 0);
}

static void note(struct seen *s, const struct upkt_var *v)
{
	struct subpkt_str val = {.p = v->val, .len = v->vlen};
	if (upkt_var_is(v, "UWSGI_FASTROUTER_KEY")) {
		s->fkey = val;
	} else if (upkt_var_is(v, "HTTP_HOST")) {
		s->host = val;
	} else if (upkt_var_is(v, "SERVER_NAME")) {
		s->server_name = val;
	} else if (upkt_var_is(v, "PATH_INFO")) {
		s->path_info = val;
	} else if (upkt_var_is(v, "CONTENT_LENGTH")) {
		/* Two different lengths would let us and the node frame the
		 * body differently (smuggling), so they are refused. */
		if (s->clen.p != NULL && !str_eq(s->clen, v))
			s->clen_conflict = true;
		s->clen = val;
	}
}

/* Walk the vars body; 0, or -1 with *why. */
static int scan_vars(const unsigned char *body, size_t size, struct seen *s, const char **why)
{
	size_t off = 0;
	struct upkt_var v;
	int r;
	while ((r = upkt_var_next(body, size, &off, &v)) > 0)
		note(s, &v);
	if (r == 0)
		return 0;
	/* off is at the bad record: tell an empty key from an overrun */
	if (size - off >= 2 && body[off] == 0 && body[off + 1] == 0)
		*why = "a var has an empty name";
	else
		*why = "a var runs past the header's size";
	return -1;
}

/* The key's bytes must be printable and without spaces, like a subscribed
 * key's, so that it can be logged as it is. */
static bool key_ok(struct subpkt_str k)
{
	for (size_t i = 0; i < k.len; i++) {
		unsigned char c = (unsigned char)k.p[i];
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static int fill(const struct seen *s, struct rtr_uwsgi_req *out, const char **why)
{
	if (s->fkey.len > 0)
		out->key = s->fkey;
	else if (s->host.len > 0)
		out->key = s->host;
	else if (s->server_name.len > 0)
		out->key = s->server_name;
	if (out->key.len > SUBPKT_KEY_MAX) {
		*why = "the key is longer than 254 bytes";
		return -1;
	}
	if (!key_ok(out->key)) {
		*why = "the key has a space or a control byte";
		return -1;
	}
	if (s->path_info.len > 0)
		out->path_info = s->path_info;
	if (s->clen_conflict) {
		*why = "CONTENT_LENGTH given twice with different values";
		return -1;
	}
	/* nginx sends CONTENT_LENGTH "" when the request has no body */
	if (s->clen.len > 0 && upkt_u64(s->clen.p, s->clen.len, &out->content_length) < 0) {
		*why = "CONTENT_LENGTH is not a decimal number in range";
		return -1;
	}
	return 0;
}

int rtr_uwsgi_req_parse(const void *p, size_t len, size_t max_head, struct rtr_uwsgi_req *out,
			const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (max_head < UPKT_HDR_LEN) {
		*why = "the head is larger than the limit";
		return -1;
	}
	struct upkt_hdr h;
	if (upkt_hdr_read(p, len, &h) == 0)
		return 0;
	size_t head_len = UPKT_HDR_LEN + (size_t)h.size;
	if (head_len > max_head) {
		*why = "the head is larger than the limit";
		return -1;
	}
	if (len < head_len)
		return 0;

	struct seen s = {0};
	const unsigned char *body = (const unsigned char *)p + UPKT_HDR_LEN;
	if (scan_vars(body, h.size, &s, why) < 0 || fill(&s, out, why) < 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->modifier1 = h.modifier1;
	out->modifier2 = h.modifier2;
	out->head_len = head_len;
	return (int)head_len;
}
