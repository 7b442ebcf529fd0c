/* Who may talk to the broker (CONTRACT §3 Allow*, §7). */
#ifndef TVTOKEND_PEER_H
#define TVTOKEND_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PEER_GROUPS_MAX 64

struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t *groups;           /* NULL until asked for: gid, the socket's groups, the user's groups */
	size_t n_groups;         /* at most PEER_GROUPS_MAX */
	bool socket_groups;      /* the socket's groups (SO_PEERGROUPS) were read */
	bool user_groups;        /* the user database's groups were looked up */
	bool comm_read;          /* comm was read (or could not be) */
	char comm[16];           /* /proc/PID/comm, "" when unknown: see peer_comm() */
};

/* Fill from SO_PEERCRED alone: one system call, nothing else. 0 or -errno, p untouched on failure. */
int peer_from_fd(int fd, struct peer *p);

/* Add the primary group and the groups the process carried when it connected (SO_PEERGROUPS). */
void peer_load_groups(int fd, struct peer *p);

/* Add the groups the user database lists for p->uid (getgrouplist); may block on NSS. */
void peer_lookup_user_groups(struct peer *p);

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
