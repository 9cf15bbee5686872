/* app/support — the support case use cases behind portal-support.fcgi
 * (portal-api.md "Support", resolutions §16, §31): the session account's
 * cases read live from Salesforce (seed 002: never cached, a customer must
 * see an agent's answer at once), one case with its published comments,
 * a new case with Origin "Portal Website" on the session's account and
 * contact, and a published comment on one of the account's cases. Every
 * case id is looked up together with the session's account, so another
 * account's case is simply not found. The body parsers are pure and
 * exported for tests. */
#ifndef PT_APP_SUPPORT_H
#define PT_APP_SUPPORT_H

#include <stddef.h>
#include <json-c/json.h>

#include "core/err.h"

struct db;
struct sf_client;

/* Everything borrowed. */
struct support_deps {
	struct sf_client *sf;
	struct db *db;
};

/* The session's subject: ids from the session only. */
struct support_who {
	const char *user_id;
	const char *sf_account_id;
};

/* A parsed POST /api/support/cases body: texts cleaned (malloc'd),
 * priority / category as given (validated against the picklists when the
 * Case body is made). */
struct support_case_input {
	char *subject;
	char *description;
	char priority[16];
	char category[16];
};
void support_case_input_clear(struct support_case_input *in);

/* JSON body → input; 400 VALIDATION_FAILED naming the field for a missing
 * or wrong-typed field, invalid UTF-8, a length over the limit or a
 * priority / category not in the org's picklists. */
int support_parse_case(const char *body, size_t len, struct support_case_input *in,
	struct pt_err *err);
/* {"body"} → the cleaned comment text (malloc'd) in *text. */
int support_parse_comment(const char *body, size_t len, char **text, struct pt_err *err);

/* GET /api/support/cases: *items = new array, newest first. */
int support_list(const struct support_deps *d, const char *sf_account_id,
	struct json_object **items, struct pt_err *err);
/* GET /api/support/cases/{id}: NOT_FOUND unless a case of the account
 * (malformed ids too: no hint). */
int support_get(const struct support_deps *d, const char *sf_account_id, const char *id,
	struct json_object **out, struct pt_err *err);
/* POST /api/support/cases: *out = the new case. */
int support_create(const struct support_deps *d, const struct support_who *who,
	const struct support_case_input *in, struct json_object **out, struct pt_err *err);
/* POST /api/support/cases/{id}/comments: the owner is checked first. */
int support_comment(const struct support_deps *d, const char *sf_account_id, const char *id,
	const char *text, struct json_object **out, struct pt_err *err);

#endif
