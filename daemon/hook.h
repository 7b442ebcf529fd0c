/* SPDX-License-Identifier: MIT */
/*
 * The change hook (ExecOnChange=): a program run at every new token, with
 * the token on its stdin (the JSON Token object of GetToken, then EOF),
 * never in its argv or environment. Like pizauth's token_event_cmd.
 *
 * At most one runs at a time; a change while it runs queues one more run,
 * with the newest token. The child is spawned and reaped without blocking
 * the loop, has its own process group, a clean environment and no fd of
 * ours but the three pipes; its output is logged line by line (bounded),
 * and a run longer than ExecOnChangeTimeoutSec= gets SIGTERM, then SIGKILL.
 * When a run ends, whatever is left in its process group is killed.
 */
#ifndef TVTOKEND_HOOK_H
#define TVTOKEND_HOOK_H

struct event_base;
struct config;
struct token;
struct hook;

/* A hook for cfg's ExecOnChange= (copied; unset: it does nothing). 0 or -ENOMEM. */
int hook_new(struct event_base *base, const struct config *cfg, struct hook **out);

/* A new token is current: run the hook now, or once more after the running one. */
void hook_token_new(struct hook *h, const struct token *t);

/* The token was lost: a queued run is dropped (a running one finishes). */
void hook_token_lost(struct hook *h);

/* Take a reloaded config: the new command and timeout apply from the next run. */
void hook_reload(struct hook *h, const struct config *cfg);

/* Stop a running hook (SIGTERM, SIGKILL after a second), reap it, free. NULL-safe. */
void hook_free(struct hook *h);

#endif
