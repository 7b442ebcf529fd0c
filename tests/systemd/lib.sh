# SPDX-License-Identifier: MIT
# Helpers for the tests in this directory; sourced, not run.

# Report a failure and exit 1.
fail()
{
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# Exit 77 (meson: skipped) unless every program named is installed.
need()
{
	local p

	for p; do
		if ! command -v "$p" >/dev/null 2>&1; then
			printf 'SKIP: %s is not installed\n' "$p"
			exit 77
		fi
	done
}

# Make a private temporary directory, $tmp, removed when the script exits.
make_tmp()
{
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/tvtokend-systemd.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
}

# The unit among the arguments whose file name is $1; fails if none.
unit_path()
{
	local want=$1 u

	shift
	for u; do
		if [ "${u##*/}" = "$want" ]; then
			printf '%s\n' "$u"
			return 0
		fi
	done
	fail "$want is not among the units given"
}

# The unit files to load for each unit given: templates as instance "demo".
unit_targets()
{
	local u name

	for u; do
		name=${u##*/}
		case $name in
		*@.*) printf '%s\n' "${u%/*}/${name/@./@demo.}" ;;
		*) printf '%s\n' "$u" ;;
		esac
	done
}
