#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The HTTP router's own answers and limits, against real peers: 404 for an
# unknown Host (no internal detail in the body), 502 then 503 for a dead
# node, 400/505 for bad request lines, 431 for an oversized head, 408 for a
# head that never completes, 504 for a node that never answers, 501 for an
# unknown transfer coding, http-max-connections, malformed subscription
# packets counted and survived, subscription-max-nodes-per-key.
. "$(dirname "$0")/lib.sh"

PEERS="$ROOT/tests/integration/peers"
E=18400 E_SUB=18426
L=18500 L_SUB=18526 # the emperor with http-max-connections = 5

on_exit() {
	local rc=$?
	kill_bg
	if [ "$TEST_FAILED" -gt 0 ]; then
		local f
		for f in "$T"/lim/emperor.log "$T"/*.node.log; do
			[ -f "$f" ] || continue
			echo "# last lines of ${f#"$T"/}:"
			tail -n 15 "$f" | sed 's/^/#   /'
		done
	fi
	(exit $rc)
	cleanup
}
trap on_exit EXIT

sub() { python3 "$PEERS/subpkt.py" "$@"; }
refresh() { bg_start python3 "$PEERS/subpkt.py" "$@" --every 1 --count 120 >/dev/null 2>&1; }
# status_of RESPONSE: the status code of a raw response's first line.
status_of() { head -n1 <<<"$1" | cut -d' ' -f2; }

emperor_ini "http = 127.0.0.1:$E" "subscription-server = 127.0.0.1:$E_SUB" \
	"http-max-header-size = 8k" "http-header-timeout = 1s" "http-timeout = 2s" \
	"subscription-max-nodes-per-key = 1"
check "the emperor starts with the router" start_emperor
check "a second emperor starts with http-max-connections = 5" start_emperor_in lim \
	"http = 127.0.0.1:$L" "subscription-server = 127.0.0.1:$L_SUB" "http-max-connections = 5"
L_STATS="$T/lim/stats.sock"

bg_start python3 "$PEERS/httpnode.py" 18441 h1 >"$T/h1.node.log" 2>&1
refresh "127.0.0.1:$E_SUB" ok.test 127.0.0.1:18441 --proto http
refresh "127.0.0.1:$L_SUB" ok.test 127.0.0.1:18441 --proto http
sub "127.0.0.1:$E_SUB" down.test 127.0.0.1:18499 --proto http # nothing listens there
check "ok.test and down.test are subscribed" \
	wait_for 5 router_eval "sub('ok.test') and sub('down.test')"
check "the node serves through the router" \
	wait_for 3 test "$(curl -s --max-time 3 -H 'Host: ok.test' "http://127.0.0.1:$E/whoami")" = h1

# ---- unknown Host
out=$(curl -s --max-time 3 -H "Host: nope.test" -w '\n%{http_code}' "http://127.0.0.1:$E/x")
check "an unknown Host gets 404" test "$(tail -n1 <<<"$out")" = 404
check "the 404 body names no address, port or path" \
	bash -c '! grep -Eq "[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|:[0-9]{2,5}|/tmp|/run|\.sock" <<<"$1"' _ \
	"$(sed '$d' <<<"$out")"

# ---- a node that is down
code1=$(curl -s -o "$T/502.body" -w '%{http_code}' --max-time 5 -H "Host: down.test" "http://127.0.0.1:$E/")
code2=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: down.test" "http://127.0.0.1:$E/")
check "a key whose only node refuses connections: 502 on the first request ($code1)" test "$code1" = 502
check "then 503 while the node is marked dead ($code2)" test "$code2" = 503
check "the 502 body names no address" bash -c '! grep -Eq "127\.0\.0\.1|18499" "$1"' _ "$T/502.body"
check "stats show the dead node's failure and death mark" \
	router_eval "node('down.test', '127.0.0.1:18499')['failures'] >= 1 and node('down.test', '127.0.0.1:18499')['death_mark']"

# ---- malformed requests
out=$(printf 'GARBAGE\r\n\r\n' | http_raw $E)
check "a bad request line gets 400 ($(status_of "$out"))" test "$(status_of "$out")" = 400
out=$(printf 'GET / HTTP/2.0\r\nHost: ok.test\r\n\r\n' | http_raw $E)
check "HTTP/2.0 in a request line gets 505 ($(status_of "$out"))" test "$(status_of "$out")" = 505
big=$(head -c 20480 /dev/zero | tr '\0' a)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: ok.test" -H "X-Big: $big" \
	"http://127.0.0.1:$E/whoami")
check "a 20 KiB header with http-max-header-size = 8k gets 431 ($code)" test "$code" = 431
out=$(printf 'GET / HTTP/1.0\r\n\r\n' | http_raw $E)
check "HTTP/1.0 without Host gets 404 ($(status_of "$out"))" test "$(status_of "$out")" = 404
out=$(printf 'POST /echo HTTP/1.1\r\nHost: ok.test\r\nTransfer-Encoding: gzip\r\n\r\nxyz' | http_raw $E)
check "Transfer-Encoding: gzip gets 501 ($(status_of "$out"))" test "$(status_of "$out")" = 501

# ---- slowloris: half a head, then nothing; a head trickled byte by byte
# slow_head PORT TRICKLE: "STATUS MS", MS from the first byte sent to the answer.
slow_head() {
	python3 - "$@" <<'EOF'
import select, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=6)
head = b"GET /whoami HTTP/1.1\r\nHost: ok.test\r\nX-Pad: " + b"a" * 40
t0 = time.monotonic()
if sys.argv[2] == "1":
    for b in head:  # one byte every 100 ms (4 s for the head) until the router answers
        if select.select([s], [], [], 0.1)[0]:
            break
        s.send(bytes([b]))
else:
    s.sendall(head[:30])
    select.select([s], [], [], 5)
line = s.recv(4096).split(b"\r\n")[0].split(b" ")
print(line[1].decode() if len(line) > 1 else "none", int((time.monotonic() - t0) * 1000))
EOF
}
read -r st el <<<"$(slow_head $E 0)"
check "half a head then silence gets 408 ($st)" test "$st" = 408
check "with http-header-timeout = 1s the 408 comes after 0.9..2 s (${el} ms)" \
	test "$el" -ge 900 -a "$el" -le 2000
read -r st el <<<"$(slow_head $E 1)"
check "a head trickled byte by byte gets 408 ($st)" test "$st" = 408
check "the trickle is cut at the header timeout, not refreshed by each byte (${el} ms)" \
	test "$el" -ge 900 -a "$el" -le 2000

# ---- a node that never answers
read -r code el <<<"$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 8 \
	-H "Host: ok.test" "http://127.0.0.1:$E/slow")"
el=$(awk -v s="$el" 'BEGIN { printf "%d", s * 1000 }')
check "a node that never answers gets 504 with http-timeout = 2s ($code)" test "$code" = 504
check "the 504 comes after 1.9..3.5 s (${el} ms)" test "$el" -ge 1900 -a "$el" -le 3500

# ---- http-max-connections = 5 (emperor lim)
check "lim: ok.test is subscribed" wait_for 5 router_eval "sub('ok.test')" "$L_STATS"
check "http-max-connections = 5: the 6th.. connections wait until others close" python3 - $L <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
req = b"GET /whoami HTTP/1.1\r\nHost: ok.test\r\nConnection: close\r\n\r\n"
idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
time.sleep(0.3)
extra = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
for s in extra:
    s.sendall(req)
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
    d = s.recv(4096)
    assert d.startswith(b"HTTP/1.1 200") and d.endswith(b"h1"), d
n = socket.create_connection(("127.0.0.1", port), timeout=5)
n.sendall(req)
d = b""
while True:
    c = n.recv(4096)
    if not c:
        break
    d += c
assert d.startswith(b"HTTP/1.1 200") and d.endswith(b"h1"), d
EOF
check "lim: stats count the connections refused at the limit" \
	router_eval "r['refused_at_limit'] >= 1" "$L_STATS"

# ---- malformed subscription packets
for kind in garbage truncated badsize modifier1 short; do
	sub "127.0.0.1:$E_SUB" --raw "$kind"
done
check "malformed packets are dropped and counted by reason" wait_for 3 router_eval \
	"(r['dropped']['not_sub'], r['dropped']['bad_vars'], r['dropped']['bad_size'], r['dropped']['short']) == (2, 1, 1, 1)"
check "no malformed packet created a key" router_eval "sub('raw.test') is None"
check "the emperor is still alive" kill -0 "$EMP_PID"
sub "127.0.0.1:$E_SUB" after.test 127.0.0.1:18441 --proto http
check "and still subscribes and routes" \
	wait_for 3 test "$(curl -s --max-time 3 -H 'Host: after.test' "http://127.0.0.1:$E/whoami")" = h1

# ---- subscription-max-nodes-per-key = 1
sub "127.0.0.1:$E_SUB" full.test 127.0.0.1:18441 --proto http
check "full.test has its first node" wait_for 3 router_eval "sub('full.test')"
sub "127.0.0.1:$E_SUB" full.test 127.0.0.1:18442 --proto http
check "a second node for the key is refused and counted as full" \
	wait_for 3 router_eval "r['dropped']['full'] == 1"
check "full.test still has exactly its first node" \
	router_eval "[n['name'] for n in sub('full.test')['nodes']] == ['127.0.0.1:18441']"

check "stats count the router's own error responses" router_eval \
	"all(r['errors'][s] >= 1 for s in ('400', '404', '408', '431', '501', '502', '503', '504', '505'))"
check "the emperor is still running" kill -0 "$EMP_PID"
finish
