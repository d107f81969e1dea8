/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * HTTPS in front of the router: each `https` listener has a default
 * certificate; a client's SNI name picks another one, from its pool's
 * trusted subscription (`sni_crt`/`sni_key`/`sni_ca`) first, then from
 * `sni-dir` (HOST.crt, HOST.key, and HOST.ca meaning client certificates
 * are required and verified against it). One SSL_CTX per certificate,
 * cached by lower-cased host name in a bounded LRU table together with the
 * identity of the files it was built from; a cached context is re-checked
 * at most once a second when used and rebuilt when a file changed (a failed
 * rebuild keeps the old one and is logged once). Files are read by us, with
 * a size bound, never through a pipe or a device.
 *
 * The context is switched in the ClientHello callback rather than the
 * servername one: it runs before session resumption is decided, so a
 * session is only ever resumed under the context (and the client CA) that
 * made it, each context having its own session id context.
 *
 * The client side keeps one code path for plain and TLS connections:
 * rtr_tls_read/rtr_tls_write behave as recv/send, with SSL's WANT_READ and
 * WANT_WRITE turned into EAGAIN plus the socket event to wait for, and
 * rtr_tls_pending telling about decrypted bytes no socket event announces.
 * SSL_write may write(2) to a reset socket: the emperor ignores SIGPIPE.
 *
 * `sslrouter` listeners use the same contexts and sessions (rtr_tls_session_*)
 * without anything of HTTP: no ALPN answer (the bytes behind are not ours to
 * name), and no 421 check, since there are no requests; a host's `sni_ca`
 * still makes its handshake require a client certificate.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/log.h"
#include "router/internal.h"

#define CACHE_MAX 4096 /* SNI contexts kept */
#define CACHE_BUCKETS 4096
#define HOST_MAX RTR_TLSWIRE_HOST_MAX
#define FILE_MAX (1 << 20) /* bytes of a certificate, key or CA file */
#define RECHECK 1.0	   /* seconds between two looks at a context's files */
#define LOG_BURST 10	   /* handshake failures logged per second */
#define VERIFY_DEPTH 8

enum { F_CRT, F_KEY, F_CA, F__COUNT };

/* A file as stat(2) saw it; all zero when it does not exist. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

/* One certificate: a listener's default, or a host's from SNI. */
struct tls_ent {
	struct tls_ent *hnext;		     /* hash chain (cached hosts only) */
	struct tls_ent *lru_prev, *lru_next; /* most recently used first */
	enum rtr_tls_src src;
	char host[HOST_MAX + 1];     /* lower-cased; "" for a default */
	char *path[F__COUNT];	     /* owned; path[F_CA] NULL: no client certs */
	struct file_id id[F__COUNT]; /* what the last build was tried from */
	SSL_CTX *ctx;		     /* NULL: nothing usable */
	bool has_ca;		     /* ctx verifies client certificates */
	bool need_ca;		     /* the host wants client certificates,
				      * whether or not its ctx could be built */
	double checked;		     /* ev_now of the last look at the files */
};

struct rtr_tls_listener {
	struct rtr_tls *t;
	struct tls_ent def;
};

struct rtr_tls {
	struct rtr *r;
	struct rtr_tls_listener listeners[2 * RTR_MAX_LISTEN]; /* https, then sslrouter */
	size_t n_listeners;
	struct tls_ent *buckets[CACHE_BUCKETS];
	struct tls_ent *lru_head, *lru_tail;
	size_t n_cached;
	struct rtr_tls_stats st;
	double log_window; /* handshake failure log rate limit */
	unsigned logged;
	uint64_t suppressed;
};

struct rtr_tls_conn {
	SSL *ssl;
	struct rtr_tls_listener *l;
	bool done;     /* handshake complete */
	bool dead;     /* a fatal error: no more I/O */
	bool notified; /* close_notify sent */
	bool has_ca;   /* the chosen context verifies client certs */
	bool verified; /* ... and this client's verified */
	bool stream;   /* an sslrouter session: no ALPN */
	enum rtr_tls_src src;
	int hs_want, rd_want, wr_want; /* EV_READ/EV_WRITE the session waits for */
	char host[HOST_MAX + 1];       /* the SNI context's host; "" default */

	char sni[HOST_MAX + 1];		 /* the client's SNI name, normalised; "" none */
	const char *peer_ip, *peer_port; /* borrowed from the owner, for logs */
};

/* ---- files ---- */

static void file_stat(const char *path, struct file_id *id)
{
	struct stat st;
	memset(id, 0, sizeof(*id));
	if (path == NULL || stat(path, &st) < 0)
		return;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

static bool file_exists(const struct file_id *id)
{
	return id->ino != 0 || id->dev != 0;
}

static bool same_id(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

/* A memory BIO with the whole of @path: a regular file of at most FILE_MAX
 * bytes (opened non-blocking, so a FIFO cannot hold the loop). */
static BIO *file_bio(const char *path, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_set(err, errno, "%s", path), NULL;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_set(err, errno, "%s", path), NULL;
	if (!S_ISREG(st.st_mode))
		return err_set(err, 0, "%s: not a regular file", path), NULL;
	if (st.st_size > FILE_MAX)
		return err_set(err, 0, "%s: larger than %d bytes", path, FILE_MAX), NULL;
	size_t cap = (size_t)st.st_size + 1, len = 0;
	_cleanup_free_ char *data = malloc(cap);
	if (data == NULL)
		return err_set(err, ENOMEM, "%s", path), NULL;
	while (len < cap) {
		ssize_t n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, errno, "%s", path), NULL;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == cap)
		return err_set(err, 0, "%s: grew while read", path), NULL;
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL || BIO_write(b, data, (int)len) != (int)len) {
		BIO_free(b);
		return err_set(err, ENOMEM, "%s", path), NULL;
	}
	OPENSSL_cleanse(data, len); /* may be a private key */
	return b;
}

/* OpenSSL's reason for the failure just seen, and its queue emptied. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return why ? why : "unknown error";
}

/* ---- contexts ---- */

static int alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)arg;
	const struct rtr_tls_conn *tc = SSL_get_app_data(s);
	if (tc != NULL && tc->stream)
		return SSL_TLSEXT_ERR_NOACK; /* raw bytes behind: no protocol to promise */
	if (rtr_tlswire_alpn(in, inlen, out) <= 0)
		return SSL_TLSEXT_ERR_NOACK; /* h2 only: no ALPN rather than a failure */
	*outlen = 8;			     /* *out is "http/1.1" */
	return SSL_TLSEXT_ERR_OK;
}

/* The context was chosen in the ClientHello callback: acknowledge SNI. */
static int servername_cb(SSL *s, int *al, void *arg)
{
	(void)s;
	(void)al;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

static int client_hello_cb(SSL *s, int *al, void *arg);

static int load_chain(SSL_CTX *ctx, const char *path, struct err **err)
{
	BIO *b = file_bio(path, err);
	if (b == NULL)
		return -1;
	X509 *x = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
	int rc = 0;
	if (x == NULL || SSL_CTX_use_certificate(ctx, x) != 1) {
		rc = err_set(err, 0, "%s: %s", path, ssl_reason());
		goto out;
	}
	X509 *extra;
	while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
			X509_free(extra);
			rc = err_set(err, 0, "%s: %s", path, ssl_reason());
			goto out;
		}
	ERR_clear_error(); /* the end of the file */
out:
	X509_free(x);
	BIO_free(b);
	return rc;
}

static int load_key(SSL_CTX *ctx, const char *path, struct err **err)
{
	BIO *b = file_bio(path, err);
	if (b == NULL)
		return -1;
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
	BIO_free(b);
	int rc = 0;
	if (k == NULL || SSL_CTX_use_PrivateKey(ctx, k) != 1)
		rc = err_set(err, 0, "%s: %s", path, ssl_reason());
	else if (SSL_CTX_check_private_key(ctx) != 1)
		rc = err_set(err, 0, "%s: does not match the certificate: %s", path, ssl_reason());
	EVP_PKEY_free(k);
	return rc;
}

/* The CA file: trust store and the list of names sent to clients. */
static int load_ca(SSL_CTX *ctx, const char *path, struct err **err)
{
	BIO *b = file_bio(path, err);
	if (b == NULL)
		return -1;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	int n = 0, rc = 0;
	X509 *x;
	while (names != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(x));
		if (X509_STORE_add_cert(store, x) != 1 || nm == NULL ||
		    !sk_X509_NAME_push(names, nm)) {
			X509_NAME_free(nm);
			X509_free(x);
			rc = err_set(err, 0, "%s: %s", path, ssl_reason());
			goto out;
		}
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	if (names == NULL || n == 0) {
		rc = err_set(err, 0, "%s: no PEM certificate", path);
		goto out;
	}
	SSL_CTX_set_client_CA_list(ctx, steal_ptr(&names));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, VERIFY_DEPTH);
out:
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	BIO_free(b);
	return rc;
}

/* A session id context of its own for every context (and CA file version):
 * a session resumes only where it was made. */
static void set_sid_ctx(SSL_CTX *ctx, const struct tls_ent *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	if (m != NULL && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1) {
		int src = (int)e->src;
		EVP_DigestUpdate(m, &src, sizeof(src));
		EVP_DigestUpdate(m, e->host, strlen(e->host));
		for (int i = 0; i < F__COUNT; i++)
			if (e->path[i] != NULL) {
				EVP_DigestUpdate(m, e->path[i], strlen(e->path[i]) + 1);
				EVP_DigestUpdate(m, &e->id[i], sizeof(e->id[i]));
			}
		EVP_DigestFinal_ex(m, md, &mdlen);
	}
	EVP_MD_CTX_free(m);
	if (mdlen > SSL_MAX_SID_CTX_LENGTH)
		mdlen = SSL_MAX_SID_CTX_LENGTH;
	SSL_CTX_set_session_id_context(ctx, md, mdlen);
}

/* A context from @e's files (@with_ca: verify client certificates). */
static SSL_CTX *ctx_build(struct rtr_tls *t, const struct tls_ent *e, bool with_ca,
			  struct err **err)
{
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return err_set(err, ENOMEM, "SSL_CTX_new: %s", ssl_reason()), NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				     SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_dh_auto(ctx, 1);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, t);
	if (load_chain(ctx, e->path[F_CRT], err) < 0 || load_key(ctx, e->path[F_KEY], err) < 0 ||
	    (with_ca && load_ca(ctx, e->path[F_CA], err) < 0)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	set_sid_ctx(ctx, e);
	return ctx;
}

static void ent_paths_free(struct tls_ent *e)
{
	for (int i = 0; i < F__COUNT; i++) {
		free(e->path[i]);
		e->path[i] = NULL;
	}
}

static void ent_clear(struct tls_ent *e)
{
	SSL_CTX_free(e->ctx);
	e->ctx = NULL;
	ent_paths_free(e);
	memset(e->id, 0, sizeof(e->id));
	e->has_ca = e->need_ca = false;
	e->checked = 0;
}

static const char *src_name(enum rtr_tls_src s)
{
	return s == RTR_TLS_SRC_SUBSCRIPTION ? "subscription"
	       : s == RTR_TLS_SRC_SNI_DIR    ? "sni-dir"
					     : "default";
}

/*
 * Look at @e's files (at most once a second) and rebuild its context when
 * they changed. An sni-dir entry without HOST.crt and HOST.key is empty; a
 * failed rebuild keeps the old context and is logged (once per change).
 */
static void ent_refresh(struct rtr_tls *t, struct tls_ent *e, bool force)
{
	double now = ev_now(t->r->loop);
	if (!force && e->checked != 0 && now - e->checked < RECHECK)
		return;
	e->checked = now;
	struct file_id id[F__COUNT];
	for (int i = 0; i < F__COUNT; i++)
		file_stat(e->path[i], &id[i]);
	bool ca =
	    e->path[F_CA] != NULL && (e->src != RTR_TLS_SRC_SNI_DIR || file_exists(&id[F_CA]));
	e->need_ca = ca;
	if (!force && e->ctx != NULL && memcmp(id, e->id, sizeof(id)) == 0)
		return;
	bool changed = false;
	for (int i = 0; i < F__COUNT; i++)
		changed |= !same_id(&id[i], &e->id[i]);
	if (!force && !changed)
		return; /* a failed build, files untouched since: not again */
	memcpy(e->id, id, sizeof(id));
	if (e->src == RTR_TLS_SRC_SNI_DIR && !file_exists(&id[F_CRT]) && !file_exists(&id[F_KEY])) {
		SSL_CTX_free(e->ctx); /* no files (any more): the default serves */
		e->ctx = NULL;
		e->has_ca = false;
		return;
	}
	struct err *err = NULL;
	SSL_CTX *ctx = ctx_build(t, e, ca, &err);
	if (ctx == NULL) {
		t->st.reload_failures++;
		log_warn("router: TLS %s certificate%s%s: %s%s", src_name(e->src),
			 e->host[0] ? " for " : "", e->host, err_msg(err),
			 e->ctx ? "; the previous one stays in use" : "");
		err_free(&err);
		return;
	}
	if (e->ctx != NULL) {
		t->st.reloads++;
		log_info("router: TLS %s certificate%s%s reloaded from %s", src_name(e->src),
			 e->host[0] ? " for " : "", e->host, e->path[F_CRT]);
	}
	SSL_CTX_free(e->ctx);
	e->ctx = ctx;
	e->has_ca = ca;
}

/* ---- the SNI cache ---- */

static size_t bucket_of(const char *host)
{
	uint32_t h = 2166136261u;
	for (const char *p = host; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % CACHE_BUCKETS;
}

static void lru_unlink(struct rtr_tls *t, struct tls_ent *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		t->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		t->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_front(struct rtr_tls *t, struct tls_ent *e)
{
	e->lru_next = t->lru_head;
	e->lru_prev = NULL;
	if (t->lru_head)
		t->lru_head->lru_prev = e;
	t->lru_head = e;
	if (t->lru_tail == NULL)
		t->lru_tail = e;
}

static void cache_drop(struct rtr_tls *t, struct tls_ent *e)
{
	struct tls_ent **pp = &t->buckets[bucket_of(e->host)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(t, e);
	ent_clear(e);
	free(e);
	t->n_cached--;
}

static struct tls_ent *cache_get(struct rtr_tls *t, const char *host)
{
	for (struct tls_ent *e = t->buckets[bucket_of(host)]; e; e = e->hnext)
		if (strcmp(e->host, host) == 0) {
			if (t->lru_head != e) {
				lru_unlink(t, e);
				lru_front(t, e);
			}
			return e;
		}
	if (t->n_cached >= CACHE_MAX)
		cache_drop(t, t->lru_tail);
	struct tls_ent *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	memcpy(e->host, host, strlen(host) + 1);
	size_t b = bucket_of(host);
	e->hnext = t->buckets[b];
	t->buckets[b] = e;
	lru_front(t, e);
	t->n_cached++;
	return e;
}

static bool same_path(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Make @e a @src entry with these paths (a change starts it afresh). */
static int ent_set(struct tls_ent *e, enum rtr_tls_src src, const char *crt, const char *key,
		   const char *ca)
{
	const char *want[F__COUNT] = {crt, key, ca};
	bool same = e->src == src && e->path[F_CRT] != NULL;
	for (int i = 0; i < F__COUNT && same; i++)
		same = same_path(e->path[i], want[i]);
	if (same)
		return 0;
	ent_clear(e);
	e->src = src;
	for (int i = 0; i < F__COUNT; i++)
		if (want[i] != NULL && (e->path[i] = strdup(want[i])) == NULL) {
			ent_paths_free(e);
			return -1;
		}
	return 1;
}

/*
 * The cached entry for @host (normalised): its pool's trusted subscription
 * paths first, then sni-dir. NULL when neither has one for it (or ENOMEM).
 * The entry is refreshed; its ctx may still be NULL (files unusable).
 */
static struct tls_ent *host_entry(struct rtr_tls *t, const char *host)
{
	struct rtr *r = t->r;
	struct rtr_pool *p = rtr_table_find(r->table, host, strlen(host));
	bool sub = p != NULL && p->sni_crt != NULL && p->sni_key != NULL;
	if (!sub && (r->cfg.sni_dir[0] == '\0' || !rtr_tlswire_dir_name_ok(host, strlen(host))))
		return NULL;
	struct tls_ent *e = cache_get(t, host);
	if (e == NULL)
		return NULL;
	int rc;
	if (sub) {
		rc = ent_set(e, RTR_TLS_SRC_SUBSCRIPTION, p->sni_crt, p->sni_key, p->sni_ca);
	} else {
		char path[F__COUNT][RTR_PATH_MAX + HOST_MAX + 8];
		static const char *const ext[F__COUNT] = {"crt", "key", "ca"};
		for (int i = 0; i < F__COUNT; i++)
			snprintf(path[i], sizeof(path[i]), "%s/%s.%s", r->cfg.sni_dir, host,
				 ext[i]);
		rc = ent_set(e, RTR_TLS_SRC_SNI_DIR, path[F_CRT], path[F_KEY], path[F_CA]);
	}
	if (rc < 0) {
		cache_drop(t, e);
		return NULL;
	}
	ent_refresh(t, e, rc > 0); /* new paths: a first build now */
	return e;
}

/* ---- router life ---- */

int rtr_tls_new(struct rtr *r, struct err **err)
{
	r->tls = NULL;
	if (r->cfg.n_https == 0 && r->cfg.n_ssl == 0)
		return 0;
	struct rtr_tls *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return err_set(err, ENOMEM, "router TLS");
	t->r = r;
	r->tls = t;
	return 0;
}

void rtr_tls_free(struct rtr_tls *t)
{
	if (t == NULL)
		return;
	while (t->lru_head != NULL)
		cache_drop(t, t->lru_head);
	for (size_t i = 0; i < t->n_listeners; i++)
		ent_clear(&t->listeners[i].def);
	free(t);
}

int rtr_tls_listener(struct rtr *r, struct rtr_listener *l, const struct rtr_https *h,
		     struct err **err)
{
	struct rtr_tls *t = r->tls;
	const char *kind = l->kind == RTR_L_SSL ? "sslrouter" : "https";
	if (t == NULL || t->n_listeners >= ARRAY_SIZE(t->listeners))
		return err_set(err, EINVAL, "%s %s: no room", kind, l->addr.text);
	struct rtr_tls_listener *tl = &t->listeners[t->n_listeners];
	tl->t = t;
	tl->def.src = RTR_TLS_SRC_DEFAULT;
	tl->def.path[F_CRT] = strdup(h->crt);
	tl->def.path[F_KEY] = strdup(h->key);
	t->n_listeners++; /* from here on rtr_tls_free frees it */
	if (tl->def.path[F_CRT] == NULL || tl->def.path[F_KEY] == NULL)
		return err_set(err, ENOMEM, "%s %s", kind, l->addr.text);
	for (int i = 0; i < F__COUNT; i++)
		file_stat(tl->def.path[i], &tl->def.id[i]);
	tl->def.checked = ev_now(r->loop);
	tl->def.ctx = ctx_build(t, &tl->def, false, err);
	if (tl->def.ctx == NULL) {
		err_prefix(err, "%s %s", kind, l->addr.text);
		return -1;
	}
	l->tls = tl;
	return 0;
}

/* ---- connections ---- */

struct rtr_tls_conn *rtr_tls_session_new(struct rtr_listener *l, int fd, const char *peer_ip,
					 const char *peer_port)
{
	struct rtr_tls_listener *tl = l->tls;
	ent_refresh(tl->t, &tl->def, false);
	struct rtr_tls_conn *tc = calloc(1, sizeof(*tc));
	if (tc == NULL)
		return NULL;
	ERR_clear_error();
	tc->ssl = SSL_new(tl->def.ctx);
	if (tc->ssl == NULL || SSL_set_fd(tc->ssl, fd) != 1) {
		ERR_clear_error();
		SSL_free(tc->ssl);
		free(tc);
		return NULL;
	}
	SSL_set_accept_state(tc->ssl);
	SSL_set_app_data(tc->ssl, tc);
	tc->l = tl;
	tc->stream = l->kind == RTR_L_SSL;
	tc->src = RTR_TLS_SRC_DEFAULT;
	tc->hs_want = EV_READ;
	tc->rd_want = EV_READ;
	tc->wr_want = EV_WRITE;
	tc->peer_ip = peer_ip;
	tc->peer_port = peer_port;
	return tc;
}

void rtr_tls_session_free(struct rtr_tls_conn *tc)
{
	if (tc == NULL)
		return;
	SSL_free(tc->ssl);
	ERR_clear_error();
	free(tc);
}

const char *rtr_tls_session_sni(const struct rtr_tls_conn *tc)
{
	return tc->sni;
}

int rtr_tls_accept(struct rtr_client *c, struct rtr_listener *l)
{
	c->tls = rtr_tls_session_new(l, c->fd, c->peer_ip, c->peer_port);
	return c->tls != NULL ? 0 : -1;
}

void rtr_tls_conn_free(struct rtr_client *c)
{
	rtr_tls_session_free(c->tls);
	c->tls = NULL;
}

/* The SNI host name of a ClientHello (RFC 6066 server_name, first
 * host_name entry) normalised into @host; false when there is none. */
static bool hello_sni(SSL *s, char host[HOST_MAX + 1])
{
	const unsigned char *p, *name;
	size_t len, n;
	if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &len) != 1 ||
	    rtr_tlswire_sni(p, len, &name, &n) <= 0)
		return false;
	return rtr_tlswire_host((const char *)name, n, host) > 0;
}

/* Use @ctx for the rest of the handshake, verification settings included
 * (SSL_set_SSL_CTX takes only the certificate and key). */
static void switch_ctx(SSL *s, SSL_CTX *ctx)
{
	if (SSL_get_SSL_CTX(s) != ctx)
		SSL_set_SSL_CTX(s, ctx);
	SSL_set_verify(s, SSL_CTX_get_verify_mode(ctx), NULL);
	SSL_set_verify_depth(s, SSL_CTX_get_verify_depth(ctx));
}

static int client_hello_cb(SSL *s, int *al, void *arg)
{
	(void)al;
	struct rtr_tls *t = arg;
	struct rtr_tls_conn *tc = SSL_get_app_data(s);
	if (tc == NULL)
		return SSL_CLIENT_HELLO_SUCCESS;
	char host[HOST_MAX + 1];
	struct tls_ent *e = NULL;
	tc->sni[0] = '\0';
	if (hello_sni(s, host)) {
		memcpy(tc->sni, host, strlen(host) + 1);
		e = host_entry(t, host);
	}
	if (e != NULL && e->ctx != NULL) {
		switch_ctx(s, e->ctx);
		tc->src = e->src;
		tc->has_ca = e->has_ca;
		memcpy(tc->host, host, strlen(host) + 1);
	} else {
		switch_ctx(s, tc->l->def.ctx);
		tc->src = RTR_TLS_SRC_DEFAULT;
		tc->has_ca = false;
		tc->host[0] = '\0';
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static enum rtr_tls_fail classify(int sslerr, unsigned long e, long verify)
{
	if (sslerr != SSL_ERROR_SSL || ERR_GET_LIB(e) != ERR_LIB_SSL)
		return RTR_TLS_FAIL_OTHER;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
	case SSL_R_NO_SUITABLE_KEY_SHARE:
	case SSL_R_NO_SHARED_GROUPS:
		return RTR_TLS_FAIL_NO_SHARED_CIPHER;
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
	case SSL_R_NO_CERTIFICATES_RETURNED:
		return RTR_TLS_FAIL_CLIENT_CERT;
	default:
		return verify != X509_V_OK ? RTR_TLS_FAIL_CLIENT_CERT : RTR_TLS_FAIL_PROTOCOL;
	}
}

static const char *const fail_names[RTR_TLS_FAIL__COUNT] = {
    [RTR_TLS_FAIL_NO_SHARED_CIPHER] = "no_shared_cipher",
    [RTR_TLS_FAIL_PROTOCOL] = "protocol",
    [RTR_TLS_FAIL_CLIENT_CERT] = "client_cert",
    [RTR_TLS_FAIL_TIMEOUT] = "timeout",
    [RTR_TLS_FAIL_OTHER] = "other",
};

/* Count a failed handshake and log it, at most LOG_BURST lines a second. */
static void hs_failed(struct rtr_tls_conn *tc, enum rtr_tls_fail why, const char *detail)
{
	struct rtr_tls *t = tc->l->t;
	t->st.failed[why]++;
	double now = ev_now(t->r->loop);
	if (now - t->log_window >= 1.0) {
		if (t->suppressed > 0)
			log_warn("router: %" PRIu64 " more TLS handshake failures not logged",
				 t->suppressed);
		t->log_window = now;
		t->logged = 0;
		t->suppressed = 0;
	}
	if (t->logged >= LOG_BURST) {
		t->suppressed++;
		return;
	}
	t->logged++;
	log_warn("router: TLS handshake with %s:%s%s failed (%s%s%s): %s", tc->peer_ip,
		 tc->peer_port, tc->stream ? " (sslrouter)" : "", fail_names[why],
		 tc->sni[0] ? ", SNI " : "", tc->sni, detail);
}

static void hs_done(struct rtr_tls_conn *tc)
{
	struct rtr_tls *t = tc->l->t;
	tc->done = true;
	t->st.handshakes++;
	t->st.sni[tc->src]++;
	if (tc->has_ca && SSL_get0_peer_certificate(tc->ssl) != NULL &&
	    SSL_get_verify_result(tc->ssl) == X509_V_OK) {
		tc->verified = true;
		t->st.client_verified++;
	}
}

int rtr_tls_session_handshake(struct rtr_tls_conn *tc)
{
	if (tc->done)
		return 2;
	ERR_clear_error();
	int rc = SSL_do_handshake(tc->ssl);
	if (rc == 1) {
		hs_done(tc);
		return 1;
	}
	int se = SSL_get_error(tc->ssl, rc);
	if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
		tc->hs_want = se == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
		return 0;
	}
	int saved = errno;
	unsigned long e = ERR_peek_error();
	long verify = tc->has_ca ? SSL_get_verify_result(tc->ssl) : X509_V_OK;
	enum rtr_tls_fail why = classify(se, e, verify);
	char detail[256];
	if (se == SSL_ERROR_SSL && verify != X509_V_OK)
		snprintf(detail, sizeof(detail), "client certificate: %s",
			 X509_verify_cert_error_string(verify));
	else if (se == SSL_ERROR_SSL)
		snprintf(detail, sizeof(detail), "%s", ssl_reason());
	else if (se == SSL_ERROR_SYSCALL && saved != 0)
		snprintf(detail, sizeof(detail), "%s", strerror(saved));
	else
		snprintf(detail, sizeof(detail), "connection closed");
	ERR_clear_error();
	tc->dead = true;
	hs_failed(tc, why, detail);
	return -1;
}

int rtr_tls_handshake(struct rtr_client *c)
{
	return c->tls != NULL ? rtr_tls_session_handshake(c->tls) : 2;
}

void rtr_tls_session_timeout(struct rtr_tls_conn *tc)
{
	if (!tc->done && !tc->dead) {
		tc->dead = true;
		hs_failed(tc, RTR_TLS_FAIL_TIMEOUT, "timed out");
	}
}

void rtr_tls_timeout(struct rtr_client *c)
{
	if (c->tls != NULL)
		rtr_tls_session_timeout(c->tls);
}

ssize_t rtr_tls_session_read(struct rtr_tls_conn *tc, void *p, size_t n)
{
	if (tc->dead || !tc->done) {
		errno = tc->dead ? ECONNRESET : EAGAIN;
		return -1;
	}
	ERR_clear_error();
	int k = SSL_read(tc->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	if (k > 0) {
		tc->rd_want = EV_READ;
		return k;
	}
	switch (SSL_get_error(tc->ssl, k)) {
	case SSL_ERROR_WANT_READ:
		tc->rd_want = EV_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		tc->rd_want = EV_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify, or a plain EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
	default:
		ERR_clear_error();
		tc->dead = true;
		errno = ECONNRESET;
		return -1;
	}
}

ssize_t rtr_tls_read(struct rtr_client *c, void *p, size_t n)
{
	return rtr_tls_session_read(c->tls, p, n);
}

ssize_t rtr_tls_session_write(struct rtr_tls_conn *tc, const void *p, size_t n)
{
	if (tc->dead || !tc->done) {
		errno = tc->dead ? EPIPE : EAGAIN;
		return -1;
	}
	ERR_clear_error();
	int k = SSL_write(tc->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	if (k > 0) {
		tc->wr_want = EV_WRITE;
		return k;
	}
	switch (SSL_get_error(tc->ssl, k)) {
	case SSL_ERROR_WANT_WRITE:
		tc->wr_want = EV_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_READ:
		tc->wr_want = EV_READ;
		errno = EAGAIN;
		return -1;
	default:
		ERR_clear_error();
		tc->dead = true;
		errno = EPIPE;
		return -1;
	}
}

ssize_t rtr_tls_write(struct rtr_client *c, const void *p, size_t n)
{
	return rtr_tls_session_write(c->tls, p, n);
}

int rtr_tls_session_events(const struct rtr_tls_conn *tc, bool rd, bool wr)
{
	if (!tc->done)
		return tc->dead ? 0 : tc->hs_want;
	return (rd ? tc->rd_want : 0) | (wr ? tc->wr_want : 0);
}

int rtr_tls_events(const struct rtr_client *c, bool rd, bool wr)
{
	return rtr_tls_session_events(c->tls, rd, wr);
}

int rtr_tls_read_event(const struct rtr_client *c)
{
	return c->tls ? c->tls->rd_want : EV_READ;
}

bool rtr_tls_session_pending(const struct rtr_tls_conn *tc)
{
	return tc->done && !tc->dead && SSL_pending(tc->ssl) > 0;
}

bool rtr_tls_pending(const struct rtr_client *c)
{
	return c->tls != NULL && rtr_tls_session_pending(c->tls);
}

void rtr_tls_close_notify(struct rtr_client *c)
{
	if (c->tls != NULL)
		rtr_tls_session_close_notify(c->tls);
}

void rtr_tls_session_close_notify(struct rtr_tls_conn *tc)
{
	if (!tc->done || tc->dead || tc->notified)
		return;
	tc->notified = true;
	ERR_clear_error();
	SSL_shutdown(tc->ssl); /* one try: the socket's side is shut next anyway */
	ERR_clear_error();
}

bool rtr_tls_misdirected(struct rtr_client *c, const char *host, size_t len)
{
	struct rtr_tls_conn *tc = c->tls;
	if (tc == NULL)
		return false;
	char h[HOST_MAX + 1];
	if (rtr_tlswire_host(host, len, h) < 0)
		return false; /* an IP literal or no name of ours: nothing to protect */
	struct tls_ent *e = host_entry(tc->l->t, h);
	if (e == NULL || !e->need_ca)
		return false;
	if (tc->verified && strcmp(tc->host, h) == 0)
		return false;
	tc->l->t->st.misdirected++;
	return true;
}

bool rtr_tls_on(const struct rtr_client *c)
{
	return c->tls != NULL;
}

size_t rtr_tls_client_dn(const struct rtr_client *c, char *out, size_t cap)
{
	if (c->tls == NULL || !c->tls->verified || cap == 0)
		return 0;
	X509 *x = SSL_get0_peer_certificate(c->tls->ssl);
	if (x == NULL || X509_NAME_oneline(X509_get_subject_name(x), out, (int)cap) == NULL)
		return 0;
	return strlen(out);
}

void rtr_tls_stats(const struct rtr *r, struct rtr_tls_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (r->tls == NULL)
		return;
	*out = r->tls->st;
	out->contexts = r->tls->n_cached;
}
