/* SPDX-License-Identifier: MIT */
/*
 * sd_notify (CONTRACT §6): READY=1 once the socket is served, STATUS= on
 * every change, WATCHDOG=1 every WATCHDOG_USEC/2 from the event loop (so a
 * stuck loop stops the pings), RELOADING=1 with MONOTONIC_USEC=, STOPPING=1.
 * Without $NOTIFY_SOCKET every call is a no-op.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "notify.h"
#include "timeutil.h"

static struct event *watchdog_ev;

/* Ping the watchdog; runs on the loop, so a blocked loop misses it. */
static void notify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

/* Arm the watchdog timer at half of WATCHDOG_USEC when systemd asked for one. */
int notify_init(struct event_base *base)
{
	uint64_t usec = 0;
	struct timeval tv;
	int r;

	r = sd_watchdog_enabled(0, &usec);
	if (r <= 0 || usec == 0)
		return r < 0 ? r : 0;
	watchdog_ev = event_new(base, -1, EV_PERSIST, notify_watchdog_cb, NULL);
	if (!watchdog_ev)
		return -ENOMEM;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / USEC_PER_SEC);
	tv.tv_usec = (suseconds_t)(usec % USEC_PER_SEC);
	if (event_add(watchdog_ev, &tv) < 0) {
		event_free(watchdog_ev);
		watchdog_ev = NULL;
		return -EIO;
	}
	sd_notify(0, "WATCHDOG=1");
	return 0;
}

void notify_ready(void)
{
	sd_notify(0, "READY=1");
}

/* STATUS=text; the text never holds a token (broker_status_text builds it). */
void notify_status(const char *text)
{
	sd_notifyf(0, "STATUS=%s", text);
}

/* RELOADING=1 with the monotonic timestamp systemd ≥ 253 expects. */
void notify_reloading(void)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)time_monotonic());
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void notify_fini(void)
{
	if (watchdog_ev)
		event_free(watchdog_ev);
	watchdog_ev = NULL;
}
