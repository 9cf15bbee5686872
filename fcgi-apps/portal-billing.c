/* portal-billing.fcgi — invoices, payment methods, gateways, subscriptions
 * and the billing profile (portal-api.md "Billing"). Every route is an
 * account route: the WHMCS client id comes from the session only, and the
 * unsafe ones need the CSRF token. The work is in src/app/billing.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/billing.h"
#include "core/log.h"
#include "web/app.h"
#include "web/guard.h"
#include "whmcs/client.h"

struct billing_app {
	struct whmcs_client *whmcs;
	struct billing_ttls ttl;
	long customer_field_id;
};

/* The session's client, and the deps for this request. A session without a
 * WHMCS client (should not exist: sign-up and link make one) sees nothing. */
static int begin(struct web_request *req, struct billing_deps *d, long *client_id,
	struct pt_err *err)
{
	struct billing_app *st = web_ctx_user(req->ctx);
	struct session s;

	if (web_guard_require_session(req, &s, err) != 0)
		return -1;
	if (billing_id_parse(s.whmcs_client_id, client_id) != 0)
		return pt_err_set(err, PT_NOT_FOUND, "session has no WHMCS client");
	d->whmcs = st->whmcs;
	d->redis = web_ctx_redis(req->ctx);
	d->ttl = st->ttl;
	d->customer_field_id = st->customer_field_id;
	return 0;
}

/* {"data": v[, "stale": true]}: stale when WHMCS was down and an expired
 * cached copy answered. */
static int reply(struct web_request *req, int status, struct json_object *v, int stale)
{
	struct json_object *o;

	if (!stale)
		return web_reply_json(req, status, v);
	if (!(o = json_object_new_object())) {
		json_object_put(v);
		return web_reply_code(req, PT_INTERNAL);
	}
	json_object_object_add(o, "data", v);
	json_object_object_add(o, "stale", json_object_new_boolean(1));
	return web_reply_json_bare(req, status, o);
}

/* The {id} capture; anything but a positive decimal is simply not found. */
static int id_param(struct web_request *req, long *id, struct pt_err *err)
{
	if (billing_id_parse(web_param(req, "id"), id) != 0)
		return pt_err_set(err, PT_NOT_FOUND, "malformed id");
	return 0;
}

static int h_invoices(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct billing_page pg;
	struct json_object *items = NULL, *o;
	long cid, total = 0;
	int stale = 0;

	if (begin(req, &d, &cid, err) != 0 ||
	    billing_page_parse(web_query(req, "page"), web_query(req, "limit"),
		web_query(req, "status"), &pg, err) != 0 ||
	    billing_invoices(&d, cid, &pg, &items, &total, &stale, err) != 0)
		return -1;
	if (!stale)
		return web_reply_list(req, items, pg.page, pg.limit, total);
	if (!(o = json_object_new_object())) {
		json_object_put(items);
		return web_reply_code(req, PT_INTERNAL);
	}
	json_object_object_add(o, "data", items);
	json_object_object_add(o, "page", json_object_new_int64(pg.page));
	json_object_object_add(o, "limit", json_object_new_int64(pg.limit));
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "stale", json_object_new_boolean(1));
	return web_reply_json_bare(req, 200, o);
}

static int h_invoice(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct json_object *v = NULL;
	long cid, id;
	int stale = 0;

	if (begin(req, &d, &cid, err) != 0 || id_param(req, &id, err) != 0 ||
	    billing_invoice(&d, cid, id, &v, &stale, err) != 0)
		return -1;
	return reply(req, 200, v, stale);
}

static int h_payment_link(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct json_object *v = NULL;
	long cid, id;

	if (begin(req, &d, &cid, err) != 0 || id_param(req, &id, err) != 0 ||
	    billing_payment_link(&d, cid, id, &v, err) != 0)
		return -1;
	return web_reply_json(req, 201, v);
}

static int h_paymethods(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct json_object *v = NULL;
	long cid;
	int stale = 0;

	if (begin(req, &d, &cid, err) != 0 || billing_paymethods(&d, cid, &v, &stale, err) != 0)
		return -1;
	return reply(req, 200, v, stale);
}

static int h_paymethod_link(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct json_object *v = NULL;
	long cid;

	if (begin(req, &d, &cid, err) != 0 || billing_paymethod_link(&d, cid, &v, err) != 0)
		return -1;
	return web_reply_json(req, 201, v);
}

static int h_gateways(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct json_object *v = NULL;
	long cid;
	int stale = 0;

	if (begin(req, &d, &cid, err) != 0 || billing_gateways(&d, &v, &stale, err) != 0)
		return -1;
	return reply(req, 200, v, stale);
}

static int h_subscriptions(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct json_object *v = NULL;
	long cid;
	int stale = 0;

	if (begin(req, &d, &cid, err) != 0 ||
	    billing_subscriptions(&d, cid, &v, &stale, err) != 0)
		return -1;
	return reply(req, 200, v, stale);
}

static int h_subscription(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct json_object *v = NULL;
	long cid, id;
	int stale = 0;

	if (begin(req, &d, &cid, err) != 0 || id_param(req, &id, err) != 0 ||
	    billing_subscription(&d, cid, id, &v, &stale, err) != 0)
		return -1;
	return reply(req, 200, v, stale);
}

static int h_profile(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct json_object *v = NULL;
	long cid;
	int stale = 0;

	if (begin(req, &d, &cid, err) != 0 || billing_profile(&d, cid, &v, &stale, err) != 0)
		return -1;
	return reply(req, 200, v, stale);
}

static int h_profile_patch(struct web_request *req, struct pt_err *err)
{
	struct billing_deps d;
	struct billing_profile_patch patch;
	struct json_object *doc = NULL, *v = NULL;
	long cid;
	int rc = -1;

	if (begin(req, &d, &cid, err) != 0)
		return -1;
	if (billing_profile_patch_parse(req->body, req->body_len, &doc, &patch, err) != 0 ||
	    billing_profile_update(&d, cid, &patch, &v, err) != 0)
		goto out;
	rc = web_reply_json(req, 200, v);
out:
	json_object_put(doc);
	return rc;
}

static int init(struct web_ctx *ctx, struct pt_err *err)
{
	const struct pt_config *cfg = web_ctx_config(ctx);
	struct billing_app *st = calloc(1, sizeof *st);

	if (!st)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	web_ctx_set_user(ctx, st);
	if (config_get_long(cfg, "CACHE_TTL_INVOICES", &st->ttl.invoices, err) != 0 ||
	    config_get_long(cfg, "CACHE_TTL_INVOICE", &st->ttl.invoice, err) != 0 ||
	    config_get_long(cfg, "CACHE_TTL_SUBSCRIPTIONS", &st->ttl.services, err) != 0 ||
	    config_get_long(cfg, "CACHE_TTL_PAYMENT_METHODS", &st->ttl.paymethods, err) != 0 ||
	    config_get_long(cfg, "CACHE_TTL_GATEWAYS", &st->ttl.gateways, err) != 0 ||
	    config_get_long(cfg, "CACHE_TTL_PROFILE", &st->ttl.profile, err) != 0 ||
	    config_get_long(cfg, "WHMCS_CUSTOMER_NUMBER_FIELD_ID", &st->customer_field_id, err) != 0)
		return -1;
	st->whmcs = whmcs_client_from_config(cfg, err);
	return st->whmcs ? 0 : -1;
}

static void fini(struct web_ctx *ctx)
{
	struct billing_app *st = web_ctx_user(ctx);

	if (!st)
		return;
	whmcs_client_free(st->whmcs);
	free(st);
	web_ctx_set_user(ctx, NULL);
}

static const struct web_route routes[] = {
	{ WEB_GET, "/api/billing/invoices", h_invoices },
	{ WEB_GET, "/api/billing/invoices/{id}", h_invoice },
	{ WEB_POST, "/api/billing/invoices/{id}/payment-link", h_payment_link },
	{ WEB_GET, "/api/billing/payment-methods", h_paymethods },
	{ WEB_POST, "/api/billing/payment-methods/link", h_paymethod_link },
	{ WEB_GET, "/api/billing/payment-gateways", h_gateways },
	{ WEB_GET, "/api/subscriptions", h_subscriptions },
	{ WEB_GET, "/api/subscriptions/{id}", h_subscription },
	{ WEB_GET, "/api/account/profile", h_profile },
	{ WEB_PATCH, "/api/account/profile", h_profile_patch },
};

static const char *const required[] = {
	"REDIS_URL", "WHMCS_API_URL", "WHMCS_API_IDENTIFIER", "WHMCS_API_SECRET", NULL,
};

static const struct web_app_def app = {
	.name = "portal-billing",
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
