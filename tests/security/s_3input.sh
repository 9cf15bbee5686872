#!/bin/bash
# s_3input.sh — oversized and malformed input on every route (ASVS V5.1.x,
# V13.1.x, V12.1.1): a 16 KiB header, a long query string (6 KiB: the app; 20 KiB:
# the server), JSON nested 1000 deep, 1e400 and 2^64 numbers, invalid UTF-8 and
# NUL (\u0000 and raw) in strings, wrong content types, bodies over 64 KiB
# (Content-Length, and chunked under nginx), truncated JSON, raw malformed
# requests. Every answer must be a 4xx — a JSON error from the app or the web
# server's own 4xx — never a 5xx, never no answer; the apps are alive afterwards
# (nginx: the same FastCGI processes; no crash in any log).
# sec: both
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/common.sh"

MKSESSION=$IT_BUILDDIR/tests/integration/mksession
uid3=$(psql_q "SELECT user_id FROM id_mappings WHERE sf_account_id = '$A3'")
read -r T C < <("$MKSESSION" "$uid3" "$A3" 103 2>/dev/null)
[ -n "${T:-}" ] || it_die "mksession failed"
sec_remember "$T"
sec_remember "$C"
rl_flush

pids_before=""
if [ "$IT_WEB" = nginx ]; then pids_before=$(cat "$IT_ROOT"/pids/*-fcgi-*.pid | sort | tr '\n' ' '); fi

GET_ROUTES="/health /api/public/services /api/public/services/internet/plans /api/public/services/sim/addons
/api/account/services/internet/plans /api/orders /api/orders/8015F0000000004QAA /api/sim/201 /api/sim/201/usage
/api/sim/201/calls?month=2026-09 /api/sim/201/sms?month=2026-09 /api/sim/201/alerts /api/notifications
/api/support/cases /api/support/cases/5005F0000000003QAA /api/billing/invoices /api/billing/invoices/1011
/api/billing/payment-methods /api/billing/payment-gateways /api/subscriptions /api/subscriptions/201
/api/account/profile /api/auth/me /api/auth/sessions"
# unsafe routes with a body that would be valid (numbers / strings get replaced);
# logout and DELETE sessions are sent without a CSRF token (they must not end the session)
body_routes() {
	cat <<-'R'
		POST /api/auth/signup {"customer_number":"CN10000002","email":"hanako.suzuki@example.jp","password":"Blue-Harbour-Lantern-42","first_name":"Hanako","last_name":"Suzuki","phone":"09022220202","address":{"postcode":"150-0002","prefecture":"Tokyo","city":"Shibuya-ku","street":"2-3-4"}}
		POST /api/auth/link {"email":"nobody@example.jp","password":"Not-The-Password-1"}
		POST /api/auth/login {"email":"nobody@example.jp","password":"Not-The-Password-1"}
		POST /api/auth/login/2fa {"challenge":"abc","code":"123456"}
		POST /api/auth/password-reset {"email":"nobody@example.jp"}
		POST /api/auth/password-reset/confirm {"token":"abc","new_password":"Not-The-Password-1"}
		POST /api/auth/password {"current_password":"Not-The-Password-1","new_password":"Another-Long-Pass-88"}
		POST /api/auth/2fa/confirm {"code":"123456"}
		POST /api/auth/2fa/disable {"password":"Not-The-Password-1","code":"123456"}
		POST /api/orders {"items":[{"sku":"SIM-DATA-3GB","quantity":1}],"notes":"x"}
		POST /api/sim/201/top-up {"quota_mb":1024}
		POST /api/sim/201/plan {"plan_code":"PASI_3G"}
		POST /api/sim/201/network-type {"network_type":"5G"}
		PATCH /api/sim/202/voice-options {"voicemail":true}
		POST /api/sim/201/cancel {"confirm":true}
		POST /api/sim/202/reissue-esim {"eid":"89049032000000000000000000000099"}
		PUT /api/sim/201/alerts {"threshold_percent":80}
		POST /api/support/cases {"subject":"s_3input","description":"x","priority":"low"}
		POST /api/support/cases/5005F0000000003QAA/comments {"body":"s_3input"}
		PATCH /api/account/profile {"phone":"09000000000"}
		POST /api/webhooks/whmcs {"event":"InvoicePaid","invoice_id":1011}
		POST /api/billing/invoices/1011/payment-link {"n":1}
		POST /api/billing/payment-methods/link {"n":1}
		POST /api/auth/2fa/setup {"n":1}
		POST /api/auth/logout {"n":1}
		DELETE /api/auth/sessions {"n":1}
	R
}

requests=0 bad=0 accepted=0 ct_accepted="" chunked_not_413=""
BAD="$IT_ROOT/sec/input-bad-$IT_WEB.txt"
: >"$BAD"
src=100
# judge CASE STRICT: STRICT=1 → must be 4xx; 0 → any non-5xx answer (input the
# route may legitimately ignore, e.g. a body on a route that reads none)
judge() {
	local what=$1 strict=$2 ct
	requests=$((requests + 1))
	printf '%s %s %s\n' "$IT_LAST_STATUS" "$what" "$(head -c 100 "$IT_LAST_BODY" | tr -d '\n')" >>"$IT_ROOT/sec/input-all-$IT_WEB.txt"
	case $IT_LAST_STATUS in
	4??)
		ct=$(it_header Content-Type)
		# the app's errors are JSON; a web server's own 4xx page may be HTML
		if grep -qi json <<<"$ct" && ! jq -e '.error.code | strings' "$IT_LAST_BODY" >/dev/null 2>&1; then
			bad=$((bad + 1)); echo "$what: $IT_LAST_STATUS JSON without error.code" >>"$BAD"
		fi ;;
	2?? | 3??)
		accepted=$((accepted + 1))
		# secrets in tolerated answers (TOTP secret, WHMCS SSO token) for s_9secrets
		sec_remember "$(jq -r '.data.secret // empty' "$IT_LAST_BODY" 2>/dev/null)"
		sec_remember "$(jq -r '.data.url // empty' "$IT_LAST_BODY" 2>/dev/null | sed -n 's/.*access_token=\([^&]*\).*/\1/p')"
		[ "$strict" = 1 ] && { bad=$((bad + 1)); echo "$what: accepted $IT_LAST_STATUS $(head -c 150 "$IT_LAST_BODY")" >>"$BAD"; } ;;
	*) bad=$((bad + 1)); echo "$what: $IT_LAST_STATUS $(head -c 150 "$IT_LAST_BODY")" >>"$BAD" ;;
	esac
	return 0
}
nextsrc() { src=$((src + 1)); [ $src -gt 250 ] && src=100; SRC=$SEC_NET.$src; }

BIGHDR=$(head -c 16384 /dev/zero | tr '\0' a)
Q6K=$(head -c 6000 /dev/zero | tr '\0' q)
Q20K=$(head -c 20000 /dev/zero | tr '\0' q)
for p in $GET_ROUTES; do
	sep='?'; [[ $p == *\?* ]] && sep='&'
	nextsrc; req "$T" - GET "$p" - -H "X-Big: $BIGHDR"; judge "GET $p 16 KiB header" 1
	nextsrc; req "$T" - GET "$p" - -H "Cookie: portal_session=$BIGHDR"; judge "GET $p 16 KiB cookie" 1
	nextsrc; req "$T" - GET "$p$sep""x=$Q6K"; judge "GET $p 6 KiB query" 0
	nextsrc; req "$T" - GET "$p$sep""x=$Q20K"; judge "GET $p 20 KiB query" 1
	nextsrc; req "$T" - GET "$p$sep""x=%00%ff%fe'%22%5C"; judge "GET $p NUL/invalid UTF-8 in query" 0
	nextsrc; req "$T" - GET "$p" - -H "X-Forwarded-For: 1.2.3.4, $(printf 'x%.0s' $(seq 1 100))"; judge "GET $p odd XFF" 0
done

nest=$(python3 -c 'print("["*1000 + "]"*1000)')
nesto=$(python3 -c 'print("{\"a\":"*1000 + "1" + "}"*1000)')
big=$(python3 -c 'print("{\"x\":\"" + "a"*70000 + "\"}")')
while read -r m p b; do
	csrf=$C tok=$T
	case $p in /api/auth/logout | /api/auth/sessions) csrf=- ;; esac
	# pre-login routes and the webhook get no session (a successful sign-up or
	# login would rotate, i.e. end, the session it was sent with)
	case $p in /api/auth/signup | /api/auth/link | /api/auth/login* | /api/auth/password-reset* | /api/webhooks/*) csrf=- tok=- ;; esac
	# a route that reads no body may ignore a malformed one (strict 0)
	s=1
	case $p in */payment-link | */payment-methods/link | /api/auth/2fa/setup | /api/auth/logout | /api/auth/sessions) s=0 ;; esac
	huge1=$(sed -E 's/:([0-9]+)/:1e400/g; s/:"[^"]*"/:1e400/g' <<<"$b")
	huge2=$(sed -E 's/:([0-9]+)/:18446744073709551616/g; s/:"[^"]*"/:-18446744073709551617/g' <<<"$b")
	utf=$(sed -E 's/:"([^"]*)"/:"\1\xff\xfe\xc0\xaf"/g' <<<"$b")
	nul=$(sed -E 's/:"([^"]*)"/:"\1\\u0000x"/g' <<<"$b")
	for v in nest nesto huge1 huge2 utf nul big; do
		case $v in
		nest) body=$nest st=$s ;; nesto) body=$nesto st=$s ;;
		huge1) body=$huge1 st=$s ;; huge2) body=$huge2 st=$s ;; utf) body=$utf st=$s ;;
		nul) body=$nul st=0 ;;  # "\u0000" may be stripped as a control character
		big) body=$big st=1 ;;
		esac
		# a variant that leaves the body as it was (no number / string to replace) is
		# a valid request, not a malformed one: skipped
		[ "$body" = "$b" ] && continue
		nextsrc; req "$tok" "$csrf" "$m" "$p" "$body" -H "Idempotency-Key: k-in-$IT_WEB-$$-$requests"
		judge "$m $p $v" "$st"
		if [ "$v" = big ]; then
			[ "$IT_LAST_STATUS" = 413 ] || { bad=$((bad + 1)); echo "$m $p body > 64 KiB: $IT_LAST_STATUS (want 413)" >>"$BAD"; }
		fi
	done
	# raw NUL byte inside a JSON string
	printf '%s' "$b" | sed 's/:"/:"a\x00b/' >"$IT_ROOT/sec/nul.json"
	if grep -q ':"' <<<"$b"; then
		nextsrc; req "$tok" "$csrf" "$m" "$p" - -H 'Content-Type: application/json' --data-binary @"$IT_ROOT/sec/nul.json"
		judge "$m $p raw NUL" "$s"
	fi
	# wrong content types, truncated and empty bodies
	# "{}" under another content type: 415 UNSUPPORTED_MEDIA_TYPE before any
	# handler (ASVS V13.1.5), except the webhook, which checks the HMAC of
	# the raw body whatever its label (401 here: unsigned)
	nextsrc; req "$tok" "$csrf" "$m" "$p" - -H 'Content-Type: text/plain' --data-binary '{}'; judge "$m $p text/plain" 0
	case $p in
	/api/webhooks/*) ;;
	*) { [ "$IT_LAST_STATUS" = 415 ] && jq -e '.error.code == "UNSUPPORTED_MEDIA_TYPE"' "$IT_LAST_BODY" >/dev/null; } ||
		ct_accepted="$ct_accepted $p" ;;
	esac
	nextsrc; req "$tok" "$csrf" "$m" "$p" - -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "a=1&b=2"; judge "$m $p form" "$s"
	nextsrc; req "$tok" "$csrf" "$m" "$p" "${b:0:$((${#b} / 2))}"; judge "$m $p truncated JSON" "$s"
	nextsrc; req "$tok" "$csrf" "$m" "$p" '[]'; judge "$m $p JSON array" "$s"
	# chunked over 64 KiB: nginx refuses it (413); under Apache the app does (413,
	# mod_fcgid passes chunked bodies up to its FcgidMaxRequestLen of 1 MiB)
	nextsrc; req "$tok" "$csrf" "$m" "$p" "$big" -H 'Transfer-Encoding: chunked'
	judge "$m $p chunked > 64 KiB" 1
	[ "$IT_LAST_STATUS" = 413 ] || chunked_not_413="$chunked_not_413 $p:$IT_LAST_STATUS"
done < <(body_routes)

# raw malformed requests the clients would not send
raw_bad=0
for r in 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n' \
	'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789' \
	'GET /api/auth/me HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n' \
	'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n' \
	'GET /api/orders/%00 HTTP/1.1\r\nHost: x\r\n\r\n' \
	'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n' \
	'GET / HTTP/9.9\r\nHost: x\r\n\r\n'; do
	requests=$((requests + 1))
	st=$(it_raw "$IT_PORT" "$r" 2>/dev/null | head -n1 | awk '{print $2}')
	# (up to three retries when the connection gave nothing back — once in a
	# fresh-clone CI run nginx's 400 for %00 did not arrive twice in a row
	# within 5 s; the attempts are logged so a real silence shows as such)
	for try in 1 2 3; do
		[ -z "$st" ] || break
		echo "raw $(head -c 40 <<<"$r"): no answer, retry $try" >&2
		sleep 1
		st=$(it_raw "$IT_PORT" "$r" 2>/dev/null | head -n1 | awk '{print $2}')
	done
	# an unknown HTTP version: 505 is the web server's protocol answer
	case $st in 4??) ;; 505) [[ $r == *HTTP/9.9* ]] || { raw_bad=$((raw_bad + 1)); bad=$((bad + 1)); } ;; *) raw_bad=$((raw_bad + 1)); bad=$((bad + 1)); echo "raw $(head -c 40 <<<"$r"): ${st:-no answer}" >>"$BAD" ;; esac
done

echo "REPORT malformed input [$IT_WEB]: $requests requests, $bad bad answers (5xx / none / accepted malformed), $accepted tolerated 2xx on lenient cases"
[ -s "$BAD" ] && head -n 40 "$BAD"
it_check "every JSON body route refuses a text/plain body: 415 UNSUPPORTED_MEDIA_TYPE" \
	bash -c "[ -z '$ct_accepted' ] || { echo 'not refused:$ct_accepted'; exit 1; }"
it_check "chunked body over 64 KiB on every body route → 413" \
	bash -c "[ -z '$chunked_not_413' ] || { echo 'not 413:$chunked_not_413'; exit 1; }"
it_check "malformed input: every answer a 4xx (JSON error or web server), never 5xx or none" test "$bad" = 0
it_check "apps alive after the malformed inputs" alive
if [ "$IT_WEB" = nginx ]; then
	pids_after=$(cat "$IT_ROOT"/pids/*-fcgi-*.pid | sort | tr '\n' ' ')
	dead=0
	for p in $pids_after; do it_alive "$p" || dead=$((dead + 1)); done
	it_check "the FastCGI processes are the same and alive (no crash, no respawn)" bash -c "[ '$pids_before' = '$pids_after' ] && [ $dead = 0 ]"
fi
it_check "no crash in any log (segfault, abort, sanitizer)" bash -c \
	"! grep -lE 'Segmentation fault|SIGSEGV|SIGABRT|core dumped|ERROR: AddressSanitizer|exit\\(signal|terminated by signal' '$IT_ROOT'/logs/*.log '$IT_ROOT'/*.log 2>/dev/null"
rl_flush
it_summary
