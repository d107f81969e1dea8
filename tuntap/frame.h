/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uWSGI's tuntap framing on the router's unix stream socket: each frame is a
 * 4-byte uwsgi header (modifier1 0, payload size as u16 little-endian,
 * modifier2) and then the payload. modifier2 0 carries one raw IP packet, in
 * both directions; modifier2 1 carries, from a uWSGI vassal configured with
 * `tuntap-device-rule`, a block of per-peer rules of 24 bytes each, sent once
 * right after it connects. Our router never takes rules from a tenant: it
 * recognises such a block only to skip it.
 *
 * The parser follows the house contract for wire parsers: it looks at the
 * bytes received so far (a prefix of the stream, starting at a frame
 * boundary) and returns <0 when they cannot start a valid frame (with the
 * reason and the offset of the offending byte), 0 when they are a valid
 * prefix of a frame, >0 the length of a whole frame. It keeps no state
 * between calls (a header is four bytes, so reading it again is cheaper than
 * remembering it), so a caller simply calls again with more bytes; the
 * frame's payload points into the caller's buffer. A bad byte is refused as
 * soon as it arrives: a wrong modifier1 with one byte, an oversized frame
 * with three.
 */
#ifndef TUNTAP_FRAME_H
#define TUNTAP_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TT_FRAME_HDR_LEN 4
#define TT_FRAME_MODIFIER1 0	/* what uWSGI's tuntap plugin puts in byte 0 */
#define TT_FRAME_RULE_LEN 24	/* one per-peer rule in a modifier2 1 block */
#define TT_FRAME_UWSGI_BUF 8192 /* uWSGI's tuntap buffer: no packet it sends is larger */

/* modifier2: what the payload is. */
enum tt_frame_type {
	TT_FRAME_PACKET = 0, /* one raw IP packet */
	TT_FRAME_RULES = 1,  /* per-peer rules: skipped, rules never come from a tenant */
};

/* Why a frame was refused; TT_FRAME_OK when it was not. */
enum tt_frame_err {
	TT_FRAME_OK = 0,
	TT_FRAME_BAD_MODIFIER1, /* byte 0 is not 0 (e.g. uWSGI's credentials handshake) */
	TT_FRAME_EMPTY,	    /* payload size 0: nothing sends it, uWSGI reads it as end of file */
	TT_FRAME_OVER_MTU,  /* payload larger than the caller's MTU */
	TT_FRAME_BAD_TYPE,  /* modifier2 is neither 0 nor 1 */
	TT_FRAME_BAD_RULES, /* a rule block whose size is not a multiple of 24 */
	TT_FRAME__COUNT
};

/*
 * tt_frame_err_name - short stable name for stats ("ok", "bad_modifier1",
 * ...); "unknown" for a value outside the enum, never NULL.
 */
const char *tt_frame_err_name(enum tt_frame_err e);

struct tt_frame {
	uint8_t type;		/* enum tt_frame_type */
	uint16_t len;		/* payload bytes */
	const uint8_t *payload; /* into the caller's buffer */
	enum tt_frame_err err;	/* on failure: why */
	size_t err_pos;		/* on failure: offset of the offending byte in buf */
};

/*
 * tt_frame_parse - the frame at the start of buf[0..len).
 * @mtu: the largest payload accepted (for both types); a caller's buffer of
 *       TT_FRAME_HDR_LEN + @mtu bytes then always holds a whole frame.
 * Returns the frame's total length (header and payload) with f->type,
 * f->len and f->payload set; 0 when buf holds a valid but incomplete frame
 * (f left alone); -1 when it is invalid, with f->err and f->err_pos set.
 */
ssize_t tt_frame_parse(const void *buf, size_t len, size_t mtu, struct tt_frame *f);

/*
 * tt_frame_hdr_write - the 4 header bytes of a frame of @type carrying
 * @len payload bytes, into out[0..4).
 * Returns TT_FRAME_HDR_LEN, or -1 (nothing written) when @len is 0 or over
 * 65535, or @type is not an enum tt_frame_type.
 */
int tt_frame_hdr_write(void *out, enum tt_frame_type type, size_t len);

#endif
