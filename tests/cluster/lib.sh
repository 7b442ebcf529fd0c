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
