/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for router/table.c: subscriptions creating, refreshing and
 * removing nodes within every configured limit; key normalisation and
 * mountpoint lookups; each balancing algorithm (exact and smooth wrr, lrc,
 * wlrc, iphash) under backup levels, failures and exclusion; expiry,
 * per-vassal removal, references outliving removal, and a 10k-key stress.
 * Packets are filled by hand, so nothing here depends on the packet parser.
 */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "router/table.h"

/* ---- helpers ---------------------------------------------------------- */

static struct subpkt_str str_of(const char *s)
{
	struct subpkt_str r = {s, s != NULL ? strlen(s) : 0};
	return r;
}

/* A subscribe packet for @key -> @addr with weight 1, as subpkt_parse would
 * leave it. */
static struct subpkt sub(const char *key, const char *addr)
{
	struct subpkt p;
	memset(&p, 0, sizeof(p));
	p.key = str_of(key);
	p.address = str_of(addr);
	p.weight = 1;
	return p;
}

static struct subpkt unsub(const char *key, const char *addr)
{
	struct subpkt p = sub(key, addr);
	p.unsubscribe = true;
	return p;
}

static struct rtr_table *table_default(void)
{
	struct rtr_table *t = rtr_table_new(NULL);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* Subscribe and insist on @want; returns the node (NULL unless created or
 * refreshed). */
static struct rtr_node *apply_want(struct rtr_table *t, const struct subpkt *p, double now,
				   enum rtr_sub_result want)
{
	struct rtr_node *n = (struct rtr_node *)1;
	enum rtr_sub_result r = rtr_table_apply(t, p, NULL, now, &n);
	ck_assert_msg(r == want, "%.*s %.*s: got %s, want %s", (int)p->key.len, p->key.p,
		      (int)p->address.len, p->address.p, rtr_sub_result_name(r),
		      rtr_sub_result_name(want));
	if (r == RTR_SUB_CREATED || r == RTR_SUB_REFRESHED)
		ck_assert_ptr_nonnull(n);
	else
		ck_assert_ptr_null(n);
	return n;
}

/* Subscribe @addr to @key with @weight and @backup; the new node. */
static struct rtr_node *add(struct rtr_table *t, const char *key, const char *addr, uint64_t weight,
			    uint64_t backup)
{
	struct subpkt p = sub(key, addr);
	p.weight = weight;
	p.backup = backup;
	return apply_want(t, &p, 0, RTR_SUB_CREATED);
}

static struct rtr_pool *pool_of(struct rtr_table *t, const char *key)
{
	struct rtr_pool *p = rtr_table_find(t, key, strlen(key));
	ck_assert_msg(p != NULL, "no pool '%s'", key);
	return p;
}

static struct rtr_pool *lookup(struct rtr_table *t, const char *host, const char *path,
			       unsigned mountpoints)
{
	return rtr_table_lookup(t, host, strlen(host), path, path != NULL ? strlen(path) : 0,
				mountpoints);
}

static struct sockaddr_in v4(const char *ip)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return sin;
}

static struct sockaddr_in6 v6(const char *ip)
{
	struct sockaddr_in6 sin6;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return sin6;
}

/* ---- subscriptions ---------------------------------------------------- */

START_TEST(test_create_refresh_unsubscribe)
{
	struct rtr_table *t = table_default();
	struct subpkt p = sub("example.com", "127.0.0.1:3031");
	p.cores = 4;
	p.load = 7;

	struct rtr_node *n = apply_want(t, &p, 10, RTR_SUB_CREATED);
	ck_assert_uint_eq(rtr_table_keys(t), 1);
	ck_assert_uint_eq(rtr_table_nodes(t), 1);
	struct rtr_pool *pool = pool_of(t, "example.com");
	ck_assert_ptr_eq(pool->nodes, n);
	ck_assert_ptr_eq(n->pool, pool);
	ck_assert_uint_eq(pool->n_nodes, 1);
	ck_assert_int_eq(pool->algo, RTR_ALGO_WRR);
	ck_assert_str_eq(pool->key, "example.com");
	ck_assert_uint_eq(pool->keylen, 11);
	ck_assert_str_eq(n->addr.text, "127.0.0.1:3031");
	ck_assert_int_eq(n->addr.ss.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&n->addr.ss)->sin_port), 3031);
	ck_assert_uint_eq(n->cores, 4);
	ck_assert_uint_eq(n->load, 7);
	ck_assert_int_eq(n->proto, RTR_PROTO_UWSGI);
	ck_assert(n->created == 10 && n->last_seen == 10);
	ck_assert_int_gt(n->last_seen_wall, 0);

	/* same key and address: the same node, refreshed */
	p.weight = 3;
	p.backup = 2;
	p.cores = 8;
	p.load = 1;
	p.proto = str_of("Http");
	ck_assert_ptr_eq(apply_want(t, &p, 20, RTR_SUB_REFRESHED), n);
	ck_assert_uint_eq(rtr_table_nodes(t), 1);
	ck_assert_uint_eq(n->weight, 3);
	ck_assert_uint_eq(n->backup, 2);
	ck_assert_uint_eq(n->cores, 8);
	ck_assert_uint_eq(n->load, 1);
	ck_assert_int_eq(n->proto, RTR_PROTO_HTTP);
	ck_assert(n->created == 10 && n->last_seen == 20);

	/* a second address is a second node, in insertion order */
	struct subpkt q = sub("example.com", "/run/app.sock");
	q.proto = str_of("uwsgi");
	struct rtr_node *m = apply_want(t, &q, 20, RTR_SUB_CREATED);
	ck_assert_ptr_eq(n->next, m);
	ck_assert_uint_eq(pool->n_nodes, 2);
	ck_assert_int_eq(m->addr.ss.ss_family, AF_UNIX);
	ck_assert_int_eq(m->proto, RTR_PROTO_UWSGI);

	/* unsubscribe: removed, then not found; the last one takes the pool */
	struct subpkt u = unsub("example.com", "127.0.0.1:3031");
	apply_want(t, &u, 30, RTR_SUB_REMOVED);
	apply_want(t, &u, 30, RTR_SUB_NOT_FOUND);
	ck_assert_uint_eq(rtr_table_nodes(t), 1);
	ck_assert_ptr_eq(pool->nodes, m);
	struct subpkt u2 = unsub("example.com", "/run/app.sock");
	apply_want(t, &u2, 30, RTR_SUB_REMOVED);
	ck_assert_uint_eq(rtr_table_keys(t), 0);
	ck_assert_uint_eq(rtr_table_nodes(t), 0);
	ck_assert_ptr_null(rtr_table_find(t, "example.com", 11));
	struct subpkt u3 = unsub("other.com", "/run/app.sock");
	apply_want(t, &u3, 30, RTR_SUB_NOT_FOUND);

	/* node_out is optional */
	ck_assert_int_eq(rtr_table_apply(t, &p, NULL, 40, NULL), RTR_SUB_CREATED);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_keys_case_port)
{
	struct rtr_table *t = table_default();
	add(t, "Example.COM:8080", "127.0.0.1:1", 1, 0);
	struct rtr_pool *p = pool_of(t, "example.com:8080");
	ck_assert_str_eq(p->key, "example.com:8080");

	/* the same key in another case is the same pool */
	struct subpkt s = sub("EXAMPLE.com:8080", "127.0.0.1:2");
	apply_want(t, &s, 0, RTR_SUB_CREATED);
	ck_assert_uint_eq(rtr_table_keys(t), 1);
	ck_assert_uint_eq(p->n_nodes, 2);
	s = sub("EXAMPLE.com:8080", "127.0.0.1:1");
	apply_want(t, &s, 0, RTR_SUB_REFRESHED);

	ck_assert_ptr_eq(rtr_table_find(t, "EXAMPLE.COM:8080", 16), p);
	ck_assert_ptr_eq(lookup(t, "eXample.Com:8080", "/", 0), p);
	/* the port is part of the key */
	ck_assert_ptr_null(lookup(t, "example.com", "/", 0));
	ck_assert_ptr_null(lookup(t, "example.com:8081", "/", 0));

	/* the path part keeps its case */
	add(t, "Site.org/Api", "127.0.0.1:3", 1, 0);
	ck_assert_ptr_nonnull(rtr_table_find(t, "site.org/Api", 12));
	ck_assert_ptr_null(rtr_table_find(t, "site.org/api", 12));
	ck_assert_ptr_nonnull(lookup(t, "SITE.ORG", "/Api/x", 1));
	ck_assert_ptr_null(lookup(t, "SITE.ORG", "/api/x", 1));

	/* find refuses what cannot be a key */
	ck_assert_ptr_null(rtr_table_find(t, "", 0));
	rtr_table_free(t);
}
END_TEST

START_TEST(test_mountpoints)
{
	struct rtr_table *t = table_default();
	add(t, "example.com", "127.0.0.1:1", 1, 0);
	add(t, "example.com/app", "127.0.0.1:2", 1, 0);
	add(t, "example.com/app/v2", "127.0.0.1:3", 1, 0);
	struct rtr_pool *bare = pool_of(t, "example.com");
	struct rtr_pool *app = pool_of(t, "example.com/app");
	struct rtr_pool *v2 = pool_of(t, "example.com/app/v2");

	/* longest prefix of at most N segments */
	ck_assert_ptr_eq(lookup(t, "example.com", "/app/v2/users", 2), v2);
	ck_assert_ptr_eq(lookup(t, "example.com", "/app/v2/users", 3), v2);
	ck_assert_ptr_eq(lookup(t, "example.com", "/app/v2/users", 1), app);
	ck_assert_ptr_eq(lookup(t, "example.com", "/app/v3/users", 2), app);
	ck_assert_ptr_eq(lookup(t, "example.com", "/app", 2), app);
	ck_assert_ptr_eq(lookup(t, "example.com", "/app/", 2), app);
	/* fallback to the bare domain */
	ck_assert_ptr_eq(lookup(t, "example.com", "/other/v2", 2), bare);
	ck_assert_ptr_eq(lookup(t, "example.com", "/", 2), bare);
	ck_assert_ptr_eq(lookup(t, "example.com", "", 2), bare);
	ck_assert_ptr_eq(lookup(t, "example.com", NULL, 2), bare);
	/* segments are whole: "/application" is not "/app" */
	ck_assert_ptr_eq(lookup(t, "example.com", "/application", 2), bare);
	/* the query is stripped, even when it holds slashes */
	ck_assert_ptr_eq(lookup(t, "example.com", "/app?x=/v2", 2), app);
	ck_assert_ptr_eq(lookup(t, "example.com", "/app/v2?q=1", 2), v2);
	ck_assert_ptr_eq(lookup(t, "example.com", "/?app/v2", 2), bare);
	/* empty segments are skipped */
	ck_assert_ptr_eq(lookup(t, "example.com", "//app///v2//x", 2), v2);
	/* the host is case-insensitive here too */
	ck_assert_ptr_eq(lookup(t, "Example.Com", "/app/v2", 2), v2);
	/* unknown host */
	ck_assert_ptr_null(lookup(t, "example.org", "/app/v2", 2));

	/* without the bare domain, a miss is a miss */
	add(t, "api.test/v1", "127.0.0.1:4", 1, 0);
	ck_assert_ptr_nonnull(lookup(t, "api.test", "/v1/x", 1));
	ck_assert_ptr_null(lookup(t, "api.test", "/v2/x", 1));

	/* a candidate too long for a key is skipped, shorter ones still tried */
	char longpath[600];
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "/app/", 5);
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_ptr_eq(lookup(t, "example.com", longpath, 2), app);
	/* a host too long for a key matches nothing */
	char longhost[300];
	memset(longhost, 'h', sizeof(longhost));
	longhost[sizeof(longhost) - 1] = '\0';
	ck_assert_ptr_null(lookup(t, longhost, "/app", 2));
	ck_assert_ptr_null(lookup(t, "", "/app", 2));
	rtr_table_free(t);
}
END_TEST

START_TEST(test_mountpoints_zero)
{
	struct rtr_table *t = table_default();
	add(t, "example.com", "127.0.0.1:1", 1, 0);
	add(t, "example.com/app", "127.0.0.1:2", 1, 0);
	struct rtr_pool *bare = pool_of(t, "example.com");
	ck_assert_ptr_eq(lookup(t, "example.com", "/app/x", 0), bare);
	ck_assert_ptr_eq(lookup(t, "example.com", "/app?q", 0), bare);
	ck_assert_ptr_eq(lookup(t, "EXAMPLE.COM", NULL, 0), bare);
	rtr_table_free(t);
}
END_TEST

/* ---- balancing -------------------------------------------------------- */

START_TEST(test_wrr_weights)
{
	struct rtr_table *t = table_default();
	struct rtr_node *n[3] = {
	    add(t, "w", "127.0.0.1:1", 1, 0),
	    add(t, "w", "127.0.0.1:2", 2, 0),
	    add(t, "w", "127.0.0.1:3", 7, 0),
	};
	struct rtr_pool *p = pool_of(t, "w");
	unsigned count[3] = {0};

	for (int i = 0; i < 10000; i++) {
		struct rtr_node *got = rtr_pool_pick(p, 0, NULL, NULL);
		ck_assert_ptr_nonnull(got);
		for (int j = 0; j < 3; j++)
			count[j] += got == n[j];
	}
	/* within 1%, and in fact exact */
	ck_assert_uint_eq(count[0], 1000);
	ck_assert_uint_eq(count[1], 2000);
	ck_assert_uint_eq(count[2], 7000);
	ck_assert_uint_eq(p->hits, 10000);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_wrr_smooth)
{
	struct rtr_table *t = table_default();
	struct rtr_node *a = add(t, "s", "127.0.0.1:1", 5, 0);
	add(t, "s", "127.0.0.1:2", 1, 0);
	add(t, "s", "127.0.0.1:3", 1, 0);
	struct rtr_pool *p = pool_of(t, "s");
	struct rtr_node *seq[70];

	for (int i = 0; i < 70; i++)
		seq[i] = rtr_pool_pick(p, 0, NULL, NULL);
	/*
	 * nginx's order is a a b a c a a, repeated: the light nodes never come
	 * twice in a row nor next to each other, the heavy one never spends its
	 * whole weight in one run (plain wrr would give a a a a a b c), and
	 * every 7 consecutive picks hold exactly 5, 1, 1.
	 */
	int run = 0, maxrun = 0;
	for (int i = 0; i < 70; i++) {
		ck_assert_ptr_nonnull(seq[i]);
		if (seq[i] == a) {
			run++;
			maxrun = run > maxrun ? run : maxrun;
			continue;
		}
		run = 0;
		if (i > 0)
			ck_assert_ptr_eq(seq[i - 1], a);
	}
	ck_assert_int_lt(maxrun, 5);
	for (int i = 0; i + 7 <= 70; i++) {
		int as = 0;
		for (int j = i; j < i + 7; j++)
			as += seq[j] == a;
		ck_assert_int_eq(as, 5);
	}
	rtr_table_free(t);
}
END_TEST

START_TEST(test_lrc)
{
	struct rtr_table *t = table_default();
	struct subpkt s = sub("l", "127.0.0.1:1");
	s.algo = str_of("LRC");
	struct rtr_node *n0 = apply_want(t, &s, 0, RTR_SUB_CREATED);
	struct rtr_node *n1 = add(t, "l", "127.0.0.1:2", 1, 0);
	struct rtr_node *n2 = add(t, "l", "127.0.0.1:3", 1, 0);
	struct rtr_pool *p = pool_of(t, "l");
	ck_assert_int_eq(p->algo, RTR_ALGO_LRC);

	n0->inflight = 5;
	n1->inflight = 2;
	n2->inflight = 9;
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, NULL), n1);
	n2->inflight = 0;
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, NULL), n2);

	/* ties rotate: all three equal, each gets its share */
	n0->inflight = n1->inflight = n2->inflight = 3;
	unsigned count[3] = {0};
	for (int i = 0; i < 300; i++) {
		struct rtr_node *got = rtr_pool_pick(p, 0, NULL, NULL);
		count[0] += got == n0;
		count[1] += got == n1;
		count[2] += got == n2;
	}
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[1], 100);
	ck_assert_uint_eq(count[2], 100);
	/* a tie between two leaves the loaded one out */
	n2->inflight = 4;
	for (int i = 0; i < 10; i++)
		ck_assert_ptr_ne(rtr_pool_pick(p, 0, NULL, NULL), n2);
	/* the weight does not matter to lrc */
	n1->weight = 100;
	n1->inflight = 4;
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, NULL), n0);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_wlrc)
{
	struct rtr_table *t = table_default();
	struct subpkt s = sub("wl", "127.0.0.1:1");
	s.algo = str_of("wlrc");
	s.weight = 1;
	struct rtr_node *n0 = apply_want(t, &s, 0, RTR_SUB_CREATED);
	struct rtr_node *n1 = add(t, "wl", "127.0.0.1:2", 4, 0);
	struct rtr_pool *p = pool_of(t, "wl");
	ck_assert_int_eq(p->algo, RTR_ALGO_WLRC);

	/* 2/1 > 6/4: the heavier node, though busier, is less loaded */
	n0->inflight = 2;
	n1->inflight = 6;
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, NULL), n1);
	/* 1/1 < 6/4 */
	n0->inflight = 1;
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, NULL), n0);
	/* 2/1 == 8/4: ties rotate */
	n0->inflight = 2;
	n1->inflight = 8;
	unsigned c0 = 0, c1 = 0;
	for (int i = 0; i < 100; i++) {
		struct rtr_node *got = rtr_pool_pick(p, 0, NULL, NULL);
		c0 += got == n0;
		c1 += got == n1;
	}
	ck_assert_uint_eq(c0, 50);
	ck_assert_uint_eq(c1, 50);
	/* huge numbers compare without overflow */
	n0->inflight = UINT64_MAX / 2;
	n0->weight = UINT64_MAX;
	n1->inflight = UINT64_MAX / 2 + 1;
	n1->weight = UINT64_MAX;
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, NULL), n0);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_iphash)
{
	struct rtr_table *t = table_default();
	struct subpkt s = sub("ip", "127.0.0.1:1");
	s.algo = str_of("iphash");
	struct rtr_node *n[3];
	n[0] = apply_want(t, &s, 0, RTR_SUB_CREATED);
	n[1] = add(t, "ip", "127.0.0.1:2", 1, 0);
	n[2] = add(t, "ip", "127.0.0.1:3", 1, 0);
	struct rtr_pool *p = pool_of(t, "ip");
	ck_assert_int_eq(p->algo, RTR_ALGO_IPHASH);

	/* IPv4: the address as a number modulo the candidates */
	struct sockaddr_in c = v4("10.0.0.5");
	uint32_t ip = 0x0a000005;
	for (int i = 0; i < 10; i++)
		ck_assert_ptr_eq(rtr_pool_pick(p, 0, (struct sockaddr *)&c, NULL), n[ip % 3]);
	/* an IPv4-mapped IPv6 client hashes as its IPv4 address */
	struct sockaddr_in6 m = v6("::ffff:10.0.0.5");
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, (struct sockaddr *)&m, NULL), n[ip % 3]);
	/* NULL hashes as 0 */
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, NULL), n[0]);

	/* 300 consecutive IPv4 clients: 100 per node */
	unsigned count[3] = {0};
	for (int i = 0; i < 300; i++) {
		char a[32];
		snprintf(a, sizeof(a), "192.168.%d.%d", i / 256, i % 256);
		struct sockaddr_in ci = v4(a);
		struct rtr_node *got = rtr_pool_pick(p, 0, (struct sockaddr *)&ci, NULL);
		ck_assert_ptr_eq(got, rtr_pool_pick(p, 0, (struct sockaddr *)&ci, NULL));
		for (int j = 0; j < 3; j++)
			count[j] += got == n[j];
	}
	for (int j = 0; j < 3; j++)
		ck_assert_uint_eq(count[j], 100);

	/* IPv6: stable per address, spread over addresses */
	struct sockaddr_in6 c6 = v6("2001:db8::1");
	struct rtr_node *first = rtr_pool_pick(p, 0, (struct sockaddr *)&c6, NULL);
	for (int i = 0; i < 10; i++)
		ck_assert_ptr_eq(rtr_pool_pick(p, 0, (struct sockaddr *)&c6, NULL), first);
	memset(count, 0, sizeof(count));
	for (int i = 0; i < 300; i++) {
		char a[64];
		snprintf(a, sizeof(a), "2001:db8::%x:%x", (i * 7919) & 0xffff, i);
		struct sockaddr_in6 ci = v6(a);
		struct rtr_node *got = rtr_pool_pick(p, 0, (struct sockaddr *)&ci, NULL);
		for (int j = 0; j < 3; j++)
			count[j] += got == n[j];
	}
	for (int j = 0; j < 3; j++)
		ck_assert_uint_gt(count[j], 60);

	/* modulo the live candidates: with n[1] dead, index 1 is n[2] */
	rtr_node_failed(t, n[1], 0);
	struct sockaddr_in c1 = v4("0.0.0.1");
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, (struct sockaddr *)&c1, NULL), n[2]);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_backup_levels)
{
	static const char *const algos[] = {"wrr", "lrc", "wlrc", "iphash"};
	for (size_t a = 0; a < sizeof(algos) / sizeof(algos[0]); a++) {
		struct rtr_table_limits l = {.retry = 5};
		struct rtr_table *t = rtr_table_new(&l);
		struct subpkt s = sub("b", "127.0.0.1:1");
		s.algo = str_of(algos[a]);
		s.backup = 0;
		struct rtr_node *p0 = apply_want(t, &s, 0, RTR_SUB_CREATED);
		struct rtr_node *p1 = add(t, "b", "127.0.0.1:2", 1, 0);
		struct rtr_node *b1 = add(t, "b", "127.0.0.1:3", 1, 1);
		struct rtr_node *b2 = add(t, "b", "127.0.0.1:4", 1, 2);
		struct rtr_pool *p = pool_of(t, "b");

		/* level 0 serves while any of it lives */
		for (int i = 0; i < 20; i++) {
			struct rtr_node *got = rtr_pool_pick(p, 0, NULL, NULL);
			ck_assert(got == p0 || got == p1);
		}
		rtr_node_failed(t, p0, 0);
		for (int i = 0; i < 20; i++)
			ck_assert_ptr_eq(rtr_pool_pick(p, 1, NULL, NULL), p1);
		/* all of level 0 dead: level 1 */
		rtr_node_failed(t, p1, 1);
		for (int i = 0; i < 20; i++)
			ck_assert_ptr_eq(rtr_pool_pick(p, 2, NULL, NULL), b1);
		/* and then level 2 */
		rtr_node_failed(t, b1, 2);
		ck_assert_ptr_eq(rtr_pool_pick(p, 3, NULL, NULL), b2);
		/* the first primary back serves at once */
		ck_assert_ptr_eq(rtr_pool_pick(p, 5, NULL, NULL), p0);
		/* a refresh brings one back before its retry is over */
		rtr_node_failed(t, p0, 5);
		ck_assert_ptr_eq(rtr_pool_pick(p, 5.5, NULL, NULL), b2);
		struct subpkt r = sub("b", "127.0.0.1:2");
		apply_want(t, &r, 5.5, RTR_SUB_REFRESHED);
		ck_assert(p1->dead_until == 0);
		ck_assert_ptr_eq(rtr_pool_pick(p, 5.5, NULL, NULL), p1);
		rtr_table_free(t);
	}
}
END_TEST

START_TEST(test_failed_retry)
{
	struct rtr_table_limits l = {.retry = 5};
	struct rtr_table *t = rtr_table_new(&l);
	struct rtr_node *a = add(t, "f", "127.0.0.1:1", 1, 0);
	struct rtr_node *b = add(t, "f", "127.0.0.1:2", 1, 0);
	struct rtr_pool *p = pool_of(t, "f");

	rtr_node_failed(t, a, 100);
	ck_assert(a->dead_until == 105);
	ck_assert_uint_eq(a->failcnt, 1);
	ck_assert_uint_eq(a->failures, 1);
	for (int i = 0; i < 10; i++)
		ck_assert_ptr_eq(rtr_pool_pick(p, 100 + i * 0.4, NULL, NULL), b);
	/* both dead: nothing, and no hit counted */
	rtr_node_failed(t, b, 101);
	uint64_t hits = p->hits;
	ck_assert_ptr_null(rtr_pool_pick(p, 104.9, NULL, NULL));
	ck_assert_uint_eq(p->hits, hits);
	/* at retry it is back */
	ck_assert_ptr_eq(rtr_pool_pick(p, 105, NULL, NULL), a);
	rtr_node_failed(t, a, 106);
	ck_assert_uint_eq(a->failcnt, 2);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_exclude)
{
	struct rtr_table *t = table_default();
	struct rtr_node *a = add(t, "x", "127.0.0.1:1", 1, 0);
	struct rtr_node *b = add(t, "x", "127.0.0.1:2", 1, 0);
	struct rtr_node *c = add(t, "x", "127.0.0.1:3", 1, 1);
	struct rtr_pool *p = pool_of(t, "x");

	for (int i = 0; i < 10; i++)
		ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, a), b);
	/* excluding the only live primary falls to the backup */
	rtr_node_failed(t, b, 0);
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, a), c);
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, NULL), a);
	ck_assert_ptr_eq(rtr_pool_pick(p, 0, NULL, c), a);
	/* the only node excluded: none */
	struct rtr_node *solo = add(t, "solo", "127.0.0.1:9", 1, 0);
	ck_assert_ptr_null(rtr_pool_pick(pool_of(t, "solo"), 0, NULL, solo));
	rtr_table_free(t);
}
END_TEST

/* ---- leaving ---------------------------------------------------------- */

struct gone_log {
	unsigned calls;
	bool linked; /* every node was still in its pool when reported */
};

static void on_gone(void *ctx, const struct rtr_node *n)
{
	struct gone_log *g = ctx;
	g->calls++;
	if (n->pool == NULL)
		g->linked = false;
}

START_TEST(test_expire)
{
	struct rtr_table_limits l = {.tolerance = 17};
	struct rtr_table *t = rtr_table_new(&l);
	struct subpkt s = sub("e", "127.0.0.1:1");
	apply_want(t, &s, 100, RTR_SUB_CREATED);
	s = sub("e", "127.0.0.1:2");
	apply_want(t, &s, 105, RTR_SUB_CREATED);
	s = sub("other", "127.0.0.1:3");
	apply_want(t, &s, 100, RTR_SUB_CREATED);
	struct gone_log g = {0, true};

	/* at the tolerance exactly, not yet */
	ck_assert_uint_eq(rtr_table_expire(t, 117, on_gone, &g), 0);
	ck_assert_uint_eq(g.calls, 0);
	/* a refresh at 110 keeps :1 alive past 117 */
	s = sub("e", "127.0.0.1:1");
	apply_want(t, &s, 110, RTR_SUB_REFRESHED);
	ck_assert_uint_eq(rtr_table_expire(t, 117.5, on_gone, &g), 1);
	ck_assert_uint_eq(g.calls, 1);
	ck_assert(g.linked);
	ck_assert_ptr_null(rtr_table_find(t, "other", 5));
	ck_assert_uint_eq(rtr_table_keys(t), 1);
	ck_assert_uint_eq(rtr_table_nodes(t), 2);
	/* past both: the pool goes with its nodes; gone may be NULL */
	ck_assert_uint_eq(rtr_table_expire(t, 128, NULL, NULL), 2);
	ck_assert_uint_eq(rtr_table_keys(t), 0);
	ck_assert_uint_eq(rtr_table_nodes(t), 0);

	/* many pools in a row, all removed without losing the walk */
	for (int i = 0; i < 500; i++) {
		char key[32];
		snprintf(key, sizeof(key), "k%d", i);
		struct subpkt q = sub(key, "127.0.0.1:1");
		apply_want(t, &q, 200, RTR_SUB_CREATED);
		q = sub(key, "127.0.0.1:2");
		apply_want(t, &q, i % 2 ? 200 : 300, RTR_SUB_CREATED);
	}
	g.calls = 0;
	ck_assert_uint_eq(rtr_table_expire(t, 250, on_gone, &g), 750);
	ck_assert_uint_eq(g.calls, 750);
	ck_assert(g.linked);
	ck_assert_uint_eq(rtr_table_keys(t), 250);
	ck_assert_uint_eq(rtr_table_nodes(t), 250);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_remove_vassal)
{
	struct rtr_table *t = table_default();
	struct subpkt s = sub("a", "127.0.0.1:1");
	struct rtr_node *n = NULL;
	/* the local vassal wins over the packet's var */
	s.vassal = str_of("liar");
	ck_assert_int_eq(rtr_table_apply(t, &s, "app1", 0, &n), RTR_SUB_CREATED);
	ck_assert_str_eq(n->vassal, "app1");
	s = sub("a", "127.0.0.1:2");
	ck_assert_int_eq(rtr_table_apply(t, &s, "app2", 0, &n), RTR_SUB_CREATED);
	s = sub("b", "127.0.0.1:3");
	ck_assert_int_eq(rtr_table_apply(t, &s, "app1", 0, &n), RTR_SUB_CREATED);
	/* without one, the var is stored */
	s = sub("c", "127.0.0.1:4");
	s.vassal = str_of("app1");
	ck_assert_int_eq(rtr_table_apply(t, &s, NULL, 0, &n), RTR_SUB_CREATED);
	ck_assert_str_eq(n->vassal, "app1");
	/* neither: "" */
	s = sub("c", "127.0.0.1:5");
	ck_assert_int_eq(rtr_table_apply(t, &s, NULL, 0, &n), RTR_SUB_CREATED);
	ck_assert_str_eq(n->vassal, "");
	/* a long var is cut */
	char longname[200];
	memset(longname, 'v', sizeof(longname));
	s = sub("d", "127.0.0.1:6");
	s.vassal.p = longname;
	s.vassal.len = sizeof(longname);
	ck_assert_int_eq(rtr_table_apply(t, &s, NULL, 0, &n), RTR_SUB_CREATED);
	ck_assert_uint_eq(strlen(n->vassal), RTR_VASSAL_MAX);

	ck_assert_uint_eq(rtr_table_remove_vassal(t, "app"), 0);
	ck_assert_uint_eq(rtr_table_remove_vassal(t, ""), 0);
	ck_assert_uint_eq(rtr_table_remove_vassal(t, NULL), 0);
	ck_assert_uint_eq(rtr_table_remove_vassal(t, "app1"), 3);
	ck_assert_uint_eq(rtr_table_nodes(t), 3);
	ck_assert_ptr_null(rtr_table_find(t, "b", 1));
	ck_assert_uint_eq(pool_of(t, "a")->n_nodes, 1);
	ck_assert_uint_eq(pool_of(t, "c")->n_nodes, 1);
	ck_assert_uint_eq(rtr_table_remove_vassal(t, "app1"), 0);
	ck_assert_uint_eq(rtr_table_remove_vassal(t, "app2"), 1);
	ck_assert_ptr_null(rtr_table_find(t, "a", 1));
	/* the full name finds what was stored cut */
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_uint_eq(rtr_table_remove_vassal(t, longname), 1);
	ck_assert_uint_eq(rtr_table_nodes(t), 1);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_refs)
{
	struct rtr_table *t = table_default();
	struct rtr_node *a = add(t, "r", "127.0.0.1:1", 1, 0);
	struct rtr_node *b = add(t, "r", "127.0.0.1:2", 1, 0);

	/* held by two connections, unsubscribed: unlinked but alive */
	rtr_node_ref(a);
	rtr_node_ref(a);
	struct subpkt u = unsub("r", "127.0.0.1:1");
	apply_want(t, &u, 0, RTR_SUB_REMOVED);
	ck_assert_ptr_null(a->pool);
	ck_assert_ptr_null(a->next);
	ck_assert_uint_eq(rtr_table_nodes(t), 1);
	ck_assert_ptr_eq(pool_of(t, "r")->nodes, b);
	a->requests++; /* still usable by its holders */
	rtr_node_unref(a);
	a->tx += 10;
	rtr_node_unref(a); /* freed here: ASan reports a leak otherwise */

	/* the last node of a pool: the pool goes at once, the node stays */
	rtr_node_ref(b);
	ck_assert_uint_eq(rtr_table_expire(t, 1000, NULL, NULL), 1);
	ck_assert_uint_eq(rtr_table_keys(t), 0);
	ck_assert_ptr_null(b->pool);
	b->rx += 5;
	rtr_node_unref(b);

	/* unref of a linked node frees nothing */
	struct rtr_node *c = add(t, "r", "127.0.0.1:3", 1, 0);
	rtr_node_ref(c);
	rtr_node_unref(c);
	ck_assert_ptr_eq(pool_of(t, "r")->nodes, c);
	/* the same node removed for its vassal while held */
	rtr_node_ref(c);
	snprintf(c->vassal, sizeof(c->vassal), "v");
	ck_assert_uint_eq(rtr_table_remove_vassal(t, "v"), 1);
	ck_assert_ptr_null(c->pool);
	rtr_table_free(t); /* a removed, held node is not the table's */
	ck_assert_str_eq(c->vassal, "v");
	rtr_node_unref(c);
}
END_TEST

/* ---- refusals --------------------------------------------------------- */

START_TEST(test_full_keys)
{
	struct rtr_table_limits l = {.max_keys = 3};
	struct rtr_table *t = rtr_table_new(&l);
	add(t, "k1", "127.0.0.1:1", 1, 0);
	add(t, "k2", "127.0.0.1:1", 1, 0);
	add(t, "k3", "127.0.0.1:1", 1, 0);
	struct subpkt s = sub("k4", "127.0.0.1:1");
	apply_want(t, &s, 0, RTR_SUB_FULL_KEYS);
	ck_assert_uint_eq(rtr_table_keys(t), 3);
	ck_assert_ptr_null(rtr_table_find(t, "k4", 2));
	/* existing keys still take nodes */
	add(t, "K1", "127.0.0.1:2", 1, 0);
	/* room again once a key goes */
	struct subpkt u = unsub("k2", "127.0.0.1:1");
	apply_want(t, &u, 0, RTR_SUB_REMOVED);
	apply_want(t, &s, 0, RTR_SUB_CREATED);
	/* keys no table can hold */
	char longkey[SUBPKT_KEY_MAX + 2];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	struct subpkt big = sub(longkey, "127.0.0.1:1");
	rtr_table_free(t);
	t = table_default();
	apply_want(t, &big, 0, RTR_SUB_FULL_KEYS);
	big.unsubscribe = true;
	apply_want(t, &big, 0, RTR_SUB_NOT_FOUND);
	longkey[SUBPKT_KEY_MAX] = '\0'; /* the longest that fits */
	big = sub(longkey, "127.0.0.1:1");
	apply_want(t, &big, 0, RTR_SUB_CREATED);
	ck_assert_ptr_nonnull(lookup(t, longkey, "/x", 1));
	struct subpkt empty = sub("", "127.0.0.1:1");
	apply_want(t, &empty, 0, RTR_SUB_FULL_KEYS);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_full_nodes)
{
	struct rtr_table_limits l = {.max_nodes = 3};
	struct rtr_table *t = rtr_table_new(&l);
	add(t, "a", "127.0.0.1:1", 1, 0);
	add(t, "a", "127.0.0.1:2", 1, 0);
	add(t, "b", "127.0.0.1:1", 1, 0);
	/* neither a new node in a pool nor a new pool */
	struct subpkt s = sub("a", "127.0.0.1:3");
	apply_want(t, &s, 0, RTR_SUB_FULL_NODES);
	s = sub("c", "127.0.0.1:3");
	apply_want(t, &s, 0, RTR_SUB_FULL_NODES);
	ck_assert_uint_eq(rtr_table_keys(t), 2);
	ck_assert_uint_eq(rtr_table_nodes(t), 3);
	/* refreshes still work at capacity */
	s = sub("a", "127.0.0.1:2");
	apply_want(t, &s, 1, RTR_SUB_REFRESHED);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_full_key_nodes)
{
	struct rtr_table_limits l = {.max_nodes_per_key = 2};
	struct rtr_table *t = rtr_table_new(&l);
	add(t, "a", "127.0.0.1:1", 1, 0);
	add(t, "a", "127.0.0.1:2", 1, 0);
	struct subpkt s = sub("a", "127.0.0.1:3");
	apply_want(t, &s, 0, RTR_SUB_FULL_KEY_NODES);
	ck_assert_uint_eq(pool_of(t, "a")->n_nodes, 2);
	/* other keys are not affected */
	add(t, "b", "127.0.0.1:3", 1, 0);
	s = sub("a", "127.0.0.1:2");
	apply_want(t, &s, 0, RTR_SUB_REFRESHED);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_bad_address)
{
	struct rtr_table *t = table_default();
	static const char *const bad[] = {
	    "",		       /* empty */
	    "nonsense",	       /* no port */
	    "example.com:80",  /* names are not resolved */
	    "127.0.0.1",       /* no port */
	    "1.2.3.4:0",       /* port 0 */
	    "[::1]",	       /* no port */
	    "fd://3",	       /* descriptors are ours, not a peer's to name */
	    "fd://0",	       /* likewise */
	    "unix:",	       /* empty path */
	    "127.0.0.1:99999", /* port out of range */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct subpkt s = sub("k", bad[i]);
		apply_want(t, &s, 0, RTR_SUB_BAD_ADDRESS);
	}
	/* too long, and a NUL inside */
	char longaddr[200];
	memset(longaddr, '/', sizeof(longaddr));
	struct subpkt s = sub("k", "x");
	s.address.p = longaddr;
	s.address.len = sizeof(longaddr);
	apply_want(t, &s, 0, RTR_SUB_BAD_ADDRESS);
	s.address.p = "/run/a\0b";
	s.address.len = 8;
	apply_want(t, &s, 0, RTR_SUB_BAD_ADDRESS);
	ck_assert_uint_eq(rtr_table_keys(t), 0);
	ck_assert_uint_eq(rtr_table_nodes(t), 0);

	/* each accepted form, with [v6] and abstract names */
	add(t, "k", "[::1]:8080", 1, 0);
	add(t, "k", "@abstract", 1, 0);
	/* the address text need not be NUL-terminated in the packet */
	s = sub("k", NULL);
	s.address.p = "127.0.0.1:4040XYZ";
	s.address.len = 14;
	struct rtr_node *n = apply_want(t, &s, 0, RTR_SUB_CREATED);
	ck_assert_str_eq(n->addr.text, "127.0.0.1:4040");
	ck_assert_uint_eq(rtr_table_nodes(t), 3);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_bad_algo)
{
	struct rtr_table *t = table_default();
	struct subpkt s = sub("k", "127.0.0.1:1");
	s.algo = str_of("random");
	apply_want(t, &s, 0, RTR_SUB_BAD_ALGO);
	ck_assert_uint_eq(rtr_table_keys(t), 0);
	ck_assert_uint_eq(rtr_table_nodes(t), 0);

	/* the algorithm is fixed by the first subscriber; later ones may say
	 * anything */
	s.algo = str_of("IpHash");
	apply_want(t, &s, 0, RTR_SUB_CREATED);
	ck_assert_int_eq(pool_of(t, "k")->algo, RTR_ALGO_IPHASH);
	struct subpkt s2 = sub("k", "127.0.0.1:2");
	s2.algo = str_of("random");
	apply_want(t, &s2, 0, RTR_SUB_CREATED);
	ck_assert_int_eq(pool_of(t, "k")->algo, RTR_ALGO_IPHASH);

	enum rtr_algo a;
	ck_assert_int_eq(rtr_algo_parse("", 0, &a), 0);
	ck_assert_int_eq(a, RTR_ALGO_WRR);
	ck_assert_int_eq(rtr_algo_parse("WLRCx", 4, &a), 0);
	ck_assert_int_eq(a, RTR_ALGO_WLRC);
	ck_assert_int_eq(rtr_algo_parse("lr", 2, &a), -1);
	ck_assert_int_eq(rtr_algo_parse("lrcc", 4, &a), -1);
	rtr_table_free(t);
}
END_TEST

/* ---- node fields ------------------------------------------------------ */

START_TEST(test_weight_zero)
{
	struct rtr_table *t = table_default();
	struct rtr_node *n = add(t, "z", "127.0.0.1:1", 0, 0);
	ck_assert_uint_eq(n->weight, 1);
	struct subpkt s = sub("z", "127.0.0.1:1");
	s.weight = 9;
	apply_want(t, &s, 0, RTR_SUB_REFRESHED);
	ck_assert_uint_eq(n->weight, 9);
	s.weight = 0;
	apply_want(t, &s, 0, RTR_SUB_REFRESHED);
	ck_assert_uint_eq(n->weight, 1);
	/* and it picks like weight 1 */
	struct rtr_node *m = add(t, "z", "127.0.0.1:2", 0, 0);
	struct rtr_pool *p = pool_of(t, "z");
	unsigned c = 0;
	for (int i = 0; i < 100; i++)
		c += rtr_pool_pick(p, 0, NULL, NULL) == m;
	ck_assert_uint_eq(c, 50);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_refresh_keeps_created)
{
	struct rtr_table *t = table_default();
	struct subpkt s = sub("m", "127.0.0.1:1");
	s.modifier1 = 5;
	s.modifier2 = 9;
	s.notify = str_of("/run/notify.sock");
	s.vassal = str_of("first");
	struct rtr_node *n = apply_want(t, &s, 1, RTR_SUB_CREATED);
	ck_assert_uint_eq(n->modifier1, 5);
	ck_assert_uint_eq(n->modifier2, 9);
	ck_assert_str_eq(n->notify, "/run/notify.sock");

	s.modifier1 = 0;
	s.modifier2 = 1;
	s.notify = str_of("/run/other.sock");
	s.vassal = str_of("second");
	apply_want(t, &s, 2, RTR_SUB_REFRESHED);
	ck_assert_uint_eq(n->modifier1, 5);
	ck_assert_uint_eq(n->modifier2, 9);
	ck_assert_str_eq(n->notify, "/run/notify.sock");
	ck_assert_str_eq(n->vassal, "first");
	ck_assert(n->created == 1 && n->last_seen == 2);

	/* a notify path too long is dropped, not cut */
	char longpath[200];
	memset(longpath, 'n', sizeof(longpath));
	longpath[0] = '/';
	struct subpkt l = sub("m", "127.0.0.1:2");
	l.notify.p = longpath;
	l.notify.len = sizeof(n->notify);
	struct rtr_node *m = apply_want(t, &l, 1, RTR_SUB_CREATED);
	ck_assert_str_eq(m->notify, "");
	l = sub("m", "127.0.0.1:3");
	l.notify.p = longpath;
	l.notify.len = sizeof(n->notify) - 1;
	m = apply_want(t, &l, 1, RTR_SUB_CREATED);
	ck_assert_uint_eq(strlen(m->notify), sizeof(n->notify) - 1);
	rtr_table_free(t);
}
END_TEST

/* ---- the table as a whole --------------------------------------------- */

START_TEST(test_names)
{
	ck_assert_str_eq(rtr_sub_result_name(RTR_SUB_CREATED), "created");
	ck_assert_str_eq(rtr_sub_result_name(RTR_SUB_REFRESHED), "refreshed");
	ck_assert_str_eq(rtr_sub_result_name(RTR_SUB_REMOVED), "removed");
	ck_assert_str_eq(rtr_sub_result_name(RTR_SUB_NOT_FOUND), "not_found");
	ck_assert_str_eq(rtr_sub_result_name(RTR_SUB_BAD_ADDRESS), "bad_address");
	ck_assert_str_eq(rtr_sub_result_name(RTR_SUB_BAD_ALGO), "bad_algo");
	ck_assert_str_eq(rtr_sub_result_name(RTR_SUB_FULL_KEYS), "full_keys");
	ck_assert_str_eq(rtr_sub_result_name(RTR_SUB_FULL_NODES), "full_nodes");
	ck_assert_str_eq(rtr_sub_result_name(RTR_SUB_FULL_KEY_NODES), "full_key_nodes");
	ck_assert_str_eq(rtr_sub_result_name((enum rtr_sub_result)99), "unknown");
	ck_assert_str_eq(rtr_algo_name(RTR_ALGO_WRR), "wrr");
	ck_assert_str_eq(rtr_algo_name(RTR_ALGO_LRC), "lrc");
	ck_assert_str_eq(rtr_algo_name(RTR_ALGO_WLRC), "wlrc");
	ck_assert_str_eq(rtr_algo_name(RTR_ALGO_IPHASH), "iphash");
	ck_assert_str_eq(rtr_algo_name(RTR_ALGO__COUNT), "unknown");
	/* every name parses back */
	for (int a = 0; a < RTR_ALGO__COUNT; a++) {
		enum rtr_algo got;
		const char *name = rtr_algo_name((enum rtr_algo)a);
		ck_assert_int_eq(rtr_algo_parse(name, strlen(name), &got), 0);
		ck_assert_int_eq(got, a);
	}
}
END_TEST

START_TEST(test_iterate)
{
	struct rtr_table_limits l = {.max_keys = 20}; /* few buckets: chains */
	struct rtr_table *t = rtr_table_new(&l);
	ck_assert_ptr_null(rtr_table_next(t, NULL));
	bool seen[100] = {false};
	for (int i = 0; i < 20; i++) {
		char key[16];
		snprintf(key, sizeof(key), "h%d", i);
		add(t, key, "127.0.0.1:1", 1, 0);
	}
	size_t n = 0;
	for (struct rtr_pool *p = rtr_table_next(t, NULL); p != NULL; p = rtr_table_next(t, p)) {
		int i = -1;
		ck_assert_int_eq(sscanf(p->key, "h%d", &i), 1);
		ck_assert(i >= 0 && i < 20 && !seen[i]);
		seen[i] = true;
		n++;
	}
	ck_assert_uint_eq(n, 20);
	rtr_table_free(t);
}
END_TEST

START_TEST(test_stress_10k)
{
	struct rtr_table_limits l = {.max_keys = 10000, .max_nodes = 20000, .max_nodes_per_key = 2};
	struct rtr_table *t = rtr_table_new(&l);
	char key[64];

	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "Host%d.Example.com", i);
		struct subpkt s = sub(key, "127.0.0.1:1");
		apply_want(t, &s, 0, RTR_SUB_CREATED);
		s = sub(key, "127.0.0.1:2");
		apply_want(t, &s, 0, RTR_SUB_CREATED);
	}
	ck_assert_uint_eq(rtr_table_keys(t), 10000);
	ck_assert_uint_eq(rtr_table_nodes(t), 20000);
	struct subpkt over = sub("one.more", "127.0.0.1:1");
	apply_want(t, &over, 0, RTR_SUB_FULL_KEYS);
	over = sub("host1.example.com", "127.0.0.1:3");
	apply_want(t, &over, 0, RTR_SUB_FULL_NODES);

	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "host%d.example.COM", i);
		struct rtr_pool *p = lookup(t, key, "/x?y", 1);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(p->n_nodes, 2);
		ck_assert_ptr_nonnull(rtr_pool_pick(p, 0, NULL, NULL));
	}
	size_t count = 0;
	for (struct rtr_pool *p = rtr_table_next(t, NULL); p != NULL; p = rtr_table_next(t, p))
		count++;
	ck_assert_uint_eq(count, 10000);

	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "host%d.example.com", i);
		struct subpkt u = unsub(key, "127.0.0.1:1");
		apply_want(t, &u, 0, RTR_SUB_REMOVED);
		if (i % 2 == 0) {
			u = unsub(key, "127.0.0.1:2");
			apply_want(t, &u, 0, RTR_SUB_REMOVED);
			ck_assert_ptr_null(lookup(t, key, "/", 0));
		}
	}
	ck_assert_uint_eq(rtr_table_keys(t), 5000);
	ck_assert_uint_eq(rtr_table_nodes(t), 5000);
	ck_assert_uint_eq(rtr_table_expire(t, 1000, NULL, NULL), 5000);
	ck_assert_uint_eq(rtr_table_keys(t), 0);
	ck_assert_uint_eq(rtr_table_nodes(t), 0);
	ck_assert_ptr_null(rtr_table_next(t, NULL));
	rtr_table_free(t);
}
END_TEST

/* An `inactive` node is registered but never picked, until a refresh
 * without the flag. */
START_TEST(test_inactive)
{
	struct rtr_table *t = table_default();
	struct subpkt p = sub("in", "127.0.0.1:1");
	p.inactive = true;
	struct rtr_node *a = apply_want(t, &p, 0, RTR_SUB_CREATED);
	struct rtr_pool *pool = pool_of(t, "in");
	ck_assert_ptr_nonnull(pool);
	ck_assert_ptr_null(rtr_pool_pick(pool, 0, NULL, NULL));
	struct rtr_node *b = add(t, "in", "127.0.0.1:2", 1, 0);
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_eq(rtr_pool_pick(pool, 0, NULL, NULL), b);
	p.inactive = false;
	ck_assert_ptr_eq(apply_want(t, &p, 1, RTR_SUB_REFRESHED), a);
	bool saw_a = false;
	for (int i = 0; i < 4; i++)
		saw_a |= rtr_pool_pick(pool, 1, NULL, NULL) == a;
	ck_assert(saw_a);
	rtr_table_free(t);
}
END_TEST

static Suite *table_suite(void)
{
	Suite *s = suite_create("table");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"create_refresh_unsubscribe", test_create_refresh_unsubscribe},
	    {"keys_case_port", test_keys_case_port},
	    {"mountpoints", test_mountpoints},
	    {"mountpoints_zero", test_mountpoints_zero},
	    {"wrr_weights", test_wrr_weights},
	    {"wrr_smooth", test_wrr_smooth},
	    {"lrc", test_lrc},
	    {"wlrc", test_wlrc},
	    {"iphash", test_iphash},
	    {"backup_levels", test_backup_levels},
	    {"failed_retry", test_failed_retry},
	    {"exclude", test_exclude},
	    {"expire", test_expire},
	    {"remove_vassal", test_remove_vassal},
	    {"refs", test_refs},
	    {"full_keys", test_full_keys},
	    {"full_nodes", test_full_nodes},
	    {"full_key_nodes", test_full_key_nodes},
	    {"bad_address", test_bad_address},
	    {"bad_algo", test_bad_algo},
	    {"weight_zero", test_weight_zero},
	    {"refresh_keeps_created", test_refresh_keeps_created},
	    {"names", test_names},
	    {"iterate", test_iterate},
	    {"stress_10k", test_stress_10k},
	    {"inactive", test_inactive},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 30);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(table_suite());
}
