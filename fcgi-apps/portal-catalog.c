/* portal-catalog.fcgi — the service catalog (portal-api.md "Catalog").
 * Public routes are never personalised: they read no cookie, set none, and
 * answer the same bytes to everyone, cacheable by browsers and shared caches
 * (Cache-Control public, max-age, s-maxage); they are rate limited per
 * client address. The account route reads the session's account only and is
 * private, no-store. The work is in src/app/catalog.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/catalog.h"
#include "core/log.h"
#include "salesforce/rest.h"
#include "store/ratelimit.h"
#include "web/app.h"
#include "web/guard.h"

#define CT_JSON "application/json; charset=utf-8"

struct catalog_app {
	struct sf_client *sf;
	char pricebook_id[SF_ID_LEN18 + 1];
	long max_age, s_maxage;
	long public_per_min;
};

static struct catalog_app *state(struct web_request *req)
{
	return web_ctx_user(req->ctx);
}

static void use_case(struct web_request *req, struct app_catalog *c)
{
	struct catalog_app *st = state(req);

	memset(c, 0, sizeof *c);
	c->sf = st->sf;
	c->redis = web_ctx_redis(req->ctx);
	str_lcpy(c->pricebook_id, st->pricebook_id, sizeof c->pricebook_id);
}

/* ---- guards ------------------------------------------------------------------ */

/* resolutions §19: RATE_LIMIT_PUBLIC_PER_MIN per client address over a
 * sliding minute; a Redis failure lets the request through (the public
 * catalog keeps serving, and the web server's own limit still applies). */
static int public_rate_limit(struct web_request *req, struct pt_err *err)
{
	struct redis *r = web_ctx_redis(req->ctx);
	const char *ip = req->remote_addr && *req->remote_addr ? req->remote_addr : "unknown";

	return ratelimit_hit(r, "public_catalog", ip, state(req)->public_per_min, 60,
		RATELIMIT_FAIL_OPEN, NULL, err);
}

/* ---- public ------------------------------------------------------------------- */

static int public_reply(struct web_request *req, enum app_catalog_view view,
	const char *category, struct pt_err *err)
{
	struct catalog_app *st = state(req);
	struct app_catalog c;
	struct buf body;
	int cached = 0, rc;

	if (public_rate_limit(req, err) != 0)
		return -1;
	use_case(req, &c);
	buf_init(&body, APP_CATALOG_VALUE_MAX);
	if (app_catalog_public(&c, view, category, &body, &cached, err) != 0) {
		buf_free(&body);
		return -1;
	}
	log_debug("catalog served", "cache", cached ? "hit" : "miss");
	rc = web_reply_text(req, 200, CT_JSON, buf_cstr(&body), body.len);
	if (rc == 0)
		web_cache_public(req, st->max_age, st->s_maxage);
	buf_free(&body);
	return rc;
}

static int h_categories(struct web_request *req, struct pt_err *err)
{
	return public_reply(req, APP_CATALOG_CATEGORIES, NULL, err);
}

static int h_plans(struct web_request *req, struct pt_err *err)
{
	return public_reply(req, APP_CATALOG_PLANS, web_param(req, "category"), err);
}

static int h_addons(struct web_request *req, struct pt_err *err)
{
	return public_reply(req, APP_CATALOG_ADDONS, web_param(req, "category"), err);
}

/* ---- account ------------------------------------------------------------------ */

static int h_account_plans(struct web_request *req, struct pt_err *err)
{
	struct session s;
	struct app_catalog c;
	struct json_object *items = NULL;

	if (web_guard_require_session(req, &s, err) != 0)
		return -1;
	use_case(req, &c);
	/* The account comes from the session only, never from the request. */
	if (app_catalog_account_plans(&c, s.sf_account_id, web_param(req, "category"), &items,
		err) != 0)
		return -1;
	long n = (long)json_object_array_length(items);
	return web_reply_list(req, items, 1, n, n);   /* private, no-store */
}

/* ---- app ---------------------------------------------------------------------- */

static int init(struct web_ctx *ctx, struct pt_err *err)
{
	const struct pt_config *cfg = web_ctx_config(ctx);
	struct catalog_app *st = calloc(1, sizeof *st);

	if (!st)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	web_ctx_set_user(ctx, st);
	st->max_age = 60;
	st->s_maxage = 300;
	st->public_per_min = 120;
	if (app_catalog_pricebook_from_config(cfg, st->pricebook_id, err) != 0 ||
	    config_get_long(cfg, "PUBLIC_CACHE_MAX_AGE_S", &st->max_age, err) != 0 ||
	    config_get_long(cfg, "PUBLIC_CACHE_S_MAXAGE_S", &st->s_maxage, err) != 0 ||
	    config_get_long(cfg, "RATE_LIMIT_PUBLIC_PER_MIN", &st->public_per_min, err) != 0)
		return -1;
	/* The Salesforce token is shared through Redis (sf:auth:token). */
	st->sf = sf_client_new_config(cfg, web_ctx_redis(ctx), err);
	return st->sf ? 0 : -1;
}

static void fini(struct web_ctx *ctx)
{
	struct catalog_app *st = web_ctx_user(ctx);

	if (!st)
		return;
	sf_client_free(st->sf);
	free(st);
	web_ctx_set_user(ctx, NULL);
}

static const struct web_route routes[] = {
	{ WEB_GET, "/api/public/services", h_categories },
	{ WEB_GET, "/api/public/services/{category}/plans", h_plans },
	{ WEB_GET, "/api/public/services/{category}/addons", h_addons },
	{ WEB_GET, "/api/account/services/{category}/plans", h_account_plans },
};

static const char *const required[] = {
	"REDIS_URL", "SF_LOGIN_URL", "SF_CLIENT_ID", "SF_USERNAME", "PORTAL_PRICEBOOK_ID", NULL,
};

static const struct web_app_def app = {
	.name = "portal-catalog",
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
