/* config — the key table, the `KEY = value` file parser and typed access.
 * The table is the single place a key is declared: its default, type,
 * bounds, whether it is a secret, and the line of documentation that
 * docs/configuration.md is generated from. A key not in the table is an
 * error in the file, so a typo never silently leaves a default in place. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/portal"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define STR(n, d, doc)            { n, d, 's', 0, 0, 0, doc, NULL }
#define SECRET(n, doc)            { n, NULL, 's', 0, 0, 1, doc, NULL }
#define INT(n, d, lo, hi, doc)    { n, d, 'i', lo, hi, 0, doc, NULL }
#define BOOL(n, d, doc)           { n, d, 'b', 0, 0, 0, doc, NULL }
#define URL(n, d, doc)            { n, d, 'u', 0, 0, 0, doc, NULL }
#define SECRET_URL(n, d, doc)     { n, d, 'u', 0, 0, 1, doc, NULL }
#define ENUM(n, d, choices, doc)  { n, d, 'e', 0, 0, 0, doc, choices }

static const struct config_key config_table[] = {
	/* general */
	STR("ENVIRONMENT", "production",
		"Deployment name reported by `/health` (`production`, `staging`, `development`…)."),
	{ "LOG_LEVEL", "info", 'l', 0, 0, 0,
		"Least severe level logged: `debug`, `info`, `warn`, `error` or `crit`.", NULL },
	BOOL("LOG_SYSLOG", "false",
		"Log to syslog (facility daemon) instead of stderr."),
	/* PostgreSQL and Redis */
	SECRET_URL("DATABASE_URL", NULL,
		"PostgreSQL connection URI (`postgresql://portal:…@127.0.0.1:5432/portal`); secret because it may hold the password."),
	INT("DB_CONNECT_TIMEOUT_S", "3", 1, 60,
		"PostgreSQL connect timeout, seconds."),
	INT("DB_STATEMENT_TIMEOUT_MS", "5000", 100, 600000,
		"PostgreSQL `statement_timeout` for portal sessions, milliseconds."),
	SECRET_URL("REDIS_URL", "redis://127.0.0.1:6379/0",
		"Redis URI `redis://[:password@]host:port/db`; secret because it may hold the password."),
	INT("REDIS_CONNECT_TIMEOUT_MS", "500", 10, 60000,
		"Redis connect timeout, milliseconds."),
	INT("REDIS_COMMAND_TIMEOUT_MS", "1000", 10, 60000,
		"Redis per-command timeout, milliseconds; past it Redis counts as down and reads go live."),
	/* web */
	URL("PUBLIC_BASE_URL", NULL,
		"Public URL of the portal (`https://portal.example.jp`), used in links sent by mail and as an allowed Origin."),
	STR("HTTP_ALLOWED_ORIGINS", NULL,
		"Comma-separated extra origins allowed on state-changing requests (`https://a.example.jp,https://b.example.jp`)."),
	INT("HTTP_MAX_BODY", "65536", 1024, 10485760,
		"Largest request body accepted, bytes; larger bodies get 413 PAYLOAD_TOO_LARGE."),
	INT("PUBLIC_CACHE_MAX_AGE_S", "60", 0, 86400,
		"`Cache-Control: max-age` of public catalog responses, seconds."),
	INT("PUBLIC_CACHE_S_MAXAGE_S", "300", 0, 86400,
		"`Cache-Control: s-maxage` (shared caches, CDN) of public catalog responses, seconds."),
	BOOL("SESSION_COOKIE_SECURE", "true",
		"Set the `Secure` flag on the session cookie; turn off only for plain-HTTP local development."),
	INT("SESSION_IDLE_TIMEOUT_S", "1800", 60, 86400,
		"A session unused for this long expires, seconds."),
	INT("SESSION_ABSOLUTE_TIMEOUT_S", "43200", 300, 2592000,
		"A session expires this long after login whatever its use, seconds."),
	SECRET("PASSWORD_PEPPER",
		"Secret mixed into every password hash (argon2id secret input); changing it invalidates all passwords."),
	STR("PASSWORD_COMMON_LIST", PKGDATADIR "/common-passwords.txt",
		"File of common passwords (one a line) refused at sign-up, reset and change with 400 WEAK_PASSWORD."),
	INT("RATE_LIMIT_LOGIN_PER_IP", "20", 1, 100000,
		"Failed logins allowed per client IP per `RATE_LIMIT_LOGIN_WINDOW_S` before 429 RATE_LIMITED."),
	INT("RATE_LIMIT_LOGIN_PER_ACCOUNT", "5", 1, 100000,
		"Failed logins allowed per account (email) per `RATE_LIMIT_LOGIN_WINDOW_S` before 429 RATE_LIMITED."),
	INT("RATE_LIMIT_LOGIN_WINDOW_S", "900", 60, 86400,
		"Window of the login rate limits, seconds."),
	INT("RATE_LIMIT_PUBLIC_PER_MIN", "120", 1, 1000000,
		"Public catalog requests allowed per client IP per minute before 429 RATE_LIMITED."),
	/* mail */
	SECRET_URL("SMTP_URL", NULL,
		"Mail relay `smtp://[user:password@]host:port` (or `smtps://`); secret because it may hold the password."),
	STR("MAIL_FROM", NULL,
		"Sender address of portal mail (`Portal <no-reply@example.jp>`)."),
	/* Salesforce */
	URL("SF_LOGIN_URL", "https://login.salesforce.com",
		"Salesforce login URL (`https://login.salesforce.com`, `https://test.salesforce.com` for sandboxes)."),
	STR("SF_CLIENT_ID", NULL,
		"Connected App consumer key (JWT `iss`)."),
	STR("SF_USERNAME", NULL,
		"Integration user's username (JWT `sub`)."),
	STR("SF_PRIVATE_KEY_PATH", NULL,
		"Path to the PEM private key that signs the JWT (mode 0600); or use `SF_PRIVATE_KEY_BASE64`."),
	SECRET("SF_PRIVATE_KEY_BASE64",
		"The PEM private key, base64-encoded, instead of `SF_PRIVATE_KEY_PATH`."),
	STR("SF_AUDIENCE", NULL,
		"JWT `aud`; empty means the value of `SF_LOGIN_URL`."),
	STR("SF_API_VERSION", "v60.0",
		"REST API version used in `/services/data/<version>/…`."),
	INT("SF_TIMEOUT_MS", "10000", 100, 120000,
		"Total timeout of one Salesforce REST call, milliseconds."),
	INT("SF_TOKEN_TTL_S", "7200", 600, 86400,
		"Assumed access-token lifetime (the org's session timeout), seconds; the shared token is cached 300 s less."),
	BOOL("SF_EVENTS_ENABLED", "true",
		"Subscribe to Salesforce Platform Events and CDC (portal-subscriberd)."),
	STR("SF_PROVISION_EVENT_CHANNEL", "/event/OrderProvisionRequested__e",
		"Platform Event channel that requests order provisioning."),
	ENUM("SF_EVENTS_REPLAY", "LATEST", "LATEST|ALL",
		"Where a subscription starts when no replay cursor is stored: `LATEST` (new events) or `ALL` (earliest retained)."),
	ENUM("SF_EVENTS_REPLAY_FALLBACK", "ALL", "ALL|LATEST",
		"Where to restart when the stored cursor is rejected; `ALL` re-delivers (harmless), `LATEST` may skip events."),
	URL("SF_PUBSUB_ENDPOINT", "https://api.pubsub.salesforce.com:7443",
		"Pub/Sub API endpoint; `http://` means h2c (local simulator only)."),
	INT("SF_PUBSUB_BATCH", "50", 1, 100,
		"Events requested per FetchRequest."),
	INT("SF_PUBSUB_IDLE_TIMEOUT", "300", 10, 3600,
		"Seconds without data after which the subscriber re-opens the stream."),
	STR("PORTAL_PRICEBOOK_ID", NULL,
		"Id of the Salesforce Pricebook2 whose entries are the portal's catalog prices."),
	/* WHMCS */
	URL("WHMCS_API_URL", NULL,
		"Full URL of WHMCS `includes/api.php`."),
	SECRET("WHMCS_API_IDENTIFIER",
		"WHMCS API credential identifier."),
	SECRET("WHMCS_API_SECRET",
		"WHMCS API credential secret."),
	SECRET("WHMCS_API_ACCESS_KEY",
		"Optional WHMCS API access key (bypasses the IP allow-list)."),
	INT("WHMCS_CUSTOMER_NUMBER_FIELD_ID", NULL, 1, 2147483647,
		"Id of the WHMCS client custom field holding the customer number."),
	SECRET("WHMCS_WEBHOOK_SECRET",
		"HMAC-SHA256 key of `X-WHMCS-Signature` on webhooks from WHMCS."),
	INT("WHMCS_TIMEOUT_MS", "10000", 100, 120000,
		"Total timeout of one WHMCS API call, milliseconds."),
	/* Freebit */
	URL("FREEBIT_BASE_URL", NULL,
		"Freebit API base URL (`https://…/emptool/api`); `http://` only for loopback."),
	STR("FREEBIT_OEM_ID", NULL,
		"Freebit OEM identifier."),
	SECRET("FREEBIT_OEM_KEY",
		"Freebit OEM key."),
	INT("FREEBIT_TIMEOUT", "10000", 100, 120000,
		"Total timeout of one Freebit call, milliseconds (connect: min(3000, this))."),
	INT("FREEBIT_CHANGE_GAP_S", "1800", 0, 86400,
		"Delay before a SIM network-type change runs, and the minimum gap between line changes, seconds."),
	STR("SIM_TOPUP_OPTIONS", "1024:500,3072:1200,5120:1800",
		"Data top-up choices as `MB:JPY` pairs, comma-separated."),
	/* SFTP (call / SMS detail records) */
	STR("SFTP_HOST", NULL,
		"SFTP server of the call/SMS detail files."),
	INT("SFTP_PORT", "22", 1, 65535,
		"SFTP port."),
	STR("SFTP_USERNAME", NULL,
		"SFTP user name."),
	STR("SFTP_PRIVATE_KEY_PATH", NULL,
		"Path to the unencrypted SSH private key (mode 0600); key authentication only."),
	STR("SFTP_HOST_KEY_SHA256", NULL,
		"Pinned server host key fingerprint as `ssh-keygen -l` prints it (`SHA256:` + 43 base64 characters)."),
	STR("SFTP_REMOTE_DIR", ".",
		"Remote directory holding `PASI_talk-detail-YYYYMM.csv` and `PASI_sms-detail-YYYYMM.csv`."),
	INT("SFTP_TIMEOUT", "30000", 1000, 600000,
		"Timeout of the SFTP connection set-up (TCP connect, SSH handshake, authentication, together) and of one SFTP operation (open, read, readdir), milliseconds; a whole download is bounded by 300 s."),
	INT("SFTP_MAX_FILE_BYTES", "268435456", 1024, 4294967296L,
		"Largest detail file imported, bytes; larger files are refused."),
	/* probes (portal-probed) */
	INT("PROBE_INTERVAL_SALESFORCE_S", "300", 10, 86400, "Salesforce probe interval, seconds."),
	INT("PROBE_INTERVAL_WHMCS_S", "300", 10, 86400, "WHMCS probe interval, seconds."),
	INT("PROBE_INTERVAL_FREEBIT_S", "900", 10, 86400, "Freebit probe interval, seconds."),
	INT("PROBE_INTERVAL_REDIS_S", "60", 5, 86400, "Redis probe interval, seconds."),
	INT("PROBE_INTERVAL_POSTGRES_S", "60", 5, 86400, "PostgreSQL probe interval, seconds."),
	INT("PROBE_INTERVAL_SFTP_S", "3600", 60, 86400, "SFTP probe interval, seconds."),
	/* Response-time thresholds of seed 000's alerting table (SFTP, not in it:
	 * an SSH handshake + listing). Over warning → degraded + WARN; over critical → CRIT. */
	INT("PROBE_SALESFORCE_WARN_MS", "2000", 1, 600000, "Salesforce probe latency over which it is `degraded` (WARN), milliseconds."),
	INT("PROBE_SALESFORCE_CRIT_MS", "5000", 1, 600000, "Salesforce probe latency logged CRIT, milliseconds."),
	INT("PROBE_WHMCS_WARN_MS", "2000", 1, 600000, "WHMCS probe latency over which it is `degraded` (WARN), milliseconds."),
	INT("PROBE_WHMCS_CRIT_MS", "5000", 1, 600000, "WHMCS probe latency logged CRIT, milliseconds."),
	INT("PROBE_FREEBIT_WARN_MS", "3000", 1, 600000, "Freebit probe latency over which it is `degraded` (WARN), milliseconds."),
	INT("PROBE_FREEBIT_CRIT_MS", "10000", 1, 600000, "Freebit probe latency logged CRIT, milliseconds."),
	INT("PROBE_SFTP_WARN_MS", "5000", 1, 600000, "SFTP probe (connect + list) latency over which it is `degraded` (WARN), milliseconds."),
	INT("PROBE_SFTP_CRIT_MS", "15000", 1, 600000, "SFTP probe latency logged CRIT, milliseconds."),
	INT("PROBE_REDIS_WARN_MS", "100", 1, 600000, "Redis PING latency over which it is `degraded` (WARN), milliseconds."),
	INT("PROBE_REDIS_CRIT_MS", "500", 1, 600000, "Redis PING latency logged CRIT, milliseconds."),
	INT("PROBE_POSTGRES_WARN_MS", "500", 1, 600000, "PostgreSQL `SELECT 1` latency over which it is `degraded` (WARN), milliseconds."),
	INT("PROBE_POSTGRES_CRIT_MS", "2000", 1, 600000, "PostgreSQL `SELECT 1` latency logged CRIT, milliseconds."),
	INT("PROBE_ERROR_WINDOW", "20", 1, 1000, "Probe results the rolling `error_rate` of `probe:<system>` covers."),
	/* provisioning queue (portal-provisiond) */
	INT("PROVISION_VISIBILITY_TIMEOUT_S", "300", 30, 86400,
		"A job delivered but not acknowledged for this long is re-claimed by another worker, seconds."),
	INT("PROVISION_MAX_DELIVERIES", "5", 1, 100,
		"Deliveries of one job before it moves to the dead-letter stream."),
	/* caches (Redis, seconds; 0 = no expiry, invalidated by events) */
	INT("CACHE_TTL_CATALOG", "0", 0, 604800,
		"Catalog cache lifetime, seconds; 0 = until a Salesforce change event invalidates it."),
	INT("CACHE_TTL_CATALOG_VOLATILE", "60", 1, 86400,
		"Lifetime of the catalog's volatile parts (availability), seconds."),
	INT("CACHE_TTL_ELIGIBILITY", "0", 0, 604800,
		"Per-account eligibility cache lifetime, seconds; 0 = until invalidated by an event."),
	INT("CACHE_TTL_INVOICES", "90", 1, 86400,
		"Invoice list cache lifetime, seconds."),
	INT("CACHE_TTL_INVOICE", "300", 1, 86400,
		"Invoice detail cache lifetime, seconds."),
	INT("CACHE_TTL_SUBSCRIPTIONS", "300", 1, 86400,
		"Subscription list cache lifetime, seconds."),
	INT("CACHE_TTL_SUBSCRIPTION", "600", 1, 86400,
		"Single subscription cache lifetime, seconds."),
	INT("CACHE_TTL_PAYMENT_METHODS", "900", 1, 86400,
		"Payment methods cache lifetime, seconds."),
	INT("CACHE_TTL_GATEWAYS", "3600", 1, 86400,
		"Payment gateways list cache lifetime, seconds."),
	INT("CACHE_TTL_PROFILE", "1800", 1, 86400,
		"WHMCS client profile cache lifetime, seconds."),
	INT("CACHE_TTL_SIGNUP_LOOKUP", "30", 1, 3600,
		"Sign-up customer-number lookup cache lifetime, seconds."),
};

#define CONFIG_NKEYS (sizeof config_table / sizeof config_table[0])

struct pt_config {
	char *values[CONFIG_NKEYS];  /* from the file; NULL = not set there */
	int lines[CONFIG_NKEYS];     /* where each was set, for duplicate errors */
};

const struct config_key *config_keys(size_t *count)
{
	if (count)
		*count = CONFIG_NKEYS;
	return config_table;
}

static long config_index(const char *name)
{
	for (size_t i = 0; name && i < CONFIG_NKEYS; i++)
		if (strcmp(config_table[i].name, name) == 0)
			return (long)i;
	return -1;
}

const struct config_key *config_key_find(const char *name)
{
	long i = config_index(name);

	return i < 0 ? NULL : &config_table[i];
}

void config_free(struct pt_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		free(cfg->values[i]);
	free(cfg);
}

/* ---- parser --------------------------------------------------------- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '_';
}

/* Unquotes "…" (with \" and \\) into out; returns the value length or -1. */
static long config_unquote(const char *p, size_t n, char *out, const char **why)
{
	size_t o = 0, i = 1;

	for (; i < n && p[i] != '"'; i++) {
		if (p[i] == '\\' && i + 1 < n && (p[i + 1] == '"' || p[i + 1] == '\\'))
			i++;
		out[o++] = p[i];
	}
	if (i >= n) {
		*why = "unterminated quoted value";
		return -1;
	}
	for (i++; i < n; i++) {
		if (!is_blank(p[i])) {
			*why = "text after the closing quote";
			return -1;
		}
	}
	return (long)o;
}

static int config_parse_line(struct pt_config *cfg, const char *name, int lineno,
	const char *p, size_t n, struct pt_err *err)
{
	char value[CONFIG_LINE_MAX + 1];
	const char *why = NULL;
	size_t i = 0, klen;
	long vlen;

	while (i < n && is_blank(p[i]))
		i++;
	if (i == n || p[i] == '#')
		return 0;
	const char *key = p + i;
	while (i < n && is_key_char(p[i]))
		i++;
	klen = (size_t)(p + i - key);
	while (i < n && is_blank(p[i]))
		i++;
	if (klen == 0 || klen > 64 || i == n || p[i] != '=')
		return pt_err_set(err, PT_CONFIG_INVALID, "%s:%d: expected KEY = value", name, lineno);
	for (i++; i < n && is_blank(p[i]); i++)
		;
	while (n > i && is_blank(p[n - 1]))
		n--;
	if (i < n && p[i] == '"') {
		vlen = config_unquote(p + i, n - i, value, &why);
		if (vlen < 0)
			return pt_err_set(err, PT_CONFIG_INVALID, "%s:%d: %s", name, lineno, why);
	} else {
		vlen = (long)(n - i);
		memcpy(value, p + i, (size_t)vlen);
	}
	value[vlen] = '\0';

	char keyname[65];
	memcpy(keyname, key, klen);
	keyname[klen] = '\0';
	long idx = config_index(keyname);
	if (idx < 0)
		return pt_err_field(err, PT_CONFIG_INVALID, keyname, "%s:%d: unknown key %s",
			name, lineno, keyname);
	if (!str_valid_text(value, (size_t)vlen, 0))
		return pt_err_field(err, PT_CONFIG_INVALID, keyname,
			"%s:%d: %s: value has control characters or invalid UTF-8", name, lineno, keyname);
	if (cfg->values[idx])
		return pt_err_field(err, PT_CONFIG_INVALID, keyname,
			"%s:%d: %s already set on line %d", name, lineno, keyname, cfg->lines[idx]);
	cfg->values[idx] = str_ndup(value, (size_t)vlen);
	if (!cfg->values[idx])
		return pt_err_set(err, PT_INTERNAL, "config: out of memory");
	cfg->lines[idx] = lineno;
	return 0;
}

struct pt_config *config_parse_buffer(const char *name, const char *data, size_t len,
	struct pt_err *err)
{
	struct pt_config *cfg = calloc(1, sizeof *cfg);
	size_t pos = 0;
	int lineno = 0;

	if (!cfg) {
		pt_err_set(err, PT_INTERNAL, "config: out of memory");
		return NULL;
	}
	if (!name)
		name = "config";
	if (len > CONFIG_FILE_MAX) {
		pt_err_set(err, PT_CONFIG_INVALID, "%s: larger than %d bytes", name, CONFIG_FILE_MAX);
		goto fail;
	}
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *p = data + pos;
		const char *eol = memchr(p, '\n', len - pos);
		size_t n = eol ? (size_t)(eol - p) : len - pos;
		pos += n + (eol ? 1 : 0);
		lineno++;
		if (n > CONFIG_LINE_MAX) {
			pt_err_set(err, PT_CONFIG_INVALID, "%s:%d: line longer than %d bytes",
				name, lineno, CONFIG_LINE_MAX);
			goto fail;
		}
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (config_parse_line(cfg, name, lineno, p, n, err) != 0)
			goto fail;
	}
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}

/* Reads at most CONFIG_FILE_MAX + 1 bytes so an oversized file is detected
 * without reading it all. 1 = missing, 0 = read, -1 = error. */
static int config_read_file(const char *path, struct buf *b, struct pt_err *err)
{
	char chunk[8192];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return pt_err_set(err, PT_CONFIG_INVALID, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		pt_err_set(err, PT_CONFIG_INVALID, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & S_IROTH)
		log_warn("config file is world-readable: it may hold secrets", "path", path);
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			pt_err_set(err, PT_CONFIG_INVALID, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		if (buf_append(b, chunk, (size_t)got) != 0) {
			pt_err_set(err, PT_CONFIG_INVALID, "%s: larger than %d bytes", path,
				CONFIG_FILE_MAX);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

struct pt_config *config_load(const char *path, struct pt_err *err)
{
	struct pt_config *cfg = NULL;
	struct buf b;
	const char *env = getenv("PORTAL_CONFIG");
	int explicit_path = path != NULL || (env && *env);

	if (!path)
		path = env && *env ? env : SYSCONFDIR "/portal/portal.conf";
	buf_init(&b, CONFIG_FILE_MAX);
	int rc = config_read_file(path, &b, err);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		if (explicit_path) {
			pt_err_set(err, PT_CONFIG_INVALID, "%s: no such file", path);
			goto out;
		}
		cfg = calloc(1, sizeof *cfg);
		if (!cfg)
			pt_err_set(err, PT_INTERNAL, "config: out of memory");
		goto out;
	}
	cfg = config_parse_buffer(path, buf_cstr(&b), b.len, err);
out:
	buf_free(&b);
	return cfg;
}

/* ---- access --------------------------------------------------------- */

const char *config_get(const struct pt_config *cfg, const char *key)
{
	long i = config_index(key);

	if (i < 0)
		return NULL;
	/* An empty value anywhere means "not set": the next source applies. */
	const char *env = getenv(key);
	if (env && *env)
		return env;
	if (cfg && cfg->values[i] && cfg->values[i][0])
		return cfg->values[i];
	return config_table[i].def;
}

static int parse_long(const char *s, long *out)
{
	char *end;

	if (!s || !*s || !((*s >= '0' && *s <= '9') || *s == '-' || *s == '+'))
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; s && i < 4; i++) {
		if (str_ieq(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (str_ieq(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* scheme://rest, no spaces or controls. Values are never echoed in errors:
 * a URL may carry a password. */
static int valid_url(const char *s)
{
	size_t i = 0;

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return 0;
	while (s[i] && s[i] != ':') {
		char c = s[i];
		if (!(is_key_char(c) || c == '+' || c == '-' || c == '.'))
			return 0;
		i++;
	}
	if (strncmp(s + i, "://", 3) != 0 || !s[i + 3])
		return 0;
	for (; s[i]; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

static int valid_choice(const char *choices, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = choices; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, s, n) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

/* Checks one value against its key's type; -1 + err naming the key. */
static int config_check(const struct config_key *k, const char *v, struct pt_err *err)
{
	long n;
	int b;
	enum log_level lvl;

	switch (k->type) {
	case 'i':
		if (parse_long(v, &n) != 0 || n < k->min || n > k->max)
			return pt_err_field(err, PT_CONFIG_INVALID, k->name,
				"%s: not an integer in %ld..%ld", k->name, k->min, k->max);
		return 0;
	case 'b':
		if (parse_bool(v, &b) != 0)
			return pt_err_field(err, PT_CONFIG_INVALID, k->name,
				"%s: not a boolean (true/false)", k->name);
		return 0;
	case 'u':
		if (!valid_url(v))
			return pt_err_field(err, PT_CONFIG_INVALID, k->name,
				"%s: not a URL (scheme://…)", k->name);
		return 0;
	case 'l':
		if (log_level_parse(v, &lvl) != 0)
			return pt_err_field(err, PT_CONFIG_INVALID, k->name,
				"%s: not a log level (debug|info|warn|error|crit)", k->name);
		return 0;
	case 'e':
		if (!valid_choice(k->choices, v))
			return pt_err_field(err, PT_CONFIG_INVALID, k->name,
				"%s: not one of %s", k->name, k->choices);
		return 0;
	default:
		if (!str_valid_text(v, strlen(v), 0))
			return pt_err_field(err, PT_CONFIG_INVALID, k->name,
				"%s: control characters or invalid UTF-8", k->name);
		return 0;
	}
}

int config_get_long(const struct pt_config *cfg, const char *key, long *out, struct pt_err *err)
{
	const struct config_key *k = config_key_find(key);
	const char *v = config_get(cfg, key);

	if (!k)
		return pt_err_field(err, PT_CONFIG_INVALID, key, "%s: unknown key", key);
	if (!v)
		return pt_err_field(err, PT_CONFIG_INVALID, key, "%s: missing", key);
	/* Table bounds apply, so a caller never sees a port of 0 or a negative TTL. */
	if (k->type == 'i' && config_check(k, v, err) != 0)
		return -1;
	if (parse_long(v, out) != 0)
		return pt_err_field(err, PT_CONFIG_INVALID, key, "%s: not an integer", key);
	return 0;
}

int config_get_bool(const struct pt_config *cfg, const char *key, int *out, struct pt_err *err)
{
	const char *v = config_get(cfg, key);

	if (!config_key_find(key))
		return pt_err_field(err, PT_CONFIG_INVALID, key, "%s: unknown key", key);
	if (!v)
		return pt_err_field(err, PT_CONFIG_INVALID, key, "%s: missing", key);
	if (parse_bool(v, out) != 0)
		return pt_err_field(err, PT_CONFIG_INVALID, key, "%s: not a boolean (true/false)", key);
	return 0;
}

int config_validate(const struct pt_config *cfg, const char *const *required, struct pt_err *err)
{
	for (size_t i = 0; required && required[i]; i++) {
		if (!config_key_find(required[i]))
			return pt_err_field(err, PT_CONFIG_INVALID, required[i],
				"%s: not a known configuration key", required[i]);
		if (!config_get(cfg, required[i]))
			return pt_err_field(err, PT_CONFIG_INVALID, required[i], "%s: missing",
				required[i]);
	}
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const char *v = config_get(cfg, config_table[i].name);
		if (v && config_check(&config_table[i], v, err) != 0)
			return -1;
	}
	return 0;
}

/* ---- documentation -------------------------------------------------- */

/* Table cells: '|' would end the cell, a newline the row. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

static void md_type(FILE *out, const struct config_key *k)
{
	switch (k->type) {
	case 'i': fprintf(out, "integer %ld–%ld", k->min, k->max); break;
	case 'b': fputs("boolean", out); break;
	case 'u': fputs("URL", out); break;
	case 'l': fputs("log level", out); break;
	case 'e': fputs("one of `", out); md_cell(out, k->choices); fputc('`', out); break;
	default: fputs("string", out); break;
	}
}

/* Defaults under the install prefix are written as $(pkgdatadir)/…: the doc
 * is committed once and must not depend on the prefix a build was configured
 * with (make distcheck installs under its own). */
static void md_default(FILE *out, const char *def)
{
	size_t n = strlen(PKGDATADIR);

	if (strncmp(def, PKGDATADIR "/", n + 1) == 0) {
		fputs("$(pkgdatadir)", out);
		def += n;
	}
	md_cell(out, def);
}

void config_print_markdown(FILE *out)
{
	fputs("# Configuration reference\n\n"
		"<!-- Generated from the key table in src/core/config.c by "
		"`make update-config-doc`: do not edit by hand. -->\n\n"
		"Every program reads `KEY = value` lines from `/etc/portal/portal.conf` "
		"(`$(sysconfdir)/portal/portal.conf`), or from the file named by "
		"`$PORTAL_CONFIG`. A missing default file is not an error (environment-only "
		"setups); a missing `$PORTAL_CONFIG` file is.\n\n"
		"* The **environment overrides the file**; an empty value (in either) means "
		"\"not set\", so the next source or the default applies.\n"
		"* Blank lines and lines starting with `#` are ignored; `#` elsewhere is part "
		"of the value. Whitespace around the key, `=` and the value is ignored.\n"
		"* A value may be double-quoted (`KEY = \"a value\"`), with `\\\"` and `\\\\` "
		"as escapes inside the quotes.\n"
		"* Lines are at most 4096 bytes, the file at most 256 KiB, values UTF-8 "
		"without control characters.\n"
		"* An unknown or repeated key is an error naming `file:line`; a program "
		"with a missing or malformed key it needs exits with status 78 (EX_CONFIG) "
		"and names the key.\n"
		"* **Secret** values are never printed or logged; keep the file mode 0640 "
		"(root:portal).\n\n"
		"| Key | Default | Type | Secret | Description |\n"
		"| --- | --- | --- | --- | --- |\n", out);
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_table[i];
		fprintf(out, "| `%s` | ", k->name);
		if (k->def) {
			fputc('`', out);
			md_default(out, k->def);
			fputc('`', out);
		} else {
			fputs("—", out);
		}
		fputs(" | ", out);
		md_type(out, k);
		fprintf(out, " | %s | ", k->secret ? "yes" : "");
		md_cell(out, k->doc);
		fputs(" |\n", out);
	}
}
