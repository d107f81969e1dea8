/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Classifying one IP packet as a tun device or a peer hands it over (pointer
 * plus exact length): version, addresses, upper-layer protocol, TCP/UDP
 * ports, ICMP type and code, fragment state. It reads only inside the length
 * it is given, never allocates, and names why a packet is refused with a
 * stable reason for stats. What it accepts is what the firewall and the
 * anti-spoofing check can judge without guessing:
 *
 *  - Lengths are exact: IPv4 total length and IPv6 payload length + 40 must
 *    equal the buffer's length. tun reads and our framing both deliver
 *    exactly one packet, so trailing bytes can only come from a broken or
 *    hostile sender; forwarding them would leave two readers disagreeing on
 *    where the packet ends.
 *  - The IPv4 header checksum is not verified: the receiving kernel (the
 *    host's when the packet goes to the tun device, the vassal's otherwise)
 *    verifies it and drops a bad one, and nothing here trusts a byte more
 *    for having a good checksum. Skipping it keeps the path cheap.
 *  - Fragments: a first fragment (offset 0, more-fragments set) must carry
 *    its whole upper-layer header (RFC 1858, RFC 7112), else it is refused;
 *    a non-first fragment carries no upper-layer header, so it is flagged
 *    TT_PKT_F_NOL4 with ports and ICMP type unknown (0). The firewall then
 *    lets such a fragment match a rule with a port only when that rule
 *    denies (see fw.h), so fragmentation cannot slip past a port deny. An
 *    IPv4 TCP fragment at offset 1 (8 bytes, which could rewrite the TCP
 *    header, RFC 1858) and a fragment reaching past 65535 bytes are refused.
 *  - Source routing is refused: an IPv4 LSRR/SSRR option or an IPv6 routing
 *    header with segments left would make the destination field name a hop,
 *    not where the packet ends up, and the firewall judges that field.
 *  - IPv6 extension headers (hop-by-hop only first, routing, fragment,
 *    destination options, AH, mobility, HIP, shim6) are walked up to
 *    TT_PKT_V6_EXT_MAX of them to the upper-layer protocol.
 */
#ifndef TUNTAP_PKT_H
#define TUNTAP_PKT_H

#include <stddef.h>
#include <stdint.h>

/* Address families as bits, so a firewall rule can hold a set of them. */
#define TT_IPV4 1
#define TT_IPV6 2

#define TT_PKT_V4_HDR 20
#define TT_PKT_V6_HDR 40
#define TT_PKT_V6_EXT_MAX 8 /* extension headers walked before giving up */

/* An address: IPv6 as is, IPv4 mapped (::ffff:a.b.c.d). The family travels
 * beside it: an IPv6 packet may carry a mapped address itself. */
union tt_ip {
	uint8_t b[16];
	uint64_t q[2]; /* for masking; bytes in memory order */
};

/* Flags of a classified packet. */
#define TT_PKT_F_FRAG 0x01 /* a fragment, first or not */
#define TT_PKT_F_NOL4 0x02 /* no upper-layer header: ports, ICMP type unknown */

struct tt_pkt {
	union tt_ip src, dst;
	uint8_t family;	   /* TT_IPV4 or TT_IPV6 */
	uint8_t proto;	   /* upper-layer protocol (IPPROTO_*), after extension headers */
	uint8_t flags;	   /* TT_PKT_F_* */
	uint8_t icmp_type; /* ICMP or ICMPv6 type and code, else 0 */
	uint8_t icmp_code;
	uint16_t sport, dport; /* TCP or UDP ports in host order, else 0 */
	uint32_t l4_off;       /* offset of the upper-layer header; the length when none */
};

/* Why a packet was refused; TT_PKT_OK when it was classified. */
enum tt_pkt_drop {
	TT_PKT_OK = 0,
	TT_PKT_SHORT,	     /* shorter than its version's fixed header (or empty) */
	TT_PKT_VERSION,	     /* version neither 4 nor 6 */
	TT_PKT_V4_IHL,	     /* IHL < 5, or the header longer than the packet */
	TT_PKT_V4_LENGTH,    /* total length differs from the packet's length */
	TT_PKT_V4_OPTIONS,   /* an option runs past the header */
	TT_PKT_V6_LENGTH,    /* payload length + 40 differs from the packet's length */
	TT_PKT_V6_EXT,	     /* an extension header truncated, misplaced, repeated or too many */
	TT_PKT_SOURCE_ROUTE, /* IPv4 LSRR/SSRR option, IPv6 routing header with segments left */
	TT_PKT_FRAGMENT,     /* a fragment past 65535 bytes, or an IPv4 TCP fragment at offset 1 */
	TT_PKT_L4_SHORT,     /* TCP, UDP or ICMP header cut short (tiny first fragment included) */
	TT_PKT__COUNT
};

/*
 * tt_pkt_drop_name - short stable name for stats ("ok", "short", "v4_ihl",
 * ...); "unknown" for a value outside the enum, never NULL.
 */
const char *tt_pkt_drop_name(enum tt_pkt_drop d);

/*
 * tt_pkt_classify - classify the packet buf[0..len).
 * Returns TT_PKT_OK with *p filled, or the first rule the packet breaks
 * (then *p is unspecified). Reads nothing outside buf[0..len).
 */
enum tt_pkt_drop tt_pkt_classify(const void *buf, size_t len, struct tt_pkt *p);

#endif
