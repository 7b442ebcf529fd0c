#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh [SECONDS]: build every libFuzzer target with clang in
# build-fuzz/ (ASan+UBSan, coverage-instrumented) and run each for SECONDS
# (default 60) over its seed corpus: `meson test --suite fuzz` in that build.
# Ends with meson's summary; exit status 0 when every target ran clean.
# What a target found is kept in build-fuzz/tests/fuzz/artifacts/NAME/.
set -u
cd "$(dirname "$0")/../.."

secs=${1:-60}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
case $secs in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
# Warnings are errors here too: clang sees some that gcc does not.
if [ ! -f "$dir/build.ninja" ]; then
	CC=${FUZZ_CC:-clang} meson setup "$dir" -Dfuzz=true -Dtests=false -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >"$dir.setup.log" 2>&1 ||
		{ cat "$dir.setup.log"; exit 1; }
fi
ninja -C "$dir" || exit 1
FUZZ_SECONDS=$secs ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	meson test -C "$dir" --suite fuzz --num-processes "$(nproc)" --print-errorlogs
