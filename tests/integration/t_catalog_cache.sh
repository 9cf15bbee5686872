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
	# 10 r/s with a burst of 40: 80 back-to-back requests must meet 429s.
	n429=0
	for i in $(seq 1 80); do
		c=$(curl -s -o /dev/null -w '%{http_code}' "$IT_BASE_URL$path")
		[ "$c" = 429 ] && n429=$((n429 + 1))
	done
	it_check "nginx rate limit answers 429 to a flood ($n429 of 80)" test "$n429" -gt 0
	sleep 5 # let the bucket drain for the tests after this one
	;;
apache)
	it_http GET $path
	xc=$(it_header X-Cache)
	it_check "served from mod_cache (X-Cache '$xc')" bash -c "[[ '$xc' == HIT* ]]"
	;;
esac

it_summary
