/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The bytes of a TLS client that the router reads itself rather than
 * through OpenSSL: the server_name list (RFC 6066) of a ClientHello, taken
 * raw in the ClientHello callback before OpenSSL has looked at it; the ALPN
 * protocol list (RFC 7301) handed to the select callback; and the host names
 * from SNI or a Host header, normalised for the certificate cache and
 * checked before they name files in sni-dir. Pure functions over
 * pointer+length, nothing allocated: results point into the input or are
 * copied into the caller's fixed buffer.
 */
#include "router/internal.h"

#define NAMETYPE_HOST_NAME 0 /* RFC 6066 NameType host_name */

static const char http11[] = "http/1.1";
#define HTTP11_LEN (sizeof(http11) - 1)

int rtr_tlswire_sni(const uint8_t *p, size_t len, const uint8_t **name, size_t *name_len)
{
	*name = NULL;
	*name_len = 0;
	if (len < 2 || ((size_t)p[0] << 8 | p[1]) != len - 2)
		return -1;
	/* the whole list first: a broken one names nothing, wherever it breaks */
	const uint8_t *found = NULL;
	size_t found_len = 0;
	for (size_t i = 2; i < len;) {
		if (len - i < 3)
			return -1; /* a truncated entry header */
		size_t n = (size_t)p[i + 1] << 8 | p[i + 2];
		if (n > len - i - 3)
			return -1;
		if (p[i] == NAMETYPE_HOST_NAME && found == NULL) {
			found = p + i + 3;
			found_len = n;
		}
		i += 3 + n;
	}
	if (found == NULL)
		return 0;
	*name = found;
	*name_len = found_len;
	return 1;
}

int rtr_tlswire_alpn(const uint8_t *p, size_t len, const uint8_t **out)
{
	*out = NULL;
	if (len == 0)
		return -1;
	/* the whole list first: a broken one picks nothing, wherever it breaks */
	for (size_t i = 0; i < len; i += 1 + (size_t)p[i])
		if (p[i] == 0 || p[i] > len - i - 1)
			return -1;
	for (size_t i = 0; i < len; i += 1 + (size_t)p[i])
		if (p[i] == HTTP11_LEN && memcmp(p + i + 1, http11, HTTP11_LEN) == 0) {
			*out = p + i + 1;
			return 1;
		}
	return 0;
}

static bool host_byte(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
	       ch == '_';
}

int rtr_tlswire_host(const char *name, size_t len, char out[RTR_TLSWIRE_HOST_MAX + 1])
{
	out[0] = '\0';
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > RTR_TLSWIRE_HOST_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!host_byte(ch)) {
			out[0] = '\0';
			return -1;
		}
		out[i] = ch;
	}
	out[len] = '\0';
	return (int)len;
}

bool rtr_tlswire_dir_name_ok(const char *h, size_t len)
{
	if (len == 0 || h[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = h[i];
		if (ch == '_' || !host_byte(ch))
			return false;
		if (ch == '.' && i + 1 < len && h[i + 1] == '.')
			return false;
	}
	return true;
}
