/* queue — the provisioning job queue: a Redis Stream read through a consumer
 * group, so any number of workers share it (at-least-once). Entries a dead
 * worker left pending are re-claimed after a visibility timeout (XAUTOCLAIM);
 * an entry delivered more than max_deliveries times moves to the
 * dead-letter stream, where an operator can look at it and re-queue it. */
#ifndef PT_STORE_QUEUE_H
#define PT_STORE_QUEUE_H

#include "core/err.h"

struct redis;

#define QUEUE_STREAM      "portal:q:provisioning"
#define QUEUE_DEAD_STREAM "portal:q:provisioning:dead"
#define QUEUE_GROUP       "provisiond"
#define QUEUE_ID_MAX      48      /* "1700000000000-123" fits easily */
#define QUEUE_FIELD_MAX   128

/* One job as the subscriber writes it: XADD … sf_order_id <id> event_id <uuid>. */
struct queue_job {
	char id[QUEUE_ID_MAX];               /* stream entry id */
	char sf_order_id[QUEUE_FIELD_MAX];   /* as written: not yet validated */
	char event_id[QUEUE_FIELD_MAX];
	long deliveries;                     /* 1 on first delivery */
};

struct queue_opts {
	const char *stream;          /* NULL → QUEUE_STREAM */
	const char *dead_stream;     /* NULL → QUEUE_DEAD_STREAM */
	const char *group;           /* NULL → QUEUE_GROUP */
	const char *consumer;        /* this worker: "host:pid" */
	long visibility_ms;          /* pending entries idle longer are re-claimed */
	long max_deliveries;         /* past this an entry goes to the dead stream */
};

struct queue;

/* r is borrowed; its command timeout must exceed the block time given to
 * queue_next. Creates nothing yet: see queue_ensure_group. */
struct queue *queue_new(struct redis *r, const struct queue_opts *opts, struct pt_err *err);
void queue_free(struct queue *q);

/* XGROUP CREATE … $ MKSTREAM; "group exists" is success (several workers
 * start at once). */
int queue_ensure_group(struct queue *q, struct pt_err *err);

/* The next job for this consumer: first an entry idle past the visibility
 * timeout (XAUTOCLAIM), else a new one (XREADGROUP BLOCK block_ms). Entries
 * over max_deliveries are moved to the dead stream on the way and not
 * returned. 1 = job filled, 0 = nothing within block_ms, -1 = Redis error. */
int queue_next(struct queue *q, long block_ms, struct queue_job *job, struct pt_err *err);

int queue_ack(struct queue *q, const char *id, struct pt_err *err);

/* XADD to the dead stream (with the reason and delivery count), then XACK. */
int queue_dead_letter(struct queue *q, const struct queue_job *job, const char *reason,
	struct pt_err *err);

/* XADD sf_order_id / event_id; id_out (QUEUE_ID_MAX) may be NULL. */
int queue_enqueue(struct queue *q, const char *sf_order_id, const char *event_id,
	char *id_out, struct pt_err *err);

struct queue_stats {
	long length;         /* XLEN of the stream */
	long pending;        /* delivered, not yet acked */
	long consumers;      /* consumers known to the group */
	long dead;           /* XLEN of the dead stream */
	int group_exists;
};
int queue_stats(struct queue *q, struct queue_stats *out, struct pt_err *err);

/* Moves dead entry `id` (NULL = all of them) back to the stream as a new
 * job. *moved = how many; an unknown id → PT_NOT_FOUND. */
int queue_retry_dead(struct queue *q, const char *id, long *moved, struct pt_err *err);

#endif
