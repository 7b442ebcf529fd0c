/* SPDX-License-Identifier: MIT */
/*
 * The HTTP engine: libcurl's multi interface driven by libevent (STYLE.md
 * "libcurl multi on libevent"): one multi handle, one timer, one event per
 * socket curl asks us to watch, any number of transfers up to HTTP_MAX_XFERS.
 *
 * No user callback runs inside a libcurl callback. curl's header and write
 * callbacks only store what arrives (bounded); once curl_multi_socket_action
 * has returned, the engine hands the stored header lines and body lines to
 * their owners, then finishes the transfers curl reports done. So a callback
 * may start transfers, cancel any transfer (its own too) and finish its work
 * with no restriction but one: it must not free the engine.
 *
 * A cancelled transfer leaves the multi handle at once and its memory is
 * released on a later loop turn (the reap event), so a caller still walking
 * it after http_cancel() returns never touches freed memory.
 *
 * Everything a transfer carries (body, headers, reply) may be secret: it is
 * wiped before it is freed, and buffers grow by copy-and-wipe, never realloc.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "http.h"

/* TCP keep-alive probes sent before a silent peer is given up. */
#define HTTP_KEEPALIVE_COUNT 3
/* Header bytes kept for delivery at once (all lines of one response fit easily). */
#define HTTP_MAX_HEADERS (64 * 1024)
/* Headers a request may carry. */
#define HTTP_MAX_REQUEST_HEADERS 32

/* One socket curl asked us to watch. */
struct http_sock {
	struct http *h;
	curl_socket_t fd;
	struct event *ev;
	LIST_ENTRY(http_sock) entry;
};

/* A growable byte buffer whose old copies are wiped when it grows. */
struct http_buf {
	char *data;
	size_t len;
	size_t cap;
};

struct http_xfer {
	struct http *h;
	CURL *easy;
	TAILQ_ENTRY(http_xfer) entry;   /* in h->xfers, or h->reap once cancelled */
	bool cancelled;
	bool finishing;                 /* leaving: http_cancel only marks it, the engine frees it */
	bool too_large;                 /* a bound was passed */
	bool aborted;                   /* a callback asked to stop */
	bool nomem;                     /* a buffer could not grow */
	bool doomed;                    /* the multi handle failed while it ran */

	struct curl_slist *headers;
	char *body;
	size_t body_len;

	enum http_body_mode mode;
	size_t max_body;
	size_t max_total;
	struct http_buf resp;           /* WHOLE: the body; LINES: bytes not yet split */
	struct http_lines lines;
	struct http_buf hdrs;           /* header lines not yet delivered, each ending in '\n' */
	size_t received;                /* body bytes over the whole transfer */
	long status;

	unsigned keepalive_idle;
	http_header_fn on_header;
	http_line_fn on_line;
	http_done_fn on_done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	usec_t started;
};

TAILQ_HEAD(http_xfer_list, http_xfer);

struct http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct event *reap_ev;
	LIST_HEAD(, http_sock) socks;
	struct http_xfer_list xfers;    /* in the multi handle */
	struct http_xfer_list reap;     /* cancelled, waiting to be freed */
	unsigned n_xfers;
	unsigned depth;                 /* libcurl actions under way (callbacks may run) */
	bool free_pending;              /* http_free was called from a callback */
};

/* Wipe and free a buffer. */
static void
http_buf_clear(struct http_buf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Append n bytes to b, keeping a NUL after them; -ENOMEM leaves b as it was. */
static int
http_buf_add(struct http_buf *b, const char *p, size_t n)
{
	size_t cap;
	char *d;

	if (n > SIZE_MAX / 4 - b->len)
		return -ENOMEM;
	if (b->len + n + 1 > b->cap) {
		/* Grow by copy and wipe: no realloc leaves a copy behind. */
		cap = b->cap == 0 ? 256 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		d = malloc(cap);
		if (d == NULL)
			return -ENOMEM;
		if (b->len > 0)
			memcpy(d, b->data, b->len);
		if (b->data != NULL) {
			explicit_bzero(b->data, b->cap);
			free(b->data);
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Drop the first n bytes of b, wiping what moves. */
static void
http_buf_consume(struct http_buf *b, size_t n)
{
	if (n >= b->len) {
		if (b->data != NULL)
			explicit_bzero(b->data, b->len);
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	explicit_bzero(b->data + b->len - n, n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* Start a splitter empty, with its bounds. */
void
http_lines_init(struct http_lines *l, size_t max_line, size_t max_total)
{
	memset(l, 0, sizeof(*l));
	l->max_line = max_line;
	l->max_total = max_total;
}

/* Keep a partial line; -EMSGSIZE past max_line. */
static int
http_lines_keep(struct http_lines *l, const char *p, size_t n)
{
	size_t cap;
	char *d;

	if (n > l->max_line - l->len)
		return -EMSGSIZE;
	if (l->len + n > l->cap) {
		cap = l->cap == 0 ? 256 : l->cap;
		while (cap < l->len + n)
			cap *= 2;
		if (cap > l->max_line)
			cap = l->max_line;
		d = malloc(cap);
		if (d == NULL)
			return -ENOMEM;
		if (l->len > 0)
			memcpy(d, l->buf, l->len);
		if (l->buf != NULL) {
			explicit_bzero(l->buf, l->cap);
			free(l->buf);
		}
		l->buf = d;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	return 0;
}

/* Hand one line (its "\r" cut) to fn, skipping empty ones. */
static int
http_lines_emit(const char *p, size_t n, int (*fn)(const char *, size_t, void *),
    void *arg)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0)
		return 0;
	return fn(p, n, arg);
}

/* Split data into lines for fn, keeping an incomplete last line for the next piece. */
int
http_lines_feed(struct http_lines *l, const char *data, size_t len,
    int (*fn)(const char *line, size_t len, void *arg), void *arg)
{
	const char *p = data, *nl;
	size_t n;
	int r;

	if (l->failed)
		return -EMSGSIZE;
	if (len > l->max_total - l->total) {
		l->failed = true;
		return -EMSGSIZE;
	}
	l->total += len;
	while (len > 0) {
		nl = memchr(p, '\n', len);
		if (nl == NULL) {
			r = http_lines_keep(l, p, len);
			if (r < 0)
				l->failed = true;
			return r;
		}
		n = (size_t)(nl - p);
		if (l->len > 0) {
			/* The line began in an earlier piece: complete it in the buffer. */
			r = http_lines_keep(l, p, n);
			if (r < 0) {
				l->failed = true;
				return r;
			}
			r = http_lines_emit(l->buf, l->len, fn, arg);
			explicit_bzero(l->buf, l->len);
			l->len = 0;
		} else {
			if (n > l->max_line) {
				l->failed = true;
				return -EMSGSIZE;
			}
			r = http_lines_emit(p, n, fn, arg);
		}
		if (r < 0)
			return r;
		p = nl + 1;
		len -= n + 1;
	}
	return 0;
}

/* Hand over the last line when the stream ended without a newline. */
int
http_lines_finish(struct http_lines *l,
    int (*fn)(const char *line, size_t len, void *arg), void *arg)
{
	int r;

	if (l->failed || l->len == 0)
		return 0;
	r = http_lines_emit(l->buf, l->len, fn, arg);
	explicit_bzero(l->buf, l->len);
	l->len = 0;
	return r;
}

/* Wipe and free what the splitter holds. */
void
http_lines_clear(struct http_lines *l)
{
	if (l->buf != NULL) {
		explicit_bzero(l->buf, l->cap);
		free(l->buf);
	}
	l->buf = NULL;
	l->len = l->cap = 0;
}

/* Wipe and free everything a transfer holds; the easy handle is already gone. */
static void
http_xfer_free(struct http_xfer *x)
{
	struct curl_slist *s;

	for (s = x->headers; s != NULL; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(x->headers);
	if (x->body != NULL) {
		explicit_bzero(x->body, x->body_len);
		free(x->body);
	}
	http_buf_clear(&x->resp);
	http_buf_clear(&x->hdrs);
	http_lines_clear(&x->lines);
	explicit_bzero(x, sizeof(*x));
	free(x);
}

/* Take x out of the multi handle and clean its easy handle up. */
static void
http_xfer_detach(struct http_xfer *x)
{
	if (x->easy == NULL)
		return;
	(void)curl_multi_remove_handle(x->h->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
}

/* libevent: free the transfers cancelled since the last turn. */
static void
http_reap_event(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	struct http_xfer *x;

	while ((x = TAILQ_FIRST(&h->reap)) != NULL) {
		TAILQ_REMOVE(&h->reap, x, entry);
		http_xfer_free(x);
	}
}

/* Stop a transfer now; its memory goes on a later loop turn (reap). */
void
http_cancel(struct http_xfer *x)
{
	struct http *h;

	if (x == NULL || x->cancelled)
		return;
	x->cancelled = true;
	if (x->finishing)
		return;     /* the engine frees it once on_done returns */
	h = x->h;
	http_xfer_detach(x);
	TAILQ_REMOVE(&h->xfers, x, entry);
	h->n_xfers--;
	TAILQ_INSERT_TAIL(&h->reap, x, entry);
	event_active(h->reap_ev, EV_TIMEOUT, 0);
}

/* The status line's code seen so far. */
long
http_xfer_status(const struct http_xfer *x)
{
	return x->status;
}

/* Transfers in the multi handle now. */
unsigned
http_active(const struct http *h)
{
	return h->n_xfers;
}

/* The glue between http_lines and a transfer's on_line. */
static int
http_line_to_user(const char *line, size_t len, void *arg)
{
	struct http_xfer *x = arg;

	if (x->cancelled)
		return -ECANCELED;
	if (x->on_line(x, line, len, x->arg) < 0) {
		x->aborted = true;
		return -ECANCELED;
	}
	return x->cancelled ? -ECANCELED : 0;
}

/* Whether x has to stop: cancelled, refused by a callback, over a bound, out of memory. */
static bool
http_xfer_stopped(const struct http_xfer *x)
{
	return x->cancelled || x->aborted || x->too_large || x->nomem;
}

/*
 * Hand x's stored header lines, then its stored body lines, to their owner.
 * Returns false when x must stop (see http_xfer_stopped).
 */
static bool
http_xfer_deliver(struct http_xfer *x)
{
	size_t n;
	char *nl;
	int r;

	while (x->hdrs.len > 0 && !http_xfer_stopped(x)) {
		nl = memchr(x->hdrs.data, '\n', x->hdrs.len);
		n = nl != NULL ? (size_t)(nl - x->hdrs.data) : x->hdrs.len;
		r = x->on_header != NULL ? x->on_header(x, x->hdrs.data, n, x->arg) : 0;
		if (x->cancelled)
			return false;
		http_buf_consume(&x->hdrs, n + 1);
		if (r < 0)
			x->aborted = true;
	}
	if (x->mode == HTTP_BODY_LINES && x->resp.len > 0 && !http_xfer_stopped(x)) {
		/* A cancelled x keeps its memory until reaped, so this stays valid. */
		r = http_lines_feed(&x->lines, x->resp.data, x->resp.len,
		    http_line_to_user, x);
		http_buf_consume(&x->resp, x->resp.len);
		if (r == -EMSGSIZE)
			x->too_large = true;
		else if (r == -ENOMEM)
			x->nomem = true;
	}
	return !http_xfer_stopped(x);
}

/* Finish x with result: read what curl knows, leave the multi, call back, free. */
static void
http_finish(struct http *h, struct http_xfer *x, CURLcode result)
{
	struct http_result res;
	curl_off_t pretransfer = 0;
	long status = 0, request_size = 0;
	const char *why;
	int r;

	if (x->easy != NULL) {
		if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
			status = 0;
		if (curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T,
		    &pretransfer) != CURLE_OK)
			pretransfer = 0;
		if (curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE,
		    &request_size) != CURLE_OK)
			request_size = 0;
	}
	http_xfer_detach(x);
	TAILQ_REMOVE(&h->xfers, x, entry);
	h->n_xfers--;
	x->finishing = true;

	/* Whatever is still stored, then a last line without its newline. */
	if (result == CURLE_OK && http_xfer_deliver(x) && x->mode == HTTP_BODY_LINES) {
		r = http_lines_finish(&x->lines, http_line_to_user, x);
		if (r == -ENOMEM)
			x->nomem = true;
	}
	if (x->cancelled) {
		/* Cancelled by one of the callbacks above: nothing more is said. */
		http_xfer_free(x);
		return;
	}

	memset(&res, 0, sizeof(res));
	res.curl_code = (int)result;
	res.status = status;
	res.sent = request_size > 0;
	res.too_large = x->too_large;
	res.aborted = x->aborted;
	res.pretransfer = pretransfer > 0 ? (usec_t)pretransfer : 0;
	res.duration = time_monotonic() - x->started;
	if (x->too_large)
		why = "reply too large";
	else if (x->nomem)
		why = "out of memory";
	else if (x->aborted)
		why = "stopped by its reader";
	else if (result != CURLE_OK)
		why = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(result);
	else
		why = "";
	res.error = why;
	if (x->mode == HTTP_BODY_WHOLE && x->resp.len > 0) {
		res.body = x->resp.data;
		res.body_len = x->resp.len;
	}
	x->on_done(x, &res, x->arg);
	http_xfer_free(x);
}

/* Fail every transfer because the multi handle itself failed. */
static void
http_fail_all(struct http *h, CURLMcode mc)
{
	struct http_xfer *x;
	CURLcode code = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY :
	    CURLE_FAILED_INIT;

	/* Only those running now: a done callback may start new ones. */
	TAILQ_FOREACH(x, &h->xfers, entry)
		x->doomed = true;
	for (;;) {
		TAILQ_FOREACH(x, &h->xfers, entry)
			if (x->doomed)
				break;
		if (x == NULL)
			break;
		snprintf(x->errbuf, sizeof(x->errbuf), "curl: %s", curl_multi_strerror(mc));
		http_finish(h, x, code);
		if (h->free_pending)
			return;
	}
}

/*
 * After curl_multi_socket_action: deliver what arrived, stop transfers their
 * owners refused, then finish the ones curl says are done.
 */
static void
http_process(struct http *h, CURLMcode mc)
{
	struct http_xfer *x;
	CURLMsg *msg;
	bool again;
	int left;

	if (mc != CURLM_OK && mc != CURLM_BAD_SOCKET) {
		http_fail_all(h, mc);
		return;
	}
	/*
	 * A callback may start or cancel any transfer, so the walk starts
	 * over after each delivery; each transfer is delivered at most once.
	 */
	do {
		again = false;
		TAILQ_FOREACH(x, &h->xfers, entry) {
			if (x->cancelled || x->finishing)
				continue;
			if (x->hdrs.len == 0 && (x->mode != HTTP_BODY_LINES ||
			    x->resp.len == 0) && !http_xfer_stopped(x))
				continue;
			if (!http_xfer_deliver(x) && !x->cancelled) {
				/* Refused, over a bound or out of memory: it ends now. */
				http_finish(h, x, CURLE_WRITE_ERROR);
			}
			again = true;
			break;
		}
		if (h->free_pending)
			return;
	} while (again);

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		CURL *easy;
		CURLcode result;
		char *priv = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* Read the message now: it is invalid once the handle is removed. */
		easy = msg->easy_handle;
		result = msg->data.result;
		if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
		    priv == NULL) {
			(void)curl_multi_remove_handle(h->multi, easy);
			curl_easy_cleanup(easy);
			continue;
		}
		http_finish(h, (struct http_xfer *)(void *)priv, result);
		if (h->free_pending)
			return;
	}
}

static void http_destroy(struct http *h);

/* Run one libcurl action and deliver its results; a callback's http_free takes effect after. */
static void
http_action(struct http *h, curl_socket_t fd, int flags)
{
	int running;
	CURLMcode mc;

	h->depth++;
	mc = curl_multi_socket_action(h->multi, fd, flags, &running);
	http_process(h, mc);
	h->depth--;
	if (h->depth == 0 && h->free_pending)
		http_destroy(h);
}

/* libevent: a watched socket is ready. */
static void
http_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct http_sock *hs = arg;
	struct http *h = hs->h;     /* hs may be freed during the action */
	int flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	http_action(h, fd, flags);
}

/* libevent: curl's timeout expired. */
static void
http_timer_event(evutil_socket_t fd, short what, void *arg)
{
	http_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* Stop watching a socket and free its state. */
static void
http_sock_free(struct http_sock *hs)
{
	LIST_REMOVE(hs, entry);
	if (hs->ev != NULL)
		event_free(hs->ev);
	free(hs);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching socket s. */
static int
http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct http_sock *hs = socketp;
	short events = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL)
			http_sock_free(hs);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (hs == NULL) {
		hs = calloc(1, sizeof(*hs));
		if (hs == NULL)
			return -1;
		hs->h = h;
		hs->fd = s;
		LIST_INSERT_HEAD(&h->socks, hs, entry);
		hs->ev = event_new(h->base, s, events, http_sock_event, hs);
		if (hs->ev == NULL || event_add(hs->ev, NULL) < 0 ||
		    curl_multi_assign(h->multi, s, hs) != CURLM_OK) {
			http_sock_free(hs);
			return -1;
		}
		return 0;
	}
	if (event_del(hs->ev) < 0 ||
	    event_assign(hs->ev, h->base, s, events, http_sock_event, hs) < 0 ||
	    event_add(hs->ev, NULL) < 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 deletes the timer, anything else (0 too) arms it. */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(h->timer, &tv) < 0 ? -1 : 0;
}

/* CURLOPT_WRITEFUNCTION: store the body (bounded) for delivery after the action. */
static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_xfer *x = userdata;
	size_t n;

	if (http_xfer_stopped(x))
		return 0;
	if (size != 0 && nmemb > SIZE_MAX / size)
		return 0;
	n = size * nmemb;
	if (x->mode == HTTP_BODY_WHOLE ? n > x->max_body - x->resp.len :
	    n > x->max_total - x->received) {
		x->too_large = true;
		return 0;
	}
	if (http_buf_add(&x->resp, ptr, n) < 0) {
		x->nomem = true;
		return 0;
	}
	x->received += n;
	return n;
}

/* The status code of a status line ("HTTP/1.1 200 OK"), or 0. */
static long
http_status_of(const char *line, size_t n)
{
	size_t i = 5;
	long code = 0;
	int digits = 0;

	while (i < n && line[i] != ' ')
		i++;
	while (i < n && line[i] == ' ')
		i++;
	for (; i < n && digits < 3 && line[i] >= '0' && line[i] <= '9'; i++, digits++)
		code = code * 10 + (line[i] - '0');
	return digits == 3 ? code : 0;
}

/* CURLOPT_HEADERFUNCTION: note the status, store header lines for delivery. */
static size_t
http_header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	struct http_xfer *x = userdata;
	size_t n, len;

	if (http_xfer_stopped(x))
		return 0;
	if (size != 0 && nitems > SIZE_MAX / size)
		return 0;
	n = size * nitems;
	len = n;
	while (len > 0 && (buffer[len - 1] == '\r' || buffer[len - 1] == '\n'))
		len--;
	if (len >= 5 && strncmp(buffer, "HTTP/", 5) == 0)
		x->status = http_status_of(buffer, len);
	if (x->on_header == NULL || len == 0)
		return n;
	if (len + 1 > HTTP_MAX_HEADERS - x->hdrs.len) {
		x->too_large = true;
		return 0;
	}
	if (http_buf_add(&x->hdrs, buffer, len) < 0 || http_buf_add(&x->hdrs, "\n", 1) < 0) {
		x->nomem = true;
		return 0;
	}
	return n;
}

/* CURLOPT_SOCKOPTFUNCTION: how many keep-alive probes before giving up. */
static int
http_sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	int count = HTTP_KEEPALIVE_COUNT;

	if (purpose == CURLSOCKTYPE_IPCXN)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
	return CURL_SOCKOPT_OK;
}

/* Microseconds to curl's milliseconds, rounded up, capped at a day. */
static long
http_ms(usec_t us)
{
	if (us / USEC_PER_MSEC >= (usec_t)24 * 3600 * 1000)
		return 24L * 3600 * 1000;
	return (long)((us + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
}

/* Set every option of x from req; CURLE_OK or the first failure. */
static CURLcode
http_setup(struct http_xfer *x, const struct http_request *req)
{
	CURL *e = x->easy;
	CURLcode rc = CURLE_OK;

#define HTTP_SETOPT(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	HTTP_SETOPT(CURLOPT_URL, req->url);
	HTTP_SETOPT(CURLOPT_PROTOCOLS_STR, "https,http");
	HTTP_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SETOPT(CURLOPT_NOSIGNAL, 1L);
	HTTP_SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (!req->reuse) {
		HTTP_SETOPT(CURLOPT_FRESH_CONNECT, 1L);
		HTTP_SETOPT(CURLOPT_FORBID_REUSE, 1L);
	}
	if (req->no_proxy)
		HTTP_SETOPT(CURLOPT_PROXY, "");
	if (req->timeout > 0)
		HTTP_SETOPT(CURLOPT_TIMEOUT_MS, http_ms(req->timeout));
	HTTP_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, http_ms(req->connect_timeout > 0 ?
	    req->connect_timeout : HTTP_DEFAULT_CONNECT_TIMEOUT));
	if (req->keepalive_idle > 0) {
		HTTP_SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
		HTTP_SETOPT(CURLOPT_TCP_KEEPIDLE, (long)req->keepalive_idle);
		HTTP_SETOPT(CURLOPT_TCP_KEEPINTVL, 1L);
		HTTP_SETOPT(CURLOPT_SOCKOPTFUNCTION, http_sockopt_cb);
	}
	HTTP_SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	HTTP_SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL) {
		/* The bundle replaces the system store, it does not add to it. */
		HTTP_SETOPT(CURLOPT_CAINFO, req->ca_file);
		HTTP_SETOPT(CURLOPT_CAPATH, (char *)NULL);
	}
	if (req->cert_file != NULL) {
		HTTP_SETOPT(CURLOPT_SSLCERT, req->cert_file);
		HTTP_SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
		HTTP_SETOPT(CURLOPT_SSLKEY, req->key_file);
		HTTP_SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
	}
	HTTP_SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	HTTP_SETOPT(CURLOPT_PRIVATE, (void *)x);
	HTTP_SETOPT(CURLOPT_USERAGENT, "tvtokend/" TVTOKEND_VERSION);
	HTTP_SETOPT(CURLOPT_HTTPHEADER, x->headers);
	HTTP_SETOPT(CURLOPT_HEADERFUNCTION, http_header_cb);
	HTTP_SETOPT(CURLOPT_HEADERDATA, (void *)x);
	HTTP_SETOPT(CURLOPT_WRITEFUNCTION, http_write_cb);
	HTTP_SETOPT(CURLOPT_WRITEDATA, (void *)x);
	if (x->body != NULL) {
		HTTP_SETOPT(CURLOPT_POST, 1L);
		/* Not copied by curl: the buffer stays ours and is wiped after. */
		HTTP_SETOPT(CURLOPT_POSTFIELDS, x->body);
		HTTP_SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	} else {
		HTTP_SETOPT(CURLOPT_HTTPGET, 1L);
	}
	if (req->method != NULL)
		HTTP_SETOPT(CURLOPT_CUSTOMREQUEST, req->method);
#undef HTTP_SETOPT
	return rc;
}

/* Append a header to x's list; false on ENOMEM. */
static bool
http_add_header(struct http_xfer *x, const char *header)
{
	struct curl_slist *l = curl_slist_append(x->headers, header);

	if (l == NULL)
		return false;
	x->headers = l;
	return true;
}

/* Whether a request header is one line of printable text with a name and a colon. */
static bool
http_header_ok(const char *s)
{
	const char *colon = strchr(s, ':');

	if (colon == NULL || colon == s)
		return false;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

/* Check what a request asks for before anything is allocated. */
static int
http_request_valid(const struct http_request *req)
{
	size_t n = 0;

	if (req == NULL || req->url == NULL || req->on_done == NULL)
		return -EINVAL;
	if (req->mode == HTTP_BODY_LINES && req->on_line == NULL)
		return -EINVAL;
	if (req->mode != HTTP_BODY_WHOLE && req->mode != HTTP_BODY_LINES)
		return -EINVAL;
	if ((req->cert_file == NULL) != (req->key_file == NULL))
		return -EINVAL;
	if (req->body == NULL && req->body_len > 0)
		return -EINVAL;
	if (req->headers != NULL)
		for (; req->headers[n] != NULL; n++)
			if (n >= HTTP_MAX_REQUEST_HEADERS || !http_header_ok(req->headers[n]))
				return -EINVAL;
	return 0;
}

/* Copy the request into a new transfer and hand it to the multi handle. */
int
http_start(struct http *h, const struct http_request *req, struct http_xfer **out)
{
	struct http_xfer *x;
	CURLMcode mc;
	int r;

	r = http_request_valid(req);
	if (r < 0)
		return r;
	if (h->n_xfers >= HTTP_MAX_XFERS)
		return -ENOBUFS;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->h = h;
	x->mode = req->mode;
	x->max_body = req->max_body != 0 ? req->max_body : HTTP_DEFAULT_MAX_BODY;
	x->max_total = req->max_total != 0 ? req->max_total : HTTP_DEFAULT_MAX_TOTAL;
	if (x->mode == HTTP_BODY_WHOLE)
		x->max_total = x->max_body;
	http_lines_init(&x->lines, x->max_body, x->max_total);
	x->keepalive_idle = req->keepalive_idle;
	x->on_header = req->on_header;
	x->on_line = req->on_line;
	x->on_done = req->on_done;
	x->arg = req->arg;
	if (req->body != NULL) {
		/* One spare byte so that an empty body is still a POST with a buffer. */
		x->body = malloc(req->body_len + 1);
		if (x->body == NULL)
			goto nomem;
		memcpy(x->body, req->body, req->body_len);
		x->body[req->body_len] = '\0';
		x->body_len = req->body_len;
	}
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		if (!http_add_header(x, req->headers[i]))
			goto nomem;
	/* Never wait for a "100 Continue" the server may not send. */
	if (!http_add_header(x, "Expect:"))
		goto nomem;
	x->easy = curl_easy_init();
	if (x->easy == NULL)
		goto nomem;
	if (http_setup(x, req) != CURLE_OK) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		http_xfer_free(x);
		return -EINVAL;
	}
	x->started = time_monotonic();
	mc = curl_multi_add_handle(h->multi, x->easy);
	if (mc != CURLM_OK) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		http_xfer_free(x);
		return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	}
	TAILQ_INSERT_TAIL(&h->xfers, x, entry);
	h->n_xfers++;
	if (out != NULL)
		*out = x;
	return 0;

nomem:
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
	http_xfer_free(x);
	return -ENOMEM;
}

/* Create the engine: one multi handle, one timer and the reap event on base. */
int
http_new(struct event_base *base, struct http **out)
{
	struct http *h;

	if (base == NULL || out == NULL)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->base = base;
	LIST_INIT(&h->socks);
	TAILQ_INIT(&h->xfers);
	TAILQ_INIT(&h->reap);
	h->timer = evtimer_new(base, http_timer_event, h);
	h->reap_ev = event_new(base, -1, 0, http_reap_event, h);
	h->multi = curl_multi_init();
	if (h->timer == NULL || h->reap_ev == NULL || h->multi == NULL ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK) {
		http_free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

/* Tear down in STYLE.md's order: easy handles, multi, sockets, timer. */
void
http_free(struct http *h)
{
	struct http_xfer *x;

	if (h == NULL)
		return;
	if (h->depth > 0) {
		/* From a callback: nothing is called back any more; the rest after the action. */
		TAILQ_FOREACH(x, &h->xfers, entry)
			x->cancelled = true;
		h->free_pending = true;
		return;
	}
	http_destroy(h);
}

/* Free everything now (no libcurl action is under way). */
static void
http_destroy(struct http *h)
{
	struct http_xfer *x;
	struct http_sock *hs;

	while ((x = TAILQ_FIRST(&h->xfers)) != NULL) {
		TAILQ_REMOVE(&h->xfers, x, entry);
		http_xfer_detach(x);
		http_xfer_free(x);
	}
	while ((x = TAILQ_FIRST(&h->reap)) != NULL) {
		TAILQ_REMOVE(&h->reap, x, entry);
		http_xfer_free(x);
	}
	/* Callbacks may still fire here: the sockets and the timer must exist. */
	if (h->multi != NULL)
		(void)curl_multi_cleanup(h->multi);
	while ((hs = LIST_FIRST(&h->socks)) != NULL)
		http_sock_free(hs);
	if (h->timer != NULL)
		event_free(h->timer);
	if (h->reap_ev != NULL)
		event_free(h->reap_ev);
	free(h);
}
