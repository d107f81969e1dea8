/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared inside router/: the router's context, its listeners, the local
 * vassal sockets, the two halves of a proxied request (the client
 * connection and its backend connection), and the stream front ends
 * (fastrouter, rawrouter, sslrouter). Every watcher is embedded in the
 * struct that owns it.
 */
#ifndef ROUTER_INTERNAL_H
#define ROUTER_INTERNAL_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/subpkt.h"
#include "router/http1.h"
#include "router/router.h"
#include "router/table.h"

#define RTR_IO_CHUNK 65536          /* bytes per read */
#define RTR_HIGH_WATER (256 * 1024) /* stop reading the other side above this */
#define RTR_LOCAL_ADDRS 16
#define RTR_DROPLOG_SLOTS 32

/* Bytes a capped buffer can still take (its NUL terminator kept). */
static inline size_t rtr_room(const struct buf *b)
{
	return b->max > b->len + 1 ? b->max - b->len - 1 : 0;
}

/* Watch @w for @events (EV_READ|EV_WRITE, 0 for none); libev batches the
 * change, so flipping interest costs at most one epoll_ctl per loop. */
static inline void rtr_io_want(struct ev_loop *loop, ev_io *w, int fd, int events)
{
	if ((w->events & (EV_READ | EV_WRITE)) == events && ev_is_active(w))
		return;
	ev_io_stop(loop, w);
	ev_io_set(w, fd, events);
	if (events)
		ev_io_start(loop, w);
}

/* Append "NAME: VALUE\r\n" with two copies: heads are rebuilt for every
 * request, and printf's parsing would be most of their cost. */
static inline int rtr_put_header(struct buf *b, const char *n, size_t nl, const char *v,
				 size_t vl)
{
	if (buf_reserve(b, nl + vl + 4) < 0)
		return -1;
	char *p = b->data + b->len;
	memcpy(p, n, nl);
	p += nl;
	*p++ = ':';
	*p++ = ' ';
	memcpy(p, v, vl);
	p += vl;
	*p++ = '\r';
	*p++ = '\n';
	b->len += nl + vl + 4;
	b->data[b->len] = '\0';
	return 0;
}

/* The stream front ends (stats index). */
enum rtr_skind { RTR_S_FAST, RTR_S_RAW, RTR_S_SSL, RTR_S__COUNT };

/* How a stream connection ended (stats). */
enum rtr_sclose {
	RTR_SC_DONE,            /* both directions finished, or a peer reset once connected */
	RTR_SC_BAD_HEAD,        /* fastrouter: a bad uwsgi head; sslrouter: a failed handshake */
	RTR_SC_UNKNOWN_KEY,     /* no key, or no pool for it */
	RTR_SC_NO_NODE,         /* a pool without a live node (or, fastrouter, an http node) */
	RTR_SC_CONNECT_FAILED,  /* every node tried failed to connect (http-retries) */
	RTR_SC_TIMEOUT,         /* head/handshake not in time, or no progress for http-timeout */
	RTR_SC__COUNT
};

struct rtr_stream_stats {
	uint64_t accepted;
	uint64_t active;
	uint64_t refused_at_limit;  /* accepts paused by a listener of this kind */
	uint64_t connect_failures;  /* connects to a node that failed (each try) */
	uint64_t closed[RTR_SC__COUNT];
	uint64_t bytes_in;          /* from clients (decrypted for sslrouter) */
	uint64_t bytes_out;         /* to clients */
};

/* Why the subscription server dropped or refused a packet (stats). */
enum rtr_drop {
	RTR_DROP_MALFORMED = 0, /* + subpkt_drop reason, see sub_drops[] */
	RTR_DROP_FOREIGN_KEY,   /* a local vassal claimed a key not its own */
	RTR_DROP_FOREIGN_ADDR,  /* ... or an address not its own */
	RTR_DROP_BAD_ADDRESS,
	RTR_DROP_BAD_ALGO,
	RTR_DROP_FULL,
	RTR_DROP_UNSIGNED,      /* unsigned, for a key with a key file or with sign-required */
	RTR_DROP_NO_KEY_FILE,   /* sign-required, and no key file for the key */
	RTR_DROP_BAD_SIGNATURE, /* the signature does not verify (forged, other key, truncated) */
	RTR_DROP_REPLAY,        /* `unix` not above the last one accepted for key and node */
	RTR_DROP_CLOCK_SKEW,    /* `unix` too far from our clock, either way */
	RTR_DROP_COUNTERS_FULL, /* no room to remember one more key and node's counter */
	RTR_DROP__COUNT
};

struct rtr;

/* What a listener serves. */
enum rtr_lkind {
	RTR_L_SUB,                  /* a subscription server (datagrams) */
	RTR_L_HTTP,
	RTR_L_HTTPS,
	RTR_L_FAST,                 /* `fastrouter`: uwsgi packets */
	RTR_L_RAW,                  /* `rawrouter`: TCP bytes */
	RTR_L_SSL,                  /* `sslrouter`: TLS, then bytes */
};

/* Client listeners (every kind but RTR_L_SUB) share http-max-connections. */
static inline bool rtr_lkind_client(enum rtr_lkind k)
{
	return k != RTR_L_SUB;
}

struct rtr_listener {
	struct rtr *r;
	int fd;
	ev_io io;
	struct addr addr;
	enum rtr_lkind kind;
	const char *key;            /* rawrouter: every connection's key (in r->cfg) */
	struct rtr_tls_listener *tls; /* https/sslrouter: the default context; NULL otherwise */
};

struct rtr_local {
	struct rtr *r;
	struct rtr_local *next, *prev;
	int fd;
	ev_io io;
	char vassal[RTR_VASSAL_MAX + 1];
	char *keys[RTR_LOCAL_KEYS];
	size_t n_keys;
	char *addrs[RTR_LOCAL_ADDRS];
	size_t n_addrs;
};

/* How a body is framed on its way through. */
enum rtr_body {
	BODY_NONE,
	BODY_CLEN,           /* `left` bytes, passed through */
	BODY_CHUNKED,        /* chunked, passed through raw (decoded to find the end) */
	BODY_DECHUNK,        /* chunked in, plain out (then close) */
	BODY_CLOSE,          /* until the sender closes, passed through */
	BODY_CLOSE_CHUNK,    /* until the sender closes, chunk-encoded out */
	BODY_SPOOL,          /* chunked request to a uwsgi node: decoded into the spool */
};

/* A chunked request body decoded to memory, then to an O_TMPFILE file. */
struct rtr_spool {
	struct buf mem;
	int fd;                     /* -1 while in memory */
	uint64_t size;              /* bytes spooled */
	uint64_t sent;              /* bytes sent to the node */
};

struct rtr_client;

struct rtr_backend {
	struct rtr *r;
	struct rtr_client *c;       /* NULL while idle in a node's pool */
	struct rtr_node *node;      /* held with rtr_node_ref */
	struct rtr_backend *idle_next;
	int fd;
	ev_io io;
	ev_timer timer;             /* connect timeout, or idle in the pool */
	bool connected;
	bool reused;                /* came from the idle pool */
	bool got_bytes;             /* the node sent something */
	bool eof;                   /* the node closed its side (or reset) */
	bool shut;                  /* we shut down our writing side */
	int error;                  /* errno of a failed connect or reset */
	struct buf out;             /* to the node */
	struct buf in;              /* from the node, not yet handled */
};

enum rtr_cstate {
	C_HEAD,       /* reading a request head */
	C_PROXY,      /* a request in progress */
	C_TUNNEL,     /* upgraded: bytes both ways */
	C_CLOSING,    /* flushing the last bytes, then closing */
};

struct rtr_client {
	struct rtr *r;
	struct rtr_client *next, *prev;
	int fd;
	struct rtr_tls_conn *tls;   /* TLS state on an `https` listener; NULL for plain */
	ev_io io;
	ev_timer timer;
	enum rtr_cstate state;
	struct sockaddr_storage peer;
	char peer_ip[64];
	char peer_port[8];
	char local_ip[64];
	char local_port[8];

	struct buf in;              /* from the client, not yet handled */
	struct buf out;             /* to the client */
	struct buf head;            /* the current request's head, copied */
	struct rtr_h1_head req;     /* parsed from `head` */

	/* the request in progress */
	struct rtr_backend *be;
	char key[SUBPKT_KEY_MAX + 1];
	unsigned tries;
	enum rtr_body req_body;
	uint64_t req_left;          /* BODY_CLEN */
	struct rtr_h1_chunked req_chunk;
	bool req_done;              /* the whole request body was read */
	uint64_t req_fwd;           /* body bytes forwarded (no retry after) */
	struct rtr_spool spool;
	bool keepalive;             /* the client connection may be reused */
	bool is_head;               /* HEAD request: responses have no body */
	bool upgrade;

	/* the response */
	struct rtr_h1_head resp;
	bool resp_started;          /* a byte of the response went to the client */
	bool resp_head_done;
	enum rtr_body resp_body;
	uint64_t resp_left;
	struct rtr_h1_chunked resp_chunk;
	bool resp_done;
	bool be_reusable;           /* the node keeps the connection open */
	bool counted;               /* counted in the node's inflight */
	bool head_started;          /* a head's first byte arrived (header timeout) */
	bool in_eof;                /* the client closed its side (or reset) */
	bool abort;                 /* close now, without flushing */
	bool lingering;             /* response sent, our side shut, draining */
};

struct rtr {
	struct ev_loop *loop;
	struct rtr_config cfg;
	struct rtr_table *table;
	struct rtr_tls *tls;        /* NULL without `https` */
	struct rtr_listener listeners[6 * RTR_MAX_LISTEN]; /* http, https, subscription,
							   * fastrouter, rawrouter, sslrouter */
	size_t n_listeners;
	struct rtr_local *locals;
	struct rtr_sigcheck *sig;   /* NULL: no signature checks configured */
	struct rtr_client *clients;
	struct rtr_stream *streams; /* stream.c's connections */
	uint64_t n_clients;         /* HTTP clients and streams (http-max-connections) */
	bool accepting;             /* client listeners active (below max_conns) */
	ev_timer accept_retry;      /* accept paused after EMFILE */
	uint64_t accepted, conn_refusals;
	ev_timer sweep;             /* node expiry */
	int notify_fd;              /* unbound unix datagram socket for acks */
	int resub_fd4, resub_fd6, resub_fdu;
	char resub_address[ADDR_TEXT_MAX];
	bool resub_http;            /* announce proto http (else uwsgi: a fastrouter) */

	/* counters */
	uint64_t sub_drops[SUBPKT__COUNT];
	uint64_t drops[RTR_DROP__COUNT];
	uint64_t sub_accepted, sub_removed, sub_expired, resub_sent;
	uint64_t sni_ignored;       /* sni_* in an untrusted packet */
	uint64_t requests;
	uint64_t errors[600];       /* by status code, for statuses the router made */
	struct rtr_stream_stats sstats[RTR_S__COUNT];
	struct rtr_droplog {
		const char *why;    /* a static reason */
		double last;
		uint64_t suppressed;
	} droplog[RTR_DROPLOG_SLOTS]; /* rate limit of drop logs, per reason */
	struct rtr_droplog stream_log[RTR_S__COUNT][RTR_SC__COUNT + 1]; /* stream.c's, per kind
									 * and reason */
};

/* sigcheck.c: signed subscriptions (subscriptions-sign-check) */
struct rtr_sigcheck;

/* What the signature check says about one packet. */
enum rtr_sig {
	RTR_SIG_NONE,     /* no key file and not required: accepted unsigned
			   * (any signature is not checked and does not count) */
	RTR_SIG_OK,       /* signed, verified, counter advanced: trusted */
	RTR_SIG_DROP      /* refused; *drop says why */
};

/* rtr_sigcheck_new - NULL with *err (a DIR that cannot be opened) or when
 * nothing is configured (no dirs, not required): then *err stays NULL. */
struct rtr_sigcheck *rtr_sigcheck_new(const struct rtr_config *rc, struct err **err);
void rtr_sigcheck_free(struct rtr_sigcheck *s);

/*
 * rtr_sigcheck - check @p (parsed from the datagram, so p->signed_len is
 * what the signature covers from byte 4 of @dgram) against the key files and
 * the replay counters, at wall-clock time @now (unix seconds). On
 * RTR_SIG_DROP *drop is an enum rtr_drop and *why a short static reason.
 */
enum rtr_sig rtr_sigcheck(struct rtr_sigcheck *s, const struct subpkt *p, const void *dgram,
			  int64_t now, enum rtr_drop *drop, const char **why);

/* rtr_sigcheck_sweep - forget counters that can no longer matter (older than
 * now - tolerance: a packet that old is refused anyway). */
void rtr_sigcheck_sweep(struct rtr_sigcheck *s, int64_t now);

/* rtr_sigcheck_json - its figures (key files loaded, counters kept, verify
 * counts) as a JSON object value. */
void rtr_sigcheck_json(const struct rtr_sigcheck *s, struct json *j);

/* uwsgireq.c: the head of a uwsgi request packet, as a fastrouter reads it
 * (nginx's uwsgi_pass, uWSGI's own routers): header and vars, before the body. */
struct rtr_uwsgi_req {
	uint8_t modifier1, modifier2; /* of the packet's header */
	size_t head_len;              /* 4 + the vars' size: where the body starts */
	struct subpkt_str key;        /* UWSGI_FASTROUTER_KEY, else HTTP_HOST, else
				       * SERVER_NAME; len 0 when none is there */
	struct subpkt_str path_info;  /* PATH_INFO; len 0 when absent */
	uint64_t content_length;      /* CONTENT_LENGTH; 0 when absent */
};

/*
 * rtr_uwsgi_req_parse - parse the head at @p (@len bytes received so far)
 * without allocating; strings point into @p. Returns >0 (= out->head_len)
 * when the whole head is there and valid, 0 when more bytes are needed (and
 * the head can still fit @max_head), <0 when it is invalid or larger than
 * @max_head, with *why a short static reason ("a var runs past the header's size"...).
 */
int rtr_uwsgi_req_parse(const void *p, size_t len, size_t max_head, struct rtr_uwsgi_req *out,
			const char **why);

/* subserver.c */
int rtr_subserver_open(struct rtr *r, struct rtr_listener *l, struct err **err);
void rtr_subserver_start(struct rtr *r, struct rtr_listener *l);
void rtr_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents);
void rtr_sub_close(struct rtr *r);

/* proxy.c: the client side */
/* rtr_accept - one connection from listener @l into @ss, counted against
 * http-max-connections (every client front end shares it): the fd, or -1
 * when there is none now (*at_limit when refused at the limit, which
 * pauses accepting; out of descriptors pauses for 1 s). */
int rtr_accept(struct rtr *r, struct rtr_listener *l, struct sockaddr_storage *ss, bool *at_limit);
/* rtr_listener_open - listen on l->addr (mode 0666 for a unix path), its
 * watcher set to @on_ready (not started). 0, or -1 with *err. */
int rtr_listener_open(struct rtr *r, struct rtr_listener *l,
		      void (*on_ready)(struct ev_loop *, ev_io *, int), struct err **err);
int rtr_http_open(struct rtr *r, struct rtr_listener *l, struct err **err);
void rtr_client_free(struct rtr_client *c);
/* rtr_accept_resume - start the client listeners again when below
 * http-max-connections (and not pausing after EMFILE). */
void rtr_accept_resume(struct rtr *r);
/* rtr_accept_pause - stop every client listener: at the limit (@retry 0:
 * until rtr_accept_resume), or for @retry seconds (out of descriptors). */
void rtr_accept_pause(struct rtr *r, double retry);

/* stream.c: fastrouter, rawrouter and sslrouter connections, proxied as
 * bytes to a node of their key. */
struct rtr_stream;
/* rtr_stream_open - bind @l (its kind, addr and, for rawrouter, key set) and
 * set its watcher, not started. -1 with *err naming the address. */
int rtr_stream_open(struct rtr *r, struct rtr_listener *l, struct err **err);
/* rtr_streams_free - close every stream connection (router teardown). */
void rtr_streams_free(struct rtr *r);
/* rtr_skind_name - "fastrouter", "rawrouter", "sslrouter". */
const char *rtr_skind_name(enum rtr_skind k);
/* rtr_sclose_name - "done", "bad_head", "unknown_key", ... */
const char *rtr_sclose_name(enum rtr_sclose c);

/* What happened on a client's backend connection (flags). */
#define RTR_BE_CONNECTED 1
#define RTR_BE_IO 2        /* bytes moved either way, or EOF */
#define RTR_BE_FAILED 4    /* connect failed or reset before any byte: be->error */
#define RTR_BE_TIMEOUT 8   /* connect timeout */
void rtr_client_backend_event(struct rtr_client *c, int what);

/* backend.c */
/* rtr_connect - a nonblocking stream socket connecting to @a (TCP_NODELAY
 * unless unix): the fd, *done when already connected (unix sockets), or -1
 * with errno when the connect failed at once. */
int rtr_connect(const struct addr *a, bool *done);
/* Connect (or reuse an idle connection) to @node for @c (sets c->be).
 * 0 or -1 with errno. */
int rtr_backend_open(struct rtr_client *c, struct rtr_node *node);
/* Send what is in be->out, as far as the socket takes it. */
void rtr_backend_send(struct rtr_backend *be);
/* Watch for what the client side can take: reads when @want_read. */
void rtr_backend_update(struct rtr_backend *be, bool want_read);
/* The request is over: keep the connection idle for reuse or close it. */
void rtr_backend_release(struct rtr_backend *be, bool reusable);
void rtr_backend_close_idle(struct rtr_node *n);

/* request.c: the request head as a node gets it */
int rtr_uwsgi_request(struct rtr_client *c, struct buf *out, uint8_t m1, uint8_t m2);
int rtr_http_request(struct rtr_client *c, struct buf *out);

/* proxy.c: the length of a Host value without its :port. */
size_t rtr_host_len(const char *host, size_t len);

/* proxy.c: answer @status (when no response byte went out yet) and close. */
void rtr_client_error(struct rtr_client *c, int status);

/* tls.c: HTTPS listeners, their certificates chosen by SNI, and the TLS
 * side of client connections. Everything is a no-op on a plain client. */
struct rtr_tls;          /* the contexts (listeners' defaults, SNI cache) and counters */
struct rtr_tls_listener; /* one `https` listener's default certificate */
struct rtr_tls_conn;     /* one client's TLS session */

/* Why a handshake failed (stats). */
enum rtr_tls_fail {
	RTR_TLS_FAIL_NO_SHARED_CIPHER, /* no cipher, group or signature algorithm in common */
	RTR_TLS_FAIL_PROTOCOL,         /* not TLS, an old version, a broken message */
	RTR_TLS_FAIL_CLIENT_CERT,      /* a client certificate was required and missing or refused */
	RTR_TLS_FAIL_TIMEOUT,          /* not done within http-header-timeout */
	RTR_TLS_FAIL_OTHER,            /* the peer closed or reset, anything else */
	RTR_TLS_FAIL__COUNT
};

/* Where a handshake's certificate came from (stats). */
enum rtr_tls_src { RTR_TLS_SRC_SUBSCRIPTION, RTR_TLS_SRC_SNI_DIR, RTR_TLS_SRC_DEFAULT,
		   RTR_TLS_SRC__COUNT };

struct rtr_tls_stats {
	uint64_t handshakes;                     /* completed */
	uint64_t failed[RTR_TLS_FAIL__COUNT];
	uint64_t sni[RTR_TLS_SRC__COUNT];        /* completed handshakes by certificate source */
	uint64_t client_verified;                /* ... with a verified client certificate */
	uint64_t misdirected;                    /* requests answered 421 */
	uint64_t reloads, reload_failures;       /* contexts rebuilt after a file change, failed */
	uint64_t contexts;                       /* SNI contexts cached now */
};

/* rtr_tls_new - r->tls for the router's `https`/`sni-dir` settings (NULL and
 * 0 when there is no `https`). -1 with *err on ENOMEM. */
int rtr_tls_new(struct rtr *r, struct err **err);
/* rtr_tls_free - every context (after the clients are gone); NULL is a no-op. */
void rtr_tls_free(struct rtr_tls *t);
/* rtr_tls_listener - load @h's default certificate and key for @l (sets
 * l->tls). -1 with *err naming the file and OpenSSL's reason. */
int rtr_tls_listener(struct rtr *r, struct rtr_listener *l, const struct rtr_https *h,
		     struct err **err);
/* rtr_tls_accept - start a server-side session on a new client of @l.
 * -1 on ENOMEM (the caller closes the client). */
int rtr_tls_accept(struct rtr_client *c, struct rtr_listener *l);
/* rtr_tls_conn_free - the session (before the fd is closed). */
void rtr_tls_conn_free(struct rtr_client *c);
/* rtr_tls_handshake - advance the handshake: 1 done just now, 2 done
 * before (or a plain client), 0 in progress (rtr_tls_events says what to wait for), -1 failed (counted
 * and logged; close the client). */
int rtr_tls_handshake(struct rtr_client *c);
/* rtr_tls_timeout - the handshake did not finish in time (counted). */
void rtr_tls_timeout(struct rtr_client *c);
/* rtr_tls_read, rtr_tls_write - recv/send on the session: bytes moved, 0
 * for the peer's close (read), -1 with errno (EAGAIN when the session waits
 * for the socket: see rtr_tls_events). */
ssize_t rtr_tls_read(struct rtr_client *c, void *p, size_t n);
ssize_t rtr_tls_write(struct rtr_client *c, const void *p, size_t n);
/* rtr_tls_events - the socket events to watch so that reading (@rd) and
 * writing (@wr) can go on; during the handshake, what it waits for. */
int rtr_tls_events(const struct rtr_client *c, bool rd, bool wr);
/* rtr_tls_read_event - the socket event after which a read can go on. */
int rtr_tls_read_event(const struct rtr_client *c);
/* rtr_tls_pending - decrypted bytes wait in the session (no socket event
 * will announce them). */
bool rtr_tls_pending(const struct rtr_client *c);
/* rtr_tls_close_notify - send close_notify once, before our side shuts. */
void rtr_tls_close_notify(struct rtr_client *c);
/* rtr_tls_misdirected - a request for Host @host (@len bytes, no port) on
 * TLS client @c must be refused with 421: the host wants client
 * certificates, and this session did not verify one for that host's own
 * context. Always false on a plain client. */
bool rtr_tls_misdirected(struct rtr_client *c, const char *host, size_t len);
/* rtr_tls_on - whether @c came over TLS (for the node: HTTPS=on, https scheme). */
bool rtr_tls_on(const struct rtr_client *c);
/* rtr_tls_client_dn - the verified client certificate's subject (one line)
 * into @out; its length, 0 when none. */
size_t rtr_tls_client_dn(const struct rtr_client *c, char *out, size_t cap);
/* rtr_tls_stats - the counters (all zero without `https`). */
void rtr_tls_stats(const struct rtr *r, struct rtr_tls_stats *out);

/* The same sessions for a connection that is not an HTTP client (sslrouter):
 * each function behaves as its rtr_tls_* counterpart above on @tc. */
/* rtr_tls_session_new - a server-side session on @fd, accepted by @l (whose
 * kind decides: an sslrouter session answers no ALPN); @peer_ip and
 * @peer_port name the client in logs: borrowed, they must outlive the
 * session (they may be filled in after this call). NULL on ENOMEM. */
struct rtr_tls_conn *rtr_tls_session_new(struct rtr_listener *l, int fd, const char *peer_ip,
				       const char *peer_port);
void rtr_tls_session_free(struct rtr_tls_conn *tc); /* NULL is a no-op */
int rtr_tls_session_handshake(struct rtr_tls_conn *tc);
void rtr_tls_session_timeout(struct rtr_tls_conn *tc);
ssize_t rtr_tls_session_read(struct rtr_tls_conn *tc, void *p, size_t n);
ssize_t rtr_tls_session_write(struct rtr_tls_conn *tc, const void *p, size_t n);
int rtr_tls_session_events(const struct rtr_tls_conn *tc, bool rd, bool wr);
bool rtr_tls_session_pending(const struct rtr_tls_conn *tc);
void rtr_tls_session_close_notify(struct rtr_tls_conn *tc);
/* rtr_tls_session_sni - the SNI name the client sent, lower-cased without
 * a trailing dot ("" when none, or not a host name), once its ClientHello
 * was read. */
const char *rtr_tls_session_sni(const struct rtr_tls_conn *tc);

/* tlswire.c: what tls.c reads of a client's bytes itself (the server_name
 * and ALPN lists, host names from SNI or Host). Pure, no allocation. */
#define RTR_TLSWIRE_HOST_MAX 253 /* bytes of a DNS name, without a trailing dot */

/*
 * rtr_tlswire_sni - the first host_name entry of a ClientHello's
 * server_name extension body @p (@len bytes: a 2-byte list length, then
 * entries of a type byte, a 2-byte length and the name). 1 with *name
 * (pointing into @p) and *name_len set, which may be 0; 0 when the list has
 * no host_name entry (or none at all); -1 when the list length is not
 * @len - 2 or any entry is cut short or overruns the list.
 */
int rtr_tlswire_sni(const uint8_t *p, size_t len, const uint8_t **name, size_t *name_len);

/*
 * rtr_tlswire_alpn - pick http/1.1 from a client's ALPN protocol list @p
 * (@len bytes of entries, each a length byte and that many bytes: the list
 * as the select callback gets it, without its 2-byte length). 1 with *out
 * pointing at the 8 bytes "http/1.1" in @p; 0 when it is not offered (h2
 * alone); -1 for an empty list, an empty entry or one that overruns the
 * list (RFC 7301 forbids both), wherever it is.
 */
int rtr_tlswire_alpn(const uint8_t *p, size_t len, const uint8_t **out);

/*
 * rtr_tlswire_host - @name (@len bytes: an SNI host_name, or a Host value
 * without its port) lower-cased into @out without one trailing dot, NUL
 * terminated. Its length (1..RTR_TLSWIRE_HOST_MAX), or -1 with @out "" when
 * it cannot be a host name of ours: empty, longer, or a byte outside
 * [A-Za-z0-9._-] (NUL included).
 */
int rtr_tlswire_host(const char *name, size_t len, char out[RTR_TLSWIRE_HOST_MAX + 1]);

/* rtr_tlswire_dir_name_ok - whether a normalised host @h (@len bytes) may
 * name sni-dir files (HOST.crt...): [a-z0-9.-] only, not empty, not
 * starting with '.', no "..". */
bool rtr_tlswire_dir_name_ok(const char *h, size_t len);

/* response.c: move the node's response to the client. Returns true on
 * progress; sets c->resp_done, or c->abort / C_CLOSING on a broken node. */
bool rtr_forward_response(struct rtr_client *c);
/* response.c: C_TUNNEL, bytes both ways. */
bool rtr_forward_tunnel(struct rtr_client *c);

#endif
