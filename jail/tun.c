/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The jail's "tun" stage: the one network interface of a vassal with
 * `tuntap-device`, in the vassal's own network namespace, configured over
 * rtnetlink (libnl) before privileges drop.
 *
 *   1. jail_tun_open   before jail_build: open /dev/net/tun, which the new
 *                      root may not have (it gets a minimal /dev).
 *   2. jail_tun_up     after jail_build, as root of the jail: TUNSETIFF
 *                      (IFF_TUN | IFF_NO_PI, the name as given; with
 *                      IFF_VNET_HDR and the 10-byte virtio_net_hdr for
 *                      the emperor's own router, which turns the offloads
 *                      on and off on the descriptor it is handed), the
 *                      descriptor made non-blocking, then the MTU, the
 *                      addresses (IPv6 ones without duplicate address
 *                      detection: nothing else is on the link, and they must
 *                      be usable at once; no link-local address of its
 *                      own), the link up, `lo` up, and a default route per
 *                      family through its gateway.
 *
 * The device is not persistent: it goes away with the last descriptor, so a
 * vassal that dies leaves nothing behind. Each libnl object is owned by a
 * cleanup attribute. Every failure names the device, the step and the
 * address.
 */
#include "jail/jail.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void sockp(struct nl_sock **s)
{
	if (*s != NULL)
		nl_socket_free(*s);
}

static void linkp(struct rtnl_link **l)
{
	if (*l != NULL)
		rtnl_link_put(*l);
}

static void rtaddrp(struct rtnl_addr **a)
{
	if (*a != NULL)
		rtnl_addr_put(*a);
}

static void addrp(struct nl_addr **a)
{
	if (*a != NULL)
		nl_addr_put(*a);
}

static void routep(struct rtnl_route **r)
{
	if (*r != NULL)
		rtnl_route_put(*r);
}

#define _cleanup_nl_sock_ __attribute__((cleanup(sockp)))
#define _cleanup_nl_link_ __attribute__((cleanup(linkp)))
#define _cleanup_nl_rtaddr_ __attribute__((cleanup(rtaddrp)))
#define _cleanup_nl_addr_ __attribute__((cleanup(addrp)))
#define _cleanup_nl_route_ __attribute__((cleanup(routep)))

static void addr_text(const struct jail_tun_addr *a, bool with_prefix, char *out, size_t n)
{
	char s[INET6_ADDRSTRLEN] = "?";
	inet_ntop(a->family, a->addr, s, sizeof(s));
	if (with_prefix)
		snprintf(out, n, "%s/%u", s, a->prefix);
	else
		snprintf(out, n, "%s", s);
}

static struct nl_addr *nl_of(const struct jail_tun_addr *a)
{
	return nl_addr_build(a->family, a->addr, a->family == AF_INET ? 4 : 16);
}

int jail_tun_open(struct err **err)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "tun: open /dev/net/tun");
	return fd;
}

static int set_iff(int fd, const char *dev, bool vnet, struct err **err)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	size_t n = strlen(dev);
	if (n == 0 || n >= IFNAMSIZ)
		return err_set(err, EINVAL, "tun %s: bad name", dev);
	memcpy(ifr.ifr_name, dev, n);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return err_set(err, errno, "tun %s: TUNSETIFF", dev);
	int hdr = (int)sizeof(struct virtio_net_hdr);
	if (vnet && ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return err_set(err, errno, "tun %s: TUNSETVNETHDRSZ", dev);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return err_set(err, errno, "tun %s: O_NONBLOCK", dev);
	return 0;
}

static int add_addr(struct nl_sock *sk, const char *dev, int ifindex, const struct jail_tun_addr *a,
		    struct err **err)
{
	char text[INET6_ADDRSTRLEN + 8];
	addr_text(a, true, text, sizeof(text));
	_cleanup_nl_rtaddr_ struct rtnl_addr *ra = rtnl_addr_alloc();
	_cleanup_nl_addr_ struct nl_addr *local = nl_of(a);
	if (ra == NULL || local == NULL)
		return err_set(err, ENOMEM, "tun %s: address %s", dev, text);
	nl_addr_set_prefixlen(local, a->prefix);
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_family(ra, a->family);
	rtnl_addr_set_prefixlen(ra, a->prefix);
	if (rtnl_addr_set_local(ra, local) < 0)
		return err_set(err, EINVAL, "tun %s: address %s", dev, text);
	if (a->family == AF_INET6)
		rtnl_addr_set_flags(ra, IFA_F_NODAD);
	int r = rtnl_addr_add(sk, ra, 0);
	if (r < 0)
		return err_set(err, 0, "tun %s: adding address %s: %s", dev, text, nl_geterror(r));
	return 0;
}

/*
 * Change link @name: with @mtu (non-zero), set its MTU and stop the kernel
 * from giving it an IPv6 link-local address of its own (the link's only
 * other end is a router: there is no neighbour to discover, and the router
 * solicitations and reports it would send carry no address of the vassal,
 * which a uWSGI router would take for the peer's); with @up, bring it up.
 */
static int link_change(struct nl_sock *sk, const char *name, unsigned mtu, bool up,
		       struct err **err)
{
	_cleanup_nl_link_ struct rtnl_link *cur = NULL;
	int r = rtnl_link_get_kernel(sk, 0, name, &cur);
	if (r < 0)
		return err_set(err, 0, "%s: reading the link: %s", name, nl_geterror(r));
	_cleanup_nl_link_ struct rtnl_link *change = rtnl_link_alloc();
	if (change == NULL)
		return err_set(err, ENOMEM, "%s: link", name);
	if (mtu != 0) {
		rtnl_link_set_mtu(change, mtu);
		rtnl_link_inet6_set_addr_gen_mode(change, IN6_ADDR_GEN_MODE_NONE);
	}
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	if ((r = rtnl_link_change(sk, cur, change, 0)) < 0)
		return err_set(err, 0, "%s: %s: %s", name,
			       up ? "bringing the link up" : "setting MTU and address mode",
			       nl_geterror(r));
	return 0;
}

static int add_default_route(struct nl_sock *sk, const char *dev, int ifindex,
			     const struct jail_tun_addr *gw, struct err **err)
{
	char text[INET6_ADDRSTRLEN];
	addr_text(gw, false, text, sizeof(text));
	_cleanup_nl_route_ struct rtnl_route *rt = rtnl_route_alloc();
	_cleanup_nl_addr_ struct nl_addr *dst = NULL;
	struct nl_addr *via = nl_of(gw);
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	int r = nl_addr_parse("default", gw->family, &dst);
	if (rt == NULL || via == NULL || nh == NULL || r < 0) {
		if (via != NULL)
			nl_addr_put(via);
		if (nh != NULL)
			rtnl_route_nh_free(nh);
		return err_set(err, ENOMEM, "tun %s: default route via %s", dev, text);
	}
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_nh_set_gateway(nh, via); /* takes its own reference */
	nl_addr_put(via);
	rtnl_route_add_nexthop(rt, nh); /* the route owns the next hop */
	rtnl_route_set_family(rt, (uint8_t)gw->family);
	rtnl_route_set_dst(rt, dst);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_protocol(rt, RTPROT_STATIC);
	if ((r = rtnl_route_add(sk, rt, NLM_F_CREATE)) < 0)
		return err_set(err, 0, "tun %s: default route via %s: %s", dev, text,
			       nl_geterror(r));
	return 0;
}

int jail_tun_up(int fd, const struct jail_tun *t, struct err **err)
{
	if (set_iff(fd, t->dev, t->offload, err) < 0)
		return -1;
	_cleanup_nl_sock_ struct nl_sock *sk = nl_socket_alloc();
	if (sk == NULL)
		return err_set(err, ENOMEM, "tun %s: netlink socket", t->dev);
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0)
		return err_set(err, 0, "tun %s: netlink: %s", t->dev, nl_geterror(r));
	/* Addresses before the link goes up, routes after: a default route
	 * needs its gateway's network on a running link. */
	_cleanup_nl_link_ struct rtnl_link *cur = NULL;
	if ((r = rtnl_link_get_kernel(sk, 0, t->dev, &cur)) < 0)
		return err_set(err, 0, "tun %s: reading the link: %s", t->dev, nl_geterror(r));
	int ifindex = rtnl_link_get_ifindex(cur);
	if (link_change(sk, t->dev, t->mtu, false, err) < 0) {
		err_prefix(err, "tun");
		return -1;
	}
	for (size_t i = 0; i < t->n_ips; i++)
		if (add_addr(sk, t->dev, ifindex, &t->ips[i], err) < 0)
			return -1;
	if (link_change(sk, t->dev, 0, true, err) < 0 || link_change(sk, "lo", 0, true, err) < 0) {
		err_prefix(err, "tun");
		return -1;
	}
	const struct jail_tun_addr *gws[] = {&t->gw4, &t->gw6};
	for (size_t i = 0; i < 2; i++)
		if (gws[i]->family != 0 && add_default_route(sk, t->dev, ifindex, gws[i], err) < 0)
			return -1;
	return 0;
}
