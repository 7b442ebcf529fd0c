/* SPDX-License-Identifier: MIT */
/*
 * The JSON form of a lifecycle snapshot (struct lc_snapshot): what the state
 * file holds, and what a cluster hands from one broker to another (inside
 * its own framing and encryption). Bound to one account (BaseURL, Name).
 *
 * Version 2 is a superset of version 1 (the token and generation only),
 * which is still read. The text holds tokens and the penalty ticket: it is
 * produced into a buffer the caller wipes (snapshot_text_free), and every
 * copy json-c makes is wiped before it is freed.
 */
#ifndef TVTOKEND_SNAPSHOT_H
#define TVTOKEND_SNAPSHOT_H

#include <stddef.h>

#include "lifecycle.h"

#define SNAPSHOT_VERSION 2
/* Longest text accepted by snapshot_decode. */
#define SNAPSHOT_MAX (64 * 1024)
/* snapshot_decode: the text is another account's (see there). */
#define SNAPSHOT_OTHER_ACCOUNT 1

/* Encode s for the account into *out (NUL-terminated, *out_len bytes). 0 or -ENOMEM. */
int snapshot_encode(const struct lc_snapshot *s, const char *base_url, const char *name,
		    char **out, size_t *out_len);

/* Wipe and free a text from snapshot_encode (NULL-safe). */
void snapshot_text_free(char *text, size_t len);

/*
 * Decode text (len bytes) with full validation: every field's type and
 * range, tokens as b64token (token_text_valid). Returns 0 with *out filled
 * (lc_snapshot_clear it); SNAPSHOT_OTHER_ACCOUNT when the text is another
 * account's, with *out holding only what does not belong to the account
 * (the generation, the hourly windows, Tradovate's hold: its limits count
 * per IP, and a reload to another account keeps them too), never its
 * token, penalty ticket or rejected credentials; -EBADMSG when malformed,
 * -ENOMEM. *out is untouched on failure.
 */
int snapshot_decode(const char *text, size_t len, const char *base_url, const char *name,
		    struct lc_snapshot *out);

#endif
