/* app/outbox — submits the orders checkout held in order_outbox while
 * Salesforce was down (docs/orders.md "The outbox row"): oldest first, each
 * once. One drainer at a time (a PostgreSQL advisory lock); a row is marked
 * 'submitting' before the create, so a drainer that dies mid-call leaves a
 * row the next one first looks up by its idempotency key (the key is unique
 * in Salesforce, so the order exists once whatever happened). Salesforce
 * still unavailable: the row goes back to 'queued' and the drain stops there,
 * so later orders never overtake it. */
#ifndef PT_APP_OUTBOX_H
#define PT_APP_OUTBOX_H

#include "core/err.h"

struct db;
struct redis;
struct sf_client;

struct outbox_ctx {
	struct db *db;
	struct sf_client *sf;
	struct redis *redis;        /* drops acct:<id>:orders; NULL = skip */
};

struct outbox_stats {
	long submitted;             /* created now */
	long adopted;               /* found by key: an earlier create went through */
	long failed;                /* refused by Salesforce: final */
	long waiting;               /* left queued (Salesforce unavailable) */
	int busy;                   /* another drainer holds the lock */
};

/* Drains up to max rows (max ≤ 0: all). -1 only for PostgreSQL. */
int outbox_drain(struct outbox_ctx *c, long max, struct outbox_stats *st, struct pt_err *err);

struct outbox_counts {
	long queued, submitting, submitted, failed;
	char oldest_queued[40];     /* created_at of the oldest waiting row, "" if none */
};
int outbox_counts(struct db *db, struct outbox_counts *out, struct pt_err *err);

#endif
