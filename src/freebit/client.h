/* freebit/client — the Freebit MVNO API transport (freebit.md §1-3): POST of
 * one form field `json` to {FREEBIT_BASE_URL}/emptool/api{path}, the authKey
 * from /authOem/ shared by all processes in Redis `freebit:auth:token`
 * (re-fetched once when Freebit answers 210), and result codes mapped to
 * struct pt_err. Reads retry once after 500 ms; writes are never repeated
 * except after a 210, which means the call did not run. */
#ifndef PT_FREEBIT_CLIENT_H
#define PT_FREEBIT_CLIENT_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/config.h"
#include "core/err.h"
#include "store/redis.h"

#define FREEBIT_AUTH_KEY "freebit:auth:token"
#define FREEBIT_AUTH_LOCK "freebit:auth:lock"
#define FREEBIT_AUTH_TTL_S 3300
#define FREEBIT_MAX_RESPONSE (1024u * 1024u)
#define FREEBIT_MAX_AUTHKEY 128

struct freebit_client;

struct freebit_client_opts {
	const char *base_url;       /* scheme + host [+ port], no trailing slash */
	const char *oem_id;
	const char *oem_key;        /* never logged */
	long timeout_ms;            /* FREEBIT_TIMEOUT; connect = min(3000, this) */
	long read_retry_delay_ms;   /* 0 → 500 */
	struct redis *redis;        /* borrowed; NULL or down → a per-process key */
};

struct freebit_client *freebit_client_new(const struct freebit_client_opts *opts, struct pt_err *err);
/* FREEBIT_BASE_URL, FREEBIT_OEM_ID, FREEBIT_OEM_KEY, FREEBIT_TIMEOUT. */
struct freebit_client *freebit_client_from_config(const struct pt_config *cfg, struct redis *redis,
	struct pt_err *err);
void freebit_client_free(struct freebit_client *c);

/* Sends req (a JSON object without authKey; not modified) to path (e.g.
 * "/mvno/getDetail/"). On resultCode 100 *out gets the reply (caller puts). */
int freebit_call(struct freebit_client *c, const char *path, struct json_object *req, int is_read,
	struct json_object **out, struct pt_err *err);

/* Calls /authOem/ now and stores the key (portal-probed's 15-minute probe). */
int freebit_auth_refresh(struct freebit_client *c, struct pt_err *err);

/* Reply bytes → object (resultCode 100) or the mapped error; for tests and
 * the fuzzer. HTTP status other than 2xx is a transport failure. */
int freebit_parse_reply(long http_status, const char *body, size_t len,
	struct json_object **out, struct pt_err *err);
/* resultCode (+ the reply for retryAfter) → pt_err per freebit.md §3. */
int freebit_result_error(const char *result_code, struct json_object *reply, struct pt_err *err);

/* "080-1234-0001" → "08012340001" in out (12 bytes); -1 if not ^0[0-9]{10}$. */
int freebit_msisdn_norm(const char *in, char out[12]);

#endif
