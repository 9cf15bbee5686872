#!/bin/bash
# scripts/deps.sh — install every package the portal needs to build, test and run
# its local demo on Debian 12 (used by .ci/run, scripts/test-all and
# scripts/demo-start). Idempotent; skips apt when everything is installed already
# (PORTAL_DEPS_FORCE=1 runs apt-get anyway).
#
# The distribution's own services (PostgreSQL, Redis, nginx, Apache, sshd) are
# NOT started: the tests and the demo run private instances on their own ports.
# A policy-rc.d that refuses every start is in place while apt runs, and the
# previous one (if any) is restored afterwards.
set -euo pipefail

PORTAL_PACKAGES=(
	# build
	build-essential autoconf automake libtool pkg-config make gcc
	libfcgi-dev libcurl4-openssl-dev libjson-c-dev libhiredis-dev libpq-dev libssl-dev
	libssh2-1-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
	libcmocka-dev libavro-dev libargon2-dev libnghttp2-dev
	# sanitizers and fuzzing: clang + libclang-rt-14-dev (libFuzzer and ASan/UBSan runtimes;
	# only a Recommends of clang-14, and apt runs without recommends) + llvm
	# (llvm-symbolizer: symbolized sanitizer reports)
	clang libclang-rt-14-dev llvm
	# servers the integration tests and the demo run
	nginx-light apache2 libapache2-mod-fcgid spawn-fcgi multiwatch redis-server postgresql
	openssh-server openssh-client
	# test tools
	curl jq valgrind wrk hyperfine netcat-openbsd procps psmisc util-linux ca-certificates
	# security suite (tests/security: SQL injection probe of login and sign-up)
	sqlmap
	# simulators (Debian's python3 with these modules; never pip)
	python3 python3-grpcio python3-protobuf python3-avro python3-pytest python3-grpc-tools
	python3-cryptography python3-aiosmtpd
	# release
	git xz-utils
)

# docs/openapi.yaml is linted with npx (@redocly/cli, scripts/test-all stage
# "openapi"): Debian's nodejs + npm, unless a node with npx is there already
# (e.g. NodeSource's nodejs, which bundles npm and conflicts with Debian's).
command -v npx >/dev/null 2>&1 || PORTAL_PACKAGES+=(nodejs npm)

if [ "$(id -u)" != 0 ]; then
	echo "scripts/deps.sh: run as root (apt-get)" >&2
	exit 1
fi

missing=()
for p in "${PORTAL_PACKAGES[@]}"; do
	case $p in \#*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -eq 0 ] && [ "${PORTAL_DEPS_FORCE:-0}" != 1 ]; then
	echo "deps: all ${#PORTAL_PACKAGES[@]} packages installed"
	exit 0
fi
echo "deps: installing ${missing[*]:-(forced)}"

policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
	saved=$(mktemp)
	cp -p "$policy" "$saved"
fi
restore_policy() {
	if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# scripts/deps.sh: no service starts while packages install\nexit 101\n' >"$policy"
chmod 755 "$policy"

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/portal-deps.XXXXXX.log)
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${PORTAL_PACKAGES[@]}"; } >"$log" 2>&1; then
	tail -n 40 "$log"
	echo "deps: apt-get failed (full log: $log)" >&2
	exit 1
fi
grep -E '^(Setting up|[0-9]+ upgraded)' "$log" | tail -n 5 || true
rm -f "$log"

# Services that started anyway (a machine without policy-rc.d support, or a
# package that ignores it) are stopped so their ports and data dirs stay free.
for svc in postgresql redis-server nginx apache2 ssh; do
	if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	elif [ -x "/etc/init.d/$svc" ]; then
		"/etc/init.d/$svc" stop >/dev/null 2>&1 || true
	fi
done
echo "deps: done"
