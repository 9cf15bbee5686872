/* Acceptance: N processes (default 20) started together against an empty
 * Redis make exactly ONE token request to the Salesforce simulator.
 * Needs PORTAL_TEST_SF_URL and PORTAL_TEST_REDIS_URL (exit 77 = skipped). */
#include <sys/wait.h>
#include <unistd.h>

#include "core/http.h"
#include "sf_sim.h"
#include "store/redis.h"

int main(int argc, char **argv)
{
	const char *sf = getenv("PORTAL_TEST_SF_URL"), *ru = getenv("PORTAL_TEST_REDIS_URL");
	int n = argc > 1 ? atoi(argv[1]) : 20, ok = 0, fd[2];
	struct pt_err e = { 0 };

	if (!sf || !ru) {
		printf("sf_token_race: PORTAL_TEST_SF_URL / PORTAL_TEST_REDIS_URL unset: skipped\n");
		return 77;
	}
	http_global_init();
	struct redis *r = redis_new(ru, 1000, 1000);
	redisReply *rep = redis_cmd(r, &e, "DEL %s %s", SF_AUTH_TOKEN_KEY, SF_AUTH_LOCK_KEY);
	if (!rep) {
		fprintf(stderr, "redis unavailable: %s\n", e.detail);
		return 1;
	}
	freeReplyObject(rep);
	redis_free(r);
	json_object_put(sim_ctl(sf, "POST", "/__sim/reset", NULL));
	/* Children block on a pipe so they all start at the same moment. */
	if (pipe(fd))
		return 1;
	for (int i = 0; i < n; i++) {
		if (fork() == 0) {
			char c;
			struct sf_client_opts o;
			struct sf_token t;
			close(fd[1]);
			if (read(fd[0], &c, 1) < 0)
				_exit(3);
			sim_opts(&o, sf, 10000);
			struct redis *cr = redis_new(ru, 1000, 1000);
			struct sf_auth *a = sf_auth_new(&o.auth, cr, &e);
			int rc = a && sf_auth_token(a, &t, &e) == 0 ? 0 : 2;
			if (rc)
				fprintf(stderr, "child %d: %s %s\n", i, e.detail, e.provider_code);
			sf_auth_free(a);
			redis_free(cr);
			_exit(rc);
		}
	}
	close(fd[0]);
	close(fd[1]);   /* EOF releases every child at once */
	for (int i = 0; i < n; i++) {
		int st;
		if (wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	int tokens = sim_count(sf, "token", 0);
	printf("sf_token_race: %d/%d processes got a token; /__sim/calls shows %d token request(s)\n",
		ok, n, tokens);
	http_global_cleanup();
	return ok == n && tokens == 1 ? 0 : 1;
}
