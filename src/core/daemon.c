/* daemon — see daemon.h. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/daemon.h"
#include "core/err.h"
#include "core/log.h"

volatile sig_atomic_t daemon_stop_flag, daemon_hup_flag;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		daemon_hup_flag = 1;
	else
		daemon_stop_flag = 1;
}

struct pt_config *daemon_config_check(const char *app, const char *path,
	const char *const *required)
{
	struct pt_err err = { 0 };
	struct pt_config *cfg = config_load(path, &err);

	if (!cfg || config_validate(cfg, required, &err)) {
		fprintf(stderr, "%s: configuration: %s\n", app, err.detail);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

int daemon_detach(const char *app, int foreground)
{
	if (foreground)
		return 0;
	if (daemon(0, 0)) {
		fprintf(stderr, "%s: daemon: %s\n", app, strerror(errno));
		return -1;
	}
	/* daemon() pointed stderr at /dev/null: back to the -l file, if any. */
	log_reopen();
	return 0;
}

int daemon_pidfile_write(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f);
}

void daemon_pidfile_remove(const char *path)
{
	if (path)
		unlink(path);
}

void daemon_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
