/* request — one HTTP request as FastCGI / CGI parameters describe it.
 * Every piece (method, path, query, cookies, headers, body, request id) is
 * read by a bounded, validating parser that takes plain strings, so unit
 * tests and fuzzers drive them without FastCGI. All a request owns lives in
 * its arena and is released by web_request_free at the end of the request. */
#ifndef PT_WEB_REQUEST_H
#define PT_WEB_REQUEST_H

#include <stddef.h>
#include "core/err.h"
#include "web/response.h"

#define WEB_PATH_MAX          2048   /* decoded path bytes */
#define WEB_URI_MAX           8192   /* raw REQUEST_URI bytes (path + query) */
#define WEB_QUERY_MAX         4096   /* raw query string bytes */
#define WEB_QUERY_PAIRS_MAX   64
#define WEB_QUERY_NAME_MAX    128
#define WEB_QUERY_VALUE_MAX   2048
#define WEB_COOKIE_HEADER_MAX 8192
#define WEB_COOKIES_MAX       50
#define WEB_COOKIE_NAME_MAX   128
#define WEB_COOKIE_VALUE_MAX  4096
#define WEB_HEADERS_MAX       100
#define WEB_HEADER_VALUE_MAX  8192
#define WEB_CAPTURES_MAX      8
#define WEB_CAPTURE_MAX       128    /* bytes of one {name} path segment */
#define WEB_REQUEST_ID_MAX    64
#define WEB_DEFAULT_MAX_BODY  65536  /* HTTP_MAX_BODY default */

enum web_method {
	WEB_GET = 0, WEB_HEAD, WEB_POST, WEB_PUT, WEB_PATCH, WEB_DELETE, WEB_OPTIONS,
	WEB_METHOD_COUNT
};

struct web_kv {
	const char *name;
	const char *value;
};

/* Where the body comes from: FCGX_Stream, stdin, or memory in tests.
 * read returns bytes read (0 = end of body), or -1 on an I/O error. */
struct web_body_reader {
	long (*read)(void *ctx, char *dst, size_t n);
	void *ctx;
};

struct web_arena_block;
struct web_cleanup;
struct web_ctx;

struct web_request {
	enum web_method method;
	const char *method_name;     /* "GET"; "-" until parsed */
	int head;                    /* HEAD: served as GET, body suppressed */
	const char *path;            /* percent-decoded, validated; NULL until parsed */
	struct web_kv *query;
	size_t nquery;
	struct web_kv *cookies;
	size_t ncookies;
	struct web_kv *headers;      /* names in CGI form: HTTP_X_CSRF_TOKEN */
	size_t nheaders;
	struct web_kv captures[WEB_CAPTURES_MAX];   /* filled by the router */
	size_t ncaptures;
	const char *route;           /* the matched route pattern (metrics label); NULL if none */
	const char *content_type;    /* "" when none */
	const char *remote_addr;     /* "" when unknown */
	char *body;                  /* NUL-terminated; "" when none */
	size_t body_len;
	char request_id[WEB_REQUEST_ID_MAX + 1];
	struct web_response res;
	struct web_ctx *ctx;         /* per-process context, set by web_app_run */
	long long started_us;        /* monotonic, for latency_ms */
	/* private */
	struct web_arena_block *arena;
	struct web_cleanup *cleanups;
};

/* An empty request (request id generated); NULL on ENOMEM. */
struct web_request *web_request_new(void);
/* Runs the cleanups, frees the arena and the response. NULL is a no-op. */
void web_request_free(struct web_request *req);

/* Parses everything from a NULL-terminated "NAME=value" array (FCGX envp,
 * environ, or a test's array) and reads the body through rd (may be NULL
 * when there is none). On failure err says why (BAD_REQUEST,
 * PAYLOAD_TOO_LARGE, METHOD_NOT_ALLOWED) and req still has a request id and
 * whatever was parsed before, so an error reply can be sent. */
int web_request_parse(struct web_request *req, char *const *envp,
	const struct web_body_reader *rd, size_t max_body, struct pt_err *err);

/* Per-request memory, freed by web_request_free. NULL on ENOMEM. */
void *web_alloc(struct web_request *req, size_t n);
char *web_strndup(struct web_request *req, const char *s, size_t n);
/* fn(ptr) runs when the request is freed (e.g. json_object_put). -1 on ENOMEM
 * (then fn(ptr) has already run, so nothing leaks). */
int web_defer(struct web_request *req, void (*fn)(void *), void *ptr);

/* Lookups (first match; NULL when absent). web_header takes the HTTP name
 * ("X-CSRF-Token"), case-insensitively. web_param is a router capture. */
const char *web_query(const struct web_request *req, const char *name);
const char *web_cookie(const struct web_request *req, const char *name);
const char *web_header(const struct web_request *req, const char *name);
const char *web_param(const struct web_request *req, const char *name);

/* Pure parsers, exported for tests and fuzzers. */
const char *web_env_get(char *const *envp, const char *name);
int web_parse_method(const char *s, enum web_method *out, struct pt_err *err);
const char *web_method_name(enum web_method m);
/* Strict percent-decoding of a path into out (outsz > WEB_PATH_MAX is
 * always enough): must start with '/', no bad escape, %00, %2F, control
 * characters, invalid UTF-8, "." or ".." segment, or more than WEB_PATH_MAX. */
int web_parse_path(const char *raw, size_t len, char *out, size_t outsz, struct pt_err *err);
/* Picks the request path from the params (REQUEST_URI, else SCRIPT_NAME +
 * PATH_INFO, else DOCUMENT_URI) and decodes it into req->path. */
int web_parse_request_path(struct web_request *req, char *const *envp, struct pt_err *err);
int web_parse_query(struct web_request *req, const char *qs, size_t len, struct pt_err *err);
int web_parse_cookies(struct web_request *req, const char *header, struct pt_err *err);
/* Collects HTTP_* params, each value bounded and free of control bytes. */
int web_parse_headers(struct web_request *req, char *const *envp, struct pt_err *err);
/* 1 when a Content-Type value is application/json: the media type compared
 * case-insensitively, optional whitespace around it, any parameters
 * ("; charset=utf-8") accepted. NULL or "" → 0. */
int web_content_type_is_json(const char *ct);
/* "" or NULL → 0; otherwise decimal digits only. */
int web_parse_content_length(const char *s, unsigned long long *out, struct pt_err *err);
int web_read_body(struct web_request *req, const char *content_length, int chunked,
	const struct web_body_reader *rd, size_t max_body, struct pt_err *err);
/* 1 when s matches ^[A-Za-z0-9._-]{8,64}$. */
int web_request_id_valid(const char *s);
/* Takes X-Request-Id when valid, else keeps the generated one. */
void web_request_take_id(struct web_request *req, const char *hdr);

#endif
