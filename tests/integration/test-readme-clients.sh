#!/bin/bash
# SPDX-License-Identifier: MIT
# The client examples in README.md work as printed: the C program (built
# against libtvtoken) and the Python standard-library snippet each get the
# token the broker serves; the curl example sends it in its Authorization
# header (to the mock's renewal endpoint instead of Tradovate's); the order
# bot reports a token answered with 401 and retries with the renewed one.
# The node_exporter cron job publishes tvtokend_up 1 with the broker up, and
# tvtokend_up 0 with it gone (tvtokenctl then exits 3: the job must not stop
# there). No code block in README.md puts the token in a command line.
. "$IT_LIB"

readme=$README
extract() { sed -n "/<!-- $1:begin -->/,/<!-- $1:end -->/p" "$readme" | sed '1,2d;$d' | sed '$d'; }

extract c-example >"$T/example.c"
grep -q 'tvtoken_get' "$T/example.c" || fail "no C example found in README.md"
$CC_FOR_TESTS -o "$T/example" "$T/example.c" -I"$LIB_SRC" -L"$LIB_BUILD" -ltvtoken ||
	fail "the README's C example does not compile"

extract client-snippet >"$T/snippet.py"
grep -q 'def get_token' "$T/snippet.py" || fail "no Python snippet found in README.md"
lines=$(wc -l <"$T/snippet.py")
[ "$lines" -le 15 ] || fail "the Python snippet has $lines lines (at most 15)"

awk '/^```/ { code = !code; next } code' "$readme" >"$T/code"
if grep -nE '\$\(tvtokenctl[^)]*token|Bearer \$' "$T/code"; then
	fail "a README example puts the token in a command line"
fi

extract prometheus-cron >"$T/cron.sh"
grep -q 'format=prometheus' "$T/cron.sh" || fail "no node_exporter cron job found in README.md"
mkdir "$T/bin" "$T/prom"
ln -s "$TVTOKENCTL" "$T/bin/tvtokenctl"
sed -i "s|/var/lib/prometheus/node-exporter|$T/prom|g" "$T/cron.sh"

extract curl-example >"$T/curl.sh"
grep -q 'curl .*-H @-' "$T/curl.sh" || fail "no curl example found in README.md"
extract python-bot >"$T/bot.py"
grep -q 'class OrderBot' "$T/bot.py" || fail "no order bot found in README.md"

mock_start
write_config
daemon_start
wait_state valid 10
want=$(ctl token)

out=$(TVTOKEN_SOCKET=$SOCK LD_LIBRARY_PATH=$LIB_BUILD "$T/example") || fail "the C example failed: $out"
case $out in "generation 1 expires "*Z) ;; *) fail "C example printed [$out]" ;; esac
ok "C example: $out"

got=$(TVTOKEN_SOCKET=$SOCK /usr/bin/python3 -c "
import sys; sys.path.insert(0, '$T'); from snippet import get_token
print(get_token()['accessToken'])") || fail "the Python snippet failed"
assert_eq "$got" "$want" "token from the Python snippet"
ok "Python snippet got the served token"
# The curl example, pointed at the mock: its renewal endpoint answers 200 only
# for a token it issued, sent as "Authorization: Bearer TOKEN".
sed -e "s|https://demo.tradovateapi.com/v1/account/list|-H 'Accept: application/json' $MOCK_URL/auth/renewaccesstoken|" \
	-e "s|tvtokenctl token|\"\$TVTOKENCTL\" token|" "$T/curl.sh" >"$T/curl-mock.sh"
before=$(mock_count renew)
out=$(TVTOKEN_SOCKET=$SOCK timeout 20 sh "$T/curl-mock.sh") || fail "the curl example failed: $(mock_log | tail -n 1)"
assert_eq "$(mock_count renew)" $((before + 1)) "renewals the mock saw"
assert_eq "$(mock_requests | tail -n 1)" "renew ok 200" "the mock's answer to the curl example"
grep -qF "$want" "$T/curl-mock.sh" && fail "the token ended up in the script"
ok "curl example: the mock accepted the token from standard input"

# The order bot: the first token is answered with 401, the renewed one with 200.
got=$(TVTOKEN_SOCKET=$SOCK PYTHONPATH=$T:$PYTHON_SRC timeout 60 /usr/bin/python3 -c '
import tvtoken
from bot import OrderBot
refused = tvtoken.Client().get_token().access_token
sent = []
def post(path, body, token):
    sent.append(token)
    return 401 if token == refused else 200
bot = OrderBot(post)
first = bot.place_order({"symbol": "ESZ6", "qty": 1})
second = bot.place_order({"symbol": "ESZ6", "qty": 1})
print(first, second, len(sent), sent[0] == refused, sent[1] != refused, sent[2] == sent[1], bot.token.generation)
') || fail "the order bot failed"
assert_eq "$got" "200 200 3 True True True 2" "order bot: statuses, posts, tokens, generation"
assert_eq "$(ctl --json token | jq -r .generation)" 2 "the broker's generation after the bot's report"
ok "order bot: a 401 is reported once and the order retried with the renewed token"

# The cron job, with the broker up, then gone.
TVTOKEN_SOCKET=$SOCK PATH=$T/bin:$PATH timeout 20 sh "$T/cron.sh" || fail "the cron job failed with the broker up"
grep -qx 'tvtokend_up 1' "$T/prom/tvtokend.prom" || fail "the cron job did not publish tvtokend_up 1: $(head -3 "$T/prom/tvtokend.prom")"
grep -q 'tvtokend_token_valid 1' "$T/prom/tvtokend.prom" || fail "no tvtokend_token_valid 1 published"
TVTOKEN_SOCKET=$T/no-broker.sock PATH=$T/bin:$PATH timeout 20 sh "$T/cron.sh"
assert_eq "$(grep -v '^#' "$T/prom/tvtokend.prom")" "tvtokend_up 0" "the metrics published with no broker"
assert_eq "$(ls "$T/prom")" "tvtokend.prom" "files left in the textfile directory"
ok "cron job: tvtokend_up 1 with the broker, tvtokend_up 0 without it"

daemon_stop
assert_no_secrets "$T/daemon.log"
