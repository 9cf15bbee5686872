/* fuzz_redis_url — REDIS_URL comes from the config file or environment:
 * the parser must stay in bounds and never accept a half-parsed URL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct redis_url u;
	struct pt_err err = { 0 };
	if (redis_url_parse(s, &u, &err) == 0) {
		/* whatever was accepted is well-formed */
		if (u.is_unix ? u.path[0] != '/' : (u.host[0] == '\0' || u.port < 1 || u.port > 65535))
			abort();
		if (u.db < 0 || u.db > 9999)
			abort();
	}
	free(s);
	return 0;
}
