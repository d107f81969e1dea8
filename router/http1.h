/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP/1.x message heads and chunked framing (inside router/), parsed the
 * way HAProxy's h1 parser does it: resumable, allocation-free, results as
 * pointer+length slices into the caller's buffer.
 *
 * Contract of every parser here: < 0 invalid (the value says which HTTP
 * status to answer), 0 need more bytes, > 0 bytes consumed. A head parser is
 * called again with the same buffer grown; it remembers how far it scanned
 * (in its struct) so a head arriving byte by byte costs O(n) in total.
 */
#ifndef ROUTER_HTTP1_H
#define ROUTER_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTR_H1_MAX_HEADERS 100

/* Negative results: minus the HTTP status to answer. */
#define RTR_H1_BAD -400           /* malformed */
#define RTR_H1_TOO_LARGE -431     /* head longer than the limit, too many headers */
#define RTR_H1_NOT_IMPL -501      /* a Transfer-Encoding other than chunked */
#define RTR_H1_BAD_VERSION -505   /* not HTTP/1.0 or HTTP/1.1 */

struct rtr_h1_hdr {
	const char *name;
	size_t nlen;
	const char *val;          /* leading and trailing blanks trimmed */
	size_t vlen;
};

struct rtr_h1_head {
	size_t scanned;           /* resume point; zero the struct to start (the
				   * only state kept between calls: the buffer
				   * may move, its bytes may not change) */

	/* request line (requests) */
	const char *method;
	size_t mlen;
	const char *uri;          /* request-target as sent */
	size_t ulen;
	const char *path;         /* uri without the query; in absolute-form the
				   * part after the authority, len 0 meaning "/" */
	size_t plen;
	const char *query;        /* after '?', without it; NULL, len 0 when none */
	size_t qlen;
	/* status line (responses) */
	int status;               /* 100..999 */
	const char *reason;
	size_t rlen;

	int minor;                /* HTTP/1.minor: 0 or 1 */
	struct rtr_h1_hdr hdrs[RTR_H1_MAX_HEADERS];
	size_t n_hdrs;
	size_t head_len;          /* bytes of the head, final CRLF included */

	/* derived from the headers */
	const char *host;         /* Host header (requests), else the authority of
				   * an absolute-form target; NULL, len 0 when none */
	size_t hostlen;
	bool has_clen;
	uint64_t clen;            /* Content-Length, at most INT64_MAX */
	bool chunked;             /* Transfer-Encoding: chunked (last coding); in a
				   * response with neither chunked nor has_clen
				   * the body (if any) runs to the close */
	bool conn_close;          /* Connection: close, or HTTP/1.0 without keep-alive */
	bool conn_keepalive;      /* Connection: keep-alive */
	bool upgrade;             /* Connection: upgrade and an Upgrade header (1.1) */
	bool expect_continue;     /* Expect: 100-continue (1.1 requests) */
};

/*
 * rtr_h1_parse_request - parse a request head from p[0..len).
 * @max: largest head accepted (at most INT_MAX; more counts as INT_MAX); a
 *       head not complete within @max bytes gives RTR_H1_TOO_LARGE.
 * Returns head_len (> 0) when the head is complete, 0 when more bytes are
 * needed, or a negative RTR_H1_* value. Checks: method a token, target
 * starting with '/' (or "*" for OPTIONS, or absolute-form http:// or
 * https:// without userinfo; no authority-form, so no CONNECT), version
 * HTTP/1.0 or 1.1 (another HTTP/x.y is RTR_H1_BAD_VERSION), header names
 * tokens, no obs-fold, no NUL/CR/LF inside values, at most one Host, a
 * non-empty host[:port] made of RFC 3986 host characters, Host required in
 * 1.1, Content-Length all digits and consistent when repeated,
 * Content-Length together with Transfer-Encoding refused (request
 * smuggling), as are Transfer-Encoding in 1.0, "chunked" twice, with
 * parameters or not last; a last coding other than chunked ->
 * RTR_H1_NOT_IMPL. Lines end in CRLF; a bare LF is accepted; empty lines
 * before the request line are skipped and counted in head_len.
 * Errors are reported once the head is complete (so any split of the input
 * gives the same answer), except a first byte that cannot start a request
 * line, which is refused at once.
 */
int rtr_h1_parse_request(const char *p, size_t len, size_t max, struct rtr_h1_head *h);

/*
 * rtr_h1_parse_response - same for a response head (status line
 * "HTTP/1.x NNN reason", the reason possibly empty or absent with its
 * space). Content-Length with Transfer-Encoding: the chunked framing wins
 * (RFC 9112) rather than refusing, has_clen is false; a last coding other
 * than chunked leaves both false (read to close); Transfer-Encoding in a
 * 1.0 response sets conn_close. Host is not looked at.
 */
int rtr_h1_parse_response(const char *p, size_t len, size_t max, struct rtr_h1_head *h);

/* rtr_h1_header - the first header named @name (case-insensitive), or NULL. */
const struct rtr_h1_hdr *rtr_h1_header(const struct rtr_h1_head *h, const char *name);

/*
 * rtr_h1_rebase - after the head's bytes were copied from @from to @to, make
 * every slice of @h point into the copy (what parsing the copy again would
 * give, without the second parse).
 */
void rtr_h1_rebase(struct rtr_h1_head *h, const char *from, const char *to);

/* rtr_h1_token_eq - case-insensitive equality of a slice and a C string. */
bool rtr_h1_token_eq(const char *p, size_t n, const char *s);

/*
 * rtr_h1_response_has_body - whether a response to @method with @status
 * carries a body (not HEAD, not 1xx, 204, 304, nor a 2xx to CONNECT).
 */
bool rtr_h1_response_has_body(const char *method, size_t mlen, int status);

/* Chunked body decoder state; zero it to start. */
struct rtr_h1_chunked {
	int state;
	uint64_t left;            /* data bytes left in the current chunk */
	size_t line;              /* bytes of the current size/trailer line */
	bool done;                /* the last chunk and the trailers are consumed */
};

/*
 * rtr_h1_chunked_step - decode from p[0..len).
 * Returns the bytes consumed (>= 0; 0 only when len is 0 or done), or
 * RTR_H1_BAD. When chunk data is among the consumed bytes, *data and *dlen
 * give one contiguous run of it (the call stops at the end of that run, so a
 * caller loops); otherwise *dlen is 0 and *data NULL. Sizes are hex, at
 * most 15 digits, then optional blanks; chunk extensions and trailers are
 * skipped (a NUL in them is refused), each line at most 4096 bytes; the CRLF
 * after chunk data is required. Lines end in CRLF or a bare LF. Sets c->done
 * after the final CRLF and consumes nothing after it. Any split of the input
 * gives the same data and result.
 */
int rtr_h1_chunked_step(struct rtr_h1_chunked *c, const char *p, size_t len,
			const char **data, size_t *dlen);

#endif
