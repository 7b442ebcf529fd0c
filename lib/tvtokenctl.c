/*
 * tvtokenctl: asks tvtokend for the shared token from a shell (CONTRACT §5, §7).
 *
 * Exit status: 0 success; 1 the broker answered with an error, or a wait ran
 * out; 2 usage error; 3 cannot connect to the socket; 4 permission denied.
 * Messages go to stderr, say what to do, and never contain a token.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tvtoken.h"

#ifndef TVTOKEND_VERSION
#define TVTOKEND_VERSION "unknown"
#endif

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_BROKER = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_CONNECT = 3,
	CTL_EXIT_ACCESS = 4,
};

struct ctl {
	const char *socket;        /* --socket, or NULL */
	bool json;
	bool md;
	bool wait;                 /* --wait given */
	int wait_ms;               /* -1: without a value */
	const char *wait_text;     /* the SECONDS as given, for messages */
	tvtoken_client *client;
};

static const char ctl_usage[] =
	"Usage: tvtokenctl [--socket PATH] [--json] [--wait[=SECONDS]] [--md] COMMAND\n"
	"Get the shared Tradovate access token from tvtokend.\n"
	"\n"
	"Commands:\n"
	"  token                  print the access token\n"
	"  watch                  print the token as one JSON line, now and at every change\n"
	"  status                 print the broker's state\n"
	"  rejected [GENERATION]  report the current (or the given) generation of the token\n"
	"                         as refused by Tradovate, and print the new token\n"
	"\n"
	"Options (before or after the command):\n"
	"  --socket PATH      the broker's socket (default: $TVTOKEN_SOCKET, else\n"
	"                     " TVTOKEN_SOCKET_DEFAULT ")\n"
	"  --json             token, rejected: print the whole Token as JSON;\n"
	"                     status: print the GetStatus reply as JSON\n"
	"  --md               token, rejected: print the market-data token\n"
	"  --wait[=SECONDS]   token, watch: wait for a token while there is none,\n"
	"                     at most SECONDS (fractions allowed) if given;\n"
	"                     rejected: wait at most SECONDS for the new token\n"
	"  --help             show this help and exit\n"
	"  --version          show the version and exit\n"
	"\n"
	"Exit status: 0 success, 1 the broker answered with an error or the wait ran\n"
	"out, 2 usage error, 3 cannot connect to the socket, 4 permission denied.\n";

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

/* Parse --wait's SECONDS (fractions allowed) into milliseconds, rounding up. */
static int
ctl_parse_wait(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0)
		return -EINVAL;
	v *= 1000;
	if (v >= INT_MAX) {
		*ms = INT_MAX;
	} else {
		*ms = (int)v;
		if (*ms < v)
			(*ms)++;
	}
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
			fprintf(stderr, "tvtokenctl: no token within %s seconds — see "
				"'tvtokenctl status'\n", ctl->wait_text);
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
	if (ctl->json) {
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

/* watch: print the token as JSON now and at every change, until the stream ends. */
static int
ctl_watch(struct ctl *ctl)
{
	tvtoken_token *t;
	int timeout, r;

	r = tvtoken_watch(ctl->client, ctl->wait && ctl->wait_ms != 0);
	if (r < 0)
		return ctl_fail(ctl, r);
	timeout = ctl->wait && ctl->wait_ms > 0 ? ctl->wait_ms : -1;
	for (;;) {
		r = tvtoken_watch_next(ctl->client, timeout, &t);
		if (r < 0)
			return ctl_fail(ctl, r);
		timeout = -1;
		ctl_print_token_json(t);
		tvtoken_token_free(t);
		r = ctl_flush();
		if (r != CTL_EXIT_OK)
			return r;
	}
}

/* Print one line of the human-readable status: label and the member's value. */
static void
ctl_print_status_field(struct json_object *status, const char *key, const char *label)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(status, key, &v))
		return;
	printf("%-31s ", label);
	if (v == NULL) {
		puts("-");
	} else if (json_object_is_type(v, json_type_int)) {
		printf("%" PRId64 "\n", json_object_get_int64(v));
	} else if (json_object_is_type(v, json_type_string)) {
		/* The broker's texts are shown, but never as terminal control sequences. */
		for (s = json_object_get_string(v); *s != '\0'; s++)
			putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
		putchar('\n');
	} else {
		puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
}

/* status: print the broker's state, for people or (--json) as the GetStatus parameters. */
static int
ctl_status(struct ctl *ctl)
{
	static const struct {
		const char *key;
		const char *label;
	} fields[] = {
		{ "state", "State:" },
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
	struct json_object *status;
	char *text;
	size_t i;
	int r;

	r = tvtoken_status(ctl->client, &text);
	if (r < 0)
		return ctl_fail(ctl, r);
	if (ctl->json) {
		printf("%s\n", text);
		free(text);
		return ctl_flush();
	}
	status = json_tokener_parse(text);
	free(text);
	if (status == NULL || !json_object_is_type(status, json_type_object)) {
		json_object_put(status);
		return ctl_fail(ctl, TVTOKEN_E_PROTOCOL);
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		ctl_print_status_field(status, fields[i].key, fields[i].label);
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

/* Check the options against the command and the number of its arguments. */
static int
ctl_check_command(const struct ctl *ctl, const char *cmd, int nargs)
{
	int max_args = strcmp(cmd, "rejected") == 0 ? 1 : 0;

	if (strcmp(cmd, "token") != 0 && strcmp(cmd, "watch") != 0 &&
	    strcmp(cmd, "status") != 0 && strcmp(cmd, "rejected") != 0)
		return ctl_usage_error("unknown command '%s'", cmd);
	if (nargs > max_args)
		return ctl_usage_error("too many arguments for '%s'", cmd);
	if (ctl->md && ctl->json)
		return ctl_usage_error("--md and --json exclude each other");
	if (ctl->md && strcmp(cmd, "token") != 0 && strcmp(cmd, "rejected") != 0)
		return ctl_usage_error("--md applies to token and rejected only");
	if (ctl->wait && strcmp(cmd, "status") == 0)
		return ctl_usage_error("--wait does not apply to status");
	return CTL_EXIT_OK;
}

/* Run the command named by argv[0] with the rest as its arguments. */
static int
ctl_run(struct ctl *ctl, char **argv, int argc)
{
	const char *cmd = argv[0];
	int r;

	r = ctl_check_command(ctl, cmd, argc - 1);
	if (r != CTL_EXIT_OK)
		return r;
	r = tvtoken_open(ctl->socket, &ctl->client);
	if (r == TVTOKEN_E_INVAL)
		return ctl_usage_error("invalid socket path '%s'",
				       ctl->socket != NULL ? ctl->socket : "");
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
	else
		r = ctl_rejected(ctl, argc > 1 ? argv[1] : NULL);
	ctl->client = tvtoken_close(ctl->client);
	return r;
}

/* Parse the options (GNU style, before or after the command) and run the command. */
int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "wait", optional_argument, NULL, 'w' },
		{ "md", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .wait_ms = -1 };
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			ctl.socket = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'w':
			ctl.wait = true;
			ctl.wait_ms = -1;
			ctl.wait_text = optarg;
			if (optarg != NULL && ctl_parse_wait(optarg, &ctl.wait_ms) < 0)
				return ctl_usage_error("invalid --wait '%s': expected seconds, "
						       "such as 30 or 0.5", optarg);
			break;
		case 'm':
			ctl.md = true;
			break;
		case 'h':
			fputs(ctl_usage, stdout);
			return ctl_flush();
		case 'V':
			printf("tvtokenctl %s\n", TVTOKEND_VERSION);
			return ctl_flush();
		default:
			if (optopt == 's' || (optopt == 0 && optind > 0 &&
					      strcmp(argv[optind - 1], "--socket") == 0))
				return ctl_usage_error("--socket needs a PATH");
			return ctl_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("no command given (token, watch, status or rejected)");
	return ctl_run(&ctl, argv + optind, argc - optind);
}
