/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The tuntap firewall (see fw.h): rule values parsed as pointer+length
 * tokens into compiled rules whose addresses, masks, protocol and port
 * range are laid out for a branch-light compare against a classified
 * packet; ordered lists with a configured capacity; the layered verdict
 * (emperor, then each vassal's own list); a canonical formatter; and the
 * per-vassal set of assigned addresses used against spoofing.
 */
#include "tuntap/fw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANY_FAMILY (TT_IPV4 | TT_IPV6)
#define MAX_FIELDS 5

/* A token of a rule value: not NUL-terminated. */
struct tok {
	const char *p;
	size_t n;
};

static bool tok_is(const struct tok *t, const char *s)
{
	size_t n = strlen(s);
	return t->n == n && memcmp(t->p, s, n) == 0;
}

/* Split on spaces and tabs; returns the count, MAX_FIELDS + 1 when more. */
static size_t split(const char *s, struct tok *t)
{
	size_t n = 0;
	while (*s != '\0') {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (n == MAX_FIELDS)
			return MAX_FIELDS + 1;
		t[n].p = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		t[n].n = (size_t)(s - t[n].p);
		n++;
	}
	return n;
}

/* A strict decimal of 1..5 digits, at most @max. */
static int dec(const char *p, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* One address, IPv4 (mapped) or IPv6, as inet_pton reads it. */
static int parse_ip(const char *p, size_t n, union tt_ip *ip, uint8_t *family)
{
	char s[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof(s))
		return -1;
	memcpy(s, p, n);
	s[n] = '\0';
	memset(ip, 0, sizeof(*ip));
	if (memchr(s, ':', n) != NULL) {
		*family = TT_IPV6;
		return inet_pton(AF_INET6, s, ip->b) == 1 ? 0 : -1;
	}
	*family = TT_IPV4;
	ip->b[10] = ip->b[11] = 0xff;
	return inet_pton(AF_INET, s, ip->b + 12) == 1 ? 0 : -1;
}

static bool ip_is_zero(const union tt_ip *ip, uint8_t family)
{
	return family == TT_IPV4 ? memcmp(ip->b + 12, "\0\0\0", 4) == 0
				 : (ip->q[0] | ip->q[1]) == 0;
}

/* The first @bits bits set. */
static void make_mask(union tt_ip *m, unsigned bits)
{
	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < 16 && bits > 0; i++) {
		unsigned take = bits < 8 ? bits : 8;
		m->b[i] = (uint8_t)(0xff00 >> take);
		bits -= take;
	}
}

/* SRC or DST: `any`, an address, or addr/prefix. */
static int parse_net(const struct tok *t, const char *what, union tt_ip *ip, union tt_ip *mask,
		     uint8_t *family, uint8_t *plen, struct err **err)
{
	if (tok_is(t, "any")) {
		memset(ip, 0, sizeof(*ip));
		memset(mask, 0, sizeof(*mask));
		*family = ANY_FAMILY;
		*plen = 0;
		return 0;
	}
	const char *slash = memchr(t->p, '/', t->n);
	size_t alen = slash ? (size_t)(slash - t->p) : t->n;
	if (parse_ip(t->p, alen, ip, family) < 0)
		return err_set(err, 0, "%s '%.*s' is not an address, addr/prefix or any", what,
			       (int)t->n, t->p);
	unsigned maxp = *family == TT_IPV4 ? 32 : 128, p = maxp;
	if (slash != NULL) {
		if (dec(slash + 1, t->n - alen - 1, maxp, &p) < 0)
			return err_set(err, 0, "%s '%.*s': prefix must be 0 to %u", what, (int)t->n,
				       t->p, maxp);
	} else if (ip_is_zero(ip, *family)) {
		p = 0; /* uWSGI's wildcard */
	}
	*plen = (uint8_t)p;
	/* IPv4 keeps the mapped prefix in its mask: every IPv4 packet has it. */
	make_mask(mask, (*family == TT_IPV4 ? 96 : 0) + p);
	if ((ip->q[0] & ~mask->q[0]) != 0 || (ip->q[1] & ~mask->q[1]) != 0)
		return err_set(err, 0, "%s '%.*s' has bits set past its prefix /%u", what,
			       (int)t->n, t->p, p);
	return 0;
}

static int parse_proto(const struct tok *t, struct tt_fw_rule *r, uint8_t *family, struct err **err)
{
	static const struct {
		const char *name;
		uint8_t proto, family;
	} protos[] = {
	    {"tcp", IPPROTO_TCP, ANY_FAMILY}, {"udp", IPPROTO_UDP, ANY_FAMILY},
	    {"icmp", IPPROTO_ICMP, TT_IPV4},  {"icmpv6", IPPROTO_ICMPV6, TT_IPV6},
	    {"any", 0, ANY_FAMILY},
	};
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
		if (tok_is(t, protos[i].name)) {
			r->proto = protos[i].proto;
			r->proto_mask = protos[i].proto ? 0xff : 0;
			*family = protos[i].family;
			return 0;
		}
	}
	return err_set(err, 0, "unknown protocol '%.*s' (tcp, udp, icmp, icmpv6 or any)", (int)t->n,
		       t->p);
}

static int parse_port(const struct tok *t, struct tt_fw_rule *r, struct err **err)
{
	if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		return err_set(err, 0, "a port needs tcp or udp");
	const char *dash = memchr(t->p, '-', t->n);
	size_t l1 = dash ? (size_t)(dash - t->p) : t->n;
	unsigned lo, hi;
	if (dec(t->p, l1, 65535, &lo) < 0 || (dash && dec(dash + 1, t->n - l1 - 1, 65535, &hi) < 0))
		return err_set(err, 0, "port '%.*s' is not N or N-M with 0 <= N <= M <= 65535",
			       (int)t->n, t->p);
	if (!dash)
		hi = lo;
	if (hi < lo)
		return err_set(err, 0, "port range '%.*s' ends before it starts", (int)t->n, t->p);
	r->port_lo = (uint16_t)lo;
	r->port_span = (uint16_t)(hi - lo);
	r->flags |= TT_FW_RULE_PORT;
	return 0;
}

/* The rule's family: what its SRC, DST and PROTO all allow. */
static int settle_family(struct tt_fw_rule *r, uint8_t proto_family, const struct tok *proto,
			 struct err **err)
{
	uint8_t f = r->src_family & r->dst_family;
	if (f == 0)
		return err_set(err, 0, "SRC and DST are of different families");
	if ((f & proto_family) == 0)
		return err_set(err, 0, "protocol %.*s does not go with %s addresses", (int)proto->n,
			       proto->p, f == TT_IPV4 ? "IPv4" : "IPv6");
	r->family = f & proto_family;
	return 0;
}

int tt_fw_rule_parse(const char *value, struct tt_fw_rule *out, struct err **err)
{
	struct tok t[MAX_FIELDS];
	struct tt_fw_rule r = {.port_span = 0xffff};
	size_t n = split(value, t);
	if (n == 0)
		return err_set(err, 0, "empty rule: ACTION SRC DST [PROTO [PORT]]");
	if (n == 2 || n > MAX_FIELDS)
		return err_set(err, 0, "a rule is ACTION SRC DST [PROTO [PORT]], got %s fields",
			       n == 2 ? "2" : "more than 5");
	if (tok_is(&t[0], "allow"))
		r.action = TT_FW_ALLOW;
	else if (tok_is(&t[0], "deny"))
		r.action = TT_FW_DENY;
	else
		return err_set(err, 0, "unknown action '%.*s' (allow or deny)", (int)t[0].n,
			       t[0].p);
	static const struct tok any = {"any", 3};
	if (parse_net(n > 1 ? &t[1] : &any, "SRC", &r.src, &r.smask, &r.src_family, &r.src_plen,
		      err) < 0 ||
	    parse_net(n > 2 ? &t[2] : &any, "DST", &r.dst, &r.dmask, &r.dst_family, &r.dst_plen,
		      err) < 0)
		return -1;
	uint8_t proto_family = ANY_FAMILY;
	if (n > 3 && parse_proto(&t[3], &r, &proto_family, err) < 0)
		return -1;
	if (n > 4 && parse_port(&t[4], &r, err) < 0)
		return -1;
	if (settle_family(&r, proto_family, n > 3 ? &t[3] : &any, err) < 0)
		return -1;
	r.nol4 = !(r.flags & TT_FW_RULE_PORT) || r.action == TT_FW_DENY;
	if (r.action == TT_FW_ALLOW && r.dst_plen == 0)
		r.flags |= TT_FW_RULE_WILD_ALLOW;
	*out = r;
	return 0;
}

void tt_fw_list_init(struct tt_fw_list *l, uint32_t max)
{
	*l = (struct tt_fw_list){.max = max};
}

void tt_fw_list_free(struct tt_fw_list *l)
{
	free(l->rules);
	*l = (struct tt_fw_list){.max = l->max};
}

int tt_fw_list_add(struct tt_fw_list *l, const char *value, struct err **err)
{
	struct tt_fw_rule r;
	if (tt_fw_rule_parse(value, &r, err) < 0)
		return -1;
	if (l->n >= l->max)
		return err_set(err, 0, "too many rules (at most %u)", l->max);
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 8;
		if (cap > l->max)
			cap = l->max;
		struct tt_fw_rule *nr = reallocarray(l->rules, cap, sizeof(*nr));
		if (nr == NULL)
			return err_set(err, ENOMEM, "firewall rules");
		l->rules = nr;
		l->cap = cap;
	}
	l->rules[l->n++] = r;
	return 0;
}

int tt_fw_policy_parse(const char *value, enum tt_fw_action *out, struct err **err)
{
	if (strcmp(value, "allow") == 0)
		*out = TT_FW_ALLOW;
	else if (strcmp(value, "deny") == 0)
		*out = TT_FW_DENY;
	else
		return err_set(err, 0, "unknown policy '%s' (allow or deny)", value);
	return 0;
}

/*
 * The hot loop. Each test folds into one value so the compiler can keep it
 * branch-light; unsigned wrap-around turns the port range into one compare.
 */
static inline bool rule_matches(const struct tt_fw_rule *r, const struct tt_pkt *p, bool nol4)
{
	uint64_t a = ((p->src.q[0] & r->smask.q[0]) ^ r->src.q[0]) |
		     ((p->src.q[1] & r->smask.q[1]) ^ r->src.q[1]) |
		     ((p->dst.q[0] & r->dmask.q[0]) ^ r->dst.q[0]) |
		     ((p->dst.q[1] & r->dmask.q[1]) ^ r->dst.q[1]);
	bool port_ok = nol4 ? r->nol4 : (uint16_t)(p->dport - r->port_lo) <= r->port_span;
	return a == 0 && (r->family & p->family) && ((p->proto & r->proto_mask) == r->proto) &&
	       port_ok;
}

int tt_fw_find(const struct tt_fw_list *l, const struct tt_pkt *p, unsigned skip)
{
	bool nol4 = (p->flags & TT_PKT_F_NOL4) != 0;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct tt_fw_rule *r = &l->rules[i];
		if (rule_matches(r, p, nol4) && !(r->flags & skip))
			return (int)i;
	}
	return -1;
}

enum tt_fw_action tt_fw_match(const struct tt_fw_list *l, const struct tt_pkt *p,
			      enum tt_fw_action policy)
{
	int i = tt_fw_find(l, p, 0);
	return i < 0 ? policy : (enum tt_fw_action)l->rules[i].action;
}

enum tt_fw_action tt_fw_check(const struct tt_fw_list *emp, enum tt_fw_action policy,
			      const struct tt_fw_list *own, const struct tt_fw_list *other,
			      const struct tt_pkt *p, unsigned flags)
{
	unsigned skip = 0;
	if (flags & TT_FW_V2V) {
		policy = TT_FW_DENY;
		skip = TT_FW_RULE_WILD_ALLOW;
	}
	int i = emp ? tt_fw_find(emp, p, skip) : -1;
	if ((i < 0 ? policy : (enum tt_fw_action)emp->rules[i].action) == TT_FW_DENY)
		return TT_FW_DENY;
	if (own && tt_fw_match(own, p, TT_FW_ALLOW) == TT_FW_DENY)
		return TT_FW_DENY;
	if (other && tt_fw_match(other, p, TT_FW_ALLOW) == TT_FW_DENY)
		return TT_FW_DENY;
	return TT_FW_ALLOW;
}

/* SRC or DST as written: any, addr or addr/prefix. */
static void format_net(char *s, size_t n, const union tt_ip *ip, uint8_t family, uint8_t plen)
{
	char a[INET6_ADDRSTRLEN];
	if (family == ANY_FAMILY) {
		snprintf(s, n, "any");
		return;
	}
	if (family == TT_IPV4)
		inet_ntop(AF_INET, ip->b + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, ip->b, a, sizeof(a));
	snprintf(s, n, "%s/%u", a, plen);
}

int tt_fw_rule_format(const struct tt_fw_rule *r, char *out, size_t n)
{
	char src[INET6_ADDRSTRLEN + 4], dst[INET6_ADDRSTRLEN + 4], port[16] = "";
	const char *proto = "any";
	format_net(src, sizeof(src), &r->src, r->src_family, r->src_plen);
	format_net(dst, sizeof(dst), &r->dst, r->dst_family, r->dst_plen);
	switch (r->proto_mask ? r->proto : 0) {
	case IPPROTO_TCP:
		proto = "tcp";
		break;
	case IPPROTO_UDP:
		proto = "udp";
		break;
	case IPPROTO_ICMP:
		proto = "icmp";
		break;
	case IPPROTO_ICMPV6:
		proto = "icmpv6";
		break;
	}
	if (r->flags & TT_FW_RULE_PORT) {
		if (r->port_span == 0)
			snprintf(port, sizeof(port), " %u", r->port_lo);
		else
			snprintf(port, sizeof(port), " %u-%u", r->port_lo,
				 (unsigned)r->port_lo + r->port_span);
	}
	return snprintf(out, n, "%s %s %s %s%s", r->action == TT_FW_DENY ? "deny" : "allow", src,
			dst, proto, port);
}

int tt_addr_set_add(struct tt_addr_set *s, const char *text, struct err **err)
{
	union tt_ip ip;
	uint8_t family;
	size_t n = strlen(text);
	if (parse_ip(text, n, &ip, &family) < 0)
		return err_set(err, 0, "'%s' is not an IPv4 or IPv6 address", text);
	if (ip_is_zero(&ip, family))
		return err_set(err, 0, "'%s' is the unspecified address", text);
	if ((family == TT_IPV4 && ip.b[12] >= 224) || (family == TT_IPV6 && ip.b[0] == 0xff))
		return err_set(err, 0, "'%s' is not a unicast address", text);
	if (tt_addr_set_has(s, family, &ip))
		return err_set(err, 0, "'%s' is given twice", text);
	if (s->n >= TT_ADDR_SET_MAX)
		return err_set(err, 0, "too many addresses (at most %d)", TT_ADDR_SET_MAX);
	s->ip[s->n] = ip;
	s->family[s->n] = family;
	s->n++;
	return 0;
}

bool tt_addr_set_has(const struct tt_addr_set *s, uint8_t family, const union tt_ip *ip)
{
	for (unsigned i = 0; i < s->n && i < TT_ADDR_SET_MAX; i++) {
		if (s->family[i] == family && s->ip[i].q[0] == ip->q[0] &&
		    s->ip[i].q[1] == ip->q[1])
			return true;
	}
	return false;
}
