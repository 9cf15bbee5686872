/* domain/common — helpers every domain mapper and renderer shares, so that
 * money and time look the same in every portal response: money is a decimal
 * string with a currency ({"amount":"5280.00","currency":"JPY"}, never a
 * float), times are RFC 3339 UTC with a 'Z' ("2026-11-23T15:21:51Z").
 * Pure functions: no I/O, no allocation beyond the json-c objects returned. */
#ifndef PT_DOMAIN_COMMON_H
#define PT_DOMAIN_COMMON_H

#include <stddef.h>
#include <json-c/json.h>

/* Big enough for any amount the providers send ("-99999999999999.99") + NUL. */
#define DOMAIN_DECIMAL_MAX 40
/* "YYYY-MM-DDTHH:MM:SSZ" + NUL. */
#define DOMAIN_TIME_MAX 21
/* "YYYY-MM-DD" + NUL. */
#define DOMAIN_DATE_MAX 11
#define DOMAIN_CURRENCY_DEFAULT "JPY"

/* Normalises a decimal number given as text ("5280", "5280.0", "-1.005",
 * "1.5E3", " 42 " is rejected) to exactly `scale` decimals, rounding half
 * away from zero, without ever going through a double. 0 / -1 when the text
 * is not a finite decimal number or out is too small. */
int domain_decimal_norm(const char *in, int scale, char *out, size_t outsz);

/* The same for a json-c value: a JSON number (its original text is used, so
 * 5280.0 stays exact) or a numeric string. -1 for null, missing, other types. */
int domain_decimal_from_json(struct json_object *v, int scale, char *out, size_t outsz);

/* {"amount": "<amount normalised to 2 decimals>", "currency": currency}.
 * currency NULL or "" → DOMAIN_CURRENCY_DEFAULT. NULL when amount is not a
 * decimal number (the caller renders null) or on ENOMEM. */
struct json_object *domain_money_json(const char *amount, const char *currency);

/* Salesforce/WHMCS/ISO datetimes → RFC 3339 UTC: accepts
 * "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hhmm|+hh:mm|-hhmm|-hh:mm]" (a space instead
 * of 'T' too, and no zone = UTC). Fractions are dropped, offsets applied.
 * 0 / -1 on anything else (out is then ""). */
int domain_time_rfc3339(const char *in, char *out, size_t outsz);

/* Validates a plain date "YYYY-MM-DD" (real calendar date) into out. */
int domain_date_norm(const char *in, char *out, size_t outsz);

/* Mapper helper: copies the string field `key` of a provider record into
 * out. Missing or null → "" and 0. Wrong type, too long for out, or not
 * valid text (allow_newlines as str_valid_text) → -1. */
int domain_json_str(struct json_object *rec, const char *key, char *out, size_t outsz,
	int allow_newlines);
/* The same for a nested relationship object: rec[rel][key] ("Account"."Name"). */
int domain_json_rel_str(struct json_object *rec, const char *rel, const char *key,
	char *out, size_t outsz);

/* The rows of a child subquery, rec[rel] = {"records":[…]} (Salesforce
 * answers null when there are none). 0 with *out = the array, or NULL when
 * there are none; -1 when the shape is wrong. */
int domain_sf_children(struct json_object *rec, const char *rel, struct json_object **out);

/* Renderer helpers: add key with a string value, or JSON null when val is
 * NULL. 0 / -1 on ENOMEM. */
int domain_json_add_str(struct json_object *obj, const char *key, const char *val);
/* Adds the RFC 3339 form of a provider datetime, or null if absent/invalid. */
int domain_json_add_time(struct json_object *obj, const char *key, const char *provider_time);
/* Adds money from a decimal string, or null if absent/invalid. */
int domain_json_add_money(struct json_object *obj, const char *key, const char *amount,
	const char *currency);

/* A JSON array of row(&v[i]) over the n rows of `size` bytes at v (the
 * renderer every domain list shares); stops at the first row that cannot be
 * rendered (out of memory). NULL only when the array itself cannot be had. */
struct json_object *domain_json_array(const void *v, size_t n, size_t size,
	struct json_object *(*row)(const void *));

#endif
