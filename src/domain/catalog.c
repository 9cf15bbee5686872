/* domain/catalog — PricebookEntry + Product2 → catalog item → portal JSON. */
#include <stdio.h>
#include <string.h>

#include "domain/catalog.h"
#include "salesforce/soql.h"

static int bad(struct pt_err *err, const char *what)
{
	pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce catalog: bad %s", what);
	pt_err_provider(err, "BAD_RECORD");
	return -1;
}

static const struct {
	const char *sf, *whmcs;
} cycles[] = {
	{ "Monthly", "monthly" }, { "Quarterly", "quarterly" },
	{ "Semi-Annually", "semiannually" }, { "Annually", "annually" },
	{ "One Time", "onetime" },
};

const char *domain_billing_cycle_whmcs(const char *sf_cycle)
{
	for (size_t i = 0; sf_cycle && i < sizeof cycles / sizeof cycles[0]; i++)
		if (strcmp(cycles[i].sf, sf_cycle) == 0)
			return cycles[i].whmcs;
	return NULL;
}

/* One feature per line; blank lines and CRs dropped, spaces trimmed. */
static int split_features(const char *s, struct domain_catalog_item *it)
{
	while (*s) {
		size_t n = strcspn(s, "\n");
		size_t b = 0, e = n;
		while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r'))
			b++;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r'))
			e--;
		if (e > b) {
			if (it->nfeatures == DOMAIN_FEATURES_MAX)
				break;   /* more than the catalog can show: keep the first */
			size_t m = e - b < sizeof it->features[0] ? e - b : sizeof it->features[0] - 1;
			memcpy(it->features[it->nfeatures], s + b, m);
			it->features[it->nfeatures++][m] = '\0';
		}
		s += n;
		if (*s == '\n')
			s++;
	}
	return 0;
}

/* Number(10,0) arrives as 1.0; only whole positive values map to a pid. */
static long pid_of(struct json_object *p)
{
	struct json_object *v;
	char dec[DOMAIN_DECIMAL_MAX];
	long pid = 0;

	if (!json_object_object_get_ex(p, "WH_Product_ID__c", &v) || !v ||
	    domain_decimal_from_json(v, 0, dec, sizeof dec) != 0 ||
	    json_object_is_type(v, json_type_string))
		return 0;
	if (json_object_is_type(v, json_type_double) &&
	    json_object_get_double(v) != (double)(long)json_object_get_double(v))
		return 0;
	for (const char *c = dec; *c; c++) {
		if (*c < '0' || *c > '9' || pid > 99999999L)
			return 0;
		pid = pid * 10 + (*c - '0');
	}
	return pid;
}

static int product_fields(struct json_object *p, struct domain_catalog_item *it,
	struct pt_err *err)
{
	char id[32], features[4096], cycle[32];
	struct json_object *v;

	if (domain_json_str(p, "Id", id, sizeof id, 0) ||
	    sf_soql_id_check(id, "01t", it->product_id, NULL))
		return bad(err, "Product2.Id");
	if (domain_json_str(p, "StockKeepingUnit", it->sku, sizeof it->sku, 0) || !it->sku[0] ||
	    domain_json_str(p, "Name", it->name, sizeof it->name, 0) ||
	    domain_json_str(p, "Description", it->description, sizeof it->description, 1) ||
	    domain_json_str(p, "Portal_Category__c", it->category, sizeof it->category, 0) ||
	    domain_json_str(p, "Item_Class__c", it->item_class, sizeof it->item_class, 0) ||
	    domain_json_str(p, "Eligibility_Group__c", it->eligibility_group,
		sizeof it->eligibility_group, 0) ||
	    domain_json_str(p, "Portal_Features__c", features, sizeof features, 1) ||
	    domain_json_str(p, "Billing_Cycle__c", cycle, sizeof cycle, 0) ||
	    domain_json_str(p, "Freebit_Plan_Code__c", it->freebit_plan_code,
		sizeof it->freebit_plan_code, 0))
		return bad(err, "Product2 field");
	split_features(features, it);
	if (domain_billing_cycle_whmcs(cycle))
		str_lcpy(it->billing_cycle, domain_billing_cycle_whmcs(cycle), sizeof it->billing_cycle);
	if (json_object_object_get_ex(p, "Family_Discount_Price__c", &v) && v &&
	    domain_decimal_from_json(v, 2, it->family_price, sizeof it->family_price))
		return bad(err, "Family_Discount_Price__c");
	it->whmcs_pid = pid_of(p);
	return 0;
}

int domain_catalog_item_from_sf(struct json_object *rec, struct domain_catalog_item *it,
	struct pt_err *err)
{
	struct json_object *p = NULL, *v = NULL;
	char id[32];

	memset(it, 0, sizeof *it);
	if (!json_object_is_type(rec, json_type_object) ||
	    !json_object_object_get_ex(rec, "Product2", &p) ||
	    !json_object_is_type(p, json_type_object))
		return bad(err, "record");
	if (domain_json_str(rec, "Id", id, sizeof id, 0) ||
	    sf_soql_id_check(id, "01u", it->pricebook_entry_id, NULL))
		return bad(err, "PricebookEntry.Id");
	if (!json_object_object_get_ex(rec, "UnitPrice", &v) ||
	    domain_decimal_from_json(v, 2, it->price, sizeof it->price))
		return bad(err, "UnitPrice");
	if (product_fields(p, it, err))
		return -1;
	/* SIM plans also need the Freebit plan to provision (resolutions §4, §8). */
	it->orderable = it->whmcs_pid > 0 && it->billing_cycle[0] &&
		!(strcmp(it->category, "sim") == 0 && domain_catalog_is_plan(it) &&
		  !it->freebit_plan_code[0]);
	return 0;
}

int domain_catalog_is_plan(const struct domain_catalog_item *it)
{
	return strcmp(it->item_class, "Plan") == 0;
}

static const char *type_of(const char *item_class)
{
	if (strcmp(item_class, "Plan") == 0)
		return "plan";
	if (strcmp(item_class, "Add-on") == 0)
		return "addon";
	if (strcmp(item_class, "Activation Fee") == 0)
		return "activation_fee";
	if (strcmp(item_class, "Installation") == 0)
		return "installation";
	return "other";
}

struct json_object *domain_catalog_item_json(const struct domain_catalog_item *it,
	int family_discount)
{
	struct json_object *o = json_object_new_object(), *f = json_object_new_array();
	const char *price = family_discount && it->family_price[0] ? it->family_price : it->price;

	if (!o || !f) {
		json_object_put(o);
		json_object_put(f);
		return NULL;
	}
	for (size_t i = 0; i < it->nfeatures; i++)
		json_object_array_add(f, json_object_new_string(it->features[i]));
	domain_json_add_str(o, "id", it->product_id);
	domain_json_add_str(o, "sku", it->sku);
	domain_json_add_str(o, "name", it->name);
	domain_json_add_str(o, "description", it->description);
	domain_json_add_str(o, "category", it->category);
	domain_json_add_str(o, "type", type_of(it->item_class));
	domain_json_add_money(o, "price", price, NULL);
	domain_json_add_money(o, "family_price", it->family_price[0] ? it->family_price : NULL, NULL);
	domain_json_add_str(o, "billing_cycle", it->billing_cycle[0] ? it->billing_cycle : NULL);
	json_object_object_add(o, "features", f);
	domain_json_add_str(o, "eligibility_group",
		it->eligibility_group[0] ? it->eligibility_group : NULL);
	json_object_object_add(o, "orderable", json_object_new_boolean(it->orderable));
	return o;
}

#define P "PricebookEntry"
#define CATALOG_SELECT "SELECT %F, %F, %F, %F, %F, %F, %F, %F, %F, %F, %F, %F, %F, %F, %F " \
	"FROM %O WHERE %F = %I AND %F = true AND %F = true AND %F = true"
#define CATALOG_ARGS P, "Id", P, "UnitPrice", P, "Product2.Id", P, "Product2.Name", \
	P, "Product2.StockKeepingUnit", P, "Product2.Description", \
	P, "Product2.Portal_Category__c", P, "Product2.Item_Class__c", \
	P, "Product2.Eligibility_Group__c", P, "Product2.Portal_Features__c", \
	P, "Product2.WH_Product_ID__c", P, "Product2.Billing_Cycle__c", \
	P, "Product2.Family_Discount_Price__c", P, "Product2.Freebit_Plan_Code__c", \
	P, "Product2.IsActive", P, P, "Pricebook2Id"

int domain_catalog_soql(struct buf *q, const char *pricebook_id, const char *category,
	struct pt_err *err)
{
	if (category)
		return sf_soql_build(q, err, CATALOG_SELECT " AND %F = %S ORDER BY %F",
			CATALOG_ARGS, pricebook_id, P, "IsActive", P, "Product2.IsActive",
			P, "Product2.Portal_Catalog__c", P, "Product2.Portal_Category__c", category,
			P, "Product2.StockKeepingUnit");
	return sf_soql_build(q, err, CATALOG_SELECT " ORDER BY %F", CATALOG_ARGS, pricebook_id,
		P, "IsActive", P, "Product2.IsActive", P, "Product2.Portal_Catalog__c",
		P, "Product2.StockKeepingUnit");
}
