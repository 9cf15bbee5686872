#!/bin/bash
# s_9secrets.sh — after the whole run: no secret in any log line (ASVS V7.1.1,
# V7.1.2). Secrets: the configured PASSWORD_PEPPER, WHMCS_API_SECRET,
# WHMCS_WEBHOOK_SECRET, FREEBIT_OEM_KEY, the Salesforce private key body (every
# base64 line of the PEM), and everything the run issued or used: session
# tokens, CSRF tokens, passwords ($SEC_SECRETS). Logs: every app's stderr, the
# daemons', portalctl's, nginx's and Apache's error and access logs, Redis's and
# PostgreSQL's (the simulators' own logs are the other side and not ours).
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$IT_ENV"

pats="$IT_ROOT/sec/patterns.txt"
: >"$pats"
for k in PASSWORD_PEPPER WHMCS_API_SECRET WHMCS_WEBHOOK_SECRET FREEBIT_OEM_KEY; do
	v=$(sed -n "s/^$k *= *//p" "$PORTAL_CONFIG" | head -n1)
	it_check "$k is configured" test -n "$v"
	printf '%s\n' "$v" >>"$pats"
done
keyfile=$(sed -n 's/^SF_PRIVATE_KEY_PATH *= *//p' "$PORTAL_CONFIG")
grep -v -- '-----' "$keyfile" | awk 'length($0) >= 16' >>"$pats"
nkey=$(grep -vc -- '-----' "$keyfile")
grep -v '^$' "$SEC_SECRETS" | awk 'length($0) >= 8' | sort -u >>"$pats"
nrun=$(grep -v '^$' "$SEC_SECRETS" | sort -u | wc -l)
ntok=$(awk 'length($0) >= 40' "$SEC_SECRETS" | sort -u | wc -l)
it_check "secrets of the run collected (tokens and passwords: $nrun)" test "$ntok" -ge 4

logs=$(ls "$IT_ROOT"/logs/*.log "$IT_ROOT"/*.log "$IT_ROOT"/pg/*.log "$IT_ROOT"/apache/*.log 2>/dev/null)
nlines=$(cat $logs 2>/dev/null | wc -l)
hits=$(grep -aFf "$pats" $logs 2>/dev/null | wc -l)
echo "REPORT secrets in logs: $(wc -l <"$pats") secret strings ($nkey key lines, $nrun issued tokens / passwords) over $(wc -w <<<"$logs") log files, $nlines lines: $hits hits"
if [ "$hits" -gt 0 ]; then
	grep -aHnFf "$pats" $logs | head -n 20 | cut -c1-300
fi
it_check "no configured secret, key line, token or password in any log line" test "$hits" = 0
it_summary
