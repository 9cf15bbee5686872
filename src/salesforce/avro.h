/* avro — decodes Pub/Sub event payloads (one bare Avro binary datum) with
 * the writer schema fetched by GetSchema, and pulls out what the portal acts
 * on: OrderProvisionRequested__e, AccountEligibilityChanged__e and CDC change
 * events (ChangeEventHeader + changedFields bitmaps turned into field names).
 * Fields are found by name; unknown fields are ignored, missing ones are empty
 * (salesforce-pubsub.md §5). Schemas are cached by id in-process. */
#ifndef PT_SALESFORCE_AVRO_H
#define PT_SALESFORCE_AVRO_H
#include <stddef.h>
#include "core/buf.h"
#include "core/err.h"

/* Events larger than this are refused before decoding (Publish: ≤ 1 MB). */
#define SF_AVRO_PAYLOAD_MAX (1024 * 1024)
#define SF_EVENT_MAX_IDS 16

struct sf_avro_schema;

/* Parses a writer schema (JSON). NULL + PT_UPSTREAM_ERROR when invalid. */
struct sf_avro_schema *sf_avro_schema_new(const char *json, size_t len, struct pt_err *err);
void sf_avro_schema_free(struct sf_avro_schema *s);
/* The record's name ("OrderProvisionRequested__e", "Product2ChangeEvent"). */
const char *sf_avro_schema_name(const struct sf_avro_schema *s);

enum sf_event_kind {
	SF_EVENT_OTHER = 0,
	SF_EVENT_PROVISION,    /* OrderProvisionRequested__e */
	SF_EVENT_ELIGIBILITY,  /* AccountEligibilityChanged__e */
	SF_EVENT_CDC           /* <Object>ChangeEvent */
};

/* The fields the portal uses. Strings are "" when null or absent (or too long
 * for their slot: an id that does not fit is not a valid id anyway). */
struct sf_event {
	enum sf_event_kind kind;
	long long created_date;        /* CreatedDate epoch ms (platform events), 0 if absent */
	char order_id[32];             /* OrderId__c; CDC: OrderId (OrderItem) */
	char idem_key[96];             /* IdemKey__c */
	char correlation_id[96];       /* CorrelationId__c */
	char account_id[32];           /* AccountId__c; CDC: AccountId (Order) */
	/* CDC header */
	char entity_name[64];
	char change_type[16];          /* enum symbol: CREATE, UPDATE, GAP_OVERFLOW… */
	long long commit_timestamp;
	int n_record_ids;
	char record_ids[SF_EVENT_MAX_IDS][32];
	struct buf changed_fields;     /* "Name,LastModifiedDate,ShippingAddress.City" */
};

void sf_event_init(struct sf_event *ev);
void sf_event_free(struct sf_event *ev);

/* Decodes payload with schema into ev (reset first). -1 + PT_UPSTREAM_ERROR
 * when the bytes do not match the schema (truncated, bad lengths…). */
int sf_avro_decode(const struct sf_avro_schema *s, const void *payload, size_t len,
	struct sf_event *ev, struct pt_err *err);

/* One changedFields element ("0x82", "4-0x10") decoded against the schema's
 * record fields; appends comma-separated names ("Parent.Child" for nested) to
 * out. Bits past the field count are ignored. -1 on a malformed element. */
int sf_avro_bitmap_names(const struct sf_avro_schema *s, const char *elem, struct buf *out,
	struct pt_err *err);

/* In-process schema cache keyed by schema id (a content hash: never stale). */
struct sf_avro_cache;
struct sf_avro_cache *sf_avro_cache_new(void);
void sf_avro_cache_free(struct sf_avro_cache *c);
/* Borrowed pointer or NULL. */
const struct sf_avro_schema *sf_avro_cache_get(struct sf_avro_cache *c, const char *id);
/* Takes ownership of s (freed on failure too). Bounded: the oldest entry goes. */
int sf_avro_cache_put(struct sf_avro_cache *c, const char *id, struct sf_avro_schema *s,
	struct pt_err *err);
#endif
