#!/bin/sh
# SPDX-License-Identifier: MIT
# run-target.sh EXE CORPUS DICT ARTIFACTS: run one libFuzzer target for
# $FUZZ_SECONDS (default 10) seconds over a scratch copy of its seed corpus
# (the repository's corpus is never written), with DICT when it exists.
# A crash, leak, time-out or trap fails the run; the input that did it is
# kept in ARTIFACTS and shown as hex. Bounded by timeout(1) as well.
set -u
exe=$1 corpus=$2 dict=$3 artifacts=$4
secs=${FUZZ_SECONDS:-10}
case $secs in
''|*[!0-9]*) echo "run-target.sh: FUZZ_SECONDS must be a number of seconds, not '$secs'" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/tvtokend-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$artifacts" || exit 1
cp "$corpus"/* "$work/corpus/" 2>/dev/null
set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=70000 -print_final_stats=1 \
	-artifact_prefix="$work/"
[ -f "$dict" ] && set -- "$@" -dict="$dict"

rc=0
timeout -k 10 $((secs + 120)) "$exe" "$@" "$work/corpus" || rc=$?
found=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
	-o -name 'oom-*' -o -name 'slow-unit-*' \))
if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
	for f in $found; do
		cp "$f" "$artifacts/"
		echo "--- ${f##*/} (kept in $artifacts):"
		od -A d -t x1z "$f" | head -n 40
	done
	echo "FAIL: ${exe##*/} exited $rc after at most $secs s"
	exit 1
fi
echo "ok: ${exe##*/}: $secs s, $(ls "$work/corpus" | wc -l) inputs in the corpus"
