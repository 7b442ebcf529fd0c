/* SPDX-License-Identifier: MIT */
/* Who may talk to the broker (daemon/peer.c). */
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "peer.h"

#define SELF 1000
#define ALICE 1001
#define BOB 1002
#define STAFF 50
#define TVTOKEN 900
#define OTHER 901

static gid_t group_store[PEER_GROUPS_MAX];

/* Order gids for qsort. */
static int
cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return (x > y) - (x < y);
}

/* A peer with uid, primary gid and the given supplementary groups (one at a time: the list is static), sorted as peer.c keeps them. */
static struct peer
make_peer(uid_t uid, gid_t gid, const gid_t *sup, size_t n)
{
	struct peer p;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.pid = 4242;
	p.uid = uid;
	p.gid = gid;
	p.groups = group_store;
	p.groups[p.n_groups++] = gid;
	for (i = 0; i < n; i++)
		p.groups[p.n_groups++] = sup[i];
	qsort(p.groups, p.n_groups, sizeof(*p.groups), cmp_gid);
	return p;
}

static void
test_root_is_always_admitted(void **state)
{
	struct peer p = make_peer(0, 0, NULL, 0);
	uid_t users[] = { ALICE };
	gid_t groups[] = { TVTOKEN };

	assert_true(peer_allowed(&p, SELF, users, 1, groups, 1));
}

static void
test_our_own_uid_is_always_admitted(void **state)
{
	struct peer p = make_peer(SELF, STAFF, NULL, 0);
	uid_t users[] = { ALICE };
	gid_t groups[] = { TVTOKEN };

	assert_true(peer_allowed(&p, SELF, users, 1, groups, 1));
}

static void
test_everyone_is_admitted_when_both_lists_are_empty(void **state)
{
	struct peer p = make_peer(BOB, STAFF, NULL, 0);

	assert_true(peer_allowed(&p, SELF, NULL, 0, NULL, 0));
}

static void
test_a_listed_user_is_admitted(void **state)
{
	struct peer p = make_peer(BOB, STAFF, NULL, 0);
	uid_t users[] = { ALICE, BOB };

	assert_true(peer_allowed(&p, SELF, users, 2, NULL, 0));
}

static void
test_a_member_of_a_listed_group_by_primary_gid_is_admitted(void **state)
{
	struct peer p = make_peer(BOB, TVTOKEN, NULL, 0);
	gid_t groups[] = { TVTOKEN };

	assert_true(peer_allowed(&p, SELF, NULL, 0, groups, 1));
}

static void
test_a_member_of_a_listed_group_by_supplementary_group_is_admitted(void **state)
{
	gid_t sup[] = { OTHER, TVTOKEN };
	struct peer p = make_peer(BOB, STAFF, sup, 2);
	gid_t groups[] = { TVTOKEN };
	uid_t users[] = { ALICE };

	assert_true(peer_allowed(&p, SELF, users, 1, groups, 1));
}

static void
test_a_peer_in_neither_list_is_refused(void **state)
{
	gid_t sup[] = { OTHER };
	struct peer p = make_peer(BOB, STAFF, sup, 1);
	uid_t users[] = { ALICE };
	gid_t groups[] = { TVTOKEN };

	assert_false(peer_allowed(&p, SELF, users, 1, groups, 1));
	assert_false(peer_allowed(&p, SELF, users, 1, NULL, 0));
	assert_false(peer_allowed(&p, SELF, NULL, 0, groups, 1));
}

static void
test_a_group_list_alone_refuses_non_members(void **state)
{
	struct peer p = make_peer(ALICE, STAFF, NULL, 0);
	gid_t groups[] = { TVTOKEN };

	assert_false(peer_allowed(&p, SELF, NULL, 0, groups, 1));
}

static void
test_user_groups_are_looked_up_only_on_request(void **state)
{
	struct peer p;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(peer_from_fd(sv[0], &p), 0);
	assert_false(p.user_groups);
	assert_null(p.groups);
	assert_true(peer_lookup_user_groups(&p, NULL, 0) >= 0);
	assert_true(p.user_groups);
	assert_true(p.n_groups >= 1);
	peer_clear(&p);
	assert_null(p.groups);
	close(sv[0]);
	close(sv[1]);
}

static void
test_socket_groups_are_read_only_on_request(void **state)
{
	struct peer p;
	size_t i;
	bool has_gid = false;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(peer_from_fd(sv[0], &p), 0);
	assert_false(p.socket_groups);
	assert_int_equal(p.n_groups, 0);
	peer_load_groups(sv[0], &p);
	assert_true(p.socket_groups);
	assert_true(p.n_groups >= 1 && p.n_groups <= PEER_GROUPS_MAX);
	for (i = 0; i < p.n_groups; i++)
		if (p.groups[i] == getegid())
			has_gid = true;
	assert_true(has_gid);
	peer_clear(&p);
	close(sv[0]);
	close(sv[1]);
}

static void
test_a_group_past_the_64th_in_a_long_list_is_found(void **state)
{
	gid_t sup[100], groups[] = { 3099 };
	struct peer p;
	size_t i;

	for (i = 0; i < 100; i++)
		sup[i] = (gid_t)(3000 + i);
	p = make_peer(BOB, STAFF, sup, 100);
	assert_true(peer_allowed(&p, SELF, NULL, 0, groups, 1));
	groups[0] = 3100;
	assert_false(peer_allowed(&p, SELF, NULL, 0, groups, 1));
}

static void
test_all_70_supplementary_groups_of_a_peer_are_read(void **state)
{
	gid_t saved[256], sup[70];
	int n_saved, sv[2];
	struct peer p;
	gid_t want[] = { 4069 }, not_there[] = { 4070 };
	size_t i;

	if (geteuid() != 0)
		skip();
	/* The socket carries the groups of the process that made it: ours, for a moment. */
	n_saved = getgroups(256, saved);
	assert_true(n_saved >= 0);
	for (i = 0; i < 70; i++)
		sup[i] = (gid_t)(4000 + i);
	assert_int_equal(setgroups(70, sup), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(setgroups((size_t)n_saved, saved), 0);
	assert_int_equal(peer_from_fd(sv[0], &p), 0);
	p.uid = BOB;
	peer_load_groups(sv[0], &p);
	assert_true(p.n_groups >= 70);
	assert_true(peer_allowed(&p, SELF, NULL, 0, want, 1));
	assert_false(peer_allowed(&p, SELF, NULL, 0, not_there, 1));
	peer_clear(&p);
	close(sv[0]);
	close(sv[1]);
}

/* A peer of uid that has read nothing yet. */
static struct peer
bare_peer(uid_t uid, gid_t gid)
{
	struct peer p;

	memset(&p, 0, sizeof(p));
	p.pid = 4242;
	p.uid = uid;
	p.gid = gid;
	return p;
}

static void
test_the_user_database_is_asked_once_a_minute_per_uid(void **state)
{
	struct peer_cache *c;
	struct peer a = bare_peer(0, 0), b = bare_peer(0, 0), d = bare_peer(0, 0);
	usec_t t0 = 1000 * USEC_PER_SEC;

	assert_int_equal(peer_cache_new(&c), 0);
	assert_int_equal(peer_lookup_user_groups(&a, c, t0), 1);
	assert_int_equal(peer_cache_lookups(c), 1);
	/* Another connection of the same uid within the minute: the cache answers, alike. */
	assert_int_equal(peer_lookup_user_groups(&b, c, t0 + PEER_CACHE_TTL - 1), 0);
	assert_int_equal(peer_cache_lookups(c), 1);
	assert_int_equal(b.n_groups, a.n_groups);
	assert_memory_equal(b.groups, a.groups, a.n_groups * sizeof(gid_t));
	/* A minute on: asked again. */
	assert_int_equal(peer_lookup_user_groups(&d, c, t0 + PEER_CACHE_TTL), 1);
	assert_int_equal(peer_cache_lookups(c), 2);
	peer_clear(&a);
	peer_clear(&b);
	peer_clear(&d);
	peer_cache_free(c);
}

static void
test_a_flushed_cache_asks_the_user_database_again(void **state)
{
	struct peer_cache *c;
	struct peer a = bare_peer(0, 0), b = bare_peer(0, 0);

	assert_int_equal(peer_cache_new(&c), 0);
	assert_int_equal(peer_lookup_user_groups(&a, c, USEC_PER_SEC), 1);
	peer_cache_flush(c);
	assert_int_equal(peer_lookup_user_groups(&b, c, 2 * USEC_PER_SEC), 1);
	assert_int_equal(peer_cache_lookups(c), 2);
	peer_clear(&a);
	peer_clear(&b);
	peer_cache_free(c);
}

static void
test_the_cache_keeps_256_uids_and_forgets_the_oldest(void **state)
{
	struct peer_cache *c;
	struct peer p;
	unsigned i;

	assert_int_equal(peer_cache_new(&c), 0);
	/* uids no user has: an unknown user is an answer too (no groups but the primary one). */
	for (i = 0; i <= PEER_CACHE_USERS; i++) {
		p = bare_peer(3000000000u + i, 77);
		assert_int_equal(peer_lookup_user_groups(&p, c, USEC_PER_SEC + i), 1);
		assert_int_equal(p.n_groups, 1);
		assert_int_equal(p.groups[0], 77);
		peer_clear(&p);
	}
	assert_int_equal(peer_cache_lookups(c), PEER_CACHE_USERS + 1);
	/* The last 256 are known; the first was forgotten to make room. */
	p = bare_peer(3000000000u + PEER_CACHE_USERS, 77);
	assert_int_equal(peer_lookup_user_groups(&p, c, 2 * USEC_PER_SEC), 0);
	peer_clear(&p);
	p = bare_peer(3000000000u + 1, 77);
	assert_int_equal(peer_lookup_user_groups(&p, c, 2 * USEC_PER_SEC), 0);
	peer_clear(&p);
	p = bare_peer(3000000000u, 77);
	assert_int_equal(peer_lookup_user_groups(&p, c, 2 * USEC_PER_SEC), 1);
	peer_clear(&p);
	assert_int_equal(peer_cache_lookups(c), PEER_CACHE_USERS + 2);
	peer_cache_free(c);
}

static void
test_the_command_name_is_read_only_when_asked_for(void **state)
{
	struct peer p;
	char comm[64] = "";
	FILE *f;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(peer_from_fd(sv[0], &p), 0);
	assert_false(p.comm_read);
	assert_string_equal(p.comm, "");
	f = fopen("/proc/self/comm", "re");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	assert_string_equal(peer_comm(&p), comm);
	assert_true(p.comm_read);
	/* Read once: a later change of name is not seen. */
	snprintf(p.comm, sizeof(p.comm), "cached");
	assert_string_equal(peer_comm(&p), "cached");
	close(sv[0]);
	close(sv[1]);
}

static void
test_the_command_name_of_a_gone_process_is_empty(void **state)
{
	struct peer p;

	memset(&p, 0, sizeof(p));
	p.pid = 0;
	assert_string_equal(peer_comm(&p), "");
	memset(&p, 0, sizeof(p));
	p.pid = 0x7ffffff0;
	assert_string_equal(peer_comm(&p), "");
}

static void
test_peer_from_fd_on_a_socketpair_is_ourselves(void **state)
{
	struct peer p;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	memset(&p, 0x55, sizeof(p));
	assert_int_equal(peer_from_fd(sv[0], &p), 0);
	assert_int_equal(p.pid, getpid());
	assert_int_equal(p.uid, geteuid());
	assert_int_equal(p.gid, getegid());
	/* Nothing else is read yet. */
	assert_null(p.groups);
	assert_false(p.socket_groups);
	assert_false(p.user_groups);
	assert_false(p.comm_read);
	close(sv[0]);
	close(sv[1]);
}

static void
test_peer_from_fd_fails_on_a_non_socket_and_leaves_the_peer_alone(void **state)
{
	struct peer p;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	memset(&p, 0x77, sizeof(p));
	assert_int_equal(peer_from_fd(fds[0], &p), -ENOTSOCK);
	assert_int_equal(p.uid, (uid_t)0x77777777);
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_is_always_admitted),
		cmocka_unit_test(test_our_own_uid_is_always_admitted),
		cmocka_unit_test(test_everyone_is_admitted_when_both_lists_are_empty),
		cmocka_unit_test(test_a_listed_user_is_admitted),
		cmocka_unit_test(test_a_member_of_a_listed_group_by_primary_gid_is_admitted),
		cmocka_unit_test(test_a_member_of_a_listed_group_by_supplementary_group_is_admitted),
		cmocka_unit_test(test_a_peer_in_neither_list_is_refused),
		cmocka_unit_test(test_a_group_list_alone_refuses_non_members),
		cmocka_unit_test(test_peer_from_fd_on_a_socketpair_is_ourselves),
		cmocka_unit_test(test_user_groups_are_looked_up_only_on_request),
		cmocka_unit_test(test_socket_groups_are_read_only_on_request),
		cmocka_unit_test(test_a_group_past_the_64th_in_a_long_list_is_found),
		cmocka_unit_test(test_all_70_supplementary_groups_of_a_peer_are_read),
		cmocka_unit_test(test_the_user_database_is_asked_once_a_minute_per_uid),
		cmocka_unit_test(test_a_flushed_cache_asks_the_user_database_again),
		cmocka_unit_test(test_the_cache_keeps_256_uids_and_forgets_the_oldest),
		cmocka_unit_test(test_the_command_name_is_read_only_when_asked_for),
		cmocka_unit_test(test_the_command_name_of_a_gone_process_is_empty),
		cmocka_unit_test(test_peer_from_fd_fails_on_a_non_socket_and_leaves_the_peer_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
