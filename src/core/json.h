/* json — json-c helpers: bounded parsing and typed, validated field access.
 * Parsing outside bytes always goes through json_parse_bounded so that size
 * and nesting depth are capped and trailing garbage is rejected. */
#ifndef PT_CORE_JSON_H
#define PT_CORE_JSON_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/err.h"

#define JSON_DEFAULT_MAX_DEPTH 32

/* NULL + err (PT_VALIDATION_FAILED / PT_PAYLOAD_TOO_LARGE) on invalid JSON,
 * depth over max_depth, len over max_len, trailing bytes or invalid UTF-8.
 * Caller frees with json_object_put. */
struct json_object *json_parse_bounded(const char *data, size_t len, size_t max_len,
	int max_depth, struct pt_err *err);

/* Field access: return 0 and set *out, or -1 with PT_VALIDATION_FAILED naming
 * the field when missing (required) / wrong type / too long. With required=0 a
 * missing or null field leaves *out untouched and returns 0. Strings returned
 * point into obj (valid while obj lives). */
int json_get_str(struct json_object *obj, const char *key, int required, size_t max_len,
	const char **out, struct pt_err *err);
int json_get_int(struct json_object *obj, const char *key, int required, long min, long max,
	long *out, struct pt_err *err);
int json_get_bool(struct json_object *obj, const char *key, int required, int *out,
	struct pt_err *err);
/* Provider quirk helpers: WHMCS & Freebit send numbers as strings, empty lists as "". */
int json_get_lenient_int(struct json_object *obj, const char *key, long *out);
/* Returns the array at key, or NULL for missing / "" / empty object (WHMCS empty list). */
struct json_object *json_get_lenient_array(struct json_object *obj, const char *key);
/* Safe string of an optional field ("" when missing/null/non-string). */
const char *json_str_or(struct json_object *obj, const char *key, const char *dflt);

/* Serialises compactly (no escaping of '/'); pointer valid while obj lives. */
const char *json_compact(struct json_object *obj, size_t *len);

#endif
