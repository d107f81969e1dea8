/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Subscription packets as uWSGI 2.0/2.1 send them: a uwsgi packet with
 * modifier1 224, modifier2 0 (subscribe) or 1 (unsubscribe), and vars
 * `key`, `address`, `modifier1`, `modifier2`, `cores`, `load`, `weight`,
 * optionally `sni_key`, `sni_crt`, `sni_ca`, `notify`, `backup`, `vassal`,
 * `proto`, `algo`, `inactive`, `clear`, and when signed `unix` then `sign`
 * (always last). Unknown vars are ignored, as uWSGI does. Our own var `hops`
 * counts resubscribe forwarding between routers (loop guard).
 *
 * Parsing is strict where uWSGI is lax: the whole packet must be valid
 * (header size equals the datagram's body, every record within bounds,
 * numbers all digits) or it is dropped with a reason that stats count.
 */
#ifndef CORE_SUBPKT_H
#define CORE_SUBPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"

#define SUBPKT_MODIFIER1 224
#define SUBPKT_DGRAM_MAX 4096   /* datagrams larger than this are refused */
#define SUBPKT_KEY_MAX 254      /* bytes */
#define SUBPKT_ADDR_MAX 127     /* bytes, fits struct addr's text */

/* Why a datagram was dropped; SUBPKT_OK when it parsed. */
enum subpkt_drop {
	SUBPKT_OK = 0,
	SUBPKT_SHORT,        /* fewer than 4 bytes */
	SUBPKT_OVERSIZED,    /* more than SUBPKT_DGRAM_MAX bytes */
	SUBPKT_NOT_SUB,      /* modifier1 is not 224, or modifier2 not 0/1 */
	SUBPKT_BAD_SIZE,     /* header size differs from the datagram's body */
	SUBPKT_BAD_VARS,     /* a record runs past the body, a key is empty, `sign` not last */
	SUBPKT_BAD_NUMBER,   /* a numeric var is not a plain decimal in range */
	SUBPKT_NO_KEY,       /* `key` missing */
	SUBPKT_BAD_KEY,      /* `key` empty, too long, or with bytes <= 0x20 or 0x7f */
	SUBPKT_NO_ADDRESS,   /* `address` missing, empty, too long, or with bytes <= 0x20 or 0x7f */
	SUBPKT__COUNT
};

/*
 * subpkt_drop_name - short stable name for stats ("ok", "short", "bad_vars",
 * ...); "unknown" for a value outside the enum, never NULL.
 */
const char *subpkt_drop_name(enum subpkt_drop d);

/* A byte string inside the datagram (not NUL-terminated); len 0 = absent. */
struct subpkt_str {
	const char *p;
	size_t len;
};

struct subpkt {
	bool unsubscribe;            /* header modifier2 == 1 */
	struct subpkt_str key, address, notify;
	struct subpkt_str sni_key, sni_crt, sni_ca;
	struct subpkt_str vassal, proto, algo;
	struct subpkt_str sign;      /* raw signature bytes */
	uint8_t modifier1, modifier2; /* the `modifier1`/`modifier2` vars (0..255), default 0 */
	uint64_t cores, load, weight, backup; /* as sent (weight 0 is kept as 0) */
	uint64_t unix_time;          /* the `unix` var */
	bool has_unix;
	bool inactive, clear;        /* nonzero numbers */
	uint64_t hops;               /* ours: resubscribe hops so far, default 0 */
	size_t signed_len;           /* body bytes before the `sign` record (what
				      * the signature covers, from offset 4);
				      * the whole body when unsigned */
};

/*
 * subpkt_parse - parse one whole datagram. Returns SUBPKT_OK with *out
 * filled (strings point into @dgram), or the reason it is invalid, with *out
 * all zero. A var given twice takes its last value. When several rules are
 * broken the first in enum order is reported (the header's, then BAD_VARS,
 * BAD_NUMBER, NO_KEY, BAD_KEY, NO_ADDRESS).
 */
enum subpkt_drop subpkt_parse(const void *dgram, size_t len, struct subpkt *out);

/*
 * subpkt_build - append a whole packet for @p to @b, vars in uWSGI's order:
 * key, address, modifier1, modifier2, cores, load, weight, then sni_key,
 * sni_crt, sni_ca, notify (each only when non-empty), then backup (when
 * nonzero), vassal, proto, algo (when non-empty), inactive, clear (when
 * true), hops (when nonzero), and unix last when has_unix. `sign` is never
 * written here: a signer appends it and fixes the size (see upkt).
 * Returns the packet length, or -1 with errno (E2BIG: over SUBPKT_DGRAM_MAX)
 * and @b as it was. It writes what it is given: an empty key or address
 * gives a packet that subpkt_parse() refuses.
 */
ssize_t subpkt_build(struct buf *b, const struct subpkt *p);

/* subpkt_str_of - a subpkt_str over a NUL-terminated string (NULL gives len 0). */
struct subpkt_str subpkt_str_of(const char *s);

#endif
