/* pq_load — libpq, loaded when the first connection is opened instead of when
 * the program starts.
 *
 * libpq pulls in GSSAPI, LDAP, GnuTLS, p11-kit and a dozen more libraries;
 * mapping and relocating them, and running their constructors, was ~5 ms of
 * every start (an empty program linked with -lpq: 6.3 ms, without: 0.8 ms;
 * docs/performance.md "CGI cold start"). A CGI request or a portalctl
 * command that never talks to PostgreSQL should not pay that. So the
 * programs are not linked with libpq: the functions the portal uses are
 * defined here with libpq-fe.h's own prototypes (the compiler checks them)
 * and forward to libpq.so.5, opened by dlopen on the first
 * PQconnectdbParams. Every other function needs a connection or a result,
 * which only exist once the library is loaded; called with none (NULL),
 * they answer what libpq answers for NULL.
 *
 * A function the portal starts to use must be added to PQ_FUNCS below, or
 * the link fails (undefined reference): nothing is silently left out. */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <libpq-fe.h>

#include "core/log.h"

/* libpq's ABI name since PostgreSQL 8.0. */
#define PQ_SONAME "libpq.so.5"

/* X(return type, name, (parameters), (arguments)) */
#define PQ_FUNCS(X) \
	X(PGconn *, PQconnectdbParams, (const char *const *keywords, \
		const char *const *values, int expand_dbname), (keywords, values, expand_dbname)) \
	X(void, PQfinish, (PGconn *conn), (conn)) \
	X(ConnStatusType, PQstatus, (const PGconn *conn), (conn)) \
	X(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn)) \
	X(char *, PQerrorMessage, (const PGconn *conn), (conn)) \
	X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *conn, PQnoticeProcessor proc, \
		void *arg), (conn, proc, arg)) \
	X(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query)) \
	X(PGresult *, PQexecParams, (PGconn *conn, const char *command, int nParams, \
		const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, \
		const int *paramFormats, int resultFormat), (conn, command, nParams, paramTypes, \
		paramValues, paramLengths, paramFormats, resultFormat)) \
	X(ExecStatusType, PQresultStatus, (const PGresult *res), (res)) \
	X(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode)) \
	X(int, PQntuples, (const PGresult *res), (res)) \
	X(int, PQnfields, (const PGresult *res), (res)) \
	X(char *, PQfname, (const PGresult *res, int field_num), (res, field_num)) \
	X(char *, PQcmdStatus, (PGresult *res), (res)) \
	X(char *, PQcmdTuples, (PGresult *res), (res)) \
	X(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), \
		(res, tup_num, field_num)) \
	X(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num), \
		(res, tup_num, field_num)) \
	X(void, PQclear, (PGresult *res), (res))

#define PQ_POINTER(ret, name, params, args) ret (*name) params;
static struct {
	PQ_FUNCS(PQ_POINTER)
} pq;
static void *pq_lib;

/* memcpy: ISO C has no conversion from void * to a function pointer. */
#define PQ_RESOLVE(ret, name, params, args) \
	if ((sym = dlsym(lib, #name)) != NULL) \
		memcpy(&pq.name, &sym, sizeof sym); \
	else \
		missing = #name;

/* Once per process (portal-subscriberd's channel threads may connect at the
 * same time): pq_lib set, or left NULL after logging why (a missing libpq5
 * package does not appear later). */
static void pq_load_once(void)
{
	const char *missing = NULL;
	void *lib, *sym;

	if (!(lib = dlopen(PQ_SONAME, RTLD_NOW | RTLD_LOCAL))) {
		log_error("postgresql client library not loaded", "system", "postgresql",
			"library", PQ_SONAME, "error", dlerror());
		return;
	}
	PQ_FUNCS(PQ_RESOLVE)
	if (missing) {
		log_error("postgresql client library lacks a function", "system", "postgresql",
			"library", PQ_SONAME, "function", missing);
		dlclose(lib);
		return;
	}
	pq_lib = lib;
}

static int pq_load(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, pq_load_once);
	return pq_lib ? 0 : -1;
}

/* Before the first connection, there is nothing to act on: what libpq does
 * with a NULL connection or result. */
PGconn *PQconnectdbParams(const char *const *keywords, const char *const *values,
	int expand_dbname)
{
	return pq_load() == 0 ? pq.PQconnectdbParams(keywords, values, expand_dbname) : NULL;
}

#define PQ_FORWARD(ret, name, params, args, none) \
	ret name params { return pq_lib ? pq.name args : none; }
#define PQ_FORWARD_VOID(name, params, args) \
	void name params { if (pq_lib) pq.name args; }

static char pq_not_loaded[] = "libpq not loaded\n";

PQ_FORWARD_VOID(PQfinish, (PGconn *conn), (conn))
PQ_FORWARD(ConnStatusType, PQstatus, (const PGconn *conn), (conn), CONNECTION_BAD)
PQ_FORWARD(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn),
	PQTRANS_UNKNOWN)
PQ_FORWARD(char *, PQerrorMessage, (const PGconn *conn), (conn), pq_not_loaded)
PQ_FORWARD(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *conn, PQnoticeProcessor proc,
	void *arg), (conn, proc, arg), NULL)
PQ_FORWARD(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query), NULL)
PQ_FORWARD(PGresult *, PQexecParams, (PGconn *conn, const char *command, int nParams,
	const Oid *paramTypes, const char *const *paramValues, const int *paramLengths,
	const int *paramFormats, int resultFormat), (conn, command, nParams, paramTypes,
	paramValues, paramLengths, paramFormats, resultFormat), NULL)
PQ_FORWARD(ExecStatusType, PQresultStatus, (const PGresult *res), (res), PGRES_FATAL_ERROR)
PQ_FORWARD(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode),
	NULL)
PQ_FORWARD(int, PQntuples, (const PGresult *res), (res), 0)
PQ_FORWARD(int, PQnfields, (const PGresult *res), (res), 0)
PQ_FORWARD(char *, PQfname, (const PGresult *res, int field_num), (res, field_num), NULL)
PQ_FORWARD(char *, PQcmdStatus, (PGresult *res), (res), NULL)
PQ_FORWARD(char *, PQcmdTuples, (PGresult *res), (res), NULL)
PQ_FORWARD(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num),
	(res, tup_num, field_num), NULL)
PQ_FORWARD(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num),
	(res, tup_num, field_num), 1)
PQ_FORWARD_VOID(PQclear, (PGresult *res), (res))
