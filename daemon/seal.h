/* SPDX-License-Identifier: MIT */
/*
 * Sealing the values brokers exchange through etcd: AES-256-GCM with a key
 * derived (HKDF-SHA256) from the Tradovate credentials every broker of the
 * account holds, bound to the account and the election, so that neither
 * etcd's data nor its operators can read a value, and a value of another
 * account or election never opens.
 *
 * A sealed value (SEAL_OVERHEAD bytes more than the plaintext):
 *   "TVS" | version 0x01 | key id (8) | nonce (12) | ciphertext | tag (16)
 * The additional authenticated data is the 24-byte header (magic, version,
 * key id, nonce) followed by the context, a text naming the value's place
 * (e.g. the election name), so a value moved to another place never opens.
 */
#ifndef TVTOKEND_SEAL_H
#define TVTOKEND_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_MAGIC "TVS"
#define SEAL_VERSION 1
#define SEAL_KEY_ID_LEN 8
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_HEADER_LEN (3 + 1 + SEAL_KEY_ID_LEN + SEAL_NONCE_LEN)
#define SEAL_OVERHEAD (SEAL_HEADER_LEN + SEAL_TAG_LEN)
/* Largest plaintext sealed or opened. */
#define SEAL_MAX_PLAINTEXT (64 * 1024)
/* Longest secret, binding or context text taken. */
#define SEAL_MAX_INPUT 4096

struct seal_key;

/*
 * Derive the key: IKM = be32(len) password | be32(len) secret,
 * salt = "tvtokend seal v1", info = be32(len) base_url | be32(len) name |
 * be32(len) election; 40 bytes out: the AES key (32), then the key id (8).
 * 0, -EINVAL (an input missing or longer than SEAL_MAX_INPUT), -ENOMEM, -EIO (libcrypto).
 */
int seal_key_derive(const char *password, const char *secret, const char *base_url,
    const char *name, const char *election, struct seal_key **out);

/* Wipe and free; NULL-safe. */
void seal_key_free(struct seal_key *k);

/* The key id (SEAL_KEY_ID_LEN bytes), for tests and logs: it reveals nothing of the key. */
const uint8_t *seal_key_id(const struct seal_key *k);

/*
 * Seal len bytes of plain for context with a fresh random nonce. *out is
 * malloc'd (free it with free(); it holds no secret). 0 or -EINVAL
 * (too long, no context), -ENOMEM, -EIO.
 */
int seal_value(const struct seal_key *k, const char *context, const uint8_t *plain,
    size_t len, uint8_t **out, size_t *out_len);

/*
 * Open a sealed value for context. *plain is malloc'd with a NUL after its
 * *plain_len bytes; the caller wipes it (seal_plain_free). On failure, a
 * distinct error that the caller logs:
 *   -EMSGSIZE         shorter than SEAL_OVERHEAD (truncated) or too long
 *   -EPROTO           not a sealed value (magic)
 *   -EPROTONOSUPPORT  a version this build does not know
 *   -EKEYREJECTED     sealed with another key (other credentials, account or election)
 *   -EBADMSG          the right key but it does not authenticate (tampered, other context)
 *   -ENOMEM, -EIO, -EINVAL
 */
int seal_open(const struct seal_key *k, const char *context, const uint8_t *in,
    size_t len, uint8_t **plain, size_t *plain_len);

/* Wipe len bytes of plain and free it; NULL-safe. */
void seal_plain_free(uint8_t *plain, size_t len);

/* A short text for a seal_open error, for logs. */
const char *seal_strerror(int r);

#endif
