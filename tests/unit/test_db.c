/* test_db — migration discovery (pure, always runs) and, when
 * PORTAL_TEST_DATABASE_URL names a scratch PostgreSQL database, the real
 * thing: migrate twice, parameterised round trip, unique violation mapping,
 * reconnect after the backend is killed. Everything happens in a schema of
 * its own (test_db_<pid>, dropped at the end), so the database may be shared
 * with other tests running at the same time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "store/db.h"

#ifndef MIGRATIONS_DIR
#define MIGRATIONS_DIR "db/migrations"
#endif

/* ---- migration discovery ------------------------------------------------ */

static char tmpdir[64];

static void touch(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int mkdir_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_db.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int rmdir_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_list_orders_and_ignores(void **state)
{
	(void)state;
	touch("0010_later.sql", "SELECT 1;");
	touch("0002_second.sql", "SELECT 1;");
	touch("0001_first-one.sql", "SELECT 1;");
	touch("README", "not a migration");
	touch(".0003_hidden.sql", "ignored");
	touch("0004_notes.sql.orig", "ignored");
	struct db_migration_list l;
	struct pt_err err = { 0 };
	assert_int_equal(db_migration_list(tmpdir, &l, &err), 0);
	assert_int_equal(l.count, 3);
	assert_string_equal(l.items[0].file, "0001_first-one.sql");
	assert_string_equal(l.items[0].version, "0001");
	assert_string_equal(l.items[1].version, "0002");
	assert_string_equal(l.items[2].file, "0010_later.sql");
	db_migration_list_free(&l);
	assert_null(l.items);
	db_migration_list_free(NULL);
}

static void expect_rejected(const char *name)
{
	touch(name, "SELECT 1;");
	struct db_migration_list l;
	struct pt_err err = { 0 };
	assert_int_equal(db_migration_list(tmpdir, &l, &err), -1);
	assert_int_equal(err.code, PT_CONFIG_INVALID);
	assert_null(l.items);
	assert_int_equal(l.count, 0);
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	unlink(path);
}

static void test_list_rejects_bad_names(void **state)
{
	(void)state;
	touch("0001_ok.sql", "SELECT 1;");
	expect_rejected("1_short.sql");
	expect_rejected("0002-dash.sql");
	expect_rejected("0002_.sql");
	expect_rejected("0002_sp ace.sql");
	expect_rejected("00a2_x.sql");
	expect_rejected("0002_quote'.sql");
	expect_rejected("0002_ünicode.sql");
	expect_rejected("0001_duplicate.sql");   /* same version as 0001_ok */
}

static void test_list_missing_dir(void **state)
{
	(void)state;
	struct db_migration_list l;
	struct pt_err err = { 0 };
	assert_int_equal(db_migration_list("/nonexistent/migrations", &l, &err), -1);
	assert_int_equal(err.code, PT_CONFIG_INVALID);
}

static void test_shipped_migrations_listed(void **state)
{
	(void)state;
	struct db_migration_list l;
	struct pt_err err = { 0 };
	assert_int_equal(db_migration_list(MIGRATIONS_DIR, &l, &err), 0);
	assert_true(l.count >= 1);
	assert_string_equal(l.items[0].file, "0001_initial.sql");
	db_migration_list_free(&l);
}

static void test_unreachable_is_maintenance(void **state)
{
	(void)state;
	/* port 1 on loopback: refused at once */
	struct db *db = db_new("postgresql://nobody@127.0.0.1:1/none", 2, 1000);
	assert_non_null(db);
	struct pt_err err = { 0 };
	long ms = -1;
	assert_int_equal(db_ping(db, &ms, &err), -1);
	assert_int_equal(err.code, PT_MAINTENANCE);
	assert_true(ms >= 0);
	assert_null(db_exec(db, "SELECT 1", 0, NULL, &err));
	assert_int_equal(err.code, PT_MAINTENANCE);
	db_free(db);
	db_free(NULL);
}

static void test_from_config(void **state)
{
	(void)state;
	struct pt_err err = { 0 };
	unsetenv("PORTAL_CONFIG");
	char *saved = getenv("DATABASE_URL") ? strdup(getenv("DATABASE_URL")) : NULL;
	unsetenv("DATABASE_URL");
	struct pt_config *cfg = config_load(NULL, &err);
	assert_non_null(cfg);
	assert_null(db_new_from_config(cfg, &err));
	assert_int_equal(err.code, PT_CONFIG_INVALID);
	assert_string_equal(err.field, "DATABASE_URL");
	config_free(cfg);
	setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none", 1);
	cfg = config_load(NULL, &err);
	assert_non_null(cfg);
	struct db *db = db_new_from_config(cfg, &err);
	assert_non_null(db);
	db_free(db);
	config_free(cfg);
	if (saved)
		setenv("DATABASE_URL", saved, 1);
	else
		unsetenv("DATABASE_URL");
	free(saved);
}

/* ---- against PostgreSQL ----------------------------------------------------- */

static const char *db_url(void)
{
	const char *u = getenv("PORTAL_TEST_DATABASE_URL");
	return u && *u ? u : NULL;
}

static char schema[32];

/* DATABASE_URL plus a search_path pointing at our own schema, in whichever
 * of libpq's two conninfo forms the variable uses. */
static struct db *open_db(void)
{
	const char *u = db_url();
	char conninfo[1024];
	if (strncmp(u, "postgres", 8) == 0)
		snprintf(conninfo, sizeof conninfo, "%s%soptions=-csearch_path%%3D%s",
			u, strchr(u, '?') ? "&" : "?", schema);
	else
		snprintf(conninfo, sizeof conninfo, "%s options='-csearch_path=%s'", u, schema);
	struct db *db = db_new(conninfo, 5, 10000);
	assert_non_null(db);
	return db;
}

/* schema names cannot be parameters; ours is built from the pid only */
static void drop_schema(struct db *db)
{
	char sql[96];
	struct pt_err err = { 0 };
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
	assert_true(db_command(db, sql, 0, NULL, &err) >= 0);
}

static void wipe(struct db *db)
{
	char sql[96];
	struct pt_err err = { 0 };
	drop_schema(db);
	snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
	assert_true(db_command(db, sql, 0, NULL, &err) >= 0);
}

static int pg_group_teardown(void **state)
{
	(void)state;
	struct db *db = open_db();
	drop_schema(db);
	db_free(db);
	return 0;
}

static void test_pg_migrate_twice(void **state)
{
	(void)state;
	struct db *db = open_db();
	struct pt_err err = { 0 };
	wipe(db);
	int applied = -1;
	assert_int_equal(db_migrate(db, MIGRATIONS_DIR, &applied, &err), 0);
	assert_true(applied >= 1);
	applied = -1;
	assert_int_equal(db_migrate(db, MIGRATIONS_DIR, &applied, &err), 0);
	assert_int_equal(applied, 0);
	PGresult *res = db_exec(db, "SELECT version FROM schema_migrations ORDER BY version",
		0, NULL, &err);
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "0001");
	PQclear(res);
	db_free(db);
}

static void test_pg_failed_migration_rolls_back(void **state)
{
	(void)state;
	struct db *db = open_db();
	struct pt_err err = { 0 };
	touch("0001_good.sql", "CREATE TABLE t_good (id int);");
	touch("0002_bad.sql", "CREATE TABLE t_half (id int); SELECT nosuchcolumn FROM t_good;");
	wipe(db);
	int applied = -1;
	assert_int_equal(db_migrate(db, tmpdir, &applied, &err), -1);
	assert_int_equal(applied, 1);
	assert_non_null(strstr(err.detail, "0002_bad.sql"));
	/* t_half rolled back with its file; 0001 stays applied */
	PGresult *res = db_exec(db, "SELECT to_regclass('t_half') IS NULL, "
		"(SELECT count(*) FROM schema_migrations)", 0, NULL, &err);
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "t");
	assert_string_equal(PQgetvalue(res, 0, 1), "1");
	PQclear(res);
	wipe(db);
	db_free(db);
}

static void test_pg_params_and_conflict(void **state)
{
	(void)state;
	struct db *db = open_db();
	struct pt_err err = { 0 };
	int applied;
	wipe(db);
	assert_int_equal(db_migrate(db, MIGRATIONS_DIR, &applied, &err), 0);

	const char *email = "o'brien\"; drop table users; --@example.jp";
	const char *ins[2] = { email, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA" };
	const char *sql = "INSERT INTO users (email, password_hash) VALUES ($1, $2)";
	assert_int_equal(db_command(db, sql, 2, ins, &err), 1);

	const char *sel[1] = { email };
	PGresult *res = db_exec(db, "SELECT email, status FROM users WHERE email = $1", 1, sel, &err);
	assert_non_null(res);
	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 0), email);
	assert_string_equal(PQgetvalue(res, 0, 1), "active");
	PQclear(res);

	pt_err_clear(&err);
	assert_int_equal(db_command(db, sql, 2, ins, &err), -1);
	assert_int_equal(err.code, PT_CONFLICT);
	assert_string_equal(err.provider_code, "23505");
	assert_string_equal(err.field, "users_email_key");

	/* a CHECK violation is not a conflict */
	const char *bad[2] = { "UPPER@EXAMPLE.JP", ins[1] };
	assert_int_equal(db_command(db, sql, 2, bad, &err), -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_string_equal(err.provider_code, "23514");

	/* transactions: a failed statement aborts; COMMIT then reports failure */
	assert_int_equal(db_begin(db, &err), 0);
	assert_int_equal(db_command(db, sql, 2, ins, &err), -1);
	assert_int_equal(db_commit(db, &err), -1);
	db_rollback(db);
	long ms;
	assert_int_equal(db_ping(db, &ms, &err), 0);
	db_free(db);
}

static void test_pg_reconnect_after_terminate(void **state)
{
	(void)state;
	struct db *db = open_db();
	struct pt_err err = { 0 };
	PGresult *res = db_exec(db, "SELECT pg_backend_pid()::text", 0, NULL, &err);
	assert_non_null(res);
	char pid[32];
	snprintf(pid, sizeof pid, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	/* kill our own backend from a second connection */
	struct db *killer = open_db();
	const char *p[1] = { pid };
	res = db_exec(killer, "SELECT pg_terminate_backend($1::int)", 1, p, &err);
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	db_free(killer);
	usleep(100 * 1000);

	/* the next statement notices, reconnects once and succeeds */
	res = db_exec(db, "SELECT pg_backend_pid()::text", 0, NULL, &err);
	assert_non_null(res);
	assert_string_not_equal(PQgetvalue(res, 0, 0), pid);
	PQclear(res);

	/* statement_timeout was set on the new session too */
	res = db_exec(db, "SHOW statement_timeout", 0, NULL, &err);
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "10s");
	PQclear(res);
	db_free(db);
}

int main(void)
{
	log_init("test_db", LOG_LVL_CRIT, 0);
	const struct CMUnitTest pure[] = {
		cmocka_unit_test_setup_teardown(test_list_orders_and_ignores, mkdir_setup, rmdir_teardown),
		cmocka_unit_test_setup_teardown(test_list_rejects_bad_names, mkdir_setup, rmdir_teardown),
		cmocka_unit_test(test_list_missing_dir),
		cmocka_unit_test(test_shipped_migrations_listed),
		cmocka_unit_test(test_unreachable_is_maintenance),
		cmocka_unit_test(test_from_config),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_pg_migrate_twice),
		cmocka_unit_test_setup_teardown(test_pg_failed_migration_rolls_back, mkdir_setup, rmdir_teardown),
		cmocka_unit_test(test_pg_params_and_conflict),
		cmocka_unit_test(test_pg_reconnect_after_terminate),
	};
	int rc = cmocka_run_group_tests_name("db_pure", pure, NULL, NULL);
	if (!db_url()) {
		printf("test_db: PORTAL_TEST_DATABASE_URL not set, skipped the PostgreSQL tests\n");
		return rc;
	}
	snprintf(schema, sizeof schema, "test_db_%ld", (long)getpid());
	return rc + cmocka_run_group_tests_name("db_postgresql", live, NULL, pg_group_teardown);
}
