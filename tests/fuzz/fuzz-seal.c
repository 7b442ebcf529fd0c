/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: opening sealed values (daemon/seal.c) and the member
 * payload inside them (daemon/cluster.c), the two things a hostile etcd (or
 * its operator) can feed a broker.
 *
 * Input: byte 0 picks the context (the election, a report key, another);
 * the rest is the value. Every input goes to seal_open under one fixed key,
 * and to cluster_payload_parse as if it had opened. Seeds in
 * tests/fuzz/corpus/seal/ are values sealed with that key (some wrong ones).
 *
 * Built by tests/fuzz/meson.build and run by tests/fuzz/run.sh with the
 * other targets.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const contexts[] = {
	"tvtokend/alice/leader", "tvtokend/alice/reports/n2", "tvtokend/bob/leader",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seal_key *key;
	struct cluster_payload pl;
	uint8_t *plain = NULL;
	size_t len = 0;

	if (key == NULL && seal_key_derive("hunter2", "0123456789abcdef-sec",
	    "https://demo.tradovateapi.com/v1", "alice", "tvtokend/alice", &key) < 0)
		abort();
	if (size < 1)
		return 0;
	if (seal_open(key, contexts[data[0] % 3], data + 1, size - 1, &plain, &len) == 0) {
		if (plain[len] != '\0')
			abort();
		(void)cluster_payload_parse(plain, len, &pl);
		seal_plain_free(plain, len);
	}
	if (cluster_payload_parse(data + 1, size - 1, &pl) == 0) {
		if (pl.kind == CLUSTER_KIND_STATE &&
		    pl.state + pl.state_len != data + size)
			abort();
		if (strlen(pl.member) == 0 || strlen(pl.member) > 64)
			abort();
	}
	return 0;
}
