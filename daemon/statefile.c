/*
 * The state file: the held token and its generation, so that a restart
 * serves at once without a new Tradovate session. Written atomically (temp
 * file, fsync, rename, fsync of the directory), mode 0600; every buffer that
 * held the token is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "statefile.h"

#define STATEFILE_MAX (64 * 1024)
#define STATEFILE_VERSION 1

/* Read the whole file, at most STATEFILE_MAX bytes. */
static int read_all(const char *path, char **out, size_t *out_len)
{
	char *buf;
	size_t len = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(STATEFILE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, STATEFILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > STATEFILE_MAX) {
			r = -EBADMSG;
			break;
		}
	}
	close(fd);
	if (r < 0) {
		explicit_bzero(buf, len);
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* A string member, or NULL. */
static const char *get_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* An integer member; false when absent or not an integer. */
static bool get_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* Wipe the text of a string member in place: json-c frees without wiping. */
static void wipe_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* Wipe every member that may hold a token. */
static void wipe_tokens(struct json_object *o)
{
	if (!o || !json_object_is_type(o, json_type_object))
		return;
	wipe_member(o, "accessToken");
	wipe_member(o, "mdAccessToken");
}

/* Turn the parsed object into a token; -EBADMSG when a field is missing or mistyped. */
static int parse_state(struct json_object *o, const char *base_url, const char *name, struct token *out)
{
	struct token t = { 0 };
	const char *s, *acct_url, *acct_name;
	int64_t v;
	int r = -ENOMEM;

	if (!json_object_is_type(o, json_type_object) || !get_int(o, "version", &v) || v != STATEFILE_VERSION)
		return -EBADMSG;
	acct_url = get_string(o, "baseURL");
	acct_name = get_string(o, "account");
	if (!acct_url || !acct_name || !get_int(o, "generation", &v) || v < 0)
		return -EBADMSG;
	t.generation = (uint64_t)v;
	if (strcmp(acct_url, base_url) != 0 || strcmp(acct_name, name) != 0)
		return -ESTALE;

	s = get_string(o, "accessToken");
	if (s) {
		if (!*s || !get_int(o, "expirationUsec", &v) || v <= 0)
			return -EBADMSG;
		t.expiration = (usec_t)v;
		if (dup_opt(s, &t.access_token) < 0 ||
		    dup_opt(get_string(o, "mdAccessToken"), &t.md_access_token) < 0 ||
		    dup_opt(get_string(o, "name"), &t.name) < 0)
			goto fail;
		if (get_int(o, "userId", &v)) {
			t.user_id = v;
			t.has_user_id = true;
		}
	}
	*out = t;
	return 0;
fail:
	token_clear(&t);
	return r;
}

/* Read the token saved for this account. */
int statefile_read(const char *path, const char *base_url, const char *name, struct token *t)
{
	struct json_tokener *tok;
	struct json_object *o;
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_all(path, &buf, &len);
	if (r < 0)
		return r;
	tok = json_tokener_new();
	if (!tok) {
		explicit_bzero(buf, len);
		free(buf);
		return -ENOMEM;
	}
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)
		r = -EBADMSG;
	else
		r = parse_state(o, base_url, name, t);
	json_tokener_free(tok);
	wipe_tokens(o);
	json_object_put(o);
	explicit_bzero(buf, len);
	free(buf);
	return r;
}

/* Serialise; the returned text holds the token: the caller wipes it. */
static char *serialise(const char *base_url, const char *name, const struct token *t, uint64_t generation)
{
	struct json_object *o = json_object_new_object();
	char exp[TIME_RFC3339_MAX];
	char *text = NULL;
	const char *s;

	if (!o)
		return NULL;
	json_object_object_add(o, "version", json_object_new_int(STATEFILE_VERSION));
	json_object_object_add(o, "baseURL", json_object_new_string(base_url));
	json_object_object_add(o, "account", json_object_new_string(name));
	json_object_object_add(o, "generation", json_object_new_int64((int64_t)generation));
	if (t && t->access_token) {
		json_object_object_add(o, "accessToken", json_object_new_string(t->access_token));
		if (t->md_access_token)
			json_object_object_add(o, "mdAccessToken", json_object_new_string(t->md_access_token));
		json_object_object_add(o, "expirationUsec", json_object_new_int64((int64_t)t->expiration));
		json_object_object_add(o, "expirationTime",
				       json_object_new_string(time_format_rfc3339(t->expiration, exp)));
		if (t->has_user_id)
			json_object_object_add(o, "userId", json_object_new_int64(t->user_id));
		if (t->name)
			json_object_object_add(o, "name", json_object_new_string(t->name));
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (s)
		text = strdup(s);
	/* json-c keeps its own copy of the text in the object: wipe it before freeing. */
	if (s)
		explicit_bzero((char *)s, strlen(s));
	wipe_tokens(o);
	json_object_put(o);
	return text;
}

/* Write all of buf to fd. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory holding path, so the rename survives a crash. */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Replace path with the new state, atomically. */
int statefile_write(const char *path, const char *base_url, const char *name, const struct token *t,
		    uint64_t generation)
{
	char *text, *tmp;
	size_t len;
	int fd, r;

	text = serialise(base_url, name, t, generation);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		explicit_bzero(text, len);
		free(text);
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = 0;
	if (fchmod(fd, 0600) < 0)
		r = -errno;
	if (r == 0)
		r = write_all(fd, text, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	else
		sync_dir(path);
out:
	explicit_bzero(text, len);
	free(text);
	free(tmp);
	return r;
}
