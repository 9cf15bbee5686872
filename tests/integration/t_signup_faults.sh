#!/bin/bash
# t_signup_faults.sh — the sign-up failure points of docs/signup.md that
# t_auth.sh does not drive (issue 6 item 1), through the web server against
# the simulators and the run's PostgreSQL:
#   * AddClient done but its answer lost: the WHMCS simulator delays AddClient
#     past WHMCS_TIMEOUT_MS (5 s in the test config) and then performs it
#     (simulators.md: a delay-only fault is answered normally afterwards), so
#     the portal answers 503 while the client exists; the retry adopts that
#     client (found by email with our customer number): one client, one
#     AddClient call;
#   * PostgreSQL down at sign-up → 503 MAINTENANCE, no WHMCS call, no
#     Salesforce write-back, nothing left behind;
#   * two sign-ups racing on one account → exactly one 201 and one 409, one
#     WHMCS client, one portal user;
#   * PostgreSQL lost in the middle: the pending row is written, AddClient is
#     held (a delay shorter than WHMCS_TIMEOUT_MS, so it answers and the client
#     exists) and PostgreSQL is stopped meanwhile → 503 MAINTENANCE, no user;
#     the client id could not be recorded and the claim stays until it ends
#     (a retry before that → 409 CONFLICT, no WHMCS call); after it the retry
#     adopts the client: 201, one client, one AddClient call, mapped to it.
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

SF="http://127.0.0.1:$SIM_SF_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
net=127.0.3
[ "$IT_WEB" = apache ] && net=127.0.4
IP=$net.30
PW='Blue-Harbour-Lantern-42'
EMAILS="'hanako.suzuki@example.jp','mai.watanabe@example.jp'"
OUT=$IT_ROOT/signup-faults-$IT_WEB
mkdir -p "$OUT"

rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }
rl_flush() { rcli --scan --pattern 'rl:*' | while read -r k; do rcli DEL "$k" >/dev/null; done; }
db() { psql "$DATABASE_URL" -qAtc "$1"; }
cleanup() {
	db "DELETE FROM users WHERE email IN ($EMAILS); DELETE FROM signup_pending;" >/dev/null 2>&1
	rl_flush
	curl -s -XPOST "$SF/__sim/reset" >/dev/null
	curl -s -XPOST "$WH/__sim/reset" >/dev/null
}
trap cleanup EXIT

req() { it_http "$1" "$2" --interface "$IP" -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
error_is() { it_status_is "$1" && it_json_eq .error.code "$2"; }
fault() { curl -s -XPOST "$1/__sim/faults" -d "$2" >/dev/null; }
wh_clients_with() { curl -s "$WH/__sim/state" | jq --arg e "$1" '[.clients[] | select(.email == $e)] | length'; }
wh_calls() { curl -s "$WH/__sim/calls" | jq --arg a "$1" '[.[] | select(.action == $a)] | length'; }
sf_writes() { curl -s "$SF/__sim/calls" | jq '[.[] | select(.method == "PATCH")] | length'; }
one_client() { [ "$(wh_clients_with "$1")" = 1 ]; }
users_with() { db "SELECT count(*) FROM users WHERE email = '$1'"; }
signup_json() { # number email
	jq -nc --arg n "$1" --arg e "$2" --arg p "$PW" '{customer_number: $n, email: $e, password: $p,
		first_name: "Hanako", last_name: "Suzuki", phone: "09022220202",
		address: {postcode: "150-0002", prefecture: "Tokyo", city: "Shibuya-ku", street: "2-3-4 Shibuya",
		building: "Sky 5F"}}'
}
A2=$(signup_json CN10000002 hanako.suzuki@example.jp)
A6=$(signup_json CN10000006 mai.watanabe@example.jp)

cleanup

# ---------------------------------------------------------------- PostgreSQL down
it_stop_postgres
req POST /api/auth/signup "$A2"
it_check "PostgreSQL down: sign-up → 503 MAINTENANCE" error_is 503 MAINTENANCE
it_check "PostgreSQL down: Retry-After 15 (err table's MAINTENANCE default)" it_header_eq Retry-After 15
it_check "PostgreSQL down: no WHMCS call at all" test "$(curl -s "$WH/__sim/calls" | jq length)" = 0
it_check "PostgreSQL down: no Salesforce write-back" test "$(sf_writes)" = 0
it_start_postgres_again
health_ok() { it_http GET /health; [ "$IT_LAST_STATUS" = 200 ]; }
it_check "PostgreSQL back: /health 200" it_wait_for 20 health_ok
for i in 1 2 3 4 5 6; do it_http GET /health; done   # every pooled process reconnects
it_check "PostgreSQL down: nothing left behind (no user, no pending row)" \
	test "$(db "SELECT (SELECT count(*) FROM users WHERE email IN ($EMAILS)) + (SELECT count(*) FROM signup_pending)")" = 0

# ---------------------------------------------------------------- AddClient answer lost
fault "$WH" '{"match": "AddClient", "delay_ms": 6500, "count": 1}'
req POST /api/auth/signup "$A2"
it_check "AddClient answer lost (timeout): 503" it_status_is 503
it_check "AddClient answer lost (timeout): Retry-After 30 (UPSTREAM_UNAVAILABLE default)" it_header_eq Retry-After 30
it_check "AddClient answer lost: no portal user" test "$(users_with hanako.suzuki@example.jp)" = 0
it_check "AddClient answer lost: the client exists in WHMCS once the delayed action ran" \
	it_wait_for 10 one_client hanako.suzuki@example.jp
it_check "AddClient answer lost: pending row without a client id" \
	test "$(db "SELECT count(*) FROM signup_pending WHERE whmcs_client_id IS NULL")" = 1
wid=$(curl -s "$WH/__sim/state" | jq -r '.clients[] | select(.email == "hanako.suzuki@example.jp") | .id')
req POST /api/auth/signup "$A2"
it_check "retry: 201" it_status_is 201
it_check "retry: the existing WHMCS client adopted" it_json_eq '.data.account.whmcs_client_id | tostring' "$wid"
it_check "retry: still exactly one WHMCS client with the email" test "$(wh_clients_with hanako.suzuki@example.jp)" = 1
it_check "retry: AddClient called once in all" test "$(wh_calls AddClient)" = 1
it_check "retry: pending row gone" test "$(db "SELECT count(*) FROM signup_pending")" = 0
it_check "retry: id mapping with the adopted client" test \
	"$(db "SELECT m.whmcs_client_id FROM id_mappings m JOIN users u ON u.id = m.user_id WHERE u.email = 'hanako.suzuki@example.jp'")" = "$wid"

# ---------------------------------------------------------------- two sign-ups racing on one account
# AddClient slowed down so the first attempt still holds the account's claim
# when the second arrives.
fault "$WH" '{"match": "AddClient", "delay_ms": 1500, "count": 1}'
for n in 1 2; do
	curl -s -o "$OUT/race$n.body" -w '%{http_code}\n' --max-time 20 --interface "$IP" \
		-H 'Content-Type: application/json' --data-binary "$A6" \
		"$IT_BASE_URL/api/auth/signup" >"$OUT/race$n.status" &
done
wait
statuses=$(cat "$OUT"/race1.status "$OUT"/race2.status | sort | tr '\n' ' ')
it_log "race: statuses $statuses; 409 code $(cat "$OUT"/race*.body | jq -r '.error.code // empty')"
it_check "race: exactly one 201 and one 409" test "$statuses" = "201 409 "
it_check "race: the 409 is CONFLICT or ACCOUNT_ALREADY_REGISTERED" bash -c \
	"cat '$OUT'/race*.body | jq -e -s 'map(.error.code // empty) | length == 1 and (.[0] == \"CONFLICT\" or .[0] == \"ACCOUNT_ALREADY_REGISTERED\")'"
it_check "race: one WHMCS client with the email" test "$(wh_clients_with mai.watanabe@example.jp)" = 1
it_check "race: one more AddClient call (2 in this script)" test "$(wh_calls AddClient)" = 2
it_check "race: one portal user" test "$(users_with mai.watanabe@example.jp)" = 1

# ---------------------------------------------------------------- PostgreSQL lost while AddClient runs
# docs/signup.md, row "5 PostgreSQL down after AddClient". Fresh state (the
# sign-up candidates are A2 and A6 only): A2 again, from the start.
cleanup
# 3.5 s: under WHMCS_TIMEOUT_MS (5 s), long enough to stop PostgreSQL meanwhile.
fault "$WH" '{"match": "AddClient", "delay_ms": 3500, "count": 1}'
curl -s -o "$OUT/pgmid.body" -D "$OUT/pgmid.headers" -w '%{http_code}' --max-time 20 --interface "$IP" \
	-H 'Content-Type: application/json' --data-binary "$A2" \
	"$IT_BASE_URL/api/auth/signup" >"$OUT/pgmid.status" &
pgmid=$!
# GetClientsDetails (not delayed) comes after the pending row and right
# before AddClient; the simulator logs a delayed call only once answered.
gcd_seen() { [ "$(wh_calls GetClientsDetails)" -ge 1 ]; }
it_check "PostgreSQL mid-sign-up: the attempt reached WHMCS" it_wait_for 10 gcd_seen
sleep 0.5
it_stop_postgres
wait "$pgmid"
it_log "PostgreSQL mid-sign-up: first attempt $(cat "$OUT/pgmid.status") $(cat "$OUT/pgmid.body")"
# shellcheck disable=SC2034  # read by lib.sh's it_status_is / it_json_eq
IT_LAST_STATUS=$(cat "$OUT/pgmid.status") IT_LAST_BODY=$OUT/pgmid.body IT_LAST_HEADERS=$OUT/pgmid.headers
it_check "PostgreSQL mid-sign-up: 503 MAINTENANCE" error_is 503 MAINTENANCE
it_check "PostgreSQL mid-sign-up: Retry-After" it_header_eq Retry-After 15
it_check "PostgreSQL mid-sign-up: AddClient was answered (client exists in WHMCS)" \
	test "$(wh_clients_with hanako.suzuki@example.jp)" = 1
it_start_postgres_again
it_check "PostgreSQL mid-sign-up, back: /health 200" it_wait_for 20 health_ok
for _ in 1 2 3 4 5 6; do it_http GET /health; done   # every pooled process reconnects
it_check "PostgreSQL mid-sign-up: no portal user" test "$(users_with hanako.suzuki@example.jp)" = 0
# The database was gone when AddClient answered: no client id recorded, and the
# claim (60 s) could not be released.
it_check "PostgreSQL mid-sign-up: pending row left, without a client id, claimed for at most 60 s" \
	test "$(db "SELECT count(*) FROM signup_pending WHERE whmcs_client_id IS NULL
		AND claimed_until > now() AND claimed_until <= now() + interval '60 seconds'")" = 1
wid=$(curl -s "$WH/__sim/state" | jq -r '.clients[] | select(.email == "hanako.suzuki@example.jp") | .id')
req POST /api/auth/signup "$A2"
it_check "PostgreSQL mid-sign-up: retry while the claim holds → 409 CONFLICT" error_is 409 CONFLICT
it_check "PostgreSQL mid-sign-up: that retry made no AddClient call" test "$(wh_calls AddClient)" = 1
# Stands for the claim's 60 s running out (the customer retrying later).
db "UPDATE signup_pending SET claimed_until = now() - interval '1 second'" >/dev/null
req POST /api/auth/signup "$A2"
it_check "PostgreSQL mid-sign-up: retry after the claim → 201" it_status_is 201
it_check "PostgreSQL mid-sign-up: retry adopted the client AddClient created" \
	it_json_eq '.data.account.whmcs_client_id | tostring' "$wid"
it_check "PostgreSQL mid-sign-up: exactly one WHMCS client with the email" \
	test "$(wh_clients_with hanako.suzuki@example.jp)" = 1
it_check "PostgreSQL mid-sign-up: one AddClient call in all" test "$(wh_calls AddClient)" = 1
it_check "PostgreSQL mid-sign-up: one portal user" test "$(users_with hanako.suzuki@example.jp)" = 1
it_check "PostgreSQL mid-sign-up: pending row gone" test "$(db "SELECT count(*) FROM signup_pending")" = 0
it_check "PostgreSQL mid-sign-up: id mapping with the adopted client" test \
	"$(db "SELECT m.whmcs_client_id FROM id_mappings m JOIN users u ON u.id = m.user_id WHERE u.email = 'hanako.suzuki@example.jp'")" = "$wid"

it_summary
