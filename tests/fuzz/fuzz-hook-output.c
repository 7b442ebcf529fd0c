/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what the change hook's output becomes in the log
 * (daemon/hook.c: the line splitter and hook_log_line). The hook is
 * configured by the operator, but what it prints may echo anything, the
 * token included. For any output, cut into any read sizes, every logged
 * message is one line of printable text no longer than the log takes, no
 * 31-byte stretch of the run's token (nor a shorter token whole) ever
 * reaches the log, and no more than HOOK_OUTPUT_MAX bytes of output are
 * logged per run.
 *
 * Input: a 1-byte token length L, L bytes of access token, then the output;
 * each output byte 0xff ends one read() chunk.
 *
 * hook.c is included so that its static functions are reachable; the log
 * functions it calls are captured here instead of logged.
 * Links: daemon/hook.c (included), daemon/tokentext.c, daemon/token.c,
 * daemon/timeutil.c, libevent_core, json-c. Built and run by hand:
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Idaemon -I/usr/include/json-c tests/fuzz/fuzz-hook-output.c \
 *     daemon/tokentext.c daemon/token.c daemon/timeutil.c -levent_core -ljson-c \
 *     -o /tmp/fuzz-hook-output
 *   /tmp/fuzz-hook-output -max_total_time=300 tests/fuzz/corpus/hook-output
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Capture the log instead of writing it. */
#define log_debug fuzz_log
#define log_info fuzz_log
#define log_warnx fuzz_log
#define log_warn fuzz_log
#define log_errorx fuzz_log
#include "../../daemon/hook.c"

#define FUZZ_MSG_MAX 1023               /* what log.c's buffer holds */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_secret;

/* Stop with a message: a violated invariant. */
static void fuzz_fail(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz-hook-output: %s: [%s]\n", what, msg);
	abort();
}

/* Fail if text holds the token whole (shorter than 31 bytes) or any 31-byte stretch of it. */
static void fuzz_check_secret(const char *text, const char *msg)
{
	size_t n = strlen(text), s = fuzz_secret != NULL ? strlen(fuzz_secret) : 0;

	for (size_t off = 0; s >= 31 && off + 31 <= s; off++)
		if (memmem(text, n, fuzz_secret + off, 31) != NULL)
			fuzz_fail("a piece of the token in a message", msg);
	if (s > 0 && s < 31 && memmem(text, n, fuzz_secret, s) != NULL)
		fuzz_fail("the token in a message", msg);
}

/*
 * One captured log message, checked. Only the output line of
 * "ExecOnChange[%d]: %s%s" carries the hook's text; the other messages are
 * fixed texts and numbers, which a token may happen to spell.
 */
void fuzz_log(const char *fmt, ...)
{
	char msg[FUZZ_MSG_MAX + 1];
	const char *line = NULL;
	va_list ap;
	size_t n;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(fmt, "ExecOnChange[%d]: %s%s") == 0) {
		va_start(ap, fmt);
		(void)va_arg(ap, int);
		line = va_arg(ap, const char *);
		va_end(ap);
	}
	if (r < 0)
		return;
	if ((size_t)r > FUZZ_MSG_MAX)
		fuzz_fail("a message longer than the log takes", msg);
	n = strlen(msg);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			fuzz_fail("a control character in a message", msg);
	if (line != NULL)
		fuzz_check_secret(line, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hook h = { .pid = 4242 };
	size_t tlen, start;
	char *secret;

	if (size < 1)
		return 0;
	tlen = data[0];
	if (1 + tlen > size)
		return 0;
	/* A token as tokentext.c would carry it: no NUL inside (strndup stops there). */
	secret = strndup((const char *)data + 1, tlen);
	if (secret == NULL)
		return 0;
	h.scrub[0] = secret;
	/*
	 * Checked only for tokens without '?' or control characters (real
	 * tokens have neither): the log shows control characters as '?', which
	 * could spell such a token without any of its bytes being there.
	 */
	fuzz_secret = secret;
	for (const char *p = secret; *p != '\0'; p++)
		if (*p == '?' || (unsigned char)*p < 0x20 || *p == 0x7f)
			fuzz_secret = NULL;
	h.out = (struct hook_stream){ .hook = &h, .fd = -1 };
	start = 1 + tlen;
	for (size_t i = start; i <= size; i++) {
		if (i == size || data[i] == 0xff) {
			hook_stream_feed(&h.out, (const char *)data + start, i - start);
			start = i + 1;
		}
	}
	/* EOF: the unfinished line is logged too. */
	if (h.out.len > 0 && !h.out.cutting)
		hook_log_line(&h.out, false);
	if (h.logged > HOOK_OUTPUT_MAX)
		fuzz_fail("more output logged than HOOK_OUTPUT_MAX", "");
	free(secret);
	fuzz_secret = NULL;
	return 0;
}
