/* domain/profile — see profile.h. */
#include "domain/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "domain/billing.h"
#include "domain/common.h"

static void profile_customfields(struct json_object *c, long field_id, struct domain_profile *p)
{
	struct json_object *a = json_get_lenient_array(c, "customfields");
	size_t i, n = a ? json_object_array_length(a) : 0;

	if (field_id <= 0)
		return;
	for (i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(a, i);
		long id = 0;
		if (json_get_lenient_int(f, "id", &id) == 0 && id == field_id) {
			domain_copy_field(p->customer_number, sizeof(p->customer_number), f, "value");
			return;
		}
	}
}

static void profile_users(struct json_object *c, struct domain_profile *p)
{
	struct json_object *a = domain_whmcs_list(c, "users", "user");
	size_t i, n = a ? json_object_array_length(a) : 0;

	for (i = 0; i < n && p->n_users < DOMAIN_PROFILE_MAX_USERS; i++) {
		long id = 0;
		if (json_get_lenient_int(json_object_array_get_idx(a, i), "id", &id) == 0 && id > 0)
			p->user_ids[p->n_users++] = id;
	}
}

int domain_profile_from_whmcs(struct json_object *reply, long customer_field_id,
	struct domain_profile *out, struct pt_err *err)
{
	struct json_object *c = NULL;
	long id = 0;

	memset(out, 0, sizeof(*out));
	if (!reply || !json_object_is_type(reply, json_type_object))
		return pt_err_set(err, PT_UPSTREAM_ERROR, "GetClientsDetails: reply is not an object");
	if (!json_object_object_get_ex(reply, "client", &c) ||
	    !json_object_is_type(c, json_type_object))
		c = reply;
	if ((json_get_lenient_int(c, "client_id", &id) != 0 || id <= 0) &&
	    (json_get_lenient_int(c, "id", &id) != 0 || id <= 0) &&
	    (json_get_lenient_int(c, "userid", &id) != 0 || id <= 0))
		return pt_err_set(err, PT_UPSTREAM_ERROR, "GetClientsDetails: no client id");
	out->client_id = id;
	domain_copy_field(out->first_name, sizeof(out->first_name), c, "firstname");
	domain_copy_field(out->last_name, sizeof(out->last_name), c, "lastname");
	domain_copy_field(out->company, sizeof(out->company), c, "companyname");
	domain_copy_field(out->email, sizeof(out->email), c, "email");
	domain_copy_field(out->phone, sizeof(out->phone), c, "phonenumber");
	domain_copy_field(out->address.postcode, sizeof(out->address.postcode), c, "postcode");
	domain_copy_field(out->address.prefecture, sizeof(out->address.prefecture), c, "state");
	domain_copy_field(out->address.city, sizeof(out->address.city), c, "city");
	domain_copy_field(out->address.street, sizeof(out->address.street), c, "address1");
	domain_copy_field(out->address.building, sizeof(out->address.building), c, "address2");
	domain_copy_field(out->address.country, sizeof(out->address.country), c, "countrycode");
	if (!out->address.country[0])
		domain_copy_field(out->address.country, sizeof(out->address.country), c, "country");
	domain_copy_field(out->status, sizeof(out->status), c, "status");
	domain_copy_field(out->currency, sizeof(out->currency), c, "currency_code");
	domain_copy_field(out->default_gateway, sizeof(out->default_gateway), c, "defaultgateway");
	profile_customfields(c, customer_field_id, out);
	/* users may sit inside `client` or only at the top level. */
	profile_users(c, out);
	if (!out->n_users && c != reply)
		profile_users(reply, out);
	return 0;
}

static int add_opt(struct json_object *o, const char *key, const char *v)
{
	return domain_json_add_str(o, key, (v && *v) ? v : NULL);
}

struct json_object *domain_profile_json(const struct domain_profile *p)
{
	struct json_object *o = json_object_new_object();
	struct json_object *name = json_object_new_object();
	struct json_object *addr = json_object_new_object();

	if (!o || !name || !addr) {
		json_object_put(o);
		json_object_put(name);
		json_object_put(addr);
		return NULL;
	}
	add_opt(name, "first", p->first_name);
	add_opt(name, "last", p->last_name);
	json_object_object_add(o, "name", name);
	add_opt(o, "company", p->company);
	add_opt(o, "email", p->email);
	add_opt(o, "phone", p->phone);
	add_opt(addr, "postcode", p->address.postcode);
	add_opt(addr, "prefecture", p->address.prefecture);
	add_opt(addr, "city", p->address.city);
	add_opt(addr, "street", p->address.street);
	add_opt(addr, "building", p->address.building);
	add_opt(addr, "country", p->address.country);
	json_object_object_add(o, "address", addr);
	return o;
}

int domain_profile_has_user(const struct domain_profile *p, long user_id)
{
	size_t i;

	for (i = 0; i < p->n_users; i++)
		if (p->user_ids[i] == user_id)
			return 1;
	return 0;
}

int domain_clients_from_whmcs(struct json_object *reply, struct domain_client_summary_list *out,
	struct pt_err *err)
{
	struct json_object *a = domain_whmcs_list(reply, "clients", "client");
	size_t i, n = a ? json_object_array_length(a) : 0;

	memset(out, 0, sizeof(*out));
	if (n > 5000)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "GetClients: too many rows");
	if (n && !(out->v = calloc(n, sizeof(*out->v))))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		struct domain_client_summary *c = &out->v[out->n];
		if (json_get_lenient_int(o, "id", &c->id) != 0 || c->id <= 0)
			continue;
		domain_copy_field(c->email, sizeof(c->email), o, "email");
		domain_copy_field(c->first_name, sizeof(c->first_name), o, "firstname");
		domain_copy_field(c->last_name, sizeof(c->last_name), o, "lastname");
		domain_copy_field(c->status, sizeof(c->status), o, "status");
		out->n++;
	}
	if (json_get_lenient_int(reply, "totalresults", &out->total) != 0 || out->total < 0)
		out->total = (long)out->n;
	return 0;
}

void domain_client_summary_list_clear(struct domain_client_summary_list *l)
{
	if (!l)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- validation ------------------------------------------------------------ */

int domain_postcode_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 8 || s[3] != '-')
		return 0;
	for (i = 0; i < 8; i++)
		if (i != 3 && (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

/* The romanised names WHMCS holds in `state` (fixtures and AddClient). */
static const char *const prefectures[47] = {
	"Hokkaido", "Aomori", "Iwate", "Miyagi", "Akita", "Yamagata", "Fukushima",
	"Ibaraki", "Tochigi", "Gunma", "Saitama", "Chiba", "Tokyo", "Kanagawa",
	"Niigata", "Toyama", "Ishikawa", "Fukui", "Yamanashi", "Nagano", "Gifu",
	"Shizuoka", "Aichi", "Mie", "Shiga", "Kyoto", "Osaka", "Hyogo", "Nara",
	"Wakayama", "Tottori", "Shimane", "Okayama", "Hiroshima", "Yamaguchi",
	"Tokushima", "Kagawa", "Ehime", "Kochi", "Fukuoka", "Saga", "Nagasaki",
	"Kumamoto", "Oita", "Miyazaki", "Kagoshima", "Okinawa",
};

int domain_prefecture_canonical(const char *s, char *out, size_t size)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 0; i < sizeof prefectures / sizeof prefectures[0]; i++) {
		if (strcasecmp(s, prefectures[i]) == 0) {
			if (out && size)
				snprintf(out, size, "%s", prefectures[i]);
			return 1;
		}
	}
	return 0;
}

int domain_phone_valid(const char *s)
{
	size_t digits = 0;
	int prev_sep = 1;    /* no separator first, none twice */

	if (!s)
		return 0;
	if (*s == '+')
		s++;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			digits++;
			prev_sep = 0;
		} else if ((*s == '-' || *s == ' ') && !prev_sep) {
			prev_sep = 1;
		} else {
			return 0;
		}
	}
	return !prev_sep && digits >= 10 && digits <= 15;
}
