/* SPDX-License-Identifier: MIT */
/*
 * The change hook (daemon/hook.c), run for real: /bin/sh commands as hooks,
 * this test's own event loop, and the daemon's log captured from stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config.h"
#include "hook.h"
#include "log.h"
#include "timeutil.h"
#include "token.h"

#define WAIT_MS 10000

static struct event_base *base;
static struct hook *hook;
static char dir[64];
static char log_path[128];
static int stderr_saved = -1;

static int
setup(void **state)
{
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/test-hook-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	base = event_base_new();
	if (base == NULL)
		return -1;
	hook = NULL;
	/* The log goes to a file this test reads. */
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	fflush(stderr);
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	stderr_saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	char path[160];

	hook_free(hook);
	hook = NULL;
	event_base_free(base);
	base = NULL;
	signal(SIGCHLD, SIG_DFL);
	fflush(stderr);
	dup2(stderr_saved, STDERR_FILENO);
	close(stderr_saved);
	unlink(log_path);
	snprintf(path, sizeof(path), "%s/child.pid", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* What was logged so far (malloc'd). */
static char *
logged(void)
{
	char *s = calloc(1, 65536);
	int fd;

	assert_non_null(s);
	fflush(stderr);
	fd = open(log_path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, s, 65535) >= 0);
	close(fd);
	return s;
}

/* Run the loop until the log holds needle, for at most WAIT_MS. */
static bool
wait_logged(const char *needle)
{
	usec_t end = time_monotonic() + WAIT_MS * USEC_PER_MSEC;
	struct timeval tv = { 0, 20000 };
	bool found = false;
	char *s;

	while (!found && time_monotonic() < end) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		s = logged();
		found = strstr(s, needle) != NULL;
		free(s);
	}
	return found;
}

/* Start the hook "/bin/sh -c SCRIPT hook DIR" for a token of generation 1. */
static void
run_hook(const char *script)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, "hook", dir, NULL };
	struct config cfg;
	struct token t = { 0 };

	memset(&cfg, 0, sizeof(cfg));
	cfg.exec_on_change = argv;
	cfg.exec_on_change_timeout = 30 * USEC_PER_SEC;
	assert_int_equal(hook_new(base, &cfg, &hook), 0);
	t.access_token = "tok-1-0123456789abcdef";
	t.expiration = time_now() + USEC_PER_HOUR;
	t.generation = 1;
	hook_token_new(hook, &t);
}

/* Whether process pid runs (a zombie does not). */
static bool
running(pid_t pid)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, ") Z ") == NULL;
}

static void
test_a_hook_that_exits_3_is_logged_as_failed(void **state)
{
	char *s;

	run_hook("exit 3");
	assert_true(wait_logged("for generation 1 failed with exit status 3"));
	s = logged();
	assert_null(strstr(s, "succeeded"));
	free(s);
}

static void
test_a_hook_reaped_by_someone_else_is_logged_with_its_exit_status_unknown(void **state)
{
	char *s;

	/* As in a daemon whose parent left SIGCHLD ignored (main.c resets it; this is the fallback). */
	signal(SIGCHLD, SIG_IGN);
	run_hook("exit 3");
	assert_true(wait_logged("for generation 1 ended after"));
	s = logged();
	assert_non_null(strstr(s, "exit status unknown"));
	assert_null(strstr(s, "succeeded"));
	free(s);
}

static void
test_what_a_hook_leaves_in_its_process_group_is_killed_when_it_ends(void **state)
{
	char path[160], *s;
	FILE *f;
	int pid = 0;
	usec_t end;

	run_hook("sleep 300 >/dev/null 2>&1 & echo $! >\"$1/child.pid\"; exit 0");
	assert_true(wait_logged("for generation 1 succeeded"));
	snprintf(path, sizeof(path), "%s/child.pid", dir);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	end = time_monotonic() + WAIT_MS * USEC_PER_MSEC;
	while (running(pid) && time_monotonic() < end)
		usleep(20000);
	s = logged();
	if (running(pid))
		print_error("log: %s\n", s);
	free(s);
	assert_false(running(pid));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_hook_that_exits_3_is_logged_as_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_hook_reaped_by_someone_else_is_logged_with_its_exit_status_unknown,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_what_a_hook_leaves_in_its_process_group_is_killed_when_it_ends,
		    setup, teardown),
	};

	/* As the daemon does: a hook that does not read its stdin is no reason to die. */
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_TARGET_STDERR, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
