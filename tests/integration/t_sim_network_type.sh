#!/bin/bash
# t_sim_network_type.sh — the delayed network-type job keeps the gap rule of
# freebit.md §5 (resolutions §22) against the Freebit simulator. The job is
# forced due (ZADD XX 0) and run by `portalctl jobs run-due`, the last part
# by portal-provisiond (the worker that runs it in production):
#   * the line's claim taken → no Freebit call, the job again ~5 min later
#     as try 2, the pending marker kept until then;
#   * Freebit 241 (retryAfter 77) → again as try 3, the claim re-set for 77 s;
#   * Freebit 240 on every try up to the 12th → ERROR "network type change
#     abandoned", pending marker and cached detail gone, no job left, and a
#     new change is accepted again (202);
#   * success (provisiond, FREEBIT_CHANGE_GAP_S=5) → changed at Freebit,
#     pending marker and cached detail gone, claim held for the gap; a new
#     change is accepted (202) once Freebit's own pending operation is over.
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

FB="http://127.0.0.1:$SIM_FREEBIT_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
MKSESSION=$IT_BUILDDIR/tests/integration/mksession
CTL=$IT_SBINDIR/portalctl
PROVD=$IT_SBINDIR/portal-provisiond
A3=0015F0000000003QAA
MS1=08012340001
RUN=$IT_WEB-$$
CTL_LOG=$IT_ROOT/logs/t_sim_network_type-portalctl-$RUN.log
PROV_LOG=$IT_ROOT/logs/t_sim_network_type-provisiond-$RUN.log
PROV=

psql_q() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }

if [ ! -x "$MKSESSION" ] || [ ! -x "$IT_LIBEXECDIR/portal-sim.fcgi" ]; then
	it_log "t_sim_network_type: mksession or portal-sim.fcgi not built: skipped"
	it_summary
	exit 0
fi

cleanup() {
	[ -n "$PROV" ] && it_stop_pid provisiond "$PROV"
	curl -sS -XDELETE "$FB/__sim/faults" >/dev/null 2>&1
	for j in $(rcli ZRANGE portal:q:delayed 0 -1 | grep -F "\"msisdn\":\"$MS1\""); do
		rcli ZREM portal:q:delayed "$j" >/dev/null 2>&1
	done
	for j in $(rcli ZRANGE portal:q:delayed:failed 0 -1 | grep -F "\"msisdn\":\"$MS1\""); do
		rcli ZREM portal:q:delayed:failed "$j" >/dev/null 2>&1
	done
	rcli DEL "freebit:line:$MS1:pending" "freebit:line:$MS1:last_change" >/dev/null 2>&1
	psql_q "DELETE FROM users WHERE email LIKE 't-simnt-%-$RUN@example.test'" >/dev/null 2>&1
}
trap cleanup EXIT

uid=$(psql_q "SELECT user_id FROM id_mappings WHERE sf_account_id = '$A3'")
if [ -z "$uid" ]; then
	uid=$(psql_q "INSERT INTO users (email, password_hash) VALUES
		('t-simnt-a3-$RUN@example.test', '\$argon2id\$v=19\$m=19456,t=2,p=1\$dGVzdA\$dGVzdA')
		RETURNING id" | head -n1)
	psql_q "INSERT INTO id_mappings (user_id, whmcs_client_id, sf_account_id)
		VALUES ($uid, 103, '$A3')" >/dev/null
fi
read -r TOK CSRF < <("$MKSESSION" "$uid" "$A3" 103 2>/dev/null)
[ -n "${TOK:-}" ] || it_die "no session"

curl -sS -XPOST "$WH/__sim/reset" >/dev/null
curl -sS -XPOST "$FB/__sim/reset" >/dev/null
for k in $(rcli --scan --pattern "freebit:line:$MS1:*") client:103:services; do
	rcli DEL "$k" >/dev/null
done
for j in $(rcli ZRANGE portal:q:delayed 0 -1 | grep -F "\"msisdn\":\"$MS1\""); do
	rcli ZREM portal:q:delayed "$j" >/dev/null
done

get_line() { it_http GET /api/sim/201 -b "portal_session=$TOK"; }
change_to() {
	it_http POST /api/sim/201/network-type -b "portal_session=$TOK" -H "X-CSRF-Token: $CSRF" \
		-H 'Content-Type: application/json' --data-binary "{\"network_type\":\"$1\"}"
}
job() { rcli ZRANGE portal:q:delayed 0 -1 | grep -F '"type":"sim_network_type"' | grep -F "\"msisdn\":\"$MS1\""; }
jobs_count() { job | grep -c .; }
attempt_of() { job | jq -r '.attempt // 1'; }
due_in_s() { echo $(( ($(rcli ZSCORE portal:q:delayed "$(job)" | cut -d. -f1) / 1000) - $(date +%s) )); }
force_due() { rcli ZADD portal:q:delayed XX 0 "$(job)" >/dev/null; }
run_due() { "$CTL" jobs run-due >>"$CTL_LOG" 2>&1; }
nt_calls() { curl -sS "$FB/__sim/calls" | jq '[.[] | select((.path // .action // "") | test("contractline"))] | length'; }
fb_network_type() { curl -sS "$FB/__sim/state" | jq -r --arg m "$MS1" '[.. | objects | select(.account? == $m)][0].contractLine'; }
fault() { # CODE COUNT: the network-type call answers CODE (241 with retryAfter 77)
	curl -sS -XPOST "$FB/__sim/faults" -H 'Content-Type: application/json' -d "{\"match\":\"/mvno/contractline/change/\",\"status\":200,\"count\":$2,
		\"body\":{\"resultCode\":\"$1\",\"retryAfter\":77,\"status\":{\"message\":\"busy\",\"statusCode\":\"409\"}}}" >/dev/null
}
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ] || { echo "$1 not in $2..$3"; return 1; }; }
: >"$CTL_LOG"

change_to 5G
it_check "queued: 202 {scheduled_at}" bash -c "[ $IT_LAST_STATUS = 202 ] && jq -e '.data.scheduled_at | test(\"Z$\")' '$IT_LAST_BODY' >/dev/null"
it_check "queued: one job, first try (no attempt)" test "$(jobs_count) $(job | jq -r '.attempt // "none"')" = "1 none"
it_check "queued: pending marker set" test "$(rcli EXISTS "freebit:line:$MS1:pending")" = 1

# ---------------------------------------------------------------- (1) claim taken
rcli SET "freebit:line:$MS1:last_change" "plan:1" EX 600 >/dev/null
C0=$(nt_calls)
force_due
run_due
it_check "claim taken: no Freebit call" test "$(nt_calls)" = "$C0"
it_check "claim taken: one job, try 2" test "$(jobs_count) $(attempt_of)" = "1 2"
it_check "claim taken: due in ~5 min" in_range "$(due_in_s)" 290 300
it_check "claim taken: someone else's claim untouched" test "$(rcli GET "freebit:line:$MS1:last_change")" = "plan:1"
it_check "claim taken: pending marker kept past the next try" in_range "$(rcli TTL "freebit:line:$MS1:pending")" 301 900
it_check "claim taken: nothing filed as failed" bash -c "! redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT ZRANGE portal:q:delayed:failed 0 -1 | grep -qF '\"msisdn\":\"$MS1\"'"

# ---------------------------------------------------------------- (2) Freebit 241
rcli DEL "freebit:line:$MS1:last_change" >/dev/null
fault 241 1
force_due
run_due
it_check "241: the network-type call was made" test "$(nt_calls)" = "$((C0 + 1))"
it_check "241: one job, try 3, due in ~5 min" bash -c "[ \"$(jobs_count) $(attempt_of)\" = '1 3' ] && [ $(due_in_s) -ge 290 ]"
it_check "241: claim re-set for retryAfter (77 s)" in_range "$(rcli TTL "freebit:line:$MS1:last_change")" 70 77
it_check "241: claim names 241" bash -c "redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT GET freebit:line:$MS1:last_change | grep -q '^241:'"

# ---------------------------------------------------------------- (4) 240 until try 12
# 240 gives the claim back (freebit.md §5: any other code → DEL), so every
# try reaches Freebit; tries 3..11 come back, try 12 is the last.
rcli DEL "freebit:line:$MS1:last_change" >/dev/null
curl -sS -XDELETE "$FB/__sim/faults" >/dev/null
fault 240 -1
get_line
it_check "240: detail cached before the last try" test "$(rcli EXISTS "freebit:line:$MS1:detail")" = 1
for try in 3 4 5 6 7 8 9 10 11; do
	force_due
	run_due
done
it_check "240: try 12 queued after 11 failed tries" test "$(jobs_count) $(attempt_of)" = "1 12"
it_check "240: not abandoned before try 12" bash -c "! grep -q 'network type change abandoned' '$CTL_LOG'"
C1=$(nt_calls)
force_due
run_due
it_check "240: try 12 called Freebit" test "$(nt_calls)" = "$((C1 + 1))"
it_check "240: ERROR \"network type change abandoned\" logged" bash -c "grep 'level=error' '$CTL_LOG' | grep -q 'msg=\"network type change abandoned\"'"
it_check "240: no further job" test "$(jobs_count)" = 0
it_check "240: pending marker cleared" test "$(rcli EXISTS "freebit:line:$MS1:pending")" = 0
it_check "240: cached detail dropped" test "$(rcli EXISTS "freebit:line:$MS1:detail")" = 0
it_check "240: the job filed as failed for the operator" bash -c "redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT ZRANGE portal:q:delayed:failed 0 -1 | grep -F '\"msisdn\":\"$MS1\"' | grep -qF '\"attempt\":12'"
curl -sS -XDELETE "$FB/__sim/faults" >/dev/null
it_check "240: line unchanged at Freebit" test "$(fb_network_type)" = 4G

# ---------------------------------------------------------------- (3) success, by provisiond
change_to 5G
it_check "after abandonment: a new change is accepted (202)" it_status_is 202
get_line
it_check "success: detail cached before the run" test "$(rcli EXISTS "freebit:line:$MS1:detail")" = 1
if [ -x "$PROVD" ]; then
	force_due
	"$PROVD" -f </dev/null >>"$PROV_LOG" 2>&1 &
	PROV=$!
	it_register "t-simnt-provisiond-$PROV" "$PROV"
	# the pending marker goes last, after the call and the claim's settling
	it_check "success: the worker ran the job" it_wait_for 20 bash -c "[ \$(redis-cli -h 127.0.0.1 -p $IT_REDIS_PORT EXISTS freebit:line:$MS1:pending) = 0 ]"
	CLAIM="$(rcli GET "freebit:line:$MS1:last_change") $(rcli TTL "freebit:line:$MS1:last_change")"
	it_check "success: claim taken by the job, for FREEBIT_CHANGE_GAP_S (5 s)" bash -c "grep -qE '^contractline:[0-9]+ [1-5]\$' <<<'$CLAIM' || { echo '$CLAIM'; false; }"
	it_stop_pid provisiond "$PROV"
	PROV=
else
	force_due
	run_due
fi
it_check "success: one more network-type call, answered 100" test "$(curl -sS "$FB/__sim/calls" | jq '[.[] | select((.path // .action // "") | test("contractline")) | select(.resultCode == "100")] | length')" = 1
it_check "success: pending marker gone" test "$(rcli EXISTS "freebit:line:$MS1:pending")" = 0
it_check "success: cached detail dropped" test "$(rcli EXISTS "freebit:line:$MS1:detail")" = 0
# Freebit's own pendingOperation still refuses a new change (409) until its
# async operation completes (the simulator's is FREEBIT gap long: completed here).
change_to 4G
it_check "success: a new change while Freebit works on the line → 409" it_status_is 409
curl -sS -XPOST "$FB/__sim/lines/$MS1/complete" >/dev/null
it_check "success: Freebit changed the line (5G)" test "$(fb_network_type)" = 5G
change_to 4G
it_check "success: a new change is accepted (202) once the line allows" it_status_is 202
it_check "success: the new change queued" test "$(jobs_count)" = 1

it_summary
