/* grpc — framing, deframing and status parsing (see grpc.h). */
#include "config.h"
#include "salesforce/grpc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const status_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED"
};

const char *grpc_status_name(int status)
{
	if (status < 0 || status > GRPC_UNAUTHENTICATED)
		return "UNKNOWN";
	return status_names[status];
}

int grpc_frame(struct buf *out, const void *msg, size_t len, struct pt_err *err)
{
	unsigned char hdr[5];

	if (len > GRPC_MSG_MAX)
		return pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "grpc message of %zu bytes", len);
	hdr[0] = 0;
	hdr[1] = (unsigned char)(len >> 24);
	hdr[2] = (unsigned char)(len >> 16);
	hdr[3] = (unsigned char)(len >> 8);
	hdr[4] = (unsigned char)len;
	if (buf_append(out, hdr, 5) < 0 || (len && buf_append(out, msg, len) < 0))
		return pt_err_set(err, PT_INTERNAL, "grpc frame: buffer bound");
	return 0;
}

void grpc_deframer_init(struct grpc_deframer *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max ? max : GRPC_MSG_MAX;
	/* +1: buf keeps a NUL after the data */
	buf_init(&d->body, d->max + 1);
}

void grpc_deframer_free(struct grpc_deframer *d)
{
	if (!d)
		return;
	buf_free(&d->body);
	d->hdr_len = 0;
	d->need = 0;
}

int grpc_deframer_idle(const struct grpc_deframer *d)
{
	return d->hdr_len == 0;
}

static int protocol_error(struct grpc_deframer *d, struct pt_err *err, const char *what)
{
	d->failed = 1;
	pt_err_set(err, PT_UPSTREAM_ERROR, "grpc framing: %s", what);
	pt_err_provider(err, "INTERNAL");
	return -1;
}

/* Header complete: validate it and learn the body length. */
static int take_header(struct grpc_deframer *d, struct pt_err *err)
{
	if (d->hdr[0] != 0)
		return protocol_error(d, err, "compressed message (no grpc-encoding was negotiated)");
	d->need = (uint32_t)d->hdr[1] << 24 | (uint32_t)d->hdr[2] << 16 |
		(uint32_t)d->hdr[3] << 8 | (uint32_t)d->hdr[4];
	if (d->need > d->max)
		return protocol_error(d, err, "message longer than the bound");
	buf_reset(&d->body);
	return 0;
}

static int deliver(struct grpc_deframer *d, grpc_msg_fn fn, void *ctx, struct pt_err *err)
{
	int rc = fn(ctx, (const unsigned char *)(d->body.data ? d->body.data : ""),
		d->body.len, err);

	d->hdr_len = 0;
	d->need = 0;
	buf_reset(&d->body);
	return rc;
}

int grpc_deframer_feed(struct grpc_deframer *d, const void *data, size_t n,
	grpc_msg_fn fn, void *ctx, struct pt_err *err)
{
	const unsigned char *p = data;

	if (d->failed)
		return protocol_error(d, err, "input after a framing error");
	while (n > 0 || (d->hdr_len == 5 && d->body.len == d->need)) {
		if (d->hdr_len < 5) {
			size_t take = 5 - d->hdr_len < n ? 5 - d->hdr_len : n;
			memcpy(d->hdr + d->hdr_len, p, take);
			d->hdr_len += take;
			p += take;
			n -= take;
			if (d->hdr_len < 5)
				break;
			if (take_header(d, err) < 0)
				return -1;
		}
		size_t want = d->need - d->body.len;
		size_t take = want < n ? want : n;
		if (take && buf_append(&d->body, p, take) < 0)
			return protocol_error(d, err, "out of memory");
		p += take;
		n -= take;
		if (d->body.len < d->need)
			break;
		if (deliver(d, fn, ctx, err) < 0)
			return -1;
	}
	return 0;
}

void grpc_result_init(struct grpc_result *r)
{
	memset(r, 0, sizeof(*r));
}

/* Copies a header value without surrounding blanks and CR/LF. */
static void copy_value(char *dst, size_t size, const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' ||
		v[len - 1] == '\t'))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static int name_is(const char *line, size_t nlen, const char *name)
{
	return strlen(name) == nlen && strncasecmp(line, name, nlen) == 0;
}

/* "HTTP/2 200" — a new response begins (e.g. after 100-continue): forget the old one. */
static void status_line(struct grpc_result *r, const char *line, size_t len)
{
	char tmp[32];
	const char *sp;

	copy_value(tmp, sizeof(tmp), line, len);
	sp = strchr(tmp, ' ');
	grpc_result_init(r);
	if (sp)
		r->http_status = strtol(sp + 1, NULL, 10);
}

static void parse_status(struct grpc_result *r, const char *v, size_t len)
{
	char tmp[16];
	char *end;
	long s;

	copy_value(tmp, sizeof(tmp), v, len);
	s = strtol(tmp, &end, 10);
	if (end == tmp || *end != '\0' || s < 0 || s > 1000)
		s = GRPC_UNKNOWN;
	r->have_status = 1;
	r->status = (int)s;
}

/* grpc-message is percent-encoded; an invalid escape keeps the raw text. */
static void parse_message(struct grpc_result *r, const char *v, size_t len)
{
	char raw[sizeof(r->message) * 3];

	copy_value(raw, sizeof(raw), v, len);
	if (str_url_decode(r->message, sizeof(r->message), raw, strlen(raw), 0) < 0)
		str_lcpy(r->message, raw, sizeof(r->message));
}

void grpc_result_header(struct grpc_result *r, const char *line, size_t len)
{
	const char *colon;
	size_t nlen;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		status_line(r, line, len);
		return;
	}
	colon = memchr(line, ':', len);
	if (!colon || colon == line)
		return;
	nlen = (size_t)(colon - line);
	colon++;
	len -= nlen + 1;
	if (name_is(line, nlen, "grpc-status"))
		parse_status(r, colon, len);
	else if (name_is(line, nlen, "grpc-message"))
		parse_message(r, colon, len);
	else if (name_is(line, nlen, "error-code"))
		copy_value(r->error_code, sizeof(r->error_code), colon, len);
	else if (name_is(line, nlen, "rpc-id"))
		copy_value(r->rpc_id, sizeof(r->rpc_id), colon, len);
}

static int http_to_grpc(long http)
{
	switch (http) {
	case 400: return GRPC_INTERNAL;
	case 401: return GRPC_UNAUTHENTICATED;
	case 403: return GRPC_PERMISSION_DENIED;
	case 404: return GRPC_UNIMPLEMENTED;
	case 429: case 502: case 503: case 504: return GRPC_UNAVAILABLE;
	default: return GRPC_UNKNOWN;
	}
}

int grpc_result_status(const struct grpc_result *r)
{
	if (r->http_status != 0 && r->http_status != 200)
		return http_to_grpc(r->http_status);
	if (r->have_status)
		return r->status;
	return GRPC_UNAVAILABLE;
}

enum pt_code grpc_status_pt_code(int status)
{
	switch (status) {
	case GRPC_OK: return PT_OK;
	case GRPC_UNAUTHENTICATED: return PT_UNAUTHENTICATED;
	case GRPC_INVALID_ARGUMENT: return PT_VALIDATION_FAILED;
	case GRPC_NOT_FOUND: return PT_NOT_FOUND;
	case GRPC_RESOURCE_EXHAUSTED: return PT_RATE_LIMITED;
	case GRPC_UNAVAILABLE: case GRPC_INTERNAL: case GRPC_UNKNOWN:
	case GRPC_CANCELLED: case GRPC_DEADLINE_EXCEEDED:
		return PT_UPSTREAM_UNAVAILABLE;
	default: return PT_UPSTREAM_ERROR;
	}
}

int grpc_result_err(const struct grpc_result *r, struct pt_err *err)
{
	int s = grpc_result_status(r);

	if (s == GRPC_OK)
		return 0;
	pt_err_set(err, grpc_status_pt_code(s), "grpc %s (%d) error_code=%s rpc_id=%s: %s",
		grpc_status_name(s), s, r->error_code, r->rpc_id, r->message);
	pt_err_provider(err, grpc_status_name(s));
	return -1;
}
