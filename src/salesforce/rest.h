/* rest — Salesforce REST client (salesforce-rest.md §2-6): SOQL query with
 * paging, sObject get/create/update, and Order + OrderItems in one composite
 * call. Error bodies become struct pt_err with the Salesforce errorCode kept
 * in provider_code for logs. A 401 INVALID_SESSION_ID refreshes the token once
 * and retries that call once; only reads are retried on 429/5xx/transport
 * errors (by core/http); writes never are. */
#ifndef PT_SALESFORCE_REST_H
#define PT_SALESFORCE_REST_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/config.h"
#include "core/err.h"
#include "salesforce/auth.h"
#include "salesforce/soql.h"

struct redis;

/* Largest page body accepted from Salesforce (2,000 wide rows fit). */
#define SF_REST_BODY_MAX (16u * 1024 * 1024)
/* Upper bound for max_records in sf_rest_query. */
#define SF_REST_MAX_RECORDS 50000
#define SF_COMPOSITE_MAX_ITEMS 24

struct sf_client_opts {
	struct sf_auth_opts auth;
	const char *api_version;   /* "v60.0" */
	long timeout_ms;           /* SF_TIMEOUT_MS, total per call */
	int max_retries;           /* reads only; default 2 */
};

struct sf_client;

/* redis is borrowed (may be NULL: token per process). */
struct sf_client *sf_client_new(const struct sf_client_opts *opts, struct redis *redis,
	struct pt_err *err);
struct sf_client *sf_client_new_config(const struct pt_config *cfg, struct redis *redis,
	struct pt_err *err);
void sf_client_free(struct sf_client *c);

/* Runs soql (built with sf_soql_build) and follows nextRecordsUrl until done
 * or max_records rows were collected. *records = a new JSON array of the rows
 * (caller puts it); *total = totalSize (may exceed the rows returned; for
 * COUNT() queries it is the count). total may be NULL. query_all selects
 * /queryAll (deleted rows too). */
int sf_rest_query(struct sf_client *c, const char *soql, size_t max_records,
	struct json_object **records, long *total, struct pt_err *err);
int sf_rest_query_all(struct sf_client *c, const char *soql, size_t max_records,
	struct json_object **records, long *total, struct pt_err *err);

/* GET /sobjects/<sobject>/<id>[?fields=a,b]: fields NULL-terminated list from
 * the allow-list, or NULL for all. *record is new (caller puts it). */
int sf_rest_get(struct sf_client *c, const char *sobject, const char *id,
	const char *const *fields, struct json_object **record, struct pt_err *err);
/* POST /sobjects/<sobject>/ → new 18-char id in id_out. Never retried. */
int sf_rest_create(struct sf_client *c, const char *sobject, struct json_object *fields,
	char id_out[SF_ID_LEN18 + 1], struct pt_err *err);
/* PATCH /sobjects/<sobject>/<id>. Never retried. */
int sf_rest_update(struct sf_client *c, const char *sobject, const char *id,
	struct json_object *fields, struct pt_err *err);

/* One composite call (§6 A, allOrNone): the Order, then each OrderItem with
 * OrderId = @{refOrder.id}. items is an array of OrderItem field objects
 * (without OrderId), 1..SF_COMPOSITE_MAX_ITEMS. On success order_id_out holds
 * the new Order id. Any failure rolls everything back on Salesforce's side;
 * the error is that of the failing subrequest (not PROCESSING_HALTED). */
int sf_rest_create_order(struct sf_client *c, struct json_object *order,
	struct json_object *items, char order_id_out[SF_ID_LEN18 + 1], struct pt_err *err);

/* ---- parsers, exposed for unit tests and fuzzing (no I/O) ---- */

/* Maps an error answer (HTTP status + body: the §3 array, or anything else)
 * to err; always returns -1. */
int sf_rest_error(long status, const char *body, size_t len, struct pt_err *err);
/* Maps one parsed Salesforce error array / object to err; -1. */
int sf_rest_error_json(long status, struct json_object *errors, struct pt_err *err);
/* Parses one query page, appending up to `room` records to acc (an array).
 * next_url (size SF_NEXT_URL_MAX) gets nextRecordsUrl when not done, else "". */
#define SF_NEXT_URL_MAX 512
int sf_rest_parse_page(const char *body, size_t len, struct json_object *acc, size_t room,
	long *total, char *next_url, struct pt_err *err);
/* Parses a composite response; order_id_out on success. */
int sf_rest_parse_composite(long status, const char *body, size_t len,
	char order_id_out[SF_ID_LEN18 + 1], struct pt_err *err);
/* Parses a create answer {"id","success","errors"}. */
int sf_rest_parse_create(const char *body, size_t len, char id_out[SF_ID_LEN18 + 1],
	struct pt_err *err);

#endif
