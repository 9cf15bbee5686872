/* domain/provisioning — the Order as the provisioning worker reads it, and
 * the item → WHMCS product mapping (see provisioning.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "domain/common.h"
#include "domain/provisioning.h"
#include "salesforce/soql.h"

static int bad(struct pt_err *err, const char *what)
{
	pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce order (provisioning): bad %s", what);
	pt_err_provider(err, "BAD_RECORD");
	return -1;
}

/* A whole number sent as a JSON number (1, 1.0) or numeric text; 0 when
 * absent or null; -1 when present but not a positive whole number. */
static int whole_number(struct json_object *obj, const char *key, long *out)
{
	struct json_object *v;
	double d;
	char *end;

	*out = 0;
	if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = (long)json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		if (!isfinite(d) || d != floor(d) || d > 2147483647.0)
			return -1;
		*out = (long)d;
	} else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		if (!*s)
			return 0;
		*out = strtol(s, &end, 10);
		if (*end)
			return -1;
	} else {
		return -1;
	}
	return *out > 0 ? 0 : -1;
}

static int item_from_sf(struct json_object *r, struct domain_prov_item *it, struct pt_err *err)
{
	char id[32];
	struct json_object *p2 = NULL;

	memset(it, 0, sizeof *it);
	if (domain_json_str(r, "Id", id, sizeof id, 0) || sf_soql_id_check(id, "802", it->id, NULL))
		return bad(err, "OrderItem.Id");
	if (whole_number(r, "Quantity", &it->quantity))
		return bad(err, "OrderItem.Quantity");
	json_object_object_get_ex(r, "Product2", &p2);
	if (!p2)
		return 0;    /* no product: reported as unmapped */
	if (domain_json_str(p2, "StockKeepingUnit", it->sku, sizeof it->sku, 0) ||
	    domain_json_str(p2, "Billing_Cycle__c", it->billing_cycle, sizeof it->billing_cycle, 0) ||
	    domain_json_str(p2, "Freebit_Plan_Code__c", it->freebit_plan_code,
		sizeof it->freebit_plan_code, 0))
		return bad(err, "OrderItem.Product2");
	/* A broken WH_Product_ID__c is a mapping problem, not a bad record. */
	if (whole_number(p2, "WH_Product_ID__c", &it->wh_product_id))
		it->wh_product_id = 0;
	return 0;
}

static int items_from_sf(struct json_object *rec, struct domain_prov_order *o, struct pt_err *err)
{
	struct json_object *recs;

	if (domain_sf_children(rec, "OrderItems", &recs) != 0)
		return bad(err, "OrderItems");
	if (!recs)
		return 0;
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		if (o->nitems == DOMAIN_PROV_ITEMS_MAX)
			return bad(err, "OrderItems count");
		if (item_from_sf(json_object_array_get_idx(recs, i), &o->items[o->nitems], err))
			return -1;
		o->nitems++;
	}
	return 0;
}

int domain_prov_order_from_sf(struct json_object *rec, struct domain_prov_order *o,
	struct pt_err *err)
{
	char id[32], client[24];
	struct json_object *v;

	memset(o, 0, sizeof *o);
	if (!json_object_is_type(rec, json_type_object))
		return bad(err, "record");
	if (domain_json_str(rec, "Id", id, sizeof id, 0) || sf_soql_id_check(id, "801", o->id, NULL))
		return bad(err, "Id");
	if (domain_json_str(rec, "AccountId", id, sizeof id, 0) ||
	    (id[0] && sf_soql_id_check(id, "001", o->account_id, NULL)))
		return bad(err, "AccountId");
	if (domain_json_str(rec, "Status", o->status, sizeof o->status, 0) ||
	    domain_json_str(rec, "Activation_Status__c", o->activation_status,
		sizeof o->activation_status, 0) ||
	    domain_json_str(rec, "Order_Type__c", o->order_type, sizeof o->order_type, 0) ||
	    domain_json_str(rec, "SIM_Type__c", o->sim_type, sizeof o->sim_type, 0) ||
	    domain_json_str(rec, "SIM_MSISDN__c", o->sim_msisdn, sizeof o->sim_msisdn, 0) ||
	    domain_json_str(rec, "SIM_EID__c", o->sim_eid, sizeof o->sim_eid, 0))
		return bad(err, "field");
	if (json_object_object_get_ex(rec, "WHMCS_Order_ID__c", &v) && v &&
	    domain_json_str(rec, "WHMCS_Order_ID__c", o->whmcs_order_id,
		sizeof o->whmcs_order_id, 0))
		return bad(err, "WHMCS_Order_ID__c");
	if (domain_json_rel_str(rec, "Account", "WHMCS_Client_ID__c", client, sizeof client))
		return bad(err, "Account.WHMCS_Client_ID__c");
	if (client[0]) {
		char *end;
		o->whmcs_client_id = strtol(client, &end, 10);
		if (*end || o->whmcs_client_id <= 0)
			o->whmcs_client_id = 0;
	}
	return items_from_sf(rec, o, err);
}

const char *const domain_prov_guard_fields[] = { "Id", "AccountId", "Status",
	"Activation_Status__c", "Order_Type__c", NULL };

#define O "Order"
#define OI "OrderItem"

int domain_prov_order_soql(struct buf *q, const char *order_id, struct pt_err *err)
{
	return sf_soql_build(q, err,
		"SELECT %F, %F, %F, %F, %F, %F, %F, %F, %F, %F, "
		"(SELECT %F, %F, %F, %F, %F, %F FROM OrderItems) FROM %O WHERE %F = %I LIMIT 1",
		O, "Id", O, "AccountId", O, "Status", O, "Activation_Status__c",
		O, "WHMCS_Order_ID__c", O, "Order_Type__c", O, "SIM_Type__c", O, "SIM_MSISDN__c",
		O, "SIM_EID__c", O, "Account.WHMCS_Client_ID__c",
		OI, "Id", OI, "Quantity", OI, "Product2.StockKeepingUnit",
		OI, "Product2.WH_Product_ID__c", OI, "Product2.Billing_Cycle__c",
		OI, "Product2.Freebit_Plan_Code__c", O, O, "Id", order_id);
}

const char *domain_prov_billing_cycle(const char *sf_cycle)
{
	static const struct { const char *sf, *whmcs; } map[] = {
		{ "Monthly", "monthly" }, { "Quarterly", "quarterly" },
		{ "Semi-Annually", "semiannually" }, { "Annually", "annually" },
		{ "One Time", "onetime" },
	};

	for (size_t i = 0; sf_cycle && i < sizeof map / sizeof map[0]; i++)
		if (strcmp(sf_cycle, map[i].sf) == 0)
			return map[i].whmcs;
	return NULL;
}

int domain_prov_map_items(const struct domain_prov_order *o, struct domain_prov_line *lines,
	size_t *nlines, struct buf *report, struct pt_err *err)
{
	int missing = 0;

	*nlines = 0;
	if (o->nitems == 0) {
		buf_puts(report, "order has no items");
		missing = 1;
	}
	for (size_t i = 0; i < o->nitems; i++) {
		const struct domain_prov_item *it = &o->items[i];
		const char *cycle = domain_prov_billing_cycle(it->billing_cycle);
		const char *sku = it->sku[0] ? it->sku : it->id;

		if (it->wh_product_id <= 0) {
			buf_printf(report, "%s%s: WH_Product_ID__c missing", missing ? "; " : "", sku);
			missing = 1;
		}
		if (!cycle) {
			buf_printf(report, "%s%s: Billing_Cycle__c '%s' not mappable",
				missing ? "; " : "", sku, it->billing_cycle);
			missing = 1;
		}
		lines[*nlines].pid = it->wh_product_id;
		lines[*nlines].billing_cycle = cycle;
		lines[*nlines].qty = it->quantity > 0 ? it->quantity : 1;
		(*nlines)++;
	}
	if (missing) {
		*nlines = 0;
		pt_err_set(err, PT_VALIDATION_FAILED, "mapping: %s", buf_cstr(report));
		pt_err_provider(err, "MAPPING_MISSING");
		return -1;
	}
	return 0;
}

int domain_prov_is_sim(const struct domain_prov_order *o)
{
	return strcmp(o->order_type, "SIM") == 0;
}

int domain_prov_is_esim(const struct domain_prov_order *o)
{
	return domain_prov_is_sim(o) && strcmp(o->sim_type, "eSIM") == 0;
}
