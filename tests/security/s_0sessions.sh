#!/bin/bash
# s_0sessions.sh — sessions for the other scenarios, made the real way: A1
# (taro.yamada, WHMCS client 101) and A3 (ichiro.tanaka, 103) link their WHMCS
# login (POST /api/auth/link), then log in with that password (POST
# /api/auth/login). Writes $SEC_DIR/sessions.env (TOK1 CSRF1 TOK3 CSRF3).
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/common.sh"

rl_flush
psql_q "DELETE FROM users WHERE email IN ('taro.yamada@example.jp','ichiro.tanaka@example.jp')" >/dev/null
: >"$SEC_DIR/sessions.env"
n=20
for who in "1 taro.yamada@example.jp Whmcs-Pass-101!" "3 ichiro.tanaka@example.jp Whmcs-Pass-103!"; do
	read -r k email pw <<<"$who"
	n=$((n + 1))
	sec_remember "$pw"
	body=$(jq -nc --arg e "$email" --arg p "$pw" '{email: $e, password: $p}')
	SRC=$SEC_NET.$n req - - POST /api/auth/link "$body"
	it_check "A$k: link with the WHMCS login → 200/201" bash -c "[ $IT_LAST_STATUS = 200 ] || [ $IT_LAST_STATUS = 201 ]"
	SRC=$SEC_NET.$n req - - POST /api/auth/login "$body"
	it_check "A$k: login → 200" it_status_is 200
	tok=$(it_header Set-Cookie | sed -n 's/^portal_session=\([^;]*\).*/\1/p')
	csrf=$(jq -r '.data.csrf_token // empty' "$IT_LAST_BODY")
	it_check "A$k: session cookie and CSRF token" test -n "$tok" -a -n "$csrf"
	sec_remember "$tok"
	sec_remember "$csrf"
	printf 'TOK%s=%q\nCSRF%s=%q\n' "$k" "$tok" "$k" "$csrf" >>"$SEC_DIR/sessions.env"
	req "$tok" - GET /api/auth/me
	it_check "A$k: /api/auth/me with it → 200" it_status_is 200
done
rl_flush
it_summary
