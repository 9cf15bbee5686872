#!/bin/bash
# t_billing.sh — portal-billing.fcgi through the web server against the WHMCS
# simulator, PostgreSQL and Redis (portal-api.md "Billing", resolutions §30,
# seed 002 TTLs):
#   * invoices: list with paging fields and status filter, detail with items,
#     validation of page/limit/status; IDOR (A3's session on A1's invoice →
#     404, also once A1's invoice is cached; A1 on A3's → 404);
#   * payment link: 201 {url, expires_at}, the URL redeems once in the
#     simulator; never for another client's invoice (no CreateSsoToken sent);
#   * payment methods (type/description/last four/expiry only), gateways
#     (global cache), payment-method link; subscriptions list/detail, IDOR;
#   * profile GET, PATCH validation (field named) and success: written to the
#     simulator, the client's cache dropped, the next GET shows it;
#   * CSRF on every unsafe route; WHMCS 503: warm cache → 200, expired entry
#     → 200 "stale", cold → 503 UPSTREAM_UNAVAILABLE + Retry-After; the same
#     for WHMCS 429 and a read past WHMCS_TIMEOUT_MS (answered within it + 1 s).
# Sessions come from tests/integration/mksession; WHMCS records this test
# changes are put back at the end.
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

WH="http://127.0.0.1:$SIM_WHMCS_PORT"
MKSESSION=$IT_BUILDDIR/tests/integration/mksession
A1=0015F0000000001QAA A3=0015F0000000003QAA A4=0015F0000000004QAA
RUN=$IT_WEB-$$

psql_q() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }

if [ ! -x "$MKSESSION" ] || [ -z "${IT_SIMS:-}" ]; then
	it_log "t_billing: mksession or simulators missing: skipped"
	it_summary
	exit 0
fi

session_for() { # ACCOUNT WHMCS_ID → "<token> <csrf>"
	local acct=$1 wh=$2 uid
	uid=$(psql_q "SELECT user_id FROM id_mappings WHERE sf_account_id = '$acct'")
	if [ -z "$uid" ]; then
		uid=$(psql_q "INSERT INTO users (email, password_hash) VALUES
			('t-billing-${acct,,}-$RUN@example.test', '\$argon2id\$v=19\$m=19456,t=2,p=1\$dGVzdA\$dGVzdA')
			RETURNING id" | head -n1)
		psql_q "INSERT INTO id_mappings (user_id, whmcs_client_id, sf_account_id)
			VALUES ($uid, $wh, '$acct')" >/dev/null
	fi
	"$MKSESSION" "$uid" "$acct" "$wh" 2>/dev/null
}

drop_client_cache() { # whmcs id
	rcli --scan --pattern "client:$1:*" | while read -r k; do rcli DEL "$k" >/dev/null; done
}

cleanup() {
	curl -sS -XDELETE "$WH/__sim/faults" >/dev/null 2>&1
	curl -sS -XPATCH "$WH/__sim/records/clients/104" -H 'Content-Type: application/json' \
		--data '{"phonenumber":"09011110104","postcode":"460-0008","state":"Aichi"}' >/dev/null 2>&1
	psql_q "DELETE FROM users WHERE email LIKE 't-billing-%-$RUN@example.test'" >/dev/null 2>&1
	for c in 101 103 104; do drop_client_cache $c; done
}
trap cleanup EXIT

read -r TOK1 CSRF1 < <(session_for $A1 101)
read -r TOK3 CSRF3 < <(session_for $A3 103)
read -r TOK4 CSRF4 < <(session_for $A4 104)
[ -n "${TOK1:-}" ] && [ -n "${TOK3:-}" ] && [ -n "${TOK4:-}" ] || it_die "no sessions"
curl -sS -XDELETE "$WH/__sim/faults" >/dev/null
for c in 101 103 104; do drop_client_cache $c; done
rcli DEL gateways >/dev/null

get() { it_http GET "$2" -b "portal_session=$1"; }
send() { # METHOD TOKEN CSRF PATH [BODY]
	local h=()
	[ "$3" != - ] && h+=(-H "X-CSRF-Token: $3")
	it_http "$1" "$4" -b "portal_session=$2" -H 'Content-Type: application/json' "${h[@]}" \
		${5:+--data-binary "$5"}
}
error_is() { it_status_is "$1" && it_json_eq .error.code "$2"; }
field_is() { it_status_is 400 && it_json_eq .error.code VALIDATION_FAILED && it_json_eq .error.field "$1"; }
calls() { # action → count in the simulator's call log
	curl -sS "$WH/__sim/calls" | jq --arg a "$1" '[.[] | select(.action == $a)] | length'
}
fault() { # action status
	curl -sS -XPOST "$WH/__sim/faults" -H 'Content-Type: application/json' \
		--data "{\"match\":\"$1\",\"status\":$2,\"body\":\"down\",\"count\":-1}" >/dev/null
}

# ---------------------------------------------------------------- invoices
get "$TOK1" /api/billing/invoices
it_check "invoices: 200" it_status_is 200
it_check "invoices: A1 has 8, paging fields" it_json_eq '"\(.total) \(.page) \(.limit) \(.data | length)"' "8 1 20 8"
it_check "invoices: list fields" it_json '.data[] | select(.id == 1002) | .number, .status, .total.amount, .total.currency, .due_date'
it_check "invoices: only A1's" it_json_eq '[.data[].id] | map(select(. > 1010)) | length' 0
get "$TOK1" "/api/billing/invoices?page=2&limit=3"
it_check "invoices: page 2 of 3" it_json_eq '"\(.total) \(.page) \(.limit) \(.data | length)"' "8 2 3 3"
get "$TOK1" "/api/billing/invoices?page=3&limit=3"
it_check "invoices: last page partial" it_json_eq '.data | length' 2
get "$TOK1" "/api/billing/invoices?page=9&limit=3"
it_check "invoices: past the end: empty" it_json_eq '"\(.total) \(.data | length)"' "8 0"
get "$TOK1" "/api/billing/invoices?status=paid"
it_check "invoices: status=Paid" it_json_eq '"\(.total) \(.data[0].id) \(.data[0].status)"' "1 1001 Paid"
get "$TOK1" "/api/billing/invoices?status=Payment%20Pending"
it_check "invoices: status=Payment Pending" it_json_eq '[.data[].id] | join(",")' "1008"
get "$TOK1" "/api/billing/invoices?page=0"
it_check "invoices: page=0 → 400 page" field_is page
get "$TOK1" "/api/billing/invoices?limit=500"
it_check "invoices: limit=500 → 400 limit" field_is limit
get "$TOK1" "/api/billing/invoices?status=Bogus"
it_check "invoices: unknown status → 400 status" field_is status
it_http GET /api/billing/invoices
it_check "invoices: no session → 401" error_is 401 UNAUTHENTICATED
it_check "invoices: cached as client:101:invoices" bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT EXISTS client:101:invoices)\" = 1 ]"

get "$TOK1" /api/billing/invoices/1002
it_check "invoice: 200 with items" it_json_eq '"\(.data.id) \(.data.items | type) \(.data.items | length > 0)"' "1002 array true"
it_check "invoice: cached under A1's client" bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT EXISTS client:101:invoice:1002)\" = 1 ]"
n0=$(calls GetInvoice)
get "$TOK3" /api/billing/invoices/1002
it_check "IDOR: A3 on A1's cached invoice → 404" error_is 404 NOT_FOUND
it_check "IDOR: asked WHMCS (A3's own key missed)" bash -c "[ $(calls GetInvoice) -gt $n0 ]"
it_check "IDOR: nothing cached for A3" bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT EXISTS client:103:invoice:1002)\" = 0 ]"
get "$TOK3" /api/billing/invoices/1002
it_check "IDOR: asked again → still 404" error_is 404 NOT_FOUND
get "$TOK1" /api/billing/invoices/1011
it_check "IDOR: A1 on A3's invoice → 404" error_is 404 NOT_FOUND
get "$TOK1" /api/billing/invoices/abc
it_check "invoice: malformed id → 404" error_is 404 NOT_FOUND
get "$TOK1" /api/billing/invoices/999999
it_check "invoice: unknown id → 404" error_is 404 NOT_FOUND
# A value planted under A3's key that belongs to A1 is not served to A3.
rcli SET client:103:invoice:1002 "$(rcli GET client:101:invoice:1002)" EX 300 >/dev/null
get "$TOK3" /api/billing/invoices/1002
it_check "IDOR: A1's value under A3's key → 404" error_is 404 NOT_FOUND
rcli DEL client:103:invoice:1002 >/dev/null

# ---------------------------------------------------------------- payment link
send POST "$TOK1" - /api/billing/invoices/1002/payment-link
it_check "payment link: no CSRF → 403" error_is 403 CSRF_FAILED
n0=$(calls CreateSsoToken)
send POST "$TOK3" "$CSRF3" /api/billing/invoices/1002/payment-link
it_check "payment link: A3 on A1's invoice → 404" error_is 404 NOT_FOUND
it_check "payment link: no token minted for it" bash -c "[ $(calls CreateSsoToken) -eq $n0 ]"
send POST "$TOK1" "$CSRF1" /api/billing/invoices/1002/payment-link
it_check "payment link: 201" it_status_is 201
it_check "payment link: url + expires_at" it_json '.data.url | test("access_token=")' 
it_check "payment link: expires_at RFC 3339" it_json '.data.expires_at | test("^[0-9-]{10}T[0-9:]{8}Z$")'
URL=$(jq -r .data.url "$IT_LAST_BODY")
it_check "payment link: not cached" bash -c "[ -z \"\$(redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT --scan --pattern '*link*')\" ]"
redeem() { curl -sS -o /dev/null -w '%{redirect_url}' "$URL"; }
it_check "payment link: lands on the invoice" bash -c "[[ \"\$(curl -sS -o /dev/null -w '%{redirect_url}' '$URL')\" == *viewinvoice.php?id=1002 ]]"
it_check "payment link: single use" bash -c "[[ \"\$(curl -sS -o /dev/null -w '%{redirect_url}' '$URL')\" == *invalid_token* ]]"

# ---------------------------------------------------------------- payment methods, gateways
get "$TOK1" /api/billing/payment-methods
it_check "payment methods: 200, A1's card 4242" it_json_eq '.data[0].last_four' 4242
it_check "payment methods: only type/description/last four/expiry (+id)" \
	it_json_eq '[.data[] | keys[] | select(IN("id","type","description","last_four","expiry") | not)] | length' 0
get "$TOK4" /api/billing/payment-methods
it_check "payment methods: A4 has none" it_json_eq '.data | length' 0
get "$TOK1" /api/billing/payment-gateways
it_check "gateways: 200, a list" it_json '.data | length > 0'
it_check "gateways: global cache key" bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT EXISTS gateways)\" = 1 ]"
send POST "$TOK1" - /api/billing/payment-methods/link
it_check "pay method link: no CSRF → 403" error_is 403 CSRF_FAILED
send POST "$TOK1" "$CSRF1" /api/billing/payment-methods/link
it_check "pay method link: 201 {url}" it_json '.data.url | test("^https?://.*access_token=")'

# ---------------------------------------------------------------- subscriptions
get "$TOK1" /api/subscriptions
it_check "subscriptions: A1's three" it_json_eq '[.data[].id] | sort | join(",")' "150,151,152"
it_check "subscriptions: is_sim boolean" it_json_eq '[.data[].is_sim | type] | unique | join(",")' boolean
get "$TOK1" /api/subscriptions/150
it_check "subscription: 200" it_json_eq '"\(.data.id) \(.data.status)"' "150 Active"
get "$TOK3" /api/subscriptions/150
it_check "IDOR: A3 on A1's (cached) service → 404" error_is 404 NOT_FOUND
get "$TOK1" /api/subscriptions/201
it_check "IDOR: A1 on A3's service → 404" error_is 404 NOT_FOUND

# ---------------------------------------------------------------- profile
get "$TOK4" /api/account/profile
it_check "profile: 200 A4's" it_json_eq '"\(.data.email) \(.data.address.prefecture)"' "yuki.sato@example.jp Aichi"
it_check "profile: cached" bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT EXISTS client:104:profile)\" = 1 ]"
send PATCH "$TOK4" - /api/account/profile '{"phone":"090-2222-0104"}'
it_check "profile PATCH: no CSRF → 403" error_is 403 CSRF_FAILED
send PATCH "$TOK4" "$CSRF4" /api/account/profile '{"address":{"postcode":"4600002"}}'
it_check "profile PATCH: bad postcode → 400 address.postcode" field_is address.postcode
send PATCH "$TOK4" "$CSRF4" /api/account/profile '{"address":{"prefecture":"Gotham"}}'
it_check "profile PATCH: bad prefecture → 400 address.prefecture" field_is address.prefecture
send PATCH "$TOK4" "$CSRF4" /api/account/profile '{"email":"nope"}'
it_check "profile PATCH: bad email → 400 email" field_is email
send PATCH "$TOK4" "$CSRF4" /api/account/profile '{"phone":"12-34"}'
it_check "profile PATCH: bad phone → 400 phone" field_is phone
send PATCH "$TOK4" "$CSRF4" /api/account/profile '{}'
it_check "profile PATCH: empty → 400 body" field_is body
send PATCH "$TOK4" "$CSRF4" /api/account/profile '{"phone":'
it_check "profile PATCH: not JSON → 400" it_status_is 400
it_http PATCH /api/account/profile -b "portal_session=$TOK4" -H "X-CSRF-Token: $CSRF4" \
	-H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'phone=090-2222-0104'
it_check "profile PATCH: form-encoded body → 415 UNSUPPORTED_MEDIA_TYPE" error_is 415 UNSUPPORTED_MEDIA_TYPE
n0=$(calls UpdateClient)
it_check "profile PATCH: refusals sent nothing to WHMCS" bash -c "[ $n0 -eq $(calls UpdateClient) ]"
send PATCH "$TOK4" "$CSRF4" /api/account/profile '{"phone":"090-2222-0104","address":{"postcode":"460-0002","prefecture":"aichi"}}'
it_check "profile PATCH: 200" it_json_eq '"\(.data.phone) \(.data.address.postcode) \(.data.address.prefecture) \(.data.address.city)"' "090-2222-0104 460-0002 Aichi Naka-ku"
it_check "profile PATCH: in the simulator" bash -c "curl -sS '$WH/__sim/state' | jq -e '.clients[] | select(.id == 104) | select(.phonenumber == \"090-2222-0104\" and .postcode == \"460-0002\")'"
it_check "profile PATCH: cache dropped" bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT EXISTS client:104:profile)\" = 0 ]"
get "$TOK4" /api/account/profile
it_check "profile: next GET shows it" it_json_eq '.data.phone' 090-2222-0104

# ---------------------------------------------------------------- WHMCS down
fault GetInvoices 503
get "$TOK1" /api/billing/invoices
it_check "WHMCS 503, warm cache → 200" it_json_eq '"\(.total) \(.stale // false)"' "8 false"
# The entry's TTL ran out (its age past CACHE_TTL_INVOICES): served stale.
rcli SET client:101:invoices "$(rcli GET client:101:invoices | jq -c '.at -= 1000')" KEEPTTL >/dev/null
get "$TOK1" /api/billing/invoices
it_check "WHMCS 503, expired entry → 200 stale" it_json_eq '"\(.total) \(.stale)"' "8 true"
drop_client_cache 103
get "$TOK3" /api/billing/invoices
it_check "WHMCS 503, cold → 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
it_check "WHMCS 503, cold → Retry-After" it_header_present Retry-After
curl -sS -XDELETE "$WH/__sim/faults" >/dev/null
get "$TOK1" /api/billing/invoices
it_check "WHMCS back: fresh again" it_json_eq '"\(.total) \(.stale // false)"' "8 false"

# ---------------------------------------------------------------- WHMCS 429 and timeout
# WHMCS_TIMEOUT_MS is 5000 in the harness (lib.sh): each read must give up
# within it (+1 s) and answer like a 5xx: the stale copy when there is one,
# else 503.
timed_get() { local t0; t0=$(date +%s%N); get "$@"; ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000)); }
within_timeout() { [ "$ELAPSED_MS" -le 6000 ] || { echo "took $ELAPSED_MS ms"; return 1; }; }
expire_invoices() { rcli SET client:101:invoices "$(rcli GET client:101:invoices | jq -c '.at -= 1000')" KEEPTTL >/dev/null; }
fault GetInvoices 429
drop_client_cache 103
get "$TOK3" /api/billing/invoices
it_check "WHMCS 429, cold → 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
expire_invoices
get "$TOK1" /api/billing/invoices
it_check "WHMCS 429, expired entry → 200 stale" it_json_eq '"\(.total) \(.stale)"' "8 true"
curl -sS -XDELETE "$WH/__sim/faults" >/dev/null
curl -sS -XPOST "$WH/__sim/faults" -H 'Content-Type: application/json' \
	--data '{"match":"GetInvoices","delay_ms":8000,"count":-1}' >/dev/null
drop_client_cache 103
timed_get "$TOK3" /api/billing/invoices
it_check "WHMCS past its timeout, cold → 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
it_check "WHMCS past its timeout, cold → within WHMCS_TIMEOUT_MS + 1 s" within_timeout
timed_get "$TOK1" /api/billing/invoices
it_check "WHMCS past its timeout, expired entry → 200 stale" it_json_eq '"\(.total) \(.stale)"' "8 true"
it_check "WHMCS past its timeout, expired entry → within WHMCS_TIMEOUT_MS + 1 s" within_timeout
curl -sS -XDELETE "$WH/__sim/faults" >/dev/null

it_summary
