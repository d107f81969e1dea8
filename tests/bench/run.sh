#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make bench`: imperium's emperor beside uWSGI's Emperor (Debian's
# uwsgi-core), measured in the same run by bench.py: file-to-ready latency
# of jailed and unjailed vassals, and the emperor's memory with many
# vassals; then imperium's HTTP router beside nginx and uWSGI's HTTP router,
# by router.py: requests/s and p99 with wrk through each to one backend;
# imperium's `https` listener beside nginx's `listen ssl` with the same
# certificate, by https.py (part "https", bounded by BENCH_HTTPS_TIMEOUT);
# the cost of the `fastrouter` hop behind nginx's uwsgi_pass, by
# fastrouter.py (part "fastrouter", bounded by BENCH_FASTROUTER_TIMEOUT);
# the tuntap router's packet path beside veth and pasta with iperf3, by
# tuntap.py (part "tuntap", bounded by BENCH_TT_TIMEOUT).
# Needs root. Like the integration tests, it re-executes itself in a fresh
# network namespace (only its own loopback, up) and works in a temp dir,
# removed on exit after killing, by PID, whatever it started that is still
# alive. Each part is bounded: BENCH_TIMEOUT seconds for the emperor part
# (default 280), BENCH_ROUTER_TIMEOUT for the router part (default from its
# rounds and duration). Knobs for quick runs: BENCH_PARTS ("emperor
# router"), BENCH_ROUNDS (3), BENCH_SEQ (30), BENCH_POLLED (30), BENCH_MANY
# (200), BENCH_SECS (5, per router run); IMP_BUILD, else BUILD (as `make
# BUILD=dir bench` passes it), else build, picks the build dir.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN="$ROOT/${IMP_BUILD:-${BUILD:-build}}"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (namespaces, mounts, uid changes): run sudo make bench" >&2
	exit 1
fi
for f in "$BIN/emperor" "$BIN/vassal" "$BIN/hello" /usr/bin/uwsgi; do
	[ -x "$f" ] || { echo "bench: $f missing (make all; apt-get install uwsgi-core)" >&2; exit 1; }
done

if [ -z "${IMP_BENCH_IN_NETNS:-}" ]; then
	export IMP_BENCH_IN_NETNS=1
	exec unshare --net -- bash "$0" "$@"
fi
ip link set lo up || { echo "bench: cannot bring lo up in the netns" >&2; exit 1; }

T=$(mktemp -d /tmp/imperium-bench.XXXXXX)
chmod 755 "$T" # vassals run as uid 65534

# bench.py records "PID STARTTIME" of each emperor it starts in $T/pids and
# stops them itself; this is the fallback if it was killed: SIGKILL each one
# still alive with the same start time (not a recycled PID). Their vassals
# die with them (parent-death signal, pid namespaces).
cleanup() {
	local rc=$? pid start now
	if [ -f "$T/pids" ]; then
		while read -r pid start; do
			now=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$pid/stat" 2>/dev/null)
			[ "$now" = "$start" ] && kill -KILL "$pid" 2>/dev/null
		done <"$T/pids"
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rc=0
for part in ${BENCH_PARTS:-emperor router signatures https fastrouter tuntap}; do
	case $part in
	emperor)
		timeout --kill-after=10 "${BENCH_TIMEOUT:-280}" \
			python3 -B "$HERE/bench.py" --tmp "$T" --bin "$BIN" || rc=1
		;;
	router)
		# 5 paths x 2 connection counts a round, each run plus its setup
		limit=$((${BENCH_ROUNDS:-3} * 10 * (${BENCH_SECS:-5} + 2) + 90))
		echo
		timeout --kill-after=10 "${BENCH_ROUTER_TIMEOUT:-$limit}" \
			python3 -B "$HERE/router.py" --tmp "$T/router" --pidfile "$T/pids" \
			--bin "$BIN" || rc=1
		;;
	signatures)
		echo
		timeout --kill-after=10 "${BENCH_SIG_TIMEOUT:-300}" \
			python3 -B "$HERE/sigcheck.py" --tmp "$T/sig" --pidfile "$T/pids" \
			--bin "$BIN" || rc=1
		;;
	https)
		# 2 paths x each connection count + 2 handshake paths a round
		n_conns=$(echo "${BENCH_CONNS:-64,256}" | tr ',' '\n' | grep -c .)
		limit=$((${BENCH_ROUNDS:-3} * (2 * n_conns + 2) * (${BENCH_SECS:-5} + 2) + 90))
		echo
		timeout --kill-after=10 "${BENCH_HTTPS_TIMEOUT:-$limit}" \
			python3 -B "$HERE/https.py" --tmp "$T/https" --pidfile "$T/pids" \
			--bin "$BIN" || rc=1
		;;
	fastrouter)
		# 2 paths x each connection count a round
		n_conns=$(echo "${BENCH_CONNS:-64,256}" | tr ',' '\n' | grep -c .)
		limit=$((${BENCH_ROUNDS:-3} * 2 * n_conns * (${BENCH_SECS:-5} + 2) + 90))
		# the node: bench-backend (the hop's own cost), then uWSGI (the whole path)
		for node in ${BENCH_FASTROUTER_NODES:-backend uwsgi}; do
			echo
			timeout --kill-after=10 "${BENCH_FASTROUTER_TIMEOUT:-$limit}" \
				python3 -B "$HERE/fastrouter.py" --node "$node" --tmp "$T/fastrouter-$node" \
				--pidfile "$T/pids" --bin "$BIN" || rc=1
		done
		;;
	tuntap)
		# 10 paths x TCP and UDP a round, each run plus its setup
		limit=$((${BENCH_TT_ROUNDS:-3} * 20 * (${BENCH_TT_SECS:-10} + 3) + 90))
		echo
		timeout --kill-after=10 "${BENCH_TT_TIMEOUT:-$limit}" \
			python3 -B "$HERE/tuntap.py" --tmp "$T/tuntap" --pidfile "$T/pids" --bin "$BIN" || rc=1
		;;
	*)
		echo "bench: unknown part '$part' in BENCH_PARTS (emperor, router, signatures, https, fastrouter, tuntap)" >&2
		rc=1
		;;
	esac
done
exit "$rc"
