#!/bin/bash
# SPDX-License-Identifier: MIT
# Two brokers with the same Member= name: one leads; the other cannot tell
# the leader's values from its own leftovers at first, and once no leftover
# of its own can be left (three leases' time) it says in the journal that
# two brokers share a Member= name. Neither sends a second token request.
# Usage: test-brokers-twins.sh TVTOKEND TVTOKENCTL MOCK VARLINK-CALL TOKEN-POLL
. "$(dirname "$0")/brokers.sh"

mock_start --lifetime 3600
etcd_start "$T/etcd" || fail "cannot start etcd"
for i in 1 2; do
	b_config "$i"
	sed -i 's/^Member=.*/Member=twin/' "$T/b$i.conf"
	b_start "$i"
done
wait_until 60 '[ "$(b_field 1 role)" = leader ] || [ "$(b_field 2 role)" = leader ]' ||
	fail "neither twin leads"
if [ "$(b_field 1 role)" = leader ]; then L=1; O=2; else L=2; O=1; fi
wait_until $(( 3 * LEASE_SEC + 30 )) "grep -q 'give every broker its own Member=' '$T/b$O.log'" ||
	fail "b$O did not warn about the shared Member= name"
assert_eq "$(mock_count request)" 1 "token requests"
ok "b$L leads as twin; b$O warns that two brokers share Member=twin; one token request"
