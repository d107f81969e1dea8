#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Cheaper and memory limits under a controlled load: `spare` grows while
# every worker is busy and shrinks back when they idle, `backlog` grows on a
# full accept queue, the hard RSS limit stops the last spawned worker, the
# soft one holds spawns back, `reload-on-rss` recycles a fat worker; and a frozen
# vassal (SIGSTOP) stops renewing its subscription, so the router expires
# it, and takes it back once it thaws.
. "$(dirname "$0")/lib.sh"

HTTP=18490
trap 'kill_bg; cleanup' EXIT
emperor_ini "use-clone = ipc,uts,fs,pid,net" "stop-timeout = 5" "heartbeat-timeout = 30" \
	"http = 127.0.0.1:$HTTP" "subscription-tolerance = 3"

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
workers_of() {
	local vp
	vp=$(vassal_pid "$1") || return 1
	[ -n "$vp" ] && [ "$vp" != 0 ] || return 1
	tr ' ' '\n' <"/proc/$vp/task/$vp/children" | grep .
}
n_workers() { workers_of "$1" | wc -l; }
has_workers() { [ "$(n_workers "$1")" -eq "$2" ]; }
# load PORT N SECONDS MS: N clients asking /sleep?ms=MS in a loop for SECONDS.
load() {
	local i
	for i in $(seq "$2"); do
		bg_start bash -c "end=\$((SECONDS + $3)); while [ \$SECONDS -lt \$end ]; do
			curl -s -o /dev/null --max-time 5 http://127.0.0.1:$1/sleep?ms=$4; done"
	done
}
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "Host: $1" "http://127.0.0.1:$HTTP/"; }
is_status() { [ "$(status_of "$1")" = "$2" ]; }

jailed_vassal elastic 18491 "workers = 4" "cheaper = 1" "cheaper-initial = 1" \
	"cheaper-overload = 2" "worker-ready = notify"
jailed_vassal queue 18492 "workers = 3" "cheaper = 1" "cheaper-algo = backlog" \
	"cheaper-backlog = 2" "cheaper-overload = 2" "worker-ready = notify"
jailed_vassal fat 18493 "workers = 2" "cheaper = 1" "cheaper-initial = 2" \
	"cheaper-overload = 600" "cheaper-rss-limit-hard = 48M" "worker-ready = notify"
jailed_vassal soft 18496 "workers = 3" "cheaper = 1" "cheaper-overload = 2" \
	"cheaper-rss-limit-soft = 24M" "worker-ready = notify"
jailed_vassal recycled 18494 "reload-on-rss = 40M" "worker-ready = notify"
jailed_vassal frozen 18495 "domain = frozen.test" "subscribe-freq = 1"
check "emperor starts" start_emperor
for v in elastic queue fat soft recycled frozen; do
	check "$v runs" wait_for 5 is_state $v running
done

# ---- spare ----
check "elastic starts with cheaper-initial = 1 worker" wait_for 3 eval "has_workers elastic 1 && wk elastic 'w[\"target\"] == 1 and w[\"min\"] == 1 and w[\"max\"] == 4'"
check "its idle worker is seen idle" wait_for 3 wk elastic 'w["idle"] == 1 and w["busy"] == 0'
load 18491 3 9 300
check "under load every worker is busy, and cheaper grows to 3 or more" \
	wait_for 10 eval "[ \$(n_workers elastic) -ge 3 ]"
check "growth is logged with the figures" log_has "cheaper: all 1 workers busy for 2 checks: spawning 1"
check "the stats count the spawns" wk elastic 'w["cheaper"]["spawned"] >= 2 and w["cheaper"]["algo"] == "spare"'
check "never past workers = 4" wk elastic 'w["running"] <= 4'
kill_bg
check "idle again, it shrinks back to cheaper = 1" wait_for 15 eval "has_workers elastic 1 && wk elastic 'w[\"target\"] == 1'"
check "each stop is logged" log_has "cheaper: .*idle for 2 checks: stopping one"
check "the last decision is in the stats" wk elastic '"stopping one" in w["last_decision"]'

# ---- backlog ----
load 18492 6 6 500
check "backlog: a queue above cheaper-backlog grows the workers" wait_for 8 eval "[ \$(n_workers queue) -ge 2 ]"
check "with the queue in the log" log_has "cheaper: accept queue [0-9]* > cheaper-backlog 2 for 2 checks: spawning 1"
check "backlog is the algorithm in the stats" wk queue 'w["cheaper"]["algo"] == "backlog"'
kill_bg

# ---- the hard RSS limit ----
check "fat runs its 2 workers" wait_for 3 has_workers fat 2
last=$(workers_of fat | sort -n | tail -n1)
for i in 1 2; do curl -s -o /dev/null --max-time 5 "http://127.0.0.1:18493/alloc?mb=32"; done
check "past the hard limit one worker is stopped, and logged with the figures" \
	wait_for 4 log_has "cheaper: workers' RSS [0-9.]* MiB >= cheaper-rss-limit-hard 48.0 MiB: stopping one of 2 workers"
check "it was the last spawned" wait_for 3 eval "has_workers fat 1 && ! workers_of fat | grep -qx $last"

# ---- the soft RSS limit ----
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:18496/alloc?mb=32"
check "soft's one worker is past the soft limit" wait_for 3 wk soft 'w["rss"] >= 24 * 2**20'
load 18496 2 5 300
check "all busy but above the soft limit: no spawn, said once" \
	wait_for 5 log_has "cheaper: workers' RSS [0-9.]* MiB >= cheaper-rss-limit-soft 24.0 MiB: not spawning"
sleep 2
check "it still runs one worker" has_workers soft 1
check "the refusal was logged once" test "$(grep -c 'cheaper-rss-limit-soft 24.0 MiB: not spawning' "$T/emperor.log")" -eq 1
kill_bg

# ---- reload-on-rss ----
old=$(workers_of recycled)
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:18494/alloc?mb=64"
check "a worker grown past reload-on-rss is recycled" \
	wait_for 4 log_has "RSS [0-9.]* MiB > reload-on-rss 40.0 MiB: recycling"
check "a fresh worker replaces it" wait_for 3 eval "has_workers recycled 1 && ! workers_of recycled | grep -qx $old"
check "the recycle is counted" wk recycled 'w["rss_recycled"] == 1'
check "it serves" bash -c "curl -s --max-time 3 http://127.0.0.1:18494/ | grep -q 'hello from recycled'"

# ---- subscriptions: renewed, expired when frozen, back when thawed ----
check "frozen.test is served" wait_for 3 is_status frozen.test 200
sleep 4
check "renewed: still there after more than the 3 s tolerance" is_status frozen.test 200
vp=$(vassal_pid frozen)
kill -STOP "$vp"
check "frozen (SIGSTOP), its node expires after the tolerance" wait_for 7 is_status frozen.test 404
check "the expiry is logged" log_has "router: frozen.test: node 127.0.0.1:18495 expired"
kill -CONT "$vp"
check "thawed, it is announced and served again" wait_for 4 is_status frozen.test 200
finish
