/* mksession — test helper: creates a portal session in the configured Redis
 * for a user that a test inserted into PostgreSQL itself, and prints
 * "<token> <csrf>". Used by t_orders.sh until sign-up/login can make one.
 * Usage: mksession USER_ID SF_ACCOUNT_ID [WHMCS_CLIENT_ID]
 * (config from PORTAL_CONFIG, as every program). Never installed. */
#include <stdio.h>

#include "core/config.h"
#include "store/redis.h"
#include "store/session.h"

int main(int argc, char **argv)
{
	struct pt_err err = { 0 };
	struct pt_config *cfg = NULL;
	struct redis *r = NULL;
	struct session_opts o;
	struct session s;
	int rc = 1;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: mksession USER_ID SF_ACCOUNT_ID [WHMCS_CLIENT_ID]\n");
		return 2;
	}
	struct session_subject who = { argv[1], argv[2], argc == 4 ? argv[3] : "" };
	if (!(cfg = config_load(NULL, &err)) || session_opts_from_config(cfg, &o, &err) != 0 ||
	    !(r = redis_new_from_config(cfg, &err)) ||
	    session_create(r, &o, &who, "127.0.0.1", "mksession", &s, &err) != 0) {
		fprintf(stderr, "mksession: %s\n", err.detail);
		goto out;
	}
	printf("%s %s\n", s.token, s.csrf);
	rc = 0;
out:
	redis_free(r);
	config_free(cfg);
	return rc;
}
