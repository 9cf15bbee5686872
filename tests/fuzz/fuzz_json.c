/* fuzz_json — json_parse_bounded and the field getters over arbitrary
 * bytes: no crash, no leak, and any accepted document serialises. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_err err;
	struct json_object *o = json_parse_bounded((const char *)data, size, 65536,
		JSON_DEFAULT_MAX_DEPTH, &err);
	static const char *const keys[] = { "id", "name", "items", "resultCode", "data", "" };
	const char *s;
	long n;
	int b;
	size_t len;

	if (!o)
		return 0;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_get_str(o, keys[i], i & 1, 64, &s, &err);
		json_get_int(o, keys[i], 0, -1000, 1000, &n, &err);
		json_get_bool(o, keys[i], 1, &b, &err);
		json_get_lenient_int(o, keys[i], &n);
		struct json_object *arr = json_get_lenient_array(o, keys[i]);
		for (size_t j = 0; arr && j < json_object_array_length(arr) && j < 8; j++)
			json_str_or(json_object_array_get_idx(arr, j), "sku", "");
		s = json_str_or(o, keys[i], "dflt");
		(void)strlen(s);
	}
	s = json_compact(o, &len);
	if (s && strlen(s) != len)
		__builtin_trap();
	json_object_put(o);
	return 0;
}
