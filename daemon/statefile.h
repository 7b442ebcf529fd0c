/* The token kept across restarts (StateFile=): written atomically, mode 0600. */
#ifndef TVTOKEND_STATEFILE_H
#define TVTOKEND_STATEFILE_H

#include "token.h"

/*
 * Read path. Returns 0 with *t filled (generation included), -ENOENT when
 * there is none, -EBADMSG when corrupt, -ESTALE when it belongs to another
 * account (base_url, name), other -errno on I/O errors.
 */
int statefile_read(const char *path, const char *base_url, const char *name, struct token *t);

/* Write t (or, t->access_token NULL, only the generation) atomically. 0 or -errno. */
int statefile_write(const char *path, const char *base_url, const char *name, const struct token *t,
		    uint64_t generation);

#endif
