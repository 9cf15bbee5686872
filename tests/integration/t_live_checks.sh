#!/bin/bash
# t_live_checks.sh — the C test programs `make check` registers but skips
# because they need live services (PORTAL_TEST_* unset there), run here from
# the build dir against this run's servers, one it_check per program. A
# program that says it skipped (exit 77, "SKIP", cmocka's [  SKIPPED ]) fails
# its check: in this suite every service it asks for is there.
#
# None of them may disturb the state the other t_*.sh rely on:
# - Redis: this run's server, but its own DB index ($LIVE_REDIS_DB), flushed
#   before and after (test_app_catalog drops catalog:* keys, the Salesforce
#   and Freebit programs delete the shared auth-token keys).
# - PostgreSQL: this run's server, but a database of its own (portal_live,
#   owned by the portal role so test_db may CREATE SCHEMA), dropped after.
# - Salesforce, WHMCS, Freebit: throwaway simulators on their own ports — the
#   programs POST /__sim/reset and inject faults, which would wipe what earlier
#   tests created in the shared ones; the Salesforce one is started with
#   --batch-size 2 (sf_client_check's paging test) and the default token TTL
#   the client options of sf_sim.h assume (7200 s); Freebit with its default
#   change gap and key TTL (test_freebit_sim checks 241 and TTL > 3000).
# - SFTP: this run's sshd (the programs only read from it).
# Program output goes to $IT_ROOT/logs/live-<name>.log, so a sanitizer report
# there is also caught by the runner's it_sanitizer_reports.
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

B=$IT_BUILDDIR
LIVE_REDIS_DB=${IT_LIVE_REDIS_DB:-13}
LIVE_REDIS_URL="redis://127.0.0.1:$IT_REDIS_PORT/$LIVE_REDIS_DB"
LIVE_DB=portal_live
LIVE_DATABASE_URL="postgresql://portal:portal-test@127.0.0.1:$IT_PG_PORT/$LIVE_DB?connect_timeout=3"
SIMDIR="$IT_ROOT/live-sim"
SFTP_RUNDIR="$IT_ROOT/sim/sftp"
mkdir -p "$SIMDIR"

as_pg() { # psql as the postgres superuser over this run's socket
	(cd / && runuser -u postgres -- "$IT_PG_BIN/psql" -q -X -h "$IT_ROOT/pg/sock" -p "$IT_PG_PORT" \
		-U postgres -d postgres -v ON_ERROR_STOP=1 "$@")
}
live_redis() { redis-cli -u "$LIVE_REDIS_URL" "$@"; }

# live_sim NAME PORT SCRIPT [ARGS…]: a throwaway simulator on PORT, registered
# with lib.sh (so it_stop_all stops it whatever happens to this script).
live_sim() {
	local name=$1 port=$2 script=$3
	shift 3
	"$IT_PYTHON" "$IT_SRCDIR/tests/sim/$script" --port "$port" --pidfile "$SIMDIR/$name.pid" "$@" \
		</dev/null >>"$IT_ROOT/logs/live-sim-$name.log" 2>&1 &
	it_register "live-sim-$name" $!
}
sim_healthy() { # URL
	it_wait_for 30 curl -fsS "$1/__sim/health" || { echo "no answer from $1/__sim/health"; return 1; }
}

cleanup() {
	local n
	for n in salesforce whmcs freebit; do it_stop_one "live-sim-$n"; done
	live_redis FLUSHDB >/dev/null 2>&1 || true
	as_pg -c "DROP DATABASE IF EXISTS $LIVE_DB WITH (FORCE)" >>"$IT_ROOT/logs/psql.log" 2>&1 || true
}
trap cleanup EXIT

# Reached only by the programs below: the suite's own REDIS_URL/DATABASE_URL/
# PORTAL_CONFIG are removed from their environment.
LIVE_ENV=()

# live_run NAME [ARGS…]: run $B/<path of NAME> from the build dir (its
# FIXTURES_DIR / MIGRATIONS_DIR may be relative to it) with LIVE_ENV.
live_run() {
	local name=$1 prog rc log
	shift
	prog="$B/tests/unit/$name"
	[ -x "$prog" ] || prog="$B/tests/integration/$name"
	[ -x "$prog" ] || { echo "$name not built in $B (make check TESTS= builds it)"; return 1; }
	log="$IT_ROOT/logs/live-$name.log"
	(cd "$B" && env -u PORTAL_CONFIG -u DATABASE_URL -u REDIS_URL "${LIVE_ENV[@]}" \
		timeout -k 10 "${IT_LIVE_TIMEOUT:-300}" "$prog" "$@") >"$log" 2>&1
	rc=$?
	# the last lines say how it went (cmocka's totals, "N failure(s)")
	if [ "$rc" -eq 77 ] || grep -Eiq '(^|[^_a-z])skip(ped)?([^_a-z]|$)' "$log"; then
		echo "$name skipped (exit $rc) although every PORTAL_TEST_* variable is set:"
		grep -Ei 'skip' "$log" | head -n 10
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		echo "$name: exit $rc"
		grep -E 'FAIL|ERROR|error|Sanitizer|runtime error' "$log" | head -n 15
		tail -n 5 "$log"
		return 1
	fi
	tail -n 1 "$log"
}

LIVE_PROGRAMS="tests/unit/test_db tests/unit/test_cache tests/unit/test_session tests/unit/test_ratelimit
	tests/unit/test_queue tests/unit/test_jobs tests/unit/test_web_guard tests/unit/test_app_catalog
	tests/integration/sf_client_check tests/integration/sf_token_race tests/integration/test_whmcs_sim
	tests/integration/test_freebit_sim tests/integration/test_sftp_sim"
# check_PROGRAMS: built by `make check`, which a run of only the build and
# integration stages of scripts/test-all has not done (a no-op when it has)
# shellcheck disable=SC2086
it_check "the programs are built" make -s -C "$B" $LIVE_PROGRAMS

# --- services --------------------------------------------------------------------
it_check "own Redis DB index $LIVE_REDIS_DB (flushed)" live_redis FLUSHDB
it_check "own database $LIVE_DB owned by portal" as_pg \
	-c "DROP DATABASE IF EXISTS $LIVE_DB WITH (FORCE)" -c "CREATE DATABASE $LIVE_DB OWNER portal"
LIVE_SALESFORCE_URL="http://127.0.0.1:$(it_free_port)"
LIVE_WHMCS_URL="http://127.0.0.1:$(it_free_port)"
LIVE_FREEBIT_URL="http://127.0.0.1:$(it_free_port)"
live_sim salesforce "${LIVE_SALESFORCE_URL##*:}" salesforce_sim.py --pubsub-port "$(it_free_port)" \
	--audience "$LIVE_SALESFORCE_URL" --batch-size 2 --token-ttl 7200
# its webhook target is a closed port: nothing reaches this run's portal
live_sim whmcs "${LIVE_WHMCS_URL##*:}" whmcs_sim.py --portal-url http://127.0.0.1:1
live_sim freebit "${LIVE_FREEBIT_URL##*:}" freebit_sim.py
it_check "throwaway Salesforce simulator (--batch-size 2)" sim_healthy "$LIVE_SALESFORCE_URL"
it_check "throwaway WHMCS simulator" sim_healthy "$LIVE_WHMCS_URL"
it_check "throwaway Freebit simulator" sim_healthy "$LIVE_FREEBIT_URL"
it_check "this run's sshd has its client key and host key fingerprint" \
	test -r "$SFTP_RUNDIR/sftp_client_key" -a -r "$SFTP_RUNDIR/sftp_host_key_sha256"

LIVE_ENV=(
	PORTAL_TEST_DATABASE_URL="$LIVE_DATABASE_URL"
	PORTAL_TEST_REDIS_URL="$LIVE_REDIS_URL"
	PORTAL_TEST_SF_URL="$LIVE_SALESFORCE_URL"
	PORTAL_TEST_WHMCS_URL="$LIVE_WHMCS_URL"
	PORTAL_TEST_FREEBIT_URL="$LIVE_FREEBIT_URL"
	PORTAL_TEST_SFTP_RUNDIR="$SFTP_RUNDIR"
	PORTAL_TEST_SFTP_PORT="$SIM_SFTP_PORT"
)

# --- the programs (each one of make check's skipped halves) -------------------------
# PostgreSQL
it_check "test_db (migrations, params, conflicts, reconnect in schema test_db_<pid>)" live_run test_db
# Redis
for t in test_cache test_session test_ratelimit test_queue test_jobs test_web_guard test_app_catalog; do
	it_check "$t against Redis DB $LIVE_REDIS_DB" live_run "$t"
done
# simulators (+ Redis for the shared auth keys)
it_check "sf_client_check (paging, writes, token expiry, faults, Redis down, 20-process race)" \
	live_run sf_client_check
it_check "sf_token_race (20 processes → one token request)" live_run sf_token_race 20
it_check "test_whmcs_sim" live_run test_whmcs_sim
it_check "test_freebit_sim (shared key in Redis)" live_run test_freebit_sim
# SFTP
it_check "test_sftp_sim against this run's sshd" live_run test_sftp_sim

it_summary
