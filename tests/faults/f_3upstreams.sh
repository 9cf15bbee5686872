#!/bin/bash
# f_3upstreams.sh — each simulator failing on a route that uses it, with each
# kind of failure: 503, 429, a delay past the configured timeout (the run's
# config: SF_TIMEOUT_MS / WHMCS_TIMEOUT_MS / FREEBIT_TIMEOUT = 1500) and a
# dropped connection. Every answer must be a clear 503 UPSTREAM_UNAVAILABLE
# with Retry-After (every 503 carries one: the cause's own value, else the
# err table's default for the code), within the timeout + 1 s (curl
# %{time_total}), and
# nothing may be half-written:
#   * public catalog, Redis cache cold → Salesforce query;
#   * checkout → WHMCS GetPayMethods (no Salesforce order, no outbox row);
#   * sign-up → Salesforce query (no WHMCS client made) and → WHMCS AddClient
#     (no portal user);
#   * SIM detail, Freebit line cache cold → Freebit (503, or 200 when the
#     app serves what it has without Freebit; never a hang).
set -u
. "$(dirname "$0")/common.sh"

IP=127.0.10.10
LIMIT=2.5
KINDS="503 429 delay drop"
fault_json() { # match kind
	case $2 in
	503) echo "{\"match\":\"$1\",\"status\":503,\"count\":-1}" ;;
	429) echo "{\"match\":\"$1\",\"status\":429,\"count\":-1}" ;;
	delay) echo "{\"match\":\"$1\",\"delay_ms\":4000,\"count\":-1}" ;;
	drop) echo "{\"match\":\"$1\",\"drop\":true,\"count\":-1}" ;;
	esac
}
sent=0
times=$IT_ROOT/f_upstreams.times
: >"$times"
note() { # label: remember the last answer for the report
	sent=$((sent + 1))
	local ra=no
	[ -n "$(it_header Retry-After)" ] && ra=yes
	echo "$1 $IT_LAST_STATUS $(jq -r '.error.code // "-"' "$IT_LAST_BODY" 2>/dev/null) $IT_LAST_TIME retry-after:$ra" >>"$times"
}
reset_all() {
	curl -sS -XPOST "$SF/__sim/reset" >/dev/null
	curl -sS -XPOST "$WH/__sim/reset" >/dev/null
	curl -sS -XPOST "$FB/__sim/reset" >/dev/null
}
reset_all
read -r TOK CSRF < <(session_for $A1 101)
read -r TOK3 CSRF3 < <(session_for $A3 103)
[ -n "${TOK:-}" ] && [ -n "${TOK3:-}" ] || it_die "no sessions"
KEY_PREFIX=${A1:0:15}
INTERNET='{"items":[{"sku":"INT-FTTH-1G","quantity":1},{"sku":"INT-ROUTER","quantity":1}]}'
signup_a6() {
	jq -nc '{customer_number: "CN10000006", email: "mai.watanabe@example.jp", password: "Quiet-Maple-Orbit-77",
		first_name: "Mai", last_name: "Watanabe", phone: "09066660606",
		address: {postcode: "150-0002", prefecture: "Tokyo", city: "Shibuya-ku", street: "6-6-6 Shibuya"}}'
}
a6_users() { psql_q "SELECT count(*) FROM users WHERE email = 'mai.watanabe@example.jp'"; }
wh_calls() { curl -sS "$WH/__sim/calls" | jq --arg a "$1" '[.[] | select(.action == $a)] | length'; }

# The good path first, so a failure below is the fault's doing.
timed GET /api/sim/201 --interface $IP -b "portal_session=$TOK3"
it_check "setup: SIM detail 200 (caches it)" it_status_is 200

for k in $KINDS; do
	# ---- public catalog, cold cache → Salesforce
	rdel 'catalog:*'
	unfault "$SF"
	fault "$SF" "$(fault_json query "$k")"
	timed GET "/api/public/services?cold=$k-$RUN" --interface $IP
	note "catalog/SF-$k"
	it_check "SF query $k: cold public catalog → 503 UPSTREAM_UNAVAILABLE + Retry-After" unavailable
	it_check "SF query $k: answered within ${LIMIT}s" time_below $LIMIT
	unfault "$SF"

	# ---- checkout → WHMCS GetPayMethods
	rdel 'client:101:*'
	rdel 'acct:*'
	fault "$WH" "$(fault_json GetPayMethods "$k")"
	key=k-$RUN-pm-$k
	timed POST /api/orders --interface $IP -b "portal_session=$TOK" -H "X-CSRF-Token: $CSRF" \
		-H "Idempotency-Key: $key" -H 'Content-Type: application/json' --data-binary "$INTERNET"
	note "checkout/WHMCS-$k"
	it_check "WHMCS GetPayMethods $k: checkout → 503 UPSTREAM_UNAVAILABLE + Retry-After" unavailable
	it_check "WHMCS GetPayMethods $k: answered within ${LIMIT}s" time_below $LIMIT
	it_check "WHMCS GetPayMethods $k: no Salesforce order, no outbox row" test \
		"$(curl -sS "$SF/__sim/state" | jq --arg k "$KEY_PREFIX:$key" '[.Order[] | select(.Portal_Idempotency_Key__c == $k)] | length') $(psql_q "SELECT count(*) FROM order_outbox WHERE idempotency_key = '$key'")" = "0 0"
	unfault "$WH"

	# ---- sign-up → Salesforce query
	reset_all
	fault "$SF" "$(fault_json query "$k")"
	timed POST /api/auth/signup --interface $IP -H 'Content-Type: application/json' --data-binary "$(signup_a6)"
	note "signup/SF-$k"
	it_check "SF query $k: sign-up → 503 UPSTREAM_UNAVAILABLE + Retry-After" unavailable
	it_check "SF query $k: sign-up answered within ${LIMIT}s" time_below $LIMIT
	it_check "SF query $k: no portal user, no WHMCS AddClient" test "$(a6_users) $(wh_calls AddClient)" = "0 0"
	unfault "$SF"

	# ---- sign-up → WHMCS AddClient
	reset_all
	fault "$WH" "$(fault_json AddClient "$k")"
	timed POST /api/auth/signup --interface $IP -H 'Content-Type: application/json' --data-binary "$(signup_a6)"
	note "signup/WHMCS-$k"
	it_check "WHMCS AddClient $k: sign-up → 503 UPSTREAM_UNAVAILABLE + Retry-After" unavailable
	it_check "WHMCS AddClient $k: sign-up answered within ${LIMIT}s" time_below $LIMIT
	it_check "WHMCS AddClient $k: no portal user" test "$(a6_users)" = 0
	unfault "$WH"
	psql_q "DELETE FROM signup_pending" >/dev/null

	# ---- SIM detail → Freebit, line cache cold
	rdel 'freebit:line:*'
	fault "$FB" "$(fault_json '^/' "$k")"
	timed GET /api/sim/201 --interface $IP -b "portal_session=$TOK3"
	note "sim/Freebit-$k"
	it_check "Freebit $k: SIM detail → 200 (cached) or 503 UPSTREAM_UNAVAILABLE + Retry-After" \
		bash -c "[ $IT_LAST_STATUS = 200 ] || { [ $IT_LAST_STATUS = 503 ] && jq -e '.error.code == \"UPSTREAM_UNAVAILABLE\"' '$IT_LAST_BODY' >/dev/null && grep -qi '^retry-after: *[0-9]' '$IT_LAST_HEADERS'; }"
	it_check "Freebit $k: answered within ${LIMIT}s" time_below $LIMIT
	unfault "$FB"
done

# The sign-up works once the faults are gone (nothing half-written blocks it).
reset_all
timed POST /api/auth/signup --interface $IP -H 'Content-Type: application/json' --data-binary "$(signup_a6)"
it_check "faults cleared: the sign-up succeeds (201)" it_status_is 201
it_check "faults cleared: exactly one portal user" test "$(a6_users)" = 1

echo "  answers (route/fault status code seconds):"
sed 's/^/    /' "$times"
slow=$(awk '{ if ($4 > m) m = $4 } END { print m + 0 }' "$times")
report "upstreams: requests=$sent (4 routes x SF/WHMCS/Freebit x 503/429/delay/drop) answers [$(awk '{print $2 "/" $3}' "$times" | sort | uniq -c | awk '{printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1}')] slowest=${slow}s without-Retry-After=$(grep -c ' 503 .*retry-after:no' "$times") (limit ${LIMIT}s = timeout 1.5 s + 1 s); half-written: 0"
psql_q "DELETE FROM users WHERE email = 'mai.watanabe@example.jp'" >/dev/null
reset_all
it_summary
