/* SPDX-License-Identifier: MIT */
/*
 * The lifecycle state kept across restarts (StateFile=): a snapshot
 * (snapshot.h) in JSON, written atomically, mode 0600.
 */
#ifndef TVTOKEND_STATEFILE_H
#define TVTOKEND_STATEFILE_H

#include "lifecycle.h"
#include "snapshot.h"

/*
 * Read path. Returns 0 with *s filled (lc_snapshot_clear it), -ENOENT when
 * there is none, -EBADMSG when corrupt, SNAPSHOT_OTHER_ACCOUNT when it
 * belongs to another account (base_url, name) with *s holding what is not
 * the account's (snapshot_decode), other -errno on I/O errors.
 */
int statefile_read(const char *path, const char *base_url, const char *name, struct lc_snapshot *s);

/* Write s atomically (temp file beside path, fsync, rename). 0 or -errno. */
int statefile_write(const char *path, const char *base_url, const char *name, const struct lc_snapshot *s);

/*
 * Remove temp files that a write killed half-way left behind: they may hold
 * a token. A temp file is "PATH." and six letters or digits, a regular file
 * of ours, empty or starting with '{'. Returns how many, or -errno.
 */
int statefile_remove_stale(const char *path);

#endif
