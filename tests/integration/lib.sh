# shellcheck shell=bash
# tests/integration/lib.sh — start and stop the real programs the integration
# tests run against, on 127.0.0.1 high ports in one temp dir, and the assertion
# helpers the t_*.sh scripts use.
#
# Every process started here writes "<pid>" to $IT_ROOT/pids/<NN>-<name>.pid;
# it_stop_all stops them in reverse order by pid (TERM, then KILL after a grace
# period) and checks they are gone. The runner registers it with
# `trap it_stop_all EXIT INT TERM`, so a failing test never leaves a server behind.
# Process logs are $IT_ROOT/logs/*.log; it_dump_logs prints them all.
#
# Nothing here listens on anything but 127.0.0.1, and nothing touches the
# distribution's own service instances or their data.

IT_SRCDIR=${IT_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IT_PG_BIN=${IT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
IT_WWW_USER=${IT_WWW_USER:-www-data}
IT_WWW_GROUP=${IT_WWW_GROUP:-www-data}
IT_PYTHON=${IT_PYTHON:-/usr/bin/python3}
# The apps nginx talks to (one spawn-fcgi'd process each); Apache's mod_fcgid
# runs the same programs itself.
IT_APPS=${IT_APPS:-"auth catalog billing orders support sim webhooks health"}

IT_PASS=${IT_PASS:-0}
IT_FAIL=${IT_FAIL:-0}

it_log() { printf '[it %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
it_die() { it_log "FATAL: $*"; exit 2; }

# --- temp dir, pid registry ------------------------------------------------------

# it_init: create $IT_ROOT (world-traversable: postgres and www-data need to
# reach their parts) unless the caller exported one.
it_init() {
	if [ -z "${IT_ROOT:-}" ]; then
		IT_ROOT=$(mktemp -d /tmp/portal-it.XXXXXX)
	fi
	chmod 755 "$IT_ROOT"
	mkdir -p "$IT_ROOT/pids" "$IT_ROOT/logs" "$IT_ROOT/run"
	chmod 755 "$IT_ROOT/logs"
	chown "$IT_WWW_USER:$IT_WWW_GROUP" "$IT_ROOT/run"
	export IT_ROOT IT_SRCDIR
	IT_ENV="$IT_ROOT/env.sh"
	export IT_ENV
	: >>"$IT_ENV"
}

# it_export NAME VALUE: export and remember for the t_*.sh processes.
it_export() {
	export "$1=$2"
	printf 'export %s=%q\n' "$1" "$2" >>"$IT_ENV"
}

# Order numbers keep start order; stop runs them backwards.
it_register() { # name pid
	local n
	n=$(find "$IT_ROOT/pids" -name '*.pid' | wc -l)
	local existing
	existing=$(ls "$IT_ROOT/pids"/*-"$1".pid 2>/dev/null | head -n1 || true)
	if [ -n "$existing" ]; then
		echo "$2" >"$existing"
	else
		printf '%s\n' "$2" >"$IT_ROOT/pids/$(printf '%03d' $((n + 10)))-$1.pid"
	fi
}

it_pid_of() { cat "$IT_ROOT"/pids/*-"$1".pid 2>/dev/null | head -n1; }

# Alive = exists and is not a zombie (an exited child of ours stays a zombie
# until waited for, and kill -0 still succeeds on it).
it_alive() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ "$st" != Z ]
}

# it_stop_pid NAME PID [SIGNAL]: signal, wait up to 15 s, then KILL; 0 if gone.
it_stop_pid() {
	local name=$1 pid=$2 sig=${3:-TERM} i
	it_alive "$pid" || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	for i in $(seq 1 150); do
		it_alive "$pid" || return 0
		# reap if it is our child (it can be a zombie otherwise)
		wait "$pid" 2>/dev/null || true
		sleep 0.1
	done
	it_log "$name (pid $pid) ignored SIG$sig for 15 s: KILL"
	kill -KILL "$pid" 2>/dev/null || true
	sleep 0.2
	! it_alive "$pid"
}

# Per-process stop signal: PostgreSQL's fast shutdown is SIGINT, Apache's
# graceful-less stop is SIGTERM, everything else SIGTERM.
it_stop_signal() {
	case $1 in
	postgres) echo INT ;;
	*) echo TERM ;;
	esac
}

it_stop_one() { # name
	local f pid
	f=$(ls "$IT_ROOT"/pids/*-"$1".pid 2>/dev/null | head -n1 || true)
	[ -n "$f" ] || return 0
	pid=$(head -n1 "$f")
	it_stop_pid "$1" "$pid" "$(it_stop_signal "$1")"
	rm -f "$f"
}

# it_stop_all: every registered process, newest first; verifies each is gone.
# Returns non-zero only when a process could not be stopped.
it_stop_all() {
	local rc=0 f name pid left=""
	[ -n "${IT_ROOT:-}" ] && [ -d "$IT_ROOT/pids" ] || return 0
	trap - EXIT INT TERM
	if [ -n "${IT_SIMS_STARTED:-}" ] && [ -x "$IT_SRCDIR/tests/sim/simctl" ]; then
		"$IT_PYTHON" "$IT_SRCDIR/tests/sim/simctl" stop --run-dir "$IT_ROOT/sim" >/dev/null 2>&1 || true
	fi
	for f in $(ls "$IT_ROOT/pids"/*.pid 2>/dev/null | sort -r); do
		name=$(basename "$f" .pid)
		name=${name#*-}
		pid=$(head -n1 "$f")
		it_stop_pid "$name" "$pid" "$(it_stop_signal "$name")" || true
		if it_alive "$pid"; then left="$left $name:$pid"; else rm -f "$f"; fi
	done
	if [ -n "$left" ]; then
		it_log "still running after stop:$left"
		rc=1
	fi
	if [ "${IT_KEEP:-0}" != 1 ] && [ -z "$left" ]; then
		rm -rf "$IT_ROOT"
	else
		it_log "kept $IT_ROOT"
	fi
	return "$rc"
}

# it_dump_logs: every process log of this run (called on failure).
it_dump_logs() {
	local f
	for f in "$IT_ROOT"/logs/*.log "$IT_ROOT"/*.log "$IT_ROOT"/pg/*.log "$IT_ROOT"/sim/*.log "$IT_ROOT"/sim/sftp/*.log; do
		[ -f "$f" ] || continue
		printf '\n===== %s (last 80 lines) =====\n' "${f#"$IT_ROOT"/}"
		tail -n 80 "$f"
	done
}

# it_failed_checks: every failed check in this run's scenario logs
# ($IT_ROOT/logs/test-*.out) with the lines it printed under it, at most 60
# lines. The runners print it right above their final "N passed, M failed":
# a CI view that keeps only part of a long output then still says which check
# failed and why, not only which scenario (the log dump comes before it).
it_failed_checks() {
	awk 'FNR == 1 { n = 0; fn = FILENAME; sub(/.*\/test-/, "", fn); sub(/\.out$/, "", fn) }
	     /^  FAIL  / { print fn ":" substr($0, 2); n = 10; next }
	     n > 0 && /^        / { print; n--; next }
	     { n = 0 }' "$IT_ROOT"/logs/test-*.out 2>/dev/null | head -n 60
}

# --- ports -------------------------------------------------------------------------

# it_free_port: a TCP port on 127.0.0.1 nobody listens on (and we did not hand
# out before in this run).
# Picked outside the kernel's ephemeral range (ip_local_port_range), where an
# outgoing connection of any process may hold the port by the time a server
# binds it.
it_free_port() {
	local p i lo=32768 hi=60999 base span
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	if [ "$lo" -gt 12000 ]; then base=10000 span=$((lo - 10000)); else base=$((hi + 1)) span=$((65535 - hi)); fi
	for i in $(seq 1 200); do
		p=$((base + RANDOM % span))
		grep -qx "$p" "$IT_ROOT/ports" 2>/dev/null && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p" >>"$IT_ROOT/ports"
			echo "$p"
			return 0
		fi
	done
	it_die "no free port found"
}

# it_wait_port PORT [SECONDS]
it_wait_port() {
	local i n=$((${2:-20} * 10))
	for i in $(seq 1 "$n"); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

it_wait_file() { # path [seconds]
	local i n=$((${2:-20} * 10))
	for i in $(seq 1 "$n"); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- PostgreSQL ------------------------------------------------------------------

# it_start_postgres: initdb + start on a free port, database "portal" owned by
# role "portal"; exports IT_PG_PORT and DATABASE_URL (also printed on stderr).
it_start_postgres() {
	[ -x "$IT_PG_BIN/initdb" ] || it_die "PostgreSQL server binaries not found (postgresql package)"
	local d="$IT_ROOT/pg"
	mkdir -p "$d/data" "$d/sock"
	chown -R postgres:postgres "$d"
	chmod 700 "$d/data"
	IT_PG_PORT=$(it_free_port)
	(cd / && runuser -u postgres -- "$IT_PG_BIN/initdb" -D "$d/data" -U postgres \
		--auth-local=trust --auth-host=scram-sha-256 --no-sync -E UTF8 --locale=C.UTF-8 \
		>"$IT_ROOT/logs/initdb.log" 2>&1) || { cat "$IT_ROOT/logs/initdb.log"; it_die "initdb failed"; }
	cat >>"$d/data/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		port = $IT_PG_PORT
		unix_socket_directories = '$d/sock'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_connections = 200
		logging_collector = off
	EOF
	it_export IT_PG_PORT "$IT_PG_PORT"
	_it_pg_ctl_start
	(cd / && runuser -u postgres -- "$IT_PG_BIN/psql" -q -h "$d/sock" -p "$IT_PG_PORT" -U postgres -d postgres \
		-v ON_ERROR_STOP=1 -c "CREATE ROLE portal LOGIN PASSWORD 'portal-test'" \
		-c "CREATE DATABASE portal OWNER portal" >>"$IT_ROOT/logs/psql.log" 2>&1) ||
		it_die "creating role/database failed"
	it_export DATABASE_URL "postgresql://portal:portal-test@127.0.0.1:$IT_PG_PORT/portal?connect_timeout=3"
	it_log "PostgreSQL: $DATABASE_URL"
}

_it_pg_ctl_start() {
	local d="$IT_ROOT/pg"
	# The server log lives in the postgres-owned dir (pg_ctl opens it as postgres).
	(cd / && runuser -u postgres -- "$IT_PG_BIN/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w -t 60 start \
		>/dev/null) || { tail -n 30 "$d/postgres.log"; it_die "PostgreSQL did not start"; }
	it_register postgres "$(head -n1 "$d/data/postmaster.pid")"
}

# For the recovery tests: stop (fast shutdown, connections cut) and start again
# on the same port with the same data.
it_stop_postgres() { it_stop_one postgres; }
it_start_postgres_again() { _it_pg_ctl_start; }

# --- Redis -------------------------------------------------------------------------

# IT_REDIS_UNIX=1: the apps reach Redis over a unix socket as well (REDIS_URL
# unix://…; TCP stays for redis-cli -p), the one-host setup of docs/scaling.md.
it_redis_unix_args() {
	[ "${IT_REDIS_UNIX:-0}" = 1 ] &&
		echo "--unixsocket $IT_ROOT/redis/redis.sock --unixsocketperm 777"
}
it_start_redis() {
	command -v redis-server >/dev/null || it_die "redis-server not installed"
	mkdir -p "$IT_ROOT/redis"
	chmod 755 "$IT_ROOT/redis"
	IT_REDIS_PORT=$(it_free_port)
	# shellcheck disable=SC2046
	redis-server --bind 127.0.0.1 --port "$IT_REDIS_PORT" --dir "$IT_ROOT/redis" \
		--save '' --appendonly no --daemonize no --protected-mode yes $(it_redis_unix_args) \
		--logfile "$IT_ROOT/logs/redis.log" </dev/null >/dev/null 2>&1 &
	it_register redis $!
	it_wait_port "$IT_REDIS_PORT" 20 || it_die "Redis did not start"
	it_export IT_REDIS_PORT "$IT_REDIS_PORT"
	if [ "${IT_REDIS_UNIX:-0}" = 1 ]; then
		it_wait_file "$IT_ROOT/redis/redis.sock" 10 || it_die "Redis made no unix socket"
		it_export REDIS_URL "unix://$IT_ROOT/redis/redis.sock?db=0"
	else
		it_export REDIS_URL "redis://127.0.0.1:$IT_REDIS_PORT/0"
	fi
}

it_stop_redis() { it_stop_one redis; }
it_start_redis_again() {
	# shellcheck disable=SC2046
	redis-server --bind 127.0.0.1 --port "$IT_REDIS_PORT" --dir "$IT_ROOT/redis" \
		--save '' --appendonly no --daemonize no $(it_redis_unix_args) \
		--logfile "$IT_ROOT/logs/redis.log" </dev/null >/dev/null 2>&1 &
	it_register redis $!
	it_wait_port "$IT_REDIS_PORT" 20
}

# --- simulators ------------------------------------------------------------------

# it_start_sims: tests/sim/simctl on free ports; exports SIM_*_PORT and the
# portal config URLs. Without simctl (not written yet) it says so and goes on.
it_start_sims() {
	local simctl="$IT_SRCDIR/tests/sim/simctl" f
	if [ ! -f "$simctl" ]; then
		it_log "tests/sim/simctl not there yet: simulators skipped"
		return 0
	fi
	mkdir -p "$IT_ROOT/sim"
	# Ports given by the caller (the demo uses the documented defaults) are kept.
	it_export SIM_SF_PORT "${SIM_SF_PORT:-$(it_free_port)}"
	it_export SIM_PUBSUB_PORT "${SIM_PUBSUB_PORT:-$(it_free_port)}"
	it_export SIM_WHMCS_PORT "${SIM_WHMCS_PORT:-$(it_free_port)}"
	it_export SIM_FREEBIT_PORT "${SIM_FREEBIT_PORT:-$(it_free_port)}"
	it_export SIM_SFTP_PORT "${SIM_SFTP_PORT:-$(it_free_port)}"
	IT_SIMS_STARTED=1
	if ! "$IT_PYTHON" "$simctl" start --run-dir "$IT_ROOT/sim" >"$IT_ROOT/logs/simctl.log" 2>&1; then
		cat "$IT_ROOT/logs/simctl.log" >&2
		it_log "simctl start failed"
		return 1
	fi
	for f in "$IT_ROOT"/sim/*.pid "$IT_ROOT"/sim/sftp/sshd.pid; do
		[ -f "$f" ] && it_register "sim-$(basename "$f" .pid)" "$(head -n1 "$f")"
	done
	it_export IT_SIMS 1
	return 0
}

# --- portal config -----------------------------------------------------------------

# it_write_config: $IT_ROOT/portal.conf pointing at this run's servers and the
# simulators (credentials from the fixtures the simulators load), readable by the
# web server's user; exports PORTAL_CONFIG. IT_EXTRA_CONFIG adds lines.
it_write_config() {
	local c="$IT_ROOT/portal.conf" k="$IT_ROOT/keys" fx="$IT_SRCDIR/tests/fixtures"
	local sftp="$IT_ROOT/sim/sftp"
	mkdir -p "$k"
	cp "$fx"/keys/*.pem "$k/"
	[ -f "$sftp/sftp_client_key" ] && cp "$sftp/sftp_client_key" "$k/sftp_client_key"
	chown -R "$IT_WWW_USER:$IT_WWW_GROUP" "$k"
	chmod 700 "$k"
	chmod 600 "$k"/*
	# One place for the simulators' test credentials: their fixture files.
	local sf_client sf_user pricebook wh_id wh_secret wh_field fb_oem fb_key
	sf_client=$(jq -r .client_id "$fx/salesforce/org.json" 2>/dev/null)
	sf_user=$(jq -r .username "$fx/salesforce/org.json" 2>/dev/null)
	pricebook=$(jq -r .portal_pricebook_id "$fx/salesforce/org.json" 2>/dev/null)
	wh_id=$(jq -r '.api_credentials[0].identifier' "$fx/whmcs/config.json" 2>/dev/null)
	wh_secret=$(jq -r '.api_credentials[0].secret' "$fx/whmcs/config.json" 2>/dev/null)
	wh_field=$(jq -r '.client_customfields[] | select(.name == "Customer Number") | .id' "$fx/whmcs/config.json" 2>/dev/null)
	fb_oem=$(jq -r ".oem.oemId // empty" "$fx/freebit/lines.json" 2>/dev/null)
	fb_key=$(jq -r ".oem.oemKey // empty" "$fx/freebit/lines.json" 2>/dev/null)
	it_export IT_SMTP_PORT "${IT_SMTP_PORT:-$(it_free_port)}"
	cat >"$c" <<-EOF
		# written by tests/integration/lib.sh (it_write_config) for one run
		ENVIRONMENT = ${IT_ENVIRONMENT:-test}
		LOG_LEVEL = ${IT_LOG_LEVEL:-debug}
		DATABASE_URL = $DATABASE_URL
		REDIS_URL = ${REDIS_URL:-redis://127.0.0.1:6379/0}
		HTTP_MAX_BODY = 65536
		SESSION_COOKIE_SECURE = false
		PASSWORD_PEPPER = test-only-pepper-not-secret
		PASSWORD_COMMON_LIST = ${IT_PKGDATADIR:-/usr/share/portal}/common-passwords.txt
		# the SMTP sink t_auth.sh starts on this port (password reset mails)
		SMTP_URL = smtp://127.0.0.1:$IT_SMTP_PORT
		MAIL_FROM = Portal <no-reply@portal.example.test>
		SF_LOGIN_URL = http://127.0.0.1:${SIM_SF_PORT:-18081}
		SF_CLIENT_ID = ${sf_client:-portal-test}
		SF_USERNAME = ${sf_user:-integration@portal.example.test}
		SF_PRIVATE_KEY_PATH = $k/sf_jwt_private.pem
		SF_PUBSUB_ENDPOINT = http://127.0.0.1:${SIM_PUBSUB_PORT:-18082}
		SF_TIMEOUT_MS = 5000
		# low so t_catalog reaches it quickly (and under nginx's own burst);
		# a test that reads the public catalog often uses its own 127.x source address
		RATE_LIMIT_PUBLIC_PER_MIN = ${IT_RATE_LIMIT_PUBLIC_PER_MIN:-30}
		PORTAL_PRICEBOOK_ID = ${pricebook:-01s5F0000000002QAA}
		WHMCS_API_URL = http://127.0.0.1:${SIM_WHMCS_PORT:-18083}/includes/api.php
		WHMCS_API_IDENTIFIER = ${wh_id:-sim-identifier}
		WHMCS_API_SECRET = ${wh_secret:-sim-secret}
		WHMCS_CUSTOMER_NUMBER_FIELD_ID = ${wh_field:-1}
		WHMCS_WEBHOOK_SECRET = ${SIM_WHMCS_WEBHOOK_SECRET:-sim-webhook-secret}
		WHMCS_TIMEOUT_MS = 5000
		FREEBIT_BASE_URL = http://127.0.0.1:${SIM_FREEBIT_PORT:-18084}
		FREEBIT_OEM_ID = ${fb_oem:-sim-oem}
		FREEBIT_OEM_KEY = ${fb_key:-sim-oem-key}
		FREEBIT_TIMEOUT = 5000
		# short gap so t_sim sees a queued network-type change run (docs/simulators.md)
		FREEBIT_CHANGE_GAP_S = ${IT_FREEBIT_CHANGE_GAP_S:-5}
		SFTP_HOST = 127.0.0.1
		SFTP_PORT = ${SIM_SFTP_PORT:-18022}
		SFTP_USERNAME = portalsftp
		SFTP_PRIVATE_KEY_PATH = $k/sftp_client_key
	EOF
	[ -f "$sftp/sftp_host_key_sha256" ] && echo "SFTP_HOST_KEY_SHA256 = $(cat "$sftp/sftp_host_key_sha256")" >>"$c"
	if [ -n "${IT_EXTRA_CONFIG:-}" ]; then printf '%s\n' "$IT_EXTRA_CONFIG" >>"$c"; fi
	# Secrets inside: readable by root and the apps' group only.
	chown "root:$IT_WWW_GROUP" "$c"
	chmod 640 "$c"
	it_export PORTAL_CONFIG "$c"
}

# --- the programs under test ---------------------------------------------------

# it_make_var BUILDDIR VAR: a variable of the build's Makefile (prefix, libexecdir…).
it_make_var() {
	make -s -C "$1" -f Makefile -f - "it-print-$2" <<<"it-print-%: ; @echo \$(\$*)" 2>/dev/null
}

# it_install BUILDDIR: `make install DESTDIR=$IT_ROOT/inst`; the tests run the
# installed tree (the web servers' user cannot reach a build dir under a 0700 temp dir).
# Exports IT_DESTDIR, IT_LIBEXECDIR (programs), IT_SBINDIR, IT_PKGDATADIR.
it_install() {
	local b=$1
	[ -f "$b/Makefile" ] || it_die "no build in $b"
	IT_DESTDIR="$IT_ROOT/inst"
	make -s -C "$b" install DESTDIR="$IT_DESTDIR" >"$IT_ROOT/logs/install.log" 2>&1 ||
		{ cat "$IT_ROOT/logs/install.log"; it_die "make install failed"; }
	chmod -R a+rX "$IT_DESTDIR"
	it_export IT_BUILDDIR "$b"
	it_export IT_DESTDIR "$IT_DESTDIR"
	it_export IT_LIBEXECDIR "$IT_DESTDIR$(it_make_var "$b" libexecdir)/portal"
	it_export IT_SBINDIR "$IT_DESTDIR$(it_make_var "$b" sbindir)"
	it_export IT_PKGDATADIR "$IT_DESTDIR$(it_make_var "$b" pkgdatadir)"
}

# it_migrate: portalctl migrate against this run's database (when portalctl exists).
it_migrate() {
	local ctl="$IT_SBINDIR/portalctl"
	[ -x "$ctl" ] || { it_log "portalctl not built yet: no migrations"; return 0; }
	"$ctl" migrate --dir "$IT_PKGDATADIR/migrations" >>"$IT_ROOT/logs/portalctl.log" 2>&1 ||
		{ cat "$IT_ROOT/logs/portalctl.log" >&2; return 1; }
}

# it_start_fcgi_apps: one spawn-fcgi'd process per built app on
# $IT_ROOT/run/portal-<app>.sock, as the web server's user, stderr to its log.
# IT_FCGI_WRAPPER (e.g. "valgrind --leak-check=full") runs in front of the app.
it_start_fcgi_apps() {
	local app bin sock
	command -v spawn-fcgi >/dev/null || it_die "spawn-fcgi not installed"
	for app in $IT_APPS; do
		bin="$IT_LIBEXECDIR/portal-$app.fcgi"
		[ -x "$bin" ] || continue
		sock="$IT_ROOT/run/portal-$app.sock"
		rm -f "$sock"
		# IT_FCGI_CHILDREN > 1: a pool on the one socket, kept alive by multiwatch
		# (as etc/init.d/portal-fcgi runs it); else the app itself, so that its
		# pid is the registered one (valgrind, SIGTERM tests).
		local pool=""
		if [ "${IT_FCGI_CHILDREN:-1}" -gt 1 ] && [ -x /usr/bin/multiwatch ]; then
			# -r/-t: multiwatch stops respawning a child that died within -t ms
			# of its start -r times running (a crash loop); f_6kill kills a
			# random worker every 0.5 s, so one slot can die 3 times in 10 s.
			pool="/usr/bin/multiwatch -f $IT_FCGI_CHILDREN -s USR1 -r 20 -t 2000 --"
		fi
		# shellcheck disable=SC2086
		spawn-fcgi -n -s "$sock" -M 0660 -U "$IT_WWW_USER" -G "$IT_WWW_GROUP" \
			-u "$IT_WWW_USER" -g "$IT_WWW_GROUP" -- $pool ${IT_FCGI_WRAPPER:-} "$bin" \
			</dev/null >>"$IT_ROOT/logs/fcgi-$app.log" 2>&1 &
		it_register "fcgi-$app" $!
	done
	for app in $IT_APPS; do
		[ -x "$IT_LIBEXECDIR/portal-$app.fcgi" ] || continue
		it_wait_file "$IT_ROOT/run/portal-$app.sock" 10 || it_log "portal-$app.fcgi: no socket"
	done
}

# it_start_daemons: the installed daemons (those built so far) in the
# foreground (-f) as background jobs of this shell, logs in $IT_ROOT/logs.
it_start_daemons() {
	local d bin
	for d in portal-probed portal-subscriberd portal-provisiond; do
		bin="$IT_SBINDIR/$d"
		[ -x "$bin" ] || continue
		"$bin" -f </dev/null >>"$IT_ROOT/logs/$d.log" 2>&1 &
		it_register "$d" $!
	done
}

it_stop_fcgi_apps() {
	local app
	for app in $IT_APPS; do it_stop_one "fcgi-$app"; done
}

# sed the shipped site files: only ports and paths change.
it_subst() { # in out  (VAR=value pairs after)
	local in=$1 out=$2 expr=() kv
	shift 2
	for kv in "$@"; do expr+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
	sed "${expr[@]}" "$in" >"$out"
	if grep -n '@[A-Z_]*@' "$out" >&2; then it_die "unsubstituted token in $out"; fi
}

# it_start_nginx: etc/nginx/portal.conf inside tests/integration/nginx-main.conf.in
# on a free port; exports IT_PORT and IT_BASE_URL.
it_start_nginx() {
	local n="$IT_ROOT/nginx" port
	command -v nginx >/dev/null || it_die "nginx not installed"
	mkdir -p "$n" "$IT_ROOT/nginx-tmp" "$IT_ROOT/nginx-cache"
	port=${IT_NGINX_PORT:-$(it_free_port)}
	it_subst "$IT_SRCDIR/etc/nginx/portal.conf" "$n/portal.conf" \
		LISTEN="127.0.0.1:$port" RUNDIR="$IT_ROOT/run" CACHEDIR="$IT_ROOT/nginx-cache"
	it_subst "$IT_SRCDIR/tests/integration/nginx-main.conf.in" "$n/nginx.conf" \
		ROOT="$IT_ROOT" USER="$IT_WWW_USER" SITE="$n/portal.conf"
	nginx -t -q -p "$n" -c "$n/nginx.conf" >>"$IT_ROOT/logs/nginx-start.log" 2>&1 ||
		{ cat "$IT_ROOT/logs/nginx-start.log"; it_die "nginx config test failed"; }
	nginx -p "$n" -c "$n/nginx.conf" >>"$IT_ROOT/logs/nginx-start.log" 2>&1 || it_die "nginx did not start"
	it_wait_file "$IT_ROOT/nginx.pid" 10 || it_die "nginx wrote no pid file"
	it_register nginx "$(cat "$IT_ROOT/nginx.pid")"
	it_wait_port "$port" 10 || it_die "nginx not listening"
	it_export IT_PORT "$port"
	it_export IT_BASE_URL "http://127.0.0.1:$port"
}

it_stop_nginx() { it_stop_one nginx; }

# it_start_apache: etc/apache/portal.conf inside apache-main.conf.in; mod_fcgid
# runs the installed apps as $IT_WWW_USER. Exports IT_PORT and IT_BASE_URL.
it_start_apache() {
	local a="$IT_ROOT/apache" port
	[ -x /usr/sbin/apache2 ] || it_die "apache2 not installed"
	[ -f /usr/lib/apache2/modules/mod_fcgid.so ] || it_die "libapache2-mod-fcgid not installed"
	mkdir -p "$a/run" "$a/fcgid"
	chown "$IT_WWW_USER:$IT_WWW_GROUP" "$a/fcgid"
	port=$(it_free_port)
	it_subst "$IT_SRCDIR/etc/apache/portal.conf" "$a/portal.conf" \
		LISTEN="$port" LIBEXECDIR="$IT_LIBEXECDIR" PORTAL_CONFIG="$PORTAL_CONFIG"
	it_subst "$IT_SRCDIR/tests/integration/apache-main.conf.in" "$a/apache2.conf" \
		ROOT="$IT_ROOT" PORT="$port" USER="$IT_WWW_USER" GROUP="$IT_WWW_GROUP" SITE="$a/portal.conf"
	# Debian's apache2 reads no envvars when started like this; clear the ones
	# a login shell may carry so nothing points at /var/run/apache2.
	env -u APACHE_CONFDIR -u APACHE_RUN_DIR -u APACHE_PID_FILE -u APACHE_LOCK_DIR -u APACHE_LOG_DIR \
		/usr/sbin/apache2 -t -f "$a/apache2.conf" >>"$IT_ROOT/logs/apache-start.log" 2>&1 ||
		{ cat "$IT_ROOT/logs/apache-start.log"; it_die "apache config test failed"; }
	env -u APACHE_CONFDIR -u APACHE_RUN_DIR -u APACHE_PID_FILE -u APACHE_LOCK_DIR -u APACHE_LOG_DIR \
		/usr/sbin/apache2 -f "$a/apache2.conf" -k start >>"$IT_ROOT/logs/apache-start.log" 2>&1 ||
		{ cat "$IT_ROOT/logs/apache-start.log"; it_die "apache did not start"; }
	it_wait_file "$a/run/apache2.pid" 10 || it_die "apache wrote no pid file"
	it_register apache "$(cat "$a/run/apache2.pid")"
	it_wait_port "$port" 10 || it_die "apache not listening"
	it_export IT_PORT "$port"
	it_export IT_BASE_URL "http://127.0.0.1:$port"
}

it_stop_apache() { it_stop_one apache; }

# it_sanitizer_reports: 0 if no ASan/UBSan/LSan report is in any process log.
it_sanitizer_reports() {
	grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)' \
		"$IT_ROOT"/logs/*.log "$IT_ROOT"/*.log 2>/dev/null
}

# --- assertions ----------------------------------------------------------------------

# it_check "name" cmd args…: runs the command, counts and prints PASS/FAIL.
it_check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		IT_PASS=$((IT_PASS + 1))
		printf '  ok    %s\n' "$name"
	else
		IT_FAIL=$((IT_FAIL + 1))
		printf '  FAIL  %s\n' "$name"
		[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/        /' | head -n 20
		[ -n "${IT_LAST_STATUS:-}" ] && printf '        last response: %s %s\n' "$IT_LAST_STATUS" \
			"$(head -c 300 "$IT_LAST_BODY" 2>/dev/null)"
	fi
	return 0
}

# it_http METHOD PATH [curl args…]: request against $IT_BASE_URL; sets
# IT_LAST_STATUS and files $IT_LAST_HEADERS / $IT_LAST_BODY.
it_http() {
	local method=$1 path=$2
	shift 2
	IT_LAST_HEADERS="$IT_ROOT/last.headers"
	IT_LAST_BODY="$IT_ROOT/last.body"
	IT_LAST_STATUS=$(curl -sS -o "$IT_LAST_BODY" -D "$IT_LAST_HEADERS" -w '%{http_code}' \
		--max-time "${IT_HTTP_TIMEOUT:-20}" -X "$method" --path-as-is "$@" "$IT_BASE_URL$path" 2>"$IT_ROOT/last.curl") ||
		IT_LAST_STATUS=${IT_LAST_STATUS:-000}
	return 0
}

# it_header NAME: value of a header of the last response (case-insensitive).
it_header() {
	grep -i "^$1:" "$IT_LAST_HEADERS" | head -n1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'
}

# it_json FILTER: jq -r over the last body (fails if it is not JSON).
it_json() { jq -er "$1" "$IT_LAST_BODY"; }

# small predicates for it_check
it_status_is() { # expected
	[ "$IT_LAST_STATUS" = "$1" ] || { echo "status $IT_LAST_STATUS, expected $1"; return 1; }
}
it_json_eq() { # filter expected
	local v
	v=$(jq -r "$1" "$IT_LAST_BODY" 2>&1) || { echo "not JSON: $(head -c 200 "$IT_LAST_BODY")"; return 1; }
	[ "$v" = "$2" ] || { echo "$1 = '$v', expected '$2'"; return 1; }
}
it_header_eq() { # name expected
	local v
	v=$(it_header "$1")
	[ "$v" = "$2" ] || { echo "header $1 = '$v', expected '$2'"; return 1; }
}
it_header_present() {
	[ -n "$(it_header "$1")" ] || { echo "no $1 header"; return 1; }
}

# it_raw PORT DATA: send bytes over a plain TCP connection (bash /dev/tcp),
# print the answer (for malformed requests curl refuses to send).
it_raw() {
	local port=$1 data=$2
	(
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
		printf '%b' "$data" >&3
		timeout 5 cat <&3
	)
}

# it_summary: the per-test result line the runner reads.
it_summary() {
	echo "IT-RESULT pass=$IT_PASS fail=$IT_FAIL"
	[ "$IT_FAIL" -eq 0 ]
}

# it_wait_for SECONDS cmd…: retry until the command succeeds.
it_wait_for() {
	local secs=$1 i
	shift
	for i in $(seq 1 $((secs * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
