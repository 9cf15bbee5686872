/* buf — growable byte buffer with a hard upper bound, and small string
 * helpers. Every reader of outside bytes appends into a struct buf whose
 * `max` is the most it will ever accept, so no input can grow memory
 * without limit. data is always NUL-terminated (data may be NULL while empty). */
#ifndef PT_CORE_BUF_H
#define PT_CORE_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;   /* 0 = no bound (internal use only) */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);       /* back to empty, keeps max */
void buf_reset(struct buf *b);      /* len = 0, keeps memory */
/* -1 when the bound would be exceeded or on ENOMEM (buffer unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Always a valid C string ("" while empty). */
const char *buf_cstr(const struct buf *b);
/* Hands the data to the caller (malloc'd, NUL-terminated) and empties b. */
char *buf_steal(struct buf *b);

/* strlcpy semantics: returns strlen(src); truncates safely. */
size_t str_lcpy(char *dst, const char *src, size_t size);
/* Constant-time equality of two byte strings of the same length. */
int str_ct_equal(const void *a, const void *b, size_t n);
/* Case-insensitive ASCII equality. */
int str_ieq(const char *a, const char *b);
/* Duplicates at most n bytes; NULL on ENOMEM. */
char *str_ndup(const char *s, size_t n);
/* 1 if s is valid UTF-8 of exactly len bytes with no NUL and no C0 controls
 * other than \t \n \r (when allow_newlines) — for text fields from outside. */
int str_valid_text(const char *s, size_t len, int allow_newlines);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void str_hex(char *out, const unsigned char *in, size_t n);
/* Percent-decodes into out (size outsz); '+' → ' ' when plus_space.
 * -1 on a bad escape, an embedded NUL or when out is too small. */
int str_url_decode(char *out, size_t outsz, const char *in, size_t inlen, int plus_space);
/* Percent-encodes for application/x-www-form-urlencoded into b. */
int str_url_encode(struct buf *b, const char *in, size_t inlen);

#endif
