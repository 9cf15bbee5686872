/* app/sim_cdr — GET /api/sim/{id}/calls|sms (freebit.md §7, resolutions
 * §30): a month's file is downloaded and parsed once, by the one process
 * holding cdr:lock:<kind>:<YYYYMM>; each line's rows go to
 * cdr:<kind>:<msisdn>:<YYYYMM>, then last the month's meta, so meta present
 * means every line key that exists is complete (absent = no records). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/sim.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "domain/cdr.h"
#include "sftp/cdr.h"
#include "sftp/sftp.h"
#include "store/cache.h"
#include "store/redis.h"

#define CDR_DELIVERED_AFTER_S 300   /* a file modified < 5 min ago is still uploading */
#define CDR_WAIT_MS 10000

struct cdr_import {
	struct json_object *lines;     /* msisdn → {"records":[…],"total_jpy":N,"truncated":N} */
	struct cdr_parser *parser;
	long truncated;
};

static const char *kind_name(int sms)
{
	return sms ? "sms" : "calls";
}

static void month_key(char *out, size_t n, int sms, int y, int m, const char *what)
{
	snprintf(out, n, "cdr:%s:%04d%02d:%s", kind_name(sms), y % 10000, m, what);
}

/* msisdn is the normalised ^0[0-9]{10}$ of a resolved line. */
static void line_key(char *out, size_t n, int sms, const char *msisdn, int y, int m)
{
	snprintf(out, n, "cdr:%s:%s:%04d%02d", kind_name(sms), msisdn, y % 10000, m);
}

static int add_row(struct cdr_import *im, const char *msisdn, struct json_object *rec,
	long charge, struct pt_err *err)
{
	struct json_object *e, *v;

	if (!rec)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	if (!json_object_object_get_ex(im->lines, msisdn, &e)) {
		e = json_object_new_object();
		json_object_object_add(e, "records", json_object_new_array());
		json_object_object_add(e, "total_jpy", json_object_new_int64(0));
		json_object_object_add(e, "truncated", json_object_new_int64(0));
		json_object_object_add(im->lines, msisdn, e);
	}
	json_object_object_get_ex(e, "records", &v);
	if (json_object_array_length(v) >= SIM_CDR_MAX_ROWS) {
		json_object_put(rec);
		json_object_object_get_ex(e, "truncated", &v);
		json_object_set_int64(v, json_object_get_int64(v) + 1);
		im->truncated++;
		return 0;
	}
	json_object_array_add(v, rec);
	json_object_object_get_ex(e, "total_jpy", &v);
	json_object_set_int64(v, json_object_get_int64(v) + charge);
	return 0;
}

static int on_call(void *ctx, const struct domain_call_record *r, struct pt_err *err)
{
	return add_row(ctx, r->msisdn, domain_call_record_json(r), r->charge_jpy, err);
}

static int on_sms(void *ctx, const struct domain_sms_record *r, struct pt_err *err)
{
	return add_row(ctx, r->msisdn, domain_sms_record_json(r), r->charge_jpy, err);
}

static int sink(void *ctx, const char *data, size_t len, struct pt_err *err)
{
	struct cdr_import *im = ctx;

	return cdr_parser_feed(im->parser, data, len, err);
}

static int store_lines(struct redis *r, struct cdr_import *im, int sms, int y, int m,
	struct pt_err *err)
{
	char key[CACHE_KEY_MAX];

	json_object_object_foreach(im->lines, msisdn, e) {
		size_t n;
		const char *s = json_compact(e, &n);

		line_key(key, sizeof key, sms, msisdn, y, m);
		if (cache_set(r, key, s, n, SIM_CDR_LINE_TTL_S, err) != 0)
			return -1;
	}
	return 0;
}

/* The import proper, under the lock. A missing or not yet delivered file is
 * RECORDS_NOT_AVAILABLE (the missing one remembered for an hour). */
static int import_month(struct sim_deps *d, int sms, int y, int m, struct pt_err *err)
{
	static const struct cdr_callbacks cb = { on_call, on_sms };
	struct cdr_import im = { 0 };
	struct sftp_opts o;
	struct sftp_conn *c = NULL;
	struct sftp_file_info fi = { 0 };
	struct cdr_stats st = { 0 };
	char name[64], key[CACHE_KEY_MAX], meta[256];
	int rc = -1;

	if (sftp_cdr_filename(sms ? DOMAIN_CDR_SMS : DOMAIN_CDR_CALLS, y, m, name, sizeof name) ||
	    sftp_opts_from_config(d->cfg, &o, err) != 0 || !(c = sftp_connect(&o, err)))
		goto out;
	if (sftp_stat(c, name, &fi, err) != 0) {
		if (err->code == PT_NOT_FOUND) {
			month_key(key, sizeof key, sms, y, m, "missing");
			cache_set(d->redis, key, "1", 1, SIM_CDR_MISSING_TTL_S, NULL);
			pt_err_set(err, PT_RECORDS_NOT_AVAILABLE, "%s not delivered", name);
		}
		goto out;
	}
	if ((long long)fi.mtime > (long long)time(NULL) - CDR_DELIVERED_AFTER_S) {
		pt_err_set(err, PT_RECORDS_NOT_AVAILABLE, "%s still being uploaded", name);
		goto out;
	}
	im.lines = json_object_new_object();
	im.parser = cdr_parser_new(sms ? DOMAIN_CDR_SMS : DOMAIN_CDR_CALLS, y, m, &cb, &im);
	if (!im.lines || !im.parser) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		goto out;
	}
	if (sftp_download(c, name, sink, &im, &fi, err) != 0 ||
	    cdr_parser_finish(im.parser, &st, err) != 0) {
		log_error("cdr import failed", "file", name, "detail", err->detail);
		goto out;
	}
	if (store_lines(d->redis, &im, sms, y, m, err) != 0)
		goto out;
	snprintf(meta, sizeof meta, "{\"size\":%lld,\"mtime\":%lld,\"imported_at\":%lld,"
		"\"rows\":%ld,\"bad_lines\":%ld,\"truncated\":%ld}", fi.size, (long long)fi.mtime,
		(long long)time(NULL), st.rows, st.bad_lines, im.truncated);
	month_key(key, sizeof key, sms, y, m, "meta");
	if (cache_set(d->redis, key, meta, strlen(meta), SIM_CDR_META_TTL_S, err) != 0)
		goto out;
	char rows[24], bad[24];
	log_info("cdr imported", "file", name, "rows", log_itoa(st.rows, rows), "bad_lines",
		log_itoa(st.bad_lines, bad));
	rc = 0;
out:
	cdr_parser_free(im.parser);
	json_object_put(im.lines);
	sftp_close(c);
	return rc;
}

static int exists(struct redis *r, const char *key, struct pt_err *err)
{
	redisReply *rep = redis_cmd(r, err, "EXISTS %s", key);
	int rc = rep && rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer : -1;

	if (rep)
		freeReplyObject(rep);
	if (rc < 0)
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis");
	return rc;
}

/* Meta present afterwards (0), or the reason it is not. */
static int ensure_imported(struct sim_deps *d, int sms, int y, int m, struct pt_err *err)
{
	char meta[CACHE_KEY_MAX], missing[CACHE_KEY_MAX], lock[CACHE_KEY_MAX];
	redisReply *rep;
	int waited, e;

	month_key(meta, sizeof meta, sms, y, m, "meta");
	month_key(missing, sizeof missing, sms, y, m, "missing");
	snprintf(lock, sizeof lock, "cdr:lock:%s:%04d%02d", kind_name(sms), y % 10000, m);
	if ((e = exists(d->redis, meta, err)) != 0)
		return e > 0 ? 0 : -1;
	if (exists(d->redis, missing, err) == 1)
		return pt_err_set(err, PT_RECORDS_NOT_AVAILABLE, "file missing (remembered)");
	rep = redis_cmd(d->redis, err, "SET %s %d NX EX %d", lock, (int)getpid(),
		SIM_CDR_LOCK_TTL_S);
	if (!rep)
		return -1;
	e = rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	if (e) {
		int rc = import_month(d, sms, y, m, err);

		if ((rep = redis_cmd(d->redis, NULL, "DEL %s", lock)))
			freeReplyObject(rep);
		return rc;
	}
	/* Another process imports: wait for its meta. */
	for (waited = 0; waited < CDR_WAIT_MS; waited += 100) {
		usleep(100000);
		if (exists(d->redis, meta, err) == 1)
			return 0;
		if (exists(d->redis, missing, err) == 1)
			return pt_err_set(err, PT_RECORDS_NOT_AVAILABLE, "file missing");
	}
	pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "cdr import still running");
	err->retry_after = 30;
	return -1;
}

static int by_time(const void *a, const void *b)
{
	struct json_object *const *x = a, *const *y = b;
	const char *tx = json_str_or(*x, "started_at", json_str_or(*x, "sent_at", ""));
	const char *ty = json_str_or(*y, "started_at", json_str_or(*y, "sent_at", ""));

	return strcmp(tx, ty);
}

int sim_cdr(struct sim_deps *d, const struct sim_line_ref *l, int sms, const char *month,
	struct json_object **out, struct pt_err *err)
{
	struct json_object *e = NULL, *recs = NULL, *tot;
	char key[CACHE_KEY_MAX];
	struct buf v;
	int y, m, ny, nm, nd, rc = -1;
	long total = 0;

	if (!month || sim_parse_month(month, &y, &m) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "month", "YYYY-MM");
	sim_jst_date((long long)time(NULL), &ny, &nm, &nd);
	if (!sim_month_offered(y, m, ny, nm))
		return pt_err_set(err, PT_RECORDS_NOT_AVAILABLE, "%s not offered", month);
	if (ensure_imported(d, sms, y, m, err) != 0)
		return -1;
	buf_init(&v, 16u * 1024 * 1024);
	line_key(key, sizeof key, sms, l->msisdn, y, m);
	if (cache_get(d->redis, key, &v, NULL) == 1 &&
	    (e = json_parse_bounded(v.data, v.len, v.max, 16, NULL)) &&
	    json_object_object_get_ex(e, "records", &recs)) {
		json_object_get(recs);
		if (json_object_object_get_ex(e, "total_jpy", &tot))
			total = (long)json_object_get_int64(tot);
		json_object_array_sort(recs, by_time);
	} else {
		recs = json_object_new_array();
	}
	if (!(*out = domain_cdr_month_json(month, recs, total)))
		pt_err_set(err, PT_INTERNAL, "out of memory");
	else
		rc = 0;
	json_object_put(e);
	buf_free(&v);
	return rc;
}
