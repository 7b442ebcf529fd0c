/* SPDX-License-Identifier: MIT */
/*
 * seal: the value format, the key derivation, and every way a value can fail
 * to open. The known answers were computed apart from this code, with
 * Debian's /usr/bin/python3: HKDF by hand from hmac/hashlib, AES-GCM with the
 * "cryptography" package:
 *
 *   fr = lambda *xs: b''.join(struct.pack('>I', len(x)) + x for x in xs)
 *   prk = hmac.new(salt, ikm, sha256).digest(); T(i) = hmac(prk, T(i-1) + info + [i])
 *   okm = hkdf(fr(b'hunter2', b'0123456789abcdef-sec'),
 *              fr(b'https://demo.tradovateapi.com/v1', b'alice', b'tvtokend/alice'),
 *              b'tvtokend seal v1', 40)
 *   key, kid = okm[:32], okm[32:]; nonce = bytes(range(12)); hdr = b'TVS\x01' + kid + nonce
 *   value = hdr + AESGCM(key).encrypt(nonce, b'hello cluster', hdr + b'tvtokend/alice/leader')
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "seal.h"

#define PASSWORD "hunter2"
#define SECRET "0123456789abcdef-sec"
#define BASE_URL "https://demo.tradovateapi.com/v1"
#define NAME "alice"
#define ELECTION "tvtokend/alice"
#define CONTEXT "tvtokend/alice/leader"

static const uint8_t kat_key_id[] = { 0x7d, 0x8e, 0x05, 0x24, 0x55, 0x2a, 0x2d, 0x7f };

static const char kat_value_hex[] =
    "545653017d8e0524552a2d7f000102030405060708090a0bb6b252add7cdddfd"
    "7c9e16ccae931d26b3953cfa46f0b197671b369d03";

/* Decode the hex of the known answer. */
static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* The key of the known answer. */
static struct seal_key *
kat_key(void)
{
	struct seal_key *k = NULL;

	assert_int_equal(seal_key_derive(PASSWORD, SECRET, BASE_URL, NAME, ELECTION, &k), 0);
	assert_non_null(k);
	return k;
}

/* Seal text for CONTEXT with k. */
static uint8_t *
seal_text(const struct seal_key *k, const char *text, size_t *len)
{
	uint8_t *v = NULL;

	assert_int_equal(seal_value(k, CONTEXT, (const uint8_t *)text, strlen(text), &v, len), 0);
	return v;
}

/* What seal_open says about v (len bytes) under k and CONTEXT. */
static int
open_result(const struct seal_key *k, const uint8_t *v, size_t len)
{
	uint8_t *plain = (uint8_t *)"untouched";
	size_t plain_len = 12345;
	int r;

	r = seal_open(k, CONTEXT, v, len, &plain, &plain_len);
	if (r == 0) {
		seal_plain_free(plain, plain_len);
	} else {
		/* Outputs stay untouched on failure. */
		assert_string_equal((char *)plain, "untouched");
		assert_int_equal(plain_len, 12345);
	}
	return r;
}

static void
derived_key_id_matches_the_independent_hkdf(void **state)
{
	struct seal_key *k = kat_key();

	assert_memory_equal(seal_key_id(k), kat_key_id, sizeof(kat_key_id));
	seal_key_free(k);
}

static void
value_sealed_elsewhere_opens_to_its_plaintext(void **state)
{
	struct seal_key *k = kat_key();
	uint8_t v[256], *plain = NULL;
	size_t len = unhex(kat_value_hex, v, sizeof(v)), plain_len = 0;

	assert_int_equal(seal_open(k, CONTEXT, v, len, &plain, &plain_len), 0);
	assert_int_equal(plain_len, strlen("hello cluster"));
	assert_memory_equal(plain, "hello cluster", plain_len);
	assert_int_equal(plain[plain_len], '\0');
	seal_plain_free(plain, plain_len);
	seal_key_free(k);
}

static void
sealed_value_has_the_documented_layout(void **state)
{
	struct seal_key *k = kat_key();
	size_t len = 0;
	uint8_t *v = seal_text(k, "hello cluster", &len);

	assert_int_equal(len, SEAL_OVERHEAD + strlen("hello cluster"));
	assert_memory_equal(v, "TVS", 3);
	assert_int_equal(v[3], 1);
	assert_memory_equal(v + 4, kat_key_id, SEAL_KEY_ID_LEN);
	free(v);
	seal_key_free(k);
}

static void
seal_then_open_gives_back_the_plaintext(void **state)
{
	static const char *const texts[] = { "", "x", "hello cluster",
	    "{\"token\":\"AT-secret\",\"generation\":7}" };
	struct seal_key *k = kat_key();

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = 0, plain_len = 0;
		uint8_t *v = seal_text(k, texts[i], &len), *plain = NULL;

		assert_int_equal(seal_open(k, CONTEXT, v, len, &plain, &plain_len), 0);
		assert_int_equal(plain_len, strlen(texts[i]));
		assert_memory_equal(plain, texts[i], plain_len);
		seal_plain_free(plain, plain_len);
		free(v);
	}
	seal_key_free(k);
}

static void
largest_plaintext_seals_and_one_byte_more_does_not(void **state)
{
	struct seal_key *k = kat_key();
	uint8_t *big = calloc(1, SEAL_MAX_PLAINTEXT + 1), *v = NULL, *plain = NULL;
	size_t len = 0, plain_len = 0;

	assert_non_null(big);
	assert_int_equal(seal_value(k, CONTEXT, big, SEAL_MAX_PLAINTEXT, &v, &len), 0);
	assert_int_equal(seal_open(k, CONTEXT, v, len, &plain, &plain_len), 0);
	assert_int_equal(plain_len, SEAL_MAX_PLAINTEXT);
	seal_plain_free(plain, plain_len);
	free(v);
	v = NULL;
	assert_int_equal(seal_value(k, CONTEXT, big, SEAL_MAX_PLAINTEXT + 1, &v, &len), -EINVAL);
	assert_null(v);
	free(big);
	seal_key_free(k);
}

static void
each_value_gets_a_fresh_nonce(void **state)
{
	struct seal_key *k = kat_key();
	size_t a_len = 0, b_len = 0;
	uint8_t *a = seal_text(k, "same text", &a_len), *b = seal_text(k, "same text", &b_len);

	assert_int_equal(a_len, b_len);
	assert_memory_not_equal(a + SEAL_HEADER_LEN - SEAL_NONCE_LEN,
	    b + SEAL_HEADER_LEN - SEAL_NONCE_LEN, SEAL_NONCE_LEN);
	assert_memory_not_equal(a + SEAL_HEADER_LEN, b + SEAL_HEADER_LEN, a_len - SEAL_HEADER_LEN);
	free(a);
	free(b);
	seal_key_free(k);
}

static void
sealed_value_does_not_contain_the_plaintext(void **state)
{
	static const char marker[] = "PLAINTEXT-MARKER-0123456789";
	struct seal_key *k = kat_key();
	size_t len = 0;
	uint8_t *v = seal_text(k, marker, &len);

	assert_null(memmem(v, len, marker, 8));
	assert_null(memmem(v, len, PASSWORD, strlen(PASSWORD)));
	assert_null(memmem(v, len, SECRET, strlen(SECRET)));
	free(v);
	seal_key_free(k);
}

static void
any_flipped_bit_after_the_key_id_fails_to_authenticate(void **state)
{
	struct seal_key *k = kat_key();
	size_t len = 0;
	uint8_t *v = seal_text(k, "hello cluster", &len);

	for (size_t i = 4 + SEAL_KEY_ID_LEN; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			v[i] ^= (uint8_t)(1 << bit);
			if (open_result(k, v, len) != -EBADMSG)
				fail_msg("byte %zu bit %d: not -EBADMSG", i, bit);
			v[i] ^= (uint8_t)(1 << bit);
		}
	}
	assert_int_equal(open_result(k, v, len), 0);
	free(v);
	seal_key_free(k);
}

static void
value_shorter_than_its_overhead_is_truncated(void **state)
{
	struct seal_key *k = kat_key();
	size_t len = 0;
	uint8_t *v = seal_text(k, "", &len);

	assert_int_equal(len, SEAL_OVERHEAD);
	for (size_t n = 0; n < SEAL_OVERHEAD; n++)
		assert_int_equal(open_result(k, v, n), -EMSGSIZE);
	assert_int_equal(open_result(k, NULL, 0), -EMSGSIZE);
	free(v);
	seal_key_free(k);
}

static void
value_cut_short_of_its_tag_fails_to_authenticate(void **state)
{
	struct seal_key *k = kat_key();
	size_t len = 0;
	uint8_t *v = seal_text(k, "hello cluster", &len);

	for (size_t n = SEAL_OVERHEAD; n < len; n++)
		assert_int_equal(open_result(k, v, n), -EBADMSG);
	free(v);
	seal_key_free(k);
}

static void
value_longer_than_the_largest_is_refused_unread(void **state)
{
	struct seal_key *k = kat_key();
	size_t len = SEAL_OVERHEAD + SEAL_MAX_PLAINTEXT + 1;
	uint8_t *v = calloc(1, len);

	assert_non_null(v);
	memcpy(v, "TVS\x01", 4);
	assert_int_equal(open_result(k, v, len), -EMSGSIZE);
	free(v);
	seal_key_free(k);
}

static void
value_without_the_magic_is_not_a_sealed_value(void **state)
{
	struct seal_key *k = kat_key();
	size_t len = 0;
	uint8_t *v = seal_text(k, "hello cluster", &len);

	v[0] = 't';
	assert_int_equal(open_result(k, v, len), -EPROTO);
	free(v);
	seal_key_free(k);
}

static void
value_of_another_version_is_refused(void **state)
{
	struct seal_key *k = kat_key();
	size_t len = 0;
	uint8_t *v = seal_text(k, "hello cluster", &len);

	v[3] = 2;
	assert_int_equal(open_result(k, v, len), -EPROTONOSUPPORT);
	v[3] = 0;
	assert_int_equal(open_result(k, v, len), -EPROTONOSUPPORT);
	free(v);
	seal_key_free(k);
}

static void
value_sealed_with_other_credentials_or_binding_is_another_key(void **state)
{
	static const char *const other[][5] = {
		{ "hunter3", SECRET, BASE_URL, NAME, ELECTION },
		{ PASSWORD, "0123456789abcdef-seC", BASE_URL, NAME, ELECTION },
		{ PASSWORD, SECRET, "https://live.tradovateapi.com/v1", NAME, ELECTION },
		{ PASSWORD, SECRET, BASE_URL, "bob", ELECTION },
		{ PASSWORD, SECRET, BASE_URL, NAME, "tvtokend/alice2" },
	};
	struct seal_key *k = kat_key();
	size_t len = 0;
	uint8_t *v = seal_text(k, "hello cluster", &len);

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		struct seal_key *o = NULL;

		assert_int_equal(seal_key_derive(other[i][0], other[i][1], other[i][2],
		    other[i][3], other[i][4], &o), 0);
		if (open_result(o, v, len) != -EKEYREJECTED)
			fail_msg("variant %zu opened or failed otherwise", i);
		seal_key_free(o);
	}
	free(v);
	seal_key_free(k);
}

static void
same_key_id_with_a_forged_header_still_fails_to_authenticate(void **state)
{
	struct seal_key *k = kat_key(), *o = NULL;
	size_t len = 0;
	uint8_t *v;

	assert_int_equal(seal_key_derive("hunter3", SECRET, BASE_URL, NAME, ELECTION, &o), 0);
	v = seal_text(o, "hello cluster", &len);
	/* An attacker may copy our key id into their value: the tag still decides. */
	memcpy(v + 4, seal_key_id(k), SEAL_KEY_ID_LEN);
	assert_int_equal(open_result(k, v, len), -EBADMSG);
	free(v);
	seal_key_free(o);
	seal_key_free(k);
}

static void
value_moved_to_another_context_fails_to_authenticate(void **state)
{
	struct seal_key *k = kat_key();
	size_t len = 0, plain_len = 0;
	uint8_t *v = seal_text(k, "hello cluster", &len), *plain = NULL;

	assert_int_equal(seal_open(k, "tvtokend/alice/reports", v, len, &plain, &plain_len),
	    -EBADMSG);
	assert_null(plain);
	free(v);
	seal_key_free(k);
}

static void
credentials_are_framed_so_moving_a_byte_changes_the_key(void **state)
{
	struct seal_key *a = NULL, *b = NULL, *c = NULL;

	assert_int_equal(seal_key_derive("ab", "c", BASE_URL, NAME, ELECTION, &a), 0);
	assert_int_equal(seal_key_derive("a", "bc", BASE_URL, NAME, ELECTION, &b), 0);
	assert_int_equal(seal_key_derive(PASSWORD, SECRET, BASE_URL, "alic", "etvtokend/alice",
	    &c), 0);
	assert_memory_not_equal(seal_key_id(a), seal_key_id(b), SEAL_KEY_ID_LEN);
	{
		struct seal_key *k = kat_key();

		assert_memory_not_equal(seal_key_id(c), seal_key_id(k), SEAL_KEY_ID_LEN);
		seal_key_free(k);
	}
	seal_key_free(a);
	seal_key_free(b);
	seal_key_free(c);
}

static void
derive_refuses_missing_empty_or_oversized_inputs(void **state)
{
	char *big = malloc(SEAL_MAX_INPUT + 2);
	struct seal_key *k = NULL;

	assert_non_null(big);
	memset(big, 'x', SEAL_MAX_INPUT + 1);
	big[SEAL_MAX_INPUT + 1] = '\0';
	assert_int_equal(seal_key_derive(NULL, SECRET, BASE_URL, NAME, ELECTION, &k), -EINVAL);
	assert_int_equal(seal_key_derive(PASSWORD, "", BASE_URL, NAME, ELECTION, &k), -EINVAL);
	assert_int_equal(seal_key_derive(PASSWORD, SECRET, NULL, NAME, ELECTION, &k), -EINVAL);
	assert_int_equal(seal_key_derive(PASSWORD, SECRET, BASE_URL, "", ELECTION, &k), -EINVAL);
	assert_int_equal(seal_key_derive(PASSWORD, SECRET, BASE_URL, NAME, NULL, &k), -EINVAL);
	assert_int_equal(seal_key_derive(big, SECRET, BASE_URL, NAME, ELECTION, &k), -EINVAL);
	assert_null(k);
	big[SEAL_MAX_INPUT] = '\0';
	assert_int_equal(seal_key_derive(big, SECRET, BASE_URL, NAME, ELECTION, &k), 0);
	seal_key_free(k);
	free(big);
}

static void
every_open_error_has_its_own_text(void **state)
{
	static const int errs[] = { -EMSGSIZE, -EPROTO, -EPROTONOSUPPORT, -EKEYREJECTED,
	    -EBADMSG };

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		for (size_t j = i + 1; j < sizeof(errs) / sizeof(errs[0]); j++)
			assert_string_not_equal(seal_strerror(errs[i]), seal_strerror(errs[j]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(derived_key_id_matches_the_independent_hkdf),
		cmocka_unit_test(value_sealed_elsewhere_opens_to_its_plaintext),
		cmocka_unit_test(sealed_value_has_the_documented_layout),
		cmocka_unit_test(seal_then_open_gives_back_the_plaintext),
		cmocka_unit_test(largest_plaintext_seals_and_one_byte_more_does_not),
		cmocka_unit_test(each_value_gets_a_fresh_nonce),
		cmocka_unit_test(sealed_value_does_not_contain_the_plaintext),
		cmocka_unit_test(any_flipped_bit_after_the_key_id_fails_to_authenticate),
		cmocka_unit_test(value_shorter_than_its_overhead_is_truncated),
		cmocka_unit_test(value_cut_short_of_its_tag_fails_to_authenticate),
		cmocka_unit_test(value_longer_than_the_largest_is_refused_unread),
		cmocka_unit_test(value_without_the_magic_is_not_a_sealed_value),
		cmocka_unit_test(value_of_another_version_is_refused),
		cmocka_unit_test(value_sealed_with_other_credentials_or_binding_is_another_key),
		cmocka_unit_test(same_key_id_with_a_forged_header_still_fails_to_authenticate),
		cmocka_unit_test(value_moved_to_another_context_fails_to_authenticate),
		cmocka_unit_test(credentials_are_framed_so_moving_a_byte_changes_the_key),
		cmocka_unit_test(derive_refuses_missing_empty_or_oversized_inputs),
		cmocka_unit_test(every_open_error_has_its_own_text),
	};

	return cmocka_run_group_tests_name("seal", tests, NULL, NULL);
}
