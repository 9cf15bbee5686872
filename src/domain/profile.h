/* domain/profile — the customer's billing profile held by WHMCS (name,
 * email, phone, Japanese address with prefecture and postcode) mapped from
 * GetClientsDetails, rendered for GET /api/account/profile, and turned back
 * into UpdateClient/AddClient fields (resolutions §14: address1 = street,
 * address2 = building, state = prefecture, country JP). Pure: no I/O. */
#ifndef PT_DOMAIN_PROFILE_H
#define PT_DOMAIN_PROFILE_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/err.h"

#define DOMAIN_PROFILE_MAX_USERS 16

struct domain_address {
	char postcode[16];
	char prefecture[64];
	char city[128];
	char street[256];
	char building[256];
	char country[3];
};

struct domain_profile {
	long client_id;
	char first_name[128];
	char last_name[128];
	char company[128];
	char email[256];
	char phone[40];
	struct domain_address address;
	char status[16];
	char currency[8];               /* currency_code, "" when absent */
	char default_gateway[64];
	char customer_number[64];       /* client custom field WHMCS_CUSTOMER_NUMBER_FIELD_ID */
	long user_ids[DOMAIN_PROFILE_MAX_USERS];  /* users that may log in to this client */
	size_t n_users;
};

/* GetClientsDetails reply (the `client` object, or the deprecated top level
 * when `client` is missing). customer_field_id selects the custom field
 * holding the customer number (0 = none). */
int domain_profile_from_whmcs(struct json_object *reply, long customer_field_id,
	struct domain_profile *out, struct pt_err *err);
/* {name{first,last}, email, phone, address{postcode, prefecture, city, street,
 *  building, country}} — no ids or internal fields. */
struct json_object *domain_profile_json(const struct domain_profile *p);
/* 1 when user_id is among the client's users (link flow, resolutions §15). */
int domain_profile_has_user(const struct domain_profile *p, long user_id);

/* GetClients row (sign-up lookup by email). */
struct domain_client_summary {
	long id;
	char email[256];
	char first_name[128];
	char last_name[128];
	char status[16];
};

struct domain_client_summary_list {
	struct domain_client_summary *v;
	size_t n;
	long total;
};

int domain_clients_from_whmcs(struct json_object *reply, struct domain_client_summary_list *out,
	struct pt_err *err);
void domain_client_summary_list_clear(struct domain_client_summary_list *l);

/* ---- validation of what a customer sends (PATCH /api/account/profile) ---- */

/* Japanese postcode "NNN-NNNN" (ASCII digits). 1 valid, 0 not. */
int domain_postcode_valid(const char *s);
/* One of the 47 prefectures by its romanised name as WHMCS stores it
 * ("Tokyo", "Osaka"…), case-insensitively; the canonical spelling is copied
 * into out. 1 valid, 0 not. */
int domain_prefecture_canonical(const char *s, char *out, size_t size);
/* Phone: optional leading '+', then digits with single '-' or ' ' between
 * them, 10..15 digits in all ("03-1234-5678", "+81 90 1234 5678"). */
int domain_phone_valid(const char *s);

#endif
