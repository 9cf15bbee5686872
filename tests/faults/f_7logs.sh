#!/bin/bash
# f_7logs.sh — a daemon whose log destination fails does not crash. The
# daemons log logfmt lines to stderr (the init scripts / systemd send it to
# the log file or journal), so the destination is:
#   * /dev/full (every write fails with ENOSPC: a full disk),
#   * a closed descriptor (EBADF),
#   * a pipe whose reader has gone (EPIPE / SIGPIPE: a dead log collector).
# (A log file that cannot be opened at all — a read-only or foreign log
# directory, as the unprivileged user the daemons run as — and the file
# renamed by logrotate are f_8logfile.sh's.)
# portal-probed must go on probing (its Redis results appear), portal-provisiond
# must go on working (an order held in the outbox while Salesforce was down
# is submitted by it), both survive SIGHUP (log reopen) and stop on SIGTERM
# with exit status 0.
set -u
. "$(dirname "$0")/common.sh"

L=$IT_ROOT/f_logs
mkdir -p "$L"
rm -f "$L"/*
started=0 survived=0

# run_daemon NAME BIN MODE CHECK_CMD: start BIN -f with stderr per MODE, wait
# up to 20 s for CHECK_CMD, HUP, TERM; checks along the way.
run_daemon() {
	local name=$1 bin=$2 mode=$3 check=$4 pid rc reader=
	case $mode in
	full) "$bin" -f </dev/null >/dev/full 2>/dev/full & pid=$! ;;
	closed) "$bin" -f </dev/null >&- 2>&- & pid=$! ;;
	pipe)
		mkfifo "$L/$name.fifo"
		cat "$L/$name.fifo" >/dev/null &
		reader=$!
		"$bin" -f </dev/null >/dev/null 2>"$L/$name.fifo" &
		pid=$!
		sleep 0.3
		kill "$reader" 2>/dev/null
		wait "$reader" 2>/dev/null
		;;
	esac
	started=$((started + 1))
	it_register "faults-$name" "$pid"
	it_check "$name (stderr $mode): does its work" it_wait_for 20 $check
	kill -HUP "$pid" 2>/dev/null
	sleep 1
	it_check "$name (stderr $mode): alive after logging and SIGHUP" it_alive "$pid"
	if it_alive "$pid"; then survived=$((survived + 1)); fi
	kill -TERM "$pid" 2>/dev/null
	rc=timeout
	for _ in $(seq 1 100); do
		if ! it_alive "$pid"; then wait "$pid"; rc=$?; break; fi
		sleep 0.1
	done
	it_check "$name (stderr $mode): SIGTERM → exit 0 within 10 s (got $rc)" test "$rc" = 0
	it_stop_one "faults-$name"
}

probe_fresh() { [ -n "$(rcli GET probe:redis)$(rcli HGET probe:redis status)" ]; }
probed_case() { # mode
	rcli DEL probe:redis >/dev/null
	run_daemon "probed-$1" "$IT_SBINDIR/portal-probed" "$1" probe_fresh
}
if [ -x "$IT_SBINDIR/portal-probed" ]; then
	probed_case full
	probed_case closed
	probed_case pipe
fi

if [ -x "$IT_SBINDIR/portal-provisiond" ]; then
	key=k-$RUN-logs
	outbox_order "$key" "provisiond setup"
	submitted() { outbox_submitted "$key"; }
	run_daemon provisiond "$IT_SBINDIR/portal-provisiond" full submitted
fi
report "daemon logs: daemons started=$started alive after writes to a failing stderr + SIGHUP=$survived (destinations: /dev/full, closed fd, broken pipe)"
it_summary
