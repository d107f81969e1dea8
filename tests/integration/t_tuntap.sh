#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A vassal's tun device (`tuntap-device`, `tuntap-ip`, `tuntap-gateway`):
#  (a) interop: Debian's uWSGI runs the tuntap router (its host device
#      tunr0 at 10.88.0.1/24); our jailed vassal, in its own network
#      namespace, creates tunv0 at 10.88.0.2, connects to uWSGI's socket and
#      pumps frames; curl from the test's namespace reaches the vassal's app
#      through uWSGI's router. The app holds neither the tun device nor the
#      router connection. The router going away ends the vassal, whose next
#      process connects again once the router is back.
#  (b) the emperor's own router (the tun descriptor handed over): two
#      vassals, IPv4 and IPv6, host to vassal and vassal to host (TCP, ping
#      v4 and v6), vassal to vassal over IPv4 and IPv6 (TCP denied by default,
#      counted as firewall drops, then allowed, with ping v6 too, by
#      `tuntap-router-firewall-out` after a SIGHUP reload), packets a
#      vassal sends with another's v4 or v6 source dropped and counted
#      as spoof (its own source passing), a vassal's own
#      `tuntap-firewall` rule, a duplicate address refused while the first
#      vassal keeps working, a stopped vassal's peer detached.
# A file with `tuntap-device` but no network namespace of its own is refused.
# Only namespaces the test makes, private addresses, nothing forwarded out.
. "$(dirname "$0")/lib.sh"
trap 'kill_bg; cleanup' EXIT

command -v uwsgi >/dev/null || { not_ok "uwsgi is not installed"; exit 1; }

UWSGI_PID=
start_uwsgi_router() {
	bg_start uwsgi --master --plugin tuntap --tuntap-router "tunr0 $T/u.sock" >>"$T/uwsgi.log" 2>&1
	UWSGI_PID=$BG_PID
	wait_for 5 ip link show tunr0 || return 1
	wait_for 5 test -S "$T/u.sock" || return 1
	ip addr add 10.88.0.1/24 dev tunr0 && ip link set tunr0 up
}

tv_file() { tun_vassal "$T" "$@"; }

get() { curl -sS --max-time 3 "$@"; }

# in_vassal NAME COMMAND...: run COMMAND in vassal NAME's network namespace.
in_vassal() {
	local vp
	vp=$(vassal_pid "$1") || return 1
	shift
	nsenter -t "$vp" -n -- "$@"
}

# pyping ADDR: one ICMP or ICMPv6 echo, answered within 2 s.
pyping() {
	python3 - "$1" <<'EOF'
import os, socket, struct, sys, time
a = sys.argv[1]
v6 = ":" in a
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
hdr = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, ident, 1) + b"imperium"
if not v6:
    hdr = hdr[:2] + struct.pack("!H", csum(hdr)) + hdr[4:]
s.sendto(hdr, (a, 0))
s.settimeout(2)
end = time.time() + 2
while time.time() < end:
    d = s.recv(2048)
    if not v6: d = d[(d[0] & 15) * 4:]
    if d[0] == (129 if v6 else 0) and struct.unpack("!H", d[4:6])[0] == ident:
        sys.exit(0)
sys.exit(1)
EOF
}

emperor_ini
start_emperor || { not_ok "emperor did not start"; exit 1; }

# ---- refused without a network namespace ----
{
	echo "[vassal]"
	echo "exec = /app/hello"
	echo "use-clone = ipc,uts,fs,pid"
	echo "bind-ro = $BIN/hello:/app/hello"
	echo "tuntap-device = tunv0 $T/u.sock"
	echo "tuntap-ip = 10.88.0.9/24"
} >"$T/vassals.d/nonet.ini"
wait_for 5 is_state nonet broken
check "tuntap-device without the net namespace: refused" \
	log_has "tuntap-device: needs a network namespace of its own"
rm -f "$T/vassals.d/nonet.ini"

# ---- (a) our vassal joins uWSGI's tuntap router ----
start_uwsgi_router || { not_ok "uWSGI's tuntap router did not start"; exit 1; }
tv_file tv 10.88.0.2 "tuntap-device = tunv0 $T/u.sock" "tuntap-ip = 10.88.0.2/24" \
	"tuntap-gateway = 10.88.0.1"
wait_for 10 is_state tv running
check "interop: the vassal runs" is_state tv running
wait_for 5 grep -q "registered new peer 10.88.0.2" "$T/uwsgi.log"
check "interop: uWSGI's router registered the vassal as 10.88.0.2" \
	grep -q "registered new peer 10.88.0.2" "$T/uwsgi.log"
out=$(get http://10.88.0.2:8080/ 2>&1)
check "interop: curl reaches the jailed app through uWSGI's router" \
	grep -q "hello from tv" <<<"$out"
out=$(get http://10.88.0.2:8080/ 2>&1)
check "interop: and again on a new connection" grep -q "hostname: tv" <<<"$out"
check "interop: the vassal's device is tunv0 with its address and MTU 1500" \
	bash -c "$(declare -f in_vassal); in_vassal tv ip -o addr show dev tunv0 | grep -q 'inet 10.88.0.2/24' &&
		in_vassal tv ip -o link show dev tunv0 | grep -q 'mtu 1500'"
check "interop: the default route goes through the gateway" \
	bash -c "$(declare -f in_vassal); in_vassal tv ip route show default | grep -q 'via 10.88.0.1 dev tunv0'"
check "interop: lo is up in the vassal" \
	bash -c "$(declare -f in_vassal); in_vassal tv ip -o link show dev lo | grep -q 'UP'"

# The app holds neither the tun device nor any of the vassal's sockets.
vp=$(vassal_pid tv)
ap=$(app_pid tv)
tun_in_app=$(ls -l "/proc/$ap/fd" 2>/dev/null | grep -c /dev/net/tun)
master_socks=$(ls -l "/proc/$vp/fd" | grep -o 'socket:\[[0-9]*\]' | sort -u)
app_socks=$(ls -l "/proc/$ap/fd" | grep -o 'socket:\[[0-9]*\]' | sort -u)
shared=$(comm -12 <(echo "$master_socks") <(echo "$app_socks") | grep -c socket)
check "the app has no tun descriptor" [ "$tun_in_app" = 0 ]
check "the app shares no socket with the vassal (router connection included)" [ "$shared" = 0 ]
check "the vassal itself holds the tun device" bash -c "ls -l /proc/$vp/fd | grep -q 'net/tun'"
check "the app's and the vassal's descriptors were read" test -n "$app_socks" -a -n "$master_socks"

# The router goes away: the vassal leaves; back, a new vassal connects.
kill_bg KILL "$UWSGI_PID"
wait_for 5 log_has "tuntap: the router at $T/u.sock"
check "router gone: the vassal says so" log_has "tuntap: the router at $T/u.sock"
ip link del tunr0 2>/dev/null
rm -f "$T/u.sock"
start_uwsgi_router || not_ok "uWSGI's router did not restart"
wait_for 15 bash -c "curl -s --max-time 1 http://10.88.0.2:8080/ | grep -q 'hello from tv'"
check "router back: a new vassal process joins it and serves again" \
	bash -c "curl -sS --max-time 3 http://10.88.0.2:8080/ | grep -q 'hello from tv'"
rm -f "$T/vassals.d/tv.ini"
wait_for 10 bash -c "! emperor_cli stats | grep -q '\"tv\"'"
kill_bg KILL "$UWSGI_PID"
ip link del tunr0 2>/dev/null

# ---- (b) the emperor's own tuntap router ----
if [ ! -f "$ROOT/tuntap/router.c" ]; then
	not_ok "the emperor's tuntap router is not built: part (b) not run"
	finish
	exit 1
fi
kill -TERM "$EMP_PID"
wait_for 10 bash -c "! kill -0 $EMP_PID"
rm -f "$T/stats.sock"
emperor_ini "tuntap-router = tt0 $T/tt.sock" "tuntap-router-ip = 10.77.0.1/24" \
	"tuntap-router-ip = fd77::1/64"
start_emperor || { not_ok "emperor with tuntap-router did not start"; exit 1; }
# tt_fw_drops: the router's firewall drop count (all peers and the host).
tt_fw_drops() {
	emperor_cli stats | python3 -c '
import json, sys
print(json.load(sys.stdin)["tuntap"]["drops"]["firewall"])
'
}
tv_file va 10.77.0.2 "tuntap-device = tv0 $T/tt.sock" "tuntap-ip = 10.77.0.2/24" \
	"tuntap-ip = fd77::2/64" "tuntap-gateway = 10.77.0.1" "tuntap-gateway = fd77::1" \
	"tuntap-firewall = deny any any tcp 22"
tv_file vb 10.77.0.3 "tuntap-device = tv0 $T/tt.sock" "tuntap-ip = 10.77.0.3/24" \
	"tuntap-ip = fd77::3/64" "tuntap-gateway = 10.77.0.1" "tuntap-gateway = fd77::1"
wait_for 10 is_state va running
wait_for 10 is_state vb running
check "local: both vassals run" bash -c "$(declare -f is_state); is_state va running && is_state vb running"
check "local: the stats show both peers with their addresses" \
	tt_eval 'peer("va") and peer("vb") and "10.77.0.2" in str(peer("va")["addresses"]) and "fd77::3" in str(peer("vb")["addresses"])'
check "local: the vassal keeps no copy of its tun device" \
	bash -c "! ls -l /proc/$(vassal_pid va)/fd | grep -q /dev/net/tun"
check "local: the device has the router's MTU (65520)" \
	bash -c "$(declare -f in_vassal); in_vassal va ip -o link show dev tv0 | grep -q 'mtu 65520'"
check "local: host -> vassal, TCP v4" bash -c "curl -sS --max-time 3 http://10.77.0.2:8080/ | grep -q 'hello from va'"
check "local: host -> vassal, ping v4" pyping 10.77.0.3
check "local: host -> vassal, ping v6" pyping fd77::2
# An IPv6 listener in vb's network namespace (the demo app speaks IPv4).
bg_start nsenter -t "$(vassal_pid vb)" -n -- python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("fd77::3", 8081)); s.listen(16)
while True:
    c, _ = s.accept(); c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nv6 on vb\n"); c.close()
' >/dev/null 2>&1
wait_for 5 curl -s --max-time 1 -g "http://[fd77::3]:8081/"
check "local: host -> vassal, TCP v6" \
	bash -c 'curl -sS --max-time 3 -g "http://[fd77::3]:8081/" | grep -q "v6 on vb"'
check "local: vassal -> host, ping v4" in_vassal va bash -c "$(declare -f pyping); pyping 10.77.0.1"
check "local: vassal -> host, ping v6" in_vassal va bash -c "$(declare -f pyping); pyping fd77::1"

# A tenant that became root in its namespace sends, through its own tv0,
# UDP with vb's addresses as source (v4 and v6), then with its own: the
# spoofed ones are dropped and counted against va, the honest one arrives.
# sendraw SRC DST: one UDP datagram to DST:9 from SRC, on tv0 (AF_PACKET).
sendraw() {
	python3 - "$1" "$2" <<'EOF'
import socket, struct, sys
src, dst = sys.argv[1], sys.argv[2]
body = struct.pack("!HHHH", 40000, 9, 12, 0) + b"spof"
if ":" in src:
    ip = struct.pack("!IHBB", 6 << 28, len(body), 17, 64) + \
        socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    proto = 0x86DD
else:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    t = sum(struct.unpack("!10H", ip))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    ip = ip[:10] + struct.pack("!H", ~t & 0xffff) + ip[12:]
    proto = 0x0800
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(proto))
s.sendto(ip + body, ("tv0", proto))
EOF
}
va_spoof() {
	emperor_cli stats | python3 -c 'import json, sys
t = json.load(sys.stdin)["tuntap"]
print(next(p for p in t["peers"] if p["name"] in ("va", "vassal va"))["drops"]["spoof"])'
}
spoof0=$(va_spoof)
# The host end: the sources of what reaches 10.77.0.1:9 within 3 s.
bg_start python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.1", 9)); s.settimeout(0.2)
open(sys.argv[1] + ".ready", "w").close()
end, got = time.time() + 3, []
while time.time() < end:
    try:
        d, a = s.recvfrom(100)
        got.append(a[0])
    except socket.timeout:
        pass
open(sys.argv[1], "w").write(" ".join(got) + "\n")' "$T/udp9"
wait_for 3 test -e "$T/udp9.ready"
in_vassal va bash -c "$(declare -f sendraw); sendraw 10.77.0.3 10.77.0.1; sendraw fd77::3 fd77::1; sendraw 10.77.0.2 10.77.0.1"
wait_for 5 test -s "$T/udp9"
check "local: va's packets with vb's v4 and v6 sources are dropped as spoof ($spoof0 -> $(va_spoof))" \
	[ "$(va_spoof)" = $((spoof0 + 2)) ]
check "local: the spoof is logged with va's name" \
	log_has "tuntap: .*va.*: dropped a packet from 10.77.0.3: not its address"
check "local: va's datagram with its own source reached the host, alone ($(cat "$T/udp9"))" \
	[ "$(cat "$T/udp9")" = "10.77.0.2" ]
check "local: vassal -> vassal denied by default (v4 TCP)" \
	bash -c "$(declare -f in_vassal); ! in_vassal va curl -s --max-time 2 http://10.77.0.3:8080/"
check "local: the router counted the denied packets" \
	tt_eval 'peer("va")["drops"]["firewall"] + peer("vb")["drops"]["firewall"] + t["drops"].get("firewall", 0) > 0'
# The same over IPv6, to the listener host -> vassal reached above: dropped
# (curl times out, not refused), and counted.
fw0=$(tt_fw_drops)
rc6=0
in_vassal va curl -s --max-time 2 -g "http://[fd77::3]:8081/" >/dev/null 2>&1 || rc6=$?
fw1=$(tt_fw_drops)
check "local: vassal -> vassal denied by default (v6 TCP; curl $rc6: timeout)" [ "$rc6" = 28 ]
check "local: the router counted the denied v6 packets (firewall drops $fw0 -> $fw1)" \
	bash -c '[ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt "$1" ]' _ "$fw0" "$fw1"

# Allowed by the emperor's out rules, both ways, after a SIGHUP reload.
emperor_ini "tuntap-router = tt0 $T/tt.sock" "tuntap-router-ip = 10.77.0.1/24" \
	"tuntap-router-ip = fd77::1/64" "tuntap-router-firewall-out = allow 10.77.0.2 10.77.0.3" \
	"tuntap-router-firewall-out = allow 10.77.0.3 10.77.0.2" \
	"tuntap-router-firewall-out = allow fd77::2 fd77::3" \
	"tuntap-router-firewall-out = allow fd77::3 fd77::2"
kill -HUP "$EMP_PID"
wait_for 5 bash -c "$(declare -f in_vassal); in_vassal va curl -s --max-time 1 http://10.77.0.3:8080/ | grep -q 'hello from vb'"
check "local: vassal -> vassal allowed by tuntap-router-firewall-out (v4 TCP)" \
	bash -c "$(declare -f in_vassal); in_vassal va curl -sS --max-time 3 http://10.77.0.3:8080/ | grep -q 'hello from vb'"
wait_for 5 bash -c "$(declare -f in_vassal); in_vassal va curl -s --max-time 1 -g 'http://[fd77::3]:8081/' | grep -q 'v6 on vb'"
check "local: vassal -> vassal allowed by tuntap-router-firewall-out (v6 TCP)" \
	bash -c "$(declare -f in_vassal); in_vassal va curl -sS --max-time 3 -g 'http://[fd77::3]:8081/' | grep -q 'v6 on vb'"
check "local: vassal -> vassal, ping v6" in_vassal va bash -c "$(declare -f pyping); pyping fd77::3"

# va's own rule: nothing of it to TCP port 22 (refused fast elsewhere).
rc22=0 rc23=0
in_vassal va curl -s --max-time 2 telnet://10.77.0.1:22 </dev/null >/dev/null 2>&1 || rc22=$?
in_vassal va curl -s --max-time 2 telnet://10.77.0.1:23 </dev/null >/dev/null 2>&1 || rc23=$?
check "local: va's tuntap-firewall drops its TCP to port 22 (curl $rc22: timeout)" [ "$rc22" = 28 ]
check "local: other ports answer at once (curl $rc23: refused)" [ "$rc23" = 7 ]

# A second vassal claiming va's address is refused; va goes on.
tv_file vc 10.77.0.2 "tuntap-device = tv0 $T/tt.sock" "tuntap-ip = 10.77.0.2/24"
wait_for 5 log_has "vassal vc: tuntap: "
check "local: a duplicate tuntap-ip is refused and logged" log_has "vassal vc: tuntap: "
check "local: the first vassal keeps its address and serves" \
	bash -c "curl -sS --max-time 3 http://10.77.0.2:8080/ | grep -q 'hello from va'"
check "local: only one peer holds 10.77.0.2" \
	tt_eval 'sum("10.77.0.2" in p["addresses"] for p in t["peers"]) == 1'
rm -f "$T/vassals.d/vc.ini"

# Stopped: its peer is gone from the router.
emperor_cli stop vb >/dev/null
wait_for 10 is_state vb stopped
wait_for 5 tt_eval 'peer("vb") is None'
check "local: a stopped vassal's peer is detached" tt_eval 'peer("vb") is None and peer("va")'
check "local: the log says so" log_has "vassal vb: tun tv0 detached"
finish
