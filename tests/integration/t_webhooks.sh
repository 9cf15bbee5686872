#!/bin/bash
# t_webhooks.sh — portal-webhooks.fcgi through the web server (portal-api.md
# "Webhooks", resolutions §17): events signed and sent by the WHMCS
# simulator's POST /__sim/webhooks/send —
#   * valid InvoicePaid → 200, client:101:invoices and invoice:<id> dropped,
#     and the next invoices read really asks WHMCS again (/__sim/calls) and
#     shows the change made in the simulator;
#   * replayed event id → 200 duplicate, nothing dropped;
#   * bad signature / stale timestamp → 401 INVALID_SIGNATURE, nothing dropped,
#     the id not recorded;
#   * ClientEdit / ServiceEdit / PayMethodChanged → profile / services /
#     paymethods; no signature header → 401; signed non-JSON → 400; body over
#     HTTP_MAX_BODY → 413 PAYLOAD_TOO_LARGE (JSON). No session or CSRF token
#     is needed (server to server).
# The simulators of the run are started before the web server, so their
# webhook target cannot be this pass's port: the test starts a second WHMCS
# simulator as the sender (same secret, --portal-url = this web server), and
# the run's simulator stays the one the portal reads from.
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

WH="http://127.0.0.1:$SIM_WHMCS_PORT"
MKSESSION=$IT_BUILDDIR/tests/integration/mksession
A1=0015F0000000001QAA
RUN=$IT_WEB-$$
SECRET=${SIM_WHMCS_WEBHOOK_SECRET:-sim-webhook-secret}

psql_q() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }

if [ ! -x "$MKSESSION" ] || [ -z "${IT_SIMS:-}" ]; then
	it_log "t_webhooks: mksession or simulators missing: skipped"
	it_summary
	exit 0
fi

SENDER_PORT=$(it_free_port)
SENDER_PID=
cleanup() {
	[ -n "$SENDER_PID" ] && it_stop_pid whmcs-sender "$SENDER_PID"
	curl -sS -XPATCH "$WH/__sim/records/invoices/1002" -H 'Content-Type: application/json' \
		--data '{"status":"Unpaid","datepaid":"0000-00-00 00:00:00"}' >/dev/null 2>&1
	psql_q "DELETE FROM users WHERE email LIKE 't-webhooks-%-$RUN@example.test'" >/dev/null 2>&1
	rcli --scan --pattern 'client:101:*' | while read -r k; do rcli DEL "$k" >/dev/null; done
}
trap cleanup EXIT
"$IT_PYTHON" "$IT_SRCDIR/tests/sim/whmcs_sim.py" --port "$SENDER_PORT" \
	--portal-url "$IT_BASE_URL" --webhook-secret "$SECRET" \
	</dev/null >>"$IT_ROOT/logs/whmcs-sender-$IT_WEB.log" 2>&1 &
SENDER_PID=$!
it_wait_port "$SENDER_PORT" 20 || it_die "sender simulator did not start"
SENDER="http://127.0.0.1:$SENDER_PORT"

uid=$(psql_q "SELECT user_id FROM id_mappings WHERE sf_account_id = '$A1'")
if [ -z "$uid" ]; then
	uid=$(psql_q "INSERT INTO users (email, password_hash) VALUES
		('t-webhooks-a1-$RUN@example.test', '\$argon2id\$v=19\$m=19456,t=2,p=1\$dGVzdA\$dGVzdA')
		RETURNING id" | head -n1)
	psql_q "INSERT INTO id_mappings (user_id, whmcs_client_id, sf_account_id) VALUES ($uid, 101, '$A1')" >/dev/null
fi
read -r TOK1 _ < <("$MKSESSION" "$uid" "$A1" 101 2>/dev/null)
[ -n "${TOK1:-}" ] || it_die "no session"
rcli --scan --pattern 'client:101:*' | while read -r k; do rcli DEL "$k" >/dev/null; done

SENT="$IT_ROOT/webhook-sent.json"
send() { # JSON spec → the sender's answer in $SENT
	curl -sS -XPOST "$SENDER/__sim/webhooks/send" -H 'Content-Type: application/json' --data "$1" >"$SENT"
}
sent_is() { # portal status [code]
	local s
	s=$(jq -r .status "$SENT")
	[ "$s" = "$1" ] || { echo "portal answered $s: $(jq -r '.body // .error' "$SENT")"; return 1; }
	[ -z "${2:-}" ] || jq -r .body "$SENT" | jq -e --arg c "$2" '.error.code == $c' >/dev/null ||
		{ echo "body $(jq -r .body "$SENT")"; return 1; }
}
sent_dup() { jq -r .body "$SENT" | jq -e ".data.duplicate == $1" >/dev/null; }
has_key() { [ "$(rcli EXISTS "$1")" = "$2" ] || { echo "EXISTS $1 = $(rcli EXISTS "$1"), expected $2"; return 1; }; }
calls() { curl -sS "$WH/__sim/calls" | jq --arg a "$1" '[.[] | select(.action == $a)] | length'; }
warm() { # the list, invoice 1002, profile, services, pay methods of A1 into the cache
	local p
	for p in /api/billing/invoices /api/billing/invoices/1002 /api/account/profile /api/subscriptions \
		/api/billing/payment-methods; do
		it_http GET "$p" -b "portal_session=$TOK1"
	done
}
recorded() { # event id → rows in webhook_events
	psql_q "SELECT count(*) FROM webhook_events WHERE event_id = '$1'"
}

# ---------------------------------------------------------------- valid → refetch
warm
it_http GET /api/billing/invoices/1002 -b "portal_session=$TOK1"
it_check "before: invoice 1002 Unpaid (cached)" it_json_eq .data.status Unpaid
it_check "before: list cached" has_key client:101:invoices 1
# WHMCS changes behind the portal's back; the webhook tells it.
curl -sS -XPATCH "$WH/__sim/records/invoices/1002" -H 'Content-Type: application/json' \
	--data '{"status":"Paid","datepaid":"2026-11-23 10:00:00"}' >/dev/null
it_http GET /api/billing/invoices/1002 -b "portal_session=$TOK1"
it_check "before webhook: still the cached Unpaid" it_json_eq .data.status Unpaid
n0=$(calls GetInvoices)
send '{"event":"InvoicePaid","client_id":101,"data":{"invoiceid":1002}}'
it_check "valid: 200" sent_is 200
it_check "valid: not a duplicate" sent_dup false
ID=$(jq -r .sent.id "$SENT")
it_check "valid: id recorded once" bash -c "[ \"\$(psql '$DATABASE_URL' -qtAX -c \"SELECT count(*) FROM webhook_events WHERE event_id = '$ID' AND source = 'whmcs'\")\" = 1 ]"
it_check "valid: invoices list dropped" has_key client:101:invoices 0
it_check "valid: invoice:1002 dropped" has_key client:101:invoice:1002 0
it_check "valid: profile kept" has_key client:101:profile 1
it_http GET /api/billing/invoices -b "portal_session=$TOK1"
it_check "next read: refetched from WHMCS" bash -c "[ $(calls GetInvoices) -gt $n0 ]"
it_check "next read: 1002 Paid" it_json_eq '.data[] | select(.id == 1002) | .status' Paid
it_http GET /api/billing/invoices/1002 -b "portal_session=$TOK1"
it_check "next detail read: Paid" it_json_eq .data.status Paid

# ---------------------------------------------------------------- replay, bad, stale
warm
n0=$(calls GetInvoices)
send '{"event":"InvoicePaid","client_id":101,"data":{"invoiceid":1002},"reuse_id":true}'
it_check "replayed id: 200" sent_is 200
it_check "replayed id: duplicate, no effect" sent_dup true
it_check "replayed id: list still cached" has_key client:101:invoices 1
it_http GET /api/billing/invoices -b "portal_session=$TOK1"
it_check "replayed id: next read from the cache" bash -c "[ $(calls GetInvoices) -eq $n0 ]"

send '{"event":"InvoiceCreated","client_id":101,"bad_signature":true}'
it_check "bad signature: 401 INVALID_SIGNATURE" sent_is 401 INVALID_SIGNATURE
it_check "bad signature: nothing dropped" has_key client:101:invoices 1
it_check "bad signature: id not recorded" bash -c "[ \"\$(psql '$DATABASE_URL' -qtAX -c \"SELECT count(*) FROM webhook_events WHERE event_id = '$(jq -r .sent.id "$SENT")'\")\" = 0 ]"
send '{"event":"InvoiceCreated","client_id":101,"stale":true}'
it_check "stale timestamp: 401 INVALID_SIGNATURE" sent_is 401 INVALID_SIGNATURE
it_check "stale timestamp: nothing dropped" has_key client:101:invoices 1
it_check "stale timestamp: id not recorded" bash -c "[ \"\$(psql '$DATABASE_URL' -qtAX -c \"SELECT count(*) FROM webhook_events WHERE event_id = '$(jq -r .sent.id "$SENT")'\")\" = 0 ]"
send "{\"event\":\"InvoiceCreated\",\"client_id\":101,\"timestamp\":$(( $(date +%s) + 400 ))}"
it_check "future timestamp: 401" sent_is 401 INVALID_SIGNATURE

# ---------------------------------------------------------------- event → caches
send '{"event":"ClientEdit","client_id":101}'
it_check "ClientEdit: 200" sent_is 200
it_check "ClientEdit: profile dropped" has_key client:101:profile 0
it_check "ClientEdit: services kept" has_key client:101:services 1
send '{"event":"ServiceEdit","client_id":101,"data":{"serviceid":150}}'
it_check "ServiceEdit: services dropped" has_key client:101:services 0
it_check "ServiceEdit: pay methods kept" has_key client:101:paymethods 1
send '{"event":"PayMethodChanged","client_id":101}'
it_check "PayMethodChanged: pay methods dropped" has_key client:101:paymethods 0
it_check "PayMethodChanged: invoices kept" has_key client:101:invoices 1
send '{"event":"InvoiceCancelled","client_id":101}'
it_check "InvoiceCancelled without invoiceid: list dropped" has_key client:101:invoices 0

# ---------------------------------------------------------------- the request itself
BODY="{\"id\":\"t-webhooks-$RUN\",\"event\":\"ClientEdit\",\"timestamp\":$(date +%s),\"client_id\":101}"
it_http POST /api/webhooks/whmcs -H 'Content-Type: application/json' --data-binary "$BODY"
it_check "no signature header: 401" it_json_eq .error.code INVALID_SIGNATURE
it_check "no signature header: id not recorded" bash -c "[ \"\$(psql '$DATABASE_URL' -qtAX -c \"SELECT count(*) FROM webhook_events WHERE event_id = 't-webhooks-$RUN'\")\" = 0 ]"
SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
it_http POST /api/webhooks/whmcs -H 'Content-Type: application/json' -H "X-WHMCS-Signature: $SIG" --data-binary "$BODY"
it_check "signed by hand (no cookie, no CSRF): 200" it_status_is 200
psql_q "DELETE FROM webhook_events WHERE event_id = 't-webhooks-$RUN'" >/dev/null
# The other apps refuse a body not labelled JSON (415); this one checks the
# HMAC of the raw bytes instead, whatever a WHMCS hook labels them.
BODY2="{\"id\":\"t-webhooks-ct-$RUN\",\"event\":\"ClientEdit\",\"timestamp\":$(date +%s),\"client_id\":101}"
SIG=$(printf '%s' "$BODY2" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
it_http POST /api/webhooks/whmcs -H 'Content-Type: application/x-www-form-urlencoded' -H "X-WHMCS-Signature: $SIG" --data-binary "$BODY2"
it_check "signed, labelled form-encoded: 200 (no 415 on the webhook)" it_status_is 200
it_http POST /api/webhooks/whmcs -H 'Content-Type: text/plain' --data-binary "$BODY2"
it_check "unsigned, labelled text/plain: 401 INVALID_SIGNATURE" it_json_eq .error.code INVALID_SIGNATURE
psql_q "DELETE FROM webhook_events WHERE event_id = 't-webhooks-ct-$RUN'" >/dev/null
BAD='{"id":"x", "event":'
SIG=$(printf '%s' "$BAD" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
it_http POST /api/webhooks/whmcs -H 'Content-Type: application/json' -H "X-WHMCS-Signature: $SIG" --data-binary "$BAD"
it_check "signed non-JSON: 400 VALIDATION_FAILED" it_json_eq .error.code VALIDATION_FAILED
BIG=$(head -c 70000 /dev/zero | tr '\0' 'a')
it_http POST /api/webhooks/whmcs -H 'Content-Type: application/json' -H "X-WHMCS-Signature: $SIG" --data-binary "{\"pad\":\"$BIG\"}"
# nginx's error_page and Apache's ErrorDocument both answer in the API's shape.
it_check "body over HTTP_MAX_BODY: 413 PAYLOAD_TOO_LARGE" bash -c "[ $IT_LAST_STATUS = 413 ] && jq -e '.error.code == \"PAYLOAD_TOO_LARGE\"' '$IT_LAST_BODY' >/dev/null"
it_http GET /api/webhooks/whmcs
it_check "GET: 405" it_status_is 405

it_summary
