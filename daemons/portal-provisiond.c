/* portal-provisiond — the provisioning worker: reads jobs from the Redis
 * Stream consumer group and runs src/app/provisioning for each. Any number
 * may run (consumer name host:pid). -f stays in the foreground (systemd),
 * else it detaches and writes -p PIDFILE (sysv). SIGTERM finishes the
 * current job and exits 0; SIGHUP re-opens logs and reloads the config. */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/jobs.h"
#include "app/outbox.h"
#include "app/provisioning.h"
#include "core/config.h"
#include "core/daemon.h"
#include "core/err.h"
#include "core/log.h"
#include "freebit/client.h"
#include "salesforce/rest.h"
#include "store/db.h"
#include "store/queue.h"
#include "store/redis.h"
#include "web/app.h"
#include "whmcs/client.h"

/* How long one XREADGROUP blocks: bounds the SIGTERM/SIGHUP reaction time. */
#define BLOCK_MS 2000
/* Delayed jobs are checked between queue reads at most this often: their
 * due times are minutes apart, a poll per second costs one Redis call. */
#define JOBS_POLL_MS 1000
#define JOBS_PER_POLL 20
/* The outbox fills only while Salesforce is down; a look every few seconds
 * submits it soon after Salesforce is back. */
#define OUTBOX_POLL_MS 5000
#define OUTBOX_PER_POLL 50

struct worker {
	const char *config_path;
	struct pt_config *cfg;
	struct db *db;
	struct redis *redis;        /* tokens, Freebit auth key */
	struct redis *qredis;       /* the queue: command timeout > block time */
	struct queue *queue;
	struct prov_ctx prov;
	struct jobs_ctx jobs;
	long long jobs_next_ms;
	struct outbox_ctx outbox;
	long long outbox_next_ms;
	long long metrics_skip_until_us;  /* Redis failed: provider metrics wait */
	char consumer[128];
};

static const char *const required[] = {
	"DATABASE_URL", "REDIS_URL", "SF_LOGIN_URL", "SF_CLIENT_ID", "SF_USERNAME",
	"WHMCS_API_URL", "WHMCS_API_IDENTIFIER", "WHMCS_API_SECRET", NULL };

static void worker_close(struct worker *w)
{
	queue_free(w->queue);
	sf_client_free(w->prov.sf);
	whmcs_client_free(w->prov.whmcs);
	freebit_client_free(w->prov.freebit);
	db_free(w->db);
	redis_free(w->qredis);
	redis_free(w->redis);
	config_free(w->cfg);
	w->queue = NULL;
	w->prov = (struct prov_ctx){ 0 };
	w->jobs = (struct jobs_ctx){ 0 };
	w->outbox = (struct outbox_ctx){ 0 };
	w->db = NULL;
	w->qredis = w->redis = NULL;
	w->cfg = NULL;
}

static long cfg_long(const struct pt_config *cfg, const char *key, long dflt)
{
	long v = dflt;
	struct pt_err e = { 0 };

	if (config_get_long(cfg, key, &v, &e))
		v = dflt;
	return v;
}

/* Loads the config and builds every client; -1 + err naming the problem. */
static int worker_open(struct worker *w, struct pt_err *err)
{
	struct queue_opts qo = { 0 };
	enum log_level lvl = LOG_LVL_INFO;
	int syslog_on = 0;

	w->cfg = config_load(w->config_path, err);
	if (!w->cfg || config_validate(w->cfg, required, err))
		return -1;
	log_level_parse(config_get(w->cfg, "LOG_LEVEL"), &lvl);
	config_get_bool(w->cfg, "LOG_SYSLOG", &syslog_on, err);
	log_init("portal-provisiond", lvl, syslog_on);
	if (!(w->db = db_new_from_config(w->cfg, err)) ||
	    !(w->redis = redis_new_from_config(w->cfg, err)))
		return -1;
	w->qredis = redis_new(config_get(w->cfg, "REDIS_URL"),
		cfg_long(w->cfg, "REDIS_CONNECT_TIMEOUT_MS", 500),
		BLOCK_MS + cfg_long(w->cfg, "REDIS_COMMAND_TIMEOUT_MS", 1000));
	if (!w->qredis)
		return pt_err_set(err, PT_CONFIG_INVALID, "REDIS_URL: malformed");
	if (!(w->prov.sf = sf_client_new_config(w->cfg, w->redis, err)) ||
	    !(w->prov.whmcs = whmcs_client_from_config(w->cfg, err)))
		return -1;
	if (config_get(w->cfg, "FREEBIT_BASE_URL")) {
		struct pt_err fe = { 0 };
		w->prov.freebit = freebit_client_from_config(w->cfg, w->redis, &fe);
		if (!w->prov.freebit)
			log_warn("Freebit client not configured: SIM orders will fail",
				"error", fe.detail);
	}
	w->prov.db = w->db;
	/* The network-type job claims the line for the same gap as the routes. */
	w->jobs = (struct jobs_ctx){ .redis = w->redis, .whmcs = w->prov.whmcs,
		.freebit = w->prov.freebit,
		.gap_s = cfg_long(w->cfg, "FREEBIT_CHANGE_GAP_S", JOBS_GAP_S_DEFAULT) };
	w->outbox = (struct outbox_ctx){ .db = w->db, .sf = w->prov.sf, .redis = w->redis };
	qo.consumer = w->consumer;
	qo.visibility_ms = cfg_long(w->cfg, "PROVISION_VISIBILITY_TIMEOUT_S", 300) * 1000;
	qo.max_deliveries = cfg_long(w->cfg, "PROVISION_MAX_DELIVERIES", 5);
	if (!(w->queue = queue_new(w->qredis, &qo, err)))
		return -1;
	return 0;
}

static void handle_job(struct worker *w, const struct queue_job *job)
{
	struct pt_err err = { 0 };
	char n[24];
	int rc;

	log_info("provisioning job received", "job_id", job->id, "order_id", job->sf_order_id,
		"event_id", job->event_id, "deliveries", log_itoa(job->deliveries, n));
	rc = prov_run(&w->prov, job->sf_order_id, &err);
	if (rc < 0) {
		/* Not recorded anywhere: leave it pending, XAUTOCLAIM brings it back. */
		log_error("provisioning job left for redelivery", "job_id", job->id,
			"order_id", job->sf_order_id, "error", err.detail);
		return;
	}
	if (queue_ack(w->queue, job->id, &err))
		log_error("XACK failed", "job_id", job->id, "error", err.detail);
}

/* Due delayed jobs, between two queue reads (one thread: a long job delays
 * the next queue read, never runs concurrently with provisioning). */
static void run_due_jobs(struct worker *w)
{
	struct jobs_stats st;
	struct pt_err err = { 0 };
	long long now = jobs_now_ms();

	if (now < w->jobs_next_ms)
		return;
	w->jobs_next_ms = now + JOBS_POLL_MS;
	if (jobs_run_due(&w->jobs, now, JOBS_PER_POLL, &st, &err))
		log_error("delayed jobs unavailable", "system", "redis", "error", err.detail);
}

/* Orders held while Salesforce was down, oldest first (one drainer among
 * all workers: the others find the lock taken and go on). */
static void drain_outbox(struct worker *w)
{
	struct outbox_stats st;
	struct pt_err err = { 0 };
	long long now = jobs_now_ms();

	if (now < w->outbox_next_ms)
		return;
	w->outbox_next_ms = now + OUTBOX_POLL_MS;
	if (outbox_drain(&w->outbox, OUTBOX_PER_POLL, &st, &err))
		log_error("outbox drain failed", "system", "postgresql", "error", err.detail);
}

static void reload(struct worker *w)
{
	struct worker nw = { .config_path = w->config_path };
	struct pt_err err = { 0 };

	memcpy(nw.consumer, w->consumer, sizeof nw.consumer);
	log_reopen();
	if (worker_open(&nw, &err)) {
		log_error("SIGHUP: configuration not reloaded, keeping the old one",
			"error", err.detail);
		worker_close(&nw);
		return;
	}
	worker_close(w);
	*w = nw;
	log_info("SIGHUP: logs reopened, configuration reloaded");
}

static int loop(struct worker *w)
{
	struct queue_job job;
	struct pt_err err = { 0 };
	int ready = 0, rc;

	while (!daemon_stop_flag) {
		if (daemon_hup_flag) {
			daemon_hup_flag = 0;
			reload(w);
			ready = 0;
		}
		if (!ready) {
			if (queue_ensure_group(w->queue, &err)) {
				log_error("queue unavailable", "system", "redis", "error", err.detail);
				sleep(1);
				continue;
			}
			ready = 1;
		}
		rc = queue_next(w->queue, BLOCK_MS, &job, &err);
		if (rc < 0) {
			log_error("queue read failed", "system", "redis", "error", err.detail);
			ready = 0;
			sleep(1);
		} else if (rc == 1) {
			handle_job(w, &job);
		}
		if (!daemon_stop_flag)
			run_due_jobs(w);
		if (!daemon_stop_flag)
			drain_outbox(w);
		/* The provider calls of this round (job, delayed jobs, outbox) for
		 * /metrics; an idle round made none and sends nothing. */
		web_metrics_flush_providers(w->redis, &w->metrics_skip_until_us);
	}
	web_metrics_flush_providers(w->redis, &w->metrics_skip_until_us);
	log_info("SIGTERM: stopping after the current job");
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: portal-provisiond [-f] [-p PIDFILE] [-l LOGFILE] [-c CONFIG]\n"
		"  -f          stay in the foreground (systemd)\n"
		"  -p PIDFILE  write the pid here after detaching\n"
		"  -l LOGFILE  append stderr (the log) to LOGFILE, re-opened on SIGHUP\n"
		"  -c CONFIG   configuration file (default $PORTAL_CONFIG, else "
		SYSCONFDIR "/portal/portal.conf)\n");
}

int main(int argc, char **argv)
{
	struct worker w = { 0 };
	struct pt_err err = { 0 };
	const char *pidfile = NULL, *logfile = NULL;
	char host[64];
	int fg = 0, c, rc;

	while ((c = getopt(argc, argv, "fp:l:c:h")) != -1) {
		switch (c) {
		case 'f': fg = 1; break;
		case 'p': pidfile = optarg; break;
		case 'l': logfile = optarg; break;
		case 'c': w.config_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	log_init("portal-provisiond", LOG_LVL_INFO, 0);
	/* First, so that even a configuration error lands in the file; a file
	 * that cannot be opened is a warning, not a reason to stop working. */
	log_set_file(logfile);
	if (gethostname(host, sizeof host))
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	/* Validate before detaching, while errors can still reach the terminal. */
	if (!(w.cfg = daemon_config_check("portal-provisiond", w.config_path, required)))
		return PT_EXIT_CONFIG;
	config_free(w.cfg);
	w.cfg = NULL;
	if (daemon_detach("portal-provisiond", fg))
		return 71;
	snprintf(w.consumer, sizeof w.consumer, "%s:%ld", host, (long)getpid());
	if (worker_open(&w, &err)) {
		log_crit("configuration invalid", "error", err.detail);
		fprintf(stderr, "portal-provisiond: %s\n", err.detail);
		worker_close(&w);
		return PT_EXIT_CONFIG;
	}
	if (pidfile && daemon_pidfile_write(pidfile)) {
		log_crit("cannot write pid file", "path", pidfile);
		worker_close(&w);
		return 73;
	}
	daemon_signals_install();
	log_info("portal-provisiond started", "consumer", w.consumer, "stream", QUEUE_STREAM,
		"group", QUEUE_GROUP);
	rc = loop(&w);
	worker_close(&w);
	daemon_pidfile_remove(pidfile);
	log_close();
	return rc;
}
