#!/bin/bash
# s_2csrf.sh — CSRF / Origin on every unsafe route (ASVS V4.2.2, V3.5.3), cookie
# flags on every Set-Cookie (V3.4.1-V3.4.3, Secure with SESSION_COOKIE_SECURE on),
# session fixation (V3.2.1), login throttling per address and per account (V2.2.1).
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/common.sh"

MKSESSION=$IT_BUILDDIR/tests/integration/mksession
COOKIES="$IT_ROOT/sec/set-cookie-$IT_WEB.txt"
: >"$COOKIES"
keep_cookies() { grep -i '^set-cookie:' "$IT_LAST_HEADERS" | tr -d '\r' >>"$COOKIES"; return 0; }
rl_flush

# A fresh A3 session of its own (a failing check must not end the others' sessions).
uid3=$(psql_q "SELECT user_id FROM id_mappings WHERE sf_account_id = '$A3'")
read -r T C < <("$MKSESSION" "$uid3" "$A3" 103 2>/dev/null)
[ -n "${T:-}" ] || it_die "mksession failed"
sec_remember "$T"
sec_remember "$C"

# ------------------------------------------------------------ CSRF on every unsafe session route
unsafe_routes() {
	cat <<-'R'
		POST /api/orders {"items":[{"sku":"SIM-DATA-3GB","quantity":1}]}
		POST /api/sim/201/top-up {"quota_mb":1024}
		POST /api/sim/201/plan {"plan_code":"PASI_3G"}
		POST /api/sim/201/network-type {"network_type":"5G"}
		PATCH /api/sim/201/voice-options {"voicemail":true}
		POST /api/sim/201/cancel {"confirm":true}
		POST /api/sim/202/reissue-esim {"eid":"89049032000000000000000000000099"}
		PUT /api/sim/201/alerts {"threshold_percent":80}
		POST /api/support/cases {"subject":"s_2csrf","description":"x"}
		POST /api/support/cases/5005F0000000003QAA/comments {"body":"s_2csrf"}
		POST /api/billing/invoices/1011/payment-link -
		POST /api/billing/payment-methods/link -
		PATCH /api/account/profile {"phone":"09000000000"}
		POST /api/auth/password {"current_password":"Whmcs-Pass-103!","new_password":"Another-Long-Pass-88"}
		POST /api/auth/2fa/setup -
		POST /api/auth/2fa/confirm {"code":"123456"}
		POST /api/auth/2fa/disable {"password":"Whmcs-Pass-103!","code":"123456"}
		DELETE /api/auth/sessions -
		POST /api/auth/logout -
	R
}
n=0 bad=0
while read -r m p b; do
	for mode in missing wrong origin; do
		n=$((n + 1))
		case $mode in
		missing) req "$T" - "$m" "$p" "$b" -H "Idempotency-Key: k-csrf-$IT_WEB-$$-$n" ;;
		wrong) req "$T" "${C%?}x" "$m" "$p" "$b" -H "Idempotency-Key: k-csrf-$IT_WEB-$$-$n" ;;
		origin) req "$T" "$C" "$m" "$p" "$b" -H "Idempotency-Key: k-csrf-$IT_WEB-$$-$n" -H 'Origin: https://evil.example' ;;
		esac
		if ! error_is 403 CSRF_FAILED >/dev/null; then
			bad=$((bad + 1))
			echo "  $m $p ($mode token/origin): $IT_LAST_STATUS $(head -c 160 "$IT_LAST_BODY")"
		fi
	done
done < <(unsafe_routes)
echo "REPORT CSRF [$IT_WEB]: $n unsafe requests (19 routes × missing / wrong token / foreign Origin), $bad not refused"
it_check "CSRF: every unsafe session route refuses missing / wrong token and a foreign Origin (403 CSRF_FAILED)" test "$bad" = 0
req "$T" - GET /api/auth/me
it_check "CSRF: the session survived the refused logout / DELETE sessions" it_status_is 200

# the unauthenticated unsafe routes: a foreign Origin is refused before anything runs
n=0 bad=0
for p in /api/auth/signup /api/auth/link /api/auth/login /api/auth/login/2fa /api/auth/password-reset /api/auth/password-reset/confirm; do
	n=$((n + 1))
	SRC=$SEC_NET.30 req - - POST "$p" '{"email":"taro.yamada@example.jp","password":"Whmcs-Pass-101!"}' -H 'Origin: https://evil.example'
	error_is 403 CSRF_FAILED >/dev/null || { bad=$((bad + 1)); echo "  $p foreign Origin: $IT_LAST_STATUS"; }
done
it_check "CSRF: $n pre-login routes refuse a foreign Origin (403 CSRF_FAILED)" test "$bad" = 0

# ------------------------------------------------------------ sessions, fixation, cookie flags
login() { # src email password [cookie] → IT_LAST_*; TOKEN=new cookie value
	local c=()
	[ -n "${4:-}" ] && c=(-b "portal_session=$4")
	SRC=$1 req - - POST /api/auth/login "$(jq -nc --arg e "$2" --arg p "$3" '{email: $e, password: $p}')" "${c[@]}"
	keep_cookies
	TOKEN=$(it_header Set-Cookie | sed -n 's/^portal_session=\([^;]*\).*/\1/p')
	CSRFTOK=$(jq -r '.data.csrf_token // empty' "$IT_LAST_BODY" 2>/dev/null)
	sec_remember "$TOKEN"
	sec_remember "$CSRFTOK"
}
psql_q "DELETE FROM users WHERE email = 'yuki.sato@example.jp'" >/dev/null
sec_remember 'Whmcs-Pass-104!'
SRC=$SEC_NET.31 req - - POST /api/auth/link '{"email":"yuki.sato@example.jp","password":"Whmcs-Pass-104!"}'
keep_cookies
it_check "A4 linked (the throttle / fixation account)" bash -c "[ $IT_LAST_STATUS = 200 ] || [ $IT_LAST_STATUS = 201 ]"

planted=attacker-chosen-session-value-0123456789abcdefghijkl
login $SEC_NET.31 yuki.sato@example.jp 'Whmcs-Pass-104!' "$planted"
it_check "fixation: login with a planted cookie → 200 and a new cookie" bash -c "[ $IT_LAST_STATUS = 200 ] && [ -n '$TOKEN' ] && [ '$TOKEN' != '$planted' ]"
req "$planted" - GET /api/auth/me
it_check "fixation: the planted value is no session" it_status_is 401
T0=$TOKEN
login $SEC_NET.31 yuki.sato@example.jp 'Whmcs-Pass-104!' "$T0"
T1=$TOKEN CT1=$CSRFTOK
it_check "fixation: a login made with a live session rotates it" bash -c "[ -n '$T1' ] && [ '$T1' != '$T0' ]"
req "$T0" - GET /api/auth/me
it_check "fixation: the session from before that login is dead" it_status_is 401
req "$T1" - GET /api/auth/me
it_check "fixation: the new one works" it_status_is 200
req "$T1" "$CT1" POST /api/auth/logout
keep_cookies
it_check "logout → 2xx and a Set-Cookie clearing the cookie" bash -c "[[ $IT_LAST_STATUS == 2?? ]] && grep -qi '^set-cookie: *portal_session=' '$IT_LAST_HEADERS'"
req "$T1" - GET /api/auth/me
it_check "logout: the session is dead" it_status_is 401

# throttling per account: 5 failures (from 5 addresses), the 6th is refused, even
# with the right password from a fresh address
for i in 1 2 3 4 5; do login $SEC_NET.4$i yuki.sato@example.jp "Wrong-Password-$i$i$i"; done
it_check "throttle: 5th wrong password → 401 INVALID_CREDENTIALS" error_is 401 INVALID_CREDENTIALS
login $SEC_NET.46 yuki.sato@example.jp 'Wrong-Password-666'
it_check "throttle per account: 6th → 429 RATE_LIMITED" error_is 429 RATE_LIMITED
it_check "throttle per account: Retry-After" it_header_present Retry-After
login $SEC_NET.47 yuki.sato@example.jp 'Whmcs-Pass-104!'
it_check "throttle per account: the right password from another address → 429" error_is 429 RATE_LIMITED
# per address: RATE_LIMIT_LOGIN_PER_IP (20) failures for different (unknown) accounts
got=0
for i in $(seq 1 25); do
	login $SEC_NET.50 "nobody-$i-$$@example.jp" "Wrong-Password-$i"
	if [ "$IT_LAST_STATUS" = 429 ]; then got=$i; break; fi
done
it_check "throttle per address: 429 by attempt 21 (got it at ${got})" bash -c "[ $got -ge 2 ] && [ $got -le 21 ]"
it_check "throttle per address: RATE_LIMITED + Retry-After" bash -c \
	"jq -e '.error.code == \"RATE_LIMITED\"' '$IT_LAST_BODY' >/dev/null && grep -qi '^retry-after: *[0-9]' '$IT_LAST_HEADERS'"
login $SEC_NET.51 taro.yamada@example.jp 'Whmcs-Pass-101!'
it_check "throttle per address: another address logs in" it_status_is 200
rl_flush

# every Set-Cookie of this scenario: HttpOnly, SameSite=Lax, Path=/
ncook=$(wc -l <"$COOKIES")
badc=$(grep -viE 'httponly' "$COOKIES" | wc -l)
badc=$((badc + $(grep -viE 'samesite=lax' "$COOKIES" | wc -l) + $(grep -viE 'path=/(;|$| )' "$COOKIES" | wc -l)))
echo "REPORT cookies [$IT_WEB]: $ncook Set-Cookie headers, $badc flag problems"
it_check "cookies: every Set-Cookie ($ncook) has HttpOnly, SameSite=Lax, Path=/" bash -c "[ $ncook -gt 0 ] && [ $badc = 0 ]"
it_check "cookies: no Secure while SESSION_COOKIE_SECURE = false (plain-HTTP dev)" bash -c "! grep -qi '; *secure' '$COOKIES'"

# SESSION_COOKIE_SECURE on: one app instance (CGI) with it → Secure on the cookie
sconf="$IT_ROOT/sec/portal-secure.conf"
sed 's/^SESSION_COOKIE_SECURE = .*/SESSION_COOKIE_SECURE = true/' "$PORTAL_CONFIG" >"$sconf"
chmod 600 "$sconf"
body='{"email":"taro.yamada@example.jp","password":"Whmcs-Pass-101!"}'
out=$(printf '%s' "$body" | env -i PATH=/usr/bin:/bin PORTAL_CONFIG="$sconf" GATEWAY_INTERFACE=CGI/1.1 \
	REQUEST_METHOD=POST PATH_INFO=/api/auth/login SCRIPT_NAME= REQUEST_URI=/api/auth/login SERVER_PROTOCOL=HTTP/1.1 \
	CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} REMOTE_ADDR=$SEC_NET.60 HTTP_HOST=127.0.0.1 \
	timeout 20 "$IT_LIBEXECDIR/portal-auth.fcgi" 2>>"$IT_ROOT/logs/sec-cgi.log")
sc=$(grep -i '^set-cookie:' <<<"$out" | tr -d '\r')
sec_remember "$(sed -n 's/^[Ss]et-[Cc]ookie: *portal_session=\([^;]*\).*/\1/p' <<<"$sc")"
sec_remember "$(sed '1,/^\r\?$/d' <<<"$out" | jq -r '.data.csrf_token // empty' 2>/dev/null)"
it_check "SESSION_COOKIE_SECURE=true: Set-Cookie has Secure, HttpOnly, SameSite=Lax, Path=/" bash -c \
	"grep -qi '; *secure' <<<'$sc' && grep -qi httponly <<<'$sc' && grep -qi 'samesite=lax' <<<'$sc' && grep -qi 'path=/' <<<'$sc'"
rl_flush
it_check "apps alive" alive
it_summary
