/* avro — event payload decoding with Avro C (see avro.h). */
#include "config.h"
#include "salesforce/avro.h"

#include <avro.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A bitmap element longer than this is not one Salesforce would send. */
#define BITMAP_MAX 1024
#define CACHE_SLOTS 64

struct sf_avro_schema {
	avro_schema_t schema;
	avro_value_iface_t *iface;
	char name[128];
};

struct sf_avro_schema *sf_avro_schema_new(const char *json, size_t len, struct pt_err *err)
{
	struct sf_avro_schema *s = calloc(1, sizeof(*s));

	if (!s) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return NULL;
	}
	if (avro_schema_from_json_length(json, len, &s->schema) != 0) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "avro schema: %s", avro_strerror());
		goto fail;
	}
	if (avro_typeof(s->schema) != AVRO_RECORD) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "avro schema: not a record");
		goto fail;
	}
	s->iface = avro_generic_class_from_schema(s->schema);
	if (!s->iface) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "avro class: %s", avro_strerror());
		goto fail;
	}
	str_lcpy(s->name, avro_schema_name(s->schema), sizeof(s->name));
	return s;
fail:
	sf_avro_schema_free(s);
	return NULL;
}

void sf_avro_schema_free(struct sf_avro_schema *s)
{
	if (!s)
		return;
	if (s->iface)
		avro_value_iface_decref(s->iface);
	if (s->schema)
		avro_schema_decref(s->schema);
	free(s);
}

const char *sf_avro_schema_name(const struct sf_avro_schema *s)
{
	return s->name;
}

void sf_event_init(struct sf_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	buf_init(&ev->changed_fields, 64 * 1024);
}

void sf_event_free(struct sf_event *ev)
{
	if (ev)
		buf_free(&ev->changed_fields);
}

/* The value itself, or the current branch of a ["null", T] union;
 * 0 when it holds a non-null value. */
static int unwrap(avro_value_t *v, avro_value_t *out)
{
	if (avro_value_get_type(v) == AVRO_UNION) {
		if (avro_value_get_current_branch(v, out) != 0)
			return -1;
	} else {
		*out = *v;
	}
	return avro_value_get_type(out) == AVRO_NULL ? -1 : 0;
}

static int field(avro_value_t *rec, const char *name, avro_value_t *out)
{
	avro_value_t f;

	if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
		return -1;
	return unwrap(&f, out);
}

static void copy_str(avro_value_t *v, char *dst, size_t size)
{
	const char *p = NULL;
	size_t n = 0;

	dst[0] = '\0';
	if (avro_value_get_type(v) != AVRO_STRING || avro_value_get_string(v, &p, &n) != 0 || !p)
		return;
	if (n > 0 && p[n - 1] == '\0')
		n--;   /* Avro C counts the NUL */
	if (n < size) {
		memcpy(dst, p, n);
		dst[n] = '\0';
	}
}

static void get_str(avro_value_t *rec, const char *name, char *dst, size_t size)
{
	avro_value_t v;

	dst[0] = '\0';
	if (field(rec, name, &v) == 0)
		copy_str(&v, dst, size);
}

static long long get_long(avro_value_t *rec, const char *name)
{
	avro_value_t v;
	int64_t l = 0;

	if (field(rec, name, &v) != 0 || avro_value_get_type(&v) != AVRO_INT64 ||
		avro_value_get_long(&v, &l) != 0)
		return 0;
	return (long long)l;
}

/* The record schema behind field idx (unwrapping a nullable union), or NULL. */
static avro_schema_t nested_record(avro_schema_t rec, size_t idx)
{
	avro_schema_t f = avro_schema_record_field_get_by_index(rec, (int)idx);

	if (f && avro_typeof(f) == AVRO_UNION) {
		for (size_t b = 0; b < avro_schema_union_size(f); b++) {
			avro_schema_t br = avro_schema_union_branch(f, (int)b);
			if (avro_typeof(br) == AVRO_RECORD)
				return br;
		}
		return NULL;
	}
	return f && avro_typeof(f) == AVRO_RECORD ? f : NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int add_name(struct buf *out, const char *parent, const char *name)
{
	if (out->len && buf_putc(out, ',') < 0)
		return -1;
	if (parent && (buf_puts(out, parent) < 0 || buf_putc(out, '.') < 0))
		return -1;
	return buf_puts(out, name ? name : "?");
}

/* hex = digits after "0x"; bit i names field i of rec. */
static int bitmap_walk(avro_schema_t rec, const char *parent, const char *hex, size_t n,
	struct buf *out, struct pt_err *err)
{
	size_t nfields = avro_schema_record_size(rec);

	if (n == 0)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "changedFields: empty bitmap");
	for (size_t k = 0; k < n; k++) {
		int d = hexval(hex[n - 1 - k]);
		if (d < 0)
			return pt_err_set(err, PT_UPSTREAM_ERROR, "changedFields: bad hex digit");
		for (size_t b = 0; b < 4; b++) {
			size_t i = k * 4 + b;
			if (!(d & (1 << b)) || i >= nfields)
				continue;
			if (add_name(out, parent, avro_schema_record_field_name(rec, (int)i)) < 0)
				return pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "changedFields: too many names");
		}
	}
	return 0;
}

int sf_avro_bitmap_names(const struct sf_avro_schema *s, const char *elem, struct buf *out,
	struct pt_err *err)
{
	size_t len = strlen(elem);
	const char *dash = memchr(elem, '-', len);
	avro_schema_t rec = s->schema;
	const char *parent = NULL;

	if (len > BITMAP_MAX)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "changedFields: element too long");
	if (dash) {
		char *end;
		unsigned long p;
		if (dash == elem || elem[0] < '0' || elem[0] > '9')
			return pt_err_set(err, PT_UPSTREAM_ERROR, "changedFields: bad parent index");
		p = strtoul(elem, &end, 10);
		if (end != dash)
			return pt_err_set(err, PT_UPSTREAM_ERROR, "changedFields: bad parent index");
		if (p >= avro_schema_record_size(s->schema))
			return 0;   /* past the field count: ignored */
		rec = nested_record(s->schema, p);
		if (!rec)
			return pt_err_set(err, PT_UPSTREAM_ERROR, "changedFields: field %lu is not a record", p);
		parent = avro_schema_record_field_name(s->schema, (int)p);
		elem = dash + 1;
		len = strlen(elem);
	}
	if (len < 2 || elem[0] != '0' || (elem[1] != 'x' && elem[1] != 'X'))
		return pt_err_set(err, PT_UPSTREAM_ERROR, "changedFields: element without 0x");
	return bitmap_walk(rec, parent, elem + 2, len - 2, out, err);
}

/* ---- bounds pre-check ----------------------------------------------
 * Avro C allocates a string's or array's claimed length before it checks
 * the input holds that much (a 5-byte payload can ask for 2 GiB, found by
 * fuzz_avro_event). So every payload is first walked against the schema
 * here, checking each length and block count against the bytes left; only
 * a payload that passes is handed to avro_value_read. */

#define WALK_DEPTH_MAX 32

struct cursor {
	const unsigned char *p;
	size_t left;
};

/* Zig-zag varint of at most 10 bytes. */
static int rd_long(struct cursor *c, int64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		unsigned char b;
		if (c->left == 0)
			return -1;
		b = *c->p++;
		c->left--;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			return 0;
		}
	}
	return -1;
}

static int skip(struct cursor *c, int64_t n)
{
	if (n < 0 || (uint64_t)n > c->left)
		return -1;
	c->p += n;
	c->left -= (size_t)n;
	return 0;
}

static int walk(avro_schema_t s, struct cursor *c, int depth);

/* Arrays and maps: blocks of (count, [byte size,] items) ending with 0. */
static int walk_blocks(avro_schema_t items, int is_map, struct cursor *c, int depth)
{
	for (;;) {
		int64_t n, bytes;
		if (rd_long(c, &n) < 0)
			return -1;
		if (n == 0)
			return 0;
		if (n < 0) {
			if (n == INT64_MIN || rd_long(c, &bytes) < 0 || bytes < 0)
				return -1;
			n = -n;
		}
		if ((uint64_t)n > c->left)   /* even empty items cannot be that many */
			return -1;
		for (int64_t i = 0; i < n; i++) {
			int64_t klen;
			if (is_map && (rd_long(c, &klen) < 0 || skip(c, klen) < 0))
				return -1;
			if (walk(items, c, depth + 1) < 0)
				return -1;
		}
	}
}

static int walk_record(avro_schema_t s, struct cursor *c, int depth)
{
	size_t n = avro_schema_record_size(s);

	for (size_t i = 0; i < n; i++)
		if (walk(avro_schema_record_field_get_by_index(s, (int)i), c, depth + 1) < 0)
			return -1;
	return 0;
}

static int walk_union(avro_schema_t s, struct cursor *c, int depth)
{
	int64_t b;

	if (rd_long(c, &b) < 0 || b < 0 || (uint64_t)b >= avro_schema_union_size(s))
		return -1;
	return walk(avro_schema_union_branch(s, (int)b), c, depth + 1);
}

static int walk(avro_schema_t s, struct cursor *c, int depth)
{
	int64_t v;

	if (!s || depth > WALK_DEPTH_MAX)
		return -1;
	switch (avro_typeof(s)) {
	case AVRO_NULL: return 0;
	case AVRO_BOOLEAN: return skip(c, 1);
	case AVRO_INT32: case AVRO_INT64: case AVRO_ENUM: return rd_long(c, &v);
	case AVRO_FLOAT: return skip(c, 4);
	case AVRO_DOUBLE: return skip(c, 8);
	case AVRO_STRING: case AVRO_BYTES:
		return rd_long(c, &v) < 0 ? -1 : skip(c, v);
	case AVRO_FIXED: return skip(c, avro_schema_fixed_size(s));
	case AVRO_RECORD: return walk_record(s, c, depth);
	case AVRO_UNION: return walk_union(s, c, depth);
	case AVRO_ARRAY: return walk_blocks(avro_schema_array_items(s), 0, c, depth);
	case AVRO_MAP: return walk_blocks(avro_schema_map_values(s), 1, c, depth);
	case AVRO_LINK: return walk(avro_schema_link_target(s), c, depth + 1);
	default: return -1;
	}
}

static enum sf_event_kind kind_of(const char *name)
{
	size_t n = strlen(name);

	if (strcmp(name, "OrderProvisionRequested__e") == 0)
		return SF_EVENT_PROVISION;
	if (strcmp(name, "AccountEligibilityChanged__e") == 0)
		return SF_EVENT_ELIGIBILITY;
	if (n > 11 && strcmp(name + n - 11, "ChangeEvent") == 0)
		return SF_EVENT_CDC;
	return SF_EVENT_OTHER;
}

static void decode_record_ids(avro_value_t *hdr, struct sf_event *ev)
{
	avro_value_t arr, item;
	size_t n = 0;

	if (field(hdr, "recordIds", &arr) != 0 || avro_value_get_type(&arr) != AVRO_ARRAY ||
		avro_value_get_size(&arr, &n) != 0)
		return;
	for (size_t i = 0; i < n && ev->n_record_ids < SF_EVENT_MAX_IDS; i++) {
		if (avro_value_get_by_index(&arr, i, &item, NULL) != 0)
			return;
		copy_str(&item, ev->record_ids[ev->n_record_ids], sizeof(ev->record_ids[0]));
		ev->n_record_ids++;
	}
}

static int decode_changed(const struct sf_avro_schema *s, avro_value_t *hdr,
	struct sf_event *ev, struct pt_err *err)
{
	avro_value_t arr, item;
	size_t n = 0;
	char elem[BITMAP_MAX + 1];

	if (field(hdr, "changedFields", &arr) != 0 || avro_value_get_type(&arr) != AVRO_ARRAY ||
		avro_value_get_size(&arr, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (avro_value_get_by_index(&arr, i, &item, NULL) != 0)
			return pt_err_set(err, PT_UPSTREAM_ERROR, "changedFields: unreadable");
		copy_str(&item, elem, sizeof(elem));
		if (sf_avro_bitmap_names(s, elem, &ev->changed_fields, err) < 0)
			return -1;
	}
	return 0;
}

static int decode_cdc(const struct sf_avro_schema *s, avro_value_t *root, struct sf_event *ev,
	struct pt_err *err)
{
	avro_value_t hdr, ct;
	int sym = 0;

	if (field(root, "ChangeEventHeader", &hdr) != 0 || avro_value_get_type(&hdr) != AVRO_RECORD)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "change event without ChangeEventHeader");
	get_str(&hdr, "entityName", ev->entity_name, sizeof(ev->entity_name));
	ev->commit_timestamp = get_long(&hdr, "commitTimestamp");
	if (field(&hdr, "changeType", &ct) == 0 && avro_value_get_type(&ct) == AVRO_ENUM &&
		avro_value_get_enum(&ct, &sym) == 0) {
		const char *name = avro_schema_enum_get(avro_value_get_schema(&ct), sym);
		str_lcpy(ev->change_type, name ? name : "", sizeof(ev->change_type));
	}
	decode_record_ids(&hdr, ev);
	get_str(root, "AccountId", ev->account_id, sizeof(ev->account_id));
	get_str(root, "OrderId", ev->order_id, sizeof(ev->order_id));
	return decode_changed(s, &hdr, ev, err);
}

static void reset_event(struct sf_event *ev)
{
	struct buf keep = ev->changed_fields;

	memset(ev, 0, sizeof(*ev));
	ev->changed_fields = keep;
	buf_reset(&ev->changed_fields);
}

int sf_avro_decode(const struct sf_avro_schema *s, const void *payload, size_t len,
	struct sf_event *ev, struct pt_err *err)
{
	avro_value_t root;
	avro_reader_t rd = NULL;
	int rc = -1;

	reset_event(ev);
	if (len > SF_AVRO_PAYLOAD_MAX)
		return pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "event payload of %zu bytes", len);
	struct cursor cur = { payload, len };
	if (walk(s->schema, &cur, 0) < 0)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "avro payload does not match schema %s "
			"(lengths past the end)", s->name);
	if (avro_generic_value_new(s->iface, &root) != 0)
		return pt_err_set(err, PT_INTERNAL, "avro value: %s", avro_strerror());
	rd = avro_reader_memory(payload, (int64_t)len);
	if (!rd || avro_value_read(rd, &root) != 0) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "avro payload does not match schema %s", s->name);
		goto out;
	}
	ev->kind = kind_of(s->name);
	ev->created_date = get_long(&root, "CreatedDate");
	if (ev->kind == SF_EVENT_CDC) {
		rc = decode_cdc(s, &root, ev, err);
		goto out;
	}
	get_str(&root, "OrderId__c", ev->order_id, sizeof(ev->order_id));
	get_str(&root, "IdemKey__c", ev->idem_key, sizeof(ev->idem_key));
	get_str(&root, "CorrelationId__c", ev->correlation_id, sizeof(ev->correlation_id));
	get_str(&root, "AccountId__c", ev->account_id, sizeof(ev->account_id));
	rc = 0;
out:
	if (rd)
		avro_reader_free(rd);
	avro_value_decref(&root);
	return rc;
}

struct sf_avro_cache {
	char ids[CACHE_SLOTS][64];
	struct sf_avro_schema *schemas[CACHE_SLOTS];
	size_t next;   /* slot replaced next when full */
};

struct sf_avro_cache *sf_avro_cache_new(void)
{
	return calloc(1, sizeof(struct sf_avro_cache));
}

void sf_avro_cache_free(struct sf_avro_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		sf_avro_schema_free(c->schemas[i]);
	free(c);
}

const struct sf_avro_schema *sf_avro_cache_get(struct sf_avro_cache *c, const char *id)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		if (c->schemas[i] && strcmp(c->ids[i], id) == 0)
			return c->schemas[i];
	return NULL;
}

int sf_avro_cache_put(struct sf_avro_cache *c, const char *id, struct sf_avro_schema *s,
	struct pt_err *err)
{
	size_t slot = c->next;

	if (strlen(id) >= sizeof(c->ids[0])) {
		sf_avro_schema_free(s);
		return pt_err_set(err, PT_UPSTREAM_ERROR, "schema id too long");
	}
	sf_avro_schema_free(c->schemas[slot]);
	c->schemas[slot] = s;
	str_lcpy(c->ids[slot], id, sizeof(c->ids[slot]));
	c->next = (slot + 1) % CACHE_SLOTS;
	return 0;
}
