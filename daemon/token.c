/* SPDX-License-Identifier: MIT */
/*
 * The access token the broker holds: deep copies, inheritance of the fields a
 * renewal reply may leave out, and wiping. Every string here may be a secret.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

/* Free a string that may hold a secret: wipe it first. */
void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Compare two secrets without letting the time taken depend on where they differ. */
bool
secret_equal(const char *a, const char *b)
{
	size_t la, lb;
	volatile unsigned char diff;

	if (a == NULL || b == NULL)
		return a == b;
	la = strlen(a);
	lb = strlen(b);
	diff = la != lb;
	/* Walk all of a whatever happens; b is read up to its own end only. */
	for (size_t i = 0; i < la; i++) {
		unsigned char cb = i < lb ? (unsigned char)b[i] : 0;

		diff |= (unsigned char)a[i] ^ cb;
	}
	return diff == 0;
}

/* Wipe every string with explicit_bzero, free it, zero the struct. */
void
token_clear(struct token *t)
{
	if (t == NULL)
		return;
	secret_free(t->access_token);
	secret_free(t->md_access_token);
	secret_free(t->name);
	explicit_bzero(t, sizeof(*t));
}

/* strdup that maps NULL to NULL; *ok turns false when memory runs out. */
char *
secret_strdup(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*ok = false;
	return d;
}

/* Deep copy src into dst; -ENOMEM leaves dst untouched. */
int
token_copy(struct token *dst, const struct token *src)
{
	struct token t = *src;
	bool ok = true;

	t.access_token = secret_strdup(src->access_token, &ok);
	t.md_access_token = secret_strdup(src->md_access_token, &ok);
	t.name = secret_strdup(src->name, &ok);
	if (!ok) {
		token_clear(&t);
		return -ENOMEM;
	}
	*dst = t;
	return 0;
}

/* Fill what a renewal reply left out (md token, user id, name) from old. */
int
token_inherit(struct token *renewed, const struct token *old)
{
	char *md = NULL, *name = NULL;
	bool ok = true;

	if (renewed->md_access_token == NULL)
		md = secret_strdup(old->md_access_token, &ok);
	if (renewed->name == NULL)
		name = secret_strdup(old->name, &ok);
	if (!ok) {
		secret_free(md);
		secret_free(name);
		return -ENOMEM;
	}
	if (md != NULL)
		renewed->md_access_token = md;
	if (name != NULL)
		renewed->name = name;
	if (!renewed->has_user_id && old->has_user_id) {
		renewed->user_id = old->user_id;
		renewed->has_user_id = true;
	}
	return 0;
}

/* One b64token character (RFC 6750 section 2.1), "=" aside. */
static bool
token_char_valid(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* Whether s (len bytes) is a b64token no longer than TOKEN_MAX_LEN. */
bool
token_text_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (s == NULL || len == 0 || len > TOKEN_MAX_LEN)
		return false;
	while (i < len && token_char_valid((unsigned char)s[i]))
		i++;
	if (i == 0)
		return false;
	while (i < len && s[i] == '=')
		i++;
	return i == len;
}

/* Whether s (len bytes) is well-formed UTF-8 without control characters, 1 to TOKEN_NAME_MAX bytes. */
bool
token_name_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	if (s == NULL || len == 0 || len > TOKEN_NAME_MAX)
		return false;
	while (p < end) {
		unsigned char c = *p;
		uint32_t cp;
		size_t n, i;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if ((size_t)(end - p) <= n)
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode; C1 controls too. */
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
		p += n + 1;
	}
	return true;
}

/* Whether a held token's strings can go back to Tradovate and to clients as they are. */
bool
token_valid(const struct token *t)
{
	if (t->access_token == NULL ||
	    !token_text_valid(t->access_token, strlen(t->access_token)))
		return false;
	return t->md_access_token == NULL ||
	    token_text_valid(t->md_access_token, strlen(t->md_access_token));
}
