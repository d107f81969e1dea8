#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped demo (emperor.ini's keys and vassals.d/) works as README says:
# both vassals run jailed and answer on their sockets.
. "$(dirname "$0")/lib.sh"

# The demo's files, with /run/imperium moved into the test's own dir.
for f in "$ROOT"/vassals.d/*.ini; do
	sed "s|/run/imperium|$T/run|g" "$f" >"$T/vassals.d/$(basename "$f")"
done
mapfile -t settings < <(grep -E '^(use-clone|throttle|max-throttle|stop-timeout|http|subscription-server|stats-http) *=' "$ROOT/emperor.ini")
# The demo's HTTPS listener, with a certificate made here as `make run` makes one.
tls=$(sed -n 's/^https *= *//p' "$ROOT/emperor.ini")
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,DNS:hello.localhost,DNS:world.localhost \
	-keyout "$T/localhost.key" -out "$T/localhost.crt" 2>/dev/null
emperor_ini "${settings[@]}" "https = ${tls%%,*},$T/localhost.crt,$T/localhost.key"
export IMPERIUM_BUILD="$BIN"
check "the emperor starts on the demo's settings" start_emperor
check "hello runs" wait_for 5 is_state hello running
check "world runs" wait_for 5 is_state world running
check "hello answers on 127.0.0.1:8081" grep -q "hello from hello" <<<"$(http_get 8081)"
check "world answers on 127.0.0.1:8082" grep -q "hello from world" <<<"$(http_get 8082)"
check "world answers on its unix socket" \
	grep -q "hello from world" <<<"$(curl -sS --max-time 3 --unix-socket "$T/run/world.sock" http://world/)"
check "world's shell greeting is logged" wait_for 2 log_has "world: starting as uid 65534"
check "the router serves hello by its domain" \
	wait_for 5 bash -c 'curl -s -H "Host: hello.localhost" http://127.0.0.1:8080/ | grep -q "hello from hello"'
check "the router serves world by its domain" \
	grep -q "hello from world" <<<"$(curl -sS --max-time 3 -H 'Host: world.localhost' http://127.0.0.1:8080/)"
check "the demo's https listener serves hello by its SNI and Host" \
	bash -c 'curl -s --cacert "$T/localhost.crt" --resolve hello.localhost:8443:127.0.0.1 https://hello.localhost:8443/ | grep -q "hello from hello"'
check "stats-http has Prometheus metrics for both" \
	bash -c 'curl -s http://127.0.0.1:9191/metrics | grep -q "imperium_router_node_requests_total{key=\"world.localhost\""'
check "emperor status shows both running" \
	bash -c 'emperor_cli status | grep -q "^hello  *running" && emperor_cli status | grep -q "^world  *running"'
finish
