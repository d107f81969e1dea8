#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tuntap router's offloads at a small MTU (`tuntap-mtu = 1500`): its
# host device and the vassals' tun devices carry a virtio_net_hdr with
# checksum and segmentation offload, so TCP crosses the router in segments
# of up to 64 KiB although every device has MTU 1500.
#  1. the emperor's router (tt0, 10.79.0.1/24, fd79::1/64) with two jailed
#     vassals va (10.79.0.2, fd79::2) and vb (10.79.0.3, fd79::3), vassal to
#     vassal allowed by `tuntap-router-firewall-out`: the stats say
#     segmentation_offload, the devices have MTU 1500;
#  2. 32 MiB of random data host -> va over IPv4, the same sha256 on both
#     ends, and the packets va was given were larger than the MTU on
#     average (its peer's bytes_out / packets_out over the transfer), with
#     no drops;
#  3. the same va -> host (va's packets_in), va -> vb and host -> va over
#     IPv6;
#  4. a real uWSGI (Debian's, tuntap plugin, `tuntap-device` on our socket,
#     10.79.0.9/24 in a network namespace of its own, MTU 1500, whole
#     packets only) joins as a framed peer: 8 MiB host -> uWSGI and back,
#     same sha256; segmentation offload stays on with it attached, the
#     router counts the packets it cut for it ("segmented"), and va still
#     gets segments larger than the MTU.
# Only namespaces the test makes, private addresses, nothing forwarded out.
. "$(dirname "$0")/lib.sh"
trap 'kill_bg; cleanup' EXIT

command -v uwsgi >/dev/null || { not_ok "uwsgi is not installed"; exit 1; }
BULK="$ROOT/tests/integration/peers/bulk.py"
MIB=$((1024 * 1024))

tv_file() { tun_vassal "$T" "$@"; }

# tt_snap FILE: the stats' "tuntap" object into FILE.
tt_snap() {
	emperor_cli stats | python3 -c '
import json, sys
json.dump(json.load(sys.stdin)["tuntap"], open(sys.argv[1], "w"))
' "$1"
}

# tt_growth BEFORE AFTER PEER:DIR...: for each PEER (a vassal's name, or
# "socket" for the framed peer) and DIR (in, out), print
# "PEER:DIR PACKETS AVG" over the two snapshots, then "drops N WHO:N...":
# how many drops the router and the named peers counted in between, and
# for what.
tt_growth() {
	python3 - "$@" <<'EOF'
import json, sys
b, a = (json.load(open(f)) for f in sys.argv[1:3])
def peer(t, n):
    return next((p for p in t["peers"] if p["name"] in (n, "vassal " + n) or
                 (n == "socket" and p["kind"] == "socket")), None)
why = {}
def count(who, db, da):
    for k in da:
        if da[k] != db.get(k, 0):
            why[f"{who} {k}"] = da[k] - db.get(k, 0)
count("router", b["drops"], a["drops"])
for arg in sys.argv[3:]:
    n, d = arg.split(":")
    pb, pa = peer(b, n), peer(a, n)
    if pb is None or pa is None:
        print(f"{arg} 0 0")
        why[f"{n} gone"] = 1
        continue
    pk = pa["packets_" + d] - pb["packets_" + d]
    by = pa["bytes_" + d] - pb["bytes_" + d]
    print(f"{arg} {pk} {by // pk if pk else 0}")
    count(n, pb["drops"], pa["drops"])
print("drops", sum(why.values()), " ".join(f"{k}:{v}" for k, v in why.items()))
EOF
}

# ns_of PID: an nsenter prefix for PID's network namespace (none for "").
ns_of() { [ -z "$1" ] || echo "nsenter -t $1 -n --"; }

# transfer TAG SRV_PID SRV_ADDR PORT SRV_MODE BYTES CLI_PID: a bulk.py
# server in SRV_PID's network namespace ("" for this one) that receives
# (SRV_MODE recv) or sends (send) BYTES, and a client in CLI_PID's. True
# when both ends saw BYTES bytes with the same sha256; says what it saw in
# $XFER.
transfer() {
	local tag=$1 sp=$2 addr=$3 port=$4 smode=$5 n=$6 cp=$7 cmode=send out rc=0
	[ "$smode" = send ] && cmode=recv
	rm -f "$T/$tag.ready" "$T/$tag.srv"
	# shellcheck disable=SC2046
	bg_start $(ns_of "$sp") python3 "$BULK" serve "$addr" "$port" "$smode" "$n" \
		--ready "$T/$tag.ready" --out "$T/$tag.srv" --timeout 25 2>>"$T/bulk.log"
	local srv=$BG_PID
	if ! wait_for 5 test -e "$T/$tag.ready"; then
		XFER="the server did not listen"
		kill_bg KILL "$srv"
		return 1
	fi
	# shellcheck disable=SC2046
	out=$($(ns_of "$cp") python3 "$BULK" connect "$addr" "$port" "$cmode" "$n" --timeout 20 \
		2>>"$T/bulk.log") || rc=$?
	wait_for 5 test -e "$T/$tag.srv"
	local srv_out
	srv_out=$(cat "$T/$tag.srv" 2>/dev/null)
	kill_bg KILL "$srv"
	XFER="client rc $rc: ${out:-nothing}; server: ${srv_out:-nothing}"
	[ "$rc" = 0 ] && [ -n "$out" ] && [ "$out" = "$srv_out" ] && [ "${out%% *}" = "$n" ]
}

# bulk_case DESC TAG SRV_PID SRV_ADDR PORT SRV_MODE BYTES CLI_PID PEER:DIR...:
# a transfer checked for its hash, then each PEER:DIR for an average
# packet size over 1500 bytes, and no drops in between.
bulk_case() {
	local desc=$1 tag=$2
	shift 2
	local args=("$@")
	tt_snap "$T/$tag.before"
	check "$desc: $((args[4] / MIB)) MiB, the same sha256 on both ends" \
		transfer "$tag" "${args[@]:0:6}"
	echo "# $desc: $XFER"
	tt_snap "$T/$tag.after"
	local g pd f d
	g=$(tt_growth "$T/$tag.before" "$T/$tag.after" "${args[@]:6}")
	for pd in "${args[@]:6}"; do
		read -r -a f <<<"$(grep "^$pd " <<<"$g")"
		d="$desc: $pd packets averaged over 1500 bytes"
		check "$d (${f[1]:-?} packets, ${f[2]:-?} bytes each)" [ "${f[2]:-0}" -gt 1500 ]
	done
	read -r -a f <<<"$(grep '^drops ' <<<"$g")"
	check "$desc: no drops (${f[*]:1})" [ "${f[1]:-}" = 0 ]
}

# ---- 1. the router at MTU 1500, two vassals ----
# tt0 has no IPv6 link-local address, so it sends no router solicitations
# (to ff02::2, every few seconds after it comes up), which the router could
# only count as drops (no route) in the middle of a transfer.
emperor_ini "tuntap-router = tt0 $T/tt.sock" "tuntap-mtu = 1500" \
	"tuntap-router-ip = 10.79.0.1/24" "tuntap-router-ip = fd79::1/64" \
	"tuntap-router-firewall-out = allow 10.79.0.2 10.79.0.3" \
	"tuntap-router-firewall-out = allow 10.79.0.3 10.79.0.2" \
	"tuntap-router-firewall-out = allow fd79::2 fd79::3" \
	"tuntap-router-firewall-out = allow fd79::3 fd79::2"
start_emperor || { not_ok "emperor with tuntap-router did not start"; exit 1; }
for v in va:2 vb:3; do
	tv_file "${v%:*}" "10.79.0.${v#*:}" "tuntap-device = tv0 $T/tt.sock" \
		"tuntap-ip = 10.79.0.${v#*:}/24" "tuntap-ip = fd79::${v#*:}/64" \
		"tuntap-gateway = 10.79.0.1" "tuntap-gateway = fd79::1"
done
wait_for 10 is_state va running
wait_for 10 is_state vb running
wait_for 5 tt_eval 'peer("va") and peer("vb")'
check "both vassals run, attached to the router" \
	bash -c "$(declare -f is_state); is_state va running && is_state vb running"
check "the stats say segmentation_offload true" tt_eval 't["segmentation_offload"] is True'
check "the stats say the router's MTU is 1500" tt_eval 't["mtu"] == 1500'
check "the host device tt0 has MTU 1500" bash -c "ip -o link show dev tt0 | grep -q 'mtu 1500 '"
check "the host device tt0 has no IPv6 link-local address" \
	bash -c "ip -6 -o addr show dev tt0 | grep -q 'fd79::1/64' && ! ip -6 -o addr show dev tt0 | grep -q fe80"
VA=$(vassal_pid va)
VB=$(vassal_pid vb)
for v in va:$VA vb:$VB; do
	check "${v%:*}'s tv0 has MTU 1500" \
		bash -c "nsenter -t ${v#*:} -n -- ip -o link show dev tv0 | grep -q 'mtu 1500 '"
done
# IPv6 addresses usable (duplicate address detection over) before the v6 case
wait_for 5 bash -c "! nsenter -t $VA -n -- ip -6 addr show dev tv0 | grep -q tentative"
wait_for 5 bash -c "! ip -6 addr show dev tt0 | grep -q tentative"

# ---- 2. and 3. bulk TCP, each way ----
bulk_case "host -> va (v4)" h2v "$VA" 10.79.0.2 9101 recv $((32 * MIB)) "" va:out
bulk_case "va -> host (v4)" v2h "$VA" 10.79.0.2 9102 send $((32 * MIB)) "" va:in
bulk_case "va -> vb (v4)" v2v "$VB" 10.79.0.3 9103 recv $((32 * MIB)) "$VA" va:in vb:out
bulk_case "host -> va (v6)" h2v6 "$VA" fd79::2 9104 recv $((32 * MIB)) "" va:out

# ---- 4. a uWSGI framed peer joins ----
UW_IP=10.79.0.9
bg_start uwsgi --unshare net --plugin tuntap --tuntap-device "tunu0 $T/tt.sock" \
	--socket 127.0.0.1:18331 --exec-as-root "ip link set lo up" \
	--exec-as-root "ip addr add $UW_IP/24 dev tunu0" \
	--exec-as-root "sysctl -qw net.ipv6.conf.tunu0.disable_ipv6=1" \
	--exec-as-root "ip link set tunu0 up" \
	>>"$T/uwsgi.log" 2>&1
UW=$BG_PID
wait_for 15 grep -q "spawned uWSGI worker" "$T/uwsgi.log"
wait_for 10 bash -c "nsenter -t $UW -n -- ip -4 -o addr show dev tunu0 | grep -q 'inet $UW_IP/'"
# its first packet (a UDP datagram to the discard port) tells the router
# its address
nsenter -t "$UW" -n -- python3 -c "import socket; socket.socket(socket.AF_INET, \
socket.SOCK_DGRAM).sendto(b'x', ('10.79.0.1', 9))"
wait_for 5 tt_eval "any(p['kind'] == 'socket' and '$UW_IP' in p['addresses'] for p in t['peers'])"
check "uWSGI's framed peer is attached as $UW_IP" \
	tt_eval "any(p['kind'] == 'socket' and '$UW_IP' in p['addresses'] for p in t['peers'])"
check "uWSGI's device tunu0 has MTU 1500" \
	bash -c "nsenter -t $UW -n -- ip -o link show dev tunu0 | grep -q 'mtu 1500 '"
check "segmentation_offload stays true with the framed peer attached" \
	tt_eval 't["segmentation_offload"] is True'
check "host -> uWSGI (v4): 8 MiB, the same sha256 on both ends" \
	transfer h2u "$UW" "$UW_IP" 9105 recv $((8 * MIB)) ""
echo "# host -> uWSGI: $XFER"
seg=$(emperor_cli stats | python3 -c '
import json, sys
print(json.load(sys.stdin)["tuntap"].get("segmented", "absent"))
')
check "the router counted packets it segmented for the framed peer (segmented: $seg)" \
	tt_eval 'type(t.get("segmented")) is int and t["segmented"] > 0'
check "uWSGI -> host (v4): 8 MiB, the same sha256 on both ends" \
	transfer u2h "$UW" "$UW_IP" 9106 send $((8 * MIB)) ""
echo "# uWSGI -> host: $XFER"
bulk_case "with the framed peer: host -> va (v4)" h2v2 "$VA" 10.79.0.2 9107 recv \
	$((32 * MIB)) "" va:out
check "the framed peer is still attached" \
	tt_eval "any(p['kind'] == 'socket' and '$UW_IP' in p['addresses'] for p in t['peers'])"
finish
