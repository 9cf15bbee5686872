/* request — bounded, validating parsers for everything a client controls.
 * Why strict: the path decides routing and authorisation, so an ambiguous
 * path (encoded '/', "..", overlong or invalid UTF-8) is refused rather than
 * normalised; the web server in front may normalise differently from us. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/rand.h"
#include "web/request.h"

struct web_arena_block {
	struct web_arena_block *next;
	max_align_t data[];
};

struct web_cleanup {
	struct web_cleanup *next;
	void (*fn)(void *);
	void *ptr;
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct web_request *web_request_new(void)
{
	struct web_request *req = calloc(1, sizeof *req);

	if (!req)
		return NULL;
	req->method_name = "-";
	req->content_type = "";
	req->remote_addr = "";
	req->body = (char *)"";
	req->started_us = now_us();
	web_response_init(&req->res);
	/* A request id exists from the first moment, so even a request that
	 * fails to parse gets an error body and a log line that correlate. */
	if (rand_hex(req->request_id, sizeof req->request_id, 16) != 0)
		str_lcpy(req->request_id, "0000000000000000", sizeof req->request_id);
	return req;
}

void web_request_free(struct web_request *req)
{
	if (!req)
		return;
	while (req->cleanups) {
		struct web_cleanup *c = req->cleanups;
		req->cleanups = c->next;
		c->fn(c->ptr);
		free(c);
	}
	while (req->arena) {
		struct web_arena_block *b = req->arena;
		req->arena = b->next;
		free(b);
	}
	web_response_free(&req->res);
	free(req);
}

void *web_alloc(struct web_request *req, size_t n)
{
	if (n > SIZE_MAX - sizeof(struct web_arena_block))
		return NULL;
	struct web_arena_block *b = malloc(sizeof *b + n);
	if (!b)
		return NULL;
	b->next = req->arena;
	req->arena = b;
	return b->data;
}

char *web_strndup(struct web_request *req, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = web_alloc(req, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int web_defer(struct web_request *req, void (*fn)(void *), void *ptr)
{
	struct web_cleanup *c = malloc(sizeof *c);

	if (!c) {
		fn(ptr);
		return -1;
	}
	c->fn = fn;
	c->ptr = ptr;
	c->next = req->cleanups;
	req->cleanups = c;
	return 0;
}

/* ---- lookups ---------------------------------------------------------- */

static const char *kv_find(const struct web_kv *kv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].name, name) == 0)
			return kv[i].value;
	return NULL;
}

const char *web_query(const struct web_request *req, const char *name)
{
	return kv_find(req->query, req->nquery, name);
}

const char *web_cookie(const struct web_request *req, const char *name)
{
	return kv_find(req->cookies, req->ncookies, name);
}

const char *web_param(const struct web_request *req, const char *name)
{
	return kv_find(req->captures, req->ncaptures, name);
}

/* "X-CSRF-Token" → "HTTP_X_CSRF_TOKEN", the form CGI gives headers in. */
static int header_cgi_name(const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);

	if (n + 6 > outsz)
		return -1;
	memcpy(out, "HTTP_", 5);
	for (size_t i = 0; i <= n; i++) {
		char c = name[i];
		if (c == '-')
			c = '_';
		else if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		out[5 + i] = c;
	}
	return 0;
}

const char *web_header(const struct web_request *req, const char *name)
{
	char cgi[160];

	if (header_cgi_name(name, cgi, sizeof cgi) != 0)
		return NULL;
	return kv_find(req->headers, req->nheaders, cgi);
}

const char *web_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (!envp)
		return NULL;
	for (; *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* ---- method ----------------------------------------------------------- */

static const char *const method_names[WEB_METHOD_COUNT] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
};

const char *web_method_name(enum web_method m)
{
	return (unsigned)m < WEB_METHOD_COUNT ? method_names[m] : "-";
}

static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		(c && strchr("!#$%&'*+-.^_`|~", c));
}

int web_parse_method(const char *s, enum web_method *out, struct pt_err *err)
{
	if (!s || !*s || strlen(s) > 16)
		return pt_err_set(err, PT_BAD_REQUEST, "method missing or too long");
	for (const char *p = s; *p; p++)
		if (!is_tchar((unsigned char)*p))
			return pt_err_set(err, PT_BAD_REQUEST, "method not a token");
	for (int i = 0; i < WEB_METHOD_COUNT; i++) {
		if (strcmp(s, method_names[i]) == 0) {
			*out = (enum web_method)i;
			return 0;
		}
	}
	/* A well-formed method we do not serve (TRACE, CONNECT, …). */
	return pt_err_set(err, PT_METHOD_NOT_ALLOWED, "method %s not served", s);
}

/* ---- path ------------------------------------------------------------- */

static int segment_is_dots(const char *seg, size_t n)
{
	return (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.');
}

int web_parse_path(const char *raw, size_t len, char *out, size_t outsz, struct pt_err *err)
{
	if (len == 0 || raw[0] != '/')
		return pt_err_set(err, PT_BAD_REQUEST, "path must start with '/'");
	if (len > 3 * WEB_PATH_MAX)
		return pt_err_set(err, PT_BAD_REQUEST, "path too long");
	/* An encoded '/' would let one capture span what looks like two
	 * segments to the web server's location rules. */
	for (size_t i = 0; i + 2 < len; i++)
		if (raw[i] == '%' && raw[i + 1] == '2' && (raw[i + 2] | 0x20) == 'f')
			return pt_err_set(err, PT_BAD_REQUEST, "encoded '/' in path");
	if (str_url_decode(out, outsz, raw, len, 0) != 0)
		return pt_err_set(err, PT_BAD_REQUEST, "bad percent-encoding in path");
	size_t n = strlen(out);
	if (n > WEB_PATH_MAX)
		return pt_err_set(err, PT_BAD_REQUEST, "path longer than %d", WEB_PATH_MAX);
	if (!str_valid_text(out, n, 0))
		return pt_err_set(err, PT_BAD_REQUEST, "path not valid UTF-8 text");
	for (const char *seg = out + 1;;) {
		const char *end = strchr(seg, '/');
		size_t sl = end ? (size_t)(end - seg) : strlen(seg);
		if (segment_is_dots(seg, sl))
			return pt_err_set(err, PT_BAD_REQUEST, "dot segment in path");
		if (!end)
			break;
		seg = end + 1;
	}
	return 0;
}

/* REQUEST_URI in absolute form ("http://host/p") → "/p". */
static const char *skip_authority(const char *uri)
{
	const char *p = NULL;

	if (strncmp(uri, "http://", 7) == 0)
		p = uri + 7;
	else if (strncmp(uri, "https://", 8) == 0)
		p = uri + 8;
	if (!p)
		return uri;
	p = strchr(p, '/');
	return p ? p : "/";
}

static int decode_path_into(struct web_request *req, const char *raw, size_t len,
	struct pt_err *err)
{
	char *out = web_alloc(req, len + 1);

	if (!out)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	if (web_parse_path(raw, len, out, len + 1, err) != 0)
		return -1;
	req->path = out;
	return 0;
}

/* Why REQUEST_URI first: nginx and Apache both pass it as the client sent it
 * (not decoded, not rewritten), so routing sees what the client asked for and
 * we decode it once, strictly. Servers that leave it out (plain CGI, custom
 * configs) give SCRIPT_NAME + PATH_INFO, already decoded by the server. */
int web_parse_request_path(struct web_request *req, char *const *envp, struct pt_err *err)
{
	const char *uri = web_env_get(envp, "REQUEST_URI");

	if (uri && *uri) {
		if (strlen(uri) > WEB_URI_MAX)
			return pt_err_set(err, PT_BAD_REQUEST, "REQUEST_URI too long");
		uri = skip_authority(uri);
		return decode_path_into(req, uri, strcspn(uri, "?#"), err);
	}
	const char *sn = web_env_get(envp, "SCRIPT_NAME");
	const char *pi = web_env_get(envp, "PATH_INFO");
	sn = sn ? sn : "";
	pi = pi ? pi : "";
	if (!*sn && !*pi) {
		const char *doc = web_env_get(envp, "DOCUMENT_URI");
		if (!doc || !*doc)
			return pt_err_set(err, PT_BAD_REQUEST, "no request path in params");
		sn = doc;
	}
	size_t sl = strnlen(sn, WEB_PATH_MAX + 1), pl = strnlen(pi, WEB_PATH_MAX + 1);
	if (sl + pl > WEB_PATH_MAX)
		return pt_err_set(err, PT_BAD_REQUEST, "path longer than %d", WEB_PATH_MAX);
	/* Already decoded by the server: validate without decoding again, so a
	 * literal '%' in a decoded path is checked, not re-interpreted. */
	char joined[WEB_PATH_MAX + 1];
	memcpy(joined, sn, sl);
	memcpy(joined + sl, pi, pl);
	joined[sl + pl] = '\0';
	if (strchr(joined, '%'))
		return pt_err_set(err, PT_BAD_REQUEST, "'%%' in decoded path");
	return decode_path_into(req, joined, sl + pl, err);
}

/* ---- query ------------------------------------------------------------ */

static char *decode_component(struct web_request *req, const char *s, size_t n,
	size_t max, struct pt_err *err)
{
	char *out = NULL;
	size_t dl;

	if (n > 3 * max) {
		pt_err_set(err, PT_BAD_REQUEST, "query component too long");
		return NULL;
	}
	out = web_alloc(req, n + 1);
	if (!out) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return NULL;
	}
	if (str_url_decode(out, n + 1, s, n, 1) != 0) {
		pt_err_set(err, PT_BAD_REQUEST, "bad percent-encoding in query");
		return NULL;
	}
	dl = strlen(out);
	if (dl > max || !str_valid_text(out, dl, 0)) {
		pt_err_set(err, PT_BAD_REQUEST, "query component too long or not UTF-8 text");
		return NULL;
	}
	return out;
}

int web_parse_query(struct web_request *req, const char *qs, size_t len, struct pt_err *err)
{
	req->nquery = 0;
	if (!qs || len == 0)
		return 0;
	if (len > WEB_QUERY_MAX)
		return pt_err_set(err, PT_BAD_REQUEST, "query string too long");
	req->query = web_alloc(req, WEB_QUERY_PAIRS_MAX * sizeof *req->query);
	if (!req->query)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	for (size_t i = 0; i < len;) {
		const char *pair = qs + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t pl = amp ? (size_t)(amp - pair) : len - i;
		i += pl + 1;
		if (pl == 0)
			continue;
		if (req->nquery == WEB_QUERY_PAIRS_MAX)
			return pt_err_set(err, PT_BAD_REQUEST, "more than %d query pairs",
				WEB_QUERY_PAIRS_MAX);
		const char *eq = memchr(pair, '=', pl);
		size_t nl = eq ? (size_t)(eq - pair) : pl;
		struct web_kv *kv = &req->query[req->nquery];
		kv->name = decode_component(req, pair, nl, WEB_QUERY_NAME_MAX, err);
		if (!kv->name)
			return -1;
		kv->value = eq ? decode_component(req, eq + 1, pl - nl - 1, WEB_QUERY_VALUE_MAX, err)
			: "";
		if (!kv->value)
			return -1;
		if (kv->name[0])
			req->nquery++;
	}
	return 0;
}

/* ---- cookies ---------------------------------------------------------- */

/* RFC 6265 cookie-octet: printable ASCII except space, '"', ',', ';', '\'. */
static int is_cookie_octet(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

static int cookie_pair_valid(const char *name, size_t nl, const char *val, size_t vl)
{
	if (nl == 0 || nl > WEB_COOKIE_NAME_MAX || vl > WEB_COOKIE_VALUE_MAX)
		return 0;
	for (size_t i = 0; i < nl; i++)
		if (!is_tchar((unsigned char)name[i]))
			return 0;
	for (size_t i = 0; i < vl; i++)
		if (!is_cookie_octet((unsigned char)val[i]))
			return 0;
	return 1;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Malformed pairs are skipped, not refused: other applications on the same
 * domain may set cookies we do not own, and that must not lock a customer
 * out of the portal. Only sizes beyond the bounds fail the request. */
int web_parse_cookies(struct web_request *req, const char *header, struct pt_err *err)
{
	req->ncookies = 0;
	if (!header || !*header)
		return 0;
	size_t len = strnlen(header, WEB_COOKIE_HEADER_MAX + 1);
	if (len > WEB_COOKIE_HEADER_MAX)
		return pt_err_set(err, PT_BAD_REQUEST, "Cookie header too long");
	req->cookies = web_alloc(req, WEB_COOKIES_MAX * sizeof *req->cookies);
	if (!req->cookies)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	for (size_t i = 0; i < len && req->ncookies < WEB_COOKIES_MAX;) {
		const char *pair = header + i;
		const char *semi = memchr(pair, ';', len - i);
		size_t pl = semi ? (size_t)(semi - pair) : len - i;
		i += pl + 1;
		trim(&pair, &pl);
		const char *eq = memchr(pair, '=', pl);
		if (!eq)
			continue;
		const char *name = pair, *val = eq + 1;
		size_t nl = (size_t)(eq - pair), vl = pl - nl - 1;
		trim(&name, &nl);
		trim(&val, &vl);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"')
			val++, vl -= 2;
		if (!cookie_pair_valid(name, nl, val, vl))
			continue;
		struct web_kv *kv = &req->cookies[req->ncookies];
		kv->name = web_strndup(req, name, nl);
		kv->value = web_strndup(req, val, vl);
		if (!kv->name || !kv->value)
			return pt_err_set(err, PT_INTERNAL, "out of memory");
		req->ncookies++;
	}
	return 0;
}

/* ---- headers ---------------------------------------------------------- */

static int header_value_valid(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

int web_parse_headers(struct web_request *req, char *const *envp, struct pt_err *err)
{
	req->nheaders = 0;
	req->headers = web_alloc(req, WEB_HEADERS_MAX * sizeof *req->headers);
	if (!req->headers)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	for (; envp && *envp; envp++) {
		const char *e = *envp;
		if (strncmp(e, "HTTP_", 5) != 0)
			continue;
		const char *eq = strchr(e, '=');
		if (!eq || eq - e > 128)
			continue;
		if (req->nheaders == WEB_HEADERS_MAX)
			return pt_err_set(err, PT_BAD_REQUEST, "more than %d headers", WEB_HEADERS_MAX);
		size_t vl = strnlen(eq + 1, WEB_HEADER_VALUE_MAX + 1);
		if (vl > WEB_HEADER_VALUE_MAX)
			return pt_err_set(err, PT_BAD_REQUEST, "header %.*s too long",
				(int)(eq - e), e);
		if (!header_value_valid(eq + 1, vl))
			return pt_err_set(err, PT_BAD_REQUEST, "control byte in header %.*s",
				(int)(eq - e), e);
		struct web_kv *kv = &req->headers[req->nheaders++];
		kv->name = web_strndup(req, e, (size_t)(eq - e));
		kv->value = eq + 1;   /* envp outlives the request */
		if (!kv->name)
			return pt_err_set(err, PT_INTERNAL, "out of memory");
	}
	return 0;
}

/* ---- request id ------------------------------------------------------- */

int web_request_id_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (n >= WEB_REQUEST_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n >= 8;
}

void web_request_take_id(struct web_request *req, const char *hdr)
{
	if (web_request_id_valid(hdr))
		str_lcpy(req->request_id, hdr, sizeof req->request_id);
}

/* ---- body ------------------------------------------------------------- */

int web_parse_content_length(const char *s, unsigned long long *out, struct pt_err *err)
{
	unsigned long long v = 0;

	*out = 0;
	if (!s || !*s)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return pt_err_set(err, PT_BAD_REQUEST, "CONTENT_LENGTH not a number");
		if (v > (ULLONG_MAX - 9) / 10)
			return pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "CONTENT_LENGTH overflows");
		v = v * 10 + (unsigned)(*p - '0');
	}
	*out = v;
	return 0;
}

/* Reads exactly want bytes (or until the end when want is the limit+1). */
static long read_full(const struct web_body_reader *rd, char *dst, size_t want)
{
	size_t got = 0;

	while (got < want) {
		long n = rd->read(rd->ctx, dst + got, want - got);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (long)got;
}

int web_read_body(struct web_request *req, const char *content_length, int chunked,
	const struct web_body_reader *rd, size_t max_body, struct pt_err *err)
{
	unsigned long long cl;
	char extra;

	if (web_parse_content_length(content_length, &cl, err) != 0)
		return -1;
	/* Refused before reading a byte: the limit protects memory and time. */
	if (cl > max_body)
		return pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "CONTENT_LENGTH %llu > %zu",
			cl, max_body);
	/* No length but a body on its way (chunked upload passed through):
	 * read to the end, bounded by the limit. */
	size_t want = cl ? (size_t)cl : (chunked ? max_body + 1 : 0);
	if (want == 0 || !rd)
		return 0;
	char *body = web_alloc(req, want + 1);
	if (!body)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	long got = read_full(rd, body, want);
	if (got < 0)
		return pt_err_set(err, PT_BAD_REQUEST, "error reading body");
	if (!cl && (size_t)got > max_body)
		return pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "body over %zu bytes", max_body);
	if (cl && (size_t)got < want)
		return pt_err_set(err, PT_BAD_REQUEST, "body shorter than CONTENT_LENGTH");
	/* More bytes than declared means a confused or smuggling client. */
	if (cl && read_full(rd, &extra, 1) != 0)
		return pt_err_set(err, PT_BAD_REQUEST, "body longer than CONTENT_LENGTH");
	body[got] = '\0';
	req->body = body;
	req->body_len = (size_t)got;
	return 0;
}

/* ---- everything ------------------------------------------------------- */

static int parse_envelope(struct web_request *req, char *const *envp, struct pt_err *err)
{
	const char *m = web_env_get(envp, "REQUEST_METHOD");

	if (web_parse_method(m, &req->method, err) != 0)
		return -1;
	req->method_name = method_names[req->method];
	req->head = req->method == WEB_HEAD;
	if (web_parse_request_path(req, envp, err) != 0)
		return -1;
	const char *qs = web_env_get(envp, "QUERY_STRING");
	if (!qs) {
		/* Plain CGI setups without QUERY_STRING: take it from the URI. */
		const char *uri = web_env_get(envp, "REQUEST_URI");
		qs = uri ? strchr(uri, '?') : NULL;
		qs = qs ? qs + 1 : "";
	}
	size_t ql = strnlen(qs, WEB_QUERY_MAX + 1);
	return web_parse_query(req, qs, ql, err);
}

int web_content_type_is_json(const char *ct)
{
	static const char json[] = "application/json";
	const size_t n = sizeof json - 1;

	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, json, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	/* "application/jsonx" or "application/json-seq" are other types */
	return *ct == '\0' || *ct == ';';
}

static int parse_meta(struct web_request *req, char *const *envp, struct pt_err *err)
{
	const char *ct = web_env_get(envp, "CONTENT_TYPE");
	const char *ra = web_env_get(envp, "REMOTE_ADDR");

	if (ct) {
		size_t n = strnlen(ct, 257);
		if (n > 256 || !header_value_valid(ct, n))
			return pt_err_set(err, PT_BAD_REQUEST, "bad CONTENT_TYPE");
		req->content_type = ct;
	}
	if (ra && strnlen(ra, 65) <= 64 && header_value_valid(ra, strlen(ra)))
		req->remote_addr = ra;
	return 0;
}

int web_request_parse(struct web_request *req, char *const *envp,
	const struct web_body_reader *rd, size_t max_body, struct pt_err *err)
{
	/* The id first, so every later failure is reported under it. */
	const char *rid = web_env_get(envp, "HTTP_X_REQUEST_ID");
	web_request_take_id(req, rid);
	if (parse_envelope(req, envp, err) != 0)
		return -1;
	if (web_parse_headers(req, envp, err) != 0)
		return -1;
	if (parse_meta(req, envp, err) != 0)
		return -1;
	if (web_parse_cookies(req, web_env_get(envp, "HTTP_COOKIE"), err) != 0)
		return -1;
	const char *te = web_env_get(envp, "HTTP_TRANSFER_ENCODING");
	return web_read_body(req, web_env_get(envp, "CONTENT_LENGTH"), te && *te, rd,
		max_body, err);
}
