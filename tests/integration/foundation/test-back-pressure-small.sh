#!/bin/bash
# SPDX-License-Identifier: MIT
# The smallest MaxPendingOutput= values still serve a lone client that
# pipelines: back-pressure holds it within the bound, it is not dropped for
# what it sent but has not been answered yet (2,000 calls in one write, 300
# interface descriptions), at 1M and 2M.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

mock_start
for ((i = 0; i < 2000; i++)); do
	printf '{"method":"io.tvtokend.Broker.GetStatus"}\0'
done >"$T/2000.in"
msg='{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"io.tvtokend.Broker"}}'
for ((i = 0; i < 300; i++)); do
	printf '%s\0' "$msg"
done >"$T/300.in"

for pending in 1M 2M; do
	write_config "[Server]" "MaxPendingOutput=$pending"
	daemon_start
	wait_state valid 5
	VL_TIMEOUT=60 vl --replies 2000 - <"$T/2000.in" >"$T/2000.out" ||
		fail "MaxPendingOutput=$pending: 2,000 pipelined calls got $(wc -l <"$T/2000.out") replies"
	assert_eq "$(jq -r .parameters.state "$T/2000.out" | grep -c '^valid$')" 2000 "valid states among 2,000 replies"
	VL_TIMEOUT=60 vl --replies 300 - <"$T/300.in" >"$T/300.out" ||
		fail "MaxPendingOutput=$pending: 300 pipelined descriptions got $(wc -l <"$T/300.out") replies"
	assert_eq "$(jq -r .parameters.description "$T/300.out" | grep -c '^interface io.tvtokend.Broker$')" 300 \
		"descriptions among 300 replies"
	! grep -q "MaxPendingOutput=.*dropped" "$T/daemon.log" ||
		fail "MaxPendingOutput=$pending: a lone client was dropped: $(grep -m1 dropped "$T/daemon.log")"
	ok "MaxPendingOutput=$pending: a lone client pipelining 2,300 calls got every reply"
	daemon_stop
done
assert_clean_logs
ok "back-pressure at the smallest bounds"
