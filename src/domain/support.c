/* domain/support — Case (+ CaseComments) ↔ portal support case. */
#include <stdlib.h>
#include <string.h>

#include "domain/support.h"
#include "salesforce/soql.h"

static int bad(struct pt_err *err, const char *what)
{
	pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce case: bad %s", what);
	pt_err_provider(err, "BAD_RECORD");
	return -1;
}

/* Optional long text field → malloc'd copy (NULL when absent). */
static int long_text(struct json_object *rec, const char *key, size_t max, char **out)
{
	struct json_object *v;
	const char *s;
	size_t n;

	*out = NULL;
	if (!json_object_object_get_ex(rec, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n > max || !str_valid_text(s, n, 1))
		return -1;
	*out = str_ndup(s, n);
	return *out ? 0 : -1;
}

static int time_field(struct json_object *rec, const char *key, char *out)
{
	char t[48];

	if (domain_json_str(rec, key, t, sizeof t, 0))
		return -1;
	return t[0] ? domain_time_rfc3339(t, out, DOMAIN_TIME_MAX) : 0;
}

static int comments_from_sf(struct json_object *rec, struct domain_case *c, struct pt_err *err)
{
	struct json_object *recs;
	size_t n;

	if (domain_sf_children(rec, "CaseComments", &recs) != 0)
		return bad(err, "CaseComments");
	if (!recs)
		return 0;
	n = json_object_array_length(recs);
	if (n > 2000)
		return bad(err, "CaseComments count");
	c->comments = calloc(n ? n : 1, sizeof *c->comments);
	if (!c->comments)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(recs, i), *pub = NULL;
		struct domain_case_comment *cc = &c->comments[c->ncomments];
		char id[32];
		/* Internal notes stay internal even if a query forgot the filter. */
		if (!json_object_object_get_ex(r, "IsPublished", &pub) ||
		    !json_object_is_type(pub, json_type_boolean) || !json_object_get_boolean(pub))
			continue;
		if (domain_json_str(r, "Id", id, sizeof id, 0) ||
		    sf_soql_id_check(id, "00a", cc->id, NULL) ||
		    long_text(r, "CommentBody", DOMAIN_CASE_COMMENT_MAX * 2, &cc->body) ||
		    time_field(r, "CreatedDate", cc->created_at)) {
			/* not counted yet, so domain_case_free would miss it */
			free(cc->body);
			cc->body = NULL;
			return bad(err, "CaseComment");
		}
		c->ncomments++;
	}
	return 0;
}

struct domain_case *domain_case_from_sf(struct json_object *rec, struct pt_err *err)
{
	struct domain_case *c = calloc(1, sizeof *c);
	struct json_object *v;
	char id[32];

	if (!c) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return NULL;
	}
	if (!json_object_is_type(rec, json_type_object)) {
		bad(err, "record");
		goto fail;
	}
	if (domain_json_str(rec, "Id", id, sizeof id, 0) || sf_soql_id_check(id, "500", c->id, NULL)) {
		bad(err, "Id");
		goto fail;
	}
	if (domain_json_str(rec, "CaseNumber", c->number, sizeof c->number, 0) ||
	    domain_json_str(rec, "Subject", c->subject, sizeof c->subject, 0) ||
	    domain_json_str(rec, "Status", c->status, sizeof c->status, 0) ||
	    domain_json_str(rec, "Priority", c->priority, sizeof c->priority, 0) ||
	    domain_json_str(rec, "Type", c->category, sizeof c->category, 0) ||
	    long_text(rec, "Description", DOMAIN_CASE_DESCRIPTION_MAX * 4, &c->description) ||
	    time_field(rec, "CreatedDate", c->created_at) ||
	    time_field(rec, "ClosedDate", c->closed_at)) {
		bad(err, "field");
		goto fail;
	}
	if (json_object_object_get_ex(rec, "IsClosed", &v) && json_object_is_type(v, json_type_boolean))
		c->closed = json_object_get_boolean(v);
	if (comments_from_sf(rec, c, err))
		goto fail;
	return c;
fail:
	domain_case_free(c);
	return NULL;
}

void domain_case_free(struct domain_case *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncomments; i++)
		free(c->comments[i].body);
	free(c->comments);
	free(c->description);
	free(c);
}

static const char *or_null(const char *s)
{
	return s && *s ? s : NULL;
}

struct json_object *domain_case_json(const struct domain_case *c, int with_comments)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	domain_json_add_str(o, "id", c->id);
	domain_json_add_str(o, "number", or_null(c->number));
	domain_json_add_str(o, "subject", c->subject);
	domain_json_add_str(o, "description", c->description);
	domain_json_add_str(o, "status", or_null(c->status));
	domain_json_add_str(o, "priority", or_null(c->priority));
	domain_json_add_str(o, "category", or_null(c->category));
	domain_json_add_str(o, "created_at", or_null(c->created_at));
	domain_json_add_str(o, "closed_at", or_null(c->closed_at));
	json_object_object_add(o, "closed", json_object_new_boolean(c->closed));
	if (with_comments) {
		struct json_object *arr = json_object_new_array();
		for (size_t i = 0; arr && i < c->ncomments; i++) {
			struct json_object *cc = json_object_new_object();
			domain_json_add_str(cc, "id", c->comments[i].id);
			domain_json_add_str(cc, "body", c->comments[i].body ? c->comments[i].body : "");
			domain_json_add_str(cc, "created_at", or_null(c->comments[i].created_at));
			json_object_array_add(arr, cc);
		}
		json_object_object_add(o, "comments", arr);
	}
	return o;
}

#define C "Case"
#define CC "CaseComment"
#define CASE_SELECT "SELECT %F, %F, %F, %F, %F, %F, %F, %F, %F, %F"
#define CASE_ARGS C, "Id", C, "CaseNumber", C, "Subject", C, "Description", C, "Status", \
	C, "Priority", C, "Type", C, "IsClosed", C, "ClosedDate", C, "CreatedDate"

int domain_case_soql_by_account(struct buf *q, const char *account_id, struct pt_err *err)
{
	return sf_soql_build(q, err, CASE_SELECT " FROM %O WHERE %F = %I ORDER BY %F DESC LIMIT 200",
		CASE_ARGS, C, C, "AccountId", account_id, C, "CreatedDate");
}

int domain_case_soql_by_id(struct buf *q, const char *case_id, const char *account_id,
	struct pt_err *err)
{
	return sf_soql_build(q, err, CASE_SELECT ", (SELECT %F, %F, %F, %F FROM CaseComments "
		"WHERE %F = true ORDER BY %F ASC) FROM %O WHERE %F = %I AND %F = %I LIMIT 1",
		CASE_ARGS, CC, "Id", CC, "CommentBody", CC, "IsPublished", CC, "CreatedDate",
		CC, "IsPublished", CC, "CreatedDate", C, C, "Id", case_id, C, "AccountId", account_id);
}

/* Maps a lower/any-case choice to the org's picklist spelling. */
static const char *pick(const char *in, const char *const *values, const char *dflt)
{
	if (!in || !*in)
		return dflt;
	for (size_t i = 0; values[i]; i++)
		if (str_ieq(in, values[i]))
			return values[i];
	return NULL;
}

/* max_chars counts code points (the org's limits), max_bytes bytes. */
static int text_ok(const char *s, size_t max_chars, size_t max_bytes, int newlines)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= max_bytes && str_valid_text(s, n, newlines) &&
		domain_utf8_chars(s, n) <= max_chars;
}

static const char *const case_priorities[] = { "Low", "Medium", "High", NULL };
static const char *const case_categories[] = { "Billing", "Technical", "Account", "Order",
	"Other", NULL };

int domain_case_check(const char *subject, const char *description, const char *priority,
	const char *category, struct pt_err *err)
{
	if (!text_ok(subject, DOMAIN_CASE_SUBJECT_MAX, DOMAIN_CASE_SUBJECT_MAX * 4, 0))
		return pt_err_field(err, PT_VALIDATION_FAILED, "subject", "subject: 1-255 chars");
	if (!text_ok(description, DOMAIN_CASE_DESCRIPTION_MAX, DOMAIN_CASE_DESCRIPTION_MAX * 4, 1))
		return pt_err_field(err, PT_VALIDATION_FAILED, "description",
			"description: 1-32000 chars");
	if (!pick(priority, case_priorities, "Medium"))
		return pt_err_field(err, PT_VALIDATION_FAILED, "priority", "unknown value");
	if (!pick(category, case_categories, "Other"))
		return pt_err_field(err, PT_VALIDATION_FAILED, "category", "unknown value");
	return 0;
}

struct json_object *domain_case_sf_new(const char *account_id, const char *contact_id,
	const char *subject, const char *description, const char *priority,
	const char *category, struct pt_err *err)
{
	char acct[SF_ID_LEN18 + 1], contact[SF_ID_LEN18 + 1];
	struct json_object *o;

	if (sf_soql_id_check(account_id, "001", acct, err) ||
	    (contact_id && sf_soql_id_check(contact_id, "003", contact, err)) ||
	    domain_case_check(subject, description, priority, category, err))
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	domain_json_add_str(o, "Subject", subject);
	domain_json_add_str(o, "Description", description);
	domain_json_add_str(o, "Priority", pick(priority, case_priorities, "Medium"));
	domain_json_add_str(o, "Type", pick(category, case_categories, "Other"));
	domain_json_add_str(o, "Origin", "Portal Website");
	domain_json_add_str(o, "Status", "New");
	domain_json_add_str(o, "AccountId", acct);
	if (contact_id)
		domain_json_add_str(o, "ContactId", contact);
	return o;
}

struct json_object *domain_case_comment_sf_new(const char *case_id, const char *body,
	struct pt_err *err)
{
	char id[SF_ID_LEN18 + 1];
	struct json_object *o;

	if (sf_soql_id_check(case_id, "500", id, err))
		return NULL;
	if (!text_ok(body, DOMAIN_CASE_COMMENT_MAX, DOMAIN_CASE_COMMENT_MAX, 1)) {
		pt_err_field(err, PT_VALIDATION_FAILED, "body", "comment: 1-4000 bytes");
		return NULL;
	}
	o = json_object_new_object();
	if (!o)
		return NULL;
	domain_json_add_str(o, "ParentId", id);
	domain_json_add_str(o, "CommentBody", body);
	json_object_object_add(o, "IsPublished", json_object_new_boolean(1));
	return o;
}

int domain_case_contact_soql(struct buf *q, const char *account_id, struct pt_err *err)
{
	return sf_soql_build(q, err, "SELECT %F, %F, %F FROM %O WHERE %F = %I "
		"ORDER BY %F ASC, %F ASC LIMIT 200", "Contact", "Id", "Contact", "Email",
		"Contact", "CreatedDate", "Contact", "Contact", "AccountId", account_id,
		"Contact", "CreatedDate", "Contact", "Id");
}

int domain_case_contact_pick(struct json_object *recs, const char *email,
	char out18[SF_ID_LEN18 + 1], struct pt_err *err)
{
	size_t n = json_object_is_type(recs, json_type_array) ? json_object_array_length(recs) : 0;
	char first[SF_ID_LEN18 + 1] = "";

	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(recs, i);
		char id[32], mail[256];
		if (domain_json_str(r, "Id", id, sizeof id, 0) ||
		    sf_soql_id_check(id, "003", out18, NULL) ||
		    domain_json_str(r, "Email", mail, sizeof mail, 0))
			return bad(err, "Contact");
		if (email && *email && mail[0] && str_ieq(mail, email))
			return 1;
		if (!first[0])
			str_lcpy(first, out18, sizeof first);
	}
	/* Records come oldest first, so the first is the §16 fallback. */
	if (!first[0])
		return 0;
	str_lcpy(out18, first, SF_ID_LEN18 + 1);
	return 1;
}

size_t domain_utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	/* Continuation bytes are 10xxxxxx: count every other byte. */
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Length of the control character at p (C0, DEL, or C1 as C2 80-9F), else 0. */
static size_t control_len(const unsigned char *p, size_t left, int keep_newlines)
{
	if (p[0] < 0x20 || p[0] == 0x7f) {
		if (keep_newlines && (p[0] == '\t' || p[0] == '\n' || p[0] == '\r'))
			return 0;
		return 1;
	}
	if (left >= 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	return 0;
}

char *domain_case_text_clean(const char *s, size_t len, int keep_newlines,
	const char *field, struct pt_err *err)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(len + 1);
	size_t o = 0, run = 0;
	int ok = 1;

	if (!out) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < len && ok;) {
		size_t c = control_len(p + i, len - i, keep_newlines);
		if (!c) {
			out[o++] = (char)p[i++];
			continue;
		}
		/* Each run between controls must be valid on its own: dropping a
		 * control must never join broken bytes into a valid sequence. */
		ok = str_valid_text(out + run, o - run, keep_newlines);
		run = o;
		i += c;
	}
	if (ok)
		ok = str_valid_text(out + run, o - run, keep_newlines);
	if (!ok) {
		free(out);
		pt_err_field(err, PT_VALIDATION_FAILED, field, "%s: not valid UTF-8", field);
		return NULL;
	}
	out[o] = '\0';
	return out;
}
