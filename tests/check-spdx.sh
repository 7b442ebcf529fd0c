#!/bin/bash
# SPDX-License-Identifier: MIT
# Every source file of the tree names its license (SPDX-License-Identifier:
# MIT, LICENSE) in its first four lines: C, shell, Python, meson, scdoc,
# completions, units, the catalog and the example configuration. Seed corpora
# and the Varlink interface (whose text is the contract's) are data.
#   check-spdx.sh SOURCE_ROOT
set -u
root=${1:?usage: check-spdx.sh SOURCE_ROOT}
cd "$root" || exit 1
[ -f LICENSE ] && grep -q '^MIT License' LICENSE || { echo "FAIL: LICENSE is not the MIT license"; exit 1; }
missing=0 checked=0
while IFS= read -r -d '' f; do
	checked=$((checked + 1))
	if ! head -n 4 "$f" | grep -q 'SPDX-License-Identifier: MIT'; then
		echo "no SPDX-License-Identifier: MIT in the first lines of $f"
		missing=$((missing + 1))
	fi
done < <(find .ci daemon lib tests systemd conf completions man python meson.build meson_options.txt \
	\( -path tests/fuzz/corpus -o -name 'build*' -prune \) -prune -o -type f \
	\( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.py' -o -name '*.scd' -o -name '*.bash' \
	-o -name meson.build -o -name meson_options.txt -o -name _tvtokenctl -o -name run \
	-o -name '*.service.in' -o -name '*.socket' -o -name '*.catalog' -o -name '*.conf' \) -print0)
[ "$checked" -gt 100 ] || { echo "FAIL: only $checked files found under $root"; exit 1; }
if [ "$missing" -gt 0 ]; then
	echo "FAIL: $missing of $checked source files do not name their license"
	exit 1
fi
echo "ok: $checked source files name their license (MIT)"
