/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * uWSGI's tuntap framing (see frame.h): a stateless parser that judges each
 * header byte as soon as it is present, so a bad stream is refused at its
 * first bad byte rather than after a payload has been buffered, and the
 * header writer used before each packet sent to a peer. The 4-byte header
 * itself is core's uwsgi header codec.
 */
#include "tuntap/frame.h"

#include "core/upkt.h"

static const char *const err_names[TT_FRAME__COUNT] = {
    [TT_FRAME_OK] = "ok",
    [TT_FRAME_BAD_MODIFIER1] = "bad_modifier1",
    [TT_FRAME_EMPTY] = "empty",
    [TT_FRAME_OVER_MTU] = "over_mtu",
    [TT_FRAME_BAD_TYPE] = "bad_type",
    [TT_FRAME_BAD_RULES] = "bad_rules",
};

const char *tt_frame_err_name(enum tt_frame_err e)
{
	if ((unsigned)e >= TT_FRAME__COUNT || err_names[e] == NULL)
		return "unknown";
	return err_names[e];
}

static ssize_t refuse(struct tt_frame *f, enum tt_frame_err e, size_t pos)
{
	f->err = e;
	f->err_pos = pos;
	return -1;
}

ssize_t tt_frame_parse(const void *buf, size_t len, size_t mtu, struct tt_frame *f)
{
	const uint8_t *b = buf;
	if (len >= 1 && b[0] != TT_FRAME_MODIFIER1)
		return refuse(f, TT_FRAME_BAD_MODIFIER1, 0);
	if (len < 3)
		return 0;
	size_t size = (size_t)b[1] | (size_t)b[2] << 8;
	if (size == 0)
		return refuse(f, TT_FRAME_EMPTY, 1);
	if (size > mtu)
		return refuse(f, TT_FRAME_OVER_MTU, 1);
	if (len < TT_FRAME_HDR_LEN)
		return 0;
	if (b[3] != TT_FRAME_PACKET && b[3] != TT_FRAME_RULES)
		return refuse(f, TT_FRAME_BAD_TYPE, 3);
	if (b[3] == TT_FRAME_RULES && size % TT_FRAME_RULE_LEN != 0)
		return refuse(f, TT_FRAME_BAD_RULES, 1);
	if (len - TT_FRAME_HDR_LEN < size)
		return 0;
	f->type = b[3];
	f->len = (uint16_t)size;
	f->payload = b + TT_FRAME_HDR_LEN;
	f->err = TT_FRAME_OK;
	return (ssize_t)(TT_FRAME_HDR_LEN + size);
}

int tt_frame_hdr_write(void *out, enum tt_frame_type type, size_t len)
{
	if (len == 0 || len > UPKT_BODY_MAX || (type != TT_FRAME_PACKET && type != TT_FRAME_RULES))
		return -1;
	upkt_hdr_write(out, &(struct upkt_hdr){.modifier1 = TT_FRAME_MODIFIER1,
					       .size = (uint16_t)len,
					       .modifier2 = (uint8_t)type});
	return TT_FRAME_HDR_LEN;
}
