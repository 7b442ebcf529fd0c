/*
 * Who is at the other end of a client socket, and whether they may talk to
 * the broker (CONTRACT §3 Allow*, §7).
 *
 * A peer's groups are the union, bounded at 64, of its primary group, the
 * groups the process itself carried when it connected (SO_PEERGROUPS: this
 * catches SupplementaryGroups= of a systemd service), and the groups the
 * user database lists for its uid (getgrouplist).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

#define PEER_GROUPS_MAX (sizeof(((struct peer *)0)->groups) / sizeof(gid_t))
#define PEER_PWBUF_MAX (1024 * 1024)

/* Add g to the peer's group list unless it is there already or the list is full. */
static void
peer_add_group(struct peer *p, gid_t g)
{
	size_t i;

	for (i = 0; i < p->n_groups; i++)
		if (p->groups[i] == g)
			return;
	if (p->n_groups < PEER_GROUPS_MAX)
		p->groups[p->n_groups++] = g;
}

/* Add the groups the connecting process carried (best effort: older kernels lack SO_PEERGROUPS). */
static void
peer_add_socket_groups(int fd, struct peer *p)
{
	gid_t local[PEER_GROUPS_MAX], *g = local;
	socklen_t len = sizeof(local);
	size_t i, n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno != ERANGE || len > NGROUPS_MAX * sizeof(gid_t))
			return;
		g = malloc(len);
		if (g == NULL)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
			free(g);
			return;
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n; i++)
		peer_add_group(p, g[i]);
	if (g != local)
		free(g);
}

/*
 * Add the groups the user database lists for the peer's uid (best effort).
 * This may ask NSS (LDAP, sssd), so it runs only when an AllowGroups= list
 * needs it, once per peer.
 */
void
peer_lookup_user_groups(struct peer *p)
{
	struct passwd pw, *res = NULL;
	gid_t list[PEER_GROUPS_MAX];
	int n = (int)PEER_GROUPS_MAX, i, r;
	size_t size = 4096;
	char *buf = NULL, *nbuf;

	for (;;) {
		nbuf = realloc(buf, size);
		if (nbuf == NULL)
			goto out;
		buf = nbuf;
		r = getpwuid_r(p->uid, &pw, buf, size, &res);
		if (r != ERANGE || size >= PEER_PWBUF_MAX)
			break;
		size *= 2;
	}
	p->user_groups = true;
	if (r != 0 || res == NULL)
		goto out;

	/* glibc fills the first n entries and returns -1 when there are more: keep those. */
	if (getgrouplist(pw.pw_name, pw.pw_gid, list, &n) < 0 && n > (int)PEER_GROUPS_MAX)
		n = (int)PEER_GROUPS_MAX;
	for (i = 0; i < n && i < (int)PEER_GROUPS_MAX; i++)
		peer_add_group(p, list[i]);
out:
	free(buf);
}

/* Read /proc/PID/comm into comm, newline stripped; "" when it cannot be read. */
static void
peer_read_comm(pid_t pid, char *comm, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	comm[0] = '\0';
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	do
		n = read(fd, comm, size - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* Fill p from SO_PEERCRED, the peer's groups and /proc. */
int
peer_from_fd(int fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct peer tmp;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred))
		return -EIO;

	memset(&tmp, 0, sizeof(tmp));
	tmp.pid = cred.pid;
	tmp.uid = cred.uid;
	tmp.gid = cred.gid;
	peer_add_group(&tmp, cred.gid);
	peer_add_socket_groups(fd, &tmp);
	peer_read_comm(cred.pid, tmp.comm, sizeof(tmp.comm));

	*p = tmp;
	return 0;
}

/* Root and ourselves always; no lists: anyone; else a listed uid or any listed group. */
bool
peer_allowed(const struct peer *p, uid_t self_uid,
	     const uid_t *users, size_t n_users,
	     const gid_t *groups, size_t n_groups)
{
	size_t i, j;

	if (p->uid == 0 || p->uid == self_uid)
		return true;
	if (n_users == 0 && n_groups == 0)
		return true;
	for (i = 0; i < n_users; i++)
		if (users[i] == p->uid)
			return true;
	for (j = 0; j < n_groups; j++) {
		if (groups[j] == p->gid)
			return true;
		for (i = 0; i < p->n_groups && i < PEER_GROUPS_MAX; i++)
			if (groups[j] == p->groups[i])
				return true;
	}
	return false;
}
