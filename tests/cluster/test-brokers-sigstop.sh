#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGSTOP of the leader past LeaseSec, then SIGCONT: another broker leads
# meanwhile and renews; the old leader, whose renewal is overdue when it
# resumes, sends nothing to the mock after it resumes (the mock log's times
# against the resume time, in a window where the new leader has nothing
# due), and follows the new leader.
# Usage: test-brokers-sigstop.sh TVTOKEND TVTOKENCTL MOCK VARLINK-CALL TOKEN-POLL
. "$(dirname "$0")/brokers.sh"

# Tokens live 30 s and are renewed 10 s after they are issued.
mock_start --lifetime 30
three_brokers "[Token]" "RenewBeforeSec=20s"
OLD=$LEADER
read -r -a F <<<"$(others_than "$OLD")"
wait_until 40 '[ "$(mock_count renew)" -ge 1 ]' || fail "no renewal"
R1=$(mock_times renew | tail -n 1)
wait_until 10 same_token_among 1 2 3 || fail "the brokers disagree"
ok "b$OLD leads and renewed at $R1"

# Stop it 2 s before its next renewal is due (R1 + 10 s).
while [ "$(now_ms)" -lt $(( R1 + 8000 )) ]; do sleep 0.05; done
kill -STOP "${B_PIDS[$OLD]}"
TSTOP=$(now_ms)
wait_until $(( LEASE_SEC + 20 )) one_leader_among "${F[@]}" || fail "nobody took over"
NEW=$LEADER
# The new leader finds the renewal overdue and renews at once.
wait_until 20 "[ \"\$(mock_times renew | awk -v t=$TSTOP '\$1 > t' | wc -l)\" -ge 1 ]" ||
	fail "the new leader did not renew"
R2=$(mock_times renew | tail -n 1)
ok "b$NEW leads while b$OLD is stopped, and renewed $(( R2 - TSTOP )) ms after the stop"

# Stopped for LeaseSec + 2 s at least, and resumed before the new leader's next renewal is due.
while [ "$(now_ms)" -lt $(( TSTOP + (LEASE_SEC + 2) * 1000 )) ]; do sleep 0.05; done
[ "$(now_ms)" -lt $(( R2 + 4000 )) ] || fail "too late to resume in a quiet window (loaded machine?)"
before=$(wc -l <"$T/mock.log")
kill -CONT "${B_PIDS[$OLD]}"
TCONT=$(now_ms)
# Four seconds in which nobody has anything due: the new leader's next renewal is at R2 + 10 s.
while [ "$(now_ms)" -lt $(( TCONT + 4000 )) ]; do sleep 0.1; done
TEND=$(now_ms)
late=$( (mock_times renew; mock_times request) | awk -v a="$TCONT" -v b="$TEND" '$1 >= a && $1 <= b' | wc -l)
assert_eq "$late" 0 "requests the mock saw after b$OLD resumed (none was due)"
ok "nothing reached the mock in the $(( $(now_ms) - TCONT )) ms after b$OLD resumed ($(( $(wc -l <"$T/mock.log") - before )) requests in all since)"

wait_until 20 one_leader_among 1 2 3 || fail "b$OLD does not follow b$NEW: $(b_field "$OLD" role) of $(b_field "$OLD" leader)"
assert_eq "$LEADER" "$NEW" "the leader after b$OLD resumed"
grep -q "leadership_lost: b$OLD" "$T/b$OLD.log" || fail "b$OLD did not log leadership_lost"
wait_until 20 same_token_among 1 2 3 || fail "the brokers disagree after the resume"
assert_eq "$(mock_count request)" 1 "token requests"
ok "b$OLD follows b$NEW and serves its token; still one token request"
