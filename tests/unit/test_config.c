/* test_config — file syntax and its errors (file:line), env over file over
 * default, typed access with bounds, validation naming the key, the key
 * table's required entries, and docs/configuration.md kept in step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

static struct pt_config *parse(const char *text, struct pt_err *err)
{
	pt_err_clear(err);
	return config_parse_buffer("t.conf", text, strlen(text), err);
}

static void expect_error(const char *text, const char *detail_part)
{
	struct pt_err err;
	struct pt_config *cfg = parse(text, &err);
	if (cfg) {
		config_free(cfg);
		fail_msg("accepted: %s", text);
	}
	assert_int_equal(err.code, PT_CONFIG_INVALID);
	if (!strstr(err.detail, detail_part))
		fail_msg("detail \"%s\" lacks \"%s\"", err.detail, detail_part);
}

static int setup(void **state)
{
	(void)state;
	unsetenv("SFTP_PORT");
	unsetenv("MAIL_FROM");
	unsetenv("LOG_LEVEL");
	unsetenv("SF_API_VERSION");
	unsetenv("SESSION_COOKIE_SECURE");
	unsetenv("DATABASE_URL");
	unsetenv("PORTAL_CONFIG");
	return 0;
}

static void test_syntax_ok(void **state)
{
	struct pt_err err;
	(void)state;
	struct pt_config *cfg = parse(
		"\xef\xbb\xbf# comment\n"
		"\n"
		"   \t\n"
		"  # indented comment\n"
		"SFTP_PORT=2222\n"
		"  MAIL_FROM   =   Portal <no-reply@example.jp>   \r\n"
		"SF_API_VERSION = \"v61.0\"  \n"
		"SFTP_REMOTE_DIR = \"a \\\"q\\\" b\\\\c # not a comment\"\n"
		"SMTP_URL = smtp://h:25/#frag\n"
		"DATABASE_URL =\n"
		"SF_CLIENT_ID = \"\"", &err);
	assert_non_null(cfg);
	assert_string_equal(config_get(cfg, "SFTP_PORT"), "2222");
	assert_string_equal(config_get(cfg, "MAIL_FROM"), "Portal <no-reply@example.jp>");
	assert_string_equal(config_get(cfg, "SF_API_VERSION"), "v61.0");
	assert_string_equal(config_get(cfg, "SFTP_REMOTE_DIR"), "a \"q\" b\\c # not a comment");
	assert_string_equal(config_get(cfg, "SMTP_URL"), "smtp://h:25/#frag");
	/* empty means unset: no default → NULL, default → default */
	assert_null(config_get(cfg, "DATABASE_URL"));
	assert_null(config_get(cfg, "SF_CLIENT_ID"));
	assert_string_equal(config_get(cfg, "LOG_LEVEL"), "info");
	assert_null(config_get(cfg, "NOT_A_KEY"));
	config_free(cfg);
	config_free(NULL);

	cfg = parse("", &err);
	assert_non_null(cfg);
	config_free(cfg);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("SFTP_PORT = 22\nNO_SUCH_KEY = 1\n", "t.conf:2: unknown key NO_SUCH_KEY");
	expect_error("# c\n\nSFTP_PORT 22\n", "t.conf:3: expected KEY = value");
	expect_error("= value\n", "t.conf:1:");
	expect_error("sftp-port = 1\n", "t.conf:1: expected");
	expect_error("MAIL_FROM = \"abc\n", "t.conf:1: unterminated quoted value");
	expect_error("MAIL_FROM = \"abc\" x\n", "t.conf:1: text after the closing quote");
	expect_error("SFTP_PORT = 1\nSFTP_PORT = 2\n", "t.conf:2: SFTP_PORT already set on line 1");
	expect_error("MAIL_FROM = a\x01z\n", "t.conf:1: MAIL_FROM: value has control");
	expect_error("MAIL_FROM = a\xff\n", "invalid UTF-8");
	expect_error("MAIL_FROM = \"a\tb\"\n", "control");

	struct pt_err err;
	char line[CONFIG_LINE_MAX + 32];
	snprintf(line, sizeof line, "MAIL_FROM = ");
	memset(line + 12, 'a', CONFIG_LINE_MAX);
	line[12 + CONFIG_LINE_MAX] = '\0';
	expect_error(line, "t.conf:1: line longer than 4096 bytes");
	/* exactly the limit is fine */
	line[CONFIG_LINE_MAX] = '\0';
	struct pt_config *cfg = parse(line, &err);
	assert_non_null(cfg);
	config_free(cfg);

	/* a NUL inside the buffer */
	cfg = config_parse_buffer("t.conf", "MAIL_FROM = a\0b\n", 16, &err);
	assert_null(cfg);

	size_t big = CONFIG_FILE_MAX + 1;
	char *huge = malloc(big);
	memset(huge, '\n', big);
	assert_null(config_parse_buffer("t.conf", huge, big, &err));
	assert_non_null(strstr(err.detail, "larger than"));
	cfg = config_parse_buffer("t.conf", huge, big - 1, &err);
	assert_non_null(cfg);
	config_free(cfg);
	free(huge);
}

static void test_env_overrides(void **state)
{
	struct pt_err err;
	(void)state;
	struct pt_config *cfg = parse("SFTP_PORT = 2222\nMAIL_FROM = file@example.jp\n", &err);
	assert_non_null(cfg);
	setenv("SFTP_PORT", "2200", 1);
	assert_string_equal(config_get(cfg, "SFTP_PORT"), "2200");
	setenv("SFTP_PORT", "", 1);            /* empty env is "not set" */
	assert_string_equal(config_get(cfg, "SFTP_PORT"), "2222");
	unsetenv("SFTP_PORT");
	assert_string_equal(config_get(cfg, "SFTP_PORT"), "2222");
	setenv("LOG_LEVEL", "debug", 1);        /* env over default */
	assert_string_equal(config_get(cfg, "LOG_LEVEL"), "debug");
	assert_string_equal(config_get(NULL, "LOG_LEVEL"), "debug");
	unsetenv("LOG_LEVEL");
	assert_string_equal(config_get(NULL, "LOG_LEVEL"), "info");
	config_free(cfg);
}

static void test_typed(void **state)
{
	struct pt_err err;
	long n = 0;
	int b = -1;
	(void)state;
	struct pt_config *cfg = parse("SFTP_PORT = 70000\nSF_PUBSUB_BATCH = 10x\n"
		"LOG_SYSLOG = yes\nSF_EVENTS_ENABLED = maybe\nREDIS_COMMAND_TIMEOUT_MS = 250\n", &err);
	assert_non_null(cfg);
	assert_int_equal(config_get_long(cfg, "REDIS_COMMAND_TIMEOUT_MS", &n, &err), 0);
	assert_int_equal(n, 250);
	assert_int_equal(config_get_long(cfg, "HTTP_MAX_BODY", &n, &err), 0);   /* default */
	assert_int_equal(n, 65536);
	assert_int_equal(config_get_long(cfg, "SFTP_PORT", &n, &err), -1);
	assert_string_equal(err.field, "SFTP_PORT");
	assert_non_null(strstr(err.detail, "1..65535"));
	assert_int_equal(config_get_long(cfg, "SF_PUBSUB_BATCH", &n, &err), -1);
	assert_int_equal(config_get_long(cfg, "WHMCS_CUSTOMER_NUMBER_FIELD_ID", &n, &err), -1);
	assert_non_null(strstr(err.detail, "missing"));
	assert_int_equal(config_get_long(cfg, "NOPE", &n, &err), -1);
	assert_int_equal(config_get_bool(cfg, "LOG_SYSLOG", &b, &err), 0);
	assert_int_equal(b, 1);
	assert_int_equal(config_get_bool(cfg, "SESSION_COOKIE_SECURE", &b, &err), 0);
	assert_int_equal(b, 1);
	setenv("SESSION_COOKIE_SECURE", "OFF", 1);
	assert_int_equal(config_get_bool(cfg, "SESSION_COOKIE_SECURE", &b, &err), 0);
	assert_int_equal(b, 0);
	unsetenv("SESSION_COOKIE_SECURE");
	assert_int_equal(config_get_bool(cfg, "SF_EVENTS_ENABLED", &b, &err), -1);
	assert_string_equal(err.field, "SF_EVENTS_ENABLED");
	config_free(cfg);
}

static void test_validate(void **state)
{
	struct pt_err err;
	(void)state;
	const char *const req[] = { "DATABASE_URL", "REDIS_URL", NULL };
	struct pt_config *cfg = parse("REDIS_URL = redis://127.0.0.1:6379/1\n", &err);
	assert_non_null(cfg);
	assert_int_equal(config_validate(cfg, req, &err), -1);
	assert_string_equal(err.detail, "DATABASE_URL: missing");
	assert_string_equal(err.field, "DATABASE_URL");
	assert_int_equal(err.code, PT_CONFIG_INVALID);
	setenv("DATABASE_URL", "postgresql://portal:s3cret@127.0.0.1/portal", 1);
	assert_int_equal(config_validate(cfg, req, &err), 0);
	setenv("DATABASE_URL", "not a url", 1);
	assert_int_equal(config_validate(cfg, req, &err), -1);
	assert_string_equal(err.field, "DATABASE_URL");
	assert_null(strstr(err.detail, "not a url"));   /* values never echoed */
	unsetenv("DATABASE_URL");
	config_free(cfg);

	static const char *const bad[] = {
		"LOG_LEVEL = loud\n", "SF_EVENTS_REPLAY = EARLIEST\n", "SF_PUBSUB_BATCH = 0\n",
		"LOG_SYSLOG = 2\n", "WHMCS_API_URL = ftp:/x\n", "SF_EVENTS_REPLAY = latest\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cfg = parse(bad[i], &err);
		assert_non_null(cfg);
		if (config_validate(cfg, NULL, &err) == 0)
			fail_msg("validated: %s", bad[i]);
		assert_true(strncmp(bad[i], err.field, strlen(err.field)) == 0);
		config_free(cfg);
	}
	cfg = parse("SF_EVENTS_REPLAY = ALL\nLOG_LEVEL = warn\n", &err);
	assert_int_equal(config_validate(cfg, NULL, &err), 0);
	const char *const unknown[] = { "NOT_A_KEY", NULL };
	assert_int_equal(config_validate(cfg, unknown, &err), -1);
	config_free(cfg);
}

static void test_load(void **state)
{
	struct pt_err err;
	char path[] = "/tmp/test_config_XXXXXX";
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "SFTP_PORT = 2022\n# x\nBOGUS = 1\n";
	assert_int_equal(write(fd, text, strlen(text)), (long)strlen(text));
	close(fd);
	assert_null(config_load(path, &err));
	char want[128];
	snprintf(want, sizeof want, "%s:3: unknown key BOGUS", path);
	assert_string_equal(err.detail, want);

	assert_int_equal(truncate(path, 17), 0);
	struct pt_config *cfg = config_load(path, &err);
	assert_non_null(cfg);
	assert_string_equal(config_get(cfg, "SFTP_PORT"), "2022");
	config_free(cfg);

	setenv("PORTAL_CONFIG", path, 1);
	cfg = config_load(NULL, &err);
	assert_non_null(cfg);
	assert_string_equal(config_get(cfg, "SFTP_PORT"), "2022");
	config_free(cfg);
	unlink(path);
	/* an explicit path that does not exist is an error */
	assert_null(config_load(NULL, &err));
	assert_non_null(strstr(err.detail, "no such file"));
	unsetenv("PORTAL_CONFIG");
	assert_null(config_load("/nonexistent/portal.conf", &err));
	assert_null(config_load("/tmp", &err));   /* a directory */
}

static void test_table(void **state)
{
	size_t n;
	(void)state;
	const struct config_key *k = config_keys(&n);
	assert_true(n > 60);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(k[i].doc);
		assert_true(strlen(k[i].doc) > 5);
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(k[i].name, k[j].name);
		/* every default satisfies its own type */
		if (k[i].def) {
			struct pt_err err;
			char line[256];
			snprintf(line, sizeof line, "%s = %s\n", k[i].name, k[i].def);
			struct pt_config *cfg = parse(line, &err);
			assert_non_null(cfg);
			if (config_validate(cfg, NULL, &err) != 0)
				fail_msg("default of %s invalid: %s", k[i].name, err.detail);
			config_free(cfg);
		}
	}
	static const struct { const char *name, *def; int secret; } want[] = {
		{ "ENVIRONMENT", "production", 0 }, { "LOG_LEVEL", "info", 0 },
		{ "LOG_SYSLOG", "false", 0 }, { "DATABASE_URL", NULL, 1 },
		{ "DB_CONNECT_TIMEOUT_S", "3", 0 }, { "DB_STATEMENT_TIMEOUT_MS", "5000", 0 },
		{ "REDIS_URL", "redis://127.0.0.1:6379/0", 1 },
		{ "REDIS_CONNECT_TIMEOUT_MS", "500", 0 }, { "REDIS_COMMAND_TIMEOUT_MS", "1000", 0 },
		{ "HTTP_MAX_BODY", "65536", 0 }, { "SESSION_COOKIE_SECURE", "true", 0 },
		{ "SESSION_IDLE_TIMEOUT_S", "1800", 0 }, { "SESSION_ABSOLUTE_TIMEOUT_S", "43200", 0 },
		{ "PASSWORD_PEPPER", NULL, 1 }, { "RATE_LIMIT_PUBLIC_PER_MIN", "120", 0 },
		{ "SF_API_VERSION", "v60.0", 0 }, { "SF_TIMEOUT_MS", "10000", 0 },
		{ "SF_TOKEN_TTL_S", "7200", 0 }, { "SF_EVENTS_ENABLED", "true", 0 },
		{ "SF_PROVISION_EVENT_CHANNEL", "/event/OrderProvisionRequested__e", 0 },
		{ "SF_EVENTS_REPLAY", "LATEST", 0 }, { "SF_EVENTS_REPLAY_FALLBACK", "ALL", 0 },
		{ "SF_PUBSUB_BATCH", "50", 0 }, { "SF_PRIVATE_KEY_BASE64", NULL, 1 },
		{ "WHMCS_API_IDENTIFIER", NULL, 1 }, { "WHMCS_API_SECRET", NULL, 1 },
		{ "WHMCS_API_ACCESS_KEY", NULL, 1 }, { "WHMCS_WEBHOOK_SECRET", NULL, 1 },
		{ "WHMCS_TIMEOUT_MS", "10000", 0 }, { "FREEBIT_OEM_KEY", NULL, 1 },
		{ "FREEBIT_CHANGE_GAP_S", "1800", 0 },
		{ "SIM_TOPUP_OPTIONS", "1024:500,3072:1200,5120:1800", 0 },
		{ "SFTP_PORT", "22", 0 }, { "PROBE_INTERVAL_SALESFORCE_S", "300", 0 },
		{ "PROBE_INTERVAL_WHMCS_S", "300", 0 }, { "PROBE_INTERVAL_FREEBIT_S", "900", 0 },
		{ "PROBE_INTERVAL_REDIS_S", "60", 0 }, { "PROBE_INTERVAL_POSTGRES_S", "60", 0 },
		{ "PROBE_INTERVAL_SFTP_S", "3600", 0 }, { "CACHE_TTL_INVOICES", "90", 0 },
		{ "SMTP_URL", NULL, 1 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct config_key *f = config_key_find(want[i].name);
		if (!f)
			fail_msg("key %s missing from the table", want[i].name);
		if (want[i].def)
			assert_string_equal(f->def, want[i].def);
		else
			assert_null(f->def);
		if (f->secret != want[i].secret)
			fail_msg("key %s secret flag %d", want[i].name, f->secret);
	}
	assert_null(config_key_find("NOPE"));
}

/* docs/configuration.md is generated from the table; stale docs fail here. */
static void test_doc_up_to_date(void **state)
{
	char *gen = NULL, *doc;
	size_t gen_len = 0;
	(void)state;
	FILE *m = open_memstream(&gen, &gen_len);
	config_print_markdown(m);
	fclose(m);
	FILE *f = fopen(TOP_SRCDIR "/docs/configuration.md", "rb");
	if (!f)
		fail_msg("cannot open %s/docs/configuration.md", TOP_SRCDIR);
	doc = malloc(gen_len + 2);
	size_t n = fread(doc, 1, gen_len + 1, f);
	fclose(f);
	if (n != gen_len || memcmp(doc, gen, gen_len) != 0)
		fail_msg("docs/configuration.md is out of date: run `make update-config-doc`");
	assert_non_null(strstr(gen, "| `DATABASE_URL` | — | URL | yes |"));
	free(doc);
	free(gen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_syntax_ok, setup),
		cmocka_unit_test_setup(test_syntax_errors, setup),
		cmocka_unit_test_setup(test_env_overrides, setup),
		cmocka_unit_test_setup(test_typed, setup),
		cmocka_unit_test_setup(test_validate, setup),
		cmocka_unit_test_setup(test_load, setup),
		cmocka_unit_test_setup(test_table, setup),
		cmocka_unit_test_setup(test_doc_up_to_date, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
