#!/bin/bash
# t_errors.sh — error answers through the web server: JSON 404 with the request
# id, 405, 413 for a 100 KiB body, 400 for bad percent-encoding and for a
# malformed request line — and the apps keep serving afterwards.
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

it_http GET /nope
it_check "/nope is 404" it_status_is 404
it_check "/nope error.code NOT_FOUND" it_json_eq .error.code NOT_FOUND
it_check "/nope error.message present" it_json '.error.message | strings'
rid=$(it_header X-Request-Id)
it_check "/nope has X-Request-Id" test -n "$rid"
it_check "/nope error.request_id equals X-Request-Id" it_json_eq .error.request_id "$rid"
it_check "/nope JSON content type" bash -c "grep -qi '^content-type: application/json' '$IT_LAST_HEADERS'"
it_check "/nope X-Frame-Options DENY" it_header_eq X-Frame-Options DENY

want=3f2c9a4e-1b7d-4c2e-9a8f-0123456789ab
it_http GET /api/nope -H "X-Request-Id: $want"
it_check "/api/nope is 404" it_status_is 404
it_check "valid incoming X-Request-Id is kept" it_header_eq X-Request-Id "$want"
it_check "... and is the error's request_id" it_json_eq .error.request_id "$want"

it_http POST /health -H 'Content-Type: application/json' --data '{}'
it_check "POST /health is 405" it_status_is 405
it_check "405 has Allow" it_header_present Allow
it_check "405 error.code METHOD_NOT_ALLOWED" it_json_eq .error.code METHOD_NOT_ALLOWED

body="$IT_ROOT/big-body.json"
head -c 102400 /dev/zero | tr '\0' 'a' >"$body"
it_http POST /api/auth/login -H 'Content-Type: application/json' --data-binary "@$body"
it_check "100 KiB POST is 413" it_status_is 413
it_http POST /nope -H 'Content-Type: application/json' --data-binary "@$body"
it_check "100 KiB POST to an unknown path is 413" it_status_is 413

it_http GET '/health%zz'
it_check "bad percent-encoding /health%zz is 400" it_status_is 400
it_http GET '/api/orders/%E0%A4%A'
it_check "truncated percent-encoding is 400" it_status_is 400

raw=$(it_raw "$IT_PORT" 'GARBAGE\r\n\r\n' | head -n1 | tr -d '\r')
it_check "malformed request line is 400 ('$raw')" bash -c "[[ '$raw' == HTTP/1.[01]\ 400* ]]"
raw=$(it_raw "$IT_PORT" 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n' | head -n1 | tr -d '\r')
it_check "malformed header line is 400 ('$raw')" bash -c "[[ '$raw' == HTTP/1.[01]\ 400* ]]"

it_http GET /health
it_check "the app still serves after all that" it_status_is 200
it_check "... with JSON" it_json_eq .integrations.database.status ok

it_summary
