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

# replay / cache flush: arguments are checked before any server is contacted
CH=/event/OrderProvisionRequested__e
expect 64 "replay show: too many arguments" -- "$ctl" -c "$tmp/good.conf" replay show a b
expect 64 "replay set: missing cursor" -- "$ctl" -c "$tmp/good.conf" replay set "$CH"
expect 64 "replay set: odd hex" -- "$ctl" -c "$tmp/good.conf" replay set "$CH" abc
expect 64 "replay set: not hex" -- "$ctl" -c "$tmp/good.conf" replay set "$CH" zz
expect 64 "replay set: hex too long" -- "$ctl" -c "$tmp/good.conf" replay set "$CH" "$(printf '%0130d' 0)"
expect 64 "replay set: unknown channel" -- "$ctl" -c "$tmp/good.conf" replay set /event/Nope__e LATEST
expect 78 "replay set: preset other than SF_EVENTS_REPLAY" -- "$ctl" -c "$tmp/good.conf" replay set "$CH" ALL
grep -q "SF_EVENTS_REPLAY = ALL" "$tmp/err" || { echo "FAIL: replay set: config key not named"; fails=$((fails + 1)); }
expect 69 "replay show: redis unreachable" -- "$ctl" -c "$tmp/good.conf" replay show
expect 69 "replay set: redis unreachable" -- "$ctl" -c "$tmp/good.conf" replay set "$CH" 00ff
expect 64 "cache flush: no scope" -- "$ctl" -c "$tmp/good.conf" cache flush
expect 64 "cache flush: unknown scope" -- "$ctl" -c "$tmp/good.conf" cache flush sessions
expect 64 "cache flush: catalog takes no id" -- "$ctl" -c "$tmp/good.conf" cache flush catalog x
expect 64 "cache flush: account needs an id" -- "$ctl" -c "$tmp/good.conf" cache flush account
expect 64 "cache flush: bad account id" -- "$ctl" -c "$tmp/good.conf" cache flush account '001*'
expect 64 "cache flush: order id as account" -- "$ctl" -c "$tmp/good.conf" cache flush account 8015F0000000005QAA
expect 64 "cache flush: bad client id" -- "$ctl" -c "$tmp/good.conf" cache flush client 'a:b'
expect 64 "cache flush: bad msisdn" -- "$ctl" -c "$tmp/good.conf" cache flush line 0901234
expect 69 "cache flush: redis unreachable" -- "$ctl" -c "$tmp/good.conf" cache flush catalog

[ "$fails" -eq 0 ] || exit 1
exit 0
