#!/bin/bash
# t_orders.sh — portal-orders.fcgi through the web server against the
# simulators, PostgreSQL and Redis (portal-api.md "Orders", resolutions §8,
# §9, §12, §13; seeds 002-004):
#   * checkout happy path: 201 Pending Review / Not Started, the address
#     snapshot from the WHMCS profile, Order + OrderItems + idempotency key in
#     the Salesforce simulator, visible in GET /api/orders and by id;
#   * the same Idempotency-Key → the same order; 10 parallel requests with one
#     key → one Salesforce order, every answer the same id (printed);
#   * refusals: key missing / malformed, body (field named), UNKNOWN_SKU,
#     NOT_ORDERABLE, NOT_ELIGIBLE, MIXED_CART, PAYMENT_METHOD_MISSING,
#     CSRF_FAILED, UNAUTHENTICATED;
#   * IDOR: another account's order id (and unknown / malformed ids) → 404;
#   * customer-facing activation_error (§9) for a failed fixture order;
#   * Salesforce create 503 → 202 Queued + order_outbox row, replay → same
#     q_ id, GET /api/orders/q_… → Queued, and after submission → the order.
# Sessions come from tests/integration/mksession (users and id mappings are
# inserted here), so the test does not depend on sign-up/login; rows this
# test inserted are removed at the end.
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

SF="http://127.0.0.1:$SIM_SF_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
MKSESSION=$IT_BUILDDIR/tests/integration/mksession
A1=0015F0000000001QAA A4=0015F0000000004QAA A5=0015F0000000005QAA
A5_FAILED_ORDER=8015F0000000007QAA
RUN=$IT_WEB-$$

psql_q() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }

if [ ! -x "$MKSESSION" ]; then
	it_log "t_orders: $MKSESSION not built: skipped"
	it_summary
	exit 0
fi

# session_for ACCOUNT WHMCS_ID: "<token> <csrf>" for the account's portal user
# (the one sign-up/link made, else one inserted here and deleted by cleanup).
session_for() {
	local acct=$1 wh=$2 uid
	uid=$(psql_q "SELECT user_id FROM id_mappings WHERE sf_account_id = '$acct'")
	if [ -z "$uid" ]; then
		uid=$(psql_q "INSERT INTO users (email, password_hash) VALUES
			('t-orders-${acct,,}-$RUN@example.test', '\$argon2id\$v=19\$m=19456,t=2,p=1\$dGVzdA\$dGVzdA')
			RETURNING id" | head -n1)
		psql_q "INSERT INTO id_mappings (user_id, whmcs_client_id, sf_account_id)
			VALUES ($uid, $wh, '$acct')" >/dev/null
	fi
	"$MKSESSION" "$uid" "$acct" "$wh" 2>/dev/null
}

cleanup() {
	# (users made here; their id mappings go with them)
	psql_q "DELETE FROM users WHERE email LIKE 't-orders-%-$RUN@example.test'" >/dev/null 2>&1
	psql_q "DELETE FROM order_outbox WHERE idempotency_key LIKE 'k-$RUN-%'" >/dev/null 2>&1
	curl -sS -XDELETE "$SF/__sim/faults" >/dev/null 2>&1
}
trap cleanup EXIT

read -r TOK1 CSRF1 < <(session_for $A1 101)
read -r TOK4 CSRF4 < <(session_for $A4 104)
read -r TOK5 CSRF5 < <(session_for $A5 105)
[ -n "${TOK1:-}" ] && [ -n "${TOK4:-}" ] && [ -n "${TOK5:-}" ] || it_die "no sessions"

curl -sS -XPOST "$SF/__sim/reset" >/dev/null
for a in $A1 $A4 $A5; do rcli DEL "acct:$a:orders" >/dev/null; done

# post TOKEN CSRF KEY BODY [curl args…]: POST /api/orders (KEY "-" = no header)
post() {
	local tok=$1 csrf=$2 key=$3 body=$4
	shift 4
	local h=()
	[ "$key" != - ] && h+=(-H "Idempotency-Key: $key")
	[ "$csrf" != - ] && h+=(-H "X-CSRF-Token: $csrf")
	it_http POST /api/orders -b "portal_session=$tok" -H 'Content-Type: application/json' \
		"${h[@]}" --data-binary "$body" "$@"
}
get() { # TOKEN PATH
	it_http GET "$2" -b "portal_session=$1"
}
error_is() { # status code
	it_status_is "$1" && it_json_eq .error.code "$2" && it_json '.error.request_id | strings' >/dev/null
}
field_is() { # field: 400 VALIDATION_FAILED naming it
	it_status_is 400 && it_json_eq .error.code VALIDATION_FAILED && it_json_eq .error.field "$1"
}
sf_orders_with_key() { # value of Portal_Idempotency_Key__c → count in the simulator
	curl -sS "$SF/__sim/state" | jq --arg k "$1" '[.Order[] | select(.Portal_Idempotency_Key__c == $k)] | length'
}
sf_order() { # id → the Order record in the simulator
	curl -sS "$SF/__sim/state" | jq -c --arg id "$1" '.Order[] | select(.Id == $id)'
}
sf_items_of() { # order id → its OrderItems count
	curl -sS "$SF/__sim/state" | jq --arg id "$1" '[.OrderItem[] | select(.OrderId == $id)] | length'
}
KEY_PREFIX=${A1:0:15}
INTERNET='{"items":[{"sku":"INT-FTTH-1G","quantity":1},{"sku":"INT-ROUTER","quantity":1}],"notes":"t_orders"}'

# ---------------------------------------------------------------- the site files
if [ "$IT_WEB" = nginx ]; then
	it_check "nginx routes /api/orders to portal-orders" grep -q 'portal-orders.sock' "$IT_SRCDIR/etc/nginx/portal.conf"
else
	it_check "Apache routes /api/orders to portal-orders" \
		grep -Eq '^[[:space:]]*ScriptAlias /api/orders[[:space:]].*/portal-orders\.fcgi' "$IT_SRCDIR/etc/apache/portal.conf"
fi

# ---------------------------------------------------------------- happy path
K1=k-$RUN-1
post "$TOK1" "$CSRF1" "$K1" "$INTERNET"
it_check "checkout: 201" it_status_is 201
ID1=$(jq -r '.data.id // empty' "$IT_LAST_BODY")
it_check "checkout: an Order id" bash -c "[[ '$ID1' =~ ^801[A-Za-z0-9]{15}$ ]]"
it_check "checkout: status Pending Review" it_json_eq .data.status "Pending Review"
it_check "checkout: activation_status Not Started" it_json_eq .data.activation_status "Not Started"
it_check "checkout: an order number" it_json '.data.number | strings | select(length > 0)'
it_check "checkout: total 5830.00 JPY" it_json_eq '"\(.data.total.amount) \(.data.total.currency)"' "5830.00 JPY"
it_check "checkout: items with SKUs" it_json_eq '[.data.items[].sku] | sort | join(",")' "INT-FTTH-1G,INT-ROUTER"
it_check "checkout: private, no-store" it_header_eq Cache-Control "private, no-store"
ORD=$(sf_order "$ID1")
it_check "salesforce: Order of A1, Pending Review, Not Started, Internet" test \
	"$(jq -r '"\(.AccountId) \(.Status) \(.Activation_Status__c) \(.Order_Type__c)"' <<<"$ORD")" = \
	"$A1 Pending Review Not Started Internet"
it_check "salesforce: Portal_Idempotency_Key__c = <15-char account>:<key>" test \
	"$(jq -r .Portal_Idempotency_Key__c <<<"$ORD")" = "$KEY_PREFIX:$K1"
it_check "salesforce: portal pricebook, EffectiveDate today (JST)" test \
	"$(jq -r '"\(.Pricebook2Id) \(.EffectiveDate)"' <<<"$ORD")" = \
	"$(jq -r .portal_pricebook_id "$IT_SRCDIR/tests/fixtures/salesforce/org.json") $(TZ=Asia/Tokyo date +%F)"
it_check "salesforce: shipping address snapshot from the WHMCS profile" \
	jq -e '(.ShippingStreet | length > 0) and (.ShippingCity | length > 0) and (.ShippingPostalCode | length > 0)' <<<"$ORD"
it_check "salesforce: notes in Description" test "$(jq -r .Description <<<"$ORD")" = t_orders
it_check "salesforce: two OrderItems" test "$(sf_items_of "$ID1")" = 2
it_check "salesforce: one composite call made the order" bash -c \
	"curl -sS '$SF/__sim/calls' | jq -e '[.[] | select(.path | test(\"/composite\$\"))] | length == 1' >/dev/null"

get "$TOK1" /api/orders
it_check "list: 200, newest first is the new order" it_json_eq '.data[0].id' "$ID1"
it_check "list: only A1's orders (3 fixtures + 1)" it_json_eq '.data | length' 4
it_check "list: page fields" it_json_eq '"\(.page) \(.total)"' "1 4"
get "$TOK1" "/api/orders/$ID1"
it_check "by id: 200 Pending Review with items" it_json_eq '"\(.data.id) \(.data.status) \(.data.items | length)"' \
	"$ID1 Pending Review 2"
get "$TOK1" "/api/orders/${ID1:0:15}"
it_check "by 15-char id: the same order" it_json_eq .data.id "$ID1"

# ---------------------------------------------------------------- idempotency
post "$TOK1" "$CSRF1" "$K1" "$INTERNET"
it_check "same key again: 201 and the same order id" it_json_eq '"\(.data.id)"' "$ID1"
it_check "same key again: still one Salesforce order" test "$(sf_orders_with_key "$KEY_PREFIX:$K1")" = 1

KP=k-$RUN-parallel
par=$IT_ROOT/t_orders-parallel-$IT_WEB
mkdir -p "$par"
seq 1 10 | xargs -P10 -I{} curl -sS -o "$par/{}.json" -w '{} %{http_code}\n' --max-time 30 \
	-X POST "$IT_BASE_URL/api/orders" -b "portal_session=$TOK1" -H "X-CSRF-Token: $CSRF1" \
	-H "Idempotency-Key: $KP" -H 'Content-Type: application/json' --data-binary "$INTERNET" \
	>"$par/status" 2>&1
par_out=$par/out
while read -r n code; do
	echo "$code $(jq -r '.data.id // .error.code' "$par/$n.json" 2>/dev/null)"
done <"$par/status" >"$par_out"
echo "parallel idempotency ($IT_WEB): seq 1 10 | xargs -P10 curl -X POST /api/orders -H 'Idempotency-Key: $KP'"
echo "  answers (count status id):"
sort "$par_out" | uniq -c | sed 's/^/    /'
echo "  Salesforce orders with Portal_Idempotency_Key__c $KEY_PREFIX:$KP: $(sf_orders_with_key "$KEY_PREFIX:$KP")"
it_check "parallel: 10 answers, all 201" test "$(grep -c '^201 801' "$par_out")" = 10
it_check "parallel: every answer carries the same order id" test "$(awk '{print $2}' "$par_out" | sort -u | wc -l)" = 1
it_check "parallel: exactly one Salesforce order for the key" test "$(sf_orders_with_key "$KEY_PREFIX:$KP")" = 1

# ---------------------------------------------------------------- refusals
# JSON in (portal-api.md): the cart as text/plain is refused before checkout
it_http POST /api/orders -b "portal_session=$TOK1" -H "X-CSRF-Token: $CSRF1" -H "Idempotency-Key: k-$RUN-ct" \
	-H 'Content-Type: text/plain' --data-binary "$INTERNET"
it_check "text/plain body: 415 UNSUPPORTED_MEDIA_TYPE" error_is 415 UNSUPPORTED_MEDIA_TYPE
it_check "text/plain body: no Salesforce order for its key" test "$(sf_orders_with_key "$KEY_PREFIX:k-$RUN-ct")" = 0
post "$TOK1" "$CSRF1" - "$INTERNET"
it_check "no Idempotency-Key: 400 IDEMPOTENCY_KEY_REQUIRED" error_is 400 IDEMPOTENCY_KEY_REQUIRED
post "$TOK1" "$CSRF1" "bad key!" "$INTERNET"
it_check "malformed Idempotency-Key: 400 IDEMPOTENCY_KEY_REQUIRED" error_is 400 IDEMPOTENCY_KEY_REQUIRED
post "$TOK1" "$CSRF1" "$(printf 'k%.0s' $(seq 1 65))" "$INTERNET"
it_check "65-char Idempotency-Key: 400" error_is 400 IDEMPOTENCY_KEY_REQUIRED
post "$TOK1" "$CSRF1" "k-$RUN-v1" '{"items":[{"sku":"INT-FTTH-1G","quantity":0}]}'
it_check "quantity 0: 400 VALIDATION_FAILED naming the field" field_is "items[0].quantity"
post "$TOK1" "$CSRF1" "k-$RUN-v2" '{"items":'
it_check "invalid JSON: 400 VALIDATION_FAILED" error_is 400 VALIDATION_FAILED
post "$TOK1" "$CSRF1" "k-$RUN-v3" '{"items":[{"sku":"SIM-DATA-3GB","quantity":1}]}'
it_check "SIM plan without sim_type: 400 VALIDATION_FAILED (sim_type)" field_is sim_type
post "$TOK1" "$CSRF1" "k-$RUN-u1" '{"items":[{"sku":"NO-SUCH-SKU","quantity":1}]}'
it_check "unknown SKU: 400 UNKNOWN_SKU" error_is 400 UNKNOWN_SKU
post "$TOK1" "$CSRF1" "k-$RUN-u2" '{"items":[{"sku":"INT-LEGACY-100M","quantity":1}]}'
it_check "INT-LEGACY-100M (unmapped): 400 NOT_ORDERABLE" error_is 400 NOT_ORDERABLE
post "$TOK1" "$CSRF1" "k-$RUN-u3" '{"items":[{"sku":"INT-ROUTER","quantity":1},{"sku":"VPN-BASIC","quantity":1}]}'
it_check "internet + vpn: 400 MIXED_CART" error_is 400 MIXED_CART
post "$TOK4" "$CSRF4" "k-$RUN-u4" '{"items":[{"sku":"INT-FTTH-10G","quantity":1}]}'
it_check "A4 (FTTH_1G only) orders 10G: 400 NOT_ELIGIBLE" error_is 400 NOT_ELIGIBLE
post "$TOK4" "$CSRF4" "k-$RUN-u5" '{"items":[{"sku":"VPN-BASIC","quantity":1}]}'
it_check "A4 (no pay method): 409 PAYMENT_METHOD_MISSING" error_is 409 PAYMENT_METHOD_MISSING
post "$TOK1" - "k-$RUN-c1" "$INTERNET"
it_check "no X-CSRF-Token: 403 CSRF_FAILED" error_is 403 CSRF_FAILED
post "$TOK1" "$CSRF4" "k-$RUN-c2" "$INTERNET"
it_check "another session's CSRF token: 403 CSRF_FAILED" error_is 403 CSRF_FAILED
it_http GET /api/orders
it_check "no session: 401 UNAUTHENTICATED" error_is 401 UNAUTHENTICATED
big=$(head -c 70000 /dev/zero | tr '\0' a)
post "$TOK1" "$CSRF1" "k-$RUN-b1" "{\"items\":[],\"note\":\"$big\"}"
it_check "body over HTTP_MAX_BODY (64 KiB): 413 PAYLOAD_TOO_LARGE" error_is 413 PAYLOAD_TOO_LARGE
json_error_with_id() { # the web server's own 413 in the API's shape (nginx error_page, Apache ErrorDocument)
	grep -qi '^content-type: application/json' "$IT_LAST_HEADERS" || { echo "not JSON: $(it_header Content-Type)"; return 1; }
	[ -n "$(it_header X-Request-Id)" ] && [ "$(jq -r .error.request_id "$IT_LAST_BODY")" = "$(it_header X-Request-Id)" ] ||
		{ echo "request_id '$(jq -r .error.request_id "$IT_LAST_BODY")' vs X-Request-Id '$(it_header X-Request-Id)'"; return 1; }
}
it_check "413: JSON with request_id = X-Request-Id" json_error_with_id
it_check "refusals made no Salesforce order" test \
	"$(curl -sS "$SF/__sim/state" | jq '[.Order[] | select((.Portal_Idempotency_Key__c // "") | test(":k-'"$RUN"'-[vuc]"))] | length')" = 0

# ---------------------------------------------------------------- IDOR, activation_error
get "$TOK1" "/api/orders/$A5_FAILED_ORDER"
it_check "A1 reads A5's order: 404 NOT_FOUND" error_is 404 NOT_FOUND
get "$TOK1" "/api/orders/8015F0000000099QAA"
it_check "unknown order id: 404" error_is 404 NOT_FOUND
get "$TOK1" "/api/orders/801'%20OR%20Id%20!=%20'"
it_check "malformed order id: 404" error_is 404 NOT_FOUND
get "$TOK1" "/api/orders/q_00000000-0000-4000-8000-000000000000"
it_check "unknown q_ id: 404" error_is 404 NOT_FOUND
get "$TOK5" "/api/orders/$A5_FAILED_ORDER"
it_check "A5's failed order: activation_error TEMPORARY_FAILURE with the fixed message" it_json_eq \
	'"\(.data.activation_status) \(.data.activation_error.code) \(.data.activation_error.message | length > 10)"' \
	"Failed TEMPORARY_FAILURE true"
it_check "A5's failed order: the raw code is not shown" bash -c "! grep -q '\"503\"' '$IT_LAST_BODY'"

# ---------------------------------------------------------------- Salesforce down → outbox
KQ=k-$RUN-queued
curl -sS -XPOST "$SF/__sim/faults" -d '{"match":"^/services/data/v[0-9.]+/composite","status":503,"count":-1}' >/dev/null
post "$TOK1" "$CSRF1" "$KQ" "$INTERNET"
it_check "Salesforce create 503: 202" it_status_is 202
QID=$(jq -r '.data.id // empty' "$IT_LAST_BODY")
it_check "queued: id q_<uuid>" bash -c "[[ '$QID' =~ ^q_[0-9a-f-]{36}$ ]]"
it_check "queued: status and activation_status Queued" it_json_eq '"\(.data.status) \(.data.activation_status)"' "Queued Queued"
it_check "queued: items and total" it_json_eq '"\(.data.items | length) \(.data.total.amount)"' "2 5830.00"
it_check "outbox: one queued row with the Order body and the key" test \
	"$(psql_q "SELECT count(*) || ' ' || min(status) || ' ' || min(payload->'order'->>'Portal_Idempotency_Key__c')
		|| ' ' || min(jsonb_array_length(payload->'items')) FROM order_outbox
		WHERE sf_account_id = '$A1' AND idempotency_key = '$KQ'")" = "1 queued $KEY_PREFIX:$KQ 2"
post "$TOK1" "$CSRF1" "$KQ" "$INTERNET"
it_check "queued, same key again: 202 and the same q_ id" it_json_eq '"\(.data.id)"' "$QID"
it_check "no Salesforce order for the queued key" test "$(sf_orders_with_key "$KEY_PREFIX:$KQ")" = 0
get "$TOK1" "/api/orders/$QID"
it_check "GET /api/orders/q_…: 200 Queued" it_json_eq '"\(.data.id) \(.data.status)"' "$QID Queued"
get "$TOK1" /api/orders
it_check "list shows the queued order first" it_json_eq '.data[0].id' "$QID"
get "$TOK5" "/api/orders/$QID"
it_check "another account's q_ id: 404" error_is 404 NOT_FOUND
curl -sS -XDELETE "$SF/__sim/faults" >/dev/null
# What the drain does once Salesforce is back (order + submitted row), played here.
psql_q "UPDATE order_outbox SET status = 'submitted', sf_order_id = '$ID1', submitted_at = now()
	WHERE sf_account_id = '$A1' AND idempotency_key = '$KQ'" >/dev/null
get "$TOK1" "/api/orders/$QID"
it_check "GET /api/orders/q_… after submission: the Salesforce order" it_json_eq .data.id "$ID1"

it_summary
