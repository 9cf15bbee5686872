#!/bin/bash
# t_scaleout.sh — scale-out (issue 9 item 2, docs/scaling.md): two web "nodes"
# and two workers against the suite's ONE Redis and ONE PostgreSQL and the
# simulators:
#   node A, node B  each its own nginx (etc/nginx/portal.conf, own port, own
#                   fastcgi_cache dir) in front of its OWN FastCGI pools
#                   (spawn-fcgi + multiwatch, 2 children per app) on its own
#                   unix sockets — lib.sh's it_init/it_start_fcgi_apps/
#                   it_start_nginx run with IT_ROOT pointed at the node's dir;
#   2 × portal-provisiond, 1 × portal-subscriberd.
# A1 links on node A; the session cookie is used on node B (GET /api/auth/me);
# IT_SCALE_N orders (default 20) are placed alternating A / B, approved on the
# Salesforce simulator, and then: every order Activated, exactly one WHMCS
# order per sf_order= note, one whmcs_create per order in provisioning_steps,
# dead-letter queue empty, GET /api/orders identical on both nodes, logout on
# B ends the session on A. The split of the work between the two workers
# ("Starting fulfillment orchestration" lines per log) is printed as
# SCALE-SPLIT; one worker doing it all is reported, not failed.
# No timing assertions; every wait is bounded (70 s of waits at most; a run
# takes ~25 s).
# The nodes and daemons are its own (nginx, whatever the suite's web server),
# so it runs once (first pass).
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

SUBD=$IT_SBINDIR/portal-subscriberd
PROVD=$IT_SBINDIR/portal-provisiond
for b in "$SUBD" "$PROVD" "$IT_LIBEXECDIR/portal-orders.fcgi" "$IT_LIBEXECDIR/portal-auth.fcgi"; do
	[ -x "$b" ] || { it_log "t_scaleout: $b not built: skipped"; it_summary; exit 0; }
done
command -v nginx >/dev/null || { it_log "t_scaleout: nginx not installed: skipped"; it_summary; exit 0; }

SF="http://127.0.0.1:$SIM_SF_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
RCLI="redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT"
A1=0015F0000000001QAA
A1_EMAIL=taro.yamada@example.jp
SRC=127.0.7.20               # own source address: rate limits of other tests untouched
N=${IT_SCALE_N:-20}
RUN=scale-$$
W=$IT_ROOT/scaleout
JAR=$W/jar
NODE_APPS="auth orders catalog health"
CHANNELS="/event/OrderProvisionRequested__e /event/AccountEligibilityChanged__e /data/Product2ChangeEvent
	/data/PricebookEntryChangeEvent /data/OrderChangeEvent /data/OrderItemChangeEvent"
rm -rf "$W"
mkdir -p "$W"
SUB_LOG=$IT_ROOT/logs/scale-subscriberd.log
PROV_LOG1=$IT_ROOT/logs/scale-provisiond-1.log
PROV_LOG2=$IT_ROOT/logs/scale-provisiond-2.log

db() { psql "$DATABASE_URL" -qtAX -c "$1"; }
MINE=()   # "name pid" of everything this script started, in start order

# register NAME PID: in the suite's registry (the runner's trap stops it if this
# script dies) under a name no lib.sh helper globs for (*-nginx.pid, *-fcgi-auth.pid)
register() { it_register "$1.scaleout" "$2"; MINE+=("$1 $2"); }

# start_node NAME: FastCGI pools + nginx with lib.sh's own helpers, IT_ROOT (and
# so IT_ENV, sockets, pid/port files, logs) pointed at the node's dir; the port
# goes to $W/node-NAME/port, the pids into the suite's registry.
start_node() {
	local name=$1 d=$W/node-$1 f n
	mkdir -p "$d"
	(
		IT_ROOT=$d
		unset IT_NGINX_PORT
		it_init
		IT_APPS=$NODE_APPS IT_FCGI_CHILDREN=2 it_start_fcgi_apps
		it_start_nginx
		echo "$IT_PORT" >"$d/port"
	) >"$d/start.log" 2>&1
	local rc=$?
	for f in "$d"/pids/*.pid; do
		[ -f "$f" ] || continue
		n=$(basename "$f" .pid)
		register "node$name-${n#*-}" "$(head -n1 "$f")"
		rm -f "$f"
	done
	[ "$rc" = 0 ] && [ -s "$d/port" ] || { cat "$d/start.log"; return 1; }
}
node_url() { echo "http://127.0.0.1:$(cat "$W/node-$1/port")"; }

start_daemon() { # NAME BIN LOG
	"$2" -f </dev/null >>"$3" 2>&1 &
	register "$1" $!
}

cleanup() {
	local i name pid f
	for ((i = ${#MINE[@]} - 1; i >= 0; i--)); do
		read -r name pid <<<"${MINE[$i]}"
		it_stop_pid "$name" "$pid"
		rm -f "$IT_ROOT"/pids/*-"$name".scaleout.pid
	done
	if [ "$IT_FAIL" != 0 ]; then
		for f in "$W"/node-*/logs/*.log "$W"/node-*/nginx-error.log "$W"/node-*/start.log; do
			[ -s "$f" ] && { echo "===== ${f#"$W"/} (last 30 lines)"; tail -n 30 "$f"; }
		done
	fi
	db "DELETE FROM users WHERE email = '$A1_EMAIL'" >/dev/null 2>&1
	curl -s -XPOST "$SF/__sim/reset" >/dev/null
	curl -s -XPOST "$WH/__sim/reset" >/dev/null
	$RCLI DEL portal:q:provisioning portal:q:provisioning:dead >/dev/null
	db "DELETE FROM provisioning_runs WHERE sf_order_id NOT LIKE '8015F%'" >/dev/null 2>&1
	$RCLI --scan --pattern "acct:$A1:*" | while read -r k; do $RCLI DEL "$k" >/dev/null; done
	$RCLI --scan --pattern 'rl:*' | while read -r k; do $RCLI DEL "$k" >/dev/null; done
}
trap cleanup EXIT

stream_open() { curl -s "$SF/__sim/pubsub/state" | jq -e --arg t "$1" '[.streams[] | select(.topic == $t)] | length == 1' >/dev/null; }
all_streams_open() { local c; for c in $CHANNELS; do stream_open "$c" || return 1; done; }
# api NODE METHOD PATH [curl args]: as the linked customer, through node A or B
api() {
	local node=$1 m=$2 p=$3
	shift 3
	IT_BASE_URL=$(node_url "$node") it_http "$m" "$p" --interface "$SRC" -b "$JAR" -c "$JAR" \
		-H 'Content-Type: application/json' "$@"
}
order() { # NODE KEY → new order id
	api "$1" POST /api/orders -H "X-CSRF-Token: $CSRF" -H "Idempotency-Key: $2" \
		--data-binary '{"items":[{"sku":"INT-FTTH-1G","quantity":1},{"sku":"INT-ROUTER","quantity":1}],"notes":"t_scaleout"}'
	jq -r '.data.id // empty' "$IT_LAST_BODY"
}
approve() { curl -s -XPOST "$SF/__sim/orders/$1/approve" -H 'content-type: application/json' -d '{}' >/dev/null; }
in_list() { sed "s/.*/'&'/" "$W/ids" | paste -sd,; }

# ---------------------------------------------------------------- setup
curl -s -XPOST "$SF/__sim/reset" >/dev/null
curl -s -XPOST "$WH/__sim/reset" >/dev/null
db "DELETE FROM users WHERE email = '$A1_EMAIL'" >/dev/null
db "DELETE FROM provisioning_runs WHERE sf_order_id NOT LIKE '8015F%'" >/dev/null
$RCLI DEL portal:q:provisioning portal:q:provisioning:dead >/dev/null
$RCLI --scan --pattern "acct:$A1:*" | while read -r k; do $RCLI DEL "$k" >/dev/null; done
for c in $CHANNELS; do $RCLI DEL "sf:pe:replay:$c" "sf:pe:state:$c" >/dev/null; done
$RCLI --scan --pattern 'rl:*' | while read -r k; do $RCLI DEL "$k" >/dev/null; done

# (not inside it_check: that runs its command in a subshell, MINE would be lost)
start_node A; rc_a=$?
start_node B; rc_b=$?
it_check "node A: nginx + own FastCGI pools started" test "$rc_a" = 0
it_check "node B: nginx + own FastCGI pools started" test "$rc_b" = 0
[ -s "$W/node-A/port" ] && [ -s "$W/node-B/port" ] || { it_summary; exit 1; }
it_log "node A $(node_url A), node B $(node_url B)"
it_check "nodes: different ports, different socket dirs" test "$(cat "$W/node-A/port")" != "$(cat "$W/node-B/port")" -a \
	-S "$W/node-A/run/portal-orders.sock" -a -S "$W/node-B/run/portal-orders.sock"
health() { IT_BASE_URL=$(node_url "$1") it_http GET /health; [ "$IT_LAST_STATUS" = 200 ]; }
it_check "node A: /health 200" it_wait_for 5 health A
it_check "node B: /health 200" it_wait_for 5 health B
start_daemon subscriberd "$SUBD" "$SUB_LOG"
start_daemon provisiond-1 "$PROVD" "$PROV_LOG1"
start_daemon provisiond-2 "$PROVD" "$PROV_LOG2"
it_check "subscriberd: every channel subscribed (≤ 20 s)" it_wait_for 20 all_streams_open

# ---------------------------------------------------------------- session across nodes
api A POST /api/auth/link --data-binary "$(jq -nc --arg e "$A1_EMAIL" '{email: $e, password: "Whmcs-Pass-101!"}')"
it_check "node A: link A1: 201" it_status_is 201
CSRF=$(jq -r '.data.csrf_token // empty' "$IT_LAST_BODY")
it_check "node A: a CSRF token" test -n "$CSRF"
api B GET /api/auth/me
it_check "node B: GET /api/auth/me with node A's session: 200" it_status_is 200

# ---------------------------------------------------------------- orders over both nodes
: >"$W/ids"
made_a=0 made_b=0
for i in $(seq 1 "$N"); do
	if [ $((i % 2)) = 1 ]; then node=A; else node=B; fi
	id=$(order "$node" "k-$RUN-$i")
	if [ -n "$id" ]; then
		echo "$id" >>"$W/ids"
		if [ "$node" = A ]; then made_a=$((made_a + 1)); else made_b=$((made_b + 1)); fi
	else
		it_log "order $i on node $node: $IT_LAST_STATUS $(head -c 200 "$IT_LAST_BODY")"
	fi
done
it_check "$N orders made through the API (A: $made_a, B: $made_b)" test "$(sort -u "$W/ids" | grep -c '^801')" = "$N"
while read -r id; do approve "$id"; done <"$W/ids"
all_done() { [ "$(db "SELECT count(*) FROM provisioning_runs WHERE status = 'succeeded' AND sf_order_id IN ($(in_list))")" = "$N" ]; }
it_check "every run succeeded (≤ 30 s)" it_wait_for 30 all_done

# ---------------------------------------------------------------- results
curl -s "$SF/__sim/state" >"$W/sf.json"
curl -s "$WH/__sim/state" >"$W/wh.json"
it_check "Salesforce: all $N Activated with a WHMCS order id" test "$(jq --slurpfile ids <(jq -R . "$W/ids") \
	'[.Order[] | select(.Id as $i | $ids | index($i)) | select(.Activation_Status__c == "Activated" and .WHMCS_Order_ID__c != null)] | length' "$W/sf.json")" = "$N"
jq -r '.orders[].notes' "$W/wh.json" | sort | uniq -c | awk '{print $2, $1}' >"$W/notes"
it_check "WHMCS: exactly one order per sf_order= note" test \
	"$(awk 'FILENAME == ARGV[1] { want["sf_order=" $1] = 1; next } ($1 in want) && $2 == 1 { n++ } END { print n + 0 }' "$W/ids" "$W/notes")" = "$N"
it_check "WHMCS: no note twice" test "$(awk '$2 > 1' "$W/notes" | wc -l)" = 0
# one whmcs_create row per order, succeeded with how=created (AddOrder made
# once, by one worker; "adopted" or a second row would mean a run twice)
it_check "provisioning_steps: exactly one whmcs_create (created) per order" test \
	"$(db "SELECT count(*) FROM (SELECT sf_order_id FROM provisioning_steps WHERE step = 'whmcs_create' AND sf_order_id IN ($(in_list))
		GROUP BY sf_order_id HAVING count(*) = 1 AND bool_and(status = 'succeeded' AND detail = 'created')) s")" = "$N"
it_check "provisioning_runs: one WHMCS order id per order, distinct" test \
	"$(db "SELECT count(DISTINCT whmcs_order_id) FROM provisioning_runs WHERE sf_order_id IN ($(in_list))")" = "$N"
it_check "dead-letter queue empty" test "$($RCLI XLEN portal:q:provisioning:dead)" = 0

split() { grep -c 'msg="Starting fulfillment orchestration"' "$1"; }
S1=$(split "$PROV_LOG1")
S2=$(split "$PROV_LOG2")
it_check "workers: $((S1 + S2)) orchestrations for $N orders" test $((S1 + S2)) -ge "$N"
echo "SCALE-SPLIT orders=$N made_on_A=$made_a made_on_B=$made_b provisiond-1=$S1 provisiond-2=$S2"
if [ "$S1" = 0 ] || [ "$S2" = 0 ]; then
	it_log "t_scaleout: one worker did all the work (provisiond-1=$S1, provisiond-2=$S2) — not a failure"
fi

# the orders list is the same through either node (once the Order CDC dropped
# the cached list: every order listed Activated)
list_ready() { # NODE
	api "$1" GET /api/orders
	[ "$IT_LAST_STATUS" = 200 ] &&
		[ "$(jq --slurpfile ids <(jq -R . "$W/ids") '[.data[] | select(.id as $i | $ids | index($i)) | select(.activation_status == "Activated")] | length' "$IT_LAST_BODY")" = "$N" ]
}
it_check "node A: GET /api/orders lists all $N Activated (≤ 10 s)" it_wait_for 10 list_ready A
jq -S .data "$IT_LAST_BODY" >"$W/list-A.json"
api B GET /api/orders
jq -S .data "$IT_LAST_BODY" >"$W/list-B.json"
it_check "node B: GET /api/orders: 200" it_status_is 200
it_check "GET /api/orders: the same data on node A and node B" cmp "$W/list-A.json" "$W/list-B.json"
one_each() { # every order read through the other node than it was made on
	local id n=0 node
	while read -r id; do
		n=$((n + 1))
		if [ $((n % 2)) = 1 ]; then node=B; else node=A; fi
		api "$node" GET "/api/orders/$id"
		jq -e '.data.activation_status == "Activated"' "$IT_LAST_BODY" >/dev/null || { echo "$id on $node: $IT_LAST_STATUS"; return 1; }
	done <"$W/ids"
}
it_check "GET /api/orders/{id}: each Activated through the other node" one_each

api B POST /api/auth/logout -H "X-CSRF-Token: $CSRF"
it_check "node B: logout of node A's session: 2xx" bash -c "[[ '$IT_LAST_STATUS' == 2?? ]]"
api A GET /api/auth/me
it_check "node A: session gone after logout on B: 401" it_status_is 401
it_check "no daemon crashed" bash -c "! grep -qE 'AddressSanitizer|runtime error|Segmentation' '$SUB_LOG' '$PROV_LOG1' '$PROV_LOG2'"

it_summary
