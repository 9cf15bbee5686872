/* domain/account — Account record ↔ portal account. */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "domain/account.h"
#include "domain/common.h"
#include "salesforce/soql.h"

static int bad(struct pt_err *err, const char *what)
{
	pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce account: bad %s", what);
	pt_err_provider(err, "BAD_RECORD");
	return -1;
}

/* "FTTH_1G;FTTH_10G" → groups; empty parts are skipped. */
static int split_groups(const char *s, struct domain_account *a)
{
	a->neligibility = 0;
	while (*s) {
		size_t n = strcspn(s, ";");
		while (n > 0 && *s == ' ') {
			s++;
			n--;
		}
		size_t m = n;
		while (m > 0 && s[m - 1] == ' ')
			m--;
		if (m > 0) {
			if (a->neligibility == DOMAIN_ELIGIBILITY_MAX || m >= sizeof a->eligibility[0])
				return -1;
			memcpy(a->eligibility[a->neligibility], s, m);
			a->eligibility[a->neligibility++][m] = '\0';
		}
		s += n;
		if (*s == ';')
			s++;
	}
	return 0;
}

int domain_account_from_sf(struct json_object *rec, struct domain_account *a,
	struct pt_err *err)
{
	char id[32], elig[256];
	struct json_object *v;

	memset(a, 0, sizeof *a);
	if (!json_object_is_type(rec, json_type_object))
		return bad(err, "record");
	if (domain_json_str(rec, "Id", id, sizeof id, 0) || sf_soql_id_check(id, "001", a->id, NULL))
		return bad(err, "Id");
	if (domain_json_str(rec, "Name", a->name, sizeof a->name, 0) ||
	    domain_json_str(rec, "Customer_Number__c", a->customer_number,
		sizeof a->customer_number, 0) ||
	    domain_json_str(rec, "Email__c", a->email, sizeof a->email, 0) ||
	    domain_json_str(rec, "Portal_Status__c", a->portal_status, sizeof a->portal_status, 0) ||
	    domain_json_str(rec, "Internet_Eligibility__c", elig, sizeof elig, 0) ||
	    split_groups(elig, a))
		return bad(err, "field");
	/* Text(20) in the org, but a number if someone changes the field type. */
	if (json_object_object_get_ex(rec, "WHMCS_Client_ID__c", &v) && v) {
		if (json_object_is_type(v, json_type_int))
			snprintf(a->whmcs_client_id, sizeof a->whmcs_client_id, "%lld",
				(long long)json_object_get_int64(v));
		else if (domain_json_str(rec, "WHMCS_Client_ID__c", a->whmcs_client_id,
			sizeof a->whmcs_client_id, 0))
			return bad(err, "WHMCS_Client_ID__c");
	}
	if (json_object_object_get_ex(rec, "SIM_Family_Discount__c", &v) && v) {
		if (!json_object_is_type(v, json_type_boolean))
			return bad(err, "SIM_Family_Discount__c");
		a->family_discount = json_object_get_boolean(v);
	}
	return 0;
}

struct json_object *domain_account_json(const struct domain_account *a)
{
	struct json_object *o = json_object_new_object(), *el = json_object_new_array();

	if (!o || !el) {
		json_object_put(o);
		json_object_put(el);
		return NULL;
	}
	for (size_t i = 0; i < a->neligibility; i++)
		json_object_array_add(el, json_object_new_string(a->eligibility[i]));
	domain_json_add_str(o, "id", a->id);
	domain_json_add_str(o, "name", a->name);
	domain_json_add_str(o, "customer_number", a->customer_number);
	domain_json_add_str(o, "email", a->email);
	domain_json_add_str(o, "portal_status", a->portal_status);
	domain_json_add_str(o, "whmcs_client_id", a->whmcs_client_id[0] ? a->whmcs_client_id : NULL);
	json_object_object_add(o, "eligibility", el);
	json_object_object_add(o, "family_discount", json_object_new_boolean(a->family_discount));
	return o;
}

int domain_account_eligible(const struct domain_account *a, const char *group)
{
	if (!group || !*group)
		return 1;
	for (size_t i = 0; i < a->neligibility; i++)
		if (strcmp(a->eligibility[i], group) == 0)
			return 1;
	return 0;
}

#define ACCOUNT_SELECT "SELECT %F, %F, %F, %F, %F, %F, %F, %F FROM %O"
#define ACCOUNT_FIELDS(o) o, "Id", o, "Name", o, "Customer_Number__c", o, "Email__c", \
	o, "Portal_Status__c", o, "WHMCS_Client_ID__c", o, "Internet_Eligibility__c", \
	o, "SIM_Family_Discount__c", o

int domain_account_soql_by_number(struct buf *q, const char *customer_number,
	struct pt_err *err)
{
	return sf_soql_build(q, err, ACCOUNT_SELECT " WHERE %F = %S LIMIT 1",
		ACCOUNT_FIELDS("Account"), "Account", "Customer_Number__c", customer_number);
}

int domain_account_soql_by_id(struct buf *q, const char *account_id, struct pt_err *err)
{
	return sf_soql_build(q, err, ACCOUNT_SELECT " WHERE %F = %I LIMIT 1",
		ACCOUNT_FIELDS("Account"), "Account", "Id", account_id);
}

int domain_contact_soql_by_account(struct buf *q, const char *account_id, struct pt_err *err)
{
	return sf_soql_build(q, err, "SELECT %F, %F, %F FROM %O WHERE %F = %I ORDER BY %F ASC LIMIT 200",
		"Contact", "Id", "Contact", "Email", "Contact", "CreatedDate", "Contact",
		"Contact", "AccountId", account_id, "Contact", "CreatedDate");
}

int domain_contact_pick(struct json_object *records, const char *email, char out_id[19])
{
	char id[32], mail[256];
	int found = 0;

	out_id[0] = '\0';
	for (size_t i = 0; json_object_is_type(records, json_type_array) &&
	     i < json_object_array_length(records); i++) {
		struct json_object *r = json_object_array_get_idx(records, i);
		if (domain_json_str(r, "Id", id, sizeof id, 0) ||
		    sf_soql_id_check(id, "003", NULL, NULL) ||
		    domain_json_str(r, "Email", mail, sizeof mail, 0))
			continue;
		if (!found) {
			/* rows come oldest first: the fallback */
			sf_soql_id_to18(id, out_id);
			found = 1;
		}
		if (email && *mail && str_ieq(mail, email)) {
			sf_soql_id_to18(id, out_id);
			return 0;
		}
	}
	return found ? 0 : -1;
}

struct json_object *domain_account_sf_portal_active(const char *whmcs_client_id)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	domain_json_add_str(o, "Portal_Status__c", "Active");
	domain_json_add_str(o, "WHMCS_Client_ID__c", whmcs_client_id);
	return o;
}

struct json_object *domain_account_eligibility_record(struct json_object *rec)
{
	static const char *const fields[] = {
		"Id", "Internet_Eligibility__c", "SIM_Family_Discount__c",
	};
	struct json_object *o = json_object_new_object(), *v;

	for (size_t i = 0; o && i < sizeof fields / sizeof fields[0]; i++)
		if (json_object_object_get_ex(rec, fields[i], &v))
			json_object_object_add(o, fields[i], json_object_get(v));
	return o;
}
