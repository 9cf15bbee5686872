#!/bin/sh
# test_portalctl — the operator contract of portalctl: exit codes (0, 64,
# 69, 78), secrets masked by `config check`, the bad key named. Needs no
# server: "unavailable" is a closed loopback port.
set -u
ctl=${PORTALCTL:-./daemons/portalctl}
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
unset PORTAL_CONFIG DATABASE_URL REDIS_URL
fails=0

expect() { # expect RC DESCRIPTION -- COMMAND...
	want=$1; what=$2; shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $what: exit $got, want $want"; cat "$tmp/out" "$tmp/err"
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}
conf() { # conf NAME LINES...
	f="$tmp/$1"; shift
	printf '%s\n' "$@" >"$f"; chmod 600 "$f"
}

expect 0 "--help" -- "$ctl" --help
grep -q "config check" "$tmp/out" || { echo "FAIL: help lists no commands"; fails=$((fails + 1)); }
expect 64 "no command" -- "$ctl"
expect 64 "unknown command" -- "$ctl" frobnicate
expect 64 "bad option" -- "$ctl" -x version
expect 0 "version" -- "$ctl" version
expect 64 "version takes no argument" -- "$ctl" version now

conf good.conf "DATABASE_URL = postgresql://portal:hunter2@127.0.0.1:1/portal" \
	"REDIS_URL = redis://:hunter2@127.0.0.1:1/2" "WHMCS_API_SECRET = hunter2"
expect 0 "config check ok" -- "$ctl" -c "$tmp/good.conf" config check
if grep -q hunter2 "$tmp/out" "$tmp/err"; then
	echo "FAIL: a secret was printed"; fails=$((fails + 1))
fi
grep -q '^WHMCS_API_SECRET=\*\*\*\*\*\*\*\*$' "$tmp/out" ||
	{ echo "FAIL: secret not masked"; fails=$((fails + 1)); }

conf badredis.conf "DATABASE_URL = postgresql://x@127.0.0.1/x" "REDIS_URL = rediss://:hunter2@h:1"
expect 78 "bad REDIS_URL" -- "$ctl" -c "$tmp/badredis.conf" config check
grep -q REDIS_URL "$tmp/err" || { echo "FAIL: bad key not named"; fails=$((fails + 1)); }
grep -q hunter2 "$tmp/err" && { echo "FAIL: secret in error"; fails=$((fails + 1)); }

conf nodb.conf "REDIS_URL = redis://127.0.0.1:1"
expect 78 "missing DATABASE_URL" -- "$ctl" -c "$tmp/nodb.conf" config check
grep -q DATABASE_URL "$tmp/err" || { echo "FAIL: missing key not named"; fails=$((fails + 1)); }
expect 78 "missing config file" -- "$ctl" -c "$tmp/none.conf" config check

expect 64 "migrate bad option" -- "$ctl" -c "$tmp/good.conf" migrate --bogus
expect 78 "migrate missing dir" -- "$ctl" -c "$tmp/good.conf" migrate --dir "$tmp/nope"
mkdir "$tmp/mig" && echo "SELECT 1;" >"$tmp/mig/0001_x.sql"
expect 69 "migrate unreachable" -- "$ctl" -c "$tmp/good.conf" migrate --dir "$tmp/mig"

[ "$fails" -eq 0 ] || exit 1
exit 0
