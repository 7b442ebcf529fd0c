/* SPDX-License-Identifier: MIT */
/*
 * libtvtoken: the client side of tvtokend's Varlink socket.
 *
 * tvtokend owns one shared Tradovate access token; this library asks it for
 * that token over the interface io.tvtokend.Broker (one JSON object and a NUL
 * byte per message, on an AF_UNIX stream socket).
 *
 * Conventions:
 *  - Every function that can fail returns 0 or one of the negative
 *    TVTOKEN_E_* codes below, and leaves its out-parameters untouched on
 *    failure. tvtoken_strerror() turns a code into a sentence.
 *  - The library never logs, never exits, never aborts, and has no global
 *    state. A handle is not thread-safe; use one handle per thread.
 *  - A handle connects lazily, on its first call, and reconnects on its own
 *    after a time-out or a broker restart. All its fds are O_CLOEXEC.
 *  - Tokens are wiped (explicit_bzero) when freed; so are the library's own
 *    buffers. Error texts never contain a token.
 *  - Messages larger than TVTOKEN_MESSAGE_MAX bytes are refused
 *    (TVTOKEN_E_PROTOCOL).
 *
 * Link with pkg-config --cflags --libs tvtoken.
 */
#ifndef TVTOKEN_H
#define TVTOKEN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The socket used when neither a path nor $TVTOKEN_SOCKET is given. */
#define TVTOKEN_SOCKET_DEFAULT "/run/tvtokend/io.tvtokend.Broker"
/* The environment variable that overrides the default socket. */
#define TVTOKEN_SOCKET_ENV "TVTOKEN_SOCKET"
/* Largest message accepted, in bytes before its NUL. */
#define TVTOKEN_MESSAGE_MAX 65536
/* How long calls that the broker answers at once may take (see below). */
#define TVTOKEN_CALL_TIMEOUT_MS 10000

/* Error codes: always negative. */
#define TVTOKEN_E_CONNECT   (-1)   /* socket missing, or nobody listening on it */
#define TVTOKEN_E_ACCESS    (-2)   /* EACCES on connect, or a PermissionDenied reply */
#define TVTOKEN_E_NOTOKEN   (-3)   /* the broker has no valid token (NoToken) */
#define TVTOKEN_E_TIMEOUT   (-4)   /* no answer within the time given */
#define TVTOKEN_E_PROTOCOL  (-5)   /* a reply that is not what the interface promises */
#define TVTOKEN_E_REMOTE    (-6)   /* any other Varlink error reply */
#define TVTOKEN_E_CLOSED    (-7)   /* the broker hung up, or ended a watch stream */
#define TVTOKEN_E_NOMEM     (-8)   /* out of memory */
#define TVTOKEN_E_INVAL     (-9)   /* bad argument, or a call the handle cannot make now */

typedef struct tvtoken_client tvtoken_client;

/* A token as the broker serves it (the Token type of io.tvtokend.Broker). */
typedef struct tvtoken_token {
	char *access_token;        /* never NULL */
	char *md_access_token;     /* market-data token; NULL when the broker has none */
	char *expiration_time;     /* RFC 3339 UTC, e.g. "2026-11-28T14:30:00Z" */
	int64_t user_id;           /* meaningful only when has_user_id is non-zero */
	int has_user_id;
	char *name;                /* NULL when the broker has none */
	int64_t generation;        /* +1 every time the broker's token changes */
} tvtoken_token;

/*
 * Make a handle for the broker at path; NULL means $TVTOKEN_SOCKET when it is
 * set and not empty (and the program is not set-user-ID), else
 * TVTOKEN_SOCKET_DEFAULT. Does not connect yet.
 * TVTOKEN_E_INVAL when the path is empty or too long for a socket address.
 */
int tvtoken_open(const char *path, tvtoken_client **out);

/* Hang up and free the handle (NULL is fine). Returns NULL. */
tvtoken_client *tvtoken_close(tvtoken_client *c);

/* The socket path the handle talks to. */
const char *tvtoken_socket_path(const tvtoken_client *c);

/*
 * The current token (GetToken).
 * timeout_ms 0: do not wait; TVTOKEN_E_NOTOKEN when the broker has none
 *   (the call itself may take up to TVTOKEN_CALL_TIMEOUT_MS).
 * timeout_ms -1: wait until the broker has a token, or gives up (NOTOKEN).
 * timeout_ms > 0: the same, for at most that long (TVTOKEN_E_TIMEOUT). A held
 *   wait cannot be cancelled otherwise, so a time-out hangs up; the next call
 *   reconnects.
 * Free *out with tvtoken_token_free().
 */
int tvtoken_get(tvtoken_client *c, int timeout_ms, tvtoken_token **out);

/*
 * Tell the broker the token of this generation was refused by Tradovate
 * (ReportRejected); a negative generation means the current token's, fetched
 * first. Answers with the token to use now, renewed if it was still current.
 * timeout_ms: -1 waits as long as the renewal takes, > 0 at most that long
 * (then, as for tvtoken_get, the handle hangs up); 0 is TVTOKEN_E_INVAL.
 */
int tvtoken_report_rejected(tvtoken_client *c, int64_t generation, int timeout_ms,
			    tvtoken_token **out);

/*
 * The broker's state (GetStatus) as the JSON text of its parameters object;
 * never contains a token. Takes at most TVTOKEN_CALL_TIMEOUT_MS.
 * Free *json_out with free().
 */
int tvtoken_status(tvtoken_client *c, char **json_out);

/*
 * Start a watch stream (GetToken with "more"): the current token, then one
 * per change. With wait non-zero and no token yet, the stream starts when
 * there is one; with wait zero it ends at once with NOTOKEN. Read the stream
 * with tvtoken_watch_next(). While it runs the handle makes no other call
 * (TVTOKEN_E_INVAL); close the handle to stop watching. Takes at most
 * TVTOKEN_CALL_TIMEOUT_MS to send the call.
 */
int tvtoken_watch(tvtoken_client *c, int wait);

/*
 * The handle's socket, for poll() or any event loop; -1 while not connected.
 * Read-ready means: call tvtoken_watch_next(c, 0, ...) until it returns
 * TVTOKEN_E_TIMEOUT (several tokens may arrive in one read).
 */
int tvtoken_fd(const tvtoken_client *c);

/*
 * The next token of the watch stream, waiting at most timeout_ms (0: only
 * what has arrived already; -1: forever). TVTOKEN_E_TIMEOUT leaves the stream
 * running. The stream is over after TVTOKEN_E_NOTOKEN (the broker lost its
 * token), TVTOKEN_E_CLOSED (it hung up or ended the stream), or any other
 * error; TVTOKEN_E_INVAL when no stream is running.
 */
int tvtoken_watch_next(tvtoken_client *c, int timeout_ms, tvtoken_token **out);

/* Wipe every string of t with explicit_bzero and free it all (NULL is fine). Returns NULL. */
tvtoken_token *tvtoken_token_free(tvtoken_token *t);

/* A sentence for an error code (or 0); never NULL. */
const char *tvtoken_strerror(int err);

/*
 * The Varlink error name of the last failed call, e.g.
 * "io.tvtokend.Broker.NoToken"; "" when it failed otherwise or succeeded.
 */
const char *tvtoken_error_name(const tvtoken_client *c);

/*
 * Details of the last failure for messages, "" when there are none: for
 * NoToken the broker's reason, state and retry time ("token expired (state
 * backoff, retry at 2026-11-28T14:30:00Z)"), for another Varlink error its
 * parameters, for a failed connect the system's error text.
 */
const char *tvtoken_error_reason(const tvtoken_client *c);

#ifdef __cplusplus
}
#endif

#endif
