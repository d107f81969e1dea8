/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The tuntap router's UDP gateway (see gateway.h): sealing and opening
 * datagrams with ChaCha20-Poly1305 under a key derived from the pre-shared
 * key, the per-sender replay windows, and the thin socket layer on the
 * emperor's loop that sends packets routed to remote routers and hands
 * received ones, checked, to the router. Buffers are allocated once at
 * setup; nothing is allocated per datagram.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/util.h"
#include "tuntap/gateway.h"

#define GW_BUF 65536	  /* any UDP datagram, any IP packet */
#define GW_BATCH 64	  /* datagrams per wakeup */
#define GW_LOG_WINDOW 5.0 /* seconds: at most GW_LOG_BURST lines in each */
#define GW_LOG_BURST 10
#define GW_SALT "imperium tuntap gateway"
#define GW_INFO "v1 chacha20-poly1305 datagram key"

static const char *const drop_names[TT_GW__COUNT] = {
    [TT_GW_OK] = "ok",
    [TT_GW_SHORT] = "short",
    [TT_GW_MAGIC_BAD] = "magic",
    [TT_GW_AUTH] = "auth",
    [TT_GW_REPLAY] = "replay",
    [TT_GW_OLD] = "old",
    [TT_GW_MALFORMED] = "malformed",
    [TT_GW_SPOOF] = "spoof",
    [TT_GW_UNKNOWN_PEER] = "unknown_peer",
    [TT_GW_TOO_BIG] = "too_big",
    [TT_GW_SEND] = "send",
    [TT_GW_NO_ROUTE] = "no_route",
    [TT_GW_FIREWALL] = "firewall",
};

const char *tt_gw_drop_name(enum tt_gw_drop d)
{
	if ((unsigned)d >= TT_GW__COUNT)
		return "unknown";
	return drop_names[d];
}

/* ---- sealing and opening ---- */

static int derive(const uint8_t psk[32], uint8_t out[32])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)psk, 32),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)GW_SALT,
					      sizeof(GW_SALT) - 1),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)GW_INFO,
					      sizeof(GW_INFO) - 1),
	    OSSL_PARAM_construct_end(),
	};
	int r = kc != NULL && EVP_KDF_derive(kc, out, 32, params) > 0 ? 0 : -1;
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	return r;
}

int tt_gw_crypt_init(struct tt_gw_crypt *k, const uint8_t psk[32], struct err **err)
{
	uint8_t key[32];
	memset(k, 0, sizeof(*k));
	if (derive(psk, key) < 0)
		return err_set(err, 0, "tuntap gateway: deriving the key (HKDF-SHA256) failed");
	EVP_CIPHER_CTX *s = EVP_CIPHER_CTX_new(), *o = EVP_CIPHER_CTX_new();
	k->seal = s;
	k->open = o;
	bool ok = s != NULL && o != NULL &&
		  EVP_EncryptInit_ex(s, EVP_chacha20_poly1305(), NULL, key, NULL) > 0 &&
		  EVP_DecryptInit_ex(o, EVP_chacha20_poly1305(), NULL, key, NULL) > 0;
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok) {
		tt_gw_crypt_free(k);
		return err_set(err, 0, "tuntap gateway: ChaCha20-Poly1305 is not available");
	}
	return 0;
}

void tt_gw_crypt_free(struct tt_gw_crypt *k)
{
	EVP_CIPHER_CTX_free(k->seal); /* wipes the key schedule */
	EVP_CIPHER_CTX_free(k->open);
	k->seal = k->open = NULL;
}

static void put_hdr(uint8_t *h, uint32_t sender, uint64_t counter)
{
	h[0] = TT_GW_MAGIC;
	for (int i = 0; i < 4; i++)
		h[1 + i] = (uint8_t)(sender >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		h[5 + i] = (uint8_t)(counter >> (56 - 8 * i));
}

long tt_gw_seal(struct tt_gw_crypt *k, uint32_t sender, uint64_t counter, const uint8_t *pkt,
		size_t len, uint8_t *out, size_t cap)
{
	if (len > TT_GW_PKT_MAX || cap < len + TT_GW_OVERHEAD)
		return -1;
	EVP_CIPHER_CTX *c = k->seal;
	int n1 = 0, n2 = 0, na = 0;
	put_hdr(out, sender, counter);
	/* The nonce is the header after its magic byte: sender id, counter. */
	if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, out + 1) <= 0 ||
	    EVP_EncryptUpdate(c, NULL, &na, out, TT_GW_HDR) <= 0 ||
	    EVP_EncryptUpdate(c, out + TT_GW_HDR, &n1, pkt, (int)len) <= 0 ||
	    EVP_EncryptFinal_ex(c, out + TT_GW_HDR + n1, &n2) <= 0 || (size_t)(n1 + n2) != len ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TT_GW_TAG, out + TT_GW_HDR + len) <= 0)
		return -1;
	return (long)(len + TT_GW_OVERHEAD);
}

long tt_gw_open(struct tt_gw_crypt *k, const uint8_t *dg, size_t len, uint8_t *out, size_t cap,
		struct tt_gw_hdr *h)
{
	if (len < TT_GW_OVERHEAD)
		return -TT_GW_SHORT;
	if (dg[0] != TT_GW_MAGIC)
		return -TT_GW_MAGIC_BAD;
	size_t n = len - TT_GW_OVERHEAD;
	if (n > TT_GW_PKT_MAX || cap < n)
		return -TT_GW_AUTH;
	EVP_CIPHER_CTX *c = k->open;
	int n1 = 0, n2 = 0, na = 0;
	uint8_t tag[TT_GW_TAG];
	memcpy(tag, dg + TT_GW_HDR + n, TT_GW_TAG);
	if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, dg + 1) <= 0 ||
	    EVP_DecryptUpdate(c, NULL, &na, dg, TT_GW_HDR) <= 0 ||
	    EVP_DecryptUpdate(c, out, &n1, dg + TT_GW_HDR, (int)n) <= 0 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TT_GW_TAG, tag) <= 0 ||
	    EVP_DecryptFinal_ex(c, out + n1, &n2) <= 0 || (size_t)(n1 + n2) != n)
		return -TT_GW_AUTH;
	h->sender = (uint32_t)dg[1] << 24 | (uint32_t)dg[2] << 16 | (uint32_t)dg[3] << 8 | dg[4];
	h->counter = 0;
	for (int i = 0; i < 8; i++)
		h->counter = h->counter << 8 | dg[5 + i];
	return (long)n;
}

/* ---- replay windows ---- */

static bool win_bit(const struct tt_gw_window *w, uint64_t c)
{
	size_t i = (size_t)(c % TT_GW_WINDOW);
	return (w->bits[i / 64] >> (i % 64)) & 1;
}

static void win_set(struct tt_gw_window *w, uint64_t c, bool on)
{
	size_t i = (size_t)(c % TT_GW_WINDOW);
	if (on)
		w->bits[i / 64] |= 1ull << (i % 64);
	else
		w->bits[i / 64] &= ~(1ull << (i % 64));
}

static void win_start(struct tt_gw_window *w, uint64_t c)
{
	memset(w, 0, sizeof(*w));
	w->top = c;
	win_set(w, c, true);
}

/* Check and record counter @c of a known sender. */
static enum tt_gw_drop win_accept(struct tt_gw_window *w, uint64_t c)
{
	if (c > w->top) {
		if (c - w->top >= TT_GW_WINDOW) {
			memset(w->bits, 0, sizeof(w->bits));
		} else {
			for (uint64_t x = w->top + 1; x < c; x++)
				win_set(w, x, false);
		}
		w->top = c;
		win_set(w, c, true);
		return TT_GW_OK;
	}
	if (w->top - c >= TT_GW_WINDOW)
		return TT_GW_OLD;
	if (win_bit(w, c))
		return TT_GW_REPLAY;
	win_set(w, c, true);
	return TT_GW_OK;
}

enum tt_gw_drop tt_gw_senders_accept(struct tt_gw_senders *t, const struct tt_gw_hdr *h)
{
	size_t lru = 0, free_slot = TT_GW_SENDERS;
	t->tick++;
	for (size_t i = 0; i < TT_GW_SENDERS; i++) {
		if (!t->s[i].used) {
			if (free_slot == TT_GW_SENDERS)
				free_slot = i;
			continue;
		}
		if (t->s[i].id == h->sender) {
			enum tt_gw_drop r = win_accept(&t->s[i].w, h->counter);
			if (r == TT_GW_OK)
				t->s[i].seen = t->tick;
			return r;
		}
		if (t->s[lru].used && t->s[i].seen < t->s[lru].seen)
			lru = i;
	}
	/* A sender we do not know (or no longer): its counter must be above
	 * everything an evicted sender sent. */
	if (h->counter <= t->floor)
		return TT_GW_OLD;
	size_t i = free_slot;
	if (i == TT_GW_SENDERS) {
		i = lru;
		if (t->s[i].w.top > t->floor)
			t->floor = t->s[i].w.top;
		t->evicted++;
	}
	t->s[i].used = true;
	t->s[i].id = h->sender;
	t->s[i].seen = t->tick;
	win_start(&t->s[i].w, h->counter);
	return TT_GW_OK;
}

/* ---- the gateway on the loop ---- */

/* One remote router: a distinct route ADDR. */
struct gw_peer {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[64];
	struct tt_gw_senders senders;
	uint64_t dg_in, bytes_in, dg_out, bytes_out;
};

struct gw_route {
	struct tt_cidr net;
	unsigned bits; /* prefix over the 128-bit form (IPv4 mapped: 96 + prefix) */
	struct gw_peer *peer;
};

struct tt_gw {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	char addr[64];
	struct tt_gw_crypt k;
	uint32_t sender;
	uint64_t counter;
	struct gw_route routes[TT_GW_ROUTES_MAX]; /* longest prefix first */
	size_t n_routes;
	struct gw_peer peers[TT_GW_ROUTES_MAX];
	size_t n_peers;
	tt_gw_deliver_fn deliver;
	void *arg;
	uint8_t *rx, *pkt, *tx; /* GW_BUF bytes each */
	uint64_t drops[TT_GW__COUNT];
	uint64_t dg_in, bytes_in, dg_out, bytes_out;
	double log_start;
	unsigned log_lines;
	uint64_t log_suppressed;
};

bool tt_gw_configured(const struct tt_config *c)
{
	return c->gateway[0] != '\0' || c->n_routes > 0 || c->gw_key_set;
}

static void gw_log(struct tt_gw *g, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void gw_log(struct tt_gw *g, const char *fmt, ...)
{
	double now = ev_now(g->loop);
	if (now - g->log_start >= GW_LOG_WINDOW) {
		g->log_start = now;
		g->log_lines = 0;
	}
	if (g->log_lines >= GW_LOG_BURST) {
		g->log_suppressed++;
		return;
	}
	g->log_lines++;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (g->log_suppressed > 0)
		log_warn("tuntap gateway %s: %s (%llu more such lines suppressed)", g->addr, msg,
			 (unsigned long long)g->log_suppressed);
	else
		log_warn("tuntap gateway %s: %s", g->addr, msg);
	g->log_suppressed = 0;
}

static bool cidr_has(const struct gw_route *r, uint8_t family, const union tt_ip *ip)
{
	if (r->net.family != family)
		return false;
	unsigned full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(r->net.ip.b, ip->b, full) != 0)
		return false;
	return rest == 0 || ((r->net.ip.b[full] ^ ip->b[full]) & (0xff00 >> rest)) == 0;
}

static bool same_sa(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static struct gw_peer *peer_of(struct tt_gw *g, const struct sockaddr_storage *sa)
{
	for (size_t i = 0; i < g->n_peers; i++)
		if (same_sa(&g->peers[i].sa, sa))
			return &g->peers[i];
	return NULL;
}

static void drop(struct tt_gw *g, enum tt_gw_drop why)
{
	g->drops[why]++;
}

/* One received datagram from @sa, @len bytes in g->rx. */
static void receive(struct tt_gw *g, const struct sockaddr_storage *sa, size_t len)
{
	char from[ADDR_TEXT_MAX];
	struct gw_peer *p = peer_of(g, sa);
	if (p == NULL) {
		drop(g, TT_GW_UNKNOWN_PEER);
		addr_format((const struct sockaddr *)sa, sizeof(*sa), from, sizeof(from));
		gw_log(g, "dropped a datagram from %s: no route names it", from);
		return;
	}
	struct tt_gw_hdr h;
	long n = tt_gw_open(&g->k, g->rx, len, g->pkt, GW_BUF, &h);
	if (n < 0) {
		drop(g, (enum tt_gw_drop) - n);
		gw_log(g, "dropped a datagram from %s: %s%s", p->text,
		       tt_gw_drop_name((enum tt_gw_drop) - n),
		       n == -TT_GW_AUTH ? " (tampered, forged or another key)" : "");
		return;
	}
	enum tt_gw_drop r = tt_gw_senders_accept(&p->senders, &h);
	if (r != TT_GW_OK) {
		drop(g, r);
		gw_log(g, "dropped a datagram from %s: %s (sender %08x, counter %llu)", p->text,
		       tt_gw_drop_name(r), h.sender, (unsigned long long)h.counter);
		return;
	}
	p->dg_in++;
	p->bytes_in += len;
	struct tt_pkt k;
	if (tt_pkt_classify(g->pkt, (size_t)n, &k) != TT_PKT_OK) {
		drop(g, TT_GW_MALFORMED);
		gw_log(g, "dropped a malformed packet from %s", p->text);
		return;
	}
	bool ok = false;
	for (size_t i = 0; i < g->n_routes && !ok; i++)
		ok = g->routes[i].peer == p && cidr_has(&g->routes[i], k.family, &k.src);
	if (!ok) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(k.family == TT_IPV4 ? AF_INET : AF_INET6,
			  k.family == TT_IPV4 ? k.src.b + 12 : k.src.b, a, sizeof(a));
		drop(g, TT_GW_SPOOF);
		gw_log(g, "dropped a packet from %s: source %s is not routed to it", p->text, a);
		return;
	}
	r = g->deliver(g->arg, g->pkt, (size_t)n, &k);
	if (r != TT_GW_OK) {
		drop(g, r);
		return;
	}
	g->dg_in++;
	g->bytes_in += len;
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct tt_gw *g = container_of(w, struct tt_gw, io);
	for (int i = 0; i < GW_BATCH; i++) {
		struct sockaddr_storage sa;
		socklen_t sl = sizeof(sa);
		memset(&sa, 0, sizeof(sa));
		ssize_t n =
		    recvfrom(g->fd, g->rx, GW_BUF, MSG_DONTWAIT, (struct sockaddr *)&sa, &sl);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				gw_log(g, "receiving: %s", strerror(errno));
			break;
		}
		receive(g, &sa, (size_t)n);
	}
}

bool tt_gw_route_out(struct tt_gw *g, const uint8_t *pkt, size_t len, const struct tt_pkt *k)
{
	if (g == NULL)
		return false;
	const struct gw_route *r = NULL;
	for (size_t i = 0; i < g->n_routes && r == NULL; i++)
		if (cidr_has(&g->routes[i], k->family, &k->dst))
			r = &g->routes[i];
	if (r == NULL)
		return false;
	if (len > TT_GW_PKT_MAX) {
		drop(g, TT_GW_TOO_BIG);
		return true;
	}
	long n = tt_gw_seal(&g->k, g->sender, g->counter, pkt, len, g->tx, GW_BUF);
	if (n < 0) {
		drop(g, TT_GW_SEND);
		return true;
	}
	g->counter++;
	struct gw_peer *p = r->peer;
	ssize_t w = sendto(g->fd, g->tx, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)&p->sa, p->len);
	if (w != n) {
		drop(g, TT_GW_SEND);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			gw_log(g, "sending to %s: %s", p->text, strerror(errno));
		return true;
	}
	p->dg_out++;
	p->bytes_out += (uint64_t)n;
	g->dg_out++;
	g->bytes_out += (uint64_t)n;
	return true;
}

/* ---- setup ---- */

static int check_config(const struct tt_config *c, const struct addr *a, struct err **err)
{
	if (c->gateway[0] == '\0')
		return err_set(err, EINVAL,
			       "tuntap: tuntap-router-route and tuntap-router-gateway-key need "
			       "the GATEWAY field of tuntap-router (DEV SOCKET STATS GATEWAY)");
	if (!c->gw_key_set)
		return err_set(err, EINVAL,
			       "tuntap: the gateway %s needs tuntap-router-gateway-key",
			       c->gateway);
	if (c->n_routes == 0)
		return err_set(err, EINVAL,
			       "tuntap: the gateway %s has no tuntap-router-route: it could "
			       "neither send nor accept a packet",
			       c->gateway);
	for (size_t i = 0; i < c->n_routes; i++)
		if (c->routes[i].peer.ss_family != a->ss.ss_family)
			return err_set(err, EINVAL,
				       "tuntap: route to %s: not of the gateway %s's address "
				       "family",
				       c->routes[i].peer_text, c->gateway);
	return 0;
}

/* The routes, longest prefix first, and their distinct peers. */
static void load_routes(struct tt_gw *g, const struct tt_config *c)
{
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct tt_gw_route *cr = &c->routes[i];
		struct gw_peer *p = peer_of(g, &cr->peer);
		if (p == NULL) {
			p = &g->peers[g->n_peers++];
			memcpy(&p->sa, &cr->peer, sizeof(p->sa));
			p->len = cr->peer_len;
			snprintf(p->text, sizeof(p->text), "%s", cr->peer_text);
		}
		struct gw_route r = {.net = cr->net, .peer = p};
		r.bits = (cr->net.family == TT_IPV4 ? 96u : 0u) + cr->net.prefix;
		size_t j = g->n_routes++;
		for (; j > 0 && g->routes[j - 1].bits < r.bits; j--)
			g->routes[j] = g->routes[j - 1];
		g->routes[j] = r;
	}
}

static int open_socket(struct tt_gw *g, const struct addr *a, struct err **err)
{
	g->fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd < 0)
		return err_set(err, errno, "tuntap gateway %s: socket", g->addr);
	int on = 1;
	if (a->ss.ss_family == AF_INET6)
		setsockopt(g->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(g->fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		return err_set(err, errno, "tuntap gateway %s: bind", g->addr);
	ev_io_init(&g->io, read_cb, g->fd, EV_READ);
	ev_io_start(g->loop, &g->io);
	return 0;
}

struct tt_gw *tt_gw_new(struct ev_loop *loop, const struct tt_config *c, tt_gw_deliver_fn deliver,
			void *arg, struct err **err)
{
	struct addr a = {.len = 0};
	if (c->gateway[0] != '\0' && addr_parse(c->gateway, &a, err) < 0)
		return NULL;
	if (check_config(c, &a, err) < 0)
		return NULL;
	struct tt_gw *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		err_set(err, ENOMEM, "tuntap gateway");
		return NULL;
	}
	g->loop = loop;
	g->fd = -1;
	g->deliver = deliver;
	g->arg = arg;
	snprintf(g->addr, sizeof(g->addr), "%s", c->gateway);
	ev_io_init(&g->io, read_cb, -1, EV_READ);
	g->rx = malloc(GW_BUF);
	g->pkt = malloc(GW_BUF);
	g->tx = malloc(GW_BUF);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	g->counter = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (g->rx == NULL || g->pkt == NULL || g->tx == NULL) {
		err_set(err, ENOMEM, "tuntap gateway");
		goto fail;
	}
	if (RAND_bytes((unsigned char *)&g->sender, sizeof(g->sender)) != 1) {
		err_set(err, 0, "tuntap gateway: no random sender id");
		goto fail;
	}
	if (tt_gw_crypt_init(&g->k, c->gw_key, err) < 0)
		goto fail;
	load_routes(g, c);
	if (open_socket(g, &a, err) < 0)
		goto fail;
	log_info("tuntap: gateway on %s (sender %08x), %zu routes to %zu routers", g->addr,
		 g->sender, g->n_routes, g->n_peers);
	return g;
fail:
	tt_gw_free(g);
	return NULL;
}

void tt_gw_free(struct tt_gw *g)
{
	if (g == NULL)
		return;
	ev_io_stop(g->loop, &g->io);
	if (g->fd >= 0)
		close(g->fd);
	tt_gw_crypt_free(&g->k);
	if (g->pkt != NULL)
		OPENSSL_cleanse(g->pkt, GW_BUF); /* the last packet in clear */
	free(g->rx);
	free(g->pkt);
	free(g->tx);
	free(g);
}

/* ---- stats ---- */

static void route_json(struct json *j, const struct gw_route *r)
{
	char a[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN + 5];
	bool v4 = r->net.family == TT_IPV4;
	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? r->net.ip.b + 12 : r->net.ip.b, a, sizeof(a));
	snprintf(net, sizeof(net), "%s/%u", a, r->net.prefix);
	json_obj_begin(j);
	json_key(j, "net"), json_str(j, net);
	json_key(j, "via"), json_str(j, r->peer->text);
	json_obj_end(j);
}

static void peer_json(struct json *j, const struct gw_peer *p)
{
	unsigned senders = 0;
	for (size_t i = 0; i < TT_GW_SENDERS; i++)
		senders += p->senders.s[i].used;
	json_obj_begin(j);
	json_key(j, "address"), json_str(j, p->text);
	json_key(j, "datagrams_in"), json_uint(j, p->dg_in);
	json_key(j, "bytes_in"), json_uint(j, p->bytes_in);
	json_key(j, "datagrams_out"), json_uint(j, p->dg_out);
	json_key(j, "bytes_out"), json_uint(j, p->bytes_out);
	json_key(j, "senders"), json_uint(j, senders);
	json_key(j, "senders_evicted"), json_uint(j, p->senders.evicted);
	json_obj_end(j);
}

void tt_gw_stats_json(const struct tt_gw *g, struct json *j)
{
	if (g == NULL) {
		json_null(j);
		return;
	}
	char id[16];
	snprintf(id, sizeof(id), "%08x", g->sender);
	json_obj_begin(j);
	json_key(j, "address"), json_str(j, g->addr);
	json_key(j, "sender"), json_str(j, id);
	json_key(j, "datagrams_in"), json_uint(j, g->dg_in);
	json_key(j, "bytes_in"), json_uint(j, g->bytes_in);
	json_key(j, "datagrams_out"), json_uint(j, g->dg_out);
	json_key(j, "bytes_out"), json_uint(j, g->bytes_out);
	json_key(j, "routes");
	json_arr_begin(j);
	for (size_t i = 0; i < g->n_routes; i++)
		route_json(j, &g->routes[i]);
	json_arr_end(j);
	json_key(j, "peers");
	json_arr_begin(j);
	for (size_t i = 0; i < g->n_peers; i++)
		peer_json(j, &g->peers[i]);
	json_arr_end(j);
	json_key(j, "drops");
	json_obj_begin(j);
	for (int i = 1; i < TT_GW__COUNT; i++)
		json_key(j, drop_names[i]), json_uint(j, g->drops[i]);
	json_obj_end(j);
	json_obj_end(j);
}
