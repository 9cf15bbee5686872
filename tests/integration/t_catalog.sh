#!/bin/bash
# t_catalog.sh — portal-catalog.fcgi through the web server against the
# Salesforce simulator and the run's Redis (portal-api.md "Catalog", seed 002,
# resolutions §8, §18, §19, §30):
#   * public categories / plans / add-ons: shapes and the fixture values
#     (tests/fixtures/CROSSREF.md), unorderable and hidden products absent,
#     Cache-Control public with the configured max-age / s-maxage, cookies
#     ignored, unknown category 404;
#   * one SOQL fills the whole catalog; later reads are served from Redis
#     (no further query in the simulator's /__sim/calls), also while
#     Salesforce answers 503; cold cache + Salesforce down → 503
#     UPSTREAM_UNAVAILABLE with Retry-After; Redis down → live read;
#   * the web server's own cache in front (nginx X-Cache-Status, Apache
#     mod_cache X-Cache) and the site files' routes;
#   * per-address rate limit → 429 RATE_LIMITED + Retry-After;
#   * the account route: 401 without a session, private, no-store.
# Requests that must reach the app (not the web server's cache) carry a
# unique query string, which the app ignores. Each part uses its own source
# address on 127.0.0.0/8 so the per-address rate limit of one part (and of
# other tests) does not leak into another.
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

SF="http://127.0.0.1:$SIM_SF_PORT"
net=127.0.1
[ "$IT_WEB" = apache ] && net=127.0.2
IP_MAIN=$net.10
IP_COOKIE=$net.11
IP_FAULT=$net.12
IP_RL=$net.13
IP_SWEEP=$net.14
IP_ACCT=$net.15
# (called as $(uniq): a subshell, so no counter; the clock makes it unique)
uniq() { echo "r=$IT_WEB-$$-$(date +%s%N)"; }

cfg() { # KEY DEFAULT: value from the run's config file
	local v
	v=$(sed -n "s/^$1[[:space:]]*=[[:space:]]*//p" "$PORTAL_CONFIG" | tail -n1)
	echo "${v:-$2}"
}
MAX_AGE=$(cfg PUBLIC_CACHE_MAX_AGE_S 60)
S_MAXAGE=$(cfg PUBLIC_CACHE_S_MAXAGE_S 300)
RL=$(cfg RATE_LIMIT_PUBLIC_PER_MIN 120)

rcli() { redis-cli -h 127.0.0.1 -p "$IT_REDIS_PORT" "$@"; }
catalog_flush() { # what the event subscriber's invalidation leaves: no catalog keys
	rcli --scan --pattern 'catalog:*' | while read -r k; do rcli DEL "$k" >/dev/null; done
}
sf_queries() { curl -sS "$SF/__sim/calls" | jq '[.[] | select(.action == "query")] | length'; }
get() { # IP PATH [curl args…]
	local ip=$1 path=$2
	shift 2
	it_http GET "$path" --interface "$ip" "$@"
}
queries_are() { # expected
	local q
	q=$(sf_queries)
	[ "$q" = "$1" ] || { echo "Salesforce saw $q queries, expected $1"; return 1; }
}
no_set_cookie() { ! grep -qi '^set-cookie:' "$IT_LAST_HEADERS" || { echo "Set-Cookie sent"; return 1; }; }
json_ct() { grep -qi '^content-type: application/json; charset=utf-8' "$IT_LAST_HEADERS" || { echo "content type"; return 1; }; }
error_is() { # status code
	it_status_is "$1" && it_json_eq .error.code "$2" && it_json '.error.request_id | strings' >/dev/null
}
private_nostore() { it_header_eq Cache-Control "private, no-store"; }
public_cc() { it_header_eq Cache-Control "public, max-age=$MAX_AGE, s-maxage=$S_MAXAGE"; }
web_cache_status() { # the web server's cache verdict for the last response
	if [ "$IT_WEB" = nginx ]; then it_header X-Cache-Status; else it_header X-Cache | awk '{print $1}'; fi
}
web_cache_is() { local v; v=$(web_cache_status); [ "$v" = "$1" ] || { echo "web cache '$v', expected $1"; return 1; }; }

# ---------------------------------------------------------------- setup
curl -sS -XPOST "$SF/__sim/reset" >/dev/null
catalog_flush

# ---------------------------------------------------------------- the site files
if [ "$IT_WEB" = nginx ]; then
	site=$IT_SRCDIR/etc/nginx/portal.conf
	routes_to() { # location app
		awk -v loc="$1" '$1 == "location" && $2 == loc {on = 1} on && /fastcgi_pass/ {print; exit}' "$site" |
			grep -q "portal-$2.sock" || { echo "location $1 does not pass to portal-$2"; return 1; }
	}
	it_check "nginx routes /api/public/services to portal-catalog" routes_to /api/public/services catalog
	it_check "nginx routes /api/account/services to portal-catalog" routes_to /api/account/services catalog
	it_check "nginx caches /api/public/services (fastcgi_cache)" bash -c \
		"awk '/location \/api\/public\/services/,/}/' '$site' | grep -q 'fastcgi_cache portal_catalog'"
	it_check "nginx drops cookies of /api/public/services" bash -c \
		"grep -q '\"~^/api/public/services\" *\"\";' '$site' && grep -q 'fastcgi_param HTTP_COOKIE *\$portal_cookie' '$site'"
else
	site=$IT_SRCDIR/etc/apache/portal.conf
	it_check "Apache routes /api/public/services to portal-catalog" \
		grep -Eq '^[[:space:]]*ScriptAlias /api/public/services[[:space:]].*/portal-catalog\.fcgi' "$site"
	it_check "Apache routes /api/account/services to portal-catalog" \
		grep -Eq '^[[:space:]]*ScriptAlias /api/account/services[[:space:]].*/portal-catalog\.fcgi' "$site"
fi

# ---------------------------------------------------------------- cold read: one SOQL
get "$IP_MAIN" /api/public/services
it_check "categories: 200" it_status_is 200
it_check "categories: JSON" json_ct
it_check "categories: internet 2 plans / 2 add-ons, sim 3 / 1, vpn 2 / 0" it_json_eq \
	'[.data[] | "\(.category):\(.plans):\(.addons)"] | join(",")' "internet:2:2,sim:3:1,vpn:2:0"
it_check "categories: list fields" it_json_eq '"\(.page) \(.limit) \(.total)"' "1 3 3"
it_check "categories: Cache-Control public, max-age, s-maxage" public_cc
it_check "categories: X-Request-Id" it_header_present X-Request-Id
it_check "categories: no Set-Cookie" no_set_cookie
it_check "categories: web cache MISS first" web_cache_is MISS
it_check "cold catalog: exactly one SOQL query reached Salesforce" queries_are 1
get "$IP_MAIN" /api/public/services
it_check "categories again: web server cache HIT" web_cache_is HIT
it_check "categories again: same answer" it_json_eq '.data | length' 3

# ---------------------------------------------------------------- plans and add-ons (from Redis)
get "$IP_MAIN" /api/public/services/internet/plans
it_check "internet plans: 200" it_status_is 200
it_check "internet plans: Cache-Control public" public_cc
it_check "internet plans: the two mapped fibre plans, SKU order" it_json_eq '[.data[].sku] | join(",")' \
	"INT-FTTH-10G,INT-FTTH-1G"
it_check "internet plans: INT-LEGACY-100M (no WHMCS product) not offered" it_json_eq \
	'[.data[] | select(.sku == "INT-LEGACY-100M")] | length' 0
it_check "internet plans: 1G price 5280.00 JPY" it_json_eq \
	'.data[] | select(.sku == "INT-FTTH-1G") | "\(.price.amount) \(.price.currency)"' "5280.00 JPY"
it_check "internet plans: 10G price 6380.00" it_json_eq \
	'.data[] | select(.sku == "INT-FTTH-10G") | .price.amount' "6380.00"
it_check "internet plans: item shape" it_json_eq \
	'.data[] | select(.sku == "INT-FTTH-1G") | "\(.id) \(.name) \(.type) \(.billing_cycle) \(.eligibility_group) \(.features | length) \(.category) \(.description)"' \
	"01t5F0000000001QAA Fiber 1 Gbps plan monthly FTTH_1G 3 internet Fiber 1 Gbps"
it_check "internet plans: features in order" it_json_eq \
	'.data[] | select(.sku == "INT-FTTH-1G") | .features | join("|")' "Up to 1 Gbps|IPv6 (IPoE)|No data cap"
it_check "internet plans: list fields" it_json_eq '"\(.page) \(.limit) \(.total)"' "1 2 2"
get "$IP_MAIN" /api/public/services/internet/addons
it_check "internet add-ons: router and installation" it_json_eq \
	'[.data[] | "\(.sku):\(.type):\(.billing_cycle):\(.price.amount)"] | join(",")' \
	"INT-INSTALL:installation:onetime:22000.00,INT-ROUTER:addon:monthly:550.00"
get "$IP_MAIN" /api/public/services/sim/plans
it_check "sim plans: three, public prices, family price shown apart" it_json_eq \
	'[.data[] | "\(.sku):\(.price.amount):\(.family_price.amount)"] | join(",")' \
	"SIM-5G-20GB:2980.00:2680.00,SIM-DATA-3GB:990.00:890.00,SIM-VOICE-10GB:1980.00:1780.00"
get "$IP_MAIN" /api/public/services/sim/addons
it_check "sim add-ons: activation fee" it_json_eq '[.data[] | "\(.sku):\(.type):\(.price.amount)"] | join(",")' \
	"SIM-ACTIVATION:activation_fee:3300.00"
get "$IP_MAIN" /api/public/services/vpn/plans
it_check "vpn plans: monthly and annual" it_json_eq '[.data[] | "\(.sku):\(.billing_cycle):\(.price.amount)"] | join(",")' \
	"VPN-ANNUAL:annually:7000.00,VPN-BASIC:monthly:700.00"
get "$IP_MAIN" /api/public/services/vpn/addons
it_check "vpn add-ons: empty list, 200" bash -c "[ '$IT_LAST_STATUS' = 200 ] && jq -e '.data == [] and .total == 0' '$IT_LAST_BODY' >/dev/null"
it_check "OLD-PLAN (not in the portal catalog) never shown" bash -c \
	"for c in internet sim vpn; do for k in plans addons; do
	   curl -sS --interface $IP_SWEEP '$IT_BASE_URL/api/public/services/'\$c/\$k?$(uniq) | grep -q OLD-PLAN && exit 1; done; done; exit 0"
it_check "plans and add-ons came from Redis: still one query" queries_are 1

# ---------------------------------------------------------------- unknown categories
get "$IP_MAIN" /api/public/services/tv/plans
it_check "unknown category: 404 NOT_FOUND" error_is 404 NOT_FOUND
it_check "unknown category: not cacheable" private_nostore
get "$IP_MAIN" /api/public/services/tv/addons
it_check "unknown category add-ons: 404" error_is 404 NOT_FOUND
get "$IP_MAIN" /api/public/services/INTERNET/plans
it_check "category is case-sensitive: 404" error_is 404 NOT_FOUND
get "$IP_MAIN" "/api/public/services/%27%20OR%201%3D1/plans"
it_check "category with SOQL metacharacters: 404" error_is 404 NOT_FOUND
get "$IP_MAIN" /api/public/services/%C0%AF/plans
it_check "category that is not UTF-8: 400 BAD_REQUEST" error_is 400 BAD_REQUEST
get "$IP_MAIN" /api/public/services/internet/other
it_check "unknown sub-resource: 404" error_is 404 NOT_FOUND
it_http POST /api/public/services --interface "$IP_MAIN" -d '{}' -H 'Content-Type: application/json'
it_check "POST on the public catalog: 405" error_is 405 METHOD_NOT_ALLOWED
it_check "made-up categories never reach Salesforce" queries_are 1

# ---------------------------------------------------------------- second read from Redis, past the web cache
get "$IP_MAIN" /api/public/services/internet/plans
first=$(cat "$IT_LAST_BODY")
get "$IP_MAIN" "/api/public/services/internet/plans?$(uniq)"
it_check "past the web cache: 200" it_status_is 200
it_check "past the web cache: web cache MISS (reached the app)" web_cache_is MISS
it_check "past the web cache: byte-identical body" bash -c "[ \"\$(cat '$IT_LAST_BODY')\" = '$first' ]"
it_check "past the web cache: served from Redis, no second query" queries_are 1

# ---------------------------------------------------------------- never personalised
get "$IP_COOKIE" "/api/public/services/sim/plans?$(uniq)" -H "Cookie: portal_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; other=1"
it_check "with a cookie: 200, same public prices" it_json_eq '[.data[].price.amount] | join(",")' "2980.00,990.00,1980.00"
it_check "with a cookie: still Cache-Control public" public_cc
it_check "with a cookie: no Set-Cookie" no_set_cookie

# ---------------------------------------------------------------- Salesforce down
curl -sS -XPOST "$SF/__sim/faults" -d '{"match":"query","status":503,"count":-1,
  "body":[{"message":"Server Unavailable","errorCode":"SERVER_UNAVAILABLE"}]}' >/dev/null
get "$IP_FAULT" "/api/public/services/internet/plans?$(uniq)"
it_check "Salesforce 503, warm cache: 200" it_status_is 200
it_check "Salesforce 503, warm cache: the cached plans" it_json_eq '[.data[].sku] | join(",")' "INT-FTTH-10G,INT-FTTH-1G"
it_check "Salesforce 503, warm cache: Salesforce not even asked" queries_are 1
get "$IP_FAULT" "/api/public/services?$(uniq)"
it_check "Salesforce 503, warm cache: categories 200" it_status_is 200

catalog_flush
get "$IP_FAULT" "/api/public/services/internet/plans?$(uniq)"
it_check "Salesforce 503, cold cache: 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
it_check "Salesforce 503, cold cache: Retry-After" it_header_present Retry-After
it_check "Salesforce 503, cold cache: not cacheable" private_nostore
get "$IP_FAULT" "/api/public/services?$(uniq)"
it_check "Salesforce 503, cold cache: categories 503" error_is 503 UPSTREAM_UNAVAILABLE
it_check "Salesforce 503, cold cache: nothing cached" bash -c "[ -z \"\$(redis-cli -p $IT_REDIS_PORT --scan --pattern 'catalog:public:*')\" ]"

curl -sS -XDELETE "$SF/__sim/faults" >/dev/null
before=$(sf_queries)
get "$IP_FAULT" "/api/public/services/sim/addons?$(uniq)"
it_check "Salesforce back: 200" it_status_is 200
it_check "Salesforce back: one new query" queries_are $((before + 1))
it_check "Salesforce back: cache filled (categories, plans, add-ons, entries)" bash -c \
	"[ \"\$(redis-cli -p $IT_REDIS_PORT --scan --pattern 'catalog:*' | grep -cv '^catalog:gen$')\" = 8 ]"
it_check "cached without TTL (invalidated by events, seed 002)" bash -c \
	"[ \"\$(redis-cli -p $IT_REDIS_PORT TTL catalog:public:internet:plans)\" = -1 ]"

# ---------------------------------------------------------------- Redis down: live reads
it_log "stopping Redis"
it_stop_redis
before=$(sf_queries)
get "$IP_FAULT" "/api/public/services/vpn/plans?$(uniq)"
it_check "Redis down: 200 (live read)" it_status_is 200
it_check "Redis down: the plans" it_json_eq '[.data[].sku] | join(",")' "VPN-ANNUAL,VPN-BASIC"
it_check "Redis down: read from Salesforce" bash -c "[ \$(curl -sS '$SF/__sim/calls' | jq '[.[] | select(.action == \"query\")] | length') -gt $before ]"
get "$IP_FAULT" /api/account/services/internet/plans -H "Cookie: portal_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
it_check "Redis down: account route 503 UPSTREAM_UNAVAILABLE (sessions live there)" error_is 503 UPSTREAM_UNAVAILABLE
it_check "Redis down: account route Retry-After" it_header_present Retry-After
it_log "starting Redis again"
it_start_redis_again || it_die "Redis did not come back"
get "$IP_FAULT" "/api/public/services/vpn/plans?$(uniq)"
it_check "Redis back: 200" it_status_is 200

# ---------------------------------------------------------------- rate limit (resolutions §19)
rl_codes=$IT_ROOT/rl-codes-$IT_WEB
: >"$rl_codes"
for i in $(seq 1 "$RL"); do
	curl -sS -o /dev/null -w '%{http_code}\n' --interface "$IP_RL" \
		"$IT_BASE_URL/api/public/services/sim/plans?$(uniq)" >>"$rl_codes"
done
it_check "rate limit: the first $RL requests of a minute are answered" bash -c \
	"[ \"\$(grep -c '^200$' '$rl_codes')\" = $RL ]"
get "$IP_RL" "/api/public/services/sim/plans?$(uniq)"
it_check "rate limit: request $((RL + 1)) → 429 RATE_LIMITED" error_is 429 RATE_LIMITED
it_check "rate limit: Retry-After" bash -c "v=\$(grep -i '^retry-after:' '$IT_LAST_HEADERS' | tr -dc 0-9); [ -n \"\$v\" ] && [ \"\$v\" -ge 1 ] && [ \"\$v\" -le 60 ]"
it_check "rate limit: 429 not cacheable" private_nostore
get "$IP_MAIN" "/api/public/services/sim/plans?$(uniq)"
it_check "rate limit: per address (another address still 200)" it_status_is 200

# ---------------------------------------------------------------- account route
acct() { # PATH TOKEN
	get "$IP_ACCT" "$1" -H "Cookie: portal_session=$2"
}
no_web_cache() { [ -z "$(grep -Ei '^x-cache(-status)?:' "$IT_LAST_HEADERS")" ] || { echo "web cache header present"; return 1; }; }
acct /api/account/services/internet/plans ""
it_check "account plans without a session: 401 UNAUTHENTICATED" error_is 401 UNAUTHENTICATED
it_check "account plans: Cache-Control private, no-store" private_nostore
acct /api/account/services/internet/plans AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
it_check "account plans with an unknown session: 401" error_is 401 UNAUTHENTICATED

# Sessions for fixture accounts straight in Redis (tests/integration/mksession,
# prints "<token> <csrf>") until portal-auth.fcgi's login exists; the
# customer-journey test will log in for real.
helper=$IT_BUILDDIR/tests/integration/mksession
session_for() { "$helper" "$1" "$2" | cut -d' ' -f1; }
A1=0015F0000000001QAA   # FTTH_1G;FTTH_10G
A2=0015F0000000002QAA   # FTTH_1G
A3=0015F0000000003QAA   # no eligibility, SIM family discount
A6=0015F0000000006QAA   # no eligibility
if [ -x "$helper" ]; then
	t1=$(session_for 9001 "$A1") t2=$(session_for 9002 "$A2") t3=$(session_for 9003 "$A3") t6=$(session_for 9006 "$A6")
	it_check "sessions for fixture accounts created" test -n "$t1" -a -n "$t2" -a -n "$t3" -a -n "$t6"
	acct /api/account/services/internet/plans "$t2"
	it_check "A2 (FTTH_1G): 200" it_status_is 200
	it_check "A2 (FTTH_1G): only the 1G plan" it_json_eq '[.data[].sku] | join(",")' "INT-FTTH-1G"
	it_check "A2: list fields" it_json_eq '"\(.page) \(.limit) \(.total)"' "1 1 1"
	it_check "A2: Cache-Control private, no-store" private_nostore
	it_check "A2: not cached by the web server" no_web_cache
	it_check "A2: no Set-Cookie" no_set_cookie
	acct /api/account/services/internet/plans "$t1"
	it_check "A1 (FTTH_1G;FTTH_10G): both fibre plans" it_json_eq '[.data[].sku] | join(",")' "INT-FTTH-10G,INT-FTTH-1G"
	acct /api/account/services/internet/plans "$t6"
	it_check "A6 (no eligibility): no gated internet plan, 200 []" bash -c \
		"[ '$IT_LAST_STATUS' = 200 ] && jq -e '.data == []' '$IT_LAST_BODY' >/dev/null"
	acct /api/account/services/sim/plans "$t3"
	it_check "A3 (family discount): SIM plans at family prices" it_json_eq \
		'[.data[] | "\(.sku):\(.price.amount)"] | join(",")' "SIM-5G-20GB:2680.00,SIM-DATA-3GB:890.00,SIM-VOICE-10GB:1780.00"
	acct /api/account/services/sim/plans "$t1"
	it_check "A1 (no discount): SIM plans at public prices" it_json_eq \
		'[.data[] | "\(.sku):\(.price.amount)"] | join(",")' "SIM-5G-20GB:2980.00,SIM-DATA-3GB:990.00,SIM-VOICE-10GB:1980.00"
	acct /api/account/services/vpn/plans "$t6"
	it_check "A6: ungated VPN plans" it_json_eq '[.data[].sku] | join(",")' "VPN-ANNUAL,VPN-BASIC"
	acct /api/account/services/tv/plans "$t1"
	it_check "account, unknown category: 404 NOT_FOUND" error_is 404 NOT_FOUND
	it_check "eligibility cached per account, no TTL" bash -c \
		"[ \"\$(redis-cli -p $IT_REDIS_PORT TTL acct:$A2:eligibility)\" = -1 ]"

	curl -sS -XPOST "$SF/__sim/faults" -d '{"match":"query","status":503,"count":-1}' >/dev/null
	acct /api/account/services/internet/plans "$t2"
	it_check "Salesforce 503, warm caches: account plans still 200" it_json_eq '[.data[].sku] | join(",")' "INT-FTTH-1G"
	rcli DEL "acct:$A6:eligibility" >/dev/null
	acct /api/account/services/internet/plans "$t6"
	it_check "Salesforce 503, eligibility not cached: 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
	curl -sS -XDELETE "$SF/__sim/faults" >/dev/null

	# The address qualifies for 10G now; the cached eligibility stays until the
	# AccountEligibilityChanged__e invalidation drops acct:<id>:eligibility.
	acct /api/account/services/internet/plans "$t6"
	curl -sS -XPATCH "$SF/__sim/sobjects/Account/$A6" -d '{"Internet_Eligibility__c":"FTTH_10G"}' >/dev/null
	acct /api/account/services/internet/plans "$t6"
	it_check "eligibility changed in Salesforce: cached answer until invalidated" bash -c \
		"[ '$IT_LAST_STATUS' = 200 ] && jq -e '.data == []' '$IT_LAST_BODY' >/dev/null"
	rcli DEL "acct:$A6:eligibility" >/dev/null
	acct /api/account/services/internet/plans "$t6"
	it_check "after the invalidation: the 10G plan" it_json_eq '[.data[].sku] | join(",")' "INT-FTTH-10G"
else
	it_log "no $helper: account route with a session not tested"
fi

curl -sS -XPOST "$SF/__sim/reset" >/dev/null
catalog_flush
it_summary
