/* rss-peer — the memory floor a FastCGI worker is measured against
 * (tests/bench/run, docs/performance.md "FastCGI worker memory"): the least a
 * program can do with the same Debian libraries — connect to PostgreSQL with
 * libpq, run SELECT 1, ping Redis with hiredis — then print its
 * /proc/self/smaps_rollup Rss, Pss and Private_Dirty in kB, one line:
 * "rss pss private". Usage: rss-peer CONNINFO REDIS_HOST REDIS_PORT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>

static long field(const char *name)
{
	char line[256];
	long v = -1;
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: rss-peer CONNINFO REDIS_HOST REDIS_PORT\n");
		return 2;
	}
	PGconn *pg = PQconnectdb(argv[1]);
	PGresult *res = PQexec(pg, "SELECT 1");
	redisContext *r = redisConnect(argv[2], atoi(argv[3]));
	redisReply *rep = r && !r->err ? redisCommand(r, "PING") : NULL;
	int ok = PQresultStatus(res) == PGRES_TUPLES_OK && rep && rep->type == REDIS_REPLY_STATUS;

	printf("%ld %ld %ld\n", field("Rss"), field("Pss"), field("Private_Dirty"));
	freeReplyObject(rep);
	redisFree(r);
	PQclear(res);
	PQfinish(pg);
	return ok ? 0 : 1;
}
