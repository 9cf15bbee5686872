#!/bin/bash
# s_1matrix.sh — cross-account access matrix (ASVS V4.2.1, V4.1.3): every route
# with an {id} (orders, invoices + payment-link, subscriptions, support cases +
# comments, SIM + every SIM subroute incl. alerts), each account asking for each
# of the other's fixture ids — with a valid session, a valid CSRF token and a
# valid body — first cold, then again after the owner's own read warmed the
# caches. Every answer must be 404 NOT_FOUND; a 2xx is a leak. Nothing may be
# written upstream for the victim (WHMCS billable items, Salesforce comments,
# Freebit operations).
# sec: both
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/common.sh"

[ -n "${TOK1:-}" ] && [ -n "${TOK3:-}" ] || it_die "no sessions (s_0sessions)"

A1_ORDERS="8015F0000000001QAA 8015F0000000002QAA 8015F0000000003QAA"
A3_ORDERS="8015F0000000004QAA 8015F0000000005QAA 8015F0000000009QAA"
A1_INVOICES="1001 1002 1003 1004 1005 1006 1007 1008"
A3_INVOICES="1011 1012"
A1_SERVICES="150 151 152"
A3_SERVICES="201 202 203"
A1_CASES="5005F0000000001QAA 5005F0000000002QAA"
A3_CASES="5005F0000000003QAA"
RUN=$IT_WEB-$$

# routes VICTIM: "METHOD PATH BODY" lines for every {id} route over the victim's ids
routes() {
	local v=$1 id orders invoices services cases
	if [ "$v" = 3 ]; then orders=$A3_ORDERS invoices=$A3_INVOICES services=$A3_SERVICES cases=$A3_CASES
	else orders=$A1_ORDERS invoices=$A1_INVOICES services=$A1_SERVICES cases=$A1_CASES; fi
	for id in $orders; do echo "GET /api/orders/$id -"; done
	for id in $invoices; do
		echo "GET /api/billing/invoices/$id -"
		echo "POST /api/billing/invoices/$id/payment-link -"
	done
	for id in $services; do
		echo "GET /api/subscriptions/$id -"
		echo "GET /api/sim/$id -"
		echo "GET /api/sim/$id/usage -"
		echo "GET /api/sim/$id/calls?month=2026-09 -"
		echo "GET /api/sim/$id/sms?month=2026-09 -"
		echo "GET /api/sim/$id/alerts -"
		echo "PUT /api/sim/$id/alerts {\"threshold_percent\":80}"
		echo "POST /api/sim/$id/top-up {\"quota_mb\":1024}"
		echo "POST /api/sim/$id/plan {\"plan_code\":\"PASI_3G\"}"
		echo "POST /api/sim/$id/network-type {\"network_type\":\"5G\"}"
		echo "PATCH /api/sim/$id/voice-options {\"voicemail\":true}"
		echo "POST /api/sim/$id/cancel {\"confirm\":true}"
		echo "POST /api/sim/$id/reissue-esim {\"eid\":\"89049032000000000000000000000099\"}"
	done
	for id in $cases; do
		echo "GET /api/support/cases/$id -"
		echo "POST /api/support/cases/$id/comments {\"body\":\"s_1matrix $RUN\"}"
	done
}

upstream_writes() { # a fingerprint of everything written upstream
	printf '%s %s %s\n' \
		"$(curl -s "$WH/__sim/calls" | jq '[.[] | select(.action == "AddBillableItem" or .action == "CreateInvoice" or .action == "CreateSsoToken")] | length')" \
		"$(curl -s "$SF/__sim/state" | jq '[.CaseComment[]?] | length')" \
		"$(curl -s "$FB/__sim/calls" | jq '[.[] | select(.method != "GET" and ((.action // "") | test("Info|info|detail|Detail|get|Get") | not))] | length')"
}

requests=0 leaks=0 wrong=0
leak_list="$IT_ROOT/sec/leaks-$IT_WEB.txt"
: >"$leak_list"
attack() { # attacker-k victim-k phase
	local tok csrf method path body n=0
	if [ "$1" = 1 ]; then tok=$TOK1 csrf=$CSRF1; else tok=$TOK3 csrf=$CSRF3; fi
	while read -r method path body; do
		n=$((n + 1))
		req "$tok" "$csrf" "$method" "$path" "$body" -H "Idempotency-Key: k-$RUN-$3-$n"
		requests=$((requests + 1))
		case $IT_LAST_STATUS in
		404) jq -e '.error.code == "NOT_FOUND"' "$IT_LAST_BODY" >/dev/null 2>&1 ||
			{ wrong=$((wrong + 1)); echo "A$1→A$2 $3 $method $path: 404 without NOT_FOUND" >>"$leak_list"; } ;;
		2??) leaks=$((leaks + 1)); echo "LEAK A$1→A$2 $3 $method $path: $IT_LAST_STATUS $(head -c 200 "$IT_LAST_BODY")" >>"$leak_list" ;;
		*) wrong=$((wrong + 1)); echo "A$1→A$2 $3 $method $path: $IT_LAST_STATUS $(head -c 200 "$IT_LAST_BODY")" >>"$leak_list" ;;
		esac
	done < <(routes "$2")
}
warm() { # owner-k: the owner reads every GET route of its own ids; echoes "ok/total"
	local tok method path body ok=0 all=0
	if [ "$1" = 1 ]; then tok=$TOK1; else tok=$TOK3; fi
	while read -r method path body; do
		[ "$method" = GET ] || continue
		req "$tok" - GET "$path"
		all=$((all + 1))
		case $IT_LAST_STATUS in 2??) ok=$((ok + 1)) ;; esac
	done < <(routes "$1")
	echo "$ok/$all"
}
details_ok() { # owner-k: the detail routes of the owner's first ids answer 200 (ids are real)
	local tok=$TOK1 o=${A1_ORDERS%% *} i=${A1_INVOICES%% *} s=${A1_SERVICES%% *} c=${A1_CASES%% *} p
	[ "$1" = 3 ] && tok=$TOK3 o=${A3_ORDERS%% *} i=${A3_INVOICES%% *} s=${A3_SERVICES%% *} c=${A3_CASES%% *}
	for p in /api/orders/$o /api/billing/invoices/$i /api/subscriptions/$s /api/support/cases/$c; do
		req "$tok" - GET "$p"
		[ "$IT_LAST_STATUS" = 200 ] || { echo "owner GET $p → $IT_LAST_STATUS"; return 1; }
	done
	if [ "$1" = 3 ]; then
		req "$tok" - GET /api/sim/$s
		[ "$IT_LAST_STATUS" = 200 ] || { echo "owner GET /api/sim/$s → $IT_LAST_STATUS"; return 1; }
	fi
}

before=$(upstream_writes)
attack 1 3 cold
attack 3 1 cold
both_details_ok() { details_ok 1 && details_ok 3; }
it_check "A1 and A3's own ids answer their owner (the matrix is not vacuous)" both_details_ok
w3=$(warm 3)
w1=$(warm 1)
attack 1 3 warm
attack 3 1 warm
after=$(upstream_writes)

echo "REPORT cross-account matrix [$IT_WEB]: $requests requests, $leaks leaks (2xx), $wrong other non-404; owner warm-up reads 2xx: A3 $w3, A1 $w1"
it_check "cross-account: 0 leaks over $requests requests" test "$leaks" = 0
it_check "cross-account: every answer 404 NOT_FOUND" test "$wrong" = 0
[ -s "$leak_list" ] && head -n 40 "$leak_list"
it_check "cross-account: nothing written upstream ($before → $after)" test "$before" = "$after"
it_check "apps alive after the matrix" alive
it_summary
