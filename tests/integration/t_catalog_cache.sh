#!/bin/bash
# t_catalog_cache.sh — the public catalog through the shipped web-server config:
# cached by the web server as the app's Cache-Control allows, the same for
# every visitor (cookies neither reach the app nor get stored), and rate
# limited by nginx before the app (resolutions §19).
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

if [ ! -x "$IT_LIBEXECDIR/portal-catalog.fcgi" ]; then
	echo "  (portal-catalog.fcgi not built yet)"
	it_summary
	exit
fi
path=/api/public/services
it_http GET $path
it_check "GET $path is 200" it_status_is 200
cc=$(it_header Cache-Control)
it_check "Cache-Control public with s-maxage ('$cc')" bash -c "[[ '$cc' == *public* && '$cc' == *s-maxage=* ]]"
it_check "no Set-Cookie on the public catalog" bash -c "! grep -qi '^set-cookie:' '$IT_LAST_HEADERS'"
first=$(md5sum <"$IT_LAST_BODY")

it_http GET $path -H 'Cookie: portal_session=someone-elses-session'
it_check "with a cookie: 200" it_status_is 200
it_check "with a cookie: the same body" test "$(md5sum <"$IT_LAST_BODY")" = "$first"
it_check "with a cookie: no Set-Cookie" bash -c "! grep -qi '^set-cookie:' '$IT_LAST_HEADERS'"

case $IT_WEB in
nginx)
	it_http GET $path
	it_check "served from nginx's cache (X-Cache-Status HIT)" it_header_eq X-Cache-Status HIT
	# 10 r/s with a burst of 40: 80 back-to-back requests must meet 429s. From a
	# source address of its own, so no other test's client IP is rate limited.
	# One curl, 80 URLs over one keep-alive connection: far faster than 10 r/s.
	urls=()
	for i in $(seq 1 80); do urls+=("$IT_BASE_URL$path"); done
	n429=$(curl -s --interface 127.0.0.77 -o /dev/null -w '%{http_code}\n' "${urls[@]}" | grep -c '^429$')
	it_check "nginx rate limit answers 429 to a flood ($n429 of 80)" test "$n429" -gt 0
	it_http GET $path --interface 127.0.0.77
	it_check "nginx's 429 is the API's JSON error" it_json_eq .error.code RATE_LIMITED
	it_check "nginx's 429 has Retry-After" it_header_present Retry-After
	;;
apache)
	it_http GET $path
	xc=$(it_header X-Cache)
	it_check "served from mod_cache (X-Cache '$xc')" bash -c "[[ '$xc' == HIT* ]]"
	;;
esac

it_summary
