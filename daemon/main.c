/* SPDX-License-Identifier: MIT */
/*
 * tvtokend: one shared Tradovate access token for every local process.
 *
 * main() only wires the modules together and runs the loop: options, config,
 * logging, the broker (token lifecycle + upstream), the Varlink server,
 * systemd notification and signals.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "broker.h"
#include "config.h"
#include "hook.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "sink.h"

struct daemon {
	struct event_base *base;
	struct config *cfg;
	struct broker *broker;
	struct server *server;
	struct sink *sink;
	struct hook *hook;
	const char *config_path;
	bool stopping;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tvtokend [--config PATH] [--check-config] [--log=auto|journal|stderr]\n"
		"                [--version] [--help]\n"
		"\n"
		"Keeps one Tradovate access token alive and serves it over Varlink.\n"
		"\n"
		"  --config PATH     config file (default %s); drop-ins in PATH.d/*.conf\n"
		"  --check-config    load the config and the secrets, report problems, exit\n"
		"  --log=TARGET      auto (journal when stderr is the journal), journal, stderr\n"
		"  --version         print the version and exit\n"
		"  --help            print this help and exit\n",
		CONFIG_DEFAULT_PATH);
}

/*
 * No core dump, no ptrace by other processes of our user: the memory holds
 * the password, the API secret and the token. TVTOKEND_DUMPABLE=1 in the
 * environment keeps the process dumpable, for debugging a crash.
 */
static void protect_memory(void)
{
	const char *e = getenv("TVTOKEND_DUMPABLE");

	if (e && strcmp(e, "1") == 0)
		return;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fprintf(stderr, "tvtokend: warning: cannot disable core dumps: %s\n", strerror(errno));
}

/*
 * SIGCHLD back to its default: a parent may leave it ignored (or with
 * SA_NOCLDWAIT) across exec, and then children are reaped by the kernel, so
 * the change hook could not learn how it ended, and its pid (the id of its
 * process group) could be reused before we signal it.
 */
static void reset_sigchld(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		log_warn("cannot reset SIGCHLD to its default");
}

/* Print config errors on stderr (whatever --log says); all of them, or the first. */
static void print_config_errors(const struct config_errors *errs, bool all)
{
	size_t i;

	for (i = 0; i < errs->n && (all || i == 0); i++)
		fprintf(stderr, "tvtokend: %s\n", errs->msg[i]);
	if (errs->n == 0)
		fprintf(stderr, "tvtokend: cannot load the configuration\n");
}

/* Load the config into a new heap object. */
static int load_config(const char *path, struct config **out, bool all_errors, bool to_log)
{
	struct config_errors errs = { 0 };
	struct config *cfg;
	int r;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	r = config_load(path, cfg, &errs);
	if (r < 0) {
		if (to_log) {
			size_t i;

			for (i = 0; i < errs.n; i++)
				log_errorx("reload failed, keeping the old configuration: %s", errs.msg[i]);
			if (errs.n == 0)
				log_errorx("reload failed, keeping the old configuration: %s", strerror(-r));
		} else {
			print_config_errors(&errs, all_errors);
		}
		config_errors_free(&errs);
		free(cfg);
		return r;
	}
	for (size_t i = 0; i < errs.n_warnings; i++) {
		if (to_log)
			log_warnx("%s", errs.warning[i]);
		else
			fprintf(stderr, "tvtokend: warning: %s\n", errs.warning[i]);
	}
	config_errors_free(&errs);
	*out = cfg;
	return 0;
}

/*
 * The broker's news, passed on to the token file, the change hook and the
 * server's waiting clients; the file first, so that a client told of a new
 * token finds it there too.
 */
static void on_broker_change(enum broker_change what, void *arg)
{
	struct daemon *d = arg;
	const struct token *t;

	switch (what) {
	case BROKER_TOKEN_NEW:
		t = broker_token(d->broker);
		sink_update(d->sink, t);
		hook_token_new(d->hook, t);
		break;
	case BROKER_TOKEN_LOST:
		sink_update(d->sink, NULL);
		hook_token_lost(d->hook);
		break;
	case BROKER_GAVE_UP:
	case BROKER_REPORTS_RELEASED:
		break;
	}
	if (!d->server)
		return;
	switch (what) {
	case BROKER_TOKEN_NEW:
		server_token_new(d->server);
		break;
	case BROKER_TOKEN_LOST:
		server_token_lost(d->server);
		break;
	case BROKER_GAVE_UP:
		server_gave_up(d->server);
		break;
	case BROKER_REPORTS_RELEASED:
		server_reports_release(d->server);
		break;
	}
}

/*
 * In cluster mode, what a reload cannot change in a running broker: the
 * [Cluster] section (its presence and its keys) and what the sealing key and
 * the election come from (BaseURL=, Name=, the password and the API secret).
 * NULL when the reload can go ahead, else what changed.
 */
static const char *cluster_change(const struct config *old, const struct config *cfg)
{
	if (old->cluster != cfg->cluster)
		return old->cluster ? "the [Cluster] section was removed" : "a [Cluster] section was added";
	if (!cfg->cluster)
		return NULL;
	if (!config_same_account(old, cfg) || strcmp(old->password, cfg->password) != 0 ||
	    strcmp(old->secret, cfg->secret) != 0)
		return "the account or its credentials changed (they key the values shared in etcd)";
	if (!config_same_cluster(old, cfg))
		return "the [Cluster] settings changed";
	return NULL;
}

/* SIGHUP: re-read config and secrets; a config that no longer loads keeps the old one. */
static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct config *cfg = NULL, *old = d->cfg;
	char status[256];

	notify_reloading();
	log_info("reloading %s", d->config_path ? d->config_path : CONFIG_DEFAULT_PATH);
	if (load_config(d->config_path, &cfg, true, true) == 0 && cluster_change(old, cfg) != NULL) {
		log_errorx("reload refused, keeping the old configuration: %s; restart tvtokend to apply "
			   "it (systemctl restart tvtokend)", cluster_change(old, cfg));
		config_free(cfg);
		free(cfg);
	} else if (cfg != NULL) {
		if (cfg->socket && old->socket && strcmp(cfg->socket, old->socket) != 0)
			log_warnx("Socket= changed; the new path takes effect at the next restart");
		broker_reload(d->broker, cfg);
		server_reload(d->server, cfg);
		sink_reload(d->sink, cfg, broker_token(d->broker));
		hook_reload(d->hook, cfg);
		d->cfg = cfg;
		config_free(old);
		free(old);
	}
	notify_ready();
	broker_status_text(d->broker, status, sizeof(status));
	notify_status(status);
}

/* The broker has let go (a cluster leader handed over): leave the loop. */
static void on_broker_stopped(void *arg)
{
	struct daemon *d = arg;

	event_base_loopbreak(d->base);
}

/* SIGTERM/SIGINT: a clean exit; a cluster leader hands over first (a second signal does not wait). */
static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->stopping) {
		event_base_loopbreak(d->base);
		return;
	}
	d->stopping = true;
	notify_stopping();
	log_info("stopping on signal %d", (int)sig);
	broker_stop(d->broker, on_broker_stopped, d);
}

/* The socket systemd passed, -1 when none; -EINVAL when it is not what we serve on. */
static int listen_fd_from_systemd(void)
{
	int n = sd_listen_fds(1);

	if (n < 0) {
		fprintf(stderr, "tvtokend: cannot take the socket systemd passed (LISTEN_FDS=): %s\n",
			strerror(-n));
		return -EINVAL;
	}
	if (n == 0)
		return -1;
	if (n > 1) {
		fprintf(stderr, "tvtokend: systemd passed %d sockets; exactly one is expected\n", n);
		return -EINVAL;
	}
	if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
		fprintf(stderr, "tvtokend: the socket systemd passed is not a listening AF_UNIX stream socket\n");
		return -EINVAL;
	}
	return SD_LISTEN_FDS_START;
}

static int run(struct daemon *d)
{
	struct event *ev_hup = NULL, *ev_term = NULL, *ev_int = NULL;
	int listen_fd, r = 1;

	listen_fd = listen_fd_from_systemd();
	if (listen_fd < -1)
		return 1;

	d->base = event_base_new();
	if (!d->base) {
		log_errorx("cannot create the event loop");
		return 1;
	}
	ev_hup = evsignal_new(d->base, SIGHUP, on_sighup, d);
	ev_term = evsignal_new(d->base, SIGTERM, on_sigterm, d);
	ev_int = evsignal_new(d->base, SIGINT, on_sigterm, d);
	if (!ev_hup || !ev_term || !ev_int || evsignal_add(ev_hup, NULL) < 0 ||
	    evsignal_add(ev_term, NULL) < 0 || evsignal_add(ev_int, NULL) < 0) {
		log_errorx("cannot install signal handlers");
		goto out;
	}

	if (broker_new(d->base, d->cfg, &d->broker) < 0) {
		log_errorx("cannot set up the broker");
		goto out;
	}
	broker_set_listener(d->broker, on_broker_change, d);
	r = server_new(d->base, d->cfg, d->broker, listen_fd, &d->server);
	if (r == -EADDRINUSE) {
		log_errorx("another tvtokend is already serving %s", d->cfg->socket);
		r = 1;
		goto out;
	}
	if (r < 0) {
		log_errorx("cannot serve %s: %s", listen_fd >= 0 ? "the socket from systemd" : d->cfg->socket,
			   strerror(-r));
		r = 1;
		goto out;
	}
	/* Only now: with another broker on the socket, its token file is not ours to touch. */
	if (sink_new(d->base, d->cfg, &d->sink) < 0 || hook_new(d->base, d->cfg, &d->hook) < 0) {
		log_errorx("cannot set up the token file and the change hook");
		r = 1;
		goto out;
	}
	if (notify_init(d->base) < 0)
		log_warnx("cannot arm the watchdog");
	notify_ready();
	log_info("serving on %s", listen_fd >= 0 ? "the socket from systemd" : d->cfg->socket);
	broker_start(d->broker);
	/* A token restored from the state file is no change, but the file must show it. */
	sink_update(d->sink, broker_token(d->broker));

	r = event_base_dispatch(d->base) < 0 ? 1 : 0;
out:
	server_free(d->server);
	d->server = NULL;
	broker_free(d->broker);
	d->broker = NULL;
	/* Removed: once we are gone nothing would remove it when its token expires. */
	sink_free(d->sink);
	d->sink = NULL;
	hook_free(d->hook);
	d->hook = NULL;
	notify_fini();
	if (ev_hup)
		event_free(ev_hup);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	event_base_free(d->base);
	return r;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "log", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum log_target target = LOG_TARGET_AUTO;
	struct daemon d = { 0 };
	bool check = false;
	const char *dbg;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'l':
			if (strcmp(optarg, "auto") == 0)
				target = LOG_TARGET_AUTO;
			else if (strcmp(optarg, "journal") == 0)
				target = LOG_TARGET_JOURNAL;
			else if (strcmp(optarg, "stderr") == 0)
				target = LOG_TARGET_STDERR;
			else {
				fprintf(stderr, "tvtokend: --log takes auto, journal or stderr, not \"%s\"\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		case 'V':
			printf("tvtokend %s\n", TVTOKEND_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tvtokend: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	/* Before the secrets are read. */
	protect_memory();

	if (load_config(d.config_path, &d.cfg, check, false) < 0)
		return 1;
	if (check) {
		printf("%s: configuration OK\n", d.config_path ? d.config_path : CONFIG_DEFAULT_PATH);
		config_free(d.cfg);
		free(d.cfg);
		return 0;
	}

	dbg = getenv("TVTOKEND_DEBUG");
	log_init(target, dbg && *dbg && strcmp(dbg, "0") != 0);
	signal(SIGPIPE, SIG_IGN);
	reset_sigchld();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_errorx("cannot initialise libcurl");
		config_free(d.cfg);
		free(d.cfg);
		return 1;
	}
	r = run(&d);
	curl_global_cleanup();
	config_free(d.cfg);
	free(d.cfg);
	return r;
}
