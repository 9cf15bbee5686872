/* app/signup — sign-up (contract + resolutions §14) and link (§15).
 * Failure points and what a retry does are in docs/signup.md; in short, a
 * signup_pending row is written before WHMCS AddClient and receives the
 * client id as soon as WHMCS returns it, so no attempt ever creates a second
 * WHMCS client for an account, and the Salesforce write-back comes last and
 * is completed later when it fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/auth.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/rand.h"
#include "domain/account.h"
#include "domain/billing.h"
#include "salesforce/rest.h"
#include "store/db.h"
#include "whmcs/actions.h"

/* The account with this customer number, or PT_CUSTOMER_NUMBER_NOT_FOUND. */
static int find_account(struct app_auth *a, const char *number, struct domain_account *acct,
	struct pt_err *err)
{
	struct json_object *rows = NULL;
	struct buf q;
	int rc = -1;

	buf_init(&q, 8192);
	if (domain_account_soql_by_number(&q, number, err) != 0) {
		/* text SOQL cannot carry (controls, bad UTF-8) matches no account */
		if (err->code == PT_VALIDATION_FAILED)
			pt_err_set(err, PT_CUSTOMER_NUMBER_NOT_FOUND, "customer number not quotable");
		goto out;
	}
	if (sf_rest_query(a->sf, buf_cstr(&q), 1, &rows, NULL, err) != 0)
		goto out;
	if (json_object_array_length(rows) != 1) {
		pt_err_set(err, PT_CUSTOMER_NUMBER_NOT_FOUND, "no account");
		goto out;
	}
	rc = domain_account_from_sf(json_object_array_get_idx(rows, 0), acct, err);
out:
	json_object_put(rows);
	buf_free(&q);
	return rc;
}

/* 1 when a portal user or mapping already covers this account / email. */
static int registered(struct app_auth *a, const char *sf_id, const char *whmcs_id,
	const char *email, enum pt_code *why, struct pt_err *err)
{
	const char *p[] = { sf_id, whmcs_id && *whmcs_id ? whmcs_id : "0", email };
	PGresult *r = db_exec(a->db,
		"SELECT (SELECT count(*) FROM id_mappings WHERE sf_account_id = $1 "
		"        OR whmcs_client_id = $2::bigint), "
		"       (SELECT count(*) FROM users WHERE email = $3)", 3, p, err);
	int reg;

	if (!r)
		return -1;
	reg = 0;
	if (atol(PQgetvalue(r, 0, 0)) > 0) {
		*why = PT_ACCOUNT_ALREADY_REGISTERED;
		reg = 1;
	} else if (atol(PQgetvalue(r, 0, 1)) > 0) {
		*why = PT_EMAIL_IN_USE;
		reg = 1;
	}
	PQclear(r);
	return reg;
}

/* users + id_mappings in one transaction (and the pending row gone with it). */
static int create_user(struct app_auth *a, const char *email, const char *password,
	const char *sf_id, long whmcs_id, const char *action, struct app_user *out,
	struct pt_err *err)
{
	char hash[CRYPTO_PWHASH_MAX], wid[24];
	PGresult *r = NULL;
	int rc = -1;

	if (crypto_password_hash(password, a->pepper, hash) != 0)
		return pt_err_set(err, PT_INTERNAL, "password hash failed");
	snprintf(wid, sizeof wid, "%ld", whmcs_id);
	if (db_begin(a->db, err) != 0)
		return -1;
	const char *pu[] = { email, hash };
	r = db_exec(a->db, "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id",
		2, pu, err);
	if (!r)
		goto out;
	str_lcpy(out->id, PQgetvalue(r, 0, 0), sizeof out->id);
	const char *pm[] = { out->id, wid, sf_id };
	if (db_command(a->db, "INSERT INTO id_mappings (user_id, whmcs_client_id, sf_account_id) "
		"VALUES ($1, $2, $3)", 3, pm, err) < 0 ||
	    db_command(a->db, "DELETE FROM signup_pending WHERE sf_account_id = $1", 1, pm + 2,
		err) < 0 ||
	    db_command(a->db, "INSERT INTO audit_log (user_id, actor, action, target, request_id) "
		"VALUES ($1, 'customer', $2, $3, $4)", 4,
		(const char *const[]){ out->id, action, sf_id, a->request_id }, err) < 0 ||
	    db_commit(a->db, err) != 0)
		goto out;
	rc = 0;
out:
	PQclear(r);
	if (rc != 0) {
		db_rollback(a->db);
		if (err->code == PT_CONFLICT)
			err->code = !strcmp(err->field, "users_email_key") ? PT_EMAIL_IN_USE :
				PT_ACCOUNT_ALREADY_REGISTERED;
		return -1;
	}
	char id[sizeof out->id];
	str_lcpy(id, out->id, sizeof id);   /* app_user_by_id clears out first */
	return app_user_by_id(a, id, out, err);
}

void app_sf_sync(struct app_auth *a, struct app_user *u)
{
	struct json_object *body;
	struct pt_err e;

	if (u->sf_synced || !u->sf_account_id[0] || !u->whmcs_client_id[0])
		return;
	pt_err_clear(&e);
	body = domain_account_sf_portal_active(u->whmcs_client_id);
	if (!body || sf_rest_update(a->sf, "Account", u->sf_account_id, body, &e) != 0) {
		/* The user stays active; the next login (or an operator) finishes it. */
		log_warn("salesforce write-back failed, left for retry", "user_id", u->id,
			"sf_account_id", u->sf_account_id, "code", pt_err_code_name(e.code),
			"detail", e.detail);
		json_object_put(body);
		return;
	}
	json_object_put(body);
	const char *p[] = { u->id };
	if (db_command(a->db, "UPDATE id_mappings SET sf_synced_at = now(), updated_at = now() "
		"WHERE user_id = $1", 1, p, &e) >= 0)
		u->sf_synced = 1;
}

/* ---- sign-up ------------------------------------------------------------------ */

/* Claims the pending row of the account for this attempt (60 s); *prior =
 * WHMCS client id an earlier attempt recorded (0 none), *existed = 1 when an
 * earlier attempt got that far. PT_CONFLICT while another attempt runs. */
static int pending_claim(struct app_auth *a, const char *sf_id, const char *number,
	const char *email, long *prior, int *existed, struct pt_err *err)
{
	const char *p[] = { sf_id, number, email };
	PGresult *r = db_exec(a->db,
		"INSERT INTO signup_pending AS s (sf_account_id, customer_number, email, claimed_until) "
		"VALUES ($1, $2, $3, now() + interval '60 seconds') "
		"ON CONFLICT (sf_account_id) DO UPDATE SET attempts = s.attempts + 1, "
		"  email = EXCLUDED.email, claimed_until = EXCLUDED.claimed_until, updated_at = now() "
		"  WHERE s.claimed_until IS NULL OR s.claimed_until < now() "
		"RETURNING coalesce(whmcs_client_id, 0), attempts", 3, p, err);

	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return pt_err_set(err, PT_CONFLICT, "sign-up of this account in progress");
	}
	*prior = atol(PQgetvalue(r, 0, 0));
	*existed = atol(PQgetvalue(r, 0, 1)) > 1;
	PQclear(r);
	return 0;
}

static void pending_release(struct app_auth *a, const char *sf_id, long whmcs_id)
{
	char wid[24];
	struct pt_err e;
	const char *p[] = { sf_id, wid };

	snprintf(wid, sizeof wid, "%ld", whmcs_id);
	if (db_command(a->db, "UPDATE signup_pending SET claimed_until = NULL, "
		"whmcs_client_id = coalesce(whmcs_client_id, nullif($2, '0')::bigint), "
		"updated_at = now() WHERE sf_account_id = $1", 2, p, &e) < 0)
		log_warn("sign-up pending row not released", "sf_account_id", sf_id,
			"detail", e.detail);
}

/* The WHMCS client of this sign-up: the one recorded by an earlier attempt,
 * the one an earlier attempt created but could not record (found by email
 * with our customer number), or a new one. */
static int whmcs_client_for(struct app_auth *a, const struct app_signup *s, const char *email,
	long prior, int existed, long *client_id, struct pt_err *err)
{
	struct domain_profile prof;
	struct whmcs_new_client nc;
	char pw[33];

	if (prior > 0) {
		*client_id = prior;
		return 0;
	}
	if (whmcs_get_client_details(a->whmcs, 0, email, a->customer_field_id, &prof, err) == 0) {
		if (existed && !strcmp(prof.customer_number, s->customer_number)) {
			char wid[24];
			*client_id = prof.client_id;
			snprintf(wid, sizeof wid, "%ld", prof.client_id);
			log_info("sign-up adopts the WHMCS client of an earlier attempt",
				"whmcs_client_id", wid);
			return 0;
		}
		return pt_err_set(err, PT_EMAIL_IN_USE, "WHMCS has a client with this email");
	}
	if (err->code != PT_NOT_FOUND)
		return -1;
	pt_err_clear(err);
	/* Customers reach WHMCS pages through SSO links only (§14). */
	if (rand_hex(pw, sizeof pw, 16) != 0)
		return pt_err_set(err, PT_INTERNAL, "randomness failed");
	memset(&nc, 0, sizeof nc);
	nc.first_name = s->first_name;
	nc.last_name = s->last_name;
	nc.email = email;
	nc.phone = s->phone;
	nc.address = &s->address;
	nc.password = pw;
	nc.customer_field_id = a->customer_field_id;
	nc.customer_number = s->customer_number;
	nc.client_ip = a->client_ip;
	return whmcs_add_client(a->whmcs, &nc, client_id, err);
}

static int signup_checks(struct app_auth *a, const struct app_signup *s, const char *email,
	struct domain_account *acct, struct pt_err *err)
{
	enum pt_code why;
	int reg;

	if (find_account(a, s->customer_number, acct, err) != 0)
		return -1;
	/* Same answer as an unknown number: no probing of whose account it is. */
	if (!str_ieq(acct->email, email) || !strcmp(acct->portal_status, "Disabled"))
		return pt_err_set(err, PT_CUSTOMER_NUMBER_NOT_FOUND, "email does not match");
	if (acct->whmcs_client_id[0] || !strcmp(acct->portal_status, "Active"))
		return pt_err_set(err, PT_ACCOUNT_ALREADY_REGISTERED, "account has a WHMCS client");
	reg = registered(a, acct->id, NULL, email, &why, err);
	if (reg < 0)
		return -1;
	if (reg)
		return pt_err_set(err, why, "already registered");
	return 0;
}

int app_signup(struct app_auth *a, const struct app_signup *s, struct app_user *out,
	struct pt_err *err)
{
	struct domain_account acct;
	char email[APP_AUTH_EMAIL_MAX + 1];
	long prior = 0, client_id = 0;
	int existed = 0;

	memset(out, 0, sizeof *out);
	if (app_email_normalise(s->email, email) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "email", "not an email");
	/* Failed lookups count per address, so customer numbers cannot be probed. */
	if (app_throttle_check(a, "signup", NULL, err) != 0)
		return -1;
	if (signup_checks(a, s, email, &acct, err) != 0) {
		if (err->code == PT_CUSTOMER_NUMBER_NOT_FOUND)
			app_throttle_fail(a, "signup", NULL);
		return -1;
	}
	if (pending_claim(a, acct.id, s->customer_number, email, &prior, &existed, err) != 0)
		return -1;
	if (whmcs_client_for(a, s, email, prior, existed, &client_id, err) != 0) {
		pending_release(a, acct.id, 0);
		return -1;
	}
	if (create_user(a, email, s->password, acct.id, client_id, "signup", out, err) != 0) {
		pending_release(a, acct.id, client_id);
		return -1;
	}
	log_info("signed up", "user_id", out->id, "sf_account_id", acct.id);
	app_sf_sync(a, out);
	return 0;
}

/* ---- link --------------------------------------------------------------------- */

/* ValidateLogin → WHMCS user; the client whose users include it → customer
 * number → Salesforce account (§15). */
static int link_resolve(struct app_auth *a, const char *email, const char *password,
	struct domain_profile *prof, struct domain_account *acct, struct pt_err *err)
{
	struct domain_whmcs_login login;

	if (whmcs_validate_login(a->whmcs, email, password, &login, err) != 0) {
		if (err->code == PT_NOT_FOUND)
			err->code = PT_INVALID_CREDENTIALS;
		return -1;
	}
	if (login.two_factor)
		return pt_err_set(err, PT_LINK_2FA_UNSUPPORTED, "WHMCS login has 2FA");
	if (whmcs_get_client_details(a->whmcs, 0, email, a->customer_field_id, prof, err) != 0) {
		if (err->code == PT_NOT_FOUND)
			err->code = PT_CUSTOMER_NUMBER_NOT_FOUND;
		return -1;
	}
	if (!domain_profile_has_user(prof, login.user_id) || !prof->customer_number[0])
		return pt_err_set(err, PT_CUSTOMER_NUMBER_NOT_FOUND, "no client/customer number");
	if (find_account(a, prof->customer_number, acct, err) != 0)
		return -1;
	if (!strcmp(acct->portal_status, "Disabled"))
		return pt_err_set(err, PT_CUSTOMER_NUMBER_NOT_FOUND, "account disabled");
	if (!strcmp(acct->portal_status, "Active"))
		return pt_err_set(err, PT_ACCOUNT_ALREADY_REGISTERED, "account already active");
	return 0;
}

int app_link(struct app_auth *a, const char *email_in, const char *password,
	struct app_user *out, struct pt_err *err)
{
	struct domain_profile prof;
	struct domain_account acct;
	char email[APP_AUTH_EMAIL_MAX + 1], wid[24];
	enum pt_code why;
	int reg;

	memset(out, 0, sizeof *out);
	if (app_email_normalise(email_in, email) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "email", "not an email");
	if (app_throttle_check(a, "link", email, err) != 0)
		return -1;
	if (link_resolve(a, email, password, &prof, &acct, err) != 0) {
		if (err->code == PT_INVALID_CREDENTIALS)
			app_throttle_fail(a, "link", email);
		return -1;
	}
	snprintf(wid, sizeof wid, "%ld", prof.client_id);
	reg = registered(a, acct.id, wid, email, &why, err);
	if (reg < 0)
		return -1;
	if (reg)
		return pt_err_set(err, PT_ACCOUNT_ALREADY_REGISTERED, "already linked (%s)",
			pt_err_code_name(why));
	/* The WHMCS password the customer just proved becomes the portal one. */
	if (create_user(a, email, password, acct.id, prof.client_id, "link", out, err) != 0)
		return -1;
	log_info("linked", "user_id", out->id, "sf_account_id", acct.id);
	app_sf_sync(a, out);
	return 0;
}
