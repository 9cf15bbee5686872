/* auth — Salesforce OAuth 2.0 JWT bearer (salesforce-rest.md §1): an RS256
 * assertion signed with OpenSSL from the configured key, exchanged for an
 * access token + instance URL. The token is shared by every process through
 * Redis (`sf:auth:token`, cached SF_TOKEN_TTL_S - 300 s) behind a short lock so
 * that N processes starting together make one token request; without Redis
 * each process fetches and keeps its own. Tokens are never logged. */
#ifndef PT_SALESFORCE_AUTH_H
#define PT_SALESFORCE_AUTH_H

#include <stddef.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"

struct redis;
struct evp_pkey_st;

#define SF_AUTH_TOKEN_KEY "sf:auth:token"
#define SF_AUTH_LOCK_KEY "sf:auth:lock"

struct sf_token {
	char access_token[1024];
	char instance_url[256];
};

struct sf_auth_opts {
	const char *login_url;       /* SF_LOGIN_URL (token endpoint base) */
	const char *audience;        /* SF_AUDIENCE; NULL/"" → login_url */
	const char *client_id;       /* SF_CLIENT_ID (iss) */
	const char *username;        /* SF_USERNAME (sub) */
	const char *private_key_pem; /* PEM text, or NULL → private_key_path */
	const char *private_key_path;
	long token_ttl_s;            /* SF_TOKEN_TTL_S; default 7200 */
	long timeout_ms;             /* SF_TIMEOUT_MS; default 10000 */
	long lock_wait_ms;           /* how long to wait for another process's token; default 6000 */
};

struct sf_auth;

/* redis may be NULL (or down later): tokens are then per process. The auth
 * object borrows redis; it does not free it. */
struct sf_auth *sf_auth_new(const struct sf_auth_opts *opts, struct redis *redis,
	struct pt_err *err);
/* Reads SF_* keys from cfg (SF_PRIVATE_KEY_BASE64 wins over _PATH). */
struct sf_auth *sf_auth_new_config(const struct pt_config *cfg, struct redis *redis,
	struct pt_err *err);
void sf_auth_free(struct sf_auth *a);

/* A usable token: the shared one if any, else one fetched now (one process
 * at a time across the fleet). PT_UPSTREAM_UNAVAILABLE when the login
 * endpoint is down; PT_INTERNAL with provider_code = the OAuth "error"
 * (invalid_grant, invalid_client_id…) when Salesforce refuses us. */
int sf_auth_token(struct sf_auth *a, struct sf_token *out, struct pt_err *err);
/* After a 401 INVALID_SESSION_ID with `stale`: forgets it (locally, and in
 * Redis if the shared token is still that one) and returns a fresh token. */
int sf_auth_refresh(struct sf_auth *a, const struct sf_token *stale, struct sf_token *out,
	struct pt_err *err);

/* Building blocks, exposed for the unit tests and fuzz harnesses. */
/* Appends header.claims.signature (base64url, unpadded) to out. */
int sf_auth_jwt(struct evp_pkey_st *key, const char *iss, const char *sub, const char *aud,
	long exp, struct buf *out, struct pt_err *err);
/* PEM (PKCS#8 / traditional RSA) or base64 of PEM/DER → key; NULL + err. */
struct evp_pkey_st *sf_auth_load_key(const char *pem, const char *base64, const char *path,
	struct pt_err *err);
/* Parses a token endpoint answer (status + body) into out; error bodies
 * {"error","error_description"} → -1 with provider_code = error. */
int sf_auth_parse_token_response(long status, const char *body, size_t len,
	struct sf_token *out, struct pt_err *err);
/* Base64url without padding. */
int sf_auth_b64url(struct buf *out, const unsigned char *in, size_t n);

#endif
