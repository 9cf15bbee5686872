/* domain/provisioning — what the provisioning worker reads from Salesforce
 * (the Order with its account's WHMCS client id and its items' product
 * mappings) and the pure rules it applies to it: the Salesforce → WHMCS
 * billing cycle map of resolutions §7 and the item mapping with its report
 * for MAPPING_MISSING (resolutions §8). No I/O. */
#ifndef PT_DOMAIN_PROVISIONING_H
#define PT_DOMAIN_PROVISIONING_H

#include <stddef.h>
#include <json-c/json.h>

#include "core/buf.h"
#include "core/err.h"

#define DOMAIN_PROV_ITEMS_MAX 24

struct domain_prov_item {
	char id[19];
	char sku[64];
	long quantity;
	long wh_product_id;            /* 0 = not mapped */
	char billing_cycle[24];        /* Salesforce picklist value, "" if unset */
	char freebit_plan_code[33];    /* SIM plans only */
};

struct domain_prov_order {
	char id[19];
	char account_id[19];
	char status[24];
	char activation_status[24];
	char whmcs_order_id[24];
	char order_type[16];           /* Internet | SIM | VPN */
	char sim_type[16];             /* Physical | eSIM | "" */
	char sim_msisdn[12];
	char sim_eid[33];
	long whmcs_client_id;          /* Account.WHMCS_Client_ID__c, 0 if none */
	struct domain_prov_item items[DOMAIN_PROV_ITEMS_MAX];
	size_t nitems;
};

/* Maps an Order record (sf_rest_get or a row of domain_prov_order_soql;
 * OrderItems and Account are optional). PT_UPSTREAM_ERROR if malformed. */
int domain_prov_order_from_sf(struct json_object *rec, struct domain_prov_order *out,
	struct pt_err *err);

/* The Order fields the guard of step validation reads (sf_rest_get), NULL-ended. */
extern const char *const domain_prov_guard_fields[];

/* SOQL for one order with everything provisioning needs. */
int domain_prov_order_soql(struct buf *q, const char *order_id, struct pt_err *err);

/* resolutions §7: Monthly→monthly, Quarterly→quarterly,
 * Semi-Annually→semiannually, Annually→annually, One Time→onetime;
 * NULL for anything else (the WHMCS simulator rejects display names, so
 * an unknown value is a mapping error, not a guess). */
const char *domain_prov_billing_cycle(const char *sf_cycle);

/* One AddOrder line per item. */
struct domain_prov_line {
	long pid;
	const char *billing_cycle;     /* static string from domain_prov_billing_cycle */
	long qty;
};

/* Maps every item; lines has room for DOMAIN_PROV_ITEMS_MAX. On a missing or
 * bad mapping returns -1 with PT_VALIDATION_FAILED, provider_code
 * "MAPPING_MISSING", and `report` (appended) lists each unmapped item as
 * "SKU: WH_Product_ID__c missing; …" for the log and the operator message.
 * An order without items is also a mapping error. */
int domain_prov_map_items(const struct domain_prov_order *o, struct domain_prov_line *lines,
	size_t *nlines, struct buf *report, struct pt_err *err);

/* 1 for a SIM order (Freebit takes part), 0 otherwise. */
int domain_prov_is_sim(const struct domain_prov_order *o);
/* 1 for an eSIM order. */
int domain_prov_is_esim(const struct domain_prov_order *o);

#endif
