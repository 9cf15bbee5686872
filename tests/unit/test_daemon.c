/* test_daemon — the pid file (content, failure, removal) and the signal flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/daemon.h"

static void test_pidfile_write_remove(void **state)
{
	char dir[] = "/tmp/test_daemon.XXXXXX", path[64], want[32], got[32] = { 0 };
	struct stat st;
	FILE *f;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/x.pid", dir);
	assert_int_equal(daemon_pidfile_write(path), 0);
	assert_non_null(f = fopen(path, "r"));
	assert_true(fread(got, 1, sizeof got - 1, f) > 0);
	fclose(f);
	snprintf(want, sizeof want, "%ld\n", (long)getpid());
	assert_string_equal(got, want);
	/* an existing file is overwritten, not appended to */
	assert_int_equal(daemon_pidfile_write(path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((size_t)st.st_size, strlen(want));
	daemon_pidfile_remove(path);
	assert_int_equal(stat(path, &st), -1);
	daemon_pidfile_remove(NULL);   /* no-op */
	assert_int_equal(rmdir(dir), 0);
}

static void test_pidfile_unwritable(void **state)
{
	(void)state;
	assert_int_equal(daemon_pidfile_write("/nonexistent-dir/x.pid"), -1);
}

static void test_signal_flags(void **state)
{
	(void)state;
	daemon_signals_install();
	daemon_stop_flag = daemon_hup_flag = 0;
	raise(SIGHUP);
	assert_int_equal(daemon_hup_flag, 1);
	assert_int_equal(daemon_stop_flag, 0);
	raise(SIGTERM);
	assert_int_equal(daemon_stop_flag, 1);
	daemon_stop_flag = 0;
	raise(SIGINT);
	assert_int_equal(daemon_stop_flag, 1);
	raise(SIGPIPE);   /* ignored: still running */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pidfile_write_remove),
		cmocka_unit_test(test_pidfile_unwritable),
		cmocka_unit_test(test_signal_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
