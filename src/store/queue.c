/* queue — Redis Streams consumer group for provisioning jobs (see queue.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/queue.h"
#include "store/redis.h"

struct queue {
	struct redis *r;
	char stream[QUEUE_FIELD_MAX];
	char dead[QUEUE_FIELD_MAX];
	char group[QUEUE_FIELD_MAX];
	char consumer[QUEUE_FIELD_MAX];
	long visibility_ms;
	long max_deliveries;
};

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

struct queue *queue_new(struct redis *r, const struct queue_opts *opts, struct pt_err *err)
{
	struct queue *q;

	if (!r || !opts || !opts->consumer || !*opts->consumer) {
		pt_err_set(err, PT_INTERNAL, "queue: redis and consumer name required");
		return NULL;
	}
	q = calloc(1, sizeof *q);
	if (!q) {
		pt_err_set(err, PT_INTERNAL, "queue: out of memory");
		return NULL;
	}
	q->r = r;
	copy(q->stream, sizeof q->stream, opts->stream ? opts->stream : QUEUE_STREAM);
	copy(q->dead, sizeof q->dead, opts->dead_stream ? opts->dead_stream : QUEUE_DEAD_STREAM);
	copy(q->group, sizeof q->group, opts->group ? opts->group : QUEUE_GROUP);
	copy(q->consumer, sizeof q->consumer, opts->consumer);
	q->visibility_ms = opts->visibility_ms > 0 ? opts->visibility_ms : 300000;
	q->max_deliveries = opts->max_deliveries > 0 ? opts->max_deliveries : 5;
	return q;
}

void queue_free(struct queue *q)
{
	free(q);
}

/* An error reply becomes -1 + PT_UPSTREAM_UNAVAILABLE with Redis's text. */
static int reply_error(redisReply *rep, const char *what, struct pt_err *err)
{
	if (rep && rep->type == REDIS_REPLY_ERROR)
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "%s: %s", what, rep->str);
	return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "%s: unexpected reply", what);
}

int queue_ensure_group(struct queue *q, struct pt_err *err)
{
	redisReply *rep = redis_cmd(q->r, err, "XGROUP CREATE %s %s $ MKSTREAM",
		q->stream, q->group);
	int rc = 0;

	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "BUSYGROUP", 9) != 0)
		rc = reply_error(rep, "XGROUP CREATE", err);
	freeReplyObject(rep);
	return rc;
}

static int is_str(const redisReply *r)
{
	return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* Fills job from one stream entry [id, [field, value, …]]; 0, or -1 when
 * the entry is not shaped like one (deleted entries come back as nil). */
static int job_from_entry(const redisReply *e, struct queue_job *job)
{
	const redisReply *f;

	memset(job, 0, sizeof *job);
	if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 2 || !is_str(e->element[0]))
		return -1;
	copy(job->id, sizeof job->id, e->element[0]->str);
	f = e->element[1];
	if (!f || f->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		if (!is_str(f->element[i]) || !is_str(f->element[i + 1]))
			continue;
		if (!strcmp(f->element[i]->str, "sf_order_id"))
			copy(job->sf_order_id, sizeof job->sf_order_id, f->element[i + 1]->str);
		else if (!strcmp(f->element[i]->str, "event_id"))
			copy(job->event_id, sizeof job->event_id, f->element[i + 1]->str);
	}
	return 0;
}

/* Delivery count of one pending entry (XPENDING key group id id 1). */
static long deliveries_of(struct queue *q, const char *id, struct pt_err *err)
{
	redisReply *rep = redis_cmd(q->r, err, "XPENDING %s %s %s %s 1",
		q->stream, q->group, id, id);
	long n = -1;

	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements >= 4 &&
	    rep->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
		n = (long)rep->element[0]->element[3]->integer;
	else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 0)
		n = 0;    /* acked meanwhile */
	else
		reply_error(rep, "XPENDING", err);
	freeReplyObject(rep);
	return n;
}

/* One entry idle past the visibility timeout, claimed for this consumer. */
static int claim_idle(struct queue *q, struct queue_job *job, struct pt_err *err)
{
	char idle[24];
	redisReply *rep, *list;
	int rc = 0;

	snprintf(idle, sizeof idle, "%ld", q->visibility_ms);
	rep = redis_cmd(q->r, err, "XAUTOCLAIM %s %s %s %s 0-0 COUNT 1",
		q->stream, q->group, q->consumer, idle);
	if (!rep)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2) {
		rc = reply_error(rep, "XAUTOCLAIM", err);
		goto out;
	}
	list = rep->element[1];
	if (list->type == REDIS_REPLY_ARRAY && list->elements > 0 &&
	    job_from_entry(list->element[0], job) == 0)
		rc = 1;
out:
	freeReplyObject(rep);
	return rc;
}

static int read_new(struct queue *q, long block_ms, struct queue_job *job, struct pt_err *err)
{
	char block[24];
	redisReply *rep, *entries;
	int rc = 0;

	snprintf(block, sizeof block, "%ld", block_ms);
	rep = redis_cmd(q->r, err, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %s STREAMS %s >",
		q->group, q->consumer, block, q->stream);
	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_NIL)
		goto out;
	if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOGROUP", 7) == 0) {
		/* Someone deleted the stream: recreate and read next time. */
		freeReplyObject(rep);
		return queue_ensure_group(q, err);
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    rep->element[0]->type != REDIS_REPLY_ARRAY || rep->element[0]->elements < 2) {
		rc = reply_error(rep, "XREADGROUP", err);
		goto out;
	}
	entries = rep->element[0]->element[1];
	if (entries->type == REDIS_REPLY_ARRAY && entries->elements > 0 &&
	    job_from_entry(entries->element[0], job) == 0) {
		job->deliveries = 1;
		rc = 1;
	}
out:
	freeReplyObject(rep);
	return rc;
}

int queue_next(struct queue *q, long block_ms, struct queue_job *job, struct pt_err *err)
{
	int rc;

	/* Bounded: each pass either returns a job or dead-letters one entry. */
	for (int i = 0; i < 100; i++) {
		rc = claim_idle(q, job, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return read_new(q, block_ms, job, err);
		job->deliveries = deliveries_of(q, job->id, err);
		if (job->deliveries < 0)
			return -1;
		if (job->deliveries <= q->max_deliveries)
			return 1;
		log_warn("provisioning job dead-lettered", "job_id", job->id,
			"order_id", job->sf_order_id, "deliveries", "max");
		if (queue_dead_letter(q, job, "max deliveries", err) != 0)
			return -1;
	}
	return 0;
}

int queue_ack(struct queue *q, const char *id, struct pt_err *err)
{
	redisReply *rep = redis_cmd(q->r, err, "XACK %s %s %s", q->stream, q->group, id);
	int rc = 0;

	if (!rep)
		return -1;
	if (rep->type != REDIS_REPLY_INTEGER)
		rc = reply_error(rep, "XACK", err);
	freeReplyObject(rep);
	return rc;
}

int queue_dead_letter(struct queue *q, const struct queue_job *job, const char *reason,
	struct pt_err *err)
{
	char n[24];
	redisReply *rep;

	snprintf(n, sizeof n, "%ld", job->deliveries);
	rep = redis_cmd(q->r, err, "XADD %s * sf_order_id %s event_id %s orig_id %s "
		"deliveries %s reason %s", q->dead, job->sf_order_id, job->event_id, job->id, n,
		reason ? reason : "");
	if (!rep)
		return -1;
	if (rep->type != REDIS_REPLY_STRING) {
		reply_error(rep, "XADD dead", err);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return queue_ack(q, job->id, err);
}

static int xadd_job(struct queue *q, const char *sf_order_id, const char *event_id,
	char *id_out, struct pt_err *err)
{
	redisReply *rep = redis_cmd(q->r, err, "XADD %s * sf_order_id %s event_id %s",
		q->stream, sf_order_id, event_id ? event_id : "");
	int rc = 0;

	if (!rep)
		return -1;
	if (rep->type != REDIS_REPLY_STRING)
		rc = reply_error(rep, "XADD", err);
	else if (id_out)
		copy(id_out, QUEUE_ID_MAX, rep->str);
	freeReplyObject(rep);
	return rc;
}

int queue_enqueue(struct queue *q, const char *sf_order_id, const char *event_id,
	char *id_out, struct pt_err *err)
{
	return xadd_job(q, sf_order_id, event_id, id_out, err);
}

static long integer_cmd(struct queue *q, const char *what, const char *key, struct pt_err *err)
{
	redisReply *rep = redis_cmd(q->r, err, "%s %s", what, key);
	long n = -1;

	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_INTEGER)
		n = (long)rep->integer;
	else
		reply_error(rep, what, err);
	freeReplyObject(rep);
	return n;
}

int queue_stats(struct queue *q, struct queue_stats *out, struct pt_err *err)
{
	redisReply *rep;

	memset(out, 0, sizeof *out);
	if ((out->length = integer_cmd(q, "XLEN", q->stream, err)) < 0 ||
	    (out->dead = integer_cmd(q, "XLEN", q->dead, err)) < 0)
		return -1;
	rep = redis_cmd(q->r, err, "XINFO GROUPS %s", q->stream);
	if (!rep)
		return -1;
	/* No stream yet → error reply: no group, nothing pending. */
	if (rep->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < rep->elements; i++) {
			const redisReply *g = rep->element[i];
			int ours = 0;
			long consumers = 0, pending = 0;

			for (size_t j = 0; g->type == REDIS_REPLY_ARRAY && j + 1 < g->elements; j += 2) {
				const char *k = g->element[j]->str;
				const redisReply *v = g->element[j + 1];

				if (!k)
					continue;
				if (!strcmp(k, "name") && is_str(v) && !strcmp(v->str, q->group))
					ours = 1;
				else if (!strcmp(k, "consumers") && v->type == REDIS_REPLY_INTEGER)
					consumers = (long)v->integer;
				else if (!strcmp(k, "pending") && v->type == REDIS_REPLY_INTEGER)
					pending = (long)v->integer;
			}
			if (ours) {
				out->group_exists = 1;
				out->consumers = consumers;
				out->pending = pending;
			}
		}
	}
	freeReplyObject(rep);
	return 0;
}

/* Re-queues one dead entry and deletes it from the dead stream. */
static int retry_entry(struct queue *q, const redisReply *e, struct pt_err *err)
{
	struct queue_job job;
	redisReply *rep;

	if (job_from_entry(e, &job) != 0)
		return 0;
	if (xadd_job(q, job.sf_order_id, job.event_id, NULL, err) != 0)
		return -1;
	rep = redis_cmd(q->r, err, "XDEL %s %s", q->dead, job.id);
	if (!rep)
		return -1;
	freeReplyObject(rep);
	log_info("dead-letter job re-queued", "job_id", job.id, "order_id", job.sf_order_id);
	return 1;
}

int queue_retry_dead(struct queue *q, const char *id, long *moved, struct pt_err *err)
{
	redisReply *rep;
	int rc = 0;

	*moved = 0;
	if (id)
		rep = redis_cmd(q->r, err, "XRANGE %s %s %s", q->dead, id, id);
	else
		rep = redis_cmd(q->r, err, "XRANGE %s - + COUNT 10000", q->dead);
	if (!rep)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY) {
		rc = reply_error(rep, "XRANGE", err);
		goto out;
	}
	if (id && rep->elements == 0) {
		rc = pt_err_set(err, PT_NOT_FOUND, "no dead-letter entry %s", id);
		goto out;
	}
	for (size_t i = 0; i < rep->elements; i++) {
		int r = retry_entry(q, rep->element[i], err);
		if (r < 0) {
			rc = -1;
			goto out;
		}
		*moved += r;
	}
out:
	freeReplyObject(rep);
	return rc;
}
