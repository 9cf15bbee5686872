/* fuzz_urldecode — str_url_decode and str_valid_text over arbitrary bytes;
 * also checks the decode never writes past outsz, never yields a NUL, and
 * that encode → decode round-trips. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t outsz = size ? (size_t)data[0] % 64 + 1 : 1;
	char *small = malloc(outsz);   /* exact size: ASan catches any overrun */
	char *out = malloc(size + 1);

	if (str_url_decode(small, outsz, in, size, 1) == 0 && strlen(small) >= outsz)
		__builtin_trap();
	if (str_url_decode(out, size + 1, in, size, size & 1) == 0) {
		size_t n = strlen(out);
		(void)str_valid_text(out, n, 0);
		struct buf b;
		buf_init(&b, 3 * n + 1);
		if (str_url_encode(&b, out, n) != 0)
			__builtin_trap();
		char *back = malloc(n + 1);
		if (str_url_decode(back, n + 1, buf_cstr(&b), b.len, 1) != 0 ||
		    strcmp(back, out) != 0)
			__builtin_trap();
		free(back);
		buf_free(&b);
	}
	(void)str_valid_text(in, size, 1);
	(void)str_valid_text(in, size, 0);
	free(out);
	free(small);
	return 0;
}
