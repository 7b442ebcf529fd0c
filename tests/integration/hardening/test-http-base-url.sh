#!/bin/bash
# SPDX-License-Identifier: MIT
# Plain http:// only to a loopback host (issue 8, item 9): the password and
# the API secret must not cross a network in clear. Any other http:// BaseURL
# is a config error naming file, line and key, at --check-config and at
# start (exit 1, nothing sent); 127.0.0.0/8, [::1] and localhost still work.
. "$(dirname "$0")/../failures/helpers.sh"

mock_start
for url in "http://example.com/v1" "http://10.0.0.1:$MOCK_PORT/v1" "http://127.0.0.1@example.com/v1"; do
	write_config "[Tradovate]" "BaseURL=$url"
	line=$(grep -n "^BaseURL=$url\$" "$CONF" | cut -d: -f1)
	for opt in --check-config ""; do
		rc=0
		timeout 10 "$TVTOKEND" --config "$CONF" $opt >"$T/out" 2>"$T/err" || rc=$?
		assert_eq "$rc" 1 "exit status of tvtokend $opt with BaseURL=$url"
		grep -q -F "$CONF:$line: BaseURL: \"$url\": plain http:// is only for a loopback host" "$T/err" ||
			fail "tvtokend $opt does not name file, line and key: $(cat "$T/err")"
	done
done
assert_eq "$(mock_lines)" 0 "requests sent with a refused BaseURL"
ok "http:// to hosts that are not loopback is refused"

for url in "http://localhost:$MOCK_PORT/v1" "$MOCK_URL"; do
	write_config "[Tradovate]" "BaseURL=$url"
	"$TVTOKEND" --config "$CONF" --check-config >/dev/null || fail "--check-config refused $url"
done
daemon_start
wait_state valid 5
daemon_stop
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "http:// to 127.0.0.1 and localhost is fine"
