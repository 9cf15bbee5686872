#!/bin/bash
# t_support.sh — portal-support.fcgi through the web server against the
# Salesforce simulator, PostgreSQL and Redis (portal-api.md "Support",
# resolutions §16, §31; seed 002: cases are read live):
#   * list: A1's fixture cases, newest first, nothing of A3's;
#   * create: 201, and the simulator's Case has Origin "Portal Website",
#     the session's AccountId, the §16 ContactId, Type / Priority from the
#     picklists, Status New, the text as given (controls stripped);
#   * detail with published comments only (child subquery), add a comment
#     (IsPublished true in the simulator), it shows in the detail;
#   * IDOR: A3's case id → 404 on detail and on comment (nothing created);
#   * CSRF missing → 403 on both POSTs; bad priority / category / missing
#     subject → 400 naming the field; body over HTTP_MAX_BODY → 413 (no
#     Case); no session → 401;
#   * Salesforce 503 → 503 UPSTREAM_UNAVAILABLE (list, detail, create); 429
#     and a read past SF_TIMEOUT_MS → 503 (within the timeout + 1 s).
# Sessions come from tests/integration/mksession; rows inserted here are
# removed at the end.
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

SF="http://127.0.0.1:$SIM_SF_PORT"
MKSESSION=$IT_BUILDDIR/tests/integration/mksession
A1=0015F0000000001QAA A3=0015F0000000003QAA
A1_CASE=5005F0000000001QAA A1_OLD_CASE=5005F0000000002QAA A3_CASE=5005F0000000003QAA
A1_CONTACT_OLDEST=0035F0000000001QAA A1_CONTACT_TARO=0035F0000000002QAA
RUN=$IT_WEB-$$

psql_q() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }

if [ ! -x "$MKSESSION" ]; then
	it_log "t_support: $MKSESSION not built: skipped"
	it_summary
	exit 0
fi

# session_for ACCOUNT WHMCS_ID: "<token> <csrf>" for the account's portal user
# (the one sign-up/link made, else one inserted here and deleted by cleanup).
session_for() {
	local acct=$1 wh=$2 uid
	uid=$(psql_q "SELECT user_id FROM id_mappings WHERE sf_account_id = '$acct'")
	if [ -z "$uid" ]; then
		uid=$(psql_q "INSERT INTO users (email, password_hash) VALUES
			('t-support-${acct,,}-$RUN@example.test', '\$argon2id\$v=19\$m=19456,t=2,p=1\$dGVzdA\$dGVzdA')
			RETURNING id" | head -n1)
		psql_q "INSERT INTO id_mappings (user_id, whmcs_client_id, sf_account_id)
			VALUES ($uid, $wh, '$acct')" >/dev/null
	fi
	"$MKSESSION" "$uid" "$acct" "$wh" 2>/dev/null
}

cleanup() {
	psql_q "DELETE FROM users WHERE email LIKE 't-support-%-$RUN@example.test'" >/dev/null 2>&1
	curl -sS -XDELETE "$SF/__sim/faults" >/dev/null 2>&1
}
trap cleanup EXIT

read -r TOK1 CSRF1 < <(session_for $A1 101)
read -r TOK3 CSRF3 < <(session_for $A3 103)
[ -n "${TOK1:-}" ] && [ -n "${TOK3:-}" ] || it_die "no sessions"
# §16: the contact with the user's email, else the account's oldest.
EMAIL1=$(psql_q "SELECT u.email FROM users u JOIN id_mappings m ON m.user_id = u.id
	WHERE m.sf_account_id = '$A1'")
WANT_CONTACT=$A1_CONTACT_OLDEST
[ "$EMAIL1" = taro.yamada@example.jp ] && WANT_CONTACT=$A1_CONTACT_TARO

curl -sS -XPOST "$SF/__sim/reset" >/dev/null

get() { it_http GET "$2" -b "portal_session=$1"; }
post() { # TOKEN CSRF PATH BODY ("-" CSRF = no header)
	local h=()
	[ "$2" != - ] && h+=(-H "X-CSRF-Token: $2")
	it_http POST "$3" -b "portal_session=$1" -H 'Content-Type: application/json' \
		"${h[@]}" --data-binary "$4"
}
error_is() { # status code
	it_status_is "$1" && it_json_eq .error.code "$2" && it_json '.error.request_id | strings' >/dev/null
}
field_is() { # field: 400 VALIDATION_FAILED naming it
	it_status_is 400 && it_json_eq .error.code VALIDATION_FAILED && it_json_eq .error.field "$1"
}
sim_count() { # sobject → records in the simulator
	curl -sS "$SF/__sim/state" | jq --arg t "$1" '.[$t] | length'
}
sim_rec() { # sobject id → the record in the simulator
	curl -sS "$SF/__sim/state" | jq -c --arg t "$1" --arg id "$2" '.[$t][] | select(.Id == $id)'
}

# ---------------------------------------------------------------- the site files
if [ "$IT_WEB" = nginx ]; then
	it_check "nginx routes /api/support/ to portal-support" grep -q 'portal-support.sock' "$IT_SRCDIR/etc/nginx/portal.conf"
else
	it_check "Apache routes /api/support to portal-support" \
		grep -Eq '^[[:space:]]*ScriptAlias /api/support[[:space:]].*/portal-support\.fcgi' "$IT_SRCDIR/etc/apache/portal.conf"
fi

# ---------------------------------------------------------------- list
get "$TOK1" /api/support/cases
it_check "list: 200" it_status_is 200
it_check "list: A1's two fixture cases, newest first" it_json_eq '[.data[].id] | join(",")' "$A1_CASE,$A1_OLD_CASE"
it_check "list: no comments in the list view" it_json_eq '[.data[] | has("comments")] | any' false
it_check "list: mapped fields" it_json_eq '.data[0] | "\(.number) \(.status) \(.priority) \(.category) \(.created_at)"' \
	"00001001 Working High Technical 2026-10-01T01:00:00Z"
it_check "list: page fields" it_json_eq '"\(.page) \(.total)"' "1 2"
it_check "list: private, no-store" it_header_eq Cache-Control "private, no-store"
get "$TOK3" /api/support/cases
it_check "list: A3 sees only its case" it_json_eq '[.data[].id] | join(",")' "$A3_CASE"
it_http GET /api/support/cases
it_check "list without session: 401" error_is 401 UNAUTHENTICATED

# ---------------------------------------------------------------- create
CASES0=$(sim_count Case)
post "$TOK1" "$CSRF1" /api/support/cases \
	'{"subject":"Router <b>blinks</b>\u0007 red","description":"Since 9:00\n\tno link\u0000.","priority":"high","category":"technical"}'
it_check "create: 201" it_status_is 201
NEW=$(jq -r '.data.id // empty' "$IT_LAST_BODY")
it_check "create: a Case id" bash -c "[[ '$NEW' =~ ^500[A-Za-z0-9]{15}$ ]]"
it_check "create: answered with the case (New, High, Technical)" \
	it_json_eq '.data | "\(.status) \(.priority) \(.category)"' "New High Technical"
CASE=$(sim_rec Case "$NEW")
it_check "salesforce: Origin Portal Website, Status New" test \
	"$(jq -r '"\(.Origin) \(.Status)"' <<<"$CASE")" = "Portal Website New"
it_check "salesforce: AccountId of the session, ContactId per §16 ($WANT_CONTACT)" test \
	"$(jq -r '"\(.AccountId) \(.ContactId)"' <<<"$CASE")" = "$A1 $WANT_CONTACT"
it_check "salesforce: Type Technical, Priority High" test \
	"$(jq -r '"\(.Type) \(.Priority)"' <<<"$CASE")" = "Technical High"
it_check "salesforce: text as given, control characters stripped" test \
	"$(jq -c '[.Subject, .Description]' <<<"$CASE")" = '["Router <b>blinks</b> red","Since 9:00\n\tno link."]'
it_check "salesforce: one Case more" test "$(sim_count Case)" = $((CASES0 + 1))
post "$TOK1" "$CSRF1" /api/support/cases '{"subject":"Question","description":"Hello"}'
it_check "create without priority/category: 201" it_status_is 201
it_check "salesforce: defaults Medium / Other" test \
	"$(sim_rec Case "$(jq -r .data.id "$IT_LAST_BODY")" | jq -r '"\(.Priority) \(.Type)"')" = "Medium Other"
get "$TOK1" /api/support/cases
it_check "list: the new cases are there (read live)" it_json_eq '[.data[].id] | index("'"$NEW"'") != null' true

# ---------------------------------------------------------------- refusals
CASES1=$(sim_count Case)
post "$TOK1" "$CSRF1" /api/support/cases '{"subject":"s","description":"d","priority":"urgent"}'
it_check "bad priority: 400 naming priority" field_is priority
post "$TOK1" "$CSRF1" /api/support/cases '{"subject":"s","description":"d","category":"hardware"}'
it_check "bad category: 400 naming category" field_is category
post "$TOK1" "$CSRF1" /api/support/cases '{"description":"d"}'
it_check "missing subject: 400 naming subject" field_is subject
LONG=$(head -c 256 /dev/zero | tr '\0' x)
post "$TOK1" "$CSRF1" /api/support/cases '{"subject":"'"$LONG"'","description":"d"}'
it_check "subject of 256 chars: 400 naming subject" field_is subject
post "$TOK1" - /api/support/cases '{"subject":"s","description":"d"}'
it_check "create without CSRF token: 403" error_is 403 CSRF_FAILED
it_http POST /api/support/cases -b "portal_session=$TOK1" -H "X-CSRF-Token: $CSRF1" \
	-H 'Content-Type: text/plain; charset=utf-8' --data-binary '{"subject":"s","description":"d"}'
it_check "create with a text/plain body: 415 UNSUPPORTED_MEDIA_TYPE" error_is 415 UNSUPPORTED_MEDIA_TYPE
BIG=$(head -c 70000 /dev/zero | tr '\0' x)
post "$TOK1" "$CSRF1" /api/support/cases '{"subject":"s","description":"'"$BIG"'"}'
it_check "body over HTTP_MAX_BODY (64 KiB): 413 PAYLOAD_TOO_LARGE" error_is 413 PAYLOAD_TOO_LARGE
it_check "refusals created nothing" test "$(sim_count Case)" = "$CASES1"

# ---------------------------------------------------------------- detail, comments
queries() { curl -sS "$SF/__sim/calls" | jq '[.[] | select(.action == "query")] | length'; }
Q0=$(queries)
get "$TOK1" "/api/support/cases/$A1_CASE"
it_check "detail: one query (comments by the child subquery)" test "$(queries)" = $((Q0 + 1))
it_check "detail: 200 with the published comments only" \
	it_json_eq '[.data.comments[].id] | join(",")' "00a5F0000000001QAA,00a5F0000000003QAA"
it_check "detail: description" it_json_eq .data.description "Speed drops below 50 Mbps after 20:00."
COMMENTS0=$(sim_count CaseComment)
post "$TOK1" "$CSRF1" "/api/support/cases/$A1_CASE/comments" '{"body":"Still slow <i>today</i>\u0001."}'
it_check "comment: 201" it_status_is 201
CID=$(jq -r '.data.id // empty' "$IT_LAST_BODY")
it_check "comment: a CaseComment id and the text" it_json_eq .data.body "Still slow <i>today</i>."
CC=$(sim_rec CaseComment "$CID")
it_check "salesforce: CaseComment on the case, published" test \
	"$(jq -r '"\(.ParentId) \(.IsPublished) \(.CommentBody)"' <<<"$CC")" = "$A1_CASE true Still slow <i>today</i>."
get "$TOK1" "/api/support/cases/$A1_CASE"
it_check "detail: the new comment is shown" it_json_eq '.data.comments | map(.id) | index("'"$CID"'") != null' true
post "$TOK1" - "/api/support/cases/$A1_CASE/comments" '{"body":"x"}'
it_check "comment without CSRF token: 403" error_is 403 CSRF_FAILED
post "$TOK1" "$CSRF1" "/api/support/cases/$A1_CASE/comments" '{"text":"x"}'
it_check "comment without body: 400 naming body" field_is body

# ---------------------------------------------------------------- IDOR
get "$TOK1" "/api/support/cases/$A3_CASE"
it_check "another account's case: 404" error_is 404 NOT_FOUND
get "$TOK1" "/api/support/cases/${A3_CASE:0:15}"
it_check "another account's case (15-char id): 404" error_is 404 NOT_FOUND
get "$TOK1" "/api/support/cases/not-an-id"
it_check "malformed id: 404" error_is 404 NOT_FOUND
post "$TOK1" "$CSRF1" "/api/support/cases/$A3_CASE/comments" '{"body":"hi"}'
it_check "comment on another account's case: 404" error_is 404 NOT_FOUND
it_check "IDOR and refusals created no comment" test "$(sim_count CaseComment)" = $((COMMENTS0 + 1))
get "$TOK3" "/api/support/cases/$NEW"
it_check "A3 cannot read A1's new case: 404" error_is 404 NOT_FOUND

# ---------------------------------------------------------------- Salesforce down
curl -sS -XPOST "$SF/__sim/faults" -d '{"match":"query","status":503,"count":-1}' >/dev/null
get "$TOK1" /api/support/cases
it_check "Salesforce 503: list 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
get "$TOK1" "/api/support/cases/$A1_CASE"
it_check "Salesforce 503: detail 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
curl -sS -XDELETE "$SF/__sim/faults" >/dev/null
curl -sS -XPOST "$SF/__sim/faults" -d '{"match":"sobject.POST.Case","status":503,"count":-1}' >/dev/null
CASES2=$(sim_count Case)
post "$TOK1" "$CSRF1" /api/support/cases '{"subject":"s","description":"d"}'
it_check "Salesforce 503 on create: 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
curl -sS -XDELETE "$SF/__sim/faults" >/dev/null
it_check "Salesforce 503 on create: no Case" test "$(sim_count Case)" = "$CASES2"

# ---------------------------------------------------------------- Salesforce 429 and timeout
# Cases are live, never cached (seed 002): 429 or a read past SF_TIMEOUT_MS
# (5000 in the harness, lib.sh) → 503 within the timeout (+1 s).
timed_get() { local t0; t0=$(date +%s%N); get "$@"; ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000)); }
within_timeout() { [ "$ELAPSED_MS" -le 6000 ] || { echo "took $ELAPSED_MS ms"; return 1; }; }
curl -sS -XPOST "$SF/__sim/faults" -d '{"match":"query","status":429,"count":-1}' >/dev/null
get "$TOK1" /api/support/cases
it_check "Salesforce 429: list 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
curl -sS -XDELETE "$SF/__sim/faults" >/dev/null
curl -sS -XPOST "$SF/__sim/faults" -d '{"match":"query","delay_ms":8000,"count":-1}' >/dev/null
timed_get "$TOK1" /api/support/cases
it_check "Salesforce past its timeout: list 503 UPSTREAM_UNAVAILABLE" error_is 503 UPSTREAM_UNAVAILABLE
it_check "Salesforce past its timeout: within SF_TIMEOUT_MS + 1 s" within_timeout
curl -sS -XDELETE "$SF/__sim/faults" >/dev/null

it_summary
