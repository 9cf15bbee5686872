/* rand — cryptographically secure randomness (the kernel's, getrandom(2)).
 * Tokens, session ids, CSRF tokens and request ids come from here only. */
#ifndef PT_CORE_RAND_H
#define PT_CORE_RAND_H

#include <stddef.h>

int rand_bytes(void *out, size_t n);                  /* 0 / -1 */
/* n random bytes as 2n hex chars + NUL in out (size >= 2n+1). */
int rand_hex(char *out, size_t outsz, size_t n);
/* n random bytes as unpadded base64url (outsz >= 4*n/3+2). */
int rand_token_b64url(char *out, size_t outsz, size_t n);
/* RFC 4122 v4 UUID, 37 bytes with NUL. */
int rand_uuid(char out[37]);

#endif
