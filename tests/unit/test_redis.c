/* test_redis — REDIS_URL parsing (the accepted forms, the defaults, and
 * every malformed shape refused with the key named and no secret echoed),
 * the "unavailable" path against a closed port, and a connection the server
 * closed while idle (a Redis restart) replaced before the next command. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "core/config.h"

#include "core/log.h"
#include "store/redis.h"

static void test_url_defaults(void **state)
{
	(void)state;
	struct redis_url u;
	struct pt_err err = { 0 };
	assert_int_equal(redis_url_parse("redis://localhost", &u, &err), 0);
	assert_false(u.is_unix);
	assert_string_equal(u.host, "localhost");
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_string_equal(u.password, "");
	assert_string_equal(u.username, "");
	assert_int_equal(redis_url_parse("redis://127.0.0.1:56379/", &u, &err), 0);
	assert_int_equal(u.port, 56379);
	assert_int_equal(u.db, 0);
}

static void test_url_full(void **state)
{
	(void)state;
	struct redis_url u;
	struct pt_err err = { 0 };
	assert_int_equal(redis_url_parse("redis://:s3cr%40t@cache.example.jp:6380/2", &u, &err), 0);
	assert_string_equal(u.host, "cache.example.jp");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 2);
	assert_string_equal(u.username, "");
	assert_string_equal(u.password, "s3cr@t");
	/* the last '@' ends the credentials */
	assert_int_equal(redis_url_parse("redis://portal:p@ss@10.0.0.5/15", &u, &err), 0);
	assert_string_equal(u.username, "portal");
	assert_string_equal(u.password, "p@ss");
	assert_string_equal(u.host, "10.0.0.5");
	assert_int_equal(u.db, 15);
	assert_int_equal(redis_url_parse("redis://[::1]:7000/1", &u, &err), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);
}

static void test_url_unix(void **state)
{
	(void)state;
	struct redis_url u;
	struct pt_err err = { 0 };
	assert_int_equal(redis_url_parse("unix:///run/redis/redis.sock", &u, &err), 0);
	assert_true(u.is_unix);
	assert_string_equal(u.path, "/run/redis/redis.sock");
	assert_int_equal(u.db, 0);
	assert_int_equal(redis_url_parse("unix://:pw@/run/redis.sock?db=3", &u, &err), 0);
	assert_string_equal(u.path, "/run/redis.sock");
	assert_string_equal(u.password, "pw");
	assert_int_equal(u.db, 3);
}

static void expect_bad(const char *url)
{
	struct redis_url u;
	struct pt_err err = { 0 };
	if (redis_url_parse(url, &u, &err) != -1)
		fail_msg("accepted: %s", url ? url : "(null)");
	assert_int_equal(err.code, PT_CONFIG_INVALID);
	assert_string_equal(err.field, "REDIS_URL");
	assert_null(strstr(err.detail, "hunter2"));
	assert_string_equal(u.password, "");
}

static void test_url_rejects(void **state)
{
	(void)state;
	expect_bad(NULL);
	expect_bad("");
	expect_bad("localhost:6379");
	expect_bad("rediss://host:6380");
	expect_bad("http://host");
	expect_bad("redis://");
	expect_bad("redis:///0");
	expect_bad("redis://host:0");
	expect_bad("redis://host:65536");
	expect_bad("redis://host:123456");
	expect_bad("redis://host:63x9");
	expect_bad("redis://host:");
	expect_bad("redis://host/abc");
	expect_bad("redis://host/99999");
	expect_bad("redis://host/0/extra");
	expect_bad("redis://host?db=1");
	expect_bad("redis://ho st");
	expect_bad("redis://host\n:6379");
	expect_bad("redis://ho$t");
	expect_bad("redis://hunter2@host");             /* no ':' in credentials */
	expect_bad("redis://:hunter2%zz@host");         /* bad escape */
	expect_bad("redis://:hunter2%00@host");         /* embedded NUL */
	expect_bad("redis://:hunter2@[::1");
	expect_bad("redis://:hunter2@[::g]:1");
	expect_bad("unix://");
	expect_bad("unix://relative/sock");
	expect_bad("unix://:hunter2@relative");
	expect_bad("unix:///run/redis.sock?password=hunter2");
	expect_bad("unix:///run/redis.sock?db=");
	char longurl[REDIS_URL_MAX + 20];
	memset(longurl, 'a', sizeof longurl - 1);
	memcpy(longurl, "redis://", 8);
	longurl[sizeof longurl - 1] = '\0';
	expect_bad(longurl);
	char longhost[400];
	memset(longhost, 'h', sizeof longhost - 1);
	memcpy(longhost, "redis://", 8);
	longhost[sizeof longhost - 1] = '\0';
	expect_bad(longhost);
}

static void test_new_rejects_bad_url(void **state)
{
	(void)state;
	assert_null(redis_new("nope://", 100, 100));
	redis_free(NULL);
}

static void test_unavailable(void **state)
{
	(void)state;
	struct redis *r = redis_new("redis://127.0.0.1:1", 200, 200);
	assert_non_null(r);
	struct pt_err err = { 0 };
	assert_null(redis_cmd(r, &err, "PING"));
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	long ms = -1;
	assert_int_equal(redis_ping(r, &ms, &err), -1);
	assert_true(ms >= 0);
	const char *argv[1] = { "PING" };
	assert_null(redis_cmd_argv(r, &err, 1, argv, NULL));
	/* The pipeline (web metrics) fails the same way, never blocks long. */
	const char *c1[] = { "HINCRBY", "k", "f", "1" };
	const char *const *cmds[] = { c1, c1 };
	const int argc[] = { 4, 4 };
	pt_err_clear(&err);
	assert_int_equal(redis_pipeline_argv(r, 2, argc, cmds, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	redis_free(r);
	assert_null(redis_cmd(NULL, &err, "PING"));
	assert_int_equal(redis_pipeline_argv(NULL, 2, argc, cmds, &err), -1);
}

/* A fake Redis in a child: each of `conns` connections gets "+PONG" to one
 * command and is then closed by the server, as a restarted Redis leaves the
 * clients' connections. */
static pid_t fake_redis(int *port, int conns)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(10); /* never outlive a failed test */
		for (int i = 0; i < conns; i++) {
			char buf[256];
			int c = accept(ls, NULL, NULL);
			if (c < 0)
				_exit(1);
			if (read(c, buf, sizeof buf) <= 0 || write(c, "+PONG\r\n", 7) != 7)
				_exit(1);
			close(c);
		}
		_exit(0);
	}
	close(ls);
	return pid;
}

static void test_closed_while_idle(void **state)
{
	(void)state;
	int port, st;
	char url[64];
	struct pt_err err = { 0 };
	pid_t pid = fake_redis(&port, 3);
	snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
	struct redis *r = redis_new(url, 1000, 1000);
	assert_non_null(r);
	/* Each PING finds the previous connection closed by the server: the
	 * command goes out on a new one instead of failing. */
	for (int i = 0; i < 3; i++) {
		usleep(50 * 1000); /* the server's close has arrived */
		assert_int_equal(redis_ping(r, NULL, &err), 0);
	}
	redis_free(r);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_from_config(void **state)
{
	(void)state;
	struct pt_err err = { 0 };
	unsetenv("PORTAL_CONFIG");
	setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:1/x", 1);
	struct pt_config *cfg = config_load(NULL, &err);
	assert_non_null(cfg);
	assert_null(redis_new_from_config(cfg, &err));
	assert_int_equal(err.code, PT_CONFIG_INVALID);
	assert_string_equal(err.field, "REDIS_URL");
	config_free(cfg);
	setenv("REDIS_URL", "redis://127.0.0.1:1/2", 1);
	cfg = config_load(NULL, &err);
	assert_non_null(cfg);
	struct redis *r = redis_new_from_config(cfg, &err);
	assert_non_null(r);
	redis_free(r);
	config_free(cfg);
	unsetenv("REDIS_URL");
}

int main(void)
{
	log_init("test_redis", LOG_LVL_CRIT, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_defaults),
		cmocka_unit_test(test_url_full),
		cmocka_unit_test(test_url_unix),
		cmocka_unit_test(test_url_rejects),
		cmocka_unit_test(test_new_rejects_bad_url),
		cmocka_unit_test(test_unavailable),
		cmocka_unit_test(test_closed_while_idle),
		cmocka_unit_test(test_from_config),
	};
	return cmocka_run_group_tests_name("redis", tests, NULL, NULL);
}
