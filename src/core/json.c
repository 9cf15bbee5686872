/* json — bounded parsing (size, depth, whole input consumed, strict syntax,
 * valid UTF-8) and typed field access that names the offending field, so a
 * handler can answer 400 VALIDATION_FAILED with `field` filled in. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"

static int json_trailing_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return 0;
	return 1;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of the RFC 8259 number at p, or 0 if malformed. */
static size_t json_number_len(const char *p, size_t n)
{
	size_t i = 0;

	if (i < n && p[i] == '-')
		i++;
	if (i < n && p[i] == '0')
		i++;
	else if (i < n && is_digit(p[i]))
		while (i < n && is_digit(p[i]))
			i++;
	else
		return 0;
	if (i < n && p[i] == '.') {
		if (++i >= n || !is_digit(p[i]))
			return 0;
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= n || !is_digit(p[i]))
			return 0;
		while (i < n && is_digit(p[i]))
			i++;
	}
	/* "01", "1.e5"-style leftovers: a number runs into another token char */
	if (i < n && (is_digit(p[i]) || p[i] == '.' || p[i] == '+' || p[i] == '-'))
		return 0;
	return i;
}

/* json-c 0.16's strict mode still takes 'single-quoted' strings, NaN,
 * Infinity, "1." and raw tabs inside strings. Outside strings only RFC 8259
 * numbers, the literals true/false/null and punctuation may appear.
 * 0 ok, -1 rejected; the tokener checks the structure afterwards. */
static int json_prescan(const char *p, size_t n)
{
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (in_str) {
			if ((unsigned char)c < 0x20)
				return -1;   /* raw control characters must be escaped */
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '-' || is_digit(c)) {
			size_t len = json_number_len(p + i, n - i);
			if (len == 0)
				return -1;
			i += len - 1;
		} else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
			size_t j = i;
			while (j < n && (p[j] | 0x20) >= 'a' && (p[j] | 0x20) <= 'z')
				j++;
			if (!(j - i == 4 && memcmp(p + i, "true", 4) == 0) &&
			    !(j - i == 5 && memcmp(p + i, "false", 5) == 0) &&
			    !(j - i == 4 && memcmp(p + i, "null", 4) == 0))
				return -1;
			i = j - 1;
		} else if (!strchr("{}[],: \t\r\n", c)) {
			return -1;
		}
	}
	return 0;
}

struct json_object *json_parse_bounded(const char *data, size_t len, size_t max_len,
	int max_depth, struct pt_err *err)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	char *copy = NULL;

	if (len > max_len) {
		pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "json: %zu bytes over limit %zu", len, max_len);
		goto out;
	}
	if (!data || len == 0) {
		pt_err_set(err, PT_VALIDATION_FAILED, "json: empty body");
		goto out;
	}
	/* json-c's own UTF-8 check lets overlong forms through; ours does not,
	 * and it refuses NUL and raw control bytes (never valid JSON) too. */
	if (len > INT_MAX - 1 || !str_valid_text(data, len, 1)) {
		pt_err_set(err, PT_VALIDATION_FAILED, "json: invalid UTF-8 or control byte");
		goto out;
	}
	if (json_prescan(data, len) != 0) {
		pt_err_set(err, PT_VALIDATION_FAILED, "json: not strict JSON (quote or bare word)");
		goto out;
	}
	if (max_depth <= 0)
		max_depth = JSON_DEFAULT_MAX_DEPTH;
	tok = json_tokener_new_ex(max_depth);
	/* Parsing a NUL-terminated copy lets a top-level number end cleanly
	 * (json-c otherwise waits for more digits). */
	copy = malloc(len + 1);
	if (!tok || !copy) {
		pt_err_set(err, PT_INTERNAL, "json: out of memory");
		goto out;
	}
	memcpy(copy, data, len);
	copy[len] = '\0';
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, copy, (int)len + 1);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success) {
		pt_err_set(err, PT_VALIDATION_FAILED, "json: %s at offset %zu",
			json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
		json_object_put(obj);
		obj = NULL;
		goto out;
	}
	size_t end = json_tokener_get_parse_end(tok);
	if (end > len)
		end = len;
	if (!json_trailing_ok(copy + end, len - end)) {
		pt_err_set(err, PT_VALIDATION_FAILED, "json: trailing bytes at offset %zu", end);
		json_object_put(obj);
		obj = NULL;
		goto out;
	}
	if (!obj) /* the literal `null` */
		pt_err_set(err, PT_VALIDATION_FAILED, "json: null document");
out:
	if (tok)
		json_tokener_free(tok);
	free(copy);
	return obj;
}

/* Looks up key in obj: 1 found (non-null), 0 missing or null, -1 obj not an object. */
static int json_lookup(struct json_object *obj, const char *key, struct json_object **val)
{
	*val = NULL;
	if (!obj || !json_object_is_type(obj, json_type_object))
		return -1;
	if (!json_object_object_get_ex(obj, key, val) || !*val)
		return 0;
	return 1;
}

static int json_missing(const char *key, int required, struct pt_err *err, int rc)
{
	if (rc < 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: not an object", key);
	if (required)
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: missing", key);
	return 0;
}

int json_get_str(struct json_object *obj, const char *key, int required, size_t max_len,
	const char **out, struct pt_err *err)
{
	struct json_object *v;
	int rc = json_lookup(obj, key, &v);

	if (rc <= 0)
		return json_missing(key, required, err, rc);
	if (!json_object_is_type(v, json_type_string))
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: not a string", key);
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (len > max_len)
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: longer than %zu", key, max_len);
	/* "\u0000" would cut the C string short of what was validated. */
	if (strlen(s) != len)
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: contains NUL", key);
	*out = s;
	return 0;
}

/* Exact integer from a JSON int (1.0 and "1" are not integers here). */
static int json_int_value(struct json_object *v, long *out)
{
	if (json_object_is_type(v, json_type_int)) {
		errno = 0;
		int64_t i = json_object_get_int64(v);
		if (errno == ERANGE)
			return -1;
#if LONG_MAX < INT64_MAX
		if (i < LONG_MIN || i > LONG_MAX)
			return -1;
#endif
		/* json-c clamps values above INT64_MAX: reject those too. */
		if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
			return -1;
		*out = (long)i;
		return 0;
	}
	return -1;
}

int json_get_int(struct json_object *obj, const char *key, int required, long min, long max,
	long *out, struct pt_err *err)
{
	struct json_object *v;
	long n;
	int rc = json_lookup(obj, key, &v);

	if (rc <= 0)
		return json_missing(key, required, err, rc);
	if (json_int_value(v, &n) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: not an integer", key);
	if (n < min || n > max)
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: out of range %ld..%ld",
			key, min, max);
	*out = n;
	return 0;
}

int json_get_bool(struct json_object *obj, const char *key, int required, int *out,
	struct pt_err *err)
{
	struct json_object *v;
	int rc = json_lookup(obj, key, &v);

	if (rc <= 0)
		return json_missing(key, required, err, rc);
	if (!json_object_is_type(v, json_type_boolean))
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: not a boolean", key);
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

/* Decimal integer string, optional sign, no spaces, fits a long. */
static int parse_long_str(const char *s, long *out)
{
	char *end;

	if (!*s || strlen(s) > 24)
		return -1;
	if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = n;
	return 0;
}

int json_get_lenient_int(struct json_object *obj, const char *key, long *out)
{
	struct json_object *v;

	if (json_lookup(obj, key, &v) <= 0)
		return -1;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		if (strlen(s) != (size_t)json_object_get_string_len(v))
			return -1;
		return parse_long_str(s, out);
	}
	return json_int_value(v, out);
}

struct json_object *json_get_lenient_array(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (json_lookup(obj, key, &v) <= 0)
		return NULL;
	return json_object_is_type(v, json_type_array) ? v : NULL;
}

const char *json_str_or(struct json_object *obj, const char *key, const char *dflt)
{
	struct json_object *v;

	if (json_lookup(obj, key, &v) <= 0 || !json_object_is_type(v, json_type_string))
		return dflt ? dflt : "";
	return json_object_get_string(v);
}

const char *json_compact(struct json_object *obj, size_t *len)
{
	size_t n = 0;
	const char *s = json_object_to_json_string_length(obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	if (len)
		*len = s ? n : 0;
	return s;
}
