#!/bin/bash
# f_5sftp.sh — SFTP down (the simulators' sshd stopped): the SIM call-history
# route, which imports the month's CDR file over SFTP on first use, answers
# a clear error (503 UPSTREAM_UNAVAILABLE, or 404 RECORDS_NOT_AVAILABLE when
# the month is known to be missing) within SFTP_TIMEOUT (2 s) + 1 s, the
# same again for SMS history; then with a listener that accepts and never
# speaks (a hung server) the answer is 503 within the SSH client's fixed
# 10 s connect/handshake timeout (SFTP_TIMEOUT = 2 s bounds the operations
# after it, not the handshake); and the app keeps serving other routes. The
# sshd stays down for the rest of the run (nothing after this needs it).
set -u
. "$(dirname "$0")/common.sh"

IP=127.0.11.10
read -r TOK3 CSRF3 < <(session_for $A3 103)
[ -n "${TOK3:-}" ] || it_die "no session"
curl -sS -XPOST "$FB/__sim/reset" >/dev/null
rdel 'cdr:*'
month=$(date -d "$(date +%Y-%m-15) -1 month" +%Y-%m)
month2=$(date -d "$(date +%Y-%m-15) -2 month" +%Y-%m)

sshd=$(it_pid_of sim-sshd)
it_check "the simulators' sshd is running" it_alive "$sshd"
it_log "stopping sshd ($sshd)"
it_stop_one sim-sshd
it_check "sshd stopped" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$SIM_SFTP_PORT) 2>/dev/null"

n=0
out=$IT_ROOT/f_sftp.answers
: >"$out"
for m in "$month" "$month2"; do
	for kind in calls sms; do
		timed GET "/api/sim/201/$kind?month=$m" --interface $IP -b "portal_session=$TOK3"
		n=$((n + 1))
		echo "$kind?month=$m $IT_LAST_STATUS $(jq -r '.error.code // "-"' "$IT_LAST_BODY" 2>/dev/null) ${IT_LAST_TIME}s" >>"$out"
		it_check "SFTP down: GET /api/sim/201/$kind?month=$m → 503 UPSTREAM_UNAVAILABLE or 404 RECORDS_NOT_AVAILABLE" \
			bash -c "jq -e '(.error.code == \"UPSTREAM_UNAVAILABLE\" and $IT_LAST_STATUS == 503) or (.error.code == \"RECORDS_NOT_AVAILABLE\" and $IT_LAST_STATUS == 404)' '$IT_LAST_BODY' >/dev/null"
		it_check "SFTP down: $kind answered within 3 s" time_below 3
	done
done

# A server that accepts the TCP connection and never speaks (a hung sshd):
# bounded by SFTP_TIMEOUT.
month3=$(date -d "$(date +%Y-%m-15) -3 month" +%Y-%m)
"$IT_PYTHON" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); held = []
while True: held.append(s.accept())' "$SIM_SFTP_PORT" </dev/null >/dev/null 2>&1 &
it_register faults-silent-sftp $!
it_wait_port "$SIM_SFTP_PORT" 5 || it_log "silent listener not up"
for kind in calls; do
	timed GET "/api/sim/201/$kind?month=$month3" --interface $IP -b "portal_session=$TOK3"
	n=$((n + 1))
	echo "$kind?month=$month3(silent) $IT_LAST_STATUS $(jq -r '.error.code // "-"' "$IT_LAST_BODY" 2>/dev/null) ${IT_LAST_TIME}s" >>"$out"
	it_check "SFTP silent: $kind → 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
	# The SSH handshake is bounded by the client's fixed 10 s connect timeout
	# (src/sftp/sftp.c connect_timeout_ms), not by SFTP_TIMEOUT.
	it_check "SFTP silent: $kind answered within the 10 s handshake bound + 1 s" time_below 11
done
it_stop_one faults-silent-sftp
timed GET /api/sim/201 --interface $IP -b "portal_session=$TOK3"
it_check "SFTP down: SIM detail still 200" it_status_is 200
sed 's/^/    /' "$out"
report "sftp: requests=$n [$(awk '{print $2 "/" $3}' "$out" | sort | uniq -c | awk '{printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1}')] slowest=$(awk '{ sub("s$", "", $4); if ($4 > m) m = $4 } END { print m + 0 }' "$out")s"
it_summary
