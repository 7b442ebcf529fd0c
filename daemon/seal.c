/* SPDX-License-Identifier: MIT */
/*
 * Sealing values with AES-256-GCM (OpenSSL's libcrypto), the key derived by
 * HKDF-SHA256 from the Tradovate password and API secret (see seal.h).
 *
 * Why these choices. Every broker of an account already holds the password
 * and the secret, and nothing else they share is secret, so the key comes
 * from them; the API secret is a long random string, which gives the key its
 * strength (HKDF does not stretch a weak password). Both are framed with
 * their lengths so that no two different pairs give the same input. The
 * account (BaseURL, Name) and the election go into the salt, so the same
 * credentials used for another election or account give an unrelated key.
 * A fresh random 96-bit nonce per value: a broker seals a few values an hour,
 * so the birthday bound of random nonces is never approached. The key id in
 * the header tells "sealed with another key" (an operator's misconfiguration)
 * apart from "tampered with" (an attack or corruption) without weakening
 * anything: it is a separate output of the same HKDF.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "seal.h"

#define SEAL_KEY_LEN 32
#define SEAL_INFO "tvtokend seal v1"

struct seal_key {
	uint8_t key[SEAL_KEY_LEN];
	uint8_t id[SEAL_KEY_ID_LEN];
};

/* Append be32(len) and the bytes of s to buf at *pos (buf is big enough). */
static void
seal_frame(uint8_t *buf, size_t *pos, const char *s, size_t len)
{
	buf[(*pos)++] = (uint8_t)(len >> 24);
	buf[(*pos)++] = (uint8_t)(len >> 16);
	buf[(*pos)++] = (uint8_t)(len >> 8);
	buf[(*pos)++] = (uint8_t)len;
	memcpy(buf + *pos, s, len);
	*pos += len;
}

/* Whether s is a usable input: present, not empty, not too long. */
static bool
seal_input_ok(const char *s, size_t *len)
{
	if (s == NULL)
		return false;
	*len = strnlen(s, SEAL_MAX_INPUT + 1);
	return *len > 0 && *len <= SEAL_MAX_INPUT;
}

/* Run HKDF-SHA256 over ikm with salt and SEAL_INFO into out (out_len bytes). */
static int
seal_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
    uint8_t *out, size_t out_len)
{
	OSSL_PARAM params[5], *p = params;
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int ok;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf == NULL)
		return -EIO;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return -ENOMEM;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)SEAL_INFO,
	    strlen(SEAL_INFO));
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, out_len, params);
	EVP_KDF_CTX_free(kctx);
	return ok == 1 ? 0 : -EIO;
}

/* Derive the AES key and its id from the framed credentials, salted with account and election. */
int
seal_key_derive(const char *password, const char *secret, const char *base_url,
    const char *name, const char *election, struct seal_key **out)
{
	size_t lp, ls, lu, ln, le, ikm_len = 0, salt_len = 0;
	uint8_t *ikm = NULL, *salt = NULL, okm[SEAL_KEY_LEN + SEAL_KEY_ID_LEN];
	struct seal_key *k = NULL;
	int r;

	if (out == NULL || !seal_input_ok(password, &lp) || !seal_input_ok(secret, &ls) ||
	    !seal_input_ok(base_url, &lu) || !seal_input_ok(name, &ln) ||
	    !seal_input_ok(election, &le))
		return -EINVAL;
	ikm = malloc(8 + lp + ls);
	salt = malloc(12 + lu + ln + le);
	k = calloc(1, sizeof(*k));
	if (ikm == NULL || salt == NULL || k == NULL) {
		r = -ENOMEM;
		goto out;
	}
	seal_frame(ikm, &ikm_len, password, lp);
	seal_frame(ikm, &ikm_len, secret, ls);
	seal_frame(salt, &salt_len, base_url, lu);
	seal_frame(salt, &salt_len, name, ln);
	seal_frame(salt, &salt_len, election, le);
	r = seal_hkdf(ikm, ikm_len, salt, salt_len, okm, sizeof(okm));
	if (r == 0) {
		memcpy(k->key, okm, SEAL_KEY_LEN);
		memcpy(k->id, okm + SEAL_KEY_LEN, SEAL_KEY_ID_LEN);
		*out = k;
		k = NULL;
	}
out:
	OPENSSL_cleanse(okm, sizeof(okm));
	if (ikm != NULL) {
		OPENSSL_cleanse(ikm, 8 + lp + ls);
		free(ikm);
	}
	free(salt);
	seal_key_free(k);
	return r;
}

/* Wipe and free a key. */
void
seal_key_free(struct seal_key *k)
{
	if (k == NULL)
		return;
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* The key id, a second HKDF output that reveals nothing of the key. */
const uint8_t *
seal_key_id(const struct seal_key *k)
{
	return k->id;
}

/* Run AES-256-GCM one way over in (len bytes) with header+context as AAD. */
static int
seal_gcm(bool encrypt, const struct seal_key *k, const uint8_t *header,
    const char *context, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, ok;

	if (len > SEAL_MAX_PLAINTEXT)
		return -EINVAL;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, k->key, header + SEAL_HEADER_LEN -
	    SEAL_NONCE_LEN, encrypt) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &n, header, SEAL_HEADER_LEN) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)context,
	    (int)strlen(context)) == 1;
	if (ok && len > 0)
		ok = EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len;
	if (ok && !encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) == 1;
	if (!ok) {
		EVP_CIPHER_CTX_free(ctx);
		return -EIO;
	}
	/* Decrypting, a failed final means the tag did not match. */
	ok = EVP_CipherFinal_ex(ctx, out + len, &n) == 1;
	if (ok && encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return encrypt ? -EIO : -EBADMSG;
	return 0;
}

/* Seal plain for context under a fresh random nonce. */
int
seal_value(const struct seal_key *k, const char *context, const uint8_t *plain,
    size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *v;
	int r;

	if (k == NULL || context == NULL || out == NULL || out_len == NULL ||
	    (plain == NULL && len > 0) || len > SEAL_MAX_PLAINTEXT ||
	    strnlen(context, SEAL_MAX_INPUT + 1) > SEAL_MAX_INPUT)
		return -EINVAL;
	/* One spare byte: GCM's final writes nothing, but never past the end. */
	v = malloc(SEAL_OVERHEAD + len + 1);
	if (v == NULL)
		return -ENOMEM;
	memcpy(v, SEAL_MAGIC, 3);
	v[3] = SEAL_VERSION;
	memcpy(v + 4, k->id, SEAL_KEY_ID_LEN);
	if (RAND_bytes(v + 4 + SEAL_KEY_ID_LEN, SEAL_NONCE_LEN) != 1) {
		free(v);
		return -EIO;
	}
	r = seal_gcm(true, k, v, context, plain, len, v + SEAL_HEADER_LEN,
	    v + SEAL_HEADER_LEN + len);
	if (r < 0) {
		OPENSSL_cleanse(v, SEAL_OVERHEAD + len + 1);
		free(v);
		return r;
	}
	*out = v;
	*out_len = SEAL_OVERHEAD + len;
	return 0;
}

/* Check the header, then open and authenticate a sealed value. */
int
seal_open(const struct seal_key *k, const char *context, const uint8_t *in,
    size_t len, uint8_t **plain, size_t *plain_len)
{
	uint8_t tag[SEAL_TAG_LEN], *p;
	size_t n;
	int r;

	if (k == NULL || context == NULL || plain == NULL || plain_len == NULL ||
	    (in == NULL && len > 0) || strnlen(context, SEAL_MAX_INPUT + 1) > SEAL_MAX_INPUT)
		return -EINVAL;
	if (len < SEAL_OVERHEAD || len - SEAL_OVERHEAD > SEAL_MAX_PLAINTEXT)
		return -EMSGSIZE;
	if (memcmp(in, SEAL_MAGIC, 3) != 0)
		return -EPROTO;
	if (in[3] != SEAL_VERSION)
		return -EPROTONOSUPPORT;
	if (CRYPTO_memcmp(in + 4, k->id, SEAL_KEY_ID_LEN) != 0)
		return -EKEYREJECTED;
	n = len - SEAL_OVERHEAD;
	/* Room for GCM's (empty) final output and a NUL. */
	p = malloc(n + 1);
	if (p == NULL)
		return -ENOMEM;
	memcpy(tag, in + len - SEAL_TAG_LEN, SEAL_TAG_LEN);
	r = seal_gcm(false, k, in, context, in + SEAL_HEADER_LEN, n, p, tag);
	if (r < 0) {
		seal_plain_free(p, n + 1);
		return r;
	}
	p[n] = '\0';
	*plain = p;
	*plain_len = n;
	return 0;
}

/* Wipe and free an opened plaintext. */
void
seal_plain_free(uint8_t *plain, size_t len)
{
	if (plain == NULL)
		return;
	OPENSSL_cleanse(plain, len);
	free(plain);
}

/* A short text for a seal_open error. */
const char *
seal_strerror(int r)
{
	switch (r) {
	case 0:
		return "ok";
	case -EMSGSIZE:
		return "truncated or oversized sealed value";
	case -EPROTO:
		return "not a sealed value";
	case -EPROTONOSUPPORT:
		return "sealed value of an unknown version";
	case -EKEYREJECTED:
		return "sealed with another key (the credentials, account or election differ)";
	case -EBADMSG:
		return "sealed value does not authenticate (tampered with or moved)";
	case -ENOMEM:
		return "out of memory";
	case -EINVAL:
		return "invalid arguments";
	default:
		return "cryptography failed";
	}
}
