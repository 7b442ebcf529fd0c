/* SPDX-License-Identifier: MIT */
/*
 * Who is at the other end of a client socket, and whether they may talk to
 * the broker (CONTRACT §3 Allow*, §7).
 *
 * A peer's groups are the union of its primary group, the groups the
 * process itself carried when it connected (SO_PEERGROUPS: this catches
 * SupplementaryGroups= of a systemd service), and the groups the user
 * database lists for its uid (getgrouplist), each source bounded by
 * PEER_GROUPS_MAX (the kernel's NGROUPS_MAX), kept sorted in an array of
 * just their size.
 *
 * A new connection costs one system call here (SO_PEERCRED): groups are
 * read only when an AllowGroups= list needs them, and the command name in
 * /proc only when a log line shows it. The user database may be LDAP or
 * sssd, asked from the event loop: a small cache (PEER_CACHE_USERS uids for
 * PEER_CACHE_TTL, PEER_CACHE_GIDS gids in all, emptied at a reload) makes a
 * client that reconnects all the time cost one look-up a minute.
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
/* Groups asked for first; more when the kernel or the user database says there are more. */
#define PEER_GROUPS_FIRST 64

/* One uid's groups in the user database, as looked up at a time. */
struct peer_cache_entry {
	bool used;
	uid_t uid;
	usec_t at;                      /* monotonic */
	gid_t *groups;                  /* sorted; NULL when none (an unknown user) */
	size_t n;
};

struct peer_cache {
	struct peer_cache_entry e[PEER_CACHE_USERS];
	size_t gids;                    /* in all entries, at most PEER_CACHE_GIDS */
	unsigned long lookups;
};

/* Order gids for qsort and bsearch. */
static int
peer_cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return (x > y) - (x < y);
}

/* Sort g and drop repeats; the count left. */
static size_t
peer_sort_unique(gid_t *g, size_t n)
{
	size_t i, k = 0;

	if (n == 0)
		return 0;
	qsort(g, n, sizeof(*g), peer_cmp_gid);
	for (i = 1; i < n; i++)
		if (g[i] != g[k])
			g[++k] = g[i];
	return k + 1;
}

/* Merge n gids into the peer's sorted list (best effort: without memory the list stays as it was). */
static void
peer_add_groups(struct peer *p, const gid_t *g, size_t n)
{
	size_t total = p->n_groups + n;
	gid_t *m, *fit;

	if (n == 0 && p->groups != NULL)
		return;
	m = reallocarray(NULL, total > 0 ? total : 1, sizeof(*m));
	if (m == NULL)
		return;
	if (p->n_groups > 0)
		memcpy(m, p->groups, p->n_groups * sizeof(*m));
	if (n > 0)
		memcpy(m + p->n_groups, g, n * sizeof(*m));
	total = peer_sort_unique(m, total);
	fit = reallocarray(m, total > 0 ? total : 1, sizeof(*m));
	if (fit != NULL)
		m = fit;
	free(p->groups);
	p->groups = m;
	p->n_groups = total;
}

/* Add the primary group and those the connecting process carried (best effort: older kernels lack SO_PEERGROUPS). */
void
peer_load_groups(int fd, struct peer *p)
{
	socklen_t len = (PEER_GROUPS_FIRST + 1) * sizeof(gid_t);
	gid_t *g, *ng;

	if (p->socket_groups)
		return;
	p->socket_groups = true;
	peer_add_groups(p, &p->gid, 1);

	/* The primary group first, then what the kernel gives. */
	g = malloc(len);
	if (g == NULL)
		return;
	g[0] = p->gid;
	len -= sizeof(gid_t);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g + 1, &len) < 0) {
		if (errno != ERANGE || len > PEER_GROUPS_MAX * sizeof(gid_t)) {
			free(g);
			return;
		}
		ng = realloc(g, len + sizeof(gid_t));
		if (ng == NULL) {
			free(g);
			return;
		}
		g = ng;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g + 1, &len) < 0) {
			free(g);
			return;
		}
	}
	peer_add_groups(p, g, 1 + len / sizeof(gid_t));
	free(g);
}

/*
 * The user database's groups of uid, sorted: the passwd entry's group and
 * getgrouplist's, at most PEER_GROUPS_MAX of the latter. An unknown user
 * has none (*out NULL). 0, or -errno when the database could not be read.
 */
static int
peer_user_db_groups(uid_t uid, gid_t **out, size_t *n_out)
{
	struct passwd pw, *res = NULL;
	size_t size = 4096;
	char *buf = NULL, *nbuf;
	gid_t *list = NULL, *nlist;
	int n = PEER_GROUPS_FIRST, got, r;

	*out = NULL;
	*n_out = 0;
	for (;;) {
		nbuf = realloc(buf, size);
		if (nbuf == NULL) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		r = getpwuid_r(uid, &pw, buf, size, &res);
		if (r != ERANGE || size >= PEER_PWBUF_MAX)
			break;
		size *= 2;
	}
	if (r != 0 || res == NULL) {
		free(buf);
		/* Not found is an answer (no groups); anything else a failure. */
		return r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM ? 0 : -r;
	}
	for (;;) {
		nlist = reallocarray(list, (size_t)n, sizeof(*list));
		if (nlist == NULL) {
			free(list);
			free(buf);
			return -ENOMEM;
		}
		list = nlist;
		got = n;
		/* glibc fills the first n entries and returns -1, with the whole count in got, when there are more. */
		if (getgrouplist(pw.pw_name, pw.pw_gid, list, &got) >= 0)
			break;
		if (got <= n || n == PEER_GROUPS_MAX) {
			got = n;
			break;
		}
		n = got < PEER_GROUPS_MAX ? got : PEER_GROUPS_MAX;
	}
	free(buf);
	if (got < 0 || got > n)
		got = n;
	*n_out = peer_sort_unique(list, (size_t)got);
	*out = list;
	return 0;
}

/* The entry of uid looked up less than PEER_CACHE_TTL before now, or NULL. */
static struct peer_cache_entry *
peer_cache_find(struct peer_cache *c, uid_t uid, usec_t now)
{
	size_t i;

	for (i = 0; i < PEER_CACHE_USERS; i++)
		if (c->e[i].used && c->e[i].uid == uid)
			return now >= c->e[i].at && now - c->e[i].at < PEER_CACHE_TTL ? &c->e[i] : NULL;
	return NULL;
}

/* Forget one entry. */
static void
peer_cache_drop(struct peer_cache *c, struct peer_cache_entry *e)
{
	free(e->groups);
	c->gids -= e->n;
	*e = (struct peer_cache_entry){ 0 };
}

/* The entry looked up longest ago, NULL when the cache is empty. */
static struct peer_cache_entry *
peer_cache_oldest(struct peer_cache *c)
{
	struct peer_cache_entry *old = NULL;
	size_t i;

	for (i = 0; i < PEER_CACHE_USERS; i++)
		if (c->e[i].used && (old == NULL || c->e[i].at < old->at))
			old = &c->e[i];
	return old;
}

/* Keep uid's groups (taking them over), making room by forgetting the oldest. */
static void
peer_cache_put(struct peer_cache *c, uid_t uid, gid_t *groups, size_t n, usec_t now)
{
	struct peer_cache_entry *e = NULL, *old;
	size_t i;

	if (n > PEER_CACHE_GIDS) {
		free(groups);
		return;
	}
	for (i = 0; i < PEER_CACHE_USERS; i++)
		if (c->e[i].used && c->e[i].uid == uid)
			peer_cache_drop(c, &c->e[i]);
	while (c->gids + n > PEER_CACHE_GIDS && (old = peer_cache_oldest(c)) != NULL)
		peer_cache_drop(c, old);
	for (i = 0; i < PEER_CACHE_USERS && e == NULL; i++)
		if (!c->e[i].used)
			e = &c->e[i];
	if (e == NULL) {
		e = peer_cache_oldest(c);
		peer_cache_drop(c, e);
	}
	*e = (struct peer_cache_entry){ .used = true, .uid = uid, .at = now, .groups = groups, .n = n };
	c->gids += n;
}

/*
 * Add the groups the user database lists for the peer's uid: from the cache
 * when it looked them up less than PEER_CACHE_TTL ago, else from NSS (which
 * may block), so only when an AllowGroups= list needs them, once per peer.
 */
int
peer_lookup_user_groups(struct peer *p, struct peer_cache *cache, usec_t now)
{
	struct peer_cache_entry *e;
	gid_t *g;
	size_t n;
	int r;

	p->user_groups = true;
	peer_add_groups(p, &p->gid, 1);
	e = cache != NULL ? peer_cache_find(cache, p->uid, now) : NULL;
	if (e != NULL) {
		peer_add_groups(p, e->groups, e->n);
		return 0;
	}
	if (cache != NULL)
		cache->lookups++;
	r = peer_user_db_groups(p->uid, &g, &n);
	if (r < 0)
		return r;
	peer_add_groups(p, g, n);
	if (cache != NULL)
		peer_cache_put(cache, p->uid, g, n, now);
	else
		free(g);
	return 1;
}

/* An empty cache of the user database's groups. */
int
peer_cache_new(struct peer_cache **out)
{
	struct peer_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	*out = c;
	return 0;
}

/* Forget every uid. */
void
peer_cache_flush(struct peer_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < PEER_CACHE_USERS; i++)
		if (c->e[i].used)
			peer_cache_drop(c, &c->e[i]);
}

/* How many times the user database was asked. */
unsigned long
peer_cache_lookups(const struct peer_cache *c)
{
	return c->lookups;
}

/* Free the cache and what it holds. */
void
peer_cache_free(struct peer_cache *c)
{
	peer_cache_flush(c);
	free(c);
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

	/* p->groups is sorted (peer_add_groups). */
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
		if (p->n_groups > 0 &&
		    bsearch(&groups[j], p->groups, p->n_groups, sizeof(*p->groups), peer_cmp_gid) != NULL)
			return true;
	}
	return false;
}
