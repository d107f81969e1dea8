/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * rtnetlink through libnl-route-3 for the tuntap router's host device (see
 * nl.h): one netlink socket per setup, the MTU and the addresses first and
 * the link brought up last, so nothing is routed to the device before it
 * has what it needs. The device gets no IPv6 link-local address (address
 * generation mode none), as the vassals' devices: a point-to-point device to
 * the router has no neighbour to discover, and the router solicitations it
 * would send could only be dropped as unroutable. Each libnl object is owned
 * by a cleanup attribute.
 */
#include "tuntap/nl.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>

static void nl_sockp(struct nl_sock **s)
{
	if (*s != NULL)
		nl_socket_free(*s);
}

static void nl_linkp(struct rtnl_link **l)
{
	if (*l != NULL)
		rtnl_link_put(*l);
}

static void nl_rtaddrp(struct rtnl_addr **a)
{
	if (*a != NULL)
		rtnl_addr_put(*a);
}

static void nl_addrp(struct nl_addr **a)
{
	if (*a != NULL)
		nl_addr_put(*a);
}

#define _cleanup_nl_sock_ __attribute__((cleanup(nl_sockp)))
#define _cleanup_nl_link_ __attribute__((cleanup(nl_linkp)))
#define _cleanup_nl_rtaddr_ __attribute__((cleanup(nl_rtaddrp)))
#define _cleanup_nl_addr_ __attribute__((cleanup(nl_addrp)))

static void cidr_text(const struct tt_cidr *c, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (c->family == TT_IPV4)
		inet_ntop(AF_INET, c->ip.b + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, c->ip.b, a, sizeof(a));
	snprintf(out, n, "%s/%u", a, c->prefix);
}

static int add_addr(struct nl_sock *sk, const char *dev, int ifindex, const struct tt_cidr *c,
		    struct err **err)
{
	char text[INET6_ADDRSTRLEN + 8];
	cidr_text(c, text, sizeof(text));
	_cleanup_nl_rtaddr_ struct rtnl_addr *ra = rtnl_addr_alloc();
	bool v4 = c->family == TT_IPV4;
	_cleanup_nl_addr_ struct nl_addr *local =
	    v4 ? nl_addr_build(AF_INET, c->ip.b + 12, 4) : nl_addr_build(AF_INET6, c->ip.b, 16);
	if (ra == NULL || local == NULL)
		return err_set(err, ENOMEM, "%s: address %s", dev, text);
	nl_addr_set_prefixlen(local, c->prefix);
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_family(ra, v4 ? AF_INET : AF_INET6);
	rtnl_addr_set_prefixlen(ra, c->prefix);
	if (rtnl_addr_set_local(ra, local) < 0)
		return err_set(err, EINVAL, "%s: address %s", dev, text);
	if (!v4)
		rtnl_addr_set_flags(ra, IFA_F_NODAD);
	int r = rtnl_addr_add(sk, ra, NLM_F_REPLACE);
	if (r < 0)
		return err_set(err, 0, "%s: adding address %s: %s", dev, text, nl_geterror(r));
	return 0;
}

int tt_nl_link_setup(const char *dev, int ifindex, unsigned mtu, const struct tt_cidr *ips,
		     size_t n, struct err **err)
{
	_cleanup_nl_sock_ struct nl_sock *sk = nl_socket_alloc();
	if (sk == NULL)
		return err_set(err, ENOMEM, "%s: netlink socket", dev);
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0)
		return err_set(err, 0, "%s: netlink: %s", dev, nl_geterror(r));
	_cleanup_nl_link_ struct rtnl_link *cur = NULL;
	if ((r = rtnl_link_get_kernel(sk, ifindex, NULL, &cur)) < 0)
		return err_set(err, 0, "%s: reading the link: %s", dev, nl_geterror(r));
	_cleanup_nl_link_ struct rtnl_link *mtu_change = rtnl_link_alloc();
	_cleanup_nl_link_ struct rtnl_link *up_change = rtnl_link_alloc();
	if (mtu_change == NULL || up_change == NULL)
		return err_set(err, ENOMEM, "%s: link", dev);
	rtnl_link_set_mtu(mtu_change, mtu);
	rtnl_link_inet6_set_addr_gen_mode(mtu_change, IN6_ADDR_GEN_MODE_NONE);
	if ((r = rtnl_link_change(sk, cur, mtu_change, 0)) < 0)
		return err_set(err, 0, "%s: setting MTU %u and address mode: %s", dev, mtu,
			       nl_geterror(r));
	for (size_t i = 0; i < n; i++)
		if (add_addr(sk, dev, ifindex, &ips[i], err) < 0)
			return -1;
	rtnl_link_set_flags(up_change, IFF_UP);
	if ((r = rtnl_link_change(sk, cur, up_change, 0)) < 0)
		return err_set(err, 0, "%s: bringing the link up: %s", dev, nl_geterror(r));
	return 0;
}
