#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's token file consumers work as printed: the shell one sends the
# token as a header that curl reads from stdin (to the mock's renewal
# endpoint, which accepts only a token it issued), the Python one returns
# the token, and raises FileNotFoundError once the file is gone. The Redis
# hook stores the access token exactly, without a trailing newline (a
# stand-in redis-cli records what it is given).
. "$(dirname "$0")/helpers.sh"

extract() { sed -n "/<!-- $1:begin -->/,/<!-- $1:end -->/p" "$README" | sed '1,2d;$d' | sed '$d'; }

f=$T/token
extract sink-consumer-sh >"$T/consumer.sh"
grep -q 'curl' "$T/consumer.sh" || fail "no shell consumer found in README.md"
extract sink-consumer-py >"$T/consumer.py"
grep -q 'def bearer' "$T/consumer.py" || fail "no Python consumer found in README.md"
extract hook-redis >"$T/publish.sh"
grep -q 'redis-cli' "$T/publish.sh" || fail "no Redis hook found in README.md"
# redis-cli -x SET KEY: stores standard input, as it is, under KEY.
mkdir "$T/bin"
cat >"$T/bin/redis-cli" <<'FAKE'
#!/bin/sh
[ "$1" = -x ] && [ "$2" = SET ] && [ $# -eq 3 ] || { echo "redis-cli: unexpected arguments: $*" >&2; exit 2; }
cat >"$REDIS_DIR/$3"
echo OK
FAKE
chmod +x "$T/publish.sh" "$T/bin/redis-cli"

mock_start
write_config "[Sink]" "File=$f"
daemon_start
wait_state valid 10
wait_file_token "$f" 10
sed -e "s|/run/tvtokend/token|$f|" -e "s|https://demo.tradovateapi.com/v1/account/list|$MOCK_URL/auth/renewaccesstoken|" \
	"$T/consumer.sh" >"$T/run.sh"
out=$(bash "$T/run.sh") || fail "the shell consumer failed"
assert_json "$out" '.accessToken | startswith("tok-")' "the mock's reply to the shell consumer"
assert_eq "$(mock_requests | tail -n 1)" "renew ok 200" "what the mock saw from the shell consumer"
ok "the shell consumer sent the token from the file"

got=$(/usr/bin/python3 -c "
import sys; sys.path.insert(0, '$T'); from consumer import bearer
print(bearer('$f'))") || fail "the Python consumer failed"
assert_eq "$got" "$(ctl token)" "token from the Python consumer"

ctl --json token | REDIS_DIR=$T PATH=$T/bin:$PATH sh "$T/publish.sh" tradovate:token ||
	fail "the Redis hook failed"
printf '%s' "$(ctl token)" >"$T/want"
cmp "$T/want" "$T/tradovate:token" || fail "the Redis hook stored [$(od -c "$T/tradovate:token" | head -3)]"
ok "the Redis hook stored the access token, byte for byte"
daemon_stop
/usr/bin/python3 -c "
import sys; sys.path.insert(0, '$T'); from consumer import bearer
try:
    bearer('$f')
except FileNotFoundError:
    sys.exit(0)
sys.exit(1)" || fail "the Python consumer did not raise FileNotFoundError without the file"
ok "the Python consumer read the token, and found no file without a token"
assert_clean_logs
