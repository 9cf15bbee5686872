#!/bin/bash
# t_subscriber.sh — portal-subscriberd against the Salesforce simulator's
# Pub/Sub server and Redis: an approved order becomes exactly one entry of
# portal:q:provisioning with the seed's log line and the cursor stored; a
# dropped stream loses and repeats nothing (the event published while
# disconnected arrives once); a non-hex and a server-rejected cursor each give
# the CRIT fallback; a Product2 change drops the catalog cache; an
# AccountEligibilityChanged__e drops that account's keys; an Order change
# drops its account's orders cache (account looked up over REST); expired
# tokens → UNAUTHENTICATED → one refresh and events flow again; SIGTERM exits 0;
# portalctl replay show lists every channel with its cursor and state, replay set
# <hex> moves the cursor and the restarted daemon resumes after it (events
# re-delivered), replay set LATEST deletes it, a preset other than
# SF_EVENTS_REPLAY is refused with nothing changed.
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

SF="http://127.0.0.1:$SIM_SF_PORT"
RCLI="redis-cli -u ${REDIS_URL:-redis://127.0.0.1:6379/0}"
BIN="$IT_SBINDIR/portal-subscriberd"
CTL="$IT_SBINDIR/portalctl"
LOG="$IT_ROOT/logs/portal-subscriberd.log"
CH=/event/OrderProvisionRequested__e
KEY="sf:pe:replay:$CH"
O1=8015F0000000005QAA   # Pending Review in the fixtures
O2=8015F0000000006QAA
O3=8015F0000000009QAA
PRODUCT=01t5F0000000001QAA
ACCT=0015F0000000003QAA

[ -x "$BIN" ] || { it_log "portal-subscriberd not built"; it_summary; exit; }

# entries ORDER: how many queue entries carry sf_order_id ORDER
entries() {
	$RCLI XRANGE portal:q:provisioning - + |
		awk -v id="$1" 'p { if ($0 == id) n++; p = 0 } $0 == "sf_order_id" { p = 1 } END { print n + 0 }'
}
entries_are() { [ "$(entries "$1")" = "$2" ]; }
# stream_open [TOPIC]: the simulator has exactly one open stream on TOPIC
stream_open() { curl -s "$SF/__sim/pubsub/state" | jq -e --arg t "${1:-$CH}" '[.streams[] | select(.topic == $t)] | length == 1' >/dev/null; }
approve() { curl -s -XPOST "$SF/__sim/orders/$1/approve" -H 'content-type: application/json' -d '{}' | jq -r '.event.replay_id // empty'; }
drop() { curl -s -XPOST "$SF/__sim/pubsub/drop" -H 'content-type: application/json' -d '{}' >/dev/null; }
cursor_is() { [ "$($RCLI GET "$KEY")" = "$1" ]; }
log_has() { grep -q -- "$1" "$LOG"; }
key_gone() { [ "$($RCLI EXISTS "$1")" = 0 ]; }

curl -s -XPOST "$SF/__sim/reset" >/dev/null
for c in "$CH" /event/AccountEligibilityChanged__e /data/Product2ChangeEvent \
	/data/PricebookEntryChangeEvent /data/OrderChangeEvent /data/OrderItemChangeEvent; do
	$RCLI DEL "sf:pe:replay:$c" "sf:pe:state:$c" >/dev/null   # every channel starts cursor-less
done
$RCLI DEL portal:q:provisioning >/dev/null
: >"$LOG"
"$BIN" -f </dev/null >>"$LOG" 2>&1 &
SUB=$!
it_register portal-subscriberd-$SUB $SUB
it_check "subscribed to $CH" it_wait_for 10 stream_open

# 1. approve → one queue entry, the seed's log line, cursor = the event's replay id
RID1=$(approve $O1)
it_check "approve: one entry for $O1" it_wait_for 10 entries_are $O1 1
it_check "approve: log line" log_has "msg=\"Platform Event enqueued for provisioning\" order_id=$O1"
it_check "approve: cursor = event replay id ($RID1)" it_wait_for 5 cursor_is "$RID1"
it_check "state: connected" test "$($RCLI HGET "sf:pe:state:$CH" connected)" = 1
it_check "state: events_received" test "$($RCLI HGET "sf:pe:state:$CH" events_received)" -ge 1
it_check "state: lag_ms" test -n "$($RCLI HGET "sf:pe:state:$CH" lag_ms)"
it_check "portalctl replay show: cursor + state" bash -c "'$CTL' replay show '$CH' | grep -q '^channel=$CH cursor=$RID1 .*connected=1'"

# 2. stream dropped, an order approved while disconnected → exactly one entry each
drop
RID2=$(approve $O2)
it_check "drop: missed event delivered once" it_wait_for 20 entries_are $O2 1
it_check "drop: nothing repeated" entries_are $O1 1
it_check "drop: cursor advanced ($RID2)" it_wait_for 5 cursor_is "$RID2"

# 3. a cursor that is not hex → CRIT, fallback preset (ALL: re-delivery is harmless)
$RCLI SET "$KEY" zz >/dev/null
drop
it_check "corrupt cursor: CRIT fallback" it_wait_for 20 log_has 'level=crit .*replay cursor unusable'
RID3=$(approve $O3)
it_check "corrupt cursor: new events still enqueued" it_wait_for 10 entries_are $O3 1
it_check "corrupt cursor: cursor valid again" it_wait_for 5 cursor_is "$RID3"

# 4. a hex cursor the server rejects (below the retention floor) → same fallback
$RCLI SET "$KEY" 00000000000000ff >/dev/null
drop
it_check "rejected cursor: ERROR with the error-code" \
	it_wait_for 20 log_has 'replay id rejected.*cursor=00000000000000ff.*replayid.corrupted'
it_check "rejected cursor: resumed" it_wait_for 10 stream_open

# 5. CDC and eligibility → cache invalidation. These channels have no cursor
# yet (LATEST, no event seen): wait until they are back after the drops, or an
# event published meanwhile is, by LATEST's definition, not theirs.
it_check "Product2 channel subscribed" it_wait_for 30 stream_open /data/Product2ChangeEvent
it_check "eligibility channel subscribed" it_wait_for 30 stream_open /event/AccountEligibilityChanged__e
$RCLI SET catalog:public:it-subscriber x >/dev/null
$RCLI DEL catalog:gen >/dev/null
curl -s -XPATCH "$SF/__sim/sobjects/Product2/$PRODUCT" -H 'content-type: application/json' \
	-d '{"Name":"Fiber 1 Gbps (renamed by t_subscriber)"}' >/dev/null
it_check "Product2 change: catalog:public:* dropped" it_wait_for 10 key_gone catalog:public:it-subscriber
it_check "Product2 change: catalog generation bumped (app_catalog_invalidate)" test -n "$($RCLI GET catalog:gen)"
$RCLI SET "acct:$ACCT:eligibility" x >/dev/null
$RCLI SET "acct:$ACCT:catalog:internet" x >/dev/null
curl -s -XPOST "$SF/__sim/events/AccountEligibilityChanged__e" -H 'content-type: application/json' \
	-d "{\"AccountId__c\":\"$ACCT\"}" >/dev/null
it_check "eligibility event: acct eligibility dropped" it_wait_for 10 key_gone "acct:$ACCT:eligibility"
it_check "eligibility event: acct catalog dropped" it_wait_for 5 key_gone "acct:$ACCT:catalog:internet"
it_check "cursor-less channel dropped: restarted with the fallback preset" \
	log_has 'stream ended before a cursor was stored: next start uses the fallback preset'

# 6. an Order change without AccountId in the payload: the account is looked
# up (REST queryAll) and only its orders cache goes
it_check "Order channel subscribed" it_wait_for 30 stream_open /data/OrderChangeEvent
$RCLI SET "acct:$ACCT:orders" x >/dev/null
curl -s -XPATCH "$SF/__sim/sobjects/Order/$O3" -H 'content-type: application/json' \
	-d '{"Activation_Error_Message__c":"t_subscriber"}' >/dev/null
it_check "Order change: the account's orders cache dropped" it_wait_for 10 key_gone "acct:$ACCT:orders"

# 7. tokens expired + stream dropped → UNAUTHENTICATED → one refresh, back at once
curl -s -XPOST "$SF/__sim/tokens/expire" >/dev/null
drop
it_check "UNAUTHENTICATED: token refreshed, resubscribed" \
	it_wait_for 20 log_has 'grpc_status=UNAUTHENTICATED'
it_check "UNAUTHENTICATED: stream back" it_wait_for 15 stream_open
N2=$(entries $O2)
curl -s -XPOST "$SF/__sim/events/OrderProvisionRequested__e" -H 'content-type: application/json' \
	-d "{\"OrderId__c\":\"$O2\"}" >/dev/null
it_check "UNAUTHENTICATED: events flow again" it_wait_for 15 entries_are $O2 $((N2 + 1))

# 8. SIGTERM: exit 0, promptly
kill -TERM $SUB
rc=0
for _ in $(seq 1 50); do it_alive $SUB || break; sleep 0.1; done
wait $SUB 2>/dev/null || rc=$?
it_check "SIGTERM: exited" bash -c "! kill -0 $SUB 2>/dev/null"
it_check "SIGTERM: exit status 0" test "$rc" = 0
it_check "tokens never logged" bash -c "! grep -q '00D5F0000000001!' '$LOG'"

# 9. portalctl replay (daemon stopped, as docs/operations.md says)
it_check "replay show: all 6 channels" test "$("$CTL" replay show | grep -c '^channel=')" = 6
it_check "replay show: cursor-less channel says none" \
	bash -c "'$CTL' replay show /data/OrderItemChangeEvent | grep -q '^channel=/data/OrderItemChangeEvent cursor=none'"
it_check "replay show: unknown channel → 64" bash -c "'$CTL' replay show /event/Nope__e; test \$? = 64"
N2=$(entries $O2)
it_check "replay set <hex>: exit 0" "$CTL" replay set "$CH" "$RID1"
it_check "replay set <hex>: cursor stored" cursor_is "$RID1"
it_check "replay set <hex>: recorded in state" test "$($RCLI HGET "sf:pe:state:$CH" replay_set)" = "$RID1"
LOG9="$IT_ROOT/logs/portal-subscriberd-replay.log"
"$BIN" -f </dev/null >>"$LOG9" 2>&1 &
SUB=$!
it_register portal-subscriberd-$SUB $SUB
it_check "replay set <hex>: restart subscribes from it" \
	it_wait_for 10 grep -q "Pub/Sub subscribing.* channel=$CH preset=CUSTOM cursor=$RID1" "$LOG9"
entries_above() { [ "$(entries "$1")" -gt "$2" ]; }
it_check "replay set <hex>: the events after it re-delivered" it_wait_for 15 entries_above $O2 $N2
kill -TERM $SUB; wait $SUB 2>/dev/null
it_check "replay set ALL with SF_EVENTS_REPLAY=LATEST: refused (78)" \
	bash -c "'$CTL' replay set '$CH' ALL 2>/dev/null; test \$? = 78"
it_check "replay set ALL refused: cursor untouched" test -n "$($RCLI GET "$KEY")"
it_check "replay set LATEST: exit 0" "$CTL" replay set "$CH" LATEST
it_check "replay set LATEST: cursor deleted" key_gone "$KEY"
it_check "replay show: none + replay_set=LATEST" \
	bash -c "'$CTL' replay show '$CH' | grep -q '^channel=$CH cursor=none .*replay_set=LATEST'"

curl -s -XPOST "$SF/__sim/reset" >/dev/null
$RCLI DEL portal:q:provisioning "$KEY" >/dev/null   # leave no jobs for other tests
it_summary
