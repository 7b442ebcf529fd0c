/*
 * Who is at the other end of a client socket, and whether they may talk to
 * the broker (CONTRACT §3 Allow*, §7).
 *
 * A peer's groups are the union, bounded at 64, of its primary group, the
 * groups the process itself carried when it connected (SO_PEERGROUPS: this
 * catches SupplementaryGroups= of a systemd service), and the groups the
 * user database lists for its uid (getgrouplist).
 *
 * A new connection costs one system call here (SO_PEERCRED): groups are
 * read only when an AllowGroups= list needs them, and the command name in
 * /proc only when a log line shows it.
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

#define PEER_PWBUF_MAX (1024 * 1024)

/* Add g to the peer's group list unless it is there already or the list is full (or cannot be made). */
static void
peer_add_group(struct peer *p, gid_t g)
{
	size_t i;

	if (p->groups == NULL) {
		p->groups = calloc(PEER_GROUPS_MAX, sizeof(*p->groups));
		if (p->groups == NULL)
			return;
		p->n_groups = 0;
	}
	for (i = 0; i < p->n_groups; i++)
		if (p->groups[i] == g)
			return;
	if (p->n_groups < PEER_GROUPS_MAX)
		p->groups[p->n_groups++] = g;
}

/* Add the primary group and those the connecting process carried (best effort: older kernels lack SO_PEERGROUPS). */
void
peer_load_groups(int fd, struct peer *p)
{
	gid_t local[PEER_GROUPS_MAX], *g = local;
	socklen_t len = sizeof(local);
	size_t i, n;

	if (p->socket_groups)
		return;
	p->socket_groups = true;
	peer_add_group(p, p->gid);

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
	peer_add_group(p, p->gid);
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

/* The peer's /proc/PID/comm, newline stripped, read once; "" when it cannot be read. */
const char *
peer_comm(struct peer *p)
{
	char path[64], buf[sizeof(p->comm) + 1];
	ssize_t n;
	int fd;

	if (p->comm_read)
		return p->comm;
	p->comm_read = true;
	p->comm[0] = '\0';
	if (p->pid <= 0)
		return p->comm;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)p->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return p->comm;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return p->comm;
	buf[n] = '\0';
	n = (ssize_t)strcspn(buf, "\n");
	if ((size_t)n >= sizeof(p->comm))
		n = sizeof(p->comm) - 1;
	memcpy(p->comm, buf, (size_t)n);
	p->comm[n] = '\0';
	return p->comm;
}

/* Fill p from SO_PEERCRED. */
int
peer_from_fd(int fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred))
		return -EIO;
	memset(p, 0, sizeof(*p));
	p->pid = cred.pid;
	p->uid = cred.uid;
	p->gid = cred.gid;
	return 0;
}

/* Free the group list. */
void
peer_clear(struct peer *p)
{
	free(p->groups);
	p->groups = NULL;
	p->n_groups = 0;
	p->socket_groups = false;
	p->user_groups = false;
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
