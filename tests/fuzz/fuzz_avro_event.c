/* Fuzz: event payload decoding. The first byte picks one of the simulator's
 * writer schemas (embedded: the harness must not depend on files); the rest
 * is the payload, as Publish does not validate payloads. Decoding must fail
 * cleanly or fill bounded fields; changedFields elements come from the
 * payload too, so the bitmap decoder is exercised as well. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "salesforce/avro.h"

#define NULLABLE(n, t) "{\"name\":\"" n "\",\"type\":[\"null\",\"" t "\"],\"default\":null}"
#define HEADER \
	"{\"name\":\"ChangeEventHeader\",\"type\":{\"type\":\"record\",\"name\":\"ChangeEventHeader\"," \
	"\"fields\":[{\"name\":\"entityName\",\"type\":\"string\"}," \
	"{\"name\":\"recordIds\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}," \
	"{\"name\":\"changeType\",\"type\":{\"type\":\"enum\",\"name\":\"ChangeType\",\"symbols\":" \
	"[\"CREATE\",\"UPDATE\",\"DELETE\",\"UNDELETE\",\"GAP_CREATE\",\"GAP_UPDATE\",\"GAP_DELETE\"," \
	"\"GAP_UNDELETE\",\"GAP_OVERFLOW\",\"SNAPSHOT\"]}}," \
	"{\"name\":\"changeOrigin\",\"type\":\"string\"},{\"name\":\"transactionKey\",\"type\":\"string\"}," \
	"{\"name\":\"sequenceNumber\",\"type\":\"int\"},{\"name\":\"commitTimestamp\",\"type\":\"long\"}," \
	"{\"name\":\"commitNumber\",\"type\":\"long\"},{\"name\":\"commitUser\",\"type\":\"string\"}," \
	"{\"name\":\"nulledFields\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}," \
	"{\"name\":\"diffFields\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}," \
	"{\"name\":\"changedFields\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}]}}"

static const char *const schemas[] = {
	"{\"type\":\"record\",\"name\":\"OrderProvisionRequested__e\",\"fields\":["
	"{\"name\":\"CreatedDate\",\"type\":\"long\"},{\"name\":\"CreatedById\",\"type\":\"string\"},"
	NULLABLE("OrderId__c", "string") "," NULLABLE("IdemKey__c", "string") ","
	NULLABLE("CorrelationId__c", "string") "," NULLABLE("RequestedBy__c", "string") ","
	NULLABLE("Version__c", "double") "]}",
	"{\"type\":\"record\",\"name\":\"OrderChangeEvent\",\"fields\":[" HEADER ","
	NULLABLE("AccountId", "string") "," NULLABLE("Status", "string") ","
	NULLABLE("TotalAmount", "double") ","
	"{\"name\":\"ShippingAddress\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Address\","
	"\"fields\":[" NULLABLE("Street", "string") "," NULLABLE("City", "string") "]}],\"default\":null}"
	"]}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sf_avro_schema *parsed[2];
	struct pt_err e = { 0 };
	struct sf_event ev;
	size_t which;

	if (size < 1)
		return 0;
	which = data[0] % 2;
	if (!parsed[which])
		parsed[which] = sf_avro_schema_new(schemas[which], strlen(schemas[which]), &e);
	if (!parsed[which])
		abort();
	sf_event_init(&ev);
	if (sf_avro_decode(parsed[which], data + 1, size - 1, &ev, &e) == 0) {
		if (strlen(ev.order_id) >= sizeof(ev.order_id) || ev.n_record_ids > SF_EVENT_MAX_IDS)
			abort();
	}
	sf_event_free(&ev);
	return 0;
}
