#!/bin/bash
# s_5headers.sh — security headers (ASVS V14.4.x) through the web server, the
# values the shipped site file sets (etc/nginx/portal.conf add_header /
# etc/apache/portal.conf Header always set): on app 200 / 401 / 403 / 404 / 413
# answers, the public catalog (cached), health, a web server's own 4xx, and the
# nginx rate limit page; each exactly once. Also: no server version, no X-Powered-By.
# sec: both
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/common.sh"

if [ "$IT_WEB" = nginx ]; then
	site="$IT_SRCDIR/etc/nginx/portal.conf"
	want() { sed -n "s/^ *add_header $1 \"\\(.*\\)\" always;/\\1/p" "$site" | head -n1; }
else
	site="$IT_SRCDIR/etc/apache/portal.conf"
	want() { sed -n "s/^ *Header always set $1 \"\\(.*\\)\"\$/\\1/p" "$site" | head -n1; }
fi
H=(X-Content-Type-Options X-Frame-Options Referrer-Policy Content-Security-Policy)
for h in "${H[@]}"; do
	it_check "$IT_WEB site file sets $h" test -n "$(want "$h")"
done
checked=0
headers_ok() { # label
	local h v w miss=""
	for h in "${H[@]}"; do
		v=$(it_header "$h")
		w=$(want "$h")
		[ "$v" = "$w" ] || miss="$miss $h='$v'(want '$w')"
		# once: the apps' own nosniff and the site's must not both arrive
		[ "$(grep -ci "^$h:" "$IT_LAST_HEADERS")" = 1 ] || miss="$miss $h(not exactly once)"
	done
	[ -z "$miss" ] || { echo "$1 ($IT_LAST_STATUS):$miss"; return 1; }
}
probe() { # label, then the req arguments
	local label=$1
	shift
	"$@"
	checked=$((checked + 1))
	it_check "headers on $label ($IT_LAST_STATUS)" headers_ok "$label"
}
probe "GET /health" req - - GET /health
probe "GET /api/auth/me, no session (401)" req - - GET /api/auth/me
probe "GET /api/auth/me with a session (200)" req "$TOK3" - GET /api/auth/me
probe "GET /api/orders/8015F0000000001QAA of another account (404)" req "$TOK3" - GET /api/orders/8015F0000000001QAA
probe "POST /api/support/cases without CSRF (403)" req "$TOK3" - POST /api/support/cases '{"subject":"x","description":"y"}'
probe "GET /api/billing/invoices (200, upstream)" req "$TOK3" - GET /api/billing/invoices
SRC=$SEC_NET.80 req - - GET /api/public/services
it_check "headers on GET /api/public/services ($IT_LAST_STATUS)" headers_ok "public catalog"
SRC=$SEC_NET.80 req - - GET /api/public/services
it_check "headers on GET /api/public/services again (cached: ${IT_LAST_STATUS})" headers_ok "public catalog, cached"
probe "unknown path /nope (404)" req - - GET /nope
probe "POST /api/auth/login with a body over 64 KiB (413)" req - - POST /api/auth/login "$(head -c 70000 /dev/zero | tr '\0' a)"
# no version banners
req - - GET /health
it_check "no X-Powered-By" bash -c "! grep -qi '^x-powered-by:' '$IT_LAST_HEADERS'"
it_check "Server header without a version" bash -c "! grep -iE '^server:.*[0-9]+\\.[0-9]+' '$IT_LAST_HEADERS'"
req "$TOK3" - GET /api/auth/me
it_check "authenticated answers: Cache-Control no-store" bash -c "grep -qi '^cache-control:.*no-store' '$IT_LAST_HEADERS'"
it_summary
