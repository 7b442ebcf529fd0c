/* SPDX-License-Identifier: MIT */
/*
 * The JSON form of a lifecycle snapshot. Version 2, one flat object (the
 * fields of version 1 first, so that a version 1 reader's view is intact):
 *
 *   version, baseURL, account, generation,
 *   accessToken, mdAccessToken, expirationUsec, expirationTime (for people),
 *   userId, name, tokenGeneration            -- the token, when one is valid
 *   takenAtUsec,
 *   renewalsSentUsec: [usec...]              -- MaxRenewalsPerHour's window
 *   failedRequestsUsec: [usec...]            -- MaxFailedRequestsPerHour's window
 *   hold: {kind, untilUsec, resend}          -- a wait Tradovate imposed
 *   pTicket,                                 -- the penalty ticket to resend
 *   credentialsRejected, credentialsChangedUsec
 *   leaderView: {state, retryAtUsec, nextRenewalUsec, lastError}
 *                                            -- a cluster leader's (never in a state file)
 *
 * Every time is wall-clock microseconds since the epoch. A version 2 object
 * with a field not listed here is refused; version 1 files, written before
 * this format, are read as they always were (unknown fields ignored).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "snapshot.h"

/* Nesting of a snapshot: the object, the hold, the arrays. */
#define SNAPSHOT_JSON_DEPTH 4
/* Longest account name, user name or penalty ticket accepted. */
#define SNAPSHOT_MAX_STRING 1024

static const char *const hold_names[] = {
	[LC_HOLD_NONE] = "none",
	[LC_HOLD_PENALTY] = "penalty",
	[LC_HOLD_RATE_LIMITED] = "rate_limited",
	[LC_HOLD_LOCKED_OUT] = "locked_out",
};

/* Members a version 2 object may have. */
static const char *const v2_keys[] = {
	"version", "baseURL", "account", "generation",
	"accessToken", "mdAccessToken", "expirationUsec", "expirationTime",
	"userId", "name", "tokenGeneration", "takenAtUsec",
	"renewalsSentUsec", "failedRequestsUsec", "hold", "pTicket",
	"credentialsRejected", "credentialsChangedUsec", "leaderView",
};

/* Add key = val to o; false (val released) when memory runs out. */
static bool add(struct json_object *o, const char *key, struct json_object *val)
{
	if (!val)
		return false;
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* Add an integer member. */
static bool add_int(struct json_object *o, const char *key, int64_t v)
{
	return add(o, key, json_object_new_int64(v));
}

/* Add a window as an array of times. */
static bool add_window(struct json_object *o, const char *key, const struct lc_window *w)
{
	struct json_object *a = json_object_new_array();
	unsigned i;

	if (!a)
		return false;
	for (i = 0; i < w->n && i < LC_WINDOW_MAX; i++) {
		struct json_object *v = json_object_new_int64((int64_t)w->t[i]);

		if (!v || json_object_array_add(a, v) < 0) {
			json_object_put(v);
			json_object_put(a);
			return false;
		}
	}
	return add(o, key, a);
}

/* Wipe the text of string member key of o: json-c frees without wiping. */
static void wipe_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* Wipe every member that may hold a secret. */
static void wipe_secrets(struct json_object *o)
{
	if (!o || !json_object_is_type(o, json_type_object))
		return;
	wipe_member(o, "accessToken");
	wipe_member(o, "mdAccessToken");
	wipe_member(o, "pTicket");
}

/* Build the object for s; NULL when memory runs out. */
static struct json_object *build(const struct lc_snapshot *s, const char *base_url, const char *name)
{
	struct json_object *o = json_object_new_object(), *h;
	const struct token *t = &s->token;
	char exp[TIME_RFC3339_MAX];
	bool ok;

	if (!o)
		return NULL;
	ok = add_int(o, "version", SNAPSHOT_VERSION) &&
	     add(o, "baseURL", json_object_new_string(base_url)) &&
	     add(o, "account", json_object_new_string(name)) &&
	     add_int(o, "generation", (int64_t)s->generation);
	if (ok && t->access_token) {
		ok = add(o, "accessToken", json_object_new_string(t->access_token)) &&
		     (!t->md_access_token ||
		      add(o, "mdAccessToken", json_object_new_string(t->md_access_token))) &&
		     add_int(o, "expirationUsec", (int64_t)t->expiration) &&
		     add(o, "expirationTime", json_object_new_string(time_format_rfc3339(t->expiration, exp))) &&
		     (!t->has_user_id || add_int(o, "userId", t->user_id)) &&
		     (!t->name || add(o, "name", json_object_new_string(t->name))) &&
		     add_int(o, "tokenGeneration", (int64_t)(t->generation ? t->generation : s->generation));
	}
	ok = ok && add_int(o, "takenAtUsec", (int64_t)s->taken_at) &&
	     add_window(o, "renewalsSentUsec", &s->renewals) &&
	     add_window(o, "failedRequestsUsec", &s->failed);
	if (ok && s->hold != LC_HOLD_NONE && (unsigned)s->hold <= LC_HOLD_LOCKED_OUT) {
		h = json_object_new_object();
		ok = h && add(h, "kind", json_object_new_string(hold_names[s->hold])) &&
		     add_int(h, "untilUsec", (int64_t)s->hold_until) &&
		     add(h, "resend", json_object_new_string(s->hold_for == LC_SEND_RENEWAL ? "renewal" : "request"));
		if (!ok)
			json_object_put(h);
		ok = ok && add(o, "hold", h);
	}
	if (ok && s->p_ticket)
		ok = add(o, "pTicket", json_object_new_string(s->p_ticket));
	ok = ok && add(o, "credentialsRejected", json_object_new_boolean(s->credentials_rejected)) &&
	     add_int(o, "credentialsChangedUsec", (int64_t)s->credentials_changed_at);
	if (ok && s->view.present && (unsigned)s->view.state < _LC_STATE_MAX) {
		h = json_object_new_object();
		ok = h && add(h, "state", json_object_new_string(lc_state_to_string(s->view.state))) &&
		     add_int(h, "retryAtUsec", (int64_t)s->view.retry_at) &&
		     add_int(h, "nextRenewalUsec", (int64_t)s->view.next_renewal) &&
		     (s->view.last_error[0] == '\0' ||
		      add(h, "lastError", json_object_new_string(s->view.last_error)));
		if (!ok)
			json_object_put(h);
		ok = ok && add(o, "leaderView", h);
	}
	if (!ok) {
		wipe_secrets(o);
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Encode s for the account into a buffer the caller wipes. */
int snapshot_encode(const struct lc_snapshot *s, const char *base_url, const char *name,
		    char **out, size_t *out_len)
{
	struct json_object *o = build(s, base_url, name);
	const char *text;
	size_t len = 0;
	char *copy = NULL;

	if (!o)
		return -ENOMEM;
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
						  &len);
	if (text && (copy = malloc(len + 1)))
		memcpy(copy, text, len + 1);
	/* json-c keeps its own copy of the text in the object: wipe it before freeing. */
	if (text)
		explicit_bzero((char *)text, len);
	wipe_secrets(o);
	json_object_put(o);
	if (!copy)
		return -ENOMEM;
	*out = copy;
	*out_len = len;
	return 0;
}

/* Wipe and free an encoded text. */
void snapshot_text_free(char *text, size_t len)
{
	if (!text)
		return;
	explicit_bzero(text, len);
	free(text);
}

/* Member key of o if present; false when absent. */
static bool member(struct json_object *o, const char *key, struct json_object **v)
{
	return json_object_object_get_ex(o, key, v) && *v;
}

/* A string member without NUL inside, 1 to max bytes; -ENOENT when absent, -EBADMSG when bad. */
static int get_string(struct json_object *o, const char *key, size_t max, const char **out, size_t *len)
{
	struct json_object *v;
	const char *s;
	size_t n;

	if (!member(o, key, &v))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n > max || strlen(s) != n)
		return -EBADMSG;
	*out = s;
	if (len)
		*len = n;
	return 0;
}

/* An integer member in [min, INT64_MAX]; -ENOENT when absent, -EBADMSG when bad. */
static int get_int(struct json_object *o, const char *key, int64_t min, int64_t *out)
{
	struct json_object *v;
	int64_t x;

	if (!member(o, key, &v))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_int))
		return -EBADMSG;
	errno = 0;
	x = json_object_get_int64(v);
	/* json-c saturates what does not fit and says so in errno. */
	if (x < min || x == INT64_MAX || errno == ERANGE)
		return -EBADMSG;
	*out = x;
	return 0;
}

/* An optional (absent: default) member through get_int. */
static int get_int_opt(struct json_object *o, const char *key, int64_t min, int64_t def, int64_t *out)
{
	int r = get_int(o, key, min, out);

	if (r == -ENOENT) {
		*out = def;
		return 0;
	}
	return r;
}

/* A window: an array of at most LC_WINDOW_MAX positive times. */
static int get_window(struct json_object *o, const char *key, struct lc_window *w)
{
	struct json_object *a;
	size_t i, n;

	memset(w, 0, sizeof(*w));
	if (!member(o, key, &a))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return -EBADMSG;
	n = json_object_array_length(a);
	if (n > LC_WINDOW_MAX)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		int64_t x;

		if (!v || !json_object_is_type(v, json_type_int))
			return -EBADMSG;
		errno = 0;
		x = json_object_get_int64(v);
		if (x <= 0 || x == INT64_MAX || errno == ERANGE)
			return -EBADMSG;
		w->t[w->n++] = (usec_t)x;
	}
	return 0;
}

/* The hold object: kind, untilUsec, resend; nothing else. */
static int get_hold(struct json_object *o, struct lc_snapshot *s)
{
	struct json_object *h;
	const char *kind, *resend;
	int64_t until;
	unsigned i;

	if (!member(o, "hold", &h))
		return 0;
	if (!json_object_is_type(h, json_type_object) || json_object_object_length(h) != 3 ||
	    get_string(h, "kind", 32, &kind, NULL) < 0 || get_string(h, "resend", 32, &resend, NULL) < 0 ||
	    get_int(h, "untilUsec", 1, &until) < 0)
		return -EBADMSG;
	for (i = LC_HOLD_PENALTY; i <= LC_HOLD_LOCKED_OUT; i++)
		if (strcmp(kind, hold_names[i]) == 0)
			s->hold = (enum lc_hold)i;
	if (s->hold == LC_HOLD_NONE)
		return -EBADMSG;
	if (strcmp(resend, "request") == 0)
		s->hold_for = LC_SEND_REQUEST;
	else if (strcmp(resend, "renewal") == 0)
		s->hold_for = LC_SEND_RENEWAL;
	else
		return -EBADMSG;
	s->hold_until = (usec_t)until;
	return 0;
}

/* The leader's view: state, retryAtUsec, nextRenewalUsec, lastError (when any); nothing else. */
static int get_view(struct json_object *o, struct lc_snapshot *s)
{
	struct json_object *h;
	const char *state, *err = "";
	int64_t retry, next;
	size_t errlen = 0;
	unsigned i;
	int r;

	if (!member(o, "leaderView", &h))
		return 0;
	if (!json_object_is_type(h, json_type_object) ||
	    get_string(h, "state", 32, &state, NULL) < 0 ||
	    get_int(h, "retryAtUsec", 0, &retry) < 0 || get_int(h, "nextRenewalUsec", 0, &next) < 0)
		return -EBADMSG;
	r = get_string(h, "lastError", sizeof(s->view.last_error) - 1, &err, &errlen);
	if (r == -EBADMSG || json_object_object_length(h) != (r == 0 ? 4 : 3))
		return -EBADMSG;
	for (i = 0; i < _LC_STATE_MAX; i++)
		if (strcmp(state, lc_state_to_string((enum lc_state)i)) == 0)
			break;
	if (i == _LC_STATE_MAX || memchr(err, '\0', errlen) != NULL)
		return -EBADMSG;
	s->view.present = true;
	s->view.state = (enum lc_state)i;
	s->view.retry_at = (usec_t)retry;
	s->view.next_renewal = (usec_t)next;
	memcpy(s->view.last_error, err, errlen);
	s->view.last_error[errlen] = '\0';
	return 0;
}

/* Whether every member of a version 2 object is one this format defines. */
static bool known_keys_only(struct json_object *o)
{
	json_object_object_foreach(o, key, val) {
		bool known = false;

		(void)val;
		for (size_t i = 0; i < sizeof(v2_keys) / sizeof(v2_keys[0]); i++)
			if (strcmp(key, v2_keys[i]) == 0)
				known = true;
		if (!known)
			return false;
	}
	return true;
}

/* Whether a penalty ticket is printable ASCII without blanks. */
static bool ticket_valid(const char *t)
{
	for (; *t; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return false;
	return true;
}

/* The token fields into s->token; -EBADMSG when present but malformed. */
static int get_token(struct json_object *o, int64_t version, struct lc_snapshot *s)
{
	const char *at, *md = NULL, *name = NULL, *exptext;
	size_t atlen, mdlen = 0, namelen = 0;
	int64_t exp, uid, tgen;
	bool ok = true;
	int r;

	r = get_string(o, "accessToken", TOKEN_MAX_LEN, &at, &atlen);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || !token_text_valid(at, atlen) || get_int(o, "expirationUsec", 1, &exp) < 0)
		return -EBADMSG;
	r = get_string(o, "mdAccessToken", TOKEN_MAX_LEN, &md, &mdlen);
	if (r == -EBADMSG || (r == 0 && !token_text_valid(md, mdlen)))
		return -EBADMSG;
	r = get_string(o, "name", TOKEN_NAME_MAX, &name, &namelen);
	if (r == -EBADMSG || (r == 0 && !token_name_valid(name, namelen)))
		return -EBADMSG;
	if (version >= 2 && get_string(o, "expirationTime", TIME_RFC3339_MAX, &exptext, NULL) == -EBADMSG)
		return -EBADMSG;
	r = get_int(o, "userId", INT64_MIN + 1, &uid);
	if (r == -EBADMSG)
		return -EBADMSG;
	s->token.has_user_id = r == 0;
	s->token.user_id = r == 0 ? uid : 0;
	/* A token has a generation, 1 or more, and none beyond the counter's. */
	if (get_int_opt(o, "tokenGeneration", 1, (int64_t)s->generation, &tgen) < 0 || tgen < 1 ||
	    (uint64_t)tgen > s->generation)
		return -EBADMSG;
	s->token.expiration = (usec_t)exp;
	s->token.generation = (uint64_t)tgen;
	s->token.access_token = secret_strdup(at, &ok);
	s->token.md_access_token = secret_strdup(md, &ok);
	s->token.name = secret_strdup(name, &ok);
	return ok ? 0 : -ENOMEM;
}

/* Turn the parsed object into a snapshot. */
static int parse(struct json_object *o, const char *base_url, const char *name, struct lc_snapshot *s)
{
	const char *acct_url, *acct_name, *ticket;
	struct json_object *v;
	int64_t version, x;
	int r;

	if (!json_object_is_type(o, json_type_object) || get_int(o, "version", 1, &version) < 0 ||
	    version > SNAPSHOT_VERSION)
		return -EBADMSG;
	if (version >= 2 && !known_keys_only(o))
		return -EBADMSG;
	if (get_string(o, "baseURL", SNAPSHOT_MAX_STRING, &acct_url, NULL) < 0 ||
	    get_string(o, "account", SNAPSHOT_MAX_STRING, &acct_name, NULL) < 0 ||
	    get_int(o, "generation", 0, &x) < 0)
		return -EBADMSG;
	s->generation = (uint64_t)x;
	r = get_token(o, version, s);
	if (r < 0)
		return r;
	if (version >= 2) {
		if (get_int_opt(o, "takenAtUsec", 0, 0, &x) < 0)
			return -EBADMSG;
		s->taken_at = (usec_t)x;
		if (get_window(o, "renewalsSentUsec", &s->renewals) < 0 ||
		    get_window(o, "failedRequestsUsec", &s->failed) < 0 || get_hold(o, s) < 0 ||
		    get_view(o, s) < 0)
			return -EBADMSG;
		r = get_string(o, "pTicket", SNAPSHOT_MAX_STRING, &ticket, NULL);
		if (r == -EBADMSG || (r == 0 && !ticket_valid(ticket)))
			return -EBADMSG;
		if (r == 0 && !(s->p_ticket = strdup(ticket)))
			return -ENOMEM;
		if (member(o, "credentialsRejected", &v)) {
			if (!json_object_is_type(v, json_type_boolean))
				return -EBADMSG;
			s->credentials_rejected = json_object_get_boolean(v);
		}
		if (get_int_opt(o, "credentialsChangedUsec", 0, 0, &x) < 0 ||
		    (s->credentials_rejected && x == 0))
			return -EBADMSG;
		s->credentials_changed_at = (usec_t)x;
	}
	/*
	 * Valid, but another account's: what Tradovate counts per IP stays
	 * (windows, holds, and the generation, which only goes up); what
	 * belongs to the account goes.
	 */
	if (strcmp(acct_url, base_url) != 0 || strcmp(acct_name, name) != 0) {
		token_clear(&s->token);
		secret_free(s->p_ticket);
		s->p_ticket = NULL;
		s->credentials_rejected = false;
		s->credentials_changed_at = 0;
		return SNAPSHOT_OTHER_ACCOUNT;
	}
	return 0;
}

/* Decode and validate a snapshot's text (see snapshot.h). */
int snapshot_decode(const char *text, size_t len, const char *base_url, const char *name,
		    struct lc_snapshot *out)
{
	struct json_tokener *tok;
	struct json_object *o;
	struct lc_snapshot s;
	size_t end;
	int r;

	if (!text || len == 0 || len > SNAPSHOT_MAX)
		return -EBADMSG;
	tok = json_tokener_new_ex(SNAPSHOT_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	r = o && json_tokener_get_error(tok) == json_tokener_success ? 0 : -EBADMSG;
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (r == 0 && end < len && strchr(" \t\r\n", text[end]) && text[end] != '\0')
		end++;
	if (r == 0 && end != len)
		r = -EBADMSG;
	memset(&s, 0, sizeof(s));
	if (r == 0)
		r = parse(o, base_url, name, &s);
	wipe_secrets(o);
	json_object_put(o);
	if (r < 0) {
		lc_snapshot_clear(&s);
		return r;
	}
	*out = s;
	return r;
}
