/* SPDX-License-Identifier: MIT */
/*
 * Print the journal events the daemon logs, one per line:
 * "NAME MESSAGE_ID PRIORITY", straight from log.c's table, so that
 * test-catalog-ids.sh can hold it against the shipped catalog.
 */
#include <stdio.h>

#include "lifecycle.h"
#include "log.h"

/* Write every event of enum lc_event; exit 1 if stdout fails. */
int
main(void)
{
	int e;

	for (e = 0; e < _LC_EV_MAX; e++) {
		if (printf("%s %s %d\n", lc_event_to_string((enum lc_event)e),
			   log_event_id((enum lc_event)e),
			   log_event_priority((enum lc_event)e)) < 0)
			return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
