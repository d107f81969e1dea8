#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Signed subscriptions under attack. Two tenants own a.test and b.test with
# their RSA keys (key files in a SHA256 directory; a SHA1 directory too);
# the router requires signatures. Each attack below must be refused, counted
# under its reason in the stats, while a.test's real node keeps serving:
# unsigned, forged, another tenant's key, a replayed packet, an older
# counter, a counter far ahead or far behind, a replayed unsubscribe (which
# must not resurrect nor remove a node), a truncated signature, a tampered
# body, a foreign key claimed through a vassal's own socket. Then key
# rotation without restart, a key file that does not load, and Debian's
# uWSGI nodes signing with SHA1 and SHA256 accepted.
. "$(dirname "$0")/lib.sh"

PEERS="$ROOT/tests/integration/peers"
E=18600 S=18601
NA=18611 NX=18612 NR=18613 NU1=18614 NU256=18615

on_exit() {
	local rc=$?
	kill_bg
	if [ "$TEST_FAILED" -gt 0 ]; then
		local f
		for f in "$T"/emperor.log "$T"/*.node.log; do
			[ -f "$f" ] || continue
			echo "# last lines of ${f#"$T"/}:"
			tail -n 25 "$f" | sed 's/^/#   /'
		done
	fi
	(exit $rc)
	cleanup
}
trap on_exit EXIT

sig() { python3 "$PEERS/signed.py" "127.0.0.1:$S" "$@"; }
# dropped REASON: the router's count of packets dropped for REASON.
dropped() {
	"$BIN/emperor" stats -s "$T/stats.sock" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["router"]["dropped"][sys.argv[1]])' "$1"
}
# expect_drop REASON BEFORE: wait until REASON's count is above BEFORE.
grew() { [ "$(dropped "$1")" -gt "$2" ]; }
whoami() { curl -s --max-time 3 -H "Host: $1" "http://127.0.0.1:$E/whoami"; }
serves() { [ "$(whoami "$1")" = "$2" ]; }
has_node() { router_eval "node('$1', '$2') is not None"; }
no_node() { router_eval "node('$1', '$2') is None"; }

K="$T/keys"
mkdir -p "$K/256" "$K/1" "$K/priv"
for who in a b c u1 u256; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/priv/$who.pem" 2>/dev/null
done
openssl pkey -in "$K/priv/a.pem" -pubout -out "$K/256/a.test.pem"
openssl pkey -in "$K/priv/b.pem" -pubout -out "$K/256/b.test.pem"
openssl pkey -in "$K/priv/u256.pem" -pubout -out "$K/256/u256.test.pem"
openssl pkey -in "$K/priv/u1.pem" -pubout -out "$K/1/u1.test.pem"
# an OpenSSH key: its public half exported as ssh-keygen -e -m pkcs8 does
ssh-keygen -q -t rsa -b 2048 -N '' -f "$K/priv/ssh" -C test
ssh-keygen -e -m pkcs8 -f "$K/priv/ssh.pub" >"$K/256/ssh.test.pem"
ssh-keygen -p -q -m PEM -N '' -f "$K/priv/ssh" >/dev/null # PEM for openssl dgst
chmod 644 "$K"/priv/*

mkdir -p "$T/vassals.d"
emperor_ini "http = 127.0.0.1:$E" "subscription-server = 127.0.0.1:$S" \
	"subscriptions-sign-check = SHA256:$K/256" "subscriptions-sign-check = SHA1:$K/1" \
	"subscriptions-sign-required = true" "subscriptions-sign-tolerance = 30s"
check "the emperor starts with signature checks" start_emperor

bg_start python3 "$PEERS/httpnode.py" $NA real >"$T/real.node.log" 2>&1
bg_start python3 "$PEERS/httpnode.py" $NX thief >"$T/thief.node.log" 2>&1
bg_start python3 "$PEERS/httpnode.py" $NR replayed >"$T/replayed.node.log" 2>&1
bg_start python3 "$PEERS/httpnode.py" 18616 sshnode >"$T/ssh.node.log" 2>&1
A_SIGN="SHA256:$K/priv/a.pem"
bg_start python3 "$PEERS/signed.py" "127.0.0.1:$S" a.test 127.0.0.1:$NA --proto http \
	--sign "$A_SIGN" --every 1 --count 200 >/dev/null 2>&1
check "a.test's signed node is accepted and serves" wait_for 5 serves a.test real

# ---- the attacks
n=$(dropped unsigned)
sig a.test 127.0.0.1:$NX --proto http --tamper nosign
python3 "$PEERS/subpkt.py" "127.0.0.1:$S" a.test 127.0.0.1:$NX --proto http
check "an unsigned packet for a.test is refused (unsigned)" wait_for 3 grew unsigned $((n + 1))
python3 "$PEERS/subpkt.py" "127.0.0.1:$S" nokey.test 127.0.0.1:$NX --proto http
check "with sign-required, an unsigned packet for a key without a key file is refused" \
	wait_for 3 grew unsigned $((n + 2))
n=$(dropped no_key_file)
sig nokey.test 127.0.0.1:$NX --proto http --sign "$A_SIGN"
check "a signed packet for a key without a key file is refused (no_key_file)" \
	wait_for 3 grew no_key_file "$n"

n=$(dropped bad_signature)
sig a.test 127.0.0.1:$NX --proto http --sign "$A_SIGN" --tamper forge
check "a forged signature is refused (bad_signature)" wait_for 3 grew bad_signature "$n"
sig a.test 127.0.0.1:$NX --proto http --sign "SHA256:$K/priv/b.pem"
check "a.test signed with b.test's key is refused" wait_for 3 grew bad_signature $((n + 1))
sig a.test 127.0.0.1:$NX --proto http --sign "$A_SIGN" --tamper truncate
check "a truncated signature is refused" wait_for 3 grew bad_signature $((n + 2))
sig a.test 127.0.0.1:$NX --proto http --sign "$A_SIGN" --tamper flip
check "a body altered after signing is refused" wait_for 3 grew bad_signature $((n + 3))
sig a.test 127.0.0.1:$NX --proto http --sign "SHA1:$K/priv/a.pem"
check "the right key with the wrong digest (SHA1 for a SHA256 directory) is refused" \
	wait_for 3 grew bad_signature $((n + 4))
check "none of them added the thief's node" no_node a.test 127.0.0.1:$NX

# a second real node of a.test, whose packets we capture and replay
sig a.test 127.0.0.1:$NR --proto http --sign "$A_SIGN" --save "$T/sub1"
check "a second signed node of a.test is accepted" wait_for 3 has_node a.test 127.0.0.1:$NR
n=$(dropped replay)
sig --replay "$T/sub1"
check "the same packet sent again is refused (replay)" wait_for 3 grew replay "$n"
sig a.test 127.0.0.1:$NR --proto http --sign "$A_SIGN" --unix -10
check "a validly signed packet with an older counter is refused (replay)" \
	wait_for 3 grew replay $((n + 1))
c=$(dropped clock_skew)
sig a.test 127.0.0.1:$NX --proto http --sign "$A_SIGN" --unix +3600
check "a counter an hour ahead is refused (clock_skew)" wait_for 3 grew clock_skew "$c"
sig a.test 127.0.0.1:$NX --proto http --sign "$A_SIGN" --unix -3600
check "a counter an hour behind is refused (clock_skew)" wait_for 3 grew clock_skew $((c + 1))

sig a.test 127.0.0.1:$NR --proto http --sign "$A_SIGN" --unsubscribe --unix +2 --save "$T/unsub1"
check "a signed unsubscribe removes that node" wait_for 3 no_node a.test 127.0.0.1:$NR
sig --replay "$T/sub1"
check "the captured subscribe replayed after it cannot resurrect the node" \
	wait_for 3 grew replay $((n + 2))
sleep 0.3
check "the node stays gone" no_node a.test 127.0.0.1:$NR
sig a.test 127.0.0.1:$NR --proto http --sign "$A_SIGN" --unix +3
check "its owner subscribes it again with a fresh counter" wait_for 3 has_node a.test 127.0.0.1:$NR
sig --replay "$T/unsub1"
check "the captured unsubscribe replayed is refused (replay)" wait_for 3 grew replay $((n + 3))
sleep 0.3
check "and the node is still there" has_node a.test 127.0.0.1:$NR
sig a.test 127.0.0.1:$NR --proto http --sign "$A_SIGN" --unsubscribe --unix +4

# through a vassal's own socket: only its own keys, signed or not
jailed_vassal own 18620 "domain = own.test"
check "a vassal declaring own.test runs" wait_for 10 is_state own running
check "its unsigned local subscription is accepted (sockets identify vassals)" \
	wait_for 5 router_eval "sub('own.test') is not None"
vp=$(vassal_pid own)
sfd=$(tr '\0' '\n' <"/proc/$vp/cmdline" | sed -n '/^--subscribe-fd$/{n;p}')
f=$(dropped foreign_key)
sig a.test 127.0.0.1:18620 --proto http --sign "$A_SIGN" --pid "$vp" --fd "$sfd" 2>"$T/pidfd.err" || cat "$T/pidfd.err"
check "a.test claimed through the vassal's socket is refused (foreign_key), even signed" \
	wait_for 3 grew foreign_key "$f"

check "after all that, a.test's real node still serves" serves a.test real
check "and the thief's node was never added" no_node a.test 127.0.0.1:$NX
check "each refusal reason was logged" \
	bash -c 'for w in unsigned "no key file" "does not verify" replayed "unix in the future" "unix too old" "not declared"; do grep -q "$w" "$T/emperor.log" || { echo "missing: $w"; exit 1; }; done'
n=$(dropped bad_signature)
l0=$(grep -c 'signature does not verify' "$T/emperor.log")
sig a.test 127.0.0.1:$NX --proto http --sign "$A_SIGN" --tamper forge --count 20
check "a burst of 20 forged packets is counted" wait_for 3 grew bad_signature $((n + 19))
l1=$(grep -c 'signature does not verify' "$T/emperor.log")
check "but logged at most once more ($l0 -> $l1 lines)" test "$l1" -le $((l0 + 1))

# ---- key rotation without restart
openssl pkey -in "$K/priv/c.pem" -pubout -out "$K/256/a.test.pem.new"
mv "$K/256/a.test.pem.new" "$K/256/a.test.pem"
n=$(dropped bad_signature)
check "after a.test's key file is replaced, the old key's refreshes are refused" \
	wait_for 4 grew bad_signature "$n"
sig a.test 127.0.0.1:$NX --proto http --sign "SHA256:$K/priv/c.pem"
check "and the new key's packets are accepted" wait_for 3 has_node a.test 127.0.0.1:$NX
check "the reload was logged" log_has "a.test.pem changed: reloading"
echo "not a key" >"$K/256/b.test.pem"
n=$(dropped bad_signature)
sig b.test 127.0.0.1:$NX --proto http --sign "SHA256:$K/priv/b.pem"
check "a key file that does not load refuses its key's packets" wait_for 3 grew bad_signature "$n"
check "and says so in the log, naming the file" log_has "b.test.pem"

# ---- OpenSSH keys, and real uWSGI nodes signing with SHA1 and SHA256
sig ssh.test 127.0.0.1:18616 --proto http --sign "SHA256:$K/priv/ssh"
check "a key exported with ssh-keygen -e -m pkcs8 verifies" wait_for 3 serves ssh.test sshnode
uwsgi_node() {
	local name=$1 port=$2 key=$3 digest=$4
	bg_start env NODE_NAME="$name" uwsgi --plugin python3 --socket "127.0.0.1:$port" \
		--wsgi-file "$PEERS/wsgi_app.py" --master --processes 1 --die-on-term \
		--subscribe-to "127.0.0.1:$S:$key,0,$digest:$K/priv/${key%.test}.pem" \
		>"$T/$name.node.log" 2>&1
}
uwsgi_node u1 $NU1 u1.test SHA1
uwsgi_node u256 $NU256 u256.test SHA256
check "a uWSGI node signing with SHA1 is accepted and serves" \
	wait_for 10 bash -c "curl -s --max-time 3 -H 'Host: u1.test' http://127.0.0.1:$E/ | grep -q u1"
check "a uWSGI node signing with SHA256 is accepted and serves" \
	wait_for 10 bash -c "curl -s --max-time 3 -H 'Host: u256.test' http://127.0.0.1:$E/ | grep -q u256"
check "stats count verified signatures" router_eval "r['signatures']['verified'] >= 10"

finish
