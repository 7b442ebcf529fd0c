#!/bin/bash
# SPDX-License-Identifier: MIT
# Back-pressure, not drops (issue 7): a client that pipelines faster than it
# reads gets every reply, in order (2,000 calls in one write; 300 interface
# descriptions), while the daemon's memory stays bounded. Many clients that
# pipeline and never read: the daemon holds no more than MaxPendingOutput=
# for them, drops those holding the most with a warning, and answers a new
# client at once meanwhile.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# The daemon's VmRSS in KiB.
rss_kib()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"
}

# Whether RSS tells anything: AddressSanitizer holds freed memory back (its quarantine).
rss_meaningful()
{
	! grep -q libasan "/proc/$DAEMON_PID/maps"
}

mock_start
write_config "[Server]" "MaxClients=1000" "MaxPendingOutput=4M"
daemon_start
wait_state valid 5
rss0=$(rss_kib)

# 2,000 calls in one write: GetStatus, and an unknown method naming its index, in turn.
for ((i = 0; i < 2000; i++)); do
	if ((i % 2)); then
		printf '{"method":"io.tvtokend.Broker.Nope%d"}\0' "$i"
	else
		printf '{"method":"io.tvtokend.Broker.GetStatus"}\0'
	fi
done >"$T/2000.in"
VL_TIMEOUT=60 vl --replies 2000 - <"$T/2000.in" >"$T/2000.out" ||
	fail "2,000 pipelined calls did not get 2,000 replies ($(wc -l <"$T/2000.out") came)"
for ((i = 0; i < 2000; i++)); do
	if ((i % 2)); then echo "io.tvtokend.Broker.Nope$i"; else echo valid; fi
done >"$T/2000.want"
jq -r 'if has("error") then .parameters.method else .parameters.state end' "$T/2000.out" >"$T/2000.got"
cmp -s "$T/2000.got" "$T/2000.want" || fail "2,000 replies not in order: $(diff "$T/2000.want" "$T/2000.got" | head -5)"
ok "2,000 calls in one write: 2,000 replies, in order"

# 300 interface descriptions (about 2.7 KB each) in one write.
desc=$(vl "$(vl_msg org.varlink.service.GetInterfaceDescription '{"interface":"io.tvtokend.Broker"}')" |
	jq -r .parameters.description)
[ -n "$desc" ] || fail "no description"
for ((i = 0; i < 300; i++)); do
	printf '%s\0' "$(vl_msg org.varlink.service.GetInterfaceDescription '{"interface":"io.tvtokend.Broker"}')"
done >"$T/300.in"
VL_TIMEOUT=60 vl --replies 300 - <"$T/300.in" >"$T/300.out" ||
	fail "300 pipelined descriptions did not get 300 replies ($(wc -l <"$T/300.out") came)"
assert_eq "$(jq -r .parameters.description "$T/300.out" | grep -c '^interface io.tvtokend.Broker$')" 300 \
	"descriptions among the 300 replies"
ok "300 pipelined interface descriptions: every one arrived"
rss1=$(rss_kib)
! rss_meaningful || [ $((rss1 - rss0)) -lt 8192 ] || fail "VmRSS grew from $rss0 to $rss1 KiB for one pipelining client"
ok "VmRSS $rss0 -> $rss1 KiB for one client pipelining 2,300 calls"

# 400 clients pipeline 150 descriptions each and never read: far more than
# MaxPendingOutput=4M if the daemon read them all.
coproc FLOOD { exec "$FLOOD" --clients 400 --calls 150 --timeout 90 "$SOCK" \
	"$(vl_msg org.varlink.service.GetInterfaceDescription '{"interface":"io.tvtokend.Broker"}')"; }
PIDS+=("$FLOOD_PID")
read -r -t 30 line <&"${FLOOD[0]}" || fail "the flood clients did not connect"
assert_eq "$line" "ready 400" "flood clients"
wait_until 20 'grep -q "MaxPendingOutput=4096K: dropped" "$T/daemon.log"' ||
	fail "no warning about dropped clients"
ok "past MaxPendingOutput=, clients were dropped with a warning: $(grep -m1 'MaxPendingOutput=' "$T/daemon.log")"

# A new client is answered at once meanwhile (the bound is generous: a loaded machine).
start=$(date +%s%N)
VL_TIMEOUT=2 vl "$(vl_msg io.tvtokend.Broker.GetStatus)" >"$T/fresh" || fail "a new client was not answered during the flood"
ms=$((($(date +%s%N) - start) / 1000000))
assert_eq "$(jq -r .parameters.state "$T/fresh")" valid "state told to a new client during the flood"
ok "a new client got GetStatus in $ms ms during the flood ($(jq -r .parameters.clients "$T/fresh") clients connected)"

rss2=$(rss_kib)
! rss_meaningful || [ $((rss2 - rss0)) -lt $((4096 + 12288)) ] || fail "VmRSS grew from $rss0 to $rss2 KiB under the flood"
ok "VmRSS $rss0 -> $rss2 KiB with 400 clients that never read (MaxPendingOutput=4M)"

echo report >&"${FLOOD[1]}"
read -r -t 30 line <&"${FLOOD[0]}" || fail "the flood clients did not report"
closed=${line##* }
[ "$closed" -gt 0 ] && [ "$closed" -lt 400 ] || fail "flood clients: $line"
ok "flood clients: $line"
exec {FLOOD[1]}>&-
wait "$FLOOD_PID" 2>/dev/null

ctl status >/dev/null || fail "tvtokenctl status failed after the flood"
daemon_stop
assert_clean_logs
ok "back-pressure"
