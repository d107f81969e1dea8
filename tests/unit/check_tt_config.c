/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for tuntap/config.c: the defaults; every [emperor] key of the
 * tuntap router with good and bad values, each error naming file, line and
 * key; parse errors of the gateway's keys (the rest of them in
 * check_tt_gateway); keys that are not the router's left alone; and the CIDR
 * parser (v4, v6, bare addresses, prefixes, host bits kept).
 */
#include "tests/unit/unit.h"
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/ttcfg.h"
#include "tuntap/tuntap.h"

#define ORIGIN TTCFG_ORIGIN

/* @body is read without error; *c holds the result (free it). */
static void good(const char *body, struct tt_config *c)
{
	char msg[512] = "";
	int r = ttcfg_read(body, c, msg, sizeof(msg));
	ck_assert_msg(r >= 0, "'%s': %s", body, msg);
}

/* @body is refused, the message containing @want and naming the key's line. */
static void bad(const char *body, const char *want)
{
	struct tt_config c;
	char msg[512] = "";
	int r = ttcfg_read(body, &c, msg, sizeof(msg));
	tt_config_free(&c);
	ck_assert_msg(r < 0, "'%s' was accepted", body);
	ck_assert_msg(strstr(msg, want) != NULL, "'%s': '%s' lacks '%s'", body, msg, want);
	ck_assert_msg(strncmp(msg, ORIGIN ":", strlen(ORIGIN) + 1) == 0, "'%s': no origin", msg);
}

static void ip_is(const union tt_ip *ip, uint8_t family, const char *text)
{
	union tt_ip want = {.b = {0}};
	if (family == TT_IPV6) {
		ck_assert_int_eq(inet_pton(AF_INET6, text, want.b), 1);
	} else {
		want.b[10] = want.b[11] = 0xff;
		ck_assert_int_eq(inet_pton(AF_INET, text, want.b + 12), 1);
	}
	ck_assert_mem_eq(ip->b, want.b, 16);
}

START_TEST(test_defaults)
{
	struct tt_config c;
	tt_config_defaults(&c);
	ck_assert(!c.enabled);
	ck_assert_uint_eq(c.mtu, TT_MTU_DEFAULT);
	ck_assert_uint_eq(c.max_peers, 1024);
	ck_assert_uint_eq(c.queue_max, 1u << 20);
	ck_assert_int_eq(c.policy_in, TT_FW_ALLOW);
	ck_assert_int_eq(c.policy_out, TT_FW_ALLOW);
	ck_assert_uint_eq(c.n_ips, 0);
	ck_assert_uint_eq(c.fw_in.n, 0);
	ck_assert_uint_eq(c.fw_in.max, TT_FW_RULES_MAX);
	ck_assert_uint_eq(c.fw_out.max, TT_FW_RULES_MAX);
	tt_config_free(&c);
}
END_TEST

START_TEST(test_router)
{
	struct tt_config c;
	good("tuntap-router = tunr0 /run/imperium/tt.sock\n", &c);
	ck_assert(c.enabled);
	ck_assert_str_eq(c.dev, "tunr0");
	ck_assert_str_eq(c.socket, "/run/imperium/tt.sock");
	ck_assert_str_eq(c.stats, "");
	ck_assert_str_eq(c.gateway, "");
	tt_config_free(&c);
	/* `%%` is the INI's literal `%`: the kernel numbers the device */
	good("tuntap-router = \t emp%%d   /tmp/s  127.0.0.1:9999 \n", &c);
	ck_assert_str_eq(c.dev, "emp%d");
	ck_assert_str_eq(c.socket, "/tmp/s");
	ck_assert_str_eq(c.stats, "127.0.0.1:9999");
	tt_config_free(&c);
	/* 15 bytes is IFNAMSIZ - 1 */
	good("tuntap-router = abcdefghijklmno /s\n", &c);
	ck_assert_str_eq(c.dev, "abcdefghijklmno");
	tt_config_free(&c);
}
END_TEST

START_TEST(test_router_errors)
{
	bad("tuntap-router = tunr0\n", ":2: tuntap-router: expected DEV SOCKET");
	bad("tuntap-router = \n", "expected DEV SOCKET");
	bad("tuntap-router = a /s b 127.0.0.1:1 extra\n", "expected DEV SOCKET");
	bad("tuntap-router = tunr0 relative.sock\n",
	    "SOCKET 'relative.sock': expected an absolute");
	bad("tuntap-router = abcdefghijklmnop /s\n", "DEV 'abcdefghijklmnop'");
	bad("tuntap-router = a/b /s\n", "DEV 'a/b'");
	bad("tuntap-router = .. /s\n", "DEV '..'");
	bad("tuntap-router = a:b /s\n", "DEV 'a:b'");
	char longer[300];
	snprintf(longer, sizeof(longer), "tuntap-router = t /%0*d\n", TT_PATH_MAX, 0);
	bad(longer, "expected DEV SOCKET");
	bad("tuntap-router = t /a\ntuntap-router = u /b\n",
	    ":3: tuntap-router: given more than once");
}
END_TEST

START_TEST(test_gateway_fields)
{
	/* the gateway's own checks are in check_tt_gateway; here, the parse errors */
	bad("tuntap-router = t /s - not-an-address\n", "tuntap-router: GATEWAY: ");
	bad("tuntap-router-route = 10.0.0.0/24\n", "tuntap-router-route: ");
	bad("tuntap-router-gateway-key = relative/path\n", "tuntap-router-gateway-key: ");
}
END_TEST

START_TEST(test_ips)
{
	struct tt_config c;
	good("tuntap-router-ip = 10.77.0.1/24\ntuntap-router-ip = fd77::1/64\n"
	     "tuntap-router-ip = 192.168.9.9\ntuntap-router-ip = fd00::9\n",
	     &c);
	ck_assert_uint_eq(c.n_ips, 4);
	ck_assert_uint_eq(c.ips[0].family, TT_IPV4);
	ip_is(&c.ips[0].ip, TT_IPV4, "10.77.0.1"); /* host bits kept: an interface address */
	ck_assert_uint_eq(c.ips[0].prefix, 24);
	ck_assert_uint_eq(c.ips[1].family, TT_IPV6);
	ip_is(&c.ips[1].ip, TT_IPV6, "fd77::1");
	ck_assert_uint_eq(c.ips[1].prefix, 64);
	ck_assert_uint_eq(c.ips[2].prefix, 32);
	ck_assert_uint_eq(c.ips[3].prefix, 128);
	tt_config_free(&c);
}
END_TEST

START_TEST(test_ip_errors)
{
	bad("tuntap-router-ip = 10.77.0.1/33\n", ":2: tuntap-router-ip: '10.77.0.1/33': prefix "
						 "must be 0 to 32");
	bad("tuntap-router-ip = fd77::1/129\n", "prefix must be 0 to 128");
	bad("tuntap-router-ip = 10.77.0.1/\n", "prefix");
	bad("tuntap-router-ip = 10.77.0.1/-1\n", "prefix");
	bad("tuntap-router-ip = 10.77.0.1/2x\n", "prefix");
	bad("tuntap-router-ip = 10.77.0.1/0024\n", "prefix");
	bad("tuntap-router-ip = 10.77.0/24\n", "not an IPv4 address");
	bad("tuntap-router-ip = fd77:::1/64\n", "not an IPv6 address");
	bad("tuntap-router-ip = host.example\n", "not an IPv4 address");
	bad("tuntap-router-ip = 0.0.0.0/8\n", "not a unicast address");
	bad("tuntap-router-ip = 224.0.0.1/4\n", "not a unicast address");
	bad("tuntap-router-ip = ff02::1/16\n", "not a unicast address");
	bad("tuntap-router-ip = ::/64\n", "not a unicast address");
	bad("tuntap-router-ip = 10.0.0.1/0\n", "a /0 network");
	bad("tuntap-router-ip = 10.0.0.1/24\ntuntap-router-ip = 10.0.0.1/16\n",
	    ":3: tuntap-router-ip: '10.0.0.1/16' is given twice");
	char many[1024] = "";
	for (int i = 1; i <= TT_MAX_IPS + 1; i++) {
		char line[64];
		snprintf(line, sizeof(line), "tuntap-router-ip = 10.0.%d.1/24\n", i);
		strcat(many, line);
	}
	bad(many, "given more than 8 times");
}
END_TEST

START_TEST(test_mtu)
{
	struct tt_config c;
	good("tuntap-mtu = 1280\n", &c);
	ck_assert_uint_eq(c.mtu, 1280);
	tt_config_free(&c);
	good("tuntap-mtu = 65535\n", &c);
	ck_assert_uint_eq(c.mtu, 65535);
	tt_config_free(&c);
	bad("tuntap-mtu = 1279\n", "tuntap-mtu");
	bad("tuntap-mtu = 65536\n", "tuntap-mtu");
	bad("tuntap-mtu = 9k\n", "tuntap-mtu");
	bad("tuntap-mtu = \n", "tuntap-mtu");
}
END_TEST

START_TEST(test_firewall)
{
	struct tt_config c;
	good("tuntap-router-firewall-in = deny any 10.77.0.2 tcp 8080\n"
	     "tuntap-router-firewall-in = allow\n"
	     "tuntap-router-firewall-out = deny 10.77.0.0/24 10.0.0.0/8\n"
	     "tuntap-router-firewall-in-policy = deny\n"
	     "tuntap-router-firewall-out-policy = allow\n",
	     &c);
	ck_assert_uint_eq(c.fw_in.n, 2);
	ck_assert_uint_eq(c.fw_in.rules[0].action, TT_FW_DENY);
	ck_assert_uint_eq(c.fw_in.rules[0].port_lo, 8080);
	ck_assert_uint_eq(c.fw_in.rules[1].action, TT_FW_ALLOW);
	ck_assert_int_eq(c.policy_in, TT_FW_DENY);
	ck_assert_int_eq(c.policy_out, TT_FW_ALLOW);
	tt_config_free(&c);
	ck_assert_uint_eq(c.fw_in.n, 0);
}
END_TEST

START_TEST(test_firewall_errors)
{
	/* fw.c's reasons, prefixed with file, line and key */
	bad("tuntap-router-firewall-in = deny 10.0.0.1/24 any\n",
	    ":2: tuntap-router-firewall-in: SRC '10.0.0.1/24' has bits set past its prefix");
	bad("tuntap-router-firewall-out = reject any any\n", ":2: tuntap-router-firewall-out: ");
	bad("tuntap-router-firewall-out = deny any any tcp 70000\n", "tuntap-router-firewall-out");
	bad("tuntap-router-firewall-in-policy = drop\n",
	    ":2: tuntap-router-firewall-in-policy: unknown policy 'drop'");
	bad("tuntap-router-firewall-out-policy = \n", "tuntap-router-firewall-out-policy");
}
END_TEST

START_TEST(test_limits)
{
	struct tt_config c;
	good("tuntap-router-max-peers = 1\ntuntap-router-queue = 128k\n", &c);
	ck_assert_uint_eq(c.max_peers, 1);
	ck_assert_uint_eq(c.queue_max, 128u << 10);
	tt_config_free(&c);
	good("tuntap-router-max-peers = 65536\ntuntap-router-queue = 256M\n", &c);
	ck_assert_uint_eq(c.max_peers, 65536);
	ck_assert_uint_eq(c.queue_max, 256u << 20);
	tt_config_free(&c);
	bad("tuntap-router-max-peers = 0\n", "tuntap-router-max-peers");
	bad("tuntap-router-max-peers = 65537\n", "tuntap-router-max-peers");
	bad("tuntap-router-max-peers = ten\n", "tuntap-router-max-peers");
	bad("tuntap-router-queue = 64k\n", ":2: tuntap-router-queue: must be between");
	bad("tuntap-router-queue = 1G\n", "must be between");
	bad("tuntap-router-queue = lots\n", "tuntap-router-queue");
}
END_TEST

START_TEST(test_not_ours)
{
	struct tt_config c;
	char msg[256];
	/* other [emperor] keys, and the vassal side's keys, are not read here */
	ck_assert_int_eq(ttcfg_read("http = 127.0.0.1:8080\ntuntap-device = t0 /s\n"
				  "tuntap-ip = 10.0.0.2\nstats = /tmp/x\n",
				  &c, msg, sizeof(msg)),
			 0);
	ck_assert(!c.enabled);
	tt_config_free(&c);
	ck_assert_int_eq(
	    ttcfg_read("tuntap-router = t /s\ntuntap-mtu = 1500\nhttp = :1\n", &c, msg, sizeof(msg)),
	    2);
	tt_config_free(&c);
	/* every key the router reads is listed */
	const char *const keys[] = {"tuntap-router",
				    "tuntap-router-ip",
				    "tuntap-mtu",
				    "tuntap-router-firewall-in",
				    "tuntap-router-firewall-out",
				    "tuntap-router-firewall-in-policy",
				    "tuntap-router-gateway-key",
				    "tuntap-router-firewall-out-policy",
				    "tuntap-router-max-peers",
				    "tuntap-router-queue",
				    "tuntap-router-route"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		bool found = false;
		for (size_t k = 0; tt_config_keys[k]; k++)
			found = found || strcmp(tt_config_keys[k], keys[i]) == 0;
		ck_assert_msg(found, "%s not in tt_config_keys", keys[i]);
	}
}
END_TEST

START_TEST(test_cidr)
{
	struct tt_cidr c;
	struct err *e = NULL;
	ck_assert_int_eq(tt_cidr_parse("10.1.2.3/8", &c, &e), 0);
	ck_assert_uint_eq(c.family, TT_IPV4);
	ck_assert_uint_eq(c.prefix, 8);
	ip_is(&c.ip, TT_IPV4, "10.1.2.3");
	ck_assert_int_eq(tt_cidr_parse("10.1.2.3", &c, &e), 0);
	ck_assert_uint_eq(c.prefix, 32);
	ck_assert_int_eq(tt_cidr_parse("10.1.2.3/0", &c, &e), 0);
	ck_assert_uint_eq(c.prefix, 0);
	ck_assert_int_eq(tt_cidr_parse("fd00::1:2/112", &c, &e), 0);
	ck_assert_uint_eq(c.family, TT_IPV6);
	ck_assert_uint_eq(c.prefix, 112);
	ip_is(&c.ip, TT_IPV6, "fd00::1:2");
	ck_assert_int_eq(tt_cidr_parse("::ffff:10.0.0.1/128", &c, &e), 0);
	ck_assert_uint_eq(c.family, TT_IPV6); /* written as v6: stays v6 */
	ck_assert_int_eq(tt_cidr_parse("fe80::1", &c, &e), 0);
	ck_assert_uint_eq(c.prefix, 128);
	ck_assert_ptr_null(e);
	const char *const refused[] = {
	    "",
	    "/24",
	    "10.0.0.1/33",
	    "10.0.0.1/",
	    "10.0.0.1/ 24",
	    "10.0.0.1/24/1",
	    "fd00::/129",
	    "10.0.0.256",
	    "1.2.3",
	    "fd00::g",
	    "10.0.0.1 ",
	    "0x0a000001",
	    "10.0.0.1/1000",
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:1/64",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ck_assert_msg(tt_cidr_parse(refused[i], &c, &e) < 0, "'%s' accepted", refused[i]);
		ck_assert_ptr_nonnull(e);
		err_free(&e);
	}
}
END_TEST

static Suite *tt_config_suite(void)
{
	Suite *s = suite_create("tt_config");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
	    {"defaults", test_defaults},
	    {"router", test_router},
	    {"router_errors", test_router_errors},
	    {"gateway_fields", test_gateway_fields},
	    {"ips", test_ips},
	    {"ip_errors", test_ip_errors},
	    {"mtu", test_mtu},
	    {"firewall", test_firewall},
	    {"firewall_errors", test_firewall_errors},
	    {"limits", test_limits},
	    {"not_ours", test_not_ours},
	    {"cidr", test_cidr},
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
	return unit_run(tt_config_suite());
}
