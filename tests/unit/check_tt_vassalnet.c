/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for tuntap/vassalnet.c: a vassal's tuntap keys read into
 * struct tt_vassal_net (device and socket, IPv4 and IPv6 addresses with
 * their prefixes, one gateway per family, firewall rules in order), a file
 * without them left alone, and every broken value or combination refused
 * with "FILE:LINE: KEY: why" naming the offending line: device syntax and
 * repetition, bad or duplicate addresses, gateways outside every network,
 * tuntap keys without a device, a device without an address.
 */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "tuntap/tuntap.h"

#define ORIGIN "/etc/v/app.ini"

static const char *const sections[] = {"vassal", "uwsgi", NULL};

/* Read @text (the lines after "[vassal]"); returns what tt_vassal_net_read
 * returned, with its message in @msg (or ""). */
static int read_net(const char *text, struct tt_vassal_net *n, char *msg, size_t cap)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "[vassal]\n%s", text);
	struct err *err = NULL;
	struct cfg *c = cfg_parse_buf(ORIGIN, buf, strlen(buf), sections, 0, &err);
	ck_assert_msg(c != NULL, "%s", err_msg(err));
	int r = tt_vassal_net_read(c, n, &err);
	snprintf(msg, cap, "%s", r < 0 ? err_msg(err) : "");
	err_free(&err);
	cfg_free(c);
	return r;
}

/* @text must be refused with a message starting with @prefix. */
static void refused(const char *text, const char *prefix)
{
	struct tt_vassal_net n;
	char msg[512];
	int r = read_net(text, &n, msg, sizeof(msg));
	ck_assert_msg(r == -1, "accepted: %s", text);
	ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'",
		      msg, prefix);
	ck_assert_ptr_null(n.fw.rules);
}

static void ip_of(const struct tt_cidr *a, char *out, size_t cap)
{
	if (a->family == TT_IPV4)
		inet_ntop(AF_INET, a->ip.b + 12, out, (socklen_t)cap);
	else
		inet_ntop(AF_INET6, a->ip.b, out, (socklen_t)cap);
}

#define DEV "tuntap-device = tun0 /run/tt.sock\n"

START_TEST(test_none)
{
	struct tt_vassal_net n;
	char msg[256];
	ck_assert_int_eq(read_net("exec = /app\nsocket = :80\n", &n, msg, sizeof(msg)), 0);
	ck_assert_str_eq(n.dev, "");
	ck_assert_uint_eq(n.n_ips, 0);
	tt_vassal_net_free(&n);
}
END_TEST

START_TEST(test_full)
{
	struct tt_vassal_net n;
	char msg[256], s[64];
	int r = read_net("tuntap-gateway = fd77::1\n"
			 "tuntap-device =  tunv0\t /run/imperium/tt.sock \n"
			 "tuntap-ip = 10.77.0.2/24\n"
			 "tuntap-ip = fd77::2/64\n"
			 "tuntap-gateway = 10.77.0.1\n"
			 "tuntap-firewall = deny any any tcp 22\n"
			 "tuntap-firewall = allow 10.77.0.0/24 any\n"
			 "[uwsgi]\n"
			 "tuntap-ip = 10.78.0.9\n",
			 &n, msg, sizeof(msg));
	ck_assert_msg(r == 1, "%s", msg);
	ck_assert_str_eq(n.dev, "tunv0");
	ck_assert_str_eq(n.socket, "/run/imperium/tt.sock");
	ck_assert_uint_eq(n.n_ips, 3);
	ck_assert_uint_eq(n.ips[0].family, TT_IPV4);
	ck_assert_uint_eq(n.ips[0].prefix, 24);
	ip_of(&n.ips[0], s, sizeof(s));
	ck_assert_str_eq(s, "10.77.0.2");
	ck_assert_uint_eq(n.ips[1].family, TT_IPV6);
	ck_assert_uint_eq(n.ips[1].prefix, 64);
	ip_of(&n.ips[1], s, sizeof(s));
	ck_assert_str_eq(s, "fd77::2");
	ck_assert_uint_eq(n.ips[2].prefix, 32); /* a bare address is a host */
	ck_assert_uint_eq(n.gw4.family, TT_IPV4);
	ip_of(&n.gw4, s, sizeof(s));
	ck_assert_str_eq(s, "10.77.0.1");
	ck_assert_uint_eq(n.gw6.family, TT_IPV6);
	ip_of(&n.gw6, s, sizeof(s));
	ck_assert_str_eq(s, "fd77::1");
	ck_assert_uint_eq(n.fw.n, 2);
	char text[TT_FW_TEXT_MAX];
	tt_fw_rule_format(&n.fw.rules[0], text, sizeof(text));
	ck_assert_str_eq(text, "deny any any tcp 22");
	ck_assert_uint_eq(n.fw.rules[1].action, TT_FW_ALLOW);
	tt_vassal_net_free(&n);
}
END_TEST

START_TEST(test_minimal)
{
	struct tt_vassal_net n;
	char msg[256];
	ck_assert_int_eq(read_net(DEV "tuntap-ip = fd00::5/120\n", &n, msg, sizeof(msg)), 1);
	ck_assert_uint_eq(n.gw4.family, 0);
	ck_assert_uint_eq(n.gw6.family, 0);
	ck_assert_uint_eq(n.fw.n, 0);
	tt_vassal_net_free(&n);
}
END_TEST

START_TEST(test_device_errors)
{
	refused("tuntap-device = tun0\ntuntap-ip = 10.0.0.2/24\n",
		ORIGIN ":2: tuntap-device: 'tun0': expected DEV SOCKET");
	refused("tuntap-device = tun0 /a /b\ntuntap-ip = 10.0.0.2/24\n",
		ORIGIN ":2: tuntap-device: 'tun0 /a /b': expected DEV SOCKET");
	refused("tuntap-device =\n", ORIGIN ":2: tuntap-device: '': expected DEV SOCKET");
	refused("tuntap-device = abcdefghijklmnop /s\n",
		ORIGIN ":2: tuntap-device: 'abcdefghijklmnop': not an interface name");
	refused("tuntap-device = a/b /s\n", ORIGIN ":2: tuntap-device: 'a/b': not an interface");
	refused("tuntap-device = a:1 /s\n", ORIGIN ":2: tuntap-device: 'a:1': not an interface");
	refused("tuntap-device = .. /s\n", ORIGIN ":2: tuntap-device: '..': not an interface");
	refused("tuntap-device = tun0 run/s\n",
		ORIGIN ":2: tuntap-device: 'run/s': the socket must be an absolute path");
	char long_path[300];
	memset(long_path, 'x', sizeof(long_path));
	int n = snprintf(long_path, sizeof(long_path), "tuntap-device = tun0 /");
	memset(long_path + n, 'x', 120);
	snprintf(long_path + n + 120, sizeof(long_path) - (size_t)n - 120, "\n");
	refused(long_path, ORIGIN ":2: tuntap-device: socket path longer than 107 bytes");
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-device = tun1 /run/tt.sock\n",
		ORIGIN ":4: tuntap-device: given more than once (first on line 2)");
}
END_TEST

START_TEST(test_ip_errors)
{
	refused(DEV "tuntap-ip = 10.0.0.300/24\n", ORIGIN ":3: tuntap-ip: ");
	refused(DEV "tuntap-ip = 10.0.0.2/33\n", ORIGIN ":3: tuntap-ip: ");
	refused(DEV "tuntap-ip = fd00::2/129\n", ORIGIN ":3: tuntap-ip: ");
	refused(DEV "tuntap-ip = nonsense\n", ORIGIN ":3: tuntap-ip: ");
	refused(DEV "tuntap-ip = 0.0.0.0/0\n",
		ORIGIN ":3: tuntap-ip: '0.0.0.0/0': the unspecified address");
	refused(DEV "tuntap-ip = ::/64\n", ORIGIN ":3: tuntap-ip: '::/64': the unspecified");
	refused(DEV "tuntap-ip = 224.0.0.5/24\n", ORIGIN ":3: tuntap-ip: '224.0.0.5/24': not a");
	refused(DEV "tuntap-ip = ff02::1/64\n", ORIGIN ":3: tuntap-ip: 'ff02::1/64': not a");
	refused(DEV "tuntap-ip = 127.0.0.2/8\n", ORIGIN ":3: tuntap-ip: '127.0.0.2/8': a loop");
	refused(DEV "tuntap-ip = ::1\n", ORIGIN ":3: tuntap-ip: '::1': a loopback address");
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-ip = 10.0.0.2/16\n",
		ORIGIN ":4: tuntap-ip: '10.0.0.2/16': the address is given twice");
	char text[1024];
	int n = snprintf(text, sizeof(text), DEV);
	for (int i = 1; i <= TT_MAX_IPS + 1; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "tuntap-ip = 10.0.0.%d/24\n", i);
	refused(text, ORIGIN ":11: tuntap-ip: more than 8 addresses");
}
END_TEST

START_TEST(test_gateway_errors)
{
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-gateway = 10.0.1.1\n",
		ORIGIN ":4: tuntap-gateway: '10.0.1.1' is in no tuntap-ip network of the vassal");
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-gateway = fd00::1\n",
		ORIGIN ":4: tuntap-gateway: 'fd00::1' is in no tuntap-ip network");
	refused(DEV "tuntap-ip = 10.0.0.2\ntuntap-gateway = 10.0.0.1\n",
		ORIGIN ":4: tuntap-gateway: '10.0.0.1' is in no tuntap-ip network");
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-gateway = 10.0.0.2\n",
		ORIGIN ":4: tuntap-gateway: '10.0.0.2' is one of the vassal's own addresses");
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-gateway = 10.0.0.1/24\n",
		ORIGIN ":4: tuntap-gateway: '10.0.0.1/24': expected an address, without a prefix");
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-gateway = 10.0.0.1\n"
		    "tuntap-gateway = 10.0.0.3\n",
		ORIGIN ":5: tuntap-gateway: an IPv4 gateway is already given on line 4");
	refused(DEV "tuntap-ip = fd00::2/64\ntuntap-gateway = fd00::1\ntuntap-gateway = fd00::3\n",
		ORIGIN ":5: tuntap-gateway: an IPv6 gateway is already given on line 4");
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-gateway = 10.0.0.255.1\n",
		ORIGIN ":4: tuntap-gateway: ");
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-gateway = 0.0.0.0\n",
		ORIGIN ":4: tuntap-gateway: '0.0.0.0': the unspecified address");
	/* the boundary of the network: inside at /23, outside at /24 */
	struct tt_vassal_net n;
	char msg[256];
	ck_assert_int_eq(read_net(DEV "tuntap-ip = 10.0.0.2/23\ntuntap-gateway = 10.0.1.254\n", &n,
				  msg, sizeof(msg)),
			 1);
	tt_vassal_net_free(&n);
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-gateway = 10.0.1.254\n",
		ORIGIN ":4: tuntap-gateway: '10.0.1.254' is in no");
	ck_assert_int_eq(read_net(DEV "tuntap-ip = fd00::2/63\ntuntap-gateway = fd00:0:0:1::1\n",
				  &n, msg, sizeof(msg)),
			 1);
	tt_vassal_net_free(&n);
	refused(DEV "tuntap-ip = fd00::2/64\ntuntap-gateway = fd00:0:0:1::1\n",
		ORIGIN ":4: tuntap-gateway: 'fd00:0:0:1::1' is in no");
}
END_TEST

START_TEST(test_without_device)
{
	refused("exec = /app\ntuntap-ip = 10.0.0.2/24\n",
		ORIGIN ":3: tuntap-ip: needs tuntap-device");
	refused("tuntap-firewall = deny any any\n",
		ORIGIN ":2: tuntap-firewall: needs tuntap-device");
	refused("tuntap-gateway = 10.0.0.1\n", ORIGIN ":2: tuntap-gateway: needs tuntap-device");
	refused(DEV "exec = /app\n", ORIGIN ":2: tuntap-device: needs at least one tuntap-ip");
}
END_TEST

START_TEST(test_firewall)
{
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-firewall = maybe any any\n",
		ORIGIN ":4: tuntap-firewall: ");
	refused(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-firewall = deny 10.0.0.1/24 any\n",
		ORIGIN ":4: tuntap-firewall: ");
	/* a lone action is uWSGI's `ACTION any any` */
	struct tt_vassal_net n;
	char msg[256];
	ck_assert_int_eq(
	    read_net(DEV "tuntap-ip = 10.0.0.2/24\ntuntap-firewall = deny\n", &n, msg, sizeof(msg)),
	    1);
	ck_assert_uint_eq(n.fw.n, 1);
	ck_assert_uint_eq(n.fw.rules[0].action, TT_FW_DENY);
	tt_vassal_net_free(&n);
	tt_vassal_net_free(NULL);
}
END_TEST

START_TEST(test_keys_listed)
{
	const char *want[] = {"tuntap-device", "tuntap-ip", "tuntap-gateway", "tuntap-firewall"};
	size_t n = 0;
	while (tt_vassal_keys[n] != NULL)
		n++;
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_str_eq(tt_vassal_keys[i], want[i]);
}
END_TEST

static Suite *tt_vassalnet_suite(void)
{
	Suite *s = suite_create("tt_vassalnet");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"none", test_none},
	    {"full", test_full},
	    {"minimal", test_minimal},
	    {"device_errors", test_device_errors},
	    {"ip_errors", test_ip_errors},
	    {"gateway_errors", test_gateway_errors},
	    {"without_device", test_without_device},
	    {"firewall", test_firewall},
	    {"keys_listed", test_keys_listed},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(tt_vassalnet_suite());
}
