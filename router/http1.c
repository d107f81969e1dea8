/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * HTTP/1.x message heads and chunked framing for the router's HTTP front end
 * (see http1.h). A head is handled in two steps, as HAProxy does: first a
 * cheap, resumable memchr() walk finds the empty line that ends it (resuming
 * at the last undecided LF, so a head arriving byte by byte costs O(n)),
 * then the complete head is parsed in one pass with no "need more" checks,
 * every byte classified through one table. Results are slices of the input.
 * The chunked decoder is a byte-driven state machine that hands chunk data
 * back as runs of the input, never copied.
 */
#include "router/http1.h"

#include <limits.h>
#include <string.h>

/* Character classes (RFC 9110 5.6.2 tchar, 5.5 field values). */
enum {
	C_TOKEN = 1, /* tchar */
	C_STOP = 2,  /* ends a field value: NUL, CR, LF */
	C_BLANK = 4, /* SP, HT */
	C_HEX = 8,   /* hex digit */
	C_HOST = 16, /* in a Host value: RFC 3986 reg-name, IP-literal, port */
};

/* clang-format off */
#define TH (C_TOKEN | C_HOST)
static const uint8_t cls[256] = {
	[0] = C_STOP, ['\r'] = C_STOP, ['\n'] = C_STOP,
	[' '] = C_BLANK, ['\t'] = C_BLANK,
	['!'] = TH, ['#'] = C_TOKEN, ['$'] = TH, ['%'] = TH, ['&'] = TH, ['\''] = TH,
	['*'] = TH, ['+'] = TH, ['-'] = TH, ['.'] = TH, ['^'] = C_TOKEN, ['_'] = TH,
	['`'] = C_TOKEN, ['|'] = C_TOKEN, ['~'] = TH,
	['('] = C_HOST, [')'] = C_HOST, [','] = C_HOST, [';'] = C_HOST, ['='] = C_HOST,
	[':'] = C_HOST, ['['] = C_HOST, [']'] = C_HOST,
	['0' ... '9'] = TH | C_HEX,
	['A' ... 'F'] = TH | C_HEX, ['G' ... 'Z'] = TH,
	['a' ... 'f'] = TH | C_HEX, ['g' ... 'z'] = TH,
};
#undef TH
/* clang-format on */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline bool is(char c, unsigned what)
{
	return (cls[(uint8_t)c] & what) != 0;
}

static inline unsigned char lower(unsigned char c)
{
	return (unsigned char)(c - 'A') < 26 ? c | 0x20 : c;
}

/*
 * A header name (token characters only) against a lowercase literal made of
 * letters and '-': for token bytes, c | 0x20 equals such a literal byte only
 * for the letter in either case or '-' itself.
 */
static bool name_is(const char *n, const char *lit, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)n[i] | 0x20) != (unsigned char)lit[i])
			return false;
	return true;
}

bool rtr_h1_token_eq(const char *p, size_t n, const char *s)
{
	size_t i = 0;
	for (; i < n; i++)
		if (s[i] == '\0' || lower((unsigned char)p[i]) != lower((unsigned char)s[i]))
			return false;
	return s[i] == '\0';
}

const struct rtr_h1_hdr *rtr_h1_header(const struct rtr_h1_head *h, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < h->n_hdrs; i++)
		if (h->hdrs[i].nlen == n && rtr_h1_token_eq(h->hdrs[i].name, n, name))
			return &h->hdrs[i];
	return NULL;
}

bool rtr_h1_response_has_body(const char *method, size_t mlen, int status)
{
	if (status < 200 || status == 204 || status == 304)
		return false;
	if (mlen == 4 && memcmp(method, "HEAD", 4) == 0)
		return false;
	/* A successful CONNECT turns the connection into a tunnel. */
	if (mlen == 7 && memcmp(method, "CONNECT", 7) == 0 && status < 300)
		return false;
	return true;
}

/* ---- one pass over a complete head ---------------------------------- */

/* What the header fields say about framing and the connection. */
struct fields {
	unsigned hosts;
	bool upgrade_hdr;  /* an Upgrade header is present */
	bool conn_upgrade; /* Connection lists "upgrade" */
	bool te;	   /* a Transfer-Encoding header is present */
	bool te_chunked;   /* the last coding so far is chunked */
	bool te_seen_chk;  /* chunked appeared at all */
	bool te_after_chk; /* a coding follows chunked */
	unsigned codings;
};

/*
 * Skip bytes until NUL, CR or LF (at most until @end, whose last byte is an
 * LF). Eight bytes at a time while none of them is below 0x0e: that test
 * (exact as a yes/no, for bytes under 0x80) rules out the three stop bytes.
 */
static size_t scan_value(const char *p, size_t q, size_t end)
{
	for (;;) {
		while (q + 8 <= end) {
			uint64_t x;
			memcpy(&x, p + q, 8);
			if (((x - 0x0e * ONES) & ~x & HIGHS) != 0)
				break;
			q += 8;
		}
		size_t stop = q + 8 < end ? q + 8 : end;
		for (; q < stop; q++)
			if (is(p[q], C_STOP))
				return q;
	}
}

/* Skip request-target bytes (0x21..0x7e), eight at a time where possible. */
static size_t scan_target(const char *p, size_t q, size_t end)
{
	while (q + 8 <= end) {
		uint64_t x;
		memcpy(&x, p + q, 8);
		/* a byte below 0x21, or one of 0x7f..0xff */
		if ((((x - 0x21 * ONES) & ~x) | (x + ONES) | x) & HIGHS)
			break;
		q += 8;
	}
	while ((unsigned char)(p[q] - 0x21) <= 0x7e - 0x21)
		q++;
	return q;
}

/* The line end at @q: an optional CR, then LF. Returns the next line's start. */
static int eol(const char *p, size_t *q)
{
	if (p[*q] == '\r')
		(*q)++;
	if (p[*q] != '\n')
		return RTR_H1_BAD;
	(*q)++;
	return 0;
}

static size_t skip_blanks(const char *p, size_t q)
{
	while (is(p[q], C_BLANK))
		q++;
	return q;
}

/* "HTTP/1.0" or "HTTP/1.1"; another HTTP/x.y is 505, anything else 400. */
static int version(const char *v, size_t n, int *minor)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || (unsigned char)(v[5] - '0') > 9 ||
	    v[6] != '.' || (unsigned char)(v[7] - '0') > 9)
		return RTR_H1_BAD;
	if (v[5] != '1' || v[7] > '1')
		return RTR_H1_BAD_VERSION;
	*minor = v[7] - '0';
	return 0;
}

/*
 * A Host value or URI authority: non-empty, and only the bytes of RFC 3986's
 * host and port. It keys the routing table, so '/', '@', blanks and the like
 * are refused rather than matched.
 */
static bool host_ok(const char *v, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is(v[i], C_HOST))
			return false;
	return true;
}

static void set_path(struct rtr_h1_head *h, const char *s, size_t n)
{
	const char *qm = memchr(s, '?', n);
	h->path = s;
	h->plen = qm ? (size_t)(qm - s) : n;
	if (qm) {
		h->query = qm + 1;
		h->qlen = n - h->plen - 1;
	}
}

/* The length of a leading "http://" or "https://" (any case), else 0. */
static size_t scheme_len(const char *u, size_t n)
{
	if (n >= 7 && rtr_h1_token_eq(u, 7, "http://"))
		return 7;
	if (n >= 8 && rtr_h1_token_eq(u, 8, "https://"))
		return 8;
	return 0;
}

/*
 * Split the request-target into path and query. Absolute-form gives the
 * authority in @auth (no userinfo allowed: RFC 9110 4.2.4).
 */
static int target(struct rtr_h1_head *h, const char **auth, size_t *alen)
{
	const char *u = h->uri;
	size_t n = h->ulen;
	if (u[0] == '/') {
		set_path(h, u, n);
		return 0;
	}
	if (n == 1 && u[0] == '*') {
		if (h->mlen != 7 || memcmp(h->method, "OPTIONS", 7) != 0)
			return RTR_H1_BAD;
		h->path = u;
		h->plen = 1;
		return 0;
	}
	size_t s = scheme_len(u, n), a = s;
	if (s == 0)
		return RTR_H1_BAD;
	while (a < n && u[a] != '/' && u[a] != '?')
		a++;
	if (!host_ok(u + s, a - s))
		return RTR_H1_BAD; /* empty, or userinfo ('@') */
	*auth = u + s;
	*alen = a - s;
	set_path(h, u + a, n - a); /* plen 0 for "http://host" means "/" */
	return 0;
}

static int request_line(const char *p, size_t *qp, size_t end, struct rtr_h1_head *h,
			const char **auth, size_t *alen)
{
	size_t q = *qp, m = q;
	while (is(p[q], C_TOKEN))
		q++;
	if (q == m || !is(p[q], C_BLANK))
		return RTR_H1_BAD;
	h->method = p + m;
	h->mlen = q - m;
	size_t u = skip_blanks(p, q);
	q = scan_target(p, u, end);
	if (q == u || !is(p[q], C_BLANK))
		return RTR_H1_BAD; /* also HTTP/0.9, control and non-ASCII bytes */
	h->uri = p + u;
	h->ulen = q - u;
	size_t v = skip_blanks(p, q);
	q = scan_target(p, v, end);
	/* Version before target semantics: "PRI * HTTP/2.0" is a 505. */
	int r = version(p + v, q - v, &h->minor);
	if (r < 0 || (r = eol(p, &q)) < 0 || (r = target(h, auth, alen)) < 0)
		return r;
	*qp = q;
	return 0;
}

static int status_line(const char *p, size_t *qp, size_t end, struct rtr_h1_head *h)
{
	size_t q = scan_target(p, *qp, end);
	int r = version(p + *qp, q - *qp, &h->minor);
	if (r < 0)
		return r;
	if (!is(p[q], C_BLANK))
		return RTR_H1_BAD;
	q = skip_blanks(p, q);
	int st = 0;
	for (int i = 0; i < 3; i++, q++) {
		if ((unsigned char)(p[q] - '0') > 9)
			return RTR_H1_BAD;
		st = st * 10 + (p[q] - '0');
	}
	if (st < 100)
		return RTR_H1_BAD;
	h->status = st;
	if (is(p[q], C_BLANK))
		q++;
	else if (p[q] != '\r' && p[q] != '\n')
		return RTR_H1_BAD; /* "2000", "200OK" */
	size_t rs = q;
	q = scan_value(p, q, end);
	h->reason = p + rs;
	h->rlen = q - rs;
	if (p[q] == '\0' || eol(p, &q) < 0)
		return RTR_H1_BAD;
	*qp = q;
	return 0;
}

/*
 * Content-Length: a comma list of equal decimal values (RFC 9110 8.6), equal
 * to any earlier one too. Values above INT64_MAX are refused so that no
 * signed reader downstream can see a negative length.
 */
static int clen_value(const char *v, size_t n, struct rtr_h1_head *h)
{
	size_t i = 0;
	for (;;) {
		while (i < n && is(v[i], C_BLANK))
			i++;
		size_t d = i;
		uint64_t x = 0;
		for (; i < n && (unsigned char)(v[i] - '0') <= 9; i++) {
			unsigned dig = (unsigned)(v[i] - '0');
			if (x > ((uint64_t)INT64_MAX - dig) / 10)
				return RTR_H1_BAD;
			x = x * 10 + dig;
		}
		if (i == d)
			return RTR_H1_BAD;
		while (i < n && is(v[i], C_BLANK))
			i++;
		if (h->has_clen && x != h->clen)
			return RTR_H1_BAD;
		h->has_clen = true;
		h->clen = x;
		if (i == n)
			return 0;
		if (v[i++] != ',')
			return RTR_H1_BAD;
	}
}

/* The next comma-list element of v[*i..n), blanks trimmed; false at the end. */
static bool next_elem(const char *v, size_t n, size_t *i, const char **e, size_t *elen)
{
	while (*i < n && (v[*i] == ',' || is(v[*i], C_BLANK)))
		(*i)++;
	if (*i == n)
		return false;
	const char *c = memchr(v + *i, ',', n - *i);
	size_t stop = c ? (size_t)(c - v) : n, b = *i;
	*i = stop;
	while (stop > b && is(v[stop - 1], C_BLANK))
		stop--;
	*e = v + b;
	*elen = stop - b;
	return true;
}

/* Transfer-Encoding codings, in order across repeated headers. */
static int te_value(const char *v, size_t n, struct fields *f)
{
	const char *e;
	size_t el, i = 0;
	f->te = true;
	while (next_elem(v, n, &i, &e, &el)) {
		size_t t = 0;
		while (t < el && is(e[t], C_TOKEN))
			t++;
		size_t u = t;
		while (u < el && is(e[u], C_BLANK))
			u++;
		if (t == 0 || (u < el && e[u] != ';'))
			return RTR_H1_BAD; /* a token, then parameters at most */
		if (f->te_seen_chk)
			f->te_after_chk = true;
		f->te_chunked = rtr_h1_token_eq(e, t, "chunked");
		/* chunked twice, or with parameters, frames nothing anyone agrees on */
		if (f->te_chunked && (f->te_seen_chk || t != el))
			return RTR_H1_BAD;
		f->te_seen_chk |= f->te_chunked;
		f->codings++;
	}
	return 0;
}

static void conn_value(const char *v, size_t n, struct rtr_h1_head *h, struct fields *f)
{
	const char *e;
	size_t el, i = 0;
	while (next_elem(v, n, &i, &e, &el)) {
		if (rtr_h1_token_eq(e, el, "close"))
			h->conn_close = true;
		else if (rtr_h1_token_eq(e, el, "keep-alive"))
			h->conn_keepalive = true;
		else if (rtr_h1_token_eq(e, el, "upgrade"))
			f->conn_upgrade = true;
	}
}

/* The fields that matter to framing and routing; names are tokens here. */
static int special(const struct rtr_h1_hdr *x, struct rtr_h1_head *h, struct fields *f, bool resp)
{
	switch (x->nlen) {
	case 4:
		if (!resp && name_is(x->name, "host", 4)) {
			h->host = x->val;
			h->hostlen = x->vlen;
			if (++f->hosts > 1 || !host_ok(x->val, x->vlen))
				return RTR_H1_BAD;
		}
		break;
	case 6:
		if (!resp && name_is(x->name, "expect", 6) &&
		    rtr_h1_token_eq(x->val, x->vlen, "100-continue"))
			h->expect_continue = true;
		break;
	case 7:
		if (name_is(x->name, "upgrade", 7))
			f->upgrade_hdr = true;
		break;
	case 10:
		if (name_is(x->name, "connection", 10))
			conn_value(x->val, x->vlen, h, f);
		break;
	case 14:
		if (name_is(x->name, "content-length", 14))
			return clen_value(x->val, x->vlen, h);
		break;
	case 17:
		if (name_is(x->name, "transfer-encoding", 17))
			return te_value(x->val, x->vlen, f);
		break;
	}
	return 0;
}

/* One "name: value" line at *qp; 1 when *qp was the final empty line. */
static int header_line(const char *p, size_t *qp, size_t end, struct rtr_h1_head *h,
		       struct fields *f, bool resp)
{
	size_t q = *qp, n = q;
	if (p[q] == '\r' || p[q] == '\n') {
		if (eol(p, qp) < 0)
			return RTR_H1_BAD;
		return 1;
	}
	/* a leading blank is obs-fold (RFC 9112 5.2); a blank before ':' is refused */
	while (is(p[q], C_TOKEN))
		q++;
	if (q == n || p[q] != ':')
		return RTR_H1_BAD;
	if (h->n_hdrs == RTR_H1_MAX_HEADERS)
		return RTR_H1_TOO_LARGE;
	struct rtr_h1_hdr *x = &h->hdrs[h->n_hdrs++];
	x->name = p + n;
	x->nlen = q - n;
	size_t v = skip_blanks(p, q + 1);
	q = scan_value(p, v, end);
	size_t ve = q;
	while (ve > v && is(p[ve - 1], C_BLANK))
		ve--;
	x->val = p + v;
	x->vlen = ve - v;
	if (p[q] == '\0' || eol(p, &q) < 0)
		return RTR_H1_BAD; /* NUL, or a CR not before LF */
	*qp = q;
	return special(x, h, f, resp);
}

/* Framing and connection rules once every field is known. */
static int conclude(struct rtr_h1_head *h, const struct fields *f, bool resp)
{
	if (f->te) {
		if (f->codings == 0)
			return RTR_H1_BAD;
		if (!resp) {
			/* RFC 9112 6.1 and 6.3: smuggling vectors are refused */
			if (h->minor == 0 || h->has_clen || f->te_after_chk)
				return RTR_H1_BAD;
			if (!f->te_chunked)
				return RTR_H1_NOT_IMPL;
		}
		/* A response framed by anything but a final chunked reads to close. */
		h->chunked = f->te_chunked;
		h->has_clen = false;
		h->clen = 0;
		if (h->minor == 0)
			h->conn_close = true; /* RFC 9112 6.1: faulty framing in 1.0 */
	}
	if (h->minor == 0 && !h->conn_keepalive)
		h->conn_close = true;
	/* RFC 9110 7.8 and 10.1.1: 1.0 peers' Upgrade and Expect are ignored */
	h->upgrade = h->minor == 1 && f->conn_upgrade && f->upgrade_hdr;
	if (h->minor == 0)
		h->expect_continue = false;
	return 0;
}

static void reset(struct rtr_h1_head *h)
{
	h->method = h->uri = h->path = h->query = h->reason = h->host = NULL;
	h->mlen = h->ulen = h->plen = h->qlen = h->rlen = h->hostlen = 0;
	h->status = h->minor = 0;
	h->n_hdrs = h->head_len = 0;
	h->clen = 0;
	h->has_clen = h->chunked = h->conn_close = h->conn_keepalive = false;
	h->upgrade = h->expect_continue = false;
}

/* Parse the complete head p[0..end): p[end - 1] is the LF of its empty line. */
static int parse_head(const char *p, size_t end, struct rtr_h1_head *h, bool resp)
{
	size_t q = 0;
	const char *auth = NULL;
	size_t alen = 0;
	reset(h);
	while (p[q] == '\r' || p[q] == '\n')
		q++; /* leading empty lines, already checked while scanning */
	int r = resp ? status_line(p, &q, end, h) : request_line(p, &q, end, h, &auth, &alen);
	if (r < 0)
		return r;
	struct fields f = {0};
	while ((r = header_line(p, &q, end, h, &f, resp)) == 0)
		;
	if (r < 0)
		return r;
	if (q != end)
		return RTR_H1_BAD; /* cannot happen: the scan found this line */
	if ((r = conclude(h, &f, resp)) < 0)
		return r;
	if (!resp) {
		if (h->minor == 1 && f.hosts == 0)
			return RTR_H1_BAD; /* RFC 9112 3.2 */
		if (f.hosts == 0 && auth != NULL) {
			h->host = auth;
			h->hostlen = alen;
		}
	}
	h->head_len = end;
	return (int)end;
}

/* ---- finding the end of a head -------------------------------------- */

static int need_more(size_t len, size_t max)
{
	return len >= max ? RTR_H1_TOO_LARGE : 0;
}

/*
 * Between calls only h->scanned is kept, and it says which phase we are in
 * without another field:
 *  - before the start line, it is the count of leading empty-line bytes
 *    skipped, so it is 0 or follows an LF;
 *  - once the start line has begun, it is where the LF search resumes: the
 *    last LF whose next line was not yet complete, or the end of the bytes
 *    seen. The byte before such a position is never an LF (two LFs in a row
 *    past the start line would have ended the head).
 * Errors are only reported on a complete head, except for a bad first byte,
 * which every later call would refuse anyway; so any split of the input
 * gives the same result as the whole.
 */
static int h1_parse(const char *p, size_t len, size_t max, struct rtr_h1_head *h, bool resp)
{
	if (max > INT_MAX)
		max = INT_MAX;
	size_t lim = len < max ? len : max, s = h->scanned;
	if (s > lim)
		s = lim; /* the caller broke the contract; stay inside the buffer */
	if (s == 0 || p[s - 1] == '\n') {
		while (s < lim && (p[s] == '\n' || p[s] == '\r')) {
			if (p[s] == '\n') {
				s++;
				continue;
			}
			if (s + 1 == lim)
				break;
			if (p[s + 1] != '\n')
				return RTR_H1_BAD;
			s += 2;
		}
		h->scanned = s;
		if (s == lim || p[s] == '\r')
			return need_more(len, max);
		if (resp ? p[s] != 'H' : !is(p[s], C_TOKEN))
			return RTR_H1_BAD; /* e.g. a TLS hello on a plain port */
	}
	const char *e = p + lim;
	for (const char *q = p + s;;) {
		const char *lf = memchr(q, '\n', (size_t)(e - q));
		if (lf == NULL) {
			h->scanned = lim;
			return need_more(len, max);
		}
		size_t i = (size_t)(lf - p), end = 0;
		if (i + 1 < lim && p[i + 1] == '\n')
			end = i + 2;
		else if (i + 2 < lim && p[i + 1] == '\r' && p[i + 2] == '\n')
			end = i + 3;
		else if (i + 1 == lim || (i + 2 == lim && p[i + 1] == '\r')) {
			h->scanned = i;
			return need_more(len, max);
		}
		if (end != 0) {
			h->scanned = i; /* a repeated call finds the same head */
			return parse_head(p, end, h, resp);
		}
		q = lf + 1;
	}
}

int rtr_h1_parse_request(const char *p, size_t len, size_t max, struct rtr_h1_head *h)
{
	return h1_parse(p, len, max, h, false);
}

int rtr_h1_parse_response(const char *p, size_t len, size_t max, struct rtr_h1_head *h)
{
	return h1_parse(p, len, max, h, true);
}

/* ---- chunked bodies -------------------------------------------------- */

#define CHUNK_LINE_MAX 4096
#define CHUNK_DIGITS_MAX 15

enum chunk_state {
	CK_SIZE,       /* hex digits */
	CK_SIZE_BWS,   /* blanks after the size, before ';' or the line end */
	CK_EXT,	       /* chunk extensions, skipped */
	CK_SIZE_LF,    /* CR seen at the end of the size line */
	CK_DATA,       /* c->left bytes of data */
	CK_DATA_CR,    /* the CRLF after the data */
	CK_DATA_LF,    /* its LF */
	CK_TRAILER,    /* the start of a trailer line, or the final empty line */
	CK_TRAILER_IN, /* inside a trailer line */
	CK_TRAILER_LF, /* CR seen at the end of a trailer line */
	CK_END_LF,     /* CR of the final empty line seen */
};

static int hexval(unsigned char c)
{
	if ((unsigned)(c - '0') <= 9)
		return c - '0';
	return lower(c) - 'a' + 10;
}

/* The size line is complete: data follows, or the last chunk's trailers. */
static void size_done(struct rtr_h1_chunked *c)
{
	c->state = c->left ? CK_DATA : CK_TRAILER;
	c->line = 0;
}

/* Count one more byte of the current line; false when it grows too long. */
static bool line_byte(struct rtr_h1_chunked *c)
{
	return ++c->line <= CHUNK_LINE_MAX;
}

/* Skip to the CR or LF of an extension or trailer line; NUL is refused. */
static int skip_line(struct rtr_h1_chunked *c, const char *p, size_t *ip, size_t len, int cr_state,
		     int lf_state)
{
	/* look at no more than one byte past what the line may still hold */
	size_t i = *ip, room = CHUNK_LINE_MAX - c->line;
	size_t stop = len - i > room ? i + room + 1 : len;
	while (i < stop && !is(p[i], C_STOP))
		i++;
	c->line += i - *ip;
	if (c->line > CHUNK_LINE_MAX)
		return RTR_H1_BAD;
	if (i < len) {
		if (p[i] == '\0')
			return RTR_H1_BAD;
		if (p[i] == '\r') {
			c->state = cr_state;
		} else {
			c->state = lf_state;
			if (lf_state == CK_DATA) /* the size line ended with a bare LF */
				size_done(c);
			else
				c->line = 0;
		}
		i++;
	}
	*ip = i;
	return 0;
}

int rtr_h1_chunked_step(struct rtr_h1_chunked *c, const char *p, size_t len, const char **data,
			size_t *dlen)
{
	size_t i = 0;
	*data = NULL;
	*dlen = 0;
	if (len > INT_MAX)
		len = INT_MAX;
	while (i < len && !c->done) {
		unsigned char ch = (unsigned char)p[i];
		switch (c->state) {
		case CK_SIZE:
			if (is((char)ch, C_HEX)) {
				if (c->line == CHUNK_DIGITS_MAX)
					return RTR_H1_BAD;
				c->left = c->left << 4 | (uint64_t)hexval(ch);
				c->line++;
				i++;
				break;
			}
			if (c->line == 0)
				return RTR_H1_BAD;
			c->state = CK_SIZE_BWS; /* this byte is looked at again */
			break;
		case CK_SIZE_BWS:
			if (ch == ';' || is((char)ch, C_BLANK)) {
				if (!line_byte(c))
					return RTR_H1_BAD;
				if (ch == ';')
					c->state = CK_EXT;
			} else if (ch == '\r') {
				c->state = CK_SIZE_LF;
			} else if (ch == '\n') {
				size_done(c);
			} else {
				return RTR_H1_BAD;
			}
			i++;
			break;
		case CK_EXT:
			if (skip_line(c, p, &i, len, CK_SIZE_LF, CK_DATA) < 0)
				return RTR_H1_BAD;
			break;
		case CK_SIZE_LF:
			if (ch != '\n')
				return RTR_H1_BAD;
			size_done(c);
			i++;
			break;
		case CK_DATA: {
			size_t n = len - i;
			if (n > c->left)
				n = (size_t)c->left;
			*data = p + i;
			*dlen = n;
			c->left -= n;
			if (c->left == 0)
				c->state = CK_DATA_CR;
			return (int)(i + n);
		}
		case CK_DATA_CR:
		case CK_DATA_LF:
			if (ch == '\r' && c->state == CK_DATA_CR) {
				c->state = CK_DATA_LF;
			} else if (ch == '\n') {
				c->state = CK_SIZE;
				c->line = 0;
			} else {
				return RTR_H1_BAD; /* the data is longer than announced */
			}
			i++;
			break;
		case CK_TRAILER:
			if (ch == '\r') {
				c->state = CK_END_LF;
				i++;
			} else if (ch == '\n') {
				c->done = true;
				i++;
			} else {
				c->state = CK_TRAILER_IN;
				c->line = 0;
			}
			break;
		case CK_TRAILER_IN:
			if (skip_line(c, p, &i, len, CK_TRAILER_LF, CK_TRAILER) < 0)
				return RTR_H1_BAD;
			break;
		case CK_TRAILER_LF:
		case CK_END_LF:
			if (ch != '\n')
				return RTR_H1_BAD;
			if (c->state == CK_END_LF)
				c->done = true;
			c->state = CK_TRAILER;
			c->line = 0;
			i++;
			break;
		default:
			return RTR_H1_BAD;
		}
	}
	return (int)i;
}

static void rebase(const char **p, const char *from, const char *to)
{
	if (*p != NULL)
		*p = to + (*p - from);
}

void rtr_h1_rebase(struct rtr_h1_head *h, const char *from, const char *to)
{
	rebase(&h->method, from, to);
	rebase(&h->uri, from, to);
	rebase(&h->path, from, to);
	rebase(&h->query, from, to);
	rebase(&h->reason, from, to);
	rebase(&h->host, from, to);
	for (size_t i = 0; i < h->n_hdrs; i++) {
		rebase(&h->hdrs[i].name, from, to);
		rebase(&h->hdrs[i].val, from, to);
	}
}
