#!/bin/bash
# tests/integration/valgrind-daemons.sh [BUILDDIR] — portal-subscriberd and
# portal-provisiond under valgrind --leak-check=full --error-exitcode=9 for
# VALGRIND_SECONDS (default 600) while a slow trickle of orders flows through
# them (one every VALGRIND_ORDER_EVERY s, default 10: POST /api/orders through
# nginx + portal-orders.fcgi, then /__sim/orders/{id}/approve), then SIGTERM.
# Checks: every order Activated, each daemon exits 0 (9 = valgrind errors),
# "definitely lost: 0 bytes" (or all freed) and "ERROR SUMMARY: 0 errors" in
# each log. Ends with "N passed, M failed" (issue 8 "Acceptance").
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

build=${1:-${IT_BUILDDIR:-/tmp/build-int}}
build=$(cd "$build" && pwd) || exit 2
secs=${VALGRIND_SECONDS:-600}
every=${VALGRIND_ORDER_EVERY:-10}

it_init
on_exit() {
	local rc=$?
	it_dump_logs
	it_stop_all
	echo "$IT_PASS passed, $((IT_FAIL + 1)) failed"
	exit $((rc == 0 ? 1 : rc))
}
trap on_exit EXIT
trap 'exit 130' INT TERM

it_install "$build"
it_start_postgres
it_start_redis
it_start_sims || it_die "simulators did not start"
it_write_config
it_migrate || it_die "portalctl migrate failed"
IT_APPS=orders it_start_fcgi_apps
it_start_nginx

SF="http://127.0.0.1:$SIM_SF_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
L=$IT_ROOT/logs
VG="valgrind --leak-check=full --error-exitcode=9 --num-callers=30"
db() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
# a session of A1 (WHMCS client 101, has a pay method), as t_orders makes it
uid=$(db "INSERT INTO users (email, password_hash) VALUES ('valgrind-a1@example.test',
	'\$argon2id\$v=19\$m=19456,t=2,p=1\$dGVzdA\$dGVzdA') RETURNING id" | head -n1)
db "INSERT INTO id_mappings (user_id, whmcs_client_id, sf_account_id) VALUES ($uid, 101, '0015F0000000001QAA')" >/dev/null
read -r TOK CSRF < <("$build/tests/integration/mksession" "$uid" 0015F0000000001QAA 101 2>/dev/null)
[ -n "${TOK:-}" ] || it_die "no session (mksession)"

pids=()
for d in subscriberd provisiond; do
	$VG --log-file="$L/valgrind-$d.log" "$IT_SBINDIR/portal-$d" -f </dev/null >>"$L/portal-$d.log" 2>&1 &
	it_register "valgrind-$d" $!
	pids+=($!)
done
subscribed() { curl -s "$SF/__sim/pubsub/state" | jq -e '[.streams[] | select(.topic == "/event/OrderProvisionRequested__e")] | length == 1' >/dev/null; }
it_check "subscriberd under valgrind subscribed" it_wait_for 120 subscribed

t0=$(date +%s)
ids=()
n=0
while [ $(($(date +%s) - t0)) -lt $((secs - 40)) ]; do
	n=$((n + 1))
	id=$(curl -s -X POST "$IT_BASE_URL/api/orders" -b "portal_session=$TOK" -H "X-CSRF-Token: $CSRF" \
		-H "Idempotency-Key: valgrind-$n" -H 'Content-Type: application/json' \
		--data-binary '{"items":[{"sku":"INT-FTTH-1G","quantity":1}]}' | jq -r '.data.id // empty')
	[ -n "$id" ] && curl -s -XPOST "$SF/__sim/orders/$id/approve" -d '{}' >/dev/null && ids+=("$id")
	sleep "$every"
done
activated() {
	local st a=0 id
	st=$(curl -s "$SF/__sim/state")
	for id in "${ids[@]}"; do
		[ "$(jq -r --arg id "$id" '.Order[] | select(.Id == $id) | .Activation_Status__c' <<<"$st")" = Activated ] && a=$((a + 1))
	done
	[ "$a" = "${#ids[@]}" ]
}
it_check "${#ids[@]} orders made and approved in $(($(date +%s) - t0)) s" test "${#ids[@]}" -gt 0
it_check "every order Activated" it_wait_for 40 activated
it_check "one WHMCS order per order" test "$(curl -s "$WH/__sim/state" | jq '[.orders[] | select(.notes | startswith("sf_order=8018"))] | group_by(.notes) | map(length) | "\(length) \(max)"' -r)" = "${#ids[@]} 1"

i=0
for d in subscriberd provisiond; do
	pid=${pids[$i]}
	i=$((i + 1))
	kill -TERM "$pid"
	gone() { ! it_alive "$pid"; }
	it_check "$d: exits on SIGTERM within 60 s" it_wait_for 60 gone
	wait "$pid" 2>/dev/null
	rc=$?
	it_check "$d: exit status 0 (9 = valgrind errors)" test "$rc" = 0
	echo "  --- $d valgrind summary:"
	grep -E 'definitely lost|indirectly lost|possibly lost|ERROR SUMMARY|All heap blocks were freed|total heap usage' "$L/valgrind-$d.log" | sed 's/^==[0-9]*== */    /'
	it_check "$d: definitely lost: 0 bytes" bash -c "grep -qE 'definitely lost: 0 bytes|All heap blocks were freed' '$L/valgrind-$d.log'"
	it_check "$d: ERROR SUMMARY: 0 errors" grep -q 'ERROR SUMMARY: 0 errors' "$L/valgrind-$d.log"
done

[ "$IT_FAIL" -gt 0 ] && it_dump_logs
trap - EXIT
it_stop_all || IT_FAIL=$((IT_FAIL + 1))
echo "$IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
