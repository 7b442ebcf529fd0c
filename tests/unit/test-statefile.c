/* The state file: round trip, permissions, and everything that must be refused. */
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

#include "statefile.h"

#define URL "https://demo.tradovateapi.com/v1"

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

static void test_round_trip_keeps_every_field(void **state)
{
	struct fixture *f = *state;
	struct token in = {
		.access_token = "tok-a", .md_access_token = "md-a", .expiration = 1800000000123456ull,
		.user_id = 4242, .has_user_id = true, .name = "demo", .generation = 17,
	};
	struct token out = { 0 };

	assert_int_equal(statefile_write(f->path, URL, "demo", &in, 17), 0);
	assert_int_equal(statefile_read(f->path, URL, "demo", &out), 0);
	assert_string_equal(out.access_token, "tok-a");
	assert_string_equal(out.md_access_token, "md-a");
	assert_true(out.expiration == in.expiration);
	assert_true(out.has_user_id);
	assert_int_equal(out.user_id, 4242);
	assert_string_equal(out.name, "demo");
	assert_int_equal(out.generation, 17);
	token_clear(&out);
}

static void test_file_is_private_and_no_temp_file_is_left(void **state)
{
	struct fixture *f = *state;
	struct token in = { .access_token = "tok-b", .expiration = 1800000000000000ull };
	struct stat st;

	umask(022);
	assert_int_equal(statefile_write(f->path, URL, "demo", &in, 1), 0);
	assert_int_equal(statefile_write(f->path, URL, "demo", &in, 2), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_files(f->dir), 1);
}

static void test_generation_alone_is_kept_without_a_token(void **state)
{
	struct fixture *f = *state;
	struct token out = { 0 };

	assert_int_equal(statefile_write(f->path, URL, "demo", NULL, 5), 0);
	assert_int_equal(statefile_read(f->path, URL, "demo", &out), 0);
	assert_null(out.access_token);
	assert_int_equal(out.generation, 5);
}

static void test_missing_file_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct token out = { 0 };

	assert_int_equal(statefile_read(f->path, URL, "demo", &out), -ENOENT);
}

static void test_another_account_is_estale(void **state)
{
	struct fixture *f = *state;
	struct token in = { .access_token = "tok-c", .expiration = 1800000000000000ull };
	struct token out = { 0 };

	assert_int_equal(statefile_write(f->path, URL, "demo", &in, 3), 0);
	assert_int_equal(statefile_read(f->path, URL, "someone-else", &out), -ESTALE);
	assert_int_equal(statefile_read(f->path, "https://live.tradovateapi.com/v1", "demo", &out), -ESTALE);
	assert_null(out.access_token);
}

static void test_corrupt_files_are_ebadmsg(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"{\"version\":1}",
		"{\"version\":2,\"baseURL\":\"" URL "\",\"account\":\"demo\",\"generation\":1}",
		"{\"version\":1,\"baseURL\":\"" URL "\",\"account\":\"demo\",\"generation\":-1}",
		"{\"version\":1,\"baseURL\":\"" URL "\",\"account\":\"demo\",\"generation\":1,"
		"\"accessToken\":\"t\"}",
		"{\"version\":1,\"baseURL\":\"" URL "\",\"account\":\"demo\",\"generation\":1,"
		"\"accessToken\":\"\",\"expirationUsec\":5}",
		"{\"version\":1,\"baseURL\":\"" URL "\",\"account\":\"demo\",\"generation\":\"1\"}",
		"{\"version\":1,\"baseURL\":\"" URL "\",\"account\":\"demo\",\"generation\":1} trailing",
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct token out = { 0 };

		write_text(f->path, bad[i]);
		assert_int_equal(statefile_read(f->path, URL, "demo", &out), -EBADMSG);
		assert_null(out.access_token);
	}
}

static void test_oversized_file_is_refused(void **state)
{
	struct fixture *f = *state;
	struct token out = { 0 };
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
	struct token in = { .access_token = "tok-d", .expiration = 1800000000000000ull };

	snprintf(path, sizeof(path), "%s/nonexistent/token.json", f->dir);
	assert_int_equal(statefile_write(path, URL, "demo", &in, 1), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_round_trip_keeps_every_field),
		T(test_file_is_private_and_no_temp_file_is_left),
		T(test_generation_alone_is_kept_without_a_token),
		T(test_missing_file_is_enoent),
		T(test_another_account_is_estale),
		T(test_corrupt_files_are_ebadmsg),
		T(test_oversized_file_is_refused),
		T(test_write_into_missing_directory_fails_cleanly),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
