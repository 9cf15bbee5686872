# shellcheck shell=bash
# tests/faults/common.sh — helpers shared by the fault scenarios (f_*.sh), on
# top of tests/integration/lib.sh. Each scenario prints its figures as
# "REPORT <scenario>: key=value …" lines; tests/faults/run collects them.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
. "$IT_ENV"

SF="http://127.0.0.1:$SIM_SF_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
FB="http://127.0.0.1:$SIM_FREEBIT_PORT"
MKSESSION=$IT_BUILDDIR/tests/integration/mksession
A1=0015F0000000001QAA A3=0015F0000000003QAA
RUN=f$$

psql_q() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }
rdel() { # PATTERN: delete matching Redis keys
	rcli --scan --pattern "$1" | while read -r k; do rcli DEL "$k" >/dev/null; done
}
fault() { curl -sS -XPOST "$1/__sim/faults" -d "$2" >/dev/null; }
unfault() { curl -sS -XDELETE "$1/__sim/faults" >/dev/null; }
cfg() { # KEY DEFAULT: value from the run's config
	local v
	v=$(sed -n "s/^$1[[:space:]]*=[[:space:]]*//p" "$PORTAL_CONFIG" | tail -n1)
	echo "${v:-$2}"
}

# session_for ACCOUNT WHMCS_ID: "<token> <csrf>" for a portal user of the
# account (inserted here when sign-up has not made one).
session_for() {
	local acct=$1 wh=$2 uid
	uid=$(psql_q "SELECT user_id FROM id_mappings WHERE sf_account_id = '$acct'")
	if [ -z "$uid" ]; then
		uid=$(psql_q "INSERT INTO users (email, password_hash) VALUES
			('faults-${acct,,}@example.test', '\$argon2id\$v=19\$m=19456,t=2,p=1\$dGVzdA\$dGVzdA')
			RETURNING id" | head -n1)
		psql_q "INSERT INTO id_mappings (user_id, whmcs_client_id, sf_account_id)
			VALUES ($uid, $wh, '$acct')" >/dev/null
	fi
	"$MKSESSION" "$uid" "$acct" "$wh" 2>/dev/null
}

# timed METHOD PATH [curl args…]: it_http plus IT_LAST_TIME (seconds, float).
timed() {
	local method=$1 path=$2 out
	shift 2
	IT_LAST_HEADERS="$IT_ROOT/last.headers"
	IT_LAST_BODY="$IT_ROOT/last.body"
	out=$(curl -sS -o "$IT_LAST_BODY" -D "$IT_LAST_HEADERS" -w '%{http_code} %{time_total}' \
		--max-time "${IT_HTTP_TIMEOUT:-20}" -X "$method" "$@" "$IT_BASE_URL$path" 2>/dev/null) ||
		out=${out:-000 99}
	IT_LAST_STATUS=${out%% *}
	IT_LAST_TIME=${out#* }
	return 0
}
time_below() { # seconds
	awk -v t="$IT_LAST_TIME" -v m="$1" 'BEGIN { exit !(t + 0 <= m + 0) }' ||
		{ echo "took ${IT_LAST_TIME}s, limit ${1}s"; return 1; }
}
error_is() { # status code
	it_status_is "$1" && it_json_eq .error.code "$2"
}
unavailable() { # 503 UPSTREAM_UNAVAILABLE with Retry-After
	error_is 503 UPSTREAM_UNAVAILABLE && it_header_present Retry-After
}
# codes FILE: "200:12 503:4" from a file with one status code per line
codes() { sort "$1" | uniq -c | awk '{printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1}'; }
count_not() { # FILE CODE…: lines whose code is none of CODE…
	local f=$1
	shift
	local re
	re=$(IFS='|'; echo "$*")
	grep -cvE "^($re)\$" "$f" || true
}
report() { echo "REPORT $*"; }
# outbox_order KEY LABEL: as A1, an order Salesforce refuses once (composite
# 503), so it is held in the outbox (202) until provisiond's outbox drain
# submits it; outbox_submitted KEY is true once it has. Work that only a
# running portal-provisiond does.
outbox_order() {
	local tok csrf
	read -r tok csrf < <(session_for $A1 101)
	fault "$SF" '{"match":"composite","status":503,"count":1}'
	timed POST /api/orders -b "portal_session=$tok" -H "X-CSRF-Token: $csrf" -H "Idempotency-Key: $1" \
		-H 'Content-Type: application/json' \
		--data-binary '{"items":[{"sku":"INT-FTTH-1G","quantity":1},{"sku":"INT-ROUTER","quantity":1}]}'
	it_check "$2: an order held in the outbox (202)" it_status_is 202
	unfault "$SF"
}
outbox_submitted() { [ "$(psql_q "SELECT status FROM order_outbox WHERE idempotency_key = '$1'")" = submitted ]; }
