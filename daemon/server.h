/* SPDX-License-Identifier: MIT */
/*
 * The Varlink socket: listening, clients, access checks, method dispatch.
 * Every client is bounded: 64 KiB per message, its share of pending output,
 * MaxClients= and MaxClientsPerUser= connections, MaxPendingOutput= in all.
 */
#ifndef TVTOKEND_SERVER_H
#define TVTOKEND_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct config;
struct broker;
struct server;

/* Unread replies above which a client's calls wait (back-pressure): at most this, less with many clients. */
#define SERVER_OUTPUT_HIGH (64 * 1024)
/* ... but never less than this. */
#define SERVER_OUTPUT_FLOOR (4 * 1024)
/* Pushed replies (a stream's tokens) a watcher may leave unread before it is dropped. */
#define SERVER_OUTPUT_MAX (1024 * 1024)
/* Defaults of MaxClientsPerUser= and MaxPendingOutput= (config.c sets the same). */
#define SERVER_MAX_PER_USER 1024
#define SERVER_MAX_PENDING ((size_t)64 * 1024 * 1024)

/*
 * listen_fd >= 0: a socket from systemd (kept at exit, Socket= ignored);
 * -1: create cfg->socket (stale file replaced, live one → -EADDRINUSE).
 * Returns 0 or -errno (logged by the caller).
 */
int server_new(struct event_base *base, const struct config *cfg, struct broker *b,
	       int listen_fd, struct server **out);

/*
 * Serve a socket that is already connected (non-blocking and close-on-exec
 * from now on, ours to close), within the same limits as an accepted one:
 * for tests and the fuzz target. 0 or -errno.
 */
int server_add_client(struct server *s, int fd);

/* New config after a reload: Allow*, MaxClients=, MaxClientsPerUser=, MaxPendingOutput= (the socket itself stays). */
void server_reload(struct server *s, const struct config *cfg);

/* Called by the broker listener (see broker.h). */
void server_token_new(struct server *s);
void server_token_lost(struct server *s);
void server_gave_up(struct server *s);
void server_reports_release(struct server *s);

unsigned server_clients(const struct server *s);
unsigned server_watchers(const struct server *s);
/* Bytes all clients hold in buffers (what MaxPendingOutput= bounds). */
size_t server_pending(const struct server *s);

/* Close every client; remove the socket file unless it came from systemd. NULL-safe. */
void server_free(struct server *s);

#endif
