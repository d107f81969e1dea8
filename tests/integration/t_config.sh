#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Emperor settings: several vassal directories (a name taken twice is
# refused), stats on loopback TCP (commands and HTTP GET), the cgroup
# namespace, and `emperor --vassals DIR` with every default.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/more.d"
{
	echo "[emperor]"
	echo "vassals = $T/vassals.d"
	echo "vassals = $T/more.d"
	echo "stats = 127.0.0.1:19191"
	echo "run-dir = $T/run"
	echo "use-clone = ipc,uts,fs,pid,net,cgroup"
} >"$T/emperor.ini"
jailed_vassal first 18401 "use-clone = ipc,uts,fs,pid,net,cgroup"
"$BIN/emperor" -c "$T/emperor.ini" >>"$T/emperor.log" 2>&1 &
EMP_PID=$!
stats() { "$BIN/emperor" "$@" -s 127.0.0.1:19191; }
export -f stats
check "the emperor serves stats on loopback TCP" wait_for 5 stats status
check "first (in the first directory) runs" \
	wait_for 5 bash -c 'stats status | grep -q "^first  *running"'
sed "s/18401/18402/; s/hostname = first/hostname = second/" "$T/vassals.d/first.ini" >"$T/more.d/second.ini"
check "a vassal in the second directory runs" \
	wait_for 2 bash -c 'stats status | grep -q "^second  *running"'
cp "$T/more.d/second.ini" "$T/more.d/first.ini"
check "a name already taken in another directory is refused" \
	wait_for 2 log_has "more.d/first.ini: refused: vassal name 'first' is already taken"
check "the first 'first' keeps running" grep -q "hello from first" <<<"$(http_get 18401)"
fp=$(stats stats | python3 -c 'import json,sys; print([v["pid"] for v in json.load(sys.stdin)["vassals"] if v["name"]=="first"][0])')
ap=$(awk '{print $1}' /proc/$fp/task/$fp/children)
check "a vassal's use-clone (last one wins) adds the cgroup namespace" \
	test "$(readlink /proc/$ap/ns/cgroup)" != "$(readlink /proc/$$/ns/cgroup)"
check "HTTP GET on the stats socket returns the JSON" \
	bash -c 'curl -sS --max-time 3 http://127.0.0.1:19191/ | python3 -c "import json,sys; d=json.load(sys.stdin); assert len(d[\"vassals\"]) == 2"'
kill -TERM "$EMP_PID"
check "the emperor stops" wait_for 5 bash -c "! kill -0 $EMP_PID 2>/dev/null"

rm -f "$T/more.d/first.ini"
"$BIN/emperor" --vassals "$T/more.d" >>"$T/emperor.log" 2>&1 &
EMP_PID=$!
check "emperor --vassals DIR runs a directory with every default" \
	wait_for 5 bash -c 'grep -q "hello from second" <<<"$(http_get 18402)"'
kill -TERM "$EMP_PID"
wait_for 5 bash -c "! kill -0 $EMP_PID 2>/dev/null"

# A run-dir whose filesystem has no O_TMPFILE: the config goes through an
# unlinked mkostemp file instead, and nothing is left behind.
NO_TMPFILE_LOG="$T/shim.log" LD_PRELOAD="$BIN/no_tmpfile.so" \
	"$BIN/emperor" --vassals "$T/more.d" >>"$T/emperor.log" 2>&1 &
EMP_PID=$!
check "without O_TMPFILE the vassal still starts" \
	wait_for 5 bash -c 'grep -q "hello from second" <<<"$(http_get 18402)"'
check "O_TMPFILE was really refused" grep -q "refused O_TMPFILE" "$T/shim.log"
check "no config file is left in the run dir" \
	bash -c '! ls -A /run/imperium | grep -q "^\.vassal-"'
check "a missing directory is a clear startup error (exit 1)" \
	bash -c '"$BIN/emperor" --vassals /nonexistent 2>&1 | grep -q "vassals directory /nonexistent"; [ "${PIPESTATUS[0]}" = 1 ]'
finish
