#!/bin/bash
# t_sim.sh — portal-sim.fcgi through the web server against the WHMCS and
# Freebit simulators, the SFTP server, PostgreSQL and Redis (portal-api.md
# "SIM", freebit.md §5-§7, resolutions §20-§23, §28):
#   * details and usage of A3's SIM service 201; IDOR (A1's session on 201,
#     also with the line cached) and unknown ids → 404; CSRF on unsafe routes;
#   * top-up: happy path (quota added at Freebit, one AddBillableItem, same
#     key = same top-up; the same key twice at once → 409 CONFLICT for the
#     second while the first is held at Freebit, one addSpec, one bill),
#     Freebit addSpec fault → nothing added or billed,
#     WHMCS fault → billing_pending, billed exactly once by
#     `portalctl topups bill-pending`;
#   * top-up billing with an unknown outcome (AddBillableItem is not
#     idempotent): WHMCS makes the item but answers after WHMCS_TIMEOUT_MS →
#     billing_unknown (the customer reads billing_pending), a crit log line
#     with portal-topup-<id>, never billed again by bill-pending, listed by
#     `topups unknown`, `topups resolve <id> billed` → billed, one item in
#     all; connection dropped → billing_unknown, `resolve <id> unbilled` →
#     billed once by bill-pending; WHMCS stopped (connection refused) →
#     billing_pending, billed exactly once by bill-pending after its restart;
#   * network type twice → 202 then 409 OPERATION_TOO_SOON, the delayed job
#     runs after the short gap (FREEBIT_CHANGE_GAP_S=5 in the harness);
#   * plan change → 200 {effective_date}, the WHMCS UpdateClientProduct job
#     listed by `portalctl jobs list` and run once by `jobs run-due` when
#     forced due (resolutions §21);
#   * voice options on a data-only SIM → 409 SIM_ACTION_NOT_ALLOWED;
#   * calls: 2026-09 served, 2026-08 with 11 bad lines counted (good rows
#     served), 2026-11 → 404 RECORDS_NOT_AVAILABLE;
#   * usage alert recorded once when the quota is used up, listed in
#     /api/notifications; Freebit 503 with a stale copy → 200 "stale": true;
#   * Freebit 429 and a read past FREEBIT_TIMEOUT: stale copy or 503, within
#     the timeout (+1 s).
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

WH="http://127.0.0.1:$SIM_WHMCS_PORT"
FB="http://127.0.0.1:$SIM_FREEBIT_PORT"
MKSESSION=$IT_BUILDDIR/tests/integration/mksession
CTL=$IT_SBINDIR/portalctl
A1=0015F0000000001QAA A3=0015F0000000003QAA
MS1=08012340001
RUN=$IT_WEB-$$

psql_q() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }

if [ ! -x "$MKSESSION" ] || [ ! -x "$IT_LIBEXECDIR/portal-sim.fcgi" ]; then
	it_log "t_sim: mksession or portal-sim.fcgi not built: skipped"
	it_summary
	exit 0
fi

session_for() { # ACCOUNT WHMCS_ID → "<token> <csrf>"
	local acct=$1 wh=$2 uid
	uid=$(psql_q "SELECT user_id FROM id_mappings WHERE sf_account_id = '$acct'")
	if [ -z "$uid" ]; then
		uid=$(psql_q "INSERT INTO users (email, password_hash) VALUES
			('t-sim-${acct,,}-$RUN@example.test', '\$argon2id\$v=19\$m=19456,t=2,p=1\$dGVzdA\$dGVzdA')
			RETURNING id" | head -n1)
		psql_q "INSERT INTO id_mappings (user_id, whmcs_client_id, sf_account_id)
			VALUES ($uid, $wh, '$acct')" >/dev/null
	fi
	echo "$uid $("$MKSESSION" "$uid" "$acct" "$wh" 2>/dev/null)"
}

cleanup() {
	curl -sS -XDELETE "$FB/__sim/faults" >/dev/null 2>&1
	curl -sS -XDELETE "$WH/__sim/faults" >/dev/null 2>&1
	psql_q "DELETE FROM users WHERE email LIKE 't-sim-%-$RUN@example.test'" >/dev/null 2>&1
}
trap cleanup EXIT

read -r UID3 TOK3 CSRF3 < <(session_for $A3 103)
read -r UID1 TOK1 CSRF1 < <(session_for $A1 101)
[ -n "${TOK3:-}" ] && [ -n "${TOK1:-}" ] || it_die "no sessions"

curl -sS -XPOST "$WH/__sim/reset" >/dev/null
curl -sS -XPOST "$FB/__sim/reset" >/dev/null
for k in $(rcli --scan --pattern 'freebit:line:*') $(rcli --scan --pattern 'cdr:*') client:103:services client:101:services; do
	rcli DEL "$k" >/dev/null
done
psql_q "DELETE FROM notifications WHERE user_id = $UID3; DELETE FROM usage_alerts WHERE user_id = $UID3" >/dev/null

get() { it_http GET "$2" -b "portal_session=$1"; }
send() { # METHOD TOKEN CSRF PATH BODY [curl args…]
	local m=$1 tok=$2 csrf=$3 path=$4 body=$5
	shift 5
	local h=()
	[ "$csrf" != - ] && h+=(-H "X-CSRF-Token: $csrf")
	it_http "$m" "$path" -b "portal_session=$tok" -H 'Content-Type: application/json' \
		"${h[@]}" --data-binary "$body" "$@"
}
error_is() { it_status_is "$1" && it_json_eq .error.code "$2"; }
fb_remain() { curl -sS "$FB/__sim/state" | jq -r --arg m "$1" '[.. | objects | select(.account? == $m)][0] | .remainQuota // .quota.remain // empty'; }
fb_calls() { curl -sS "$FB/__sim/calls" | jq --arg p "$1" '[.[] | select((.path // .action // "") | test($p)) | select((.resultCode // "100") == "100")] | length'; }
wh_billables() { curl -sS "$WH/__sim/calls" | jq '[.[] | select((.action // "" | ascii_downcase) == "addbillableitem") | select((.status // 200) == 200)] | length'; }

# ---------------------------------------------------------------- details, usage, IDOR
get "$TOK3" /api/sim/201
it_check "details: 200" it_status_is 200
it_check "details: MSISDN, 4G, not stale" it_json_eq '"\(.data.msisdn) \(.data.network_type) \(.data.stale)"' "$MS1 4G false"
it_check "details: remaining quota" it_json '.data.traffic.remaining_quota_mb | numbers'
it_check "details: private, no-store" it_header_eq Cache-Control "private, no-store"
it_check "details: cached under freebit:line:<msisdn>:detail" test "$(rcli EXISTS freebit:line:$MS1:detail)" = 1
get "$TOK3" "/api/sim/201/usage?from=$(TZ=Asia/Tokyo date -d '-6 days' +%F)&to=$(TZ=Asia/Tokyo date +%F)"
it_check "usage: 200 with 7 days" it_json_eq '.data.days | length' 7
get "$TOK3" "/api/sim/201/usage?from=2026-13-01"
it_check "usage: bad from → 400 naming it" bash -c "[ $IT_LAST_STATUS = 400 ] && jq -e '.error.field == \"from\"' '$IT_LAST_BODY' >/dev/null"
get "$TOK1" /api/sim/201
it_check "IDOR: A1 on A3's service (line cached) → 404" error_is 404 NOT_FOUND
get "$TOK3" /api/sim/999999
it_check "unknown service → 404" error_is 404 NOT_FOUND
get "$TOK3" /api/sim/abc
it_check "malformed id → 404" error_is 404 NOT_FOUND
it_http GET /api/sim/201
it_check "no session → 401" error_is 401 UNAUTHENTICATED

# ---------------------------------------------------------------- CSRF
send POST "$TOK3" - /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-csrf"
it_check "CSRF: top-up without token → 403" error_is 403 CSRF_FAILED
send POST "$TOK3" - /api/sim/201/network-type '{"network_type":"5G"}'
it_check "CSRF: network-type without token → 403" error_is 403 CSRF_FAILED
send PUT "$TOK3" - /api/sim/201/alerts '{"threshold_percent":80}'
it_check "CSRF: alerts without token → 403" error_is 403 CSRF_FAILED
send PATCH "$TOK3" wrong /api/sim/202/voice-options '{"voicemail":true}'
it_check "CSRF: voice-options with a wrong token → 403" error_is 403 CSRF_FAILED
send POST "$TOK1" "$CSRF1" /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-idor"
it_check "IDOR: A1 tops up A3's line → 404" error_is 404 NOT_FOUND

# ---------------------------------------------------------------- top-up
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":1024}'
it_check "top-up: no Idempotency-Key → 400" error_is 400 IDEMPOTENCY_KEY_REQUIRED
it_http POST /api/sim/201/top-up -b "portal_session=$TOK3" -H "X-CSRF-Token: $CSRF3" -H "Idempotency-Key: k-$RUN-ct" \
	-H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'quota_mb=1024'
it_check "top-up: form-encoded body → 415 UNSUPPORTED_MEDIA_TYPE" error_is 415 UNSUPPORTED_MEDIA_TYPE
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":2048}' -H "Idempotency-Key: k-$RUN-bad"
it_check "top-up: size not offered → 400 quota_mb" bash -c "[ $IT_LAST_STATUS = 400 ] && jq -e '.error.field == \"quota_mb\"' '$IT_LAST_BODY' >/dev/null"
R0=$(fb_remain $MS1)
B0=$(wh_billables)
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-1"
it_check "top-up: 200 billed, 1024 MB, 500 JPY" it_json_eq '"\(.data.status) \(.data.quota_mb) \(.data.charge.amount)"' "billed 1024 500.00"
T1=$(jq -r .data.id "$IT_LAST_BODY")
it_check "top-up: Freebit quota +1024" test "$(fb_remain $MS1)" = "$((R0 + 1024))"
it_check "top-up: one AddBillableItem" test "$(wh_billables)" = "$((B0 + 1))"
it_check "top-up: row billed" test "$(psql_q "SELECT status FROM sim_topups WHERE id = $T1")" = billed
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-1"
it_check "top-up: same key → same top-up, nothing repeated" bash -c "jq -e '.data.id == $T1' '$IT_LAST_BODY' >/dev/null && [ \$(curl -sS '$WH/__sim/calls' | jq '[.[] | select((.action // \"\" | ascii_downcase) == \"addbillableitem\")] | length') = $((B0 + 1)) ]"

# Two top-ups with one key at once: the first is held at Freebit's addSpec (a
# delay under FREEBIT_TIMEOUT, 5000 ms in the harness), the second finds its
# row pending → 409 CONFLICT; one addSpec and one AddBillableItem in all. An
# app serves one request per process, so under nginx portal-sim runs as a
# two-process pool (as etc/init.d/portal-fcgi runs it) for this part.
POOL=
if [ "$IT_WEB" = nginx ] && [ "${IT_FCGI_CHILDREN:-1}" -lt 2 ] && [ -x /usr/bin/multiwatch ]; then
	it_stop_one fcgi-sim
	IT_APPS=sim IT_FCGI_CHILDREN=2 it_start_fcgi_apps
	POOL=1
fi
fb_addspecs() { curl -sS "$FB/__sim/calls" | jq '[.[] | select(.path | test("/master/addSpec/"))] | length'; }
# The simulator takes a fault off its table when the request arrives (and logs
# the call only once answered): its absence means addSpec is being held.
addspec_held() { curl -sS "$FB/__sim/faults" | jq -e 'map(select(.match == "/master/addSpec/")) | length == 0' >/dev/null; }
S0=$(fb_addspecs)
B0=$(wh_billables)
curl -sS -XPOST "$FB/__sim/faults" -H 'Content-Type: application/json' -d '{"match":"/master/addSpec/","delay_ms":3000,"count":1}' >/dev/null
curl -sS -o "$IT_ROOT/t_sim-first.body" -w '%{http_code}' --max-time 20 -X POST "$IT_BASE_URL/api/sim/201/top-up" \
	-b "portal_session=$TOK3" -H "X-CSRF-Token: $CSRF3" -H 'Content-Type: application/json' \
	-H "Idempotency-Key: k-$RUN-same" --data-binary '{"quota_mb":1024}' >"$IT_ROOT/t_sim-first.status" 2>/dev/null &
FIRST=$!
it_check "same key at once: Freebit holds the first request's addSpec" it_wait_for 10 addspec_held
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-same"
it_check "same key at once: the second → 409 CONFLICT" error_is 409 CONFLICT
it_check "same key at once: the second has Retry-After" it_header_present Retry-After
wait "$FIRST"
it_check "same key at once: the first → 200 billed" bash -c "[ \"\$(cat '$IT_ROOT/t_sim-first.status')\" = 200 ] && jq -e '.data.status == \"billed\"' '$IT_ROOT/t_sim-first.body' >/dev/null"
it_check "same key at once: exactly one addSpec" test "$(fb_addspecs)" = "$((S0 + 1))"
it_check "same key at once: exactly one AddBillableItem" test "$(wh_billables)" = "$((B0 + 1))"
it_check "same key at once: one row, billed" test "$(psql_q "SELECT string_agg(status, ',') FROM sim_topups WHERE user_id = $UID3 AND idempotency_key = 'k-$RUN-same'")" = billed
rm -f "$IT_ROOT/t_sim-first.body" "$IT_ROOT/t_sim-first.status"
curl -sS -XDELETE "$FB/__sim/faults" >/dev/null
if [ -n "$POOL" ]; then
	it_stop_one fcgi-sim
	IT_APPS=sim it_start_fcgi_apps
fi

curl -sS -XPOST "$FB/__sim/faults" -H 'Content-Type: application/json' -d '{"match":"/master/addSpec/","status":503,"count":5}' >/dev/null
R1=$(fb_remain $MS1)
B1=$(wh_billables)
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-2"
it_check "top-up, Freebit down: 503" error_is 503 UPSTREAM_UNAVAILABLE
curl -sS -XDELETE "$FB/__sim/faults" >/dev/null
it_check "top-up, Freebit down: nothing added" test "$(fb_remain $MS1)" = "$R1"
it_check "top-up, Freebit down: nothing billed" test "$(wh_billables)" = "$B1"
it_check "top-up, Freebit down: row failed" test "$(psql_q "SELECT status FROM sim_topups WHERE user_id = $UID3 AND idempotency_key = 'k-$RUN-2'")" = failed

curl -sS -XPOST "$WH/__sim/faults" -H 'Content-Type: application/json' -d '{"match":"AddBillableItem","status":503,"count":1}' >/dev/null
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":3072}' -H "Idempotency-Key: k-$RUN-3"
it_check "top-up, WHMCS down: 200 billing_pending" it_json_eq .data.status billing_pending
it_check "top-up, WHMCS down: quota added anyway" test "$(fb_remain $MS1)" = "$((R1 + 3072))"
B2=$(wh_billables)
it_check "bill-pending: billed=1" bash -c "'$CTL' topups bill-pending | grep -qx 'billed=1 failed=0 unknown=0'"
it_check "bill-pending: one more AddBillableItem" test "$(wh_billables)" = "$((B2 + 1))"
it_check "bill-pending: again bills nothing" bash -c "'$CTL' topups bill-pending | grep -qx 'billed=0 failed=0 unknown=0'"
it_check "bill-pending: still exactly one" test "$(wh_billables)" = "$((B2 + 1))"
it_check "bill-pending: row billed" test "$(psql_q "SELECT status FROM sim_topups WHERE user_id = $UID3 AND idempotency_key = 'k-$RUN-3'")" = billed

# Billing outcome unknown. WHMCS (the simulator) makes the item after a delay
# past WHMCS_TIMEOUT_MS (5000 in the harness): the portal saw a timeout after
# sending. AddBillableItem cannot be repeated safely nor looked up, so the
# top-up must wait for an operator: billing again would charge twice.
wh_items() { # [topup id] → WHMCS billable items of client 103 (with that top-up's marker)
	curl -sS "$WH/__sim/state" | jq --arg m "(portal-topup-${1:+$1)}" \
		'[.billableitems[] | select(.clientid == 103) | select(.description | contains($m))] | length'
}
topup_status() { psql_q "SELECT status FROM sim_topups WHERE id = $1"; }
I0=$(wh_items)
curl -sS -XPOST "$WH/__sim/faults" -H 'Content-Type: application/json' -d '{"match":"AddBillableItem","delay_ms":6500,"count":1}' >/dev/null
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-unk" --max-time 20
it_check "top-up, WHMCS answers after the timeout: 200, the customer reads billing_pending" bash -c "[ $IT_LAST_STATUS = 200 ] && jq -e '.data.status == \"billing_pending\"' '$IT_LAST_BODY' >/dev/null"
TU=$(jq -r '.data.id // 0' "$IT_LAST_BODY")
it_check "top-up, WHMCS answers after the timeout: row billing_unknown" test "$(topup_status "$TU")" = billing_unknown
unk_item_made() { [ "$(wh_items "$TU")" = 1 ]; }
it_check "top-up, WHMCS answers after the timeout: WHMCS did make the item" it_wait_for 10 unk_item_made
it_check "top-up, unknown outcome: crit log line with portal-topup-<id>" bash -c "grep -rqs 'level=crit.*marker=portal-topup-$TU\\b' '$IT_ROOT' --include='*.log'"
it_check "bill-pending: the unknown one is not billed again" bash -c "'$CTL' topups bill-pending | grep -qx 'billed=0 failed=0 unknown=0'"
it_check "bill-pending: still exactly one item for it" test "$(wh_items "$TU")" = 1
it_check "bill-pending: exactly one more item for the client" test "$(wh_items)" = "$((I0 + 1))"
it_check "bill-pending: row still billing_unknown" test "$(topup_status "$TU")" = billing_unknown
WB=$(wh_billables)
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-unk"
it_check "top-up, unknown outcome, same key: same top-up, billing_pending" bash -c "jq -e '.data.id == $TU and .data.status == \"billing_pending\"' '$IT_LAST_BODY' >/dev/null"
it_check "top-up, unknown outcome, same key: no AddBillableItem" test "$(wh_billables)" = "$WB"
it_check "topups unknown: lists it with its marker and client" bash -c "'$CTL' topups unknown | grep -q '^id=$TU marker=portal-topup-$TU whmcs_client_id=103 '"
it_check "topups resolve: bad verdict → 64" bash -c "'$CTL' topups resolve $TU maybe >/dev/null 2>&1; [ \$? = 64 ]"
it_check "topups resolve: bad id → 64" bash -c "'$CTL' topups resolve x$TU billed >/dev/null 2>&1; [ \$? = 64 ]"
it_check "topups resolve <id> billed: exit 0" "$CTL" topups resolve "$TU" billed
it_check "topups resolve <id> billed: row billed" test "$(topup_status "$TU")" = billed
it_check "topups resolve: not billing_unknown any more → 70, unchanged" bash -c "'$CTL' topups resolve $TU unbilled >/dev/null 2>&1; [ \$? = 70 ] && [ \"\$(psql '$DATABASE_URL' -qtAX -c 'SELECT status FROM sim_topups WHERE id = $TU')\" = billed ]"
it_check "topups resolve: no WHMCS call, still exactly one item" test "$(wh_items "$TU")" = 1
it_check "topups unknown: none left" bash -c "'$CTL' topups unknown | grep -qx 'unknown=0'"

# The connection dropped (here before WHMCS ran it — the portal cannot tell):
# billing_unknown; the operator finds no item and says unbilled → billed once.
curl -sS -XPOST "$WH/__sim/faults" -H 'Content-Type: application/json' -d '{"match":"AddBillableItem","drop":true,"count":1}' >/dev/null
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-drop"
it_check "top-up, connection dropped: 200 billing_pending" bash -c "[ $IT_LAST_STATUS = 200 ] && jq -e '.data.status == \"billing_pending\"' '$IT_LAST_BODY' >/dev/null"
TD=$(jq -r '.data.id // 0' "$IT_LAST_BODY")
it_check "top-up, connection dropped: row billing_unknown" test "$(topup_status "$TD")" = billing_unknown
it_check "top-up, connection dropped: bill-pending leaves it" bash -c "'$CTL' topups bill-pending | grep -qx 'billed=0 failed=0 unknown=0'"
it_check "top-up, connection dropped: no item" test "$(wh_items "$TD")" = 0
it_check "topups resolve <id> unbilled: back to billing_pending" bash -c "'$CTL' topups resolve $TD unbilled >/dev/null && [ \"\$(psql '$DATABASE_URL' -qtAX -c 'SELECT status FROM sim_topups WHERE id = $TD')\" = billing_pending ]"
it_check "topups resolve unbilled: bill-pending bills it" bash -c "'$CTL' topups bill-pending | grep -qx 'billed=1 failed=0 unknown=0'"
it_check "topups resolve unbilled: exactly one item, row billed" bash -c "[ \"\$(curl -sS '$WH/__sim/state' | jq '[.billableitems[] | select(.description | contains(\"(portal-topup-$TD)\"))] | length')\" = 1 ] && [ \"\$(psql '$DATABASE_URL' -qtAX -c 'SELECT status FROM sim_topups WHERE id = $TD')\" = billed ]"

# WHMCS not running (connection refused): nothing reached it, so the top-up is
# billing_pending and bill-pending bills it exactly once after the restart.
# The line lookup must not need WHMCS meanwhile: the services list is cached
# fresh first.
rcli DEL client:103:services >/dev/null
get "$TOK3" /api/sim/201
WPID=$(cat "$IT_ROOT/sim/whmcs.pid" 2>/dev/null)
it_check "WHMCS simulator stopped" it_stop_pid sim-whmcs "$WPID"
send POST "$TOK3" "$CSRF3" /api/sim/201/top-up '{"quota_mb":1024}' -H "Idempotency-Key: k-$RUN-refused"
it_check "top-up, WHMCS refused the connection: 200 billing_pending" bash -c "[ $IT_LAST_STATUS = 200 ] && jq -e '.data.status == \"billing_pending\"' '$IT_LAST_BODY' >/dev/null"
TR=$(jq -r '.data.id // 0' "$IT_LAST_BODY")
it_check "top-up, WHMCS refused the connection: row billing_pending (not unknown)" test "$(topup_status "$TR")" = billing_pending
it_check "bill-pending while WHMCS is down: not billed, retried later" bash -c "'$CTL' topups bill-pending | grep -qx 'billed=0 failed=1 unknown=0'; [ \"\$(psql '$DATABASE_URL' -qtAX -c 'SELECT status FROM sim_topups WHERE id = $TR')\" = billing_pending ]"
setsid "$IT_PYTHON" "$IT_SRCDIR/tests/sim/whmcs_sim.py" --port "$SIM_WHMCS_PORT" \
	--portal-url "${SIM_PORTAL_URL:-http://127.0.0.1:8080}" --pidfile "$IT_ROOT/sim/whmcs.pid" \
	</dev/null >>"$IT_ROOT/sim/whmcs.log" 2>&1 &
echo "$!" >"$IT_ROOT/sim/whmcs.pid"
it_register sim-whmcs "$!"
wh_up() { curl -sf "$WH/__sim/health" >/dev/null; }
it_check "WHMCS simulator restarted" it_wait_for 20 wh_up
it_check "bill-pending after the restart: billed=1" bash -c "'$CTL' topups bill-pending | grep -qx 'billed=1 failed=0 unknown=0'"
it_check "bill-pending again: nothing" bash -c "'$CTL' topups bill-pending | grep -qx 'billed=0 failed=0 unknown=0'"
it_check "bill-pending after the restart: exactly one item, row billed" bash -c "[ \"\$(curl -sS '$WH/__sim/state' | jq '[.billableitems[] | select(.description | contains(\"(portal-topup-$TR)\"))] | length')\" = 1 ] && [ \"\$(psql '$DATABASE_URL' -qtAX -c 'SELECT status FROM sim_topups WHERE id = $TR')\" = billed ]"

# ---------------------------------------------------------------- network type
send POST "$TOK3" "$CSRF3" /api/sim/201/network-type '{"network_type":"4G"}'
it_check "network type: same as current → 200, nothing scheduled" it_json_eq '"\(.data.network_type) \(.data.scheduled_at)"' "4G null"
send POST "$TOK3" "$CSRF3" /api/sim/201/network-type '{"network_type":"5G"}'
it_check "network type: 202 scheduled" bash -c "[ $IT_LAST_STATUS = 202 ] && jq -e '.data.scheduled_at | test(\"Z$\")' '$IT_LAST_BODY' >/dev/null"
it_check "network type: job in portal:q:delayed" bash -c "redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT ZRANGE portal:q:delayed 0 -1 | grep -q '\"msisdn\":\"$MS1\"'"
send POST "$TOK3" "$CSRF3" /api/sim/201/network-type '{"network_type":"5G"}'
it_check "network type again: 409 OPERATION_TOO_SOON" error_is 409 OPERATION_TOO_SOON
it_check "network type again: Retry-After" it_header_present Retry-After
it_check "network type: not called before the gap" test "$(fb_calls contractline)" = 0
sleep 6
"$CTL" jobs run-due >/dev/null 2>&1 || true
it_check "network type: the job ran after the gap" it_wait_for 10 bash -c "[ \$(curl -sS '$FB/__sim/calls' | jq '[.[] | select((.path // .action // \"\") | test(\"contractline\"))] | length') = 1 ]"
it_check "network type: line pending contractline at Freebit" bash -c "curl -sS '$FB/__sim/state' | jq -e '[.. | objects | select(.account? == \"$MS1\")][0] | tostring | test(\"contractline\")' >/dev/null"

# ---------------------------------------------------------------- other actions
send PATCH "$TOK3" "$CSRF3" /api/sim/202/voice-options '{"voicemail":true}'
it_check "voice options on a data-only SIM → 409 SIM_ACTION_NOT_ALLOWED" error_is 409 SIM_ACTION_NOT_ALLOWED
send POST "$TOK3" "$CSRF3" /api/sim/201/reissue-esim '{"eid":"89049032000000000000000000000099"}'
it_check "eSIM reissue on a physical SIM → 409 SIM_ACTION_NOT_ALLOWED" error_is 409 SIM_ACTION_NOT_ALLOWED
send POST "$TOK3" "$CSRF3" /api/sim/201/cancel '{"confirm":false}'
it_check "cancel without confirm → 400" error_is 400 VALIDATION_FAILED

# ---------------------------------------------------------------- plan change (resolutions §21)
wh_updates() { curl -sS "$WH/__sim/calls" | jq '[.[] | select((.action // "" | ascii_downcase) == "updateclientproduct") | select((.status // 200) == 200)] | length'; }
wh_service() { curl -sS "$WH/__sim/state" | jq -r --argjson id "$1" '[.. | objects | select(.id? == $id and .clientid? != null and .pid? != null)][0] | "\(.pid) \(.recurringamount)"'; }
send POST "$TOK3" "$CSRF3" /api/sim/202/plan '{"plan_code":"NOT_A_PLAN"}'
it_check "plan change: code not in the catalog → 400 plan_code" bash -c "[ $IT_LAST_STATUS = 400 ] && jq -e '.error.field == \"plan_code\"' '$IT_LAST_BODY' >/dev/null"
U0=$(wh_updates)
EFF=$(TZ=Asia/Tokyo date -d "$(TZ=Asia/Tokyo date +%Y-%m-01) +1 month" +%F)
send POST "$TOK3" "$CSRF3" /api/sim/202/plan '{"plan_code":"PASI_3G"}'
it_check "plan change: 200 effective the 1st of next month (JST)" bash -c "[ $IT_LAST_STATUS = 200 ] && jq -e '.data.effective_date == \"$EFF\"' '$IT_LAST_BODY' >/dev/null"
it_check "plan change: Freebit has the next plan" bash -c "curl -sS '$FB/__sim/state' | jq -e '[.. | objects | select(.account? == \"08012340002\")][0].nextPlanCode == \"PASI_3G\"' >/dev/null"
it_check "plan change: WHMCS not updated yet" test "$(wh_updates)" = "$U0"
JOB=$("$CTL" jobs list 2>/dev/null | grep '"whmcs_plan_change"' | grep '"service_id":202' | sed 's/^.* job=//')
it_check "plan change: jobs list shows the WHMCS job (pid 10, family price 890.00)" bash -c "jq -e '.pid == 10 and .recurring_amount == \"890.00\"' <<<'$JOB' >/dev/null"
it_check "plan change: due on the effective date" test "$(rcli ZSCORE portal:q:delayed "$JOB")" = "$(( $(TZ=Asia/Tokyo date -d "$EFF 00:00" +%s) * 1000 ))"
rcli ZADD portal:q:delayed XX 0 "$JOB" >/dev/null
"$CTL" jobs run-due >/dev/null 2>&1
"$CTL" jobs run-due >/dev/null 2>&1
it_check "plan change: the job updated the WHMCS service (pid 10, 890.00)" test "$(wh_service 202)" = "10 890.00"
it_check "plan change: UpdateClientProduct exactly once" test "$(wh_updates)" = "$((U0 + 1))"
it_check "plan change: job gone" bash -c "! redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT ZRANGE portal:q:delayed 0 -1 | grep -q '\"service_id\":202'"

# ---------------------------------------------------------------- calls and SMS
get "$TOK3" "/api/sim/201/calls?month=2026-09"
it_check "calls 2026-09: 200 with records" bash -c "[ $IT_LAST_STATUS = 200 ] && jq -e '(.data.records | length) > 0 and .data.month == \"2026-09\" and .data.total.currency == \"JPY\"' '$IT_LAST_BODY' >/dev/null"
get "$TOK3" "/api/sim/201/calls?month=2026-08"
it_check "calls 2026-08: the 3 good rows served" it_json_eq '.data.records | length' 3
it_check "calls 2026-08: 11 bad lines counted" test "$(rcli GET cdr:calls:202608:meta | jq .bad_lines)" = 11
it_check "calls: cached per line per month" test "$(rcli EXISTS cdr:calls:$MS1:202608)" = 1
get "$TOK3" "/api/sim/201/calls?month=2026-11"
it_check "calls 2026-11 → 404 RECORDS_NOT_AVAILABLE" error_is 404 RECORDS_NOT_AVAILABLE
get "$TOK3" "/api/sim/202/sms?month=2026-09"
it_check "sms 2026-09 of 202: 2 rows" it_json_eq '.data.records | length' 2
get "$TOK1" "/api/sim/201/calls?month=2026-09"
it_check "IDOR: A1 on A3's calls (cached) → 404" error_is 404 NOT_FOUND

# ---------------------------------------------------------------- alerts, notifications
send PUT "$TOK3" "$CSRF3" /api/sim/201/alerts '{"threshold_percent":40}'
it_check "alerts: 40% → 400" error_is 400 VALIDATION_FAILED
send PUT "$TOK3" "$CSRF3" /api/sim/201/alerts '{"threshold_percent":80}'
it_check "alerts: PUT 80 → 200" it_json_eq .data.threshold_percent 80
get "$TOK3" /api/sim/201/alerts
it_check "alerts: GET → 80" it_json_eq .data.threshold_percent 80
curl -sS -XPATCH "$FB/__sim/lines/$MS1" -H 'Content-Type: application/json' -d '{"quota":0}' >/dev/null
rcli DEL freebit:line:$MS1:traffic >/dev/null
get "$TOK3" /api/sim/201
rcli DEL freebit:line:$MS1:traffic >/dev/null
get "$TOK3" /api/sim/201
get "$TOK3" /api/notifications
it_check "notifications: one usage alert (once per month)" it_json_eq '[.data[] | select(.kind == "usage_alert")] | length' 1

# ---------------------------------------------------------------- Freebit down
get "$TOK3" /api/sim/201
rcli DEL freebit:line:$MS1:detail freebit:line:$MS1:traffic >/dev/null
curl -sS -XPOST "$FB/__sim/faults" -H 'Content-Type: application/json' -d '{"match":"/mvno/getDetail/","status":503,"count":10}' >/dev/null
get "$TOK3" /api/sim/201
it_check "Freebit down, stale copy: 200 stale" it_json_eq '"\(.data.msisdn) \(.data.stale)"' "$MS1 true"
get "$TOK3" /api/sim/202
it_check "Freebit down, no copy: 503" error_is 503 UPSTREAM_UNAVAILABLE
it_check "Freebit down, no copy: Retry-After" it_header_present Retry-After
curl -sS -XDELETE "$FB/__sim/faults" >/dev/null

# Freebit 429 and a read past FREEBIT_TIMEOUT (5000 ms in the harness,
# lib.sh): like a 5xx, within the timeout (+1 s).
timed_get() { local t0; t0=$(date +%s%N); get "$@"; ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000)); }
within_timeout() { [ "$ELAPSED_MS" -le 6000 ] || { echo "took $ELAPSED_MS ms"; return 1; }; }
for f in '"status":429' '"delay_ms":8000'; do
	what=$([ "$f" = '"status":429' ] && echo "Freebit 429" || echo "Freebit past its timeout")
	rcli DEL freebit:line:$MS1:detail freebit:line:$MS1:traffic freebit:line:08012340002:detail freebit:line:08012340002:traffic >/dev/null
	curl -sS -XPOST "$FB/__sim/faults" -H 'Content-Type: application/json' -d "{\"match\":\"/mvno/getDetail/\",$f,\"count\":-1}" >/dev/null
	timed_get "$TOK3" /api/sim/201
	it_check "$what, stale copy: 200 stale" it_json_eq '"\(.data.msisdn) \(.data.stale)"' "$MS1 true"
	it_check "$what, stale copy: within FREEBIT_TIMEOUT + 1 s" within_timeout
	timed_get "$TOK3" /api/sim/202
	it_check "$what, no copy: 503" error_is 503 UPSTREAM_UNAVAILABLE
	it_check "$what, no copy: Retry-After" it_header_present Retry-After
	it_check "$what, no copy: within FREEBIT_TIMEOUT + 1 s" within_timeout
	curl -sS -XDELETE "$FB/__sim/faults" >/dev/null
done

it_summary
