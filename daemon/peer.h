/* SPDX-License-Identifier: MIT */
/* Who may talk to the broker (CONTRACT §3 Allow*, §7). */
#ifndef TVTOKEND_PEER_H
#define TVTOKEND_PEER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "timeutil.h"

/* Groups taken from each source (the socket, the user database): the kernel's limit, 65536 on Linux. */
#define PEER_GROUPS_MAX NGROUPS_MAX
/* Users whose groups the cache holds, for how long, and how many gids in all. */
#define PEER_CACHE_USERS 256
#define PEER_CACHE_TTL (60 * USEC_PER_SEC)
#define PEER_CACHE_GIDS (1024 * 1024)

struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t *groups;           /* NULL until asked for: gid, the socket's groups, the user's groups; sorted, once each */
	size_t n_groups;         /* at most 2 * PEER_GROUPS_MAX + 1 */
	bool socket_groups;      /* the socket's groups (SO_PEERGROUPS) were read */
	bool user_groups;        /* the user database's groups were looked up */
	bool comm_read;          /* comm was read (or could not be) */
	char comm[16];           /* /proc/PID/comm, "" when unknown: see peer_comm() */
};

/* The user database's groups of recent uids: see peer_lookup_user_groups(). */
struct peer_cache;

/* Fill from SO_PEERCRED alone: one system call, nothing else. 0 or -errno, p untouched on failure. */
int peer_from_fd(int fd, struct peer *p);

/* Add the primary group and the groups the process carried when it connected (SO_PEERGROUPS). */
void peer_load_groups(int fd, struct peer *p);

/*
 * Add the groups the user database lists for p->uid (getpwuid_r and
 * getgrouplist, which may block on NSS: LDAP, sssd). With a cache, a uid
 * looked up less than PEER_CACHE_TTL before now (monotonic) is not looked up
 * again. 1 when the user database was asked, 0 when the cache answered,
 * -errno when the look-up failed (p->gid is added all the same).
 */
int peer_lookup_user_groups(struct peer *p, struct peer_cache *cache, usec_t now);

/* An empty cache. 0 or -ENOMEM. */
int peer_cache_new(struct peer_cache **out);

/* Forget every user (a reload: the user database may have changed). NULL-safe. */
void peer_cache_flush(struct peer_cache *c);

/* Look-ups of the user database done through the cache, ever. */
unsigned long peer_cache_lookups(const struct peer_cache *c);

/* Free the cache. NULL-safe. */
void peer_cache_free(struct peer_cache *c);

/* The peer's command name, read from /proc on first use: for log lines only. */
const char *peer_comm(struct peer *p);

/* Free what the peer holds. */
void peer_clear(struct peer *p);

/*
 * The decision: root and self_uid always; with both lists empty anyone;
 * otherwise uid in users, or the primary group or a loaded group in groups.
 */
bool peer_allowed(const struct peer *p, uid_t self_uid,
		  const uid_t *users, size_t n_users,
		  const gid_t *groups, size_t n_groups);

#endif
