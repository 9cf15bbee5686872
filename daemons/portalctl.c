/* portalctl — the operator's tool. Each sub-command is one row of
 * ctl_commands {words, handler, usage, help}; adding one (queue status,
 * replay set, cache flush…) is a handler plus a row. Exit codes follow
 * sysexits.h so scripts and init systems can tell the causes apart. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "app/jobs.h"
#include "app/outbox.h"
#include "app/catalog.h"
#include "app/sim_topup.h"
#include "salesforce/rest.h"
#include "salesforce/soql.h"
#include "freebit/client.h"
#include "store/db.h"
#include "store/cache.h"
#include "store/delayed.h"
#include "store/queue.h"
#include "store/redis.h"
#include "whmcs/client.h"

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/portal"
#endif

#define EXIT_OK          0
#define EXIT_USAGE       64   /* EX_USAGE */
#define EXIT_UNAVAILABLE 69   /* EX_UNAVAILABLE: PostgreSQL/Redis unreachable */
#define EXIT_SOFTWARE    70   /* EX_SOFTWARE: e.g. a migration's SQL failed */
#define EXIT_CONFIG      PT_EXIT_CONFIG

#define CTL_MASK "********"

struct ctl {
	const char *config_path;    /* -c FILE, NULL = $PORTAL_CONFIG or default */
	struct pt_config *cfg;
};

struct ctl_command {
	const char *words;          /* "config check": matched word by word */
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *usage;          /* arguments after the words */
	const char *help;
};

static const struct ctl_command ctl_commands[];

/* ---- helpers ----------------------------------------------------------- */

/* Loads the configuration and checks the keys this command needs; prints
 * the offending key and returns EXIT_CONFIG on any problem. */
static int ctl_load_config(struct ctl *ctl, const char *const *required)
{
	struct pt_err err = { 0 };
	ctl->cfg = config_load(ctl->config_path, &err);
	if (!ctl->cfg || config_validate(ctl->cfg, required, &err) != 0) {
		fprintf(stderr, "portalctl: configuration: %s\n", err.detail);
		return EXIT_CONFIG;
	}
	enum log_level lvl = LOG_LVL_INFO;
	log_level_parse(config_get(ctl->cfg, "LOG_LEVEL"), &lvl);
	log_init("portalctl", lvl, 0);
	return EXIT_OK;
}

static int ctl_exit_for(const struct pt_err *err)
{
	switch (err->code) {
	case PT_CONFIG_INVALID:
		return EXIT_CONFIG;
	case PT_MAINTENANCE:
	case PT_UPSTREAM_UNAVAILABLE:
		return EXIT_UNAVAILABLE;
	default:
		return EXIT_SOFTWARE;
	}
}

/* Says on stderr why a command failed; its exit status. */
static int ctl_fail(const char *what, const struct pt_err *err)
{
	fprintf(stderr, "portalctl: %s: %s\n", what, err->detail);
	return ctl_exit_for(err);
}

/* ---- migrate ------------------------------------------------------------ */

static int cmd_migrate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = PKGDATADIR "/migrations";
	int c;
	optind = 0;   /* glibc: full re-initialisation for the sub-command */
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c != 'd')
			return EXIT_USAGE;
		dir = optarg;
	}
	if (optind != argc)
		return EXIT_USAGE;

	static const char *const required[] = { "DATABASE_URL", NULL };
	int rc = ctl_load_config(ctl, required);
	if (rc != EXIT_OK)
		return rc;
	struct pt_err err = { 0 };
	struct db *db = db_new_from_config(ctl->cfg, &err);
	if (!db) {
		fprintf(stderr, "portalctl: migrate: %s\n", err.detail);
		return ctl_exit_for(&err);
	}
	int applied = 0;
	if (db_migrate(db, dir, &applied, &err) != 0) {
		fprintf(stderr, "portalctl: migrate: %s (applied %d before the failure)\n",
			err.detail, applied);
		rc = ctl_exit_for(&err);
	} else {
		printf("migrate: %d migration%s applied from %s\n", applied,
			applied == 1 ? "" : "s", dir);
	}
	db_free(db);
	return rc;
}

/* ---- config check ----------------------------------------------------------- */

static int cmd_config_check(struct ctl *ctl, int argc, char **argv)
{
	if (argc != 1)
		return EXIT_USAGE;
	static const char *const required[] = { "DATABASE_URL", "REDIS_URL", NULL };
	int rc = ctl_load_config(ctl, required);
	if (rc != EXIT_OK)
		return rc;
	/* config's URL type does not know unix:// sockets; the Redis parser is
	 * the authority on what redis_new will accept. */
	struct redis_url url;
	struct pt_err err = { 0 };
	if (redis_url_parse(config_get(ctl->cfg, "REDIS_URL"), &url, &err) != 0) {
		fprintf(stderr, "portalctl: configuration: %s\n", err.detail);
		return EXIT_CONFIG;
	}
	explicit_bzero(&url, sizeof url);

	size_t n = 0;
	const struct config_key *keys = config_keys(&n);
	for (size_t i = 0; i < n; i++) {
		const char *v = config_get(ctl->cfg, keys[i].name);
		if (v && keys[i].secret && *v)
			v = CTL_MASK;
		printf("%s=%s\n", keys[i].name, v ? v : "");
	}
	printf("# configuration ok\n");
	return EXIT_OK;
}

/* ---- queue / orders (provisioning) ------------------------------------------ */

static int ctl_queue_open(struct ctl *ctl, struct redis **r, struct queue **q)
{
	static const char *const required[] = { "REDIS_URL", NULL };
	struct queue_opts o = { .consumer = "portalctl" };
	struct pt_err err = { 0 };
	int rc = ctl_load_config(ctl, required);

	if (rc != EXIT_OK)
		return rc;
	if (!(*r = redis_new_from_config(ctl->cfg, &err)) || !(*q = queue_new(*r, &o, &err))) {
		fprintf(stderr, "portalctl: queue: %s\n", err.detail);
		return ctl_exit_for(&err);
	}
	return EXIT_OK;
}

static int cmd_queue_status(struct ctl *ctl, int argc, char **argv)
{
	struct redis *r = NULL;
	struct queue *q = NULL;
	struct queue_stats st;
	struct pt_err err = { 0 };
	int rc;

	(void)argv;
	if (argc != 1)
		return EXIT_USAGE;
	if ((rc = ctl_queue_open(ctl, &r, &q)) == EXIT_OK) {
		if (queue_stats(q, &st, &err)) {
			rc = ctl_fail("queue status", &err);
		} else {
			printf("stream=%s group=%s group_exists=%s\nlength=%ld\npending=%ld\n"
				"consumers=%ld\ndead_letter=%ld\n", QUEUE_STREAM, QUEUE_GROUP,
				st.group_exists ? "yes" : "no", st.length, st.pending, st.consumers,
				st.dead);
		}
	}
	queue_free(q);
	redis_free(r);
	return rc;
}

static int cmd_queue_retry_dead(struct ctl *ctl, int argc, char **argv)
{
	struct redis *r = NULL;
	struct queue *q = NULL;
	struct pt_err err = { 0 };
	long moved = 0;
	int rc;

	if (argc != 2)
		return EXIT_USAGE;
	if ((rc = ctl_queue_open(ctl, &r, &q)) == EXIT_OK) {
		if (queue_retry_dead(q, strcmp(argv[1], "--all") ? argv[1] : NULL, &moved, &err)) {
			fprintf(stderr, "portalctl: queue retry-dead: %s\n", err.detail);
			rc = err.code == PT_NOT_FOUND ? EXIT_USAGE : ctl_exit_for(&err);
		} else {
			printf("re-queued %ld job%s\n", moved, moved == 1 ? "" : "s");
		}
	}
	queue_free(q);
	redis_free(r);
	return rc;
}

static void print_rows(PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		for (int j = 0; j < PQnfields(res); j++)
			printf("%s%s=%s", j ? " " : "", PQfname(res, j),
				PQgetisnull(res, i, j) ? "" : PQgetvalue(res, i, j));
		printf("\n");
	}
}

static int cmd_orders_show(struct ctl *ctl, int argc, char **argv)
{
	static const char *const required[] = { "DATABASE_URL", NULL };
	struct pt_err err = { 0 };
	struct db *db;
	PGresult *run = NULL, *steps = NULL;
	const char *p[1];
	int rc;

	if (argc != 2 || strlen(argv[1]) > 18)
		return EXIT_USAGE;
	p[0] = argv[1];
	if ((rc = ctl_load_config(ctl, required)) != EXIT_OK)
		return rc;
	if (!(db = db_new_from_config(ctl->cfg, &err)))
		return ctl_exit_for(&err);
	run = db_exec(db, "SELECT sf_order_id, sf_account_id, status, step, whmcs_order_id, "
		"whmcs_create_started_at, attempts, error_code, error_message, started_at, "
		"updated_at, finished_at FROM provisioning_runs WHERE sf_order_id = $1", 1, p, &err);
	if (run && PQntuples(run) == 1)
		steps = db_exec(db, "SELECT at, step, status, detail FROM provisioning_steps "
			"WHERE sf_order_id = $1 ORDER BY at, id", 1, p, &err);
	if (!run || (PQntuples(run) == 1 && !steps)) {
		rc = ctl_fail("orders show", &err);
	} else if (PQntuples(run) == 0) {
		fprintf(stderr, "portalctl: orders show: no provisioning run for %s\n", argv[1]);
		rc = EXIT_SOFTWARE;
	} else {
		printf("# run\n");
		print_rows(run);
		printf("# steps\n");
		print_rows(steps);
	}
	PQclear(run);
	PQclear(steps);
	db_free(db);
	return rc;
}

/* ---- delayed jobs -------------------------------------------------------- */

#define CTL_JOBS_LIST_MAX 200

static int cmd_jobs_list(struct ctl *ctl, int argc, char **argv)
{
	static const char *const required[] = { "REDIS_URL", NULL };
	struct delayed_entry *e = NULL;
	struct pt_err err = { 0 };
	struct redis *r = NULL;
	size_t n = 0;
	int rc;

	(void)argv;
	if (argc != 1)
		return EXIT_USAGE;
	if ((rc = ctl_load_config(ctl, required)) != EXIT_OK)
		return rc;
	e = calloc(CTL_JOBS_LIST_MAX, sizeof *e);
	if (!e || !(r = redis_new_from_config(ctl->cfg, &err)) ||
	    delayed_list(r, NULL, e, CTL_JOBS_LIST_MAX, &n, &err)) {
		fprintf(stderr, "portalctl: jobs list: %s\n", e ? err.detail : "out of memory");
		rc = e ? ctl_exit_for(&err) : EXIT_SOFTWARE;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		printf("state=%s at_ms=%lld job=%s\n", delayed_state_name(e[i].state), e[i].at_ms,
			e[i].payload);
	printf("# %zu job%s\n", n, n == 1 ? "" : "s");
out:
	redis_free(r);
	free(e);
	return rc;
}

/* The same runner provisiond uses, once, now: for an operator who wants a
 * due job done without waiting for the worker's next poll. */
static int cmd_jobs_run_due(struct ctl *ctl, int argc, char **argv)
{
	static const char *const required[] = { "REDIS_URL", "WHMCS_API_URL",
		"WHMCS_API_IDENTIFIER", "WHMCS_API_SECRET", NULL };
	struct jobs_ctx c = { 0 };
	struct jobs_stats st;
	struct pt_err err = { 0 }, fe = { 0 };
	int rc;

	(void)argv;
	if (argc != 1)
		return EXIT_USAGE;
	if ((rc = ctl_load_config(ctl, required)) != EXIT_OK)
		return rc;
	/* The network-type job holds the line's claim for the configured gap,
	 * as it does under portal-provisiond. */
	c.gap_s = JOBS_GAP_S_DEFAULT;
	if (config_get_long(ctl->cfg, "FREEBIT_CHANGE_GAP_S", &c.gap_s, &err) != 0 ||
	    !(c.redis = redis_new_from_config(ctl->cfg, &err)) ||
	    !(c.whmcs = whmcs_client_from_config(ctl->cfg, &err))) {
		rc = ctl_fail("jobs run-due", &err);
		goto out;
	}
	if (config_get(ctl->cfg, "FREEBIT_BASE_URL"))
		c.freebit = freebit_client_from_config(ctl->cfg, c.redis, &fe);
	if (jobs_run_due(&c, jobs_now_ms(), 0, &st, &err)) {
		rc = ctl_fail("jobs run-due", &err);
		goto out;
	}
	printf("ran=%ld failed=%ld requeued=%ld\n", st.ran, st.failed, st.requeued);
	rc = st.failed ? EXIT_SOFTWARE : EXIT_OK;
out:
	freebit_client_free(c.freebit);
	whmcs_client_free(c.whmcs);
	redis_free(c.redis);
	return rc;
}

/* ---- order outbox ---------------------------------------------------------- */

static int cmd_outbox_status(struct ctl *ctl, int argc, char **argv)
{
	static const char *const required[] = { "DATABASE_URL", NULL };
	struct outbox_counts oc;
	struct pt_err err = { 0 };
	struct db *db;
	int rc;

	(void)argv;
	if (argc != 1)
		return EXIT_USAGE;
	if ((rc = ctl_load_config(ctl, required)) != EXIT_OK)
		return rc;
	if (!(db = db_new_from_config(ctl->cfg, &err)) || outbox_counts(db, &oc, &err)) {
		rc = ctl_fail("outbox status", &err);
	} else {
		printf("queued=%ld\nsubmitting=%ld\nsubmitted=%ld\nfailed=%ld\noldest_queued=%s\n",
			oc.queued, oc.submitting, oc.submitted, oc.failed, oc.oldest_queued);
	}
	db_free(db);
	return rc;
}

/* The worker's drain, once, now (e.g. right after Salesforce came back). */
static int cmd_outbox_drain(struct ctl *ctl, int argc, char **argv)
{
	static const char *const required[] = { "DATABASE_URL", "REDIS_URL", "SF_LOGIN_URL",
		"SF_CLIENT_ID", "SF_USERNAME", NULL };
	struct outbox_ctx c = { 0 };
	struct outbox_stats st;
	struct pt_err err = { 0 };
	int rc;

	(void)argv;
	if (argc != 1)
		return EXIT_USAGE;
	if ((rc = ctl_load_config(ctl, required)) != EXIT_OK)
		return rc;
	if (!(c.db = db_new_from_config(ctl->cfg, &err)) ||
	    !(c.redis = redis_new_from_config(ctl->cfg, &err)) ||
	    !(c.sf = sf_client_new_config(ctl->cfg, c.redis, &err)) ||
	    outbox_drain(&c, 0, &st, &err)) {
		rc = ctl_fail("outbox drain", &err);
	} else {
		printf("submitted=%ld adopted=%ld failed=%ld waiting=%ld%s\n", st.submitted,
			st.adopted, st.failed, st.waiting, st.busy ? " (another drainer is running)" : "");
		rc = st.failed || st.waiting ? EXIT_SOFTWARE : EXIT_OK;
	}
	sf_client_free(c.sf);
	redis_free(c.redis);
	db_free(c.db);
	return rc;
}

/* ---- SIM top-ups ------------------------------------------------------------ */

/* Bills the top-ups whose WHMCS billing failed (billing_pending), once each:
 * the worker's job, runnable by hand after WHMCS came back. */
static int cmd_topups_bill_pending(struct ctl *ctl, int argc, char **argv)
{
	static const char *const required[] = { "DATABASE_URL", "WHMCS_API_URL",
		"WHMCS_API_IDENTIFIER", "WHMCS_API_SECRET", NULL };
	struct sim_topup_stats st = { 0 };
	struct whmcs_client *wh = NULL;
	struct pt_err err = { 0 };
	struct db *db = NULL;
	int rc;

	(void)argv;
	if (argc != 1)
		return EXIT_USAGE;
	if ((rc = ctl_load_config(ctl, required)) != EXIT_OK)
		return rc;
	if (!(db = db_new_from_config(ctl->cfg, &err)) ||
	    !(wh = whmcs_client_from_config(ctl->cfg, &err)) ||
	    sim_topup_bill_pending(db, wh, &st, &err) != 0) {
		rc = ctl_fail("topups bill-pending", &err);
	} else {
		printf("billed=%ld failed=%ld unknown=%ld\n", st.billed, st.failed, st.unknown);
		rc = st.failed || st.unknown ? EXIT_SOFTWARE : EXIT_OK;
	}
	whmcs_client_free(wh);
	db_free(db);
	return rc;
}

/* The top-ups whose AddBillableItem may or may not have run (billing_unknown):
 * what an operator looks up in WHMCS before `topups resolve`. */
static int cmd_topups_unknown(struct ctl *ctl, int argc, char **argv)
{
	static const char *const required[] = { "DATABASE_URL", NULL };
	struct pt_err err = { 0 };
	struct db *db;
	PGresult *res = NULL;
	int rc;

	(void)argv;
	if (argc != 1)
		return EXIT_USAGE;
	if ((rc = ctl_load_config(ctl, required)) != EXIT_OK)
		return rc;
	if (!(db = db_new_from_config(ctl->cfg, &err)) || !(res = sim_topup_list_unknown(db, &err))) {
		rc = ctl_fail("topups unknown", &err);
	} else {
		print_rows(res);
		printf("unknown=%d\n", PQntuples(res));
	}
	PQclear(res);
	db_free(db);
	return rc;
}

/* topups resolve <id> billed|unbilled: the operator's verdict after looking
 * for portal-topup-<id> among the client's billable items in WHMCS. */
static int cmd_topups_resolve(struct ctl *ctl, int argc, char **argv)
{
	static const char *const required[] = { "DATABASE_URL", NULL };
	struct pt_err err = { 0 };
	enum sim_topup_event ev;
	struct db *db;
	int rc;

	if (argc != 3 || !argv[1][0] || strlen(argv[1]) > 18 ||
	    strspn(argv[1], "0123456789") != strlen(argv[1]))
		return EXIT_USAGE;
	if (!strcmp(argv[2], "billed"))
		ev = SIM_EV_RESOLVED_BILLED;
	else if (!strcmp(argv[2], "unbilled"))
		ev = SIM_EV_RESOLVED_UNBILLED;
	else
		return EXIT_USAGE;
	if ((rc = ctl_load_config(ctl, required)) != EXIT_OK)
		return rc;
	if (!(db = db_new_from_config(ctl->cfg, &err)) || sim_topup_resolve(db, argv[1], ev, &err)) {
		rc = ctl_fail("topups resolve", &err);
	} else {
		printf("id=%s status=%s\n", argv[1],
			sim_topup_state_name(sim_topup_next(SIM_TOPUP_BILLING_UNKNOWN, ev)));
	}
	db_free(db);
	return rc;
}

/* ---- replay cursors (portal-subscriberd) ------------------------------------ */

#define CTL_REPLAY_PREFIX "sf:pe:replay:"
#define CTL_STATE_PREFIX  "sf:pe:state:"
#define CTL_CURSOR_HEX_MAX 128   /* portal-subscriberd's CURSOR_HEX_MAX */

/* The channels of salesforce-org.md, as portal-subscriberd subscribes them:
 * the provisioning channel (SF_PROVISION_EVENT_CHANNEL) first, then these. */
static const char *const ctl_fixed_channels[] = {
	"/event/AccountEligibilityChanged__e", "/data/Product2ChangeEvent",
	"/data/PricebookEntryChangeEvent", "/data/OrderChangeEvent",
	"/data/OrderItemChangeEvent", NULL,
};

static int ctl_channel_known(const struct ctl *ctl, const char *ch)
{
	if (strcmp(ch, config_get(ctl->cfg, "SF_PROVISION_EVENT_CHANNEL")) == 0)
		return 1;
	for (size_t i = 0; ctl_fixed_channels[i]; i++)
		if (strcmp(ch, ctl_fixed_channels[i]) == 0)
			return 1;
	return 0;
}

/* Loads REDIS_URL + SF_* and connects; the channel (if any) must be one
 * subscriberd subscribes, so a typo cannot write a key nobody reads. */
static int ctl_replay_open(struct ctl *ctl, const char *what, const char *ch, struct redis **r)
{
	static const char *const required[] = { "REDIS_URL", NULL };
	struct pt_err err = { 0 };
	int rc = ctl_load_config(ctl, required);

	if (rc != EXIT_OK)
		return rc;
	if (ch && !ctl_channel_known(ctl, ch)) {
		fprintf(stderr, "portalctl: %s: '%s' is not a subscribed channel (see replay show)\n",
			what, ch);
		return EXIT_USAGE;
	}
	if (!(*r = redis_new_from_config(ctl->cfg, &err))) {
		fprintf(stderr, "portalctl: %s: %s\n", what, err.detail);
		return ctl_exit_for(&err);
	}
	return EXIT_OK;
}

/* One line per channel: channel=… cursor=<hex|none> then the fields of
 * sf:pe:state:<channel> (what /health/sf-events reads). */
static int ctl_replay_show_one(struct redis *r, const char *ch)
{
	struct pt_err err = { 0 };
	redisReply *cur = redis_cmd(r, &err, "GET " CTL_REPLAY_PREFIX "%s", ch);
	redisReply *st = cur ? redis_cmd(r, &err, "HGETALL " CTL_STATE_PREFIX "%s", ch) : NULL;
	int rc = EXIT_OK;

	if (!cur || !st || cur->type == REDIS_REPLY_ERROR || st->type != REDIS_REPLY_ARRAY) {
		fprintf(stderr, "portalctl: replay show: %s: %s\n", ch,
			*err.detail ? err.detail : "unexpected reply");
		rc = EXIT_UNAVAILABLE;
		goto out;
	}
	printf("channel=%s cursor=%s", ch, cur->type == REDIS_REPLY_STRING ? cur->str : "none");
	for (size_t i = 0; i + 1 < st->elements; i += 2)
		printf(" %s=%s", st->element[i]->str ? st->element[i]->str : "",
			st->element[i + 1]->str ? st->element[i + 1]->str : "");
	printf("\n");
out:
	if (cur)
		freeReplyObject(cur);
	if (st)
		freeReplyObject(st);
	return rc;
}

static int cmd_replay_show(struct ctl *ctl, int argc, char **argv)
{
	struct redis *r = NULL;
	int rc;

	if (argc > 2)
		return EXIT_USAGE;
	if ((rc = ctl_replay_open(ctl, "replay show", argc == 2 ? argv[1] : NULL, &r)) != EXIT_OK)
		goto out;
	if (argc == 2) {
		rc = ctl_replay_show_one(r, argv[1]);
		goto out;
	}
	rc = ctl_replay_show_one(r, config_get(ctl->cfg, "SF_PROVISION_EVENT_CHANNEL"));
	for (size_t i = 0; ctl_fixed_channels[i] && rc == EXIT_OK; i++)
		rc = ctl_replay_show_one(r, ctl_fixed_channels[i]);
out:
	redis_free(r);
	return rc;
}

/* A cursor as subscriberd stores it: hex of the replay id bytes, even
 * length, at most CTL_CURSOR_HEX_MAX digits. Lower-cased into out. */
static int ctl_cursor_valid(const char *s, char out[CTL_CURSOR_HEX_MAX + 1])
{
	size_t n = strlen(s);

	if (n == 0 || n % 2 || n > CTL_CURSOR_HEX_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return 0;
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
	}
	out[n] = '\0';
	return 1;
}

/* replay set <channel> LATEST|ALL|EARLIEST|<hex>.
 * subscriberd reads sf:pe:replay:<channel> each time it subscribes; with no
 * cursor it starts from SF_EVENTS_REPLAY (LATEST, or ALL = EARLIEST) — that
 * configuration key is the only preset it reads. So a preset is "set" by
 * deleting the cursor, and only when SF_EVENTS_REPLAY already names it;
 * otherwise nothing is changed and the operator is told which value to
 * configure (a cursor-less start from the wrong preset would skip or
 * repeat events silently). The preset is recorded in sf:pe:state:<channel>
 * (replay_set, replay_set_at) for replay show. */
static int cmd_replay_set(struct ctl *ctl, int argc, char **argv)
{
	char hex[CTL_CURSOR_HEX_MAX + 1];
	struct pt_err err = { 0 };
	struct redis *r = NULL;
	redisReply *rep = NULL;
	const char *want = NULL;
	char at[24];
	int rc;

	if (argc != 3)
		return EXIT_USAGE;
	if (!strcmp(argv[2], "LATEST"))
		want = "LATEST";
	else if (!strcmp(argv[2], "ALL") || !strcmp(argv[2], "EARLIEST"))
		want = "ALL";
	else if (!ctl_cursor_valid(argv[2], hex)) {
		fprintf(stderr, "portalctl: replay set: '%.40s' is neither LATEST, ALL, EARLIEST "
			"nor a replay id (even number of hex digits, at most %d)\n", argv[2],
			CTL_CURSOR_HEX_MAX);
		return EXIT_USAGE;
	}
	if ((rc = ctl_replay_open(ctl, "replay set", argv[1], &r)) != EXIT_OK)
		goto out;
	if (want && strcmp(want, config_get(ctl->cfg, "SF_EVENTS_REPLAY")) != 0) {
		fprintf(stderr, "portalctl: replay set: portal-subscriberd starts a channel without "
			"a cursor from SF_EVENTS_REPLAY = %s; set SF_EVENTS_REPLAY = %s in the "
			"configuration (and reload portal-subscriberd), then run this again. "
			"Nothing changed.\n", config_get(ctl->cfg, "SF_EVENTS_REPLAY"), want);
		rc = EXIT_CONFIG;
		goto out;
	}
	snprintf(at, sizeof at, "%lld", (long long)time(NULL) * 1000);
	if (want)
		rep = redis_cmd(r, &err, "DEL " CTL_REPLAY_PREFIX "%s", argv[1]);
	else
		rep = redis_cmd(r, &err, "SET " CTL_REPLAY_PREFIX "%s %s", argv[1], hex);
	if (rep && rep->type != REDIS_REPLY_ERROR) {
		freeReplyObject(rep);
		rep = redis_cmd(r, &err, "HSET " CTL_STATE_PREFIX "%s replay_set %s replay_set_at %s",
			argv[1], want ? argv[2] : hex, at);
	}
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "portalctl: replay set: %s\n",
			*err.detail ? err.detail : rep->str);
		rc = EXIT_UNAVAILABLE;
		goto out;
	}
	freeReplyObject(rep);
	rep = redis_cmd(r, NULL, "HGET " CTL_STATE_PREFIX "%s connected", argv[1]);
	if (want)
		printf("replay %s: cursor deleted; next subscribe starts from %s (SF_EVENTS_REPLAY)\n",
			argv[1], argv[2]);
	else
		printf("replay %s: cursor=%s; next subscribe resumes after it\n", argv[1], hex);
	if (rep && rep->type == REDIS_REPLY_STRING && !strcmp(rep->str, "1"))
		fprintf(stderr, "portalctl: replay set: warning: portal-subscriberd is connected on "
			"%s; it reads the cursor only when it subscribes and its next event "
			"overwrites it: stop it first (or reload it now)\n", argv[1]);
out:
	if (rep)
		freeReplyObject(rep);
	redis_free(r);
	return rc;
}

/* ---- cache flush -------------------------------------------------------------- */

/* all-portal: before an account's generation-guarded key (eligibility,
 * catalog:*) goes, that account gets a new eligibility generation, as
 * app_catalog_invalidate does, so a fill in flight cannot write it back.
 * (app_catalog_invalidate itself would re-SCAN the keyspace per account.) */
static int ctl_renew_acct_gen(struct redis *r, const char *key, struct pt_err *err)
{
	static unsigned long seq;
	const char *id = key + strlen("acct:");
	const char *end = strchr(id, ':');
	char gen_key[64], gen[80];
	struct timespec ts;
	redisReply *rep;
	int ok;

	if (!end || end - id != SF_ID_LEN18 ||
	    (strcmp(end, ":eligibility") != 0 && strncmp(end, ":catalog:", 9) != 0))
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* never equal to an earlier generation: time, pid and a counter */
	snprintf(gen_key, sizeof gen_key, "acct:%.*s:eligibility:gen", SF_ID_LEN18, id);
	snprintf(gen, sizeof gen, "ctl-%lld%09ld-%ld-%lu", (long long)ts.tv_sec, ts.tv_nsec,
		(long)getpid(), ++seq);
	rep = redis_cmd(r, err, "SET %s %s EX 3600", gen_key, gen);
	ok = rep && rep->type == REDIS_REPLY_STATUS;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "generation not renewed");
}

/* SCAN MATCH <prefix>* + UNLINK, keeping keys that end in keep_suffix (the
 * generation keys: renewed by the invalidation, never deleted). With
 * renew_acct, each account's generation is renewed first (ctl_renew_acct_gen).
 * prefix has no glob chars. */
static int ctl_unlink_prefix(struct redis *r, const char *prefix, const char *keep_suffix,
	int renew_acct, long *deleted, struct pt_err *err)
{
	char cursor[32] = "0";
	size_t ks = keep_suffix ? strlen(keep_suffix) : 0;

	do {
		redisReply *rep = redis_cmd(r, err, "SCAN %s MATCH %s* COUNT 500", cursor, prefix);
		if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING) {
			if (rep)
				freeReplyObject(rep);
			return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "SCAN failed");
		}
		snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
		redisReply *keys = rep->element[1];
		for (size_t i = 0; i < keys->elements; i++) {
			const char *k = keys->element[i]->str;
			size_t kl = k ? strlen(k) : 0;
			if (!k || (ks && kl >= ks && !strcmp(k + kl - ks, keep_suffix)))
				continue;
			if (renew_acct && ctl_renew_acct_gen(r, k, err) != 0) {
				freeReplyObject(rep);
				return -1;
			}
			redisReply *u = redis_cmd(r, err, "UNLINK %s", k);
			int ok = u && u->type == REDIS_REPLY_INTEGER;
			if (ok)
				*deleted += u->integer;
			if (u)
				freeReplyObject(u);
			if (!ok) {
				freeReplyObject(rep);
				return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "UNLINK failed");
			}
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

/* cache flush catalog | account <sf_account_id> | client <whmcs_id> |
 * line <msisdn> | all-portal. Only the cache keys of resolutions §30:
 * never sessions (sess:), rate limits (rl:), queues (portal:q:*), replay
 * cursors/state (sf:pe:*), tokens, probe state or imported CDRs (cdr:*). */
static int cmd_cache_flush(struct ctl *ctl, int argc, char **argv)
{
	static const char *const required[] = { "REDIS_URL", NULL };
	static const char *const portal_prefixes[] = { "acct:", "client:", "freebit:line:", NULL };
	const char *scope = argc >= 2 ? argv[1] : "";
	struct buf key;
	struct pt_err err = { 0 };
	struct redis *r = NULL;
	long n = 0, m = 0;
	int rc = EXIT_OK;
	char id[SF_ID_LEN18 + 1] = "";

	buf_init(&key, CACHE_KEY_MAX);
	/* arguments first: a bad id is a usage error whatever the server state */
	if (!strcmp(scope, "catalog") || !strcmp(scope, "all-portal")) {
		if (argc != 2)
			rc = EXIT_USAGE;
	} else if (argc != 3) {
		rc = EXIT_USAGE;
	} else if (!strcmp(scope, "account")) {
		if (sf_soql_id_check(argv[2], "001", id, &err) != 0 ||
		    cache_key_acct(&key, id, NULL, &err) != 0)
			rc = EXIT_USAGE;
	} else if (!strcmp(scope, "client")) {
		if (cache_key_client(&key, argv[2], NULL, &err) != 0)
			rc = EXIT_USAGE;
	} else if (!strcmp(scope, "line")) {
		if (cache_key_line(&key, argv[2], NULL, &err) != 0)
			rc = EXIT_USAGE;
	} else {
		rc = EXIT_USAGE;
	}
	if (rc == EXIT_USAGE) {
		if (argc == 3 && *err.detail)
			fprintf(stderr, "portalctl: cache flush %s: invalid id '%.40s'\n", scope,
				argv[2]);
		goto out;
	}
	if ((rc = ctl_load_config(ctl, required)) != EXIT_OK)
		goto out;
	if (!(r = redis_new_from_config(ctl->cfg, &err))) {
		rc = ctl_exit_for(&err);
		goto fail;
	}
	if (!strcmp(scope, "catalog") || !strcmp(scope, "all-portal")) {
		/* new generation first, so a fill in flight does not write back */
		if (app_catalog_invalidate(r, NULL, &err) != 0)
			goto unavailable;
		printf("flushed catalog\n");
	}
	if (!strcmp(scope, "account")) {
		if (app_catalog_invalidate(r, id, &err) != 0 ||
		    ctl_unlink_prefix(r, buf_cstr(&key), ":gen", 0, &n, &err) != 0)
			goto unavailable;
	} else if (!strcmp(scope, "client") || !strcmp(scope, "line")) {
		if (cache_del_prefix(r, buf_cstr(&key), &n, &err) != 0)
			goto unavailable;
	} else if (!strcmp(scope, "all-portal")) {
		if (ctl_unlink_prefix(r, "catalog:", ":gen", 0, &n, &err) != 0)
			goto unavailable;
		for (size_t i = 0; portal_prefixes[i]; i++)
			if (ctl_unlink_prefix(r, portal_prefixes[i], ":gen", i == 0, &n, &err) != 0)
				goto unavailable;
		if (cache_del(r, "gateways", &err) != 0)
			goto unavailable;
		m = 1;
	}
	if (strcmp(scope, "catalog") != 0)
		printf("flushed %s%s%s: %ld key%s%s\n", scope, argc == 3 ? " " : "",
			argc == 3 ? argv[2] : "", n, n == 1 ? "" : "s", m ? " (+ gateways)" : "");
	goto out;
unavailable:
	rc = err.code == PT_VALIDATION_FAILED ? EXIT_SOFTWARE : EXIT_UNAVAILABLE;
fail:
	fprintf(stderr, "portalctl: cache flush %s: %s\n", scope, err.detail);
out:
	buf_free(&key);
	redis_free(r);
	return rc;
}

/* ---- version / help ------------------------------------------------------ */

static int cmd_version(struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	if (argc != 1)
		return EXIT_USAGE;
	printf("portalctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	return EXIT_OK;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: portalctl [-c FILE] COMMAND [ARGS]\n\n"
		"  -c FILE     configuration file (default $PORTAL_CONFIG, else "
		SYSCONFDIR "/portal/portal.conf)\n"
		"  -h, --help  this help\n\ncommands:\n");
	for (const struct ctl_command *c = ctl_commands; c->words; c++) {
		char line[128];
		snprintf(line, sizeof line, "%s%s%s", c->words, *c->usage ? " " : "", c->usage);
		fprintf(out, "  %-28s %s\n", line, c->help);
	}
	fprintf(out, "\nexit status: 0 ok, 64 usage, 69 unavailable, 70 failed, 78 configuration\n");
}

static const struct ctl_command ctl_commands[] = {
	{ "migrate", cmd_migrate, "[--dir DIR]",
		"apply pending database migrations (default " PKGDATADIR "/migrations)" },
	{ "config check", cmd_config_check, "",
		"validate the configuration and print it, secrets masked" },
	{ "queue status", cmd_queue_status, "",
		"provisioning queue: length, pending, consumers, dead-letter size" },
	{ "queue retry-dead", cmd_queue_retry_dead, "<id|--all>",
		"move dead-letter jobs back to the provisioning queue" },
	{ "orders show", cmd_orders_show, "<sf_order_id>",
		"an order's provisioning run: steps, timestamps, errors, WHMCS id" },
	{ "jobs list", cmd_jobs_list, "",
		"delayed jobs: waiting (due time), running (lease start), failed" },
	{ "jobs run-due", cmd_jobs_run_due, "",
		"run every due delayed job now (as portal-provisiond does)" },
	{ "outbox status", cmd_outbox_status, "",
		"orders held while Salesforce was down: counts by status, oldest waiting" },
	{ "outbox drain", cmd_outbox_drain, "",
		"submit the held orders to Salesforce now, oldest first, each once" },
	{ "topups bill-pending", cmd_topups_bill_pending, "",
		"bill the SIM top-ups whose WHMCS billing failed (billing_pending), each once" },
	{ "topups unknown", cmd_topups_unknown, "",
		"SIM top-ups billed with an unknown outcome (billing_unknown): check WHMCS" },
	{ "topups resolve", cmd_topups_resolve, "<id> <billed|unbilled>",
		"after checking WHMCS for portal-topup-<id>: billed, or back to billing_pending" },
	{ "replay show", cmd_replay_show, "[<channel>]",
		"Pub/Sub replay cursor (or none) and subscriber state, per channel" },
	{ "replay set", cmd_replay_set, "<channel> <preset|hex>",
		"cursor: LATEST|ALL|EARLIEST (delete it) or a replay id in hex" },
	{ "cache flush", cmd_cache_flush, "<scope> [<id>]",
		"catalog, account <sf_account_id>, client <whmcs_id>, line <msisdn>, all-portal" },
	{ "version", cmd_version, "", "print the version" },
	{ NULL, NULL, NULL, NULL },
};

/* ---- dispatch ---------------------------------------------------------------- */

/* Number of argv words matching c->words, or 0. */
static int ctl_match(const struct ctl_command *c, int argc, char **argv)
{
	const char *w = c->words;
	int i = 0;
	while (*w) {
		size_t len = strcspn(w, " ");
		if (i >= argc || strlen(argv[i]) != len || strncmp(argv[i], w, len) != 0)
			return 0;
		i++;
		w += len;
		w += strspn(w, " ");
	}
	return i;
}

static int ctl_dispatch(struct ctl *ctl, int argc, char **argv)
{
	for (const struct ctl_command *c = ctl_commands; c->words; c++) {
		int n = ctl_match(c, argc, argv);
		if (!n)
			continue;
		/* the handler sees argv[0] = its last word, getopt style */
		int rc = c->run(ctl, argc - n + 1, argv + n - 1);
		if (rc == EXIT_USAGE)
			fprintf(stderr, "usage: portalctl [-c FILE] %s %s\n", c->words, c->usage);
		return rc;
	}
	fprintf(stderr, "portalctl: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { 0 };
	int c;
	log_init("portalctl", LOG_LVL_INFO, 0);
	/* '+': stop at the command, whose own options its handler parses */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	int rc = ctl_dispatch(&ctl, argc - optind, argv + optind);
	config_free(ctl.cfg);
	log_close();
	return rc;
}
