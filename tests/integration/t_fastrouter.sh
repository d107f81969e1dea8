#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The fastrouter against real peers: nginx (uwsgi_pass) in front, Debian's
# uWSGI python nodes behind, subscribed with --subscribe-to. Routing by
# HTTP_HOST, by UWSGI_FASTROUTER_KEY set in nginx and by SERVER_NAME; a
# 5 MiB POST arriving whole; an 8 MiB response and a slow one streamed back;
# mountpoints over PATH_INFO; an unknown key and a bad head closing the
# connection (nginx: 502) and counted; raw uwsgi clients as uWSGI's own
# routers talk; a second emperor with fastrouter-force-key, its nodes
# subscribing to its fastrouter-subscription-server.
. "$(dirname "$0")/lib.sh"

PEERS="$ROOT/tests/integration/peers"
A=18700 A_SUB=18726         # emperor A: fastrouter, mountpoints 1
B=18800 B_SUB=18826         # emperor B: fastrouter-force-key
NG=18750 NG_KEY=18751 NG_B=18752 # nginx -> A; -> A with UWSGI_FASTROUTER_KEY; -> B

on_exit() {
	local rc=$?
	kill_bg
	if [ "$TEST_FAILED" -gt 0 ]; then
		local f
		for f in "$T"/b/emperor.log "$T"/*.node.log "$T"/nginx/error.log; do
			[ -f "$f" ] || continue
			echo "# last lines of ${f#"$T"/}:"
			tail -n 15 "$f" | sed 's/^/#   /'
		done
	fi
	(exit $rc)
	cleanup
}
trap on_exit EXIT

for tool in nginx uwsgi curl; do
	command -v "$tool" >/dev/null || { not_ok "$tool is installed (make deps)"; exit 1; }
done

# The nodes' app: wsgi_app.py, plus /slow (a first line, then the rest 2 s
# later) to see the response streamed rather than buffered.
cat >"$T/app.py" <<EOF
import sys, time
sys.path.insert(0, "$PEERS")
import wsgi_app

def application(env, start_response):
    if env.get("PATH_INFO") == "/slow":
        start_response("200 OK", [("Content-Type", "text/plain")])
        def gen():
            yield b"first\n"
            time.sleep(2)
            yield b"second\n"
        return gen()
    return wsgi_app.application(env, start_response)
EOF

# uwsgi_node NAME PORT SUBSCRIBE-OPTIONS...: a uWSGI node running app.py.
uwsgi_node() {
	local name=$1 port=$2
	shift 2
	bg_start env NODE_NAME="$name" uwsgi --plugin python3 --socket "127.0.0.1:$port" \
		--wsgi-file "$T/app.py" --master --processes 1 "$@" >"$T/$name.node.log" 2>&1
}

# nginx: one worker, its own prefix; CGI params written out (Debian's
# uwsgi_params, but HTTP_HOST left to the client's Host header, as nginx
# passes every header by default).
start_nginx() {
	local p="$T/nginx" params
	mkdir -p "$p"
	params='
            uwsgi_param QUERY_STRING $query_string;
            uwsgi_param REQUEST_METHOD $request_method;
            uwsgi_param CONTENT_TYPE $content_type;
            uwsgi_param CONTENT_LENGTH $content_length;
            uwsgi_param REQUEST_URI $request_uri;
            uwsgi_param PATH_INFO $document_uri;
            uwsgi_param DOCUMENT_ROOT $document_root;
            uwsgi_param SERVER_PROTOCOL $server_protocol;
            uwsgi_param REQUEST_SCHEME $scheme;
            uwsgi_param REMOTE_ADDR $remote_addr;
            uwsgi_param REMOTE_PORT $remote_port;
            uwsgi_param SERVER_PORT $server_port;
            uwsgi_param SERVER_NAME $server_name;
            uwsgi_buffering off;
            uwsgi_read_timeout 10s;
            client_max_body_size 0;'
	cat >"$p/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $p/nginx.pid;
error_log $p/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $p/client_body;
    proxy_temp_path $p/proxy;
    fastcgi_temp_path $p/fastcgi;
    uwsgi_temp_path $p/uwsgi;
    scgi_temp_path $p/scgi;
    server {
        listen 127.0.0.1:$NG;
        location / {$params
            uwsgi_pass 127.0.0.1:$A;
        }
    }
    server {
        listen 127.0.0.1:$NG_KEY;
        location / {$params
            uwsgi_param UWSGI_FASTROUTER_KEY other.test;
            uwsgi_pass 127.0.0.1:$A;
        }
    }
    server {
        listen 127.0.0.1:$NG_B;
        location / {$params
            uwsgi_pass 127.0.0.1:$B;
        }
    }
}
EOF
	bg_start /usr/sbin/nginx -p "$p" -c "$p/nginx.conf" -e "$p/error.log" >"$p/out.log" 2>&1
	wait_for 5 bash -c "echo >/dev/tcp/127.0.0.1/$NG"
}

# get PORT HOST PATH [curl options]: the body.
get() {
	local port=$1 host=$2 path=$3
	shift 3
	curl -sS --max-time 10 -H "Host: $host" "$@" "http://127.0.0.1:$port$path"
}

# code PORT HOST PATH: the status code only.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Host: $2" "http://127.0.0.1:$1$3"; }

# node_at PORT HOST PATH: the node that answered (wsgi_app.py's JSON).
node_at() { get "$@" | python3 -c 'import json, sys; print(json.load(sys.stdin)["node"])' 2>/dev/null; }

# jok JSON EXPR: the python expression holds over d = the parsed JSON.
jok() {
	python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
    ok = eval(sys.argv[2])
except Exception:
    ok = False
if not ok:
    print("# got: %s" % sys.argv[1][:600], file=sys.stderr)
sys.exit(0 if ok else 1)
' "$1" "$2"
}

# fast_stat EXPR [STATS_SOCK]: EXPR over f = the router's streams.fastrouter
# stats object, printed.
fast_stat() {
	"$BIN/emperor" stats -s "${2:-$T/stats.sock}" | python3 -c '
import json, sys
f = json.load(sys.stdin)["router"]["streams"]["fastrouter"]
print(eval(sys.argv[1]))
' "$1"
}

# uc.py: a raw uwsgi client, as uWSGI's routers and nginx talk to us.
cat >"$T/uc.py" <<'EOF'
import socket, struct, sys, time

def packet(pairs, m1=0, m2=0):
    body = b"".join(struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
                    for k, v in ((k.encode(), v.encode()) for k, v in pairs))
    return struct.pack("<BHB", m1, len(body), m2) + body

def cgi(host_vars, path="/", method="GET", clen=0):
    return [("REQUEST_METHOD", method), ("PATH_INFO", path), ("REQUEST_URI", path),
            ("QUERY_STRING", ""), ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "5555"), ("SERVER_PORT", "80"),
            ("CONTENT_LENGTH", str(clen) if clen else "")] + host_vars

def exchange(port, data, pieces=1, timeout=10):
    """Send data (in pieces, with small pauses), read to EOF: (bytes, secs)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        s.sendall(data[i:i + step])
        if pieces > 1:
            time.sleep(0.01)
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        out += d
    s.close()
    return out, time.monotonic() - t0
EOF

# raw PYTHON-STATEMENTS: run with uc.py's helpers and A's port as PORT.
raw() { (cd "$T" && python3 -c "from uc import *
PORT = $A
$1"); }

emperor_ini "fastrouter = 127.0.0.1:$A" "subscription-server = 127.0.0.1:$A_SUB" \
	"subscription-mountpoints = 1"
check "emperor A starts with a fastrouter and mountpoints" start_emperor
check "emperor B starts with fastrouter-force-key and fastrouter-subscription-server" \
	start_emperor_in b "fastrouter = 127.0.0.1:$B" \
	"fastrouter-subscription-server = 127.0.0.1:$B_SUB" "fastrouter-force-key = forced.test" \
	"resubscribe = 127.0.0.1:$A_SUB"
B_STATS="$T/b/stats.sock"

uwsgi_node app 18731 --subscribe-to "127.0.0.1:$A_SUB:app.test"
uwsgi_node api 18732 --subscribe-to "127.0.0.1:$A_SUB:app.test/api"
uwsgi_node other 18733 --subscribe-to "127.0.0.1:$A_SUB:other.test"
uwsgi_node forced 18734 --subscribe-to "127.0.0.1:$B_SUB:forced.test"
check "nginx starts" start_nginx

check "the three uWSGI nodes' subscriptions show in A's stats" wait_for 15 router_eval \
	"node('app.test', '127.0.0.1:18731') and node('app.test/api', '127.0.0.1:18732') and node('other.test', '127.0.0.1:18733')"
check "fastrouter-subscription-server: B learnt forced.test from its node" \
	wait_for 15 router_eval "node('forced.test', '127.0.0.1:18734')" "$B_STATS"
check "B, with only a fastrouter, resubscribes forced.test to A as a uwsgi node at its fastrouter" \
	wait_for 15 router_eval "node('forced.test', '127.0.0.1:$B') and node('forced.test', '127.0.0.1:$B')['proto'] != 'http'"
check "nginx -> A's fastrouter -> B's fastrouter -> the forced node" \
	test "$(node_at $NG forced.test /)" = forced
check "A's stats list the fastrouter listener" \
	router_eval "any(l['address'] == '127.0.0.1:$A' for l in r['listeners'])"

# ---- 1. nginx -> fastrouter -> uWSGI, by Host
j=$(get $NG app.test '/hello?x=1')
check "GET through nginx reaches the app.test node" jok "$j" 'd["node"] == "app"'
check "the node sees nginx's vars: PATH_INFO, QUERY_STRING, HTTP_HOST" \
	jok "$j" 'd["PATH_INFO"] == "/hello" and d["QUERY_STRING"] == "x=1" and d["HTTP_HOST"] == "app.test"'
check "Host other.test reaches the other.test node" test "$(node_at $NG other.test /)" = other
t0=$(fast_stat 'f["closed"]["unknown_key"]')
check "an unknown Host: nginx answers 502 (the fastrouter closed)" test "$(code $NG nope.test /)" = 502
check "... and A counts it as unknown_key" test "$(fast_stat 'f["closed"]["unknown_key"]')" -gt "$t0"
check "A's log names the refusal" wait_for 2 grep -q "fastrouter.*no pool for the key" "$T/emperor.log"

# ---- 2. bodies both ways
head -c $((5 << 20)) /dev/urandom >"$T/big"
big_sha=$(sha256sum "$T/big" | cut -d' ' -f1)
j=$(get $NG app.test /upload -H "Content-Type: application/octet-stream" --data-binary @"$T/big")
check "a 5 MiB POST through nginx arrives whole (length and sha256)" \
	jok "$j" "d['node'] == 'app' and d['body_len'] == $((5 << 20)) and d['sha256'] == '$big_sha' and d['CONTENT_LENGTH'] == '$((5 << 20))'"
blob_sha=$(python3 -c 'import hashlib, sys; sys.path.insert(0, sys.argv[1]); from wsgi_app import blob
print(hashlib.sha256(blob(8 << 20)).hexdigest())' "$PEERS")
got=$(get $NG app.test "/blob" -G --data "$((8 << 20))" | sha256sum | cut -d' ' -f1)
check "an 8 MiB response (ended by the node's close) comes back whole" test "$got" = "$blob_sha"
check "the slow response is streamed: its first line long before the rest" python3 - $NG <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t0 = time.monotonic()
s.sendall(b"GET /slow HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
data, first = b"", None
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
    if first is None and b"first\n" in data:
        first = time.monotonic() - t0
total = time.monotonic() - t0
assert data.startswith(b"HTTP/1.1 200"), data[:100]
assert 0 <= data.find(b"first\n") < data.find(b"second\n"), data
assert first is not None and first < 1.5 and total >= 1.9, (first, total)
EOF

# ---- 3. UWSGI_FASTROUTER_KEY set by nginx overrides Host
check "UWSGI_FASTROUTER_KEY other.test (nginx) wins over Host app.test" \
	test "$(node_at $NG_KEY app.test /)" = other
check "... for any Host" test "$(node_at $NG_KEY whatever.test /api/x)" = other

# ---- 4. mountpoints over PATH_INFO
check "mountpoint: /api/x goes to the app.test/api node" test "$(node_at $NG app.test /api/x)" = api
check "mountpoint: /api goes to the app.test/api node" test "$(node_at $NG app.test '/api?q=1')" = api
check "mountpoint: / goes to the app.test node" test "$(node_at $NG app.test /)" = app
check "mountpoint: /apix is another segment: app.test" test "$(node_at $NG app.test /apix)" = app
check "mountpoint: /other falls back to app.test" test "$(node_at $NG app.test /other/y)" = app

# ---- 5. raw uwsgi clients (uWSGI routers, no nginx)
check "raw uwsgi: HTTP_HOST app.test gets the app node's response, then EOF" raw '
out, _ = exchange(PORT, packet(cgi([("HTTP_HOST", "app.test")])))
assert out.startswith(b"HTTP/1.1 200"), out[:200]
assert b"\"node\": \"app\"" in out, out'
check "raw uwsgi: empty HTTP_HOST, SERVER_NAME other.test: the other node" raw '
out, _ = exchange(PORT, packet(cgi([("HTTP_HOST", ""), ("SERVER_NAME", "other.test")])))
assert b"\"node\": \"other\"" in out, out[:300]'
check "raw uwsgi: UWSGI_FASTROUTER_KEY other.test beats HTTP_HOST app.test" raw '
out, _ = exchange(PORT, packet(cgi([("HTTP_HOST", "app.test"), ("UWSGI_FASTROUTER_KEY", "other.test")])))
assert b"\"node\": \"other\"" in out, out[:300]'
check "raw uwsgi: HTTP_HOST APP.Test:8080 (case, port) falls back to app.test" raw '
out, _ = exchange(PORT, packet(cgi([("HTTP_HOST", "APP.Test:8080")])))
assert b"\"node\": \"app\"" in out, out[:300]'
check "raw uwsgi: modifier2 7 is accepted (the node gets its own modifiers)" raw '
out, _ = exchange(PORT, packet(cgi([("HTTP_HOST", "app.test")]), m2=7))
assert b"\"node\": \"app\"" in out, out[:300]'
check "raw uwsgi: the head and a 5 MiB body sent in 64 pieces arrive whole" raw '
import hashlib
body = open("big", "rb").read()
out, _ = exchange(PORT, packet(cgi([("HTTP_HOST", "app.test")], "/up", "POST", len(body))) + body, 64)
want = hashlib.sha256(body).hexdigest().encode()
assert b"\"body_len\": %d" % len(body) in out and want in out, out[:400]'
t0=$(fast_stat 'f["closed"]["bad_head"]')
check "raw uwsgi: a var running past the size: closed without a byte" raw '
pkt = bytearray(packet([("HTTP_HOST", "app.test")]))
pkt[4] = 200  # the key length now runs past the vars
out, secs = exchange(PORT, bytes(pkt))
assert out == b"" and secs < 2, (out, secs)'
check "raw uwsgi: a junk CONTENT_LENGTH: closed without a byte" raw '
out, secs = exchange(PORT, packet([("HTTP_HOST", "app.test"), ("CONTENT_LENGTH", "12x")]))
assert out == b"" and secs < 2, (out, secs)'
check "... both counted as bad_head" test "$(fast_stat 'f["closed"]["bad_head"]')" -ge $((t0 + 2))
check "raw uwsgi: a head with no key at all: closed without a byte" raw '
out, secs = exchange(PORT, packet([("PATH_INFO", "/")]))
assert out == b"" and secs < 2, (out, secs)'
check "A's fastrouter counted connections done and bytes both ways" \
	test "$(fast_stat 'f["closed"]["done"] >= 10 and f["bytes_in"] > (10 << 20) and f["bytes_out"] > (8 << 20)')" = True
check "A's stats count hits on app.test" router_eval "sub('app.test')['hits'] >= 3"

# ---- 6. emperor B: fastrouter-force-key
check "force-key: Host app.test goes to the forced.test node" test "$(node_at $NG_B app.test /)" = forced
check "force-key: any Host, any path" test "$(node_at $NG_B whatever.test /api/x)" = forced
check "force-key: a raw packet with no key at all" raw '
out, _ = exchange('$B', packet(cgi([])))
assert b"\"node\": \"forced\"" in out, out[:300]'
check "force-key: B's forced.test node counts the requests" \
	router_eval "node('forced.test', '127.0.0.1:18734')['requests'] >= 3" "$B_STATS"

check "emperor A is still running" kill -0 "$EMP_PID"
finish
