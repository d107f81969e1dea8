#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The vassal's workers: N socket-activated processes of the app behind the
# router, a dead one respawned, graceful reloads under wrk with zero errors,
# a reload whose new workers fail keeping the old ones, config changes
# applied in place (routing keys without a restart, worker keys by a
# reload), and the workers' figures in the emperor's stats.
. "$(dirname "$0")/lib.sh"

HTTP=18480
trap 'kill_bg; cleanup' EXIT
emperor_ini "use-clone = ipc,uts,fs,pid,net" "stop-timeout = 5" \
	"http = 127.0.0.1:$HTTP" "http-retries = 3" "stats-http = 127.0.0.1:18489"

# wk NAME EXPR: EXPR (python) over vassal NAME's "workers" object (as w).
wk() {
	emperor_cli stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = next(v for v in d["vassals"] if v["name"] == sys.argv[1])
w = v["workers"]
sys.exit(0 if w is not None and eval(sys.argv[2]) else 1)
' "$1" "$2"
}
# worker_pids NAME: the vassal's children, one a line: its workers.
worker_pids() {
	local vp
	vp=$(vassal_pid "$1") || return 1
	[ -n "$vp" ] && [ "$vp" != 0 ] || return 1
	tr ' ' '\n' <"/proc/$vp/task/$vp/children" | grep .
}
# apps NAME: the pids of NAME's workers, sorted, one line.
apps() { worker_pids "$1" | sort -n | tr '\n' ' '; }
n_apps() { worker_pids "$1" | wc -l; }
get() { curl -s --max-time 3 -H "Host: $1" "http://127.0.0.1:$HTTP${2:-/}"; }
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "Host: $1" "http://127.0.0.1:$HTTP/"; }
# serves HOST TEXT: the router answers HOST with TEXT in the body.
serves() { get "$1" | grep -q "$2"; }
is_404() { [ "$(status_of "$1")" = 404 ]; }
# has_workers NAME N: NAME runs exactly N worker processes.
has_workers() { [ "$(n_apps "$1")" -eq "$2" ]; }
# all_env NAME VAR=VALUE: every worker of NAME has it in its environment.
all_env() {
	local p
	for p in $(worker_pids "$1"); do
		tr '\0' '\n' <"/proc/$p/environ" | grep -qx "$2" || return 1
	done
}
# none_of NAME PIDS...: none of PIDS is a worker of NAME any more.
none_of() {
	local n=$1 p
	shift
	for p in "$@"; do worker_pids "$n" | grep -qx "$p" && return 1; done
	return 0
}

# ---- N workers sharing the sockets ----
jailed_vassal pool 18481 "workers = 3" "domain = pool.test" "worker-ready = notify" \
	"reload-mercy = 5"
check "emperor starts" start_emperor
check "the vassal is running" wait_for 5 is_state pool running
check "it runs 3 workers" wait_for 2 has_workers pool 3
check "every worker got the listening socket by socket activation" all_env pool LISTEN_FDS=1
check "and their numbers" eval "all_env pool 'IMPERIUM_WORKER=[123]' && all_env pool 'NOTIFY_SOCKET=@imperium/notify/.*'"
check "served through the router" wait_for 3 serves pool.test 'hello from pool'
seen=$(for i in $(seq 30); do get pool.test; done | grep -o 'pid: [0-9]*' | sort -u | wc -l)
check "requests are spread over several workers ($seen pids seen)" test "$seen" -ge 2
check "the stats report 3 ready workers" wait_for 2 wk pool 'w["running"] == 3 and w["ready"] == 3 and w["max"] == 3'
check "so does emperor status" eval "emperor_cli status | grep -q '^pool .* 3/3 '"
check "and Prometheus" bash -c "curl -s --max-time 3 http://127.0.0.1:18489/metrics | grep -qx 'imperium_workers_running{vassal=\"pool\"} 3'"

# ---- a dead worker is respawned ----
victim=$(worker_pids pool | head -n1)
kill -9 "$victim"
check "a killed worker is respawned" wait_for 3 eval "has_workers pool 3 && none_of pool $victim"
check "its death is logged" log_has "exited\\|killed by signal 9"
check "the respawn is counted" wait_for 2 wk pool 'w["respawned"] == 1'
check "the vassal itself stayed" is_state pool running

# ---- graceful reloads under load ----
before=$(apps pool)
out="$T/wrk.out"
bg_start wrk -t 2 -c 8 -d 20s -H "Host: pool.test" "http://127.0.0.1:$HTTP/" >"$out" 2>&1
WRK=$BG_PID
for i in $(seq 10); do
	sleep 1.6
	if [ $((i % 2)) -eq 0 ]; then
		touch "$T/vassals.d/pool.ini"
	else
		emperor_cli reload pool >/dev/null
	fi
done
wait "$WRK" 2>/dev/null
reqs=$(awk '/requests in/ {print $1}' "$out")
check "wrk ran ($reqs requests in 20 s)" test "${reqs:-0}" -gt 1000
check "zero non-2xx responses during 10 reloads" bash -c "! grep -q 'Non-2xx' '$out'"
check "zero socket errors during 10 reloads" bash -c "! grep -q 'Socket errors' '$out'"
grep -E 'Non-2xx|Socket errors' "$out" | sed 's/^/# /'
check "10 reloads were done" wait_for 5 wk pool 'w["reloads"] == 10 and w["generation"] == 11'
check "all workers were replaced" none_of pool $before
check "still 3 of them" wait_for 5 has_workers pool 3
check "the vassal process never changed" is_state pool running

# ---- a reload whose new workers fail ----
before=$(apps pool)
echo "env = HELLO_FAIL_START=3" >>"$T/vassals.d/pool.ini"
check "a worker-key change is applied as a reload" \
	wait_for 2 log_has "vassal pool: file changed (worker keys: a graceful reload)"
check "new workers failing to start fail the reload, logged" \
	wait_for 3 log_has "reload failed: new worker .* exited with status 3 before it was ready; the previous workers keep serving"
check "the old workers keep serving" eval "[ \"\$(apps pool)\" = '$before' ] && serves pool.test 'hello from pool'"
check "the failed reload is counted" wait_for 2 wk pool 'w["failed_reloads"] == 1'
sed -i '/HELLO_FAIL_START/d' "$T/vassals.d/pool.ini"
echo "env = GREETING=second" >>"$T/vassals.d/pool.ini"
check "a fixed file reloads with the new settings" wait_for 4 eval "all_env pool GREETING=second && has_workers pool 3"

# ---- routing keys change in place ----
before=$(apps pool)
vpid=$(vassal_pid pool)
echo "domain = extra.test" >>"$T/vassals.d/pool.ini"
check "a new domain is served" wait_for 4 serves extra.test 'hello from pool'
check "without restarting the workers" test "$(apps pool)" = "$before"
check "nor the vassal" test "$(vassal_pid pool)" = "$vpid"
check "the change is logged as routing only" log_has "new config: updating the subscriptions, the workers stay"
sed -i '/^domain = pool.test$/d' "$T/vassals.d/pool.ini"
check "a domain taken out of the file is forgotten at once" wait_for 2 is_404 pool.test
check "the other one stays" serves extra.test 'hello from pool'
check "still the same workers" test "$(apps pool)" = "$before"

# ---- the Debian uWSGI as the app, several workers, ready by sd_notify ----
cat >"$T/app.py" <<'EOF'
import os
def application(env, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("uwsgi worker %d\n" % os.getpid()).encode()]
EOF
cat >"$T/vassals.d/uw.ini" <<EOF
[vassal]
exec = uwsgi --plugin python3 --http-socket fd://3 --wsgi-file $T/app.py --die-on-term --master --processes 1
socket = 127.0.0.1:18482
domain = uw.test
workers = 2
worker-ready = notify
EOF
check "uWSGI workers become ready by sd_notify" wait_for 15 is_state uw running
check "two of them" wait_for 5 wk uw 'w["ready"] == 2'
check "uWSGI is served through the router" wait_for 3 serves uw.test 'uwsgi worker'
before=$(apps uw)
emperor_cli reload uw >/dev/null
check "a uWSGI reload replaces both masters" wait_for 15 eval "has_workers uw 2 && none_of uw $before"
check "and it serves again" wait_for 3 serves uw.test 'uwsgi worker'
rm "$T/vassals.d/uw.ini"
check "removed, its key is gone at once" wait_for 3 is_404 uw.test

# ---- stop: workers get SIGTERM and the keys go ----
rm "$T/vassals.d/pool.ini"
check "stopping: the workers say goodbye" wait_for 5 log_has "hello: bye"
check "the router forgot extra.test" wait_for 2 is_404 extra.test
finish
