/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * IP packet classification (see pkt.h for the rules it enforces): one pass
 * over the fixed header, IPv4 options or the IPv6 extension header chain,
 * then the first bytes of the upper-layer header. Every read is preceded by
 * a check of what is left of the packet; the output is a small struct with
 * addresses in one 16-byte form so the firewall compares both families
 * the same way.
 */
#include "tuntap/pkt.h"

#include <netinet/in.h>
#include <string.h>

static const char *const drop_names[TT_PKT__COUNT] = {
    [TT_PKT_OK] = "ok",
    [TT_PKT_SHORT] = "short",
    [TT_PKT_VERSION] = "version",
    [TT_PKT_V4_IHL] = "v4_ihl",
    [TT_PKT_V4_LENGTH] = "v4_length",
    [TT_PKT_V4_OPTIONS] = "v4_options",
    [TT_PKT_V6_LENGTH] = "v6_length",
    [TT_PKT_V6_EXT] = "v6_ext",
    [TT_PKT_SOURCE_ROUTE] = "source_route",
    [TT_PKT_FRAGMENT] = "fragment",
    [TT_PKT_L4_SHORT] = "l4_short",
};

const char *tt_pkt_drop_name(enum tt_pkt_drop d)
{
	if ((unsigned)d >= TT_PKT__COUNT || drop_names[d] == NULL)
		return "unknown";
	return drop_names[d];
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* IPv4 addresses as ::ffff:a.b.c.d. */
static inline void map_v4(union tt_ip *ip, const uint8_t *v4)
{
	ip->q[0] = 0;
	memcpy(ip->b + 8, "\0\0\xff\xff", 4);
	memcpy(ip->b + 12, v4, 4);
}

/*
 * The upper-layer header at p->l4_off: ports for TCP and UDP, type and code
 * for ICMP. The minimum lengths are the protocols' fixed headers (ICMPv6's
 * is 4 bytes, ICMP's 8), so a tiny first fragment is refused here too.
 */
static enum tt_pkt_drop upper(const uint8_t *b, size_t len, struct tt_pkt *p)
{
	size_t need;
	switch (p->proto) {
	case IPPROTO_TCP:
		need = 20;
		break;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
		need = 8;
		break;
	case IPPROTO_ICMPV6:
		need = 4;
		break;
	default:
		return TT_PKT_OK;
	}
	const uint8_t *h = b + p->l4_off;
	if (len - p->l4_off < need)
		return TT_PKT_L4_SHORT;
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		p->sport = get_be16(h);
		p->dport = get_be16(h + 2);
	} else {
		p->icmp_type = h[0];
		p->icmp_code = h[1];
	}
	return TT_PKT_OK;
}

/* IPv4 options: each within the header; source routes refused. */
static enum tt_pkt_drop v4_options(const uint8_t *o, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t t = o[i];
		if (t == 0) /* end of options */
			break;
		if (t == 1) { /* no-op */
			i++;
			continue;
		}
		if (n - i < 2 || o[i + 1] < 2 || o[i + 1] > n - i)
			return TT_PKT_V4_OPTIONS;
		if (t == 0x83 || t == 0x89) /* LSRR, SSRR */
			return TT_PKT_SOURCE_ROUTE;
		i += o[i + 1];
	}
	return TT_PKT_OK;
}

static enum tt_pkt_drop v4(const uint8_t *b, size_t len, struct tt_pkt *p)
{
	if (len < TT_PKT_V4_HDR)
		return TT_PKT_SHORT;
	size_t ihl = (size_t)(b[0] & 0x0f) * 4;
	if (ihl < TT_PKT_V4_HDR || ihl > len)
		return TT_PKT_V4_IHL;
	if (get_be16(b + 2) != len)
		return TT_PKT_V4_LENGTH;
	if (ihl > TT_PKT_V4_HDR) {
		enum tt_pkt_drop r = v4_options(b + TT_PKT_V4_HDR, ihl - TT_PKT_V4_HDR);
		if (r != TT_PKT_OK)
			return r;
	}
	p->family = TT_IPV4;
	p->proto = b[9];
	map_v4(&p->src, b + 12);
	map_v4(&p->dst, b + 16);
	p->l4_off = (uint32_t)ihl;

	uint16_t frag = get_be16(b + 6);
	size_t offset = (size_t)(frag & 0x1fff) * 8;
	if (offset != 0 || (frag & 0x2000) != 0) {
		p->flags |= TT_PKT_F_FRAG;
		/* The reassembled packet would pass 65535 bytes (ping of death). */
		if (offset + len > 65535)
			return TT_PKT_FRAGMENT;
		/* Offset 8 would overwrite the TCP header's flags (RFC 1858). */
		if (offset == 8 && p->proto == IPPROTO_TCP)
			return TT_PKT_FRAGMENT;
		if (offset != 0) {
			p->flags |= TT_PKT_F_NOL4;
			p->l4_off = (uint32_t)len;
			return TT_PKT_OK;
		}
	}
	return upper(b, len, p);
}

/*
 * An IPv6 fragment header at b[off] (8 bytes, checked by the caller).
 * Returns TT_PKT_OK with *done set when the packet is a non-first fragment
 * (nothing more to read), else TT_PKT_OK to go on walking.
 */
static enum tt_pkt_drop v6_fragment(const uint8_t *b, size_t len, size_t off, struct tt_pkt *p,
				    int *done)
{
	uint16_t fo = get_be16(b + off + 2);
	size_t offset = fo & 0xfff8;
	*done = 0;
	if (offset == 0 && (fo & 1) == 0) /* atomic fragment (RFC 6946) */
		return TT_PKT_OK;
	p->flags |= TT_PKT_F_FRAG;
	if (offset + (len - off - 8) > 65535)
		return TT_PKT_FRAGMENT;
	if (offset != 0) {
		p->flags |= TT_PKT_F_NOL4;
		p->proto = b[off];
		p->l4_off = (uint32_t)len;
		*done = 1;
	}
	return TT_PKT_OK;
}

static enum tt_pkt_drop v6(const uint8_t *b, size_t len, struct tt_pkt *p)
{
	if (len < TT_PKT_V6_HDR)
		return TT_PKT_SHORT;
	if ((size_t)get_be16(b + 4) + TT_PKT_V6_HDR != len)
		return TT_PKT_V6_LENGTH;
	p->family = TT_IPV6;
	memcpy(p->src.b, b + 8, 16);
	memcpy(p->dst.b, b + 24, 16);

	uint8_t nh = b[6];
	size_t off = TT_PKT_V6_HDR;
	int seen_frag = 0;
	for (unsigned n = 0;; n++) {
		size_t hl;
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_FRAGMENT:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_MH:
		case 139: /* HIP */
		case 140: /* shim6 */
			break;
		default:
			p->proto = nh;
			p->l4_off = (uint32_t)off;
			return upper(b, len, p);
		}
		/* Every extension header is at least 8 bytes. */
		if (n >= TT_PKT_V6_EXT_MAX || len - off < 8)
			return TT_PKT_V6_EXT;
		if (nh == IPPROTO_HOPOPTS && n != 0) /* only right after the header */
			return TT_PKT_V6_EXT;
		if (nh == IPPROTO_FRAGMENT) {
			int done;
			if (seen_frag)
				return TT_PKT_V6_EXT;
			seen_frag = 1;
			enum tt_pkt_drop r = v6_fragment(b, len, off, p, &done);
			if (r != TT_PKT_OK || done)
				return r;
			hl = 8;
		} else if (nh == IPPROTO_AH) {
			hl = ((size_t)b[off + 1] + 2) * 4;
		} else {
			hl = ((size_t)b[off + 1] + 1) * 8;
		}
		if (nh == IPPROTO_ROUTING && b[off + 3] != 0) /* segments left */
			return TT_PKT_SOURCE_ROUTE;
		if (hl > len - off)
			return TT_PKT_V6_EXT;
		nh = b[off];
		off += hl;
	}
}

enum tt_pkt_drop tt_pkt_classify(const void *buf, size_t len, struct tt_pkt *p)
{
	const uint8_t *b = buf;
	p->flags = 0;
	p->icmp_type = p->icmp_code = 0;
	p->sport = p->dport = 0;
	if (len == 0)
		return TT_PKT_SHORT;
	switch (b[0] >> 4) {
	case 4:
		return v4(b, len, p);
	case 6:
		return v6(b, len, p);
	default:
		return TT_PKT_VERSION;
	}
}
