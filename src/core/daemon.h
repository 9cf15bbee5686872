/* daemon — the process plumbing the portal daemons share: the configuration
 * checked before detaching (while errors still reach the terminal), the
 * detach itself, the pid file, and the signal flags: TERM/INT ask to stop,
 * HUP asks to reopen logs and reload. No SA_RESTART, so a blocking sleep or
 * read returns early and the main loop sees the flag promptly. */
#ifndef PT_CORE_DAEMON_H
#define PT_CORE_DAEMON_H

#include <signal.h>
#include "core/config.h"

/* Set by the handlers of daemon_signals_install; the main loop reads them
 * (and clears daemon_hup_flag once it has reloaded). */
extern volatile sig_atomic_t daemon_stop_flag, daemon_hup_flag;

/* Loads the configuration and checks the `required` keys (NULL-terminated).
 * On failure prints "<app>: configuration: <detail>" to stderr and returns
 * NULL (the caller exits PT_EXIT_CONFIG); else the caller frees the result. */
struct pt_config *daemon_config_check(const char *app, const char *path,
	const char *const *required);

/* Detaches (daemon(0, 0)) unless foreground, then re-opens the log
 * (log_reopen: the log_set_file file replaces the /dev/null daemon() left on
 * stderr). 0, or -1 after printing "<app>: daemon: <reason>" to stderr. */
int daemon_detach(const char *app, int foreground);

/* Writes "<pid>\n" to path: 0 / -1. daemon_pidfile_remove(NULL) is a no-op. */
int daemon_pidfile_write(const char *path);
void daemon_pidfile_remove(const char *path);

/* SIGTERM and SIGINT set daemon_stop_flag, SIGHUP daemon_hup_flag, SIGPIPE is
 * ignored (a closed peer is an error return, not death). */
void daemon_signals_install(void);

#endif
