/* Unit tests for src/salesforce/auth: JWT assembly verified with OpenSSL
 * against the test certificate, key loading, token response parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "salesforce/auth.h"

#define KEY_PATH FIXTURES_DIR "/keys/sf_jwt_private.pem"
#define CERT_PATH FIXTURES_DIR "/keys/sf_jwt_cert.pem"

static size_t b64url_decode(const char *in, size_t n, unsigned char *out)
{
	char tmp[4096] = { 0 };
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		tmp[m++] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	while (m % 4)
		tmp[m++] = '=';
	int len = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)m);
	assert_true(len >= 0);
	size_t pad = 0;
	for (size_t i = m; i > 0 && tmp[i - 1] == '='; i--)
		pad++;
	out[len - pad] = '\0';
	return (size_t)len - pad;
}

static void test_jwt_verifies(void **state)
{
	struct pt_err e = { 0 };
	EVP_PKEY *key = sf_auth_load_key(NULL, NULL, KEY_PATH, &e);
	struct buf jwt;
	(void)state;
	assert_non_null(key);
	buf_init(&jwt, 0);
	assert_int_equal(sf_auth_jwt(key, "client\"id", "integration@portal.example.test",
		"http://127.0.0.1:18081", 1900000000L, &jwt, &e), 0);
	const char *s = buf_cstr(&jwt);
	const char *d1 = strchr(s, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	assert_non_null(d2);
	assert_null(strchr(s, '='));
	assert_null(strchr(s, '+'));
	assert_null(strchr(s, '/'));
	unsigned char part[4096];
	b64url_decode(s, (size_t)(d1 - s), part);
	assert_string_equal((char *)part, "{\"alg\":\"RS256\"}");
	b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), part);
	assert_string_equal((char *)part, "{\"iss\":\"client\\\"id\",\"sub\":\"integration@portal.example.test\","
		"\"aud\":\"http://127.0.0.1:18081\",\"exp\":1900000000}");
	/* verify the signature with the certificate's public key */
	FILE *f = fopen(CERT_PATH, "r");
	assert_non_null(f);
	X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(cert);
	EVP_PKEY *pub = X509_get_pubkey(cert);
	unsigned char sig[1024];
	size_t siglen = b64url_decode(d2 + 1, strlen(d2 + 1), sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)s, (size_t)(d2 - s)), 1);
	/* a changed claim no longer verifies */
	EVP_MD_CTX_reset(ctx);
	char *tampered = strdup(s);
	tampered[(d1 - s) + 3] ^= 1;
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_not_equal(EVP_DigestVerify(ctx, sig, siglen, (unsigned char *)tampered, (size_t)(d2 - s)), 1);
	free(tampered);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	X509_free(cert);
	EVP_PKEY_free(key);
	buf_free(&jwt);
}

static void test_key_loading(void **state)
{
	struct pt_err e = { 0 };
	(void)state;
	/* base64 of the PEM file, as SF_PRIVATE_KEY_BASE64 carries it */
	FILE *f = fopen(KEY_PATH, "rb");
	assert_non_null(f);
	unsigned char pem[8192];
	size_t n = fread(pem, 1, sizeof pem, f);
	fclose(f);
	char b64[12000];
	EVP_EncodeBlock((unsigned char *)b64, pem, (int)n);
	EVP_PKEY *k = sf_auth_load_key(NULL, b64, NULL, &e);
	assert_non_null(k);
	EVP_PKEY_free(k);
	assert_null(sf_auth_load_key(NULL, "bm90IGEga2V5", NULL, &e));
	assert_int_equal(e.code, PT_CONFIG_INVALID);
	assert_null(sf_auth_load_key(NULL, NULL, "/nonexistent/key.pem", &e));
	assert_non_null(strstr(e.detail, "SF_PRIVATE_KEY_PATH"));
	assert_null(sf_auth_load_key(NULL, NULL, NULL, &e));
}

static void test_token_response(void **state)
{
	struct sf_token t;
	struct pt_err e = { 0 };
	(void)state;
	const char *ok = "{\"access_token\":\"00D5F0000000001!AR8.x\",\"instance_url\":\"https://acme.my.salesforce.com/\","
		"\"id\":\"https://x/id/00D/005\",\"token_type\":\"Bearer\",\"scope\":\"api\"}";
	assert_int_equal(sf_auth_parse_token_response(200, ok, strlen(ok), &t, &e), 0);
	assert_string_equal(t.access_token, "00D5F0000000001!AR8.x");
	assert_string_equal(t.instance_url, "https://acme.my.salesforce.com");
	const char *grant = "{\"error\":\"invalid_grant\",\"error_description\":\"audience is invalid\"}";
	assert_int_equal(sf_auth_parse_token_response(400, grant, strlen(grant), &t, &e), -1);
	assert_string_equal(e.provider_code, "invalid_grant");
	assert_int_equal(e.code, PT_UPSTREAM_ERROR);
	assert_int_equal(sf_auth_parse_token_response(503, "<html>", 6, &t, &e), -1);
	assert_int_equal(e.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(e.provider_code, "503");
	const char *evil = "{\"access_token\":\"x\",\"instance_url\":\"https://evil.example@host\"}";
	assert_int_equal(sf_auth_parse_token_response(200, evil, strlen(evil), &t, &e), -1);
	const char *ftp = "{\"access_token\":\"x\",\"instance_url\":\"ftp://host\"}";
	assert_int_equal(sf_auth_parse_token_response(200, ftp, strlen(ftp), &t, &e), -1);
	const char *notok = "{\"instance_url\":\"https://host\"}";
	assert_int_equal(sf_auth_parse_token_response(200, notok, strlen(notok), &t, &e), -1);
	assert_int_equal(sf_auth_parse_token_response(200, "", 0, &t, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt_verifies),
		cmocka_unit_test(test_key_loading),
		cmocka_unit_test(test_token_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
