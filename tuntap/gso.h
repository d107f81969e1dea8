/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Segmentation in userspace: a segmentation-offload packet (TCP over IPv4
 * or IPv6, TSO; UDP, USO) read from a tun device with a virtio_net_hdr is
 * one IP packet of up to 64 KiB standing for many; a reader that takes only
 * whole packets (a uWSGI-framed peer, the UDP gateway, a tun device without
 * the header) gets it cut here into the packets the kernel would have sent:
 * each carrying at most gso_size bytes of payload, behind a copy of the
 * headers with every field that depends on the cut set right.
 *
 *  - IPv4: total length, identification (the first segment keeps the
 *    packet's, each next one adds 1, modulo 2^16), header checksum
 *    recomputed; options copied as they are.
 *  - IPv6: payload length; extension headers (all before l4_off) copied as
 *    they are. IPv4 and IPv6 alike: fragments are never segmented
 *    (tt_vnet_check refuses them).
 *  - TCP: sequence number advanced by the payload before it; FIN and PSH
 *    only on the last segment; CWR only on the first; the checksum
 *    computed whole over the pseudo-header (with the segment's own
 *    upper-layer length), header and payload, whatever the check field
 *    held before (a partial sum under VIRTIO_NET_HDR_F_NEEDS_CSUM).
 *  - UDP (VIRTIO_NET_HDR_GSO_UDP_L4): length per segment; the checksum
 *    computed whole, 0 sent as 0xffff (IPv6 requires one; IPv4 takes it).
 *
 * It reads only inside the packet, writes only inside the caller's
 * scratch buffer, and never allocates.
 */
#ifndef TUNTAP_GSO_H
#define TUNTAP_GSO_H

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

#include "tuntap/pkt.h"

/* Scratch bytes tt_gso_segment needs: any header (IP with options or
 * extension headers, TCP with options) and any segment payload fit. */
#define TT_GSO_SCRATCH (65536 + 1024)

/*
 * tt_csum_add - @sum plus the ones' complement sum of p[0..n) taken as
 * native-order 16-bit words (an odd last byte padded with a zero after
 * it), unfolded. The sum does not depend on byte order (RFC 1071), so
 * pieces of even length starting at even offsets add up in any grouping.
 */
uint64_t tt_csum_add(uint64_t sum, const uint8_t *p, size_t n);
/* tt_csum_fold - @sum folded to 16 bits and complemented: the value to
 * store, in memory order, in a checksum field. */
uint16_t tt_csum_fold(uint64_t sum);

/* Receives one segment: seg[0..len), a whole IP packet in the scratch
 * buffer, valid until the callback returns. */
typedef void (*tt_gso_emit_fn)(void *arg, const uint8_t *seg, size_t len);

/*
 * tt_gso_segment - cut pkt[0..len), classified as @k (tt_pkt_classify) and
 * carrying the virtio_net_hdr @h that tt_vnet_check accepted with
 * segmentation (gso_type other than VIRTIO_NET_HDR_GSO_NONE), into
 * segments, calling @emit(@arg, ...) once per segment in order.
 * @scratch holds TT_GSO_SCRATCH bytes. The upper-layer header's length is
 * read from the packet (TCP data offset, at least 20 and inside the packet;
 * UDP 8); h->hdr_len is not trusted. A packet with no payload is emitted
 * as one segment. Returns the number of segments emitted, or -1 when the
 * packet cannot be cut (a TCP data offset under 5 or past the packet, a
 * protocol not matching the type, a segment that would not fit @scratch):
 * then nothing was emitted.
 */
int tt_gso_segment(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
		   const struct tt_pkt *k, uint8_t *scratch, tt_gso_emit_fn emit, void *arg);

#endif
