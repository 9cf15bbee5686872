#!/bin/bash
# t_sims.sh — the simulators' own pytest self-tests (tests/sim/test_*.py).
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

cd "$IT_SRCDIR" || exit 2
if [ "${IT_SKIP_SIM_PYTEST:-0}" = 1 ]; then
	echo "  (IT_SKIP_SIM_PYTEST=1: ran in another pass)"
	it_summary
	exit
fi
if ! ls tests/sim/test_*.py >/dev/null 2>&1; then
	echo "  (no tests/sim/test_*.py yet)"
	it_summary
	exit
fi
# Their own simulators on their own ports: not this run's.
unset SIM_SF_PORT SIM_PUBSUB_PORT SIM_WHMCS_PORT SIM_FREEBIT_PORT SIM_SFTP_PORT
out="$IT_ROOT/logs/pytest-sim.log"
timeout 900 "$IT_PYTHON" -m pytest -q -p no:cacheprovider tests/sim >"$out" 2>&1
rc=$?
tail -n 15 "$out"
it_check "pytest tests/sim (exit $rc)" test "$rc" -eq 0 -o "$rc" -eq 5
it_summary
