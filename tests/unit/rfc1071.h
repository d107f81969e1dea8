/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The internet checksum for tests, written plainly (RFC 1071: big-endian
 * 16-bit words one at a time, an odd last byte padded with zero), so that
 * tests and fuzz targets judge the router's own faster checksums against
 * an implementation that shares nothing with them.
 */
#ifndef TESTS_UNIT_RFC1071_H
#define TESTS_UNIT_RFC1071_H

#include <stddef.h>
#include <stdint.h>

/* rfc1071_sum - @s plus the ones' complement sum of p[0..n), unfolded. */
static inline uint32_t rfc1071_sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n % 2)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* rfc1071_fold - @s folded to 16 bits (not complemented). */
static inline uint16_t rfc1071_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

#endif
