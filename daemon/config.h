/* SPDX-License-Identifier: MIT */
/*
 * The config file (CONTRACT §3, §7) and the secrets it points to.
 * config_load() is all-or-nothing: on failure *out is untouched and every
 * problem is in the error list, one line each, naming file, line and key.
 */
#ifndef TVTOKEND_CONFIG_H
#define TVTOKEND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "timeutil.h"

#define CONFIG_DEFAULT_PATH "/etc/tvtokend/tvtokend.conf"
#define CONFIG_DEFAULT_SOCKET "/run/tvtokend/io.tvtokend.Broker"
#define CONFIG_MAX_ERRORS 64
#define CONFIG_EXEC_ARGS_MAX 64             /* words in ExecOnChange= */

/* [Sink] Format=: what the token file holds. */
enum config_sink_format {
	CONFIG_SINK_TOKEN,          /* the access token and a newline */
	CONFIG_SINK_JSON,           /* the Token object GetToken serves */
	CONFIG_SINK_ENV,            /* TRADOVATE_ACCESS_TOKEN=... lines */
};

struct config {
	char *path;                 /* the main file as given */

	/* [Tradovate] */
	char *base_url;             /* resolved: https://demo.tradovateapi.com/v1 etc., no trailing '/' */
	char *name;
	char *app_id;
	long client_id;
	char *app_version;
	char *device_id;            /* resolved: from the config or derived from the machine id */
	char *password_file;        /* resolved: PasswordFile= or $CREDENTIALS_DIRECTORY/tradovate-password */
	char *secret_file;
	char *ca_file;              /* NULL: system store */
	usec_t request_timeout;

	/* [Token] */
	usec_t renew_before;
	usec_t retry_min;
	usec_t retry_max;
	usec_t lockout;
	unsigned max_renewals_per_hour;
	unsigned max_failed_requests_per_hour;
	char *state_file;           /* NULL: none */

	/* [Server] */
	char *socket;
	mode_t socket_mode;
	bool has_socket_group;
	gid_t socket_group;
	uid_t *allow_users;
	size_t n_allow_users;
	gid_t *allow_groups;
	size_t n_allow_groups;
	unsigned max_clients;
	unsigned max_clients_per_user;  /* connections of one uid other than root and ours */
	uint64_t max_pending_output;    /* bytes all clients may hold in unread replies and unhandled calls */

	/* [Sink] */
	char *sink_file;            /* NULL: no token file */
	mode_t sink_mode;
	bool has_sink_group;
	gid_t sink_group;
	enum config_sink_format sink_format;
	char **exec_on_change;      /* argv, NULL-terminated; NULL: no hook (also [Token]) */
	usec_t exec_on_change_timeout;

	/* [Cluster]: cluster mode on etcd; without the section, a standalone broker */
	bool cluster;               /* a [Cluster] section was read */
	char **etcd;                /* client URLs, scheme in lower case, no trailing '/' */
	size_t n_etcd;
	char *election;             /* resolved: Election= or tvtokend/<Name> */
	char *member;               /* resolved: Member= or the host name */
	usec_t lease;               /* whole seconds */
	char *etcd_ca_file;         /* NULL: system store */
	char *etcd_cert_file;       /* with etcd_key_file, or neither */
	char *etcd_key_file;
	char *etcd_user;            /* NULL: no authentication */
	char *etcd_password_file;   /* resolved when etcd_user is set: EtcdPasswordFile= or the credential */

	/* Secrets, read from the files above; wiped by config_free(). */
	char *password;
	char *secret;
	char *etcd_password;        /* only with etcd_user */
};

#define CONFIG_MAX_ETCD 16          /* endpoints in Etcd= */
#define CONFIG_MAX_ELECTION 128     /* bytes in Election= */
#define CONFIG_MAX_MEMBER 64        /* bytes in Member= */

#define CONFIG_MAX_WARNINGS 8

struct config_errors {
	size_t n;
	char *msg[CONFIG_MAX_ERRORS];   /* "FILE:LINE: Key: why" or "FILE: Key: why" */
	size_t n_warnings;              /* problems that do not stop the load (a secret file others can read) */
	char *warning[CONFIG_MAX_WARNINGS];
};

/*
 * Load path (NULL: CONFIG_DEFAULT_PATH), then path.d/ *.conf in lexical order,
 * validate every key, resolve defaults, read the secrets.
 * Returns 0, or -EINVAL with errs filled (other negative errno for allocation failure).
 */
int config_load(const char *path, struct config *out, struct config_errors *errs);

/* Free everything, wiping the secrets. Leaves *c zeroed. */
void config_free(struct config *c);

void config_errors_free(struct config_errors *errs);

/* Whether two configs name the same Tradovate account (BaseURL and Name). */
bool config_same_account(const struct config *a, const struct config *b);

/* Whether a and b have the same [Cluster] settings, the etcd password included. */
bool config_same_cluster(const struct config *a, const struct config *b);

/*
 * Parse a systemd time span ("90", "90s", "500ms", "1h 30min", "1.5s"; bare numbers are seconds).
 * Returns 0, or -EINVAL / -ERANGE leaving *out untouched.
 */
int config_parse_timespan(const char *s, usec_t *out);

#endif
