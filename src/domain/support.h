/* domain/support — support cases and their published comments as the
 * customer sees them (never cached: read live), mapped once from Case with
 * its CaseComments subquery; and the Case / CaseComment bodies the portal
 * creates (Origin "Portal Website", Status New, resolutions §16). */
#ifndef PT_DOMAIN_SUPPORT_H
#define PT_DOMAIN_SUPPORT_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/buf.h"
#include "core/err.h"
#include "domain/common.h"

#define DOMAIN_CASE_COMMENT_MAX 4000    /* CommentBody limit, bytes */
/* Subject and Description limits of the org are in characters (code
 * points); a code point is at most 4 bytes of UTF-8. */
#define DOMAIN_CASE_SUBJECT_MAX 255
#define DOMAIN_CASE_DESCRIPTION_MAX 32000

struct domain_case_comment {
	char id[19];
	char *body;                       /* malloc'd */
	char created_at[DOMAIN_TIME_MAX];
};

struct domain_case {
	char id[19];
	char number[16];
	char subject[DOMAIN_CASE_SUBJECT_MAX * 4 + 1];
	char *description;                /* malloc'd, may be NULL */
	char status[32];
	char priority[16];
	char category[32];                /* Case.Type */
	char created_at[DOMAIN_TIME_MAX];
	char closed_at[DOMAIN_TIME_MAX];
	int closed;
	struct domain_case_comment *comments;
	size_t ncomments;
};

/* Case record (with optional CaseComments subquery) → new case; only
 * published comments are kept. NULL + PT_UPSTREAM_ERROR if malformed. */
struct domain_case *domain_case_from_sf(struct json_object *rec, struct pt_err *err);
void domain_case_free(struct domain_case *c);
/* {"id","number","subject","description","status","priority","category",
 *  "created_at","closed_at","closed","comments":[{"id","body","created_at"}]}.
 * with_comments 0 leaves "comments" out (list view). */
struct json_object *domain_case_json(const struct domain_case *c, int with_comments);

/* SOQL: the account's cases, newest first (no comments). */
int domain_case_soql_by_account(struct buf *q, const char *account_id, struct pt_err *err);
/* SOQL: one case of the account with its published comments. */
int domain_case_soql_by_id(struct buf *q, const char *case_id, const char *account_id,
	struct pt_err *err);

/* The checks domain_case_sf_new makes on the customer's fields, alone (so a
 * bad body is refused before any provider call): VALIDATION_FAILED naming
 * subject / description / priority / category. */
int domain_case_check(const char *subject, const char *description, const char *priority,
	const char *category, struct pt_err *err);
/* Body of a new Case. priority: low|medium|high (any case; NULL = Medium);
 * category: billing|technical|account|order|other (NULL = Other). */
struct json_object *domain_case_sf_new(const char *account_id, const char *contact_id,
	const char *subject, const char *description, const char *priority,
	const char *category, struct pt_err *err);
/* Body of a new published CaseComment. */
struct json_object *domain_case_comment_sf_new(const char *case_id, const char *body,
	struct pt_err *err);

/* SOQL: the account's Contacts (Id, Email), oldest first (§16). */
int domain_case_contact_soql(struct buf *q, const char *account_id, struct pt_err *err);
/* §16: from those records, the Contact whose Email equals email (ASCII case
 * ignored), else the oldest (the first record). 1 + out18 set, 0 when the
 * account has no Contact, -1 + PT_UPSTREAM_ERROR on a malformed record. */
int domain_case_contact_pick(struct json_object *recs, const char *email,
	char out18[19], struct pt_err *err);

/* Customer text as the portal stores it: valid UTF-8 required (else NULL,
 * err VALIDATION_FAILED naming field); C0 controls, DEL and C1 controls
 * (U+0080-U+009F) are dropped, except \t \n \r when keep_newlines. The rest
 * is kept exactly as given (no HTML escaping: clients render safely).
 * Returns a malloc'd NUL-terminated copy. */
char *domain_case_text_clean(const char *s, size_t len, int keep_newlines,
	const char *field, struct pt_err *err);
/* Code points in valid UTF-8 s of len bytes. */
size_t domain_utf8_chars(const char *s, size_t len);

#endif
