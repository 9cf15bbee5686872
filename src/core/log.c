/* log — logfmt lines to stderr or syslog. One event is always one line:
 * values with spaces, quotes, '=', backslashes or control characters are
 * quoted and escaped (a newline becomes \n), and values of secret-looking
 * keys are replaced by [redacted] here, so no caller can leak one by mistake.
 * With log_set_file, stderr itself is the named file, re-opened by path on
 * log_reopen (SIGHUP), so a rotated file is let go. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"

#define LOG_LINE_MAX  16384   /* a longer event is cut, never split */
#define LOG_VALUE_MAX 2048    /* per value, before escaping */

static struct {
	char app[64];
	enum log_level min;
	int use_syslog;
	int syslog_open;
	char request_id[128];
	char file[PATH_MAX];  /* "" = stderr is whatever the caller gave us */
} log_state = { "portal", LOG_LVL_INFO, 0, 0, "", "" };

static const char *const level_names[] = { "debug", "info", "warn", "error", "crit" };

void log_init(const char *app, enum log_level min_level, int use_syslog)
{
	str_lcpy(log_state.app, app ? app : "portal", sizeof log_state.app);
	log_state.min = min_level;
	log_state.use_syslog = use_syslog;
	if (use_syslog) {
		if (log_state.syslog_open)
			closelog();
		openlog(log_state.app, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_state.syslog_open = 1;
	}
}

int log_level_parse(const char *s, enum log_level *out)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (str_ieq(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (str_ieq(s, "warning")) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

static void log_msg_and_syslog(enum log_level level, const char *msg, ...)
	__attribute__((sentinel));

/* Opens log_state.file and puts it in place of stderr. On failure stderr is
 * left as it was (the old file, or whatever the daemon was started with) and
 * one warning says so: the daemon never stops over its log. */
static int log_file_open(void)
{
	int fd, e;

	fd = open(log_state.file, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC, 0640);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	fflush(stderr);
	if (fd == STDERR_FILENO) {
		/* stderr was closed, so open() chose 2 itself: keep it across exec
		 * like any stderr (dup2 below clears the flag the same way). */
		fcntl(fd, F_SETFD, 0);
		return 0;
	}
	if (dup2(fd, STDERR_FILENO) < 0) {
		e = errno;
		close(fd);
		goto out;
	}
	close(fd);
	return 0;
out:
	log_msg_and_syslog(LOG_LVL_WARN, "log file cannot be opened: logging to the previous destination",
		"path", log_state.file, "error", strerror(e), (char *)0);
	return -1;
}

int log_set_file(const char *path)
{
	if (!path || !*path) {
		log_state.file[0] = '\0';
		return 0;
	}
	if (strlen(path) >= sizeof log_state.file) {
		log_msg_and_syslog(LOG_LVL_WARN, "log file cannot be opened: logging to the previous destination",
			"path", path, "error", "path too long", (char *)0);
		return -1;
	}
	str_lcpy(log_state.file, path, sizeof log_state.file);
	return log_file_open();
}

void log_reopen(void)
{
	if (log_state.use_syslog) {
		closelog();
		openlog(log_state.app, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_state.syslog_open = 1;
	}
	if (log_state.file[0])
		log_file_open();
}

void log_close(void)
{
	if (log_state.syslog_open) {
		closelog();
		log_state.syslog_open = 0;
	}
	log_state.use_syslog = 0;
}

void log_set_request_id(const char *request_id)
{
	str_lcpy(log_state.request_id, request_id ? request_id : "",
		sizeof log_state.request_id);
}

const char *log_itoa(long v, char buf[24])
{
	snprintf(buf, 24, "%ld", v);
	return buf;
}

/* Case-insensitive substring search for short ASCII needles. */
static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		size_t i = 0;
		while (i < n && hay[i] && (hay[i] | 0x20) == needle[i])
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

/* Why a name match and not a value scan: callers name what they log, and a
 * key such as "oem_key" or "authKey" says it is a secret whatever its value.
 * Long words match anywhere in the key; short ones only as a whole word
 * (split at '_', '-', '.' and camelCase), so "discarded" is not a "card". */
static int key_is_secret(const char *key)
{
	static const char *const anywhere[] = {
		"password", "passwd", "secret", "token", "authorization", "cookie",
		"pepper", "private", "credential", "signature", "apikey", "authkey",
	};
	static const char *const words[] = {
		"key", "keys", "card", "cvv", "cvc", "pan", "pin", "otp", "totp",
		"session", "sid", "auth", "pass", "pwd",
	};
	char word[32];
	size_t wl = 0;

	for (size_t i = 0; i < sizeof anywhere / sizeof anywhere[0]; i++)
		if (contains_ci(key, anywhere[i]))
			return 1;
	for (const char *p = key;; p++) {
		int upper_after_lower = *p >= 'A' && *p <= 'Z' && p > key &&
			p[-1] >= 'a' && p[-1] <= 'z';
		int alnum = (*p | 0x20) >= 'a' && (*p | 0x20) <= 'z';
		alnum = alnum || (*p >= '0' && *p <= '9');
		if (!alnum || upper_after_lower) {
			word[wl] = '\0';
			for (size_t i = 0; wl && i < sizeof words / sizeof words[0]; i++)
				if (strcmp(word, words[i]) == 0)
					return 1;
			wl = 0;
		}
		if (!*p)
			return 0;
		if (alnum && wl < sizeof word - 1)
			word[wl++] = (char)(*p | (*p >= 'A' && *p <= 'Z' ? 0x20 : 0));
	}
}

static int value_is_secret(const char *v)
{
	return strncmp(v, "Bearer ", 7) == 0 || strncmp(v, "Basic ", 6) == 0;
}

static int needs_quotes(const char *v, size_t n)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			return 1;
	}
	return 0;
}

static void put_value(struct buf *b, const char *v, int force_quotes)
{
	size_t n = strnlen(v, LOG_VALUE_MAX);
	int cut = v[n] != '\0';

	if (!force_quotes && !needs_quotes(v, n) && !cut) {
		buf_append(b, v, n);
		return;
	}
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		switch (c) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				buf_printf(b, "\\x%02x", c);
			else
				buf_putc(b, (char)c);
		}
	}
	if (cut)
		buf_puts(b, "...");
	buf_putc(b, '"');
}

/* Keys come from our own code, but a stray space or '=' would still break
 * parsing of the whole line: anything outside [A-Za-z0-9_.-] becomes '_'. */
static void put_key(struct buf *b, const char *k)
{
	buf_putc(b, ' ');
	if (!*k)
		buf_putc(b, '_');
	for (size_t i = 0; k[i] && i < 64; i++) {
		unsigned char c = (unsigned char)k[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		buf_putc(b, ok ? (char)c : '_');
	}
	buf_putc(b, '=');
}

static void put_timestamp(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	char t[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(b, "ts=%s.%03ldZ", t, ts.tv_nsec / 1000000L);
}

/* also_syslog: a line about the log file itself goes to syslog as well, since
 * the file it would land in is the one nobody can write to or read from. */
static void log_emit(enum log_level level, struct buf *b, int also_syslog)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT };

	if (b->len > LOG_LINE_MAX) {
		b->len = LOG_LINE_MAX;
		b->data[b->len] = '\0';
	}
	if (log_state.use_syslog || also_syslog)
		syslog(LOG_DAEMON | prio[level], "%s", buf_cstr(b));
	if (log_state.use_syslog)
		return;
	/* One write per line keeps lines from several processes whole. */
	buf_putc(b, '\n');
	fwrite(b->data, 1, b->len, stderr);
	fflush(stderr);
}

static void log_vmsg(enum log_level level, int also_syslog, const char *msg, va_list ap)
{
	struct buf b;

	if ((unsigned)level > LOG_LVL_CRIT)
		level = LOG_LVL_CRIT;
	if (level < log_state.min && !also_syslog)
		return;  /* a log file that cannot be opened is said at any LOG_LEVEL */
	buf_init(&b, 0);  /* values are capped; the line is cut in log_emit */
	put_timestamp(&b);
	buf_printf(&b, " level=%s", level_names[level]);
	put_key(&b, "app");
	put_value(&b, log_state.app, 0);
	buf_puts(&b, " msg=");
	/* msg is always quoted so `grep 'msg="…"'` from the runbooks works. */
	put_value(&b, msg ? msg : "", 1);
	if (log_state.request_id[0]) {
		put_key(&b, "request_id");
		put_value(&b, log_state.request_id, 0);
	}
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		put_key(&b, k);
		if (v && (key_is_secret(k) || value_is_secret(v)))
			put_value(&b, "[redacted]", 0);
		else
			put_value(&b, v ? v : "", 0);
	}
	if (b.data)
		log_emit(level, &b, also_syslog);
	buf_free(&b);
}

void log_msg(enum log_level level, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	log_vmsg(level, 0, msg, ap);
	va_end(ap);
}

static void log_msg_and_syslog(enum log_level level, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	log_vmsg(level, 1, msg, ap);
	va_end(ap);
}
