#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Files in vassals.d drive vassals: add, modify, touch, rename, remove, a
# broken file refused while the others run, fixing it, and the CLI verbs.
. "$(dirname "$0")/lib.sh"

emperor_ini "use-clone = ipc,uts,fs,pid,net" "stop-timeout = 3"
jailed_vassal one 18201
check "emperor starts and scans the directory" start_emperor
check "a file present at start is spawned" wait_for 5 is_state one running

jailed_vassal two 18202
check "a new file is running within a second" wait_for 1 is_state two running
check "it answers" grep -q "hello from two" <<<"$(http_get 18202)"

old=$(vassal_pid two)
sed -i 's/^hostname = two$/hostname = two-b/' "$T/vassals.d/two.ini"
check "a modified file is reloaded within a second" \
	wait_for 1 bash -c "[ \"\$(http_get 18202 | grep hostname)\" = 'hostname: two-b' ]"
check "the reload replaced the process" test "$(vassal_pid two)" != "$old"

old=$(vassal_pid two)
old_app=$(app_pid two)
sleep 0.05
touch "$T/vassals.d/two.ini"
check "a touched file reloads its workers within a second" \
	wait_for 1 bash -c "p=\$(app_pid two); [ -n \"\$p\" ] && [ \"\$p\" != $old_app ]"
check "in place: the vassal process stays" test "$(vassal_pid two)" = "$old"
check "the touch is logged as such" log_has "vassal two: file touched: reloading its workers"
check "after the touch it still runs" is_state two running

mv "$T/vassals.d/two.ini" "$T/vassals.d/three.ini"
check "a renamed file starts under its new name" wait_for 1 is_state three running
check "the old name is gone" wait_for 1 bash -c "! emperor_cli stats | grep -q '\"name\":\"two\"'"

cat >"$T/vassals.d/broken.ini" <<EOF
[vassal]
exec = /app/hello
socket = 127.0.0.1:18204
no-such-key = 1
EOF
check "a broken file is refused" wait_for 1 is_state broken broken
check "the refusal names file, line and key" \
	wait_for 1 log_has "broken.ini:4: unknown key 'no-such-key'"
check "the others keep running" is_state one running
check "one still answers" grep -q "hello from one" <<<"$(http_get 18201)"
jailed_vassal broken 18204
check "fixing the broken file spawns it" wait_for 2 is_state broken running

pid_one=$(vassal_pid one)
app_one=$(app_pid one)
rm "$T/vassals.d/one.ini"
check "a removed file stops its vassal" wait_for 2 bash -c "! kill -0 $pid_one 2>/dev/null"
check "its app is gone too" bash -c "! kill -0 $app_one 2>/dev/null"
check "it leaves the table" wait_for 1 bash -c "! emperor_cli stats | grep -q '\"name\":\"one\"'"

check "emperor stop NAME stops it" emperor_cli stop three
check "state is stopped" wait_for 2 is_state three stopped
check "emperor start NAME starts it again" emperor_cli start three
check "state is running" wait_for 2 is_state three running
old=$(app_pid three)
check "emperor reload NAME reloads it" emperor_cli reload three
check "with new workers" wait_for 2 bash -c "p=\$(app_pid three); [ -n \"\$p\" ] && [ \"\$p\" != $old ] && [ \"\$(vassal_state three)\" = running ]"
check "an unknown name is an error" bash -c "! emperor_cli stop nobody 2>/dev/null"

table=$(emperor_cli status)
check "emperor status lists every vassal" bash -c "grep -q '^three  *running' <<<'$table' && grep -q '^broken  *running' <<<'$table'"
check "emperor status counts them" grep -q "^2 vassals$" <<<"$table"
old3=$(app_pid three)
oldb=$(app_pid broken)
kill -HUP "$EMP_PID"
check "SIGHUP reloads every vassal's workers" wait_for 3 bash -c "a=\$(app_pid three); b=\$(app_pid broken); [ -n \"\$a\" ] && [ -n \"\$b\" ] && [ \"\$a\" != $old3 ] && [ \"\$b\" != $oldb ] && [ \"\$(vassal_state three)\" = running ]"
finish
