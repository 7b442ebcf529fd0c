#!/bin/bash
# SPDX-License-Identifier: MIT
# The token file follows every token change, and is replaced atomically: a
# reader that opens and reads it in a tight loop through renewals and
# through rewrites (reloads that change FileMode=) never finds it missing,
# empty or partial, and no temporary file is left beside it.
. "$(dirname "$0")/helpers.sh"

f=$T/token
mock_start
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "File=$f"
daemon_start
wait_state valid 10
wait_file_token "$f" 10
reader_start "$f"

for i in $(seq 1 10); do
	renew_now
	wait_file_token "$f" 10
done
assert_eq "$(status_field generation)" 11 "generation after ten renewals"
ok "the file followed ten renewals"

for i in $(seq 1 40); do
	write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "File=$f" "FileMode=06$((i % 2 * 4))0"
	reload
	wait_until 10 '[ "$(stat -c %a "$f")" = "6$((i % 2 * 4))0" ]' || fail "reload $i did not rewrite the file"
done
ok "the file was rewritten by forty reloads"

reader_stop
seen=$(grep -c . "$T/reader.seen")
[ "$seen" -eq 11 ] || fail "the reader saw $seen distinct tokens, expected all 11: $(cat "$T/reader.seen")"
ok "a reader saw every token and never a missing or partial file ($(cat "$T/reader.reads") reads)"
assert_eq "$(temp_files "$f")" "" "temporary files left beside the token file"
daemon_stop
assert_clean_logs
