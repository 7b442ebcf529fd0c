#!/bin/bash
# SPDX-License-Identifier: MIT
# The Quick start demo: install what is needed, build, then run tvtokend
# against the bundled mock Tradovate server and show a token being served,
# renewed, and handed to tvtokenctl. Needs no Tradovate account.
# Everything runs in a scratch directory and is stopped at the end.
set -eu
cd "$(dirname "$0")/.."

./tests/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

demo=$(mktemp -d /tmp/tvtokend-demo.XXXXXX)
pids=()
cleanup()
{
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$demo"
}
trap cleanup EXIT

# The mock Tradovate: tokens live 20 s here (90 min on the real one).
build/tests/mock/mock-tradovate --port-file "$demo/port" --lifetime 20 --log "$demo/upstream.log" >/dev/null &
pids+=($!)
for _ in $(seq 50); do [ -s "$demo/port" ] && break; sleep 0.1; done
port=$(cat "$demo/port")

(umask 077; echo demo-password >"$demo/password"; echo demo-secret >"$demo/secret")
cat >"$demo/tvtokend.conf" <<CONF
[Tradovate]
BaseURL=http://127.0.0.1:$port/v1
Name=demo
AppId=tvtokend-demo
ClientId=8
PasswordFile=$demo/password
SecretFile=$demo/secret
[Token]
# Renew 12 s before expiry (15min against the real Tradovate).
RenewBeforeSec=12s
StateFile=
[Server]
Socket=$demo/io.tvtokend.Broker
CONF

echo "== tvtokend --check-config"
build/daemon/tvtokend --config "$demo/tvtokend.conf" --check-config
build/daemon/tvtokend --config "$demo/tvtokend.conf" --log=stderr 2>"$demo/tvtokend.log" &
pids+=($!)
ctl() { build/lib/tvtokenctl --socket "$demo/io.tvtokend.Broker" "$@"; }
for _ in $(seq 50); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done

echo
echo "== tvtokenctl --wait=5 token      (what a trading process gets)"
ctl --wait=5 token
echo
echo "== tvtokenctl status"
ctl status
echo
echo "== tvtokenctl watch              (the token, then its renewal ~8 s later)"
timeout 12 build/lib/tvtokenctl --socket "$demo/io.tvtokend.Broker" watch || true
echo
echo "== requests the mock Tradovate received (one login, then renewals only)"
cut -d' ' -f2-4 "$demo/upstream.log"
echo
echo "== tvtokend's log"
cat "$demo/tvtokend.log"
echo
echo "Demo done. Next: README.md, 'Running it as a service'."
