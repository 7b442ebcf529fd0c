/*
 * The Varlink socket: listening, clients, access checks, method dispatch.
 * Every client is bounded: 64 KiB per message, a cap on pending output,
 * MaxClients connections.
 */
#ifndef TVTOKEND_SERVER_H
#define TVTOKEND_SERVER_H

#include <stdbool.h>

struct event_base;
struct config;
struct broker;
struct server;

#define SERVER_OUTPUT_MAX (256 * 1024)   /* pending reply bytes before a client is dropped */

/*
 * listen_fd >= 0: a socket from systemd (kept at exit, Socket= ignored);
 * -1: create cfg->socket (stale file replaced, live one → -EADDRINUSE).
 * Returns 0 or -errno (logged by the caller).
 */
int server_new(struct event_base *base, const struct config *cfg, struct broker *b,
	       int listen_fd, struct server **out);

/* New config after a reload: Allow*, MaxClients (the socket itself stays). */
void server_reload(struct server *s, const struct config *cfg);

/* Called by the broker listener (see broker.h). */
void server_token_new(struct server *s);
void server_token_lost(struct server *s);
void server_gave_up(struct server *s);
void server_reports_release(struct server *s);

unsigned server_clients(const struct server *s);
unsigned server_watchers(const struct server *s);

/* Close every client; remove the socket file unless it came from systemd. NULL-safe. */
void server_free(struct server *s);

#endif
