/* SPDX-License-Identifier: MIT */
/*
 * tvtokenctl: asks tvtokend for the shared token from a shell (CONTRACT §5, §7).
 *
 * Exit status: 0 success; 1 the broker answered with an error, or a wait ran
 * out; 2 usage error; 3 cannot connect to the socket; 4 permission denied;
 * exec: the command's own status, 126/127 when it cannot be run.
 * Messages go to stderr, say what to do, and never contain a token; nor does
 * any command line tvtokenctl builds (exec passes the token in the
 * environment, which only the same user and root can read).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl-time.h"
#include "timespan.h"
#include "tvtoken.h"

#ifndef TVTOKEND_VERSION
#define TVTOKEND_VERSION "unknown"
#endif

/* The directory under which instance NAME has its socket, NAME/io.tvtokend.Broker. */
#define CTL_INSTANCE_DIR "/run/tvtokend"
#define CTL_SOCKET_NAME "io.tvtokend.Broker"
/* The variable exec puts the token in unless --env names another. */
#define CTL_EXEC_ENV_DEFAULT "TRADOVATE_ACCESS_TOKEN"

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_BROKER = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_CONNECT = 3,
	CTL_EXIT_ACCESS = 4,
	CTL_EXIT_CANNOT_EXEC = 126,    /* as a shell says it: found, but cannot run */
	CTL_EXIT_NOT_FOUND = 127,
};

enum ctl_format {
	CTL_FORMAT_TEXT,
	CTL_FORMAT_JSON,
	CTL_FORMAT_PROMETHEUS,
};

struct ctl {
	const char *socket;        /* --socket, or NULL */
	const char *instance;      /* --instance, or NULL */
	char *instance_socket;     /* the socket --instance names */
	bool json;                 /* --json */
	bool format_given;         /* --format */
	enum ctl_format format;
	bool md;
	bool wait;                 /* --wait given */
	int wait_ms;               /* -1: without a value */
	const char *wait_text;     /* the span as given, for messages */
	const char *env;           /* exec --env, or NULL */
	bool min_remaining_given;
	uint64_t min_remaining;    /* is-valid --min-remaining, microseconds */
	const char *min_remaining_text;
	bool verbose;              /* is-valid --verbose */
	tvtoken_client *client;
};

static const char ctl_usage[] =
	"Usage: tvtokenctl [OPTIONS] COMMAND\n"
	"Get the shared Tradovate access token from tvtokend.\n"
	"\n"
	"Commands:\n"
	"  token                  print the access token\n"
	"  watch                  print the token as one JSON line, now and at every change\n"
	"  status                 print the broker's state, the state word first\n"
	"  rejected [GENERATION]  report the current (or the given) generation of the token\n"
	"                         as refused by Tradovate, and print the new token\n"
	"  is-valid               exit 0 if the broker holds a valid token, 1 if not;\n"
	"                         prints nothing unless --verbose (for ExecCondition=)\n"
	"  exec [--] CMD [ARGS...]\n"
	"                         run CMD with the token in the environment variable\n"
	"                         " CTL_EXEC_ENV_DEFAULT ", never in a command line\n"
	"\n"
	"Options (before or after the command; exec's CMD ends them):\n"
	"  --socket PATH      the broker's socket (default: $TVTOKEN_SOCKET, else\n"
	"                     " TVTOKEN_SOCKET_DEFAULT ")\n"
	"  --instance NAME    the socket of tvtokend@NAME,\n"
	"                     " CTL_INSTANCE_DIR "/NAME/" CTL_SOCKET_NAME "\n"
	"  --json             token, rejected: print the whole Token as JSON;\n"
	"                     status: print the GetStatus reply as JSON\n"
	"  --format=FORMAT    text (default), json (as --json), or prometheus\n"
	"                     (status only: metrics for node_exporter's textfile collector)\n"
	"  --md               token, rejected, exec: the market-data token\n"
	"  --wait[=SPAN]      token, watch, is-valid, exec: wait for a token while there\n"
	"                     is none, at most SPAN if given (\"30\", \"0.5\", \"30s\", \"2min\");\n"
	"                     rejected: wait at most SPAN for the new token\n"
	"  --min-remaining=SPAN\n"
	"                     is-valid: the token must have at least SPAN left (default 0)\n"
	"  -v, --verbose      is-valid: say what was found on success too\n"
	"  --env NAME         exec: the variable to put the token in\n"
	"  -h, --help         show this help and exit\n"
	"  -V, --version      show the version and exit\n"
	"\n"
	"Exit status: 0 success, 1 the broker answered with an error, has no (valid\n"
	"enough) token, or the wait ran out, 2 usage error, 3 cannot connect to the\n"
	"socket, 4 permission denied; exec: CMD's status, 126/127 if it cannot run.\n";

/* Complain about the command line and return the usage exit status. */
static int __attribute__((format(printf, 1, 2)))
ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tvtokenctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'tvtokenctl --help'.\n", stderr);
	return CTL_EXIT_USAGE;
}

/* Parse --wait's SPAN (plain or fractional seconds, or a time span) into milliseconds, rounding up. */
static int
ctl_parse_wait(const char *s, int *ms)
{
	uint64_t usec, v;
	int r;

	r = timespan_parse(s, &usec);
	if (r == -ERANGE) {
		*ms = INT_MAX;
		return 0;
	}
	if (r < 0)
		return r;
	v = usec / CTL_USEC_PER_MSEC + (usec % CTL_USEC_PER_MSEC != 0);
	*ms = v >= INT_MAX ? INT_MAX : (int)v;
	return 0;
}

/* Parse a token generation: a non-negative decimal integer. */
static int
ctl_parse_generation(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Whether name can name an environment variable: a letter or '_', then letters, digits, '_'. */
static bool
ctl_env_name_ok(const char *name)
{
	const char *p;

	if (!((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') ||
	      name[0] == '_'))
		return false;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* Whether name can be an instance: one path component, not "." or "..". */
static bool
ctl_instance_ok(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

/* Tell the user why a call failed and what to do; returns the exit status. */
static int
ctl_fail(const struct ctl *ctl, int err)
{
	const char *path = tvtoken_socket_path(ctl->client);
	const char *reason = tvtoken_error_reason(ctl->client);
	const char *name = tvtoken_error_name(ctl->client);

	switch (err) {
	case TVTOKEN_E_CONNECT:
		fprintf(stderr, "tvtokenctl: cannot connect to %s: %s — is tvtokend running? "
			"(systemctl status tvtokend.socket)\n", path, reason);
		return CTL_EXIT_CONNECT;
	case TVTOKEN_E_ACCESS:
		if (name[0] != '\0')
			fprintf(stderr, "tvtokenctl: %s: permission denied: %s — ask an "
				"administrator to add you to AllowUsers= or AllowGroups= in "
				"/etc/tvtokend/tvtokend.conf\n", path, reason);
		else
			fprintf(stderr, "tvtokenctl: cannot connect to %s: %s — ask an "
				"administrator to add you to the tvtoken group\n", path, reason);
		return CTL_EXIT_ACCESS;
	case TVTOKEN_E_NOTOKEN:
		fprintf(stderr, "tvtokenctl: no token: %s — see 'tvtokenctl status' and "
			"'journalctl -u tvtokend'\n", reason);
		return CTL_EXIT_BROKER;
	case TVTOKEN_E_TIMEOUT:
		if (ctl->wait && ctl->wait_ms > 0)
			fprintf(stderr, "tvtokenctl: no token within %s%s — see "
				"'tvtokenctl status'\n", ctl->wait_text,
				strspn(ctl->wait_text, "0123456789.") == strlen(ctl->wait_text) ?
				" seconds" : "");
		else
			fprintf(stderr, "tvtokenctl: %s did not answer in time — see "
				"'systemctl status tvtokend'\n", path);
		return CTL_EXIT_BROKER;
	case TVTOKEN_E_REMOTE:
		fprintf(stderr, "tvtokenctl: the broker answered %s%s%s%s — see "
			"'journalctl -u tvtokend'\n", name,
			reason[0] != '\0' ? " (" : "", reason, reason[0] != '\0' ? ")" : "");
		return CTL_EXIT_BROKER;
	case TVTOKEN_E_CLOSED:
		fprintf(stderr, "tvtokenctl: %s closed the connection — is tvtokend still "
			"running? (journalctl -u tvtokend)\n", path);
		return CTL_EXIT_BROKER;
	case TVTOKEN_E_PROTOCOL:
		fprintf(stderr, "tvtokenctl: %s sent a reply that tvtokenctl does not "
			"understand — is this tvtokend's socket?\n", path);
		return CTL_EXIT_BROKER;
	default:
		fprintf(stderr, "tvtokenctl: %s\n", tvtoken_strerror(err));
		return CTL_EXIT_BROKER;
	}
}

/* Print s as a JSON string. */
static void
ctl_print_json_string(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (*p < 0x20)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

/* Print s as a JSON string, or null. */
static void
ctl_print_json_nullable(const char *s)
{
	if (s == NULL)
		fputs("null", stdout);
	else
		ctl_print_json_string(s);
}

/* Print a token as one line of JSON, the Token type of io.tvtokend.Broker. */
static void
ctl_print_token_json(const tvtoken_token *t)
{
	fputs("{\"accessToken\":", stdout);
	ctl_print_json_string(t->access_token);
	fputs(",\"mdAccessToken\":", stdout);
	ctl_print_json_nullable(t->md_access_token);
	fputs(",\"expirationTime\":", stdout);
	ctl_print_json_string(t->expiration_time);
	fputs(",\"userId\":", stdout);
	if (t->has_user_id)
		printf("%" PRId64, t->user_id);
	else
		fputs("null", stdout);
	fputs(",\"name\":", stdout);
	ctl_print_json_nullable(t->name);
	printf(",\"generation\":%" PRId64 "}\n", t->generation);
}

/* Flush stdout; a write error is reported and fails the command. */
static int
ctl_flush(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "tvtokenctl: cannot write to standard output: %s\n",
			strerror(errno));
		return CTL_EXIT_BROKER;
	}
	return CTL_EXIT_OK;
}

/* Print a token the way token and rejected do: --json, --md, or the access token. */
static int
ctl_print_token(const struct ctl *ctl, const tvtoken_token *t)
{
	if (ctl->format == CTL_FORMAT_JSON) {
		ctl_print_token_json(t);
	} else if (ctl->md) {
		if (t->md_access_token == NULL) {
			fprintf(stderr, "tvtokenctl: the broker holds no market-data token "
				"(Tradovate sent none) — use the access token\n");
			return CTL_EXIT_BROKER;
		}
		printf("%s\n", t->md_access_token);
	} else {
		printf("%s\n", t->access_token);
	}
	return ctl_flush();
}

/* token: print the current token. */
static int
ctl_token(struct ctl *ctl)
{
	tvtoken_token *t;
	int r;

	r = tvtoken_get(ctl->client, ctl->wait ? ctl->wait_ms : 0, &t);
	if (r < 0)
		return ctl_fail(ctl, r);
	r = ctl_print_token(ctl, t);
	tvtoken_token_free(t);
	return r;
}

/*
 * watch: print the token as JSON now and at every change, until the stream
 * ends. The broker ends a stream with NoToken when its token is lost; with
 * --wait, a stream that had a token is followed by a new one that waits for
 * the next token (--wait=SPAN bounds each such wait), so that only the
 * broker going away, giving up or a wait running out ends the command.
 */
static int
ctl_watch(struct ctl *ctl)
{
	bool wait = ctl->wait && ctl->wait_ms != 0, had_token = false;
	tvtoken_token *t;
	int timeout, r;

	r = tvtoken_watch(ctl->client, wait);
	if (r < 0)
		return ctl_fail(ctl, r);
	timeout = wait && ctl->wait_ms > 0 ? ctl->wait_ms : -1;
	for (;;) {
		r = tvtoken_watch_next(ctl->client, timeout, &t);
		if (r == TVTOKEN_E_NOTOKEN && wait && had_token) {
			had_token = false;
			r = tvtoken_watch(ctl->client, 1);
			if (r < 0)
				return ctl_fail(ctl, r);
			timeout = ctl->wait_ms > 0 ? ctl->wait_ms : -1;
			continue;
		}
		if (r < 0)
			return ctl_fail(ctl, r);
		had_token = true;
		timeout = -1;
		ctl_print_token_json(t);
		tvtoken_token_free(t);
		r = ctl_flush();
		if (r != CTL_EXIT_OK)
			return r;
	}
}

/* The string member key of o; NULL when it is missing, null or not a string. */
static const char *
ctl_json_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The time in the string member key of o, in microseconds; false when there is none. */
static bool
ctl_json_time(struct json_object *o, const char *key, int64_t *t)
{
	const char *s = ctl_json_string(o, key);

	return s != NULL && ctl_time_parse_rfc3339(s, t) == 0;
}

/* Print the broker's text, but never as terminal control sequences. */
static void
ctl_print_sanitized(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/*
 * The first line of status, as systemctl shows a unit: the state word, then
 * what it means now ("valid: expires 14:30:00Z (in 42min), renewal in 27min").
 */
static void
ctl_print_status_summary(struct json_object *status, int64_t now)
{
	const char *state = ctl_json_string(status, "state");
	const char *role = ctl_json_string(status, "role");
	const char *leader = ctl_json_string(status, "leader");
	char hms[CTL_TIME_TEXT_MAX], rel[CTL_TIME_TEXT_MAX];
	int64_t exp, ren, retry;
	bool have_ren;

	ctl_print_sanitized(state != NULL ? state : "unknown");
	if (ctl_json_time(status, "expirationTime", &exp))
		printf(": %s %s (%s)", exp > now ? "expires" : "expired",
		       ctl_time_format_hms(exp, hms), ctl_time_format_relative(exp, now, rel));
	else
		fputs(": no token", stdout);
	have_ren = ctl_json_time(status, "nextRenewal", &ren);
	if (have_ren)
		printf(", renewal %s", ctl_time_format_relative(ren, now, rel));
	/* A routine renewal is also the next attempt: say it once. */
	if (ctl_json_time(status, "retryAt", &retry) && !(have_ren && retry == ren))
		printf(", retry %s", ctl_time_format_relative(retry, now, rel));
	if (state != NULL && strcmp(state, "credentials_rejected") == 0)
		fputs(", fix the credentials, then reload", stdout);
	if (role != NULL && strcmp(role, "standalone") != 0) {
		fputs(", ", stdout);
		ctl_print_sanitized(role);
		if (strcmp(role, "follower") == 0 && leader != NULL) {
			fputs(" of ", stdout);
			ctl_print_sanitized(leader);
		}
	}
	putchar('\n');
}

/* Print one line of the human-readable status: label and the member's value; times also relative to now. */
static void
ctl_print_status_field(struct json_object *status, const char *key, const char *label, int64_t now)
{
	char rel[CTL_TIME_TEXT_MAX];
	struct json_object *v;
	int64_t t;

	if (!json_object_object_get_ex(status, key, &v))
		return;
	printf("%-31s ", label);
	if (v == NULL) {
		puts("-");
	} else if (json_object_is_type(v, json_type_int)) {
		printf("%" PRId64 "\n", json_object_get_int64(v));
	} else if (json_object_is_type(v, json_type_string)) {
		ctl_print_sanitized(json_object_get_string(v));
		if (ctl_time_parse_rfc3339(json_object_get_string(v), &t) == 0)
			printf(" (%s)", ctl_time_format_relative(t, now, rel));
		putchar('\n');
	} else {
		puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
}

/* status for people: the summary line, then one line per field the broker sent. */
static void
ctl_print_status_text(struct json_object *status)
{
	static const struct {
		const char *key;
		const char *label;
	} fields[] = {
		{ "state", "State:" },
		{ "role", "Role:" },
		{ "leader", "Leader:" },
		{ "generation", "Generation:" },
		{ "expirationTime", "Expires:" },
		{ "nextRenewal", "Next renewal:" },
		{ "retryAt", "Retry at:" },
		{ "lastError", "Last error:" },
		{ "accessTokenRequests", "Token requests:" },
		{ "renewals", "Renewals:" },
		{ "failures", "Failures:" },
		{ "renewalsLeftThisHour", "Renewals left this hour:" },
		{ "failedRequestsLeftThisHour", "Failed requests left this hour:" },
		{ "clients", "Clients:" },
		{ "watchers", "Watchers:" },
		{ "version", "Broker version:" },
	};
	int64_t now = ctl_time_now();
	size_t i;

	ctl_print_status_summary(status, now);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		ctl_print_status_field(status, fields[i].key, fields[i].label, now);
}

/* Print a metric's HELP and TYPE lines. */
static void
ctl_prom_header(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Print s as a label value: \, " and newlines escaped, other control characters as '?'. */
static void
ctl_prom_label_value(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else
			putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	}
}

/* Print a one-hot family NAME{LABEL="..."}: 1 for value, 0 for the other known values. */
static void
ctl_prom_one_hot(const char *name, const char *label, const char *const *known, size_t n,
		 const char *value)
{
	bool seen = false;
	size_t i;

	for (i = 0; i < n; i++) {
		printf("%s{%s=\"%s\"} %d\n", name, label, known[i],
		       value != NULL && strcmp(value, known[i]) == 0);
		seen = seen || (value != NULL && strcmp(value, known[i]) == 0);
	}
	if (value != NULL && !seen) {
		/* A value this tvtokenctl does not know yet (a newer broker). */
		printf("%s{%s=\"", name, label);
		ctl_prom_label_value(value);
		puts("\"} 1");
	}
}

/* Print tvtokend_up alone: the broker could not be asked. */
static void
ctl_prom_down(void)
{
	ctl_prom_header("tvtokend_up", "gauge",
			"Whether tvtokenctl could read the broker's status (1) or not (0).");
	puts("tvtokend_up 0");
}

/*
 * status --format=prometheus: the GetStatus reply in the Prometheus text
 * exposition format, for node_exporter's textfile collector. Fields the
 * broker did not send are left out; there is never a token in it.
 */
static void
ctl_print_status_prometheus(struct json_object *status)
{
	static const char *const states[] = {
		"starting", "requesting", "valid", "renewing", "backoff", "penalty",
		"rate_limited", "locked_out", "credentials_rejected", "expired",
	};
	static const char *const roles[] = { "standalone", "leader", "follower", "candidate" };
	static const struct {
		const char *key;
		const char *name;
		const char *type;
		const char *help;
	} numbers[] = {
		{ "generation", "tvtokend_generation", "gauge",
		  "Generation of the broker's token; +1 at every change." },
		{ "accessTokenRequests", "tvtokend_access_token_requests_total", "counter",
		  "Token requests sent since the broker started, p-ticket resends included." },
		{ "renewals", "tvtokend_renewals_total", "counter",
		  "Renewals sent since the broker started." },
		{ "failures", "tvtokend_failures_total", "counter",
		  "Token requests and renewals that did not yield a token." },
		{ "renewalsLeftThisHour", "tvtokend_renewals_left_this_hour", "gauge",
		  "Renewals the broker may still send in the current rolling hour." },
		{ "failedRequestsLeftThisHour", "tvtokend_failed_requests_left_this_hour", "gauge",
		  "Failed token requests the broker may still risk in the current rolling hour." },
		{ "clients", "tvtokend_clients", "gauge",
		  "Open connections to the broker, this one included." },
		{ "watchers", "tvtokend_watchers", "gauge", "Open watch streams." },
	};
	static const struct {
		const char *key;
		const char *name;
		const char *help;
	} times[] = {
		{ "expirationTime", "tvtokend_token_expiration_timestamp_seconds",
		  "When the broker's token expires, in seconds since the epoch." },
		{ "nextRenewal", "tvtokend_next_renewal_timestamp_seconds",
		  "When the next renewal is due, in seconds since the epoch." },
		{ "retryAt", "tvtokend_next_attempt_timestamp_seconds",
		  "When the broker will next send a request, in seconds since the epoch." },
	};
	const char *state = ctl_json_string(status, "state");
	const char *role = ctl_json_string(status, "role");
	const char *version = ctl_json_string(status, "version");
	int64_t now = ctl_time_now(), exp = 0, t;
	bool valid;
	struct json_object *v;
	size_t i;

	valid = ctl_json_time(status, "expirationTime", &exp) && exp > now;
	ctl_prom_header("tvtokend_up", "gauge",
			"Whether tvtokenctl could read the broker's status (1) or not (0).");
	puts("tvtokend_up 1");
	ctl_prom_header("tvtokend_token_valid", "gauge",
			"Whether the broker holds a token that has not expired.");
	printf("tvtokend_token_valid %d\n", valid);
	ctl_prom_header("tvtokend_token_remaining_seconds", "gauge",
			"Seconds until the broker's token expires; 0 without a valid token.");
	printf("tvtokend_token_remaining_seconds %.3f\n", valid ? (double)(exp - now) / 1e6 : 0.0);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		if (!ctl_json_time(status, times[i].key, &t))
			continue;
		ctl_prom_header(times[i].name, "gauge", times[i].help);
		printf("%s %" PRId64 ".%03" PRId64 "\n", times[i].name, t / 1000000,
		       (t % 1000000) / 1000);
	}
	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		if (!json_object_object_get_ex(status, numbers[i].key, &v) ||
		    !json_object_is_type(v, json_type_int))
			continue;
		ctl_prom_header(numbers[i].name, numbers[i].type, numbers[i].help);
		printf("%s %" PRId64 "\n", numbers[i].name, json_object_get_int64(v));
	}
	ctl_prom_header("tvtokend_state", "gauge",
			"The broker's state: 1 for the current one, 0 for the others.");
	ctl_prom_one_hot("tvtokend_state", "state", states, sizeof(states) / sizeof(states[0]),
			 state);
	if (role != NULL) {
		ctl_prom_header("tvtokend_role", "gauge",
				"The broker's role in its cluster: 1 for the current one.");
		ctl_prom_one_hot("tvtokend_role", "role", roles, sizeof(roles) / sizeof(roles[0]),
				 role);
	}
	if (version != NULL) {
		ctl_prom_header("tvtokend_info", "gauge", "The broker's version, as a label.");
		fputs("tvtokend_info{version=\"", stdout);
		ctl_prom_label_value(version);
		puts("\"} 1");
	}
}

/* status: print the broker's state, for people, as JSON, or as Prometheus metrics. */
static int
ctl_status(struct ctl *ctl)
{
	struct json_object *status;
	char *text;
	int r;

	r = tvtoken_status(ctl->client, &text);
	if (r < 0) {
		if (ctl->format == CTL_FORMAT_PROMETHEUS) {
			ctl_prom_down();
			ctl_flush();
		}
		return ctl_fail(ctl, r);
	}
	if (ctl->format == CTL_FORMAT_JSON) {
		printf("%s\n", text);
		free(text);
		return ctl_flush();
	}
	status = json_tokener_parse(text);
	free(text);
	if (status == NULL || !json_object_is_type(status, json_type_object)) {
		json_object_put(status);
		if (ctl->format == CTL_FORMAT_PROMETHEUS) {
			ctl_prom_down();
			ctl_flush();
		}
		return ctl_fail(ctl, TVTOKEN_E_PROTOCOL);
	}
	if (ctl->format == CTL_FORMAT_PROMETHEUS)
		ctl_print_status_prometheus(status);
	else
		ctl_print_status_text(status);
	json_object_put(status);
	return ctl_flush();
}

/* rejected: report a generation as refused and print the token to use now. */
static int
ctl_rejected(struct ctl *ctl, const char *generation_arg)
{
	tvtoken_token *t;
	int64_t generation = -1;
	int r;

	if (generation_arg != NULL && ctl_parse_generation(generation_arg, &generation) < 0)
		return ctl_usage_error("invalid generation '%s': expected a number such as 12",
				       generation_arg);
	r = tvtoken_report_rejected(ctl->client, generation,
				    ctl->wait && ctl->wait_ms > 0 ? ctl->wait_ms : -1, &t);
	if (r < 0)
		return ctl_fail(ctl, r);
	r = ctl_print_token(ctl, t);
	tvtoken_token_free(t);
	return r;
}

/* is-valid: exit 0 when the broker holds a token with at least --min-remaining left. */
static int
ctl_is_valid(struct ctl *ctl)
{
	char hms[CTL_TIME_TEXT_MAX], rel[CTL_TIME_TEXT_MAX], need[CTL_TIME_TEXT_MAX];
	tvtoken_token *t;
	int64_t exp, now, generation;
	int r;

	r = tvtoken_get(ctl->client, ctl->wait ? ctl->wait_ms : 0, &t);
	if (r < 0)
		return ctl_fail(ctl, r);
	generation = t->generation;
	r = ctl_time_parse_rfc3339(t->expiration_time, &exp);
	tvtoken_token_free(t);
	if (r < 0)
		return ctl_fail(ctl, TVTOKEN_E_PROTOCOL);
	now = ctl_time_now();
	if (exp <= now || (uint64_t)(exp - now) < ctl->min_remaining) {
		fprintf(stderr, "tvtokenctl: the token %s %s (%s)", exp > now ? "expires" : "expired",
			ctl_time_format_hms(exp, hms), ctl_time_format_relative(exp, now, rel));
		if (exp > now)
			fprintf(stderr, ", less than the %s asked for",
				ctl_time_format_span(ctl->min_remaining, need));
		fputs(" — see 'tvtokenctl status'\n", stderr);
		return CTL_EXIT_BROKER;
	}
	if (ctl->verbose) {
		printf("valid: generation %" PRId64 ", expires %s (%s)\n", generation,
		       ctl_time_format_hms(exp, hms), ctl_time_format_relative(exp, now, rel));
		return ctl_flush();
	}
	return CTL_EXIT_OK;
}

/*
 * exec: put the token in the environment variable --env names and run cmd
 * in place of tvtokenctl. The token never appears in an argument vector:
 * /proc/PID/cmdline is world-readable, /proc/PID/environ only by the same
 * user and root.
 */
static int
ctl_exec(struct ctl *ctl, char **cmd)
{
	const char *name = ctl->env != NULL ? ctl->env : CTL_EXEC_ENV_DEFAULT;
	const char *value;
	tvtoken_token *t;
	char *held;
	int r, e;

	r = tvtoken_get(ctl->client, ctl->wait ? ctl->wait_ms : 0, &t);
	if (r < 0)
		return ctl_fail(ctl, r);
	value = ctl->md ? t->md_access_token : t->access_token;
	if (value == NULL) {
		tvtoken_token_free(t);
		fprintf(stderr, "tvtokenctl: the broker holds no market-data token "
			"(Tradovate sent none) — use the access token\n");
		return CTL_EXIT_BROKER;
	}
	r = setenv(name, value, 1);
	e = errno;
	tvtoken_token_free(t);
	if (r < 0) {
		fprintf(stderr, "tvtokenctl: cannot set %s: %s\n", name, strerror(e));
		return CTL_EXIT_BROKER;
	}
	ctl->client = tvtoken_close(ctl->client);
	if (ctl_flush() != CTL_EXIT_OK)
		return CTL_EXIT_BROKER;
	execvp(cmd[0], cmd);
	e = errno;
	held = getenv(name);
	if (held != NULL)
		explicit_bzero(held, strlen(held));
	unsetenv(name);
	if (e == ENOENT) {
		fprintf(stderr, "tvtokenctl: %s: command not found\n", cmd[0]);
		return CTL_EXIT_NOT_FOUND;
	}
	fprintf(stderr, "tvtokenctl: cannot run %s: %s\n", cmd[0], strerror(e));
	return CTL_EXIT_CANNOT_EXEC;
}

/* Whether cmd is one of the names given after it (a NULL-terminated list). */
static bool __attribute__((sentinel))
ctl_is(const char *cmd, ...)
{
	const char *name;
	va_list ap;
	bool found = false;

	va_start(ap, cmd);
	while (!found && (name = va_arg(ap, const char *)) != NULL)
		found = strcmp(cmd, name) == 0;
	va_end(ap);
	return found;
}

/* Check the options against the command and the number of its arguments. */
static int
ctl_check_command(const struct ctl *ctl, const char *cmd, int nargs)
{
	if (!ctl_is(cmd, "token", "watch", "status", "rejected", "is-valid", "exec", NULL))
		return ctl_usage_error("unknown command '%s'", cmd);
	if (strcmp(cmd, "exec") == 0 && nargs == 0)
		return ctl_usage_error("exec needs a command to run: tvtokenctl exec -- CMD [ARGS...]");
	if (strcmp(cmd, "exec") != 0 && nargs > (strcmp(cmd, "rejected") == 0 ? 1 : 0))
		return ctl_usage_error("too many arguments for '%s'", cmd);
	if (ctl->md && ctl->format == CTL_FORMAT_JSON)
		return ctl_usage_error("--md and --json exclude each other");
	if (ctl->md && !ctl_is(cmd, "token", "rejected", "exec", NULL))
		return ctl_usage_error("--md applies to token, rejected and exec only");
	if (ctl->wait && strcmp(cmd, "status") == 0)
		return ctl_usage_error("--wait does not apply to status");
	if (ctl->format == CTL_FORMAT_PROMETHEUS && strcmp(cmd, "status") != 0)
		return ctl_usage_error("--format=prometheus applies to status only");
	if (ctl->format == CTL_FORMAT_JSON && ctl_is(cmd, "is-valid", "exec", NULL))
		return ctl_usage_error("%s does not print JSON", cmd);
	if (ctl->env != NULL && strcmp(cmd, "exec") != 0)
		return ctl_usage_error("--env applies to exec only");
	if ((ctl->min_remaining_given || ctl->verbose) && strcmp(cmd, "is-valid") != 0)
		return ctl_usage_error("--%s applies to is-valid only",
				       ctl->verbose ? "verbose" : "min-remaining");
	if (ctl->socket != NULL && ctl->instance != NULL)
		return ctl_usage_error("--socket and --instance exclude each other");
	return CTL_EXIT_OK;
}

/* Run the command with its arguments (exec: the command line to run). */
static int
ctl_run(struct ctl *ctl, const char *cmd, char **args, int nargs)
{
	const char *path = ctl->socket;
	int r;

	r = ctl_check_command(ctl, cmd, nargs);
	if (r != CTL_EXIT_OK)
		return r;
	if (ctl->instance != NULL) {
		if (asprintf(&ctl->instance_socket, CTL_INSTANCE_DIR "/%s/" CTL_SOCKET_NAME,
			     ctl->instance) < 0) {
			ctl->instance_socket = NULL;
			fprintf(stderr, "tvtokenctl: %s\n", tvtoken_strerror(TVTOKEN_E_NOMEM));
			return CTL_EXIT_BROKER;
		}
		path = ctl->instance_socket;
	}
	r = tvtoken_open(path, &ctl->client);
	if (r == TVTOKEN_E_INVAL && ctl->instance != NULL)
		return ctl_usage_error("instance name '%s' is too long", ctl->instance);
	if (r == TVTOKEN_E_INVAL)
		return ctl_usage_error("invalid socket path '%s'", path != NULL ? path : "");
	if (r < 0) {
		fprintf(stderr, "tvtokenctl: %s\n", tvtoken_strerror(r));
		return CTL_EXIT_BROKER;
	}
	if (strcmp(cmd, "token") == 0)
		r = ctl_token(ctl);
	else if (strcmp(cmd, "watch") == 0)
		r = ctl_watch(ctl);
	else if (strcmp(cmd, "status") == 0)
		r = ctl_status(ctl);
	else if (strcmp(cmd, "is-valid") == 0)
		r = ctl_is_valid(ctl);
	else if (strcmp(cmd, "exec") == 0)
		r = ctl_exec(ctl, args);
	else
		r = ctl_rejected(ctl, nargs > 0 ? args[0] : NULL);
	ctl->client = tvtoken_close(ctl->client);
	return r;
}

/* Apply one option; returns CTL_EXIT_OK, or the exit status to end with. */
static int
ctl_option(struct ctl *ctl, int opt, char **argv)
{
	int r;

	switch (opt) {
	case 's':
		ctl->socket = optarg;
		return CTL_EXIT_OK;
	case 'i':
		if (!ctl_instance_ok(optarg))
			return ctl_usage_error("invalid instance name '%s': expected the NAME of "
					       "tvtokend@NAME, without '/'", optarg);
		ctl->instance = optarg;
		return CTL_EXIT_OK;
	case 'j':
		if (ctl->format_given && ctl->format != CTL_FORMAT_JSON)
			return ctl_usage_error("--json and --format=%s exclude each other",
					       ctl->format == CTL_FORMAT_TEXT ? "text" : "prometheus");
		ctl->json = true;
		ctl->format = CTL_FORMAT_JSON;
		return CTL_EXIT_OK;
	case 'f':
		if (strcmp(optarg, "text") == 0)
			ctl->format = CTL_FORMAT_TEXT;
		else if (strcmp(optarg, "json") == 0)
			ctl->format = CTL_FORMAT_JSON;
		else if (strcmp(optarg, "prometheus") == 0)
			ctl->format = CTL_FORMAT_PROMETHEUS;
		else
			return ctl_usage_error("invalid --format '%s': expected text, json or "
					       "prometheus", optarg);
		if (ctl->json && ctl->format != CTL_FORMAT_JSON)
			return ctl_usage_error("--json and --format=%s exclude each other", optarg);
		ctl->format_given = true;
		return CTL_EXIT_OK;
	case 'w':
		ctl->wait = true;
		ctl->wait_ms = -1;
		ctl->wait_text = optarg;
		if (optarg != NULL && ctl_parse_wait(optarg, &ctl->wait_ms) < 0)
			return ctl_usage_error("invalid --wait '%s': expected seconds or a time "
					       "span, such as 30, 0.5, 30s or 2min", optarg);
		return CTL_EXIT_OK;
	case 'm':
		ctl->md = true;
		return CTL_EXIT_OK;
	case 'e':
		if (!ctl_env_name_ok(optarg))
			return ctl_usage_error("invalid --env '%s': expected a variable name such "
					       "as " CTL_EXEC_ENV_DEFAULT, optarg);
		ctl->env = optarg;
		return CTL_EXIT_OK;
	case 'r':
		r = timespan_parse(optarg, &ctl->min_remaining);
		if (r == -ERANGE)
			return ctl_usage_error("--min-remaining '%s' is too large", optarg);
		if (r < 0)
			return ctl_usage_error("invalid --min-remaining '%s': expected seconds or a "
					       "time span, such as 90, 30s, 2min or 1h 30min", optarg);
		ctl->min_remaining_given = true;
		ctl->min_remaining_text = optarg;
		return CTL_EXIT_OK;
	case 'v':
		ctl->verbose = true;
		return CTL_EXIT_OK;
	case ':':
		switch (optopt) {
		case 's':
			return ctl_usage_error("--socket needs a PATH");
		case 'i':
			return ctl_usage_error("--instance needs a NAME");
		case 'e':
			return ctl_usage_error("--env needs a variable NAME");
		case 'f':
			return ctl_usage_error("--format needs text, json or prometheus");
		case 'r':
			return ctl_usage_error("--min-remaining needs a time span");
		default:
			return ctl_usage_error("'%s' needs a value", argv[optind - 1]);
		}
	default:
		return ctl_usage_error("unknown option '%s'", argv[optind - 1]);
	}
}

/*
 * Parse the options (GNU style, before or after the command) and run the
 * command. Arguments are read in order so that exec's command line, from
 * its first word on, is left alone: "tvtokenctl exec ls -l" runs "ls -l".
 */
int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "instance", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },
		{ "wait", optional_argument, NULL, 'w' },
		{ "md", no_argument, NULL, 'm' },
		{ "env", required_argument, NULL, 'e' },
		{ "min-remaining", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .wait_ms = -1 };
	const char *cmd = NULL;
	char **args = NULL;
	int nargs = 0, opt, before, r;

	opterr = 0;
	for (;;) {
		before = optind;
		opt = getopt_long(argc, argv, "+:hVv", options, NULL);
		if (opt == 'h') {
			fputs(ctl_usage, stdout);
			return ctl_flush();
		}
		if (opt == 'V') {
			printf("tvtokenctl %s\n", TVTOKEND_VERSION);
			return ctl_flush();
		}
		if (opt != -1) {
			r = ctl_option(&ctl, opt, argv);
			if (r != CTL_EXIT_OK)
				return r;
			continue;
		}
		if (optind >= argc)
			break;
		if (optind == before + 1 && strcmp(argv[before], "--") == 0) {
			/* After "--", every word is an argument: the command first, if none yet. */
			if (cmd == NULL)
				cmd = argv[optind++];
			if (optind < argc) {
				if (args != NULL)
					return ctl_usage_error("too many arguments for '%s'", cmd);
				args = argv + optind;
				nargs = argc - optind;
			}
			break;
		}
		if (cmd == NULL) {
			cmd = argv[optind++];
			continue;
		}
		if (args == NULL)
			args = argv + optind;
		if (strcmp(cmd, "exec") == 0) {
			nargs = argc - optind;
			break;
		}
		/* Other commands' arguments are few; options may still follow them. */
		if (args + nargs != argv + optind)
			return ctl_usage_error("too many arguments for '%s'", cmd);
		nargs++;
		optind++;
	}
	if (cmd == NULL)
		return ctl_usage_error("no command given (token, watch, status, rejected, "
				       "is-valid or exec)");
	r = ctl_run(&ctl, cmd, args, nargs);
	free(ctl.instance_socket);
	return r;
}
