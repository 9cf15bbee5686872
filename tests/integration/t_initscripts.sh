#!/bin/bash
# t_initscripts.sh — the installed LSB init scripts (etc/init.d, from the
# `make install DESTDIR` tree) drive the real daemons and the spawn-fcgi pool.
# Paths are overridden only through a /etc/default-style file named by
# $PORTAL_DEFAULTS_FILE, the way an operator edits /etc/default/portal-*.
#  * daemons (portal-probed, portal-provisiond — each skipped until built):
#    start, status 0, reload → SIGHUP → "logs reopened" in the log, stop,
#    status 3; both ways the script can run them (foreground under
#    start-stop-daemon with LOGFILE, and self-detaching with -p). With
#    LOGFILE, a logrotate-style rotation (rename, new root-owned file,
#    reload) moves the daemon to the new file.
#  * portal-fcgi: start a pool of portal-health.fcgi → its socket answers
#    /health (cgi-fcgi), status 0, stop → processes and socket gone, status 3.
#    With LOGDIR, a logrotate-style rotation (rename, new root-owned file,
#    reopen-logs) moves the pool to the new file: same pids, still serving.
#    Under multiwatch (the default when installed): the pid file names
#    multiwatch with CHILDREN workers; a worker killed with -9 is replaced
#    within seconds while the pool keeps answering; reopen-logs leaves
#    multiwatch alone; stop leaves neither workers nor multiwatch. With
#    MULTIWATCH= the old spawn-fcgi -F pool: one pid per worker in the pid file.
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

# (last line: a Makefile regenerated on the way prints its own messages first)
sysconfdir=$(it_make_var "$IT_BUILDDIR" sysconfdir | tail -n1)
initd="$IT_DESTDIR$sysconfdir/init.d"
t="$IT_ROOT/initd"
mkdir -p "$t/run"
chmod 755 "$t"
chown "$IT_WWW_USER:$IT_WWW_GROUP" "$t/run"

it_check "init scripts installed executable" test -x "$initd/portal-probed" -a -x "$initd/portal-provisiond" \
	-a -x "$initd/portal-subscriberd" -a -x "$initd/portal-fcgi"
it_check "installed defaults files" test -f "$IT_DESTDIR$sysconfdir/default/portal-fcgi"
it_check "installed init scripts have every path filled in" bash -c "! grep -n '@[A-Z_]*@' '$initd'/portal-*"
for s in "$initd"/portal-*; do
	it_check "$(basename "$s"): LSB header" grep -q '^### BEGIN INIT INFO' "$s"
done

# logrotate accepts the installed file (debug mode: parses, rotates nothing).
if command -v logrotate >/dev/null; then
	it_check "logrotate -d accepts etc/logrotate.d/portal" \
		logrotate -d -s "$t/logrotate.state" "$IT_DESTDIR$sysconfdir/logrotate.d/portal"
	it_check "logrotate.d/portal: no copytruncate, SIGHUP through the init scripts" bash -c \
		"! grep -q '^[[:space:]]*copytruncate' '$IT_DESTDIR$sysconfdir/logrotate.d/portal' &&
		 grep -q 'init.d/\$d reload' '$IT_DESTDIR$sysconfdir/logrotate.d/portal' &&
		 grep -q 'init.d/portal-fcgi reopen-logs' '$IT_DESTDIR$sysconfdir/logrotate.d/portal'"
else
	echo "  skip  logrotate not installed: etc/logrotate.d/portal not parsed"
fi
# systemd-analyze verify on the installed units, programs pointed into DESTDIR.
units="$IT_DESTDIR$(it_make_var "$IT_BUILDDIR" prefix | tail -n1)/lib/systemd/system"
if command -v systemd-analyze >/dev/null && [ -d "$units" ]; then
	verify_units() {
		local u="$t/units" f
		mkdir -p "$u"
		for f in "$units"/*; do
			sed -e "s|^ExecStart=/|ExecStart=$IT_DESTDIR/|" "$f" >"$u/$(basename "$f")"
		done
		# templates are verified through an instance
		mv "$u/portal-provisiond@.service" "$u/portal-provisiond@1.service"
		mv "$u/portal-fcgi@.service" "$u/portal-fcgi@health.service"
		mv "$u/portal-fcgi@.socket" "$u/portal-fcgi@health.socket"
		(cd "$u" && systemd-analyze verify --man=no ./*.service ./*.socket 2>&1) | grep . && return 1
		return 0
	}
	it_check "systemd-analyze verify: the installed units" verify_units
else
	echo "  skip  systemd-analyze not available: units not verified"
fi

# rc of the init script for ACTION
initrc() { # script action
	PORTAL_DEFAULTS_FILE="$t/defaults-$1" "$initd/$1" "$2" >>"$t/$1.out" 2>&1
	echo $?
}
rc_is() { # expected script action
	local rc
	rc=$(initrc "$2" "$3")
	[ "$rc" = "$1" ] || { echo "$2 $3: exit $rc, expected $1"; tail -n 5 "$t/$2.out"; return 1; }
}
pid_alive() { local p; p=$(head -n1 "$1" 2>/dev/null) && it_alive "$p"; }
log_has() { grep -q "$2" "$1"; }

run_daemon() { # name mode(logfile|detach)
	local d=$1 mode=$2 log="$IT_ROOT/logs/initd-$1.log" pidf="$t/run/$1.pid" pid
	{
		echo "DAEMON=$IT_SBINDIR/$d"
		echo "CONFIG=$PORTAL_CONFIG"
		echo "RUNDIR=$t/run"
		echo "DAEMON_USER=$IT_WWW_USER"
		echo "STOP_TIMEOUT=20"
		if [ "$mode" = logfile ]; then echo "LOGFILE=$log"; else echo "LOGFILE="; fi
	} >"$t/defaults-$d"
	it_check "$d [$mode]: status before start is 3" rc_is 3 "$d" status
	it_check "$d [$mode]: start" rc_is 0 "$d" start
	pid=$(head -n1 "$pidf" 2>/dev/null)
	[ -n "$pid" ] && it_register "initd-$d" "$pid"
	it_check "$d [$mode]: pid file names a live process" pid_alive "$pidf"
	it_check "$d [$mode]: runs as $IT_WWW_USER" bash -c "[ \"\$(ps -o user= -p $pid)\" = '$IT_WWW_USER' ]"
	it_check "$d [$mode]: status 0" rc_is 0 "$d" status
	it_check "$d [$mode]: start again is 0 (already running)" rc_is 0 "$d" start
	it_check "$d [$mode]: same pid after second start" bash -c "[ \"\$(head -n1 '$pidf')\" = '$pid' ]"
	if [ "$mode" = logfile ]; then
		it_check "$d [$mode]: started line in its log" it_wait_for 10 log_has "$log" 'started'
		it_check "$d [$mode]: reload" rc_is 0 "$d" reload
		it_check "$d [$mode]: SIGHUP → 'logs reopened' line" it_wait_for 10 log_has "$log" 'SIGHUP: logs reopened'
		it_check "$d [$mode]: same process after reload" it_alive "$pid"
		# logrotate (etc/logrotate.d/portal): rename, `create 0640 root adm`
		# (root's here), postrotate `reload` — the daemon must write the new file.
		mv "$log" "$log.1"
		install -m 0640 /dev/null "$log"
		it_check "$d [$mode]: reload after rotation" rc_is 0 "$d" reload
		it_check "$d [$mode]: rotated → the reload's line lands in the new file" \
			it_wait_for 10 log_has "$log" 'SIGHUP: logs reopened'
		it_check "$d [$mode]: rotated → the new file was handed to $IT_WWW_USER" \
			bash -c "[ \"\$(stat -c %U '$log')\" = '$IT_WWW_USER' ]"
		it_check "$d [$mode]: rotated → nothing more in the renamed file" \
			bash -c "[ \$(grep -c 'SIGHUP: logs reopened' '$log.1') = 1 ]"
		it_check "$d [$mode]: rotated → no 'log file cannot be opened'" \
			bash -c "! grep -q 'log file cannot be opened' '$log' '$log.1'"
		rm -f "$log.1"
	else
		it_check "$d [$mode]: reload" rc_is 0 "$d" reload
		it_check "$d [$mode]: same process after reload" it_alive "$pid"
	fi
	it_check "$d [$mode]: stop" rc_is 0 "$d" stop
	it_check "$d [$mode]: process gone when stop returns" bash -c ". '$IT_SRCDIR/tests/integration/lib.sh'; ! it_alive $pid"
	it_check "$d [$mode]: pid file removed" test ! -e "$pidf"
	it_check "$d [$mode]: status 3 after stop" rc_is 3 "$d" status
	it_check "$d [$mode]: stop again is 0" rc_is 0 "$d" stop
	it_check "$d [$mode]: reload when stopped is 7" rc_is 7 "$d" reload
	# A stale pid file: "dead but pid file exists" (1).
	echo 999999 >"$pidf"
	it_check "$d [$mode]: stale pid file → status 1" rc_is 1 "$d" status
	rm -f "$pidf"
	it_stop_one "initd-$d"
}

ran=0
for d in portal-probed portal-provisiond; do
	if [ ! -x "$IT_SBINDIR/$d" ]; then
		echo "  skip  $d not built yet: its init script is not driven"
		continue
	fi
	ran=1
	run_daemon "$d" logfile
	run_daemon "$d" detach
done
[ $ran = 1 ] || echo "  skip  no daemon built yet (portal-probed): daemon init scripts not driven"

# A configuration the daemon refuses: start fails (non-zero), nothing left running.
if [ -x "$IT_SBINDIR/portal-probed" ]; then
	# A config file that is not there: the daemon refuses before detaching.
	sed -e "s|^CONFIG=.*|CONFIG=$t/missing.conf|" -e 's|^LOGFILE=.*|LOGFILE=|' "$t/defaults-portal-probed" >"$t/defaults-bad"
	bad_start() {
		local rc
		PORTAL_DEFAULTS_FILE="$t/defaults-bad" "$initd/portal-probed" start >"$t/bad.out" 2>&1
		rc=$?
		[ "$rc" = 1 ] || { echo "exit $rc"; cat "$t/bad.out"; return 1; }
		! pgrep -f "$IT_SBINDIR/portal-probed -p .*missing.conf" >/dev/null
	}
	it_check "portal-probed: bad config → start exits 1, nothing runs" bad_start
fi

# --- portal-fcgi: a spawn-fcgi pool of portal-health.fcgi ------------------------
if ! command -v cgi-fcgi >/dev/null; then
	echo "  skip  cgi-fcgi not installed (libfcgi-bin): pool not driven"
else
	f=portal-fcgi
	{
		echo "APPS=health"
		echo "CHILDREN=3"
		echo "LIBEXECDIR=$IT_LIBEXECDIR"
		echo "CONFIG=$PORTAL_CONFIG"
		echo "RUNDIR=$t/run"
		echo "APP_USER=$IT_WWW_USER"
		echo "APP_GROUP=$IT_WWW_GROUP"
		echo "SOCKET_USER=$IT_WWW_USER"
		echo "SOCKET_GROUP=$IT_WWW_GROUP"
		echo "LOGDIR=$IT_ROOT/logs"
	} >"$t/defaults-$f"
	sock="$t/run/portal-health.sock"
	pidf="$t/run/portal-fcgi-health.pid"
	mw=0
	[ -x /usr/bin/multiwatch ] && mw=1
	# The pool's workers: multiwatch's children, else the pid file's pids.
	workers() {
		local p
		for p in $(cat "$pidf" 2>/dev/null); do
			if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = multiwatch ]; then pgrep -P "$p"; else echo "$p"; fi
		done
	}
	nworkers() { [ "$(workers | wc -l)" = "$1" ] || { echo "workers: $(workers | xargs)"; return 1; }; }
	it_check "portal-fcgi: status before start is 3" rc_is 3 $f status
	it_check "portal-fcgi: start" rc_is 0 $f start
	for p in $(cat "$pidf" 2>/dev/null) $(workers); do it_register "initd-fcgi-$p" "$p"; done
	if [ $mw = 1 ]; then
		mwpid=$(cat "$pidf" 2>/dev/null)
		it_check "portal-fcgi: the pid file names one multiwatch" \
			bash -c "[ \$(wc -w <'$pidf') = 1 ] && [ \"\$(cat /proc/$mwpid/comm)\" = multiwatch ]"
		it_check "portal-fcgi: multiwatch has 3 workers" nworkers 3
		it_check "portal-fcgi: the workers are portal-health.fcgi as $IT_WWW_USER" bash -c \
			"for p in $(workers | xargs); do [ \"\$(readlink /proc/\$p/exe)\" = '$(readlink -f "$IT_LIBEXECDIR/portal-health.fcgi")' ] &&
			 [ \"\$(ps -o user= -p \$p)\" = '$IT_WWW_USER' ] || exit 1; done"
	else
		echo "  skip  multiwatch not installed: the pool runs as spawn-fcgi -F"
		it_check "portal-fcgi: 3 children in the pid file" bash -c "[ \$(wc -w <'$pidf') = 3 ]"
	fi
	it_check "portal-fcgi: socket exists" test -S "$sock"
	it_check "portal-fcgi: status 0" rc_is 0 $f status
	health() {
		local out
		out=$(REQUEST_METHOD=GET SCRIPT_NAME=/health PATH_INFO= REQUEST_URI=/health \
			SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 SERVER_NAME=localhost SERVER_PORT=80 \
			timeout 10 cgi-fcgi -bind -connect "$sock" 2>&1)
		grep -q '^Status: 200' <<<"$out" && grep -q '"database"' <<<"$out" ||
			{ echo "$out" | head -n 15; return 1; }
	}
	it_check "portal-fcgi: the socket answers /health 200 (cgi-fcgi)" health
	# LOGDIR: the apps log to LOGDIR/portal-health.log themselves ($PORTAL_LOG_FILE).
	plog="$IT_ROOT/logs/portal-health.log"
	env_has_log() { # pid
		tr '\0' '\n' <"/proc/$1/environ" | grep -qx "PORTAL_LOG_FILE=$plog" || { echo "pid $1: no PORTAL_LOG_FILE"; return 1; }
	}
	every_worker_env() { local p; for p in $(workers); do env_has_log "$p" || return 1; done; }
	it_check "portal-fcgi: LOGDIR → PORTAL_LOG_FILE in every worker's environment" every_worker_env
	it_check "portal-fcgi: the request's line in LOGDIR/portal-health.log" \
		it_wait_for 10 log_has "$plog" 'msg="request".*path=/health'
	it_check "portal-fcgi: the log file was handed to $IT_WWW_USER" \
		bash -c "[ \"\$(stat -c %U '$plog')\" = '$IT_WWW_USER' ]"
	it_check "portal-fcgi: reopen-logs with the pool running is 0" rc_is 0 $f reopen-logs
	it_check "portal-fcgi: answers after a SIGHUP (idle processes keep accepting)" health
	# logrotate (etc/logrotate.d/portal): rename, `create 0640 root adm` (root's
	# here), postrotate `reopen-logs` — the pool must write the new file.
	pids_before=$(workers | xargs)
	mv "$plog" "$plog.1"
	install -m 0640 /dev/null "$plog"
	size_rotated=$(stat -c %s "$plog.1")
	it_check "portal-fcgi: reopen-logs after rotation" rc_is 0 $f reopen-logs
	it_check "portal-fcgi: rotated → the new file was handed to $IT_WWW_USER" \
		bash -c "[ \"\$(stat -c %U '$plog')\" = '$IT_WWW_USER' ]"
	# One request per child at most lands on a given process: 6 for 3 children
	# makes it likely that more than one process has moved.
	rotated_requests() { local n=0; while [ $n -lt 6 ]; do health || return 1; n=$((n + 1)); done; }
	it_check "portal-fcgi: rotated → the pool answers /health" rotated_requests
	it_check "portal-fcgi: rotated → the requests' lines land in the new file" \
		it_wait_for 10 log_has "$plog" 'msg="request".*path=/health'
	it_check "portal-fcgi: rotated → 'logs reopened' in the new file" log_has "$plog" 'SIGHUP: logs reopened'
	it_check "portal-fcgi: rotated → the renamed file did not grow" \
		bash -c "[ \$(stat -c %s '$plog.1') = $size_rotated ]"
	it_check "portal-fcgi: rotated → no 'log file cannot be opened'" \
		bash -c "! grep -q 'log file cannot be opened' '$plog' '$plog.1'"
	# word lists (xargs) compared with one space between pids
	same_pids() { [ "$(workers | xargs)" = "$pids_before" ] || { echo "workers now: $(workers | xargs)"; return 1; }; }
	it_check "portal-fcgi: same workers after reopen-logs (no restart)" same_pids
	alive_all() { local p; for p in $pids_before; do it_alive "$p" || { echo "pid $p gone"; return 1; }; done; }
	it_check "portal-fcgi: every worker still alive after reopen-logs" alive_all
	if [ $mw = 1 ]; then
		it_check "portal-fcgi: multiwatch untouched by reopen-logs (same pid, alive)" \
			bash -c "[ \"\$(cat '$pidf')\" = '$mwpid' ] && kill -0 $mwpid"
	fi
	it_check "portal-fcgi: status 0 after reopen-logs" rc_is 0 $f status
	rm -f "$plog.1"
	if [ $mw = 1 ]; then
		# A worker killed (OOM killer, crash): multiwatch forks a new one, the
		# pool answers all along on the remaining ones.
		victim=$(workers | head -n1)
		kill -KILL "$victim"
		it_check "portal-fcgi: answers /health right after kill -9 of a worker" health
		replaced() {
			nworkers 3 || return 1
			! workers | grep -qx "$victim" || { echo "$victim still listed"; return 1; }
		}
		it_check "portal-fcgi: kill -9 of a worker → 3 workers again within 5 s, new pid" it_wait_for 5 replaced
		for p in $(workers); do it_register "initd-fcgi-$p" "$p"; done
		it_check "portal-fcgi: the new worker has PORTAL_LOG_FILE" every_worker_env
		it_check "portal-fcgi: answers /health after the replacement" rotated_requests
		it_check "portal-fcgi: same multiwatch after the replacement" bash -c "[ \"\$(cat '$pidf')\" = '$mwpid' ]"
		# multiwatch's stderr is the log file opened at start (renamed and
		# removed above: read through the descriptor it still holds)
		# (a worker killed by a signal: "Spawning child[i] failed, next try";
		# one that exited: "Child[i] died, respawn")
		it_check "portal-fcgi: multiwatch logged the replacement ('Spawning child[…] failed, next try')" \
			grep -qE '[Cc]hild\[[0-9]+\] (died, respawn|failed, next try)' "/proc/$mwpid/fd/2"
		it_check "portal-fcgi: status 0 after the replacement" rc_is 0 $f status
	fi
	it_check "portal-fcgi: restart" rc_is 0 $f restart
	it_check "portal-fcgi: answers /health after restart" health
	pids="$(cat "$pidf" 2>/dev/null) $(workers)"
	for p in $pids; do it_register "initd-fcgi-$p" "$p"; done
	it_check "portal-fcgi: stop" rc_is 0 $f stop
	gone() { local p; for p in $pids; do ! it_alive "$p" || { echo "pid $p alive"; return 1; }; done; }
	it_check "portal-fcgi: every worker (and multiwatch) gone when stop returns" gone
	it_check "portal-fcgi: socket removed" test ! -e "$sock"
	it_check "portal-fcgi: status 3 after stop" rc_is 3 $f status
	it_check "portal-fcgi: reopen-logs when stopped is 7" rc_is 7 $f reopen-logs
	for p in $pids; do it_stop_one "initd-fcgi-$p"; done
	if [ $mw = 1 ]; then
		# MULTIWATCH= (or not installed): the old spawn-fcgi -F pool.
		cp "$t/defaults-$f" "$t/defaults-$f.mw"
		echo "MULTIWATCH=" >>"$t/defaults-$f"
		it_check "portal-fcgi [MULTIWATCH=]: start" rc_is 0 $f start
		pids=$(cat "$pidf" 2>/dev/null)
		for p in $pids; do it_register "initd-fcgi-$p" "$p"; done
		it_check "portal-fcgi [MULTIWATCH=]: 3 workers in the pid file, no multiwatch" bash -c \
			"[ \$(wc -w <'$pidf') = 3 ] && ! grep -qx multiwatch $(printf '/proc/%s/comm ' $pids)"
		it_check "portal-fcgi [MULTIWATCH=]: answers /health" health
		it_check "portal-fcgi [MULTIWATCH=]: status 0" rc_is 0 $f status
		it_check "portal-fcgi [MULTIWATCH=]: reopen-logs is 0" rc_is 0 $f reopen-logs
		it_check "portal-fcgi [MULTIWATCH=]: stop" rc_is 0 $f stop
		it_check "portal-fcgi [MULTIWATCH=]: every worker gone" gone
		for p in $pids; do it_stop_one "initd-fcgi-$p"; done
		mv "$t/defaults-$f.mw" "$t/defaults-$f"
	fi
fi

it_summary
