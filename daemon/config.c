/* SPDX-License-Identifier: MIT */
/*
 * The config file (CONTRACT §3, §7): systemd-style sections and Key=value
 * lines in PATH and PATH.d/ *.conf, validated key by key, then the secrets.
 *
 * How we use libinih. Debian's libinih 55 is built with defaults that do not
 * match our contract: it cuts values at an inline " ;" comment, joins indented
 * lines to the previous value, accepts ':' as a separator, reads lines in
 * 200-byte pieces (so a longer line silently becomes two), and does not tell
 * the handler the line number. Debian's build exposes some of these as global
 * variables (ini_allow_inline_comments, ...), but flipping them would be
 * process-wide state, Debian-only, and still give no line numbers or ':' fix.
 * So we give ini_parse_stream() our own reader instead. The reader reads the
 * whole file, counts lines, strips a BOM, the line end and surrounding blanks,
 * and keeps the raw line. It then hands libinih a short canonical line of the same
 * kind: an empty line for a comment or blank line, "[Section]" for a section
 * header, and "K=" for anything else. libinih tracks the section and calls our
 * handler once per assignment line; the handler ignores the name and value it
 * is given and splits the raw line itself at the first '=', so '#' and ';' in
 * a value stay part of it, ':' is not a separator, long lines work, and since
 * no canonical line is indented, continuation lines never happen. Section
 * headers are checked by the reader, the only place that sees them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <ini.h>
#include <systemd/sd-id128.h>

#include "config.h"
#include "timespan.h"

#define CONFIG_FILE_MAX         (1024 * 1024)   /* bytes in one config file */
#define CONFIG_DROPINS_MAX      256             /* files in PATH.d */
#define CONFIG_SECRET_MAX       4096            /* bytes in a secret file */
#define CONFIG_IDS_MAX          1024            /* entries in AllowUsers/AllowGroups */
#define CONFIG_MAX_CLIENTS_CAP  65536
#define CONFIG_PENDING_MIN      (1ULL << 20)             /* MaxPendingOutput= range */
#define CONFIG_PENDING_MAX      (1ULL << 40)
#define CONFIG_ERROR_LEN        512             /* bytes in one error line */
#define CONFIG_ECHO_MAX         64              /* bytes of a value quoted in an error */
#define CONFIG_PWBUF_MAX        (1024 * 1024)   /* getpwnam_r/getgrnam_r buffer cap */

#define CONFIG_URL_DEMO         "https://demo.tradovateapi.com/v1"
#define CONFIG_URL_LIVE         "https://live.tradovateapi.com/v1"
#define CONFIG_CRED_PASSWORD    "tradovate-password"
#define CONFIG_CRED_SECRET      "tradovate-sec"
#define CONFIG_CRED_ETCD        "etcd-password"
#define CONFIG_ELECTION_PREFIX  "tvtokend/"
#define CONFIG_LEASE_MIN        (2 * USEC_PER_SEC)
#define CONFIG_LEASE_MAX        (5 * USEC_PER_MIN)

/* Made with systemd-id128 new; DeviceId = this app's view of the machine id. */
#define CONFIG_DEVICE_APP_ID SD_ID128_MAKE(6d,9c,20,48,e2,a8,47,f0,88,ea,b2,6e,62,09,09,1f)

struct config_loader;
struct config_key;

/* Apply one non-empty (or, with CONFIG_KEY_EMPTY_OK, empty) value; report what is wrong. */
typedef int config_parse_fn(struct config_loader *, const struct config_key *, const char *);

enum {
	CONFIG_KEY_REQUIRED = 1 << 0,   /* must be assigned, never empty */
	CONFIG_KEY_EMPTY_OK = 1 << 1,   /* empty means "none" or "derive" */
};

struct config_key {
	const char *section;
	const char *name;
	config_parse_fn *parse;
	size_t offset;                  /* of the field in struct config */
	unsigned long min, max;         /* for integers */
	unsigned flags;
};

/* Where a key was last assigned, if it was. */
struct config_where {
	const char *file;
	unsigned line;
	bool set;
	bool bad;                       /* its last assignment was rejected */
	bool empty;                     /* a required key's last assignment was empty */
};

struct config_loader {
	struct config c;                /* being built; becomes *out on success */
	struct config_errors *errs;     /* may be NULL */
	bool failed;                    /* at least one error */
	int oom;                        /* -ENOMEM once an allocation failed */
	struct config_where *where;     /* one per config_keys[] entry */

	/* The file being parsed. */
	const char *file;
	char *buf;
	size_t len, pos;
	unsigned line;
	char *raw;                      /* current line, trimmed, inside buf */
	bool skip_section;              /* in an unknown or malformed section */
};

static config_parse_fn config_parse_string;
static config_parse_fn config_parse_path;
static config_parse_fn config_parse_socket;
static config_parse_fn config_parse_base_url;
static config_parse_fn config_parse_client_id;
static config_parse_fn config_parse_duration;
static config_parse_fn config_parse_unsigned;
static config_parse_fn config_parse_socket_mode;
static config_parse_fn config_parse_socket_group;
static config_parse_fn config_parse_allow_users;
static config_parse_fn config_parse_allow_groups;
static config_parse_fn config_parse_etcd;
static config_parse_fn config_parse_election;
static config_parse_fn config_parse_member;
static config_parse_fn config_parse_lease;
static config_parse_fn config_parse_file_mode;
static config_parse_fn config_parse_file_group;
static config_parse_fn config_parse_sink_format;
static config_parse_fn config_parse_exec;
static config_parse_fn config_parse_size;

#define KEY(sec, name, fn, field, mn, mx, fl) \
	{ sec, name, fn, offsetof(struct config, field), mn, mx, fl }

enum {
	KEY_BASE_URL, KEY_NAME, KEY_APP_ID, KEY_CLIENT_ID, KEY_APP_VERSION, KEY_DEVICE_ID,
	KEY_PASSWORD_FILE, KEY_SECRET_FILE, KEY_CA_FILE, KEY_REQUEST_TIMEOUT,
	KEY_RENEW_BEFORE, KEY_RETRY_MIN, KEY_RETRY_MAX, KEY_LOCKOUT, KEY_MAX_RENEWALS,
	KEY_MAX_FAILED, KEY_STATE_FILE,
	KEY_SOCKET, KEY_SOCKET_MODE, KEY_SOCKET_GROUP, KEY_ALLOW_USERS, KEY_ALLOW_GROUPS,
	KEY_MAX_CLIENTS, KEY_MAX_CLIENTS_PER_USER, KEY_MAX_PENDING_OUTPUT,
	KEY_SINK_FILE, KEY_SINK_MODE, KEY_SINK_GROUP, KEY_SINK_FORMAT, KEY_EXEC_ON_CHANGE,
	KEY_EXEC_TIMEOUT, KEY_TOKEN_EXEC_ON_CHANGE, KEY_TOKEN_EXEC_TIMEOUT,
	KEY_ETCD, KEY_ELECTION, KEY_MEMBER, KEY_LEASE, KEY_ETCD_CA_FILE, KEY_ETCD_CERT_FILE,
	KEY_ETCD_KEY_FILE, KEY_ETCD_USER, KEY_ETCD_PASSWORD_FILE,
	KEY_COUNT
};

static const struct config_key config_keys[KEY_COUNT] = {
	[KEY_BASE_URL] = KEY("Tradovate", "BaseURL", config_parse_base_url, base_url, 0, 0, 0),
	[KEY_NAME] = KEY("Tradovate", "Name", config_parse_string, name, 0, 0, CONFIG_KEY_REQUIRED),
	[KEY_APP_ID] = KEY("Tradovate", "AppId", config_parse_string, app_id, 0, 0, CONFIG_KEY_REQUIRED),
	[KEY_CLIENT_ID] = KEY("Tradovate", "ClientId", config_parse_client_id, client_id,
	    0, 2147483647, CONFIG_KEY_REQUIRED),
	[KEY_APP_VERSION] = KEY("Tradovate", "AppVersion", config_parse_string, app_version, 0, 0, 0),
	[KEY_DEVICE_ID] = KEY("Tradovate", "DeviceId", config_parse_string, device_id,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_PASSWORD_FILE] = KEY("Tradovate", "PasswordFile", config_parse_path, password_file,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_SECRET_FILE] = KEY("Tradovate", "SecretFile", config_parse_path, secret_file,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_CA_FILE] = KEY("Tradovate", "CAFile", config_parse_path, ca_file, 0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_REQUEST_TIMEOUT] = KEY("Tradovate", "RequestTimeoutSec", config_parse_duration,
	    request_timeout, 0, 0, 0),
	[KEY_RENEW_BEFORE] = KEY("Token", "RenewBeforeSec", config_parse_duration, renew_before, 0, 0, 0),
	[KEY_RETRY_MIN] = KEY("Token", "RetryMinSec", config_parse_duration, retry_min, 0, 0, 0),
	[KEY_RETRY_MAX] = KEY("Token", "RetryMaxSec", config_parse_duration, retry_max, 0, 0, 0),
	[KEY_LOCKOUT] = KEY("Token", "LockoutSec", config_parse_duration, lockout, 0, 0, 0),
	[KEY_MAX_RENEWALS] = KEY("Token", "MaxRenewalsPerHour", config_parse_unsigned,
	    max_renewals_per_hour, 1, 15, 0),
	[KEY_MAX_FAILED] = KEY("Token", "MaxFailedRequestsPerHour", config_parse_unsigned,
	    max_failed_requests_per_hour, 1, 5, 0),
	[KEY_STATE_FILE] = KEY("Token", "StateFile", config_parse_path, state_file,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_SOCKET] = KEY("Server", "Socket", config_parse_socket, socket, 0, 0, 0),
	[KEY_SOCKET_MODE] = KEY("Server", "SocketMode", config_parse_socket_mode, socket_mode, 0, 0777, 0),
	[KEY_SOCKET_GROUP] = KEY("Server", "SocketGroup", config_parse_socket_group, socket_group,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_ALLOW_USERS] = KEY("Server", "AllowUsers", config_parse_allow_users, allow_users,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_ALLOW_GROUPS] = KEY("Server", "AllowGroups", config_parse_allow_groups, allow_groups,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_MAX_CLIENTS] = KEY("Server", "MaxClients", config_parse_unsigned, max_clients,
	    1, CONFIG_MAX_CLIENTS_CAP, 0),
	[KEY_MAX_CLIENTS_PER_USER] = KEY("Server", "MaxClientsPerUser", config_parse_unsigned,
	    max_clients_per_user, 1, CONFIG_MAX_CLIENTS_CAP, 0),
	[KEY_MAX_PENDING_OUTPUT] = KEY("Server", "MaxPendingOutput", config_parse_size,
	    max_pending_output, CONFIG_PENDING_MIN, CONFIG_PENDING_MAX, 0),
	[KEY_SINK_FILE] = KEY("Sink", "File", config_parse_path, sink_file, 0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_SINK_MODE] = KEY("Sink", "FileMode", config_parse_file_mode, sink_mode, 0, 0777, 0),
	[KEY_SINK_GROUP] = KEY("Sink", "FileGroup", config_parse_file_group, sink_group,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_SINK_FORMAT] = KEY("Sink", "Format", config_parse_sink_format, sink_format, 0, 0, 0),
	[KEY_EXEC_ON_CHANGE] = KEY("Sink", "ExecOnChange", config_parse_exec, exec_on_change,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_EXEC_TIMEOUT] = KEY("Sink", "ExecOnChangeTimeoutSec", config_parse_duration,
	    exec_on_change_timeout, 0, 0, 0),
	/* The issue does not say where the hook belongs: [Token] is accepted as a synonym. */
	[KEY_TOKEN_EXEC_ON_CHANGE] = KEY("Token", "ExecOnChange", config_parse_exec, exec_on_change,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_TOKEN_EXEC_TIMEOUT] = KEY("Token", "ExecOnChangeTimeoutSec", config_parse_duration,
	    exec_on_change_timeout, 0, 0, 0),
	/* Required only when there is a [Cluster] section (config_finish). */
	[KEY_ETCD] = KEY("Cluster", "Etcd", config_parse_etcd, etcd, 0, 0, CONFIG_KEY_REQUIRED),
	[KEY_ELECTION] = KEY("Cluster", "Election", config_parse_election, election,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_MEMBER] = KEY("Cluster", "Member", config_parse_member, member,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_LEASE] = KEY("Cluster", "LeaseSec", config_parse_lease, lease, 0, 0, 0),
	[KEY_ETCD_CA_FILE] = KEY("Cluster", "EtcdCAFile", config_parse_path, etcd_ca_file,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_ETCD_CERT_FILE] = KEY("Cluster", "EtcdCertFile", config_parse_path, etcd_cert_file,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_ETCD_KEY_FILE] = KEY("Cluster", "EtcdKeyFile", config_parse_path, etcd_key_file,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_ETCD_USER] = KEY("Cluster", "EtcdUser", config_parse_string, etcd_user,
	    0, 0, CONFIG_KEY_EMPTY_OK),
	[KEY_ETCD_PASSWORD_FILE] = KEY("Cluster", "EtcdPasswordFile", config_parse_path,
	    etcd_password_file, 0, 0, CONFIG_KEY_EMPTY_OK),
};

static const char *const config_sections[] = { "Tradovate", "Token", "Server", "Sink", "Cluster" };
#define CONFIG_N_SECTIONS (sizeof(config_sections) / sizeof(config_sections[0]))

/* Whether c is a space or a tab, the blanks allowed around keys and values. */
static bool config_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether c is an ASCII digit, whatever the locale. */
static bool config_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether c is an ASCII letter, whatever the locale. */
static bool config_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Cut trailing blanks and carriage returns off s in place and return it. */
static char *config_rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (config_is_blank(s[n - 1]) || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Skip leading blanks of s. */
static char *config_lstrip(char *s)
{
	while (config_is_blank(*s))
		s++;
	return s;
}

/* How much of a buffer of size bytes an snprintf() that returned r filled. */
static size_t config_filled(int r, size_t size)
{
	if (r < 0)
		return 0;
	return (size_t)r < size ? (size_t)r : size - 1;
}

/* Record one problem as "FILE:LINE: Key: why" (no LINE or Key when 0/NULL), one line, capped. */
static void __attribute__((format(printf, 5, 6)))
config_error(struct config_loader *l, const char *file, unsigned line, const char *key,
    const char *fmt, ...)
{
	char buf[CONFIG_ERROR_LEN];
	size_t n;
	va_list ap;
	char *msg;

	l->failed = true;
	if (l->errs == NULL || l->errs->n >= CONFIG_MAX_ERRORS)
		return;
	if (l->errs->n == CONFIG_MAX_ERRORS - 1) {
		snprintf(buf, sizeof(buf), "%s: too many errors, the rest are not shown",
		    l->c.path);
	} else {
		if (line > 0)
			n = config_filled(snprintf(buf, sizeof(buf), "%s:%u: ", file, line),
			    sizeof(buf));
		else
			n = config_filled(snprintf(buf, sizeof(buf), "%s: ", file), sizeof(buf));
		if (key != NULL)
			n += config_filled(snprintf(buf + n, sizeof(buf) - n, "%.64s: ", key),
			    sizeof(buf) - n);
		va_start(ap, fmt);
		vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		va_end(ap);
	}
	/* One line of printable text, whatever the file contained. */
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	msg = strdup(buf);
	if (msg == NULL) {
		l->oom = -ENOMEM;
		return;
	}
	l->errs->msg[l->errs->n++] = msg;
}

/* Record a warning ("FILE: Key: why"): worth saying, not worth refusing the config. */
static void __attribute__((format(printf, 3, 4)))
config_warning(struct config_loader *l, const char *key, const char *fmt, ...)
{
	char buf[CONFIG_ERROR_LEN];
	size_t n;
	va_list ap;
	char *msg;

	if (l->errs == NULL || l->errs->n_warnings >= CONFIG_MAX_WARNINGS)
		return;
	n = config_filled(snprintf(buf, sizeof(buf), "%s: %.64s: ", l->c.path, key), sizeof(buf));
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	msg = strdup(buf);
	if (msg == NULL) {
		l->oom = -ENOMEM;
		return;
	}
	l->errs->warning[l->errs->n_warnings++] = msg;
}

/* Quote at most CONFIG_ECHO_MAX bytes of a value for an error message. */
static const char *config_echo(const char *v, char buf[static CONFIG_ECHO_MAX + 4])
{
	size_t n = strlen(v);

	if (n <= CONFIG_ECHO_MAX)
		return v;
	memcpy(buf, v, CONFIG_ECHO_MAX);
	memcpy(buf + CONFIG_ECHO_MAX, "...", 4);
	return buf;
}

/* Point at the field of the config under construction that key k fills. */
static void *config_field(struct config_loader *l, const struct config_key *k)
{
	return (char *)&l->c + k->offset;
}

/* Replace a string field with a copy of v, or with NULL when v is empty. */
static int config_set_string(struct config_loader *l, char **field, const char *v)
{
	char *copy = NULL;

	if (*v != '\0') {
		copy = strdup(v);
		if (copy == NULL)
			return l->oom = -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Parse a decimal number of ASCII digits only, up to max. */
static int config_parse_decimal(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (!config_is_digit(*s))
			return -EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (unsigned)(*s - '0'), &v))
			return -ERANGE;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Parse a systemd time span; a span of 0 is out of range for every duration we take. */
int config_parse_timespan(const char *s, usec_t *out)
{
	usec_t v;
	int r;

	if (s == NULL || out == NULL)
		return -EINVAL;
	r = timespan_parse(s, &v);
	if (r < 0)
		return r;
	if (v == 0)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Name, AppId, AppVersion, DeviceId: any text. */
static int config_parse_string(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	return config_set_string(l, config_field(l, k), v);
}

/* An absolute path, or empty for none. */
static int config_parse_path(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];

	if (*v != '\0' && *v != '/') {
		config_error(l, l->file, l->line, k->name, "\"%s\" is not an absolute path",
		    config_echo(v, e));
		return -EINVAL;
	}
	if (strlen(v) >= PATH_MAX) {
		config_error(l, l->file, l->line, k->name, "path is longer than %d bytes",
		    PATH_MAX - 1);
		return -EINVAL;
	}
	return config_set_string(l, config_field(l, k), v);
}

/* Socket: an absolute path that fits in sockaddr_un. */
static int config_parse_socket(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	const size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;

	if (*v == '/' && strlen(v) > max) {
		config_error(l, l->file, l->line, k->name,
		    "socket path is longer than %zu bytes", max);
		return -EINVAL;
	}
	return config_parse_path(l, k, v);
}

/*
 * Whether the authority of an http:// URL (auth, len bytes: userinfo, host,
 * port) names a loopback host: 127.0.0.0/8, [::1] (any spelling), localhost.
 */
static bool config_authority_is_loopback(const char *auth, size_t len)
{
	char host[64];
	const char *at, *h = auth, *end = auth + len, *colon;
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;

	for (at = auth; at < end; at++)
		if (*at == '@')
			h = at + 1;             /* the host follows the last '@' */
	if (h < end && *h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (close == NULL || (size_t)(close - h - 1) >= sizeof(host))
			return false;
		n = (size_t)(close - h - 1);
		memcpy(host, h + 1, n);
		host[n] = '\0';
		return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	colon = memchr(h, ':', (size_t)(end - h));
	n = (size_t)((colon ? colon : end) - h);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* BaseURL: demo, live, or an http(s) URL with a host that ends in /v1. */
static int config_parse_base_url(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	size_t n = strlen(v), scheme, host;
	char *url;

	if (strcmp(v, "demo") == 0)
		return config_set_string(l, &l->c.base_url, CONFIG_URL_DEMO);
	if (strcmp(v, "live") == 0)
		return config_set_string(l, &l->c.base_url, CONFIG_URL_LIVE);

	if (strncasecmp(v, "https://", 8) == 0)
		scheme = 8;
	else if (strncasecmp(v, "http://", 7) == 0)
		scheme = 7;
	else {
		config_error(l, l->file, l->line, k->name,
		    "\"%s\" is not demo, live, or an https:// or http:// URL",
		    config_echo(v, e));
		return -EINVAL;
	}
	for (const char *p = v; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			config_error(l, l->file, l->line, k->name,
			    "\"%s\" contains blanks or control characters", config_echo(v, e));
			return -EINVAL;
		}
	}
	if (v[n - 1] == '/')
		n--;
	host = strcspn(v + scheme, "/?#");
	if (host == 0) {
		config_error(l, l->file, l->line, k->name, "\"%s\" has no host",
		    config_echo(v, e));
		return -EINVAL;
	}
	/* The password and API secret would cross the network in clear. */
	if (scheme == 7 && !config_authority_is_loopback(v + scheme, host)) {
		config_error(l, l->file, l->line, k->name,
		    "\"%s\": plain http:// is only for a loopback host (127.0.0.0/8, [::1], "
		    "localhost); anything else needs https://", config_echo(v, e));
		return -EINVAL;
	}
	if (n < scheme + host + 3 || memcmp(v + n - 3, "/v1", 3) != 0) {
		config_error(l, l->file, l->line, k->name, "\"%s\" does not end in /v1",
		    config_echo(v, e));
		return -EINVAL;
	}
	url = strndup(v, n);
	if (url == NULL)
		return l->oom = -ENOMEM;
	free(l->c.base_url);
	l->c.base_url = url;
	return 0;
}

/* ClientId: the API key's cid, 0-2147483647. */
static int config_parse_client_id(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	unsigned long long x;
	int r;

	r = config_parse_decimal(v, k->max, &x);
	if (r == -EINVAL)
		config_error(l, l->file, l->line, k->name, "invalid integer \"%s\"",
		    config_echo(v, e));
	else if (r < 0)
		config_error(l, l->file, l->line, k->name, "\"%s\" is out of range %lu-%lu",
		    config_echo(v, e), k->min, k->max);
	if (r < 0)
		return r;
	l->c.client_id = (long)x;
	return 0;
}

/* A duration field: a time span greater than 0. */
static int config_parse_duration(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	usec_t x;
	int r;

	r = timespan_parse(v, &x);
	if (r == -EINVAL) {
		config_error(l, l->file, l->line, k->name, "invalid time span \"%s\"",
		    config_echo(v, e));
		return r;
	}
	if (r < 0) {
		config_error(l, l->file, l->line, k->name, "time span \"%s\" is too large",
		    config_echo(v, e));
		return r;
	}
	if (x == 0) {
		config_error(l, l->file, l->line, k->name, "time span \"%s\" must be greater than 0",
		    config_echo(v, e));
		return -ERANGE;
	}
	*(usec_t *)config_field(l, k) = x;
	return 0;
}

/* An unsigned field within the key's range. */
static int config_parse_unsigned(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	unsigned long long x;
	int r;

	r = config_parse_decimal(v, k->max, &x);
	if (r == 0 && x < k->min)
		r = -ERANGE;
	if (r == -EINVAL)
		config_error(l, l->file, l->line, k->name, "invalid integer \"%s\"",
		    config_echo(v, e));
	else if (r < 0)
		config_error(l, l->file, l->line, k->name, "\"%s\" is out of range %lu-%lu",
		    config_echo(v, e), k->min, k->max);
	if (r < 0)
		return r;
	*(unsigned *)config_field(l, k) = (unsigned)x;
	return 0;
}

/*
 * A byte size: a decimal number with an optional K, M, G or T (powers of
 * 1024, as systemd's sizes), within the key's range.
 */
static int config_parse_size(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	static const char suffixes[] = "KMGT";
	char e[CONFIG_ECHO_MAX + 4], num[32];
	unsigned long long x;
	const char *u;
	size_t n = 0;
	int r, shift = 0;

	while (config_is_digit(v[n]))
		n++;
	u = config_lstrip((char *)v + n);
	if (*u != '\0') {
		const char *at = strchr(suffixes, *u);

		if (at == NULL || u[1] != '\0')
			n = 0;
		else
			shift = 10 * (int)(at - suffixes + 1);
	}
	r = -EINVAL;
	if (n > 0 && n < sizeof(num)) {
		memcpy(num, v, n);
		num[n] = '\0';
		r = config_parse_decimal(num, k->max >> shift, &x);
		if (r == 0 && (x << shift) < k->min)
			r = -ERANGE;
	}
	if (r == -EINVAL)
		config_error(l, l->file, l->line, k->name,
		    "invalid size \"%s\"; expected bytes, or a number with K, M, G or T",
		    config_echo(v, e));
	else if (r < 0)
		config_error(l, l->file, l->line, k->name, "\"%s\" is out of range %luM-%luG",
		    config_echo(v, e), k->min >> 20, k->max >> 30);
	if (r < 0)
		return r;
	*(uint64_t *)config_field(l, k) = (uint64_t)x << shift;
	return 0;
}

/* SocketMode: octal digits, no more than 0777. */
static int config_parse_socket_mode(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	unsigned long m = 0;
	const char *p;

	for (p = v; *p >= '0' && *p <= '7' && m <= k->max; p++)
		m = m * 8 + (unsigned long)(*p - '0');
	if (*p != '\0' || m > k->max) {
		config_error(l, l->file, l->line, k->name,
		    "\"%s\" is not an octal mode between 0000 and 0777", config_echo(v, e));
		return -EINVAL;
	}
	l->c.socket_mode = (mode_t)m;
	return 0;
}

/* Look up a user name with getpwnam_r, growing the buffer as needed. */
static int config_lookup_user(const char *name, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	size_t size = 1024;
	char *buf = NULL, *nbuf;
	int r;

	for (;;) {
		nbuf = realloc(buf, size);
		if (nbuf == NULL) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		r = getpwnam_r(name, &pw, buf, size, &res);
		if (r != ERANGE || size >= CONFIG_PWBUF_MAX)
			break;
		size *= 2;
	}
	if (r == 0 && res != NULL)
		*uid = res->pw_uid;
	free(buf);
	if (r != 0)
		return -r;
	return res == NULL ? -ENOENT : 0;
}

/* Look up a group name with getgrnam_r, growing the buffer as needed. */
static int config_lookup_group(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	size_t size = 1024;
	char *buf = NULL, *nbuf;
	int r;

	for (;;) {
		nbuf = realloc(buf, size);
		if (nbuf == NULL) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		r = getgrnam_r(name, &gr, buf, size, &res);
		if (r != ERANGE || size >= CONFIG_PWBUF_MAX)
			break;
		size *= 2;
	}
	if (r == 0 && res != NULL)
		*gid = res->gr_gid;
	free(buf);
	if (r != 0)
		return -r;
	return res == NULL ? -ENOENT : 0;
}

/* Resolve one user or group word (a name, or a numeric id) and report what is wrong. */
static int config_resolve_id(struct config_loader *l, const struct config_key *k,
    const char *word, bool group, uint32_t *id)
{
	char e[CONFIG_ECHO_MAX + 4];
	const char *what = group ? "group" : "user";
	unsigned long long n;
	uid_t uid;
	gid_t gid;
	int r;

	if (config_is_digit(*word)) {
		/* (uid_t)-1 means "no id" to the kernel. */
		r = config_parse_decimal(word, (uint32_t)-2, &n);
		if (r < 0) {
			config_error(l, l->file, l->line, k->name, "invalid %s id \"%s\"", what,
			    config_echo(word, e));
			return r;
		}
		*id = (uint32_t)n;
		return 0;
	}
	r = group ? config_lookup_group(word, &gid) : config_lookup_user(word, &uid);
	if (r == -ENOMEM)
		return l->oom = r;
	if (r == -ENOENT) {
		config_error(l, l->file, l->line, k->name, "unknown %s \"%s\"", what,
		    config_echo(word, e));
		return r;
	}
	if (r < 0) {
		config_error(l, l->file, l->line, k->name, "cannot look up %s \"%s\": %s", what,
		    config_echo(word, e), strerror(-r));
		return r;
	}
	*id = group ? (uint32_t)gid : (uint32_t)uid;
	return 0;
}

/* A group name or gid into *gid (*has set), or empty for none (*has cleared). */
static int config_set_group(struct config_loader *l, const struct config_key *k,
    const char *v, bool *has, gid_t *gid)
{
	uint32_t id;
	int r;

	if (*v == '\0') {
		*has = false;
		*gid = 0;
		return 0;
	}
	r = config_resolve_id(l, k, v, true, &id);
	if (r < 0)
		return r;
	*has = true;
	*gid = (gid_t)id;
	return 0;
}

/* SocketGroup: a group name or gid, or empty for the daemon's group. */
static int config_parse_socket_group(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	return config_set_group(l, k, v, &l->c.has_socket_group, &l->c.socket_group);
}

/* Resolve a blank-separated list of users or groups; every bad word is reported. */
static int config_parse_id_list(struct config_loader *l, const struct config_key *k,
    const char *v, bool group, uint32_t **list, size_t *n)
{
	uint32_t *ids = NULL;
	size_t count = 0;
	char *copy, *word, *save = NULL;
	int r = 0, q;

	copy = strdup(v);
	if (copy == NULL)
		return l->oom = -ENOMEM;
	for (word = strtok_r(copy, " \t", &save); word != NULL;
	    word = strtok_r(NULL, " \t", &save)) {
		uint32_t id, *nids;

		if (count == CONFIG_IDS_MAX) {
			config_error(l, l->file, l->line, k->name, "more than %d entries",
			    CONFIG_IDS_MAX);
			r = -E2BIG;
			break;
		}
		q = config_resolve_id(l, k, word, group, &id);
		if (q == -ENOMEM) {
			r = q;
			break;
		}
		if (q < 0) {
			r = q;
			continue;
		}
		nids = reallocarray(ids, count + 1, sizeof(*ids));
		if (nids == NULL) {
			r = l->oom = -ENOMEM;
			break;
		}
		ids = nids;
		ids[count++] = id;
	}
	free(copy);
	if (r < 0) {
		free(ids);
		return r;
	}
	free(*list);
	*list = ids;
	*n = count;
	return 0;
}

/* AllowUsers: user names or uids. */
static int config_parse_allow_users(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	_Static_assert(sizeof(uid_t) == sizeof(uint32_t), "uid_t is 32 bits");
	return config_parse_id_list(l, k, v, false, (uint32_t **)&l->c.allow_users,
	    &l->c.n_allow_users);
}

/* AllowGroups: group names or gids. */
static int config_parse_allow_groups(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
	return config_parse_id_list(l, k, v, true, (uint32_t **)&l->c.allow_groups,
	    &l->c.n_allow_groups);
}

/* "[Tradovate], [Token], [Server] or [Sink]": every section, for error messages. */
static const char *config_section_list(void)
{
	static char list[128];
	size_t n = 0;

	if (list[0] != '\0')
		return list;
	for (size_t i = 0; i < CONFIG_N_SECTIONS; i++)
		n += config_filled(snprintf(list + n, sizeof(list) - n, "%s[%s]",
		    i == 0 ? "" : i + 1 == CONFIG_N_SECTIONS ? " or " : ", ", config_sections[i]),
		    sizeof(list) - n);
	return list;
}

/* FileMode: octal digits, no more than 0777. */
static int config_parse_file_mode(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	unsigned long m = 0;
	const char *p;

	for (p = v; *p >= '0' && *p <= '7' && m <= k->max; p++)
		m = m * 8 + (unsigned long)(*p - '0');
	if (*p != '\0' || m > k->max) {
		config_error(l, l->file, l->line, k->name,
		    "\"%s\" is not an octal mode between 0000 and 0777", config_echo(v, e));
		return -EINVAL;
	}
	*(mode_t *)config_field(l, k) = (mode_t)m;
	return 0;
}

/* FileGroup: a group name or gid, or empty for the group a new file gets. */
static int config_parse_file_group(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	return config_set_group(l, k, v, &l->c.has_sink_group, &l->c.sink_group);
}

/* Format: token, json or env. */
static int config_parse_sink_format(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	static const char *const names[] = {
		[CONFIG_SINK_TOKEN] = "token",
		[CONFIG_SINK_JSON] = "json",
		[CONFIG_SINK_ENV] = "env",
	};
	char e[CONFIG_ECHO_MAX + 4];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(v, names[i]) == 0) {
			*(enum config_sink_format *)config_field(l, k) = (enum config_sink_format)i;
			return 0;
		}
	}
	config_error(l, l->file, l->line, k->name, "\"%s\" is not token, json or env",
	    config_echo(v, e));
	return -EINVAL;
}

/* Free a NULL-terminated argument vector. */
static void config_free_argv(char **argv)
{
	if (argv == NULL)
		return;
	for (char **a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
}

/*
 * ExecOnChange: an absolute path to an executable file, then its arguments,
 * split at blanks (quotes are not special, as everywhere in this file);
 * empty for none.
 */
static int config_parse_exec(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	char **argv = NULL, *copy, *word, *save = NULL;
	size_t n = 0;
	struct stat st;
	int r = 0;

	copy = strdup(v);
	if (copy == NULL)
		return l->oom = -ENOMEM;
	argv = calloc(CONFIG_EXEC_ARGS_MAX + 1, sizeof(*argv));
	if (argv == NULL) {
		free(copy);
		return l->oom = -ENOMEM;
	}
	for (word = strtok_r(copy, " \t", &save); word != NULL; word = strtok_r(NULL, " \t", &save)) {
		if (n == CONFIG_EXEC_ARGS_MAX) {
			config_error(l, l->file, l->line, k->name, "more than %d words",
			    CONFIG_EXEC_ARGS_MAX);
			r = -E2BIG;
			goto out;
		}
		argv[n] = strdup(word);
		if (argv[n] == NULL) {
			r = l->oom = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n == 0) {
		/* Empty: no hook. */
		config_free_argv(*(char ***)config_field(l, k));
		*(char ***)config_field(l, k) = NULL;
		goto out;
	}
	if (argv[0][0] != '/') {
		config_error(l, l->file, l->line, k->name,
		    "\"%s\" is not an absolute path", config_echo(argv[0], e));
		r = -EINVAL;
	} else if (strlen(argv[0]) >= PATH_MAX) {
		config_error(l, l->file, l->line, k->name, "path is longer than %d bytes",
		    PATH_MAX - 1);
		r = -EINVAL;
	} else if (stat(argv[0], &st) < 0 || access(argv[0], X_OK) < 0) {
		config_error(l, l->file, l->line, k->name, "cannot run %s: %s",
		    config_echo(argv[0], e), strerror(errno));
		r = -EINVAL;
	} else if (!S_ISREG(st.st_mode)) {
		config_error(l, l->file, l->line, k->name, "cannot run %s: not a regular file",
		    config_echo(argv[0], e));
		r = -EINVAL;
	}
	if (r == 0) {
		config_free_argv(*(char ***)config_field(l, k));
		*(char ***)config_field(l, k) = argv;
		argv = NULL;
	}
out:
	config_free_argv(argv);
	free(copy);
	return r;
}

/* Free a list of etcd endpoints. */
static void config_free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Check one etcd endpoint URL and copy it with a lower-case scheme and no trailing '/'. */
static int config_etcd_url(struct config_loader *l, const struct config_key *k,
    const char *w, char **out)
{
	char e[CONFIG_ECHO_MAX + 4];
	size_t scheme, n = strlen(w);
	const char *host;
	char *url;

	if (strncasecmp(w, "https://", 8) == 0)
		scheme = 8;
	else if (strncasecmp(w, "http://", 7) == 0)
		scheme = 7;
	else {
		config_error(l, l->file, l->line, k->name,
		    "\"%s\" is not an http:// or https:// URL", config_echo(w, e));
		return -EINVAL;
	}
	if (n > scheme && w[n - 1] == '/')
		n--;
	host = w + scheme;
	if ((size_t)(host - w) == n || strcspn(host, "/?#@") < n - scheme) {
		config_error(l, l->file, l->line, k->name,
		    "\"%s\" must be scheme://host[:port] without a path, user or query",
		    config_echo(w, e));
		return -EINVAL;
	}
	for (const char *p = w; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			config_error(l, l->file, l->line, k->name,
			    "\"%s\" contains control or non-ASCII characters", config_echo(w, e));
			return -EINVAL;
		}
	}
	url = strndup(w, n);
	if (url == NULL)
		return l->oom = -ENOMEM;
	for (size_t i = 0; i < scheme; i++)
		url[i] = (char)(url[i] >= 'A' && url[i] <= 'Z' ? url[i] - 'A' + 'a' : url[i]);
	*out = url;
	return 0;
}

/* Etcd: blank-separated http(s) URLs of etcd's client endpoints, each once. */
static int config_parse_etcd(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	char **list = NULL, *copy, *word, *save = NULL, *url;
	size_t n = 0;
	int r = 0;

	copy = strdup(v);
	if (copy == NULL)
		return l->oom = -ENOMEM;
	for (word = strtok_r(copy, " \t", &save); word != NULL; word = strtok_r(NULL, " \t", &save)) {
		char **nl;

		if (n == CONFIG_MAX_ETCD) {
			config_error(l, l->file, l->line, k->name, "more than %d endpoints",
			    CONFIG_MAX_ETCD);
			r = -E2BIG;
			break;
		}
		r = config_etcd_url(l, k, word, &url);
		if (r < 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(list[i], url) == 0) {
				config_error(l, l->file, l->line, k->name, "\"%s\" is listed twice",
				    config_echo(url, e));
				r = -EINVAL;
			}
		}
		nl = r == 0 ? reallocarray(list, n + 1, sizeof(*list)) : NULL;
		if (nl == NULL) {
			free(url);
			if (r == 0)
				r = l->oom = -ENOMEM;
			break;
		}
		list = nl;
		list[n++] = url;
	}
	free(copy);
	if (r < 0) {
		config_free_list(list, n);
		return r;
	}
	config_free_list(l->c.etcd, l->c.n_etcd);
	l->c.etcd = list;
	l->c.n_etcd = n;
	return 0;
}

/* Why s cannot be an election prefix, or NULL when it can. */
static const char *config_election_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > CONFIG_MAX_ELECTION)
		return "is longer than 128 bytes";
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return "may hold only printable ASCII without blanks";
	if (s[n - 1] == '/' || strstr(s, "//") != NULL)
		return "must not end in '/' or contain \"//\"";
	return NULL;
}

/* Election: the etcd key prefix the brokers of one account share; empty: the default. */
static int config_parse_election(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	const char *why = *v != '\0' ? config_election_problem(v) : NULL;

	if (why != NULL) {
		config_error(l, l->file, l->line, k->name, "\"%s\" %s", config_echo(v, e), why);
		return -EINVAL;
	}
	return config_set_string(l, &l->c.election, v);
}

/* Why s cannot be a member name, or NULL when it can. */
static const char *config_member_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > CONFIG_MAX_MEMBER)
		return "is longer than 64 bytes";
	if (s[0] == '.' || s[0] == '-')
		return "must not start with '.' or '-'";
	for (const char *p = s; *p != '\0'; p++)
		if (!config_is_alpha(*p) && !config_is_digit(*p) && *p != '.' && *p != '-' &&
		    *p != '_')
			return "may hold only letters, digits, '.', '-' and '_'";
	return NULL;
}

/* Member: this broker's name in the cluster; empty: the host name. */
static int config_parse_member(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	const char *why = *v != '\0' ? config_member_problem(v) : NULL;

	if (why != NULL) {
		config_error(l, l->file, l->line, k->name, "\"%s\" %s", config_echo(v, e), why);
		return -EINVAL;
	}
	return config_set_string(l, &l->c.member, v);
}

/* LeaseSec: whole seconds (etcd's unit) from 2 s to 5 min. */
static int config_parse_lease(struct config_loader *l, const struct config_key *k,
    const char *v)
{
	char e[CONFIG_ECHO_MAX + 4];
	usec_t old = l->c.lease, x;
	int r;

	r = config_parse_duration(l, k, v);
	if (r < 0)
		return r;
	x = l->c.lease;
	l->c.lease = old;
	if (x % USEC_PER_SEC != 0) {
		config_error(l, l->file, l->line, k->name,
		    "\"%s\" is not a whole number of seconds (etcd leases count in seconds)",
		    config_echo(v, e));
		return -EINVAL;
	}
	if (x < CONFIG_LEASE_MIN || x > CONFIG_LEASE_MAX) {
		config_error(l, l->file, l->line, k->name, "\"%s\" is out of range 2s-5min",
		    config_echo(v, e));
		return -ERANGE;
	}
	l->c.lease = x;
	return 0;
}

/* Return the index of the key named name in section, or -1. */
static int config_find_key(const char *section, const char *name)
{
	for (int i = 0; i < KEY_COUNT; i++)
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return i;
	return -1;
}


/* Check a "[Section]" line; return the canonical name, or NULL after reporting the line. */
static const char *config_section_line(struct config_loader *l, char *line)
{
	char e[CONFIG_ECHO_MAX + 4];
	size_t n = strlen(line);

	if (n < 2 || line[n - 1] != ']') {
		config_error(l, l->file, l->line, NULL,
		    "malformed section header \"%s\"", config_echo(line, e));
		return NULL;
	}
	line[n - 1] = '\0';
	for (size_t i = 0; i < CONFIG_N_SECTIONS; i++)
		if (strcmp(line + 1, config_sections[i]) == 0)
			return config_sections[i];
	config_error(l, l->file, l->line, NULL, "unknown section [%s]; expected %s",
	    config_echo(line + 1, e), config_section_list());
	return NULL;
}

/*
 * libinih's reader: take the next raw line of the file, remember it trimmed,
 * and give libinih its canonical form (see the top of this file).
 */
static char *config_reader(char *str, int num, void *stream)
{
	struct config_loader *l = stream;
	const char *canon, *section;
	char *line, *nl;
	size_t n;

	if (l->pos >= l->len)
		return NULL;
	line = l->buf + l->pos;
	nl = memchr(line, '\n', l->len - l->pos);
	n = nl != NULL ? (size_t)(nl - line) : l->len - l->pos;
	line[n] = '\0';         /* buf has a spare byte after the last line */
	l->pos += n + (nl != NULL);
	l->line++;
	if (l->line == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	line = config_lstrip(config_rstrip(line));
	l->raw = line;

	if (*line == '\0' || *line == '#' || *line == ';') {
		canon = "\n";
	} else if (*line == '[') {
		section = config_section_line(l, line);
		l->skip_section = section == NULL;
		if (section == NULL) {
			canon = "[]\n";
		} else {
			if ((size_t)num < strlen(section) + 4)
				goto too_small;
			snprintf(str, (size_t)num, "[%s]\n", section);
			/* Even an empty [Cluster] asks for cluster mode (and then for Etcd=). */
			if (strcmp(section, "Cluster") == 0)
				l->c.cluster = true;
			return str;
		}
	} else {
		canon = "K=\n";
	}
	if ((size_t)num < strlen(canon) + 1)
		goto too_small;
	memcpy(str, canon, strlen(canon) + 1);
	return str;

too_small:
	config_error(l, l->file, l->line, NULL, "internal error: parser line buffer too small");
	return NULL;
}

/* libinih's handler: split the raw line at its first '=' and apply the assignment. */
static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_loader *l = user;
	char *eq, *key, *val;
	const struct config_key *k;
	int i;

	if (l->skip_section)
		return 1;
	eq = strchr(l->raw, '=');
	if (eq == NULL) {
		config_error(l, l->file, l->line, NULL,
		    "expected Key=value, a [Section] or a comment");
		return 1;
	}
	*eq = '\0';
	key = config_rstrip(l->raw);
	val = config_lstrip(eq + 1);
	if (*key == '\0') {
		config_error(l, l->file, l->line, NULL, "missing key name before '='");
		return 1;
	}
	if (*section == '\0') {
		config_error(l, l->file, l->line, key,
		    "assignment outside of a section; put it under %s", config_section_list());
		return 1;
	}
	i = config_find_key(section, key);
	if (i < 0) {
		config_error(l, l->file, l->line, key, "unknown key in [%s]", section);
		return 1;
	}
	k = &config_keys[i];
	l->where[i] = (struct config_where){ .file = l->file, .line = l->line, .set = true };
	if (*val == '\0' && !(k->flags & CONFIG_KEY_EMPTY_OK)) {
		/* A later file may still fill a required key: judged once all are read. */
		if (k->flags & CONFIG_KEY_REQUIRED) {
			l->where[i].empty = true;
			return 1;
		}
		config_error(l, l->file, l->line, k->name,
		    "empty value; leave the key out to get its default");
		l->where[i].bad = true;
		return 1;
	}
	if (k->parse(l, k, val) < 0)
		l->where[i].bad = true;
	/* name and value are libinih's view of our canonical "K=" line. */
	(void)name;
	(void)value;
	return 1;
}

/* Read a whole config file into l->buf, with a spare byte at the end. */
static int config_read_file(struct config_loader *l, const char *path)
{
	size_t cap = 0, len = 0;
	char *buf = NULL, *nbuf;
	struct stat st;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		config_error(l, path, 0, NULL, "cannot open: %s", strerror(errno));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0) {
		config_error(l, path, 0, NULL, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		config_error(l, path, 0, NULL, "not a regular file");
		goto fail;
	}
	for (;;) {
		if (len == cap) {
			if (cap > CONFIG_FILE_MAX) {
				config_error(l, path, 0, NULL, "larger than %d bytes",
				    CONFIG_FILE_MAX);
				goto fail;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > CONFIG_FILE_MAX + 1)
				cap = CONFIG_FILE_MAX + 1;
			nbuf = realloc(buf, cap + 1);
			if (nbuf == NULL) {
				l->oom = -ENOMEM;
				goto fail;
			}
			buf = nbuf;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			config_error(l, path, 0, NULL, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	l->buf = buf;
	l->len = len;
	return 0;

fail:
	free(buf);
	close(fd);
	return l->oom < 0 ? l->oom : -EINVAL;
}

/* Parse one config file into the config under construction. */
static int config_parse_file(struct config_loader *l, const char *path)
{
	const char *nul;
	int r;

	r = config_read_file(l, path);
	if (r < 0)
		return r;
	nul = memchr(l->buf, '\0', l->len);
	if (nul != NULL) {
		unsigned line = 1;

		for (const char *p = l->buf; p < nul; p++)
			line += *p == '\n';
		config_error(l, path, line, NULL, "contains a NUL byte");
		free(l->buf);
		l->buf = NULL;
		return -EINVAL;
	}
	l->file = path;
	l->pos = 0;
	l->line = 0;
	l->raw = NULL;
	l->skip_section = false;
	r = ini_parse_stream(config_reader, l, config_handler, l);
	/* Our canonical lines never upset libinih; if it still complains, say where. */
	if (r > 0 && !l->failed)
		config_error(l, path, (unsigned)r, NULL, "syntax error");
	else if (r < 0)
		config_error(l, path, 0, NULL, "parser failed (%d)", r);
	free(l->buf);
	l->buf = NULL;
	l->raw = NULL;
	return 0;
}

/* Compare two drop-in names bytewise, for lexical order whatever the locale. */
static int config_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List PATH.d/ *.conf, sorted; a missing directory gives an empty list. */
static int config_list_dropins(struct config_loader *l, const char *dir, char ***out, size_t *n_out)
{
	char **names = NULL, *name;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			goto done;
		config_error(l, dir, 0, NULL, "cannot open drop-in directory: %s", strerror(errno));
		return -EINVAL;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		config_error(l, dir, 0, NULL, "cannot open drop-in directory: %s", strerror(errno));
		close(fd);
		return -EINVAL;
	}
	for (;;) {
		size_t len;

		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				config_error(l, dir, 0, NULL, "cannot read drop-in directory: %s",
				    strerror(errno));
				r = -EINVAL;
			}
			break;
		}
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (n == CONFIG_DROPINS_MAX) {
			config_error(l, dir, 0, NULL, "more than %d drop-in files",
			    CONFIG_DROPINS_MAX);
			r = -EINVAL;
			break;
		}
		if (asprintf(&name, "%s/%s", dir, de->d_name) < 0) {
			r = l->oom = -ENOMEM;
			break;
		}
		if (n % 16 == 0) {
			char **nn = reallocarray(names, n + 16, sizeof(*names));

			if (nn == NULL) {
				free(name);
				r = l->oom = -ENOMEM;
				break;
			}
			names = nn;
		}
		names[n++] = name;
	}
	closedir(d);
	if (r < 0) {
		while (n > 0)
			free(names[--n]);
		free(names);
		return r;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), config_name_cmp);
done:
	*out = names;
	*n_out = n;
	return 0;
}

/* Whether path names a file directly inside $CREDENTIALS_DIRECTORY (systemd sets its mode). */
static bool config_in_credentials(const char *path)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY"), *rest;
	size_t n;

	if (dir == NULL || *dir == '\0')
		return false;
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (strncmp(path, dir, n) != 0 || path[n] != '/')
		return false;
	rest = path + n + 1;
	return *rest != '\0' && strchr(rest, '/') == NULL &&
	    strcmp(rest, ".") != 0 && strcmp(rest, "..") != 0;
}

/* Resolve a secret's path: the key's value, or the systemd credential. */
static int config_secret_path(struct config_loader *l, int key, const char *cred, char **path)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");

	if (*path != NULL)
		return 0;
	if (dir == NULL || *dir == '\0') {
		config_error(l, l->c.path, 0, config_keys[key].name,
		    "not set and $CREDENTIALS_DIRECTORY is not set; set %s= to a file "
		    "or pass the systemd credential %s (LoadCredential=)",
		    config_keys[key].name, cred);
		return -EINVAL;
	}
	if (asprintf(path, "%s/%s", dir, cred) < 0) {
		*path = NULL;
		return l->oom = -ENOMEM;
	}
	return 0;
}

/* Read a secret file: at most 4 KiB, one line end stripped; a warning when others may read it. */
static int config_read_secret(struct config_loader *l, int key, const char *path, char **out)
{
	const char *kname = config_keys[key].name;
	/* Where the path was set, when it was (a credential default has no line). */
	const char *file = l->where[key].set ? l->where[key].file : l->c.path;
	unsigned line = l->where[key].set ? l->where[key].line : 0;
	char buf[CONFIG_SECRET_MAX + 1];
	size_t len = 0;
	struct stat st;
	ssize_t r;
	int fd, ret = -EINVAL;
	char *s;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		config_error(l, file, line, kname, "cannot open %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0) {
		config_error(l, file, line, kname, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		config_error(l, file, line, kname, "%s is not a regular file", path);
		goto out;
	}
	/*
	 * OpenBSD refuses such files; the contract does not, so a warning
	 * (at every start and reload) has to do.
	 */
	if ((st.st_mode & 077) != 0 && !config_in_credentials(path))
		config_warning(l, kname, "%s can be read or written by group or others; run chmod 600 %s",
		    path, path);
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			config_error(l, file, line, kname, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONFIG_SECRET_MAX) {
		config_error(l, file, line, kname, "%s is larger than %d bytes", path,
		    CONFIG_SECRET_MAX);
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		config_error(l, file, line, kname, "%s is empty", path);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		config_error(l, file, line, kname, "%s contains a NUL byte", path);
		goto out;
	}
	s = malloc(len + 1);
	if (s == NULL) {
		ret = l->oom = -ENOMEM;
		goto out;
	}
	memcpy(s, buf, len);
	s[len] = '\0';
	*out = s;
	ret = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return ret;
}

/* DeviceId default: this machine's id as seen by tvtokend alone, as a UUID. */
static int config_derive_device_id(struct config_loader *l)
{
	char s[SD_ID128_UUID_STRING_MAX];
	sd_id128_t id;

	/*
	 * Without a machine id (some containers), the boot id keeps the
	 * broker working; the device then changes at every boot, so say so.
	 */
	if (sd_id128_get_machine_app_specific(CONFIG_DEVICE_APP_ID, &id) < 0) {
		if (sd_id128_get_boot_app_specific(CONFIG_DEVICE_APP_ID, &id) < 0) {
			config_error(l, l->c.path, 0, "DeviceId",
			    "cannot derive one from /etc/machine-id or the boot id; set DeviceId=");
			return -EINVAL;
		}
		config_warning(l, "DeviceId", "no /etc/machine-id: derived from the boot id, so it "
		    "changes at every boot; set DeviceId= for a stable one");
	}
	l->c.device_id = strdup(sd_id128_to_uuid_string(id, s));
	if (l->c.device_id == NULL)
		return l->oom = -ENOMEM;
	return 0;
}

/* StateFile default: token.json in the first of $RUNTIME_DIRECTORY's directories, if any. */
static int config_default_state_file(struct config_loader *l)
{
	const char *dirs = getenv("RUNTIME_DIRECTORY");
	size_t n;

	if (dirs == NULL)
		return 0;
	dirs += strspn(dirs, ": \t\n");
	n = strcspn(dirs, ": \t\n");
	if (n == 0)
		return 0;
	if (*dirs != '/') {
		config_error(l, l->c.path, 0, "StateFile",
		    "$RUNTIME_DIRECTORY is not an absolute path; set StateFile=");
		return -EINVAL;
	}
	if (asprintf(&l->c.state_file, "%.*s/token.json", (int)n, dirs) < 0) {
		l->c.state_file = NULL;
		return l->oom = -ENOMEM;
	}
	return 0;
}

/* The token file must not be a file the daemon keeps for itself, nor readable by others unawares. */
static void config_check_sink(struct config_loader *l)
{
	const struct config_where *w = &l->where[KEY_SINK_FILE];
	const char *f = l->c.sink_file;

	if (f == NULL || w->bad)
		return;
	if (l->c.state_file != NULL && strcmp(f, l->c.state_file) == 0)
		config_error(l, w->file, w->line, "File", "is StateFile=; the token file needs a path of its own");
	else if (l->c.socket != NULL && strcmp(f, l->c.socket) == 0)
		config_error(l, w->file, w->line, "File", "is Socket=; the token file needs a path of its own");
	else if (f[strlen(f) - 1] == '/')
		config_error(l, w->file, w->line, "File", "names a directory; name the token file itself");
	if ((l->c.sink_mode & 0007) != 0 && !l->where[KEY_SINK_MODE].bad)
		config_warning(l, "FileMode", "%04o lets every local user read or change the token "
		    "file %s; 0640 with FileGroup= is the usual choice", (unsigned)l->c.sink_mode, f);
}

/* Report key i where it was last set (or in the main file when it was not). */
#define config_error_at(l, i, ...) \
	config_error((l), (l)->where[i].set ? (l)->where[i].file : (l)->c.path, \
	    (l)->where[i].set ? (l)->where[i].line : 0, config_keys[i].name, __VA_ARGS__)

/* [Cluster] defaults and checks: Election, Member, the TLS pair, the etcd user's password. */
static void config_finish_cluster(struct config_loader *l)
{
	char host[256], e[CONFIG_ECHO_MAX + 4];
	const char *why;

	if (l->c.election == NULL && !l->where[KEY_ELECTION].bad && l->c.name != NULL) {
		if (asprintf(&l->c.election, CONFIG_ELECTION_PREFIX "%s", l->c.name) < 0) {
			l->c.election = NULL;
			l->oom = -ENOMEM;
			return;
		}
		why = config_election_problem(l->c.election);
		if (why != NULL)
			config_error_at(l, KEY_ELECTION, "the default \"%s\" (from Name=) %s; "
			    "set Election=", config_echo(l->c.election, e), why);
	}
	if (l->c.member == NULL && !l->where[KEY_MEMBER].bad) {
		if (gethostname(host, sizeof(host)) < 0) {
			config_error_at(l, KEY_MEMBER, "cannot read the host name: %s; set Member=",
			    strerror(errno));
		} else {
			host[sizeof(host) - 1] = '\0';
			why = config_member_problem(host);
			if (why != NULL)
				config_error_at(l, KEY_MEMBER, "the host name \"%s\" %s; set Member=",
				    config_echo(host, e), why);
			else if ((l->c.member = strdup(host)) == NULL)
				l->oom = -ENOMEM;
		}
	}
	if ((l->c.etcd_cert_file == NULL) != (l->c.etcd_key_file == NULL) &&
	    !l->where[KEY_ETCD_CERT_FILE].bad && !l->where[KEY_ETCD_KEY_FILE].bad) {
		if (l->c.etcd_cert_file != NULL)
			config_error_at(l, KEY_ETCD_CERT_FILE, "needs EtcdKeyFile= as well");
		else
			config_error_at(l, KEY_ETCD_KEY_FILE, "needs EtcdCertFile= as well");
	}
	/* etcd's JSON gateway answers 400 to a client certificate once authentication is on. */
	if (l->c.etcd_user != NULL && l->c.etcd_cert_file != NULL)
		config_error_at(l, KEY_ETCD_USER, "cannot be used with EtcdCertFile=: etcd's JSON "
		    "gateway refuses client certificates when authentication is on; use one or the "
		    "other");
	if (l->c.etcd_user == NULL) {
		if (l->c.etcd_password_file != NULL)
			config_error_at(l, KEY_ETCD_PASSWORD_FILE, "set without EtcdUser=");
		return;
	}
	if (!l->where[KEY_ETCD_PASSWORD_FILE].bad &&
	    config_secret_path(l, KEY_ETCD_PASSWORD_FILE, CONFIG_CRED_ETCD,
	    &l->c.etcd_password_file) == 0)
		config_read_secret(l, KEY_ETCD_PASSWORD_FILE, l->c.etcd_password_file,
		    &l->c.etcd_password);
}

/* Checks and defaults that need every file read: required keys, cross-key ranges, secrets. */
static void config_finish(struct config_loader *l)
{
	for (int i = 0; i < KEY_COUNT; i++) {
		if (!(config_keys[i].flags & CONFIG_KEY_REQUIRED))
			continue;
		/* Cluster keys are required only in cluster mode. */
		if (strcmp(config_keys[i].section, "Cluster") == 0 && !l->c.cluster)
			continue;
		if (!l->where[i].set)
			config_error(l, l->c.path, 0, config_keys[i].name,
			    "required key is missing");
		else if (l->where[i].empty)
			config_error(l, l->where[i].file, l->where[i].line, config_keys[i].name,
			    "required key has an empty value");
	}

	if (!l->where[KEY_RETRY_MIN].bad && !l->where[KEY_RETRY_MAX].bad &&
	    l->c.retry_min > l->c.retry_max) {
		if (l->where[KEY_RETRY_MIN].set)
			config_error(l, l->where[KEY_RETRY_MIN].file, l->where[KEY_RETRY_MIN].line,
			    "RetryMinSec", "must not be longer than RetryMaxSec");
		else
			config_error(l, l->where[KEY_RETRY_MAX].file, l->where[KEY_RETRY_MAX].line,
			    "RetryMaxSec", "must not be shorter than RetryMinSec");
	}

	if (l->c.device_id == NULL && !l->where[KEY_DEVICE_ID].bad)
		config_derive_device_id(l);
	if (!l->where[KEY_STATE_FILE].set)
		config_default_state_file(l);
	config_check_sink(l);

	if (!l->where[KEY_PASSWORD_FILE].bad &&
	    config_secret_path(l, KEY_PASSWORD_FILE, CONFIG_CRED_PASSWORD, &l->c.password_file) == 0)
		config_read_secret(l, KEY_PASSWORD_FILE, l->c.password_file, &l->c.password);
	if (!l->where[KEY_SECRET_FILE].bad &&
	    config_secret_path(l, KEY_SECRET_FILE, CONFIG_CRED_SECRET, &l->c.secret_file) == 0)
		config_read_secret(l, KEY_SECRET_FILE, l->c.secret_file, &l->c.secret);
	if (l->c.cluster)
		config_finish_cluster(l);
}

/* Fill in the defaults of CONTRACT §3 before any file is read. */
static int config_defaults(struct config *c, const char *path)
{
	*c = (struct config){
		.request_timeout = 10 * USEC_PER_SEC,
		.renew_before = 15 * USEC_PER_MIN,
		.retry_min = 1 * USEC_PER_SEC,
		.retry_max = 5 * USEC_PER_MIN,
		.lockout = 1 * USEC_PER_HOUR,
		.max_renewals_per_hour = 12,
		.max_failed_requests_per_hour = 4,
		.socket_mode = 0660,
		.max_clients = 4096,
		.lease = 10 * USEC_PER_SEC,
		.sink_mode = 0640,
		.sink_format = CONFIG_SINK_TOKEN,
		.exec_on_change_timeout = 30 * USEC_PER_SEC,
		.max_clients_per_user = 1024,
		.max_pending_output = 64ULL * 1024 * 1024,
	};
	c->path = strdup(path);
	c->base_url = strdup(CONFIG_URL_DEMO);
	c->app_version = strdup("1.0");
	c->socket = strdup(CONFIG_DEFAULT_SOCKET);
	if (c->path == NULL || c->base_url == NULL || c->app_version == NULL || c->socket == NULL)
		return -ENOMEM;
	return 0;
}

/* Load the main file, its drop-ins and the secrets, all or nothing. */
int config_load(const char *path, struct config *out, struct config_errors *errs)
{
	struct config_where where[KEY_COUNT] = { 0 };
	struct config_loader l = { .errs = errs, .where = where };
	char *dir = NULL, **dropins = NULL;
	size_t n_dropins = 0;
	int r;

	if (out == NULL)
		return -EINVAL;
	if (path == NULL)
		path = CONFIG_DEFAULT_PATH;
	r = config_defaults(&l.c, path);
	if (r < 0)
		goto fail;

	if (config_parse_file(&l, l.c.path) < 0 || l.oom < 0)
		goto fail;
	if (asprintf(&dir, "%s.d", l.c.path) < 0) {
		dir = NULL;
		l.oom = -ENOMEM;
		goto fail;
	}
	if (config_list_dropins(&l, dir, &dropins, &n_dropins) == 0)
		for (size_t i = 0; i < n_dropins && l.oom == 0; i++)
			config_parse_file(&l, dropins[i]);
	if (l.oom < 0)
		goto fail;
	config_finish(&l);
	if (l.failed || l.oom < 0)
		goto fail;

	for (size_t i = 0; i < n_dropins; i++)
		free(dropins[i]);
	free(dropins);
	free(dir);
	*out = l.c;
	return 0;

fail:
	for (size_t i = 0; i < n_dropins; i++)
		free(dropins[i]);
	free(dropins);
	free(dir);
	free(l.buf);
	config_free(&l.c);
	if (r < 0 || l.oom < 0)
		return -ENOMEM;
	return -EINVAL;
}

/* Free a string after wiping it. */
static void config_wipe(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Free everything, wiping the secrets. Leaves *c zeroed. */
void config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->base_url);
	free(c->name);
	free(c->app_id);
	free(c->app_version);
	free(c->device_id);
	free(c->password_file);
	free(c->secret_file);
	free(c->ca_file);
	free(c->state_file);
	free(c->socket);
	free(c->allow_users);
	free(c->allow_groups);
	free(c->sink_file);
	config_free_argv(c->exec_on_change);
	config_free_list(c->etcd, c->n_etcd);
	free(c->election);
	free(c->member);
	free(c->etcd_ca_file);
	free(c->etcd_cert_file);
	free(c->etcd_key_file);
	free(c->etcd_user);
	free(c->etcd_password_file);
	config_wipe(c->password);
	config_wipe(c->secret);
	config_wipe(c->etcd_password);
	*c = (struct config){ 0 };
}

/* Free the messages of an error list and empty it. */
void config_errors_free(struct config_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n && i < CONFIG_MAX_ERRORS; i++)
		free(errs->msg[i]);
	for (size_t i = 0; i < errs->n_warnings && i < CONFIG_MAX_WARNINGS; i++)
		free(errs->warning[i]);
	*errs = (struct config_errors){ 0 };
}

/* Whether two configs name the same Tradovate account (BaseURL and Name). */
bool config_same_account(const struct config *a, const struct config *b)
{
	if (a == NULL || b == NULL || a->base_url == NULL || b->base_url == NULL ||
	    a->name == NULL || b->name == NULL)
		return false;
	return strcmp(a->base_url, b->base_url) == 0 && strcmp(a->name, b->name) == 0;
}

/* Whether two optional strings are equal (both NULL counts). */
static bool config_streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Same [Cluster] settings: endpoints, election, member, lease, TLS files, user and password. */
bool config_same_cluster(const struct config *a, const struct config *b)
{
	if (a->cluster != b->cluster || a->n_etcd != b->n_etcd || a->lease != b->lease)
		return false;
	for (size_t i = 0; i < a->n_etcd; i++)
		if (strcmp(a->etcd[i], b->etcd[i]) != 0)
			return false;
	return config_streq(a->election, b->election) && config_streq(a->member, b->member) &&
	    config_streq(a->etcd_ca_file, b->etcd_ca_file) &&
	    config_streq(a->etcd_cert_file, b->etcd_cert_file) &&
	    config_streq(a->etcd_key_file, b->etcd_key_file) &&
	    config_streq(a->etcd_user, b->etcd_user) &&
	    config_streq(a->etcd_password, b->etcd_password);
}
