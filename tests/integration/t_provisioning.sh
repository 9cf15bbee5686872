#!/bin/bash
# t_provisioning.sh — portal-provisiond against the simulators, PostgreSQL and
# Redis: approve → Activated with one WHMCS order carrying the note
# (resolutions §5); duplicate job → still one order; no payment method →
# Failed PAYMENT_METHOD_MISSING, then retry after adding one → Activated;
# AddOrder 503 → Failed 503, operator retry → Activated, one order;
# kill -9 after AddOrder (AcceptOrder delayed) + restart → one order, Activated.
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

SF="http://127.0.0.1:$SIM_SF_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
ORDER=8015F0000000006QAA   # A4 (WHMCS client 104): Internet, Pending Review, no pay method
RCLI="redis-cli -u ${REDIS_URL:-redis://127.0.0.1:6379/0}"
BIN="$IT_SBINDIR/portal-provisiond"
LOG="$IT_ROOT/logs/portal-provisiond.log"

start_prov() { "$BIN" -f </dev/null >>"$LOG" 2>&1 & PROV_PID=$!; it_register portal-provisiond-$PROV_PID $PROV_PID; }
enqueue() { $RCLI XADD portal:q:provisioning '*' sf_order_id "$ORDER" event_id "$(cat /proc/sys/kernel/random/uuid)" >/dev/null; }
sf_field() { curl -s "$SF/__sim/state" | jq -r --arg id "$ORDER" "[.. | objects | select(.Id? == \$id and has(\"Activation_Status__c\"))][0].$1 // empty"; }
sf_is() { [ "$(sf_field "$1")" = "$2" ]; }
wh_orders() { curl -s "$WH/__sim/state" | jq --arg n "sf_order=$ORDER" '[.. | objects | select(.notes? == $n)] | length'; }
reset_all() { curl -s -XPOST "$SF/__sim/reset" >/dev/null; curl -s -XPOST "$WH/__sim/reset" >/dev/null
	psql "$DATABASE_URL" -qc "DELETE FROM provisioning_runs WHERE sf_order_id = '$ORDER'" >/dev/null; }
add_paymethod() { curl -s -XPOST "$WH/__sim/paymethods" -d '{"clientid":104,"type":"RemoteCreditCard","card_last_four":"4242","expiry_date":"12/30","gateway_name":"stripe"}' >/dev/null; }

[ -x "$BIN" ] || { it_log "portal-provisiond not built"; it_summary; exit; }
start_prov

# 1. no payment method → Failed PAYMENT_METHOD_MISSING; fix + retry → Activated
reset_all
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
enqueue
it_check "no pay method: Failed" it_wait_for 15 sf_is Activation_Status__c Failed
it_check "no pay method: PAYMENT_METHOD_MISSING" sf_is Activation_Error_Code__c PAYMENT_METHOD_MISSING
it_check "no pay method: no WHMCS order" test "$(wh_orders)" = 0
add_paymethod
curl -s -XPOST "$SF/__sim/orders/$ORDER/retry" >/dev/null
enqueue
it_check "retry: Activated" it_wait_for 15 sf_is Activation_Status__c Activated
it_check "retry: Status Activated" sf_is Status Activated
it_check "retry: WHMCS_Order_ID__c set" test -n "$(sf_field WHMCS_Order_ID__c)"
it_check "retry: one WHMCS order with the note" test "$(wh_orders)" = 1
enqueue; enqueue
sleep 2
it_check "duplicate jobs: still one WHMCS order" test "$(wh_orders)" = 1
it_check "portalctl orders show" bash -c "'$IT_SBINDIR/portalctl' orders show $ORDER | grep -q 'status=succeeded'"

# 2. AddOrder 503 → Failed 503; operator retry → Activated, one order
reset_all; add_paymethod
curl -s -XPOST "$WH/__sim/faults" -d '{"match":"AddOrder","status":503,"count":1}' >/dev/null
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
enqueue
it_check "AddOrder 503: Failed" it_wait_for 15 sf_is Activation_Status__c Failed
it_check "AddOrder 503: code 503" sf_is Activation_Error_Code__c 503
curl -s -XPOST "$SF/__sim/orders/$ORDER/retry" >/dev/null
enqueue
it_check "503 retry: Activated" it_wait_for 15 sf_is Activation_Status__c Activated
it_check "503 retry: one WHMCS order" test "$(wh_orders)" = 1

# 3. kill -9 between AddOrder and AcceptOrder, restart → one order, Activated
reset_all; add_paymethod
curl -s -XPOST "$WH/__sim/faults" -d '{"match":"AcceptOrder","delay_ms":4000,"count":1}' >/dev/null
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
enqueue
it_check "kill: AddOrder happened" it_wait_for 15 bash -c "[ \"\$(curl -s $WH/__sim/state | jq --arg n sf_order=$ORDER '[.. | objects | select(.notes? == \$n)] | length')\" = 1 ]"
sleep 0.5
kill -9 "$PROV_PID"
sleep 4   # let the delayed AcceptOrder land: the rerun must cope with "already accepted"
start_prov
enqueue   # the replayed event (the killed worker's entry is re-claimed later)
it_check "kill: Activated after restart" it_wait_for 20 sf_is Activation_Status__c Activated
it_check "kill: exactly one WHMCS order" test "$(wh_orders)" = 1

it_log "one provisioning run's log lines:"
grep -E 'Starting fulfillment orchestration|msg=(validation|sf_status_update|order_details|mapping|whmcs_create|whmcs_accept|sf_success_update|Activated)' "$LOG" | tail -n 9 >&2
kill "$PROV_PID"
it_summary
