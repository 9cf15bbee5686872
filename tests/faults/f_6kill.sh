#!/bin/bash
# f_6kill.sh — kill -9 of FastCGI workers under load:
#   * nginx + the spawn-fcgi/multiwatch pool of portal-health (IT_FCGI_CHILDREN
#     processes, as etc/init.d/portal-fcgi runs it): multiwatch respawns each
#     killed worker;
#   * Apache mod_fcgid (the shipped etc/apache/portal.conf, started here on a
#     port of its own): the process manager respawns them.
# Four keep-alive curl loops send GET /health (it reads PostgreSQL and Redis)
# while one worker is killed every 0.5 s. Clients may see at most the
# requests in flight in the killed workers fail: failures ≤ kills. Afterwards
# the pool is back to its size and 30 requests in a row succeed.
set -u
. "$(dirname "$0")/common.sh"

KILLS=${FAULTS_KILLS:-8}
L=$IT_ROOT/f_kill
mkdir -p "$L"

# load_and_kill NAME PICK_CMD: load for the kills, counting answers in $L/NAME.*
load_and_kill() {
	local name=$1 pick=$2 i w urls=() killed=0 stop
	stop=$L/$name.stop
	rm -f "$L/$name".*
	for i in $(seq 1 20); do urls+=(-o /dev/null "$IT_BASE_URL/health"); done
	for w in 1 2 3 4; do
		(while [ ! -e "$stop" ]; do
			curl -s -w '%{http_code}\n' --max-time 10 "${urls[@]}" >>"$L/$name.codes.$w"
		done) &
		echo $! >>"$L/$name.loaders"
	done
	sleep 1
	for i in $(seq 1 "$KILLS"); do
		w=$($pick | shuf -n1)
		if [ -n "$w" ] && kill -KILL "$w" 2>/dev/null; then killed=$((killed + 1)); fi
		sleep 0.5
	done
	sleep 1
	touch "$stop"
	for w in $(cat "$L/$name.loaders"); do wait "$w"; done
	cat "$L/$name".codes.* >"$L/$name.codes"
	echo "$killed" >"$L/$name.killed"
}

# ---------------------------------------------------------------- nginx + multiwatch
mw=$(it_pid_of fcgi-health)
nginx_workers() { pgrep -P "$mw"; }
it_check "nginx pool: multiwatch runs $IT_FCGI_CHILDREN portal-health workers" test "$(nginx_workers | wc -l)" = "$IT_FCGI_CHILDREN"
load_and_kill nginx nginx_workers
k=$(cat "$L/nginx.killed")
bad=$(count_not "$L/nginx.codes" 200)
it_check "nginx: $k workers killed under load" test "$k" = "$KILLS"
it_check "nginx: $(wc -l <"$L/nginx.codes") requests, failures $bad ≤ kills $k ($(codes "$L/nginx.codes"))" test "$bad" -le "$k"
it_check "nginx: multiwatch respawned the pool ($IT_FCGI_CHILDREN workers)" \
	it_wait_for 10 bash -c "[ \$(pgrep -P $mw | wc -l) = $IT_FCGI_CHILDREN ]"
ok=0
for i in $(seq 1 30); do
	timed GET /health
	[ "$IT_LAST_STATUS" = 200 ] && ok=$((ok + 1))
done
it_check "nginx: 30 of 30 later requests 200" test "$ok" = 30
report "kill-9 nginx+multiwatch: requests=$(wc -l <"$L/nginx.codes") killed=$k [$(codes "$L/nginx.codes")] failed=$bad later=$ok/30"

# ---------------------------------------------------------------- Apache mod_fcgid
if [ -x /usr/sbin/apache2 ] && [ -f /usr/lib/apache2/modules/mod_fcgid.so ]; then
	saved_env=$IT_ENV
	IT_ENV=$IT_ROOT/f_kill-apache.env # its exports stay out of the other scenarios' env
	it_start_apache
	IT_ENV=$saved_env
	apache_workers() { # portal-health.fcgi processes that are not multiwatch's
		local p
		for p in $(pgrep -f "^$IT_LIBEXECDIR/portal-health.fcgi"); do
			[ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$mw" ] || echo "$p"
		done
	}
	for i in $(seq 1 20); do timed GET /health; done
	it_check "apache: portal-health.fcgi answers 200" it_status_is 200
	it_check "apache: mod_fcgid runs portal-health.fcgi processes" test "$(apache_workers | wc -l)" -gt 0
	load_and_kill apache apache_workers
	k=$(cat "$L/apache.killed")
	bad=$(count_not "$L/apache.codes" 200)
	it_check "apache: $k workers killed under load" test "$k" -gt 0
	it_check "apache: $(wc -l <"$L/apache.codes") requests, failures $bad ≤ kills $k ($(codes "$L/apache.codes"))" test "$bad" -le "$k"
	ok=0
	for i in $(seq 1 30); do
		timed GET /health
		[ "$IT_LAST_STATUS" = 200 ] && ok=$((ok + 1))
	done
	it_check "apache: 30 of 30 later requests 200" test "$ok" = 30
	it_check "apache: mod_fcgid has processes again" test "$(apache_workers | wc -l)" -gt 0
	report "kill-9 apache mod_fcgid: requests=$(wc -l <"$L/apache.codes") killed=$k [$(codes "$L/apache.codes")] failed=$bad later=$ok/30"
	it_stop_apache
else
	echo "  (apache2 / mod_fcgid not installed: Apache part skipped)"
fi
it_summary
