/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tuntap router's firewall and anti-spoofing set.
 *
 * Rules come from configuration only (`tuntap-router-firewall-in`, `-out`
 * in the emperor's file, `tuntap-firewall` in a vassal's), never from a
 * tenant's socket:
 *
 *     ACTION SRC DST [PROTO [PORT]]
 *
 * ACTION is `allow` or `deny`; SRC and DST are `any`, an address (a host) or
 * `addr/prefix`, IPv4 or IPv6 (host bits set are refused: `10.0.0.1/24` is
 * a mistake, not `10.0.0.0/24`); PROTO is `tcp`, `udp`, `icmp`, `icmpv6` or
 * `any`; PORT (tcp and udp only) is `N` or `N-M` and is matched against the
 * destination port. For uWSGI's configurations, a lone ACTION means
 * `ACTION any any`, and a bare `0.0.0.0` (no prefix) is uWSGI's IPv4
 * wildcard, `0.0.0.0/0` (likewise a bare `::` is `::/0`).
 *
 * A rule matches only its family: an IPv4 address never matches an IPv6
 * packet (not even one carrying a mapped address) and the reverse; `any`
 * matches both; `icmp` implies IPv4 and `icmpv6` IPv6; a rule mixing
 * families is refused.
 *
 * Fragments: a non-first fragment has no ports (TT_PKT_F_NOL4). A rule with
 * a port matches it when the rule denies and never when it allows, the
 * rest of the rule matching: a port deny cannot be bypassed by fragmenting,
 * and a port allow cannot be used to pass fragments of another port. The
 * price: when a port deny comes before the rule that would allow it, later
 * fragments of that protocol and those addresses are dropped whatever their
 * port, so such a datagram is not delivered (TCP avoids fragments through
 * path MTU discovery; big UDP datagrams are what this affects).
 *
 * A list is compiled at configuration time into one compact array, with a
 * configured maximum; matching walks it in order, first match wins, with no
 * allocation and a handful of compares per rule.
 */
#ifndef TUNTAP_FW_H
#define TUNTAP_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "tuntap/pkt.h"

#define TT_FW_RULES_MAX 1024 /* a sane default for a list's maximum */
#define TT_FW_TEXT_MAX 128   /* room for tt_fw_rule_format's longest rule */

enum tt_fw_action {
	TT_FW_ALLOW = 0,
	TT_FW_DENY = 1,
};

/* Rule flags. */
#define TT_FW_RULE_PORT 0x01	   /* has a PORT */
#define TT_FW_RULE_WILD_ALLOW 0x02 /* allows with a DST of prefix 0 (`any`, 0.0.0.0/0, ::/0) */

/* One compiled rule (the fields the match loop reads come first). */
struct tt_fw_rule {
	union tt_ip src, smask; /* src pre-masked */
	union tt_ip dst, dmask;
	uint16_t port_lo; /* dport - port_lo <= port_span; 0 and 65535 without a PORT */
	uint16_t port_span;
	uint8_t proto; /* 0 with mask 0 for `any` */
	uint8_t proto_mask;
	uint8_t family;			/* TT_IPV4 | TT_IPV6: the packets it can match */
	uint8_t action;			/* enum tt_fw_action */
	uint8_t nol4;			/* 1 when it may match a packet without ports */
	uint8_t flags;			/* TT_FW_RULE_* */
	uint8_t src_family, dst_family; /* as written (both bits for `any`), for formatting */
	uint8_t src_plen, dst_plen;	/* prefix lengths as written */
};

/* An ordered rule list; zero-initialised it is empty with no room. */
struct tt_fw_list {
	struct tt_fw_rule *rules; /* owned */
	uint32_t n;
	uint32_t max; /* configured capacity */
	uint32_t cap; /* allocated */
};

/* tt_fw_list_init - an empty list that will take up to @max rules. */
void tt_fw_list_init(struct tt_fw_list *l, uint32_t max);

/* tt_fw_list_free - free the rules; the list is empty (max kept). */
void tt_fw_list_free(struct tt_fw_list *l);

/*
 * tt_fw_rule_parse - compile one rule from its configuration value.
 * Returns 0, or -1 with *err saying why (the caller adds FILE:LINE: key).
 */
int tt_fw_rule_parse(const char *value, struct tt_fw_rule *out, struct err **err);

/*
 * tt_fw_list_add - parse @value and append it.
 * Returns 0, or -1 with *err: a bad rule, the list full (max reached), or
 * out of memory. The list is unchanged on failure.
 */
int tt_fw_list_add(struct tt_fw_list *l, const char *value, struct err **err);

/*
 * tt_fw_policy_parse - `allow` or `deny` (for `-in-policy`, `-out-policy`).
 * Returns 0 with *out set, or -1 with *err.
 */
int tt_fw_policy_parse(const char *value, enum tt_fw_action *out, struct err **err);

/*
 * tt_fw_find - index of the first rule of @l matching @p, skipping rules
 * with any of the TT_FW_RULE_* flags in @skip; -1 when none matches.
 */
int tt_fw_find(const struct tt_fw_list *l, const struct tt_pkt *p, unsigned skip);

/* tt_fw_match - the first matching rule's action, else @policy. */
enum tt_fw_action tt_fw_match(const struct tt_fw_list *l, const struct tt_pkt *p,
			      enum tt_fw_action policy);

/* tt_fw_check flags. */
#define TT_FW_V2V 0x01 /* the packet goes from one vassal to another */

/*
 * tt_fw_check - the verdict on @p across the layers that judge it:
 * @emp (the emperor's list for this direction, may be NULL) with @policy,
 * then the vassals' own lists @own and @other (either may be NULL), which
 * can only deny more: a vassal list that matches nothing allows. The packet
 * passes only if every layer allows.
 * With TT_FW_V2V in @flags (vassal to vassal: pass the emperor's `out` list,
 * the sender's list as @own and the receiver's as @other) the traffic is
 * denied unless an emperor rule allows it: @policy is taken as deny and
 * allow rules whose DST is a wildcard (TT_FW_RULE_WILD_ALLOW) are skipped,
 * so `allow 10.0.0.0/24 any` (vassals to the world) does not open vassals
 * to each other, while `allow 10.0.0.0/24 10.0.0.0/24` does.
 */
enum tt_fw_action tt_fw_check(const struct tt_fw_list *emp, enum tt_fw_action policy,
			      const struct tt_fw_list *own, const struct tt_fw_list *other,
			      const struct tt_pkt *p, unsigned flags);

/*
 * tt_fw_rule_format - the rule in canonical form ("deny 10.0.0.0/24 any tcp
 * 22-25"), for logs and stats; parsing it gives the same rule. Writes at
 * most @n bytes with a NUL; returns the length it needed (as snprintf).
 */
int tt_fw_rule_format(const struct tt_fw_rule *r, char *out, size_t n);

/*
 * The addresses assigned to one vassal, against which every packet's source
 * is checked. Zero-initialised it is empty.
 */
#define TT_ADDR_SET_MAX 8

struct tt_addr_set {
	union tt_ip ip[TT_ADDR_SET_MAX];
	uint8_t family[TT_ADDR_SET_MAX];
	uint8_t n;
};

/*
 * tt_addr_set_add - add one address (`10.0.0.2`, `fd00::2`; no prefix).
 * Returns 0, or -1 with *err: not an address, unspecified or multicast (no
 * packet can come from those), already in the set, or the set full.
 */
int tt_addr_set_add(struct tt_addr_set *s, const char *text, struct err **err);

/* tt_addr_set_has - @ip of @family (TT_IPV4, TT_IPV6) is in the set. */
bool tt_addr_set_has(const struct tt_addr_set *s, uint8_t family, const union tt_ip *ip);

#endif
