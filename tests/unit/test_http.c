/* test_http — the client against a small HTTP/1.1 server forked inside the
 * test (python's http.server cannot do the POST and fault cases): success
 * with keep-alive, 503 retried for GET but never for POST, Retry-After,
 * timeout within the budget, connection refused, body over the cap. */
#define _GNU_SOURCE 1  /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "core/http.h"
#include "core/log.h"

/* Shared with the server processes: hits per path and accepted connections. */
struct counters {
	int accepts;
	int hits_ok, hits_503, hits_post, hits_retry_after, hits_flaky, hits_long_ra;
	char last_body[256];
	char last_method[16];
};

static struct counters *cnt;
static pid_t server_pid;
static int server_port;
static char url[128];

static void reply(int fd, const char *status, const char *extra, const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
		"Content-Length: %zu\r\n%s\r\n", status, len, extra);
	if (write(fd, head, (size_t)n) < 0)
		return;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, body + off, len - off);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* One request from fd: 1 handled, 0 connection closed. */
static int serve_one(int fd)
{
	static char req[65536];
	size_t len = 0;
	char *end;

	for (;;) {
		ssize_t r = read(fd, req + len, sizeof req - 1 - len);
		if (r <= 0)
			return 0;
		len += (size_t)r;
		req[len] = '\0';
		if ((end = strstr(req, "\r\n\r\n")))
			break;
	}
	char method[16] = "", path[128] = "";
	sscanf(req, "%15s %127s", method, path);
	path[strcspn(path, "?")] = '\0';
	size_t clen = 0;
	char *cl = strcasestr(req, "\r\nContent-Length:");
	if (cl)
		clen = strtoul(cl + 17, NULL, 10);
	char *body = end + 4;
	while ((size_t)(req + len - body) < clen) {
		ssize_t r = read(fd, req + len, sizeof req - 1 - len);
		if (r <= 0)
			return 0;
		len += (size_t)r;
	}
	snprintf(cnt->last_method, sizeof cnt->last_method, "%s", method);
	snprintf(cnt->last_body, sizeof cnt->last_body, "%.*s", (int)clen, body);

	if (strcmp(path, "/ok") == 0) {
		__atomic_fetch_add(&cnt->hits_ok, 1, __ATOMIC_SEQ_CST);
		reply(fd, "200 OK", "X-Other: 1\r\n", "{\"ok\":true}", 11);
	} else if (strcmp(path, "/503") == 0) {
		__atomic_fetch_add(&cnt->hits_503, 1, __ATOMIC_SEQ_CST);
		reply(fd, "503 Service Unavailable", "", "{}", 2);
	} else if (strcmp(path, "/post") == 0) {
		__atomic_fetch_add(&cnt->hits_post, 1, __ATOMIC_SEQ_CST);
		reply(fd, "201 Created", "", "{\"id\":1}", 8);
	} else if (strcmp(path, "/retry-after") == 0) {
		int h = __atomic_fetch_add(&cnt->hits_retry_after, 1, __ATOMIC_SEQ_CST);
		if (h == 0)
			reply(fd, "429 Too Many Requests", "Retry-After: 1\r\n", "{}", 2);
		else
			reply(fd, "200 OK", "", "{}", 2);
	} else if (strcmp(path, "/long-retry-after") == 0) {
		__atomic_fetch_add(&cnt->hits_long_ra, 1, __ATOMIC_SEQ_CST);
		reply(fd, "429 Too Many Requests", "Retry-After: 3600\r\n", "{}", 2);
	} else if (strcmp(path, "/flaky") == 0) {
		/* first hit: close without answering (transport error), then 200 */
		if (__atomic_fetch_add(&cnt->hits_flaky, 1, __ATOMIC_SEQ_CST) == 0)
			return 0;
		reply(fd, "200 OK", "", "{}", 2);
	} else if (strcmp(path, "/slow") == 0) {
		sleep(3);
		reply(fd, "200 OK", "", "{}", 2);
	} else if (strcmp(path, "/big") == 0) {
		static char big[200000];
		memset(big, 'x', sizeof big);
		reply(fd, "200 OK", "", big, sizeof big);
	} else if (strcmp(path, "/big-chunked") == 0) {
		/* no Content-Length: the cap must hold while streaming */
		const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
		if (write(fd, h, strlen(h)) < 0)
			return 0;
		static char chunk[4096 + 16];
		int n = snprintf(chunk, sizeof chunk, "1000\r\n");
		memset(chunk + n, 'y', 4096);
		memcpy(chunk + n + 4096, "\r\n", 2);
		for (int i = 0; i < 50; i++)
			if (write(fd, chunk, (size_t)n + 4098) < 0)
				return 0;
		if (write(fd, "0\r\n\r\n", 5) < 0)
			return 0;
	} else {
		reply(fd, "404 Not Found", "", "{}", 2);
	}
	return 1;
}

static void server_main(int lfd)
{
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		__atomic_fetch_add(&cnt->accepts, 1, __ATOMIC_SEQ_CST);
		if (fork() == 0) {
			close(lfd);
			while (serve_one(fd))
				;
			_exit(0);
		}
		close(fd);
	}
}

static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0)
		return -1;
	getsockname(fd, (struct sockaddr *)&a, &alen);
	*port = ntohs(a.sin_port);
	return fd;
}

static int group_setup(void **state)
{
	(void)state;
	cnt = mmap(NULL, sizeof *cnt, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED)
		return -1;
	int lfd = listen_any(&server_port);
	if (lfd < 0)
		return -1;
	server_pid = fork();
	if (server_pid == 0) {
		/* the server's process group is killed as a whole in teardown */
		setpgid(0, 0);
		server_main(lfd);
		_exit(0);
	}
	setpgid(server_pid, server_pid);
	close(lfd);
	log_init("test_http", LOG_LVL_DEBUG, 0);
	return http_global_init();
}

static int group_teardown(void **state)
{
	(void)state;
	kill(-server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
	http_global_cleanup();
	munmap(cnt, sizeof *cnt);
	return 0;
}

static const char *u(const char *path)
{
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", server_port, path);
	return url;
}

static struct http_client *client(long total_ms, int retries)
{
	struct http_client_opts o = {
		.system = "test", .connect_timeout_ms = 1000, .total_timeout_ms = total_ms,
		.max_retries = retries, .backoff_ms = 20, .max_response = 65536,
	};
	struct http_client *c = http_client_new(&o);
	assert_non_null(c);
	return c;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

static void test_ok_keepalive(void **state)
{
	struct http_client *c = client(5000, 2);
	struct http_response r;
	struct pt_err err;
	const char *const hdrs[] = { "Accept: application/json", NULL };
	struct http_request req = { .method = "GET", .url = u("/ok?token=secret123"),
		.headers = hdrs, .idempotent = 1, .op = "get_ok" };
	(void)state;

	int accepts0 = cnt->accepts;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(http_do(c, &req, &r, &err), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(buf_cstr(&r.body), "{\"ok\":true}");
		assert_string_equal(r.content_type, "application/json");
		assert_string_equal(r.retry_after, "");
		http_response_free(&r);
	}
	/* one connection for three requests: the handle is reused */
	assert_int_equal(cnt->accepts - accepts0, 1);

	/* 404 is a response, not an error, and not retried */
	req.url = u("/nope");
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_int_equal(r.status, 404);
	http_response_free(&r);
	http_client_free(c);
	http_client_free(NULL);
}

static void test_503_get_retried_post_not(void **state)
{
	struct http_client *c = client(5000, 2);
	struct http_response r;
	struct pt_err err;
	struct http_request req = { .method = "GET", .url = u("/503"), .idempotent = 1, .op = "q" };
	(void)state;

	cnt->hits_503 = 0;
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(cnt->hits_503, 3);      /* 1 + max_retries */
	http_response_free(&r);

	cnt->hits_503 = 0;
	req.method = "POST";
	req.body = "a=1";
	req.body_len = 3;
	req.idempotent = 0;
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(cnt->hits_503, 1);      /* a write is never retried */
	http_response_free(&r);
	http_client_free(c);
}

static void test_post_body(void **state)
{
	struct http_client *c = client(5000, 2);
	struct http_response r;
	struct pt_err err;
	const char *const hdrs[] = { "Content-Type: application/json", NULL };
	const char *body = "{\"name\":\"x\"}";
	struct http_request req = { .method = "POST", .url = u("/post"), .headers = hdrs,
		.body = body, .body_len = strlen(body), .op = "create" };
	(void)state;

	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(cnt->last_method, "POST");
	assert_string_equal(cnt->last_body, body);
	http_response_free(&r);

	req.method = "PATCH";
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_string_equal(cnt->last_method, "PATCH");
	assert_string_equal(cnt->last_body, body);
	http_response_free(&r);

	req.method = "DELETE";
	req.body = NULL;
	req.body_len = 0;
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_string_equal(cnt->last_method, "DELETE");
	http_response_free(&r);

	/* header injection is refused before anything is sent */
	const char *const evil[] = { "X-A: 1\r\nX-B: 2", NULL };
	req.headers = evil;
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	http_response_free(&r);
	req.headers = NULL;
	req.method = "get me";
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	http_response_free(&r);
	http_client_free(c);
}

static void test_retry_after(void **state)
{
	struct http_client *c = client(5000, 2);
	struct http_response r;
	struct pt_err err;
	struct timespec t0;
	struct http_request req = { .method = "GET", .url = u("/retry-after"), .idempotent = 1 };
	(void)state;

	cnt->hits_retry_after = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cnt->hits_retry_after, 2);
	assert_true(ms_since(&t0) >= 950);   /* waited as asked, not the 20 ms backoff */
	http_response_free(&r);

	/* a Retry-After beyond the bound is handed to the caller, not slept on */
	cnt->hits_long_ra = 0;
	req.url = u("/long-retry-after");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_int_equal(r.status, 429);
	assert_string_equal(r.retry_after, "3600");
	assert_int_equal(cnt->hits_long_ra, 1);
	assert_true(ms_since(&t0) < 1000);
	http_response_free(&r);
	http_client_free(c);
}

static void test_transport_error_retried(void **state)
{
	struct http_client *c = client(5000, 2);
	struct http_response r;
	struct pt_err err;
	struct http_request req = { .method = "GET", .url = u("/flaky"), .idempotent = 1 };
	(void)state;

	cnt->hits_flaky = 0;
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cnt->hits_flaky, 2);
	http_response_free(&r);

	/* the same failure on a write is reported, not retried. A fresh client:
	 * libcurl itself resends once when a *reused* connection turns out dead. */
	http_client_free(c);
	c = client(5000, 2);
	cnt->hits_flaky = 0;
	req.method = "POST";
	req.idempotent = 0;
	pt_err_clear(&err);
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "ECONNRESET");
	/* the request reached the server: it may have run */
	assert_int_equal(err.not_applied, 0);
	assert_int_equal(cnt->hits_flaky, 1);
	http_response_free(&r);
	http_client_free(c);
}

static void test_timeout(void **state)
{
	struct http_client *c = client(500, 2);
	struct http_response r;
	struct pt_err err;
	struct timespec t0;
	struct http_request req = { .method = "GET", .url = u("/slow"), .idempotent = 1 };
	(void)state;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pt_err_clear(&err);
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	long took = ms_since(&t0);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "ETIMEOUT");
	/* timed out waiting for the answer: sent, so it may have run */
	assert_int_equal(err.not_applied, 0);
	/* the whole call, retries included, stays within the total timeout */
	assert_true(took >= 450);
	assert_true(took < 900);
	http_response_free(&r);
	http_client_free(c);
}

static void test_refused(void **state)
{
	struct http_client *c = client(2000, 2);
	struct http_response r;
	struct pt_err err;
	char dead[64];
	int port;
	(void)state;

	int fd = listen_any(&port);      /* a port that was free a moment ago */
	close(fd);
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d/x", port);
	struct http_request req = { .method = "GET", .url = dead, .idempotent = 1 };
	pt_err_clear(&err);
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "ECONNREFUSED");
	/* nothing was sent: a write may be sent again */
	assert_int_equal(err.not_applied, 1);
	assert_null(strstr(err.detail, "127.0.0.1"));
	http_response_free(&r);

	/* only http and https */
	req.url = "file:///etc/passwd";
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	assert_string_equal(err.provider_code, "ECURL");
	assert_int_equal(err.not_applied, 1);
	http_response_free(&r);
	req.url = "gopher://127.0.0.1/";
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	http_response_free(&r);
	http_client_free(c);
}

static void test_too_big(void **state)
{
	struct http_client *c = client(5000, 2);
	struct http_response r;
	struct pt_err err;
	struct http_request req = { .method = "GET", .url = u("/big"), .idempotent = 1 };
	(void)state;

	pt_err_clear(&err);
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	assert_string_equal(err.provider_code, "ETOOBIG");
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	http_response_free(&r);

	req.url = u("/big-chunked");
	pt_err_clear(&err);
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	assert_string_equal(err.provider_code, "ETOOBIG");
	http_response_free(&r);

	/* the handle still works afterwards */
	req.url = u("/ok");
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	assert_int_equal(r.status, 200);
	http_response_free(&r);
	http_client_free(c);
}

static void test_log_has_no_query(void **state)
{
	struct http_client *c = client(5000, 2);
	struct http_response r;
	struct pt_err err;
	char path[] = "/tmp/test_http_log_XXXXXX";
	struct http_request req = { .method = "POST", .url = u("/post?apikey=TOPSECRET"),
		.body = "password=hunter2", .body_len = 16, .op = "create" };
	(void)state;

	int fd = mkstemp(path);
	int saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char logged[4096] = "";
	ssize_t n = pread(fd, logged, sizeof logged - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	assert_non_null(strstr(logged, "msg=\"http call\" system=test op=create method=POST "
		"status=201 latency_ms="));
	assert_null(strstr(logged, "TOPSECRET"));
	assert_null(strstr(logged, "hunter2"));
	assert_null(strstr(logged, "/post"));
	http_response_free(&r);
	http_client_free(c);
}

/* Each attempt is recorded, retries included, under the client's label. */
static void test_stats_per_attempt(void **state)
{
	struct http_client *c = client(5000, 2);
	struct http_response r;
	struct http_stats s;
	struct pt_err err;
	struct http_request req = { .method = "GET", .url = u("/503"), .idempotent = 1, .op = "q" };
	const struct http_stats_row *t = NULL;
	(void)state;

	http_stats_drain(&s);
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	http_response_free(&r);
	req.url = u("/ok");
	assert_int_equal(http_do(c, &req, &r, &err), 0);
	http_response_free(&r);
	req.url = "file:///etc/passwd";      /* refused by libcurl, retried: 3 attempts */
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	http_response_free(&r);
	req.method = "bad method";           /* never attempted: not counted */
	assert_int_equal(http_do(c, &req, &r, &err), -1);
	http_response_free(&r);
	assert_int_equal(http_stats_drain(&s), 7);
	for (size_t i = 0; i < HTTP_STATS_ROWS; i++)
		if (!strcmp(s.row[i].system, "test"))
			t = &s.row[i];
	assert_non_null(t);
	assert_int_equal(t->count[HTTP_OUTCOME_5XX], 3);   /* 1 + max_retries */
	assert_int_equal(t->count[HTTP_OUTCOME_OK], 1);
	assert_int_equal(t->count[HTTP_OUTCOME_ERROR], 3);
	http_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_keepalive),
		cmocka_unit_test(test_503_get_retried_post_not),
		cmocka_unit_test(test_post_body),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_transport_error_retried),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_log_has_no_query),
		cmocka_unit_test(test_stats_per_attempt),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
