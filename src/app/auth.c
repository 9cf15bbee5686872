/* app/auth — pieces shared by the auth use cases: the password policy and
 * its common-password list, email normalisation, the user row and its JSON,
 * and the login-style throttles. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/auth.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/db.h"
#include "store/ratelimit.h"
#include "store/redis.h"

#define PASSWORD_LIST_MAX 200000   /* words; the shipped file has a few thousand */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lower_in_place(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int app_password_list_load(const char *path, struct app_password_list *out, struct pt_err *err)
{
	char line[512];
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	memset(out, 0, sizeof *out);
	if (!f)
		return pt_err_set(err, PT_CONFIG_INVALID, "common password list %s: cannot open", path);
	while (fgets(line, sizeof line, f) && out->n < PASSWORD_LIST_MAX) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			char **w = realloc(out->words, ncap * sizeof *w);
			if (!w)
				break;
			out->words = w;
			cap = ncap;
		}
		if (!(out->words[out->n] = strdup(line)))
			break;
		lower_in_place(out->words[out->n++]);
	}
	fclose(f);
	if (out->n == 0) {
		app_password_list_free(out);
		return pt_err_set(err, PT_CONFIG_INVALID, "common password list %s: empty", path);
	}
	qsort(out->words, out->n, sizeof *out->words, cmp_str);
	return 0;
}

void app_password_list_free(struct app_password_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->words[i]);
	free(l->words);
	memset(l, 0, sizeof *l);
}

static int on_list(const struct app_password_list *l, const char *pw)
{
	char low[APP_AUTH_PASSWORD_MAX + 1];
	const char *key = low;

	if (!l || !l->n)
		return 0;
	str_lcpy(low, pw, sizeof low);
	lower_in_place(low);
	return bsearch(&key, l->words, l->n, sizeof *l->words, cmp_str) != NULL;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int one_repeated_char(const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p != *s)
			return 0;
	return 1;
}

/* The email, or its local part, as the password is the first guess of
 * anyone who knows the address. */
static int is_email_like(const char *pw, const char *email)
{
	size_t local;

	if (!email || !*email)
		return 0;
	if (!strcasecmp(pw, email))
		return 1;
	local = strcspn(email, "@");
	return strlen(pw) == local && !strncasecmp(pw, email, local);
}

int app_password_policy(const struct app_password_list *list, const char *password,
	const char *email, const char *field, struct pt_err *err)
{
	size_t len = strlen(password);

	if (len > APP_AUTH_PASSWORD_MAX || !str_valid_text(password, len, 0))
		return pt_err_field(err, PT_VALIDATION_FAILED, field, "password too long or not text");
	if (utf8_chars(password) < APP_AUTH_PASSWORD_MIN)
		return pt_err_field(err, PT_WEAK_PASSWORD, field, "shorter than %d",
			APP_AUTH_PASSWORD_MIN);
	if (one_repeated_char(password) || is_email_like(password, email) ||
	    on_list(list, password))
		return pt_err_field(err, PT_WEAK_PASSWORD, field, "common or guessable password");
	return 0;
}

int app_email_normalise(const char *in, char out[APP_AUTH_EMAIL_MAX + 1])
{
	size_t len = in ? strlen(in) : 0;
	const char *at;

	out[0] = '\0';
	if (len < 3 || len > APP_AUTH_EMAIL_MAX || !str_valid_text(in, len, 0))
		return -1;
	at = strchr(in, '@');
	if (!at || at == in || !at[1] || strchr(at + 1, '@') || strpbrk(in, " \t\"<>,;"))
		return -1;
	str_lcpy(out, in, APP_AUTH_EMAIL_MAX + 1);
	lower_in_place(out);
	return 0;
}

/* ---- users ----------------------------------------------------------------- */

struct json_object *app_user_json(const struct app_user *u)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(u->id));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "totp_enabled", json_object_new_boolean(u->totp_enabled));
	json_object_object_add(o, "created_at", json_object_new_string(u->created_at));
	return o;
}

struct json_object *app_account_json(const struct app_user *u)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "sf_account_id",
		u->sf_account_id[0] ? json_object_new_string(u->sf_account_id) : NULL);
	json_object_object_add(o, "whmcs_client_id",
		u->whmcs_client_id[0] ? json_object_new_string(u->whmcs_client_id) : NULL);
	return o;
}

int app_user_by_id(struct app_auth *a, const char *user_id, struct app_user *out,
	struct pt_err *err)
{
	const char *p[] = { user_id };
	PGresult *r;

	memset(out, 0, sizeof *out);
	r = db_exec(a->db,
		"SELECT u.id, u.email, u.status, u.totp_enabled, "
		"to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
		"coalesce(m.sf_account_id, ''), coalesce(m.whmcs_client_id::text, ''), "
		"m.sf_synced_at IS NOT NULL "
		"FROM users u LEFT JOIN id_mappings m ON m.user_id = u.id WHERE u.id = $1",
		1, p, err);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return pt_err_set(err, PT_UNAUTHENTICATED, "user %s gone", user_id);
	}
	str_lcpy(out->id, PQgetvalue(r, 0, 0), sizeof out->id);
	str_lcpy(out->email, PQgetvalue(r, 0, 1), sizeof out->email);
	str_lcpy(out->status, PQgetvalue(r, 0, 2), sizeof out->status);
	out->totp_enabled = PQgetvalue(r, 0, 3)[0] == 't';
	str_lcpy(out->created_at, PQgetvalue(r, 0, 4), sizeof out->created_at);
	str_lcpy(out->sf_account_id, PQgetvalue(r, 0, 5), sizeof out->sf_account_id);
	str_lcpy(out->whmcs_client_id, PQgetvalue(r, 0, 6), sizeof out->whmcs_client_id);
	out->sf_synced = PQgetvalue(r, 0, 7)[0] == 't';
	PQclear(r);
	return 0;
}

/* ---- throttles ------------------------------------------------------------- */

/* Scopes "<scope>_ip" and "<scope>_acct": failures per client address and
 * per account (a lower-cased email or a user id). Redis down fails closed:
 * guessing must never run unthrottled. */
int app_throttle_check(struct app_auth *a, const char *scope, const char *account_id,
	struct pt_err *err)
{
	char s[RATELIMIT_SCOPE_MAX + 1];
	const char *ip = a->client_ip && *a->client_ip ? a->client_ip : "unknown";

	snprintf(s, sizeof s, "%s_ip", scope);
	if (ratelimit_hit(a->redis, s, ip, a->limit_per_ip, a->limit_window_s, RATELIMIT_PEEK,
		NULL, err) != 0)
		return -1;
	if (!account_id)
		return 0;
	snprintf(s, sizeof s, "%s_acct", scope);
	return ratelimit_hit(a->redis, s, account_id, a->limit_per_account, a->limit_window_s,
		RATELIMIT_PEEK, NULL, err);
}

void app_throttle_fail(struct app_auth *a, const char *scope, const char *account_id)
{
	char s[RATELIMIT_SCOPE_MAX + 1];
	const char *ip = a->client_ip && *a->client_ip ? a->client_ip : "unknown";
	struct pt_err e;

	pt_err_clear(&e);
	snprintf(s, sizeof s, "%s_ip", scope);
	ratelimit_hit(a->redis, s, ip, a->limit_per_ip, a->limit_window_s, 0, NULL, &e);
	if (account_id) {
		snprintf(s, sizeof s, "%s_acct", scope);
		ratelimit_hit(a->redis, s, account_id, a->limit_per_account, a->limit_window_s, 0,
			NULL, &e);
	}
}
