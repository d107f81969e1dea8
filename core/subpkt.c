/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Subscription packets (see subpkt.h): a strict parser that takes a whole
 * datagram, checks the header against it, walks every vars record with the
 * bounded upkt reader and fills a struct subpkt whose strings point into the
 * datagram, naming the first rule broken; and a builder that writes the vars
 * in the order uWSGI's subscription client uses, so an unsigned packet is
 * byte for byte what uWSGI itself would send.
 */
#include "core/subpkt.h"

#include <errno.h>
#include <string.h>

#include "core/upkt.h"

static const char *const drop_names[SUBPKT__COUNT] = {
    [SUBPKT_OK] = "ok",
    [SUBPKT_SHORT] = "short",
    [SUBPKT_OVERSIZED] = "oversized",
    [SUBPKT_NOT_SUB] = "not_sub",
    [SUBPKT_BAD_SIZE] = "bad_size",
    [SUBPKT_BAD_VARS] = "bad_vars",
    [SUBPKT_BAD_NUMBER] = "bad_number",
    [SUBPKT_NO_KEY] = "no_key",
    [SUBPKT_BAD_KEY] = "bad_key",
    [SUBPKT_NO_ADDRESS] = "no_address",
};

const char *subpkt_drop_name(enum subpkt_drop d)
{
	if ((unsigned)d >= SUBPKT__COUNT || drop_names[d] == NULL)
		return "unknown";
	return drop_names[d];
}

struct subpkt_str subpkt_str_of(const char *s)
{
	return (struct subpkt_str){s, s ? strlen(s) : 0};
}

/* What the parser found beyond the struct itself. */
struct parse_state {
	bool has_key, has_address;
	bool bad_number;
	bool signed_seen;
};

/* A printable token: no controls, no spaces, no DEL. */
static bool token_ok(const struct subpkt_str *s)
{
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->p[i];
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

enum var_kind { V_STR, V_U64, V_U8, V_FLAG, V_UNIX };

/* Every var we know, what it holds and where it lands in struct subpkt. */
static const struct {
	const char *name;
	enum var_kind kind;
	size_t off;
} known_vars[] = {
    {"key", V_STR, offsetof(struct subpkt, key)},
    {"address", V_STR, offsetof(struct subpkt, address)},
    {"modifier1", V_U8, offsetof(struct subpkt, modifier1)},
    {"modifier2", V_U8, offsetof(struct subpkt, modifier2)},
    {"cores", V_U64, offsetof(struct subpkt, cores)},
    {"load", V_U64, offsetof(struct subpkt, load)},
    {"weight", V_U64, offsetof(struct subpkt, weight)},
    {"sni_key", V_STR, offsetof(struct subpkt, sni_key)},
    {"sni_crt", V_STR, offsetof(struct subpkt, sni_crt)},
    {"sni_ca", V_STR, offsetof(struct subpkt, sni_ca)},
    {"notify", V_STR, offsetof(struct subpkt, notify)},
    {"backup", V_U64, offsetof(struct subpkt, backup)},
    {"vassal", V_STR, offsetof(struct subpkt, vassal)},
    {"proto", V_STR, offsetof(struct subpkt, proto)},
    {"algo", V_STR, offsetof(struct subpkt, algo)},
    {"inactive", V_FLAG, offsetof(struct subpkt, inactive)},
    {"clear", V_FLAG, offsetof(struct subpkt, clear)},
    {"hops", V_U64, offsetof(struct subpkt, hops)},
    {"unix", V_UNIX, offsetof(struct subpkt, unix_time)},
    {"sign", V_STR, offsetof(struct subpkt, sign)},
};

/* Store a known number; false when it is not a decimal in range. */
static bool take_number(struct subpkt *out, enum var_kind kind, void *field,
			const struct upkt_var *v)
{
	uint64_t n;
	if (upkt_u64(v->val, v->vlen, &n) < 0)
		return false;
	switch (kind) {
	case V_U8:
		if (n > UINT8_MAX)
			return false;
		*(uint8_t *)field = (uint8_t)n;
		break;
	case V_FLAG:
		*(bool *)field = n != 0;
		break;
	case V_UNIX:
		out->has_unix = true;
		*(uint64_t *)field = n;
		break;
	case V_U64:
		*(uint64_t *)field = n;
		break;
	case V_STR:
		break;
	}
	return true;
}

static void take_var(struct subpkt *out, const struct upkt_var *v, struct parse_state *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_vars); i++) {
		if (!upkt_var_is(v, known_vars[i].name))
			continue;
		void *field = (char *)out + known_vars[i].off;
		if (known_vars[i].kind != V_STR) {
			if (!take_number(out, known_vars[i].kind, field, v))
				st->bad_number = true;
			return;
		}
		*(struct subpkt_str *)field = (struct subpkt_str){v->val, v->vlen};
		if (field == &out->key)
			st->has_key = true;
		else if (field == &out->address)
			st->has_address = true;
		return;
	}
	/* Unknown vars are ignored, as uWSGI does. */
}

/* Walk the body; BAD_VARS for a broken record or anything after `sign`. */
static enum subpkt_drop parse_vars(const char *body, size_t len, struct subpkt *out,
				   struct parse_state *st)
{
	size_t off = 0;
	struct upkt_var v;
	int r;
	out->signed_len = len;
	for (;;) {
		size_t at = off;
		r = upkt_var_next(body, len, &off, &v);
		if (r <= 0)
			break;
		if (st->signed_seen)
			return SUBPKT_BAD_VARS;
		if (upkt_var_is(&v, "sign")) {
			st->signed_seen = true;
			out->signed_len = at;
		}
		take_var(out, &v, st);
	}
	return r < 0 ? SUBPKT_BAD_VARS : SUBPKT_OK;
}

static enum subpkt_drop check_fields(const struct subpkt *out, const struct parse_state *st)
{
	if (st->bad_number)
		return SUBPKT_BAD_NUMBER;
	if (!st->has_key)
		return SUBPKT_NO_KEY;
	if (out->key.len == 0 || out->key.len > SUBPKT_KEY_MAX || !token_ok(&out->key))
		return SUBPKT_BAD_KEY;
	if (!st->has_address || out->address.len == 0 || out->address.len > SUBPKT_ADDR_MAX ||
	    !token_ok(&out->address))
		return SUBPKT_NO_ADDRESS;
	return SUBPKT_OK;
}

static enum subpkt_drop parse(const char *d, size_t len, struct subpkt *out)
{
	struct upkt_hdr h;
	if (upkt_hdr_read(d, len, &h) == 0)
		return SUBPKT_SHORT;
	if (len > SUBPKT_DGRAM_MAX)
		return SUBPKT_OVERSIZED;
	if (h.modifier1 != SUBPKT_MODIFIER1 || h.modifier2 > 1)
		return SUBPKT_NOT_SUB;
	if (h.size != len - UPKT_HDR_LEN)
		return SUBPKT_BAD_SIZE;
	out->unsubscribe = h.modifier2 == 1;
	struct parse_state st = {0};
	enum subpkt_drop r = parse_vars(d + UPKT_HDR_LEN, h.size, out, &st);
	if (r != SUBPKT_OK)
		return r;
	return check_fields(out, &st);
}

enum subpkt_drop subpkt_parse(const void *dgram, size_t len, struct subpkt *out)
{
	memset(out, 0, sizeof(*out));
	enum subpkt_drop r = parse(dgram, len, out);
	if (r != SUBPKT_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

static void put_s(struct upkt_writer *w, const char *key, const struct subpkt_str *s)
{
	upkt_put(w, key, strlen(key), s->p, s->len);
}

static void put_opt(struct upkt_writer *w, const char *key, const struct subpkt_str *s)
{
	if (s->len)
		put_s(w, key, s);
}

ssize_t subpkt_build(struct buf *b, const struct subpkt *p)
{
	struct upkt_writer w;
	upkt_begin(&w, b, SUBPKT_MODIFIER1, p->unsubscribe ? 1 : 0);
	put_s(&w, "key", &p->key);
	put_s(&w, "address", &p->address);
	upkt_put_u64(&w, "modifier1", p->modifier1);
	upkt_put_u64(&w, "modifier2", p->modifier2);
	upkt_put_u64(&w, "cores", p->cores);
	upkt_put_u64(&w, "load", p->load);
	upkt_put_u64(&w, "weight", p->weight);
	put_opt(&w, "sni_key", &p->sni_key);
	put_opt(&w, "sni_crt", &p->sni_crt);
	put_opt(&w, "sni_ca", &p->sni_ca);
	put_opt(&w, "notify", &p->notify);
	if (p->backup)
		upkt_put_u64(&w, "backup", p->backup);
	put_opt(&w, "vassal", &p->vassal);
	put_opt(&w, "proto", &p->proto);
	put_opt(&w, "algo", &p->algo);
	if (p->inactive)
		upkt_put_u64(&w, "inactive", 1);
	if (p->clear)
		upkt_put_u64(&w, "clear", 1);
	if (p->hops)
		upkt_put_u64(&w, "hops", p->hops);
	if (p->has_unix)
		upkt_put_u64(&w, "unix", p->unix_time);
	/* Refuse here rather than let the packet grow past what a server takes. */
	if (!w.error && b->len - w.start > SUBPKT_DGRAM_MAX)
		w.error = E2BIG;
	return upkt_end(&w);
}
