/* SPDX-License-Identifier: MIT */
/*
 * The state file and its JSON codec (snapshot.c): round trip, permissions,
 * the version 1 format, stale temp files, and everything that must be refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "snapshot.h"
#include "statefile.h"

#define URL "https://demo.tradovateapi.com/v1"
#define T0 ((usec_t)1800000000 * USEC_PER_SEC)
#define V1_HEAD "{\"version\":1,\"baseURL\":\"" URL "\",\"account\":\"demo\""
#define V2_HEAD "{\"version\":2,\"baseURL\":\"" URL "\",\"account\":\"demo\",\"generation\":1"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/tvtokend-statefile.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/token.json", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *de;
	DIR *d = opendir(f->dir);
	char p[512];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static unsigned count_files(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	unsigned n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A snapshot holding (borrowed) token t and generation gen, nothing else. */
static struct lc_snapshot token_snapshot(const struct token *t, uint64_t gen)
{
	struct lc_snapshot s;

	memset(&s, 0, sizeof(s));
	s.generation = gen;
	if (t)
		s.token = *t;
	return s;
}

static void test_round_trip_keeps_every_field(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot in, out;

	memset(&in, 0, sizeof(in));
	in.taken_at = T0;
	in.generation = 17;
	in.token = (struct token){
		.access_token = "tok-a", .md_access_token = "md-a", .expiration = 1800000000123456ull,
		.user_id = 4242, .has_user_id = true, .name = "demo", .generation = 16,
	};
	in.renewals = (struct lc_window){ .t = { T0 - 5, T0 - 3, T0 - 1 }, .n = 3 };
	in.failed = (struct lc_window){ .t = { T0 - 7 }, .n = 1 };
	in.hold = LC_HOLD_PENALTY;
	in.hold_until = T0 + 2500000;
	in.hold_for = LC_SEND_REQUEST;
	in.p_ticket = "0123456789abcdef";
	in.credentials_rejected = true;
	in.credentials_changed_at = T0 - 9;

	assert_int_equal(statefile_write(f->path, URL, "demo", &in), 0);
	assert_int_equal(statefile_read(f->path, URL, "demo", &out), 0);
	assert_true(out.taken_at == T0);
	assert_int_equal(out.generation, 17);
	assert_string_equal(out.token.access_token, "tok-a");
	assert_string_equal(out.token.md_access_token, "md-a");
	assert_true(out.token.expiration == in.token.expiration);
	assert_true(out.token.has_user_id);
	assert_int_equal(out.token.user_id, 4242);
	assert_string_equal(out.token.name, "demo");
	assert_int_equal(out.token.generation, 16);
	assert_int_equal(out.renewals.n, 3);
	assert_true(out.renewals.t[0] == T0 - 5 && out.renewals.t[2] == T0 - 1);
	assert_int_equal(out.failed.n, 1);
	assert_true(out.failed.t[0] == T0 - 7);
	assert_int_equal(out.hold, LC_HOLD_PENALTY);
	assert_true(out.hold_until == T0 + 2500000);
	assert_int_equal(out.hold_for, LC_SEND_REQUEST);
	assert_string_equal(out.p_ticket, "0123456789abcdef");
	assert_true(out.credentials_rejected);
	assert_true(out.credentials_changed_at == T0 - 9);
	lc_snapshot_clear(&out);
}

static void test_file_is_private_and_no_temp_file_is_left(void **state)
{
	struct fixture *f = *state;
	struct token t = { .access_token = "tok-b", .expiration = 1800000000000000ull };
	struct lc_snapshot in = token_snapshot(&t, 1);
	struct stat st;

	umask(022);
	assert_int_equal(statefile_write(f->path, URL, "demo", &in), 0);
	in.generation = 2;
	assert_int_equal(statefile_write(f->path, URL, "demo", &in), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_files(f->dir), 1);
}

static void test_generation_alone_is_kept_without_a_token(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot in = token_snapshot(NULL, 5), out;

	assert_int_equal(statefile_write(f->path, URL, "demo", &in), 0);
	assert_int_equal(statefile_read(f->path, URL, "demo", &out), 0);
	assert_null(out.token.access_token);
	assert_int_equal(out.generation, 5);
	lc_snapshot_clear(&out);
}

static void test_version_1_files_are_still_read(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot out;

	/* Exactly what the first release wrote. */
	write_text(f->path, V1_HEAD ",\"generation\":7,\"accessToken\":\"tok-7\",\"mdAccessToken\":\"md-7\","
		   "\"expirationUsec\":1800000000000000,\"expirationTime\":\"2027-01-15T08:00:00Z\","
		   "\"userId\":4242,\"name\":\"demo\"}");
	assert_int_equal(statefile_read(f->path, URL, "demo", &out), 0);
	assert_int_equal(out.generation, 7);
	assert_int_equal(out.token.generation, 7);
	assert_string_equal(out.token.access_token, "tok-7");
	assert_string_equal(out.token.md_access_token, "md-7");
	assert_true(out.token.expiration == 1800000000000000ull);
	assert_int_equal(out.renewals.n, 0);
	assert_int_equal(out.hold, LC_HOLD_NONE);
	assert_false(out.credentials_rejected);
	lc_snapshot_clear(&out);
}

static void test_missing_file_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot out;

	assert_int_equal(statefile_read(f->path, URL, "demo", &out), -ENOENT);
}

static void test_another_account_keeps_what_is_not_the_accounts(void **state)
{
	struct fixture *f = *state;
	struct token t = { .access_token = "tok-c", .expiration = 1800000000000000ull };
	struct lc_snapshot in = token_snapshot(&t, 3), out;

	in.renewals = (struct lc_window){ .t = { 1700000000000000ull }, .n = 1 };
	in.failed = (struct lc_window){ .t = { 1700000001000000ull, 1700000002000000ull }, .n = 2 };
	in.hold = LC_HOLD_RATE_LIMITED;
	in.hold_until = 1800000000000000ull;
	in.hold_for = LC_SEND_REQUEST;
	in.credentials_rejected = true;
	in.credentials_changed_at = 1700000003000000ull;
	assert_int_equal(statefile_write(f->path, URL, "demo", &in), 0);
	assert_int_equal(statefile_read(f->path, URL, "someone-else", &out), SNAPSHOT_OTHER_ACCOUNT);
	assert_null(out.token.access_token);
	assert_null(out.p_ticket);
	assert_false(out.credentials_rejected);
	assert_int_equal(out.generation, 3);
	assert_int_equal(out.renewals.n, 1);
	assert_int_equal(out.failed.n, 2);
	assert_int_equal(out.hold, LC_HOLD_RATE_LIMITED);
	assert_int_equal(out.hold_until, 1800000000000000ull);
	lc_snapshot_clear(&out);
	assert_int_equal(statefile_read(f->path, "https://live.tradovateapi.com/v1", "demo", &out),
			 SNAPSHOT_OTHER_ACCOUNT);
	assert_null(out.token.access_token);
	lc_snapshot_clear(&out);
}

static void test_corrupt_files_are_ebadmsg(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"{\"version\":1}",
		"{\"version\":3,\"baseURL\":\"" URL "\",\"account\":\"demo\",\"generation\":1}",
		V1_HEAD ",\"generation\":-1}",
		V1_HEAD ",\"generation\":1,\"accessToken\":\"t\"}",
		V1_HEAD ",\"generation\":1,\"accessToken\":\"\",\"expirationUsec\":5}",
		V1_HEAD ",\"generation\":\"1\"}",
		V1_HEAD ",\"generation\":1} trailing",
		V1_HEAD ",\"generation\":1,\"accessToken\":\"a b\",\"expirationUsec\":5}",
		V1_HEAD ",\"generation\":1,\"accessToken\":\"ab\\r\\nX-Evil: 1\",\"expirationUsec\":5}",
		V1_HEAD ",\"generation\":1,\"accessToken\":\"ab\\u0000cd\",\"expirationUsec\":5}",
		V1_HEAD ",\"generation\":1,\"accessToken\":\"ok\",\"mdAccessToken\":\"no good\",\"expirationUsec\":5}",
		V1_HEAD ",\"generation\":1,\"accessToken\":\"ok\",\"name\":\"a\\u0007b\",\"expirationUsec\":5}",
		V1_HEAD ",\"generation\":1,\"accessToken\":\"ok\",\"name\":\"a\xff" "b\",\"expirationUsec\":5}",
		V2_HEAD ",\"surprise\":1}",
		V2_HEAD ",\"renewalsSentUsec\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}",
		V2_HEAD ",\"renewalsSentUsec\":[0]}",
		V2_HEAD ",\"failedRequestsUsec\":[1.5]}",
		V2_HEAD ",\"failedRequestsUsec\":{}}",
		V2_HEAD ",\"hold\":{\"kind\":\"nap\",\"untilUsec\":5,\"resend\":\"request\"}}",
		V2_HEAD ",\"hold\":{\"kind\":\"penalty\",\"untilUsec\":5,\"resend\":\"both\"}}",
		V2_HEAD ",\"hold\":{\"kind\":\"penalty\",\"untilUsec\":0,\"resend\":\"request\"}}",
		V2_HEAD ",\"hold\":{\"kind\":\"penalty\",\"untilUsec\":5,\"resend\":\"request\",\"x\":1}}",
		V2_HEAD ",\"pTicket\":\"has space\"}",
		V2_HEAD ",\"credentialsRejected\":true}",
		V2_HEAD ",\"credentialsRejected\":1,\"credentialsChangedUsec\":5}",
		V2_HEAD ",\"accessToken\":\"tok\",\"expirationUsec\":5,\"tokenGeneration\":2}",
		V2_HEAD ",\"takenAtUsec\":99999999999999999999}",
		"{\"version\":2,\"baseURL\":\"" URL "\",\"account\":\"demo\",\"generation\":1,\"hold\":"
		"{\"kind\":{\"a\":{\"b\":{\"c\":1}}},\"untilUsec\":5,\"resend\":\"request\"}}",
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lc_snapshot out;

		memset(&out, 0x5a, sizeof(out));
		write_text(f->path, bad[i]);
		if (statefile_read(f->path, URL, "demo", &out) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		/* Untouched on failure. */
		assert_true(out.token.access_token == (char *)0x5a5a5a5a5a5a5a5aull);
	}
}

static void test_a_token_over_8_kib_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot out;
	char *text = malloc(9000), *tok = malloc(8194);

	assert_non_null(text);
	assert_non_null(tok);
	memset(tok, 'a', 8193);
	tok[8193] = '\0';
	snprintf(text, 9000, V1_HEAD ",\"generation\":1,\"accessToken\":\"%s\",\"expirationUsec\":5}", tok);
	write_text(f->path, text);
	assert_int_equal(statefile_read(f->path, URL, "demo", &out), -EBADMSG);
	tok[8192] = '\0';
	snprintf(text, 9000, V1_HEAD ",\"generation\":1,\"accessToken\":\"%s\",\"expirationUsec\":5}", tok);
	write_text(f->path, text);
	assert_int_equal(statefile_read(f->path, URL, "demo", &out), 0);
	lc_snapshot_clear(&out);
	free(text);
	free(tok);
}

static void test_oversized_file_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot out;
	char *big = malloc(70000);

	assert_non_null(big);
	memset(big, ' ', 69999);
	big[69999] = '\0';
	write_text(f->path, big);
	free(big);
	assert_int_equal(statefile_read(f->path, URL, "demo", &out), -EBADMSG);
}

static void test_write_into_missing_directory_fails_cleanly(void **state)
{
	struct fixture *f = *state;
	char path[200];
	struct token t = { .access_token = "tok-d", .expiration = 1800000000000000ull };
	struct lc_snapshot in = token_snapshot(&t, 1);

	snprintf(path, sizeof(path), "%s/nonexistent/token.json", f->dir);
	assert_int_equal(statefile_write(path, URL, "demo", &in), -ENOENT);
}

static void test_stale_temp_files_are_removed_and_nothing_else(void **state)
{
	struct fixture *f = *state;
	static const char *const stale[] = { "token.json.Ab3xZ9", "token.json.000000", "token.json.empty0" };
	static const char *const kept[] = {
		"token.json", "token.json.bak", "token.json.Ab3xZ9x", "token.json.Ab3-Z9", "other.json.Ab3xZ9",
		"token.json.backup",    /* the right name, but not JSON: not ours */
	};
	char p[256], target[256];
	size_t i;

	for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, stale[i]);
		write_text(p, i == 2 ? "" : "{\"accessToken\":\"tok-left-behind\"");
	}
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, kept[i]);
		write_text(p, "keep");
	}
	/* A link that looks like a temp file is not followed, nor removed. */
	snprintf(target, sizeof(target), "%s/target", f->dir);
	write_text(target, "keep");
	snprintf(p, sizeof(p), "%s/token.json.LiNk00", f->dir);
	assert_int_equal(symlink(target, p), 0);

	assert_int_equal(statefile_remove_stale(f->path), 3);
	for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, stale[i]);
		assert_int_equal(access(p, F_OK), -1);
	}
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, kept[i]);
		assert_int_equal(access(p, F_OK), 0);
	}
	assert_int_equal(access(target, F_OK), 0);
	assert_int_equal(statefile_remove_stale(f->path), 0);
}

static void test_stale_temp_files_in_a_missing_directory_are_none(void **state)
{
	struct fixture *f = *state;
	char path[200];

	snprintf(path, sizeof(path), "%s/nonexistent/token.json", f->dir);
	assert_int_equal(statefile_remove_stale(path), 0);
}

static void test_encoded_text_is_valid_json_and_decodes_alike(void **state)
{
	struct token t = { .access_token = "AT/+._~-x==", .expiration = T0 + USEC_PER_HOUR, .generation = 4 };
	struct lc_snapshot in = token_snapshot(&t, 4), out;
	char *text;
	size_t len;

	in.failed = (struct lc_window){ .t = { T0 }, .n = 1 };
	assert_int_equal(snapshot_encode(&in, URL, "demo", &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_int_equal(snapshot_decode(text, len, URL, "demo", &out), 0);
	assert_string_equal(out.token.access_token, "AT/+._~-x==");
	assert_int_equal(out.failed.n, 1);
	/* The same text again: the same result (a cluster decodes each proclamation). */
	lc_snapshot_clear(&out);
	assert_int_equal(snapshot_decode(text, len, URL, "demo", &out), 0);
	assert_int_equal(out.generation, 4);
	lc_snapshot_clear(&out);
	assert_int_equal(snapshot_decode(text, len, URL, "other", &out), SNAPSHOT_OTHER_ACCOUNT);
	assert_null(out.token.access_token);
	assert_int_equal(out.failed.n, 1);
	snapshot_text_free(text, len);
	lc_snapshot_clear(&out);
}

static void test_leader_view_travels_with_the_snapshot_and_is_checked(void **state)
{
	struct token t = { .access_token = "AT", .expiration = T0 + USEC_PER_HOUR, .generation = 2 };
	struct lc_snapshot in = token_snapshot(&t, 2), out;
	const char *bad[] = {
		"\"leaderView\":{\"state\":\"sleeping\",\"retryAtUsec\":0,\"nextRenewalUsec\":0}",
		"\"leaderView\":{\"state\":\"valid\",\"retryAtUsec\":-1,\"nextRenewalUsec\":0}",
		"\"leaderView\":{\"state\":\"valid\",\"retryAtUsec\":0,\"nextRenewalUsec\":0,\"x\":1}",
		"\"leaderView\":{\"state\":\"valid\",\"retryAtUsec\":0}",
		"\"leaderView\":[]",
	};
	char *text, *doc;
	size_t len;

	in.view = (struct lc_view){ .present = true, .state = LC_BACKOFF, .retry_at = T0 + 5,
				    .next_renewal = T0 + 6, .last_error = "renewal: HTTP 503" };
	assert_int_equal(snapshot_encode(&in, URL, "demo", &text, &len), 0);
	assert_int_equal(snapshot_decode(text, len, URL, "demo", &out), 0);
	assert_true(out.view.present);
	assert_int_equal(out.view.state, LC_BACKOFF);
	assert_int_equal(out.view.retry_at, T0 + 5);
	assert_int_equal(out.view.next_renewal, T0 + 6);
	assert_string_equal(out.view.last_error, "renewal: HTTP 503");
	lc_snapshot_clear(&out);
	snapshot_text_free(text, len);
	/* Without a view (a state file's snapshot): none comes back. */
	in.view.present = false;
	assert_int_equal(snapshot_encode(&in, URL, "demo", &text, &len), 0);
	assert_null(strstr(text, "leaderView"));
	assert_int_equal(snapshot_decode(text, len, URL, "demo", &out), 0);
	assert_false(out.view.present);
	lc_snapshot_clear(&out);
	/* Malformed views are refused whole. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(asprintf(&doc, "%.*s,%s}", (int)(len - 1), text, bad[i]) > 0);
		assert_int_equal(snapshot_decode(doc, strlen(doc), URL, "demo", &out), -EBADMSG);
		free(doc);
	}
	snapshot_text_free(text, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_round_trip_keeps_every_field),
		T(test_file_is_private_and_no_temp_file_is_left),
		T(test_generation_alone_is_kept_without_a_token),
		T(test_version_1_files_are_still_read),
		T(test_missing_file_is_enoent),
		T(test_another_account_keeps_what_is_not_the_accounts),
		T(test_corrupt_files_are_ebadmsg),
		T(test_a_token_over_8_kib_is_refused),
		T(test_oversized_file_is_refused),
		T(test_write_into_missing_directory_fails_cleanly),
		T(test_stale_temp_files_are_removed_and_nothing_else),
		T(test_stale_temp_files_in_a_missing_directory_are_none),
		T(test_encoded_text_is_valid_json_and_decodes_alike),
		T(test_leader_view_travels_with_the_snapshot_and_is_checked),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
