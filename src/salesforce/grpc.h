/* grpc — the gRPC-over-HTTP/2 wire pieces the Pub/Sub client needs, apart
 * from any transport: 5-byte length-prefixed message framing, an incremental
 * deframer for a response byte stream (message boundaries are independent of
 * DATA frames), and parsing of the status from trailers / headers into a
 * grpc status and a struct pt_err (salesforce-pubsub.md §3, §6). */
#ifndef PT_SALESFORCE_GRPC_H
#define PT_SALESFORCE_GRPC_H
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/err.h"

/* Largest message we accept (contract §3: client bound 16 MiB → INTERNAL). */
#define GRPC_MSG_MAX (16u * 1024u * 1024u)

enum grpc_status {
	GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_UNKNOWN = 2, GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4, GRPC_NOT_FOUND = 5, GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7, GRPC_RESOURCE_EXHAUSTED = 8, GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10, GRPC_OUT_OF_RANGE = 11, GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14, GRPC_DATA_LOSS = 15, GRPC_UNAUTHENTICATED = 16
};

/* "UNAVAILABLE"; "UNKNOWN" for codes outside 0..16. */
const char *grpc_status_name(int status);

/* Appends flag 0 + big-endian length + msg to out. -1 if len > GRPC_MSG_MAX
 * or out's bound is hit. */
int grpc_frame(struct buf *out, const void *msg, size_t len, struct pt_err *err);

/* Called once per complete message; msg is valid only during the call.
 * Returning -1 stops grpc_deframer_feed (err should be set). */
typedef int (*grpc_msg_fn)(void *ctx, const unsigned char *msg, size_t len,
	struct pt_err *err);

struct grpc_deframer {
	unsigned char hdr[5];
	size_t hdr_len;     /* header bytes collected so far (0..5) */
	uint32_t need;      /* body length of the current message */
	struct buf body;    /* body bytes collected so far */
	size_t max;         /* message bound */
	int failed;         /* a protocol error was seen: further input is refused */
};

/* max 0 → GRPC_MSG_MAX. */
void grpc_deframer_init(struct grpc_deframer *d, size_t max);
void grpc_deframer_free(struct grpc_deframer *d);
/* Consumes n bytes, calling fn for each message completed. -1 + PT_UPSTREAM_ERROR
 * (provider_code "INTERNAL") on a compressed flag or an over-long message, or
 * whatever fn returned. */
int grpc_deframer_feed(struct grpc_deframer *d, const void *data, size_t n,
	grpc_msg_fn fn, void *ctx, struct pt_err *err);
/* 1 when no partial message is buffered (a clean end of stream). */
int grpc_deframer_idle(const struct grpc_deframer *d);

/* What the response headers and trailers said. */
struct grpc_result {
	long http_status;        /* :status, 0 = not seen */
	int have_status;         /* grpc-status seen */
	int status;              /* enum grpc_status */
	char message[512];       /* grpc-message, percent-decoded, truncated */
	char error_code[128];    /* Salesforce `error-code` */
	char rpc_id[64];         /* Salesforce `rpc-id` */
};

void grpc_result_init(struct grpc_result *r);
/* One header line as libcurl's header callback delivers it (status line,
 * "name: value\r\n", trailers included, the blank line). Unknown headers are
 * ignored; never fails. */
void grpc_result_header(struct grpc_result *r, const char *line, size_t len);
/* The call's status: grpc-status when seen, else from the HTTP status
 * (400→INTERNAL, 401→UNAUTHENTICATED, 403→PERMISSION_DENIED, 404→UNIMPLEMENTED,
 * 429/502/503/504→UNAVAILABLE, other non-200→UNKNOWN), else UNAVAILABLE
 * (the stream ended without a status). */
int grpc_result_status(const struct grpc_result *r);
/* 0 when the status is OK, else -1 with err mapped:
 * UNAUTHENTICATED→PT_UNAUTHENTICATED, INVALID_ARGUMENT→PT_VALIDATION_FAILED,
 * NOT_FOUND→PT_NOT_FOUND, RESOURCE_EXHAUSTED→PT_RATE_LIMITED,
 * UNAVAILABLE/INTERNAL/UNKNOWN/CANCELLED/DEADLINE_EXCEEDED→PT_UPSTREAM_UNAVAILABLE,
 * others→PT_UPSTREAM_ERROR; provider_code = the status name. */
int grpc_result_err(const struct grpc_result *r, struct pt_err *err);
/* The mapping on its own. */
enum pt_code grpc_status_pt_code(int status);
#endif
