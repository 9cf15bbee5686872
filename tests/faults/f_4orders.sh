#!/bin/bash
# f_4orders.sh — orders lost / duplicated while Salesforce fails (DESIGN §5
# "Salesforce down → orders held in a PostgreSQL outbox", resolutions §12/§13):
# FAULTS_ORDERS (20) checkouts with unique Idempotency-Keys, 4 at a time,
# while the Salesforce simulator fails the order create (composite) with 503,
# 429, a dropped connection and a delay past SF_TIMEOUT_MS (the simulator
# then still creates the order: the portal has given up on it and held it in
# the outbox — the classic duplicate trap); every third key is sent again
# with the same key, also concurrently with the first send for some.
# Then:
#   * before the drain: each key has at most one Salesforce order and at most
#     one outbox row, and at least one of them (0 lost); a key sent twice at
#     once may be answered 202 q_… and 201 801… (one request held it while
#     the other created it: counted as id-mismatches);
#   * `portalctl outbox drain` with the faults cleared;
#   * after: each key maps to exactly one Salesforce order and no row is left
#     queued (0 lost, 0 duplicates), and every id handed out (801… or q_…)
#     reads as that one order.
set -u
. "$(dirname "$0")/common.sh"

IP=127.0.12.10
N=${FAULTS_ORDERS:-20}
L=$IT_ROOT/f_orders
mkdir -p "$L"
rm -f "$L"/*
KEY_PREFIX=${A1:0:15}
INTERNET='{"items":[{"sku":"INT-FTTH-1G","quantity":1},{"sku":"INT-ROUTER","quantity":1}]}'
curl -sS -XPOST "$SF/__sim/reset" >/dev/null
read -r TOK CSRF < <(session_for $A1 101)
[ -n "${TOK:-}" ] || it_die "no session"

# The simulator applies faults in the order given, each for its count.
fault "$SF" '[{"match":"composite","status":503,"count":4},
	{"match":"composite","status":429,"count":2},
	{"match":"composite","drop":true,"count":2},
	{"match":"composite","delay_ms":2500,"count":2}]'

# one KEY TAG: POST the order, "<key> <tag> <status> <id or error code>" to $L/answers
one() {
	local out
	out=$(curl -s -o "$L/$1.$2.json" -w '%{http_code}' --max-time 20 --interface $IP -X POST \
		"$IT_BASE_URL/api/orders" -b "portal_session=$TOK" -H "X-CSRF-Token: $CSRF" \
		-H "Idempotency-Key: $1" -H 'Content-Type: application/json' --data-binary "$INTERNET")
	echo "$1 $2 ${out:-000} $(jq -r '.data.id // .error.code // "-"' "$L/$1.$2.json" 2>/dev/null)" >>"$L/answers"
}
export -f one
export L TOK CSRF INTERNET IP IT_BASE_URL
keys=()
for i in $(seq 1 "$N"); do keys+=("k-$RUN-$i"); done
# first sends, 4 at a time; keys 2, 5, 8, … are sent twice at once
{
	for i in $(seq 1 "$N"); do
		echo "k-$RUN-$i first"
		[ $((i % 3)) = 2 ] && echo "k-$RUN-$i concurrent"
	done
} | xargs -P4 -L1 bash -c 'one "$0" "$1"'
# retries of every third key after its answer
for i in $(seq 3 3 "$N"); do echo "k-$RUN-$i retry"; done | xargs -P4 -L1 bash -c 'one "$0" "$1"'
sent=$(wc -l <"$L/answers")
sleep 3 # the delayed creates land in the simulator after the portal gave up
unfault "$SF"

sf_state=$L/sf.json
curl -sS "$SF/__sim/state" >"$sf_state"
sf_count() { jq --arg k "$KEY_PREFIX:$1" '[.Order[] | select(.Portal_Idempotency_Key__c == $k)] | length' "$sf_state"; }
ob_count() { psql_q "SELECT count(*) FROM order_outbox WHERE sf_account_id = '$A1' AND idempotency_key = '$1' AND status <> 'submitted'"; }
lost=0 dup_sf=0 both=0 mismatch=0
for k in "${keys[@]}"; do
	s=$(sf_count "$k") o=$(ob_count "$k")
	[ $((s + o)) = 0 ] && lost=$((lost + 1))
	[ "$s" -gt 1 ] && dup_sf=$((dup_sf + 1))
	[ "$s" -ge 1 ] && [ "$o" -ge 1 ] && both=$((both + 1))
	ids=$(awk -v k="$k" '$1 == k && ($3 == 201 || $3 == 202) {print $4}' "$L/answers" | sort -u | wc -l)
	[ "$ids" -gt 1 ] && mismatch=$((mismatch + 1))
done
echo "  answers (count status):"
awk '{print $3}' "$L/answers" | sort | uniq -c | sed 's/^/    /'
queued_before=$(psql_q "SELECT count(*) FROM order_outbox WHERE sf_account_id = '$A1' AND idempotency_key LIKE 'k-$RUN-%' AND status <> 'submitted'")
it_check "answers: only 201 / 202 / 503 ($(awk '{print $3}' "$L/answers" >"$L/codes"; codes "$L/codes"))" \
	test "$(count_not "$L/codes" 201 202 503)" = 0
it_check "before the drain: 0 keys lost (neither in Salesforce nor in the outbox)" test "$lost" = 0
it_check "before the drain: 0 keys with two Salesforce orders" test "$dup_sf" = 0
it_check "some orders were held in the outbox ($queued_before)" test "$queued_before" -gt 0

"$IT_SBINDIR/portalctl" outbox drain >"$L/drain.out" 2>&1
drc=$?
sed 's/^/    drain: /' "$L/drain.out"
it_check "portalctl outbox drain exits 0" test "$drc" = 0
curl -sS "$SF/__sim/state" >"$sf_state"
lost2=0 dup2=0
for k in "${keys[@]}"; do
	s=$(sf_count "$k")
	[ "$s" = 0 ] && lost2=$((lost2 + 1))
	[ "$s" -gt 1 ] && dup2=$((dup2 + 1))
done
left=$(psql_q "SELECT count(*) FROM order_outbox WHERE sf_account_id = '$A1' AND idempotency_key LIKE 'k-$RUN-%' AND status <> 'submitted'")
it_check "after the drain: every key has a Salesforce order (lost $lost2)" test "$lost2" = 0
it_check "after the drain: no key has two (duplicates $dup2)" test "$dup2" = 0
it_check "after the drain: nothing left queued ($left)" test "$left" = 0
it_check "after the drain: $N Salesforce orders for $N keys" test \
	"$(jq --arg p "$KEY_PREFIX:k-$RUN-" '[.Order[] | select((.Portal_Idempotency_Key__c // "") | startswith($p))] | length' "$sf_state")" = "$N"
# Every id a client was given (801… or q_…) now reads as the one Salesforce
# order of its key.
unresolved=0
while read -r k id; do
	timed GET "/api/orders/$id" --interface $IP -b "portal_session=$TOK"
	got=$(jq -r '.data.id // "-"' "$IT_LAST_BODY" 2>/dev/null)
	want=$(jq -r --arg k "$KEY_PREFIX:$k" '[.Order[] | select(.Portal_Idempotency_Key__c == $k) | .Id][0] // "none"' "$sf_state")
	[ "$got" = "$want" ] || { unresolved=$((unresolved + 1)); echo "    $k: answered $id, reads as $got, Salesforce has $want"; }
done < <(awk '$3 == 201 || $3 == 202 {print $1, $4}' "$L/answers" | sort -u)
it_check "after the drain: every id handed out reads as its key's Salesforce order ($unresolved not)" test "$unresolved" = 0
report "orders: keys=$N requests=$sent [$(codes "$L/codes")] held-in-outbox=$queued_before (both-in-SF-and-outbox-before-drain=$both) lost=$lost2 duplicates=$dup2 keys-answered-with-two-ids-before-drain=$mismatch"
it_summary
