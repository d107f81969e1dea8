#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The stream front ends on the router's table, against real peers:
# rawrouter (a key given, and the listening address as the key) passing
# 10 MiB both ways unchanged and a half-close through; failover from a node
# that refuses connections to a live one, then the dead key's connect_failed
# and no_node; an unknown key closed, logged and counted; an idle stream cut
# at http-timeout; sslrouter choosing both certificate and node by SNI, an
# unknown SNI closed; the fastrouter routing uwsgi packets by
# UWSGI_FASTROUTER_KEY / HTTP_HOST / mountpoints with the node's modifiers,
# refusing a bad head and an http node; http-max-connections shared with
# the stream listeners; the stats' "streams" object and Prometheus lines.
. "$(dirname "$0")/lib.sh"

PEERS="$ROOT/tests/integration/peers"
SUB=18726
RAW_KEY=18700 RAW_ADDR=18701 RAW_FAIL=18703 RAW_NOPE=18704 RAW_DOWN=18705
SSL=18702 FAST=18706
ECHO=18710 AFTER=18711 NODE_A=18712 NODE_B=18713 UW1=18714 UW2=18715 HTTPN=18716
DEAD=18719 # nothing listens there
STATS_HTTP=18790
L_SUB=18826 L_RAW=18800 L_IDLE=18801 # the emperor with http-max-connections = 5

on_exit() {
	local rc=$?
	kill_bg
	if [ "$TEST_FAILED" -gt 0 ] && [ -f "$T/lim/emperor.log" ]; then
		echo "# last lines of lim/emperor.log:"
		tail -n 15 "$T/lim/emperor.log" | sed 's/^/#   /'
	fi
	(exit $rc)
	cleanup
}
trap on_exit EXIT

refresh() { bg_start python3 "$PEERS/subpkt.py" "$@" --every 1 --count 300 >/dev/null 2>&1; }
node() { bg_start python3 "$PEERS/streamnode.py" "$@" >>"$T/nodes.log" 2>&1; }
client() { python3 "$PEERS/streamclient.py" "$@"; }
port_open() { python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"; }
# stream_eval EXPR [STATS_SOCK]: EXPR over r["streams"] (as s)
stream_eval() { router_eval "(lambda s: $1)(r['streams'])" "${2:-$T/stats.sock}"; }

# ---- certificates for the sslrouter: a CA, a default, a.test and b.test in sni-dir
C="$T/certs" S="$T/sni"
mkdir -p "$C" "$S"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$C/ca.key" -out "$C/ca.pem" -subj "/CN=imperium test CA" 2>/dev/null
leaf() { # NAME CN SERIAL
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/$1.key" \
		-subj "/O=imperium test/CN=$2" -addext "subjectAltName=DNS:$2" -out "$C/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$C/$1.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -set_serial "$3" \
			-days 2 -copy_extensions copy -out "$C/$1.crt" 2>/dev/null
}
leaf default default.test 1
leaf a a.test 2
leaf b b.test 3
for h in a b; do
	cp "$C/$h.crt" "$S/$h.test.crt"
	cp "$C/$h.key" "$S/$h.test.key"
done
chmod 644 "$C"/* "$S"/*

emperor_ini "subscription-server = 127.0.0.1:$SUB" \
	"rawrouter = 127.0.0.1:$RAW_KEY,echo.test" "rawrouter = 127.0.0.1:$RAW_ADDR" \
	"rawrouter = 127.0.0.1:$RAW_FAIL,fail.test" "rawrouter = 127.0.0.1:$RAW_NOPE,nope.test" \
	"rawrouter = 127.0.0.1:$RAW_DOWN,down.test" \
	"sslrouter = 127.0.0.1:$SSL,$C/default.crt,$C/default.key" "sni-dir = $S" \
	"fastrouter = 127.0.0.1:$FAST" "subscription-mountpoints = 1" \
	"http-header-timeout = 2s" "http-connect-timeout = 1s" "http-timeout = 5s" \
	"stats-http = 127.0.0.1:$STATS_HTTP"
check "the emperor starts with rawrouter, sslrouter and fastrouter listeners" start_emperor
check "stats list the stream listeners by kind" router_eval \
	"sorted(l['kind'] for l in r['listeners']) == ['fastrouter'] + ['rawrouter'] * 5 + ['sslrouter', 'subscription']"

node $ECHO echo
node $AFTER after-eof
node $NODE_A greet node-a
node $NODE_B hello node-b
node $UW1 uwsgi uw1
node $UW2 uwsgi uw2
bg_start python3 "$PEERS/httpnode.py" $HTTPN h1 >>"$T/nodes.log" 2>&1
check "the nodes listen" wait_for 5 bash -c \
	"$(declare -f port_open); for p in $ECHO $AFTER $NODE_A $NODE_B $UW1 $UW2 $HTTPN; do port_open \$p || exit 1; done"

refresh "127.0.0.1:$SUB" echo.test "127.0.0.1:$ECHO"
refresh "127.0.0.1:$SUB" "127.0.0.1:$RAW_ADDR" "127.0.0.1:$AFTER"
refresh "127.0.0.1:$SUB" fail.test "127.0.0.1:$DEAD"
refresh "127.0.0.1:$SUB" fail.test "127.0.0.1:$ECHO" --backup 1
python3 "$PEERS/subpkt.py" "127.0.0.1:$SUB" down.test "127.0.0.1:$DEAD"
refresh "127.0.0.1:$SUB" a.test "127.0.0.1:$NODE_A"
refresh "127.0.0.1:$SUB" b.test "127.0.0.1:$NODE_B"
refresh "127.0.0.1:$SUB" app.test "127.0.0.1:$UW1" --modifier1 5
refresh "127.0.0.1:$SUB" app.test/two "127.0.0.1:$UW2"
refresh "127.0.0.1:$SUB" other.key "127.0.0.1:$UW2"
refresh "127.0.0.1:$SUB" web.test "127.0.0.1:$HTTPN" --proto http
check "the keys are subscribed" wait_for 5 router_eval \
	"all(sub(k) for k in ('echo.test', '127.0.0.1:$RAW_ADDR', 'fail.test', 'down.test', 'a.test', 'b.test', 'app.test', 'app.test/two', 'other.key', 'web.test')) and len(sub('fail.test')['nodes']) == 2"

# ---- rawrouter
out=$(client echo $RAW_KEY $((10 << 20)) 2>&1)
check "rawrouter with a KEY: 10 MiB echoed both ways, sha256 equal ($out)" grep -q "^ok 10485760 " <<<"$out"
out=$(client halfclose $RAW_ADDR $((1 << 20)) 2>&1)
check "rawrouter keyed by its address as written: a half-closed client gets the whole answer ($out)" \
	grep -q "^ok 1048576 " <<<"$out"
check "the node's counters show the bytes" router_eval \
	"node('echo.test', '127.0.0.1:$ECHO')['tx'] >= 10485760 and node('echo.test', '127.0.0.1:$ECHO')['rx'] >= 10485760"

out=$(client echo $RAW_FAIL 100000 2>&1)
check "failover: the first node refuses, the connection reaches the backup node ($out)" grep -q "^ok 100000 " <<<"$out"
check "stats count the failed connect, and no connection lost to it" stream_eval \
	"s['rawrouter']['connect_failures'] >= 1 and s['rawrouter']['closed']['connect_failed'] == 0"
check "the refusing node's failure is counted on it" router_eval "node('fail.test', '127.0.0.1:$DEAD')['failcnt'] >= 1"

check "a key whose only node refuses: closed" client closed $RAW_DOWN
check "... counted connect_failed" stream_eval "s['rawrouter']['closed']['connect_failed'] == 1"
check "then, the node marked dead: closed again" client closed $RAW_DOWN
check "... counted no_node" stream_eval "s['rawrouter']['closed']['no_node'] == 1"

check "an unknown key: closed" client closed $RAW_NOPE
check "... counted unknown_key" stream_eval "s['rawrouter']['closed']['unknown_key'] == 1"
check "... and logged with the peer, front end and key" \
	log_has 'rawrouter 127.0.0.1:'$RAW_NOPE': closed 127.0.0.1:[0-9]* (key "nope.test"): unknown_key'

# ---- sslrouter
sslq() { timeout 5 openssl s_client -connect 127.0.0.1:$SSL -quiet "$@" </dev/null 2>/dev/null; }
ssl_subject() {
	timeout 5 openssl s_client -connect 127.0.0.1:$SSL "$@" </dev/null 2>/dev/null |
		openssl x509 -noout -subject 2>/dev/null
}
check "sslrouter: SNI a.test reaches a.test's node" test "$(sslq -servername a.test | head -n1)" = node-a
check "... with a.test's certificate" bash -c '[[ "$1" == *"CN"*"= a.test"* ]]' _ "$(ssl_subject -servername a.test)"
check "SNI B.Test. (any case, trailing dot) reaches b.test's node" \
	test "$(sslq -servername B.Test. | head -n1)" = node-b
check "... with b.test's certificate" bash -c '[[ "$1" == *"CN"*"= b.test"* ]]' _ "$(ssl_subject -servername b.test)"
check "the node's bytes come back through TLS (echo after the greeting)" \
	bash -c '[ "$(printf "ping\n" | timeout 5 openssl s_client -connect 127.0.0.1:'$SSL' -servername a.test -quiet 2>/dev/null | head -n2 | tail -n1)" = ping ]'
out=$(sslq -servername c.test)
check "an unknown SNI name: closed without a byte" test -z "$out"
check "... with the default certificate" bash -c '[[ "$1" == *"CN"*"= default.test"* ]]' _ "$(ssl_subject -servername c.test)"
check "... counted unknown_key" stream_eval "s['sslrouter']['closed']['unknown_key'] >= 2"
check "the TLS handshakes are counted with the router's" router_eval "r['tls']['handshakes'] >= 5"
check "no ALPN is answered on an sslrouter" bash -c \
	'timeout 5 openssl s_client -connect 127.0.0.1:'$SSL' -servername a.test -alpn http/1.1 </dev/null 2>/dev/null | grep -q "No ALPN negotiated"'
printf 'GARBAGE\r\n\r\n' | http_raw $SSL 2 >/dev/null
check "garbage instead of a handshake: counted bad_head" stream_eval "s['sslrouter']['closed']['bad_head'] >= 1"

# ---- fastrouter (uwsgi packets as nginx's uwsgi_pass sends them)
fr() { client uwsgi $FAST "$@"; }
jq_py() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read() or "null"); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"; }
out=$(fr --var HTTP_HOST=app.test --var PATH_INFO=/x --var SERVER_NAME=zzz --body 70000)
check "fastrouter: HTTP_HOST picks the key, the body follows ($(head -c 80 <<<"$out"))" jq_py \
	"d['name'] == 'uw1' and d['vars']['HTTP_HOST'] == 'app.test' and d['body_len'] == 70000" <<<"$out"
check "the node gets its own modifier1 (5), not the sender's (0)" jq_py "d['modifier1'] == 5" <<<"$out"
out=$(fr --var HTTP_HOST=app.test --var PATH_INFO=/two/deeper)
check "mountpoints on PATH_INFO: app.test/two" jq_py "d['name'] == 'uw2' and d['modifier1'] == 0" <<<"$out"
out=$(fr --var HTTP_HOST=app.test:8080 --var PATH_INFO=/)
check "host:port falls back to the host" jq_py "d['name'] == 'uw1'" <<<"$out"
out=$(fr --var UWSGI_FASTROUTER_KEY=other.key --var HTTP_HOST=app.test)
check "UWSGI_FASTROUTER_KEY wins over HTTP_HOST" jq_py "d['name'] == 'uw2'" <<<"$out"
out=$(fr --var SERVER_NAME=app.test)
check "SERVER_NAME when there is nothing else" jq_py "d['name'] == 'uw1'" <<<"$out"
check "an http node for a fastrouter key: closed" bash -c \
	'[ -z "$(python3 "$1" uwsgi '$FAST' --var HTTP_HOST=web.test)" ]' _ "$PEERS/streamclient.py"
check "... counted no_node" stream_eval "s['fastrouter']['closed']['no_node'] == 1"
check "a var overrunning the packet: closed" bash -c \
	'[ -z "$(python3 "$1" uwsgi '$FAST' --raw 000800000300414243ff0000)" ]' _ "$PEERS/streamclient.py"
check "... counted bad_head" stream_eval "s['fastrouter']['closed']['bad_head'] == 1"
check "half a head, then silence: closed at http-header-timeout" python3 - $FAST <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=6)
s.sendall(b"\x00\x40\x00\x00\x09\x00HTTP_HOST")
t0 = time.monotonic()
d = s.recv(10)
el = time.monotonic() - t0
assert d == b"" and 1.5 <= el <= 3.5, (d, el)
EOF
check "... counted timeout" stream_eval "s['fastrouter']['closed']['timeout'] == 1"

# ---- Prometheus
m=$(curl -sS --max-time 5 "http://127.0.0.1:$STATS_HTTP/metrics")
check "GET /metrics has the stream closes by front end and reason" \
	grep -q '^imperium_stream_closed_total{frontend="rawrouter",reason="unknown_key"} 1$' <<<"$m"
check "... and the bytes" grep -q '^imperium_stream_tx_bytes_total{frontend="rawrouter"} [1-9]' <<<"$m"
check "every stream connection was closed (none active)" wait_for 3 stream_eval \
	"all(v['active'] == 0 for v in s.values())"

# ---- http-max-connections = 5 (emperor lim), an idle stream cut at http-timeout
check "a second emperor starts with http-max-connections = 5" start_emperor_in lim \
	"subscription-server = 127.0.0.1:$L_SUB" "rawrouter = 127.0.0.1:$L_RAW,echo.test" \
	"rawrouter = 127.0.0.1:$L_IDLE,echo.test" "http-max-connections = 5" "http-timeout = 3s"
L_STATS="$T/lim/stats.sock"
refresh "127.0.0.1:$L_SUB" echo.test "127.0.0.1:$ECHO"
check "lim: echo.test is subscribed" wait_for 5 router_eval "sub('echo.test')" "$L_STATS"
check "http-max-connections = 5: the 6th.. raw connections wait until others close" python3 - $L_RAW <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
time.sleep(0.3)
extra = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
for s in extra:
    s.sendall(b"ping")
time.sleep(1)
for s in extra:
    s.setblocking(False)
    try:
        d = s.recv(4096)
        sys.exit("a connection over the limit was served: %r" % d[:40])
    except BlockingIOError:
        pass
    s.setblocking(True)
    s.settimeout(5)
for s in idle:
    s.close()
for s in extra:
    assert s.recv(4096) == b"ping"
    s.close()
EOF
check "lim: stats count the refusals at the limit for the rawrouter" \
	stream_eval "s['rawrouter']['refused_at_limit'] >= 1" "$L_STATS"
check "an idle stream is closed after http-timeout (3 s)" python3 - $L_IDLE <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=8)
s.sendall(b"x")
assert s.recv(1) == b"x"
t0 = time.monotonic()
d = s.recv(10)
el = time.monotonic() - t0
assert d == b"" and 2.5 <= el <= 5, (d, el)
EOF
check "... counted timeout" wait_for 2 stream_eval "s['rawrouter']['closed']['timeout'] == 1" "$L_STATS"

check "the emperor is still running" kill -0 "$EMP_PID"
finish
