/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: libtvtoken's reply parsing, from the broker's bytes to a
 * tvtoken_token. The input is what the broker sent on a watch stream; it
 * goes through the library's own receive buffer and NUL framing
 * (client_receive), message_parse, client_reply_check, token_from_params
 * and the error texts, by the exported tvtoken_watch_next(). The library is
 * compiled into this program (its statics reachable, its exported ABI
 * untouched: lib/libtvtoken.sym is not involved).
 *
 * Checked: every token handed out has an access token and a generation >= 0;
 * error names and reasons hold no control character.
 */
#include "../../lib/tvtoken.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Trap (a crash to libFuzzer) when a checked property does not hold. */
static void
check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* No control character in a text meant for people. */
static void
check_text(const char *s)
{
	for (; *s != '\0'; s++)
		check((unsigned char)*s >= 0x20 && *s != 0x7f);
}

/* One input: see the comment at the top. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tvtoken_client *c = calloc(1, sizeof(*c));
	tvtoken_token *t;
	int r, n = 0;

	if (c == NULL)
		return 0;
	c->in = calloc(1, IN_SIZE);
	if (c->in == NULL) {
		free(c);
		return 0;
	}
	/* What the broker sent, already in the buffer; fd -1: nothing more comes. */
	c->fd = -1;
	c->in_len = size < IN_SIZE ? size : IN_SIZE;
	memcpy(c->in, data, c->in_len);
	c->watch = WATCH_RUNNING;
	while (c->watch == WATCH_RUNNING && n++ < 1000) {
		t = NULL;
		r = tvtoken_watch_next(c, 0, &t);
		if (r == 0) {
			check(t != NULL && t->access_token != NULL && t->access_token[0] != '\0');
			check(t->expiration_time != NULL && t->generation >= 0);
			tvtoken_token_free(t);
		} else {
			check(t == NULL);
			check(tvtoken_strerror(r) != NULL);
		}
		check_text(tvtoken_error_name(c));
		check_text(tvtoken_error_reason(c));
		/* An error reply ends a stream but not the connection: read on. */
		if ((r == TVTOKEN_E_NOTOKEN || r == TVTOKEN_E_REMOTE) && c->in_len > 0)
			c->watch = WATCH_RUNNING;
	}
	client_disconnect(c);
	free(c->in);
	free(c);
	return 0;
}
