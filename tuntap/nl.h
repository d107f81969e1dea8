/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Link setup for the tuntap router's host device over rtnetlink (libnl),
 * in the caller's network namespace: MTU, addresses, up. Kept apart from the
 * packet path so the router's file holds no netlink code.
 */
#ifndef TUNTAP_NL_H
#define TUNTAP_NL_H

#include <stddef.h>

#include "core/err.h"
#include "tuntap/tuntap.h"

/*
 * tt_nl_link_setup - give interface @dev (index @ifindex) the MTU @mtu and
 * the addresses @ips[0..n) (IPv6 ones without duplicate address detection,
 * so they are usable at once; an address already there is kept), then bring
 * it up. Returns 0, or -1 with *err naming the step and address that failed.
 */
int tt_nl_link_setup(const char *dev, int ifindex, unsigned mtu, const struct tt_cidr *ips,
		     size_t n, struct err **err);

#endif
