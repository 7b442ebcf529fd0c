# SPDX-License-Identifier: MIT
# A real etcd cluster for tests: three members (Debian's etcd-server) on
# 127.0.0.1, each with its own data directory under the caller's scratch
# directory, on ports the kernel found free. Sourced, not run.
#
#   etcd_start DIR [tls|tls-server]
#                            start members 0..2 (DIR/etcd0 ...); with tls, clients speak
#                            https with client certificates (DIR/pki, see below); with
#                            tls-server, https with a server certificate only (etcd's
#                            JSON gateway refuses client certificates once auth is on)
#   etcd_cleanup             kill every member started here (call it from an EXIT trap)
#   etcd_kill N              kill -9 member N      etcd_stop N / etcd_cont N   SIGSTOP / SIGCONT
#   etcd_restart N           start member N again on its data directory and ports
#   etcd_wait_healthy [N...] wait (bounded) until these members (default: all) are healthy
#   etcd_raft_leader         print the index of the member that is raft leader
#   etcdctl_all ARGS...      etcdctl against every member (root user when auth is on)
#
# After etcd_start: ETCD_ENDPOINTS ("URL0 URL1 URL2"), ETCD_URLS[N], ETCD_PIDS[N],
# and with tls ETCD_PKI (ca.pem, client.pem, client-key.pem). Every wait is bounded.

ETCD_PIDS=()
ETCD_URLS=()
ETCD_PEER_PORTS=()
ETCD_CLIENT_PORTS=()
ETCD_DIR=
ETCD_TLS=
ETCD_PKI=
ETCD_ENDPOINTS=
ETCD_ROOT_PASSWORD=
: "${ETCD_START_TIMEOUT:=90}"

# Print N ports on 127.0.0.1 that are free now (the kernel's choice).
etcd_free_ports()
{
	/usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# Make a CA, a server certificate for 127.0.0.1 and a client certificate in $1.
etcd_make_pki()
{
	local d=$1

	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tvtokend test CA" \
			-keyout ca-key.pem -out ca.pem 2>/dev/null &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
			-keyout server-key.pem -out server.csr 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-days 2 -extfile server.ext -out server.pem 2>/dev/null &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=tvtokend" \
			-keyout client-key.pem -out client.csr 2>/dev/null &&
		printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-days 2 -extfile client.ext -out client.pem 2>/dev/null
	) || return 1
	chmod 0600 "$d"/*-key.pem
}

# Start member $1 in the background (ports chosen) into cluster state $2 (new|existing).
etcd_spawn()
{
	local i=$1 state=$2 scheme=http cluster= j
	local -a tls=()

	for j in 0 1 2; do
		cluster="${cluster:+$cluster,}m$j=http://127.0.0.1:${ETCD_PEER_PORTS[$j]}"
	done
	if [ "$ETCD_TLS" = tls ]; then
		tls=(--client-cert-auth --trusted-ca-file="$ETCD_PKI/ca.pem")
	fi
	if [ -n "$ETCD_TLS" ]; then
		scheme=https
		tls+=(--cert-file="$ETCD_PKI/server.pem" --key-file="$ETCD_PKI/server-key.pem")
	fi
	etcd --name "m$i" --data-dir "$ETCD_DIR/etcd$i" \
		--listen-client-urls "$scheme://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
		--advertise-client-urls "$scheme://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
		--listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
		--initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
		--initial-cluster "$cluster" --initial-cluster-token "tvtokend-test-$$" \
		--initial-cluster-state "$state" "${tls[@]}" \
		>>"$ETCD_DIR/etcd$i.log" 2>&1 &
	ETCD_PIDS[$i]=$!
	disown "$!" 2>/dev/null || true
}

# etcdctl against the members given (indexes), with TLS and the root user when set.
etcdctl_at()
{
	local eps= i
	local -a args=()

	while [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; do
		eps="${eps:+$eps,}${ETCD_URLS[$1]}"
		shift
	done
	if [ -n "$ETCD_TLS" ]; then
		args+=(--cacert="$ETCD_PKI/ca.pem")
	fi
	if [ "$ETCD_TLS" = tls ]; then
		args+=(--cert="$ETCD_PKI/client.pem" --key="$ETCD_PKI/client-key.pem")
	fi
	if [ -n "$ETCD_ROOT_PASSWORD" ]; then
		args+=(--user="root:$ETCD_ROOT_PASSWORD")
	fi
	ETCDCTL_API=3 timeout 20 etcdctl --endpoints="$eps" --dial-timeout=3s \
		--command-timeout=10s "${args[@]}" "$@"
}

etcdctl_all()
{
	etcdctl_at 0 1 2 "$@"
}

# Whether member $1 answers as healthy.
etcd_healthy()
{
	etcdctl_at "$1" endpoint health >/dev/null 2>&1
}

etcd_wait_healthy()
{
	local end=$(( $(date +%s) + ETCD_START_TIMEOUT )) i
	local -a which=("$@")

	[ ${#which[@]} -gt 0 ] || which=(0 1 2)
	for i in "${which[@]}"; do
		until etcd_healthy "$i"; do
			if [ "$(date +%s)" -ge "$end" ]; then
				echo "etcd: member $i not healthy after ${ETCD_START_TIMEOUT}s" >&2
				tail -n 20 "$ETCD_DIR/etcd$i.log" >&2
				return 1
			fi
			kill -0 "${ETCD_PIDS[$i]}" 2>/dev/null || return 1
			sleep 0.2
		done
	done
}

etcd_cleanup()
{
	local p

	for p in "${ETCD_PIDS[@]}"; do
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	for p in "${ETCD_PIDS[@]}"; do
		[ -n "$p" ] && timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null
	done
	ETCD_PIDS=()
}

etcd_start()
{
	local attempt ports i

	ETCD_DIR=$1
	mkdir -p "$ETCD_DIR" || return 1
	ETCD_TLS=${2:-}
	if [ -n "$ETCD_TLS" ]; then
		ETCD_PKI=$ETCD_DIR/pki
		etcd_make_pki "$ETCD_PKI" || { echo "etcd: cannot make certificates" >&2; return 1; }
	fi
	# Another process may take a port between our look and etcd's bind: retry.
	for attempt in 1 2 3 4 5; do
		read -r -a ports <<<"$(etcd_free_ports 6)"
		ETCD_CLIENT_PORTS=("${ports[0]}" "${ports[1]}" "${ports[2]}")
		ETCD_PEER_PORTS=("${ports[3]}" "${ports[4]}" "${ports[5]}")
		ETCD_URLS=()
		for i in 0 1 2; do
			rm -rf "$ETCD_DIR/etcd$i"
			if [ -n "$ETCD_TLS" ]; then
				ETCD_URLS[$i]=https://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}
			else
				ETCD_URLS[$i]=http://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}
			fi
		done
		for i in 0 1 2; do
			etcd_spawn "$i" new
		done
		if etcd_wait_healthy; then
			ETCD_ENDPOINTS="${ETCD_URLS[*]}"
			return 0
		fi
		if ! grep -q "address already in use" "$ETCD_DIR"/etcd?.log 2>/dev/null; then
			etcd_cleanup
			return 1
		fi
		echo "etcd: a port was taken, trying others (attempt $attempt)" >&2
		etcd_cleanup
		rm -f "$ETCD_DIR"/etcd?.log
	done
	return 1
}

etcd_kill()
{
	kill -KILL "${ETCD_PIDS[$1]}" 2>/dev/null
	timeout 10 tail --pid="${ETCD_PIDS[$1]}" -f /dev/null 2>/dev/null
}

etcd_stop()
{
	kill -STOP "${ETCD_PIDS[$1]}"
}

etcd_cont()
{
	kill -CONT "${ETCD_PIDS[$1]}"
}

# Start a killed member again: same name, data directory and ports, existing cluster.
etcd_restart()
{
	etcd_spawn "$1" existing
}

etcd_raft_leader()
{
	local i

	# "endpoint, id, version, db size, is leader, is learner, term, ..."
	for i in 0 1 2; do
		if etcdctl_at "$i" endpoint status -w simple 2>/dev/null |
			awk -F', ' '$5 == "true" { found = 1 } END { exit !found }'; then
			echo "$i"
			return 0
		fi
	done
	return 1
}

# The hex member id of member $1 (from etcd's own listing; JSON numbers lose bits in jq).
etcd_member_id()
{
	etcdctl_all member list -w simple 2>/dev/null | awk -F', ' -v n="m$1" '$3 == n { print $1 }'
}
