#!/bin/bash
# f_8logfile.sh — the daemons' own log file: `-l FILE`, which the init scripts
# pass when LOGFILE is set in /etc/default/portal-*. The daemons run as an
# unprivileged user (the web server's, which can read this run's portal.conf)
# so that directory modes count — root ignores them:
#   * rotation: the file is renamed (logrotate, no copytruncate), SIGHUP →
#     the daemon creates and writes a new file, nothing more in the old one;
#   * a log directory it cannot write (root's, 0555) from the start: the
#     daemon starts anyway, logs to the stderr it was given, says
#     msg="log file cannot be opened…" there once per attempt (start, SIGHUP),
#     and goes on probing;
#   * the directory turns read-only under a running daemon (a read-only bind
#     mount over it; without mount rights: root's 0555 with the file renamed
#     away), then SIGHUP: the daemon keeps the file it has, writes the
#     warning into it, and goes on working (an order held in the outbox while
#     Salesforce was down is submitted by it). FAULTS_NO_MOUNT=1 takes the
#     0555 way even where mounting works.
# Each daemon stops on SIGTERM with exit status 0.
set -u
. "$(dirname "$0")/common.sh"

L=$IT_ROOT/f_logfile
U=$IT_WWW_USER
G=$IT_WWW_GROUP
ROMNT=
rm -rf "$L"
mkdir -p "$L"
chmod 755 "$L"
cleanup() { if [ -n "$ROMNT" ]; then umount "$ROMNT" 2>/dev/null; fi; }
trap cleanup EXIT

# probed's own config: the run's, with the Redis probe every 5 s (the minimum)
# so "still probing after SIGHUP" is seen within the test's time.
CONF=$L/portal.conf
grep -v '^PROBE_INTERVAL_REDIS_S' "$PORTAL_CONFIG" >"$CONF"
echo "PROBE_INTERVAL_REDIS_S = 5" >>"$CONF"
chown "root:$G" "$CONF"
chmod 640 "$CONF"

# as_user BIN ARGS… &: BIN as the unprivileged user. Only in the background:
# the subshell of `&` execs setpriv, which execs BIN, so $! is the daemon.
as_user() { exec setpriv --reuid="$U" --regid="$G" --init-groups -- "$@"; }
count() { grep -c -- "$2" "$1" 2>/dev/null || true; }   # FILE PATTERN
has() { grep -q -- "$2" "$1" 2>/dev/null; }              # FILE PATTERN
hasnt() { ! grep -q -- "$2" "$1" 2>/dev/null || { echo "$1: $(grep -m1 -- "$2" "$1")"; return 1; }; }
empty() { [ ! -s "$1" ] || { echo "$1:"; head -n 5 "$1"; return 1; }; }
grows() { [ "$(count "$1" "$2")" -gt "$3" ]; }           # FILE PATTERN THAN
probe_fresh() { [ -n "$(rcli HGET probe:redis status)" ]; }
WARN='msg="log file cannot be opened: logging to the previous destination"'

# stop NAME PID: SIGTERM → exit 0 within 10 s.
stop() {
	local name=$1 pid=$2 rc=timeout
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		if ! it_alive "$pid"; then wait "$pid"; rc=$?; break; fi
		sleep 0.1
	done
	it_check "$name: SIGTERM → exit 0 within 10 s (got $rc)" test "$rc" = 0
	it_stop_one "faults-$name"
}

if [ -x "$IT_SBINDIR/portal-probed" ]; then
	# --- rotation: rename, SIGHUP, the new file gets the lines ------------------
	D=$L/rot
	install -d -m 0755 -o "$U" -g "$G" "$D"
	F=$D/portal-probed.log
	rcli DEL probe:redis >/dev/null
	as_user "$IT_SBINDIR/portal-probed" -f -l "$F" -c "$CONF" </dev/null >"$L/rot.stderr" 2>&1 &
	pid=$!
	it_register faults-probed-rot "$pid"
	it_check "rotation: probed logs into its -l file" it_wait_for 20 has "$F" 'msg="portal-probed started"'
	it_check "rotation: probed probes (probe:redis written)" it_wait_for 20 probe_fresh
	it_check "rotation: the file is $U's, mode 0640" \
		bash -c "[ \"\$(stat -c '%U %a' '$F')\" = '$U 640' ]"
	mv "$F" "$F.1"
	kill -HUP "$pid"
	it_check "rotation: SIGHUP → a new file with the 'logs reopened' line" \
		it_wait_for 10 has "$F" 'SIGHUP: logs reopened'
	it_check "rotation: the renamed file did not get the reopen line" hasnt "$F.1" 'SIGHUP: logs reopened'
	old=$(wc -l <"$F.1")
	n=$(count "$F" 'msg="probe" system=redis')
	rcli DEL probe:redis >/dev/null
	it_check "rotation: still probing after SIGHUP (probe:redis written again)" it_wait_for 15 probe_fresh
	it_check "rotation: new probe lines land in the new file" \
		it_wait_for 10 grows "$F" 'msg="probe" system=redis' "$n"
	it_check "rotation: nothing more written to the renamed file" test "$(wc -l <"$F.1")" = "$old"
	it_check "rotation: no 'cannot be opened' warning" hasnt "$F" "$WARN"
	it_check "rotation: nothing on the daemon's own stderr" empty "$L/rot.stderr"
	it_check "rotation: alive" it_alive "$pid"
	stop probed-rot "$pid"
	it_check "rotation: the stop line is in the new file" has "$F" 'SIGTERM: stopping'

	# --- a log directory the daemon cannot write, from the start ----------------
	D=$L/ro
	install -d -m 0555 -o root -g root "$D"
	F=$D/portal-probed.log
	E=$L/ro.stderr
	rcli DEL probe:redis >/dev/null
	as_user "$IT_SBINDIR/portal-probed" -f -l "$F" -c "$CONF" </dev/null >"$E" 2>&1 &
	pid=$!
	it_register faults-probed-ro "$pid"
	it_check "unwritable dir: probed starts" it_wait_for 20 has "$E" 'msg="portal-probed started"'
	it_check "unwritable dir: says so on its stderr (path, Permission denied)" \
		has "$E" "level=warn app=portal-probed $WARN path=$F error=\"Permission denied\""
	it_check "unwritable dir: probes (probe:redis written)" it_wait_for 20 probe_fresh
	it_check "unwritable dir: no file was created" test ! -e "$F"
	kill -HUP "$pid"
	it_check "unwritable dir: SIGHUP → reload line" it_wait_for 10 has "$E" 'SIGHUP: logs reopened'
	it_check "unwritable dir: one more warning for the SIGHUP (2 in all)" test "$(count "$E" "$WARN")" = 2
	rcli DEL probe:redis >/dev/null
	it_check "unwritable dir: still probing after SIGHUP" it_wait_for 15 probe_fresh
	it_check "unwritable dir: alive" it_alive "$pid"
	stop probed-ro "$pid"
	it_check "unwritable dir: no crash or sanitizer report on stderr" \
		hasnt "$E" 'Sanitizer\|runtime error\|Segmentation'
fi

if [ -x "$IT_SBINDIR/portal-provisiond" ]; then
	# --- the directory turns read-only under a running daemon -------------------
	D=$L/rw
	install -d -m 0755 -o "$U" -g "$G" "$D"
	F=$D/portal-provisiond.log
	as_user "$IT_SBINDIR/portal-provisiond" -f -l "$F" -c "$PORTAL_CONFIG" </dev/null >"$L/rw.stderr" 2>&1 &
	pid=$!
	it_register faults-provisiond-rw "$pid"
	it_check "read-only dir: provisiond logs into its -l file" \
		it_wait_for 20 has "$F" 'msg="portal-provisiond started"'
	# A read-only bind mount of the directory onto itself: the daemon's open
	# file belongs to the mount below, so the remount is allowed, and the path
	# now resolves to a read-only view (EROFS), the existing file included.
	how=
	if [ "${FAULTS_NO_MOUNT:-0}" != 1 ] && mount --bind "$D" "$D" 2>/dev/null; then
		ROMNT=$D
		if mount -o remount,bind,ro "$D" 2>/dev/null; then
			how=mount err="Read-only file system" kept=$F
		else
			umount "$D"
			ROMNT=
		fi
	fi
	if [ -z "$how" ]; then
		# No mount rights: root's directory, 0555, the file renamed away (an
		# existing file of the user's could still be opened).
		chown root:root "$D"
		chmod 0555 "$D"
		mv "$F" "$F.1"
		how=mode err="Permission denied" kept=$F.1
	fi
	it_check "read-only dir ($how): the user cannot create a file there" \
		bash -c "! setpriv --reuid=$U --regid=$G --init-groups -- touch '$D/probe' 2>/dev/null"
	kill -HUP "$pid"
	it_check "read-only dir ($how): SIGHUP → the warning in the file it keeps" \
		it_wait_for 10 has "$kept" "$WARN path=$F error=\"$err\""
	it_check "read-only dir ($how): reload line follows in the same file" \
		it_wait_for 10 has "$kept" 'SIGHUP: logs reopened'
	it_check "read-only dir ($how): exactly one warning" test "$(count "$kept" "$WARN")" = 1
	it_check "read-only dir ($how): alive after SIGHUP" it_alive "$pid"
	# Work after the failed reopen: an order held in the outbox while Salesforce
	# failed, which only provisiond's outbox drain submits.
	key=k-$RUN-logfile
	outbox_order "$key" "read-only dir"
	it_check "read-only dir ($how): provisiond still works (outbox order submitted)" \
		it_wait_for 30 outbox_submitted "$key"
	it_check "read-only dir ($how): alive" it_alive "$pid"
	stop provisiond-rw "$pid"
	it_check "read-only dir ($how): the stop line is in the kept file" has "$kept" 'SIGTERM: stopping'
	it_check "read-only dir ($how): nothing on the daemon's own stderr" empty "$L/rw.stderr"
	cleanup
	ROMNT=
	report "daemon log file: rotation followed on SIGHUP; unwritable dir at start and read-only dir ($how, $err) on SIGHUP → warning, daemon kept working"
fi
it_summary
