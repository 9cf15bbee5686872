/* pubsub — Salesforce Pub/Sub API (eventbus.v1) client over libcurl HTTP/2:
 * the bidirectional Subscribe stream with num_requested flow control, and
 * the unary GetSchema / GetTopic. TLS + ALPN h2 for https:// endpoints,
 * prior-knowledge h2c for http:// (the simulator). What to do with events
 * is the caller's: handlers are called in order, one at a time, outside any
 * libcurl callback, so they may block on Redis or make unary calls. */
#ifndef PT_SALESFORCE_PUBSUB_H
#define PT_SALESFORCE_PUBSUB_H
#include <signal.h>
#include <stddef.h>
#include "core/buf.h"
#include "core/err.h"
#include "salesforce/grpc.h"

/* Where and as whom; every RPC sends these as metadata. Never log the token. */
struct pubsub_conn {
	char endpoint[256];        /* SF_PUBSUB_ENDPOINT */
	char access_token[1024];
	char instance_url[256];
	char tenant_id[64];        /* the org id */
	long timeout_ms;           /* connect timeout, and total for unary calls */
};

/* Salesforce access tokens start with the 15-char org id and '!': the
 * tenant id the Pub/Sub API wants. -1 if the token has no such prefix. */
int pubsub_tenant_from_token(const char *token, char *out, size_t size);

/* GetSchema: the writer schema JSON into json. -1 + err (and res filled)
 * on any non-OK status. */
int pubsub_get_schema(const struct pubsub_conn *c, const char *schema_id, struct buf *json,
	struct grpc_result *res, struct pt_err *err);
/* GetTopic: the topic's current schema id (checks the channel exists and is
 * subscribable: -1 + PT_NOT_FOUND / PT_UPSTREAM_ERROR otherwise). */
int pubsub_get_topic(const struct pubsub_conn *c, const char *topic, char *schema_id,
	size_t size, struct grpc_result *res, struct pt_err *err);

enum pubsub_preset { PUBSUB_LATEST = 0, PUBSUB_EARLIEST = 1, PUBSUB_CUSTOM = 2 };

struct pubsub_sub {
	const char *topic;
	enum pubsub_preset preset;
	const unsigned char *replay_id;   /* CUSTOM only */
	size_t replay_id_len;
	int batch;                        /* SF_PUBSUB_BATCH, 1..100 */
	long idle_timeout_s;              /* SF_PUBSUB_IDLE_TIMEOUT */
};

/* One received event; pointers valid during the handler call only. */
struct pubsub_event {
	const char *event_id;
	const char *schema_id;
	const unsigned char *payload;
	size_t payload_len;
	const unsigned char *replay_id;
	size_t replay_id_len;
};

struct pubsub_handler {
	void *ctx;
	/* The stream is up (request sent, or HTTP 200 seen). May be NULL. */
	void (*on_open)(void *ctx);
	/* Each event in order: 0 once durably handled; -1 ends the stream
	 * (the cursor must not have advanced). */
	int (*on_event)(void *ctx, const struct pubsub_event *ev);
	/* A keepalive, every earlier event handled: latest_replay_id. May be NULL. */
	int (*on_keepalive)(void *ctx, const unsigned char *latest, size_t len);
};

/* How a stream ended. */
enum pubsub_end {
	PUBSUB_END_STATUS = 0,   /* the server ended it: see res (grpc_result_status) */
	PUBSUB_END_STOP,         /* *stop became non-zero */
	PUBSUB_END_HANDLER,      /* a handler returned -1 (err holds its error) */
	PUBSUB_END_IDLE,         /* nothing received for idle_timeout_s: cancelled */
	PUBSUB_END_LOCAL         /* local failure (protocol error, out of memory): err */
};

/* Runs one Subscribe stream until it ends; *stop is checked at least every
 * 500 ms and between events (the current event is finished first). */
enum pubsub_end pubsub_subscribe(const struct pubsub_conn *c, const struct pubsub_sub *s,
	const struct pubsub_handler *h, volatile sig_atomic_t *stop,
	struct grpc_result *res, struct pt_err *err);

/* Building blocks, exposed for tests: the framed first FetchRequest and a top-up. */
int pubsub_fetch_request(struct buf *out, const char *topic, enum pubsub_preset preset,
	const unsigned char *replay_id, size_t replay_id_len, int num_requested,
	struct pt_err *err);
#endif
