/* sftp/cdr — streaming parser of the monthly call / SMS detail CSV files
 * (freebit.md §7): UTF-8 with optional BOM, CRLF or LF, RFC 4180 quoting
 * that never spans lines, lines ≤ 1024 bytes, an exact header. Bytes are fed
 * in any chunking; each good row reaches a callback as a domain record, and
 * a bad line is skipped and counted — it never aborts the file. Only a wrong
 * header rejects the whole file. */
#ifndef PT_SFTP_CDR_H
#define PT_SFTP_CDR_H

#include <stddef.h>
#include "core/err.h"
#include "domain/cdr.h"

#define CDR_MAX_LINE 1024
#define CDR_LOGGED_BAD_LINES 20

struct cdr_parser;

struct cdr_callbacks {
	/* Return 0 to go on, -1 (with err set) to stop the import. */
	int (*on_call)(void *ctx, const struct domain_call_record *r, struct pt_err *err);
	int (*on_sms)(void *ctx, const struct domain_sms_record *r, struct pt_err *err);
};

struct cdr_stats {
	long lines;       /* physical lines seen, header included */
	long rows;        /* good records delivered */
	long bad_lines;
};

/* year/month: the file's JST month; rows outside it are bad lines. */
struct cdr_parser *cdr_parser_new(enum domain_cdr_kind kind, int year, int month,
	const struct cdr_callbacks *cb, void *ctx);
void cdr_parser_free(struct cdr_parser *p);
/* -1 + err when the header is wrong (PT_UPSTREAM_UNAVAILABLE, provider_code
 * "EBADHEADER") or a callback stopped; the parser is then unusable. */
int cdr_parser_feed(struct cdr_parser *p, const char *data, size_t len, struct pt_err *err);
/* Flushes a last line without newline; an empty file (no header) is rejected. */
int cdr_parser_finish(struct cdr_parser *p, struct cdr_stats *stats, struct pt_err *err);

const char *cdr_header(enum domain_cdr_kind kind);

#endif
