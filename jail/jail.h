/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The jail: what a vassal does to itself, from inside its fresh namespaces,
 * before it runs the tenant's app. The emperor only chooses the namespaces
 * (clone flags); everything else happens in the vassal, in this order:
 *
 *   1. jail_build      mounts: make / recursively private, assemble a new
 *                      root on a tmpfs (rootfs, bind-ro, bind-rw, tmpfs,
 *                      /proc, a minimal /dev), pivot_root into it and detach
 *                      the old root; or honour `pivot-root = NEW OLD`;
 *                      then the hostname.
 *   2. jail_tun_up     with `tuntap-device`: the tun device (opened with
 *                      jail_tun_open before stage 1) named, addressed and
 *                      up, with `lo` and the default routes (jail/tun.c)
 *   2b. (the vassal runs its exec-as-root hooks here, still privileged)
 *   3. jail_lockdown   rlimits, supplementary groups, gid, uid, capabilities
 *                      (bounding set cleared except `cap =`, which stay
 *                      permitted/effective/inheritable/ambient so they
 *                      survive exec), no_new_privs.
 *
 * jail_spec_from_cfg parses and validates the keys (the emperor calls it to
 * refuse a broken file early; the vassal calls it again before jail_build).
 */
#ifndef JAIL_JAIL_H
#define JAIL_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "core/cfg.h"
#include "core/err.h"

/* clone flags we accept, by name: ipc uts fs (CLONE_NEWNS) pid net user cgroup */
int jail_parse_clone_flags(const char *spec, unsigned long *flags, struct err **err);
/* "ipc,uts,fs,pid,net" (canonical order) or "" for none. */
void jail_format_clone_flags(unsigned long flags, char *out, size_t outlen);

enum jail_mount_kind { JAIL_BIND_RO, JAIL_BIND_RW, JAIL_TMPFS };

struct jail_mount {
	enum jail_mount_kind kind;
	char *src;     /* host path (binds); NULL for tmpfs */
	char *dst;     /* absolute path inside the jail */
	uint64_t size; /* tmpfs size in bytes, 0 = kernel default */
};

struct jail_rlimit {
	int resource;  /* RLIMIT_* */
	struct rlimit lim;
};

#define JAIL_MAX_MOUNTS 128
#define JAIL_MAX_CAPS 64

struct jail_spec {
	unsigned long clone_flags;   /* the namespaces the vassal was cloned with */
	char *rootfs;                /* base of the new root (bound read-only); NULL: empty tmpfs */
	char *pivot_new, *pivot_old; /* `pivot-root = NEW OLD`, else NULL */
	struct jail_mount *mounts;
	size_t n_mounts;
	char *hostname;              /* NULL: keep */
	uid_t uid;                   /* default 65534 (nobody) */
	gid_t gid;                   /* default: uid's primary group, else 65534 */
	int caps[JAIL_MAX_CAPS];     /* cap_value_t values kept after the drop */
	size_t n_caps;
	struct jail_rlimit *rlimits;
	size_t n_rlimits;
	char *stage_dir;             /* where the new root is assembled (private mount ns) */
};

/*
 * jail_spec_from_cfg - read keys rootfs, pivot-root, bind-ro, bind-rw, tmpfs,
 * hostname, uid, gid, cap, rlimit-* from @c. @clone_flags are the vassal's
 * namespaces: binds/rootfs/tmpfs/pivot-root need `fs`, hostname needs `uts`
 * (an error otherwise: a jail must never change the host). uid/gid names are
 * resolved against the current /etc/passwd and /etc/group.
 * @stage_dir: directory used as the mount point for assembling the root.
 * Returns 0, or -1 with *err "ORIGIN:LINE: KEY: why".
 */
int jail_spec_from_cfg(const struct cfg *c, unsigned long clone_flags, const char *stage_dir,
		       struct jail_spec *spec, struct err **err);
void jail_spec_free(struct jail_spec *spec);

/* The keys jail_spec_from_cfg reads (NULL-terminated; rlimit-* are listed
 * one by one), so callers can build their list of known keys. */
extern const char *const jail_cfg_keys[];

/* jail_build - stage 1 (mounts, pivot_root, hostname). Returns 0 or -1. */
int jail_build(const struct jail_spec *spec, struct err **err);

/* jail_lockdown - stage 3 (rlimits, groups, gid, uid, caps, no_new_privs). */
int jail_lockdown(const struct jail_spec *spec, struct err **err);

/*
 * The tun stage, for a vassal with `tuntap-device` (jail/tun.c): its one
 * interface, in its own network namespace.
 */
#define JAIL_TUN_MAX_IPS 8

struct jail_tun_addr {
	int family;	  /* AF_INET or AF_INET6; 0: none */
	uint8_t addr[16]; /* 4 bytes used for AF_INET */
	uint8_t prefix;
};

struct jail_tun {
	char dev[16];	    /* IFNAMSIZ */
	unsigned mtu;
	struct jail_tun_addr ips[JAIL_TUN_MAX_IPS];
	size_t n_ips;
	struct jail_tun_addr gw4, gw6; /* default routes; family 0: none */
	bool offload; /* IFF_VNET_HDR, for the emperor's router (it sets the offloads) */
};

/*
 * jail_tun_open - open /dev/net/tun (CLOEXEC), before jail_build: the new
 * root's /dev has no net/tun. Returns the descriptor or -1 with *err.
 */
int jail_tun_open(struct err **err);

/*
 * jail_tun_up - after jail_build, still privileged: make @fd the tun device
 * @t->dev (IFF_TUN | IFF_NO_PI, non-blocking), give it @t's addresses and
 * MTU, bring it and `lo` up, and add a default route through each gateway.
 * Returns 0, or -1 with *err naming the device, the step and the address.
 */
int jail_tun_up(int fd, const struct jail_tun *t, struct err **err);

/*
 * jail_write_id_maps - from the parent, after cloning with CLONE_NEWUSER:
 * write /proc/PID/{uid_map,setgroups,gid_map}. Inside root maps to host
 * 65534 (65533 when the tenant's own id is 65534) and the tenant's uid/gid
 * map to themselves, so files the tenant creates belong to it on the host.
 */
int jail_write_id_maps(pid_t pid, uid_t uid, gid_t gid, struct err **err);

#endif
