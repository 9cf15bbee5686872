/* Fuzz: SOQL literal escaping round trip. The first byte selects plain or
 * LIKE escaping; the rest is the customer text. Whatever the text, the quoted
 * escape must tokenize as exactly one string literal that ends at our closing
 * quote and unescapes back to the input (an early end = injection). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "salesforce/soql.h"

/* A tiny SOQL string-literal tokenizer per salesforce-rest.md §8. Returns
 * the number of bytes consumed (through the closing quote) or 0 on error;
 * the unescaped value goes to out. */
static size_t soql_literal(const char *s, size_t n, int like, char *out, size_t *outlen)
{
	size_t i = 1, o = 0;

	if (n == 0 || s[0] != '\'')
		return 0;
	while (i < n) {
		char c = s[i++];
		if (c == '\'') {
			*outlen = o;
			return i;
		}
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (i >= n)
			return 0;
		c = s[i++];
		switch (c) {
		case 'n': case 'N': out[o++] = '\n'; break;
		case 'r': case 'R': out[o++] = '\r'; break;
		case 't': case 'T': out[o++] = '\t'; break;
		case 'b': case 'B': out[o++] = '\b'; break;
		case 'f': case 'F': out[o++] = '\f'; break;
		case '"': case '\'': case '\\': out[o++] = c; break;
		case '%': case '_':
			if (!like)
				return 0;
			out[o++] = c;
			break;
		default:
			return 0;   /* Salesforce: "an error occurs" */
		}
	}
	return 0;   /* unterminated */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b;
	int like;
	const char *text;
	size_t len;

	if (size == 0)
		return 0;
	like = data[0] & 1;
	text = (const char *)data + 1;
	len = size - 1;
	buf_init(&b, 0);
	buf_putc(&b, '\'');
	int rc = like ? sf_soql_escape_like(&b, text, len) : sf_soql_escape(&b, text, len);
	if (rc == 0) {
		buf_putc(&b, '\'');
		char *out = malloc(b.len + 1);
		size_t outlen = 0;
		size_t used = soql_literal(b.data, b.len, like, out, &outlen);
		if (used != b.len || outlen != len || memcmp(out, text, len) != 0)
			abort();
		/* Nothing but our own quotes may be unescaped. */
		for (size_t i = 1; i + 1 < b.len; i++)
			if (b.data[i] == '\'' && b.data[i - 1] != '\\')
				abort();
		free(out);
	} else if (b.len != 1) {
		abort();   /* a refused value must leave the buffer untouched */
	}
	buf_free(&b);
	return 0;
}
