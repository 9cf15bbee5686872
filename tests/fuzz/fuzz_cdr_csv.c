/* fuzz_cdr_csv — the call/SMS CSV parser on any bytes. The first byte
 * picks the kind and the chunk size, so split BOMs, CRLFs and quotes across
 * feed() calls are exercised too; every record is rendered. */
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "sftp/cdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_call(void *ctx, const struct domain_call_record *r, struct pt_err *err)
{
	(void)ctx;
	(void)err;
	json_object_put(domain_call_record_json(r));
	return 0;
}

static int on_sms(void *ctx, const struct domain_sms_record *r, struct pt_err *err)
{
	(void)ctx;
	(void)err;
	json_object_put(domain_sms_record_json(r));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cdr_callbacks cb = { on_call, on_sms };
	static int quiet;
	struct cdr_parser *p;
	struct cdr_stats st;
	struct pt_err err = { 0 };
	size_t chunk, off;
	int rc = 0;

	if (!quiet) {
		log_init("fuzz", LOG_LVL_CRIT, 0);
		quiet = 1;
	}
	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] >> 1) + 1;
	p = cdr_parser_new((data[0] & 1) ? DOMAIN_CDR_SMS : DOMAIN_CDR_CALLS, 2026, 9, &cb, NULL);
	if (!p)
		return 0;
	for (off = 1; off < size && rc == 0; off += chunk)
		rc = cdr_parser_feed(p, (const char *)data + off,
			size - off < chunk ? size - off : chunk, &err);
	if (rc == 0)
		cdr_parser_finish(p, &st, &err);
	cdr_parser_free(p);
	return 0;
}
