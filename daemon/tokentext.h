/* SPDX-License-Identifier: MIT */
/*
 * The held token as text for programs outside the Varlink socket: the
 * token file (Format=) and the ExecOnChange= hook's stdin. The text holds
 * the token: keep it in memory no longer than needed and free it with
 * tokentext_free(), which wipes it.
 */
#ifndef TVTOKEND_TOKENTEXT_H
#define TVTOKEND_TOKENTEXT_H

#include <stddef.h>

#include "config.h"
#include "token.h"

/*
 * Render t (which must hold an access token) as format f: the access token
 * and a newline; the Token object of GetToken and a newline; or env lines
 * (TRADOVATE_ACCESS_TOKEN=, TRADOVATE_MD_ACCESS_TOKEN= when there is one,
 * TRADOVATE_TOKEN_EXPIRATION=) that sh's "." and systemd's EnvironmentFile=
 * read alike. Returns 0 with *out (NUL-terminated) and *len set, -ENOMEM, or
 * -EINVAL when a value holds characters the format cannot carry safely (a
 * newline in the token format; a quote, backslash or control character in
 * the env format), leaving *out untouched.
 */
int tokentext_render(const struct token *t, enum config_sink_format f, char **out, size_t *len);

/* Wipe and free a rendered text (NULL-safe). */
void tokentext_free(char *text, size_t len);

#endif
