#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test program in $1 (build/tests by default), each with a time limit,
# and ends with exactly one line: "N passed, N failed". A program that crashes,
# times out, exits non-zero or prints fewer results than its plan counts as a failure.
# Long tests (test_long_*: minutes of mostly waiting) start first, in the
# background, with their own limit (SK_LONG_TIMEOUT, default 900 s), and are
# collected after the others: they do not add their minutes to the suite's.
set -u
dir=${1:-build/tests}
limit=${SK_TEST_TIMEOUT:-300}
long_limit=${SK_LONG_TIMEOUT:-900}
passed=0 failed=0
logdir=$(mktemp -d)

# Counts and prints the results of test $1 (its log in $logdir) that exited with $2.
collect() {
	local name=$1 rc=$2 log="$logdir/$1.log" p f plan extra=0 why=""
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ -z "$plan" ]; then extra=1; why="no plan (crashed or timed out?)"
	elif [ $((p + f)) -ne "$plan" ]; then extra=1; why="ran $((p + f)) of $plan"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && [ "$extra" -eq 0 ]; then extra=1; why="exit status $rc"; fi
	[ "$rc" -ne 0 ] && [ -z "$why" ] && why="exit status $rc"
	cat "$log"
	if [ "$f" -gt 0 ] || [ "$extra" -gt 0 ]; then
		echo "# $name: FAILED ($f failed${why:+, $why})"
		echo "# --- stderr of $name (last 40 lines) ---"
		tail -n 40 "$log.err" | sed 's/^/#   /'
	else
		echo "# $name: $p passed"
	fi
	passed=$((passed + p))
	failed=$((failed + f + extra))
}

# The long tests, in the background; each writes its exit status to <name>.rc.
long=()
for t in "$dir"/test_long_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	long+=("$name")
	# SK_TEST_WRAP, e.g. "valgrind --error-exitcode=99 ...", runs each test under a tool
	( timeout -k 5 "$long_limit" ${SK_TEST_WRAP:-} "$t" >"$logdir/$name.log" 2>"$logdir/$name.log.err"
	  echo $? >"$logdir/$name.rc" ) &
done
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	case "$name" in test_long_*) continue ;; esac
	timeout -k 5 "$limit" ${SK_TEST_WRAP:-} "$t" >"$logdir/$name.log" 2>"$logdir/$name.log.err"
	collect "$name" $?
done
wait
for name in "${long[@]+"${long[@]}"}"; do
	collect "$name" "$(cat "$logdir/$name.rc" 2>/dev/null || echo 1)"
done
rm -rf "$logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
