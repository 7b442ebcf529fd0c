#!/bin/bash
# SPDX-License-Identifier: MIT
# Instructions per call of tvtokend's serving path, under valgrind's
# callgrind: numbers that do not depend on the machine's load (BENCHMARKS.md).
#
#   tests/bench/callgrind-serve.sh BUILD_DIR [CALLS]
#
# Starts BUILD_DIR's mock-tradovate and tvtokend (under callgrind, collection
# zeroed and dumped around each phase with callgrind_control), waits for a
# token, then runs three phases from one client (Debian's /usr/bin/python3,
# one call in flight): CALLS GetToken calls on one connection, CALLS/4
# connect + GetToken + close, and CALLS GetStatus calls on one connection.
# Prints the instructions (Ir) per call of each phase. Needs valgrind.
# Every process it starts is stopped at exit; scratch files in a mktemp dir.
set -u

BUILD=${1:?usage: callgrind-serve.sh BUILD_DIR [CALLS]}
CALLS=${2:-2000}
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
	{ echo "callgrind-serve: needs valgrind (apt-get install valgrind)" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
bench_begin callgrind
bench_mock "$BUILD"
bench_config
valgrind --tool=callgrind --callgrind-out-file="$T/callgrind.out" --dump-instr=no \
	"$BUILD/daemon/tvtokend" --config "$T/tvtokend.conf" --log=stderr >"$T/daemon.log" 2>&1 &
DAEMON=$!
PIDS+=("$DAEMON")

timeout 120 /usr/bin/python3 - "$T/sock" "$CALLS" "$DAEMON" <<'EOF' || { tail "$T/daemon.log" >&2; exit 1; }
import socket, subprocess, sys, time

path, calls, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
token = b'{"method":"io.tvtokend.Broker.GetToken","parameters":{}}\0'
status = b'{"method":"io.tvtokend.Broker.GetStatus","parameters":{}}\0'

def call(s, msg):
    s.sendall(msg)
    buf = b""
    while not buf.endswith(b"\0"):
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("tvtokend hung up")
        buf += chunk
    return buf

def control(*args):
    subprocess.run(["callgrind_control", *args, pid], check=True, stdout=subprocess.DEVNULL)

for _ in range(600):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            if b'"accessToken"' in call(s, token):
                break
    except OSError:
        pass
    time.sleep(0.1)
else:
    raise SystemExit("no token within 60 s")

with socket.socket(socket.AF_UNIX) as s:
    s.connect(path)
    for _ in range(100):
        call(s, token)
    control("-z")
    for _ in range(calls):
        call(s, token)
    control("-d", "getoken")
for phase, n in (("connect", calls // 4),):
    control("-z")
    for _ in range(n):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            call(s, token)
    time.sleep(0.5)
    control("-d", phase)
with socket.socket(socket.AF_UNIX) as s:
    s.connect(path)
    control("-z")
    for _ in range(calls):
        call(s, status)
    control("-d", "getstatus")
EOF

# The dumps are numbered in the order of the phases.
ir()
{
	sed -n 's/^summary: //p' "$T/callgrind.out.$1"
}
printf 'tvtokend instructions per call (callgrind Ir), %s calls a phase\n' "$CALLS"
printf '  GetToken, one connection:          %8d\n' $(( $(ir 1) / CALLS ))
printf '  connect + GetToken + close:        %8d\n' $(( $(ir 2) / (CALLS / 4) ))
printf '  GetStatus, one connection:         %8d\n' $(( $(ir 3) / CALLS ))
