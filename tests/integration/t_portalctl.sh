#!/bin/bash
# t_portalctl.sh — portalctl cache flush against Redis: each scope drops
# exactly its keys (catalog via app_catalog_invalidate: a new catalog:gen,
# never a missing one; account <id> only that account, generation keys kept;
# client <id>; line <msisdn>; all-portal every portal cache prefix) and never
# touches sessions, rate limits, queues, replay cursors/state, probe state,
# tokens or imported CDRs; bad ids exit 64 with nothing deleted.
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

RCLI="redis-cli -u ${REDIS_URL:-redis://127.0.0.1:6379/0}"
CTL="$IT_SBINDIR/portalctl"
A=0015F0000000003QAA
B=0015F0000000004QAA
MSISDN=09012345678
# keys no flush may touch (test-owned names, removed at the end)
KEEP="sess:it-portalctl rl:it-portalctl portal:q:it-portalctl sf:pe:replay:it-portalctl
sf:pe:state:it-portalctl probe:it-portalctl cdr:voice:$MSISDN:202611 cache:stats-it-portalctl"

gone() { [ "$($RCLI EXISTS "$1")" = 0 ]; }
there() { [ "$($RCLI EXISTS "$1")" = 1 ]; }
seed() {
	for k in catalog:public:it-pc catalog:entries "acct:$A:orders" "acct:$A:catalog:internet" \
		"acct:$B:orders" client:7:invoices client:8:invoices "freebit:line:$MSISDN:info" \
		freebit:line:09087654321:info gateways $KEEP; do
		$RCLI SET "$k" x >/dev/null
	done
	$RCLI SET "acct:$A:eligibility:gen" g0 >/dev/null
	$RCLI SET catalog:gen g0 >/dev/null
}
keep_ok() { for k in $KEEP; do there "$k" || return 1; done; }

[ -x "$CTL" ] || { it_log "portalctl not built"; it_summary; exit; }

seed
it_check "catalog: exit 0" "$CTL" cache flush catalog
it_check "catalog: public keys dropped" gone catalog:public:it-pc
it_check "catalog: entries dropped" gone catalog:entries
it_check "catalog: new generation (not deleted)" bash -c "v=\$($RCLI GET catalog:gen); [ -n \"\$v\" ] && [ \"\$v\" != g0 ]"
it_check "catalog: account keys kept" there "acct:$A:orders"

seed
it_check "account: exit 0" "$CTL" cache flush account "$A"
it_check "account: its keys dropped" bash -c "! $RCLI EXISTS 'acct:$A:orders' 'acct:$A:catalog:internet' | grep -qv '^0$'"
it_check "account: eligibility generation bumped, kept" bash -c "v=\$($RCLI GET 'acct:$A:eligibility:gen'); [ -n \"\$v\" ] && [ \"\$v\" != g0 ]"
it_check "account: another account kept" there "acct:$B:orders"
it_check "account: 15-char id accepted" "$CTL" cache flush account 0015F0000000003
it_check "account: bad id → 64" bash -c "'$CTL' cache flush account 'acct*' 2>/dev/null; test \$? = 64"
it_check "account: bad id deleted nothing" there "acct:$B:orders"

seed
it_check "client: exit 0" "$CTL" cache flush client 7
it_check "client: its keys dropped" gone client:7:invoices
it_check "client: another client kept" there client:8:invoices
it_check "client: glob id → 64" bash -c "'$CTL' cache flush client '*' 2>/dev/null; test \$? = 64"
it_check "client: glob id deleted nothing" there client:8:invoices

seed
it_check "line: exit 0" "$CTL" cache flush line $MSISDN
it_check "line: its keys dropped" gone "freebit:line:$MSISDN:info"
it_check "line: another line kept" there freebit:line:09087654321:info
it_check "line: short msisdn → 64" bash -c "'$CTL' cache flush line 0901 2>/dev/null; test \$? = 64"

seed
it_check "all-portal: exit 0" "$CTL" cache flush all-portal
for k in catalog:public:it-pc catalog:entries "acct:$A:orders" "acct:$B:orders" client:7:invoices \
	client:8:invoices "freebit:line:$MSISDN:info" gateways; do
	it_check "all-portal: $k dropped" gone "$k"
done
it_check "all-portal: catalog generation renewed, not deleted" bash -c "v=\$($RCLI GET catalog:gen); [ -n \"\$v\" ] && [ \"\$v\" != g0 ]"
it_check "all-portal: account generation renewed, not deleted" bash -c "v=\$($RCLI GET 'acct:$A:eligibility:gen'); [ -n \"\$v\" ] && [ \"\$v\" != g0 ]"
it_check "no scope ever touched sessions/queues/cursors/probes/CDRs" keep_ok
it_check "unknown scope → 64" bash -c "'$CTL' cache flush sessions 2>/dev/null; test \$? = 64"

for k in $KEEP catalog:gen "acct:$A:eligibility:gen" freebit:line:09087654321:info; do
	$RCLI DEL "$k" >/dev/null
done
$RCLI DEL "acct:$B:orders" client:8:invoices >/dev/null
it_summary
