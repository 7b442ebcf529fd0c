/* SPDX-License-Identifier: MIT */
/*
 * The Varlink socket (CONTRACT §4, §7): listening, clients, access checks,
 * method dispatch.
 *
 * Clients are plain non-blocking sockets on the event loop, with buffers of
 * our own: a call costs one read and one write. Input is read into one
 * buffer shared by every client and handled in place; only what is left
 * over (half a message, calls queued behind a held one) is copied into the
 * client's own input buffer. A reply is written to the socket at once, and
 * only what the socket does not take is queued; calls that arrive together
 * have their replies written together. The GetToken reply is serialised once
 * per token (generation) and written from that copy to every caller and
 * watcher, the copy wiped when the token changes or goes.
 *
 * Calls on one connection are handled one at a time: while a call is held
 * (GetToken wait, a "more" stream, a ReportRejected waiting for the renewal)
 * later calls stay buffered, so replies always come in order. A client that
 * pipelines gets SERVER_TURN_MAX of replies per loop turn, then waits for
 * the next turn, after every socket that is ready then: a flood of calls on
 * some connections delays the others by one turn, not by the flood.
 *
 * Memory is bounded per client and in total (README "Limits"):
 *  - back-pressure: a client whose unread replies pass its share of
 *    MaxPendingOutput= (at most SERVER_OUTPUT_HIGH) is not read, and its
 *    calls not handled, until it has read half of them; it gets every reply;
 *  - a client never holds more than SERVER_INPUT_MAX of unhandled input;
 *  - a watcher that leaves SERVER_OUTPUT_MAX of pushed replies unread is
 *    dropped (nothing else holds a stream back);
 *  - when all clients together hold more than MaxPendingOutput=, those
 *    holding the most, and never one within its fair share of it, are
 *    dropped, with a warning, on the next loop turn.
 *
 * Connections (README "Limits"): MaxClients= in all; MaxClientsPerUser= for
 * every uid but root's and ours; when the table is full and root or our
 * own uid connects, the connection of another uid that has been inactive
 * longest (no byte sent or taken) and holds no call (GetToken wait, a
 * watch, a waiting ReportRejected) makes room, half a message or unread
 * replies included, else the new connection is closed at once.
 *
 * A client that misbehaves or goes away is torn down at once and freed on a
 * later loop turn, never inside one of its own callbacks. Log lines a peer
 * can cause (refusals, drops) are rate-limited.
 *
 * Unknown members of the call object itself (beside method, parameters,
 * more, oneway) are ignored, as the Varlink spec lets newer clients add them;
 * unknown members of "parameters" are InvalidParameter. Names are compared
 * byte for byte, length included: a method name with a NUL in it is unknown.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker.h"
#include "config.h"
#include "io.tvtokend.Broker.varlink.h"
#include "lifecycle.h"
#include "log.h"
#include "peer.h"
#include "server.h"
#include "timeutil.h"
#include "token.h"
#include "varlink.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                      \
	for ((var) = TAILQ_FIRST(head);                                 \
	     (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);     \
	     (var) = (tvar))
#endif

#define SERVER_IFACE_SERVICE "org.varlink.service"
#define SERVER_IFACE_BROKER "io.tvtokend.Broker"
#define SERVER_URL "https://github.com/tvtokend/tvtokend"

#define SERVER_ERR_NO_TOKEN "io.tvtokend.Broker.NoToken"
#define SERVER_ERR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define SERVER_ERR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define SERVER_ERR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define SERVER_ERR_PERMISSION_DENIED "org.varlink.service.PermissionDenied"

/* Bytes read from a socket per wake-up, into the buffer all clients share. */
#define SERVER_READ_MAX (64 * 1024)
/* Unhandled input a client may hold: one message of the largest size, and some. */
#define SERVER_INPUT_MAX (2 * (VARLINK_MESSAGE_MAX + 1))
/* Replies of calls that arrived together, gathered before they are written. */
#define SERVER_CORK_MAX (16 * 1024)
/* Replies one client gets per loop turn before the others have theirs (and new clients are accepted). */
#define SERVER_TURN_MAX (16 * 1024)
/* ... and calls it may make (oneway calls have no reply to count). */
#define SERVER_TURN_CALLS 256
/* Connections taken per wake-up of the listening socket. */
#define SERVER_ACCEPT_BATCH 256
/* Log lines a peer can cause: this many per interval, then one line saying how many were not written. */
#define SERVER_LOG_BURST 10
#define SERVER_LOG_INTERVAL (10 * USEC_PER_SEC)

static const char server_service_description[] =
	"# The interface every Varlink service provides: what the service is, and\n"
	"# the descriptions of the interfaces it implements.\n"
	"interface org.varlink.service\n"
	"\n"
	"# Who made the service, its version, and the interfaces it implements.\n"
	"method GetInfo() -> (\n"
	"  vendor: string,\n"
	"  product: string,\n"
	"  version: string,\n"
	"  url: string,\n"
	"  interfaces: []string\n"
	")\n"
	"\n"
	"# The description of one of the implemented interfaces, in the interface definition language.\n"
	"method GetInterfaceDescription(interface: string) -> (description: string)\n"
	"\n"
	"# The service implements no interface of this name.\n"
	"error InterfaceNotFound (interface: string)\n"
	"\n"
	"# The interface has no method of this name.\n"
	"error MethodNotFound (method: string)\n"
	"\n"
	"# The interface defines the method, but this service does not implement it.\n"
	"error MethodNotImplemented (method: string)\n"
	"\n"
	"# A parameter is missing, of the wrong type, unknown, or has a value the method refuses.\n"
	"error InvalidParameter (parameter: string)\n"
	"\n"
	"# The caller is not allowed to use the service.\n"
	"error PermissionDenied ()\n"
	"\n"
	"# The method must be called with \"more\": true.\n"
	"error ExpectedMore ()\n";

/* CONTRACT §4, verbatim: daemon/io.tvtokend.Broker.varlink, also installed. */
static const char server_broker_description[] = IO_TVTOKEND_BROKER_VARLINK;

/* What a client's current call is waiting for. */
enum server_hold {
	SERVER_HOLD_NONE,
	SERVER_HOLD_TOKEN,      /* GetToken wait: until there is a token, or the broker gives up */
	SERVER_HOLD_STREAM,     /* GetToken more: one reply per new token, until it is lost */
	SERVER_HOLD_REPORT,     /* ReportRejected: until the token changes, is lost, or the broker gives up */
};

struct server_client {
	struct server *server;
	TAILQ_ENTRY(server_client) entry;        /* in clients, or dead */
	TAILQ_ENTRY(server_client) resume_entry; /* in resume while queued there */
	int fd;
	struct peer peer;
	struct varlink_buf in;          /* input not handled yet */
	struct varlink_buf out;         /* output the socket has not taken yet */
	size_t mem;                     /* in.cap + out.cap, as counted in server->mem */
	uint64_t sent;                  /* bytes of replies, written or queued, ever */
	uint64_t last_active;           /* server->ticks at connection, its last byte in or out, its last call */
	bool allowed;
	bool privileged;                /* root or our own uid: no per-uid limit, never evicted */
	bool dead;                      /* torn down, waiting to be freed */
	bool closing;                   /* flush what is queued, then drop */
	bool eof;                       /* the peer sent all it will send */
	bool oneway;                    /* the call being handled wants no reply */
	bool cork;                      /* more calls follow: gather replies, write them together */
	bool throttled;                 /* not read until it has read some replies */
	bool reading;                   /* rev is added */
	bool writing;                   /* wev is added */
	bool resume_queued;
	enum server_hold hold;
	bool hold_more;                 /* SERVER_HOLD_TOKEN of a "more" call: stream afterwards */
	uint64_t hold_generation;       /* STREAM: last sent; REPORT: the one reported */
	struct event *rev;              /* both point into evmem */
	struct event *wev;
	_Alignas(16) unsigned char evmem[];
};

TAILQ_HEAD(server_clients, server_client);

/* Open connections of one uid (other than root's and ours). */
struct server_uid {
	uid_t uid;
	unsigned n;
};

/* Log lines of one kind, rate-limited. */
struct server_ratelimit {
	const char *what;
	usec_t start;
	unsigned n;
	unsigned suppressed;
	struct event *flush;            /* says how many were suppressed, at the end of the interval */
};

/* A formatted time, kept while it stays the same (GetStatus asks for the same times again and again). */
struct server_time {
	usec_t t;
	char s[TIME_RFC3339_MAX];
};

struct server {
	struct event_base *base;
	struct broker *broker;
	int fd;
	bool from_systemd;
	char *path;                     /* the socket file we created, NULL from systemd */
	dev_t path_dev;
	ino_t path_ino;
	struct event *accept_ev;
	struct event *accept_pause;     /* EMFILE/ENFILE: accept again after a second */
	struct event *reap;             /* frees dropped clients on a later loop turn */
	struct event *resume_ev;        /* next loop turn: calls left behind a held call, or for later */
	struct event *enforce;          /* drops the largest clients when MaxPendingOutput= is passed */
	struct server_clients clients;
	struct server_clients dead;
	struct server_clients resume;
	unsigned n_resume;
	unsigned n_clients;
	unsigned n_watchers;
	size_t mem;                     /* client buffers in all */
	uint64_t ticks;                 /* counts connections, reads, writes and calls, for "inactive longest" */
	size_t ev_size;                 /* event_get_struct_event_size(), rounded up */

	struct varlink_parser *parser;
	char *rbuf;                     /* SERVER_READ_MAX, shared by every client */
	struct varlink_buf reply;       /* the reply being built; never a token */
	struct varlink_buf info;        /* the replies that never change */
	struct varlink_buf desc_service;
	struct varlink_buf desc_broker;
	struct varlink_buf token;       /* the GetToken reply of token_generation, then its streaming form */
	size_t token_plain;             /* bytes of the first */
	uint64_t token_generation;
	usec_t token_expiration;
	struct server_time times[3];    /* GetStatus: expirationTime, nextRenewal, retryAt */

	struct server_ratelimit rl_denied;
	struct server_ratelimit rl_limits;
	struct server_ratelimit rl_dropped;

	uid_t self_uid;
	unsigned max_clients;
	unsigned max_per_user;
	size_t max_pending;
	uid_t *allow_users;
	size_t n_allow_users;
	gid_t *allow_groups;
	size_t n_allow_groups;
	struct peer_cache *groups;      /* the user database's groups of recent uids (AllowGroups=) */
	struct server_uid *uids;        /* sorted by uid */
	size_t n_uids;
	size_t cap_uids;
};

/* One parameter of a method: its name, its type, whether it may be left out. */
struct server_param {
	const char *name;
	enum varlink_type type;
	bool optional;
};

typedef void (*server_method_fn)(struct server_client *c, const struct varlink_call *call);

struct server_method {
	const char *name;               /* fully qualified */
	server_method_fn fn;
	struct server_param params[2];  /* up to the first NULL name; fewer than VARLINK_PARAMS_MAX */
};

static void server_client_drop(struct server_client *c);
static void server_client_run(struct server_client *c);
static int server_adopt_fd(int fd);
static void server_client_settle(struct server_client *c);
static void server_client_read_cb(evutil_socket_t fd, short what, void *arg);

/* ---- rate-limited log lines ---- */

/* Say how many lines of this kind were left out, if any. */
static void
server_ratelimit_flush(struct server_ratelimit *rl)
{
	if (rl->suppressed == 0)
		return;
	log_warnx("%s: suppressed %u more messages like this in the last %u s", rl->what,
		  rl->suppressed, (unsigned)(SERVER_LOG_INTERVAL / USEC_PER_SEC));
	rl->suppressed = 0;
}

/* The interval is over: the summary line. */
static void
server_ratelimit_cb(evutil_socket_t fd, short what, void *arg)
{
	server_ratelimit_flush(arg);
}

/* Whether one more line of this kind may be written now. */
static bool
server_ratelimit_pass(struct server_ratelimit *rl)
{
	usec_t now = time_monotonic();
	struct timeval tv;
	usec_t left;

	if (rl->n == 0 || now - rl->start >= SERVER_LOG_INTERVAL) {
		server_ratelimit_flush(rl);
		if (rl->flush != NULL)
			event_del(rl->flush);
		rl->start = now;
		rl->n = 0;
	}
	if (rl->n < SERVER_LOG_BURST) {
		rl->n++;
		return true;
	}
	if (rl->suppressed++ == 0 && rl->flush != NULL) {
		left = rl->start + SERVER_LOG_INTERVAL - now;
		tv.tv_sec = (time_t)(left / USEC_PER_SEC);
		tv.tv_usec = (suseconds_t)(left % USEC_PER_SEC);
		evtimer_add(rl->flush, &tv);
	}
	return false;
}

/* ---- per-uid counts ---- */

/* Where uid is in the sorted table, or where it would go. */
static size_t
server_uid_find(const struct server *s, uid_t uid)
{
	size_t lo = 0, hi = s->n_uids, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->uids[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Open connections of uid. */
static unsigned
server_uid_count(const struct server *s, uid_t uid)
{
	size_t i = server_uid_find(s, uid);

	return i < s->n_uids && s->uids[i].uid == uid ? s->uids[i].n : 0;
}

/* Count one more connection of uid. 0 or -ENOMEM. */
static int
server_uid_take(struct server *s, uid_t uid)
{
	size_t i = server_uid_find(s, uid), cap;
	struct server_uid *u;

	if (i < s->n_uids && s->uids[i].uid == uid) {
		s->uids[i].n++;
		return 0;
	}
	if (s->n_uids == s->cap_uids) {
		cap = s->cap_uids > 0 ? 2 * s->cap_uids : 8;
		u = reallocarray(s->uids, cap, sizeof(*u));
		if (u == NULL)
			return -ENOMEM;
		s->uids = u;
		s->cap_uids = cap;
	}
	memmove(s->uids + i + 1, s->uids + i, (s->n_uids - i) * sizeof(*s->uids));
	s->uids[i].uid = uid;
	s->uids[i].n = 1;
	s->n_uids++;
	return 0;
}

/* Count one connection of uid less. */
static void
server_uid_release(struct server *s, uid_t uid)
{
	size_t i = server_uid_find(s, uid);

	if (i >= s->n_uids || s->uids[i].uid != uid)
		return;
	if (--s->uids[i].n > 0)
		return;
	memmove(s->uids + i, s->uids + i + 1, (s->n_uids - i - 1) * sizeof(*s->uids));
	s->n_uids--;
}

/* ---- client output ---- */

/* The pending output above which a client is not read: its share of MaxPendingOutput=, within bounds. */
static size_t
server_output_high(const struct server *s)
{
	size_t share = s->n_clients > 0 ? s->max_pending / (2 * (size_t)s->n_clients) : s->max_pending;

	if (share > SERVER_OUTPUT_HIGH)
		share = SERVER_OUTPUT_HIGH;
	if (share < SERVER_OUTPUT_FLOOR)
		share = SERVER_OUTPUT_FLOOR;
	return share;
}

/* Recount the client's buffers; past MaxPendingOutput= the largest are dropped on the next loop turn. */
static void
server_client_account(struct server_client *c)
{
	struct server *s = c->server;
	size_t mem = c->in.cap + c->out.cap;

	s->mem = s->mem - c->mem + mem;
	c->mem = mem;
	if (s->mem > s->max_pending)
		event_active(s->enforce, EV_TIMEOUT, 0);
}

/* Log a line about a client, with its pid, uid and command (read only now). */
static void __attribute__((format(printf, 2, 3)))
server_client_debug(struct server_client *c, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (!log_debugging())
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_debug("%s: pid %d uid %u (%s)", what, (int)c->peer.pid, (unsigned)c->peer.uid,
		  peer_comm(&c->peer));
}

/* Watch for the socket to take more output. */
static void
server_client_want_write(struct server_client *c)
{
	if (c->writing || c->dead)
		return;
	if (event_add(c->wev, NULL) < 0) {
		server_client_drop(c);
		return;
	}
	c->writing = true;
}

/* Start or stop reading the socket. */
static void
server_client_want_read(struct server_client *c, bool on)
{
	if (c->dead || c->reading == on)
		return;
	if (on) {
		if (event_add(c->rev, NULL) < 0) {
			server_client_drop(c);
			return;
		}
	} else {
		event_del(c->rev);
	}
	c->reading = on;
}

/* Write what is queued; what the socket does not take stays. */
static void
server_client_flush(struct server_client *c)
{
	ssize_t n;

	if (c->dead || c->out.len == 0)
		return;
	n = write(c->fd, c->out.data + c->out.off, c->out.len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			server_client_want_write(c);
			return;
		}
		server_client_drop(c);
		return;
	}
	if (n > 0)
		c->last_active = ++c->server->ticks;
	varlink_buf_consume(&c->out, (size_t)n);
	if (c->out.len > 0) {
		server_client_want_write(c);
		return;
	}
	varlink_buf_free(&c->out);
	server_client_account(c);
	if (c->writing) {
		event_del(c->wev);
		c->writing = false;
	}
}

/*
 * Send a message given in pieces: straight to the socket when nothing is
 * queued before it, else (or for what the socket does not take) queued.
 * Nothing for a oneway call.
 */
static void
server_client_sendv(struct server_client *c, struct iovec *iov, int n)
{
	size_t total = 0, skip;
	ssize_t w = 0;
	int i;

	if (c->dead || c->oneway || c->closing)
		return;
	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	c->sent += total;
	if (c->out.len == 0 && !c->cork) {
		w = n == 1 ? write(c->fd, iov[0].iov_base, iov[0].iov_len) : writev(c->fd, iov, n);
		if (w > 0)
			c->last_active = ++c->server->ticks;
		if (w >= 0 && (size_t)w == total)
			return;
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				server_client_drop(c);
				return;
			}
			w = 0;
		}
	}
	skip = (size_t)w;
	for (i = 0; i < n; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		varlink_buf_put(&c->out, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip);
		skip = 0;
	}
	server_client_account(c);
	if (c->out.oom) {
		log_warnx("out of memory queueing a reply; client dropped");
		server_client_drop(c);
		return;
	}
	if (c->out.len > SERVER_OUTPUT_MAX) {
		/* Only pushed replies get here: calls are not handled past SERVER_OUTPUT_HIGH. */
		if (server_ratelimit_pass(&c->server->rl_dropped))
			log_info("client pid %d uid %u (%s) does not read its replies, dropped",
				 (int)c->peer.pid, (unsigned)c->peer.uid, peer_comm(&c->peer));
		server_client_drop(c);
		return;
	}
	if (!c->cork)
		server_client_want_write(c);
}

/* Send one message in one piece. */
static void
server_client_send(struct server_client *c, const char *data, size_t len)
{
	struct iovec iov = { (void *)data, len };

	server_client_sendv(c, &iov, 1);
}

/* Send the message built in server->reply, then forget it. */
static void
server_client_send_reply(struct server_client *c, int built)
{
	struct server *s = c->server;

	if (built < 0) {
		log_warnx("out of memory building a reply; client dropped");
		server_client_drop(c);
	} else {
		server_client_send(c, s->reply.data + s->reply.off, s->reply.len);
	}
	varlink_buf_reset(&s->reply);
	if (s->reply.cap > SERVER_CORK_MAX)
		varlink_buf_free(&s->reply);   /* a huge echo: give it back */
}

/* Whether the client's unread replies passed its bound: not read until it has read half of them. */
static bool
server_client_over(struct server_client *c)
{
	size_t high = server_output_high(c->server);

	if (c->throttled) {
		if (c->out.len > high / 2)
			return true;
		c->throttled = false;
		return false;
	}
	if (c->out.len < high)
		return false;
	server_client_flush(c);
	if (c->dead)
		return true;
	if (c->out.len < high)
		return false;
	c->throttled = true;
	return true;
}

/* ---- replies ---- */

/* An error whose parameters are one string member (escaped: it may echo what the peer sent). */
static void
server_client_error1(struct server_client *c, const char *name, const char *key,
		     const char *value, size_t len)
{
	struct varlink_buf *b = &c->server->reply;

	if (c->dead || c->oneway)
		return;
	varlink_begin(b, name);
	varlink_key(b, key);
	varlink_string(b, value, len);
	server_client_send_reply(c, varlink_end(b, false));
}

/* org.varlink.service.InvalidParameter naming the parameter. */
static void
server_client_invalid(struct server_client *c, struct varlink_str parameter)
{
	server_client_error1(c, SERVER_ERR_INVALID_PARAMETER, "parameter", parameter.p, parameter.len);
}

/* A time member: RFC 3339, formatted once per value; 0 is null, or nothing when omit is set. */
static void
server_put_time(struct server *s, struct varlink_buf *b, unsigned slot, const char *key,
		usec_t t, bool omit)
{
	struct server_time *st = &s->times[slot];

	if (t == 0) {
		if (!omit) {
			varlink_key(b, key);
			varlink_null(b);
		}
		return;
	}
	if (st->t != t) {
		time_format_rfc3339(t, st->s);
		st->t = t;
	}
	varlink_key(b, key);
	varlink_cstring(b, st->s);
}

/* io.tvtokend.Broker.NoToken with the broker's state, reason and next attempt. */
static void
server_client_no_token(struct server_client *c)
{
	struct server *s = c->server;
	const struct lifecycle *lc = broker_lifecycle(s->broker);
	struct varlink_buf *b = &s->reply;

	server_client_debug(c, "NoToken (%s)", lc_state_to_string(lc->state));
	if (c->dead || c->oneway)
		return;
	varlink_begin(b, SERVER_ERR_NO_TOKEN);
	varlink_key(b, "state");
	varlink_cstring(b, lc_state_to_string(lc->state));
	varlink_key(b, "reason");
	varlink_cstring(b, lc_no_token_reason(lc));
	server_put_time(s, b, 2, "retryAt", lc_retry_at(lc), true);
	server_client_send_reply(c, varlink_end(b, false));
}

/* Forget the serialised token, wiping it. */
static void
server_token_forget(struct server *s)
{
	varlink_buf_free(&s->token);
	s->token_plain = 0;
	s->token_generation = 0;
	s->token_expiration = 0;
}

/*
 * The replies for t, made once per token: the plain one, then the same with
 * "continues" for streams, each one write away. 0 or -ENOMEM.
 */
static int
server_token_serialise(struct server *s, const struct token *t)
{
	struct varlink_buf *b = &s->token;
	size_t body;

	if (b->len > 0 && s->token_generation == t->generation && s->token_expiration == t->expiration)
		return 0;
	varlink_buf_reset(b);
	varlink_begin(b, NULL);
	varlink_key(b, "token");
	varlink_open(b);
	varlink_key(b, "accessToken");
	varlink_cstring(b, t->access_token);
	if (t->md_access_token != NULL) {
		varlink_key(b, "mdAccessToken");
		varlink_cstring(b, t->md_access_token);
	}
	server_put_time(s, b, 0, "expirationTime", t->expiration, false);
	if (t->has_user_id) {
		varlink_key(b, "userId");
		varlink_int(b, t->user_id);
	}
	if (t->name != NULL) {
		varlink_key(b, "name");
		varlink_cstring(b, t->name);
	}
	varlink_key(b, "generation");
	varlink_int(b, (int64_t)t->generation);
	varlink_close(b);
	body = b->len;
	if (varlink_buf_reserve(b, body + sizeof(VARLINK_TAIL) + sizeof(VARLINK_TAIL_CONTINUES)) == 0) {
		varlink_buf_put(b, VARLINK_TAIL, sizeof(VARLINK_TAIL));
		s->token_plain = b->len;
		varlink_buf_put(b, b->data + b->off, body);
		varlink_buf_put(b, VARLINK_TAIL_CONTINUES, sizeof(VARLINK_TAIL_CONTINUES));
	}
	if (b->oom) {
		server_token_forget(s);
		return -ENOMEM;
	}
	s->token_generation = t->generation;
	s->token_expiration = t->expiration;
	return 0;
}

/* Reply {token: t}, with "continues" inside a stream: one of the serialised replies. */
static void
server_client_token(struct server_client *c, const char *method, const struct token *t, bool continues)
{
	struct server *s = c->server;
	const char *start;

	if (server_token_serialise(s, t) < 0) {
		log_warnx("out of memory building a token reply; client dropped");
		server_client_drop(c);
		return;
	}
	server_client_debug(c, "%s: token generation %" PRIu64, method, t->generation);
	start = s->token.data + s->token.off;
	if (continues)
		server_client_send(c, start + s->token_plain, s->token.len - s->token_plain);
	else
		server_client_send(c, start, s->token_plain);
}

/* Whether the client has an open "more" stream (one still waiting for its first token included). */
static bool
server_client_watching(const struct server_client *c)
{
	return c->hold == SERVER_HOLD_STREAM || (c->hold == SERVER_HOLD_TOKEN && c->hold_more);
}

/* Set what the client's call waits for, keeping the count of watchers. */
static void
server_client_hold(struct server_client *c, enum server_hold hold, bool more, uint64_t generation)
{
	struct server *s = c->server;

	if (c->dead)
		return;
	if (server_client_watching(c))
		s->n_watchers--;
	c->hold = hold;
	c->hold_more = more;
	c->hold_generation = generation;
	if (server_client_watching(c))
		s->n_watchers++;
}

/*
 * Handle the client's buffered calls on the next loop turn, after what the
 * socket layer has ready then (new clients first).
 */
static void
server_client_schedule(struct server_client *c)
{
	static const struct timeval now = { 0, 0 };
	struct server *s = c->server;

	if (c->dead || c->resume_queued)
		return;
	TAILQ_INSERT_TAIL(&s->resume, c, resume_entry);
	c->resume_queued = true;
	s->n_resume++;
	if (!evtimer_pending(s->resume_ev, NULL))
		evtimer_add(s->resume_ev, &now);
}

/* A held call ended: pick up the calls queued behind it on a later loop turn. */
static void
server_client_release(struct server_client *c)
{
	server_client_hold(c, SERVER_HOLD_NONE, false, 0);
	server_client_schedule(c);
}

/* ---- methods ---- */

/* org.varlink.service.GetInfo. */
static void
server_method_get_info(struct server_client *c, const struct varlink_call *call)
{
	struct server *s = c->server;

	server_client_send(c, s->info.data + s->info.off, s->info.len);
}

/* org.varlink.service.GetInterfaceDescription. */
static void
server_method_get_interface_description(struct server_client *c, const struct varlink_call *call)
{
	struct server *s = c->server;
	const struct varlink_param *v = varlink_call_param(call, "interface");

	if (varlink_str_is(v->s, SERVER_IFACE_BROKER))
		server_client_send(c, s->desc_broker.data + s->desc_broker.off, s->desc_broker.len);
	else if (varlink_str_is(v->s, SERVER_IFACE_SERVICE))
		server_client_send(c, s->desc_service.data + s->desc_service.off, s->desc_service.len);
	else
		server_client_error1(c, SERVER_ERR_INTERFACE_NOT_FOUND, "interface", v->s.p, v->s.len);
}

/* io.tvtokend.Broker.GetToken: now, held until there is one, or as a stream. */
static void
server_method_get_token(struct server_client *c, const struct varlink_call *call)
{
	struct server *s = c->server;
	struct broker *b = s->broker;
	const struct token *t = broker_token(b);
	const struct varlink_param *v = varlink_call_param(call, "wait");
	bool wait = v != NULL && v->type == VARLINK_BOOL && v->b;

	if (t != NULL) {
		bool stream = call->more && !c->oneway;

		server_client_token(c, "GetToken", t, stream);
		if (stream && !c->dead)
			server_client_hold(c, SERVER_HOLD_STREAM, false, t->generation);
		return;
	}
	/* No token to serve: no copy of the last one stays around either. */
	if (s->token.len > 0)
		server_token_forget(s);
	/* A broker that has already given up would hold the call until a reload: say so now. */
	if (!wait || c->oneway || lc_gives_up(broker_lifecycle(b))) {
		server_client_no_token(c);
		return;
	}
	server_client_debug(c, "GetToken: waits for a token");
	server_client_hold(c, SERVER_HOLD_TOKEN, call->more, 0);
}

/* io.tvtokend.Broker.ReportRejected. */
static void
server_method_report_rejected(struct server_client *c, const struct varlink_call *call)
{
	struct broker *b = c->server->broker;
	const struct varlink_param *v = varlink_call_param(call, "generation");
	const struct token *t;
	int64_t generation = v->i;

	server_client_debug(c, "ReportRejected: generation %" PRId64, generation);
	switch (broker_report_rejected(b, generation)) {
	case LC_REPORT_INVALID:
		server_client_invalid(c, (struct varlink_str){ "generation", 10 });
		return;
	case LC_REPORT_NO_TOKEN:
		server_client_no_token(c);
		return;
	case LC_REPORT_CURRENT:
		t = broker_token(b);
		if (t != NULL)
			server_client_token(c, "ReportRejected", t, false);
		else
			server_client_no_token(c);
		return;
	case LC_REPORT_WAIT:
		if (c->oneway)
			return;
		/* The broker may have moved on already while handling the report. */
		t = broker_token(b);
		if (t != NULL && generation >= 0 && t->generation > (uint64_t)generation) {
			server_client_token(c, "ReportRejected", t, false);
			return;
		}
		server_client_hold(c, SERVER_HOLD_REPORT, false, generation < 0 ? 0 : (uint64_t)generation);
		return;
	}
	server_client_no_token(c);
}

/* io.tvtokend.Broker.GetStatus: every field of CONTRACT §4, never a token. */
static void
server_method_get_status(struct server_client *c, const struct varlink_call *call)
{
	struct server *s = c->server;
	const struct lifecycle *lc = broker_lifecycle(s->broker);
	struct varlink_buf *b = &s->reply;
	usec_t now = time_now();
	size_t errlen;

	server_client_debug(c, "GetStatus");
	if (c->dead || c->oneway)
		return;
	varlink_begin(b, NULL);
	varlink_key(b, "state");
	varlink_cstring(b, lc_state_to_string(lc->state));
	varlink_key(b, "generation");
	varlink_int(b, (int64_t)lc->generation);
	server_put_time(s, b, 0, "expirationTime",
			lc->token.access_token != NULL ? lc->token.expiration : 0, false);
	server_put_time(s, b, 1, "nextRenewal", lc_next_renewal(lc), false);
	server_put_time(s, b, 2, "retryAt", lc_retry_at(lc), false);
	varlink_key(b, "lastError");
	errlen = strnlen(lc->last_error, sizeof(lc->last_error));
	if (errlen > 0)
		varlink_string(b, lc->last_error, errlen);
	else
		varlink_null(b);
	varlink_key(b, "accessTokenRequests");
	varlink_int(b, (int64_t)lc->n_requests);
	varlink_key(b, "renewals");
	varlink_int(b, (int64_t)lc->n_renewals);
	varlink_key(b, "failures");
	varlink_int(b, (int64_t)lc->n_failures);
	varlink_key(b, "renewalsLeftThisHour");
	varlink_int(b, lc_renewals_left(lc, now));
	varlink_key(b, "failedRequestsLeftThisHour");
	varlink_int(b, lc_failed_left(lc, now));
	varlink_key(b, "clients");
	varlink_int(b, s->n_clients);
	varlink_key(b, "watchers");
	varlink_int(b, s->n_watchers);
	varlink_key(b, "version");
	varlink_cstring(b, TVTOKEND_VERSION);
	varlink_key(b, "role");
	varlink_cstring(b, broker_role(s->broker));
	varlink_key(b, "leader");
	if (broker_leader(s->broker) != NULL)
		varlink_cstring(b, broker_leader(s->broker));
	else
		varlink_null(b);
	server_client_send_reply(c, varlink_end(b, false));
}

static const struct server_method server_methods[] = {
	{ SERVER_IFACE_SERVICE ".GetInfo", server_method_get_info, { { .name = NULL } } },
	{ SERVER_IFACE_SERVICE ".GetInterfaceDescription", server_method_get_interface_description,
	  { { "interface", VARLINK_STRING, false }, { .name = NULL } } },
	{ SERVER_IFACE_BROKER ".GetToken", server_method_get_token,
	  { { "wait", VARLINK_BOOL, true }, { .name = NULL } } },
	{ SERVER_IFACE_BROKER ".ReportRejected", server_method_report_rejected,
	  { { "generation", VARLINK_INT, false }, { .name = NULL } } },
	{ SERVER_IFACE_BROKER ".GetStatus", server_method_get_status, { { .name = NULL } } },
};

/* Check parameters against the method's table; the first bad one, or NULL. */
static const struct varlink_str *
server_check_params(const struct server_method *m, const struct varlink_call *call,
		    struct varlink_str *missing)
{
	const struct server_param *sp;
	const struct varlink_param *v;
	size_t k;

	for (k = 0; k < call->n_params; k++) {
		v = &call->params[k];
		for (sp = m->params; sp->name != NULL; sp++)
			if (varlink_str_is(v->name, sp->name))
				break;
		if (sp->name == NULL)
			return &v->name;
		/* null stands for a left-out optional value. */
		if (v->type == VARLINK_NULL ? !sp->optional : v->type != sp->type)
			return &v->name;
	}
	for (sp = m->params; sp->name != NULL; sp++) {
		if (sp->optional)
			continue;
		v = varlink_call_param(call, sp->name);
		if (v == NULL || v->type == VARLINK_NULL) {
			missing->p = sp->name;
			missing->len = strlen(sp->name);
			return missing;
		}
	}
	return NULL;
}

/* Whether the first len bytes of name are those of iface, and nothing more. */
static bool
server_iface_is(struct varlink_str method, size_t len, const char *iface)
{
	return len == strlen(iface) && memcmp(method.p, iface, len) == 0;
}

/* Route one call to its method, or answer with the Varlink error that says why not. */
static void
server_dispatch(struct server_client *c, const struct varlink_call *call)
{
	const struct server_method *m = NULL;
	const struct varlink_str *bad;
	struct varlink_str member, missing;
	size_t iface_len, i;

	c->oneway = call->oneway;
	if (varlink_split_method(call->method, &iface_len, &member) < 0) {
		server_client_error1(c, SERVER_ERR_METHOD_NOT_FOUND, "method", call->method.p, call->method.len);
		goto out;
	}
	if (!server_iface_is(call->method, iface_len, SERVER_IFACE_SERVICE) &&
	    !server_iface_is(call->method, iface_len, SERVER_IFACE_BROKER)) {
		server_client_error1(c, SERVER_ERR_INTERFACE_NOT_FOUND, "interface", call->method.p, iface_len);
		goto out;
	}
	for (i = 0; i < sizeof(server_methods) / sizeof(server_methods[0]); i++)
		if (varlink_str_is(call->method, server_methods[i].name))
			m = &server_methods[i];
	if (m == NULL) {
		server_client_error1(c, SERVER_ERR_METHOD_NOT_FOUND, "method", call->method.p, call->method.len);
		goto out;
	}
	bad = server_check_params(m, call, &missing);
	if (bad != NULL) {
		server_client_invalid(c, *bad);
		goto out;
	}
	m->fn(c, call);
out:
	c->oneway = false;
}

/* Refuse an excluded peer: PermissionDenied to its first call, then close after the flush. */
static void
server_client_deny(struct server_client *c)
{
	struct server *s = c->server;
	struct varlink_buf *b = &s->reply;

	if (server_ratelimit_pass(&s->rl_denied))
		log_client_denied((int)c->peer.pid, (unsigned)c->peer.uid, (unsigned)c->peer.gid,
				  peer_comm(&c->peer));
	server_client_hold(c, SERVER_HOLD_NONE, false, 0);
	c->oneway = false;
	c->cork = false;
	varlink_begin(b, SERVER_ERR_PERMISSION_DENIED);
	server_client_send_reply(c, varlink_end(b, false));
	if (c->dead)
		return;
	c->closing = true;
	server_client_want_read(c, false);
	if (c->out.len == 0)
		server_client_drop(c);
}

/*
 * The client sent what cannot be read: nothing more is read or handled;
 * replies to its earlier calls still go out, then the connection closes.
 */
static void
server_client_close(struct server_client *c)
{
	if (c->dead)
		return;
	c->closing = true;
	c->cork = false;
	server_client_want_read(c, false);
	server_client_flush(c);
	if (!c->dead && c->out.len == 0)
		server_client_drop(c);
}

/* Handle one message. */
static void
server_client_call(struct server_client *c, const char *msg, size_t len)
{
	struct server *s = c->server;
	struct varlink_call call;
	int r;

	c->last_active = ++s->ticks;
	r = varlink_parse_call(s->parser, msg, len, &call);
	if (r == -ENOMEM) {
		log_warnx("out of memory parsing a call; client dropped");
		varlink_call_clear(&call);
		server_client_drop(c);
		return;
	}
	if (r == -EBADMSG || r == -EMSGSIZE) {
		server_client_debug(c, "not a JSON object, connection closed");
		varlink_call_clear(&call);
		server_client_close(c);
		return;
	}
	if (!c->allowed) {
		varlink_call_clear(&call);
		server_client_deny(c);
		return;
	}
	if (r == -EINVAL) {
		server_client_invalid(c, call.bad);
	} else if (r == -ELOOP) {
		/* Too deep to read: say which member, then close like any message we cannot read. */
		server_client_debug(c, "message nested too deep, connection closed after the error");
		server_client_invalid(c, call.bad);
		server_client_close(c);
	} else {
		server_dispatch(c, &call);
	}
	varlink_call_clear(&call);
}

/* Whether the client's next call may be handled now. */
static bool
server_client_ready(struct server_client *c)
{
	return !c->dead && !c->closing && c->hold == SERVER_HOLD_NONE && !server_client_over(c);
}

/*
 * Handle the complete calls at the start of buf while the client may go on,
 * for one turn's worth of replies (the rest on the next turn); the bytes used.
 */
static size_t
server_client_handle(struct server_client *c, const char *buf, size_t len)
{
	uint64_t start = c->sent;
	size_t off = 0, mlen, next;
	unsigned calls = 0;
	int r;

	while (off < len && server_client_ready(c)) {
		if (c->sent - start >= SERVER_TURN_MAX || calls++ == SERVER_TURN_CALLS) {
			server_client_schedule(c);
			break;
		}
		r = varlink_frame(buf + off, len - off, &mlen);
		if (r == 0)
			break;
		if (r < 0) {
			server_client_debug(c, "message over 64 KiB, connection closed");
			server_client_close(c);
			return len;
		}
		next = off + mlen + 1;
		/* More calls behind this one: their replies go out in one write. */
		c->cork = memchr(buf + next, '\0', len - next) != NULL;
		server_client_call(c, buf + off, mlen);
		off = next;
		if (c->out.len >= SERVER_CORK_MAX)
			server_client_flush(c);
	}
	c->cork = false;
	server_client_flush(c);
	return off;
}

/* Handle what the client's own input buffer holds. */
static void
server_client_run(struct server_client *c)
{
	size_t used;

	if (c->dead || c->in.len == 0)
		return;
	used = server_client_handle(c, c->in.data + c->in.off, c->in.len);
	if (c->dead)
		return;
	varlink_buf_consume(&c->in, used);
	if (c->in.len == 0)
		varlink_buf_free(&c->in);
	server_client_account(c);
}

/*
 * After handling: close a client that hung up once it is done, stop
 * reading one whose replies pile up, and start again when they do not.
 */
static void
server_client_settle(struct server_client *c)
{
	if (c->dead)
		return;
	if (c->hold != SERVER_HOLD_NONE) {
		/* A hang-up cancels the held call. */
		if (c->eof) {
			server_client_drop(c);
			return;
		}
		if (c->in.len >= SERVER_INPUT_MAX) {
			server_client_debug(c, "queued too much behind a held call, client dropped");
			server_client_drop(c);
			return;
		}
		server_client_want_read(c, true);
		return;
	}
	if (c->closing) {
		if (c->out.len == 0)
			server_client_drop(c);
		return;
	}
	if (c->throttled) {
		server_client_want_read(c, false);
		server_client_want_write(c);
		return;
	}
	if (c->resume_queued) {
		/* Calls wait for the next turn: read more once they are handled. */
		server_client_want_read(c, false);
		return;
	}
	if (c->eof) {
		if (c->out.len == 0)
			server_client_drop(c);
		else
			c->closing = true;
		return;
	}
	server_client_want_read(c, true);
}

/* The socket is readable: read once, handle what came. */
static void
server_client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_client *c = arg;
	struct server *s = c->server;
	size_t room = SERVER_INPUT_MAX - c->in.len, used;
	ssize_t n;

	if (room == 0) {
		/* Full: only handling what is there makes room. */
		server_client_want_read(c, false);
		server_client_run(c);
		server_client_settle(c);
		return;
	}
	if (room > SERVER_READ_MAX)
		room = SERVER_READ_MAX;
	n = read(fd, s->rbuf, room);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		server_client_drop(c);
		return;
	}
	c->last_active = ++s->ticks;
	if (n == 0) {
		/* Answer what was sent before the hang-up; a held call is cancelled by it. */
		c->eof = true;
		server_client_want_read(c, false);
		server_client_run(c);
		server_client_settle(c);
		return;
	}
	if (c->in.len == 0) {
		/* The common case: handled where it was read, only a remainder is kept. */
		used = server_client_handle(c, s->rbuf, (size_t)n);
		if (c->dead)
			return;
		if (used < (size_t)n) {
			varlink_buf_put(&c->in, s->rbuf + used, (size_t)n - used);
			server_client_account(c);
		}
	} else {
		varlink_buf_put(&c->in, s->rbuf, (size_t)n);
		server_client_account(c);
		server_client_run(c);
	}
	if (c->dead)
		return;
	if (c->in.oom) {
		log_warnx("out of memory keeping a call; client dropped");
		server_client_drop(c);
		return;
	}
	server_client_settle(c);
}

/* The socket takes output again: write what is queued, go on with what waits. */
static void
server_client_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_client *c = arg;

	server_client_flush(c);
	if (c->dead)
		return;
	if (c->throttled && !server_client_over(c))
		server_client_run(c);
	server_client_settle(c);
}

/* Handle the calls of clients scheduled for this turn (those scheduled meanwhile wait for the next). */
static void
server_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct server_client *c;
	unsigned n = s->n_resume;

	while (n-- > 0 && (c = TAILQ_FIRST(&s->resume)) != NULL) {
		TAILQ_REMOVE(&s->resume, c, resume_entry);
		c->resume_queued = false;
		s->n_resume--;
		server_client_run(c);
		server_client_settle(c);
	}
}

/* Tear a client down now: close its socket; the memory goes on a later loop turn (server_reap_cb). */
static void
server_client_drop(struct server_client *c)
{
	struct server *s = c->server;

	if (c->dead)
		return;
	server_client_hold(c, SERVER_HOLD_NONE, false, 0);
	c->dead = true;
	event_del(c->rev);
	event_del(c->wev);
	c->reading = c->writing = false;
	close(c->fd);
	c->fd = -1;
	TAILQ_REMOVE(&s->clients, c, entry);
	s->n_clients--;
	if (!c->privileged)
		server_uid_release(s, c->peer.uid);
	if (c->resume_queued) {
		TAILQ_REMOVE(&s->resume, c, resume_entry);
		c->resume_queued = false;
		s->n_resume--;
	}
	s->mem -= c->mem;
	c->mem = 0;
	TAILQ_INSERT_TAIL(&s->dead, c, entry);
	event_active(s->reap, EV_TIMEOUT, 0);
}

/* Free a dropped client's memory (its output may hold a token: it is wiped). */
static void
server_client_free(struct server_client *c)
{
	if (c->fd >= 0) {
		event_del(c->rev);
		event_del(c->wev);
		close(c->fd);
	}
	varlink_buf_free(&c->in);
	varlink_buf_free(&c->out);
	peer_clear(&c->peer);
	free(c);
}

/* Free the clients dropped since the last loop turn. */
static void
server_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct server_client *c;

	while ((c = TAILQ_FIRST(&s->dead)) != NULL) {
		TAILQ_REMOVE(&s->dead, c, entry);
		server_client_free(c);
	}
}

/* Order clients by the memory they hold, most first. */
static int
server_cmp_mem(const void *a, const void *b)
{
	const struct server_client *x = *(struct server_client *const *)a;
	const struct server_client *y = *(struct server_client *const *)b;

	return (x->mem < y->mem) - (x->mem > y->mem);
}

/* Drop one client for holding too much of MaxPendingOutput=, saying so (rate-limited). */
static void
server_drop_for_memory(struct server *s, struct server_client *c)
{
	if (server_ratelimit_pass(&s->rl_dropped))
		log_warnx("client pid %d uid %u (%s) holds %zu KiB of unread replies and calls; "
			  "all clients hold more than MaxPendingOutput=%zuK: dropped",
			  (int)c->peer.pid, (unsigned)c->peer.uid, peer_comm(&c->peer),
			  c->mem / 1024, s->max_pending / 1024);
	server_client_drop(c);
}

/*
 * MaxPendingOutput= is passed: drop the clients holding the most until it
 * is not, never one within its fair share (MaxPendingOutput= / clients).
 * One pass and a sort, however many go.
 */
static void
server_enforce_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct server_client *c, *worst = NULL, **over;
	size_t fair, n = 0, i;

	if (s->mem <= s->max_pending || s->n_clients == 0)
		return;
	fair = s->max_pending / s->n_clients;
	over = calloc(s->n_clients, sizeof(*over));
	if (over == NULL) {
		/* No memory to sort: the largest one, and again on the next turn. */
		TAILQ_FOREACH(c, &s->clients, entry)
			if (worst == NULL || c->mem > worst->mem)
				worst = c;
		if (worst != NULL && worst->mem > fair) {
			server_drop_for_memory(s, worst);
			event_active(s->enforce, EV_TIMEOUT, 0);
		}
		return;
	}
	TAILQ_FOREACH(c, &s->clients, entry)
		if (c->mem > fair && n < s->n_clients)
			over[n++] = c;
	qsort(over, n, sizeof(*over), server_cmp_mem);
	for (i = 0; i < n && s->mem > s->max_pending; i++)
		server_drop_for_memory(s, over[i]);
	free(over);
}

/* Whether a peer passes the current Allow* lists (its groups read only when a group list asks). */
static bool
server_peer_allowed(struct server *s, struct server_client *c)
{
	struct peer *p = &c->peer;
	int r;

	if (peer_allowed(p, s->self_uid, s->allow_users, s->n_allow_users,
			 s->allow_groups, s->n_allow_groups))
		return true;
	if (s->n_allow_groups == 0)
		return false;
	if (!p->socket_groups && c->fd >= 0) {
		peer_load_groups(c->fd, p);
		if (peer_allowed(p, s->self_uid, s->allow_users, s->n_allow_users,
				 s->allow_groups, s->n_allow_groups))
			return true;
	}
	if (p->user_groups)
		return false;
	r = peer_lookup_user_groups(p, s->groups, time_monotonic());
	if (r > 0)
		log_debug("looked up the groups of uid %u in the user database (%zu groups)",
			  (unsigned)p->uid, p->n_groups);
	else if (r < 0)
		log_debug("cannot look up the groups of uid %u in the user database: %s",
			  (unsigned)p->uid, strerror(-r));
	return peer_allowed(p, s->self_uid, s->allow_users, s->n_allow_users,
			    s->allow_groups, s->n_allow_groups);
}

/* Take a new connection of a known peer, and start reading its calls. */
static void
server_client_new(struct server *s, int fd, const struct peer *p)
{
	struct server_client *c;

	c = calloc(1, sizeof(*c) + 2 * s->ev_size);
	if (c == NULL) {
		log_warnx("out of memory taking a connection");
		close(fd);
		return;
	}
	c->server = s;
	c->fd = fd;
	c->peer = *p;
	c->privileged = p->uid == 0 || p->uid == s->self_uid;
	c->rev = (struct event *)c->evmem;
	c->wev = (struct event *)(c->evmem + s->ev_size);
	if (event_assign(c->rev, s->base, fd, EV_READ | EV_PERSIST, server_client_read_cb, c) < 0 ||
	    event_assign(c->wev, s->base, fd, EV_WRITE | EV_PERSIST, server_client_write_cb, c) < 0 ||
	    (!c->privileged && server_uid_take(s, p->uid) < 0)) {
		log_warnx("cannot take a connection");
		close(fd);
		free(c);
		return;
	}
	c->allowed = server_peer_allowed(s, c);
	c->last_active = ++s->ticks;
	TAILQ_INSERT_TAIL(&s->clients, c, entry);
	s->n_clients++;
	server_client_want_read(c, true);
	server_client_debug(c, "connected%s", c->allowed ? "" : ", not allowed");
	/*
	 * A client usually sends its call right after connecting: read it now,
	 * not a loop turn later behind every other ready socket.
	 */
	server_client_read_cb(fd, EV_READ, c);
}

/*
 * The table is full and root or our own uid connects: close the connection
 * of another uid that has been inactive longest and holds no call, if there
 * is one. Half a message, unread replies or a refusal not yet read do not
 * protect a connection (issue 7: idle connections must not lock root out);
 * a held call does, since its client waits on us.
 */
static bool
server_evict_idle(struct server *s, const struct peer *p)
{
	struct server_client *c, *idle = NULL;

	TAILQ_FOREACH(c, &s->clients, entry) {
		if (c->privileged || c->hold != SERVER_HOLD_NONE)
			continue;
		if (idle == NULL || c->last_active < idle->last_active)
			idle = c;
	}
	if (idle == NULL)
		return false;
	if (server_ratelimit_pass(&s->rl_limits))
		log_info("MaxClients=%u reached: closed the idle connection of pid %d uid %u (%s) "
			 "to admit uid %u", s->max_clients, (int)idle->peer.pid,
			 (unsigned)idle->peer.uid, peer_comm(&idle->peer), (unsigned)p->uid);
	server_client_drop(idle);
	return true;
}

/* Accepting resumes after an EMFILE/ENFILE pause. */
static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	if (event_add(s->accept_ev, NULL) < 0)
		log_warnx("cannot resume accepting connections");
}

/* Admit a connection within MaxClients= and MaxClientsPerUser=, or close it at once. */
static void
server_admit(struct server *s, int fd)
{
	struct peer p;
	bool privileged;
	int r;

	r = peer_from_fd(fd, &p);
	if (r < 0) {
		errno = -r;
		log_warn("cannot identify a client");
		close(fd);
		return;
	}
	privileged = p.uid == 0 || p.uid == s->self_uid;
	if (!privileged && server_uid_count(s, p.uid) >= s->max_per_user) {
		if (server_ratelimit_pass(&s->rl_limits))
			log_info("uid %u has MaxClientsPerUser=%u connections open: "
				 "connection of pid %d (%s) closed", (unsigned)p.uid, s->max_per_user,
				 (int)p.pid, peer_comm(&p));
		close(fd);
		return;
	}
	if (s->n_clients >= s->max_clients && !(privileged && server_evict_idle(s, &p))) {
		log_debug("MaxClients=%u reached, connection closed", s->max_clients);
		close(fd);
		return;
	}
	server_client_new(s, fd, &p);
}

/* Serve a socket that is already connected, as if it had just been accepted. */
int
server_add_client(struct server *s, int fd)
{
	int r = server_adopt_fd(fd);

	if (r < 0) {
		close(fd);
		return r;
	}
	server_admit(s, fd);
	return 0;
}

/* The listening socket is readable: accept what waits. */
static void
server_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct server *s = arg;
	struct timeval one_second = { 1, 0 };
	int fd, i, err;

	for (i = 0; i < SERVER_ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			err = errno;
			log_warn("accept");
			if (err == EMFILE || err == ENFILE) {
				/* Out of descriptors: give clients a second to go away. */
				event_del(s->accept_ev);
				evtimer_add(s->accept_pause, &one_second);
			}
			return;
		}
		server_admit(s, fd);
	}
}

/*
 * Whether we run in a user namespace that does not map every id (systemd's
 * PrivateUsers=yes): peers other than root and us then look like nobody, so
 * Allow* lists cannot match them. Said once at start and at each reload.
 */
static void
server_warn_userns(const struct config *cfg)
{
	char line[128];
	unsigned long inside, outside, count;
	FILE *f;

	if (cfg->n_allow_users == 0 && cfg->n_allow_groups == 0)
		return;
	f = fopen("/proc/self/uid_map", "re");
	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL &&
	    (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) != 3 || count != 4294967295UL))
		log_warnx("AllowUsers=/AllowGroups= are set but tvtokend runs in a user namespace "
			  "(PrivateUsers=yes): other users look like nobody and will be refused; "
			  "set PrivateUsers=no for the service");
	fclose(f);
}

/* Copy the Allow* lists and the limits from cfg. 0 or -ENOMEM, leaving s untouched on failure. */
static int
server_apply_config(struct server *s, const struct config *cfg)
{
	uid_t *users = NULL;
	gid_t *groups = NULL;

	if (cfg->n_allow_users > 0) {
		users = calloc(cfg->n_allow_users, sizeof(*users));
		if (users == NULL)
			return -ENOMEM;
		memcpy(users, cfg->allow_users, cfg->n_allow_users * sizeof(*users));
	}
	if (cfg->n_allow_groups > 0) {
		groups = calloc(cfg->n_allow_groups, sizeof(*groups));
		if (groups == NULL) {
			free(users);
			return -ENOMEM;
		}
		memcpy(groups, cfg->allow_groups, cfg->n_allow_groups * sizeof(*groups));
	}
	free(s->allow_users);
	free(s->allow_groups);
	s->allow_users = users;
	s->n_allow_users = cfg->n_allow_users;
	s->allow_groups = groups;
	s->n_allow_groups = cfg->n_allow_groups;
	s->max_clients = cfg->max_clients;
	/* A config built by hand (the tests) may leave the new limits out: defaults then. */
	s->max_per_user = cfg->max_clients_per_user > 0 ? cfg->max_clients_per_user : SERVER_MAX_PER_USER;
	s->max_pending = cfg->max_pending_output > 0 ? (size_t)cfg->max_pending_output : SERVER_MAX_PENDING;
	server_warn_userns(cfg);
	return 0;
}

/* Create the parent directories of path (0755), like mkdir -p. */
static int
server_mkdir_parents(const char *path)
{
	char *dir = strdup(path), *p;
	int r = 0;

	if (dir == NULL)
		return -ENOMEM;
	for (p = strchr(dir + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			/* Whatever the umask: clients must reach the socket inside. */
			if (chmod(dir, 0755) < 0) {
				r = -errno;
				break;
			}
		} else if (errno != EEXIST) {
			r = -errno;
			break;
		}
		*p = '/';
	}
	free(dir);
	return r;
}

/*
 * Deal with a file already at the socket path: nothing there or a dead
 * socket (removed) is fine; a socket that answers is another broker.
 */
static int
server_check_stale(const char *path, const struct sockaddr_un *sun, socklen_t sunlen)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, sunlen);
	if (r == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(fd);
		return -EADDRINUSE;
	}
	r = errno;
	close(fd);
	if (r == ENOENT)
		return 0;
	if (r != ECONNREFUSED)
		return -r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Create, bind and listen on path with the configured mode and group. Returns the fd or -errno. */
static int
server_listen_path(struct server *s, const struct config *cfg)
{
	struct sockaddr_un sun;
	socklen_t sunlen;
	struct stat st;
	mode_t old_mask;
	size_t len;
	int fd, r;

	if (cfg->socket == NULL || cfg->socket[0] != '/')
		return -EINVAL;
	len = strlen(cfg->socket);
	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, cfg->socket, len + 1);
	sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);

	r = server_mkdir_parents(cfg->socket);
	if (r < 0)
		return r;
	r = server_check_stale(cfg->socket, &sun, sunlen);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Born private; opened up by chmod/chown once it is ours. */
	old_mask = umask(0177);
	r = bind(fd, (const struct sockaddr *)&sun, sunlen);
	umask(old_mask);
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* chown only when needed: the service's seccomp filter forbids it, and its group is right already. */
	if (chmod(cfg->socket, cfg->socket_mode & 07777) < 0 ||
	    lstat(cfg->socket, &st) < 0 ||
	    (cfg->has_socket_group && st.st_gid != cfg->socket_group &&
	     chown(cfg->socket, (uid_t)-1, cfg->socket_group) < 0) ||
	    listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		unlink(cfg->socket);
		close(fd);
		return r;
	}
	s->path = strdup(cfg->socket);
	if (s->path == NULL) {
		unlink(cfg->socket);
		close(fd);
		return -ENOMEM;
	}
	s->path_dev = st.st_dev;
	s->path_ino = st.st_ino;
	return fd;
}

/* Make a socket passed by systemd non-blocking and close-on-exec. */
static int
server_adopt_fd(int fd)
{
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* Serialise the replies that never change, once. 0 or -ENOMEM. */
static int
server_build_static(struct server *s)
{
	struct varlink_buf *b = &s->info;

	varlink_begin(b, NULL);
	varlink_key(b, "vendor");
	varlink_cstring(b, "tvtokend");
	varlink_key(b, "product");
	varlink_cstring(b, "tvtokend");
	varlink_key(b, "version");
	varlink_cstring(b, TVTOKEND_VERSION);
	varlink_key(b, "url");
	varlink_cstring(b, SERVER_URL);
	varlink_key(b, "interfaces");
	varlink_buf_put(b, "[", 1);
	varlink_cstring(b, SERVER_IFACE_SERVICE);
	varlink_buf_put(b, ",", 1);
	varlink_cstring(b, SERVER_IFACE_BROKER);
	varlink_buf_put(b, "]", 1);
	if (varlink_end(b, false) < 0)
		return -ENOMEM;

	b = &s->desc_service;
	varlink_begin(b, NULL);
	varlink_key(b, "description");
	varlink_cstring(b, server_service_description);
	if (varlink_end(b, false) < 0)
		return -ENOMEM;

	b = &s->desc_broker;
	varlink_begin(b, NULL);
	varlink_key(b, "description");
	varlink_cstring(b, server_broker_description);
	return varlink_end(b, false);
}

/* Set up a rate limit for one kind of log line. 0 or -ENOMEM. */
static int
server_ratelimit_init(struct server *s, struct server_ratelimit *rl, const char *what)
{
	rl->what = what;
	rl->flush = evtimer_new(s->base, server_ratelimit_cb, rl);
	return rl->flush != NULL ? 0 : -ENOMEM;
}

/* Say what was suppressed and free the timer. */
static void
server_ratelimit_free(struct server_ratelimit *rl)
{
	server_ratelimit_flush(rl);
	if (rl->flush != NULL)
		event_free(rl->flush);
	rl->flush = NULL;
}

/* Listen on the systemd socket or create cfg->socket, and start accepting. */
int
server_new(struct event_base *base, const struct config *cfg, struct broker *b,
	   int listen_fd, struct server **out)
{
	struct server *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->base = base;
	s->broker = b;
	s->fd = -1;
	s->self_uid = geteuid();
	s->ev_size = (event_get_struct_event_size() + 15) & ~(size_t)15;
	TAILQ_INIT(&s->clients);
	TAILQ_INIT(&s->dead);
	TAILQ_INIT(&s->resume);
	r = server_apply_config(s, cfg);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	s->rbuf = malloc(SERVER_READ_MAX);
	if (s->rbuf == NULL || peer_cache_new(&s->groups) < 0 ||
	    varlink_parser_new(&s->parser) < 0 || server_build_static(s) < 0 ||
	    server_ratelimit_init(s, &s->rl_denied, "client_denied") < 0 ||
	    server_ratelimit_init(s, &s->rl_limits, "connection limits") < 0 ||
	    server_ratelimit_init(s, &s->rl_dropped, "dropped clients") < 0)
		goto fail;

	if (listen_fd >= 0) {
		r = server_adopt_fd(listen_fd);
		if (r < 0)
			goto fail;
		s->fd = listen_fd;
		s->from_systemd = true;
	} else {
		r = server_listen_path(s, cfg);
		if (r < 0)
			goto fail;
		s->fd = r;
	}

	s->accept_ev = event_new(base, s->fd, EV_READ | EV_PERSIST, server_accept_cb, s);
	s->accept_pause = evtimer_new(base, server_accept_resume_cb, s);
	s->reap = event_new(base, -1, 0, server_reap_cb, s);
	s->resume_ev = evtimer_new(base, server_resume_cb, s);
	s->enforce = event_new(base, -1, 0, server_enforce_cb, s);
	if (s->accept_ev == NULL || s->accept_pause == NULL || s->reap == NULL ||
	    s->resume_ev == NULL || s->enforce == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if (event_add(s->accept_ev, NULL) < 0) {
		r = -EIO;
		goto fail;
	}
	*out = s;
	return 0;

fail:
	/* A systemd socket stays open: it is main's and systemd's. */
	if (s->from_systemd)
		s->fd = -1;
	server_free(s);
	return r;
}

/* Take the new Allow* lists and limits; peers no longer allowed are refused from now on. */
void
server_reload(struct server *s, const struct config *cfg)
{
	struct server_client *c, *next;

	if (server_apply_config(s, cfg) < 0) {
		log_warnx("out of memory: keeping the previous AllowUsers=/AllowGroups=/MaxClients=");
		return;
	}
	/* The user database may have changed with the config: look users up anew. */
	peer_cache_flush(s->groups);
	TAILQ_FOREACH_SAFE(c, &s->clients, entry, next) {
		bool was = c->allowed;

		c->allowed = server_peer_allowed(s, c);
		/* A held call of a peer just excluded is answered with the refusal now. */
		if (was && !c->allowed && c->hold != SERVER_HOLD_NONE)
			server_client_deny(c);
	}
}

/* A new token is current: answer those waiting for one, feed the streams, each written in this loop. */
void
server_token_new(struct server *s)
{
	struct server_client *c, *next;
	const struct token *t = broker_token(s->broker);

	if (t == NULL)
		return;
	TAILQ_FOREACH_SAFE(c, &s->clients, entry, next) {
		switch (c->hold) {
		case SERVER_HOLD_NONE:
			break;
		case SERVER_HOLD_TOKEN:
			if (c->hold_more) {
				server_client_token(c, "GetToken", t, true);
				if (!c->dead)
					server_client_hold(c, SERVER_HOLD_STREAM, false, t->generation);
			} else {
				server_client_token(c, "GetToken", t, false);
				server_client_release(c);
			}
			break;
		case SERVER_HOLD_STREAM:
			if (t->generation != c->hold_generation) {
				server_client_token(c, "GetToken", t, true);
				c->hold_generation = t->generation;
			}
			break;
		case SERVER_HOLD_REPORT:
			if (t->generation > c->hold_generation) {
				server_client_token(c, "ReportRejected", t, false);
				server_client_release(c);
			}
			break;
		}
	}
}

/* The token was dropped: its serialised copy is wiped, streams end with NoToken. */
void
server_token_lost(struct server *s)
{
	struct server_client *c, *next;

	server_token_forget(s);
	/*
	 * A report keeps waiting: the broker is already asking for the
	 * replacement, which server_token_new hands it (server_gave_up ends
	 * it if the broker stops trying).
	 */
	TAILQ_FOREACH_SAFE(c, &s->clients, entry, next) {
		if (c->hold != SERVER_HOLD_STREAM)
			continue;
		server_client_no_token(c);
		server_client_release(c);
	}
}

/*
 * The broker stopped trying: calls waiting for a token end with NoToken; a
 * report waiting for a renewal that will not come now gets the still-valid
 * token, unchanged, like a report at the hourly ceiling.
 */
void
server_gave_up(struct server *s)
{
	struct server_client *c, *next;
	const struct token *t = broker_token(s->broker);

	TAILQ_FOREACH_SAFE(c, &s->clients, entry, next) {
		if (c->hold != SERVER_HOLD_TOKEN && c->hold != SERVER_HOLD_REPORT)
			continue;
		if (c->hold == SERVER_HOLD_REPORT && t != NULL)
			server_client_token(c, "ReportRejected", t, false);
		else
			server_client_no_token(c);
		server_client_release(c);
	}
}

/*
 * No new token is coming soon (a hold, a ceiling, a retry past expiry):
 * waiting reports get the still-valid token, unchanged, or NoToken.
 */
void
server_reports_release(struct server *s)
{
	struct server_client *c, *next;
	const struct token *t = broker_token(s->broker);

	TAILQ_FOREACH_SAFE(c, &s->clients, entry, next) {
		if (c->hold != SERVER_HOLD_REPORT)
			continue;
		if (t != NULL)
			server_client_token(c, "ReportRejected", t, false);
		else
			server_client_no_token(c);
		server_client_release(c);
	}
}

/* Open connections, the caller of GetStatus included. */
unsigned
server_clients(const struct server *s)
{
	return s->n_clients;
}

/* Open "more" streams, those still waiting for their first token included. */
unsigned
server_watchers(const struct server *s)
{
	return s->n_watchers;
}

/* Bytes all clients hold in buffers: unread replies and unhandled calls. */
size_t
server_pending(const struct server *s)
{
	return s->mem;
}

/* Close every client, stop listening, and remove the socket file we created. */
void
server_free(struct server *s)
{
	struct server_client *c;
	struct stat st;

	if (s == NULL)
		return;
	while ((c = TAILQ_FIRST(&s->clients)) != NULL) {
		TAILQ_REMOVE(&s->clients, c, entry);
		server_client_free(c);
	}
	while ((c = TAILQ_FIRST(&s->dead)) != NULL) {
		TAILQ_REMOVE(&s->dead, c, entry);
		server_client_free(c);
	}
	if (s->accept_ev != NULL)
		event_free(s->accept_ev);
	if (s->accept_pause != NULL)
		event_free(s->accept_pause);
	if (s->reap != NULL)
		event_free(s->reap);
	if (s->resume_ev != NULL)
		event_free(s->resume_ev);
	if (s->enforce != NULL)
		event_free(s->enforce);
	server_ratelimit_free(&s->rl_denied);
	server_ratelimit_free(&s->rl_limits);
	server_ratelimit_free(&s->rl_dropped);
	if (s->fd >= 0)
		close(s->fd);
	/* Only our own file: another broker may have replaced it meanwhile. */
	if (s->path != NULL && lstat(s->path, &st) == 0 &&
	    st.st_dev == s->path_dev && st.st_ino == s->path_ino)
		unlink(s->path);
	varlink_parser_free(s->parser);
	free(s->rbuf);
	varlink_buf_free(&s->reply);
	varlink_buf_free(&s->info);
	varlink_buf_free(&s->desc_service);
	varlink_buf_free(&s->desc_broker);
	server_token_forget(s);
	peer_cache_free(s->groups);
	free(s->uids);
	free(s->path);
	free(s->allow_users);
	free(s->allow_groups);
	free(s);
}
