/* fuzz_webhook — a WHMCS webhook POST (resolutions §17) through
 * webhook_verify: signature header, raw body, clock. Input: the
 * X-WHMCS-Signature value up to the first '\n', then the raw body.
 * A header of "*" is replaced by the body's correct HMAC, so the fuzzer
 * also reaches the JSON and field checks behind the signature; "-" means
 * the header is missing. The body is copied to a buffer of its exact size
 * (no NUL) so an over-read of the raw body shows under ASan. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/webhooks.h"
#include "core/crypto.h"

#define FUZZ_SECRET "fuzz-webhook-secret"
/* The seed corpus's events carry timestamps around this instant. */
#define FUZZ_NOW 1795000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	size_t blen = nl ? size - hlen - 1 : 0;
	char *hdr = malloc(hlen + 1), *body = malloc(blen ? blen : 1);
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	unsigned char mac[CRYPTO_SHA256_LEN];
	const char *sig = hdr;
	struct webhook_event ev;
	struct pt_err err = { 0 };
	int rc;

	if (!hdr || !body)
		goto out;
	memcpy(hdr, data, hlen);
	hdr[hlen] = '\0';
	if (blen)
		memcpy(body, nl + 1, blen);
	if (strcmp(hdr, "*") == 0) {
		if (crypto_hmac_sha256(FUZZ_SECRET, strlen(FUZZ_SECRET), body, blen, mac) != 0)
			goto out;
		for (size_t i = 0; i < sizeof mac; i++)
			snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		sig = hex;
	} else if (strcmp(hdr, "-") == 0) {
		sig = NULL;
	}
	rc = webhook_verify(FUZZ_SECRET, body, blen, sig, FUZZ_NOW, &ev, &err);
	/* What webhook_apply relies on when the check passes. */
	if (rc == 0 && (!ev.id[0] || strlen(ev.id) > WEBHOOK_ID_MAX || ev.client_id < 1 ||
	    ev.invoice_id < 0 || ev.timestamp < FUZZ_NOW - WEBHOOK_WINDOW_S ||
	    ev.timestamp > FUZZ_NOW + WEBHOOK_WINDOW_S))
		abort();
	if (rc != 0 && err.code == PT_OK)
		abort();
out:
	free(hdr);
	free(body);
	return 0;
}
