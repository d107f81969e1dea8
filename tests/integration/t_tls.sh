#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# HTTPS in front of the router: an `https` listener with a default
# certificate (default.test) and `sni-dir` certificates (a.test, b.test, and
# secure.test with a HOST.ca: client certificates required), our jailed demo
# vassals behind them by `domain`. Checked with openssl s_client and curl:
# SNI picks the certificate (any case), unknown or no SNI gets the default,
# curl reaches the vassal, ALPN says http/1.1 (and nothing for h2 alone),
# TLS 1.1 is refused; secure.test refuses clients without a certificate and
# serves one with it; a Host wanting a client certificate on another SNI's
# session gets 421; a replaced certificate is served a second later, a broken
# one is not (the old one stays); garbage on the port harms no one; the
# stats count it all. Then a signed subscription's sni_crt/sni_key/sni_ca
# (trusted: signed with the key's own key file) serve its host, and the node
# is told the request came over TLS.
. "$(dirname "$0")/lib.sh"

PEERS="$ROOT/tests/integration/peers"
HTTPS=18443 HTTP=18480 SUB=18481
NODE=18490

on_exit() {
	local rc=$?
	kill_bg
	(exit $rc)
	cleanup
}
trap on_exit EXIT

# ---- certificates: a CA for servers, another for client certificates
C="$T/certs"
S="$T/sni"
mkdir -p "$C" "$S"
ca() { # NAME CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$C/$1.key" -out "$C/$1.pem" -subj "/CN=$2" 2>/dev/null
}
# leaf CA NAME CN SERIAL [ORG] [client]: a certificate for CN signed by CA
leaf() {
	local ext="subjectAltName=DNS:$3"
	[ "${6:-}" = client ] && ext="extendedKeyUsage=clientAuth"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/$2.key" \
		-subj "/O=${5:-imperium test}/CN=$3" -addext "$ext" -out "$C/$2.csr" 2>/dev/null &&
		openssl x509 -req -in "$C/$2.csr" -CA "$C/$1.pem" -CAkey "$C/$1.key" -set_serial "$4" \
			-days 2 -copy_extensions copy -out "$C/$2.crt" 2>/dev/null
}
ca ca "imperium test CA"
ca clientca "imperium client CA"
leaf ca default default.test 1
leaf ca a a.test 2
leaf ca b b.test 3
leaf ca secure secure.test 4
leaf ca sub sub.test 5
leaf clientca client "a client" 6 "" client
leaf ca rogue "a client" 7 "" client # a client certificate from the wrong CA
for h in a b secure; do
	cp "$C/$h.crt" "$S/$h.test.crt"
	cp "$C/$h.key" "$S/$h.test.key"
done
cp "$C/clientca.pem" "$S/secure.test.ca"
chmod 644 "$C"/* "$S"/*

# ---- the router: https with sni-dir, plain http beside it, signed subscriptions
K="$T/keys"
mkdir -p "$K/pub"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/sub.pem" 2>/dev/null
openssl pkey -in "$K/sub.pem" -pubout -out "$K/pub/sub.test.pem"
emperor_ini "https = 127.0.0.1:$HTTPS,$C/default.crt,$C/default.key" "sni-dir = $S" \
	"http = 127.0.0.1:$HTTP" "subscription-server = 127.0.0.1:$SUB" \
	"subscriptions-sign-check = SHA256:$K/pub" "http-header-timeout = 2s"
check "the emperor starts with an https listener" start_emperor
jailed_vassal a 18101 "domain = a.test"
jailed_vassal b 18102 "domain = b.test"
jailed_vassal secure 18103 "domain = secure.test"
check "the vassals run" wait_for 8 bash -c 'is_state a running && is_state b running && is_state secure running'
check "their domains are subscribed" wait_for 5 router_eval \
	'all(sub(k) is not None for k in ("a.test", "b.test", "secure.test"))'

# subject [s_client options...]: the subject of the certificate served
subject() {
	openssl s_client -connect "127.0.0.1:$HTTPS" "$@" </dev/null 2>/dev/null |
		openssl x509 -noout -subject 2>/dev/null
}
cn_is() { # CN s_client options...
	local want=$1
	shift
	subject "$@" | grep -q "CN *= *$want\$"
}
check "SNI a.test gets a.test's certificate" cn_is a.test -servername a.test
check "SNI b.test gets b.test's" cn_is b.test -servername b.test
check "SNI is case-insensitive (A.TEST)" cn_is a.test -servername A.TEST
check "a trailing dot is the same name (a.test.)" cn_is a.test -servername a.test.
check "an unknown SNI gets the default certificate" cn_is default.test -servername nobody.test
check "no SNI gets the default certificate" cn_is default.test -noservername
check "a name climbing out of sni-dir gets the default" cn_is default.test -servername ..
check "a name with a slash gets the default" cn_is default.test -servername x/../a.test

# curl_tls HOST [curl options...]: GET https://HOST:$HTTPS/ with HOST resolved to us
curl_tls() {
	local h=$1
	shift
	curl -sS --max-time 5 --resolve "$h:$HTTPS:127.0.0.1" --cacert "$C/ca.pem" "$@" \
		"https://$h:$HTTPS/"
}
status_tls() { curl_tls "$@" -o /dev/null -w '%{http_code}' 2>/dev/null; }
export HTTPS C
export -f subject cn_is curl_tls status_tls
body=$(curl_tls a.test)
check "curl over https reaches a.test's vassal (certificate verified)" \
	bash -c 'grep -q "hello from a" <<<"$1" && grep -q "pid:" <<<"$1"' _ "$body"
check "b.test too" grep -q "hello from b" <<<"$(curl_tls b.test)"
check "keep-alive: two requests on one TLS connection" bash -c \
	'[ "$(curl -sS --max-time 5 --resolve a.test:'"$HTTPS"':127.0.0.1 --cacert '"$C"'/ca.pem \
	  https://a.test:'"$HTTPS"'/ https://a.test:'"$HTTPS"'/x -v 2>&1 | grep -c -e "hello from a" -e "Re-using")" -ge 3 ]'
check "plain http still serves beside it" \
	grep -q "hello from a" <<<"$(curl -sS --max-time 3 -H 'Host: a.test' "http://127.0.0.1:$HTTP/")"

alpn() { openssl s_client -connect "127.0.0.1:$HTTPS" -servername a.test "$@" </dev/null 2>/dev/null; }
check "ALPN h2,http/1.1 negotiates http/1.1" bash -c \
	'openssl s_client -connect 127.0.0.1:'"$HTTPS"' -servername a.test -alpn h2,http/1.1 </dev/null 2>/dev/null | grep -q "ALPN protocol: http/1.1"'
check "ALPN h2 alone: no ALPN, and still a handshake" bash -c \
	'out=$(openssl s_client -connect 127.0.0.1:'"$HTTPS"' -servername a.test -alpn h2 </dev/null 2>/dev/null); grep -q "No ALPN negotiated" <<<"$out" && grep -q "CN *= *a.test" <<<"$out"'
check "TLS 1.2 is served" bash -c 'subject -servername a.test -tls1_2 | grep -q a.test'
check "TLS 1.3 is served" bash -c 'subject -servername a.test -tls1_3 | grep -q a.test'
check "TLS 1.1 is refused (by us: the client is willing)" \
	bash -c '! openssl s_client -connect 127.0.0.1:'"$HTTPS"' -servername a.test -tls1_1 \
		-cipher "DEFAULT:@SECLEVEL=0" </dev/null >/dev/null 2>&1'
check "curl --tls-max 1.1 fails" bash -c '! curl_tls a.test --tls-max 1.1 --ciphers "DEFAULT:@SECLEVEL=0" >/dev/null 2>&1'

# ---- client certificates
check "secure.test without a client certificate is refused" \
	bash -c '[ "$(status_tls secure.test)" != 200 ]'
check "... over TLS 1.2 as well (the handshake fails)" \
	bash -c '! curl_tls secure.test --tls-max 1.2 >/dev/null 2>&1'
check "a client certificate from another CA is refused" bash -c \
	'[ "$(status_tls secure.test --cert '"$C"'/rogue.crt --key '"$C"'/rogue.key)" != 200 ]'
check "with its client certificate secure.test answers 200" bash -c \
	'[ "$(status_tls secure.test --cert '"$C"'/client.crt --key '"$C"'/client.key)" = 200 ]'
check "... from the secure vassal" grep -q "hello from secure" \
	<<<"$(curl_tls secure.test --cert "$C/client.crt" --key "$C/client.key")"
check "secure.test's handshake asks for certificates of its CA" bash -c \
	'openssl s_client -connect 127.0.0.1:'"$HTTPS"' -servername secure.test </dev/null 2>/dev/null | grep -A2 "Acceptable client certificate CA names" | grep -q "imperium client CA"'
check "SNI a.test with Host: secure.test gets 421" bash -c \
	'[ "$(status_tls a.test -H "Host: secure.test")" = 421 ]'
check "no SNI (default) with Host: secure.test gets 421" bash -c \
	'[ "$(curl -s -o /dev/null -w "%{http_code}" --max-time 5 -k -H "Host: secure.test" https://127.0.0.1:'"$HTTPS"'/)" = 421 ]'
check "SECURE.TEST:port in Host is the same host: 421" bash -c \
	'[ "$(status_tls a.test -H "Host: SECURE.TEST:'"$HTTPS"'")" = 421 ]'
check "a verified secure.test session may ask for a.test" bash -c \
	'grep -q "hello from a" <<<"$(curl_tls secure.test --cert '"$C"'/client.crt --key '"$C"'/client.key -H "Host: a.test")"'
check "plain http is the operator's choice: secure.test served there" \
	grep -q "hello from secure" <<<"$(curl -sS --max-time 3 -H 'Host: secure.test' "http://127.0.0.1:$HTTP/")"

# ---- garbage, then a good request
printf 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n' | http_raw "$HTTPS" 1 >/dev/null
head -c 3000 /dev/urandom | http_raw "$HTTPS" 1 >/dev/null
printf '\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00' | http_raw "$HTTPS" 1 >/dev/null
check "garbage on the https port does not harm the next client" grep -q "hello from a" <<<"$(curl_tls a.test)"
# a client that connects and says nothing: closed after the header timeout
python3 -c 'import socket,time; s=socket.create_connection(("127.0.0.1",'"$HTTPS"')); time.sleep(3.5); s.settimeout(1); print(repr(s.recv(10)))' >"$T/idle.out" 2>&1
check "a silent client is closed after http-header-timeout" grep -q "b''" "$T/idle.out"

tls() { # EXPR over the stats' router.tls object (as t)
	emperor_cli stats | python3 -c '
import json, sys
t = json.load(sys.stdin)["router"]["tls"]
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}
check "the stats count failed handshakes (protocol)" tls 't["failed"]["protocol"] >= 3'
check "... and the client certificate ones" tls 't["failed"]["client_cert"] >= 2'
check "... and the timeout" tls 't["failed"]["timeout"] >= 1'
check "... and handshakes by source" tls 't["sni"]["sni_dir"] >= 5 and t["sni"]["default"] >= 3 and t["handshakes"] >= 8'
check "... the verified clients and the 421s" tls 't["client_verified"] >= 2 and t["misdirected"] >= 3'
check "the failures are logged with the peer and the reason" log_has "TLS handshake with 127.0.0.1:[0-9]* failed (protocol"
check "the router's 421s are in its error counts" router_eval 'r["errors"]["421"] >= 3'
check "the listener is listed as https" router_eval \
	'any(l["kind"] == "https" and l["address"].endswith(":'"$HTTPS"'") for l in r["listeners"])'

# ---- certificate reload
leaf ca a2 a.test 12 "imperium test v2"
cp "$C/a2.crt" "$S/.a.test.crt.new" && cp "$C/a2.key" "$S/.a.test.key.new"
mv "$S/.a.test.key.new" "$S/a.test.key" && mv "$S/.a.test.crt.new" "$S/a.test.crt"
sleep 1.2
check "a replaced certificate is served at the next handshake after a second" \
	bash -c 'subject -servername a.test | grep -q "imperium test v2"'
check "... and curl verifies it" grep -q "hello from a" <<<"$(curl_tls a.test)"
check "the reload is counted" tls 't["reloads"] >= 1'
echo "not a certificate" >"$S/b.test.crt"
subject -servername b.test >/dev/null
sleep 1.2
check "a broken replacement is not used: the old certificate stays" cn_is b.test -servername b.test
check "... and the failure is logged once, with the path" \
	bash -c '[ "$(grep -c "b.test.crt.*previous one stays in use" "$T/emperor.log")" = 1 ]'
check "... and counted" tls 't["reload_failures"] >= 1'
rm "$S/b.test.crt" "$S/b.test.key"
sleep 1.2
check "with its files removed, b.test falls back to the default" cn_is default.test -servername b.test

# ---- certificates from a trusted (signed) subscription
bg_start python3 "$PEERS/httpnode.py" $NODE subnode >"$T/subnode.log" 2>&1
sub_signed() { # EXTRA...: a signed subscription of sub.test to the node
	local extra=() e
	for e in "$@"; do extra+=(--extra "$e"); done
	python3 "$PEERS/signed.py" "127.0.0.1:$SUB" sub.test "127.0.0.1:$NODE" --proto http \
		--sign "SHA256:$K/sub.pem" "${extra[@]}"
}
subscription_sni() {
	sub_signed "sni_crt=$C/sub.crt" "sni_key=$C/sub.key"
	check "a signed subscription's sni_crt/sni_key are taken" \
		wait_for 5 router_eval 'sub("sub.test") is not None and sub("sub.test").get("sni_crt") == "'"$C/sub.crt"'"'
	check "SNI sub.test gets the subscription's certificate" cn_is sub.test -servername sub.test
	check "curl reaches the subscribed node over https" wait_for 3 \
		bash -c '[ "$(curl -s --max-time 5 --resolve sub.test:$HTTPS:127.0.0.1 --cacert $C/ca.pem https://sub.test:$HTTPS/whoami)" = subnode ]'
	check "the handshake is counted under subscription" tls 't["sni"]["subscription"] >= 1'
	local echo
	echo=$(curl -s --max-time 5 --resolve "sub.test:$HTTPS:127.0.0.1" --cacert "$C/ca.pem" \
		-H "X-Forwarded-Proto: gopher" "https://sub.test:$HTTPS/echo")
	check "the node is told the request came over https (X-Forwarded-Proto)" python3 -c '
import json, sys
h = [v for k, v in json.loads(sys.argv[1])["headers"] if k.lower() == "x-forwarded-proto"]
sys.exit(0 if h == ["https"] else 1)' "$echo"
	# the same key with a client CA: client certificates required from now on
	sleep 1 # the signature counter moves by whole seconds
	sub_signed "sni_crt=$C/sub.crt" "sni_key=$C/sub.key" "sni_ca=$C/clientca.pem"
	check "sni_ca from the subscription is taken" wait_for 5 router_eval \
		'sub("sub.test").get("sni_ca") == "'"$C/clientca.pem"'"'
	check "sub.test now refuses clients without a certificate" \
		bash -c '[ "$(status_tls sub.test)" != 200 ]'
	check "... and serves one with its certificate" bash -c \
		'[ "$(curl -s --max-time 5 --resolve sub.test:'"$HTTPS"':127.0.0.1 --cacert '"$C"'/ca.pem --cert '"$C"'/client.crt --key '"$C"'/client.key https://sub.test:'"$HTTPS"'/whoami)" = subnode ]'
	check "Host: sub.test on SNI a.test gets 421" bash -c \
		'[ "$(status_tls a.test -H "Host: sub.test")" = 421 ]'
}

# ---- big bodies both ways through TLS (records, partial writes, back-pressure)
big_bodies() {
	python3 "$PEERS/signed.py" "127.0.0.1:$SUB" big.test "127.0.0.1:$NODE" --proto http \
		--tamper nosign >/dev/null 2>&1 # unsigned, no key file: accepted, no sni_*
	check "an unsigned node is subscribed" wait_for 5 router_eval 'sub("big.test") is not None'
	local n=$((20 << 20)) want got
	want=$(python3 -c 'import hashlib, sys; sys.path.insert(0, sys.argv[1]); from httpnode import blob
print(hashlib.sha256(blob(int(sys.argv[2]))).hexdigest())' "$PEERS" "$n")
	got=$(curl -sS --max-time 30 -k -H "Host: big.test" "https://127.0.0.1:$HTTPS/blob?$n" |
		sha256sum | cut -d' ' -f1)
	check "a 20 MiB response arrives whole over https" [ "$got" = "$want" ]
	head -c $((8 << 20)) /dev/urandom >"$T/up.bin"
	want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
	got=$(curl -sS --max-time 30 -k -H "Host: big.test" --data-binary "@$T/up.bin" \
		"https://127.0.0.1:$HTTPS/echo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha256"])')
	check "an 8 MiB upload arrives whole over https" [ "$got" = "$want" ]
	got=$(curl -sS --max-time 30 -k -H "Host: big.test" -H "Transfer-Encoding: chunked" \
		--data-binary "@$T/up.bin" "https://127.0.0.1:$HTTPS/echo" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["sha256"])')
	check "... chunked too" [ "$got" = "$want" ]
}
big_bodies
subscription_sni
# an unsigned packet's sni_* are ignored (only trusted subscriptions set them)
python3 - "$SUB" "$C" <<'PY'
import socket, struct, sys
def rec(k, v): return struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
body = b"".join(rec(k.encode(), v.encode()) for k, v in [
    ("key", "loose.test"), ("address", "127.0.0.1:18491"), ("modifier1", "0"), ("modifier2", "0"),
    ("cores", "1"), ("load", "0"), ("weight", "1"), ("proto", "http"),
    ("sni_crt", sys.argv[2] + "/sub.crt"), ("sni_key", sys.argv[2] + "/sub.key")])
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
    struct.pack("<BHB", 224, len(body), 0) + body, ("127.0.0.1", int(sys.argv[1])))
PY
check "an unsigned subscription's sni_* are not used" bash -c \
	'wait_for 3 router_eval "sub(\"loose.test\") is not None" && cn_is default.test -servername loose.test'

check "the emperor is still running" kill -0 "$EMP_PID"
finish
