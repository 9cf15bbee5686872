/* pubsub — GetSchema/GetTopic over libcurl HTTP/2; Subscribe over libnghttp2
 * on our own socket (TCP, or OpenSSL TLS with ALPN h2), because libcurl 7.88
 * never surfaces a Trailers-Only answer (an immediate error such as a
 * rejected replay id) while the request body is paused: see docs/pubsub.md.
 * The request body is an nghttp2 data source that defers while there is
 * nothing to send; a top-up FetchRequest is appended and the data resumed.
 * Responses are deframed as DATA arrives, unpacked and queued; the loop
 * around poll() hands them to the caller outside any callback. */
#include "config.h"
#include "salesforce/pubsub.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/salesforce/pubsub_api.pb-c.h"

#define POLL_MS 500
#define QUEUE_MAX 1024       /* responses buffered between two poll rounds */
#define UNARY_MSG_MAX (4u * 1024u * 1024u)

int pubsub_tenant_from_token(const char *token, char *out, size_t size)
{
	const char *bang = strchr(token, '!');
	size_t n = bang ? (size_t)(bang - token) : 0;

	if (n != 15 || n >= size || strncmp(token, "00D", 3) != 0)
		return -1;
	memcpy(out, token, n);
	out[n] = '\0';
	return 0;
}

static int pack_framed(struct buf *out, const ProtobufCMessage *m, struct pt_err *err)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	unsigned char *tmp = malloc(len ? len : 1);
	int rc;

	if (!tmp)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	protobuf_c_message_pack(m, tmp);
	rc = grpc_frame(out, tmp, len, err);
	free(tmp);
	return rc;
}

int pubsub_fetch_request(struct buf *out, const char *topic, enum pubsub_preset preset,
	const unsigned char *replay_id, size_t replay_id_len, int num_requested,
	struct pt_err *err)
{
	Eventbus__V1__FetchRequest req = EVENTBUS__V1__FETCH_REQUEST__INIT;

	if (topic) {
		req.topic_name = (char *)topic;
		req.replay_preset = (Eventbus__V1__ReplayPreset)preset;
		if (preset == PUBSUB_CUSTOM) {
			req.replay_id.data = (uint8_t *)replay_id;
			req.replay_id.len = replay_id_len;
		}
	}
	req.num_requested = num_requested;
	return pack_framed(out, &req.base, err);
}

/* ---- common easy-handle setup ---------------------------------------- */

static struct curl_slist *grpc_headers(const struct pubsub_conn *c, struct pt_err *err)
{
	struct curl_slist *h = NULL, *n;
	char line[1400];
	const char *fixed[] = { "content-type: application/grpc", "te: trailers", "Expect:",
		"Accept:", NULL };

	for (size_t i = 0; fixed[i]; i++) {
		if (!(n = curl_slist_append(h, fixed[i])))
			goto fail;
		h = n;
	}
	snprintf(line, sizeof(line), "accesstoken: %s", c->access_token);
	if (!(n = curl_slist_append(h, line)))
		goto fail;
	h = n;
	snprintf(line, sizeof(line), "instanceurl: %s", c->instance_url);
	if (!(n = curl_slist_append(h, line)))
		goto fail;
	h = n;
	snprintf(line, sizeof(line), "tenantid: %s", c->tenant_id);
	if (!(n = curl_slist_append(h, line)))
		goto fail;
	return n;
fail:
	curl_slist_free_all(h);
	pt_err_set(err, PT_INTERNAL, "out of memory");
	return NULL;
}

static CURL *grpc_easy(const struct pubsub_conn *c, const char *rpc, struct curl_slist *hdrs,
	struct pt_err *err)
{
	char url[512];
	CURL *e = curl_easy_init();
	int tls = strncmp(c->endpoint, "https://", 8) == 0;

	if (!e) {
		pt_err_set(err, PT_INTERNAL, "curl_easy_init failed");
		return NULL;
	}
	snprintf(url, sizeof(url), "%s/eventbus.v1.PubSub/%s", c->endpoint, rpc);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, tls ? (long)CURL_HTTP_VERSION_2TLS
		: (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms > 0 ? c->timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "portal-subscriberd");
	return e;
}

/* ---- unary calls ---------------------------------------------------- */

struct unary {
	struct grpc_deframer df;
	struct buf msg;          /* the one response message */
	int count;
	struct grpc_result res;
	struct pt_err *err;
	int failed;
};

static int unary_msg(void *ctx, const unsigned char *m, size_t len, struct pt_err *err)
{
	struct unary *u = ctx;

	if (u->count++ > 0)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "unary call answered with several messages");
	if (buf_append(&u->msg, m, len) < 0)
		return pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "unary response too large");
	return 0;
}

static size_t unary_write(char *p, size_t size, size_t n, void *ud)
{
	struct unary *u = ud;

	if (grpc_deframer_feed(&u->df, p, size * n, unary_msg, u, u->err) < 0) {
		u->failed = 1;
		return 0;
	}
	return size * n;
}

static size_t result_header(char *p, size_t size, size_t n, void *ud)
{
	grpc_result_header(ud, p, size * n);
	return size * n;
}

/* Sends one framed request to rpc; on OK, u->msg holds the response message. */
static int unary_call(const struct pubsub_conn *c, const char *rpc, const ProtobufCMessage *req,
	struct unary *u, struct grpc_result *res, struct pt_err *err)
{
	struct buf body;
	struct curl_slist *hdrs = NULL;
	CURL *e = NULL;
	CURLcode cc;
	int rc = -1;

	buf_init(&body, UNARY_MSG_MAX);
	grpc_deframer_init(&u->df, UNARY_MSG_MAX);
	buf_init(&u->msg, UNARY_MSG_MAX + 1);
	grpc_result_init(&u->res);
	u->err = err;
	if (pack_framed(&body, req, err) < 0 || !(hdrs = grpc_headers(c, err)) ||
		!(e = grpc_easy(c, rpc, hdrs, err)))
		goto out;
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)body.len);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms > 0 ? c->timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, unary_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, u);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, result_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &u->res);
	cc = curl_easy_perform(e);
	if (res)
		*res = u->res;
	if (u->failed)
		goto out;
	if (cc != CURLE_OK) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "pubsub %s: %s", rpc, curl_easy_strerror(cc));
		pt_err_provider(err, "UNAVAILABLE");
		goto out;
	}
	if (grpc_result_err(&u->res, err) < 0)
		goto out;
	if (u->count != 1) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "pubsub %s: no response message", rpc);
		goto out;
	}
	rc = 0;
out:
	curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	buf_free(&body);
	grpc_deframer_free(&u->df);
	return rc;
}

int pubsub_get_schema(const struct pubsub_conn *c, const char *schema_id, struct buf *json,
	struct grpc_result *res, struct pt_err *err)
{
	Eventbus__V1__SchemaRequest req = EVENTBUS__V1__SCHEMA_REQUEST__INIT;
	Eventbus__V1__SchemaInfo *info = NULL;
	struct unary u;
	int rc = -1;

	memset(&u, 0, sizeof(u));
	req.schema_id = (char *)schema_id;
	if (unary_call(c, "GetSchema", &req.base, &u, res, err) < 0)
		goto out;
	info = eventbus__v1__schema_info__unpack(NULL, u.msg.len, (const uint8_t *)u.msg.data);
	if (!info || !info->schema_json || !*info->schema_json) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "GetSchema: undecodable SchemaInfo");
		goto out;
	}
	buf_reset(json);
	if (buf_puts(json, info->schema_json) < 0) {
		pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "GetSchema: schema too large");
		goto out;
	}
	rc = 0;
out:
	if (info)
		eventbus__v1__schema_info__free_unpacked(info, NULL);
	buf_free(&u.msg);
	return rc;
}

int pubsub_get_topic(const struct pubsub_conn *c, const char *topic, char *schema_id,
	size_t size, struct grpc_result *res, struct pt_err *err)
{
	Eventbus__V1__TopicRequest req = EVENTBUS__V1__TOPIC_REQUEST__INIT;
	Eventbus__V1__TopicInfo *info = NULL;
	struct unary u;
	int rc = -1;

	memset(&u, 0, sizeof(u));
	req.topic_name = (char *)topic;
	if (unary_call(c, "GetTopic", &req.base, &u, res, err) < 0)
		goto out;
	info = eventbus__v1__topic_info__unpack(NULL, u.msg.len, (const uint8_t *)u.msg.data);
	if (!info) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "GetTopic: undecodable TopicInfo");
		goto out;
	}
	if (!info->can_subscribe) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "topic %s: subscribe not allowed", topic);
		goto out;
	}
	str_lcpy(schema_id, info->schema_id ? info->schema_id : "", size);
	rc = 0;
out:
	if (info)
		eventbus__v1__topic_info__free_unpacked(info, NULL);
	buf_free(&u.msg);
	return rc;
}

/* ---- the Subscribe stream: transport -------------------------------- */

struct endpoint {
	int tls;
	char host[256];
	char port[8];
	char authority[272];
};

static int endpoint_parse(const char *url, struct endpoint *ep, struct pt_err *err)
{
	const char *p = url, *colon, *end;
	size_t hl;

	memset(ep, 0, sizeof(*ep));
	if (strncmp(p, "https://", 8) == 0) {
		ep->tls = 1;
		p += 8;
	} else if (strncmp(p, "http://", 7) == 0) {
		p += 7;
	} else {
		return pt_err_set(err, PT_CONFIG_INVALID, "SF_PUBSUB_ENDPOINT: http:// or https:// only");
	}
	end = p + strcspn(p, "/");
	colon = memchr(p, ':', (size_t)(end - p));
	hl = (size_t)((colon ? colon : end) - p);
	if (hl == 0 || hl >= sizeof(ep->host) || (colon && (size_t)(end - colon - 1) >= sizeof(ep->port)))
		return pt_err_set(err, PT_CONFIG_INVALID, "SF_PUBSUB_ENDPOINT: bad host or port");
	memcpy(ep->host, p, hl);
	if (colon)
		memcpy(ep->port, colon + 1, (size_t)(end - colon - 1));
	else
		str_lcpy(ep->port, ep->tls ? "443" : "80", sizeof(ep->port));
	snprintf(ep->authority, sizeof(ep->authority), "%s:%s", ep->host, ep->port);
	return 0;
}

/* Non-blocking connect bounded by timeout_ms; the socket stays non-blocking. */
static int tcp_connect(const struct endpoint *ep, long timeout_ms, struct pt_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1;

	if (getaddrinfo(ep->host, ep->port, &hints, &ai) != 0)
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "Pub/Sub: cannot resolve %s", ep->host);
	for (a = ai; a && fd < 0; a = a->ai_next) {
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS)
			goto next;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)timeout_ms) == 1 &&
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			break;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "Pub/Sub: cannot connect to %s",
			ep->authority);
	return fd;
}

struct stream {
	int fd;
	SSL_CTX *ssl_ctx;
	SSL *ssl;
	nghttp2_session *h2;
	int32_t sid;
	struct buf out;          /* request bytes not yet taken by nghttp2 */
	size_t out_off;
	int deferred;            /* the data source said DEFERRED: resume on new data */
	struct grpc_deframer df;
	struct grpc_result res;
	Eventbus__V1__FetchResponse *q[QUEUE_MAX];
	size_t qhead, qlen;
	int local_error;
	struct pt_err err;
	time_t last_rx;
	int opened, open_reported;
	int closed;              /* stream closed (trailers, RST_STREAM, GOAWAY, EOF) */
	uint32_t rst_code;
	int saw_rst;
};

/* TLS with system CAs, peer and host verified, ALPN h2 (else UNAVAILABLE). */
static int tls_start(struct stream *st, const struct endpoint *ep, long timeout_ms,
	struct pt_err *err)
{
	static const unsigned char alpn[] = { 2, 'h', '2' };
	const unsigned char *sel = NULL;
	unsigned sel_len = 0;
	struct pollfd pfd = { .fd = st->fd };
	int rc;

	if (!(st->ssl_ctx = SSL_CTX_new(TLS_client_method())) ||
		SSL_CTX_set_default_verify_paths(st->ssl_ctx) != 1 ||
		SSL_CTX_set_alpn_protos(st->ssl_ctx, alpn, sizeof(alpn)) != 0 ||
		!(st->ssl = SSL_new(st->ssl_ctx)))
		return pt_err_set(err, PT_INTERNAL, "TLS setup failed");
	SSL_CTX_set_verify(st->ssl_ctx, SSL_VERIFY_PEER, NULL);
	SSL_set_tlsext_host_name(st->ssl, ep->host);
	SSL_set1_host(st->ssl, ep->host);
	SSL_set_fd(st->ssl, st->fd);
	while ((rc = SSL_connect(st->ssl)) != 1) {
		int e = SSL_get_error(st->ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "Pub/Sub: TLS handshake failed");
		pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, (int)timeout_ms) != 1)
			return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "Pub/Sub: TLS handshake timed out");
	}
	SSL_get0_alpn_selected(st->ssl, &sel, &sel_len);
	if (sel_len != 2 || memcmp(sel, "h2", 2) != 0)
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "Pub/Sub: server did not select h2");
	return 0;
}

/* Raw I/O: >0 bytes, 0 would block, -1 closed or failed. */
static ssize_t io_send(struct stream *st, const void *p, size_t n)
{
	if (st->ssl) {
		int rc = SSL_write(st->ssl, p, (int)n);
		if (rc > 0)
			return rc;
		rc = SSL_get_error(st->ssl, rc);
		return rc == SSL_ERROR_WANT_WRITE || rc == SSL_ERROR_WANT_READ ? 0 : -1;
	}
	ssize_t w = send(st->fd, p, n, MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	return w;
}

static ssize_t io_recv(struct stream *st, void *p, size_t n)
{
	if (st->ssl) {
		int rc = SSL_read(st->ssl, p, (int)n);
		if (rc > 0)
			return rc;
		rc = SSL_get_error(st->ssl, rc);
		return rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE ? 0 : -1;
	}
	ssize_t r = recv(st->fd, p, n, 0);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	return r == 0 ? -1 : r;
}

/* ---- the Subscribe stream: nghttp2 callbacks ------------------------ */

static ssize_t h2_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
	struct stream *st = ud;
	ssize_t w = io_send(st, data, len);
	(void)s;
	(void)flags;
	if (w == 0)
		return NGHTTP2_ERR_WOULDBLOCK;
	return w < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : w;
}

static int h2_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
	size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct stream *st = ud;
	char line[2048];
	int n;
	(void)s;
	(void)flags;
	if (f->hd.stream_id != st->sid)
		return 0;
	if (nlen == 7 && memcmp(name, ":status", 7) == 0)
		n = snprintf(line, sizeof(line), "HTTP/2 %.*s\r\n", (int)vlen, (const char *)value);
	else
		n = snprintf(line, sizeof(line), "%.*s: %.*s\r\n", (int)nlen, (const char *)name,
			(int)vlen, (const char *)value);
	if (n > 0)
		grpc_result_header(&st->res, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	if (st->res.http_status == 200)
		st->opened = 1;
	st->last_rx = time(NULL);
	return 0;
}

static int stream_msg(void *ctx, const unsigned char *m, size_t len, struct pt_err *err)
{
	struct stream *st = ctx;
	Eventbus__V1__FetchResponse *r;

	if (st->qlen == QUEUE_MAX)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "too many unhandled FetchResponses");
	r = eventbus__v1__fetch_response__unpack(NULL, len, m);
	if (!r)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "undecodable FetchResponse");
	st->q[(st->qhead + st->qlen) % QUEUE_MAX] = r;
	st->qlen++;
	return 0;
}

static int h2_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data,
	size_t len, void *ud)
{
	struct stream *st = ud;
	(void)s;
	(void)flags;
	if (sid != st->sid || st->local_error)
		return 0;
	st->last_rx = time(NULL);
	if (grpc_deframer_feed(&st->df, data, len, stream_msg, st, &st->err) < 0)
		st->local_error = 1;
	return 0;
}

static int h2_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
	struct stream *st = ud;
	(void)s;
	if (sid == st->sid) {
		st->closed = 1;
		st->rst_code = code;
	}
	return 0;
}

static int h2_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct stream *st = ud;
	(void)s;
	if (f->hd.type == NGHTTP2_GOAWAY)
		st->closed = 1;
	if (f->hd.type == NGHTTP2_RST_STREAM && f->hd.stream_id == st->sid)
		st->saw_rst = 1;
	return 0;
}

/* Request body source: what is queued, else DEFERRED (never END_STREAM). */
static ssize_t h2_body(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
	uint32_t *dflags, nghttp2_data_source *src, void *ud)
{
	struct stream *st = ud;
	size_t avail = st->out.len - st->out_off;
	(void)s;
	(void)sid;
	(void)dflags;
	(void)src;
	if (avail == 0) {
		st->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (len > avail)
		len = avail;
	memcpy(buf, st->out.data + st->out_off, len);
	st->out_off += len;
	if (st->out_off == st->out.len) {
		buf_reset(&st->out);
		st->out_off = 0;
	}
	return (ssize_t)len;
}

/* ---- the Subscribe stream: session ---------------------------------- */

/* Queues a FetchRequest; resumes the deferred request body. */
static int stream_send(struct stream *st, const char *topic, const struct pubsub_sub *s,
	int num, struct pt_err *err)
{
	if (pubsub_fetch_request(&st->out, topic, s->preset, s->replay_id, s->replay_id_len,
		num, err) < 0)
		return -1;
	if (st->deferred && st->h2) {
		st->deferred = 0;
		nghttp2_session_resume_data(st->h2, st->sid);
	}
	return 0;
}

#define NV(n, v, fl) { (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), (fl) }

static int submit_subscribe(struct stream *st, const struct pubsub_conn *c,
	const struct endpoint *ep, struct pt_err *err)
{
	const nghttp2_nv nva[] = {
		NV(":method", "POST", NGHTTP2_NV_FLAG_NONE),
		NV(":scheme", ep->tls ? "https" : "http", NGHTTP2_NV_FLAG_NONE),
		NV(":path", "/eventbus.v1.PubSub/Subscribe", NGHTTP2_NV_FLAG_NONE),
		NV(":authority", ep->authority, NGHTTP2_NV_FLAG_NONE),
		NV("te", "trailers", NGHTTP2_NV_FLAG_NONE),
		NV("content-type", "application/grpc", NGHTTP2_NV_FLAG_NONE),
		NV("user-agent", "portal-subscriberd", NGHTTP2_NV_FLAG_NONE),
		NV("accesstoken", c->access_token, NGHTTP2_NV_FLAG_NO_INDEX),
		NV("instanceurl", c->instance_url, NGHTTP2_NV_FLAG_NONE),
		NV("tenantid", c->tenant_id, NGHTTP2_NV_FLAG_NONE),
	};
	nghttp2_data_provider body = { .source.ptr = st, .read_callback = h2_body };

	if (nghttp2_submit_settings(st->h2, NGHTTP2_FLAG_NONE, NULL, 0) != 0)
		return pt_err_set(err, PT_INTERNAL, "nghttp2 settings failed");
	st->sid = nghttp2_submit_request(st->h2, NULL, nva, sizeof(nva) / sizeof(nva[0]),
		&body, st);
	if (st->sid < 0)
		return pt_err_set(err, PT_INTERNAL, "nghttp2 request failed");
	return 0;
}

static int session_new(struct stream *st, struct pt_err *err)
{
	nghttp2_session_callbacks *cb;
	int rc;

	if (nghttp2_session_callbacks_new(&cb) != 0)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	nghttp2_session_callbacks_set_send_callback(cb, h2_send);
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_close);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_frame);
	rc = nghttp2_session_client_new(&st->h2, cb, st);
	nghttp2_session_callbacks_del(cb);
	return rc == 0 ? 0 : pt_err_set(err, PT_INTERNAL, "nghttp2 session failed");
}

/* Reads what the socket has; -1 when the connection is gone. */
static int pump_in(struct stream *st)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t r = io_recv(st, buf, sizeof(buf));
		if (r == 0)
			return 0;
		if (r < 0)
			return -1;
		if (nghttp2_session_mem_recv(st->h2, buf, (size_t)r) < 0)
			return -1;
	}
}

static void stream_free(struct stream *st)
{
	while (st->qlen) {
		eventbus__v1__fetch_response__free_unpacked(st->q[st->qhead], NULL);
		st->qhead = (st->qhead + 1) % QUEUE_MAX;
		st->qlen--;
	}
	nghttp2_session_del(st->h2);
	if (st->ssl)
		SSL_free(st->ssl);
	if (st->ssl_ctx)
		SSL_CTX_free(st->ssl_ctx);
	if (st->fd >= 0)
		close(st->fd);
	buf_free(&st->out);
	grpc_deframer_free(&st->df);
}

/* Hands one response's events to the handler, then tops up the credit.
 * *pending tracks what the server still owes. */
static enum pubsub_end handle_response(struct stream *st, Eventbus__V1__FetchResponse *r,
	const struct pubsub_sub *s, const struct pubsub_handler *h, volatile sig_atomic_t *stop,
	int *pending, struct pt_err *err)
{
	for (size_t i = 0; i < r->n_events; i++) {
		const Eventbus__V1__ConsumerEvent *ce = r->events[i];
		struct pubsub_event ev;
		if (stop && *stop)
			return PUBSUB_END_STOP;
		if (!ce || !ce->event)
			continue;
		ev.event_id = ce->event->id ? ce->event->id : "";
		ev.schema_id = ce->event->schema_id ? ce->event->schema_id : "";
		ev.payload = ce->event->payload.data;
		ev.payload_len = ce->event->payload.len;
		ev.replay_id = ce->replay_id.data;
		ev.replay_id_len = ce->replay_id.len;
		if (h->on_event(h->ctx, &ev) < 0)
			return PUBSUB_END_HANDLER;
	}
	if (r->n_events == 0 && st->qlen == 0 && h->on_keepalive &&
		h->on_keepalive(h->ctx, r->latest_replay_id.data, r->latest_replay_id.len) < 0)
		return PUBSUB_END_HANDLER;
	*pending = r->pending_num_requested;
	if (*pending <= s->batch / 2) {
		if (stream_send(st, NULL, s, s->batch - *pending, err) < 0)
			return PUBSUB_END_LOCAL;
		*pending = s->batch;
	}
	return PUBSUB_END_STATUS;   /* = carry on */
}

static enum pubsub_end drain_queue(struct stream *st, const struct pubsub_sub *s,
	const struct pubsub_handler *h, volatile sig_atomic_t *stop, int *pending,
	struct pt_err *err)
{
	while (st->qlen) {
		Eventbus__V1__FetchResponse *r = st->q[st->qhead];
		enum pubsub_end end;
		st->qhead = (st->qhead + 1) % QUEUE_MAX;
		st->qlen--;
		end = handle_response(st, r, s, h, stop, pending, err);
		eventbus__v1__fetch_response__free_unpacked(r, NULL);
		if (end != PUBSUB_END_STATUS)
			return end;
	}
	return PUBSUB_END_STATUS;
}

/* The status of a stream that ended without grpc-status (RST_STREAM, GOAWAY, EOF). */
static void status_without_trailers(struct stream *st)
{
	int s = GRPC_UNAVAILABLE;

	if (st->res.have_status || (st->res.http_status && st->res.http_status != 200))
		return;
	if (st->saw_rst) {
		switch (st->rst_code) {
		case NGHTTP2_NO_ERROR: s = GRPC_INTERNAL; break;
		case NGHTTP2_REFUSED_STREAM: s = GRPC_UNAVAILABLE; break;
		case NGHTTP2_CANCEL: s = GRPC_CANCELLED; break;
		case NGHTTP2_ENHANCE_YOUR_CALM: s = GRPC_RESOURCE_EXHAUSTED; break;
		default: s = GRPC_INTERNAL; break;
		}
	}
	st->res.have_status = 1;
	st->res.status = s;
	snprintf(st->res.message, sizeof(st->res.message), "stream ended without grpc-status%s",
		st->saw_rst ? " (RST_STREAM)" : "");
}

static void report_open(struct stream *st, const struct pubsub_handler *h)
{
	if (!st->open_reported && (st->opened || nghttp2_session_get_stream_user_data(st->h2,
		st->sid))) {
		st->open_reported = 1;
		if (h->on_open)
			h->on_open(h->ctx);
	}
}

/* One round: flush output, hand queued responses over, then wait ≤ POLL_MS. */
static enum pubsub_end stream_loop(struct stream *st, const struct pubsub_sub *s,
	const struct pubsub_handler *h, volatile sig_atomic_t *stop, struct pt_err *err)
{
	int pending = s->batch;
	enum pubsub_end end;

	for (;;) {
		struct pollfd pfd = { .fd = st->fd, .events = POLLIN };
		if (nghttp2_session_send(st->h2) != 0)
			st->closed = 1;
		if (st->local_error) {
			*err = st->err;
			return PUBSUB_END_LOCAL;
		}
		report_open(st, h);
		end = drain_queue(st, s, h, stop, &pending, err);
		if (end != PUBSUB_END_STATUS)
			return end;
		if (st->closed)
			break;
		if (stop && *stop)
			return PUBSUB_END_STOP;
		if (time(NULL) - st->last_rx > s->idle_timeout_s)
			return PUBSUB_END_IDLE;
		if (st->out.len > st->out_off || nghttp2_session_want_write(st->h2))
			nghttp2_session_send(st->h2);
		if (nghttp2_session_want_write(st->h2))
			pfd.events |= POLLOUT;
		if ((st->ssl && SSL_pending(st->ssl)) || poll(&pfd, 1, POLL_MS) > 0)
			if (pump_in(st) < 0)
				st->closed = 1;
	}
	status_without_trailers(st);
	grpc_result_err(&st->res, err);
	return PUBSUB_END_STATUS;
}

/* Cancels an open stream politely (RST_STREAM CANCEL) before the socket goes. */
static void stream_cancel(struct stream *st)
{
	if (st->h2 && st->sid > 0 && !st->closed) {
		nghttp2_submit_rst_stream(st->h2, NGHTTP2_FLAG_NONE, st->sid, NGHTTP2_CANCEL);
		nghttp2_session_send(st->h2);
	}
}

enum pubsub_end pubsub_subscribe(const struct pubsub_conn *c, const struct pubsub_sub *s,
	const struct pubsub_handler *h, volatile sig_atomic_t *stop,
	struct grpc_result *res, struct pt_err *err)
{
	struct stream *st = calloc(1, sizeof(*st));
	struct endpoint ep;
	enum pubsub_end end = PUBSUB_END_LOCAL;
	long tmo = c->timeout_ms > 0 ? c->timeout_ms : 10000;

	if (!st) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return PUBSUB_END_LOCAL;
	}
	st->fd = -1;
	buf_init(&st->out, 64 * 1024);
	grpc_deframer_init(&st->df, 0);
	grpc_result_init(&st->res);
	st->last_rx = time(NULL);
	if (endpoint_parse(c->endpoint, &ep, err) < 0 ||
		(st->fd = tcp_connect(&ep, tmo, err)) < 0 ||
		(ep.tls && tls_start(st, &ep, tmo, err) < 0) ||
		stream_send(st, s->topic, s, s->batch, err) < 0 ||
		session_new(st, err) < 0 || submit_subscribe(st, c, &ep, err) < 0) {
		if (err && err->code == PT_UPSTREAM_UNAVAILABLE) {
			/* connect/TLS failure = UNAVAILABLE [GRPC] */
			st->res.have_status = 1;
			st->res.status = GRPC_UNAVAILABLE;
			str_lcpy(st->res.message, err->detail, sizeof(st->res.message));
			end = PUBSUB_END_STATUS;
		}
		goto out;
	}
	end = stream_loop(st, s, h, stop, err);
	if (end != PUBSUB_END_STATUS)
		stream_cancel(st);
out:
	if (res)
		*res = st->res;
	stream_free(st);
	free(st);
	return end;
}
