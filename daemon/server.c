/*
 * The Varlink socket (CONTRACT §4, §7): listening, clients, access checks,
 * method dispatch.
 *
 * Every client is bounded: 64 KiB per message, SERVER_OUTPUT_MAX of pending
 * output, MaxClients connections. Calls on one connection are handled one at
 * a time: while a call is held (GetToken wait, a "more" stream, a
 * ReportRejected waiting for the renewal) later calls stay buffered, so
 * replies always come in order. A client that misbehaves or goes away is
 * torn down at once and freed on a later loop turn, never inside one of its
 * own callbacks.
 *
 * Unknown members of the call object itself (beside method, parameters,
 * more, oneway) are ignored, as the Varlink spec lets newer clients add them;
 * unknown members of "parameters" are InvalidParameter.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "broker.h"
#include "config.h"
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

#define SERVER_ERR_NO_TOKEN "io.tvtokend.Broker.NoToken"
#define SERVER_ERR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define SERVER_ERR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define SERVER_ERR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define SERVER_ERR_PERMISSION_DENIED "org.varlink.service.PermissionDenied"

/* Calls a client may queue behind a held call: one message of the largest size, and some. */
#define SERVER_HELD_INPUT_MAX (2 * (VARLINK_MESSAGE_MAX + 1))
/* Connections taken per wake-up of the listening socket. */
#define SERVER_ACCEPT_BATCH 64

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

/* CONTRACT §4, verbatim. */
static const char server_broker_description[] =
	"# One shared Tradovate access token for every local process.\n"
	"interface io.tvtokend.Broker\n"
	"\n"
	"type Token (\n"
	"  accessToken: string,\n"
	"  mdAccessToken: ?string,\n"
	"  # RFC 3339 UTC on this host's clock (corrected for the server's clock when the reply had a Date header)\n"
	"  expirationTime: string,\n"
	"  userId: ?int,\n"
	"  name: ?string,\n"
	"  # +1 every time the token held by the broker changes\n"
	"  generation: int\n"
	")\n"
	"\n"
	"# The current token. With wait=true and no valid token, the reply is held until there is one,\n"
	"# or until the broker stops trying (credentials rejected, lockout), which ends it with NoToken.\n"
	"# With \"more\": the current token, then one reply per change, until the client hangs up.\n"
	"method GetToken(wait: ?bool) -> (token: Token)\n"
	"\n"
	"# The caller saw the token of this generation refused by Tradovate. If it is still current,\n"
	"# the broker renews it now (once per generation however many callers report it, within the\n"
	"# hourly ceiling) and replies with the new token; if it is older, replies at once with the current one.\n"
	"method ReportRejected(generation: int) -> (token: Token)\n"
	"\n"
	"# For people and monitoring; never contains a token or a secret.\n"
	"method GetStatus() -> (\n"
	"  state: string,\n"
	"  generation: int,\n"
	"  expirationTime: ?string,\n"
	"  nextRenewal: ?string,\n"
	"  retryAt: ?string,\n"
	"  lastError: ?string,\n"
	"  accessTokenRequests: int,\n"
	"  renewals: int,\n"
	"  failures: int,\n"
	"  renewalsLeftThisHour: int,\n"
	"  failedRequestsLeftThisHour: int,\n"
	"  clients: int,\n"
	"  watchers: int,\n"
	"  version: string\n"
	")\n"
	"\n"
	"# There is no valid token now. retryAt: when the broker will next try, if it will.\n"
	"error NoToken (state: string, reason: string, retryAt: ?string)\n";

/* What a client's current call is waiting for. */
enum server_hold {
	SERVER_HOLD_NONE,
	SERVER_HOLD_TOKEN,      /* GetToken wait: until there is a token, or the broker gives up */
	SERVER_HOLD_STREAM,     /* GetToken more: one reply per new token, until it is lost */
	SERVER_HOLD_REPORT,     /* ReportRejected: until the token changes, is lost, or the broker gives up */
};

struct server_client {
	struct server *server;
	TAILQ_ENTRY(server_client) entry;
	struct bufferevent *bev;
	struct event *resume;           /* handles buffered calls on a later loop turn */
	struct peer peer;
	bool allowed;
	bool dead;                      /* torn down, waiting to be freed */
	bool closing;                   /* flush what is queued, then drop */
	bool oneway;                    /* the call being handled wants no reply */
	enum server_hold hold;
	bool hold_more;                 /* SERVER_HOLD_TOKEN of a "more" call: stream afterwards */
	uint64_t hold_generation;       /* STREAM: last sent; REPORT: the one reported */
};

TAILQ_HEAD(server_clients, server_client);

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
	struct server_clients clients;
	struct server_clients dead;
	unsigned n_clients;

	uid_t self_uid;
	unsigned max_clients;
	uid_t *allow_users;
	size_t n_allow_users;
	gid_t *allow_groups;
	size_t n_allow_groups;
};

/* One parameter of a method: its name, its JSON type, whether it may be left out. */
struct server_param {
	const char *name;
	enum json_type type;
	bool optional;
};

typedef void (*server_method_fn)(struct server_client *c, const struct varlink_call *call);

struct server_method {
	const char *name;               /* fully qualified */
	server_method_fn fn;
	struct server_param params[2];  /* up to the first NULL name */
};

static void server_client_drop(struct server_client *c);
static void server_client_process(struct server_client *c);

/* Release a json-c object (NULL-safe), for the error paths of the builders. */
static void
server_json_put(struct json_object *o)
{
	if (o != NULL)
		json_object_put(o);
}

/* Add v under key, taking it; a NULL v is an allocation failure. 0 or -ENOMEM. */
static int
server_json_add(struct json_object *o, const char *key, struct json_object *v)
{
	if (v == NULL || json_object_object_add(o, key, v) < 0) {
		server_json_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* Add an explicit null under key. */
static int
server_json_add_null(struct json_object *o, const char *key)
{
	return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
}

/* Add a wall-clock time as RFC 3339; t == 0 adds null, or nothing when omit is set. */
static int
server_json_add_time(struct json_object *o, const char *key, usec_t t, bool omit)
{
	char buf[TIME_RFC3339_MAX];

	if (t == 0)
		return omit ? 0 : server_json_add_null(o, key);
	return server_json_add(o, key, json_object_new_string(time_format_rfc3339(t, buf)));
}

/* Wipe a secret string's bytes before json-c frees them. */
static void
server_json_wipe(struct json_object *o, void *userdata)
{
	explicit_bzero((char *)json_object_get_string(o), (size_t)json_object_get_string_len(o));
}

/* A json-c string holding a secret: wiped when its last reference goes. */
static struct json_object *
server_json_secret(const char *s)
{
	struct json_object *o = json_object_new_string(s);

	if (o != NULL)
		json_object_set_userdata(o, NULL, server_json_wipe);
	return o;
}

/* The Token type of CONTRACT §4. */
static struct json_object *
server_token_json(const struct token *t)
{
	struct json_object *o = json_object_new_object();
	int r = 0;

	if (o == NULL)
		return NULL;
	r |= server_json_add(o, "accessToken", server_json_secret(t->access_token));
	if (t->md_access_token != NULL)
		r |= server_json_add(o, "mdAccessToken", server_json_secret(t->md_access_token));
	r |= server_json_add_time(o, "expirationTime", t->expiration, false);
	if (t->has_user_id)
		r |= server_json_add(o, "userId", json_object_new_int64(t->user_id));
	if (t->name != NULL)
		r |= server_json_add(o, "name", json_object_new_string(t->name));
	r |= server_json_add(o, "generation", json_object_new_int64((int64_t)t->generation));
	if (r != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Check the client's pending output against the cap after something was queued. */
static void
server_client_check_output(struct server_client *c)
{
	size_t pending = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (pending > SERVER_OUTPUT_MAX) {
		log_info("client pid %d uid %u (%s) does not read its replies, dropped",
			 (int)c->peer.pid, (unsigned)c->peer.uid, c->peer.comm);
		server_client_drop(c);
	}
}

/* Queue a reply (params may be NULL for {}), unless the call is oneway. */
static void
server_client_reply(struct server_client *c, struct json_object *params, bool continues)
{
	if (c->dead || c->oneway)
		return;
	if (varlink_reply(bufferevent_get_output(c->bev), params, continues) < 0) {
		server_client_drop(c);
		return;
	}
	server_client_check_output(c);
}

/* Queue an error reply, unless the call is oneway. */
static void
server_client_error(struct server_client *c, const char *name, struct json_object *params)
{
	if (c->dead || c->oneway)
		return;
	if (varlink_error(bufferevent_get_output(c->bev), name, params) < 0) {
		server_client_drop(c);
		return;
	}
	server_client_check_output(c);
}

/* An error whose parameters are one string member. */
static void
server_client_error1(struct server_client *c, const char *name, const char *key,
		     const char *value, size_t len)
{
	struct json_object *p = json_object_new_object();

	if (p == NULL || server_json_add(p, key, json_object_new_string_len(value, (int)len)) < 0) {
		server_json_put(p);
		server_client_drop(c);
		return;
	}
	server_client_error(c, name, p);
	json_object_put(p);
}

/* org.varlink.service.InvalidParameter naming the parameter. */
static void
server_client_invalid(struct server_client *c, const char *parameter)
{
	server_client_error1(c, SERVER_ERR_INVALID_PARAMETER, "parameter",
			     parameter, strnlen(parameter, VARLINK_MESSAGE_MAX));
}

/* io.tvtokend.Broker.NoToken with the broker's state, reason and next attempt. */
static void
server_client_no_token(struct server_client *c)
{
	const struct lifecycle *lc = broker_lifecycle(c->server->broker);
	struct json_object *p = json_object_new_object();
	int r = 0;

	if (p == NULL) {
		server_client_drop(c);
		return;
	}
	r |= server_json_add(p, "state", json_object_new_string(lc_state_to_string(lc->state)));
	r |= server_json_add(p, "reason", json_object_new_string(lc_no_token_reason(lc)));
	r |= server_json_add_time(p, "retryAt", lc_retry_at(lc), true);
	if (r != 0) {
		json_object_put(p);
		server_client_drop(c);
		return;
	}
	log_debug("NoToken (%s) to pid %d uid %u (%s)", lc_state_to_string(lc->state),
		  (int)c->peer.pid, (unsigned)c->peer.uid, c->peer.comm);
	server_client_error(c, SERVER_ERR_NO_TOKEN, p);
	json_object_put(p);
}

/* Reply {token: t}, with "continues" inside a stream. */
static void
server_client_token(struct server_client *c, const char *method, const struct token *t, bool continues)
{
	struct json_object *p = json_object_new_object();

	if (p == NULL || server_json_add(p, "token", server_token_json(t)) < 0) {
		server_json_put(p);
		server_client_drop(c);
		return;
	}
	log_debug("%s: token generation %llu to pid %d uid %u (%s)", method,
		  (unsigned long long)t->generation, (int)c->peer.pid,
		  (unsigned)c->peer.uid, c->peer.comm);
	server_client_reply(c, p, continues);
	json_object_put(p);
}

/* A held call ended: pick up the calls queued behind it on a later loop turn. */
static void
server_client_release(struct server_client *c)
{
	c->hold = SERVER_HOLD_NONE;
	c->hold_more = false;
	c->hold_generation = 0;
	if (!c->dead)
		event_active(c->resume, EV_TIMEOUT, 0);
}

/* org.varlink.service.GetInfo. */
static void
server_method_get_info(struct server_client *c, const struct varlink_call *call)
{
	struct json_object *p = json_object_new_object();
	struct json_object *ifaces = json_object_new_array();
	int r = 0;

	if (p == NULL || ifaces == NULL) {
		server_json_put(p);
		server_json_put(ifaces);
		server_client_drop(c);
		return;
	}
	if (json_object_array_add(ifaces, json_object_new_string(SERVER_IFACE_SERVICE)) < 0 ||
	    json_object_array_add(ifaces, json_object_new_string(SERVER_IFACE_BROKER)) < 0 ||
	    json_object_array_length(ifaces) != 2 ||
	    json_object_array_get_idx(ifaces, 0) == NULL ||
	    json_object_array_get_idx(ifaces, 1) == NULL)
		r = -ENOMEM;
	r |= server_json_add(p, "vendor", json_object_new_string("tvtokend"));
	r |= server_json_add(p, "product", json_object_new_string("tvtokend"));
	r |= server_json_add(p, "version", json_object_new_string(TVTOKEND_VERSION));
	r |= server_json_add(p, "url", json_object_new_string("https://varlink.org"));
	r |= server_json_add(p, "interfaces", ifaces);
	if (r != 0) {
		json_object_put(p);
		server_client_drop(c);
		return;
	}
	server_client_reply(c, p, false);
	json_object_put(p);
}

/* org.varlink.service.GetInterfaceDescription. */
static void
server_method_get_interface_description(struct server_client *c, const struct varlink_call *call)
{
	struct json_object *v, *p;
	const char *iface, *text;

	json_object_object_get_ex(call->parameters, "interface", &v);
	iface = json_object_get_string(v);
	if (strcmp(iface, SERVER_IFACE_BROKER) == 0)
		text = server_broker_description;
	else if (strcmp(iface, SERVER_IFACE_SERVICE) == 0)
		text = server_service_description;
	else {
		server_client_error1(c, SERVER_ERR_INTERFACE_NOT_FOUND, "interface",
				     iface, (size_t)json_object_get_string_len(v));
		return;
	}
	p = json_object_new_object();
	if (p == NULL || server_json_add(p, "description", json_object_new_string(text)) < 0) {
		server_json_put(p);
		server_client_drop(c);
		return;
	}
	server_client_reply(c, p, false);
	json_object_put(p);
}

/* io.tvtokend.Broker.GetToken: now, held until there is one, or as a stream. */
static void
server_method_get_token(struct server_client *c, const struct varlink_call *call)
{
	struct broker *b = c->server->broker;
	const struct token *t = broker_token(b);
	struct json_object *v;
	bool wait = false;

	if (json_object_object_get_ex(call->parameters, "wait", &v) && v != NULL)
		wait = json_object_get_boolean(v);

	if (t != NULL) {
		bool stream = call->more && !c->oneway;

		server_client_token(c, "GetToken", t, stream);
		if (stream && !c->dead) {
			c->hold = SERVER_HOLD_STREAM;
			c->hold_generation = t->generation;
		}
		return;
	}
	/* A broker that has already given up would hold the call until a reload: say so now. */
	if (!wait || c->oneway || lc_gives_up(broker_lifecycle(b))) {
		server_client_no_token(c);
		return;
	}
	log_debug("GetToken: pid %d uid %u (%s) waits for a token",
		  (int)c->peer.pid, (unsigned)c->peer.uid, c->peer.comm);
	c->hold = SERVER_HOLD_TOKEN;
	c->hold_more = call->more;
}

/* io.tvtokend.Broker.ReportRejected. */
static void
server_method_report_rejected(struct server_client *c, const struct varlink_call *call)
{
	struct broker *b = c->server->broker;
	const struct token *t;
	struct json_object *v;
	int64_t generation;

	json_object_object_get_ex(call->parameters, "generation", &v);
	generation = json_object_get_int64(v);
	log_debug("ReportRejected: generation %" PRId64 " from pid %d uid %u (%s)", generation,
		  (int)c->peer.pid, (unsigned)c->peer.uid, c->peer.comm);

	switch (broker_report_rejected(b, generation)) {
	case LC_REPORT_INVALID:
		server_client_invalid(c, "generation");
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
		c->hold = SERVER_HOLD_REPORT;
		c->hold_generation = generation < 0 ? 0 : (uint64_t)generation;
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
	struct json_object *p = json_object_new_object();
	usec_t now = time_now();
	size_t errlen;
	int r = 0;

	if (p == NULL) {
		server_client_drop(c);
		return;
	}
	r |= server_json_add(p, "state", json_object_new_string(lc_state_to_string(lc->state)));
	r |= server_json_add(p, "generation", json_object_new_int64((int64_t)lc->generation));
	r |= server_json_add_time(p, "expirationTime",
				  lc->token.access_token != NULL ? lc->token.expiration : 0, false);
	r |= server_json_add_time(p, "nextRenewal", lc_next_renewal(lc), false);
	r |= server_json_add_time(p, "retryAt", lc_retry_at(lc), false);
	errlen = strnlen(lc->last_error, sizeof(lc->last_error));
	if (errlen > 0)
		r |= server_json_add(p, "lastError", json_object_new_string_len(lc->last_error, (int)errlen));
	else
		r |= server_json_add_null(p, "lastError");
	r |= server_json_add(p, "accessTokenRequests", json_object_new_int64((int64_t)lc->n_requests));
	r |= server_json_add(p, "renewals", json_object_new_int64((int64_t)lc->n_renewals));
	r |= server_json_add(p, "failures", json_object_new_int64((int64_t)lc->n_failures));
	r |= server_json_add(p, "renewalsLeftThisHour", json_object_new_int64(lc_renewals_left(lc, now)));
	r |= server_json_add(p, "failedRequestsLeftThisHour", json_object_new_int64(lc_failed_left(lc, now)));
	r |= server_json_add(p, "clients", json_object_new_int64(server_clients(s)));
	r |= server_json_add(p, "watchers", json_object_new_int64(server_watchers(s)));
	r |= server_json_add(p, "version", json_object_new_string(TVTOKEND_VERSION));
	if (r != 0) {
		json_object_put(p);
		server_client_drop(c);
		return;
	}
	log_debug("GetStatus to pid %d uid %u (%s)", (int)c->peer.pid, (unsigned)c->peer.uid, c->peer.comm);
	server_client_reply(c, p, false);
	json_object_put(p);
}

static const struct server_method server_methods[] = {
	{ SERVER_IFACE_SERVICE ".GetInfo", server_method_get_info, { { NULL } } },
	{ SERVER_IFACE_SERVICE ".GetInterfaceDescription", server_method_get_interface_description,
	  { { "interface", json_type_string, false }, { NULL } } },
	{ SERVER_IFACE_BROKER ".GetToken", server_method_get_token,
	  { { "wait", json_type_boolean, true }, { NULL } } },
	{ SERVER_IFACE_BROKER ".ReportRejected", server_method_report_rejected,
	  { { "generation", json_type_int, false }, { NULL } } },
	{ SERVER_IFACE_BROKER ".GetStatus", server_method_get_status, { { NULL } } },
};

/* Check parameters against the method's table; the name of the first bad one, or NULL. */
static const char *
server_check_params(const struct server_method *m, struct json_object *params)
{
	const struct server_param *sp;
	struct json_object *v;

	json_object_object_foreach(params, key, val) {
		for (sp = m->params; sp->name != NULL; sp++)
			if (strcmp(sp->name, key) == 0)
				break;
		if (sp->name == NULL)
			return key;
		/* null stands for a left-out optional value. */
		if (val == NULL ? !sp->optional : !json_object_is_type(val, sp->type))
			return key;
	}
	for (sp = m->params; sp->name != NULL; sp++)
		if (!sp->optional && (!json_object_object_get_ex(params, sp->name, &v) || v == NULL))
			return sp->name;
	return NULL;
}

/* Route one call to its method, or answer with the Varlink error that says why not. */
static void
server_dispatch(struct server_client *c, const struct varlink_call *call)
{
	const struct server_method *m = NULL;
	const char *member, *bad;
	size_t iface_len, i;

	c->oneway = call->oneway;
	if (varlink_split_method(call->method, &iface_len, &member) < 0) {
		server_client_error1(c, SERVER_ERR_METHOD_NOT_FOUND, "method",
				     call->method, strlen(call->method));
		goto out;
	}
	if (!((iface_len == strlen(SERVER_IFACE_SERVICE) &&
	       strncmp(call->method, SERVER_IFACE_SERVICE, iface_len) == 0) ||
	      (iface_len == strlen(SERVER_IFACE_BROKER) &&
	       strncmp(call->method, SERVER_IFACE_BROKER, iface_len) == 0))) {
		server_client_error1(c, SERVER_ERR_INTERFACE_NOT_FOUND, "interface",
				     call->method, iface_len);
		goto out;
	}
	for (i = 0; i < sizeof(server_methods) / sizeof(server_methods[0]); i++)
		if (strcmp(server_methods[i].name, call->method) == 0)
			m = &server_methods[i];
	if (m == NULL) {
		server_client_error1(c, SERVER_ERR_METHOD_NOT_FOUND, "method",
				     call->method, strlen(call->method));
		goto out;
	}
	bad = server_check_params(m, call->parameters);
	if (bad != NULL) {
		server_client_invalid(c, bad);
		goto out;
	}
	m->fn(c, call);
out:
	c->oneway = false;
}

/* Which member of a call object is malformed (for a call varlink_parse_call refused with -EINVAL). */
static const char *
server_bad_call_member(const char *msg)
{
	static const char *const members[] = { "method", "parameters", "more", "oneway" };
	struct json_object *obj = json_tokener_parse(msg), *v;
	const char *bad = "method";
	size_t i;

	if (obj == NULL)
		return bad;
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		bool present = json_object_object_get_ex(obj, members[i], &v) && v != NULL;
		bool ok;

		if (i == 0)
			ok = present && json_object_is_type(v, json_type_string);
		else if (i == 1)
			ok = !present || json_object_is_type(v, json_type_object);
		else
			ok = !present || json_object_is_type(v, json_type_boolean);
		if (!ok) {
			bad = members[i];
			break;
		}
	}
	json_object_put(obj);
	return bad;
}

/* Refuse an excluded peer: PermissionDenied to its first call, then close after the flush. */
static void
server_client_deny(struct server_client *c)
{
	log_client_denied((int)c->peer.pid, (unsigned)c->peer.uid, (unsigned)c->peer.gid, c->peer.comm);
	c->hold = SERVER_HOLD_NONE;
	c->oneway = false;
	server_client_error(c, SERVER_ERR_PERMISSION_DENIED, NULL);
	if (c->dead)
		return;
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
}

/* Handle the calls buffered on a client, one at a time, until one is held. */
static void
server_client_process(struct server_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct varlink_call call;
	char *msg;
	size_t len;
	int r;

	while (!c->dead && !c->closing && c->hold == SERVER_HOLD_NONE) {
		r = varlink_extract(in, &msg, &len);
		if (r == 0)
			break;
		if (r < 0) {
			log_debug("client pid %d: %s, dropped", (int)c->peer.pid,
				  r == -EMSGSIZE ? "message over 64 KiB" : "cannot read message");
			server_client_drop(c);
			return;
		}
		r = varlink_parse_call(msg, len, &call);
		if (r < 0 && r != -EINVAL) {
			log_debug("client pid %d sent a message that is not a JSON object, dropped",
				  (int)c->peer.pid);
			free(msg);
			server_client_drop(c);
			return;
		}
		if (!c->allowed) {
			if (r == 0)
				varlink_call_clear(&call);
			free(msg);
			server_client_deny(c);
			return;
		}
		if (r == -EINVAL) {
			server_client_invalid(c, server_bad_call_member(msg));
			free(msg);
			continue;
		}
		free(msg);
		server_dispatch(c, &call);
		varlink_call_clear(&call);
	}
	if (!c->dead && c->hold != SERVER_HOLD_NONE && evbuffer_get_length(in) > SERVER_HELD_INPUT_MAX) {
		log_debug("client pid %d queued too much behind a held call, dropped", (int)c->peer.pid);
		server_client_drop(c);
	}
}

/* Input arrived. */
static void
server_client_read_cb(struct bufferevent *bev, void *arg)
{
	struct server_client *c = arg;

	if (c->closing) {
		evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	server_client_process(c);
}

/* Output drained: a closing client is done. */
static void
server_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct server_client *c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		server_client_drop(c);
}

/* The peer hung up or the connection failed. */
static void
server_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct server_client *c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !c->closing) {
		/* Answer what was sent before the hang-up; a held call is cancelled by it. */
		server_client_process(c);
		if (c->dead)
			return;
		if (c->hold == SERVER_HOLD_NONE &&
		    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
			c->closing = true;
			return;
		}
	}
	server_client_drop(c);
}

/* Handle calls left buffered behind a held call that has just ended. */
static void
server_client_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	server_client_process(arg);
}

/* Tear a client down now; the memory goes on a later loop turn (server_reap_cb). */
static void
server_client_drop(struct server_client *c)
{
	struct server *s = c->server;

	if (c->dead)
		return;
	c->dead = true;
	c->hold = SERVER_HOLD_NONE;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	event_del(c->resume);
	TAILQ_REMOVE(&s->clients, c, entry);
	s->n_clients--;
	TAILQ_INSERT_TAIL(&s->dead, c, entry);
	event_active(s->reap, EV_TIMEOUT, 0);
}

/* Free a client's memory and close its socket (its output may hold a token: it is wiped). */
static void
server_client_free(struct server_client *c)
{
	if (c->resume != NULL)
		event_free(c->resume);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
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

/* Whether a peer passes the current Allow* lists (group lookups only when a group list asks). */
static bool
server_peer_allowed(const struct server *s, struct peer *p)
{
	if (peer_allowed(p, s->self_uid, s->allow_users, s->n_allow_users,
			 s->allow_groups, s->n_allow_groups))
		return true;
	if (s->n_allow_groups == 0 || p->user_groups)
		return false;
	peer_lookup_user_groups(p);
	return peer_allowed(p, s->self_uid, s->allow_users, s->n_allow_users,
			    s->allow_groups, s->n_allow_groups);
}

/* Take a new connection: read who it is once, and start reading its calls. */
static void
server_client_new(struct server *s, int fd)
{
	struct server_client *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->server = s;
	r = peer_from_fd(fd, &c->peer);
	if (r < 0) {
		errno = -r;
		log_warn("cannot identify a client");
		close(fd);
		free(c);
		return;
	}
	c->allowed = server_peer_allowed(s, &c->peer);
	c->resume = event_new(s->base, -1, 0, server_client_resume_cb, c);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->resume == NULL || c->bev == NULL) {
		if (c->bev == NULL)
			close(fd);
		server_client_free(c);
		return;
	}
	bufferevent_setcb(c->bev, server_client_read_cb, server_client_write_cb,
			  server_client_event_cb, c);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
		server_client_free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&s->clients, c, entry);
	s->n_clients++;
	log_debug("client pid %d uid %u (%s) connected%s", (int)c->peer.pid,
		  (unsigned)c->peer.uid, c->peer.comm, c->allowed ? "" : ", not allowed");
}

/* Accepting resumes after an EMFILE/ENFILE pause. */
static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	if (event_add(s->accept_ev, NULL) < 0)
		log_warnx("cannot resume accepting connections");
}

/* The listening socket is readable: accept what waits, within MaxClients. */
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
		if (s->n_clients >= s->max_clients) {
			log_debug("MaxClients=%u reached, connection closed", s->max_clients);
			close(fd);
			continue;
		}
		server_client_new(s, fd);
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

/* Copy the Allow* lists and MaxClients from cfg. 0 or -ENOMEM, leaving s untouched on failure. */
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
	TAILQ_INIT(&s->clients);
	TAILQ_INIT(&s->dead);
	r = server_apply_config(s, cfg);
	if (r < 0)
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
	if (s->accept_ev == NULL || s->accept_pause == NULL || s->reap == NULL) {
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

/* Take the new Allow* lists and MaxClients; peers no longer allowed are refused from now on. */
void
server_reload(struct server *s, const struct config *cfg)
{
	struct server_client *c, *next;

	if (server_apply_config(s, cfg) < 0) {
		log_warnx("out of memory: keeping the previous AllowUsers=/AllowGroups=/MaxClients=");
		return;
	}
	TAILQ_FOREACH_SAFE(c, &s->clients, entry, next) {
		bool was = c->allowed;

		c->allowed = server_peer_allowed(s, &c->peer);
		/* A held call of a peer just excluded is answered with the refusal now. */
		if (was && !c->allowed && c->hold != SERVER_HOLD_NONE)
			server_client_deny(c);
	}
}

/* A new token is current: answer those waiting for one, feed the streams. */
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
				if (c->dead)
					break;
				c->hold = SERVER_HOLD_STREAM;
				c->hold_more = false;
				c->hold_generation = t->generation;
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

/* The token was dropped: streams end with NoToken. */
void
server_token_lost(struct server *s)
{
	struct server_client *c, *next;

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
	const struct server_client *c;
	unsigned n = 0;

	TAILQ_FOREACH(c, &s->clients, entry)
		if (c->hold == SERVER_HOLD_STREAM || (c->hold == SERVER_HOLD_TOKEN && c->hold_more))
			n++;
	return n;
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
	if (s->fd >= 0)
		close(s->fd);
	/* Only our own file: another broker may have replaced it meanwhile. */
	if (s->path != NULL && lstat(s->path, &st) == 0 &&
	    st.st_dev == s->path_dev && st.st_ino == s->path_ino)
		unlink(s->path);
	free(s->path);
	free(s->allow_users);
	free(s->allow_groups);
	free(s);
}
