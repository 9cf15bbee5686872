#!/bin/bash
# f_1redis.sh — Redis stopped and restarted under load (resolutions §18, seed
# 000 fallback table "Redis down → direct API calls"):
#   * two background loops read the public catalog through nginx (the cached
#     URL and a unique, uncached one = a live read) from rotating 127.0.8.x
#     addresses: every answer 200 before, during and after the outage;
#   * a third loop calls GET /api/auth/me with a session: 200 before, 503
#     UPSTREAM_UNAVAILABLE with Retry-After while Redis is down (never 500,
#     never a hang), 401 after (see below);
#   * the harness's Redis has no persistence (--save '' --appendonly no), so
#     the sessions are gone after the restart: the old cookie answers 401 and
#     a fresh login (of a user signed up here) works again.
set -u
. "$(dirname "$0")/common.sh"

IP=127.0.8.250
PW='Blue-Harbour-Lantern-42'
EMAIL=hanako.suzuki@example.jp
JAR=$IT_ROOT/f_redis.jar
L=$IT_ROOT/f_redis
mkdir -p "$L"
rm -f "$L"/* "$JAR"
login_json() { jq -nc --arg e "$EMAIL" --arg p "$PW" '{email: $e, password: $p}'; }

curl -sS -XPOST "$SF/__sim/reset" >/dev/null
curl -sS -XPOST "$WH/__sim/reset" >/dev/null
rdel 'catalog:*'

# A user of our own (A2's sign-up), so a real login can be made afterwards.
body=$(jq -nc --arg e "$EMAIL" --arg p "$PW" '{customer_number: "CN10000002", email: $e, password: $p,
	first_name: "Hanako", last_name: "Suzuki", phone: "09022220202",
	address: {postcode: "150-0002", prefecture: "Tokyo", city: "Shibuya-ku", street: "2-3-4 Shibuya"}}')
timed POST /api/auth/signup --interface $IP -c "$JAR" -H 'Content-Type: application/json' --data-binary "$body"
it_check "setup: sign-up 201" it_status_is 201
timed GET /api/auth/me --interface $IP -b "$JAR"
it_check "setup: GET /api/auth/me 200" it_status_is 200
timed GET /api/public/services --interface $IP
it_check "setup: public catalog 200 (warms Redis and nginx's cache)" it_status_is 200

STOP=$L/stop
# load_public FILE MODE: MODE cached = the one URL nginx caches; live = unique query strings
load_public() {
	local f=$1 mode=$2 i=0 url
	while [ ! -e "$STOP" ]; do
		i=$((i + 1))
		url=$IT_BASE_URL/api/public/services
		[ "$mode" = live ] && url="$url?live=$i"
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 --interface "127.0.8.$((i % 200 + 1))" "$url" >>"$f"
	done
}
load_auth() {
	local f=$1
	while [ ! -e "$STOP" ]; do
		curl -s -o /dev/null -D "$L/auth.h" -w '%{http_code} %{time_total}' --max-time 10 \
			--interface $IP -b "$JAR" "$IT_BASE_URL/api/auth/me" >>"$f"
		if grep -qi '^retry-after:' "$L/auth.h"; then echo " ra" >>"$f"; else echo " -" >>"$f"; fi
		sleep 0.05
	done
}
load_public "$L/cached" cached &
p1=$!
load_public "$L/live" live &
p2=$!
load_auth "$L/auth" &
p3=$!

sleep 2
it_log "stopping Redis"
it_stop_redis
sleep 1
timed GET /api/auth/me --interface $IP -b "$JAR"
it_check "Redis down: /api/auth/me 503 UPSTREAM_UNAVAILABLE + Retry-After" unavailable
it_check "Redis down: /api/auth/me answered within 2 s" time_below 2
timed POST /api/auth/login --interface $IP -H 'Content-Type: application/json' --data-binary "$(login_json)"
it_check "Redis down: login 503 UPSTREAM_UNAVAILABLE + Retry-After" unavailable
it_check "Redis down: login answered within 3 s" time_below 3
timed GET /api/public/services --interface $IP
it_check "Redis down: public catalog 200" it_status_is 200
timed GET "/api/public/services?down=$RUN" --interface $IP
it_check "Redis down: public catalog, uncached URL (live read) 200" it_status_is 200
it_check "Redis down: live read within 3 s" time_below 3
sleep 3
it_log "starting Redis again"
it_start_redis_again || it_die "Redis did not come back"
sleep 3
touch "$STOP"
wait $p1 $p2 $p3

# After the outage: the sessions were in the non-persistent Redis.
timed GET /api/auth/me --interface $IP -b "$JAR"
it_check "Redis back (no persistence): the old session is gone → 401" error_is 401 UNAUTHENTICATED
rm -f "$JAR"
timed POST /api/auth/login --interface $IP -c "$JAR" -H 'Content-Type: application/json' --data-binary "$(login_json)"
it_check "Redis back: a fresh login 200" it_status_is 200
timed GET /api/auth/me --interface $IP -b "$JAR"
it_check "Redis back: the new session works" it_status_is 200

cut -d' ' -f1 "$L/auth" >"$L/auth.codes"
auth_503_ra=$(grep -c '^503 .* ra$' "$L/auth" || true)
auth_503=$(grep -c '^503 ' "$L/auth" || true)
auth_max=$(awk '{ if ($2 > m) m = $2 } END { print m + 0 }' "$L/auth")
for f in cached live; do
	it_check "load ($f catalog): $(wc -l <"$L/$f") requests, all 200 ($(codes "$L/$f"))" \
		test "$(count_not "$L/$f" 200)" = 0
done
it_check "load (/api/auth/me): only 200 / 503 / 401 ($(codes "$L/auth.codes"))" \
	test "$(count_not "$L/auth.codes" 200 503 401)" = 0
it_check "load (/api/auth/me): some 503 seen while Redis was down" test "$auth_503" -gt 0
it_check "load (/api/auth/me): every 503 had Retry-After" test "$auth_503_ra" = "$auth_503"
it_check "load (/api/auth/me): slowest answer ${auth_max}s < 3 s" awk "BEGIN { exit !($auth_max < 3) }"
report "redis: public cached sent=$(wc -l <"$L/cached") [$(codes "$L/cached")]; public live sent=$(wc -l <"$L/live") [$(codes "$L/live")]; auth/me sent=$(wc -l <"$L/auth") [$(codes "$L/auth.codes")] 503-with-Retry-After=$auth_503_ra slowest=${auth_max}s; sessions after restart: lost (Redis runs without persistence), fresh login 200"

psql_q "DELETE FROM users WHERE email = '$EMAIL'" >/dev/null
it_summary
