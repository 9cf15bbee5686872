/* err — the one table from error code to HTTP status, stable code name and
 * the message a customer reads. Messages say what happened and what the
 * person can do; they never mention internals (systems, ids, stack). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

struct err_entry {
	enum pt_code code;
	int status;
	const char *name;
	const char *message;
	int retry_after;       /* default Retry-After (s); every 503 has one */
};

/* Indexed by enum pt_code: the static assert below keeps it complete. */
static const struct err_entry err_table[] = {
	{ PT_OK, 200, "OK", "Done.", 0 },
	{ PT_BAD_REQUEST, 400, "BAD_REQUEST",
	  "The request could not be understood. Please reload the page and try again.", 0 },
	{ PT_VALIDATION_FAILED, 400, "VALIDATION_FAILED",
	  "Some of the information entered is missing or not valid. Please check the highlighted field.", 0 },
	{ PT_UNAUTHENTICATED, 401, "UNAUTHENTICATED",
	  "Please sign in to continue.", 0 },
	{ PT_INVALID_CREDENTIALS, 401, "INVALID_CREDENTIALS",
	  "The email address or password is incorrect.", 0 },
	{ PT_INVALID_SIGNATURE, 401, "INVALID_SIGNATURE",
	  "The request signature is not valid.", 0 },
	{ PT_TOTP_REQUIRED, 401, "TOTP_REQUIRED",
	  "Please enter the code from your authenticator app.", 0 },
	{ PT_TOTP_INVALID, 401, "TOTP_INVALID",
	  "The authenticator code is incorrect or has expired. Please try again.", 0 },
	{ PT_CSRF_FAILED, 403, "CSRF_FAILED",
	  "Your session could not be verified. Please reload the page and try again.", 0 },
	{ PT_NOT_FOUND, 404, "NOT_FOUND",
	  "We could not find what you were looking for.", 0 },
	{ PT_METHOD_NOT_ALLOWED, 405, "METHOD_NOT_ALLOWED",
	  "This action is not supported here.", 0 },
	{ PT_CONFLICT, 409, "CONFLICT",
	  "This change conflicts with the current state. Please reload the page and try again.", 0 },
	{ PT_PAYLOAD_TOO_LARGE, 413, "PAYLOAD_TOO_LARGE",
	  "The information sent is too large.", 0 },
	{ PT_UNSUPPORTED_MEDIA_TYPE, 415, "UNSUPPORTED_MEDIA_TYPE",
	  "The information was sent in a format we do not accept. Please reload the page and try again.", 0 },
	{ PT_RATE_LIMITED, 429, "RATE_LIMITED",
	  "Too many attempts. Please wait a moment and try again.", 0 },
	{ PT_INTERNAL, 500, "INTERNAL",
	  "Something went wrong on our side. Please try again later.", 0 },
	{ PT_UPSTREAM_ERROR, 502, "UPSTREAM_ERROR",
	  "One of our services returned an unexpected answer. Please try again later.", 0 },
	{ PT_UPSTREAM_UNAVAILABLE, 503, "UPSTREAM_UNAVAILABLE",
	  "This service is temporarily unavailable. Please try again in a few minutes.",
	  PT_RETRY_AFTER_UPSTREAM_S },
	{ PT_MAINTENANCE, 503, "MAINTENANCE",
	  "The portal is under maintenance. Please try again later.",
	  PT_RETRY_AFTER_MAINTENANCE_S },
	{ PT_CUSTOMER_NUMBER_NOT_FOUND, 404, "CUSTOMER_NUMBER_NOT_FOUND",
	  "We could not find a customer with this customer number and email address. Please check both and try again.", 0 },
	{ PT_ACCOUNT_ALREADY_REGISTERED, 409, "ACCOUNT_ALREADY_REGISTERED",
	  "This customer account is already registered for the portal. Please sign in instead.", 0 },
	{ PT_EMAIL_IN_USE, 409, "EMAIL_IN_USE",
	  "This email address is already in use. Please sign in or use another address.", 0 },
	{ PT_WEAK_PASSWORD, 400, "WEAK_PASSWORD",
	  "This password is too weak. Please choose a longer password that is harder to guess.", 0 },
	{ PT_LINK_2FA_UNSUPPORTED, 409, "LINK_2FA_UNSUPPORTED",
	  "Your billing account uses two-step verification, so it cannot be linked this way. Please contact support.", 0 },
	{ PT_RESET_TOKEN_INVALID, 400, "RESET_TOKEN_INVALID",
	  "This password reset link is invalid or has expired. Please request a new one.", 0 },
	{ PT_PAYMENT_METHOD_MISSING, 409, "PAYMENT_METHOD_MISSING",
	  "Please add a payment method before placing an order.", 0 },
	{ PT_NOT_ELIGIBLE, 400, "NOT_ELIGIBLE",
	  "This service is not available for your account or address.", 0 },
	{ PT_UNKNOWN_SKU, 400, "UNKNOWN_SKU",
	  "One of the selected products does not exist. Please reload the page and try again.", 0 },
	{ PT_NOT_ORDERABLE, 400, "NOT_ORDERABLE",
	  "One of the selected products cannot be ordered online at the moment.", 0 },
	{ PT_MIXED_CART, 400, "MIXED_CART",
	  "Products of different service types must be ordered separately.", 0 },
	{ PT_IDEMPOTENCY_KEY_REQUIRED, 400, "IDEMPOTENCY_KEY_REQUIRED",
	  "The request could not be processed safely. Please reload the page and try again.", 0 },
	{ PT_OPERATION_TOO_SOON, 409, "OPERATION_TOO_SOON",
	  "Another change is still being applied. Please try again later.", 0 },
	{ PT_SIM_ACTION_NOT_ALLOWED, 409, "SIM_ACTION_NOT_ALLOWED",
	  "This action is not available for this SIM.", 0 },
	{ PT_RECORDS_NOT_AVAILABLE, 404, "RECORDS_NOT_AVAILABLE",
	  "Records for this month are not available yet. They are usually available two months later.", 0 },
	{ PT_CONFIG_INVALID, 500, "CONFIG_INVALID",
	  "Something went wrong on our side. Please try again later.", 0 },
};

_Static_assert(sizeof err_table / sizeof err_table[0] == PT_CODE_COUNT,
	"err_table must have one entry per enum pt_code");

static const struct err_entry *err_entry(enum pt_code code)
{
	if ((unsigned)code >= PT_CODE_COUNT)
		return &err_table[PT_INTERNAL];
	return &err_table[code];
}

static void err_vset(struct pt_err *err, enum pt_code code, const char *fmt, va_list ap)
{
	err->code = code;
	if (fmt)
		vsnprintf(err->detail, sizeof err->detail, fmt, ap);
	else
		err->detail[0] = '\0';
}

int pt_err_set(struct pt_err *err, enum pt_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int pt_err_field(struct pt_err *err, enum pt_code code, const char *field,
	const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	return -1;
}

void pt_err_provider(struct pt_err *err, const char *provider_code)
{
	if (err)
		snprintf(err->provider_code, sizeof err->provider_code, "%s",
			provider_code ? provider_code : "");
}

void pt_err_clear(struct pt_err *err)
{
	if (err)
		memset(err, 0, sizeof *err);
}

int pt_err_http_status(enum pt_code code)
{
	return err_entry(code)->status;
}

const char *pt_err_code_name(enum pt_code code)
{
	return err_entry(code)->name;
}

const char *pt_err_user_message(enum pt_code code)
{
	return err_entry(code)->message;
}

int pt_err_default_retry_after(enum pt_code code)
{
	return err_entry(code)->retry_after;
}

int pt_err_retry_after(const struct pt_err *err)
{
	if (!err)
		return pt_err_default_retry_after(PT_INTERNAL);
	return err->retry_after > 0 ? err->retry_after : pt_err_default_retry_after(err->code);
}

enum pt_code pt_err_code_from_name(const char *name)
{
	if (!name)
		return PT_CODE_COUNT;
	for (size_t i = 0; i < PT_CODE_COUNT; i++)
		if (strcmp(err_table[i].name, name) == 0)
			return err_table[i].code;
	return PT_CODE_COUNT;
}
