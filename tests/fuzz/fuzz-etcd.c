/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: etcd's reply and stream parsing (daemon/etcd.c) and the
 * line splitter streams go through (daemon/http.c).
 *
 * Input: byte 0 picks the call (modulo ETCD_OP_COUNT), byte 1 the HTTP
 * status (200, 500, 401, 403, 404, 503), the rest is the reply body. The body
 * is parsed whole, then split into lines as a stream would be, each line
 * parsed as one stream message; the strict base64 and int64 parsers get the
 * raw body too. Seeds: tests/fuzz/corpus/etcd/ (replies recorded from etcd 3.4).
 *
 * Built by tests/fuzz/meson.build and run by tests/fuzz/run.sh with the
 * other targets.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = { 200, 500, 401, 403, 404, 503 };

struct line_ctx {
	enum etcd_op op;
	long status;
};

/* Parse each line as one stream message. */
static int
fuzz_line(const char *line, size_t len, void *arg)
{
	struct line_ctx *lc = arg;
	struct etcd_reply r;

	if (etcd_parse(lc->op, lc->status, line, len, &r) == 0)
		etcd_reply_clear(&r);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line_ctx lc;
	struct etcd_reply r;
	struct http_lines lines;
	const char *body;
	size_t len;
	uint8_t *out;
	size_t out_len;
	int64_t v;

	if (size < 2)
		return 0;
	lc.op = (enum etcd_op)(data[0] % ETCD_OP_COUNT);
	lc.status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
	body = (const char *)data + 2;
	len = size - 2;

	if (etcd_parse(lc.op, lc.status, body, len, &r) == 0) {
		/* Touch what the parser promised: NUL-terminated keys and values. */
		for (size_t i = 0; i < r.n_kvs; i++)
			if (r.kvs[i].key[r.kvs[i].key_len] != 0 ||
			    r.kvs[i].value[r.kvs[i].value_len] != 0)
				abort();
		for (size_t i = 0; i < r.n_events; i++)
			if (r.events[i].kv.key[r.events[i].kv.key_len] != 0)
				abort();
		if (strlen(r.message) >= ETCD_MAX_MESSAGE)
			abort();
		etcd_reply_clear(&r);
	}

	http_lines_init(&lines, 512, 2048);
	/* Feed in two pieces so that lines also straddle a boundary. */
	if (http_lines_feed(&lines, body, len / 2, fuzz_line, &lc) == 0 &&
	    http_lines_feed(&lines, body + len / 2, len - len / 2, fuzz_line, &lc) == 0)
		(void)http_lines_finish(&lines, fuzz_line, &lc);
	http_lines_clear(&lines);

	if (etcd_base64_decode(body, len, 1024, &out, &out_len) == 0) {
		char *again = etcd_base64_encode(out, out_len);

		/* Strict decoding means the encoding comes back byte for byte. */
		if (again == NULL || strlen(again) != len || memcmp(again, body, len) != 0)
			abort();
		free(again);
		free(out);
	}
	(void)etcd_parse_int64(body, len, &v);
	return 0;
}
