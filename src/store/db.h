/* db — PostgreSQL through libpq. The connection opens lazily on first use,
 * is kept across requests and re-opened once after a failure (so an app
 * recovers by itself when PostgreSQL comes back). Parameterised queries only:
 * there is no API that takes SQL built from data. */
#ifndef PT_STORE_DB_H
#define PT_STORE_DB_H

#include <libpq-fe.h>
#include "core/err.h"

struct db;

/* conninfo: DATABASE_URL (postgresql://… or key=value). connect_timeout_s
 * bounds connecting; statement_timeout_ms is set on the session. */
struct db *db_new(const char *conninfo, int connect_timeout_s, long statement_timeout_ms);
void db_free(struct db *db);
/* db_new with DATABASE_URL, DB_CONNECT_TIMEOUT_S and DB_STATEMENT_TIMEOUT_MS
 * from cfg: the one place programs turn config into a connection.
 * NULL + PT_CONFIG_INVALID (field = the key) when DATABASE_URL is unset. */
struct pt_config;
struct db *db_new_from_config(const struct pt_config *cfg, struct pt_err *err);

/* Runs sql with text params $1..$n. Returns a PGresult the caller PQclear()s,
 * or NULL + err: PT_MAINTENANCE when the server is unreachable (after one
 * reconnect attempt), PT_CONFLICT on unique violation (provider_code = SQLSTATE),
 * PT_INTERNAL otherwise. For a constraint violation err->field holds the
 * constraint name (e.g. "users_email_key"). Outside a transaction, a statement
 * that fails because the connection was lost is retried once on a new one. Command and tuple results both count as success. */
PGresult *db_exec(struct db *db, const char *sql, int nparams,
	const char *const *params, struct pt_err *err);
/* Same, for statements without a result set; returns affected rows or -1. */
long db_command(struct db *db, const char *sql, int nparams,
	const char *const *params, struct pt_err *err);
/* Counts the connections opened so far (0 before the first). Session state
 * such as an advisory lock lives and dies with one connection: a caller that
 * holds one compares the generation before relying on it, because db_exec
 * reconnects silently outside a transaction. */
unsigned long db_generation(const struct db *db);
/* BEGIN / COMMIT / ROLLBACK on the connection. */
int db_begin(struct db *db, struct pt_err *err);
int db_commit(struct db *db, struct pt_err *err);
void db_rollback(struct db *db);
/* SELECT 1 with timing, for /health. latency_ms set even on failure. */
int db_ping(struct db *db, long *latency_ms, struct pt_err *err);

/* A migration file: NNNN_name.sql, name of [A-Za-z0-9_-]. */
#define DB_MIGRATION_FILE_MAX 96
struct db_migration {
	char version[5];                   /* "0001": the key in schema_migrations */
	char file[DB_MIGRATION_FILE_MAX];  /* "0001_initial.sql" */
};
struct db_migration_list {
	struct db_migration *items;        /* sorted by version */
	size_t count;
};
/* Lists dir's migrations in order. Hidden files and names not ending in
 * ".sql" are ignored; a .sql file with a malformed name or a version used
 * twice is an error (PT_CONFIG_INVALID naming the file), so a typo never
 * skips a migration silently. Free with db_migration_list_free. */
int db_migration_list(const char *dir, struct db_migration_list *out, struct pt_err *err);
void db_migration_list_free(struct db_migration_list *list);

/* Applies every migration in dir (files NNNN_name.sql, in order) not yet in
 * schema_migrations, each in its own transaction. Idempotent. *applied = count.
 * Concurrent runs serialise on a PostgreSQL advisory lock. A file must not
 * contain its own BEGIN/COMMIT. */
int db_migrate(struct db *db, const char *dir, int *applied, struct pt_err *err);

#endif
