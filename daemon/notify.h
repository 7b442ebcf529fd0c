/* SPDX-License-Identifier: MIT */
/* sd_notify: readiness, STATUS=, watchdog, reload and stop (CONTRACT §6). */
#ifndef TVTOKEND_NOTIFY_H
#define TVTOKEND_NOTIFY_H

struct event_base;

/* Arm the watchdog timer when WATCHDOG_USEC asks for one. 0 or -errno. */
int notify_init(struct event_base *base);
void notify_ready(void);
void notify_status(const char *text);
void notify_reloading(void);
void notify_stopping(void);
void notify_fini(void);

#endif
