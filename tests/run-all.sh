#!/bin/bash
# SPDX-License-Identifier: MIT
# Run every test: install what is needed, build with warnings as errors, run
# the whole suite, then build again with ASan+UBSan and run it again, then
# run every libFuzzer target briefly ($FUZZ_SECONDS each, default 10; longer
# runs: tests/fuzz/run.sh SECONDS).
# The last line is "tests: N passed, M failed[, K skipped]"; exit 1 on any failure.
set -u
cd "$(dirname "$0")/.."

./tests/install-deps.sh || exit 1

passed=0 failed=0 skipped=0

# Build dir $1 with meson options $2..., run the suite, add up the results.
run_suite()
{
	local dir=$1 out

	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; failed=$((failed + 1)); return; }
	fi
	if ! ninja -C "$dir"; then
		failed=$((failed + 1))
		return
	fi
	out=$(meson test -C "$dir" --num-processes "$(nproc)" --print-errorlogs 2>&1)
	printf '%s\n' "$out"
	add_counts "$out"
}

# Add up the summary of the meson test output $1.
add_counts()
{
	local out=$1

	count() { printf '%s\n' "$out" | sed -n "s/^$1: *\([0-9][0-9]*\) *\$/\1/p" | tail -n 1; }
	passed=$((passed + $(count Ok) + $(count 'Expected Fail')))
	failed=$((failed + $(count Fail) + $(count 'Unexpected Pass') + $(count Timeout)))
	skipped=$((skipped + $(count Skipped)))
	# A run that printed no summary at all is a failure too.
	[ -n "$(count Ok)" ] || failed=$((failed + 1))
}

echo "=== build and test"
run_suite build
echo "=== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

echo "=== fuzz targets, ${FUZZ_SECONDS:-10} s each (clang, libFuzzer, ASan+UBSan)"
out=$(./tests/fuzz/run.sh "${FUZZ_SECONDS:-10}" 2>&1)
printf '%s\n' "$out"
add_counts "$out"

if [ "$skipped" -gt 0 ]; then
	echo "tests: $passed passed, $failed failed, $skipped skipped"
else
	echo "tests: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
