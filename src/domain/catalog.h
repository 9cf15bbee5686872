/* domain/catalog — a product of the portal pricebook (plan, add-on, fee) as
 * the catalog shows it, mapped once from a PricebookEntry row with its
 * Product2; orderable = it maps to a WHMCS product (and, for SIM plans, to a
 * Freebit plan code) — resolutions §8. */
#ifndef PT_DOMAIN_CATALOG_H
#define PT_DOMAIN_CATALOG_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/buf.h"
#include "core/err.h"
#include "domain/common.h"

#define DOMAIN_FEATURES_MAX 16

struct domain_catalog_item {
	char product_id[19];
	char pricebook_entry_id[19];
	char sku[64];
	char name[256];
	char description[1024];
	char category[16];            /* internet | sim | vpn */
	char item_class[32];          /* Plan | Add-on | Activation Fee | Installation */
	char eligibility_group[48];   /* "" = everyone */
	char features[DOMAIN_FEATURES_MAX][256];
	size_t nfeatures;
	char price[DOMAIN_DECIMAL_MAX];
	char family_price[DOMAIN_DECIMAL_MAX];   /* "" = none */
	char billing_cycle[16];       /* WHMCS form: monthly … onetime; "" = unknown */
	long whmcs_pid;               /* 0 = not mapped */
	char freebit_plan_code[40];
	int orderable;
};

/* PricebookEntry row with nested Product2 (domain_catalog_soql) → out. */
int domain_catalog_item_from_sf(struct json_object *rec, struct domain_catalog_item *out,
	struct pt_err *err);
/* 1 for plans, 0 for add-ons, fees, installation. */
int domain_catalog_is_plan(const struct domain_catalog_item *it);
/* {"id","sku","name","description","category","type","price","family_price",
 *  "billing_cycle","features":[…],"eligibility_group","orderable"}.
 * family_discount: the account gets family pricing, so "price" is the family
 * price where there is one (the account catalog); 0 for the public one. */
struct json_object *domain_catalog_item_json(const struct domain_catalog_item *it,
	int family_discount);
/* Salesforce Billing_Cycle__c → WHMCS billingcycle (resolutions §7); NULL if unknown. */
const char *domain_billing_cycle_whmcs(const char *sf_cycle);

/* SOQL: active entries of the pricebook whose products are shown in the
 * portal; category NULL = all categories. */
int domain_catalog_soql(struct buf *q, const char *pricebook_id, const char *category,
	struct pt_err *err);

#endif
