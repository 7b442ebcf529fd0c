/* SPDX-License-Identifier: MIT */
/*
 * Logging: plain lines on stderr, or structured journal entries.
 * Nothing passed here may contain a token or a secret.
 */
#ifndef TVTOKEND_LOG_H
#define TVTOKEND_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "lifecycle.h"

enum log_target {
	LOG_TARGET_AUTO,
	LOG_TARGET_JOURNAL,
	LOG_TARGET_STDERR,
};

/* Choose where logs go (CONTRACT §2 --log). Returns the target actually used. */
enum log_target log_init(enum log_target want, bool debug);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether log_debug() writes anything: lets callers skip gathering what only it shows. */
bool log_debugging(void);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* With ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One lifecycle event as one entry with MESSAGE_ID, PRIORITY and TVTOKEND_EVENT. */
void log_event(const struct lc_event_rec *ev, const char *state, const char *error);

/* leader_elected, leadership_lost, following: member, the leader (NULL: unknown), why (or NULL). */
void log_cluster_event(enum lc_event e, const char *member, const char *leader, const char *state,
		       uint64_t generation, const char *why);

/* client_denied: who was refused. */
void log_client_denied(int pid, unsigned uid, unsigned gid, const char *comm);

/* MESSAGE_ID of an event, as 32 hex digits. */
const char *log_event_id(enum lc_event e);

/* syslog priority of an event. */
int log_event_priority(enum lc_event e);

#endif
