#!/bin/bash
# f_2postgres.sh — PostgreSQL stopped and started under load (resolutions §26,
# §27, seed 000 "PostgreSQL down → display maintenance message"):
#   * /health 503 with status and database "down"; DB-backed routes (orders,
#     login) 503 MAINTENANCE, answered at once (no hang); the public catalog
#     keeps serving;
#   * after the start, every pool process answers again without restarting
#     the apps (the FastCGI pids are the same before and after);
#   * a background loop on /health and GET /api/orders counts the answers
#     by status: only 200 and 503, nothing else.
set -u
. "$(dirname "$0")/common.sh"

IP=127.0.9.10
L=$IT_ROOT/f_postgres
mkdir -p "$L"
rm -f "$L"/*
read -r TOK CSRF < <(session_for $A1 101)
[ -n "${TOK:-}" ] || it_die "no session"
pids_before=$(for a in health orders auth; do pgrep -P "$(it_pid_of fcgi-$a)"; done | sort | tr '\n' ' ')

timed GET /api/orders --interface $IP -b "portal_session=$TOK"
it_check "setup: GET /api/orders 200" it_status_is 200

STOP=$L/stop
load() {
	while [ ! -e "$STOP" ]; do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 --interface $IP "$IT_BASE_URL/health" >>"$L/health"
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 --interface $IP -b "portal_session=$TOK" \
			"$IT_BASE_URL/api/orders" >>"$L/orders"
	done
}
load &
lp=$!
sleep 1
it_log "stopping PostgreSQL"
it_stop_postgres
sleep 1
timed GET /health --interface $IP
it_check "PostgreSQL down: /health 503" it_status_is 503
it_check "PostgreSQL down: /health status down" it_json_eq .status down
it_check "PostgreSQL down: /health database down" it_json_eq .integrations.database.status down
it_check "PostgreSQL down: /health within 4 s" time_below 4
timed GET /api/orders --interface $IP -b "portal_session=$TOK"
it_check "PostgreSQL down: GET /api/orders 503 MAINTENANCE" error_is 503 MAINTENANCE
it_check "PostgreSQL down: orders within 4 s" time_below 4
ra_orders=$(it_header Retry-After)
it_check "PostgreSQL down: orders Retry-After 15 (MAINTENANCE default)" it_header_eq Retry-After 15
timed POST /api/auth/login --interface $IP -H 'Content-Type: application/json' \
	--data-binary '{"email":"faults-nobody@example.test","password":"Some-Password-123"}'
it_check "PostgreSQL down: login 503 MAINTENANCE" error_is 503 MAINTENANCE
it_check "PostgreSQL down: login Retry-After" it_header_present Retry-After
it_check "PostgreSQL down: login within 4 s" time_below 4
timed GET /api/public/services --interface $IP
it_check "PostgreSQL down: public catalog still 200" it_status_is 200
sleep 2
it_log "starting PostgreSQL again"
it_start_postgres_again
health_ok() { timed GET /health --interface $IP; [ "$IT_LAST_STATUS" = 200 ]; }
it_check "PostgreSQL back: /health 200 within 20 s" it_wait_for 20 health_ok
sleep 2
touch "$STOP"
wait $lp
ok=0
for i in $(seq 1 12); do
	timed GET /api/orders --interface $IP -b "portal_session=$TOK"
	[ "$IT_LAST_STATUS" = 200 ] && ok=$((ok + 1))
	timed GET /health --interface $IP
	[ "$IT_LAST_STATUS" = 200 ] && ok=$((ok + 1))
done
it_check "PostgreSQL back: 24 of 24 requests 200 (every pool process reconnected)" test "$ok" = 24
pids_after=$(for a in health orders auth; do pgrep -P "$(it_pid_of fcgi-$a)"; done | sort | tr '\n' ' ')
it_check "PostgreSQL back: the same FastCGI processes (apps not restarted)" test "$pids_before" = "$pids_after"
it_check "load /health: only 200/503 ($(codes "$L/health"))" test "$(count_not "$L/health" 200 503)" = 0
it_check "load /api/orders: only 200/503 ($(codes "$L/orders"))" test "$(count_not "$L/orders" 200 503)" = 0
report "postgres: /health sent=$(wc -l <"$L/health") [$(codes "$L/health")]; /api/orders sent=$(wc -l <"$L/orders") [$(codes "$L/orders")]; MAINTENANCE Retry-After='${ra_orders:-none}'"
it_summary
