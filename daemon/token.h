/* SPDX-License-Identifier: MIT */
/* The access token the broker holds, and how it is copied and wiped. */
#ifndef TVTOKEND_TOKEN_H
#define TVTOKEND_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timeutil.h"

/* Longest access or market-data token accepted (a Tradovate token is ~600 bytes). */
#define TOKEN_MAX_LEN 8192

struct token {
	char *access_token;      /* never NULL in a held token */
	char *md_access_token;   /* NULL when Tradovate sent none */
	usec_t expiration;       /* wall clock, already corrected for server clock skew */
	int64_t user_id;
	bool has_user_id;
	char *name;              /* NULL when absent */
	uint64_t generation;     /* 0 for a token not yet installed */
};

/* Wipe every string with explicit_bzero, free it, zero the struct. */
void token_clear(struct token *t);

/* Deep copy. Returns 0, or -ENOMEM leaving dst untouched. */
int token_copy(struct token *dst, const struct token *src);

/* Fill fields absent from a renewal reply (md token, user id, name) from old. -ENOMEM on failure. */
int token_inherit(struct token *renewed, const struct token *old);

/* Copy an optional string (NULL stays NULL); *ok turns false when memory runs out. */
char *secret_strdup(const char *s, bool *ok);

/* Free a string that may hold a secret: wipe it first. */
void secret_free(char *s);

/*
 * Whether s (len bytes) can be a bearer token: RFC 6750 b64token, 1 to
 * TOKEN_MAX_LEN of ALPHA DIGIT "-" "." "_" "~" "+" "/", then any "=".
 * A token that is not could not be sent back in an Authorization header.
 */
bool token_text_valid(const char *s, size_t len);

/* Longest user name kept from a reply. */
#define TOKEN_NAME_MAX 1024

/*
 * Whether s (len bytes) can be served as the token's user name: 1 to
 * TOKEN_NAME_MAX bytes of well-formed UTF-8 (no overlong form, no
 * surrogate, nothing past U+10FFFF) without control characters.
 */
bool token_name_valid(const char *s, size_t len);

/* Whether t's access token (and md token, when present) pass token_text_valid. */
bool token_valid(const struct token *t);

/* Compare two NUL-terminated secrets in time independent of where they differ. */
bool secret_equal(const char *a, const char *b);

#endif
