/* portal-orders.fcgi — orders (portal-api.md "Orders", resolutions §12-13):
 * POST /api/orders (checkout), GET /api/orders, GET /api/orders/{id}. Every
 * route is an account route: the account ids come from the session only,
 * never from the request, and POST needs the CSRF token. The work is in
 * src/app/checkout.c and src/app/orders.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/catalog.h"
#include "app/checkout.h"
#include "app/orders.h"
#include "core/log.h"
#include "salesforce/rest.h"
#include "web/app.h"
#include "web/guard.h"
#include "whmcs/client.h"

struct orders_app {
	struct sf_client *sf;
	struct whmcs_client *whmcs;
	char pricebook_id[SF_ID_LEN18 + 1];
	long customer_field_id;
};

static struct orders_app *state(struct web_request *req)
{
	return web_ctx_user(req->ctx);
}

/* PostgreSQL holds the outbox; without it neither path can answer. */
static struct db *need_db(struct web_request *req, struct pt_err *err)
{
	struct db *db = web_ctx_db(req->ctx);

	if (!db)
		pt_err_set(err, PT_MAINTENANCE, "no database");
	return db;
}

static int h_create(struct web_request *req, struct pt_err *err)
{
	struct orders_app *st = state(req);
	struct checkout_request *rq;
	struct session s;
	struct json_object *order = NULL;
	int status = 0;

	if (web_guard_require_session(req, &s, err) != 0)
		return -1;
	/* The key first: a client that forgot it learns that before anything else. */
	if (checkout_key_check(web_header(req, "Idempotency-Key"), err) != 0)
		return -1;
	/* ~30 KiB: per request, not on the stack. */
	if (!(rq = web_alloc(req, sizeof *rq)))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	if (checkout_parse(req->body, req->body_len, rq, err) != 0)
		return -1;
	struct checkout_deps d = {
		.sf = st->sf, .whmcs = st->whmcs, .db = need_db(req, err),
		.redis = web_ctx_redis(req->ctx), .pricebook_id = st->pricebook_id,
		.customer_field_id = st->customer_field_id,
	};
	if (!d.db)
		return -1;
	struct checkout_subject who = { s.user_id, s.sf_account_id, s.whmcs_client_id };
	if (checkout_place(&d, &who, web_header(req, "Idempotency-Key"), rq, &status, &order,
		err) != 0)
		return -1;
	return web_reply_json(req, status, order);
}

static int h_list(struct web_request *req, struct pt_err *err)
{
	struct session s;
	struct json_object *items = NULL;
	struct orders_deps d = { state(req)->sf, NULL, web_ctx_redis(req->ctx) };

	if (web_guard_require_session(req, &s, err) != 0 || !(d.db = need_db(req, err)))
		return -1;
	if (orders_list(&d, s.sf_account_id, &items, err) != 0)
		return -1;
	long n = (long)json_object_array_length(items);
	return web_reply_list(req, items, 1, n, n);
}

static int h_get(struct web_request *req, struct pt_err *err)
{
	struct session s;
	struct json_object *order = NULL;
	struct orders_deps d = { state(req)->sf, NULL, web_ctx_redis(req->ctx) };

	if (web_guard_require_session(req, &s, err) != 0 || !(d.db = need_db(req, err)))
		return -1;
	if (orders_get(&d, s.sf_account_id, web_param(req, "id"), &order, err) != 0)
		return -1;
	return web_reply_json(req, 200, order);
}

static int init(struct web_ctx *ctx, struct pt_err *err)
{
	const struct pt_config *cfg = web_ctx_config(ctx);
	struct orders_app *st = calloc(1, sizeof *st);

	if (!st)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	web_ctx_set_user(ctx, st);
	if (app_catalog_pricebook_from_config(cfg, st->pricebook_id, err) != 0 ||
	    config_get_long(cfg, "WHMCS_CUSTOMER_NUMBER_FIELD_ID", &st->customer_field_id,
		err) != 0)
		return -1;
	/* The Salesforce token is shared through Redis (sf:auth:token). */
	st->sf = sf_client_new_config(cfg, web_ctx_redis(ctx), err);
	if (!st->sf)
		return -1;
	st->whmcs = whmcs_client_from_config(cfg, err);
	return st->whmcs ? 0 : -1;
}

static void fini(struct web_ctx *ctx)
{
	struct orders_app *st = web_ctx_user(ctx);

	if (!st)
		return;
	sf_client_free(st->sf);
	whmcs_client_free(st->whmcs);
	free(st);
	web_ctx_set_user(ctx, NULL);
}

static const struct web_route routes[] = {
	{ WEB_POST, "/api/orders", h_create },
	{ WEB_GET, "/api/orders", h_list },
	{ WEB_GET, "/api/orders/{id}", h_get },
};

static const char *const required[] = {
	"DATABASE_URL", "REDIS_URL", "SF_LOGIN_URL", "SF_CLIENT_ID", "SF_USERNAME",
	"PORTAL_PRICEBOOK_ID", "WHMCS_API_URL", "WHMCS_API_IDENTIFIER", "WHMCS_API_SECRET", NULL,
};

static const struct web_app_def app = {
	.name = "portal-orders",
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
