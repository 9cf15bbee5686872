/* portal-support.fcgi — support cases (portal-api.md "Support",
 * resolutions §16): GET/POST /api/support/cases, GET /api/support/cases/{id},
 * POST /api/support/cases/{id}/comments. Every route is an account route:
 * the account comes from the session only, and the POSTs need the CSRF
 * token. Cases are read live (seed 002). The work is in src/app/support.c. */
#include <stdlib.h>

#include "app/support.h"
#include "salesforce/rest.h"
#include "web/app.h"
#include "web/guard.h"

struct support_app {
	struct sf_client *sf;
};

static struct support_deps deps(struct web_request *req)
{
	struct support_app *st = web_ctx_user(req->ctx);
	struct support_deps d = { st->sf, web_ctx_db(req->ctx) };

	return d;
}

/* A session without a Salesforce account has no cases to reach. */
static int session(struct web_request *req, struct session *s, struct pt_err *err)
{
	if (web_guard_require_session(req, s, err) != 0)
		return -1;
	if (!s->sf_account_id[0])
		return pt_err_set(err, PT_NOT_FOUND, "session without salesforce account");
	return 0;
}

static int h_list(struct web_request *req, struct pt_err *err)
{
	struct support_deps d = deps(req);
	struct json_object *items = NULL;
	struct session s;

	if (session(req, &s, err) != 0 || support_list(&d, s.sf_account_id, &items, err) != 0)
		return -1;
	long n = (long)json_object_array_length(items);
	return web_reply_list(req, items, 1, n, n);
}

static int h_create(struct web_request *req, struct pt_err *err)
{
	struct support_deps d = deps(req);
	struct support_case_input in;
	struct json_object *c = NULL;
	struct session s;
	int rc;

	if (session(req, &s, err) != 0 || support_parse_case(req->body, req->body_len, &in, err))
		return -1;
	/* The contact is found through the user's email in PostgreSQL. */
	if (!d.db) {
		support_case_input_clear(&in);
		return pt_err_set(err, PT_MAINTENANCE, "no database");
	}
	struct support_who who = { s.user_id, s.sf_account_id };
	rc = support_create(&d, &who, &in, &c, err);
	support_case_input_clear(&in);
	return rc ? -1 : web_reply_json(req, 201, c);
}

static int h_get(struct web_request *req, struct pt_err *err)
{
	struct support_deps d = deps(req);
	struct json_object *c = NULL;
	struct session s;

	if (session(req, &s, err) != 0 ||
	    support_get(&d, s.sf_account_id, web_param(req, "id"), &c, err) != 0)
		return -1;
	return web_reply_json(req, 200, c);
}

static int h_comment(struct web_request *req, struct pt_err *err)
{
	struct support_deps d = deps(req);
	struct json_object *cc = NULL;
	struct session s;
	char *text = NULL;
	int rc;

	if (session(req, &s, err) != 0 ||
	    support_parse_comment(req->body, req->body_len, &text, err) != 0)
		return -1;
	rc = support_comment(&d, s.sf_account_id, web_param(req, "id"), text, &cc, err);
	free(text);
	return rc ? -1 : web_reply_json(req, 201, cc);
}

static int init(struct web_ctx *ctx, struct pt_err *err)
{
	struct support_app *st = calloc(1, sizeof *st);

	if (!st)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	web_ctx_set_user(ctx, st);
	/* The Salesforce token is shared through Redis (sf:auth:token). */
	st->sf = sf_client_new_config(web_ctx_config(ctx), web_ctx_redis(ctx), err);
	return st->sf ? 0 : -1;
}

static void fini(struct web_ctx *ctx)
{
	struct support_app *st = web_ctx_user(ctx);

	if (!st)
		return;
	sf_client_free(st->sf);
	free(st);
	web_ctx_set_user(ctx, NULL);
}

static const struct web_route routes[] = {
	{ WEB_GET, "/api/support/cases", h_list },
	{ WEB_POST, "/api/support/cases", h_create },
	{ WEB_GET, "/api/support/cases/{id}", h_get },
	{ WEB_POST, "/api/support/cases/{id}/comments", h_comment },
};

static const char *const required[] = {
	"DATABASE_URL", "REDIS_URL", "SF_LOGIN_URL", "SF_CLIENT_ID", "SF_USERNAME", NULL,
};

static const struct web_app_def app = {
	.name = "portal-support",
	.routes = routes,
	.nroutes = sizeof routes / sizeof routes[0],
	.required_keys = required,
	.init = init,
	.fini = fini,
};

int main(int argc, char **argv)
{
	return web_app_run(&app, argc, argv);
}
