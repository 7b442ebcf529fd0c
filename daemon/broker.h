/* SPDX-License-Identifier: MIT */
/*
 * The broker: runs the lifecycle against the real world. It owns the
 * lifecycle, the upstream client, the wall-clock timer (timerfd on
 * CLOCK_REALTIME, cancelled on clock steps), the state file, and tells the
 * server and systemd about every change.
 */
#ifndef TVTOKEND_BROKER_H
#define TVTOKEND_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "lifecycle.h"

struct event_base;
struct config;
struct broker;

enum broker_change {
	BROKER_TOKEN_NEW,     /* a new token is current: answer waiters, feed watchers */
	BROKER_TOKEN_LOST,    /* the token was dropped: watchers get NoToken */
	BROKER_GAVE_UP,       /* waiters get NoToken (lc_gives_up) */
	BROKER_REPORTS_RELEASED, /* no new token soon (lc_answer_coming): waiting reports are answered */
};

typedef void (*broker_listener_fn)(enum broker_change what, void *arg);

/* cfg is borrowed and must outlive the broker (or be replaced by broker_reload). 0 or -errno. */
int broker_new(struct event_base *base, const struct config *cfg, struct broker **out);
void broker_set_listener(struct broker *b, broker_listener_fn fn, void *arg);

/* Read the state file and send the first request (or serve the restored token). */
void broker_start(struct broker *b);

/* Switch to a newly loaded config (borrowed from now on). */
void broker_reload(struct broker *b, const struct config *cfg);

void broker_free(struct broker *b);

/* The token valid now, or NULL. */
const struct token *broker_token(struct broker *b);

/* ReportRejected from a client. */
enum lc_report broker_report_rejected(struct broker *b, int64_t generation);

/* GetStatus role: "standalone", "leader", "follower" or "candidate". */
const char *broker_role(const struct broker *b);

/* GetStatus leader: the leading member's name, or NULL when unknown or standalone. */
const char *broker_leader(const struct broker *b);

/*
 * Stop before exit: in cluster mode a leader stops sending and revokes its
 * lease so another broker takes over at once; done is called from the loop
 * within about LeaseSec/3 (at once when standalone).
 */
void broker_stop(struct broker *b, void (*done)(void *arg), void *arg);

/* Read-only view for GetStatus and NoToken replies (an expired token is dropped first). */
const struct lifecycle *broker_lifecycle(struct broker *b);

/* "valid: expires 14:30:00Z, renewal at 14:15:00Z" — never a token. */
void broker_status_text(const struct broker *b, char *buf, size_t len);

#endif
