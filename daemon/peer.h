/* Who may talk to the broker (CONTRACT §3 Allow*, §7). */
#ifndef TVTOKEND_PEER_H
#define TVTOKEND_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[64];        /* supplementary groups of uid, including gid */
	size_t n_groups;
	char comm[32];           /* /proc/PID/comm, "" when unknown */
	bool user_groups;        /* the user database's groups were looked up */
};

/* Fill from SO_PEERCRED, SO_PEERGROUPS and /proc (no user database lookups). 0 or -errno. */
int peer_from_fd(int fd, struct peer *p);

/* Add the groups the user database lists for p->uid (getgrouplist); may block on NSS. */
void peer_lookup_user_groups(struct peer *p);

/*
 * The decision: root and self_uid always; with both lists empty anyone;
 * otherwise uid in users, or any of the peer's groups in groups.
 */
bool peer_allowed(const struct peer *p, uid_t self_uid,
		  const uid_t *users, size_t n_users,
		  const gid_t *groups, size_t n_groups);

#endif
