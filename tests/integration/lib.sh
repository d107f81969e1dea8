# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the integration tests. Sourcing it:
#   - re-executes the test inside a fresh network namespace (unshare --net),
#     with only its own loopback up, so nothing touches the host's network;
#   - makes a temp dir $T holding the emperor.ini, vassals.d/, run dir and
#     logs, removed on exit together with every process the test started
#     (killed by PID);
#   - gives ok/not_ok/check helpers printing "ok N - ..." / "not ok N - ...".
# A test that cannot run where it must fails; it never passes by skipping.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="$ROOT/${IMP_BUILD:-build}"

if [ -z "${IMP_IN_NETNS:-}" ]; then
	export IMP_IN_NETNS=1
	exec unshare --net -- bash "$0" "$@"
fi
ip link set lo up || { echo "not ok 1 - cannot bring lo up in the test netns"; exit 1; }

T=$(mktemp -d /tmp/imperium-test.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/vassals.d"
EMP_PID=
TEST_N=0
TEST_FAILED=0

ok() { TEST_N=$((TEST_N + 1)); echo "ok $TEST_N - $*"; }
not_ok() { TEST_N=$((TEST_N + 1)); TEST_FAILED=$((TEST_FAILED + 1)); echo "not ok $TEST_N - $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

# wait_for SECONDS COMMAND...: poll every 20 ms until the command succeeds
# or SECONDS (wall clock, may be fractional) have passed.
wait_for() {
	local now=${EPOCHREALTIME/./}
	local deadline=$((now + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000000 }')))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

cleanup() {
	local rc=$?
	if [ -n "$EMP_PID" ] && kill -0 "$EMP_PID" 2>/dev/null; then
		kill -TERM "$EMP_PID" 2>/dev/null
		wait_for 10 bash -c "! kill -0 $EMP_PID" || kill -KILL "$EMP_PID" 2>/dev/null
	fi
	if [ "$TEST_FAILED" -gt 0 ] && [ -f "$T/emperor.log" ]; then
		echo "# last lines of the emperor's log:"
		tail -n 40 "$T/emperor.log" | sed 's/^/#   /'
	fi
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
	[ "$TEST_FAILED" -eq 0 ] && exit "$rc"
	exit 1
}
trap cleanup EXIT

# emperor_ini [EXTRA LINES...]: write $T/emperor.ini.
emperor_ini() {
	{
		echo "[emperor]"
		echo "vassals = $T/vassals.d"
		echo "stats = $T/stats.sock"
		echo "run-dir = $T/run"
		printf '%s\n' "$@"
	} >"$T/emperor.ini"
}

start_emperor() {
	"$BIN/emperor" -c "$T/emperor.ini" >>"$T/emperor.log" 2>&1 &
	EMP_PID=$!
	wait_for 5 test -S "$T/stats.sock"
}

# jailed_vassal NAME PORT [EXTRA LINES...]: a fully jailed demo vassal.
jailed_vassal() {
	local name=$1 port=$2; shift 2
	{
		echo "[vassal]"
		echo "exec = /app/hello"
		echo "socket = 127.0.0.1:$port"
		echo "use-clone = ipc,uts,fs,pid,net"
		echo "bind-ro = $BIN/hello:/app/hello"
		echo "hostname = $name"
		echo "uid = 65534"
		printf '%s\n' "$@"
	} >"$T/vassals.d/.$name.tmp"
	mv "$T/vassals.d/.$name.tmp" "$T/vassals.d/$name.ini"
}

emperor_cli() { "$BIN/emperor" "$@" -s "$T/stats.sock"; }

# tun_vassal DIR NAME IP [EXTRA LINES...]: DIR/vassals.d/NAME.ini, a jailed
# demo vassal with a network namespace of its own, listening on IP:8080
# (HELLO_ADDR, its tun address), with no socket of the emperor's.
tun_vassal() {
	local dir=$1 name=$2 ip=$3
	shift 3
	{
		echo "[vassal]"
		echo "exec = /app/hello"
		echo "env = HELLO_ADDR=$ip:8080"
		echo "use-clone = ipc,uts,fs,pid,net"
		echo "bind-ro = $BIN/hello:/app/hello"
		echo "hostname = $name"
		echo "uid = 65534"
		printf '%s\n' "$@"
	} >"$dir/vassals.d/.$name.tmp"
	mv "$dir/vassals.d/.$name.tmp" "$dir/vassals.d/$name.ini"
}

# tt_eval EXPR: the python expression EXPR over the emperor's stats'
# "tuntap" object (as t; peer(NAME) the peer of vassal NAME, or None) is
# true.
tt_eval() {
	emperor_cli stats | python3 -c '
import json, sys
t = json.load(sys.stdin)["tuntap"]
def peer(n):
    return next((p for p in t["peers"] if p["name"] in (n, "vassal " + n)), None)
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$1"
}

# vassal_field NAME FIELD: one field of a vassal in the stats JSON.
vassal_field() {
	emperor_cli stats | python3 -c '
import json, sys
doc = json.load(sys.stdin)
for v in doc["vassals"]:
    if v["name"] == sys.argv[1]:
        print(v[sys.argv[2]])
' "$1" "$2"
}

vassal_state() { vassal_field "$1" state; }
vassal_pid() { vassal_field "$1" pid; }
is_state() { [ "$(vassal_state "$1")" = "$2" ]; }

# app_pid NAME: the first child of the vassal process (the tenant's app).
app_pid() {
	local vp
	vp=$(vassal_pid "$1") || return 1
	[ -n "$vp" ] && [ "$vp" != 0 ] || return 1
	awk '{print $1}' "/proc/$vp/task/$vp/children"
}

http_get() { curl -sS --max-time 3 "http://127.0.0.1:$1${2:-/}"; }

log_has() { grep -q -- "$1" "$T/emperor.log"; }

# bg_start COMMAND...: run COMMAND in the background in a session of its own
# (a process group kill_bg can end with its children); its PID is left in
# $BG_PID and added to BG_PIDS. A test using it calls kill_bg from its exit
# trap before cleanup.
BG_PIDS=()
bg_start() {
	setsid "$@" &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# kill_bg [SIGNAL [PID...]]: send SIGNAL (default KILL) to the process groups
# of the given bg_start PIDs (default: all of them) and reap them.
kill_bg() {
	local sig=${1:-KILL} p
	shift || true
	[ $# -gt 0 ] || set -- "${BG_PIDS[@]}"
	for p in "$@"; do
		kill "-$sig" -- "-$p" 2>/dev/null
	done
	[ "$sig" != KILL ] || wait "$@" 2>/dev/null
	return 0
}

# start_emperor_in DIR [EXTRA LINES...]: one more emperor, under bg_start,
# with its own emperor.ini, vassals.d, stats socket, run dir and log in DIR
# ($T/DIR when relative). True once its stats socket is up.
start_emperor_in() {
	local d=$1
	shift
	case $d in /*) ;; *) d="$T/$d" ;; esac
	mkdir -p "$d/vassals.d"
	{
		echo "[emperor]"
		echo "vassals = $d/vassals.d"
		echo "stats = $d/stats.sock"
		echo "run-dir = $d/run"
		printf '%s\n' "$@"
	} >"$d/emperor.ini"
	bg_start "$BIN/emperor" -c "$d/emperor.ini" >>"$d/emperor.log" 2>&1
	wait_for 5 test -S "$d/stats.sock"
}

# router_eval EXPR [STATS_SOCK]: evaluate the python expression EXPR over the
# stats JSON's "router" object (as r; sub(KEY) is KEY's subscription or None,
# node(KEY, NAME) one of its nodes or None); true when the value is.
router_eval() {
	"$BIN/emperor" stats -s "${2:-$T/stats.sock}" | python3 -c '
import json, sys
r = json.load(sys.stdin)["router"]
def sub(k):
    return next((s for s in r["subscriptions"] if s["key"] == k), None)
def node(k, name):
    s = sub(k)
    return next((n for n in s["nodes"] if n["name"] == name), None) if s else None
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$1"
}

# http_raw PORT [SECONDS] [HOST]: send stdin as is to HOST (default
# 127.0.0.1) on PORT, print what comes back until the peer closes or SECONDS
# (default 3) have passed.
http_raw() {
	python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[3], int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read())
end = time.monotonic() + float(sys.argv[2])
out = b""
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        d = s.recv(65536)
    except (socket.timeout, ConnectionError):
        break
    if not d:
        break
    out += d
sys.stdout.buffer.write(out)
' "$1" "${2:-3}" "${3:-127.0.0.1}"
}

finish() {
	echo "# $TEST_N checks, $TEST_FAILED failed"
}

export T BIN
export -f vassal_field vassal_state vassal_pid is_state emperor_cli http_get app_pid log_has wait_for \
	router_eval http_raw
