#!/bin/bash
# t_cgi.sh — the same binary answers one request as plain CGI (no web server).
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

bin="$IT_LIBEXECDIR/portal-health.fcgi"
it_check "portal-health.fcgi installed" test -x "$bin"

cgi_out="$IT_ROOT/cgi.out"
cgi_body="$IT_ROOT/cgi.body"
# cgi PATH_INFO [METHOD]: one request, output split into headers and body.
cgi() {
	env -i PATH=/usr/bin:/bin PORTAL_CONFIG="$PORTAL_CONFIG" GATEWAY_INTERFACE=CGI/1.1 \
		REQUEST_METHOD="${2:-GET}" PATH_INFO="$1" SERVER_PROTOCOL=HTTP/1.1 \
		timeout 20 "$bin" </dev/null >"$cgi_out" 2>>"$IT_ROOT/logs/cgi.log"
	local rc=$?
	sed '1,/^\r\?$/d' "$cgi_out" >"$cgi_body"
	return $rc
}
cgi_status() { # the CGI Status: header, 200 when absent
	local s
	s=$(sed -n '/^\r\?$/q; s/^[Ss]tatus: *\([0-9][0-9][0-9]\).*/\1/p' "$cgi_out")
	echo "${s:-200}"
}
body_is() { # jq filter that must be true
	[ -s "$cgi_body" ] || { echo "empty body"; return 1; }
	jq -e "$1" "$cgi_body" >/dev/null || { echo "$1 is not true in: $(head -c 300 "$cgi_body")"; return 1; }
}

it_check "CGI GET /health exits 0" cgi /health
it_check "CGI /health Status 200" test "$(cgi_status)" = 200
it_check "CGI /health has Content-Type JSON" grep -qi '^content-type: application/json' "$cgi_out"
it_check "CGI /health has X-Request-Id" grep -qi '^x-request-id: ' "$cgi_out"
it_check "CGI /health database ok" body_is '.integrations.database.status == "ok"'
it_check "CGI /health redis ok" body_is '.integrations.redis.status == "ok"'

cgi /nope
it_check "CGI /nope Status 404" test "$(cgi_status)" = 404
it_check "CGI /nope error.code NOT_FOUND" body_is '.error.code == "NOT_FOUND"'

# The exact command of the acceptance text.
it_check "REQUEST_METHOD=GET PATH_INFO=/health ./portal-health.fcgi" \
	bash -c "cd '$IT_LIBEXECDIR' && REQUEST_METHOD=GET PATH_INFO=/health ./portal-health.fcgi </dev/null | grep -q '\"database\"'"

it_summary
