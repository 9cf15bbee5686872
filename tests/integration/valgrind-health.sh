#!/bin/bash
# tests/integration/valgrind-health.sh [BUILDDIR] — portal-health.fcgi under
# valgrind --leak-check=full (spawn-fcgi -n, behind nginx) serves 1000 requests
# (health, unknown paths, bad methods, bodies), is stopped with SIGTERM, and must
# report no errors and "definitely lost: 0 bytes". Ends with "N passed, M failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

build=${1:-${IT_BUILDDIR:-/tmp/build-int}}
build=$(cd "$build" && pwd) || exit 2
requests=${VALGRIND_REQUESTS:-1000}

it_init
on_exit() {
	local rc=$?
	it_dump_logs
	it_stop_all
	echo "$IT_PASS passed, $((IT_FAIL + 1)) failed"
	exit $((rc == 0 ? 1 : rc))
}
trap on_exit EXIT
trap 'exit 130' INT TERM

it_install "$build"
it_start_postgres
it_start_redis
it_write_config
it_migrate || true
if [ ! -x "$IT_LIBEXECDIR/portal-health.fcgi" ]; then
	it_check "portal-health.fcgi built" false
else
	vlog="$IT_ROOT/run/valgrind-health.log"
	IT_APPS=health IT_FCGI_WRAPPER="$(command -v valgrind) --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=no --log-file=$vlog" \
		it_start_fcgi_apps
	it_start_nginx
	# valgrind is slow to start: wait for the first answer
	ok() { it_http GET /health; [ "$IT_LAST_STATUS" = 200 ] && it_json .integrations.database.status; }
	it_check "portal-health.fcgi answers under valgrind" it_wait_for 60 ok

	# 1000 requests over keep-alive connections, 4 kinds mixed.
	cfg="$IT_ROOT/curl.cfg"
	: >"$cfg"
	for i in $(seq 1 $((requests / 4))); do
		printf 'url = "%s/health"\noutput = /dev/null\n' "$IT_BASE_URL" >>"$cfg"
		printf 'url = "%s/nope/%d?x=%%41&y=1"\noutput = /dev/null\n' "$IT_BASE_URL" "$i" >>"$cfg"
		printf 'url = "%s/api/health/services/cache"\noutput = /dev/null\n' "$IT_BASE_URL" >>"$cfg"
		printf 'url = "%s/metrics"\noutput = /dev/null\n' "$IT_BASE_URL" >>"$cfg"
	done
	t0=$(date +%s)
	codes=$(curl -s -K "$cfg" -w '%{http_code}\n' --max-time 600 | sort | uniq -c | tr -s ' ' | tr '\n' ',')
	echo "  $requests requests in $(($(date +%s) - t0)) s; status counts: $codes"
	# PostgreSQL and Redis are up: any 5xx means the app failed or died (nginx
	# answers 503 UPSTREAM_UNAVAILABLE when the app is gone).
	it_check "no 5xx among $requests requests" bash -c "! grep -q ' 5[0-9][0-9]' <<<'$codes'"
	it_check "no 000 (connection failed)" bash -c "! grep -q ' 000' <<<'$codes'"
	# POST bodies: a small JSON and one just under the limit
	it_http POST /nope -H 'Content-Type: application/json' --data '{"a":[1,2,3]}'
	head -c 60000 /dev/zero | tr '\0' 'x' >"$IT_ROOT/body"
	it_http POST /nope -H 'Content-Type: application/json' --data-binary "@$IT_ROOT/body"

	pid=$(it_pid_of fcgi-health)
	it_log "SIGTERM to valgrind'd portal-health.fcgi (pid $pid)"
	kill -TERM "$pid"
	gone() { ! it_alive "$pid"; }
	it_check "exits on SIGTERM within 30 s" it_wait_for 30 gone
	wait "$pid" 2>/dev/null
	rc=$?
	it_check "valgrind exit status is not 99 (errors found)" test "$rc" -ne 99
	echo "  --- valgrind summary:"
	grep -E 'definitely lost|indirectly lost|possibly lost|ERROR SUMMARY|All heap blocks were freed' "$vlog" | sed 's/^==[0-9]*== */    /'
	it_check "definitely lost: 0 bytes" bash -c "grep -qE 'definitely lost: 0 bytes|All heap blocks were freed' '$vlog'"
	it_check "ERROR SUMMARY: 0 errors" grep -q 'ERROR SUMMARY: 0 errors' "$vlog"
	if [ "$IT_FAIL" -gt 0 ]; then
		echo "  --- valgrind log (first 120 lines):"
		head -n 120 "$vlog"
	fi
	it_stop_one fcgi-health
fi

trap - EXIT
if [ "$IT_FAIL" -gt 0 ]; then it_dump_logs; fi
it_stop_all || IT_FAIL=$((IT_FAIL + 1))
echo "$IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
