#!/bin/bash
# t_provisioning.sh — portal-provisiond against the simulators, PostgreSQL and
# Redis: approve → Activated with one WHMCS order carrying the note
# (resolutions §5); duplicate job → still one order; no payment method →
# Failed PAYMENT_METHOD_MISSING, then retry after adding one → Activated;
# AddOrder 503 → Failed 503, operator retry → Activated, one order;
# kill -9 after AddOrder (AcceptOrder delayed) + restart → one order, Activated;
# kill -9 before AcceptOrder (id recorded, AcceptOrder never landed) and before
# sf_success_update (accepted, PATCH never landed) + restart → resumed at that
# step, one order, Activated;
# AddOrder 429 and a timeout (the late order is adopted on retry, never
# doubled); MAPPING_MISSING; a physical SIM order opens the Freebit line and
# writes MSISDN/SIM_TYPE into the WHMCS service; two workers racing on
# duplicate jobs → one order; a PostgreSQL reconnect mid-run aborts the run
# (lock lost) and the next delivery finishes it; a due delayed job runs once;
# outbox orders are submitted in order, once.
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

SF="http://127.0.0.1:$SIM_SF_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
ORDER=8015F0000000006QAA   # A4 (WHMCS client 104): Internet, Pending Review, no pay method
SIM_ORDER=8015F0000000005QAA   # A3 (client 103, has a card): physical SIM, SIM-DATA-3GB + activation fee
MSISDN=08012349905             # a stock number (fixtures/CROSSREF.md)
FB="http://127.0.0.1:$SIM_FREEBIT_PORT"
RCLI="redis-cli -u ${REDIS_URL:-redis://127.0.0.1:6379/0}"
BIN="$IT_SBINDIR/portal-provisiond"
LOG="$IT_ROOT/logs/portal-provisiond.log"

start_prov() { "$BIN" -f </dev/null >>"$LOG" 2>&1 & PROV_PID=$!; it_register portal-provisiond-$PROV_PID $PROV_PID; }
enqueue() { $RCLI XADD portal:q:provisioning '*' sf_order_id "${1:-$ORDER}" event_id "$(cat /proc/sys/kernel/random/uuid)" >/dev/null; }
# sf_field FIELD [ORDER]: the Order's field in the simulator's state (.Order is an array of records)
sf_field() { curl -s "$SF/__sim/state" | jq -r --arg id "${2:-$ORDER}" --arg f "$1" '.Order[] | select(.Id == $id) | .[$f] // empty'; }
sf_is() { [ "$(sf_field "$1" "${3:-$ORDER}")" = "$2" ]; }
wh_orders() { curl -s "$WH/__sim/state" | jq --arg n "sf_order=${1:-$ORDER}" '[.orders[] | select(.notes == $n)] | length'; }
reset_all() { curl -s -XPOST "$SF/__sim/reset" >/dev/null; curl -s -XPOST "$WH/__sim/reset" >/dev/null
	curl -s -XPOST "$FB/__sim/reset" >/dev/null
	psql "$DATABASE_URL" -qc "DELETE FROM provisioning_runs WHERE sf_order_id IN ('$ORDER', '$SIM_ORDER')" >/dev/null; }
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

# 3a. kill -9 before AcceptOrder: AddOrder returned and its id is recorded
# (run step = whmcs_accept), AcceptOrder held by the simulator and then
# refused, so it never lands; restart → resumes at whmcs_accept, accepts the
# recorded order, Activated, one order
run_at() { [ "$(psql "$DATABASE_URL" -qAtc "SELECT step || ':' || (whmcs_order_id IS NOT NULL) FROM provisioning_runs WHERE sf_order_id = '$ORDER'")" = "$1:true" ]; }
wh_status() { curl -s "$WH/__sim/state" | jq -r --arg n "sf_order=$ORDER" '[.orders[] | select(.notes == $n) | .status] | join(",")'; }
# resumed_from STEP: a validation line after line $MARK of the log says resume_from=STEP
resumed_from() { tail -n +"$((MARK + 1))" "$LOG" | grep -q "msg=\"validation\" order_id=$ORDER .*resume_from=$1"; }
reset_all; add_paymethod
curl -s -XPOST "$WH/__sim/faults" -d '{"match":"AcceptOrder","delay_ms":5000,"status":503,"count":1}' >/dev/null
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
enqueue
it_check "kill before AcceptOrder: AddOrder recorded (step whmcs_accept)" it_wait_for 15 run_at whmcs_accept
sleep 0.5
kill -9 "$PROV_PID"
it_check "kill before AcceptOrder: order not accepted yet" test "$(wh_status)" = Pending
sleep 5   # the held AcceptOrder is answered 503 to nobody: it never lands
MARK=$(wc -l <"$LOG")
start_prov
enqueue
it_check "kill before AcceptOrder: Activated after restart" it_wait_for 20 sf_is Activation_Status__c Activated
it_check "kill before AcceptOrder: resumed at whmcs_accept" resumed_from whmcs_accept
it_check "kill before AcceptOrder: exactly one WHMCS order, accepted" test "$(wh_status)" = Active
it_check "kill before AcceptOrder: WHMCS_Order_ID__c = the recorded order" \
	test "$(sf_field WHMCS_Order_ID__c)" = "$(psql "$DATABASE_URL" -qAtc "SELECT whmcs_order_id FROM provisioning_runs WHERE sf_order_id = '$ORDER'")"

# 3c. kill -9 before sf_success_update: WHMCS order created and accepted
# (run step = sf_success_update), the Salesforce PATCH held and then refused;
# restart → resumes at sf_success_update, no WHMCS call, Activated, one order
reset_all; add_paymethod
curl -s -XPOST "$WH/__sim/faults" -d '{"match":"AcceptOrder","delay_ms":1500,"count":1}' >/dev/null
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
enqueue
it_wait_for 15 run_at whmcs_accept   # sf_status_update's PATCH is behind us
curl -s -XPOST "$SF/__sim/faults" -d '{"match":"sobject.PATCH.Order","delay_ms":6000,"status":503,"count":1}' >/dev/null
it_check "kill before sf_success_update: accepted and recorded (step sf_success_update)" \
	it_wait_for 15 run_at sf_success_update
sleep 0.5
kill -9 "$PROV_PID"
it_check "kill before sf_success_update: Salesforce not updated yet" sf_is Activation_Status__c Activating
sleep 6   # the held PATCH is answered 503 to nobody: it never lands
MARK=$(wc -l <"$LOG")
start_prov
enqueue
it_check "kill before sf_success_update: Activated after restart" it_wait_for 20 sf_is Activation_Status__c Activated
it_check "kill before sf_success_update: resumed at sf_success_update" resumed_from sf_success_update
it_check "kill before sf_success_update: Status Activated" sf_is Status Activated
it_check "kill before sf_success_update: exactly one WHMCS order, accepted" test "$(wh_status)" = Active

# 3b. PostgreSQL drops the worker's connection mid-run (the order's advisory
# lock goes with it): the run stops instead of going on unlocked, the job is
# not written back as Failed, and the next delivery finishes it
reset_all; add_paymethod
curl -s -XPOST "$WH/__sim/faults" -d '{"match":"AcceptOrder","delay_ms":2500,"count":1}' >/dev/null
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
enqueue
it_wait_for 10 bash -c "[ \"\$(curl -s $WH/__sim/state | jq --arg n sf_order=$ORDER '[.orders[] | select(.notes == \$n)] | length')\" = 1 ]"
psql "$DATABASE_URL" -qAtc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'portal' AND pid <> pg_backend_pid()" >/dev/null
it_check "lock lost: run aborted, logged" it_wait_for 10 grep -q 'order lock lost' "$LOG"
it_check "lock lost: not written back as Failed" sf_is Activation_Status__c Activating
enqueue
it_check "lock lost: next delivery Activated" it_wait_for 15 sf_is Activation_Status__c Activated
it_check "lock lost: one WHMCS order" test "$(wh_orders)" = 1

# 4. AddOrder 429 → Failed 429; retry → Activated
reset_all; add_paymethod
curl -s -XPOST "$WH/__sim/faults" -d '{"match":"AddOrder","status":429,"count":1}' >/dev/null
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
enqueue
it_check "AddOrder 429: Failed 429" it_wait_for 15 sf_is Activation_Error_Code__c 429
curl -s -XPOST "$SF/__sim/orders/$ORDER/retry" >/dev/null
enqueue
it_check "429 retry: Activated, one order" it_wait_for 15 sf_is Activation_Status__c Activated
it_check "429 retry: one WHMCS order" test "$(wh_orders)" = 1

# 5. AddOrder answered after the client's timeout (WHMCS_TIMEOUT_MS 5000):
# Failed ETIMEOUT, but WHMCS made the order; the retry adopts it by its note
reset_all; add_paymethod
curl -s -XPOST "$WH/__sim/faults" -d '{"match":"AddOrder","delay_ms":6500,"count":1}' >/dev/null
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
enqueue
it_check "AddOrder timeout: Failed ETIMEOUT" it_wait_for 20 sf_is Activation_Error_Code__c ETIMEOUT
it_wait_for 5 bash -c "[ \"\$(curl -s $WH/__sim/state | jq '[.orders[] | select(.notes == \"sf_order=$ORDER\")] | length')\" = 1 ]"
curl -s -XPOST "$SF/__sim/orders/$ORDER/retry" >/dev/null
enqueue
it_check "timeout retry: Activated" it_wait_for 15 sf_is Activation_Status__c Activated
it_check "timeout retry: the late order adopted, one WHMCS order" test "$(wh_orders)" = 1
it_check "timeout retry: adopted logged" grep -q "step=whmcs_create .*how=adopted" "$LOG"

# 6. a product without WH_Product_ID__c → Failed MAPPING_MISSING, no order
reset_all; add_paymethod
prod=$(curl -s "$SF/__sim/state" | jq -r --arg id "$ORDER" '[.OrderItem[] | select(.OrderId == $id)][0].Product2Id')
curl -s -XPATCH "$SF/__sim/sobjects/Product2/$prod" -d '{"WH_Product_ID__c":null}' >/dev/null
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
enqueue
it_check "mapping: Failed MAPPING_MISSING" it_wait_for 15 sf_is Activation_Error_Code__c MAPPING_MISSING
it_check "mapping: no WHMCS order" test "$(wh_orders)" = 0

# 7. physical SIM: freebit_activate opens the stock line, whmcs_link_line
# fills the service's MSISDN / SIM_TYPE fields (ids found by name)
reset_all
curl -s -XPOST "$SF/__sim/orders/$SIM_ORDER/approve" -d "{\"msisdn\":\"$MSISDN\"}" >/dev/null
enqueue "$SIM_ORDER"
it_check "SIM: Activated" it_wait_for 15 sf_is Activation_Status__c Activated "$SIM_ORDER"
it_check "SIM: one WHMCS order" test "$(wh_orders "$SIM_ORDER")" = 1
it_check "SIM: Freebit line active with the plan" test "$(curl -s "$FB/__sim/state" | jq -r --arg m "$MSISDN" '.lines[] | select(.account == $m) | "\(.state) \(.planCode)"')" = "active PASI_3G"
whid=$(sf_field WHMCS_Order_ID__c "$SIM_ORDER")
it_check "SIM: WHMCS service MSISDN/SIM_TYPE set" test "$(curl -s "$WH/__sim/state" | jq -r --argjson o "${whid:-0}" '[.services[] | select(.orderid == $o and (.customfields | length) > 0) | .customfields | to_entries | map(.value) | sort | join(",")][0]')" = "$MSISDN,physical"

# a rerun from freebit_activate (as after a crash right after addAcnt): the
# line is already open (250) with this plan, which counts as done before
psql "$DATABASE_URL" -qc "UPDATE provisioning_runs SET step = 'freebit_activate' WHERE sf_order_id = '$SIM_ORDER'" >/dev/null
curl -s -XPOST "$SF/__sim/orders/$SIM_ORDER/retry" >/dev/null
enqueue "$SIM_ORDER"
it_check "SIM rerun: line already open with the plan → Activated" it_wait_for 15 bash -c "[ \"\$(grep -c 'msg=\"Activated\" order_id=$SIM_ORDER' '$LOG')\" = 2 ]"
it_check "SIM rerun: still one WHMCS order" test "$(wh_orders "$SIM_ORDER")" = 1

# 8. two workers racing on duplicate jobs → one WHMCS order
reset_all; add_paymethod
PROV1=$PROV_PID
start_prov
curl -s -XPOST "$SF/__sim/orders/$ORDER/approve" -d '{}' >/dev/null
for i in 1 2 3 4 5 6; do enqueue; done
it_check "race: Activated" it_wait_for 15 sf_is Activation_Status__c Activated
sleep 2
it_check "race: exactly one WHMCS order" test "$(wh_orders)" = 1
kill "$PROV_PID"

# 9. delayed jobs: a due plan-change job runs once in the worker; a future
# one waits (portalctl jobs list) and run-due leaves it alone
now_ms=$(($(date +%s%N) / 1000000))
$RCLI ZADD portal:q:delayed $((now_ms - 1000)) '{"id":"it-due","type":"whmcs_plan_change","service_id":201,"pid":12,"recurring_amount":"2680.00"}' >/dev/null
$RCLI ZADD portal:q:delayed $((now_ms + 3600000)) '{"id":"it-later","type":"sim_network_type","msisdn":"08012340001","network_type":"5G"}' >/dev/null
it_check "delayed: due plan change applied to WHMCS" it_wait_for 10 bash -c "[ \"\$(curl -s $WH/__sim/state | jq -r '.services[] | select(.id == 201) | .pid')\" = 12 ]"
it_check "delayed: UpdateClientProduct called once" test "$(curl -s "$WH/__sim/calls" | jq '[.[] | select(.action | ascii_downcase == "updateclientproduct")] | length')" = 1
it_check "delayed: jobs list shows the future job waiting" bash -c "'$IT_SBINDIR/portalctl' jobs list | grep -q 'state=waiting.*it-later'"
it_check "delayed: run-due runs nothing early" bash -c "'$IT_SBINDIR/portalctl' jobs run-due | grep -qx 'ran=0 failed=0 requeued=0'"

# 10. order outbox: rows held while Salesforce was down stay queued while it
# still fails, then are submitted oldest first, once; a row left
# 'submitting' by a crash is adopted by its key, not created twice
reset_all
psql "$DATABASE_URL" -qc "DELETE FROM order_outbox" >/dev/null
ob_row() { # key, seconds ago
	local body
	body=$(jq -nc --arg k "0015F0000000004:$1" '{version: 1,
		order: {AccountId: "0015F0000000004QAA", Pricebook2Id: "01s5F0000000002QAA",
			EffectiveDate: "2026-11-20", Status: "Pending Review", Activation_Status__c: "Not Started",
			Order_Type__c: "Internet", Portal_Idempotency_Key__c: $k},
		items: [{PricebookEntryId: "01u5F0000000014QAA", Quantity: 1, UnitPrice: 5280}],
		view: {order_type: "internet", total: "5280.00", items: []}}')
	psql "$DATABASE_URL" -qc "INSERT INTO order_outbox (id, sf_account_id, idempotency_key, payload, created_at)
		VALUES (gen_random_uuid(), '0015F0000000004QAA', '$1', '$body', now() - interval '$2 seconds')" >/dev/null
}
sf_key_orders() { curl -s "$SF/__sim/state" | jq --arg k "0015F0000000004:$1" '[.Order[] | select(.Portal_Idempotency_Key__c == $k)] | length'; }
ob_status() { psql "$DATABASE_URL" -Atc "SELECT string_agg(status, ',' ORDER BY created_at) FROM order_outbox"; }
curl -s -XPOST "$SF/__sim/faults" -d '{"match":"composite","status":503,"count":-1,"body":[{"message":"down","errorCode":"SERVER_UNAVAILABLE"}]}' >/dev/null
ob_row it-ob-1 20; ob_row it-ob-2 10
"$IT_SBINDIR/portalctl" outbox drain >/dev/null 2>&1   # (or the worker's own drain: one of the two)
ob_waiting() { [ "$(psql "$DATABASE_URL" -Atc "SELECT count(*) FILTER (WHERE status = 'queued') || '/' || count(*) FILTER (WHERE attempts > 0) FROM order_outbox")" = 2/1 ]; }
it_check "outbox: Salesforce down, the oldest tried, both stay queued" it_wait_for 10 ob_waiting
it_check "outbox status: 2 queued" bash -c "'$IT_SBINDIR/portalctl' outbox status | grep -qx 'queued=2'"
curl -s -XDELETE "$SF/__sim/faults" >/dev/null
it_check "outbox: both submitted once back" it_wait_for 15 bash -c "[ \"\$(psql '$DATABASE_URL' -Atc \"SELECT string_agg(status, ',' ORDER BY created_at) FROM order_outbox\")\" = submitted,submitted ]"
it_check "outbox: submitted oldest first" test "$(psql "$DATABASE_URL" -Atc "SELECT bool_and(ok) FROM (SELECT sf_order_id > lag(sf_order_id) OVER (ORDER BY created_at) OR lag(sf_order_id) OVER (ORDER BY created_at) IS NULL AS ok FROM order_outbox) t")" = t
psql "$DATABASE_URL" -qc "UPDATE order_outbox SET status = 'submitting', sf_order_id = NULL, submitted_at = NULL WHERE idempotency_key = 'it-ob-1'" >/dev/null
it_check "outbox: a 'submitting' row is adopted by key" it_wait_for 15 bash -c "[ \"\$(psql '$DATABASE_URL' -Atc \"SELECT status FROM order_outbox WHERE idempotency_key = 'it-ob-1'\")\" = submitted ]"
it_check "outbox: one Salesforce order per key" test "$(sf_key_orders it-ob-1),$(sf_key_orders it-ob-2)" = 1,1

it_log "one provisioning run's log lines:"
grep -E 'Starting fulfillment orchestration|msg="?(validation|sf_status_update|order_details|mapping|whmcs_create|whmcs_accept|freebit_activate|whmcs_link_line|sf_success_update|Activated)"? ' "$LOG" |
	grep "order_id=$SIM_ORDER" | head -n 11 >&2   # its first, complete run
kill "$PROV1"
it_summary
