/* domain/account — the customer's Salesforce Account as the portal sees it
 * (customer number, email on file, eligibility groups, family discount,
 * portal status, WHMCS client id), mapped once from the Account record, and
 * the Salesforce field values the portal writes back at sign-up / link. */
#ifndef PT_DOMAIN_ACCOUNT_H
#define PT_DOMAIN_ACCOUNT_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/buf.h"
#include "core/err.h"

#define DOMAIN_ELIGIBILITY_MAX 16

struct domain_account {
	char id[19];
	char name[256];
	char customer_number[24];
	char email[256];
	char portal_status[24];       /* Not Registered | Active | Disabled */
	char whmcs_client_id[24];     /* "" = none */
	char eligibility[DOMAIN_ELIGIBILITY_MAX][48];
	size_t neligibility;
	int family_discount;
};

/* Account record (any subset of the fields of domain_account_soql) → out.
 * PT_UPSTREAM_ERROR when the record is malformed (bad id, bad types). */
int domain_account_from_sf(struct json_object *rec, struct domain_account *out,
	struct pt_err *err);
/* {"id","name","customer_number","email","portal_status","whmcs_client_id",
 *  "eligibility":[…],"family_discount":bool} */
struct json_object *domain_account_json(const struct domain_account *a);
/* The subset of an Account record the catalog caches (id, eligibility groups,
 * family discount), still in Salesforce's names so that the cached copy goes
 * through domain_account_from_sf like a live one. New object, or NULL. */
struct json_object *domain_account_eligibility_record(struct json_object *rec);
/* 1 if the account may order a product of this eligibility group ("" = anyone). */
int domain_account_eligible(const struct domain_account *a, const char *group);

/* SOQL: the account with this customer number / with this id. */
int domain_account_soql_by_number(struct buf *q, const char *customer_number,
	struct pt_err *err);
int domain_account_soql_by_id(struct buf *q, const char *account_id, struct pt_err *err);
/* SOQL: the account's contacts, oldest first (for case ContactId, resolutions §16). */
int domain_contact_soql_by_account(struct buf *q, const char *account_id, struct pt_err *err);
/* Picks the contact id whose Email equals email (case-insensitive), else the
 * oldest one; records = query result rows. -1 when there is none. */
int domain_contact_pick(struct json_object *records, const char *email, char out_id[19]);

/* Update body marking the account portal-active with its WHMCS client id. */
struct json_object *domain_account_sf_portal_active(const char *whmcs_client_id);

#endif
