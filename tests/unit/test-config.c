/* SPDX-License-Identifier: MIT */
/*
 * The config module as a specification: the file syntax of CONTRACT §3/§7,
 * every key good and bad, drop-ins, defaults, and the secret files.
 * Every test works in its own mkdtemp() directory, removed afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <systemd/sd-id128.h>

#include "config.h"

#define PASSWORD "hunter2 with spaces"
#define SECRET "s3cr3t-#;="
/* The base config below is this many lines; text added by a test starts on the next. */
#define BASE_LINES 6

struct t {
	char dir[32];
	char conf[64];
	char password[64];
	char secret[64];
	char creds[64];
	struct config c;
	struct config_errors e;
};

/* Remove one entry while tearing a test directory down. */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Write exactly len bytes to path with the given mode. */
static void write_bytes(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Write a text file with mode 0600. */
static void write_text(const char *path, const char *text)
{
	write_bytes(path, text, strlen(text), 0600);
}

/* Fresh directory, secret files, no systemd environment. */
static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	strcpy(t->dir, "/tmp/test-config.XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->conf, sizeof(t->conf), "%s/tvtokend.conf", t->dir);
	snprintf(t->password, sizeof(t->password), "%s/password", t->dir);
	snprintf(t->secret, sizeof(t->secret), "%s/secret", t->dir);
	snprintf(t->creds, sizeof(t->creds), "%s/credentials", t->dir);
	write_text(t->password, PASSWORD "\n");
	write_text(t->secret, SECRET "\n");
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("RUNTIME_DIRECTORY");
	*state = t;
	return 0;
}

/* Free what the test loaded and remove its directory. */
static int teardown(void **state)
{
	struct t *t = *state;

	config_free(&t->c);
	config_errors_free(&t->e);
	nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("RUNTIME_DIRECTORY");
	free(t);
	return 0;
}

/* Write text as the whole main file and load it. */
static int load_raw(struct t *t, const char *text)
{
	config_free(&t->c);
	config_errors_free(&t->e);
	write_text(t->conf, text);
	return config_load(t->conf, &t->c, &t->e);
}

/* Load a valid base config ([Tradovate] with the required keys and secrets) plus extra lines. */
static int load(struct t *t, const char *extra)
{
	char *text;
	int r;

	assert_true(asprintf(&text,
	    "[Tradovate]\n"
	    "Name=alice\n"
	    "AppId=app\n"
	    "ClientId=42\n"
	    "PasswordFile=%s\n"
	    "SecretFile=%s\n"
	    "%s", t->password, t->secret, extra) > 0);
	r = load_raw(t, text);
	free(text);
	return r;
}

/* Write a drop-in next to the main file. */
static void write_dropin(struct t *t, const char *name, const char *text)
{
	char dir[128], path[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s.d", t->conf);
	assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/%.64s", dir, name);
	write_text(path, text);
}

/* Print every error, to explain a failure. */
static void dump_errors(const struct t *t)
{
	for (size_t i = 0; i < t->e.n; i++)
		print_message("  error %zu: %s\n", i, t->e.msg[i]);
}

/* Assert that the list holds exactly this message. */
static void __attribute__((format(printf, 2, 3)))
assert_error(struct t *t, const char *fmt, ...)
{
	char want[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < t->e.n; i++)
		if (strcmp(t->e.msg[i], want) == 0)
			return;
	dump_errors(t);
	fail_msg("missing error: %s", want);
}

/* Assert that loading failed with exactly one error, this one. */
static void __attribute__((format(printf, 3, 4)))
assert_only_error(struct t *t, int r, const char *fmt, ...)
{
	char want[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (r != -EINVAL || t->e.n != 1 || strcmp(t->e.msg[0], want) != 0) {
		dump_errors(t);
		fail_msg("load returned %d, wanted -EINVAL and only: %s", r, want);
	}
}

/* Assert that loading worked, printing the errors if not. */
static void assert_loaded(struct t *t, int r)
{
	if (r != 0 || t->e.n != 0) {
		dump_errors(t);
		fail_msg("load returned %d", r);
	}
}

/* ---- time spans ---- */

static void timespan_accepts_every_documented_form(void **state)
{
	static const struct {
		const char *s;
		usec_t want;
	} cases[] = {
		{ "90", 90 * USEC_PER_SEC },
		{ "90s", 90 * USEC_PER_SEC },
		{ "500ms", 500 * USEC_PER_MSEC },
		{ "15min", 15 * USEC_PER_MIN },
		{ "1h", USEC_PER_HOUR },
		{ "1h 30min", 90 * USEC_PER_MIN },
		{ "1h30min", 90 * USEC_PER_MIN },
		{ "1.5s", 1500 * USEC_PER_MSEC },
		{ "1.5", 1500 * USEC_PER_MSEC },
		{ ".5s", 500 * USEC_PER_MSEC },
		{ "2d", 48 * USEC_PER_HOUR },
		{ "1w", 7 * 24 * USEC_PER_HOUR },
		{ "1M", 2629800 * USEC_PER_SEC },
		{ "2months", 2 * 2629800 * USEC_PER_SEC },
		{ "1y", 31557600 * USEC_PER_SEC },
		{ "1 year", 31557600 * USEC_PER_SEC },
		{ "250us", 250 },
		{ "3m", 3 * USEC_PER_MIN },
		{ "2hr", 2 * USEC_PER_HOUR },
		{ "10sec", 10 * USEC_PER_SEC },
		{ "5 min", 5 * USEC_PER_MIN },
		{ "  5min\t", 5 * USEC_PER_MIN },
		{ "1h\t\t2s", USEC_PER_HOUR + 2 * USEC_PER_SEC },
		{ "2 hours 1 minute", 2 * USEC_PER_HOUR + USEC_PER_MIN },
		{ "1d 2h 3min 4s 5ms 6us",
		    24 * USEC_PER_HOUR + 2 * USEC_PER_HOUR + 3 * USEC_PER_MIN +
		    4 * USEC_PER_SEC + 5 * USEC_PER_MSEC + 6 },
		{ "1h 30", USEC_PER_HOUR + 30 * USEC_PER_SEC },
		{ "0.25h", 15 * USEC_PER_MIN },
		{ "1.0000019s", 1000001 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		usec_t v = 0;
		int r = config_parse_timespan(cases[i].s, &v);

		if (r != 0 || v != cases[i].want)
			fail_msg("\"%s\": got %d / %llu, want %llu", cases[i].s, r,
			    (unsigned long long)v, (unsigned long long)cases[i].want);
	}
}

static void timespan_rejects_malformed_text(void **state)
{
	static const char *const cases[] = {
		"", "   ", "abc", "5 parsecs", "5x", "5 sx", "-5s", "+5s", "1.5.5s", "s",
		"5s,", "1e3", ".", "5 s s", "infinity", "1h-30min", "5,5s", "0x10", "5 MIN",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		usec_t v = 0;
		int r = config_parse_timespan(cases[i], &v);

		if (r != -EINVAL)
			fail_msg("\"%s\": got %d, want -EINVAL", cases[i], r);
	}
}

static void timespan_rejects_zero(void **state)
{
	static const char *const cases[] = { "0", "0s", "0ms 0us", "0.0000001s", "0.1us" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		usec_t v = 0;
		int r = config_parse_timespan(cases[i], &v);

		if (r != -ERANGE)
			fail_msg("\"%s\": got %d, want -ERANGE", cases[i], r);
	}
}

static void timespan_rejects_overflow(void **state)
{
	static const char *const cases[] = {
		"18446744073709551616", "99999999999999999999999s", "40000000w",
		"18446744073709551615us", "30000000w 30000000w", "18446744073709551615.5us",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		usec_t v = 0;
		int r = config_parse_timespan(cases[i], &v);

		if (r != -ERANGE)
			fail_msg("\"%s\": got %d, want -ERANGE", cases[i], r);
	}
}

static void timespan_leaves_output_untouched_on_failure(void **state)
{
	usec_t v = 12345;

	assert_int_equal(config_parse_timespan("abc", &v), -EINVAL);
	assert_int_equal(config_parse_timespan("0", &v), -ERANGE);
	assert_int_equal(v, 12345);
}

/* ---- the file as a whole ---- */

static void minimal_config_gets_the_contract_defaults(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, ""));
	assert_string_equal(t->c.path, t->conf);
	assert_string_equal(t->c.base_url, "https://demo.tradovateapi.com/v1");
	assert_string_equal(t->c.name, "alice");
	assert_string_equal(t->c.app_id, "app");
	assert_int_equal(t->c.client_id, 42);
	assert_string_equal(t->c.app_version, "1.0");
	assert_non_null(t->c.device_id);
	assert_null(t->c.ca_file);
	assert_int_equal(t->c.request_timeout, 10 * USEC_PER_SEC);
	assert_int_equal(t->c.renew_before, 15 * USEC_PER_MIN);
	assert_int_equal(t->c.retry_min, USEC_PER_SEC);
	assert_int_equal(t->c.retry_max, 5 * USEC_PER_MIN);
	assert_int_equal(t->c.lockout, USEC_PER_HOUR);
	assert_int_equal(t->c.max_renewals_per_hour, 12);
	assert_int_equal(t->c.max_failed_requests_per_hour, 4);
	assert_null(t->c.state_file);
	assert_string_equal(t->c.socket, "/run/tvtokend/io.tvtokend.Broker");
	assert_int_equal(t->c.socket_mode, 0660);
	assert_false(t->c.has_socket_group);
	assert_int_equal(t->c.n_allow_users, 0);
	assert_int_equal(t->c.n_allow_groups, 0);
	assert_int_equal(t->c.max_clients, 4096);
}

static void null_path_means_the_default_path(void **state)
{
	struct config c = { 0 };
	struct config_errors e = { 0 };
	int r;

	/* Whatever /etc holds here, the errors and the path name the default file. */
	r = config_load(NULL, &c, &e);
	if (r == 0) {
		assert_string_equal(c.path, CONFIG_DEFAULT_PATH);
		config_free(&c);
	} else {
		assert_true(e.n > 0);
		assert_memory_equal(e.msg[0], CONFIG_DEFAULT_PATH, strlen(CONFIG_DEFAULT_PATH));
	}
	config_errors_free(&e);
}

static void missing_main_file_is_an_error(void **state)
{
	struct t *t = *state;
	int r = config_load(t->conf, &t->c, &t->e);

	assert_only_error(t, r, "%s: cannot open: No such file or directory", t->conf);
}

static void main_file_that_is_a_directory_is_an_error(void **state)
{
	struct t *t = *state;
	int r;

	assert_int_equal(mkdir(t->conf, 0755), 0);
	r = config_load(t->conf, &t->c, &t->e);
	assert_only_error(t, r, "%s: not a regular file", t->conf);
}

static void missing_dropin_directory_is_fine(void **state)
{
	struct t *t = *state;
	char dir[PATH_MAX];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s.d", t->conf);
	assert_int_equal(stat(dir, &st), -1);
	assert_loaded(t, load(t, ""));
}

static void dropins_are_read_in_lexical_order_after_the_main_file(void **state)
{
	struct t *t = *state;

	write_dropin(t, "10-a.conf", "[Tradovate]\nAppVersion=a\n");
	write_dropin(t, "9-c.conf", "[Tradovate]\nAppVersion=c\n");
	write_dropin(t, "20-b.conf", "[Tradovate]\nAppVersion=b\n");
	assert_loaded(t, load(t, "AppVersion=main\n"));
	assert_string_equal(t->c.app_version, "c");
}

static void dropin_overrides_one_key_and_keeps_the_rest(void **state)
{
	struct t *t = *state;

	write_dropin(t, "override.conf", "[Token]\nLockoutSec=2h\n");
	assert_loaded(t, load(t, "[Token]\nLockoutSec=3h\nRenewBeforeSec=10min\n"));
	assert_int_equal(t->c.lockout, 2 * USEC_PER_HOUR);
	assert_int_equal(t->c.renew_before, 10 * USEC_PER_MIN);
	assert_string_equal(t->c.name, "alice");
}

static void dropin_files_not_ending_in_conf_are_ignored(void **state)
{
	struct t *t = *state;

	write_dropin(t, "x.conf.bak", "[Tradovate]\nAppVersion=bak\n");
	write_dropin(t, "README", "not a config file\n");
	write_dropin(t, ".hidden.conf", "[Tradovate]\nAppVersion=hidden\n");
	write_dropin(t, "conf", "[Tradovate]\nAppVersion=bare\n");
	assert_loaded(t, load(t, ""));
	assert_string_equal(t->c.app_version, "1.0");
}

static void dropin_errors_name_the_dropin_file_and_line(void **state)
{
	struct t *t = *state;
	int r;

	write_dropin(t, "50-bad.conf", "# a comment\n[Token]\nLockoutSec=soon\n");
	r = load(t, "");
	assert_only_error(t, r, "%s.d/50-bad.conf:3: LockoutSec: invalid time span \"soon\"",
	    t->conf);
}

static void dropin_may_supply_required_keys(void **state)
{
	struct t *t = *state;
	char *text;

	assert_true(asprintf(&text, "[Tradovate]\nPasswordFile=%s\nSecretFile=%s\n",
	    t->password, t->secret) > 0);
	write_dropin(t, "account.conf", "[Tradovate]\nName=bob\nAppId=x\nClientId=7\n");
	assert_loaded(t, load_raw(t, text));
	free(text);
	assert_string_equal(t->c.name, "bob");
	assert_int_equal(t->c.client_id, 7);
}

static void dropin_may_fill_a_required_key_left_empty(void **state)
{
	struct t *t = *state;
	char *text;

	assert_true(asprintf(&text, "[Tradovate]\nName=\nAppId=x\nClientId=7\nPasswordFile=%s\nSecretFile=%s\n",
	    t->password, t->secret) > 0);
	write_dropin(t, "account.conf", "[Tradovate]\nName=bob\n");
	assert_loaded(t, load_raw(t, text));
	free(text);
	assert_string_equal(t->c.name, "bob");
}

static void dropin_emptying_a_required_key_is_an_error_at_its_line(void **state)
{
	struct t *t = *state;
	int r;

	write_dropin(t, "blank.conf", "[Tradovate]\n\nName=\n");
	r = load(t, "");
	assert_only_error(t, r, "%s.d/blank.conf:3: Name: required key has an empty value", t->conf);
}

static void later_assignment_in_the_same_file_wins(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Token]\nLockoutSec=2h\nLockoutSec=3h\n"));
	assert_int_equal(t->c.lockout, 3 * USEC_PER_HOUR);
}

static void unknown_key_is_an_error_with_file_and_line(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\nFoo=1\n");

	assert_only_error(t, r, "%s:%d: Foo: unknown key in [Token]", t->conf, BASE_LINES + 2);
}

static void key_in_the_wrong_section_is_unknown(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Server]\nRenewBeforeSec=1min\n");

	assert_only_error(t, r, "%s:%d: RenewBeforeSec: unknown key in [Server]", t->conf,
	    BASE_LINES + 2);
}

static void keys_are_case_sensitive(void **state)
{
	struct t *t = *state;
	int r = load(t, "appversion=2\n");

	assert_only_error(t, r, "%s:%d: appversion: unknown key in [Tradovate]", t->conf,
	    BASE_LINES + 1);
}

static void unknown_section_is_an_error_with_file_and_line(void **state)
{
	struct t *t = *state;
	int r = load(t, "\n[Foo]\nBar=1\nBaz=2\n");

	/* One error for the section; its keys are not reported one by one. */
	assert_only_error(t, r,
	    "%s:%d: unknown section [Foo]; expected [Tradovate], [Token], [Server], [Sink] or "
	    "[Cluster]",
	    t->conf, BASE_LINES + 2);
}

static void sections_are_case_sensitive(void **state)
{
	struct t *t = *state;
	int r = load(t, "[token]\n");

	assert_only_error(t, r,
	    "%s:%d: unknown section [token]; expected [Tradovate], [Token], [Server], [Sink] or "
	    "[Cluster]",
	    t->conf, BASE_LINES + 1);
}

static void keys_after_an_unknown_section_count_again_in_a_known_one(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Foo]\nBar=1\n[Token]\nLockoutSec=7min\nFoo=2\n");

	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 2);
	assert_error(t, "%s:%d: Foo: unknown key in [Token]", t->conf, BASE_LINES + 5);
}

static void malformed_section_header_is_an_error(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token\n");

	assert_only_error(t, r, "%s:%d: malformed section header \"[Token\"", t->conf,
	    BASE_LINES + 1);
}

static void assignment_outside_a_section_is_an_error(void **state)
{
	struct t *t = *state;
	int r = load_raw(t, "# leading comment\nName=alice\n");

	assert_int_equal(r, -EINVAL);
	assert_error(t, "%s:2: Name: assignment outside of a section; put it under "
	    "[Tradovate], [Token], [Server], [Sink] or [Cluster]", t->conf);
}

static void line_without_equals_is_an_error(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\nRenewBeforeSec 5min\n");

	assert_only_error(t, r, "%s:%d: expected Key=value, a [Section] or a comment", t->conf,
	    BASE_LINES + 2);
}

static void colon_is_not_a_separator(void **state)
{
	struct t *t = *state;
	int r = load(t, "AppVersion: 2\n");

	assert_only_error(t, r, "%s:%d: expected Key=value, a [Section] or a comment", t->conf,
	    BASE_LINES + 1);
}

static void empty_key_name_is_an_error(void **state)
{
	struct t *t = *state;
	int r = load(t, " =value\n");

	assert_only_error(t, r, "%s:%d: missing key name before '='", t->conf, BASE_LINES + 1);
}

static void every_error_is_reported_in_file_order(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\nRenewBeforeSec=abc\nLockoutSec=0\n[Server]\nMaxClients=0\n");

	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 3);
	assert_non_null(strstr(t->e.msg[0], ": RenewBeforeSec: "));
	assert_non_null(strstr(t->e.msg[1], ": LockoutSec: "));
	assert_non_null(strstr(t->e.msg[2], ": MaxClients: "));
}

static void errors_are_capped_at_config_max_errors(void **state)
{
	struct t *t = *state;
	char extra[100 * 16] = "[Token]\n", last[PATH_MAX + 64];
	int r;

	for (int i = 0; i < 100; i++)
		strcat(extra, "Bogus=1\n");
	r = load(t, extra);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, CONFIG_MAX_ERRORS);
	assert_error(t, "%s:%d: Bogus: unknown key in [Token]", t->conf, BASE_LINES + 2);
	snprintf(last, sizeof(last), "%s: too many errors, the rest are not shown", t->conf);
	assert_string_equal(t->e.msg[CONFIG_MAX_ERRORS - 1], last);
}

static void hash_and_semicolon_inside_a_value_are_part_of_it(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "AppVersion=1.0 # not a comment ; nor this\n"));
	assert_string_equal(t->c.app_version, "1.0 # not a comment ; nor this");
}

static void whole_line_comments_are_ignored(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "# AppVersion=hash\n; AppVersion=semicolon\n"
	    "   # AppVersion=indented\n\t; Bogus\n#[Nope]\n\n   \n"));
	assert_string_equal(t->c.app_version, "1.0");
}

static void blanks_around_key_and_value_are_trimmed(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "  AppVersion \t=   2.0 beta \t \n"));
	assert_string_equal(t->c.app_version, "2.0 beta");
}

static void value_is_everything_after_the_first_equals(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "AppVersion=a=b==c\n"));
	assert_string_equal(t->c.app_version, "a=b==c");
}

static void quotes_are_not_special(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "AppVersion=\"2.0\"\n"));
	assert_string_equal(t->c.app_version, "\"2.0\"");
}

static void value_longer_than_200_bytes_is_read_whole(void **state)
{
	struct t *t = *state;
	char value[301], extra[400];

	memset(value, 'v', 300);
	value[300] = '\0';
	snprintf(extra, sizeof(extra), "AppVersion=%s\nDeviceId=after\n", value);
	assert_loaded(t, load(t, extra));
	assert_string_equal(t->c.app_version, value);
	assert_string_equal(t->c.device_id, "after");
}

static void equals_sign_past_200_bytes_still_separates(void **state)
{
	struct t *t = *state;
	char extra[400];

	snprintf(extra, sizeof(extra), "AppVersion%250s=late\n", "");
	assert_loaded(t, load(t, extra));
	assert_string_equal(t->c.app_version, "late");
}

static void indented_assignment_is_not_a_continuation(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "AppVersion=2.0\n    DeviceId=dev\n\tCAFile=/ca.pem\n"));
	assert_string_equal(t->c.app_version, "2.0");
	assert_string_equal(t->c.device_id, "dev");
	assert_string_equal(t->c.ca_file, "/ca.pem");
}

static void indented_text_without_equals_is_an_error_not_a_continuation(void **state)
{
	struct t *t = *state;
	int r = load(t, "AppVersion=2.0\n    more\n");

	assert_only_error(t, r, "%s:%d: expected Key=value, a [Section] or a comment", t->conf,
	    BASE_LINES + 2);
}

static void indented_section_header_is_a_section(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "  [Token]\nLockoutSec=5min\n"));
	assert_int_equal(t->c.lockout, 5 * USEC_PER_MIN);
}

static void crlf_line_ends_are_accepted(void **state)
{
	struct t *t = *state;
	char *text;

	assert_true(asprintf(&text,
	    "[Tradovate]\r\nName=alice\r\nAppId=app\r\nClientId=42\r\n"
	    "PasswordFile=%s\r\nSecretFile=%s\r\n\r\n# c\r\n[Token]\r\nLockoutSec=2h\r\n",
	    t->password, t->secret) > 0);
	assert_loaded(t, load_raw(t, text));
	free(text);
	assert_string_equal(t->c.name, "alice");
	assert_string_equal(t->c.password_file, t->password);
	assert_int_equal(t->c.lockout, 2 * USEC_PER_HOUR);
}

static void crlf_error_lines_are_counted_right(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\r\n\r\nLockoutSec=x\r\n");

	assert_only_error(t, r, "%s:%d: LockoutSec: invalid time span \"x\"", t->conf,
	    BASE_LINES + 3);
}

static void utf8_bom_at_the_start_is_skipped(void **state)
{
	struct t *t = *state;
	char *text;

	assert_true(asprintf(&text,
	    "\xef\xbb\xbf[Tradovate]\nName=alice\nAppId=app\nClientId=42\n"
	    "PasswordFile=%s\nSecretFile=%s\n", t->password, t->secret) > 0);
	assert_loaded(t, load_raw(t, text));
	free(text);
	assert_string_equal(t->c.name, "alice");
}

static void nul_byte_in_a_file_is_an_error(void **state)
{
	struct t *t = *state;
	static const char text[] = "[Tradovate]\nName=al\0ice\n";
	int r;

	write_bytes(t->conf, text, sizeof(text) - 1, 0600);
	r = config_load(t->conf, &t->c, &t->e);
	assert_only_error(t, r, "%s:2: contains a NUL byte", t->conf);
}

static void last_line_without_a_newline_is_read(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Token]\nLockoutSec=9min"));
	assert_int_equal(t->c.lockout, 9 * USEC_PER_MIN);
}

static void empty_file_reports_the_required_keys(void **state)
{
	struct t *t = *state;
	int r = load_raw(t, "");

	assert_int_equal(r, -EINVAL);
	assert_error(t, "%s: Name: required key is missing", t->conf);
}

/* ---- required keys and empty values ---- */

static void missing_required_keys_are_reported_with_file_and_key(void **state)
{
	struct t *t = *state;
	char *text;
	int r;

	assert_true(asprintf(&text, "[Tradovate]\nPasswordFile=%s\nSecretFile=%s\n",
	    t->password, t->secret) > 0);
	r = load_raw(t, text);
	free(text);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 3);
	assert_error(t, "%s: Name: required key is missing", t->conf);
	assert_error(t, "%s: AppId: required key is missing", t->conf);
	assert_error(t, "%s: ClientId: required key is missing", t->conf);
}

static void empty_required_key_is_an_error_with_line(void **state)
{
	struct t *t = *state;
	int r = load(t, "Name=\n");

	assert_only_error(t, r, "%s:%d: Name: required key has an empty value", t->conf,
	    BASE_LINES + 1);
}

static void empty_value_of_a_key_with_a_default_is_an_error(void **state)
{
	static const char *const cases[] = {
		"[Tradovate]\nBaseURL=\n", "[Tradovate]\nAppVersion=\n",
		"[Tradovate]\nRequestTimeoutSec=\n", "[Token]\nRenewBeforeSec=\n",
		"[Token]\nRetryMinSec=\n", "[Token]\nRetryMaxSec=\n", "[Token]\nLockoutSec=\n",
		"[Token]\nMaxRenewalsPerHour=\n", "[Token]\nMaxFailedRequestsPerHour=\n",
		"[Server]\nSocket=\n", "[Server]\nSocketMode=\n", "[Server]\nMaxClients=\n",
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[256];
		const char *key = strchr(cases[i], '\n') + 1;
		int r = load(t, cases[i]);

		snprintf(want, sizeof(want), "%s:%d: %.*s: empty value; leave the key out to get "
		    "its default", t->conf, BASE_LINES + 2, (int)strcspn(key, "="), key);
		if (r != -EINVAL || t->e.n != 1 || strcmp(t->e.msg[0], want) != 0) {
			dump_errors(t);
			fail_msg("%s: wanted only: %s", cases[i], want);
		}
	}
}

static void empty_value_means_none_for_optional_paths_and_lists(void **state)
{
	struct t *t = *state;

	setenv("RUNTIME_DIRECTORY", "/run/tvtokend", 1);
	assert_loaded(t, load(t, "CAFile=\nDeviceId=\n[Token]\nStateFile=\n"
	    "[Server]\nSocketGroup=\nAllowUsers=\nAllowGroups=\n"));
	assert_null(t->c.ca_file);
	assert_non_null(t->c.device_id);
	assert_null(t->c.state_file);
	assert_false(t->c.has_socket_group);
	assert_int_equal(t->c.n_allow_users, 0);
	assert_int_equal(t->c.n_allow_groups, 0);
}

static void empty_value_replaces_an_earlier_one(void **state)
{
	struct t *t = *state;

	write_dropin(t, "reset.conf", "[Tradovate]\nCAFile=\n[Server]\nAllowUsers=\n");
	assert_loaded(t, load(t, "CAFile=/etc/ssl/ca.pem\n[Server]\nAllowUsers=0\n"));
	assert_null(t->c.ca_file);
	assert_int_equal(t->c.n_allow_users, 0);
	assert_null(t->c.allow_users);
}

/* ---- [Tradovate] ---- */

static void base_url_demo_resolves_to_the_demo_server(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "BaseURL=demo\n"));
	assert_string_equal(t->c.base_url, "https://demo.tradovateapi.com/v1");
}

static void base_url_live_resolves_to_the_live_server(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "BaseURL=live\n"));
	assert_string_equal(t->c.base_url, "https://live.tradovateapi.com/v1");
}

static void base_url_accepts_an_https_url_ending_in_v1(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "BaseURL=https://api.example.com:8443/tradovate/v1\n"));
	assert_string_equal(t->c.base_url, "https://api.example.com:8443/tradovate/v1");
}

static void base_url_accepts_an_http_url_for_tests(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "BaseURL=http://127.0.0.1:8080/v1\n"));
	assert_string_equal(t->c.base_url, "http://127.0.0.1:8080/v1");
}

static void base_url_plain_http_to_loopback_hosts_is_accepted(void **state)
{
	static const char *const cases[] = {
		"http://127.0.0.1/v1", "http://127.1.2.3:9000/v1", "http://localhost/v1",
		"HTTP://LocalHost:8080/v1", "http://[::1]:8080/v1", "http://[0:0:0:0:0:0:0:1]/v1",
		"http://user@127.0.0.1/v1",
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char extra[128];

		snprintf(extra, sizeof(extra), "BaseURL=%s\n", cases[i]);
		assert_loaded(t, load(t, extra));
		config_free(&t->c);
	}
}

static void base_url_plain_http_elsewhere_is_rejected(void **state)
{
	static const char *const cases[] = {
		"http://example.com/v1", "http://10.0.0.1/v1", "http://128.0.0.1/v1",
		"http://127.0.0.1.example.com/v1", "http://127.0.0.1@example.com/v1",
		"http://localhost.example.com/v1", "http://[::2]/v1", "http://[::ffff:127.0.0.1]/v1",
		"http://127.1/v1", "http://0x7f000001/v1", "http://%31%32%37.0.0.1/v1",
		"http://[::1/v1",
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char extra[128];
		int r;

		snprintf(extra, sizeof(extra), "BaseURL=%s\n", cases[i]);
		r = load(t, extra);
		assert_only_error(t, r, "%s:%d: BaseURL: \"%s\": plain http:// is only for a loopback host "
		    "(127.0.0.0/8, [::1], localhost); anything else needs https://", t->conf, BASE_LINES + 1,
		    cases[i]);
	}
}

static void base_url_trailing_slash_is_removed(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "BaseURL=https://api.example.com/v1/\n"));
	assert_string_equal(t->c.base_url, "https://api.example.com/v1");
}

static void base_url_with_another_scheme_is_rejected(void **state)
{
	static const char *const cases[] = {
		"ftp://api.example.com/v1", "api.example.com/v1", "Demo", "LIVE", "https:/x/v1",
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char extra[128];
		int r;

		snprintf(extra, sizeof(extra), "BaseURL=%s\n", cases[i]);
		r = load(t, extra);
		assert_only_error(t, r, "%s:%d: BaseURL: \"%s\" is not demo, live, or an https:// "
		    "or http:// URL", t->conf, BASE_LINES + 1, cases[i]);
	}
}

static void base_url_not_ending_in_v1_is_rejected(void **state)
{
	static const char *const cases[] = {
		"https://api.example.com/v2", "https://api.example.com", "https://api.example.com/",
		"https://api.example.com/v1//", "https://api.example.com/v1/x", "https://v1",
		"https://api.example.com/xv1",
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char extra[128];
		int r;

		snprintf(extra, sizeof(extra), "BaseURL=%s\n", cases[i]);
		r = load(t, extra);
		assert_only_error(t, r, "%s:%d: BaseURL: \"%s\" does not end in /v1", t->conf,
		    BASE_LINES + 1, cases[i]);
	}
}

static void base_url_without_a_host_is_rejected(void **state)
{
	struct t *t = *state;
	int r = load(t, "BaseURL=https:///v1\n");

	assert_only_error(t, r, "%s:%d: BaseURL: \"https:///v1\" has no host", t->conf,
	    BASE_LINES + 1);
}

static void base_url_with_a_blank_is_rejected(void **state)
{
	struct t *t = *state;
	int r = load(t, "BaseURL=https://api example.com/v1\n");

	assert_only_error(t, r, "%s:%d: BaseURL: \"https://api example.com/v1\" contains blanks "
	    "or control characters", t->conf, BASE_LINES + 1);
}

static void name_and_app_id_are_taken_verbatim(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "Name=Alice Smith\nAppId=My App #1\n"));
	assert_string_equal(t->c.name, "Alice Smith");
	assert_string_equal(t->c.app_id, "My App #1");
}

static void client_id_accepts_its_whole_range(void **state)
{
	static const struct {
		const char *s;
		long want;
	} cases[] = { { "0", 0 }, { "2147483647", 2147483647L }, { "007", 7 }, { "123", 123 } };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char extra[64];

		snprintf(extra, sizeof(extra), "ClientId=%s\n", cases[i].s);
		assert_loaded(t, load(t, extra));
		assert_int_equal(t->c.client_id, cases[i].want);
	}
}

static void client_id_out_of_range_is_rejected(void **state)
{
	static const char *const cases[] = { "2147483648", "99999999999999999999999" };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char extra[64];
		int r;

		snprintf(extra, sizeof(extra), "ClientId=%s\n", cases[i]);
		r = load(t, extra);
		assert_only_error(t, r, "%s:%d: ClientId: \"%s\" is out of range 0-2147483647",
		    t->conf, BASE_LINES + 1, cases[i]);
	}
}

static void client_id_that_is_not_an_integer_is_rejected(void **state)
{
	static const char *const cases[] = { "-1", "+1", "12a", "1.5", "1 2", "0x10", "cid" };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char extra[64];
		int r;

		snprintf(extra, sizeof(extra), "ClientId=%s\n", cases[i]);
		r = load(t, extra);
		assert_only_error(t, r, "%s:%d: ClientId: invalid integer \"%s\"", t->conf,
		    BASE_LINES + 1, cases[i]);
	}
}

static void app_version_is_taken_from_the_config(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "AppVersion=3.14\n"));
	assert_string_equal(t->c.app_version, "3.14");
}

static void device_id_is_taken_from_the_config(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "DeviceId=my-device\n"));
	assert_string_equal(t->c.device_id, "my-device");
}

/* Whether s looks like 8-4-4-4-12 lower-case hex digits. */
static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static void device_id_default_is_a_stable_uuid_that_hides_the_machine_id(void **state)
{
	struct t *t = *state;
	char first[64], plain[SD_ID128_STRING_MAX], uuid[SD_ID128_UUID_STRING_MAX];
	sd_id128_t machine;

	if (sd_id128_get_machine(&machine) < 0)
		skip();
	assert_loaded(t, load(t, ""));
	assert_true(is_uuid(t->c.device_id));
	snprintf(first, sizeof(first), "%s", t->c.device_id);
	assert_loaded(t, load(t, "DeviceId=\n"));
	assert_string_equal(t->c.device_id, first);
	assert_string_not_equal(t->c.device_id, sd_id128_to_uuid_string(machine, uuid));
	assert_null(strstr(t->c.device_id, sd_id128_to_string(machine, plain)));
}

static void ca_file_is_taken_from_the_config(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "CAFile=/etc/ssl/my ca.pem\n"));
	assert_string_equal(t->c.ca_file, "/etc/ssl/my ca.pem");
}

static void relative_paths_are_rejected(void **state)
{
	static const char *const cases[] = {
		"[Tradovate]\nCAFile=ca.pem\n", "[Tradovate]\nPasswordFile=pw\n",
		"[Tradovate]\nSecretFile=./sec\n", "[Token]\nStateFile=token.json\n",
		"[Server]\nSocket=run/sock\n",
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *kv = strchr(cases[i], '\n') + 1;
		const char *v = strchr(kv, '=') + 1;
		int r = load(t, cases[i]);

		assert_only_error(t, r, "%s:%d: %.*s: \"%.*s\" is not an absolute path", t->conf,
		    BASE_LINES + 2, (int)strcspn(kv, "="), kv, (int)strcspn(v, "\n"), v);
	}
}

static void request_timeout_is_taken_from_the_config(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "RequestTimeoutSec=2.5s\n"));
	assert_int_equal(t->c.request_timeout, 2500 * USEC_PER_MSEC);
}

/* ---- [Token] ---- */

static void duration_keys_take_systemd_time_spans(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Token]\nRenewBeforeSec=20min\nRetryMinSec=500ms\n"
	    "RetryMaxSec=1h 30min\nLockoutSec=2h\n"));
	assert_int_equal(t->c.renew_before, 20 * USEC_PER_MIN);
	assert_int_equal(t->c.retry_min, 500 * USEC_PER_MSEC);
	assert_int_equal(t->c.retry_max, 90 * USEC_PER_MIN);
	assert_int_equal(t->c.lockout, 2 * USEC_PER_HOUR);
}

static void duration_key_rejects_an_invalid_span(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\nRenewBeforeSec=abc\n");

	assert_only_error(t, r, "%s:%d: RenewBeforeSec: invalid time span \"abc\"", t->conf,
	    BASE_LINES + 2);
}

static void duration_key_rejects_zero(void **state)
{
	struct t *t = *state;
	int r = load(t, "RequestTimeoutSec=0\n");

	assert_only_error(t, r, "%s:%d: RequestTimeoutSec: time span \"0\" must be greater than 0",
	    t->conf, BASE_LINES + 1);
}

static void duration_key_rejects_an_overflowing_span(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\nLockoutSec=99999999999999999999s\n");

	assert_only_error(t, r, "%s:%d: LockoutSec: time span \"99999999999999999999s\" is too large",
	    t->conf, BASE_LINES + 2);
}

static void duration_key_rejects_an_unknown_unit(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\nRetryMinSec=5 parsecs\n");

	assert_only_error(t, r, "%s:%d: RetryMinSec: invalid time span \"5 parsecs\"", t->conf,
	    BASE_LINES + 2);
}

static void retry_min_longer_than_retry_max_is_rejected(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\nRetryMinSec=10min\nRetryMaxSec=5min\n");

	assert_only_error(t, r, "%s:%d: RetryMinSec: must not be longer than RetryMaxSec",
	    t->conf, BASE_LINES + 2);
}

static void retry_max_below_the_default_retry_min_is_rejected(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\nRetryMaxSec=500ms\n");

	assert_only_error(t, r, "%s:%d: RetryMaxSec: must not be shorter than RetryMinSec",
	    t->conf, BASE_LINES + 2);
}

static void retry_min_equal_to_retry_max_is_accepted(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Token]\nRetryMinSec=2min\nRetryMaxSec=120s\n"));
	assert_int_equal(t->c.retry_min, t->c.retry_max);
}

/* Load "[Token]\nKEY=value" and return the result. */
static int load_token_key(struct t *t, const char *key, const char *value)
{
	char extra[256];

	snprintf(extra, sizeof(extra), "[Token]\n%s=%s\n", key, value);
	return load(t, extra);
}

static void max_renewals_per_hour_takes_1_to_15(void **state)
{
	struct t *t = *state;
	int r;

	assert_loaded(t, load_token_key(t, "MaxRenewalsPerHour", "1"));
	assert_int_equal(t->c.max_renewals_per_hour, 1);
	assert_loaded(t, load_token_key(t, "MaxRenewalsPerHour", "15"));
	assert_int_equal(t->c.max_renewals_per_hour, 15);
	r = load_token_key(t, "MaxRenewalsPerHour", "0");
	assert_only_error(t, r, "%s:%d: MaxRenewalsPerHour: \"0\" is out of range 1-15", t->conf,
	    BASE_LINES + 2);
	r = load_token_key(t, "MaxRenewalsPerHour", "16");
	assert_only_error(t, r, "%s:%d: MaxRenewalsPerHour: \"16\" is out of range 1-15", t->conf,
	    BASE_LINES + 2);
}

static void max_failed_requests_per_hour_takes_1_to_5(void **state)
{
	struct t *t = *state;
	int r;

	assert_loaded(t, load_token_key(t, "MaxFailedRequestsPerHour", "1"));
	assert_int_equal(t->c.max_failed_requests_per_hour, 1);
	assert_loaded(t, load_token_key(t, "MaxFailedRequestsPerHour", "5"));
	assert_int_equal(t->c.max_failed_requests_per_hour, 5);
	r = load_token_key(t, "MaxFailedRequestsPerHour", "0");
	assert_only_error(t, r, "%s:%d: MaxFailedRequestsPerHour: \"0\" is out of range 1-5",
	    t->conf, BASE_LINES + 2);
	r = load_token_key(t, "MaxFailedRequestsPerHour", "6");
	assert_only_error(t, r, "%s:%d: MaxFailedRequestsPerHour: \"6\" is out of range 1-5",
	    t->conf, BASE_LINES + 2);
}

static void integer_keys_reject_text(void **state)
{
	static const char *const cases[] = { "12x", "-1", "one", "1.0", "0x5" };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = load_token_key(t, "MaxRenewalsPerHour", cases[i]);

		assert_only_error(t, r, "%s:%d: MaxRenewalsPerHour: invalid integer \"%s\"",
		    t->conf, BASE_LINES + 2, cases[i]);
	}
}

static void state_file_is_taken_from_the_config(void **state)
{
	struct t *t = *state;

	setenv("RUNTIME_DIRECTORY", "/run/tvtokend", 1);
	assert_loaded(t, load(t, "[Token]\nStateFile=/var/lib/tvtokend/token.json\n"));
	assert_string_equal(t->c.state_file, "/var/lib/tvtokend/token.json");
}

static void state_file_defaults_to_the_runtime_directory(void **state)
{
	struct t *t = *state;

	setenv("RUNTIME_DIRECTORY", "/run/tvtokend", 1);
	assert_loaded(t, load(t, ""));
	assert_string_equal(t->c.state_file, "/run/tvtokend/token.json");
}

static void state_file_default_uses_the_first_of_several_runtime_directories(void **state)
{
	static const char *const cases[] = {
		"/run/a:/run/b", "/run/a /run/b", "/run/a\t/run/b", " /run/a",
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("RUNTIME_DIRECTORY", cases[i], 1);
		assert_loaded(t, load(t, ""));
		assert_string_equal(t->c.state_file, "/run/a/token.json");
	}
}

static void state_file_default_is_none_without_runtime_directory(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, ""));
	assert_null(t->c.state_file);
}

static void state_file_empty_means_none_even_with_runtime_directory(void **state)
{
	struct t *t = *state;

	setenv("RUNTIME_DIRECTORY", "/run/tvtokend", 1);
	assert_loaded(t, load(t, "[Token]\nStateFile=\n"));
	assert_null(t->c.state_file);
}

/* ---- [Server] ---- */

/* Load "[Server]\nKEY=value" and return the result. */
static int load_server_key(struct t *t, const char *key, const char *value)
{
	char extra[512];

	snprintf(extra, sizeof(extra), "[Server]\n%s=%s\n", key, value);
	return load(t, extra);
}

static void socket_is_taken_from_the_config(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load_server_key(t, "Socket", "/run/tvtokend/alice/io.tvtokend.Broker"));
	assert_string_equal(t->c.socket, "/run/tvtokend/alice/io.tvtokend.Broker");
}

static void socket_path_too_long_for_a_unix_socket_is_rejected(void **state)
{
	struct t *t = *state;
	char ok[108], tool[109];
	int r;

	memset(ok, 'a', sizeof(ok) - 1);
	ok[0] = '/';
	ok[sizeof(ok) - 1] = '\0';
	memset(tool, 'a', sizeof(tool) - 1);
	tool[0] = '/';
	tool[sizeof(tool) - 1] = '\0';
	assert_loaded(t, load_server_key(t, "Socket", ok));
	r = load_server_key(t, "Socket", tool);
	assert_only_error(t, r, "%s:%d: Socket: socket path is longer than 107 bytes", t->conf,
	    BASE_LINES + 2);
}

static void socket_mode_takes_octal_up_to_0777(void **state)
{
	static const struct {
		const char *s;
		mode_t want;
	} cases[] = { { "0600", 0600 }, { "660", 0660 }, { "0", 0 }, { "0777", 0777 },
		      { "00666", 0666 } };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_loaded(t, load_server_key(t, "SocketMode", cases[i].s));
		assert_int_equal(t->c.socket_mode, cases[i].want);
	}
}

static void socket_mode_that_is_not_octal_or_too_big_is_rejected(void **state)
{
	static const char *const cases[] = { "1777", "0778", "8", "rw", "0x1ff", "-0600", "01000" };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = load_server_key(t, "SocketMode", cases[i]);

		assert_only_error(t, r, "%s:%d: SocketMode: \"%s\" is not an octal mode between "
		    "0000 and 0777", t->conf, BASE_LINES + 2, cases[i]);
	}
}

static void socket_group_takes_a_name(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load_server_key(t, "SocketGroup", "root"));
	assert_true(t->c.has_socket_group);
	assert_int_equal(t->c.socket_group, 0);
}

static void socket_group_takes_a_gid(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load_server_key(t, "SocketGroup", "4321"));
	assert_true(t->c.has_socket_group);
	assert_int_equal(t->c.socket_group, 4321);
}

static void socket_group_unknown_name_is_rejected(void **state)
{
	struct t *t = *state;
	int r = load_server_key(t, "SocketGroup", "tvtokend-no-such-group");

	assert_only_error(t, r, "%s:%d: SocketGroup: unknown group \"tvtokend-no-such-group\"",
	    t->conf, BASE_LINES + 2);
}

static void allow_users_takes_names_and_uids(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load_server_key(t, "AllowUsers", "root 0\t1000   65534"));
	assert_int_equal(t->c.n_allow_users, 4);
	assert_int_equal(t->c.allow_users[0], 0);
	assert_int_equal(t->c.allow_users[1], 0);
	assert_int_equal(t->c.allow_users[2], 1000);
	assert_int_equal(t->c.allow_users[3], 65534);
}

static void allow_users_unknown_name_is_rejected(void **state)
{
	struct t *t = *state;
	int r = load_server_key(t, "AllowUsers", "root tvtokend-no-such-user 0");

	assert_only_error(t, r, "%s:%d: AllowUsers: unknown user \"tvtokend-no-such-user\"",
	    t->conf, BASE_LINES + 2);
}

static void allow_users_reports_every_unknown_name(void **state)
{
	struct t *t = *state;
	int r = load_server_key(t, "AllowUsers", "nobody-here-1 root nobody-here-2");

	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 2);
	assert_error(t, "%s:%d: AllowUsers: unknown user \"nobody-here-1\"", t->conf, BASE_LINES + 2);
	assert_error(t, "%s:%d: AllowUsers: unknown user \"nobody-here-2\"", t->conf, BASE_LINES + 2);
}

static void allow_users_rejects_the_invalid_uid(void **state)
{
	struct t *t = *state;
	int r = load_server_key(t, "AllowUsers", "4294967295");

	assert_only_error(t, r, "%s:%d: AllowUsers: invalid user id \"4294967295\"", t->conf,
	    BASE_LINES + 2);
}

static void allow_groups_takes_names_and_gids(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load_server_key(t, "AllowGroups", "root 42"));
	assert_int_equal(t->c.n_allow_groups, 2);
	assert_int_equal(t->c.allow_groups[0], 0);
	assert_int_equal(t->c.allow_groups[1], 42);
}

static void allow_groups_unknown_name_is_rejected(void **state)
{
	struct t *t = *state;
	int r = load_server_key(t, "AllowGroups", "tvtokend-no-such-group");

	assert_only_error(t, r, "%s:%d: AllowGroups: unknown group \"tvtokend-no-such-group\"",
	    t->conf, BASE_LINES + 2);
}

static void allow_users_later_assignment_replaces_the_list(void **state)
{
	struct t *t = *state;

	write_dropin(t, "users.conf", "[Server]\nAllowUsers=7\n");
	assert_loaded(t, load_server_key(t, "AllowUsers", "root 5 6"));
	assert_int_equal(t->c.n_allow_users, 1);
	assert_int_equal(t->c.allow_users[0], 7);
}

static void max_clients_takes_1_to_65536(void **state)
{
	struct t *t = *state;
	int r;

	assert_loaded(t, load_server_key(t, "MaxClients", "1"));
	assert_int_equal(t->c.max_clients, 1);
	assert_loaded(t, load_server_key(t, "MaxClients", "65536"));
	assert_int_equal(t->c.max_clients, 65536);
	r = load_server_key(t, "MaxClients", "0");
	assert_only_error(t, r, "%s:%d: MaxClients: \"0\" is out of range 1-65536", t->conf,
	    BASE_LINES + 2);
	r = load_server_key(t, "MaxClients", "65537");
	assert_only_error(t, r, "%s:%d: MaxClients: \"65537\" is out of range 1-65536", t->conf,
	    BASE_LINES + 2);
}

static void max_clients_per_user_defaults_to_1024_and_takes_1_to_65536(void **state)
{
	struct t *t = *state;
	int r;

	assert_loaded(t, load_server_key(t, "MaxClients", "16"));
	assert_int_equal(t->c.max_clients_per_user, 1024);
	assert_loaded(t, load_server_key(t, "MaxClientsPerUser", "1"));
	assert_int_equal(t->c.max_clients_per_user, 1);
	assert_loaded(t, load_server_key(t, "MaxClientsPerUser", "65536"));
	assert_int_equal(t->c.max_clients_per_user, 65536);
	r = load_server_key(t, "MaxClientsPerUser", "0");
	assert_only_error(t, r, "%s:%d: MaxClientsPerUser: \"0\" is out of range 1-65536", t->conf,
	    BASE_LINES + 2);
}

static void max_pending_output_takes_bytes_or_k_m_g_t(void **state)
{
	static const struct {
		const char *v;
		uint64_t bytes;
	} good[] = {
		{ "1048576", 1048576 }, { "1024K", 1048576 }, { "1M", 1048576 }, { "64M", 64ULL << 20 }, { "2G", 2ULL << 30 },
		{ "1T", 1ULL << 40 }, { "100 M", 100ULL << 20 },
	};
	struct t *t = *state;
	size_t i;

	assert_loaded(t, load_server_key(t, "MaxClients", "16"));
	assert_int_equal(t->c.max_pending_output, 64ULL << 20);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_loaded(t, load_server_key(t, "MaxPendingOutput", good[i].v));
		assert_int_equal(t->c.max_pending_output, good[i].bytes);
	}
}

static void max_pending_output_refuses_what_is_no_size_or_out_of_range(void **state)
{
	static const char *const bad[] = { "abc", "64MB", "1.5M", "-1", "M", "64k", "64M x" };
	struct t *t = *state;
	size_t i;
	int r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = load_server_key(t, "MaxPendingOutput", bad[i]);
		assert_only_error(t, r, "%s:%d: MaxPendingOutput: invalid size \"%s\"; expected bytes, "
		    "or a number with K, M, G or T", t->conf, BASE_LINES + 2, bad[i]);
	}
	r = load_server_key(t, "MaxPendingOutput", "1023K");
	assert_only_error(t, r, "%s:%d: MaxPendingOutput: \"1023K\" is out of range 1M-1024G", t->conf,
	    BASE_LINES + 2);
	r = load_server_key(t, "MaxPendingOutput", "1025G");
	assert_only_error(t, r, "%s:%d: MaxPendingOutput: \"1025G\" is out of range 1M-1024G", t->conf,
	    BASE_LINES + 2);
	r = load_server_key(t, "MaxPendingOutput", "99999999999999999999999");
	assert_only_error(t, r, "%s:%d: MaxPendingOutput: \"99999999999999999999999\" is out of range "
	    "1M-1024G", t->conf, BASE_LINES + 2);
}

/* ---- secrets ---- */

static void secrets_are_read_with_the_trailing_newline_stripped(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, ""));
	assert_string_equal(t->c.password, PASSWORD);
	assert_string_equal(t->c.secret, SECRET);
	assert_string_equal(t->c.password_file, t->password);
	assert_string_equal(t->c.secret_file, t->secret);
}

static void secret_trailing_crlf_is_stripped(void **state)
{
	struct t *t = *state;

	write_text(t->password, "pw\r\n");
	assert_loaded(t, load(t, ""));
	assert_string_equal(t->c.password, "pw");
}

static void secret_loses_only_one_trailing_newline(void **state)
{
	struct t *t = *state;

	write_text(t->password, "pw\n\n");
	write_text(t->secret, "sec\r\n\r\n");
	assert_loaded(t, load(t, ""));
	assert_string_equal(t->c.password, "pw\n");
	assert_string_equal(t->c.secret, "sec\r\n");
}

static void secret_without_a_newline_is_kept_whole(void **state)
{
	struct t *t = *state;

	write_text(t->password, "  pw  ");
	write_text(t->secret, "sec\r");
	assert_loaded(t, load(t, ""));
	assert_string_equal(t->c.password, "  pw  ");
	assert_string_equal(t->c.secret, "sec\r");
}

static void empty_secret_is_an_error(void **state)
{
	static const char *const cases[] = { "", "\n", "\r\n" };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		write_text(t->secret, cases[i]);
		r = load(t, "");
		assert_only_error(t, r, "%s:6: SecretFile: %s is empty", t->conf, t->secret);
	}
}

static void missing_secret_file_is_an_error(void **state)
{
	struct t *t = *state;
	int r;

	assert_int_equal(unlink(t->password), 0);
	r = load(t, "");
	assert_only_error(t, r, "%s:5: PasswordFile: cannot open %s: No such file or directory",
	    t->conf, t->password);
}

static void unreadable_secret_file_is_an_error(void **state)
{
	struct t *t = *state;
	int r;

	/* Root reads any file, so a directory stands in for an unreadable one. */
	assert_int_equal(unlink(t->password), 0);
	assert_int_equal(mkdir(t->password, 0700), 0);
	r = load(t, "");
	assert_only_error(t, r, "%s:5: PasswordFile: %s is not a regular file", t->conf,
	    t->password);
	if (geteuid() != 0) {
		assert_int_equal(chmod(t->secret, 0000), 0);
		r = load(t, "");
		assert_int_equal(r, -EINVAL);
		assert_error(t, "%s:6: SecretFile: cannot open %s: Permission denied", t->conf,
		    t->secret);
	}
}

static void group_readable_secret_loads_with_a_chmod_warning(void **state)
{
	struct t *t = *state;
	char want[1024];
	int r;

	assert_int_equal(chmod(t->password, 0640), 0);
	r = load(t, "");
	assert_int_equal(r, 0);
	assert_int_equal(t->e.n, 0);
	assert_int_equal(t->e.n_warnings, 1);
	snprintf(want, sizeof(want), "%s: PasswordFile: %s can be read or written by group or others; "
		 "run chmod 600 %s", t->conf, t->password, t->password);
	assert_string_equal(t->e.warning[0], want);
}

static void secret_writable_by_others_loads_with_a_chmod_warning(void **state)
{
	struct t *t = *state;
	char want[1024];
	int r;

	assert_int_equal(chmod(t->secret, 0602), 0);
	r = load(t, "");
	assert_int_equal(r, 0);
	assert_int_equal(t->e.n_warnings, 1);
	snprintf(want, sizeof(want), "%s: SecretFile: %s can be read or written by group or others; "
		 "run chmod 600 %s", t->conf, t->secret, t->secret);
	assert_string_equal(t->e.warning[0], want);
}

static void secret_of_4096_bytes_is_accepted(void **state)
{
	struct t *t = *state;
	char big[4096];

	memset(big, 'x', sizeof(big));
	write_bytes(t->secret, big, sizeof(big), 0600);
	assert_loaded(t, load(t, ""));
	assert_int_equal(strlen(t->c.secret), 4096);
}

static void secret_larger_than_4096_bytes_is_refused(void **state)
{
	struct t *t = *state;
	char big[4097];
	int r;

	memset(big, 'x', sizeof(big));
	write_bytes(t->secret, big, sizeof(big), 0600);
	r = load(t, "");
	assert_only_error(t, r, "%s:6: SecretFile: %s is larger than 4096 bytes", t->conf, t->secret);
}

static void secret_with_a_nul_byte_is_refused(void **state)
{
	struct t *t = *state;
	int r;

	write_bytes(t->secret, "ab\0cd\n", 6, 0600);
	r = load(t, "");
	assert_only_error(t, r, "%s:6: SecretFile: %s contains a NUL byte", t->conf, t->secret);
}

static void secret_file_may_be_a_symlink(void **state)
{
	struct t *t = *state;
	char link[PATH_MAX], *text;

	snprintf(link, sizeof(link), "%s/password-link", t->dir);
	assert_int_equal(symlink(t->password, link), 0);
	assert_true(asprintf(&text, "[Tradovate]\nName=a\nAppId=b\nClientId=1\n"
	    "PasswordFile=%s\nSecretFile=%s\n", link, t->secret) > 0);
	assert_loaded(t, load_raw(t, text));
	free(text);
	assert_string_equal(t->c.password, PASSWORD);
}

/* Make a credentials directory like systemd's, with both credentials at the given mode. */
static const char *make_credentials(struct t *t, mode_t mode)
{
	const char *dir = t->creds;
	char path[PATH_MAX];

	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/tradovate-password", dir);
	write_bytes(path, "cred-pw\n", 8, mode);
	snprintf(path, sizeof(path), "%s/tradovate-sec", dir);
	write_bytes(path, "cred-sec\n", 9, mode);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	return dir;
}

static void secrets_default_to_the_systemd_credentials(void **state)
{
	struct t *t = *state;
	const char *dir = make_credentials(t, 0400);
	char pw[PATH_MAX], sec[PATH_MAX];

	snprintf(pw, sizeof(pw), "%s/tradovate-password", dir);
	snprintf(sec, sizeof(sec), "%s/tradovate-sec", dir);
	assert_loaded(t, load_raw(t, "[Tradovate]\nName=a\nAppId=b\nClientId=1\n"));
	assert_string_equal(t->c.password, "cred-pw");
	assert_string_equal(t->c.secret, "cred-sec");
	assert_string_equal(t->c.password_file, pw);
	assert_string_equal(t->c.secret_file, sec);
}

static void empty_secret_file_key_means_the_credential(void **state)
{
	struct t *t = *state;

	make_credentials(t, 0400);
	assert_loaded(t, load_raw(t, "[Tradovate]\nName=a\nAppId=b\nClientId=1\n"
	    "PasswordFile=\nSecretFile=\n"));
	assert_string_equal(t->c.password, "cred-pw");
	assert_string_equal(t->c.secret, "cred-sec");
}

static void credentials_may_be_group_readable(void **state)
{
	struct t *t = *state;

	make_credentials(t, 0440);
	assert_loaded(t, load_raw(t, "[Tradovate]\nName=a\nAppId=b\nClientId=1\n"));
	assert_string_equal(t->c.password, "cred-pw");
}

static void only_files_directly_in_the_credentials_directory_skip_the_mode_warning(void **state)
{
	struct t *t = *state;
	const char *dir = make_credentials(t, 0400);
	char sub[PATH_MAX], file[PATH_MAX + 16], *text;
	int r;

	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	/* Starts with the credentials directory, but leads out of it. */
	snprintf(file, sizeof(file), "%s/../../password", sub);
	assert_int_equal(chmod(t->password, 0644), 0);
	assert_true(asprintf(&text, "[Tradovate]\nName=a\nAppId=b\nClientId=1\n"
	    "PasswordFile=%s\n", file) > 0);
	r = load_raw(t, text);
	free(text);
	assert_int_equal(r, 0);
	assert_int_equal(t->e.n_warnings, 1);
	assert_non_null(strstr(t->e.warning[0], "can be read or written by group or others"));
}

static void secrets_without_a_file_or_credentials_are_errors(void **state)
{
	struct t *t = *state;
	int r = load_raw(t, "[Tradovate]\nName=a\nAppId=b\nClientId=1\n");

	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 2);
	assert_error(t, "%s: PasswordFile: not set and $CREDENTIALS_DIRECTORY is not set; set "
	    "PasswordFile= to a file or pass the systemd credential tradovate-password "
	    "(LoadCredential=)", t->conf);
	assert_error(t, "%s: SecretFile: not set and $CREDENTIALS_DIRECTORY is not set; set "
	    "SecretFile= to a file or pass the systemd credential tradovate-sec "
	    "(LoadCredential=)", t->conf);
}

static void secret_contents_never_appear_in_errors(void **state)
{
	struct t *t = *state;
	char big[5000];
	int r;

	/* Every way a secret file can be refused, with a recognisable text inside. */
	write_text(t->password, "MARKER-one\n");
	assert_int_equal(chmod(t->password, 0644), 0);
	memset(big, 'M', sizeof(big));
	memcpy(big, "MARKER-two", 10);
	write_bytes(t->secret, big, sizeof(big), 0600);
	r = load(t, "");
	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 1);
	assert_int_equal(t->e.n_warnings, 1);
	for (size_t i = 0; i < t->e.n; i++)
		assert_null(strstr(t->e.msg[i], "MARKER"));
	for (size_t i = 0; i < t->e.n_warnings; i++)
		assert_null(strstr(t->e.warning[i], "MARKER"));

	write_bytes(t->password, "MARKER-four", 11, 0604);
	write_bytes(t->secret, "MARKER-three\0\n", 14, 0600);
	r = load(t, "");
	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 1);
	for (size_t i = 0; i < t->e.n; i++)
		assert_null(strstr(t->e.msg[i], "MARKER"));
	for (size_t i = 0; i < t->e.n_warnings; i++)
		assert_null(strstr(t->e.warning[i], "MARKER"));
}

/* ---- load, free, compare ---- */

static void failed_load_leaves_the_output_untouched(void **state)
{
	struct t *t = *state;
	struct config before;
	int r;

	memset(&t->c, 0xa5, sizeof(t->c));
	memcpy(&before, &t->c, sizeof(before));
	write_text(t->conf, "[Tradovate]\nName=\n");
	r = config_load(t->conf, &t->c, &t->e);
	assert_int_equal(r, -EINVAL);
	assert_memory_equal(&t->c, &before, sizeof(before));
	memset(&t->c, 0, sizeof(t->c));
}

static void load_without_an_error_list_still_fails(void **state)
{
	struct t *t = *state;

	write_text(t->conf, "[Tradovate]\nName=\n");
	assert_int_equal(config_load(t->conf, &t->c, NULL), -EINVAL);
}

static void config_free_wipes_and_zeroes_the_struct(void **state)
{
	struct t *t = *state;
	static const struct config zero;

	assert_loaded(t, load(t, ""));
	config_free(&t->c);
	assert_memory_equal(&t->c, &zero, sizeof(zero));
	config_free(&t->c);
}

static void config_errors_free_empties_the_list(void **state)
{
	struct t *t = *state;

	assert_int_equal(load(t, "Bogus=1\n"), -EINVAL);
	assert_int_equal(t->e.n, 1);
	config_errors_free(&t->e);
	assert_int_equal(t->e.n, 0);
	assert_null(t->e.msg[0]);
}

static void same_account_when_base_url_and_name_match(void **state)
{
	struct t *t = *state;
	struct config other;

	assert_loaded(t, load(t, "BaseURL=https://demo.tradovateapi.com/v1/\nAppId=other\n"));
	other = t->c;
	memset(&t->c, 0, sizeof(t->c));
	assert_loaded(t, load(t, "BaseURL=demo\n"));
	assert_true(config_same_account(&t->c, &other));
	config_free(&other);
}

static void other_account_when_name_differs(void **state)
{
	struct t *t = *state;
	struct config other;

	assert_loaded(t, load(t, "Name=bob\n"));
	other = t->c;
	memset(&t->c, 0, sizeof(t->c));
	assert_loaded(t, load(t, ""));
	assert_false(config_same_account(&t->c, &other));
	config_free(&other);
}

static void other_account_when_base_url_differs(void **state)
{
	struct t *t = *state;
	struct config other;

	assert_loaded(t, load(t, "BaseURL=live\n"));
	other = t->c;
	memset(&t->c, 0, sizeof(t->c));
	assert_loaded(t, load(t, ""));
	assert_false(config_same_account(&t->c, &other));
	config_free(&other);
}

/* ---- the shipped example ---- */

/* Find conf/tvtokend.conf in the source tree, from the build tree the test runs in. */
static void example_path(char *out, size_t size)
{
	char exe[PATH_MAX], src[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(src, sizeof(src), "%s", __FILE__);
	if (src[0] == '/') {
		snprintf(out, size, "%s/../../conf/tvtokend.conf", dirname(src));
	} else {
		/* Meson names sources relative to the build root, two levels above us. */
		char *bindir = dirname(exe);

		snprintf(out, size, "%s/../../%s/../../conf/tvtokend.conf", bindir, dirname(src));
	}
}

/* Copy the shipped example in as the main file. */
static void install_example(struct t *t)
{
	char path[PATH_MAX], buf[16384];
	FILE *f;
	size_t n;

	example_path(path, sizeof(path));
	f = fopen(path, "re");
	if (f == NULL)
		fail_msg("cannot open the example config %s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	assert_true(n > 0 && n < sizeof(buf) - 1);
	buf[n] = '\0';
	write_text(t->conf, buf);
}

static void shipped_example_loads_once_the_required_keys_are_filled(void **state)
{
	struct t *t = *state;

	make_credentials(t, 0400);
	install_example(t);
	write_dropin(t, "account.conf", "[Tradovate]\nName=alice\nAppId=app\nClientId=42\n");
	assert_loaded(t, config_load(t->conf, &t->c, &t->e));
	assert_string_equal(t->c.base_url, "https://demo.tradovateapi.com/v1");
	assert_int_equal(t->c.renew_before, 15 * USEC_PER_MIN);
	assert_false(t->c.cluster);
}

static void shipped_example_alone_asks_for_the_required_keys(void **state)
{
	struct t *t = *state;
	int r;

	make_credentials(t, 0400);
	install_example(t);
	r = config_load(t->conf, &t->c, &t->e);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 3);
	assert_error(t, "%s: Name: required key is missing", t->conf);
	assert_error(t, "%s: AppId: required key is missing", t->conf);
	assert_error(t, "%s: ClientId: required key is missing", t->conf);
}

/* Uncommenting every "#Key=value" line of the example must still load. */
static void shipped_example_uncommented_shows_valid_defaults(void **state)
{
	struct t *t = *state;
	char path[PATH_MAX], line[1024], *text = NULL;
	size_t len = 0;
	FILE *f, *m;

	make_credentials(t, 0400);
	example_path(path, sizeof(path));
	f = fopen(path, "re");
	assert_non_null(f);
	m = open_memstream(&text, &len);
	assert_non_null(m);
	while (fgets(line, sizeof(line), f) != NULL) {
		/* The [Cluster] header is commented out as well: cluster mode is opt-in. */
		if (strcmp(line, "#[Cluster]\n") == 0) {
			fputs(line + 1, m);
		} else if (line[0] == '#' && line[1] >= 'A' && line[1] <= 'Z' &&
		    strchr(line, '=') != NULL) {
			if (strcmp(line, "#Name=\n") == 0)
				fputs("Name=alice\n", m);
			else if (strcmp(line, "#AppId=\n") == 0)
				fputs("AppId=app\n", m);
			else if (strcmp(line, "#ClientId=\n") == 0)
				fputs("ClientId=42\n", m);
			else
				fputs(line + 1, m);
		} else {
			fputs(line, m);
		}
	}
	fclose(f);
	fclose(m);
	assert_loaded(t, load_raw(t, text));
	free(text);
	assert_null(t->c.state_file);
	assert_string_equal(t->c.socket, CONFIG_DEFAULT_SOCKET);
	assert_int_equal(t->c.socket_mode, 0660);
	assert_int_equal(t->c.max_clients, 4096);
	assert_int_equal(t->c.max_clients_per_user, 1024);
	assert_int_equal(t->c.max_pending_output, 64ULL << 20);
	assert_int_equal(t->c.lockout, USEC_PER_HOUR);
	assert_null(t->c.sink_file);
	assert_int_equal(t->c.sink_mode, 0640);
	assert_false(t->c.has_sink_group);
	assert_int_equal(t->c.sink_format, CONFIG_SINK_TOKEN);
	assert_null(t->c.exec_on_change);
	assert_int_equal(t->c.exec_on_change_timeout, 30 * USEC_PER_SEC);
	assert_int_equal(t->e.n_warnings, 0);
	assert_true(t->c.cluster);
	assert_int_equal(t->c.n_etcd, 3);
	assert_string_equal(t->c.election, "tvtokend/alice");
	assert_int_equal(t->c.lease, 10 * USEC_PER_SEC);
	assert_null(t->c.etcd_user);
}

/* ---- [Cluster] ---- */

#define CLUSTER "[Cluster]\nEtcd=http://127.0.0.1:2379\n"
/* Lines of CLUSTER; what a test adds after it starts on the next line. */
#define CLUSTER_LINES 2

static void without_a_cluster_section_the_broker_is_standalone(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, ""));
	assert_false(t->c.cluster);
	assert_null(t->c.etcd);
	assert_int_equal(t->c.n_etcd, 0);
	assert_null(t->c.election);
	assert_null(t->c.member);
	assert_null(t->c.etcd_password);
}

static void cluster_section_takes_every_key(void **state)
{
	struct t *t = *state;
	char pw[PATH_MAX], *text;

	snprintf(pw, sizeof(pw), "%s/etcd-pw", t->dir);
	write_text(pw, "etcd secret\n");
	assert_true(asprintf(&text, "[Cluster]\n"
	    "Etcd=https://10.0.0.1:2379 HTTPS://etcd-2.example:2379/\thttp://[::1]:2379\n"
	    "Election=/trading/alice-live\n"
	    "Member=host-1.example\n"
	    "LeaseSec=3s\n"
	    "EtcdCAFile=/etc/etcd/ca.pem\n"
	    "EtcdCertFile=/etc/etcd/client.pem\n"
	    "EtcdKeyFile=/etc/etcd/client-key.pem\n") > 0);
	assert_loaded(t, load(t, text));
	free(text);
	assert_true(t->c.cluster);
	assert_int_equal(t->c.n_etcd, 3);
	assert_string_equal(t->c.etcd[0], "https://10.0.0.1:2379");
	assert_string_equal(t->c.etcd[1], "https://etcd-2.example:2379");
	assert_string_equal(t->c.etcd[2], "http://[::1]:2379");
	assert_string_equal(t->c.election, "/trading/alice-live");
	assert_string_equal(t->c.member, "host-1.example");
	assert_int_equal(t->c.lease, 3 * USEC_PER_SEC);
	assert_string_equal(t->c.etcd_ca_file, "/etc/etcd/ca.pem");
	assert_string_equal(t->c.etcd_cert_file, "/etc/etcd/client.pem");
	assert_string_equal(t->c.etcd_key_file, "/etc/etcd/client-key.pem");
	assert_null(t->c.etcd_user);

	/* A user instead of the client certificate. */
	assert_true(asprintf(&text, CLUSTER "EtcdUser=tvtokend\nEtcdPasswordFile=%s\n", pw) > 0);
	assert_loaded(t, load(t, text));
	free(text);
	assert_string_equal(t->c.etcd_user, "tvtokend");
	assert_string_equal(t->c.etcd_password_file, pw);
	assert_string_equal(t->c.etcd_password, "etcd secret");
}

static void cluster_defaults_are_the_name_the_host_and_ten_seconds(void **state)
{
	struct t *t = *state;
	char host[256];

	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_loaded(t, load(t, CLUSTER "Election=\nMember=\nEtcdUser=\nEtcdCAFile=\n"));
	assert_true(t->c.cluster);
	assert_string_equal(t->c.election, "tvtokend/alice");
	assert_string_equal(t->c.member, host);
	assert_int_equal(t->c.lease, 10 * USEC_PER_SEC);
	assert_null(t->c.etcd_user);
	assert_null(t->c.etcd_password);
	assert_null(t->c.etcd_password_file);
	assert_null(t->c.etcd_ca_file);
	assert_null(t->c.etcd_cert_file);
}

static void empty_cluster_section_asks_for_etcd(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Cluster]\n");

	assert_only_error(t, r, "%s: Etcd: required key is missing", t->conf);
}

static void empty_etcd_is_an_error_even_when_a_drop_in_empties_it(void **state)
{
	struct t *t = *state;
	char dropin[PATH_MAX];
	int r;

	write_dropin(t, "50-cluster.conf", "[Cluster]\nEtcd=\n");
	snprintf(dropin, sizeof(dropin), "%s.d/50-cluster.conf", t->conf);
	r = load(t, CLUSTER);
	assert_only_error(t, r, "%s:2: Etcd: required key has an empty value", dropin);
}

static void etcd_refuses_what_is_not_an_endpoint_url(void **state)
{
	static const struct {
		const char *v;
		const char *why;
	} cases[] = {
		{ "ftp://10.0.0.1:2379", "\"ftp://10.0.0.1:2379\" is not an http:// or https:// URL" },
		{ "10.0.0.1:2379", "\"10.0.0.1:2379\" is not an http:// or https:// URL" },
		{ "http://", "\"http://\" must be scheme://host[:port] without a path, user or query" },
		{ "http://h:2379/v3", "\"http://h:2379/v3\" must be scheme://host[:port] without a "
		    "path, user or query" },
		{ "http://u:p@h:2379", "\"http://u:p@h:2379\" must be scheme://host[:port] without a "
		    "path, user or query" },
		{ "http://h:2379?x", "\"http://h:2379?x\" must be scheme://host[:port] without a "
		    "path, user or query" },
		{ "http://h\xc3\xa9:2379", "\"http://h\xc3\xa9:2379\" contains control or non-ASCII "
		    "characters" },
		{ "http://h:1 http://h:1/", "\"http://h:1\" is listed twice" },
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		int r;

		assert_true(asprintf(&text, "[Cluster]\nEtcd=%s\n", cases[i].v) > 0);
		r = load(t, text);
		free(text);
		assert_only_error(t, r, "%s:%d: Etcd: %s", t->conf, BASE_LINES + 2, cases[i].why);
	}
}

static void etcd_takes_at_most_sixteen_endpoints(void **state)
{
	struct t *t = *state;
	char text[2048];
	size_t n;
	int r;

	n = (size_t)snprintf(text, sizeof(text), "[Cluster]\nEtcd=");
	for (int i = 1; i <= 16; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "http://h%d:2379 ", i);
	snprintf(text + n, sizeof(text) - n, "\n");
	assert_loaded(t, load(t, text));
	assert_int_equal(t->c.n_etcd, 16);
	snprintf(text + n, sizeof(text) - n, "http://h17:2379\n");
	r = load(t, text);
	assert_only_error(t, r, "%s:%d: Etcd: more than 16 endpoints", t->conf, BASE_LINES + 2);
}

static void election_refuses_what_cannot_be_a_key_prefix(void **state)
{
	static const struct {
		const char *v;
		const char *why;
	} cases[] = {
		{ "tvtokend/alice/", "must not end in '/' or contain \"//\"" },
		{ "tvtokend//alice", "must not end in '/' or contain \"//\"" },
		{ "tv tokend", "may hold only printable ASCII without blanks" },
		{ "caf\xc3\xa9", "may hold only printable ASCII without blanks" },
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		int r;

		assert_true(asprintf(&text, CLUSTER "Election=%s\n", cases[i].v) > 0);
		r = load(t, text);
		free(text);
		assert_only_error(t, r, "%s:%d: Election: \"%s\" %s", t->conf,
		    BASE_LINES + CLUSTER_LINES + 1, cases[i].v, cases[i].why);
	}
}

static void election_longer_than_128_bytes_is_refused(void **state)
{
	struct t *t = *state;
	char v[130], *text;
	int r;

	memset(v, 'e', 128);
	v[128] = '\0';
	assert_true(asprintf(&text, CLUSTER "Election=%s\n", v) > 0);
	assert_loaded(t, load(t, text));
	free(text);
	v[128] = 'e';
	v[129] = '\0';
	assert_true(asprintf(&text, CLUSTER "Election=%s\n", v) > 0);
	r = load(t, text);
	free(text);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 1);
	assert_non_null(strstr(t->e.msg[0], "Election: "));
	assert_non_null(strstr(t->e.msg[0], "is longer than 128 bytes"));
}

static void default_election_from_a_name_it_cannot_use_asks_for_election(void **state)
{
	struct t *t = *state;
	char *text;
	int r;

	assert_true(asprintf(&text, "[Tradovate]\nName=al ice\nAppId=app\nClientId=42\n"
	    "PasswordFile=%s\nSecretFile=%s\n" CLUSTER, t->password, t->secret) > 0);
	r = load_raw(t, text);
	free(text);
	assert_only_error(t, r, "%s: Election: the default \"tvtokend/al ice\" (from Name=) may "
	    "hold only printable ASCII without blanks; set Election=", t->conf);
}

static void member_refuses_what_cannot_name_a_broker(void **state)
{
	static const struct {
		const char *v;
		const char *why;
	} cases[] = {
		{ "host/1", "may hold only letters, digits, '.', '-' and '_'" },
		{ "host 1", "may hold only letters, digits, '.', '-' and '_'" },
		{ "-host", "must not start with '.' or '-'" },
		{ ".host", "must not start with '.' or '-'" },
		{ "0123456789012345678901234567890123456789012345678901234567890123x",
		    "is longer than 64 bytes" },
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		int r;

		assert_true(asprintf(&text, CLUSTER "Member=%s\n", cases[i].v) > 0);
		r = load(t, text);
		free(text);
		if (strlen(cases[i].v) > 64)
			assert_only_error(t, r, "%s:%d: Member: \"%.64s...\" %s", t->conf,
			    BASE_LINES + CLUSTER_LINES + 1, cases[i].v, cases[i].why);
		else
			assert_only_error(t, r, "%s:%d: Member: \"%s\" %s", t->conf,
			    BASE_LINES + CLUSTER_LINES + 1, cases[i].v, cases[i].why);
	}
}

static void lease_takes_whole_seconds_from_2s_to_5min(void **state)
{
	static const struct {
		const char *v;
		usec_t want;
		const char *why;
	} cases[] = {
		{ "2", 2 * USEC_PER_SEC, NULL },
		{ "5min", 5 * USEC_PER_MIN, NULL },
		{ "1min 30s", 90 * USEC_PER_SEC, NULL },
		{ "1s", 0, "\"1s\" is out of range 2s-5min" },
		{ "301s", 0, "\"301s\" is out of range 2s-5min" },
		{ "2.5s", 0, "\"2.5s\" is not a whole number of seconds (etcd leases count in seconds)" },
		{ "1500ms", 0, "\"1500ms\" is not a whole number of seconds (etcd leases count in "
		    "seconds)" },
		{ "0", 0, "time span \"0\" must be greater than 0" },
		{ "soon", 0, "invalid time span \"soon\"" },
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		int r;

		assert_true(asprintf(&text, CLUSTER "LeaseSec=%s\n", cases[i].v) > 0);
		r = load(t, text);
		free(text);
		if (cases[i].why == NULL) {
			assert_loaded(t, r);
			assert_int_equal(t->c.lease, cases[i].want);
		} else {
			assert_only_error(t, r, "%s:%d: LeaseSec: %s", t->conf,
			    BASE_LINES + CLUSTER_LINES + 1, cases[i].why);
		}
	}
}

static void client_certificate_and_key_come_together(void **state)
{
	struct t *t = *state;
	int r;

	r = load(t, CLUSTER "EtcdCertFile=/etc/etcd/client.pem\n");
	assert_only_error(t, r, "%s:%d: EtcdCertFile: needs EtcdKeyFile= as well", t->conf,
	    BASE_LINES + CLUSTER_LINES + 1);
	r = load(t, CLUSTER "EtcdKeyFile=/etc/etcd/key.pem\n");
	assert_only_error(t, r, "%s:%d: EtcdKeyFile: needs EtcdCertFile= as well", t->conf,
	    BASE_LINES + CLUSTER_LINES + 1);
	r = load(t, CLUSTER "EtcdKeyFile=etc/key.pem\n");
	assert_only_error(t, r, "%s:%d: EtcdKeyFile: \"etc/key.pem\" is not an absolute path",
	    t->conf, BASE_LINES + CLUSTER_LINES + 1);
}

static void etcd_user_and_client_certificate_exclude_each_other(void **state)
{
	struct t *t = *state;
	char pw[PATH_MAX], *text;
	int r;

	snprintf(pw, sizeof(pw), "%s/etcd-pw", t->dir);
	write_text(pw, "pw\n");
	assert_true(asprintf(&text, CLUSTER "EtcdCertFile=/c.pem\nEtcdKeyFile=/k.pem\n"
	    "EtcdUser=tvtokend\nEtcdPasswordFile=%s\n", pw) > 0);
	r = load(t, text);
	free(text);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(t->e.n, 1);
	assert_error(t, "%s:%d: EtcdUser: cannot be used with EtcdCertFile=: etcd's JSON gateway "
	    "refuses client certificates when authentication is on; use one or the other",
	    t->conf, BASE_LINES + CLUSTER_LINES + 3);
}

static void etcd_password_defaults_to_the_credential(void **state)
{
	struct t *t = *state;
	char path[PATH_MAX];

	make_credentials(t, 0400);
	snprintf(path, sizeof(path), "%s/etcd-password", t->creds);
	write_bytes(path, "from-credential\n", 16, 0400);
	assert_loaded(t, load(t, CLUSTER "EtcdUser=tvtokend\nEtcdPasswordFile=\n"));
	assert_string_equal(t->c.etcd_password, "from-credential");
	assert_string_equal(t->c.etcd_password_file, path);
}

static void etcd_user_without_a_password_source_is_an_error(void **state)
{
	struct t *t = *state;
	int r = load(t, CLUSTER "EtcdUser=tvtokend\n");

	assert_only_error(t, r, "%s: EtcdPasswordFile: not set and $CREDENTIALS_DIRECTORY is not "
	    "set; set EtcdPasswordFile= to a file or pass the systemd credential etcd-password "
	    "(LoadCredential=)", t->conf);
}

static void etcd_password_file_is_read_like_the_others(void **state)
{
	struct t *t = *state;
	char pw[PATH_MAX], *text;
	int r;

	snprintf(pw, sizeof(pw), "%s/etcd-pw", t->dir);
	assert_true(asprintf(&text, CLUSTER "EtcdUser=tvtokend\nEtcdPasswordFile=%s\n", pw) > 0);
	write_text(pw, "\n");
	r = load(t, text);
	assert_only_error(t, r, "%s:%d: EtcdPasswordFile: %s is empty", t->conf,
	    BASE_LINES + CLUSTER_LINES + 2, pw);
	write_text(pw, "two\n\n");
	assert_loaded(t, load(t, text));
	assert_string_equal(t->c.etcd_password, "two\n");
	write_bytes(pw, "shared-MARKER", 13, 0644);
	assert_loaded(t, load(t, text));
	assert_int_equal(t->e.n_warnings, 1);
	assert_null(strstr(t->e.warning[0], "MARKER"));
	unlink(pw);
	r = load(t, text);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(t->e.msg[0], "EtcdPasswordFile: cannot open"));
	free(text);
}

static void etcd_password_file_without_a_user_is_an_error(void **state)
{
	struct t *t = *state;
	int r = load(t, CLUSTER "EtcdPasswordFile=/etc/etcd-pw\n");

	assert_only_error(t, r, "%s:%d: EtcdPasswordFile: set without EtcdUser=", t->conf,
	    BASE_LINES + CLUSTER_LINES + 1);
}

static void cluster_keys_belong_in_the_cluster_section(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Server]\nEtcd=http://127.0.0.1:2379\n");

	assert_only_error(t, r, "%s:%d: Etcd: unknown key in [Server]", t->conf, BASE_LINES + 2);
	assert_false(t->c.cluster);
}

static void config_free_wipes_the_etcd_password(void **state)
{
	struct t *t = *state;

	make_credentials(t, 0400);
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/etcd-password", t->creds);
		write_bytes(path, "pw", 2, 0400);
	}
	assert_loaded(t, load(t, CLUSTER "EtcdUser=u\n"));
	assert_non_null(t->c.etcd_password);
	config_free(&t->c);
	assert_null(t->c.etcd_password);
	assert_null(t->c.etcd);
	assert_false(t->c.cluster);
}

/* ---- [Sink]: the token file, and the ExecOnChange= hook ---- */

/* Load the base config plus one [SECTION] KEY=VALUE line (on line BASE_LINES + 2). */
static int load_section_key(struct t *t, const char *section, const char *key, const char *value)
{
	char *extra;
	int r;

	assert_true(asprintf(&extra, "[%s]\n%s=%s\n", section, key, value) > 0);
	r = load(t, extra);
	free(extra);
	return r;
}

static void sink_and_hook_are_off_by_default(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, ""));
	assert_null(t->c.sink_file);
	assert_int_equal(t->c.sink_mode, 0640);
	assert_false(t->c.has_sink_group);
	assert_int_equal(t->c.sink_format, CONFIG_SINK_TOKEN);
	assert_null(t->c.exec_on_change);
	assert_int_equal(t->c.exec_on_change_timeout, 30 * USEC_PER_SEC);
}

static void sink_file_takes_an_absolute_path(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load_section_key(t, "Sink", "File", "/run/tvtokend/token"));
	assert_string_equal(t->c.sink_file, "/run/tvtokend/token");
}

static void sink_file_that_is_relative_is_rejected_with_file_line_and_key(void **state)
{
	struct t *t = *state;
	int r = load_section_key(t, "Sink", "File", "run/token");

	assert_only_error(t, r, "%s:%d: File: \"run/token\" is not an absolute path", t->conf,
	    BASE_LINES + 2);
}

static void sink_file_empty_means_no_token_file(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Sink]\nFile=/run/token\nFile=\n"));
	assert_null(t->c.sink_file);
}

static void sink_file_naming_a_directory_is_rejected(void **state)
{
	struct t *t = *state;
	int r = load_section_key(t, "Sink", "File", "/run/tvtokend/");

	assert_only_error(t, r, "%s:%d: File: names a directory; name the token file itself",
	    t->conf, BASE_LINES + 2);
}

static void sink_file_may_not_be_the_state_file(void **state)
{
	struct t *t = *state;
	int r = load(t, "[Token]\nStateFile=/run/x/token.json\n[Sink]\nFile=/run/x/token.json\n");

	assert_only_error(t, r, "%s:%d: File: is StateFile=; the token file needs a path of its own",
	    t->conf, BASE_LINES + 4);
}

static void sink_file_may_not_be_the_default_state_file(void **state)
{
	struct t *t = *state;
	int r;

	setenv("RUNTIME_DIRECTORY", "/run/tvtokend", 1);
	r = load_section_key(t, "Sink", "File", "/run/tvtokend/token.json");
	assert_only_error(t, r, "%s:%d: File: is StateFile=; the token file needs a path of its own",
	    t->conf, BASE_LINES + 2);
}

static void sink_file_may_not_be_the_socket(void **state)
{
	struct t *t = *state;
	int r = load_section_key(t, "Sink", "File", CONFIG_DEFAULT_SOCKET);

	assert_only_error(t, r, "%s:%d: File: is Socket=; the token file needs a path of its own",
	    t->conf, BASE_LINES + 2);
}

static void sink_file_mode_takes_octal_up_to_0777(void **state)
{
	static const struct {
		const char *s;
		mode_t want;
	} cases[] = { { "0600", 0600 }, { "440", 0440 }, { "0", 0 }, { "0660", 0660 } };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_loaded(t, load_section_key(t, "Sink", "FileMode", cases[i].s));
		assert_int_equal(t->c.sink_mode, cases[i].want);
	}
}

static void sink_file_mode_that_is_not_octal_or_too_big_is_rejected(void **state)
{
	static const char *const cases[] = { "1777", "0778", "rw-r-----", "0x1a0", "-0640", "04640" };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = load_section_key(t, "Sink", "FileMode", cases[i]);

		assert_only_error(t, r, "%s:%d: FileMode: \"%s\" is not an octal mode between "
		    "0000 and 0777", t->conf, BASE_LINES + 2, cases[i]);
	}
}

static void sink_file_mode_open_to_others_loads_with_a_warning(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Sink]\nFile=/run/token\nFileMode=0644\n"));
	assert_int_equal(t->e.n_warnings, 1);
	assert_non_null(strstr(t->e.warning[0], "FileMode: 0644 lets every local user read"));
}

static void sink_file_mode_closed_to_others_loads_without_a_warning(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Sink]\nFile=/run/token\nFileMode=0660\n"));
	assert_int_equal(t->e.n_warnings, 0);
}

static void sink_file_group_takes_a_name_or_a_gid(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load_section_key(t, "Sink", "FileGroup", "root"));
	assert_true(t->c.has_sink_group);
	assert_int_equal(t->c.sink_group, 0);
	assert_loaded(t, load_section_key(t, "Sink", "FileGroup", "4321"));
	assert_true(t->c.has_sink_group);
	assert_int_equal(t->c.sink_group, 4321);
	assert_loaded(t, load_section_key(t, "Sink", "FileGroup", ""));
	assert_false(t->c.has_sink_group);
}

static void sink_file_group_unknown_name_is_rejected(void **state)
{
	struct t *t = *state;
	int r = load_section_key(t, "Sink", "FileGroup", "tvtokend-no-such-group");

	assert_only_error(t, r, "%s:%d: FileGroup: unknown group \"tvtokend-no-such-group\"",
	    t->conf, BASE_LINES + 2);
}

static void sink_format_takes_token_json_or_env(void **state)
{
	static const struct {
		const char *s;
		enum config_sink_format want;
	} cases[] = { { "token", CONFIG_SINK_TOKEN }, { "json", CONFIG_SINK_JSON },
		      { "env", CONFIG_SINK_ENV } };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_loaded(t, load_section_key(t, "Sink", "Format", cases[i].s));
		assert_int_equal(t->c.sink_format, cases[i].want);
	}
}

static void sink_format_unknown_or_miscased_is_rejected(void **state)
{
	static const char *const cases[] = { "yaml", "JSON", "token ", "env,json" };
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = load_section_key(t, "Sink", "Format", cases[i]);
		char want[64];

		/* Trailing blanks of a line are not part of the value. */
		snprintf(want, sizeof(want), "%s", cases[i]);
		want[strcspn(want, " ")] = '\0';
		if (strcmp(want, "token") == 0) {
			assert_loaded(t, r);
			continue;
		}
		assert_only_error(t, r, "%s:%d: Format: \"%s\" is not token, json or env", t->conf,
		    BASE_LINES + 2, cases[i]);
	}
}

static void sink_empty_format_is_an_error(void **state)
{
	struct t *t = *state;
	int r = load_section_key(t, "Sink", "Format", "");

	assert_only_error(t, r, "%s:%d: Format: empty value; leave the key out to get its default",
	    t->conf, BASE_LINES + 2);
}

static void exec_on_change_splits_words_at_blanks_and_keeps_quotes(void **state)
{
	struct t *t = *state;
	char **a;

	assert_loaded(t, load_section_key(t, "Sink", "ExecOnChange",
	    "/bin/sh  -c\t'echo x'   \"y\""));
	a = t->c.exec_on_change;
	assert_non_null(a);
	assert_string_equal(a[0], "/bin/sh");
	assert_string_equal(a[1], "-c");
	assert_string_equal(a[2], "'echo");
	assert_string_equal(a[3], "x'");
	assert_string_equal(a[4], "\"y\"");
	assert_null(a[5]);
}

static void exec_on_change_needs_an_absolute_path(void **state)
{
	struct t *t = *state;
	int r = load_section_key(t, "Sink", "ExecOnChange", "sh -c true");

	assert_only_error(t, r, "%s:%d: ExecOnChange: \"sh\" is not an absolute path", t->conf,
	    BASE_LINES + 2);
}

static void exec_on_change_program_must_exist(void **state)
{
	struct t *t = *state;
	int r = load_section_key(t, "Sink", "ExecOnChange", "/nonexistent/tvtokend-hook arg");

	assert_only_error(t, r, "%s:%d: ExecOnChange: cannot run /nonexistent/tvtokend-hook: "
	    "No such file or directory", t->conf, BASE_LINES + 2);
}

static void exec_on_change_program_must_be_executable(void **state)
{
	struct t *t = *state;
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/hook", t->dir);
	write_bytes(path, "#!/bin/sh\n", 10, 0644);
	r = load_section_key(t, "Sink", "ExecOnChange", path);
	assert_only_error(t, r, "%s:%d: ExecOnChange: cannot run %s: Permission denied", t->conf,
	    BASE_LINES + 2, path);
}

static void exec_on_change_program_may_not_be_a_directory(void **state)
{
	struct t *t = *state;
	int r = load_section_key(t, "Sink", "ExecOnChange", "/usr/bin");

	assert_only_error(t, r, "%s:%d: ExecOnChange: cannot run /usr/bin: not a regular file",
	    t->conf, BASE_LINES + 2);
}

static void exec_on_change_with_too_many_words_is_rejected(void **state)
{
	struct t *t = *state;
	char v[1024] = "/bin/true";
	int r;

	for (int i = 0; i < CONFIG_EXEC_ARGS_MAX; i++)
		strcat(v, " a");
	r = load_section_key(t, "Sink", "ExecOnChange", v);
	assert_only_error(t, r, "%s:%d: ExecOnChange: more than %d words", t->conf, BASE_LINES + 2,
	    CONFIG_EXEC_ARGS_MAX);
	v[strlen(v) - 2] = '\0';
	assert_loaded(t, load_section_key(t, "Sink", "ExecOnChange", v));
	assert_string_equal(t->c.exec_on_change[CONFIG_EXEC_ARGS_MAX - 1], "a");
	assert_null(t->c.exec_on_change[CONFIG_EXEC_ARGS_MAX]);
}

static void exec_on_change_empty_means_no_hook(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Sink]\nExecOnChange=/bin/true\nExecOnChange=\n"));
	assert_null(t->c.exec_on_change);
}

static void exec_on_change_is_accepted_in_token_as_a_synonym(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Token]\nExecOnChange=/bin/true x\nExecOnChangeTimeoutSec=5s\n"));
	assert_string_equal(t->c.exec_on_change[0], "/bin/true");
	assert_string_equal(t->c.exec_on_change[1], "x");
	assert_int_equal(t->c.exec_on_change_timeout, 5 * USEC_PER_SEC);
}

static void exec_on_change_last_assignment_wins_across_sections(void **state)
{
	struct t *t = *state;

	assert_loaded(t, load(t, "[Sink]\nExecOnChange=/bin/true sink\n"
	    "[Token]\nExecOnChange=/bin/true token\n"));
	assert_string_equal(t->c.exec_on_change[1], "token");
	write_dropin(t, "hook.conf", "[Sink]\nExecOnChange=/bin/true dropin\n");
	assert_loaded(t, load(t, "[Token]\nExecOnChange=/bin/true token\n"));
	assert_string_equal(t->c.exec_on_change[1], "dropin");
}

static void exec_on_change_timeout_takes_a_time_span_above_zero(void **state)
{
	struct t *t = *state;
	int r;

	assert_loaded(t, load_section_key(t, "Sink", "ExecOnChangeTimeoutSec", "1min 30s"));
	assert_int_equal(t->c.exec_on_change_timeout, 90 * USEC_PER_SEC);
	r = load_section_key(t, "Sink", "ExecOnChangeTimeoutSec", "0");
	assert_only_error(t, r, "%s:%d: ExecOnChangeTimeoutSec: time span \"0\" must be greater than 0",
	    t->conf, BASE_LINES + 2);
}

static void bad_hook_in_a_dropin_names_the_dropin_and_its_line(void **state)
{
	struct t *t = *state;
	int r;

	write_dropin(t, "50-hook.conf", "# hook\n[Sink]\nExecOnChange=relative/hook\n");
	r = load(t, "");
	assert_only_error(t, r, "%s.d/50-hook.conf:3: ExecOnChange: \"relative/hook\" is not an "
	    "absolute path", t->conf);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(timespan_accepts_every_documented_form),
		T(timespan_rejects_malformed_text),
		T(timespan_rejects_zero),
		T(timespan_rejects_overflow),
		T(timespan_leaves_output_untouched_on_failure),

		T(minimal_config_gets_the_contract_defaults),
		T(null_path_means_the_default_path),
		T(missing_main_file_is_an_error),
		T(main_file_that_is_a_directory_is_an_error),
		T(missing_dropin_directory_is_fine),
		T(dropins_are_read_in_lexical_order_after_the_main_file),
		T(dropin_overrides_one_key_and_keeps_the_rest),
		T(dropin_files_not_ending_in_conf_are_ignored),
		T(dropin_errors_name_the_dropin_file_and_line),
		T(dropin_may_supply_required_keys),
		T(dropin_may_fill_a_required_key_left_empty),
		T(dropin_emptying_a_required_key_is_an_error_at_its_line),
		T(later_assignment_in_the_same_file_wins),
		T(unknown_key_is_an_error_with_file_and_line),
		T(key_in_the_wrong_section_is_unknown),
		T(keys_are_case_sensitive),
		T(unknown_section_is_an_error_with_file_and_line),
		T(sections_are_case_sensitive),
		T(keys_after_an_unknown_section_count_again_in_a_known_one),
		T(malformed_section_header_is_an_error),
		T(assignment_outside_a_section_is_an_error),
		T(line_without_equals_is_an_error),
		T(colon_is_not_a_separator),
		T(empty_key_name_is_an_error),
		T(every_error_is_reported_in_file_order),
		T(errors_are_capped_at_config_max_errors),
		T(hash_and_semicolon_inside_a_value_are_part_of_it),
		T(whole_line_comments_are_ignored),
		T(blanks_around_key_and_value_are_trimmed),
		T(value_is_everything_after_the_first_equals),
		T(quotes_are_not_special),
		T(value_longer_than_200_bytes_is_read_whole),
		T(equals_sign_past_200_bytes_still_separates),
		T(indented_assignment_is_not_a_continuation),
		T(indented_text_without_equals_is_an_error_not_a_continuation),
		T(indented_section_header_is_a_section),
		T(crlf_line_ends_are_accepted),
		T(crlf_error_lines_are_counted_right),
		T(utf8_bom_at_the_start_is_skipped),
		T(nul_byte_in_a_file_is_an_error),
		T(last_line_without_a_newline_is_read),
		T(empty_file_reports_the_required_keys),

		T(missing_required_keys_are_reported_with_file_and_key),
		T(empty_required_key_is_an_error_with_line),
		T(empty_value_of_a_key_with_a_default_is_an_error),
		T(empty_value_means_none_for_optional_paths_and_lists),
		T(empty_value_replaces_an_earlier_one),

		T(base_url_demo_resolves_to_the_demo_server),
		T(base_url_live_resolves_to_the_live_server),
		T(base_url_accepts_an_https_url_ending_in_v1),
		T(base_url_accepts_an_http_url_for_tests),
		T(base_url_plain_http_to_loopback_hosts_is_accepted),
		T(base_url_plain_http_elsewhere_is_rejected),
		T(base_url_trailing_slash_is_removed),
		T(base_url_with_another_scheme_is_rejected),
		T(base_url_not_ending_in_v1_is_rejected),
		T(base_url_without_a_host_is_rejected),
		T(base_url_with_a_blank_is_rejected),
		T(name_and_app_id_are_taken_verbatim),
		T(client_id_accepts_its_whole_range),
		T(client_id_out_of_range_is_rejected),
		T(client_id_that_is_not_an_integer_is_rejected),
		T(app_version_is_taken_from_the_config),
		T(device_id_is_taken_from_the_config),
		T(device_id_default_is_a_stable_uuid_that_hides_the_machine_id),
		T(ca_file_is_taken_from_the_config),
		T(relative_paths_are_rejected),
		T(request_timeout_is_taken_from_the_config),

		T(duration_keys_take_systemd_time_spans),
		T(duration_key_rejects_an_invalid_span),
		T(duration_key_rejects_zero),
		T(duration_key_rejects_an_overflowing_span),
		T(duration_key_rejects_an_unknown_unit),
		T(retry_min_longer_than_retry_max_is_rejected),
		T(retry_max_below_the_default_retry_min_is_rejected),
		T(retry_min_equal_to_retry_max_is_accepted),
		T(max_renewals_per_hour_takes_1_to_15),
		T(max_failed_requests_per_hour_takes_1_to_5),
		T(integer_keys_reject_text),
		T(state_file_is_taken_from_the_config),
		T(state_file_defaults_to_the_runtime_directory),
		T(state_file_default_uses_the_first_of_several_runtime_directories),
		T(state_file_default_is_none_without_runtime_directory),
		T(state_file_empty_means_none_even_with_runtime_directory),

		T(socket_is_taken_from_the_config),
		T(socket_path_too_long_for_a_unix_socket_is_rejected),
		T(socket_mode_takes_octal_up_to_0777),
		T(socket_mode_that_is_not_octal_or_too_big_is_rejected),
		T(socket_group_takes_a_name),
		T(socket_group_takes_a_gid),
		T(socket_group_unknown_name_is_rejected),
		T(allow_users_takes_names_and_uids),
		T(allow_users_unknown_name_is_rejected),
		T(allow_users_reports_every_unknown_name),
		T(allow_users_rejects_the_invalid_uid),
		T(allow_groups_takes_names_and_gids),
		T(allow_groups_unknown_name_is_rejected),
		T(allow_users_later_assignment_replaces_the_list),
		T(max_clients_takes_1_to_65536),
		T(max_clients_per_user_defaults_to_1024_and_takes_1_to_65536),
		T(max_pending_output_takes_bytes_or_k_m_g_t),
		T(max_pending_output_refuses_what_is_no_size_or_out_of_range),

		T(secrets_are_read_with_the_trailing_newline_stripped),
		T(secret_trailing_crlf_is_stripped),
		T(secret_loses_only_one_trailing_newline),
		T(secret_without_a_newline_is_kept_whole),
		T(empty_secret_is_an_error),
		T(missing_secret_file_is_an_error),
		T(unreadable_secret_file_is_an_error),
		T(group_readable_secret_loads_with_a_chmod_warning),
		T(secret_writable_by_others_loads_with_a_chmod_warning),
		T(secret_of_4096_bytes_is_accepted),
		T(secret_larger_than_4096_bytes_is_refused),
		T(secret_with_a_nul_byte_is_refused),
		T(secret_file_may_be_a_symlink),
		T(secrets_default_to_the_systemd_credentials),
		T(empty_secret_file_key_means_the_credential),
		T(credentials_may_be_group_readable),
		T(only_files_directly_in_the_credentials_directory_skip_the_mode_warning),
		T(secrets_without_a_file_or_credentials_are_errors),
		T(secret_contents_never_appear_in_errors),

		T(failed_load_leaves_the_output_untouched),
		T(load_without_an_error_list_still_fails),
		T(config_free_wipes_and_zeroes_the_struct),
		T(config_errors_free_empties_the_list),
		T(same_account_when_base_url_and_name_match),
		T(other_account_when_name_differs),
		T(other_account_when_base_url_differs),

		T(without_a_cluster_section_the_broker_is_standalone),
		T(cluster_section_takes_every_key),
		T(cluster_defaults_are_the_name_the_host_and_ten_seconds),
		T(empty_cluster_section_asks_for_etcd),
		T(empty_etcd_is_an_error_even_when_a_drop_in_empties_it),
		T(etcd_refuses_what_is_not_an_endpoint_url),
		T(etcd_takes_at_most_sixteen_endpoints),
		T(election_refuses_what_cannot_be_a_key_prefix),
		T(election_longer_than_128_bytes_is_refused),
		T(default_election_from_a_name_it_cannot_use_asks_for_election),
		T(member_refuses_what_cannot_name_a_broker),
		T(lease_takes_whole_seconds_from_2s_to_5min),
		T(client_certificate_and_key_come_together),
		T(etcd_user_and_client_certificate_exclude_each_other),
		T(etcd_password_defaults_to_the_credential),
		T(etcd_user_without_a_password_source_is_an_error),
		T(etcd_password_file_is_read_like_the_others),
		T(etcd_password_file_without_a_user_is_an_error),
		T(cluster_keys_belong_in_the_cluster_section),
		T(config_free_wipes_the_etcd_password),

		T(shipped_example_loads_once_the_required_keys_are_filled),
		T(shipped_example_alone_asks_for_the_required_keys),
		T(shipped_example_uncommented_shows_valid_defaults),

		T(sink_and_hook_are_off_by_default),
		T(sink_file_takes_an_absolute_path),
		T(sink_file_that_is_relative_is_rejected_with_file_line_and_key),
		T(sink_file_empty_means_no_token_file),
		T(sink_file_naming_a_directory_is_rejected),
		T(sink_file_may_not_be_the_state_file),
		T(sink_file_may_not_be_the_default_state_file),
		T(sink_file_may_not_be_the_socket),
		T(sink_file_mode_takes_octal_up_to_0777),
		T(sink_file_mode_that_is_not_octal_or_too_big_is_rejected),
		T(sink_file_mode_open_to_others_loads_with_a_warning),
		T(sink_file_mode_closed_to_others_loads_without_a_warning),
		T(sink_file_group_takes_a_name_or_a_gid),
		T(sink_file_group_unknown_name_is_rejected),
		T(sink_format_takes_token_json_or_env),
		T(sink_format_unknown_or_miscased_is_rejected),
		T(sink_empty_format_is_an_error),
		T(exec_on_change_splits_words_at_blanks_and_keeps_quotes),
		T(exec_on_change_needs_an_absolute_path),
		T(exec_on_change_program_must_exist),
		T(exec_on_change_program_must_be_executable),
		T(exec_on_change_program_may_not_be_a_directory),
		T(exec_on_change_with_too_many_words_is_rejected),
		T(exec_on_change_empty_means_no_hook),
		T(exec_on_change_is_accepted_in_token_as_a_synonym),
		T(exec_on_change_last_assignment_wins_across_sections),
		T(exec_on_change_timeout_takes_a_time_span_above_zero),
		T(bad_hook_in_a_dropin_names_the_dropin_and_its_line),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
