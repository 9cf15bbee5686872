#!/bin/bash
# t_health.sh — GET /health through the web server: 200 with database and redis
# "ok"; PostgreSQL stopped → 503 with database "down"; PostgreSQL back → 200
# again without restarting the apps (portal-api.md, resolutions §26).
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

it_http GET /health
it_check "GET /health is 200" it_status_is 200
it_check "content type is JSON" bash -c "grep -qi '^content-type: application/json' '$IT_LAST_HEADERS'"
it_check "status ok" it_json_eq .status ok
it_check "database ok" it_json_eq .integrations.database.status ok
it_check "redis ok" it_json_eq .integrations.redis.status ok
it_check "database latency_ms is a number" it_json '.integrations.database.latency_ms | numbers'
it_check "checked_at present" it_json '.integrations.database.checked_at | strings'
it_check "environment from config" it_json_eq .environment test
for s in salesforce whmcs freebit sftp; do
	it_check "$s listed" it_json ".integrations.$s.status | strings"
done
it_check "X-Request-Id header" it_header_present X-Request-Id
it_check "X-Content-Type-Options nosniff" it_header_eq X-Content-Type-Options nosniff
it_check "X-Frame-Options DENY" it_header_eq X-Frame-Options DENY
it_check "Content-Security-Policy" bash -c "grep -qi \"^content-security-policy: default-src 'none'\" '$IT_LAST_HEADERS'"
it_check "Referrer-Policy" it_header_present Referrer-Policy

it_log "stopping PostgreSQL"
it_stop_postgres
it_http GET /health
it_check "PostgreSQL down: 503" it_status_is 503
it_check "PostgreSQL down: Retry-After 15 (as 503 MAINTENANCE)" it_header_eq Retry-After 15
it_check "PostgreSQL down: database down" it_json_eq .integrations.database.status down
it_check "PostgreSQL down: status down" it_json_eq .status down
it_check "PostgreSQL down: redis still ok" it_json_eq .integrations.redis.status ok
it_check "PostgreSQL down: X-Request-Id" it_header_present X-Request-Id

it_log "starting PostgreSQL again"
it_start_postgres_again
health_ok() { it_http GET /health; [ "$IT_LAST_STATUS" = 200 ]; }
it_check "PostgreSQL back: 200 within 20 s, apps not restarted" it_wait_for 20 health_ok
# Every process of a pool reconnects on its own: ask a few times.
for i in 1 2 3 4 5; do it_http GET /health; [ "$IT_LAST_STATUS" = 200 ] || break; done
it_check "PostgreSQL back: every answer 200" it_status_is 200
it_check "PostgreSQL back: database ok" it_json_eq .integrations.database.status ok

it_summary
