#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The vassal's subscription client against a UDP router stand-in (a python
# listener recording every datagram): a packet at ready, again after 1 s,
# then every subscribe-freq; its bytes; acks on the notify socket logged;
# unsubscribe on stop, on an in-place reload only when asked, and when the
# app exits on its own; subscribe2's check=FILE; key files, a missing one
# failing the vassal. The vassals have no network namespace of their own, so
# they reach the listener on the test namespace's loopback.
. "$(dirname "$0")/lib.sh"

UDP=18490
PKTS="$T/packets.log"
mkdir -p "$T/acks"
chmod 777 "$T/acks" # the vassals bind their notify sockets as nobody

# The router stand-in: one line per datagram ("TIME HEX"); the first time a
# key arrives with a `notify` var it answers with uWSGI's ack text.
timeout 120 python3 -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
out = open(sys.argv[2], "a", buffering=1)
open(sys.argv[2] + ".bound", "w").close()
acked = set()
while True:
    d, _ = s.recvfrom(65536)
    out.write("%.6f %s\n" % (time.time(), d.hex()))
    v, off = {}, 4
    try:
        while off < len(d):
            kl = struct.unpack_from("<H", d, off)[0]; k = d[off + 2:off + 2 + kl]; off += 2 + kl
            vl = struct.unpack_from("<H", d, off)[0]; v[k] = d[off + 2:off + 2 + vl]; off += 2 + vl
    except struct.error:
        continue
    if d[3] == 0 and b"notify" in v and v[b"key"] not in acked:
        acked.add(v[b"key"])
        u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            u.sendto(b"[subscription ack] " + v[b"key"] + b" => new node: " + v[b"address"],
                     v[b"notify"].decode())
        except OSError:
            pass
' "$UDP" "$PKTS" &
LISTENER_PID=$!
trap 'rc=$?; kill "$LISTENER_PID" 2>/dev/null; (exit $rc); cleanup' EXIT
check "the router stand-in listens" wait_for 5 test -e "$PKTS.bound"

# pk EXPR: true when the python expression holds over the packets so far.
# P: every datagram as {t, ok, unsub, vars}; subs(KEY) / unsubs(KEY) filter.
cat >"$T/pk.py" <<'EOF'
import ast, struct, sys
P = []
for line in open(sys.argv[1]):
    t, h = line.split()
    d = bytes.fromhex(h)
    ok = len(d) >= 4 and d[0] == 224 and struct.unpack_from("<H", d, 1)[0] == len(d) - 4
    v, off = {}, 4
    try:
        while ok and off < len(d):
            kl = struct.unpack_from("<H", d, off)[0]; k = d[off + 2:off + 2 + kl]; off += 2 + kl
            vl = struct.unpack_from("<H", d, off)[0]; val = d[off + 2:off + 2 + vl]; off += 2 + vl
            ok = ok and off <= len(d) and kl > 0
            v[k.decode()] = val.decode()
    except (struct.error, UnicodeDecodeError):
        ok = False
    P.append({"t": float(t), "ok": ok, "unsub": len(d) > 3 and d[3] == 1,
              "m2": d[3] if len(d) > 3 else None, "vars": v})
def subs(key): return [p for p in P if p["vars"].get("key") == key and not p["unsub"]]
def unsubs(key): return [p for p in P if p["vars"].get("key") == key and p["unsub"]]
# Statements may come first; the last one is the expression judged.
code = ast.parse(sys.argv[2].strip())
last = ast.Expression(code.body.pop().value)
try:
    exec(compile(code, "pk", "exec"))
    sys.exit(0 if eval(compile(last, "pk", "eval")) else 1)
except (IndexError, KeyError):
    sys.exit(1)
EOF
pk() { python3 "$T/pk.py" "$PKTS" "$1"; }
export -f pk
export PKTS

# vassal_file NAME PORT [EXTRA LINES...]: the demo app, without fs or net
# namespaces (it runs $BIN/hello from the host's tree, as nobody).
vassal_file() {
	local name=$1 port=$2; shift 2
	{
		echo "[vassal]"
		echo "exec = $BIN/hello"
		echo "socket = 127.0.0.1:$port"
		echo "use-clone = ipc,uts,pid"
		echo "heartbeat = 1"
		printf '%s\n' "$@"
	} >"$T/vassals.d/.$name.tmp"
	mv "$T/vassals.d/.$name.tmp" "$T/vassals.d/$name.ini"
}

printf 'k1.test\n# a comment\n\nk2.test,9\n' >"$T/keys.txt"
emperor_ini "use-clone = ipc,uts,pid" "stop-timeout = 3" "throttle = 500"
vassal_file subto 18491 "subscribe-to = 127.0.0.1:$UDP:app.test" "subscribe-freq = 2" \
	"subscription-notify-socket = $T/acks/subto.sock" "unsubscribe-on-graceful-reload = true"
vassal_file checked 18492 \
	"subscribe2 = server=127.0.0.1:$UDP,key=checked.test,check=$T/up,weight=3" \
	"subscribe-freq = 1"
vassal_file keyed 18493 "subscribe-to = 127.0.0.1:$UDP:@$T/keys.txt,3"
vassal_file nokeys 18494 "subscribe-to = 127.0.0.1:$UDP:@$T/missing.keys"

check "emperor starts" start_emperor
check "subto runs" wait_for 5 is_state subto running

# ---- subscribe-to: timing and bytes ----
check "a subscription arrives within 2 s of ready" wait_for 2 pk 'len(subs("app.test")) >= 1'
check "its bytes parse: modifier1 224 header, modifier2 0, key, address, uWSGI's vars" pk '
p = subs("app.test")[0]; v = p["vars"]
(p["ok"] and p["m2"] == 0 and v["key"] == "app.test" and v["address"] == "127.0.0.1:18491"
 and v["modifier1"] == "0" and v["modifier2"] == "0" and v["cores"] == "1"
 and v["load"] == "0" and v["weight"] == "0"
 and v["notify"] == sys.argv[1].rsplit("/", 1)[0] + "/acks/subto.sock"
 and list(v) == ["key", "address", "modifier1", "modifier2", "cores", "load", "weight", "notify"])
'
check "a second one follows about 1 s later" wait_for 2 pk '
s = subs("app.test"); len(s) >= 2 and 0.7 <= s[1]["t"] - s[0]["t"] <= 1.6'
check "then a refresh every subscribe-freq (2 s)" wait_for 3 pk '
s = subs("app.test"); len(s) >= 3 and 1.6 <= s[2]["t"] - s[1]["t"] <= 2.8'
check "and the next one 2 s later again" wait_for 3 pk '
s = subs("app.test"); len(s) >= 4 and 1.6 <= s[3]["t"] - s[2]["t"] <= 2.8'
check "no unsubscribe while it runs" pk 'not unsubs("app.test")'
check "the router's ack on the notify socket is logged" wait_for 2 \
	log_has "subscription ack: \[subscription ack\] app.test => new node: 127.0.0.1:18491"

# ---- key files ----
check "every key of a key file is announced, the entry's modifier1 as default" wait_for 3 pk '
(any(p["vars"]["modifier1"] == "3" for p in subs("k1.test")) and
 any(p["vars"]["modifier1"] == "9" for p in subs("k2.test")))
'
check "a key file's comment and blank lines are not keys" pk '
set(p["vars"]["key"] for p in P if p["vars"]["key"].startswith("k")) == {"k1.test", "k2.test"}'
check "a missing key file fails the vassal with a clear error" wait_for 3 \
	log_has "missing.keys': No such file or directory"
check "and nothing of it is sent" pk 'not any("missing" in (p["vars"].get("key") or "") for p in P)'

# ---- subscribe2 check=FILE ----
check "checked runs" wait_for 5 is_state checked running
sleep 1.5
check "check=FILE: nothing is sent while FILE is missing" pk 'not subs("checked.test")'
check "check=FILE: that is logged" log_has "subscription 'checked.test': $T/up is missing: not sending"
touch "$T/up"
check "check=FILE: once FILE exists it is sent (within subscribe-freq)" \
	wait_for 2.5 pk 'len(subs("checked.test")) >= 1'
check "check=FILE: the start is logged" log_has "subscription 'checked.test': $T/up exists: sending"
check "subscribe2's weight is sent, and no notify without a notify socket" pk '
v = subs("checked.test")[0]["vars"]; v["weight"] == "3" and "notify" not in v'

# ---- in-place reload ----
t_hup=$(date +%s.%N)
kill -HUP "$(vassal_pid checked)"
sleep 2
check "reload without unsubscribe-on-graceful-reload: no unsubscribe" pk 'not unsubs("checked.test")'
check "and the key is still refreshed" pk "any(p['t'] > $t_hup + 0.5 for p in subs('checked.test'))"

kill -HUP "$(vassal_pid subto)"
check "reload with unsubscribe-on-graceful-reload: an unsubscribe" \
	wait_for 2 pk 'len(unsubs("app.test")) == 1'
check "then the app, ready again, is announced again" wait_for 2 pk '
any(p["t"] > unsubs("app.test")[0]["t"] for p in subs("app.test"))'

# ---- stop ----
emperor_cli stop subto >/dev/null
check "emperor stop NAME: an unsubscribe (byte 3 == 1) arrives" \
	wait_for 3 pk 'len(unsubs("app.test")) == 2 and unsubs("app.test")[1]["ok"]'
check "the unsubscribe carries the same key and address" pk '
v = unsubs("app.test")[1]["vars"]; v["key"] == "app.test" and v["address"] == "127.0.0.1:18491"'
check "subto is stopped" wait_for 3 is_state subto stopped
sleep 2.2
check "nothing is sent after the unsubscribe" pk '
not any(p["t"] > unsubs("app.test")[1]["t"] for p in subs("app.test"))'

rm "$T/up"
check "check=FILE: the stop is logged" \
	wait_for 2 log_has "subscription 'checked.test': $T/up is missing: not sending"
n=$(python3 -c 'import sys; print(sum(1 for _ in open(sys.argv[1])))' "$PKTS")
sleep 1.5
check "check=FILE: nothing is sent once FILE is gone" pk "
not any(p['vars'].get('key') == 'checked.test' for p in P[$n:])"

# ---- the app exiting on its own ----
vassal_file quitter 18495 "env = HELLO_EXIT_AFTER_MS=1500" \
	"subscribe-to = 127.0.0.1:$UDP:quit.test"
check "quitter is announced" wait_for 3 pk 'len(subs("quit.test")) >= 1'
check "when its app exits on its own, an unsubscribe is sent" \
	wait_for 4 pk 'len(unsubs("quit.test")) >= 1'
rm "$T/vassals.d/quitter.ini" "$T/vassals.d/nokeys.ini"

check "every datagram was a valid subscription packet" pk 'P and all(p["ok"] for p in P)'
finish
