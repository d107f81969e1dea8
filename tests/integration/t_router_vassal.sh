#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Our vassals behind routers: a jailed vassal with `domain` is subscribed to
# the emperor's own router through the datagram socket the emperor hands it
# (no address configured) and served over HTTP; stopping or removing it
# makes the router forget it at once; a claim of another tenant's key on
# that socket is refused. And the other way round: a vassal of ours with
# `subscribe-to` registers with a real uWSGI HTTP router (Debian's uwsgi)
# and is served by it over the uwsgi protocol.
. "$(dirname "$0")/lib.sh"
trap 'kill_bg; cleanup' EXIT

HTTP=18180
emperor_ini "http = 127.0.0.1:$HTTP" "subscription-server = 127.0.0.1:18181" "stop-timeout = 3"

get() { curl -sS --max-time 3 -H "Host: $1" "http://127.0.0.1:$HTTP${2:-/}"; }
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "Host: $1" "http://127.0.0.1:$HTTP/"; }
is_status() { [ "$(status_of "$1")" = "$2" ]; }

check "the emperor starts with a router" start_emperor
jailed_vassal alpha 18101 "domain = alpha.test" "domain = www.alpha.test"
jailed_vassal beta 18102 "domain = beta.test"
check "alpha runs" wait_for 5 is_state alpha running
check "beta runs" wait_for 5 is_state beta running
check "alpha.test is subscribed with the socket the emperor bound" \
	wait_for 5 router_eval 'node("alpha.test", "127.0.0.1:18101") is not None'
check "the node is proxied over http and owned by alpha" \
	router_eval 'node("alpha.test", "127.0.0.1:18101")["proto"] == "http" and node("alpha.test", "127.0.0.1:18101")["vassal"] == "alpha"'
check "alpha.test is served by the jailed app" grep -q "hello from alpha" <<<"$(get alpha.test /x)"
check "its second domain too, in upper case" grep -q "hello from alpha" <<<"$(get WWW.ALPHA.TEST)"
check "beta.test goes to beta" grep -q "hello from beta" <<<"$(get beta.test)"
check "an unknown host gets 404" is_status nobody.test 404

# A crash: the vassal is respawned and serves again under the same key.
curl -s --max-time 2 -H "Host: beta.test" "http://127.0.0.1:$HTTP/crash" >/dev/null
check "beta is respawned after a crash" wait_for 8 is_state beta running
check "beta.test serves again after the respawn" wait_for 5 is_status beta.test 200

# Stop: forgotten at once, not after the tolerance.
emperor_cli stop alpha >/dev/null
check "a stopped vassal's keys are gone at once" wait_for 1 is_status alpha.test 404
check "the stats no longer list alpha.test" router_eval 'sub("alpha.test") is None'
emperor_cli start alpha >/dev/null
check "started again, it is served again" wait_for 6 is_status alpha.test 200

# Removal of the file.
rm "$T/vassals.d/beta.ini"
check "a removed vassal's key is gone" wait_for 4 is_status beta.test 404

# subscribe-to our own subscription server, with a notify socket: the
# router acknowledges the new node as uWSGI does, and the vassal logs it.
# (The notify path is the node's; the jail binds it at the same place.)
mkdir -m 777 "$T/acks"
cat >"$T/vassals.d/acker.ini" <<EOF2
[vassal]
exec = /app/hello
socket = 127.0.0.1:18104
use-clone = ipc,uts,fs,pid
bind-ro = $BIN/hello:/app/hello
bind-rw = $T/acks
uid = 65534
subscribe-to = 127.0.0.1:18181:ack.test
subscription-notify-socket = $T/acks/acker.sock
EOF2
check "a subscribe-to vassal is acknowledged on its notify socket" \
	wait_for 8 log_has "subscription ack: \[subscription ack\] ack.test => new node: 127.0.0.1:18104"
check "a node announcing no proto is a uwsgi node" \
	router_eval 'node("ack.test", "127.0.0.1:18104")["proto"] == "uwsgi"'

# Ours -> a real uWSGI HTTP router. The vassal runs Debian's uWSGI on the
# socket the emperor bound (fd 3, LISTEN_FDS), unjailed so that it sees
# the host's Python.
cat >"$T/app.py" <<'PY'
def application(env, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("uwsgi app %s %s\n" % (env["HTTP_HOST"], env["PATH_INFO"])).encode()]
PY
bg_start uwsgi --plugin http --http 127.0.0.1:18190 --http-subscription-server 127.0.0.1:18191 \
	--master >"$T/uwsgi-router.log" 2>&1
cat >"$T/vassals.d/uw.ini" <<EOF2
[vassal]
exec = /usr/bin/uwsgi --plugin python3 --socket fd://3 --wsgi-file $T/app.py --master --processes 1 --die-on-term
socket = 127.0.0.1:18103
subscribe-to = 127.0.0.1:18191:uw.test
subscribe-freq = 2
uid = 0
EOF2
check "the uWSGI vassal runs" wait_for 10 is_state uw running
check "the uWSGI router learnt our node" \
	wait_for 10 grep -q "uw.test => new node: 127.0.0.1:18103" "$T/uwsgi-router.log"
check "the uWSGI router serves our vassal" \
	grep -q "uwsgi app uw.test /hello" <<<"$(curl -sS --max-time 3 -H 'Host: uw.test' http://127.0.0.1:18190/hello)"
emperor_cli stop uw >/dev/null
check "stopping it unsubscribes from the uWSGI router" \
	wait_for 5 grep -q "uw.test => marking 127.0.0.1:18103 as failed" "$T/uwsgi-router.log"
finish
