/* Fuzz: every parser of Salesforce answers and every Salesforce mapper over
 * arbitrary bytes: token response, error body, query page, create and
 * composite answers, and each record mapper on every object found. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "domain/account.h"
#include "domain/catalog.h"
#include "domain/order.h"
#include "domain/support.h"
#include "salesforce/auth.h"
#include "salesforce/rest.h"

static void map_record(struct json_object *r)
{
	struct pt_err e;
	struct domain_catalog_item it;
	struct domain_order o;
	struct domain_account a;
	struct domain_case *c;
	struct json_object *j;

	if (domain_catalog_item_from_sf(r, &it, &e) == 0) {
		j = domain_catalog_item_json(&it, 1);
		json_object_put(j);
	}
	if (domain_order_from_sf(r, &o, &e) == 0) {
		j = domain_order_json(&o);
		json_object_put(j);
	}
	if (domain_account_from_sf(r, &a, &e) == 0) {
		j = domain_account_json(&a);
		json_object_put(j);
	}
	c = domain_case_from_sf(r, &e);
	if (c) {
		j = domain_case_json(c, 1);
		json_object_put(j);
	}
	domain_case_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct pt_err e;
	struct sf_token t;
	char id[SF_ID_LEN18 + 1], next[SF_NEXT_URL_MAX];
	long total;
	struct json_object *acc = json_object_new_array(), *doc;

	sf_auth_parse_token_response(200, s, size, &t, &e);
	sf_auth_parse_token_response(400, s, size, &t, &e);
	sf_rest_error(400, s, size, &e);
	sf_rest_parse_create(s, size, id, &e);
	sf_rest_parse_composite(200, s, size, id, &e);
	sf_rest_parse_page(s, size, acc, 100, &total, next, &e);
	for (size_t i = 0; i < json_object_array_length(acc); i++)
		map_record(json_object_array_get_idx(acc, i));
	json_object_put(acc);
	doc = json_parse_bounded(s, size, 1 << 20, JSON_DEFAULT_MAX_DEPTH, &e);
	if (doc) {
		map_record(doc);
		if (json_object_is_type(doc, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(doc) && i < 64; i++)
				map_record(json_object_array_get_idx(doc, i));
			char cid[19];
			domain_contact_pick(doc, "a@example.jp", cid);
		}
		json_object_put(doc);
	}
	return 0;
}
