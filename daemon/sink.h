/* SPDX-License-Identifier: MIT */
/*
 * The token file ([Sink] File=): the held token, for programs that cannot
 * speak Varlink (Vault Agent's file sink, a kubelet projected token, a
 * systemd EnvironmentFile=). Replaced atomically at every token change,
 * removed while no valid token is held, and at exit. Failures are logged
 * (rate-limited), never fatal, and retried on a timer; a file that could
 * not be brought up to date is removed when the token it holds expires.
 */
#ifndef TVTOKEND_SINK_H
#define TVTOKEND_SINK_H

#include <stdbool.h>

struct event_base;
struct config;
struct token;
struct sink;

/*
 * A sink for cfg's [Sink] keys (which are copied; with File= unset it does
 * nothing), its timers on base. Removes temporary files a killed daemon
 * left beside the file. 0 or -errno.
 */
int sink_new(struct event_base *base, const struct config *cfg, struct sink **out);

/*
 * Publish t, the valid token (write the file), or NULL for none (remove
 * it). What fails is retried, 1 s doubling to a minute, until it works or
 * the next update replaces it.
 */
void sink_update(struct sink *s, const struct token *t);

/*
 * Take a reloaded config, with t the token held now (or NULL): a new File=
 * moves the file (the old one is removed), a new mode, group or format
 * rewrites it, an unchanged [Sink] leaves it alone.
 */
void sink_reload(struct sink *s, const struct config *cfg, const struct token *t);

/* At exit: remove the file (nothing keeps it current any more) and free the sink. NULL-safe. */
void sink_free(struct sink *s);

#endif
