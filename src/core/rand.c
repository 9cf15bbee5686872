/* rand — every token, session id and request id comes from the kernel's
 * CSPRNG (getrandom(2), the source OpenSSL's DRBG seeds itself from).
 * Not RAND_bytes: initialising OpenSSL's DRBG and configuration was ~14% of
 * a CGI start for a request that needs nothing else from OpenSSL
 * (docs/performance.md, "CGI cold start"). Output buffers are checked
 * before anything is written so a short buffer can never yield a truncated
 * (weaker) token. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "core/buf.h"
#include "core/rand.h"

int rand_bytes(void *out, size_t n)
{
	unsigned char *p = out;

	/* Blocks only until the kernel pool is first initialised (boot);
	 * reads of up to 256 bytes are never short once it is. */
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int rand_hex(char *out, size_t outsz, size_t n)
{
	unsigned char raw[256];

	if (n > sizeof raw || outsz < 2 * n + 1)
		return -1;
	if (rand_bytes(raw, n) != 0)
		return -1;
	str_hex(out, raw, n);
	explicit_bzero(raw, n);
	return 0;
}

int rand_token_b64url(char *out, size_t outsz, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[256];
	size_t o = 0;

	if (n > sizeof raw || outsz < (4 * n + 2) / 3 + 1)
		return -1;
	if (rand_bytes(raw, n) != 0)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)raw[i] << 16;
		size_t left = n - i;
		if (left > 1)
			v |= (unsigned)raw[i + 1] << 8;
		if (left > 2)
			v |= raw[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		if (left > 1)
			out[o++] = alphabet[(v >> 6) & 63];
		if (left > 2)
			out[o++] = alphabet[v & 63];
	}
	out[o] = '\0';
	explicit_bzero(raw, n);
	return 0;
}

int rand_uuid(char out[37])
{
	unsigned char b[16];
	char hex[33];

	if (rand_bytes(b, sizeof b) != 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);  /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
	str_hex(hex, b, sizeof b);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
	return 0;
}
