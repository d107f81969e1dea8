#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Supervision: a crash loop is throttled with growing back-off; output is
# captured and logged through the encoders; stats are right; SIGTERM leaves
# no process behind, and neither does a killed emperor.
. "$(dirname "$0")/lib.sh"

emperor_ini "use-clone = ipc,uts,fs,pid,net" "throttle = 100" "max-throttle = 400" \
	"stop-timeout = 2" "heartbeat-timeout = 2" "exec-as-root = echo hooked > $T/emperor-hook" \
	'log-encoder = json {"t":${micros},"vassal":"${vassal}","msg":"${msg}"}' \
	"log-encoder = nl"
jailed_vassal steady 18301 "heartbeat = 1"
jailed_vassal crashy 18302 "env = HELLO_EXIT_AFTER_MS=20" "heartbeat = 1"
jailed_vassal quiet 18303 "heartbeat = 30"
cat >"$T/vassals.d/stubborn.ini" <<EOF
[vassal]
exec = /bin/sh -c 'trap "" TERM; echo stubborn-up; while :; do read x < /dev/zero; done'
use-clone = ipc,uts,fs,pid,net
bind-ro = /bin
bind-ro = /lib
bind-ro = /lib64
heartbeat = 1
EOF
check "emperor starts" start_emperor
check "the emperor's exec-as-root hook ran before it served" \
	test "$(cat "$T/emperor-hook" 2>/dev/null)" = hooked
check "steady runs" wait_for 5 is_state steady running

sleep 3
r=$(vassal_field crashy restarts)
check "the crash loop is throttled (restarts in 3 s: $r, between 3 and 12)" \
	test "$r" -ge 3 -a "$r" -le 12
check "the back-off doubles (0.2 s seen)" log_has "respawn in 0.2 s"
check "the back-off is capped by max-throttle (0.4 s seen, 0.8 s never)" \
	bash -c 'log_has "respawn in 0.4 s" && ! log_has "respawn in 0.8 s"'
check "the last exit status is reported" test "$(vassal_field crashy last_exit)" = "exited 1"
check "the crash loop did not disturb steady" test "$(vassal_field steady restarts)" = 0

http_get 18301 /some/path >/dev/null
check "the app's stdout is captured and logged" wait_for 2 log_has "hello: GET /some/path"
check "every log line is JSON with the vassal's name" python3 -c '
import json, sys
seen = False
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert set(d) == {"t", "vassal", "msg"}, d
    if d["vassal"] == "steady" and d["msg"] == "hello: GET /some/path":
        seen = True
assert seen
' "$T/emperor.log"
check "the emperor's own lines say vassal=emperor" \
	grep -q '"vassal":"emperor","msg":"emperor: stats and control' "$T/emperor.log"

json=$(emperor_cli stats)
check "stats JSON has the emperor and every vassal field" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["emperor"]["pid"] > 0 and d["emperor"]["rss"] > 0
v = [x for x in d["vassals"] if x["name"] == "steady"][0]
for k in ("name", "file", "pid", "state", "namespaces", "started", "restarts", "last_exit", "rss"):
    assert k in v, k
assert v["namespaces"] == "ipc,uts,fs,pid,net", v["namespaces"]
assert v["file"].endswith("/vassals.d/steady.ini")
assert v["rss"] > 0 and v["started"] > 1600000000
' "$json"
check "a silent client of the stats socket gets the JSON" \
	python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
data = b""
while True:
    c = s.recv(65536)
    if not c: break
    data += c
json.loads(data)
' "$T/stats.sock"

check "a vassal silent past heartbeat-timeout is killed and respawned" \
	wait_for 4 log_has "vassal quiet: no heartbeat for 2.0 s: killing it"
check "stubborn runs" wait_for 3 log_has "stubborn-up"
sp=$(vassal_pid stubborn)
emperor_cli stop stubborn >/dev/null
check "a vassal ignoring SIGTERM is SIGKILLed after stop-timeout" \
	wait_for 4 log_has "vassal stubborn: still alive 2.0 s after SIGTERM: SIGKILL"
check "and is stopped" wait_for 2 is_state stubborn stopped
check "its processes are gone" bash -c "! kill -0 $sp 2>/dev/null"
rm "$T/vassals.d/quiet.ini" "$T/vassals.d/stubborn.ini"

# Every process of the emperor's tree, before stopping it.
pids=$(ps -e -o pid=,ppid= | awk -v root="$EMP_PID" '
	{ parent[$1] = $2 } END {
		for (p in parent) { q = p; while (q in parent && q != root && q != 1 && q != 0) q = parent[q]; if (q == root) print p }
	}')
check "the emperor has vassal processes" test -n "$pids"
kill -TERM "$EMP_PID"
check "SIGTERM: the emperor exits" wait_for 5 bash -c "! kill -0 $EMP_PID 2>/dev/null"
left=""
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check "SIGTERM: no process is left behind (left:$left)" test -z "$left"
check "the stats socket is removed" test ! -e "$T/stats.sock"

: >"$T/emperor.log"
check "a second emperor starts" start_emperor
check "steady runs again" wait_for 5 is_state steady running
vp=$(vassal_pid steady)
ap=$(app_pid steady)
kill -KILL "$EMP_PID"
check "a killed emperor takes its vassals with it" wait_for 2 bash -c "! kill -0 $vp 2>/dev/null && ! kill -0 $ap 2>/dev/null"
EMP_PID=
finish
