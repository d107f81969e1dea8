/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The tuntap router's keys in emperor.ini ([emperor] section): the host
 * device and framing socket (`tuntap-router`, uWSGI's syntax), the device's
 * addresses and MTU, the emperor's firewall lists and policies, and the
 * router's limits; and the CIDR parser shared with the vassal side's
 * `tuntap-ip`. Each error names file, line and key. The UDP gateway: the 4th
 * field of `tuntap-router` (its UDP address), `tuntap-router-route = CIDR
 * ADDR` (networks behind remote routers) and `tuntap-router-gateway-key =
 * FILE`, the pre-shared key read here (64 hex digits, from a regular file
 * no one but its owner may read or write).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/addr.h"
#include "tuntap/tuntap.h"

#define MAX_PEERS_LIMIT 65536
#define QUEUE_MIN (128u << 10)
#define QUEUE_MAX (256u << 20)
#define QUEUE_DEFAULT (1u << 20)
#define MAX_PEERS_DEFAULT 1024
#define ROUTER_FIELDS 4

const char *const tt_config_keys[] = {
    "tuntap-router",
    "tuntap-router-ip",
    "tuntap-mtu",
    "tuntap-router-firewall-in",
    "tuntap-router-firewall-out",
    "tuntap-router-firewall-in-policy",
    "tuntap-router-firewall-out-policy",
    "tuntap-router-max-peers",
    "tuntap-router-queue",
    "tuntap-router-route",
    "tuntap-router-gateway-key",
    NULL,
};

void tt_config_defaults(struct tt_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mtu = TT_MTU_DEFAULT;
	c->policy_in = TT_FW_ALLOW;
	c->policy_out = TT_FW_ALLOW;
	c->max_peers = MAX_PEERS_DEFAULT;
	c->queue_max = QUEUE_DEFAULT;
	tt_fw_list_init(&c->fw_in, TT_FW_RULES_MAX);
	tt_fw_list_init(&c->fw_out, TT_FW_RULES_MAX);
}

void tt_config_free(struct tt_config *c)
{
	tt_fw_list_free(&c->fw_in);
	tt_fw_list_free(&c->fw_out);
	explicit_bzero(c->gw_key, sizeof(c->gw_key));
	c->gw_key_set = false;
}

/* A strict decimal prefix length of 1..3 digits, at most @max. */
static int prefix_parse(const char *s, unsigned max, unsigned *out)
{
	size_t n = strlen(s);
	unsigned v = 0;
	if (n == 0 || n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int tt_cidr_parse(const char *s, struct tt_cidr *out, struct err **err)
{
	char a[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(a))
		return err_set(err, 0, "'%s' is not an address or address/prefix", s);
	memcpy(a, s, alen);
	a[alen] = '\0';
	memset(out, 0, sizeof(*out));
	unsigned maxp;
	if (memchr(a, ':', alen) != NULL) {
		out->family = TT_IPV6;
		maxp = 128;
		if (inet_pton(AF_INET6, a, out->ip.b) != 1)
			return err_set(err, 0, "'%s' is not an IPv6 address", a);
	} else {
		out->family = TT_IPV4;
		maxp = 32;
		out->ip.b[10] = out->ip.b[11] = 0xff;
		if (inet_pton(AF_INET, a, out->ip.b + 12) != 1)
			return err_set(err, 0, "'%s' is not an IPv4 address", a);
	}
	unsigned p = maxp;
	if (slash != NULL && prefix_parse(slash + 1, maxp, &p) < 0)
		return err_set(err, 0, "'%s': prefix must be 0 to %u", s, maxp);
	out->prefix = (uint8_t)p;
	return 0;
}

/* Split @s on blanks into at most @max fields of under TT_PATH_MAX bytes.
 * Returns the count, or -1 when there are more fields or one is too long. */
static int split_fields(const char *s, char f[][TT_PATH_MAX], int max)
{
	int n = 0;
	while (*s != '\0') {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (n == max)
			return -1;
		const char *start = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		size_t len = (size_t)(s - start);
		if (len >= TT_PATH_MAX)
			return -1;
		memcpy(f[n], start, len);
		f[n][len] = '\0';
		n++;
	}
	return n;
}

/* An interface name as the kernel takes it (`%d` lets it pick a number). */
static bool dev_name_ok(const char *d)
{
	size_t n = strlen(d);
	if (n == 0 || n >= TT_DEV_MAX || !strcmp(d, ".") || !strcmp(d, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)d[i];
		if (ch <= 0x20 || ch == 0x7f || ch == '/' || ch == ':')
			return false;
	}
	return true;
}

/* A UDP address "ip:port" / "[v6]:port" (":port" too when @any_ok, for
 * a local address); @what names the field in errors. */
static int read_udp_addr(const char *s, struct addr *a, bool any_ok, const struct cfg *f,
			 const struct cfg_entry *e, const char *what, struct err **err)
{
	struct err *sub = NULL;
	if (addr_parse(s, a, &sub) < 0) {
		cfg_error(f, e, err, "%s: %s", what, err_msg(sub));
		err_free(&sub);
		return -1;
	}
	int fam = a->ss.ss_family;
	if (fam != AF_INET && fam != AF_INET6)
		return cfg_error(f, e, err, "%s '%s': expected a UDP ip:port or [v6]:port", what,
				 s);
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
	uint16_t port = fam == AF_INET ? v4->sin_port : v6->sin6_port;
	bool any = fam == AF_INET ? v4->sin_addr.s_addr == htonl(INADDR_ANY)
				  : IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
	if (port == 0)
		return cfg_error(f, e, err, "%s '%s': needs a port", what, s);
	if (any && !any_ok)
		return cfg_error(f, e, err, "%s '%s': needs a remote address, not a wildcard", what,
				 s);
	return 0;
}

/* DEV SOCKET [STATS [GATEWAY]] */
static int read_router(struct tt_config *c, const struct cfg *f, const struct cfg_entry *e,
		       struct err **err)
{
	char fld[ROUTER_FIELDS][TT_PATH_MAX];
	if (c->enabled)
		return cfg_error(f, e, err, "given more than once (one router per emperor)");
	int n = split_fields(e->value, fld, ROUTER_FIELDS);
	if (n < 2)
		return cfg_error(f, e, err,
				 "expected DEV SOCKET [STATS [GATEWAY]] (each field "
				 "under %d bytes)",
				 TT_PATH_MAX);
	if (!dev_name_ok(fld[0]))
		return cfg_error(f, e, err, "DEV '%s': expected an interface name of 1..%d bytes",
				 fld[0], TT_DEV_MAX - 1);
	if (fld[1][0] != '/')
		return cfg_error(f, e, err, "SOCKET '%s': expected an absolute path", fld[1]);
	if (n >= 4) {
		struct addr a;
		if (read_udp_addr(fld[3], &a, true, f, e, "GATEWAY", err) < 0)
			return -1;
		if (strlen(fld[3]) >= sizeof(c->gateway))
			return cfg_error(f, e, err, "GATEWAY '%s': longer than %zu bytes", fld[3],
					 sizeof(c->gateway) - 1);
		memcpy(c->gateway, fld[3], strlen(fld[3]) + 1);
	}
	memcpy(c->dev, fld[0], strlen(fld[0]) + 1);
	memcpy(c->socket, fld[1], strlen(fld[1]) + 1);
	if (n >= 3)
		memcpy(c->stats, fld[2], strlen(fld[2]) + 1);
	c->enabled = true;
	return 1;
}

static bool cidr_same_ip(const struct tt_cidr *a, const struct tt_cidr *b)
{
	return a->family == b->family && memcmp(a->ip.b, b->ip.b, 16) == 0;
}

/* An address for the host device: unicast, a prefix that is a network. */
static int read_ip(struct tt_config *c, const struct cfg *f, const struct cfg_entry *e,
		   struct err **err)
{
	if (c->n_ips >= TT_MAX_IPS)
		return cfg_error(f, e, err, "given more than %d times", TT_MAX_IPS);
	struct tt_cidr *x = &c->ips[c->n_ips];
	struct err *sub = NULL;
	if (tt_cidr_parse(e->value, x, &sub) < 0) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	const uint8_t *b = x->ip.b;
	bool v4 = x->family == TT_IPV4;
	bool zero = v4 ? memcmp(b + 12, "\0\0\0\0", 4) == 0
		       : memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0;
	if (zero || (v4 && b[12] >= 224) || (!v4 && b[0] == 0xff))
		return cfg_error(f, e, err, "'%s' is not a unicast address", e->value);
	/* Peers' addresses are accepted within these networks: /0 would
	 * accept any address at all. */
	if (x->prefix == 0)
		return cfg_error(f, e, err, "'%s': a /0 network is not an interface address",
				 e->value);
	for (size_t i = 0; i < c->n_ips; i++)
		if (cidr_same_ip(&c->ips[i], x))
			return cfg_error(f, e, err, "'%s' is given twice", e->value);
	c->n_ips++;
	return 1;
}

/* CIDR ADDR: packets for CIDR go to the remote router at ADDR. */
static int read_route(struct tt_config *c, const struct cfg *f, const struct cfg_entry *e,
		      struct err **err)
{
	char fld[2][TT_PATH_MAX];
	if (c->n_routes >= TT_GW_ROUTES_MAX)
		return cfg_error(f, e, err, "given more than %d times", TT_GW_ROUTES_MAX);
	if (split_fields(e->value, fld, 2) != 2)
		return cfg_error(f, e, err,
				 "expected CIDR ADDR (a network and a router's ip:port)");
	struct tt_gw_route *r = &c->routes[c->n_routes];
	memset(r, 0, sizeof(*r));
	struct err *sub = NULL;
	if (tt_cidr_parse(fld[0], &r->net, &sub) < 0) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	struct addr a;
	if (read_udp_addr(fld[1], &a, false, f, e, "ADDR", err) < 0)
		return -1;
	if (strlen(fld[1]) >= sizeof(r->peer_text))
		return cfg_error(f, e, err, "ADDR '%s': longer than %zu bytes", fld[1],
				 sizeof(r->peer_text) - 1);
	for (size_t i = 0; i < c->n_routes; i++)
		if (cidr_same_ip(&c->routes[i].net, &r->net) &&
		    c->routes[i].net.prefix == r->net.prefix)
			return cfg_error(f, e, err, "%s is routed twice", fld[0]);
	memcpy(&r->peer, &a.ss, a.len);
	r->peer_len = a.len;
	memcpy(r->peer_text, fld[1], strlen(fld[1]) + 1);
	c->n_routes++;
	return 1;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* @s[0..n): 2 * TT_GW_KEY_LEN hex digits, then only blanks and newlines. */
static int key_parse(const char *s, size_t n, uint8_t *key)
{
	if (n < 2 * TT_GW_KEY_LEN)
		return -1;
	for (size_t i = 0; i < TT_GW_KEY_LEN; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	for (size_t i = 2 * TT_GW_KEY_LEN; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return -1;
	return 0;
}

/* FILE: a regular file, neither group- nor world-accessible, holding the
 * key as 64 hex digits (`openssl rand -hex 32 > FILE; chmod 600 FILE`). */
static int read_key(struct tt_config *c, const struct cfg *f, const struct cfg_entry *e,
		    struct err **err)
{
	if (c->gw_key_set)
		return cfg_error(f, e, err, "given more than once");
	int fd = open(e->value, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return cfg_error(f, e, err, "%s: %s", e->value, strerror(errno));
	struct stat st;
	char buf[256];
	ssize_t n = -1;
	const char *why = NULL;
	if (fstat(fd, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_size >= (off_t)sizeof(buf))
		why = "too large for a key";
	else if (st.st_mode & 077)
		why = "readable or writable by group or others: chmod 600 it";
	else if ((n = read(fd, buf, sizeof(buf))) < 0)
		why = strerror(errno);
	else if (key_parse(buf, (size_t)n, c->gw_key) < 0)
		why = "expected 64 hex digits (32 random bytes: openssl rand -hex 32)";
	close(fd);
	explicit_bzero(buf, sizeof(buf));
	if (why != NULL) {
		explicit_bzero(c->gw_key, sizeof(c->gw_key));
		return cfg_error(f, e, err, "%s: %s", e->value, why);
	}
	c->gw_key_set = true;
	return 1;
}

static int read_rule(struct tt_fw_list *l, const struct cfg *f, const struct cfg_entry *e,
		     struct err **err)
{
	struct err *sub = NULL;
	if (tt_fw_list_add(l, e->value, &sub) < 0) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	return 1;
}

static int read_policy(enum tt_fw_action *out, const struct cfg *f, const struct cfg_entry *e,
		       struct err **err)
{
	struct err *sub = NULL;
	if (tt_fw_policy_parse(e->value, out, &sub) < 0) {
		cfg_error(f, e, err, "%s", err_msg(sub));
		err_free(&sub);
		return -1;
	}
	return 1;
}

static int read_u32(uint32_t *out, const struct cfg *f, const struct cfg_entry *e, uint64_t min,
		    uint64_t max, struct err **err)
{
	uint64_t v;
	if (cfg_uint(f, e, min, max, &v, err) < 0)
		return -1;
	*out = (uint32_t)v;
	return 1;
}

static int read_queue(struct tt_config *c, const struct cfg *f, const struct cfg_entry *e,
		      struct err **err)
{
	uint64_t v;
	if (cfg_size(f, e, &v, err) < 0)
		return -1;
	if (v < QUEUE_MIN || v > QUEUE_MAX)
		return cfg_error(f, e, err, "must be between %u and %u bytes (128k..256M)",
				 QUEUE_MIN, QUEUE_MAX);
	c->queue_max = (uint32_t)v;
	return 1;
}

int tt_config_read(struct tt_config *c, const struct cfg *f, const struct cfg_entry *e,
		   struct err **err)
{
	const char *k = e->key;
	if (strncmp(k, "tuntap-", 7) != 0)
		return 0;
	if (!strcmp(k, "tuntap-router"))
		return read_router(c, f, e, err);
	if (!strcmp(k, "tuntap-router-ip"))
		return read_ip(c, f, e, err);
	if (!strcmp(k, "tuntap-mtu"))
		return read_u32(&c->mtu, f, e, TT_MTU_MIN, TT_MTU_MAX, err);
	if (!strcmp(k, "tuntap-router-firewall-in"))
		return read_rule(&c->fw_in, f, e, err);
	if (!strcmp(k, "tuntap-router-firewall-out"))
		return read_rule(&c->fw_out, f, e, err);
	if (!strcmp(k, "tuntap-router-firewall-in-policy"))
		return read_policy(&c->policy_in, f, e, err);
	if (!strcmp(k, "tuntap-router-firewall-out-policy"))
		return read_policy(&c->policy_out, f, e, err);
	if (!strcmp(k, "tuntap-router-max-peers"))
		return read_u32(&c->max_peers, f, e, 1, MAX_PEERS_LIMIT, err);
	if (!strcmp(k, "tuntap-router-queue"))
		return read_queue(c, f, e, err);
	if (!strcmp(k, "tuntap-router-route"))
		return read_route(c, f, e, err);
	if (!strcmp(k, "tuntap-router-gateway-key"))
		return read_key(c, f, e, err);
	return 0;
}
