/* fuzz_web_guard — the Origin header, the allow-list and the session cookie
 * value all come from outside (a browser, a config file): the origin matcher
 * must stay in bounds and never allow something that is not an origin.
 * Input: origin \n allowed-list \n public-base-url \n host \n token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Next '\n'-separated field of s (NUL-terminated in place); NULL at the end. */
static char *next_field(char **s)
{
	char *f = *s;
	if (!f)
		return NULL;
	char *nl = strchr(f, '\n');
	if (nl) {
		*nl = '\0';
		*s = nl + 1;
	} else {
		*s = NULL;
	}
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *p = buf;
	char *origin = next_field(&p), *list = next_field(&p), *base = next_field(&p);
	char *host = next_field(&p), *token = next_field(&p);
	if (web_guard_origin_allowed(origin, list, base, host)) {
		/* whatever is allowed is a bare http(s) origin */
		const char *rest = strncasecmp(origin, "https://", 8) == 0 ? origin + 8 :
			strncasecmp(origin, "http://", 7) == 0 ? origin + 7 : NULL;
		if (!rest || !*rest || strpbrk(rest, "/@?#\\ "))
			abort();
	}
	if (session_token_valid(token) && strlen(token) != SESSION_TOKEN_LEN)
		abort();
	if (web_guard_csrf_equal(token, origin) && strcmp(token, origin) != 0)
		abort();
	free(buf);
	return 0;
}
