#!/bin/bash
# t_auth.sh — portal-auth.fcgi through the web server against the simulators,
# the run's PostgreSQL and Redis (portal-api.md "Auth", resolutions §14, §15,
# §18, §27, §28, docs/signup.md):
#   * sign-up of A2 with each failure point (Salesforce query down, WHMCS
#     AddClient down then retried → one client, Salesforce write-back down →
#     user active, completed at the next login), validation, WEAK_PASSWORD,
#     CUSTOMER_NUMBER_NOT_FOUND (unknown number and wrong email alike),
#     ACCOUNT_ALREADY_REGISTERED, EMAIL_IN_USE, SOQL metacharacters;
#   * me, logout, login (enumeration: unknown email = wrong password),
#     session fixation, cookie flags, CSRF (missing, wrong, foreign Origin),
#     password change ending the other sessions, sessions list / delete-all,
#     throttling → 429 + Retry-After;
#   * link of A1 with its WHMCS password, INVALID_CREDENTIALS,
#     ACCOUNT_ALREADY_REGISTERED, LINK_2FA_UNSUPPORTED (A5);
#   * password reset through an SMTP sink (aiosmtpd), RESET_TOKEN_INVALID;
#   * 2FA enrolment, login step-up with TOTP and recovery codes, replay
#     refused, disable.
# Each part uses its own 127.x source address so the per-address throttles
# of one part never leak into another; the run's rate-limit keys are cleared
# at the start and at the end, and the users made here are deleted.
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

SF="http://127.0.0.1:$SIM_SF_PORT"
WH="http://127.0.0.1:$SIM_WHMCS_PORT"
net=127.0.3
[ "$IT_WEB" = apache ] && net=127.0.4
IP=$net.10
IP_RL=$net.11
IP_LINK=$net.12
IP_ENUM=$net.13
IP_PROBE=$net.14
JAR=$IT_ROOT/auth-jars
mkdir -p "$JAR"
rm -f "$JAR"/*
EMAILS="'hanako.suzuki@example.jp','mai.watanabe@example.jp','taro.yamada@example.jp','yuki.sato@example.jp','ken.ito@example.jp'"
PW_A2='Blue-Harbour-Lantern-42'
PW_A2_NEW='Quiet-Maple-Orbit-77'
PW_A2_RESET='Silver-Cactus-Piano-31'

rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }
rl_flush() { rcli --scan --pattern 'rl:*' | while read -r k; do rcli DEL "$k" >/dev/null; done; }
db() { psql "$DATABASE_URL" -qAtc "$1"; }
cleanup() {
	db "DELETE FROM users WHERE email IN ($EMAILS); DELETE FROM signup_pending;" >/dev/null 2>&1
	rl_flush
	curl -s -XPOST "$SF/__sim/reset" >/dev/null
	curl -s -XPOST "$WH/__sim/reset" >/dev/null
}
sink_pid=
stop_sink() { [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null; wait "$sink_pid" 2>/dev/null; sink_pid=; }
trap 'stop_sink; cleanup' EXIT

# req JAR METHOD PATH [JSON] [curl args…]: JSON request with a cookie jar ("-" = none)
req() {
	local jar=$1 method=$2 path=$3 body=${4:-}
	shift 3
	[ $# -gt 0 ] && shift
	local args=(--interface "${SRC:-$IP}" -H 'Content-Type: application/json')
	[ "$jar" != - ] && args+=(-b "$JAR/$jar" -c "$JAR/$jar")
	[ -n "$body" ] && args+=(--data-binary "$body")
	it_http "$method" "$path" "${args[@]}" "$@"
}
csrf() { jq -r '.data.csrf_token' "$JAR/$1.json"; }
keep() { cp "$IT_LAST_BODY" "$JAR/$1.json"; }   # remember a login answer (CSRF token)
cookie_of() { awk '$6 == "portal_session" {print $7}' "$JAR/$1" 2>/dev/null | tail -n1; }
error_is() { # status code
	it_status_is "$1" && it_json_eq .error.code "$2" && it_json '.error.request_id | strings' >/dev/null
}
field_is() { it_json_eq .error.field "$1"; }
invalid_field() { error_is 400 VALIDATION_FAILED && field_is "$1"; }
sf_acct() { curl -s "$SF/__sim/state" | jq -r --arg n "$1" --arg f "$2" '.Account[] | select(.Customer_Number__c == $n) | .[$f] // ""'; }
wh_clients_with() { curl -s "$WH/__sim/state" | jq --arg e "$1" '[.clients[] | select(.email == $e)] | length'; }
wh_calls() { curl -s "$WH/__sim/calls" | jq --arg a "$1" '[.[] | select(.action == $a)] | length'; }
fault() { curl -s -XPOST "$1/__sim/faults" -d "$2" >/dev/null; }
signup_json() { # number email password
	jq -nc --arg n "$1" --arg e "$2" --arg p "$3" '{customer_number: $n, email: $e, password: $p,
		first_name: "Hanako", last_name: "Suzuki", phone: "09022220202",
		address: {postcode: "150-0002", prefecture: "Tokyo", city: "Shibuya-ku", street: "2-3-4 Shibuya",
		building: "Sky 5F"}}'
}
login_json() { jq -nc --arg e "$1" --arg p "$2" '{email: $e, password: $p}'; }
totp() { # base32 secret, step offset
	python3 -c 'import base64,hashlib,hmac,struct,sys,time
k=base64.b32decode(sys.argv[1]+"="*(-len(sys.argv[1])%8))
h=hmac.new(k,struct.pack(">Q",int(time.time())//30+int(sys.argv[2])),hashlib.sha1).digest()
o=h[-1]&15
print("%06d"%((struct.unpack(">I",h[o:o+4])[0]&0x7fffffff)%1000000))' "$1" "$2"
}

cleanup

# ---------------------------------------------------------------- sign-up: validation
A2=$(signup_json CN10000002 hanako.suzuki@example.jp "$PW_A2")
req - POST /api/auth/signup '{"customer_number": "CN10000002"'
it_check "signup: malformed JSON → 400 VALIDATION_FAILED" error_is 400 VALIDATION_FAILED
req - POST /api/auth/signup "$(jq -c 'del(.phone)' <<<"$A2")"
it_check "signup: missing phone → 400 VALIDATION_FAILED naming phone" invalid_field phone
req - POST /api/auth/signup "$(jq -c '.address |= del(.city)' <<<"$A2")"
it_check "signup: missing address.city named" field_is address.city
req - POST /api/auth/signup "$(jq -c '.email = "not-an-email"' <<<"$A2")"
it_check "signup: bad email → 400 naming email" field_is email
req - POST /api/auth/signup "$(signup_json CN10000002 hanako.suzuki@example.jp 'Short-pw-1')"
it_check "signup: 10-char password → 400 WEAK_PASSWORD" error_is 400 WEAK_PASSWORD
req - POST /api/auth/signup "$(signup_json CN10000002 hanako.suzuki@example.jp 'password1234')"
it_check "signup: common password → 400 WEAK_PASSWORD" error_is 400 WEAK_PASSWORD
req - POST /api/auth/signup "$A2" -H 'Origin: https://evil.example'
it_check "signup: foreign Origin → 403 CSRF_FAILED" error_is 403 CSRF_FAILED
# JSON in (portal-api.md): a body labelled otherwise is refused before the
# handler, so nothing is looked up or created
it_http POST /api/auth/signup --interface "$IP" -H 'Content-Type: text/plain' --data-binary "$A2"
it_check "signup: text/plain body → 415 UNSUPPORTED_MEDIA_TYPE" error_is 415 UNSUPPORTED_MEDIA_TYPE
it_check "signup: 415 created no user" test "$(db "SELECT count(*) FROM users WHERE email = 'hanako.suzuki@example.jp'")" = 0
it_http POST /api/auth/login --interface "$IP" -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary 'email=hanako.suzuki%40example.jp&password=x'
it_check "login: form-encoded body → 415 UNSUPPORTED_MEDIA_TYPE" error_is 415 UNSUPPORTED_MEDIA_TYPE
it_http POST /api/auth/login --interface "$IP" --data-binary '{"email": "x@y.jp"}' -H 'Content-Type:'
it_check "login: JSON body without Content-Type → 415 UNSUPPORTED_MEDIA_TYPE" error_is 415 UNSUPPORTED_MEDIA_TYPE
it_http POST /api/auth/signup --interface "$IP" -H 'Content-Type: Application/JSON; Charset=UTF-8' \
	--data-binary '{"email": "x@y.jp"}'
it_check "signup: 'Application/JSON; Charset=UTF-8' is JSON (→ 400 VALIDATION_FAILED, not 415)" \
	error_is 400 VALIDATION_FAILED

# ---------------------------------------------------------------- sign-up: not found / registered
req - POST /api/auth/signup "$(signup_json CN99999999 hanako.suzuki@example.jp "$PW_A2")"
it_check "signup: unknown number → 404 CUSTOMER_NUMBER_NOT_FOUND" error_is 404 CUSTOMER_NUMBER_NOT_FOUND
unknown=$(jq -c '.error | del(.request_id)' "$IT_LAST_BODY")
req - POST /api/auth/signup "$(signup_json CN10000002 someone.else@example.jp "$PW_A2")"
it_check "signup: email ≠ Email__c → 404 CUSTOMER_NUMBER_NOT_FOUND" error_is 404 CUSTOMER_NUMBER_NOT_FOUND
it_check "signup: wrong email answers exactly as an unknown number" \
	test "$(jq -c '.error | del(.request_id)' "$IT_LAST_BODY")" = "$unknown"
req - POST /api/auth/signup "$(signup_json CN10000002 HANAKO.Suzuki@Example.JP Short)"
it_check "signup: password checked before any lookup" error_is 400 WEAK_PASSWORD
req - POST /api/auth/signup "$(signup_json CN10000001 taro.yamada@example.jp "$PW_A2")"
it_check "signup: A1 (has a WHMCS client) → 409 ACCOUNT_ALREADY_REGISTERED" error_is 409 ACCOUNT_ALREADY_REGISTERED
# SOQL metacharacters: the simulator parses what it gets; an unescaped quote
# or backslash would be a 400 MALFORMED_QUERY (→ 502/503 here) or a match.
curl -s -XPOST "$SF/__sim/reset" >/dev/null
for cn in "CN10000002' OR Name != '" 'CN1000000\' 'CN1000000%' 'CN1000000_' "x\\' OR Customer_Number__c LIKE '%"; do
	req - POST /api/auth/signup "$(signup_json "$cn" hanako.suzuki@example.jp "$PW_A2")"
	it_check "signup: customer number [$cn] → 404, no injection" error_is 404 CUSTOMER_NUMBER_NOT_FOUND
done
sf_ok=$(curl -s "$SF/__sim/calls" | jq '[.[] | select(.action == "query")] | (length > 0 and all(.status == 200))')
it_check "signup: every metacharacter query reached Salesforce as a valid SOQL (200)" test "$sf_ok" = true

# customer-number probing: failed lookups are throttled per address
lim=$(sed -n 's/^RATE_LIMIT_LOGIN_PER_IP[[:space:]]*=[[:space:]]*//p' "$PORTAL_CONFIG" | tail -n1)
for i in $(seq 1 "${lim:-20}"); do
	SRC=$IP_PROBE req - POST /api/auth/signup "$(signup_json "CN9$i" hanako.suzuki@example.jp "$PW_A2")"
done
it_check "signup: the last allowed failed lookup → 404" error_is 404 CUSTOMER_NUMBER_NOT_FOUND
SRC=$IP_PROBE req - POST /api/auth/signup "$(signup_json CN10000002 hanako.suzuki@example.jp "$PW_A2")"
it_check "signup: probing customer numbers → 429 RATE_LIMITED + Retry-After" bash -c \
	"[ $IT_LAST_STATUS = 429 ] && grep -qi '^retry-after:' '$IT_LAST_HEADERS'"

# ---------------------------------------------------------------- sign-up: failure points
fault "$SF" '{"match": "query", "status": 503, "count": 3}'
req - POST /api/auth/signup "$A2"
it_check "signup, Salesforce query down → 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
it_check "signup, Salesforce query down → Retry-After" it_header_present Retry-After
it_check "signup, Salesforce query down → no WHMCS AddClient" test "$(wh_calls AddClient)" = 0
curl -s -XDELETE "$SF/__sim/faults" >/dev/null
fault "$WH" '{"match": "AddClient", "status": 503, "count": 1}'
req - POST /api/auth/signup "$A2"
it_check "signup, WHMCS AddClient down → 503" error_is 503 UPSTREAM_UNAVAILABLE
it_check "signup, WHMCS AddClient down → Retry-After" it_header_present Retry-After
it_check "signup, WHMCS AddClient down → no portal user" test "$(db "SELECT count(*) FROM users WHERE email = 'hanako.suzuki@example.jp'")" = 0
it_check "signup, WHMCS AddClient down → pending row kept for the retry" test "$(db "SELECT count(*) FROM signup_pending")" = 1
# the retry: Salesforce write-back fails this time (user stays active)
fault "$SF" '{"match": "/sobjects/Account/", "status": 503, "count": 1}'
req a POST /api/auth/signup "$A2" -H "User-Agent: browser-a"
keep a
it_check "signup retry: 201" it_status_is 201
it_check "signup: user email, account ids" it_json_eq \
	'"\(.data.user.email) \(.data.account.whmcs_client_id != null) \(.data.account.sf_account_id | length)"' \
	"hanako.suzuki@example.jp true 18"
it_check "signup: csrf_token" it_json '.data.csrf_token | select(length == 43)'
it_check "signup: exactly one WHMCS client with that email" test "$(wh_clients_with hanako.suzuki@example.jp)" = 1
it_check "signup: WHMCS client has the customer number custom field" test "$(curl -s "$WH/__sim/state" |
	jq -r '.clients[] | select(.email == "hanako.suzuki@example.jp") | [.customfields[]] | index("CN10000002") != null')" = true
it_check "signup: WHMCS address mapped (address1/2, state, country JP)" test "$(curl -s "$WH/__sim/state" |
	jq -r '.clients[] | select(.email == "hanako.suzuki@example.jp") | "\(.address1)|\(.address2)|\(.state)|\(.country)"')" = \
	"2-3-4 Shibuya|Sky 5F|Tokyo|JP"
it_check "signup: pending row gone" test "$(db "SELECT count(*) FROM signup_pending")" = 0
it_check "signup: Salesforce write-back failed → mapping marked unsynced" test \
	"$(db "SELECT count(*) FROM id_mappings m JOIN users u ON u.id = m.user_id WHERE u.email = 'hanako.suzuki@example.jp' AND m.sf_synced_at IS NULL")" = 1
it_check "signup: Salesforce account not yet Active" test "$(sf_acct CN10000002 Portal_Status__c)" != Active
sc=$(it_header Set-Cookie)
it_check "cookie: portal_session, HttpOnly, SameSite=Lax, Path=/" bash -c \
	"grep -q '^portal_session=' <<<'$sc' && grep -q 'HttpOnly' <<<'$sc' && grep -q 'SameSite=Lax' <<<'$sc' && grep -q 'Path=/' <<<'$sc'"
it_check "cookie: no Secure with SESSION_COOKIE_SECURE=false" bash -c "! grep -qi 'secure' <<<'$sc'"
it_check "signup: private, no-store" it_header_eq Cache-Control "private, no-store"
req - POST /api/auth/signup "$A2"
it_check "signup again → 409 ACCOUNT_ALREADY_REGISTERED" error_is 409 ACCOUNT_ALREADY_REGISTERED
# EMAIL_IN_USE: a WHMCS client already has A6's email (not made by a sign-up)
wh_id=$(jq -r '.api_credentials[0].identifier' "$IT_SRCDIR/tests/fixtures/whmcs/config.json")
wh_secret=$(jq -r '.api_credentials[0].secret' "$IT_SRCDIR/tests/fixtures/whmcs/config.json")
curl -s "$WH/includes/api.php" -d action=AddClient -d responsetype=json -d "identifier=$wh_id" -d "secret=$wh_secret" \
	-d firstname=Mai -d lastname=Watanabe -d email=mai.watanabe@example.jp -d address1=x -d city=x -d state=x \
	-d postcode=100-0001 -d country=JP -d phonenumber=0900000000 -d password2=Some-Password-123 >/dev/null
req - POST /api/auth/signup "$(signup_json CN10000006 mai.watanabe@example.jp "$PW_A2")"
it_check "signup: WHMCS already has the email → 409 EMAIL_IN_USE" error_is 409 EMAIL_IN_USE

# ---------------------------------------------------------------- me, logout, login
req a GET /api/auth/me
it_check "me: 200" it_status_is 200
it_check "me: user, account ids, csrf_token" it_json_eq \
	'"\(.data.user.email) \(.data.account.sf_account_id | length) \(.data.csrf_token | length)"' \
	"hanako.suzuki@example.jp 18 43"
req - GET /api/auth/me
it_check "me without a cookie → 401 UNAUTHENTICATED" error_is 401 UNAUTHENTICATED
old=$(cookie_of a)
req a POST /api/auth/logout
it_check "logout without X-CSRF-Token → 403 CSRF_FAILED" error_is 403 CSRF_FAILED
# no body and no Content-Type at all: the JSON rule is about bodies
it_http POST /api/auth/logout --interface "$IP" -b "$JAR/a" -c "$JAR/a" -H "X-CSRF-Token: $(csrf a)"
it_check "logout (no body, no Content-Type) → 204" it_status_is 204
it_check "logout: clearing cookie" bash -c "grep -qi '^set-cookie: portal_session=;.*Max-Age=0' '$IT_LAST_HEADERS'"
req - GET /api/auth/me '' -b "portal_session=$old"
it_check "logged-out cookie → 401" error_is 401 UNAUTHENTICATED

SRC=$IP_ENUM req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp wrong-password-123)"
it_check "login: wrong password → 401 INVALID_CREDENTIALS" error_is 401 INVALID_CREDENTIALS
wrong=$(jq -c '.error | del(.request_id)' "$IT_LAST_BODY")
SRC=$IP_ENUM req - POST /api/auth/login "$(login_json nobody.here@example.jp wrong-password-123)"
it_check "login: unknown email → 401 INVALID_CREDENTIALS" error_is 401 INVALID_CREDENTIALS
it_check "enumeration: unknown email body = wrong password body" \
	test "$(jq -c '.error | del(.request_id)' "$IT_LAST_BODY")" = "$wrong"
SRC=$IP_ENUM req - POST /api/auth/login '{"email": "x@y.jp"}'
it_check "login: missing password → 400 naming password" field_is password

# session fixation: a cookie planted before login is not the one after it
rm -f "$JAR/a"
printf '127.0.0.1\tFALSE\t/\tFALSE\t0\tportal_session\t%s\n' "$old" >"$JAR/a"
req a POST /api/auth/login "$(login_json Hanako.Suzuki@example.jp "$PW_A2")" -H "User-Agent: browser-a"
keep a
it_check "login: 200 (email case-insensitive)" it_status_is 200
it_check "login: session cookie rotated (not the planted one)" test "$(cookie_of a)" != "$old"
it_check "login: Salesforce write-back completed at login" test "$(sf_acct CN10000002 Portal_Status__c)" = Active
it_check "login: WHMCS_Client_ID__c written" test -n "$(sf_acct CN10000002 WHMCS_Client_ID__c)"
pre=$(cookie_of a)
req a POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2")"
keep a
req - GET /api/auth/me '' -b "portal_session=$pre"
it_check "fixation: the pre-login session is dead after a login made with it" error_is 401 UNAUTHENTICATED
req b POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2")" -H "User-Agent: browser-b"
keep b

# ---------------------------------------------------------------- CSRF, password change
body=$(jq -nc --arg c "$PW_A2" --arg n "$PW_A2_NEW" '{current_password: $c, new_password: $n}')
req a POST /api/auth/password "$body"
it_check "password: no X-CSRF-Token → 403 CSRF_FAILED" error_is 403 CSRF_FAILED
req a POST /api/auth/password "$body" -H 'X-CSRF-Token: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
it_check "password: wrong X-CSRF-Token → 403 CSRF_FAILED" error_is 403 CSRF_FAILED
req a POST /api/auth/password "$body" -H "X-CSRF-Token: $(csrf b)"
it_check "password: another session's CSRF token → 403" error_is 403 CSRF_FAILED
req a POST /api/auth/password "$body" -H "X-CSRF-Token: $(csrf a)" -H 'Origin: https://evil.example'
it_check "password: foreign Origin → 403 CSRF_FAILED" error_is 403 CSRF_FAILED
req a POST /api/auth/password "$(jq -c '.current_password = "Not-The-Password-1"' <<<"$body")" -H "X-CSRF-Token: $(csrf a)"
it_check "password: wrong current → 401 INVALID_CREDENTIALS" error_is 401 INVALID_CREDENTIALS
req a POST /api/auth/password "$(jq -c '.new_password = "qwertyuiop123"' <<<"$body")" -H "X-CSRF-Token: $(csrf a)"
it_check "password: weak new → 400 WEAK_PASSWORD" error_is 400 WEAK_PASSWORD
req a POST /api/auth/password "$body" -H "X-CSRF-Token: $(csrf a)"
it_check "password: 204" it_status_is 204
req b GET /api/auth/me
it_check "password: the other session ended" error_is 401 UNAUTHENTICATED
req a GET /api/auth/me
it_check "password: this session lives on (rotated cookie)" it_status_is 200
it_check "password: CSRF token kept across the rotation" test "$(jq -r .data.csrf_token "$IT_LAST_BODY")" = "$(csrf a)"
req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2")"
it_check "password: old password no longer works" error_is 401 INVALID_CREDENTIALS

# ---------------------------------------------------------------- sessions
req c POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2_NEW")" -H "User-Agent: browser-c"
keep c
req a GET /api/auth/sessions
it_check "sessions: 200 list of 2" it_json_eq '.data | length' 2
it_check "sessions: exactly one current, no tokens" it_json_eq \
	'"\([.data[] | select(.current)] | length) \([.data[].id | length] | unique)"' "1 [16]"
it_check "sessions: user agent and address of each" it_json_eq \
	'[.data[] | select(.current | not) | "\(.user_agent) \(.ip)"] | join(",")' "browser-c $IP"
req a DELETE /api/auth/sessions '' -H "X-CSRF-Token: $(csrf a)"
it_check "sessions: DELETE → 204" it_status_is 204
req c GET /api/auth/me
it_check "sessions: DELETE ended the other one" error_is 401 UNAUTHENTICATED
req a GET /api/auth/me
it_check "sessions: DELETE ended this one too" error_is 401 UNAUTHENTICATED

# ---------------------------------------------------------------- throttling
for i in 1 2 3 4 5; do
	SRC=$IP_RL req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp "wrong-password-$i$i")"
done
it_check "throttle: 5th failure still 401" error_is 401 INVALID_CREDENTIALS
SRC=$IP_RL req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp "wrong-password-66")"
it_check "throttle: 6th attempt → 429 RATE_LIMITED" error_is 429 RATE_LIMITED
it_check "throttle: Retry-After" it_header_present Retry-After
SRC=$IP_ENUM req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2_NEW")"
it_check "throttle: per account, also the right password from another address" error_is 429 RATE_LIMITED
rl_flush

# ---------------------------------------------------------------- link
curl -s -XPOST "$WH/__sim/reset" >/dev/null
SRC=$IP_LINK req - POST /api/auth/link "$(login_json yuki.sato@example.jp Wrong-Pass-104)"
it_check "link: wrong WHMCS password → 401 INVALID_CREDENTIALS" error_is 401 INVALID_CREDENTIALS
SRC=$IP_LINK req - POST /api/auth/link "$(login_json nobody@example.jp Wrong-Pass-104)"
it_check "link: unknown email → 401 INVALID_CREDENTIALS" error_is 401 INVALID_CREDENTIALS
curl -s -XPOST "$WH/__sim/reset" >/dev/null
SRC=$IP_LINK req - POST /api/auth/link "$(login_json ken.ito@example.jp 'Whmcs-Pass-105!')"
it_check "link: A5 (WHMCS 2FA on) → 409 LINK_2FA_UNSUPPORTED" error_is 409 LINK_2FA_UNSUPPORTED
SRC=$IP_LINK req l POST /api/auth/link "$(login_json taro.yamada@example.jp 'Whmcs-Pass-101!')"
keep l
it_check "link: A1 → 201" it_status_is 201
it_check "link: WHMCS client 101 and the A1 account" it_json_eq \
	'"\(.data.account.whmcs_client_id) \(.data.account.sf_account_id | length)"' "101 18"
it_check "link: Salesforce account marked Active" test "$(sf_acct CN10000001 Portal_Status__c)" = Active
req l GET /api/auth/me
it_check "link: session works" it_json_eq .data.user.email taro.yamada@example.jp
SRC=$IP_LINK req - POST /api/auth/link "$(login_json taro.yamada@example.jp 'Whmcs-Pass-101!')"
it_check "link: again → 409 ACCOUNT_ALREADY_REGISTERED" error_is 409 ACCOUNT_ALREADY_REGISTERED
req - POST /api/auth/login "$(login_json taro.yamada@example.jp 'Whmcs-Pass-101!')"
it_check "link: the WHMCS password is the portal password" it_status_is 200
rl_flush

# ---------------------------------------------------------------- password reset
MAILDIR=$IT_ROOT/auth-mail-$IT_WEB
rm -rf "$MAILDIR"
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$IT_SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$MAILDIR" \
	>>"$IT_ROOT/logs/smtp-sink.log" 2>&1 &
sink_pid=$!
it_wait_port "$IT_SMTP_PORT" 10 || it_log "SMTP sink did not start"
req - POST /api/auth/password-reset '{"email": "nobody.here@example.jp"}'
it_check "reset: unknown email → 202" it_status_is 202
unknown_body=$(jq -c . "$IT_LAST_BODY")
req - POST /api/auth/password-reset '{"email": "Hanako.Suzuki@example.jp"}'
it_check "reset: known email → 202" it_status_is 202
it_check "reset: same body for known and unknown" test "$(jq -c . "$IT_LAST_BODY")" = "$unknown_body"
mail_file() { grep -rl 'hanako.suzuki@example.jp' "$MAILDIR"/new 2>/dev/null | head -n1; }
it_wait_for 10 test -n "$(mail_file)"
it_check "reset: one mail for hanako, none for the unknown address" test \
	"$(grep -rl '' "$MAILDIR"/new 2>/dev/null | wc -l)" = 1
token=$(grep -ho 'token=[A-Za-z0-9_-]*' "$(mail_file)" 2>/dev/null | head -n1 | cut -d= -f2)
it_check "reset: token in the mail" test "${#token}" = 43
it_check "reset: only its hash stored" test "$(db "SELECT count(*) FROM password_reset_tokens WHERE token_hash = encode(sha256('$token'), 'hex') AND expires_at <= now() + interval '30 minutes'")" = 1
req d POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2_NEW")"
req - POST /api/auth/password-reset/confirm "$(jq -nc --arg t "$token" '{token: $t, new_password: "password12345"}')"
it_check "reset confirm: weak → 400 WEAK_PASSWORD" error_is 400 WEAK_PASSWORD
req - POST /api/auth/password-reset/confirm "$(jq -nc '{token: "bogus-token", new_password: "Silver-Cactus-Piano-31"}')"
it_check "reset confirm: unknown token → 400 RESET_TOKEN_INVALID" error_is 400 RESET_TOKEN_INVALID
req - POST /api/auth/password-reset/confirm "$(jq -nc --arg t "$token" --arg p "$PW_A2_RESET" '{token: $t, new_password: $p}')"
it_check "reset confirm: 204" it_status_is 204
req - POST /api/auth/password-reset/confirm "$(jq -nc --arg t "$token" --arg p "$PW_A2_RESET" '{token: $t, new_password: $p}')"
it_check "reset confirm: token single-use → 400 RESET_TOKEN_INVALID" error_is 400 RESET_TOKEN_INVALID
req d GET /api/auth/me
it_check "reset: every session ended" error_is 401 UNAUTHENTICATED
req e POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2_RESET")"
keep e
it_check "reset: new password logs in" it_status_is 200
stop_sink

# ---------------------------------------------------------------- 2FA
req e POST /api/auth/2fa/setup '' -H "X-CSRF-Token: $(csrf e)"
it_check "2fa setup: 200 otpauth URI" it_json '.data.otpauth_uri | select(startswith("otpauth://totp/Portal:hanako.suzuki%40example.jp?secret="))'
secret=$(jq -r .data.secret "$IT_LAST_BODY")
req e POST /api/auth/2fa/confirm '{"code": "000000"}' -H "X-CSRF-Token: $(csrf e)"
it_check "2fa confirm: wrong code → 401 TOTP_INVALID" error_is 401 TOTP_INVALID
req e POST /api/auth/2fa/confirm "$(jq -nc --arg c "$(totp "$secret" 0)" '{code: $c}')" -H "X-CSRF-Token: $(csrf e)"
it_check "2fa confirm: 200 with 10 recovery codes" it_json_eq '.data.recovery_codes | length' 10
code1=$(jq -r '.data.recovery_codes[0]' "$IT_LAST_BODY")
code2=$(jq -r '.data.recovery_codes[1]' "$IT_LAST_BODY")
it_check "2fa: recovery codes stored hashed" test "$(db "SELECT count(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.email = 'hanako.suzuki@example.jp' AND r.code_hash <> '$code1'")" = 10
req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2_RESET")"
it_check "2fa login: 401 TOTP_REQUIRED with a challenge id" error_is 401 TOTP_REQUIRED
it_check "2fa login: no session cookie before the second step" bash -c "! grep -qi '^set-cookie:' '$IT_LAST_HEADERS'"
ch=$(jq -r .error.challenge_id "$IT_LAST_BODY")
req - POST /api/auth/login/2fa "$(jq -nc --arg c "$ch" '{challenge_id: $c, code: "123456"}')"
it_check "2fa login: wrong code → 401 TOTP_INVALID" error_is 401 TOTP_INVALID
next=$(totp "$secret" 1)
req f POST /api/auth/login/2fa "$(jq -nc --arg c "$ch" --arg k "$next" '{challenge_id: $c, code: $k}')"
keep f
it_check "2fa login: TOTP code → 200 with a session" it_json_eq .data.user.totp_enabled true
req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2_RESET")"
ch=$(jq -r .error.challenge_id "$IT_LAST_BODY")
req - POST /api/auth/login/2fa "$(jq -nc --arg c "$ch" --arg k "$next" '{challenge_id: $c, code: $k}')"
it_check "2fa login: the same code again (replay) → 401 TOTP_INVALID" error_is 401 TOTP_INVALID
req g POST /api/auth/login/2fa "$(jq -nc --arg c "$ch" --arg k "$code1" '{challenge_id: $c, code: $k}')"
keep g
it_check "2fa login: recovery code → 200" it_status_is 200
req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2_RESET")"
ch=$(jq -r .error.challenge_id "$IT_LAST_BODY")
req - POST /api/auth/login/2fa "$(jq -nc --arg c "$ch" --arg k "$code1" '{challenge_id: $c, code: $k}')"
it_check "2fa login: a used recovery code → 401 TOTP_INVALID" error_is 401 TOTP_INVALID
req - POST /api/auth/login/2fa "$(jq -nc '{challenge_id: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", code: "123456"}')"
it_check "2fa login: unknown challenge → 401 UNAUTHENTICATED" error_is 401 UNAUTHENTICATED
req g POST /api/auth/2fa/disable "$(jq -nc --arg k "$code2" '{password: "Wrong-Password-99", code: $k}')" -H "X-CSRF-Token: $(csrf g)"
it_check "2fa disable: wrong password → 401 INVALID_CREDENTIALS" error_is 401 INVALID_CREDENTIALS
req g POST /api/auth/2fa/disable "$(jq -nc --arg p "$PW_A2_RESET" --arg k "$code2" '{password: $p, code: $k}')" -H "X-CSRF-Token: $(csrf g)"
it_check "2fa disable: password + recovery code → 204" it_status_is 204
req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2_RESET")"
it_check "2fa disabled: login is one step again" it_status_is 200

# ---------------------------------------------------------------- Redis down → 503
it_stop_redis
req - POST /api/auth/login "$(login_json hanako.suzuki@example.jp "$PW_A2_RESET")"
it_check "Redis down: login → 503 UPSTREAM_UNAVAILABLE, never 401" error_is 503 UPSTREAM_UNAVAILABLE
it_check "Redis down: Retry-After" it_header_present Retry-After
it_start_redis_again
it_wait_for 10 rcli PING

it_summary
