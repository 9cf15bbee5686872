/* portal-probed — runs src/app/probes on seed 000's schedule (one next-due
 * time per system, PROBE_INTERVAL_*_S) and leaves each result in Redis for
 * /health and /metrics. Any number may run: each writes the latest result.
 * -f foreground (systemd), else detach with -p PIDFILE (sysv); -l FILE makes
 * stderr that file (re-opened on SIGHUP, for logrotate); --once runs every
 * probe once and exits. SIGTERM finishes the current probe and exits 0;
 * SIGHUP re-opens logs and reloads the config. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/probes.h"
#include "core/config.h"
#include "core/daemon.h"
#include "core/err.h"
#include "core/log.h"
#include "freebit/client.h"
#include "salesforce/rest.h"
#include "store/db.h"
#include "store/redis.h"
#include "whmcs/client.h"

/* Longest single sleep: a changed clock or a lost signal costs at most this. */
#define SLEEP_MAX_S 30

struct prober {
	const char *config_path;
	struct pt_config *cfg;
	struct probe_ctx ctx;
};

/* Redis holds the results: without it there is nothing to report to. The
 * providers are optional: an unconfigured one is reported `unknown`. */
static const char *const required[] = { "REDIS_URL", NULL };

static void prober_close(struct prober *p)
{
	sf_client_free(p->ctx.sf);
	whmcs_client_free(p->ctx.whmcs);
	freebit_client_free(p->ctx.freebit);
	db_free(p->ctx.db);
	redis_free(p->ctx.redis);
	config_free(p->cfg);
	p->ctx = (struct probe_ctx){ 0 };
	p->cfg = NULL;
}

/* A provider whose config is incomplete is left NULL with a warning rather
 * than stopping the daemon: the other probes are still worth running. */
static void open_providers(struct prober *p)
{
	struct pt_err e = { 0 };

	if (config_get(p->cfg, "SF_LOGIN_URL") &&
	    !(p->ctx.sf = sf_client_new_config(p->cfg, p->ctx.redis, &e)))
		log_warn("Salesforce probe not configured", "system", "salesforce", "error", e.detail);
	pt_err_clear(&e);
	if (config_get(p->cfg, "WHMCS_API_URL") &&
	    !(p->ctx.whmcs = whmcs_client_from_config(p->cfg, &e)))
		log_warn("WHMCS probe not configured", "system", "whmcs", "error", e.detail);
	pt_err_clear(&e);
	if (config_get(p->cfg, "FREEBIT_BASE_URL") &&
	    !(p->ctx.freebit = freebit_client_from_config(p->cfg, p->ctx.redis, &e)))
		log_warn("Freebit probe not configured", "system", "freebit", "error", e.detail);
	pt_err_clear(&e);
	if (config_get(p->cfg, "DATABASE_URL") && !(p->ctx.db = db_new_from_config(p->cfg, &e)))
		log_warn("PostgreSQL probe not configured", "system", "postgres", "error", e.detail);
}

static int prober_open(struct prober *p, struct pt_err *err)
{
	enum log_level lvl = LOG_LVL_INFO;
	int syslog_on = 0;
	long window = 20;

	p->cfg = config_load(p->config_path, err);
	if (!p->cfg || config_validate(p->cfg, required, err))
		return -1;
	log_level_parse(config_get(p->cfg, "LOG_LEVEL"), &lvl);
	config_get_bool(p->cfg, "LOG_SYSLOG", &syslog_on, err);
	log_init("portal-probed", lvl, syslog_on);
	if (!(p->ctx.redis = redis_new_from_config(p->cfg, err)))
		return -1;
	config_get_long(p->cfg, "PROBE_ERROR_WINDOW", &window, err);
	p->ctx.cfg = p->cfg;
	p->ctx.error_window = window;
	open_providers(p);
	return 0;
}

static void reload(struct prober *p)
{
	struct prober np = { .config_path = p->config_path };
	struct pt_err err = { 0 };

	log_reopen();
	if (prober_open(&np, &err)) {
		log_error("SIGHUP: configuration not reloaded, keeping the old one",
			"error", err.detail);
		prober_close(&np);
		return;
	}
	prober_close(p);
	*p = np;
	log_info("SIGHUP: logs reopened, configuration reloaded");
}

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static long interval_of(const struct prober *p, enum probe_system s)
{
	struct pt_err e = { 0 };
	long v = 60;

	config_get_long(p->cfg, probe_interval_key(s), &v, &e);
	return v;
}

/* Every system is due at start; afterwards each runs one interval after its
 * previous check began, so a slow probe does not delay the others' rhythm. */
static int loop(struct prober *p, int once)
{
	time_t due[PROBE_NSYSTEMS];
	int enabled[PROBE_NSYSTEMS], i;
	long wait_s;

	for (i = 0; i < PROBE_NSYSTEMS; i++) {
		due[i] = mono_now();
		enabled[i] = 1;
	}
	while (!daemon_stop_flag) {
		if (daemon_hup_flag) {
			daemon_hup_flag = 0;
			reload(p);
		}
		i = probe_sched_next(due, enabled, PROBE_NSYSTEMS, mono_now(), &wait_s);
		if (i < 0)
			break;
		if (wait_s > 0) {
			/* Signals interrupt the sleep (no SA_RESTART): SIGTERM is prompt. */
			sleep((unsigned)(wait_s < SLEEP_MAX_S ? wait_s : SLEEP_MAX_S));
			continue;
		}
		due[i] = mono_now() + interval_of(p, (enum probe_system)i);
		probe_run(&p->ctx, (enum probe_system)i);
		if (once)
			enabled[i] = 0;
	}
	if (daemon_stop_flag)
		log_info("SIGTERM: stopping after the current probe");
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: portal-probed [-f] [-p PIDFILE] [-l LOGFILE] [-c CONFIG] [--once]\n"
		"  -f          stay in the foreground (systemd)\n"
		"  -p PIDFILE  write the pid here after detaching\n"
		"  -l LOGFILE  append stderr (the log) to LOGFILE, re-opened on SIGHUP\n"
		"  -c CONFIG   configuration file (default $PORTAL_CONFIG, else "
		SYSCONFDIR "/portal/portal.conf)\n"
		"  --once      run every probe once in the foreground, then exit\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "log-file", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct prober p = { 0 };
	struct pt_err err = { 0 };
	const char *pidfile = NULL, *logfile = NULL;
	int fg = 0, once = 0, c, rc;

	while ((c = getopt_long(argc, argv, "fp:l:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': fg = 1; break;
		case 'p': pidfile = optarg; break;
		case 'l': logfile = optarg; break;
		case 'c': p.config_path = optarg; break;
		case 'o': once = fg = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	log_init("portal-probed", LOG_LVL_INFO, 0);
	/* First, so that even a configuration error lands in the file; a file
	 * that cannot be opened is a warning, not a reason to stop probing. */
	log_set_file(logfile);
	/* Validate before detaching, while errors can still reach the terminal. */
	if (!(p.cfg = daemon_config_check("portal-probed", p.config_path, required)))
		return PT_EXIT_CONFIG;
	config_free(p.cfg);
	p.cfg = NULL;
	if (daemon_detach("portal-probed", fg))
		return 71;
	if (prober_open(&p, &err)) {
		log_crit("configuration invalid", "error", err.detail);
		fprintf(stderr, "portal-probed: %s\n", err.detail);
		prober_close(&p);
		return PT_EXIT_CONFIG;
	}
	if (pidfile && daemon_pidfile_write(pidfile)) {
		log_crit("cannot write pid file", "path", pidfile);
		prober_close(&p);
		return 73;
	}
	daemon_signals_install();
	log_info("portal-probed started", "mode", once ? "once" : "scheduled");
	rc = loop(&p, once);
	prober_close(&p);
	daemon_pidfile_remove(pidfile);
	log_close();
	return rc;
}
