/* Fuzz: the gRPC deframer and the trailer parser on arbitrary bytes. The
 * input is fed to the deframer in chunks whose sizes come from the input
 * itself (first byte), and each line of it is also parsed as a header. Every
 * message delivered must fit the bound; nothing may read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "salesforce/grpc.h"

static int check_msg(void *ctx, const unsigned char *msg, size_t len, struct pt_err *err)
{
	size_t *total = ctx;
	(void)err;
	if (len > 4096)
		abort();
	for (size_t i = 0; i < len; i++)
		*total += msg[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grpc_deframer d;
	struct grpc_result r;
	struct pt_err e = { 0 };
	size_t total = 0, chunk, off = 1;

	if (size == 0)
		return 0;
	chunk = (size_t)(data[0] % 17) + 1;
	grpc_deframer_init(&d, 4096);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (grpc_deframer_feed(&d, data + off, n, check_msg, &total, &e) < 0)
			break;
		off += n;
	}
	grpc_deframer_free(&d);

	grpc_result_init(&r);
	for (size_t i = 1, start = 1; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			grpc_result_header(&r, (const char *)data + start, i - start);
			start = i + 1;
		}
	}
	(void)grpc_result_status(&r);
	(void)grpc_result_err(&r, &e);
	return 0;
}
