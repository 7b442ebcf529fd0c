#!/bin/bash
# SPDX-License-Identifier: MIT
# The journal, for real (CONTRACT §2 --log, §6, §7): a systemd-journald of
# our own, started as a plain process in a private mount and PID namespace
# (tmpfs on /run/systemd, /run/log, /var/log/journal and the catalog
# directories; the host's journal and catalog are never touched), and the
# daemon against a mock scripted to provoke every event:
#
#   request 503           request_failed (503)
#   request pticket 0.3   penalty (200), resent with the ticket
#   request ok            acquired, generation 1 (10 s token, renewal at 2 s)
#   renew ok              renewed, generation 2
#   renew 503             renew_failed (503), retried after RetryMinSec
#   renew 429 1           rate_limited (429) for 1 s
#   renew 423             locked_out (423) for LockoutSec=1s
#   renew ok              renewed, generation 3
#   renew 401             renew_failed (401), fallback
#   request lifetime 3    acquired, generation 4 (3 s token, renewal at 1.5 s)
#   renew 429 3           rate_limited (429) for 3 s, during which ...
#                         ... the token expires: expired, generation 4
#                         fallback when the 429 is over
#   request errortext     credentials_rejected (200)
#   a client as nobody    client_denied (AllowUsers=root)
#
# Each entry must carry its MESSAGE_ID=, PRIORITY= and TVTOKEND_EVENT= from
# EVENTS, the facts of the reply (HTTP status, duration, generation), UTC
# times, every field its catalog entry refers to, and be explained by
# "journalctl -x" from the shipped catalog. No password, secret or token
# anywhere in the journal (entries exported, and the raw files).
# Also: --log=journal without journald falls back to stderr with one
# warning; --log=auto picks the journal when stderr is the journal's stream
# ($JOURNAL_STREAM matches it), stderr when it does not match.

# Re-run in private mount and PID namespaces: everything mounted goes away
# with them, and every process started dies with the namespace's init (us).
if [ -z "${TVTOKEND_JOURNAL_NS:-}" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (mount and PID namespaces for a private journald)"
		exit 77
	fi
	for p in unshare journalctl setpriv systemd-cat timeout /lib/systemd/systemd-journald; do
		if ! command -v "$p" >/dev/null 2>&1; then
			echo "SKIP: $p is not installed"
			exit 77
		fi
	done
	for d in /run /var/lib/systemd /usr/lib/systemd/catalog; do
		if [ ! -d "$d" ]; then
			echo "SKIP: no $d to hide under a private tmpfs"
			exit 77
		fi
	done
	if ! unshare --mount --pid --fork --propagation private --mount-proc true 2>/dev/null; then
		echo "SKIP: cannot create mount and PID namespaces here"
		exit 77
	fi
	TVTOKEND_JOURNAL_NS=1 exec unshare --mount --pid --fork --kill-child --propagation private --mount-proc \
		bash "$0" "$@"
fi

. "$(dirname -- "${BASH_SOURCE[0]}")/run-lib.sh"

[ "$$" = 1 ] || fail "not the init of a new PID namespace"
JDIR=/run/log/journal

# A private tmpfs on DIR, which must exist already (nothing is created on the host).
private_tmpfs()
{
	[ -d "$1" ] || fail "$1 does not exist"
	mount -t tmpfs -o mode=0755,size=64m tvtokend-test "$1" || fail "cannot mount a tmpfs on $1"
}

# The daemon's event entries as lines "EVENT ID PRIO GEN HTTP DURATION_MS";
# "-" for a field the entry lacks. Journal export format, one entry per paragraph.
event_table()
{
	journalctl --no-pager -o export "_PID=$1" | awk -v RS= -F '\n' '
	{
		delete f
		for (i = 1; i <= NF; i++) {
			eq = index($i, "=")
			if (eq)
				f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
		}
		if (!("TVTOKEND_EVENT" in f))
			next
		printf "%s %s %s %s %s %s\n", f["TVTOKEND_EVENT"], f["MESSAGE_ID"], f["PRIORITY"],
			("TVTOKEND_GENERATION" in f) ? f["TVTOKEND_GENERATION"] : "-",
			("TVTOKEND_HTTP_STATUS" in f) ? f["TVTOKEND_HTTP_STATUS"] : "-",
			("TVTOKEND_DURATION_MS" in f) ? f["TVTOKEND_DURATION_MS"] : "-"
	}'
}

# Field FIELD of the first entry matching the journalctl MATCHes.
entry_field()
{
	local field=$1

	shift
	journalctl --no-pager -o export "$@" | awk -v RS= -F '\n' -v want="$field" '
	{
		for (i = 1; i <= NF; i++)
			if (index($i, want "=") == 1) {
				print substr($i, length(want) + 2)
				exit
			}
		exit
	}'
}

# ---- no journald yet: --log=journal falls back to stderr, with one warning
mock_start --lifetime 10
write_config "[Token]" "RenewBeforeSec=8s"
if [ -d /run/systemd ] && [ -d /run/log ]; then
	private_tmpfs /run/systemd
	private_tmpfs /run/log
else
	private_tmpfs /run
	mkdir /run/systemd /run/log
fi
# Storage=volatile below keeps the journal in /run/log; /var/log/journal is
# hidden too, so that nothing can reach the host's persistent journal.
[ -d /var/log/journal ] && private_tmpfs /var/log/journal
[ ! -e /run/systemd/journal/socket ] || fail "a journal socket in a fresh tmpfs"
daemon_start --log=journal
wait_state valid 10
daemon_stop
assert_eq "$(grep -c 'no journald at /run/systemd/journal/socket; logging to stderr' "$T/daemon.log")" 1 \
	"warnings about the missing journald"
grep -q '^tvtokend: acquired: acquired a new token (generation 1)' "$T/daemon.log" ||
	fail "without journald the acquired event is not on stderr"
mv "$T/daemon.log" "$T/daemon-nojournal.log"
ok "--log=journal without journald: stderr, one warning"

# ---- our journald, and our catalog only
if [ -d /var/lib/systemd/catalog ]; then
	private_tmpfs /var/lib/systemd/catalog
else
	private_tmpfs /var/lib/systemd
	mkdir /var/lib/systemd/catalog
fi
private_tmpfs /usr/lib/systemd/catalog
cp -- "$CATALOG" /usr/lib/systemd/catalog/tvtokend.catalog
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d
cat >/run/systemd/journald.conf.d/tvtokend-test.conf <<'EOF'
[Journal]
Storage=volatile
Compress=no
Seal=no
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitIntervalSec=0
MaxLevelStore=debug
EOF
SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=info /lib/systemd/systemd-journald >"$T/journald.log" 2>&1 &
JOURNALD_PID=$!
PIDS+=("$JOURNALD_PID")
wait_until 10 '[ -S /run/systemd/journal/socket ] && [ -S /run/systemd/journal/stdout ]' ||
	fail "systemd-journald did not start: $(cat "$T/journald.log")"
timeout 30 journalctl --update-catalog || fail "journalctl --update-catalog failed"
[ -s /var/lib/systemd/catalog/database ] || fail "no catalog database"
ok "private journald (pid $JOURNALD_PID) and catalog"

# ---- every event (the mock's log still holds the first daemon's request: n_before skips it)
mock_script "request 503" "request pticket 0.3" "request ok" "request lifetime 3" "request errortext" \
	"renew ok" "renew 503" "renew 429 1" "renew 423" "renew ok" "renew 401" "renew 429 3"
n_before=$(wc -l <"$T/mock.log")
write_config "[Tradovate]" "RequestTimeoutSec=10s" \
	"[Token]" "RenewBeforeSec=8s" "RetryMinSec=200ms" "RetryMaxSec=1s" "LockoutSec=1s" \
	"[Server]" "SocketMode=0666" "AllowUsers=root"
export TZ=XYZ-13:45
daemon_start --log=journal
unset TZ
JPID=$DAEMON_PID

# client_denied: someone AllowUsers= leaves out.
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$TVTOKENCTL" --socket "$SOCK" status \
	>"$T/nobody.out" 2>&1 &
nobody_pid=$!
wait "$nobody_pid"
assert_eq "$?" 4 "tvtokenctl exit status for a user AllowUsers= excludes"

wait_until 45 '[ "$(status_field state)" = credentials_rejected ]' ||
	fail "the scripted sequence did not end in credentials_rejected (state $(status_field state))"
daemon_stop
assert_eq "$(sed -n "$((n_before + 1)),\$p" "$T/mock.log" | cut -d' ' -f2-4)" "$(printf '%s\n' \
	"request 503 503" "request pticket 200" "request ok 200" "renew ok 200" "renew 503 503" \
	"renew 429 429" "renew 423 423" "renew ok 200" "renew 401 401" "request lifetime 200" \
	"renew 429 429" "request errortext 200")" "upstream requests"
assert_eq "$(sed -n "$((n_before + 3))p" "$T/mock.log" | cut -d' ' -f5)" "pticket=1" \
	"the request after the penalty carries the ticket"
[ ! -s "$T/daemon.log" ] || fail "--log=journal wrote to stderr: $(cat "$T/daemon.log")"
ok "the daemon went through the script; nothing on stderr"

# journald has every entry once the last one (stopping) is in.
wait_until 10 'journalctl --no-pager -o cat "_PID=$JPID" | grep -q "^stopping on signal"' ||
	fail "the daemon's last entry never reached the journal"
event_table "$JPID" >"$T/events"
cat "$T/events"

# The sequence of events (client_denied aside: it came when the client did).
assert_eq "$(awk '$1 != "client_denied" { print $1 }' "$T/events")" "$(printf '%s\n' \
	request_failed penalty acquired renewed renew_failed rate_limited locked_out renewed \
	renew_failed fallback acquired rate_limited expired fallback credentials_rejected)" \
	"TVTOKEND_EVENT= of the entries, in order"
assert_eq "$(grep -c '^client_denied ' "$T/events")" 1 "client_denied entries"

# MESSAGE_ID= and PRIORITY= of every entry are those of EVENTS, and every event was seen.
# Cluster mode's events (leader_elected, leadership_lost, following) need etcd: tests/cluster.
awk '!/^#/ && NF && $1 !~ /^(leader_elected|leadership_lost|following)$/ { print $1, $2, $3 }' \
	"$EVENTS" | sort >"$T/want-ids"
[ "$(wc -l <"$T/want-ids")" -eq 11 ] || fail "EVENTS does not list the 11 events of CONTRACT §6"
assert_eq "$(cut -d' ' -f1-3 "$T/events" | sort -u)" "$(cat "$T/want-ids")" \
	"event, MESSAGE_ID, PRIORITY of the entries (each of the 11 events, as in ${EVENTS##*/})"
ok "all 11 events, each with its MESSAGE_ID= and PRIORITY="

# The facts of each reply: generation, HTTP status, duration.
assert_eq "$(awk '$1 != "client_denied" { d = ($6 == "-") ? "-" : ($6 ~ /^[0-9]+$/ ? "ms" : "bad"); print $1, $4, $5, d }' "$T/events")" \
	"$(printf '%s\n' \
	"request_failed 0 503 ms" "penalty 0 200 ms" "acquired 1 200 ms" "renewed 2 200 ms" \
	"renew_failed 2 503 ms" "rate_limited 2 429 ms" "locked_out 2 423 ms" "renewed 3 200 ms" \
	"renew_failed 3 401 ms" "fallback 3 - -" "acquired 4 200 ms" "rate_limited 4 429 ms" \
	"expired 4 - -" "fallback 4 - -" "credentials_rejected 4 200 ms")" \
	"event, TVTOKEND_GENERATION, TVTOKEND_HTTP_STATUS, TVTOKEND_DURATION_MS of each entry"
ok "request events carry TVTOKEND_DURATION_MS and TVTOKEND_HTTP_STATUS; generations as issued"

# client_denied names the peer.
assert_eq "$(entry_field TVTOKEND_PEER_PID TVTOKEND_EVENT=client_denied)" "$nobody_pid" "TVTOKEND_PEER_PID"
assert_eq "$(entry_field TVTOKEND_PEER_UID TVTOKEND_EVENT=client_denied)" 65534 "TVTOKEND_PEER_UID"
assert_eq "$(entry_field TVTOKEND_PEER_GID TVTOKEND_EVENT=client_denied)" 65534 "TVTOKEND_PEER_GID"
assert_eq "$(entry_field _PID TVTOKEND_EVENT=client_denied)" "$JPID" "_PID of client_denied"
ok "client_denied: pid $nobody_pid, uid 65534"

# Every time the daemon journaled is UTC with a Z (it ran with TZ far from UTC).
journalctl --no-pager -o export "_PID=$JPID" | grep -a -E '^TVTOKEND_(EXPIRATION|NEXT_ATTEMPT)=' >"$T/times"
[ -s "$T/times" ] || fail "no TVTOKEND_EXPIRATION= or TVTOKEND_NEXT_ATTEMPT= at all"
grep -v -E '^TVTOKEND_[A-Z_]+=20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$' "$T/times" &&
	fail "a journaled time is not RFC 3339 UTC"
exp=$(entry_field TVTOKEND_EXPIRATION "_PID=$JPID" TVTOKEND_EVENT=expired)
at=$(entry_field __REALTIME_TIMESTAMP "_PID=$JPID" TVTOKEND_EVENT=expired)
d=$(( $(date -u -d "$exp" +%s) - at / 1000000 ))
[ "$d" -ge -2 ] && [ "$d" -le 1 ] ||
	fail "the token expired at $exp by the expired entry, which was written at $((at / 1000000)) (TZ=XYZ-13:45)"
ok "$(wc -l <"$T/times") journaled times, all UTC, whatever TZ says"

# The catalog explains each event, and its @FIELD@s are all in the entry.
for id in $(cut -d' ' -f2 "$T/want-ids"); do
	subject=$(awk -v id="$id" '/^-- / { on = ($0 == "-- " id) } on && /^Subject: / { sub(/^Subject: /, ""); print; exit }' "$CATALOG")
	[ -n "$subject" ] || fail "no Subject: for $id in the catalog"
	journalctl --no-pager -x "_PID=$JPID" "MESSAGE_ID=$id" >"$T/x-$id"
	grep -q -F "░░ Subject: $subject" "$T/x-$id" || { cat "$T/x-$id"; fail "journalctl -x does not explain $id"; }
	for f in $(awk -v id="$id" '/^-- / { on = ($0 == "-- " id) } on' "$CATALOG" | grep -o '@[A-Z0-9_]*@' | tr -d @ | sort -u); do
		journalctl --no-pager -o export "_PID=$JPID" "MESSAGE_ID=$id" | grep -a -q "^$f=" ||
			fail "the catalog entry $id refers to $f, which its journal entries lack"
	done
done
grep -q -F "░░ The broker obtained a new access token" "$T/x-0e201ed8b04848dbaa0c7f334262bcee" ||
	fail "journalctl -x shows no catalog text"
ok "journalctl -x explains all 11 events from the catalog"

# Plain messages have their priority too.
assert_eq "$(entry_field PRIORITY "_PID=$JPID" MESSAGE="stopping on signal 15")" 6 "PRIORITY of an info message"

# ---- --log=auto: the journal when stderr is the journal's stream, and only then.
mock_script "request ok"
auto_run()
{
	local stream=$1 ident=$2

	rm -f "$SOCK"
	systemd-cat -t "$ident" bash -c '
		if [ "$1" = match ]; then
			JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2)
		else
			JOURNAL_STREAM=0:0
		fi
		export JOURNAL_STREAM
		shift
		exec "$@"' auto-run "$stream" "$TVTOKEND" --config "$CONF" --log=auto &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	wait_until 10 '[ -S "$SOCK" ] && unix_connectable "$SOCK"' || fail "tvtokend (--log=auto) did not start"
	wait_state valid 10
	AUTO_TOKEN=$(ctl token) || fail "no token from the --log=auto run"
	daemon_stop
	wait_until 10 'journalctl --no-pager -o cat "_PID=$DAEMON_PID" | grep -q "stopping on signal"' ||
		fail "the --log=auto run's output never reached the journal"
}
auto_run match tvtokend-auto
assert_eq "$(entry_field _TRANSPORT "_PID=$DAEMON_PID" TVTOKEND_EVENT=acquired)" journal \
	"transport of the acquired entry with JOURNAL_STREAM matching stderr"
assert_eq "$(entry_field MESSAGE_ID "_PID=$DAEMON_PID" TVTOKEND_EVENT=acquired)" \
	0e201ed8b04848dbaa0c7f334262bcee "MESSAGE_ID of the acquired entry (--log=auto)"
journalctl --no-pager -o export "_PID=$DAEMON_PID" _TRANSPORT=stdout | grep -a -q '^MESSAGE=' &&
	fail "--log=auto with the journal's stream still wrote plain lines to stderr"
ok "--log=auto, stderr is the journal's stream: structured entries"

auto_run nomatch tvtokend-plain
[ -z "$(journalctl --no-pager -o export "_PID=$DAEMON_PID" TVTOKEND_EVENT=acquired)" ] ||
	fail "--log=auto sent structured entries although JOURNAL_STREAM does not match stderr"
assert_eq "$(journalctl --no-pager -o cat "_PID=$DAEMON_PID" _TRANSPORT=stdout | grep -c '^tvtokend: acquired: acquired a new token')" 1 \
	"plain acquired lines on stderr (JOURNAL_STREAM not matching)"
ok "--log=auto, JOURNAL_STREAM not matching stderr: plain stderr"

# ---- no secret, no token, anywhere
tok_re='(tok|md)-[0-9]+-[0-9a-f]{8,}'
[[ $AUTO_TOKEN =~ ^$tok_re$ ]] || fail "the token pattern does not match the tokens the mock issues"
journalctl --no-pager -o export >"$T/journal.export"
[ "$(grep -a -c '^TVTOKEND_EVENT=' "$T/journal.export")" -ge 17 ] || fail "the export misses entries"
grep -a -n -E "demo-password|demo-secret|$tok_re" "$T/journal.export" && fail "a secret or token is in the journal"
grep -a -q -F "$AUTO_TOKEN" "$T/journal.export" && fail "the last token served is in the journal"
grep -a -r -l -E "demo-password|demo-secret|$tok_re" "$JDIR" && fail "a secret or token is in the journal files"
grep -a -r -q 'TVTOKEND_EVENT=credentials_rejected' "$JDIR" || fail "the raw journal files are not greppable"
assert_no_secrets "$T/daemon-nojournal.log" "$T/nobody.out" "$T/journald.log"
ok "no password, secret or token in $(grep -a -c '^__CURSOR=' "$T/journal.export") journal entries"
