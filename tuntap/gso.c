/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Segmentation in userspace (see gso.h for what each segment gets): the
 * headers (IP, its options or extension headers, TCP or UDP) are copied
 * into the scratch buffer, each segment's payload behind them, the fields
 * that depend on the cut are set, and the checksums are computed whole:
 * the IPv4 header's over its bytes, the upper layer's over the
 * pseudo-header, header and payload. Everything the cut depends on is
 * checked before the first segment goes out, so a refused packet emits
 * nothing. The checksum sums 8 bytes at a time in native order into a
 * 64-bit accumulator with end-around carry (RFC 1071 sec. 2: the ones'
 * complement sum does not depend on byte order); storing the folded result
 * natively gives the network-order field.
 */
#include "tuntap/gso.h"

#include <endian.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* linux/virtio_net.h of Linux 4.18 */
#endif

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

uint64_t tt_csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	uint64_t w0, w1, w2, w3;
	for (; n >= 32; p += 32, n -= 32) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		sum += w0;
		sum += sum < w0;
		sum += w1;
		sum += sum < w1;
		sum += w2;
		sum += sum < w2;
		sum += w3;
		sum += sum < w3;
	}
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w0, p, 8);
		sum += w0;
		sum += sum < w0;
	}
	if (n > 0) {
		w0 = 0; /* zero bytes after the tail: the same words, padded */
		memcpy(&w0, p, n);
		sum += w0;
		sum += sum < w0;
	}
	return sum;
}

uint16_t tt_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* What stays the same for every segment of one packet. */
struct cut {
	const uint8_t *pkt;
	size_t l4, hl;	     /* upper-layer header offset; all headers' length */
	size_t payload, mss; /* payload bytes in all; per segment at most */
	uint64_t pseudo;     /* the pseudo-header's addresses and protocol */
	uint32_t seq;	     /* TCP: the first sequence number */
	uint16_t id;	     /* IPv4: the first identification */
	uint8_t tcp_flags;
	bool v4, tcp;
};

/* Whether @h's type names @k's protocol and family; the upper-layer header
 * length (TCP data offset, UDP 8) into *l4len when it lies in the packet. */
static bool l4_header(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
		      const struct tt_pkt *k, size_t *l4len)
{
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ecn = h->gso_type & VIRTIO_NET_HDR_GSO_ECN;
	size_t left = k->l4_off <= len ? len - k->l4_off : 0;
	if (k->flags & (TT_PKT_F_FRAG | TT_PKT_F_NOL4))
		return false;
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (k->proto != IPPROTO_TCP || left < 20 ||
		    (k->family == TT_IPV4) != (type == VIRTIO_NET_HDR_GSO_TCPV4))
			return false;
		*l4len = (size_t)(pkt[k->l4_off + 12] >> 4) * 4;
		return *l4len >= 20 && *l4len <= left;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		*l4len = 8;
		return k->proto == IPPROTO_UDP && !ecn && left >= 8;
	default:
		return false;
	}
}

/* Segment @i (of @n), with @off bytes of payload before it and @plen in
 * it, written into @s. Returns its length. */
static size_t make_segment(const struct cut *c, uint8_t *s, size_t i, size_t n, size_t off,
			   size_t plen)
{
	const uint8_t *pkt = c->pkt;
	size_t l4 = c->l4, seg = c->hl + plen, l4len = seg - l4;
	memcpy(s, pkt, c->hl);
	memcpy(s + c->hl, pkt + c->hl + off, plen);
	if (c->v4) {
		put16(s + 2, seg);
		put16(s + 4, (uint16_t)(c->id + i));
		s[10] = s[11] = 0;
		uint16_t ck = tt_csum_fold(tt_csum_add(0, s, l4));
		memcpy(s + 10, &ck, 2);
	} else {
		put16(s + 4, seg - TT_PKT_V6_HDR);
	}
	size_t at;
	if (c->tcp) {
		uint32_t seq = c->seq + (uint32_t)off;
		s[l4 + 4] = (uint8_t)(seq >> 24);
		s[l4 + 5] = (uint8_t)(seq >> 16);
		s[l4 + 6] = (uint8_t)(seq >> 8);
		s[l4 + 7] = (uint8_t)seq;
		uint8_t f = c->tcp_flags;
		if (i + 1 < n)
			f &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (i > 0)
			f &= (uint8_t)~TCP_CWR;
		s[l4 + 13] = f;
		at = l4 + 16;
	} else {
		put16(s + l4 + 4, l4len);
		at = l4 + 6;
	}
	s[at] = s[at + 1] = 0;
	/* The pseudo-header's upper-layer length: IPv6's 32 bits hold at most
	 * 16 here, so both families add it as one 16-bit word. */
	uint8_t ulen[2];
	put16(ulen, l4len);
	uint64_t sum = tt_csum_add(c->pseudo, ulen, 2);
	uint16_t ck = tt_csum_fold(tt_csum_add(sum, s + l4, l4len));
	if (ck == 0 && !c->tcp)
		ck = 0xffff; /* UDP's 0 means "no checksum"; both are the same sum */
	memcpy(s + at, &ck, 2);
	return seg;
}

int tt_gso_segment(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
		   const struct tt_pkt *k, uint8_t *scratch, tt_gso_emit_fn emit, void *arg)
{
	size_t l4len;
	if (!l4_header(h, pkt, len, k, &l4len))
		return -1;
	struct cut c = {
	    .pkt = pkt,
	    .l4 = k->l4_off,
	    .hl = k->l4_off + l4len,
	    .mss = le16toh(h->gso_size),
	    .v4 = k->family == TT_IPV4,
	    .tcp = k->proto == IPPROTO_TCP,
	};
	c.payload = len - c.hl;
	if (c.mss == 0 || c.hl + (c.payload < c.mss ? c.payload : c.mss) > TT_GSO_SCRATCH ||
	    (c.v4 && c.l4 < TT_PKT_V4_HDR) || (!c.v4 && c.l4 < TT_PKT_V6_HDR))
		return -1;
	/* Source and destination, then the protocol as the word {0, proto}. */
	uint8_t proto[2] = {0, k->proto};
	c.pseudo = c.v4 ? tt_csum_add(0, pkt + 12, 8) : tt_csum_add(0, pkt + 8, 32);
	c.pseudo = tt_csum_add(c.pseudo, proto, 2);
	if (c.v4)
		c.id = get16(pkt + 4);
	if (c.tcp) {
		const uint8_t *t = pkt + c.l4;
		c.seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
		c.tcp_flags = t[13];
	}
	size_t n = c.payload == 0 ? 1 : (c.payload + c.mss - 1) / c.mss;
	for (size_t i = 0, off = 0; i < n; i++, off += c.mss) {
		size_t plen = c.payload - off < c.mss ? c.payload - off : c.mss;
		size_t seg = make_segment(&c, scratch, i, n, off, plen);
		emit(arg, scratch, seg);
	}
	return (int)n;
}
