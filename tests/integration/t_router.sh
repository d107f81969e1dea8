#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The emperor's HTTP router against real peers: Debian's uWSGI nodes
# (subscribe-to, subscribe2, SIGINT unsubscribe, kill -9), asyncio HTTP/1.1
# nodes subscribed with proto=http (keep-alive both sides, backend pool,
# pipelining, streamed and chunked bodies, close-delimited responses,
# WebSocket), weighted balancing and backup nodes, failover, expiry,
# mountpoints, resubscribe between two emperors, IPv6 and the stats.
# Three emperors: A (the main one, resubscribing to B), B, and X (short
# tolerance, mountpoints).
. "$(dirname "$0")/lib.sh"

PEERS="$ROOT/tests/integration/peers"
A=18100 A6=18101 A_SUB=18126 A_STATS=18190
B=18200 B_SUB=18226
X=18300 X_SUB=18326

on_exit() {
	local rc=$?
	kill_bg
	if [ "$TEST_FAILED" -gt 0 ]; then
		local f
		for f in "$T"/b/emperor.log "$T"/x/emperor.log "$T"/*.node.log; do
			[ -f "$f" ] || continue
			echo "# last lines of ${f#"$T"/}:"
			tail -n 15 "$f" | sed 's/^/#   /'
		done
	fi
	(exit $rc)
	cleanup
}
trap on_exit EXIT

# uwsgi_node NAME PORT SUBSCRIBE-OPTIONS...: a uWSGI node running wsgi_app.py.
uwsgi_node() {
	local name=$1 port=$2
	shift 2
	bg_start env NODE_NAME="$name" uwsgi --plugin python3 --socket "127.0.0.1:$port" \
		--wsgi-file "$PEERS/wsgi_app.py" --master --processes 1 "$@" >"$T/$name.node.log" 2>&1
}

# http_node NAME PORT: an httpnode.py peer.
http_node() {
	bg_start python3 "$PEERS/httpnode.py" "$2" "$1" >"$T/$1.node.log" 2>&1
}

# refresh SERVER KEY ADDRESS [subpkt options]: a node refreshing its
# subscription every second (bounded: two minutes).
refresh() {
	bg_start python3 "$PEERS/subpkt.py" "$@" --every 1 --count 120 >/dev/null 2>&1
}

# get PORT HOST PATH [curl options]: the body.
get() {
	local port=$1 host=$2 path=$3
	shift 3
	curl -sS --max-time 5 -H "Host: $host" "$@" "http://127.0.0.1:$port$path"
}

# code PORT HOST PATH: the status code only.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: $2" "http://127.0.0.1:$1$3"; }

# jok JSON EXPR: the python expression holds over d = the parsed JSON; says
# what it got when it does not.
jok() {
	python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
    ok = eval(sys.argv[2])
except Exception as e:
    ok = False
if not ok:
    print("# got: %s" % sys.argv[1][:600], file=sys.stderr)
sys.exit(0 if ok else 1)
' "$1" "$2"
}

# tally PORT HOST PATH N: N requests on one keep-alive connection; prints
# "NAME=COUNT ..." (NAME: the node's name, or status-CODE for a non-200).
tally() {
	python3 - "$@" <<'EOF'
import collections, http.client, json, sys
port, host, path, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
cnt = collections.Counter()
for i in range(n):
    try:
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        b = r.read()
    except Exception as e:
        cnt["error-" + type(e).__name__] += 1
        c.close()
        continue
    if r.status != 200:
        cnt["status-%d" % r.status] += 1
    elif b.startswith(b"{"):
        cnt[json.loads(b)["node"]] += 1
    else:
        cnt[b.decode()] += 1
print(" ".join("%s=%d" % kv for kv in sorted(cnt.items())))
EOF
}

# node_of PORT HOST PATH: the X-Node header of an httpnode.py response.
node_of() {
	curl -s -o /dev/null -D - --max-time 5 -H "Host: $2" "http://127.0.0.1:$1$3" |
		tr -d '\r' | sed -n 's/^[Xx]-[Nn]ode: //p'
}

# count NAME TALLY: NAME's count in a tally line (0 when absent).
count() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2" | grep . || echo 0; }

emperor_ini "http = 127.0.0.1:$A" "http = [::1]:$A6" "subscription-server = 127.0.0.1:$A_SUB" \
	"stats-http = 127.0.0.1:$A_STATS" "resubscribe = 127.0.0.1:$B_SUB" \
	"resubscribe-address = 127.0.0.1:$A"
check "emperor A starts with the router" start_emperor
check "emperor B starts" start_emperor_in b "http = 127.0.0.1:$B" \
	"subscription-server = 127.0.0.1:$B_SUB"
B_STATS="$T/b/stats.sock"
check "emperor X starts (tolerance 3 s, mountpoints 1)" start_emperor_in x \
	"http = 127.0.0.1:$X" "subscription-server = 127.0.0.1:$X_SUB" \
	"subscription-tolerance = 3s" "subscription-mountpoints = 1"
X_STATS="$T/x/stats.sock"

# Every peer starts now; each section waits for its own.
uwsgi_node u1 18131 --subscribe-to "127.0.0.1:$A_SUB:app.test"
uwsgi_node u2 18132 --subscribe2 "server=127.0.0.1:$A_SUB,key=two.test"
U2_PID=$BG_PID
uwsgi_node u3 18133 --subscribe-to "127.0.0.1:$A_SUB:fo.test"
uwsgi_node u4 18134 --subscribe-to "127.0.0.1:$A_SUB:fo.test"
U4_PID=$BG_PID
for i in 1 2 3 4 5; do http_node "h$i" "1814$i"; done
H4_PID=${BG_PIDS[-2]}
refresh "127.0.0.1:$A_SUB" http.test 127.0.0.1:18141 --proto http
refresh "127.0.0.1:$A_SUB" lb.test 127.0.0.1:18142 --proto http --weight 1
refresh "127.0.0.1:$A_SUB" lb.test 127.0.0.1:18143 --proto http --weight 3
refresh "127.0.0.1:$A_SUB" bk.test 127.0.0.1:18144 --proto http
H4_REFRESH=$BG_PID
refresh "127.0.0.1:$A_SUB" bk.test 127.0.0.1:18145 --proto http --backup 1
refresh "127.0.0.1:$A_SUB" rs.test 127.0.0.1:18141 --proto http
refresh "127.0.0.1:$X_SUB" mp.test/api 127.0.0.1:18142 --proto http
refresh "127.0.0.1:$X_SUB" mp.test 127.0.0.1:18143 --proto http

# ---- 1. a uWSGI node (subscribe-to), CGI variables, Host, X-Forwarded-For
check "the uWSGI node's app.test subscription shows in stats" \
	wait_for 10 router_eval "node('app.test', '127.0.0.1:18131')"
j=$(get $A app.test '/some%20dir/x%2Fy?a=1&b=%20c')
check "uWSGI node: GET served by u1" jok "$j" 'd["node"] == "u1"'
check "uWSGI node: PATH_INFO is percent-decoded" jok "$j" 'd["PATH_INFO"] == "/some dir/x/y"'
check "uWSGI node: QUERY_STRING is passed as sent" jok "$j" 'd["QUERY_STRING"] == "a=1&b=%20c"'
check "uWSGI node: HTTP_HOST is the client's Host" jok "$j" 'd["HTTP_HOST"] == "app.test"'
check "uWSGI node: REMOTE_ADDR is the client" jok "$j" 'd["REMOTE_ADDR"] == "127.0.0.1"'
check "uWSGI node: X-Forwarded-For is the client's address" \
	jok "$j" 'd["HTTP_X_FORWARDED_FOR"] == "127.0.0.1"'
j=$(get $A APP.Test /)
check "Host matching ignores case (APP.Test)" jok "$j" 'd["node"] == "u1" and d["HTTP_HOST"] == "APP.Test"'
j=$(get $A app.test:$A /)
check "Host with a port falls back to the domain's key" jok "$j" 'd["node"] == "u1"'
j=$(get $A app.test / -H "X-Forwarded-For: 10.9.8.7")
check "a client's X-Forwarded-For is appended to" \
	jok "$j" 'd["HTTP_X_FORWARDED_FOR"] == "10.9.8.7, 127.0.0.1"'
j=$(get $A app.test / -H "X-Real-IP: 6.6.6.6")
check "a client's X-Real-IP is replaced" jok "$j" 'd["HTTP_X_REAL_IP"] == "127.0.0.1"'

# ---- 2. subscribe2
check "the subscribe2 node's two.test subscription shows in stats" \
	wait_for 10 router_eval "node('two.test', '127.0.0.1:18132')"
check "subscribe2: two.test served by u2" jok "$(get $A two.test /)" 'd["node"] == "u2"'

# ---- 3. HTTP nodes
check "the HTTP node's http.test subscription (proto http) shows in stats" \
	wait_for 5 router_eval "node('http.test', '127.0.0.1:18141')['proto'] == 'http'"
out=$(curl -sv --max-time 5 -H "Host: http.test" "http://127.0.0.1:$A/echo?1" \
	"http://127.0.0.1:$A/echo?2" 2>&1)
check "client keep-alive: curl reuses its connection for the second URL" \
	grep -qi "re-using existing connection" <<<"$out"
j1=$(get $A http.test /echo)
j2=$(get $A http.test /echo)
c1=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["conn"])' "$j1" 2>/dev/null)
check "backend pool: two client connections' requests share one node connection" \
	jok "$j2" "d['conn'] == ${c1:-0} and d['conn_requests'] >= 2"
j=$(get $A http.test /echo -H "X-Real-IP: 6.6.6.6" -H "X-Forwarded-Proto: https")
check "HTTP node: X-Real-IP is the client's, set once" \
	jok "$j" '[v for k, v in d["headers"] if k.lower() == "x-real-ip"] == ["127.0.0.1"]'
check "HTTP node: X-Forwarded-Proto is http, set once" \
	jok "$j" '[v for k, v in d["headers"] if k.lower() == "x-forwarded-proto"] == ["http"]'
check "HTTP node: X-Forwarded-For is the client's address" \
	jok "$j" '[v for k, v in d["headers"] if k.lower() == "x-forwarded-for"] == ["127.0.0.1"]'
check "HTTP node: the Host header reaches the node" \
	jok "$j" '[v for k, v in d["headers"] if k.lower() == "host"] == ["http.test"]'

check "pipelining: two GETs in one send get two responses, in order" python3 - $A <<'EOF'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /echo?first HTTP/1.1\r\nHost: http.test\r\n\r\n"
          b"GET /echo?second HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
bodies = []
while data:
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
    bodies.append(json.loads(rest[:n]))
    data = rest[n:]
assert [b["target"] for b in bodies] == ["/echo?first", "/echo?second"], bodies
EOF

head -c $((20 << 20)) /dev/urandom >"$T/big"
big_sha=$(sha256sum "$T/big" | cut -d' ' -f1)
j=$(curl -sS --max-time 30 -H "Host: http.test" -H "Content-Type: application/octet-stream" \
	--data-binary @"$T/big" "http://127.0.0.1:$A/echo")
check "a 20 MB POST (Content-Length) reaches the HTTP node whole" \
	jok "$j" "d['body_len'] == $((20 << 20)) and d['sha256'] == '$big_sha'"
# More sizes: a stall in the body's back-pressure depends on timing.
bad=
for size in 5000001 9437183 13000017 16777216 19999999; do
	head -c $size "$T/big" >"$T/part"
	j=$(curl -sS --max-time 10 -H "Host: http.test" --data-binary @"$T/part" "http://127.0.0.1:$A/echo")
	jok "$j" "d['body_len'] == $size and d['sha256'] == '$(sha256sum "$T/part" | cut -d' ' -f1)'" ||
		bad="$bad $size"
done
check "five more large POSTs (5..20 MB) reach the HTTP node whole (failed:${bad:- none})" test -z "$bad"
head -c $((3 << 20)) "$T/big" >"$T/mid"
mid_sha=$(sha256sum "$T/mid" | cut -d' ' -f1)
j=$(curl -sS --max-time 30 -H "Host: http.test" -H "Transfer-Encoding: chunked" \
	--data-binary @"$T/mid" "http://127.0.0.1:$A/echo")
check "a chunked POST is streamed to the HTTP node whole" \
	jok "$j" "d['body_len'] == $((3 << 20)) and d['sha256'] == '$mid_sha'"
j=$(curl -sS --max-time 30 -H "Host: app.test" -H "Transfer-Encoding: chunked" \
	--data-binary @"$T/mid" "http://127.0.0.1:$A/upload")
check "a chunked POST to the uWSGI node is spooled: CONTENT_LENGTH and body match" \
	jok "$j" "d['CONTENT_LENGTH'] == '$((3 << 20))' and d['body_len'] == $((3 << 20)) and d['sha256'] == '$mid_sha'"

# blob_sha N: sha256 of httpnode.blob(N).
blob_sha() {
	python3 -c 'import hashlib, sys; sys.path.insert(0, sys.argv[1]); from httpnode import blob
print(hashlib.sha256(blob(int(sys.argv[2]))).hexdigest())' "$PEERS" "$1"
}
got=$(curl -sS --max-time 30 -H "Host: http.test" "http://127.0.0.1:$A/blob?$((20 << 20))" | sha256sum | cut -d' ' -f1)
check "a 20 MB response from the HTTP node reaches the client whole" test "$got" = "$(blob_sha $((20 << 20)))"
got=$(curl -sS --max-time 30 -H "Host: app.test" "http://127.0.0.1:$A/blob?$((8 << 20))" | sha256sum | cut -d' ' -f1)
check "an 8 MB close-delimited response from the uWSGI node reaches the client whole" \
	test "$got" = "$(blob_sha $((8 << 20)))"

check "a close-delimited response reaches an HTTP/1.1 client chunked, the connection stays usable" \
	python3 - $A <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
f = s.makefile("rb")
s.sendall(b"GET /close HTTP/1.1\r\nHost: http.test\r\n\r\n")
status = f.readline()
assert status.startswith(b"HTTP/1.1 200"), status
hdrs = []
while True:
    l = f.readline()
    if l in (b"\r\n", b""):
        break
    hdrs.append(l.strip().lower())
assert b"transfer-encoding: chunked" in hdrs, hdrs
assert b"connection: close" not in hdrs, hdrs
body = b""
while True:
    n = int(f.readline().strip(), 16)
    if n == 0:
        assert f.readline() == b"\r\n"
        break
    body += f.read(n)
    assert f.readline() == b"\r\n"
assert body == b"closed-body-from-h1", body
s.sendall(b"GET /whoami HTTP/1.1\r\nHost: http.test\r\n\r\n")
status = f.readline()
assert status.startswith(b"HTTP/1.1 200"), status
n = 0
while True:
    l = f.readline()
    if l in (b"\r\n", b""):
        break
    if l.lower().startswith(b"content-length:"):
        n = int(l.split(b":")[1])
assert f.read(n) == b"h1"
EOF
out=$(curl -sS -D "$T/chunked.head" --max-time 5 -H "Host: http.test" "http://127.0.0.1:$A/chunked")
check "a chunked response passes through" \
	bash -c '[ "$1" = chunk-body-h1 ] && grep -qi "^transfer-encoding: chunked" "$2"' _ "$out" "$T/chunked.head"

check "WebSocket: 101 through the router, bytes echoed both ways" python3 - $A <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: http.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    d = s.recv(4096)
    assert d, data
    data += d
head, _, rest = data.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 101"), head
assert rest == b"", rest
for msg in (b"\x81\x05hello", bytes(range(256)) * 64):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(65536)
        assert d, got
        got += d
    assert got == msg
EOF

# ---- 4. weighted balancing, backup
check "lb.test has both nodes" wait_for 5 router_eval "len(sub('lb.test')['nodes']) == 2"
t=$(tally $A lb.test /whoami 400)
n2=$(count h2 "$t") n3=$(count h3 "$t")
check "weights 1 and 3: 400 requests split 100/300 within 10% ($t)" \
	test "$n2" -ge 90 -a "$n2" -le 110 -a "$n3" -ge 270 -a "$n3" -le 330 -a $((n2 + n3)) -eq 400
check "bk.test has its primary and its backup" wait_for 5 router_eval "len(sub('bk.test')['nodes']) == 2"
t=$(tally $A bk.test /whoami 20)
check "a backup node gets nothing while the primary lives ($t)" test "$t" = "h4=20"
kill_bg KILL "$H4_PID" "$H4_REFRESH"
t=$(tally $A bk.test /whoami 20)
check "the backup gets everything once the primary is killed ($t)" test "$t" = "h5=20"

# ---- 5. failover
check "fo.test has both uWSGI nodes" wait_for 10 router_eval "len(sub('fo.test')['nodes']) == 2"
t=$(tally $A fo.test / 10)
check "both fo.test nodes serve ($t)" test "$(count u3 "$t")" -ge 1 -a "$(count u4 "$t")" -ge 1
kill_bg KILL "$U4_PID"
t=$(tally $A fo.test / 50)
check "after kill -9 of one node, 50 requests all get 200 from the other ($t)" test "$t" = "u3=50"
check "the killed node shows failures and its death mark in stats" \
	router_eval "node('fo.test', '127.0.0.1:18134')['failures'] >= 1 and node('fo.test', '127.0.0.1:18134')['death_mark']"

# ---- 6. unsubscribe on SIGINT
kill -INT "$U2_PID"
check "SIGINT: the uWSGI node unsubscribes and two.test answers 404 within 1 s" \
	wait_for 1 test "$(code $A two.test /)" = 404
check "SIGINT: two.test is gone from stats" router_eval "sub('two.test') is None"

# ---- 7. expiry (emperor X, tolerance 3 s)
python3 "$PEERS/subpkt.py" "127.0.0.1:$X_SUB" once.test 127.0.0.1:18141 --proto http
t0=${EPOCHREALTIME/./}
refresh "127.0.0.1:$X_SUB" kept.test 127.0.0.1:18141 --proto http
check "X: the one-shot subscription shows in stats" wait_for 2 router_eval "sub('once.test')" "$X_STATS"
check "X: the one-shot node serves" test "$(get $X once.test /whoami)" = h1
sleep 2
check "X: the one-shot node is still there after 2 s" router_eval "sub('once.test')" "$X_STATS"
check "X: it is gone from stats by 5 s" wait_for 3 router_eval "sub('once.test') is None" "$X_STATS"
el=$(((${EPOCHREALTIME/./} - t0) / 1000))
check "X: it expired after 2.5..5 s (${el} ms)" test "$el" -ge 2500 -a "$el" -le 5000
check "X: requests for the expired key get 404" test "$(code $X once.test /whoami)" = 404
check "X: a node refreshed every second stays" router_eval "sub('kept.test')" "$X_STATS"
check "X: and serves" test "$(get $X kept.test /whoami)" = h1

# ---- 8. mountpoints (emperor X)
check "X: both mountpoint keys are subscribed" \
	router_eval "sub('mp.test/api') and sub('mp.test')" "$X_STATS"
check "mountpoints: /api/x goes to the mp.test/api node" test "$(node_of $X mp.test /api/x)" = h2
check "mountpoints: /other goes to the mp.test node" test "$(node_of $X mp.test /other)" = h3
check "mountpoints: /api?q goes to the mp.test/api node" test "$(node_of $X mp.test '/api?q')" = h2
check "mountpoints: /apix is another segment, so mp.test" test "$(node_of $X mp.test /apix)" = h3
check "mountpoints: / goes to the mp.test node" test "$(node_of $X mp.test /)" = h3

# ---- 9. resubscribe: A announces its keys to B with its own address
check "B learnt rs.test from A, with A's HTTP address" \
	wait_for 5 router_eval "node('rs.test', '127.0.0.1:$A')" "$B_STATS"
j=$(get $B rs.test /echo -H "X-Forwarded-For: 10.1.1.1")
check "a request to B for rs.test is served by the node through A" \
	jok "$j" 'd["name"] == "h1" and [v for k, v in d["headers"] if k.lower() == "x-forwarded-for"] == ["10.1.1.1, 127.0.0.1, 127.0.0.1"]'

# ---- 10. IPv6 listener
check "http = [::1]:$A6 serves too" \
	test "$(curl -sS -g --max-time 5 -H 'Host: http.test' "http://[::1]:$A6/whoami")" = h1
j=$(curl -sS -g --max-time 5 -H 'Host: app.test' "http://[::1]:$A6/")
check "over IPv6 the uWSGI node sees REMOTE_ADDR ::1" jok "$j" 'd["REMOTE_ADDR"] == "::1"'

# ---- 11. stats-http
m=$(curl -sS --max-time 5 "http://127.0.0.1:$A_STATS/metrics")
check "GET /metrics has node request counters labelled by key and node" \
	grep -Eq '^imperium_router_node_requests_total\{key="http\.test",node="127\.0\.0\.1:18141"[^}]*\} [1-9][0-9]*$' <<<"$m"
check "GET /metrics counts requests read from clients" \
	grep -Eq '^imperium_router_requests_total [1-9][0-9]*$' <<<"$m"
j=$(curl -sS --max-time 5 "http://127.0.0.1:$A_STATS/")
check "GET / on stats-http is JSON with the router object" \
	jok "$j" 'any(s["key"] == "http.test" and s["hits"] > 0 for s in d["router"]["subscriptions"]) and "dropped" in d["router"] and "errors" in d["router"]'
check "emperor A is still running" kill -0 "$EMP_PID"
finish
