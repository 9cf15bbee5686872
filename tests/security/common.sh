# shellcheck shell=bash
# tests/security/common.sh — sourced by the s_*.sh scenarios after lib.sh.
. "$IT_ENV"
SF="http://127.0.0.1:$SIM_SF_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
FB="http://127.0.0.1:$SIM_FREEBIT_PORT"
A1=0015F0000000001QAA A3=0015F0000000003QAA
# Each scenario's requests come from its own 127.x address (login/sign-up
# throttles are per address); nginx passes, Apache logs, the real peer.
SEC_NET=127.0.7
[ "$IT_WEB" = apache ] && SEC_NET=127.0.8

psql_q() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }
rl_flush() { rcli --scan --pattern 'rl:*' | while read -r k; do rcli DEL "$k" >/dev/null; done; }
# remember a secret the run issued (token, password) for s_9secrets
sec_remember() { [ -n "${1:-}" ] && printf '%s\n' "$1" >>"$SEC_SECRETS"; return 0; }
# req TOKEN CSRF METHOD PATH [BODY] [curl args…]: "-" TOKEN/CSRF/BODY = none
req() {
	local tok=$1 csrf=$2 method=$3 path=$4 body=${5:--}
	shift 4
	[ $# -gt 0 ] && shift
	local a=(--interface "${SRC:-$SEC_NET.10}")
	[ "$tok" != - ] && a+=(-b "portal_session=$tok")
	[ "$csrf" != - ] && a+=(-H "X-CSRF-Token: $csrf")
	[ "$body" != - ] && a+=(-H 'Content-Type: application/json' --data-binary "$body")
	it_http "$method" "$path" "${a[@]}" "$@"
}
error_is() { it_status_is "$1" && it_json_eq .error.code "$2"; }
# the web server and the apps still answer (no crash): /health and an app route
alive() {
	local s
	s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$IT_BASE_URL/health")
	[ "$s" = 200 ] || [ "$s" = 503 ] || { echo "/health → $s"; return 1; }
	s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$IT_BASE_URL/api/auth/me")
	[ "$s" = 401 ] || { echo "/api/auth/me → $s"; return 1; }
}
[ -f "$SEC_DIR/sessions.env" ] && . "$SEC_DIR/sessions.env"
