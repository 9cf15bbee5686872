/* app/support — support cases: live Salesforce reads scoped to the
 * session's account, Case / CaseComment creates. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/support.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "domain/support.h"
#include "salesforce/rest.h"
#include "store/db.h"

/* Bodies are already capped by the web layer; this only bounds the parser. */
#define SUPPORT_BODY_MAX (256u * 1024)

void support_case_input_clear(struct support_case_input *in)
{
	free(in->subject);
	free(in->description);
	memset(in, 0, sizeof *in);
}

static struct json_object *parse_object(const char *body, size_t len, struct pt_err *err)
{
	struct json_object *o = json_parse_bounded(body, len, SUPPORT_BODY_MAX,
		JSON_DEFAULT_MAX_DEPTH, err);

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		pt_err_set(err, PT_VALIDATION_FAILED, "body is not an object");
		return NULL;
	}
	return o;
}

/* A required text field, cleaned (json-c keeps \u0000 inside the length). */
static int text_field(struct json_object *o, const char *key, int keep_newlines, char **out,
	struct pt_err *err)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: required string", key);
	*out = domain_case_text_clean(json_object_get_string(v),
		(size_t)json_object_get_string_len(v), keep_newlines, key, err);
	return *out ? 0 : -1;
}

/* An optional picklist choice; its value is checked by domain_case_check. */
static int choice_field(struct json_object *o, const char *key, char *out, size_t outsz,
	struct pt_err *err)
{
	struct json_object *v;

	out[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= outsz)
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: unknown value", key);
	str_lcpy(out, json_object_get_string(v), outsz);
	return 0;
}

int support_parse_case(const char *body, size_t len, struct support_case_input *in,
	struct pt_err *err)
{
	struct json_object *o = parse_object(body, len, err);
	int rc = -1;

	memset(in, 0, sizeof *in);
	if (!o)
		return -1;
	/* Subject is a single-line field: its tabs and newlines go as well. */
	if (text_field(o, "subject", 0, &in->subject, err) ||
	    text_field(o, "description", 1, &in->description, err) ||
	    choice_field(o, "priority", in->priority, sizeof in->priority, err) ||
	    choice_field(o, "category", in->category, sizeof in->category, err) ||
	    domain_case_check(in->subject, in->description, in->priority, in->category, err))
		goto out;
	rc = 0;
out:
	if (rc)
		support_case_input_clear(in);
	json_object_put(o);
	return rc;
}

int support_parse_comment(const char *body, size_t len, char **text, struct pt_err *err)
{
	struct json_object *o = parse_object(body, len, err);
	size_t n;
	int rc = -1;

	*text = NULL;
	if (!o)
		return -1;
	if (text_field(o, "body", 1, text, err))
		goto out;
	n = strlen(*text);
	if (n == 0 || n > DOMAIN_CASE_COMMENT_MAX) {
		pt_err_field(err, PT_VALIDATION_FAILED, "body", "comment: 1-4000 bytes");
		goto out;
	}
	rc = 0;
out:
	if (rc) {
		free(*text);
		*text = NULL;
	}
	json_object_put(o);
	return rc;
}

/* ---- reads ------------------------------------------------------------------------- */

int support_list(const struct support_deps *d, const char *sf_account_id,
	struct json_object **items, struct pt_err *err)
{
	struct json_object *recs = NULL;
	struct buf q;
	int rc = -1;

	*items = NULL;
	buf_init(&q, 8192);
	if (domain_case_soql_by_account(&q, sf_account_id, err) != 0 ||
	    sf_rest_query(d->sf, buf_cstr(&q), 200, &recs, NULL, err) != 0)
		goto out;
	if (!(*items = json_object_new_array())) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		struct domain_case *c = domain_case_from_sf(json_object_array_get_idx(recs, i), err);
		if (!c)
			goto out;
		json_object_array_add(*items, domain_case_json(c, 0));
		domain_case_free(c);
	}
	rc = 0;
out:
	if (rc) {
		json_object_put(*items);
		*items = NULL;
	}
	json_object_put(recs);
	buf_free(&q);
	return rc;
}

/* The account's case by id: 1 + *c, or 0 when it is not the account's. */
static int case_of_account(const struct support_deps *d, const char *acct, const char *id,
	struct domain_case **c, struct pt_err *err)
{
	struct json_object *recs = NULL;
	struct buf q;
	int rc = -1;

	*c = NULL;
	/* A malformed id is answered like another account's: no hint. */
	if (!id || !sf_soql_id_valid(id, "500"))
		return 0;
	buf_init(&q, 8192);
	if (domain_case_soql_by_id(&q, id, acct, err) != 0 ||
	    sf_rest_query(d->sf, buf_cstr(&q), 1, &recs, NULL, err) != 0)
		goto out;
	rc = 0;
	if (json_object_array_length(recs) > 0)
		rc = (*c = domain_case_from_sf(json_object_array_get_idx(recs, 0), err)) ? 1 : -1;
out:
	json_object_put(recs);
	buf_free(&q);
	return rc;
}

int support_get(const struct support_deps *d, const char *sf_account_id, const char *id,
	struct json_object **out, struct pt_err *err)
{
	struct domain_case *c = NULL;
	int rc = case_of_account(d, sf_account_id, id, &c, err);

	*out = NULL;
	if (rc <= 0)
		return rc < 0 ? -1 : pt_err_set(err, PT_NOT_FOUND, "case not found");
	*out = domain_case_json(c, 1);
	domain_case_free(c);
	return *out ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

/* ---- writes ------------------------------------------------------------------------ */

static int user_email(struct db *db, const char *user_id, char *out, size_t outsz,
	struct pt_err *err)
{
	const char *p[] = { user_id };
	PGresult *res = db_exec(db, "SELECT email FROM users WHERE id = $1", 1, p, err);

	out[0] = '\0';
	if (!res)
		return -1;
	if (PQntuples(res) == 1)
		str_lcpy(out, PQgetvalue(res, 0, 0), outsz);
	PQclear(res);
	return 0;
}

/* §16: the Contact with the user's email, else the account's oldest. */
static int case_contact(const struct support_deps *d, const struct support_who *who,
	char contact[SF_ID_LEN18 + 1], struct pt_err *err)
{
	struct json_object *recs = NULL;
	char email[256];
	struct buf q;
	int rc = -1;

	buf_init(&q, 4096);
	if (user_email(d->db, who->user_id, email, sizeof email, err) != 0 ||
	    domain_case_contact_soql(&q, who->sf_account_id, err) != 0 ||
	    sf_rest_query(d->sf, buf_cstr(&q), 200, &recs, NULL, err) != 0)
		goto out;
	rc = domain_case_contact_pick(recs, email, contact, err);
out:
	json_object_put(recs);
	buf_free(&q);
	return rc;
}

int support_create(const struct support_deps *d, const struct support_who *who,
	const struct support_case_input *in, struct json_object **out, struct pt_err *err)
{
	char contact[SF_ID_LEN18 + 1], id[SF_ID_LEN18 + 1];
	struct json_object *fields = NULL;
	int have, rc = -1;

	*out = NULL;
	if ((have = case_contact(d, who, contact, err)) < 0)
		goto out;
	if (!have)
		log_warn("support case without contact: the account has none",
			"sf_account_id", who->sf_account_id);
	if (!(fields = domain_case_sf_new(who->sf_account_id, have ? contact : NULL, in->subject,
		in->description, in->priority, in->category, err)) ||
	    sf_rest_create(d->sf, "Case", fields, id, err) != 0)
		goto out;
	log_info("support case created", "sf_account_id", who->sf_account_id, "case_id", id);
	/* Read back for the number and Salesforce's own values; the case
	 * exists either way, so a failed read still answers with it. */
	if (support_get(d, who->sf_account_id, id, out, err) != 0) {
		log_warn("new support case not read back", "case_id", id, "error", err->detail);
		pt_err_clear(err);
		*out = json_object_new_object();
		domain_json_add_str(*out, "id", id);
		domain_json_add_str(*out, "subject", in->subject);
		domain_json_add_str(*out, "status", "New");
	}
	rc = *out ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
out:
	json_object_put(fields);
	return rc;
}

int support_comment(const struct support_deps *d, const char *sf_account_id, const char *id,
	const char *text, struct json_object **out, struct pt_err *err)
{
	struct domain_case *c = NULL;
	struct json_object *fields = NULL;
	char cid[SF_ID_LEN18 + 1], now[32];
	time_t t = time(NULL);
	struct tm tm;
	int rc = case_of_account(d, sf_account_id, id, &c, err);

	*out = NULL;
	if (rc <= 0)
		return rc < 0 ? -1 : pt_err_set(err, PT_NOT_FOUND, "case not found");
	rc = -1;
	if (!(fields = domain_case_comment_sf_new(c->id, text, err)) ||
	    sf_rest_create(d->sf, "CaseComment", fields, cid, err) != 0)
		goto out;
	log_info("support comment added", "case_id", c->id, "comment_id", cid);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	if (!(*out = json_object_new_object())) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		goto out;
	}
	domain_json_add_str(*out, "id", cid);
	domain_json_add_str(*out, "case_id", c->id);
	domain_json_add_str(*out, "body", text);
	domain_json_add_str(*out, "created_at", now);
	rc = 0;
out:
	json_object_put(fields);
	domain_case_free(c);
	return rc;
}
