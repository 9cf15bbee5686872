/* err — the portal's error model.
 * Every fallible function returns 0 / -1 (or a pointer / NULL) and fills a
 * caller-owned struct pt_err. One table (err.c) maps each code to its HTTP
 * status and the message a customer may read; `detail` is for logs only. */
#ifndef PT_CORE_ERR_H
#define PT_CORE_ERR_H

#include <stddef.h>

enum pt_code {
	PT_OK = 0,
	/* generic HTTP-level */
	PT_BAD_REQUEST,            /* 400 malformed HTTP, encoding */
	PT_VALIDATION_FAILED,      /* 400 body/field invalid */
	PT_UNAUTHENTICATED,        /* 401 */
	PT_INVALID_CREDENTIALS,    /* 401 */
	PT_INVALID_SIGNATURE,      /* 401 webhooks */
	PT_TOTP_REQUIRED,          /* 401 */
	PT_TOTP_INVALID,           /* 401 */
	PT_CSRF_FAILED,            /* 403 */
	PT_NOT_FOUND,              /* 404 */
	PT_METHOD_NOT_ALLOWED,     /* 405 */
	PT_CONFLICT,               /* 409 generic */
	PT_PAYLOAD_TOO_LARGE,      /* 413 */
	PT_UNSUPPORTED_MEDIA_TYPE, /* 415 body not labelled application/json */
	PT_RATE_LIMITED,           /* 429 */
	PT_INTERNAL,               /* 500 */
	PT_UPSTREAM_ERROR,         /* 502 provider answered with an unexpected error */
	PT_UPSTREAM_UNAVAILABLE,   /* 503 provider down/slow, Redis down */
	PT_MAINTENANCE,            /* 503 PostgreSQL down */
	/* domain (portal-api.md + resolutions.md §27) */
	PT_CUSTOMER_NUMBER_NOT_FOUND, /* 404 */
	PT_ACCOUNT_ALREADY_REGISTERED,/* 409 */
	PT_EMAIL_IN_USE,              /* 409 */
	PT_WEAK_PASSWORD,             /* 400 */
	PT_LINK_2FA_UNSUPPORTED,      /* 409 */
	PT_RESET_TOKEN_INVALID,       /* 400 */
	PT_PAYMENT_METHOD_MISSING,    /* 409 */
	PT_NOT_ELIGIBLE,              /* 400 */
	PT_UNKNOWN_SKU,               /* 400 */
	PT_NOT_ORDERABLE,             /* 400 */
	PT_MIXED_CART,                /* 400 */
	PT_IDEMPOTENCY_KEY_REQUIRED,  /* 400 */
	PT_OPERATION_TOO_SOON,        /* 409 */
	PT_SIM_ACTION_NOT_ALLOWED,    /* 409 */
	PT_RECORDS_NOT_AVAILABLE,     /* 404 */
	/* internal-only (never reach a client as such; mapped to 500) */
	PT_CONFIG_INVALID,            /* 500; programs exit 78 at start */
	PT_CODE_COUNT
};

/* Retry-After of a 503 whose cause did not set one (portal-api.md: a 503 says
 * when to come back). Upstream down or past its timeout: the same 30 s the
 * catalog, billing and checkout use. PostgreSQL down: a restart or failover
 * takes seconds, so clients come back sooner. */
#define PT_RETRY_AFTER_UPSTREAM_S    30
#define PT_RETRY_AFTER_MAINTENANCE_S 15

struct pt_err {
	enum pt_code code;
	int retry_after;          /* seconds for Retry-After, 0 = the code's default */
	char provider_code[64];   /* e.g. Salesforce errorCode, Freebit resultCode, "ETIMEOUT" */
	char field[64];           /* offending field for VALIDATION_FAILED, "" if none */
	char detail[256];         /* for the log only: never sent to a client */
	/* 1 = the remote system certainly did not act on the request: it never
	 * left (DNS, connect, TLS handshake: core/http) or was refused before it
	 * ran (whmcs/client). 0 = it may have run. A non-idempotent write that
	 * failed with 0 must not simply be sent again. */
	int not_applied;
};

/* Sets code and a printf-style detail; always returns -1 so callers can
 * `return pt_err_set(err, PT_NOT_FOUND, "order %s", id);`. err may be NULL. */
int pt_err_set(struct pt_err *err, enum pt_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like pt_err_set and records the offending field (VALIDATION_FAILED). */
int pt_err_field(struct pt_err *err, enum pt_code code, const char *field,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void pt_err_provider(struct pt_err *err, const char *provider_code);
void pt_err_clear(struct pt_err *err);

int pt_err_http_status(enum pt_code code);
const char *pt_err_code_name(enum pt_code code);   /* "NOT_FOUND" */
const char *pt_err_user_message(enum pt_code code);/* for a person */
/* Seconds a client should wait before retrying this code: the table's default,
 * > 0 for every 503 code, 0 for the others. */
int pt_err_default_retry_after(enum pt_code code);
/* The Retry-After an error reply carries: err->retry_after when the cause set
 * one, else the code's default; 0 = no header. err may be NULL. */
int pt_err_retry_after(const struct pt_err *err);
/* Reverse lookup by name; PT_CODE_COUNT if unknown. */
enum pt_code pt_err_code_from_name(const char *name);

#endif
