/* portal-webhooks.fcgi — POST /api/webhooks/whmcs (portal-api.md
 * "Webhooks", resolutions §17). Server to server: no session and no CSRF;
 * the HMAC signature over the raw body is the authentication. The body is
 * bounded by HTTP_MAX_BODY like every route. The work is in
 * src/app/webhooks.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/webhooks.h"
#include "core/log.h"
#include "web/app.h"

struct webhooks_app {
	const char *secret;     /* borrowed from the config */
};

static int h_whmcs(struct web_request *req, struct pt_err *err)
{
	struct webhooks_app *st = web_ctx_user(req->ctx);
	struct webhook_event ev;
	struct json_object *o;
	struct db *db;
	int dup = 0;

	if (webhook_verify(st->secret, req->body, req->body_len,
		web_header(req, "X-WHMCS-Signature"), (long long)time(NULL), &ev, err) != 0) {
		/* Logged (without the body or signature) so a misconfigured secret shows. */
		if (err->code == PT_INVALID_SIGNATURE)
			log_warn("webhook refused", "reason", err->detail, "remote", req->remote_addr);
		return -1;
	}
	if (!(db = web_ctx_db(req->ctx)))
		return pt_err_set(err, PT_MAINTENANCE, "no database");
	if (webhook_apply(db, web_ctx_redis(req->ctx), &ev, &dup, err) != 0)
		return -1;
	log_info(dup ? "webhook repeated: ignored" : "webhook applied", "event_id", ev.id);
	if (!(o = json_object_new_object()))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	json_object_object_add(o, "received", json_object_new_boolean(1));
	json_object_object_add(o, "duplicate", json_object_new_boolean(dup));
	return web_reply_json(req, 200, o);
}

static int init(struct web_ctx *ctx, struct pt_err *err)
{
	struct webhooks_app *st = calloc(1, sizeof *st);

	if (!st)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	web_ctx_set_user(ctx, st);
	st->secret = config_get(web_ctx_config(ctx), "WHMCS_WEBHOOK_SECRET");
	if (!st->secret || !*st->secret)
		return pt_err_field(err, PT_CONFIG_INVALID, "WHMCS_WEBHOOK_SECRET", "unset");
	return 0;
}

static void fini(struct web_ctx *ctx)
{
	free(web_ctx_user(ctx));
	web_ctx_set_user(ctx, NULL);
}

static const struct web_route routes[] = {
	{ WEB_POST, "/api/webhooks/whmcs", h_whmcs },
};

static const char *const required[] = {
	"DATABASE_URL", "REDIS_URL", "WHMCS_WEBHOOK_SECRET", NULL,
};

static const struct web_app_def app = {
	.name = "portal-webhooks",
	.routes = routes,
	.nroutes = sizeof routes / sizeof routes[0],
	.required_keys = required,
	.init = init,
	.fini = fini,
	/* The contract fixes the signature over the raw body, not its
	 * Content-Type, and WHMCS hooks may label it otherwise: the HMAC is
	 * the check here, so a 415 would only drop genuine events. */
	.bodies = WEB_BODY_ANY,
};

int main(int argc, char **argv)
{
	return web_app_run(&app, argc, argv);
}
