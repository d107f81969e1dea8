#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The emperor's tuntap router against real peers over its framing socket:
# Debian's uWSGI (tuntap plugin, `tuntap-device`) in a network namespace of
# its own with an HTTP server on its tun address, and ttpeer.py, a peer
# that writes frames by hand. Ping and HTTP across the router; per-peer
# stats; a second peer claiming a taken address refused while the first
# keeps working; spoofed sources dropped and counted; vassal-to-vassal
# denied by default; uWSGI rule blocks skipped; garbage frames and runs of
# malformed packets disconnect their peer, logged by name, while the uWSGI
# peer keeps working; IPv6 round trips (uWSGI's router is IPv4-only, so
# ttpeer.py speaks it); firewall rules added and removed by SIGHUP without
# dropping peers; config errors; the device and socket gone at exit.
# Every address lives in the namespaces this test makes; nothing is routed
# or NATed anywhere else.
. "$(dirname "$0")/lib.sh"

PEERS="$ROOT/tests/integration/peers"
SOCK="$T/tt.sock"

on_exit() {
	local rc=$?
	kill_bg
	if [ "$TEST_FAILED" -gt 0 ] && [ -f "$T/uwsgi.log" ]; then
		echo "# last lines of uwsgi.log:"
		tail -n 15 "$T/uwsgi.log" | sed 's/^/#   /'
	fi
	(exit $rc)
	cleanup
}
trap on_exit EXIT

ttpeer() { python3 "$PEERS/ttpeer.py" "$@"; }
in_uw() { nsenter --net="/proc/$UW/ns/net" "$@"; }
get() { curl -sS --max-time "${2:-3}" "http://$1/"; }
export -f get

# tt_eval EXPR: the python expression holds over t = the stats' "tuntap"
# object; peer(ADDR) is the peer holding ADDR, or None.
tt_eval() {
	emperor_cli stats | python3 -c '
import json, sys
t = json.load(sys.stdin)["tuntap"]
def peer(a):
    return next((p for p in t["peers"] if a in p["addresses"]), None)
ok = False
try:
    ok = bool(eval(sys.argv[1]))
except Exception as e:
    print("# %r" % e, file=sys.stderr)
sys.exit(0 if ok else 1)
' "$1"
}

write_ini() {
	emperor_ini "tuntap-router = tunr0 $SOCK" "tuntap-router-ip = 10.77.0.1/24" \
		"tuntap-router-ip = fd77::1/64" "stats-http = 127.0.0.1:18999" "$@"
}

# --- config errors: the emperor refuses to start ---
for bad in "tuntap-router-ip = 10.77.0.1/24|needs \`tuntap-router\`" \
	"tuntap-router = tunr0 $SOCK - not-an-address|a GATEWAY that is not an address" \
	"tuntap-router = tunr0 relative.sock|expected an absolute path"; do
	emperor_ini "${bad%%|*}"
	out=$("$BIN/emperor" -c "$T/emperor.ini" 2>&1)
	check "refused with exit 1: ${bad##*|}" test $? -eq 1
	check "the message names file, line and key (${bad%% *})" \
		grep -qF "$T/emperor.ini:5: ${bad%% *}: " <<<"$out"
done
check "no device left behind by refused configs" bash -c '! ip link show tunr0 2>/dev/null'

# --- the router ---
write_ini
check "the emperor starts with the tuntap router" start_emperor
check "tunr0 has 10.77.0.1/24" bash -c 'ip -4 addr show dev tunr0 | grep -q "inet 10.77.0.1/24"'
check "tunr0 has fd77::1/64" bash -c 'ip -6 addr show dev tunr0 | grep -q "inet6 fd77::1/64"'
check "tunr0 is up with MTU 65520" bash -c 'ip link show tunr0 | grep -q "UP.*mtu 65520"'
check "the framing socket is mode 0660" test "$(stat -c %a "$SOCK")" = 660
check "the stats have a tuntap object" \
	tt_eval 't["device"] == "tunr0" and t["mtu"] == 65520 and t["peers"] == [] and "totals" in t'

# --- a real uWSGI peer in a network namespace of its own ---
mkdir -p "$T/www"
echo "hello through tuntap" >"$T/www/index.html"
bg_start uwsgi --unshare net --plugin tuntap --tuntap-device "tunv0 $SOCK" \
	--socket 127.0.0.1:18331 --exec-as-root "ip link set lo up" \
	--exec-as-root "ip addr add 10.77.0.2/24 dev tunv0" --exec-as-root "ip link set tunv0 up" \
	>"$T/uwsgi.log" 2>&1
UW=$BG_PID
# Debian's uWSGI runs its as-root phase (unshare, post-jail hooks, the
# tuntap device, exec-as-root) several times during startup, each time in a
# new network namespace with a new connection to the router; the last one,
# where its worker runs, is the one that stays in use. Wait for the worker
# so that /proc/$UW/ns/net is that last namespace.
check "uWSGI starts its worker" wait_for 10 grep -q "spawned uWSGI worker" "$T/uwsgi.log"
check "uWSGI creates tunv0 in its namespace with 10.77.0.2" \
	wait_for 10 bash -c "nsenter --net=/proc/$UW/ns/net ip -4 addr show dev tunv0 | grep -q 10.77.0.2/24"
check "uWSGI runs in another network namespace" \
	test "$(readlink "/proc/$UW/ns/net")" != "$(readlink /proc/self/ns/net)"
bg_start nsenter --net="/proc/$UW/ns/net" python3 -m http.server 8080 --bind 10.77.0.2 \
	--directory "$T/www" >"$T/http.log" 2>&1
check "the uWSGI side pings the router (its first packet: the router learns 10.77.0.2)" \
	wait_for 5 in_uw python3 "$PEERS/ttpeer.py" ping 10.77.0.1 --timeout 1
check "the router knows the uWSGI peer by 10.77.0.2" \
	tt_eval 'peer("10.77.0.2")["kind"] == "socket" and "socket peer" in peer("10.77.0.2")["name"]'
check "ping 10.77.0.2 from the emperor's namespace" ttpeer ping 10.77.0.2
check "curl http://10.77.0.2:8080/ through the router" \
	wait_for 5 bash -c "curl -sS --max-time 2 http://10.77.0.2:8080/ | grep -q 'hello through tuntap'"
check "the peer's stats count packets both ways" \
	tt_eval 'peer("10.77.0.2")["packets_in"] >= 5 and peer("10.77.0.2")["packets_out"] >= 5 and peer("10.77.0.2")["bytes_in"] > 500'
check "the host device's counters too" \
	tt_eval 't["host"]["packets_in"] >= 5 and t["host"]["packets_out"] >= 5'
check "/metrics has the tuntap figures: peers, the host's and the socket peer's packets, drops" \
	bash -c 'm=$(curl -s --max-time 3 http://127.0.0.1:18999/metrics) &&
		grep -q "^imperium_tuntap_peers [1-9]" <<<"$m" &&
		grep -Eq "^imperium_tuntap_packets_total\{peer=\"host\",direction=\"in\"\} [1-9]" <<<"$m" &&
		grep -Eq "^imperium_tuntap_packets_total\{peer=\"socket peer [^\"]*\",direction=\"out\"\} [1-9]" <<<"$m" &&
		grep -q "^imperium_tuntap_dropped_packets_total{reason=\"spoof\"}" <<<"$m"'
UW_NAME=$(emperor_cli stats | python3 -c '
import json, sys
t = json.load(sys.stdin)["tuntap"]
print(next(p["name"] for p in t["peers"] if "10.77.0.2" in p["addresses"]))')

# --- a second peer claiming 10.77.0.2 is refused, the first keeps it ---
check "a second peer sending from 10.77.0.2 is disconnected" \
	ttpeer peer "$SOCK" send 10.77.0.2 10.77.0.1 eof
check "the refusal is logged with both names" \
	log_has "refused: address 10.77.0.2 is $UW_NAME"
check "and counted" tt_eval 't["peers_refused"]["duplicate_address"] == 1'
check "the first still answers ping" ttpeer ping 10.77.0.2
check "and HTTP" bash -c "get 10.77.0.2:8080 | grep -q 'hello through tuntap'"
check "10.77.0.2 is still the uWSGI peer's" tt_eval "peer('10.77.0.2')['name'] == '$UW_NAME'"

# --- a hand-made peer: spoofing, vassal to vassal, rules, then garbage ---
bg_start python3 "$PEERS/ttpeer.py" peer "$SOCK" \
	echo 10.77.0.3 10.77.0.1 \
	send 10.77.0.99 10.77.0.1 noreply \
	send 10.77.0.3 10.77.0.2 noreply \
	rules echo 10.77.0.3 10.77.0.1 \
	waitfile "$T/go" garbage eof >"$T/peer3.out" 2>&1
P3=$BG_PID
check "the hand-made peer learns 10.77.0.3 and its echo comes back" \
	wait_for 5 tt_eval 'peer("10.77.0.3")["packets_out"] >= 2'
check "its spoofed packet is dropped and counted as spoof" \
	tt_eval 'peer("10.77.0.3")["drops"]["spoof"] == 1 and t["drops"]["spoof"] >= 1'
check "the spoof is logged with its name" log_has "dropped a packet from 10.77.0.99: not its address"
check "peer to peer is denied by default (counted as firewall)" \
	tt_eval 'peer("10.77.0.3")["drops"]["firewall"] == 1 and peer("10.77.0.2")["packets_out"] >= 1'
check "its uWSGI rule block is skipped" tt_eval 'peer("10.77.0.3")["rules_ignored"] == 1'
touch "$T/go"
wait "$P3"
check "every step of the hand-made peer did what it should (garbage ends in EOF)" test $? -eq 0
check "the garbage disconnect is logged with its name" \
	grep -Eq 'tuntap: socket peer [0-9]+ \(pid [0-9]+\): disconnected: framing error: bad_modifier1' \
	"$T/emperor.log"
check "it is gone and counted" \
	tt_eval 'peer("10.77.0.3") is None and t["disconnected_malformed"] == 1'
check "the uWSGI peer still answers ping" ttpeer ping 10.77.0.2
check "and HTTP" bash -c "get 10.77.0.2:8080 | grep -q 'hello through tuntap'"

# --- a run of malformed packets ---
check "100 malformed packets in a row disconnect a peer" \
	ttpeer peer "$SOCK" echo 10.77.0.4 10.77.0.1 badpkts 100 eof
check "logged as such" log_has "disconnected: too many malformed packets in a row"
check "counted as malformed" tt_eval 't["drops"]["malformed"] >= 100 and t["disconnected_malformed"] == 2'

# --- IPv6 (uWSGI's tuntap router and device are IPv4 only) ---
check "an ICMPv6 echo fd77::5 -> fd77::1 through the router, and its reply back" \
	ttpeer peer "$SOCK" echo fd77::5 fd77::1 echo fd77::5 fd77::1
check "a v6 peer cannot send from another v6 address" \
	ttpeer peer "$SOCK" echo fd77::6 fd77::1 send fd77::7 fd77::1 noreply

# --- firewall: a rule added by SIGHUP, then removed, the peers staying ---
write_ini "tuntap-router-firewall-in = deny any 10.77.0.2 tcp 8080"
kill -HUP "$EMP_PID"
check "SIGHUP reloads the firewall" wait_for 3 log_has "tuntap: firewall reloaded: 1 in rules"
check "the rule blocks HTTP to 10.77.0.2:8080" bash -c '! get 10.77.0.2:8080 2'
check "but not ping" ttpeer ping 10.77.0.2
check "the drops are in the stats" \
	tt_eval 'peer("10.77.0.2")["drops"]["firewall"] >= 1 and t["drops"]["firewall"] >= 2 and t["firewall_in"] == 1'
check "the uWSGI peer stayed connected through the reload" \
	tt_eval "peer('10.77.0.2')['name'] == '$UW_NAME'"
write_ini
kill -HUP "$EMP_PID"
check "SIGHUP again removes the rule" wait_for 3 log_has "tuntap: firewall reloaded: 0 in rules"
check "HTTP works again" bash -c "get 10.77.0.2:8080 | grep -q 'hello through tuntap'"
echo "tuntap-router-firewall-in = nonsense" >>"$T/emperor.ini"
kill -HUP "$EMP_PID"
check "a broken emperor.ini on SIGHUP keeps the rules and says why" \
	wait_for 3 log_has "tuntap-router-firewall-in: .*tuntap firewall left as it was"
check "the router goes on" ttpeer ping 10.77.0.2

# --- exit ---
kill -TERM "$EMP_PID"
wait_for 10 bash -c "! kill -0 $EMP_PID"
check "the emperor exits" bash -c "! kill -0 $EMP_PID 2>/dev/null"
check "tunr0 is gone" bash -c '! ip link show tunr0 2>/dev/null'
check "the socket is removed" test ! -e "$SOCK"
finish
