/* SPDX-License-Identifier: MIT */
/*
 * Replacing a file so that a reader, a crash or a power cut sees the old
 * contents or the new, never a mix: a temporary file in the same directory
 * with its final group and mode, written, fsync'd, renamed over the file,
 * and the directory fsync'd. The state file and the token file sink use it.
 * Blocking file I/O, on local files the operator configured.
 */
#ifndef TVTOKEND_ATOMICFILE_H
#define TVTOKEND_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* The step that failed, for the caller's message. */
enum atomicfile_step {
	ATOMICFILE_CREATE,      /* the temporary file */
	ATOMICFILE_GROUP,
	ATOMICFILE_MODE,
	ATOMICFILE_WRITE,       /* write or fsync */
	ATOMICFILE_RENAME,
};

/*
 * Replace path with the len bytes at data. tmpl is the temporary file's
 * name, ending in "XXXXXX" (mkostemp(3) fills it in; it must lie in path's
 * directory). group is set unless it is (gid_t)-1. Returns 0, or -errno
 * with the step in *failed; nothing is left behind on failure.
 */
int atomicfile_replace(const char *path, char *tmpl, const void *data, size_t len,
    mode_t mode, gid_t group, enum atomicfile_step *failed);

/* fsync the directory holding path, so that a rename or unlink there survives a crash. */
void atomicfile_sync_dir(const char *path);

#endif
