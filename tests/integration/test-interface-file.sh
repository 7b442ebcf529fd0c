#!/bin/bash
# SPDX-License-Identifier: MIT
# The Varlink interface file (daemon/io.tvtokend.Broker.varlink, installed to
# share/varlink/ for code generators) is byte for byte what the running
# daemon's GetInterfaceDescription returns. (tests/install/ checks the
# installed copy the same way.)
. "$IT_LIB"

command -v jq >/dev/null || fail "this test needs jq"
[ -s "$INTERFACE_FILE" ] || fail "no interface file at $INTERFACE_FILE"
mock_start
write_config
daemon_start
vl '{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"io.tvtokend.Broker"}}' \
	>"$T/reply" || fail "GetInterfaceDescription got no reply"
jq -j .parameters.description <"$T/reply" >"$T/description" || fail "not a description: $(cat "$T/reply")"
cmp "$T/description" "$INTERFACE_FILE" ||
	fail "GetInterfaceDescription differs from ${INTERFACE_FILE##*/}: $(diff "$T/description" "$INTERFACE_FILE")"
ok "GetInterfaceDescription is ${INTERFACE_FILE##*/}, byte for byte"
daemon_stop
