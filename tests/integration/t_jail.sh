#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The jail, seen from the host through /proc: namespaces, root, hostname,
# credentials, capabilities, socket activation, /dev and the /bin symlink.
. "$(dirname "$0")/lib.sh"

emperor_ini "use-clone = ipc,uts,fs,pid,net"
jailed_vassal alpha 18101 "tmpfs = /tmp"
jailed_vassal beta 18102
# A shell vassal with /bin, /lib and /lib64 bound: symlinks into /usr on Debian.
cat >"$T/vassals.d/shell.ini" <<EOF
[vassal]
exec = /bin/sh -c 'echo shell-ok uid=\`id -u\`; exec /app/hello'
socket = 127.0.0.1:18103
use-clone = ipc,uts,fs,pid,net
bind-ro = /bin
bind-ro = /lib
bind-ro = /lib64
bind-ro = $BIN/hello:/app/hello
uid = 65534
EOF
# Capabilities kept, rlimits, a root hook with a host dir bound read-write.
mkdir -p "$T/out"
jailed_vassal capped 18105 "cap = net_bind_service" "rlimit-nofile = 256:512" \
	"rlimit-nproc = 77" "bind-ro = /bin" "bind-ro = /lib" "bind-ro = /lib64" \
	"bind-rw = $T/out:/out" "exec-as-root = id -u > /out/hook; hostname >> /out/hook"
# pivot-root = NEW OLD onto a root prepared by hand.
mkdir -p "$T/pr/app" "$T/pr/old" "$T/pr/proc" "$T/pr/dev"
cp "$BIN/hello" "$T/pr/app/hello"
cat >"$T/vassals.d/pivot.ini" <<EOF
[vassal]
exec = /app/hello
socket = 127.0.0.1:18106
use-clone = ipc,uts,fs,pid,net
pivot-root = $T/pr $T/pr/old
EOF
# A vassal in a user namespace too: root inside is nobody outside.
jailed_vassal userns 18104 "use-clone = ipc,uts,fs,pid,net,user" "uid = 1234" "gid = 1234"
check "emperor starts" start_emperor
check "alpha becomes running" wait_for 5 is_state alpha running
check "beta becomes running" wait_for 5 is_state beta running
check "shell vassal becomes running" wait_for 5 is_state shell running

body=$(http_get 18101)
check "alpha answers through the socket the emperor bound" grep -q "hello from alpha" <<<"$body"
check "alpha sees its own hostname" grep -q "hostname: alpha" <<<"$body"
check "alpha's app runs as uid 65534" grep -q "uid: 65534" <<<"$body"
check "beta answers as beta" grep -q "hello from beta" <<<"$(http_get 18102)"
check "bind-ro = /bin works where /bin is a symlink (shell and id ran)" \
	wait_for 3 log_has "shell-ok uid=65534"
check "the shell vassal serves" grep -q "hello from shell" <<<"$(http_get 18103)"

ap=$(app_pid alpha)
bp=$(app_pid beta)
vp=$(vassal_pid alpha)
check "alpha's app pid is known" test -n "$ap"
for ns in ipc uts mnt pid net; do
	host=$(readlink /proc/$$/ns/$ns)
	a=$(readlink /proc/$ap/ns/$ns)
	b=$(readlink /proc/$bp/ns/$ns)
	check "alpha has its own $ns namespace" test -n "$a" -a "$a" != "$host"
	check "alpha and beta do not share the $ns namespace" test "$a" != "$b"
done
check "the vassal is PID 1 of its pid namespace" \
	grep -q "^NSpid:.*[[:space:]]1$" /proc/$vp/status

status=/proc/$ap/status
check "uid dropped to 65534 (real, effective, saved)" \
	grep -Eq "^Uid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534" $status
check "gid dropped to 65534" grep -Eq "^Gid:[[:space:]]+65534[[:space:]]+65534" $status
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
	check "$c is empty" grep -Eq "^$c:[[:space:]]+0+$" $status
done
check "no_new_privs is set" grep -Eq "^NoNewPrivs:[[:space:]]+1" $status
check "the vassal process has dropped its capabilities too" \
	grep -Eq "^CapEff:[[:space:]]+0+$" /proc/$vp/status

root=/proc/$ap/root
check "the host's /etc is invisible" test ! -e $root/etc/passwd
check "the test's own dir is invisible" test ! -e "$root$T"
check "/app/hello is bound in" test -x $root/app/hello
check "/proc of the jail shows its own pid namespace" test -d $root/proc/1
check "/dev/null is a character device" test -c $root/dev/null
check "/dev/urandom is a character device" test -c $root/dev/urandom
check "/dev/pts exists" test -d $root/dev/pts
check "the host's disk devices are invisible" bash -c "! ls $root/dev | grep -q -E '^(sd|vd|nvme)'"
check "tmpfs = /tmp is a writable tmpfs" grep -q " /tmp tmpfs " /proc/$ap/mounts
check "bound /app/hello is read-only" grep -Eq " /app/hello [a-z0-9]+ ro," /proc/$ap/mounts
check "LISTEN_FDS=1 is set for the app" grep -qz "^LISTEN_FDS=1$" /proc/$ap/environ
inner=$(awk '/^NSpid/ {print $NF}' /proc/$ap/status)
check "LISTEN_PID is the app's own pid inside its namespace ($inner)" \
	grep -qz "^LISTEN_PID=$inner$" /proc/$ap/environ

check "capped runs" wait_for 5 is_state capped running
cp=$(app_pid capped)
check "cap = net_bind_service stays effective (bit 10 only)" \
	grep -Eq "^CapEff:[[:space:]]+0+400$" /proc/$cp/status
check "... and is the only one left in the bounding set" \
	grep -Eq "^CapBnd:[[:space:]]+0+400$" /proc/$cp/status
check "rlimit-nofile = 256:512 applies" \
	grep -Eq "^Max open files +256 +512 " /proc/$cp/limits
check "rlimit-nproc = 77 applies (soft and hard)" \
	grep -Eq "^Max processes +77 +77 " /proc/$cp/limits
check "the vassal's exec-as-root hook ran as root inside the jail, after the hostname" \
	test "$(cat "$T/out/hook" 2>/dev/null | tr '\n' ' ')" = "0 capped "
check "pivot-root = NEW OLD: the vassal runs" wait_for 5 is_state pivot running
check "it serves from the prepared root" grep -q "hello from pivot" <<<"$(http_get 18106)"
pp=$(app_pid pivot)
check "the old root is detached (OLD is empty)" test -z "$(ls -A /proc/$pp/root/old 2>/dev/null)"
check "the prepared root is its /" test -x /proc/$pp/root/app/hello -a ! -e /proc/$pp/root/etc

check "the user-namespace vassal becomes running" wait_for 5 is_state userns running
check "it answers, as uid 1234 inside" grep -q "uid: 1234" <<<"$(http_get 18104)"
up=$(app_pid userns)
uv=$(vassal_pid userns)
check "it has its own user namespace" \
	test "$(readlink /proc/$up/ns/user)" != "$(readlink /proc/$$/ns/user)"
check "uid_map: root inside is nobody outside, 1234 is itself" \
	bash -c "grep -Eq '^ +0 +65534 +1$' /proc/$up/uid_map && grep -Eq '^ +1234 +1234 +1$' /proc/$up/uid_map"
check "the app is uid 1234 on the host" grep -Eq "^Uid:[[:space:]]+1234[[:space:]]+1234" /proc/$up/status
check "the vassal process has dropped to 1234 on the host too" \
	grep -Eq "^Uid:[[:space:]]+1234[[:space:]]+1234[[:space:]]+1234" /proc/$uv/status
check "its app has no capabilities" grep -Eq "^CapEff:[[:space:]]+0+$" /proc/$up/status
finish
