#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tuntap router's UDP gateway between two emperors: A and B each run in
# a network namespace of their own (made here, joined by a veth pair on
# 192.168.77.0/24, the underlay), each with `tuntap-router` + GATEWAY on its
# veth address, a `tuntap-router-route` to the other's vassal network and
# the same pre-shared key, and a jailed demo vassal behind it (va at
# 10.61.0.2 behind A, vb at 10.62.0.2 behind B). Checked: TCP from va to
# vb and back through both gateways; the datagrams on the wire do not carry
# the packets in clear; a captured datagram with one byte flipped, sent
# again from A's gateway address, is dropped as `auth`, and the same
# datagram unmodified as `replay`, both counted and logged while traffic
# goes on; a datagram from an address no route names is dropped unopened;
# 8 MiB of bulk TCP from va to vb arrive whole, A cutting va's 64 KiB
# offload packets into whole ones for the gateway; a key file others can read, and a gateway without a key, stop the
# emperor at start. Only namespaces the test makes, private addresses,
# nothing forwarded anywhere else.
. "$(dirname "$0")/lib.sh"

NSA="imp-gwa-$$"
NSB="imp-gwb-$$"
on_exit() {
	local rc=$?
	kill_bg
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	if [ "$TEST_FAILED" -gt 0 ]; then
		for d in a b; do
			[ -f "$T/$d/emperor.log" ] || continue
			echo "# last lines of emperor $d's log:"
			tail -n 25 "$T/$d/emperor.log" | sed 's/^/#   /'
		done
	fi
	(exit $rc)
	cleanup
}
trap on_exit EXIT

ip netns add "$NSA" && ip netns add "$NSB" || { not_ok "cannot make the namespaces"; exit 1; }
ip link add gwa type veth peer name gwb || { not_ok "cannot make the veth pair"; exit 1; }
ip link set gwa netns "$NSA" && ip link set gwb netns "$NSB"
ip -n "$NSA" addr add 192.168.77.1/24 dev gwa
ip -n "$NSB" addr add 192.168.77.2/24 dev gwb
for ns in "$NSA" "$NSB"; do
	ip -n "$ns" link set lo up
done
ip -n "$NSA" link set gwa up
ip -n "$NSB" link set gwb up

openssl rand -hex 32 >"$T/gw.key"
chmod 600 "$T/gw.key"

# emperor_at D NS [EXTRA LINES...]: an emperor in namespace NS, its files in
# $T/D; true once its stats socket is up.
emperor_at() {
	local d="$T/$1" ns=$2
	shift 2
	mkdir -p "$d/vassals.d"
	{
		echo "[emperor]"
		echo "vassals = $d/vassals.d"
		echo "stats = $d/stats.sock"
		echo "run-dir = $d/run"
		printf '%s\n' "$@"
	} >"$d/emperor.ini"
	bg_start ip netns exec "$ns" "$BIN/emperor" -c "$d/emperor.ini" >>"$d/emperor.log" 2>&1
	wait_for 5 test -S "$d/stats.sock"
}

# gw_vassal D NAME IP GW: a jailed demo vassal on its tun address.
gw_vassal() {
	tun_vassal "$T/$1" "$2" "$3" "tuntap-device = tv0 $T/$1/tt.sock" "tuntap-ip = $3/24" \
		"tuntap-gateway = $4"
}

cli() { local d=$1; shift; "$BIN/emperor" "$@" -s "$T/$d/stats.sock"; }
state_of() {
	cli "$1" stats | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vassals"]:
    if v["name"] == sys.argv[1]:
        print(v["state"], v["pid"])' "$2"
}
log_has_in() { grep -q -- "$2" "$T/$1/emperor.log"; }
is_running() { state_of "$1" "$2" | grep -q '^running '; }
pid_of() { state_of "$1" "$2" | awk '{print $2}'; }
# gw_eval D EXPR: EXPR over the gateway's stats (g) of emperor D.
gw_eval() {
	cli "$1" stats | python3 -c '
import json, sys
g = json.load(sys.stdin)["tuntap"]["gateway"]
sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"
}
export -f cli state_of is_running pid_of gw_eval log_has_in

# ---- refused at start ----
chmod 644 "$T/gw.key"
emperor_at bad "$NSA" "tuntap-router = tgx0 $T/bad/tt.sock - 192.168.77.1:4040" \
	"tuntap-router-route = 10.62.0.0/24 192.168.77.2:4040" "tuntap-router-gateway-key = $T/gw.key"
wait_for 5 grep -q "readable or writable by group or others" "$T/bad/emperor.log"
check "a key file others can read stops the emperor, naming it" \
	grep -q "tuntap-router-gateway-key: $T/gw.key: readable or writable by group or others" \
	"$T/bad/emperor.log"
chmod 600 "$T/gw.key"
emperor_at bad2 "$NSA" "tuntap-router = tgx0 $T/bad2/tt.sock - 192.168.77.1:4040" \
	"tuntap-router-route = 10.62.0.0/24 192.168.77.2:4040"
wait_for 5 grep -q "needs tuntap-router-gateway-key" "$T/bad2/emperor.log"
check "a gateway without a key stops the emperor" \
	grep -q "needs tuntap-router-gateway-key" "$T/bad2/emperor.log"

# ---- two emperors joined by their gateways ----
# The vassals' MTU leaves room for the datagram's 29 bytes and the
# underlay's IP and UDP headers within the veth's 1500.
emperor_at a "$NSA" "tuntap-router = tga0 $T/a/tt.sock - 192.168.77.1:4040" \
	"tuntap-router-ip = 10.61.0.1/24" "tuntap-mtu = 1400" \
	"tuntap-router-route = 10.62.0.0/24 192.168.77.2:4040" \
	"tuntap-router-gateway-key = $T/gw.key" || { not_ok "emperor A did not start"; exit 1; }
emperor_at b "$NSB" "tuntap-router = tgb0 $T/b/tt.sock - 192.168.77.2:4040" \
	"tuntap-router-ip = 10.62.0.1/24" "tuntap-mtu = 1400" \
	"tuntap-router-route = 10.61.0.0/24 192.168.77.1:4040" \
	"tuntap-router-gateway-key = $T/gw.key" || { not_ok "emperor B did not start"; exit 1; }
check "A's gateway is up with its route" log_has_in a "tuntap: gateway on 192.168.77.1:4040"
gw_vassal a va 10.61.0.2 10.61.0.1
gw_vassal b vb 10.62.0.2 10.62.0.1
wait_for 10 is_running a va
wait_for 10 is_running b vb
check "both vassals run" bash -c "is_running a va && is_running b vb"

# Capture the first datagram B receives on the underlay.
bg_start ip netns exec "$NSB" python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("gwb", 0))
while True:
    f = s.recv(70000)
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 17 or ip[12:16] != bytes([192, 168, 77, 1]):
        continue
    udp = ip[ihl:]
    if struct.unpack("!H", udp[2:4])[0] != 4040:
        continue
    open(sys.argv[1], "wb").write(udp[8:])
    break
' "$T/captured"
CAP_PID=$BG_PID
sleep 0.3

va_pid=$(pid_of a va)
out=$(nsenter -t "$va_pid" -n -- curl -sS --max-time 5 http://10.62.0.2:8080/ 2>&1)
check "TCP from va (behind A) to vb (behind B) through both gateways" grep -q "hello from vb" <<<"$out"
vb_pid=$(pid_of b vb)
out=$(nsenter -t "$vb_pid" -n -- curl -sS --max-time 5 http://10.61.0.2:8080/ 2>&1)
check "and from vb to va" grep -q "hello from va" <<<"$out"
check "A sent and received datagrams" gw_eval a 'g["datagrams_out"] > 0 and g["datagrams_in"] > 0'
check "B too, with no drop" \
	gw_eval b 'g["datagrams_in"] > 0 and sum(g["drops"].values()) == 0'
wait_for 3 test -s "$T/captured"
kill_bg KILL "$CAP_PID"
check "a datagram was captured on the underlay" test -s "$T/captured"
check "the packet inside is not in clear (no 10.61.0.2 -> 10.62.0.2 header)" python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
sys.exit(1 if bytes([10, 61, 0, 2, 10, 62, 0, 2]) in d else 0)' "$T/captured"

# send_as_a FILE [FLIP]: send FILE's bytes to B's gateway from A's gateway
# address and port (a raw socket: that port is the emperor's), with byte
# FLIP (if given) inverted.
send_as_a() {
	ip netns exec "$NSA" python3 - "$@" <<'EOF'
import socket, struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
if len(sys.argv) > 2:
    d[int(sys.argv[2])] ^= 0xff
udp = struct.pack("!HHHH", 4040, 4040, 8 + len(d), 0) + bytes(d)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("192.168.77.1"), socket.inet_aton("192.168.77.2"))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, ("192.168.77.2", 0))
EOF
}

send_as_a "$T/captured" 20
wait_for 3 gw_eval b 'g["drops"]["auth"] >= 1'
check "a tampered datagram is dropped and counted (auth)" gw_eval b 'g["drops"]["auth"] == 1'
check "and logged" log_has_in b "dropped a datagram from 192.168.77.1:4040: auth"
send_as_a "$T/captured" 0
wait_for 3 gw_eval b 'g["drops"]["magic"] >= 1'
check "a datagram with a flipped magic byte is dropped (magic)" gw_eval b 'g["drops"]["magic"] == 1'
send_as_a "$T/captured"
wait_for 3 gw_eval b 'g["drops"]["replay"] >= 1'
check "the captured datagram replayed is dropped and counted (replay)" \
	gw_eval b 'g["drops"]["replay"] == 1'
ip netns exec "$NSA" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.77.1", 5050))
s.sendto(open(sys.argv[1], "rb").read(), ("192.168.77.2", 4040))' "$T/captured"
wait_for 3 gw_eval b 'g["drops"]["unknown_peer"] >= 1'
check "a datagram from an address no route names is dropped (unknown_peer)" \
	gw_eval b 'g["drops"]["unknown_peer"] == 1'
out=$(nsenter -t "$va_pid" -n -- curl -sS --max-time 5 http://10.62.0.2:8080/ 2>&1)
check "the gateways still carry TCP afterwards" grep -q "hello from vb" <<<"$out"

# Bulk TCP va -> vb: va's kernel hands A segmentation-offload packets of up
# to 64 KiB, which A cuts into whole packets for the gateway.
BULK="$ROOT/tests/integration/peers/bulk.py"
vb_pid=$(pid_of b vb)
bg_start nsenter -t "$vb_pid" -n -- python3 "$BULK" serve 10.62.0.2 9201 recv \
	--ready "$T/bulk.ready" --out "$T/bulk.srv" --timeout 25
wait_for 5 test -e "$T/bulk.ready"
sent=$(nsenter -t "$va_pid" -n -- python3 "$BULK" connect 10.62.0.2 9201 send $((8 << 20)) \
	--timeout 20 2>&1)
wait_for 5 test -s "$T/bulk.srv"
check "8 MiB va -> vb through the gateways arrive whole (sha256 equal)" \
	test -n "$sent" -a "$sent" = "$(cat "$T/bulk.srv" 2>/dev/null)"
check "A cut offload packets for its gateway (tuntap.segmented > 0)" python3 -c '
import json, sys
t = json.loads(sys.argv[1])["tuntap"]
sys.exit(0 if t["segmentation_offload"] and t["segmented"] > 0 else 1)' "$(cli a stats)"
check "B's stats name the route and its peer" \
	gw_eval b 'g["routes"][0]["net"] == "10.61.0.0/24" and g["peers"][0]["address"] == "192.168.77.1:4040"'
finish
