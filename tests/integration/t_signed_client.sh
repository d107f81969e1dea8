#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Signed subscriptions from our vassals to Debian's uWSGI, and the local
# route to the emperor's own router. Two uWSGI HTTP routers check
# signatures (--subscriptions-sign-check, SHA256 and SHA1) against public
# keys named after each key; our vassals (uWSGI python apps, no network
# namespace of their own, so they reach the routers on loopback) sign with
# `subscribe-to = SERVER:KEY,0,DIGEST:KEYFILE` or subscribe2's `sign=`:
# a PEM key (mode 0600, root's: the emperor opens it and the vassal reads
# it from that descriptor before it drops to nobody), SHA1, an
# OpenSSH-format key, and a wrong key, which uWSGI refuses; a vassal in a
# user namespace, whose root could not open that key, signs with it too, and
# a key file gone at a respawn is a clear spawn error. Then a jailed vassal
# in its own network namespace subscribes to the emperor's own subscription
# server at 127.0.0.1: unreachable from its namespace, so being served
# proves its packets came through the emperor's socket.
. "$(dirname "$0")/lib.sh"
trap 'kill_bg; cleanup' EXIT

R256=18700 # uWSGI router, SHA256: HTTP, subscriptions on R256+1
R1=18710   # uWSGI router, SHA1
OWN=18720  # the emperor's own router: HTTP, subscriptions on OWN+1

# ---- keys ----
mkdir -p "$T/keys" "$T/pub"
chmod 700 "$T/keys"
openssl genrsa -out "$T/keys/a.pem" 2048 2>/dev/null
openssl genrsa -traditional -out "$T/keys/b.pem" 2048 2>/dev/null
ssh-keygen -q -t rsa -b 2048 -N '' -C test -f "$T/keys/ssh" >/dev/null
chmod 600 "$T/keys/a.pem" "$T/keys/b.pem" "$T/keys/ssh"
pub() { openssl rsa -in "$T/keys/$1" -pubout -out "$T/pub/$2.pem" 2>/dev/null; }
pub a.pem sha256.test
pub a.pem twosign.test
pub a.pem sha1.test
pub a.pem wrong.test # wrong.test signs with b.pem
pub a.pem userns.test
ssh-keygen -e -m pkcs8 -f "$T/keys/ssh.pub" >"$T/pub/ssh.test.pem"
check "the OpenSSH private key is in OpenSSH's own format" \
	grep -q "BEGIN OPENSSH PRIVATE KEY" "$T/keys/ssh"
check "nobody cannot read the private keys" \
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "! cat $T/keys/a.pem 2>/dev/null"

# ---- two uWSGI routers checking signatures ----
bg_start uwsgi --plugin http --http "127.0.0.1:$R256" \
	--http-subscription-server "127.0.0.1:$((R256 + 1))" \
	--subscriptions-sign-check "SHA256:$T/pub" --master --die-on-term \
	>"$T/uwsgi256.log" 2>&1
bg_start uwsgi --plugin http --http "127.0.0.1:$R1" \
	--http-subscription-server "127.0.0.1:$((R1 + 1))" \
	--subscriptions-sign-check "SHA1:$T/pub" --master --die-on-term \
	>"$T/uwsgi1.log" 2>&1

cat >"$T/app.py" <<'PY'
def application(env, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("uwsgi app %s %s\n" % (env["HTTP_HOST"], env["PATH_INFO"])).encode()]
PY

# uw_vassal NAME PORT SUBSCRIPTION...: a uWSGI python app on the socket the
# emperor binds, as nobody, without fs or net namespaces ($UW_CLONE: other
# namespaces than ipc,uts,pid).
uw_vassal() {
	local name=$1 port=$2
	shift 2
	{
		echo "[vassal]"
		echo "exec = /usr/bin/uwsgi --plugin python3 --socket fd://3 --wsgi-file $T/app.py --master --processes 1 --die-on-term"
		echo "socket = 127.0.0.1:$port"
		echo "use-clone = ${UW_CLONE:-ipc,uts,pid}"
		echo "subscribe-freq = 2"
		printf '%s\n' "$@"
	} >"$T/vassals.d/.$name.tmp"
	mv "$T/vassals.d/.$name.tmp" "$T/vassals.d/$name.ini"
}

# via PORT HOST [PATH]: a request through the router on PORT.
via() { curl -sS --max-time 3 -H "Host: $2" "http://127.0.0.1:$1${3:-/}" 2>/dev/null; }
served() { via "$1" "$2" /hello | grep -q "uwsgi app $2 /hello"; }
export -f via served

emperor_ini "http = 127.0.0.1:$OWN" "subscription-server = 127.0.0.1:$((OWN + 1))" \
	"stop-timeout = 3" "throttle = 500"
check "the emperor starts" start_emperor

uw_vassal s256 18731 "subscribe-to = 127.0.0.1:$((R256 + 1)):sha256.test,0,SHA256:$T/keys/a.pem"
uw_vassal s2 18732 \
	"subscribe2 = server=127.0.0.1:$((R256 + 1)),key=twosign.test,sign=SHA256:$T/keys/a.pem"
uw_vassal s1 18733 "subscribe-to = 127.0.0.1:$((R1 + 1)):sha1.test,0,SHA1:$T/keys/a.pem"
uw_vassal ssh 18734 "subscribe-to = 127.0.0.1:$((R256 + 1)):ssh.test,0,SHA256:$T/keys/ssh"
uw_vassal wrong 18735 "subscribe-to = 127.0.0.1:$((R256 + 1)):wrong.test,0,SHA256:$T/keys/b.pem"

for v in s256 s2 s1 ssh wrong; do
	check "$v runs" wait_for 10 is_state "$v" running
done
check "the vassals read their keys before the jail" log_has "\[s256\] 1 signing key(s) read"

check "SHA256, PEM key: uWSGI learnt the node" \
	wait_for 10 grep -q "sha256.test => new node: 127.0.0.1:18731" "$T/uwsgi256.log"
check "SHA256, PEM key: served through uWSGI's router" wait_for 5 served "$R256" sha256.test
check "subscribe2 sign=: served through uWSGI's router" wait_for 5 served "$R256" twosign.test
check "SHA1: served through the SHA1 router" wait_for 10 served "$R1" sha1.test
check "OpenSSH-format key: served through uWSGI's router" wait_for 10 served "$R256" ssh.test

# Refreshes every 2 s carry an increasing `unix`: uWSGI keeps the node.
sleep 4.5
check "after refreshes, still served (uWSGI accepted the newer stamps)" served "$R256" sha256.test
check "uWSGI refused nothing of the good vassals" \
	bash -c "! grep -E '(sha256|twosign|sha1|ssh)\.test.*(invalid|failed)' $T/uwsgi256.log $T/uwsgi1.log"

check "the wrong key: uWSGI does not route to it" bash -c "! served $R256 wrong.test"
check "the wrong key: uWSGI never registered the node" \
	bash -c "! grep -q 'wrong.test => new node' $T/uwsgi256.log"
# uWSGI 2.0.21 drops a packet whose signature fails without a word (its
# check only prints OpenSSL's error queue, empty here): no pool, no node.
check "the wrong key: uWSGI did not even create the pool" \
	bash -c "! grep -q 'wrong.test' $T/uwsgi256.log"
# The same vassal with the right key: a new set of keys restarts it (keys
# are read before the jail), and then uWSGI takes it.
pid_before=$(vassal_pid wrong)
uw_vassal wrong 18735 "subscribe-to = 127.0.0.1:$((R256 + 1)):wrong.test,0,SHA256:$T/keys/a.pem"
check "a changed signing key restarts the vassal" \
	wait_for 10 bash -c "[ \"\$(vassal_pid wrong)\" != $pid_before ] && is_state wrong running"
check "with the right key, uWSGI takes it" wait_for 10 served "$R256" wrong.test

# A stop sends a signed unsubscribe (unix = now + 1): uWSGI drops the node.
emperor_cli stop s256 >/dev/null
check "a signed unsubscribe removes the node from uWSGI" \
	wait_for 5 grep -q "sha256.test => marking 127.0.0.1:18731 as failed" "$T/uwsgi256.log"

# ---- a user namespace ----
# With `user` the vassal's root is 65533 on the host (its tenant is nobody):
# it cannot open a.pem (0600 root, in a 0700 directory). The emperor opens
# each key file as root when it spawns the vassal and passes the descriptor.
check "the vassal's root on the host cannot read the key" \
	setpriv --reuid=65533 --regid=65533 --clear-groups sh -c "! cat $T/keys/a.pem 2>/dev/null"
install -m 600 "$T/keys/a.pem" "$T/keys/u.pem"
UW_CLONE=ipc,uts,pid,user uw_vassal usr 18736 \
	"subscribe-to = 127.0.0.1:$((R256 + 1)):userns.test,0,SHA256:$T/keys/u.pem"
check "a user-namespace vassal signing with a root-only key runs" wait_for 10 is_state usr running
upid=$(vassal_pid usr)
check "it has a user namespace of its own" \
	bash -c "u=\$(readlink /proc/$upid/ns/user) && [ \"\$u\" != \"\$(readlink /proc/self/ns/user)\" ]"
check "it read its key from the emperor's descriptor" log_has "\[usr\] 1 signing key(s) read"
uapp=$(app_pid usr | head -n 1)
check "neither it nor its app holds a descriptor of the key file" \
	bash -c "ls /proc/$upid/fd /proc/${uapp:-0}/fd >/dev/null && ! ls -l /proc/$upid/fd /proc/$uapp/fd | grep -q 'keys/u.pem'"
check "user namespace: uWSGI takes its signed subscription" wait_for 10 served "$R256" userns.test
# Each spawn opens the key files anew: one gone is a clear spawn error, and
# the vassal comes back once it is there again.
mv "$T/keys/u.pem" "$T/keys/u.pem.away"
kill -KILL "$upid"
check "a key file gone at respawn: the spawn fails naming it" \
	wait_for 10 log_has "vassal usr: cannot spawn: sign key $T/keys/u.pem: cannot open: No such file"
mv "$T/keys/u.pem.away" "$T/keys/u.pem"
check "back once the key file is there again" \
	wait_for 15 bash -c "[ \"\$(vassal_pid usr)\" != $upid ] && is_state usr running"

# ---- the local route ----
# A jailed vassal in its own network namespace: 127.0.0.1:OWN+1 there is
# not the emperor's, so only the emperor's socket can carry its packets.
# The demo app speaks HTTP: subscribe2 says proto=http; a signed entry to
# the emperor's own server goes unsigned through that socket.
jailed_vassal local 18741 \
	"subscribe2 = server=127.0.0.1:$((OWN + 1)),key=local.test,proto=http" \
	"subscribe2 = server=localhost:$((OWN + 1)),key=signed-local.test,proto=http,sign=SHA256:$T/keys/a.pem" \
	"subscribe-to = 127.0.0.1:$((OWN + 1)):plain-local.test"
check "the jailed vassal runs" wait_for 8 is_state local running
check "its netns has no route to the emperor's 127.0.0.1" \
	bash -c "! nsenter -t \$(vassal_pid local) -n python3 -c 'import socket; s=socket.create_connection((\"127.0.0.1\", $OWN), timeout=1)' 2>/dev/null"
check "local.test is served by our router (packets through the emperor's socket)" \
	wait_for 5 bash -c "via $OWN local.test /x | grep -q 'hello from local'"
check "the node is owned by the vassal (it came on its socket)" \
	router_eval 'node("local.test", "127.0.0.1:18741")["vassal"] == "local"'
check "a signed entry to the emperor's own server arrives too (unsigned, local)" \
	wait_for 3 bash -c "via $OWN signed-local.test /x | grep -q 'hello from local'"
check "a subscribe-to key to the emperor's own server is registered" \
	router_eval 'node("plain-local.test", "127.0.0.1:18741") is not None'
check "the vassal says which route it took" \
	log_has "'local.test' at 127.0.0.1:18741 to 127.0.0.1:$((OWN + 1)) (the emperor's own"
emperor_cli stop local >/dev/null
check "stopped, its local keys are gone at once" \
	wait_for 2 router_eval 'sub("local.test") is None and sub("plain-local.test") is None'

# A jailed user-namespace vassal (jail/idmap.c) with a key that only nobody
# may read: the emperor's descriptor serves it too; non-dumpable, the
# vassal still builds its jail and serves.
install -m 600 -o 65534 "$T/keys/a.pem" "$T/nobody.pem"
jailed_vassal userns 18761 "use-clone = ipc,uts,fs,pid,net,user" "uid = 1234" "gid = 1234" \
	"subscribe2 = server=127.0.0.1:$((OWN + 1)),key=userns.test,proto=http,sign=SHA256:$T/nobody.pem"
check "a user-namespace vassal holding a key runs" wait_for 8 is_state userns running
check "and is served through the emperor's socket" \
	wait_for 5 bash -c "via $OWN userns.test /x | grep -q 'hello from userns'"

# The router keeps at most 32 keys per vassal: a file claiming more is
# refused at load, naming the line.
claims=()
for i in $(seq 1 30); do claims+=("domain = d$i.test"); done
claims+=("subscribe-to = 127.0.0.1:$((R256 + 1)):to.test" "subscribe-to = 127.0.0.1:$((R256 + 1)):D1.TEST")
claims+=("subscribe2 = server=127.0.0.1:$((R256 + 1)),key=two.test" "domain = over.test")
jailed_vassal many 18751 "${claims[@]}"
check "a vassal claiming 33 keys is refused at load" wait_for 5 is_state many broken
check "with a clear error naming the line" \
	log_has "many.ini:41: domain: more than 32 distinct keys to claim"

if [ "$TEST_FAILED" -gt 0 ]; then
	for f in uwsgi256 uwsgi1; do
		echo "# last lines of $f.log:"
		tail -n 15 "$T/$f.log" | sed 's/^/#   /'
	done
fi
finish
