/* db — libpq connection with lazy connect and one reconnect after a lost
 * connection. Only PQexecParams reaches the server with caller SQL, so data
 * never becomes SQL text. Migrations (bottom of the file) are the one place
 * that runs multi-statement text, and only from our own installed files. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "store/db.h"

struct db {
	char *conninfo;
	int connect_timeout_s;
	long statement_timeout_ms;
	PGconn *conn;
	unsigned long generation;          /* connections opened */
};

/* libpq prints NOTICEs ("relation … already exists, skipping") on stderr by
 * default, which would break the one-line-per-event log format. */
static void db_notice(void *arg, const char *message)
{
	(void)arg;
	char line[256];
	str_lcpy(line, message, sizeof line);
	line[strcspn(line, "\n")] = '\0';
	log_debug("postgresql notice", "system", "postgresql", "notice", line);
}

struct db *db_new(const char *conninfo, int connect_timeout_s, long statement_timeout_ms)
{
	if (!conninfo || !*conninfo)
		return NULL;
	struct db *db = calloc(1, sizeof *db);
	if (!db)
		return NULL;
	db->conninfo = strdup(conninfo);
	if (!db->conninfo) {
		free(db);
		return NULL;
	}
	db->connect_timeout_s = connect_timeout_s > 0 ? connect_timeout_s : 5;
	db->statement_timeout_ms = statement_timeout_ms >= 0 ? statement_timeout_ms : 0;
	return db;
}

struct db *db_new_from_config(const struct pt_config *cfg, struct pt_err *err)
{
	const char *url = config_get(cfg, "DATABASE_URL");
	long connect_s = 3, stmt_ms = 5000;
	if (!url || !*url) {
		pt_err_field(err, PT_CONFIG_INVALID, "DATABASE_URL", "DATABASE_URL: missing");
		return NULL;
	}
	if (config_get_long(cfg, "DB_CONNECT_TIMEOUT_S", &connect_s, err) != 0 ||
	    config_get_long(cfg, "DB_STATEMENT_TIMEOUT_MS", &stmt_ms, err) != 0)
		return NULL;
	struct db *db = db_new(url, (int)connect_s, stmt_ms);
	if (!db)
		pt_err_set(err, PT_INTERNAL, "db: out of memory");
	return db;
}

static void db_disconnect(struct db *db)
{
	if (db->conn) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
}

void db_free(struct db *db)
{
	if (!db)
		return;
	db_disconnect(db);
	free(db->conninfo);
	free(db);
}

/* The first line of libpq's message, without the trailing newline: enough
 * to diagnose, and it never contains the password (libpq does not echo it). */
static void db_copy_message(char *out, size_t outsz, const char *msg)
{
	str_lcpy(out, msg ? msg : "", outsz);
	out[strcspn(out, "\n")] = '\0';
}

static int db_set_statement_timeout(struct db *db, struct pt_err *err)
{
	char ms[24];
	snprintf(ms, sizeof ms, "%ld", db->statement_timeout_ms);
	const char *params[1] = { ms };
	PGresult *res = PQexecParams(db->conn,
		"SELECT set_config('statement_timeout', $1, false)",
		1, NULL, params, NULL, NULL, 0);
	int ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	if (!ok) {
		char msg[200];
		db_copy_message(msg, sizeof msg, PQerrorMessage(db->conn));
		return pt_err_set(err, PT_MAINTENANCE, "postgresql: setting statement_timeout: %s", msg);
	}
	return 0;
}

/* Opens a fresh connection. The URL's own connect_timeout is overridden by
 * ours (later keywords win in PQconnectdbParams), so config stays in charge. */
static int db_connect(struct db *db, struct pt_err *err)
{
	char timeout[16];
	snprintf(timeout, sizeof timeout, "%d", db->connect_timeout_s);
	const char *keys[] = { "fallback_application_name", "dbname", "connect_timeout", NULL };
	const char *vals[] = { "portal", db->conninfo, timeout, NULL };

	db_disconnect(db);
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
		char msg[200];
		db_copy_message(msg, sizeof msg,
			db->conn ? PQerrorMessage(db->conn) : "out of memory");
		log_warn("postgresql connect failed", "system", "postgresql", "error", msg);
		db_disconnect(db);
		return pt_err_set(err, PT_MAINTENANCE, "postgresql unreachable: %s", msg);
	}
	PQsetNoticeProcessor(db->conn, db_notice, NULL);
	db->generation++;
	if (db_set_statement_timeout(db, err) != 0) {
		db_disconnect(db);
		return -1;
	}
	return 0;
}

unsigned long db_generation(const struct db *db)
{
	return db ? db->generation : 0;
}

static int db_ensure(struct db *db, struct pt_err *err)
{
	if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	return db_connect(db, err);
}

/* Maps a failed result to the error model. The SQLSTATE goes to
 * provider_code; for constraint violations the constraint name goes to
 * field so callers can tell "email taken" from "account already linked". */
static void db_result_error(struct db *db, const PGresult *res, struct pt_err *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[200];
	db_copy_message(msg, sizeof msg, primary ? primary : PQerrorMessage(db->conn));

	enum pt_code code = PT_INTERNAL;
	if (state && strcmp(state, "23505") == 0)
		code = PT_CONFLICT;
	else if ((!state && PQstatus(db->conn) == CONNECTION_BAD) ||
		 (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)))
		code = PT_MAINTENANCE;   /* connection lost, connection exception, shutdown */
	pt_err_set(err, code, "postgresql: %s", msg);
	if (err) {
		pt_err_provider(err, state ? state : "");
		if (constraint)
			str_lcpy(err->field, constraint, sizeof err->field);
	}
	if (code != PT_CONFLICT)
		log_warn("postgresql statement failed", "system", "postgresql",
			"sqlstate", state ? state : "none", "error", msg);
}

static int db_result_ok(const PGresult *res)
{
	if (!res)
		return 0;
	ExecStatusType st = PQresultStatus(res);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

PGresult *db_exec(struct db *db, const char *sql, int nparams,
	const char *const *params, struct pt_err *err)
{
	if (!db || !sql || nparams < 0 || (nparams > 0 && !params)) {
		pt_err_set(err, PT_INTERNAL, "db_exec: bad arguments");
		return NULL;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (db_ensure(db, err) != 0)
			return NULL;
		/* Only outside a transaction may a statement move to a new
		 * connection: inside one, the earlier statements died with the
		 * old session and the caller must start over. */
		int idle = PQtransactionStatus(db->conn) == PQTRANS_IDLE;
		PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
		if (db_result_ok(res))
			return res;
		int lost = PQstatus(db->conn) == CONNECTION_BAD;
		if (lost && idle && attempt == 0) {
			log_warn("postgresql connection lost, reconnecting", "system", "postgresql");
			PQclear(res);
			db_disconnect(db);
			continue;
		}
		db_result_error(db, res, err);
		if (lost) {
			if (err)
				err->code = PT_MAINTENANCE;
			db_disconnect(db);
		}
		PQclear(res);
		return NULL;
	}
	return NULL;
}

long db_command(struct db *db, const char *sql, int nparams,
	const char *const *params, struct pt_err *err)
{
	PGresult *res = db_exec(db, sql, nparams, params, err);
	if (!res)
		return -1;
	const char *n = PQcmdTuples(res);
	long rows = (n && *n) ? strtol(n, NULL, 10) : 0;
	PQclear(res);
	return rows;
}

int db_begin(struct db *db, struct pt_err *err)
{
	long rc = db_command(db, "BEGIN", 0, NULL, err);
	return rc < 0 ? -1 : 0;
}

/* COMMIT of a transaction that already failed answers "ROLLBACK" with
 * status OK; that must not look like success to the caller. */
int db_commit(struct db *db, struct pt_err *err)
{
	PGresult *res = db_exec(db, "COMMIT", 0, NULL, err);
	if (!res)
		return -1;
	int rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
	PQclear(res);
	if (rolled_back)
		return pt_err_set(err, PT_INTERNAL, "postgresql: transaction was rolled back");
	return 0;
}

void db_rollback(struct db *db)
{
	if (!db || !db->conn || PQstatus(db->conn) != CONNECTION_OK)
		return;
	if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	PQclear(PQexec(db->conn, "ROLLBACK"));
}

static long db_elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

int db_ping(struct db *db, long *latency_ms, struct pt_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	PGresult *res = db_exec(db, "SELECT 1", 0, NULL, err);
	if (latency_ms)
		*latency_ms = db_elapsed_ms(&t0);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* For db_migrate only: a migration file holds several statements, which
 * PQexecParams refuses. The text comes from our own installed files, never
 * from request data. No retry: a migration is not idempotent mid-way. */
static int db_exec_script(struct db *db, const char *script, struct pt_err *err)
{
	if (db_ensure(db, err) != 0)
		return -1;
	PGresult *res = PQexec(db->conn, script);
	if (db_result_ok(res)) {
		PQclear(res);
		return 0;
	}
	int lost = PQstatus(db->conn) == CONNECTION_BAD;
	db_result_error(db, res, err);
	PQclear(res);
	if (lost) {
		if (err)
			err->code = PT_MAINTENANCE;
		db_disconnect(db);
	}
	return -1;
}

/* ---- migrations ---------------------------------------------------- */

#define DB_MIGRATION_MAX_FILES 10000
#define DB_MIGRATION_MAX_BYTES (4L * 1024 * 1024)
/* Serialises concurrent `portalctl migrate` runs ("portal" in ASCII). */
#define DB_MIGRATION_LOCK "112111114116097108"

static int db_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* NNNN_name.sql with name of [A-Za-z0-9_-], 1+ chars, bounded length. */
static int db_migration_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len >= DB_MIGRATION_FILE_MAX || len < 10)  /* "0001_x.sql" */
		return 0;
	for (int i = 0; i < 4; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	if (name[4] != '_')
		return 0;
	for (size_t i = 5; i < len - 4; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int db_migration_cmp(const void *a, const void *b)
{
	const struct db_migration *x = a, *y = b;
	return strcmp(x->version, y->version);
}

static int db_migration_add(struct db_migration_list *out, size_t *cap,
	const char *name, struct pt_err *err)
{
	if (out->count >= DB_MIGRATION_MAX_FILES)
		return pt_err_set(err, PT_CONFIG_INVALID, "migrations: too many files");
	if (out->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct db_migration *n = realloc(out->items, ncap * sizeof *n);
		if (!n)
			return pt_err_set(err, PT_INTERNAL, "migrations: out of memory");
		out->items = n;
		*cap = ncap;
	}
	struct db_migration *m = &out->items[out->count++];
	memcpy(m->version, name, 4);
	m->version[4] = '\0';
	str_lcpy(m->file, name, sizeof m->file);
	return 0;
}

int db_migration_list(const char *dir, struct db_migration_list *out, struct pt_err *err)
{
	int rc = -1;
	size_t cap = 0;
	out->items = NULL;
	out->count = 0;
	DIR *d = opendir(dir);
	if (!d)
		return pt_err_set(err, PT_CONFIG_INVALID, "migrations: cannot open %s: %s",
			dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !db_has_suffix(e->d_name, ".sql"))
			continue;
		if (!db_migration_name_ok(e->d_name)) {
			pt_err_set(err, PT_CONFIG_INVALID,
				"migrations: bad file name %.80s (want NNNN_name.sql)", e->d_name);
			goto out;
		}
		if (db_migration_add(out, &cap, e->d_name, err) != 0)
			goto out;
	}
	if (out->count)
		qsort(out->items, out->count, sizeof *out->items, db_migration_cmp);
	for (size_t i = 1; i < out->count; i++) {
		if (strcmp(out->items[i - 1].version, out->items[i].version) == 0) {
			pt_err_set(err, PT_CONFIG_INVALID, "migrations: version %s used by %s and %s",
				out->items[i].version, out->items[i - 1].file, out->items[i].file);
			goto out;
		}
	}
	rc = 0;
out:
	closedir(d);
	if (rc != 0)
		db_migration_list_free(out);
	return rc;
}

void db_migration_list_free(struct db_migration_list *list)
{
	if (!list)
		return;
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

static char *db_read_file(const char *path, struct pt_err *err)
{
	char *text = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		pt_err_set(err, PT_CONFIG_INVALID, "migrations: cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct buf b;
	buf_init(&b, DB_MIGRATION_MAX_BYTES);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (buf_append(&b, chunk, n) != 0) {
			pt_err_set(err, PT_CONFIG_INVALID, "migrations: %s too large", path);
			goto out;
		}
	}
	if (ferror(f)) {
		pt_err_set(err, PT_CONFIG_INVALID, "migrations: reading %s failed", path);
		goto out;
	}
	if (memchr(buf_cstr(&b), '\0', b.len)) {
		pt_err_set(err, PT_CONFIG_INVALID, "migrations: %s contains a NUL byte", path);
		goto out;
	}
	text = b.len ? buf_steal(&b) : strdup("");
out:
	buf_free(&b);
	fclose(f);
	return text;
}

/* One transaction per file. The transaction-scoped advisory lock is taken
 * before looking at schema_migrations, so a concurrent run waits and then
 * sees the version as applied. Being transaction-scoped, it can never be
 * silently lost to a reconnect between statements. *done = 1 if applied. */
static int db_migrate_one(struct db *db, const char *dir, const struct db_migration *m,
	int *done, struct pt_err *err)
{
	int rc = -1;
	char path[4096];
	*done = 0;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, m->file) >= sizeof path)
		return pt_err_set(err, PT_CONFIG_INVALID, "migrations: path too long");
	char *script = db_read_file(path, err);
	if (!script)
		return -1;
	const char *params[1] = { m->version };
	PGresult *res = NULL;
	if (db_begin(db, err) != 0)
		goto out;
	/* a migration (or waiting for a concurrent one) may outlast the
	 * session's statement_timeout meant for requests */
	if (db_command(db, "SET LOCAL statement_timeout = 0", 0, NULL, err) < 0)
		goto out;
	if (db_command(db, "SELECT pg_advisory_xact_lock(" DB_MIGRATION_LOCK ")", 0, NULL, err) < 0)
		goto out;
	if (db_command(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			"version text PRIMARY KEY, "
			"applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL, err) < 0)
		goto out;
	res = db_exec(db, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, err);
	if (!res)
		goto out;
	if (PQntuples(res) == 0) {
		if (db_exec_script(db, script, err) != 0)
			goto out;
		if (db_command(db, "INSERT INTO schema_migrations (version, applied_at) "
				"VALUES ($1, now())", 1, params, err) < 0)
			goto out;
		*done = 1;
	}
	if (db_commit(db, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		db_rollback(db);
		*done = 0;
		if (err) {
			/* prefix the file name, keeping as much of the cause as fits */
			struct buf b;
			buf_init(&b, sizeof err->detail - 1);
			buf_printf(&b, "migration %s: ", m->file);
			buf_append(&b, err->detail, strnlen(err->detail,
				sizeof err->detail - 1 - b.len));
			str_lcpy(err->detail, buf_cstr(&b), sizeof err->detail);
			buf_free(&b);
		}
	}
	PQclear(res);
	free(script);
	return rc;
}

int db_migrate(struct db *db, const char *dir, int *applied, struct pt_err *err)
{
	struct db_migration_list list;
	int count = 0, rc = -1;
	if (applied)
		*applied = 0;
	if (!db || !dir)
		return pt_err_set(err, PT_INTERNAL, "db_migrate: bad arguments");
	if (db_migration_list(dir, &list, err) != 0)
		return -1;
	for (size_t i = 0; i < list.count; i++) {
		int done = 0;
		if (db_migrate_one(db, dir, &list.items[i], &done, err) != 0)
			goto out;
		if (done) {
			count++;
			log_info("migration applied", "system", "postgresql",
				"migration", list.items[i].file);
		}
	}
	rc = 0;
out:
	if (applied)
		*applied = count;
	db_migration_list_free(&list);
	return rc;
}
