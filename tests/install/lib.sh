# SPDX-License-Identifier: MIT
# Helpers of the installation tests (the README's install steps, the Debian
# packages), on top of the integration helpers. Sourced.

. "$IT_LIB"

# Copy the source tree at $1 into $2 as a clone would have it: the files git
# tracks or would track (build directories and other ignored files left out),
# uncommitted changes included.
copy_tree()
{
	local src=$1 dst=$2

	command -v git >/dev/null || fail "this test needs git (apt-get install git)"
	git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || fail "$src is not a git checkout"
	mkdir -p "$dst"
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		tar -C "$src" --null -T - --ignore-failed-read -cf - 2>/dev/null |
		tar -C "$dst" -xf - || fail "cannot copy the source tree"
}

# The code block between <!-- NAME:begin --> and <!-- NAME:end --> in README.md.
readme_block()
{
	sed -n "/<!-- $1:begin -->/,/<!-- $1:end -->/p" "$README" | sed '1,2d;$d' | sed '$d'
}

# Run the command in the background for at most SECONDS, then fail.
bounded()
{
	local secs=$1

	shift
	timeout --kill-after=10 "$secs" "$@"
}

# Write the secrets and a config for the daemon installed under root $1 (its
# example config, with the account filled in) against the mock; prints the path.
installed_config()
{
	local root=$1 conf=$T/installed.conf

	write_secrets
	{
		cat "$root/usr/share/doc/tvtokend/examples/tvtokend.conf"
		printf '%s\n' "[Tradovate]" "BaseURL=$MOCK_URL" "Name=demo" "AppId=tvtokend-demo" "ClientId=8" \
			"PasswordFile=$T/password" "SecretFile=$T/secret" "[Token]" "StateFile=" \
			"[Server]" "Socket=$SOCK"
	} >"$conf"
	printf '%s\n' "$conf"
}
