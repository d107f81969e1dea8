/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * A vassal's network as its file describes it (tuntap.h, struct
 * tt_vassal_net): `tuntap-device = DEV SOCKET` (once), `tuntap-ip = CIDR`
 * (repeatable, IPv4 and IPv6, each address once), `tuntap-gateway = IP` (at
 * most one per family, inside a `tuntap-ip` network and none of the vassal's
 * own addresses) and `tuntap-firewall = RULE` (repeatable, fw.h's syntax).
 * The emperor reads it to validate the file and to give the router the
 * vassal's addresses and rules; the vassal reads it again to build its tun
 * device. Every error names the file, the line and the key.
 */
#include "tuntap/tuntap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *const tt_vassal_keys[] = {"tuntap-device", "tuntap-ip", "tuntap-gateway",
				      "tuntap-firewall", NULL};

/* The entries that made the fields, for errors found once all are read. */
struct lines {
	const struct cfg_entry *device;
	const struct cfg_entry *gw[2]; /* v4, v6 */
	const struct cfg_entry *first; /* the first tuntap key of any kind */
};

/* "FILE:LINE: KEY: " before an error a value parser set. */
static int entry_fail(const struct cfg *c, const struct cfg_entry *e, struct err **err)
{
	err_prefix(err, "%s:%u: %s", c->origin, e->line, e->key);
	return -1;
}

/* An interface name the kernel takes as it is: 1..15 bytes, no blank, '/',
 * ':' or '%' (with which the kernel would pick a name of its own). */
static bool ifname_ok(const char *s, size_t n)
{
	if (n == 0 || n >= TT_DEV_MAX || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == ':' || ch == '%')
			return false;
	}
	return true;
}

/* `DEV SOCKET`: two words separated by blanks. */
static int read_device(const struct cfg *c, const struct cfg_entry *e, struct tt_vassal_net *out,
		       struct err **err)
{
	const char *v = e->value, *end = v + strlen(v);
	const char *w[3][2];
	size_t n = 0;
	for (const char *p = v; p < end;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		if (n == 3)
			break;
		w[n][0] = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		w[n++][1] = p;
	}
	if (n != 2)
		return cfg_error(c, e, err, "'%s': expected DEV SOCKET", v);
	size_t dlen = (size_t)(w[0][1] - w[0][0]), slen = (size_t)(w[1][1] - w[1][0]);
	if (!ifname_ok(w[0][0], dlen))
		return cfg_error(
		    c, e, err, "'%.*s': not an interface name (1..%d bytes, no blank, /, : or %%)",
		    (int)dlen, w[0][0], TT_DEV_MAX - 1);
	if (w[1][0][0] != '/')
		return cfg_error(c, e, err, "'%.*s': the socket must be an absolute path",
				 (int)slen, w[1][0]);
	if (slen >= TT_PATH_MAX)
		return cfg_error(c, e, err, "socket path longer than %d bytes", TT_PATH_MAX - 1);
	memcpy(out->dev, w[0][0], dlen);
	out->dev[dlen] = '\0';
	memcpy(out->socket, w[1][0], slen);
	out->socket[slen] = '\0';
	return 0;
}

static bool same_ip(const struct tt_cidr *a, const struct tt_cidr *b)
{
	return a->family == b->family && memcmp(a->ip.b, b->ip.b, 16) == 0;
}

/* Whether @ip lies in the network of @net (same family, first prefix bits). */
static bool in_net(const struct tt_cidr *net, const struct tt_cidr *ip)
{
	if (net->family != ip->family)
		return false;
	unsigned bits = net->prefix + (net->family == TT_IPV4 ? 96u : 0u);
	for (unsigned i = 0; i < 16 && bits > 0; i++) {
		unsigned take = bits < 8 ? bits : 8;
		uint8_t mask = (uint8_t)(0xff00 >> take);
		if ((net->ip.b[i] ^ ip->ip.b[i]) & mask)
			return false;
		bits -= take;
	}
	return true;
}

/* Why @a cannot be a host's address, or NULL when it can. */
static const char *not_unicast(const struct tt_cidr *a)
{
	const uint8_t *b = a->ip.b;
	if (a->family == TT_IPV4) {
		if ((b[12] | b[13] | b[14] | b[15]) == 0)
			return "the unspecified address";
		if (b[12] >= 224)
			return "not a unicast address";
		if (b[12] == 127)
			return "a loopback address";
		return NULL;
	}
	static const uint8_t zero[16], loop[16] = {[15] = 1};
	if (memcmp(b, zero, 16) == 0)
		return "the unspecified address";
	if (b[0] == 0xff)
		return "not a unicast address";
	if (memcmp(b, loop, 16) == 0)
		return "a loopback address";
	return NULL;
}

static int read_ip(const struct cfg *c, const struct cfg_entry *e, struct tt_vassal_net *out,
		   struct err **err)
{
	struct tt_cidr a;
	if (tt_cidr_parse(e->value, &a, err) < 0)
		return entry_fail(c, e, err);
	const char *why = not_unicast(&a);
	if (why != NULL)
		return cfg_error(c, e, err, "'%s': %s", e->value, why);
	for (size_t i = 0; i < out->n_ips; i++)
		if (same_ip(&out->ips[i], &a))
			return cfg_error(c, e, err, "'%s': the address is given twice", e->value);
	if (out->n_ips >= TT_MAX_IPS)
		return cfg_error(c, e, err, "more than %d addresses", TT_MAX_IPS);
	out->ips[out->n_ips++] = a;
	return 0;
}

static int read_gateway(const struct cfg *c, const struct cfg_entry *e, struct tt_vassal_net *out,
			struct lines *l, struct err **err)
{
	struct tt_cidr a;
	if (strchr(e->value, '/') != NULL)
		return cfg_error(c, e, err, "'%s': expected an address, without a prefix",
				 e->value);
	if (tt_cidr_parse(e->value, &a, err) < 0)
		return entry_fail(c, e, err);
	const char *why = not_unicast(&a);
	if (why != NULL)
		return cfg_error(c, e, err, "'%s': %s", e->value, why);
	int v6 = a.family == TT_IPV6;
	if (l->gw[v6] != NULL)
		return cfg_error(c, e, err, "an IPv%c gateway is already given on line %u",
				 v6 ? '6' : '4', l->gw[v6]->line);
	l->gw[v6] = e;
	*(v6 ? &out->gw6 : &out->gw4) = a;
	return 0;
}

/* Each gateway must be reachable on the link: inside a network of ours,
 * and not one of our own addresses. */
static int check_gateways(const struct cfg *c, const struct tt_vassal_net *out,
			  const struct lines *l, struct err **err)
{
	const struct tt_cidr *gws[2] = {&out->gw4, &out->gw6};
	for (int k = 0; k < 2; k++) {
		if (l->gw[k] == NULL)
			continue;
		bool inside = false;
		for (size_t i = 0; i < out->n_ips; i++) {
			if (same_ip(&out->ips[i], gws[k]))
				return cfg_error(c, l->gw[k], err,
						 "'%s' is one of the vassal's own addresses",
						 l->gw[k]->value);
			inside = inside || in_net(&out->ips[i], gws[k]);
		}
		if (!inside)
			return cfg_error(c, l->gw[k], err,
					 "'%s' is in no tuntap-ip network of the vassal",
					 l->gw[k]->value);
	}
	return 0;
}

/* One entry; 0 when it is not a tuntap key. */
static int read_entry(const struct cfg *c, const struct cfg_entry *e, struct tt_vassal_net *out,
		      struct lines *l, struct err **err)
{
	const char *k = e->key;
	int r;
	if (strcmp(k, "tuntap-device") == 0) {
		if (l->device != NULL)
			return cfg_error(c, e, err, "given more than once (first on line %u)",
					 l->device->line);
		l->device = e;
		r = read_device(c, e, out, err);
	} else if (strcmp(k, "tuntap-ip") == 0) {
		r = read_ip(c, e, out, err);
	} else if (strcmp(k, "tuntap-gateway") == 0) {
		r = read_gateway(c, e, out, l, err);
	} else if (strcmp(k, "tuntap-firewall") == 0) {
		r = tt_fw_list_add(&out->fw, e->value, err) < 0 ? entry_fail(c, e, err) : 0;
	} else {
		return 0;
	}
	if (l->first == NULL)
		l->first = e;
	return r < 0 ? -1 : 1;
}

int tt_vassal_net_read(const struct cfg *c, struct tt_vassal_net *out, struct err **err)
{
	struct lines l = {0};
	memset(out, 0, sizeof(*out));
	tt_fw_list_init(&out->fw, TT_FW_RULES_MAX);
	for (size_t i = 0; i < c->n; i++) {
		if (read_entry(c, &c->entries[i], out, &l, err) < 0)
			goto fail;
	}
	if (l.first == NULL)
		return 0;
	if (l.device == NULL) {
		cfg_error(c, l.first, err, "needs tuntap-device");
		goto fail;
	}
	if (out->n_ips == 0) {
		cfg_error(c, l.device, err, "needs at least one tuntap-ip");
		goto fail;
	}
	if (check_gateways(c, out, &l, err) < 0)
		goto fail;
	return 1;
fail:
	tt_vassal_net_free(out);
	return -1;
}

void tt_vassal_net_free(struct tt_vassal_net *n)
{
	if (n == NULL)
		return;
	tt_fw_list_free(&n->fw);
}
