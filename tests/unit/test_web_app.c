/* test_web_app — one request through web_app_serve (parse, route, reply,
 * write) with memory I/O: the status the client sees for good requests and
 * for each way parsing fails, and that every answer carries X-Request-Id.
 * And the FastCGI loop itself (web_app_run in a child on a unix socket, a
 * minimal FastCGI client here): with $PORTAL_LOG_FILE, a rename + SIGHUP
 * moves the process to the new file without ending its accept, and SIGTERM
 * still ends it with 0. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/log.h"
#include "web/app.h"

static int h_echo(struct web_request *req, struct pt_err *err)
{
	(void)err;
	assert_non_null(req->ctx);
	return web_reply_json(req, 200, json_object_new_string_len(req->body, (int)req->body_len));
}

static const struct web_route routes[] = {
	{ WEB_POST, "/echo", h_echo },
	{ WEB_GET, "/echo", h_echo },
};
static const struct web_app_def def = { .name = "test", .routes = routes, .nroutes = 2 };

struct mem { const char *p; size_t n; };

static long mem_read(void *ctx, char *dst, size_t n)
{
	struct mem *m = ctx;
	if (n > m->n)
		n = m->n;
	memcpy(dst, m->p, n);
	m->p += n;
	m->n -= n;
	return (long)n;
}

static long mem_write(void *ctx, const char *p, size_t n)
{
	return buf_append(ctx, p, n) == 0 ? (long)n : -1;
}

static int serve(char *const *envp, const char *body, struct buf *out)
{
	struct web_ctx *ctx = web_ctx_new(&def, NULL);
	struct mem m = { body, strlen(body) };
	struct web_body_reader rd = { mem_read, &m };
	struct web_out wo = { mem_write, out };

	assert_non_null(ctx);
	buf_init(out, 0);
	int status = web_app_serve(ctx, envp, &rd, &wo);
	assert_int_equal(web_ctx_requests(ctx), 1);
	web_ctx_free(ctx);
	assert_non_null(strstr(buf_cstr(out), "\r\nX-Request-Id: "));
	return status;
}

static void test_serve(void **state)
{
	struct buf out;
	(void)state;

	char *ok[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", "CONTENT_LENGTH=5",
		"CONTENT_TYPE=application/json; charset=utf-8", NULL };
	assert_int_equal(serve(ok, "hello", &out), 200);
	assert_non_null(strstr(buf_cstr(&out), "{\"data\":\"hello\"}"));
	buf_free(&out);

	/* a body that does not say it is JSON: 415, with or without a type */
	char *form[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", "CONTENT_LENGTH=5",
		"CONTENT_TYPE=application/x-www-form-urlencoded", NULL };
	assert_int_equal(serve(form, "a=1&b", &out), 415);
	assert_non_null(strstr(buf_cstr(&out), "Status: 415 Unsupported Media Type\r\n"));
	assert_non_null(strstr(buf_cstr(&out), "\"UNSUPPORTED_MEDIA_TYPE\""));
	buf_free(&out);
	char *untyped[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", "CONTENT_LENGTH=5", NULL };
	assert_int_equal(serve(untyped, "hello", &out), 415);
	buf_free(&out);
	/* no body, no type: fine (logout) */
	char *empty[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", NULL };
	assert_int_equal(serve(empty, "", &out), 200);
	buf_free(&out);

	char *big[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", "CONTENT_LENGTH=70000", NULL };
	assert_int_equal(serve(big, "x", &out), 413);
	assert_non_null(strstr(buf_cstr(&out), "\"PAYLOAD_TOO_LARGE\""));
	buf_free(&out);

	char *bad[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/ec%zzho",
		"HTTP_X_REQUEST_ID=client-id-123", NULL };
	assert_int_equal(serve(bad, "", &out), 400);
	assert_non_null(strstr(buf_cstr(&out), "X-Request-Id: client-id-123\r\n"));
	assert_non_null(strstr(buf_cstr(&out), "\"request_id\":\"client-id-123\""));
	buf_free(&out);

	char *head[] = { "REQUEST_METHOD=HEAD", "REQUEST_URI=/echo", NULL };
	assert_int_equal(serve(head, "", &out), 200);
	assert_non_null(strstr(buf_cstr(&out), "\r\n\r\n"));
	assert_string_equal(strstr(buf_cstr(&out), "\r\n\r\n"), "\r\n\r\n");
	buf_free(&out);

	char *nf[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/missing", NULL };
	assert_int_equal(serve(nf, "", &out), 404);
	buf_free(&out);

	char *na[] = { "REQUEST_METHOD=DELETE", "REQUEST_URI=/echo", NULL };
	assert_int_equal(serve(na, "", &out), 405);
	assert_non_null(strstr(buf_cstr(&out), "Allow: POST, GET, HEAD\r\n"));
	buf_free(&out);
}

/* ---- the FastCGI loop ------------------------------------------------- */

static void fcgi_record(struct buf *b, int type, const void *p, size_t n)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1,
		(unsigned char)(n >> 8), (unsigned char)n, 0, 0 };

	buf_append(b, (const char *)h, sizeof h);
	buf_append(b, p, n);
}

static void fcgi_param(struct buf *b, const char *name, const char *value)
{
	unsigned char l[2] = { (unsigned char)strlen(name), (unsigned char)strlen(value) };

	buf_append(b, (const char *)l, 2);
	buf_puts(b, name);
	buf_puts(b, value);
}

/* One GET over a fresh connection, as nginx sends it; the reply's STDOUT. */
static void fcgi_get(const char *sock, const char *uri, struct buf *out)
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };  /* RESPONDER */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 10, 0 };
	struct buf req, params;
	unsigned char h[8];
	char body[65536 + 256];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	buf_init(&req, 0);
	buf_init(&params, 0);
	fcgi_param(&params, "REQUEST_METHOD", "GET");
	fcgi_param(&params, "REQUEST_URI", uri);
	fcgi_param(&params, "SCRIPT_NAME", uri);
	fcgi_record(&req, 1, begin, sizeof begin);
	fcgi_record(&req, 4, params.data, params.len);
	fcgi_record(&req, 4, "", 0);
	fcgi_record(&req, 5, "", 0);
	assert_int_equal(write(fd, req.data, req.len), (ssize_t)req.len);
	buf_free(&req);
	buf_free(&params);
	buf_init(out, 0);
	for (;;) {
		size_t got = 0, n;
		while (got < sizeof h) {
			ssize_t r = read(fd, h + got, sizeof h - got);
			assert_true(r > 0);
			got += (size_t)r;
		}
		n = ((size_t)h[4] << 8 | h[5]) + h[6];
		for (got = 0; got < n;) {
			ssize_t r = read(fd, body + got, n - got);
			assert_true(r > 0);
			got += (size_t)r;
		}
		if (h[1] == 6)  /* STDOUT */
			buf_append(out, body, n - h[6]);
		if (h[1] == 3)  /* END_REQUEST */
			break;
	}
	close(fd);
	assert_non_null(strstr(buf_cstr(out), "{\"data\":\"\"}"));
}

static int count_in_file(const char *path, const char *needle)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void test_fcgi_sighup_reopens_log(void **state)
{
	char dir[] = "/tmp/test_web_app.XXXXXX", sock[64], log[96], old[104], conf[96];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec pause = { 0, 200 * 1000 * 1000 };
	struct buf out;
	int lfd, st;
	pid_t pid;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof sock, "%s/s", dir);
	snprintf(log, sizeof log, "%s/app.log", dir);
	snprintf(old, sizeof old, "%s.1", log);
	snprintf(conf, sizeof conf, "%s/portal.conf", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("LOG_LEVEL = info\n", f);
	fclose(f);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 16), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* As spawn-fcgi starts an app: the listening socket is fd 0. */
		dup2(lfd, 0);
		close(lfd);
		setenv("PORTAL_CONFIG", conf, 1);
		setenv(WEB_LOG_FILE_ENV, log, 1);
		unsetenv("REDIS_URL");
		unsetenv("DATABASE_URL");
		unsetenv("LOG_SYSLOG");
		unsetenv("LOG_LEVEL");
		_exit(web_app_run(&def, 0, NULL));
	}
	close(lfd);

	fcgi_get(sock, "/echo", &out);
	buf_free(&out);
	/* The access line is written before the reply is finished. */
	assert_int_equal(count_in_file(log, "msg=\"request\""), 1);

	/* logrotate: rename, then SIGHUP while the process is idle in accept. */
	assert_int_equal(rename(log, old), 0);
	assert_int_equal(kill(pid, SIGHUP), 0);
	nanosleep(&pause, NULL);
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0);  /* neither killed nor out of its loop */
	fcgi_get(sock, "/echo", &out);
	buf_free(&out);
	fcgi_get(sock, "/echo", &out);
	buf_free(&out);
	assert_int_equal(count_in_file(log, "msg=\"SIGHUP: logs reopened\""), 1);
	assert_int_equal(count_in_file(log, "msg=\"request\""), 2);
	assert_int_equal(count_in_file(old, "msg=\"request\""), 1);
	assert_int_equal(count_in_file(old, "reopened"), 0);

	/* A second SIGHUP with nothing renamed: same file, appended to. */
	assert_int_equal(kill(pid, SIGHUP), 0);
	nanosleep(&pause, NULL);
	fcgi_get(sock, "/echo", &out);
	buf_free(&out);
	assert_int_equal(count_in_file(log, "msg=\"SIGHUP: logs reopened\""), 2);
	assert_int_equal(count_in_file(log, "msg=\"request\""), 3);

	/* SIGTERM still ends FCGX_Accept_r (FCGI_FAIL_ACCEPT_ON_INTR): exit 0. */
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(count_in_file(log, "msg=\"stopping\""), 1);

	unlink(log);
	unlink(old);
	unlink(conf);
	unlink(sock);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serve),
		cmocka_unit_test(test_fcgi_sighup_reopens_log),
	};
	log_init("test", LOG_LVL_CRIT, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
