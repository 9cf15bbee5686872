/* log — one logfmt line per event: `ts=… level=… app=… msg="…" key=value…`,
 * to stderr or syslog. Values of keys that look like secrets (password,
 * token, secret, authorization, cookie, key, card…) are written as
 * "[redacted]" whatever the caller passes: no secret reaches a log file. */
#ifndef PT_CORE_LOG_H
#define PT_CORE_LOG_H

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR, LOG_LVL_CRIT };

/* app: program name. use_syslog: 0 stderr, 1 syslog (facility daemon). */
void log_init(const char *app, enum log_level min_level, int use_syslog);
/* Parses "debug|info|warn|error|crit"; -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);
/* Makes stderr the file `path` (a daemon's -l option): opened O_WRONLY|
 * O_APPEND|O_CREAT (mode 0640 less the umask) and dup2()'d over stderr now
 * and again on every log_reopen(), so after logrotate has renamed it, SIGHUP
 * moves the daemon to the new file. When it cannot be opened, stderr stays
 * what it was (the previous file, or what the daemon was started with) and
 * one warning per attempt, msg="log file cannot be opened: …" path= error=,
 * goes there and to syslog whatever LOG_LEVEL. NULL or "" forgets the path.
 * 0, or -1 when the file could not be opened. */
int log_set_file(const char *path);
/* Re-open after SIGHUP: syslog (closelog/openlog) when in use, and the file
 * of log_set_file when one was given; plain stderr has nothing to re-open. */
void log_reopen(void);
void log_close(void);
/* Attached as request_id=… to every line until cleared with NULL. */
void log_set_request_id(const char *request_id);

/* key/value pairs of const char *, terminated by NULL:
 *   log_msg(LOG_LVL_INFO, "order created", "order_id", id, "latency_ms", ms, NULL); */
void log_msg(enum log_level level, const char *msg, ...) __attribute__((sentinel));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__, (char *)0)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__, (char *)0)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__, (char *)0)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__, (char *)0)
#define log_crit(...)  log_msg(LOG_LVL_CRIT, __VA_ARGS__, (char *)0)

/* Formats into the caller's buffer for integer values (avoids ad-hoc snprintf). */
const char *log_itoa(long v, char buf[24]);

#endif
