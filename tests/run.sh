#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every suite and sums them into one closing line "N passed, N failed":
#   - unit tests (Check), plain and under ASan+UBSan: each test case counts;
#   - fuzz corpus replays: each target counts once;
#   - integration tests (root, each in its own network namespace): each
#     "ok"/"not ok" line counts; a script that dies without saying "not ok"
#     counts as one failure. Not being root is a failure, never a skip.
# Usage: tests/run.sh [BUILD_DIR] [integration test files...]
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
passed=0
failed=0
failures=()

count_check() { # name, output file, exit code
	local line n f e
	line=$(grep -Eo 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$2" | tail -n1)
	if [ -z "$line" ]; then
		failed=$((failed + 1)); failures+=("$1 (no Check summary, exit $3)")
		return
	fi
	read -r n f e <<<"$(echo "$line" | tr -dc '0-9 ' | tr -s ' ')"
	passed=$((passed + n - f - e))
	failed=$((failed + f + e))
	[ $((f + e)) -eq 0 ] || failures+=("$1 ($f failures, $e errors)")
}

run_units() { # label, dir
	local t out rc
	for t in "$2"/check_*; do
		[ -x "$t" ] || continue
		out=$(mktemp)
		CK_DEFAULT_TIMEOUT=30 timeout 300 "$t" >"$out" 2>&1
		rc=$?
		count_check "$1 $(basename "$t")" "$out" "$rc"
		if grep -q -E '(ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer)' "$out"; then
			failed=$((failed + 1)); failures+=("$1 $(basename "$t") (sanitizer report)")
		fi
		grep -E ':[EF]:' "$out" | head -n 20
		rm -f "$out"
	done
}

echo "== unit tests"
run_units unit "$BUILD/tests"
echo "== unit tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_units san "$BUILD/san/tests"

echo "== fuzz corpus replays"
for f in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	if timeout 300 "$f" >/dev/null 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failures+=("$(basename "$f") corpus replay")
	fi
done

echo "== integration tests"
if [ $# -gt 0 ]; then scripts=("$@"); else scripts=(tests/integration/t_*.sh); fi
if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests need root: counted as failed"
	failed=$((failed + ${#scripts[@]})); failures+=("integration (not root)")
else
	for s in "${scripts[@]}"; do
		[ -f "$s" ] || continue
		out=$(mktemp)
		echo "-- $s"
		IMP_BUILD="$BUILD" timeout 300 bash "$s" >"$out" 2>&1
		rc=$?
		cat "$out"
		p=$(grep -c '^ok ' "$out")
		f=$(grep -c '^not ok ' "$out")
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" -eq 0 ] || failures+=("$s ($f failed)")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			failed=$((failed + 1)); failures+=("$s (exit $rc)")
		fi
		rm -f "$out"
	done
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "== failures"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
