/* test_sftp_sim — the SFTP client against the real sshd of
 * tests/sim/sftp/sftpd-start (PORTAL_TEST_SFTP_RUNDIR = its run dir, with
 * sftp_client_key and sftp_host_key_sha256; port from PORTAL_TEST_SFTP_PORT,
 * default 18022; skipped when unset): pinned host key accepted, a wrong one
 * refused naming both fingerprints, download + parse of the fixture files,
 * size cap, missing file → NOT_FOUND, directory probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/log.h"
#include "sftp/cdr.h"
#include "sftp/sftp.h"

static char key_path[512], fingerprint[128];
static struct sftp_opts opts;

static int feed(void *ctx, const char *data, size_t len, struct pt_err *err)
{
	return cdr_parser_feed(ctx, data, len, err);
}

static int count_call(void *ctx, const struct domain_call_record *r, struct pt_err *err)
{
	(void)r;
	(void)err;
	(*(long *)ctx)++;
	return 0;
}

static int count_sms(void *ctx, const struct domain_sms_record *r, struct pt_err *err)
{
	(void)r;
	(void)err;
	(*(long *)ctx)++;
	return 0;
}

static void test_download_and_parse(void **state)
{
	static const struct cdr_callbacks cb = { count_call, count_sms };
	struct pt_err err = { 0 };
	struct sftp_conn *c = sftp_connect(&opts, &err);
	struct sftp_file_info info;
	struct cdr_stats st;
	struct cdr_parser *p;
	long rows = 0, entries = 0;
	char name[64];
	int kind;

	(void)state;
	assert_non_null(c);
	assert_int_equal(sftp_probe_dir(c, &entries, &err), 0);
	assert_true(entries >= 8);
	for (kind = 0; kind < 2; kind++) {
		assert_int_equal(sftp_cdr_filename(kind, 2026, 9, name, sizeof(name)), 0);
		rows = 0;
		p = cdr_parser_new(kind, 2026, 9, &cb, &rows);
		assert_int_equal(sftp_download(c, name, feed, p, &info, &err), 0);
		assert_int_equal(cdr_parser_finish(p, &st, &err), 0);
		cdr_parser_free(p);
		assert_true(info.size > 0);
		assert_true(rows > 0);
		assert_int_equal(st.rows, rows);
	}
	assert_int_equal(sftp_stat(c, "PASI_talk-detail-202605.csv", &info, &err), -1);
	assert_int_equal(err.code, PT_NOT_FOUND);
	sftp_close(c);

	/* Size cap. */
	{
		struct sftp_opts small = opts;
		small.max_file_bytes = 10;
		c = sftp_connect(&small, &err);
		assert_non_null(c);
		assert_int_equal(sftp_download(c, "PASI_talk-detail-202609.csv", NULL, NULL, NULL, &err), -1);
		assert_string_equal(err.provider_code, "ETOOBIG");
		sftp_close(c);
	}
}

static void test_host_key_mismatch(void **state)
{
	struct sftp_opts bad = opts;
	struct pt_err err = { 0 };

	(void)state;
	bad.host_key_sha256 = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	assert_null(sftp_connect(&bad, &err));
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "EHOSTKEY");
	assert_non_null(strstr(err.detail, "expected SHA256:AAAA"));
	assert_non_null(strstr(err.detail, fingerprint));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_download_and_parse),
		cmocka_unit_test(test_host_key_mismatch),
	};
	const char *dir = getenv("PORTAL_TEST_SFTP_RUNDIR");
	const char *port = getenv("PORTAL_TEST_SFTP_PORT");
	char path[600];
	FILE *f;

	if (!dir || !*dir) {
		printf("SKIP: PORTAL_TEST_SFTP_RUNDIR not set (run tests/sim/simctl start as root)\n");
		return 77;
	}
	log_init("test_sftp_sim", LOG_LVL_CRIT, 0);
	snprintf(key_path, sizeof(key_path), "%s/sftp_client_key", dir);
	snprintf(path, sizeof(path), "%s/sftp_host_key_sha256", dir);
	f = fopen(path, "r");
	if (!f || !fgets(fingerprint, sizeof(fingerprint), f)) {
		printf("SKIP: %s unreadable\n", path);
		if (f)
			fclose(f);
		return 77;
	}
	fclose(f);
	fingerprint[strcspn(fingerprint, " \r\n")] = '\0';
	opts.host = "127.0.0.1";
	opts.port = port ? atoi(port) : 18022;
	opts.username = getenv("PORTAL_TEST_SFTP_USER") ? getenv("PORTAL_TEST_SFTP_USER") : "portalsftp";
	opts.private_key_path = key_path;
	opts.host_key_sha256 = fingerprint;
	opts.remote_dir = ".";
	opts.connect_timeout_ms = 5000;
	opts.op_timeout_ms = 10000;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
