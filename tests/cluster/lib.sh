# SPDX-License-Identifier: MIT
# Shared helpers of the cluster tests: a scratch directory, a real etcd
# (etcd.sh), the cluster-node driver processes, bounded waits. Sourced, not run.
# Every process started here is killed at exit, whatever happens.

set -u

CL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$CL_DIR/etcd.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/tvtokend-cluster.XXXXXX")
NODE_PIDS=()
NODE_LOGS=()

# Kill the nodes and etcd, then remove the scratch directory.
cl_cleanup()
{
	local p

	for p in "${NODE_PIDS[@]}"; do
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	etcd_cleanup
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cl_cleanup EXIT

# Fail the test with a message, showing the nodes' logs.
fail()
{
	local i

	printf 'FAIL: %s\n' "$*" >&2
	for i in "${!NODE_LOGS[@]}"; do
		echo "--- node $i (last 40 lines)" >&2
		tail -n 40 "${NODE_LOGS[$i]}" >&2
	done
	exit 1
}

ok()
{
	printf 'ok: %s\n' "$*"
}

# Poll an eval'ed condition every 50 ms for at most $1 seconds.
wait_until()
{
	local secs=$1 end

	shift
	end=$(( $(date +%s%N) + secs * 1000000000 ))
	until eval "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# A URL on 127.0.0.1 where nothing listens.
dead_url()
{
	echo "http://127.0.0.1:$(etcd_free_ports 1)"
}

# ---- cluster-node processes (the driver built from cluster.c & co.) ----
# The runner passes the driver's path as the test's first argument: NODE.

: "${LEASE_SEC:=3}"
ELECTION="tvtokend/test-$$"
MARKER="PLAINTEXT-MARKER-$$-$RANDOM"
PASSWORD="hunter2-$$"

# Write the config of node $1 (member n$1) for the etcd started; $NODE_CLUSTER_EXTRA
# (lines) goes into its [Cluster] section.
node_config()
{
	local i=$1

	# Written once: a running node may be reading them.
	if [ ! -f "$T/secret" ]; then
		(umask 077; printf '%s\n' "$PASSWORD" >"$T/password.tmp" &&
			printf '%s\n' "sec-0123456789abcdef-$$" >"$T/secret.tmp") &&
		mv "$T/password.tmp" "$T/password" && mv "$T/secret.tmp" "$T/secret"
	fi
	cat >"$T/node$i.conf" <<EOC
[Tradovate]
Name=alice
AppId=test
ClientId=1
PasswordFile=$T/password
SecretFile=$T/secret

[Cluster]
Etcd=$ETCD_ENDPOINTS
Election=$ELECTION
Member=n$i
LeaseSec=${LEASE_SEC}s
${NODE_CLUSTER_EXTRA:-}
EOC
}

# Start node $1 (extra arguments go to the driver); its log is $T/node$1.log.
node_start()
{
	local i=$1

	shift
	[ -f "$T/node$i.conf" ] || node_config "$i"
	"$NODE" --config "$T/node$i.conf" --marker "$MARKER" "$@" >>"$T/node$i.log" 2>&1 &
	NODE_PIDS[$i]=$!
	disown "$!" 2>/dev/null || true
	NODE_LOGS[$i]=$T/node$i.log
}

# The last "ROLE" line of node $1: "<role> <leader>".
node_role()
{
	grep -a ' ROLE ' "$T/node$1.log" 2>/dev/null | tail -n 1 | cut -d' ' -f3-4
}

# The nodes (among those given) whose last role is leader, one per line.
leaders_among()
{
	local i

	for i in "$@"; do
		case "$(node_role "$i")" in
		"leader "*) echo "$i" ;;
		esac
	done
}

# Whether, among the nodes given, exactly one leads and all others follow it.
one_leader_among()
{
	local l i n

	l=$(leaders_among "$@")
	[ "$(printf '%s\n' "$l" | grep -c .)" -eq 1 ] || return 1
	for i in "$@"; do
		[ "$i" = "$l" ] && continue
		[ "$(node_role "$i")" = "follower n$l" ] || return 1
	done
	LEADER=$l
}

# The millisecond timestamp of the first line of node $1's log matching regex $2 after ms $3.
first_after()
{
	awk -v t="$3" -v re="$2" '$1 >= t && $0 ~ re { print $1; exit }' "$T/node$1.log"
}

now_ms()
{
	echo $(( $(date +%s%N) / 1000000 ))
}
