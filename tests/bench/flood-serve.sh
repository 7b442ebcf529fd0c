#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 7's flood against a real tvtokend with its default [Server] limits:
# many clients each pipeline calls and never read. Prints the daemon's
# memory before and during the flood, how long GetStatus takes a new client
# while the flood arrives and after, and how many flood clients were
# disconnected (BENCHMARKS.md). A measurement, not a test: it judges nothing.
#
#   tests/bench/flood-serve.sh BUILD_DIR [CLIENTS [CALLS]]
#
# Defaults: 4,000 clients, 150 GetInterfaceDescription calls each (about
# 400 KiB of replies per client, 1.5 GiB in all). Uses BUILD_DIR's
# mock-tradovate, tvtokend, flood-clients and varlink-call; needs
# CLIENTS + 100 file descriptors and jq. Every process it starts is stopped
# at exit; scratch files in a mktemp dir.
set -u

BUILD=${1:?usage: flood-serve.sh BUILD_DIR [CLIENTS [CALLS]]}
CLIENTS=${2:-4000}
CALLS=${3:-150}
ulimit -n $((CLIENTS + 1024)) 2>/dev/null ||
	{ echo "flood-serve: cannot have $((CLIENTS + 1024)) file descriptors (ulimit -Hn)" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
bench_begin flood
bench_mock "$BUILD"
bench_config
"$BUILD/daemon/tvtokend" --config "$T/tvtokend.conf" --log=stderr >"$T/daemon.log" 2>&1 &
DAEMON=$!
PIDS+=("$DAEMON")

# GetStatus on a new connection: "MS ms (N clients)".
probe()
{
	local start end

	start=$(date +%s%N)
	"$BUILD/tests/integration/varlink-call" --timeout 10 "$T/sock" \
		'{"method":"io.tvtokend.Broker.GetStatus"}' >"$T/status" 2>&1 || { echo "no reply: $(cat "$T/status")"; return; }
	end=$(date +%s%N)
	echo "$(( (end - start) / 1000000 )) ms ($(jq -r .parameters.clients "$T/status") clients)"
}

memory()
{
	awk '/^VmRSS:|^RssAnon:/ { printf "%s %.1f MiB  ", $1, $2 / 1024 }' "/proc/$DAEMON/status"
	echo
}

for _ in $(seq 100); do
	"$BUILD/tests/integration/varlink-call" --timeout 1 "$T/sock" '{"method":"io.tvtokend.Broker.GetToken"}' 2>/dev/null |
		grep -q accessToken && break
	sleep 0.1
done
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "idle:            $(memory)"
coproc FLOOD { exec "$BUILD/tests/integration/flood-clients" --clients "$CLIENTS" --calls "$CALLS" --timeout 600 "$T/sock" \
	'{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"io.tvtokend.Broker"}}'; }
PIDS+=("$FLOOD_PID")
start=$(date +%s%N)
for i in 1 2 3 4 5 6; do
	echo "GetStatus while the flood arrives, at +$(( ($(date +%s%N) - start) / 1000000 )) ms: $(probe)"
	sleep 0.25
done
read -r -t 600 line <&"${FLOOD[0]}" || { echo "the flood clients did not connect" >&2; exit 1; }
echo "$CLIENTS flood clients connected and sent after $(( ($(date +%s%N) - start) / 1000000 )) ms"
sleep 1
echo "flooded:         $(memory)"
for i in 1 2 3; do
	echo "GetStatus during the flood: $(probe)"
done
echo report >&"${FLOOD[1]}"
read -r -t 600 line <&"${FLOOD[0]}"
echo "flood clients: $line"
# The journal's share: rate-limited lines, then one summary when the interval ends.
sleep 11
echo "log: $(grep -c 'MaxPendingOutput' "$T/daemon.log") lines about dropped clients, then" \
	"\"$(grep -m1 'dropped clients: suppressed' "$T/daemon.log" | sed 's/^tvtokend: warning: //')\""
