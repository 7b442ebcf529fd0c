/*
 * The token file ([Sink] File=): the held token, for programs that cannot
 * speak Varlink (Vault Agent's file sink, a kubelet projected token, a
 * systemd EnvironmentFile=). Replaced atomically at every token change,
 * removed while no valid token is held. Failures are logged (rate-limited)
 * and never fatal; the next change tries again.
 */
#ifndef TVTOKEND_SINK_H
#define TVTOKEND_SINK_H

#include <stdbool.h>

struct config;
struct token;
struct sink;

/*
 * A sink for cfg's [Sink] keys (which are copied; with File= unset it does
 * nothing). Removes temporary files a killed daemon left beside the file.
 * 0 or -ENOMEM.
 */
int sink_new(const struct config *cfg, struct sink **out);

/* Publish t, the valid token (write the file), or NULL for none (remove it). */
void sink_update(struct sink *s, const struct token *t);

/*
 * Take a reloaded config, with t the token held now (or NULL): a new File=
 * moves the file (the old one is removed), a new mode, group or format
 * rewrites it, an unchanged [Sink] leaves it alone.
 */
void sink_reload(struct sink *s, const struct config *cfg, const struct token *t);

/*
 * At exit: keep the file (a restarted broker restores the token from its
 * state file and rewrites or removes the file at start) or remove it.
 * NULL-safe.
 */
void sink_free(struct sink *s, bool keep);

#endif
