/* fuzz_web_request — the request parsers with arbitrary bytes.
 * First byte selects the target: 0 path, 1 query, 2 cookies, 3 (and others)
 * a whole request: "NAME=value" lines, an empty line, then the body; the
 * parsed request is routed and its response written to memory. Checks the
 * invariants a handler relies on, not just the absence of crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "web/request.h"
#include "web/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	if (p[0] != '/' || strlen(p) > WEB_PATH_MAX || strstr(p, "/../") ||
	    !str_valid_text(p, strlen(p), 0))
		abort();
}

static void fuzz_path(const char *s, size_t n)
{
	char *out = malloc(n + 1);

	if (!out)
		return;
	if (web_parse_path(s, n, out, n + 1, NULL) == 0)
		check_path(out);
	free(out);
}

static void fuzz_query(const char *s, size_t n)
{
	struct web_request *req = web_request_new();

	if (!req)
		return;
	if (web_parse_query(req, s, n, NULL) == 0) {
		if (req->nquery > WEB_QUERY_PAIRS_MAX)
			abort();
		for (size_t i = 0; i < req->nquery; i++)
			if (strlen(req->query[i].value) > WEB_QUERY_VALUE_MAX)
				abort();
	}
	web_request_free(req);
}

static void fuzz_cookies(const char *s)
{
	struct web_request *req = web_request_new();

	if (!req)
		return;
	if (web_parse_cookies(req, s, NULL) == 0) {
		if (req->ncookies > WEB_COOKIES_MAX)
			abort();
		for (size_t i = 0; i < req->ncookies; i++)
			if (strchr(req->cookies[i].value, ';') || strchr(req->cookies[i].value, ' '))
				abort();
	}
	web_request_free(req);
}

struct mem {
	const char *p;
	size_t n;
};

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
	(void)p;
	*(size_t *)ctx += n;
	return (long)n;
}

static int h_ok(struct web_request *req, struct pt_err *err)
{
	(void)err;
	return web_reply_json(req, 200, json_object_new_string(web_param(req, "id")));
}

static const struct web_route routes[] = {
	{ WEB_GET, "/api/x/{id}", h_ok },
	{ WEB_POST, "/api/x/{id}", h_ok },
};

/* Splits the header part into a NULL-terminated envp (modified in place). */
static void fuzz_request(char *s, size_t n)
{
	char *envp[128];
	size_t ne = 0;
	char *body = NULL;
	size_t body_len = 0;

	for (size_t i = 0; i + 1 < n && !body; i++)
		if (s[i] == '\n' && s[i + 1] == '\n')
			body = s + i;

	if (body) {
		*body = '\0';
		body += 2;
		body_len = n - (size_t)(body - s);
	}
	for (char *line = s; line && ne < 127;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line)
			envp[ne++] = line;
		line = nl ? nl + 1 : NULL;
	}
	envp[ne] = NULL;

	struct web_request *req = web_request_new();
	struct mem m = { body ? body : "", body_len };
	struct web_body_reader rd = { mem_read, &m };
	size_t written = 0;
	struct web_out out = { mem_write, &written };
	struct pt_err err;
	if (!req)
		return;
	pt_err_clear(&err);
	if (web_request_parse(req, envp, &rd, 1024, &err) == 0) {
		check_path(req->path);
		if (req->body_len > 1024 || !web_request_id_valid(req->request_id))
			abort();
		web_route_dispatch(routes, 2, req);
	} else {
		web_reply_error(req, &err);
	}
	if (web_response_send(req, &out) != 0 || written == 0)
		abort();
	web_request_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	/* NUL-terminated copy: the env and cookie parsers take C strings. */
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] & 3) {
	case 0: fuzz_path(s, size - 1); break;
	case 1: fuzz_query(s, size - 1); break;
	case 2: fuzz_cookies(s); break;
	default: fuzz_request(s, strlen(s)); break;
	}
	free(s);
	return 0;
}
