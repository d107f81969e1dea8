/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The tuntap router's keys in emperor.ini ([emperor] section): the host
 * device and framing socket (`tuntap-router`, uWSGI's syntax), the device's
 * addresses and MTU, the emperor's firewall lists and policies, and the
 * router's limits; and the CIDR parser shared with the vassal side's
 * `tuntap-ip`. Each error names file, line and key. The UDP gateway (the 4th
 * field of `tuntap-router`, and `tuntap-router-route`) is recognised and
 * refused: it is not built yet.
 */
#include <arpa/inet.h>
#include <string.h>

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
		struct err *sub = NULL;
		if (addr_parse(fld[3], &a, &sub) < 0) {
			cfg_error(f, e, err, "GATEWAY: %s", err_msg(sub));
			err_free(&sub);
			return -1;
		}
		return cfg_error(f, e, err, "GATEWAY %s: the UDP gateway is not supported yet",
				 fld[3]);
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
		return cfg_error(f, e, err,
				 "routes to remote routers (the UDP gateway) are not "
				 "supported yet");
	return 0;
}
