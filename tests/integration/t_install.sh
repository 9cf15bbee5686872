#!/bin/bash
# t_install.sh — `make install DESTDIR=…` lays out sbindir, libexecdir/portal,
# sysconfdir/portal and the migrations; `make uninstall` removes them again.
# it: once
set -u
. "$(dirname "$0")/lib.sh"
. "$IT_ENV"

d=$(mktemp -d)
b=$IT_BUILDDIR
it_check "make install DESTDIR" make -s -C "$b" install DESTDIR="$d"
sbindir=$(it_make_var "$b" sbindir)
libexecdir=$(it_make_var "$b" libexecdir)
sysconfdir=$(it_make_var "$b" sysconfdir)
pkgdatadir=$(it_make_var "$b" pkgdatadir)
echo "  layout: sbindir=$sbindir libexecdir=$libexecdir sysconfdir=$sysconfdir pkgdatadir=$pkgdatadir"
it_check "portalctl in sbindir" test -x "$d$sbindir/portalctl"
it_check "portal-health.fcgi in libexecdir/portal" test -x "$d$libexecdir/portal/portal-health.fcgi"
it_check "portal.conf.sample in sysconfdir/portal" test -f "$d$sysconfdir/portal/portal.conf.sample"
sample="$d$sysconfdir/portal/portal.conf.sample"
keys_missing() { # every key of docs/configuration.md is in the installed sample
	local k miss=""
	for k in $(sed -n 's/^| `\([A-Z][A-Z0-9_]*\)` |.*/\1/p' "$IT_SRCDIR/docs/configuration.md"); do
		grep -q "^#$k =" "$sample" || miss="$miss $k"
	done
	[ -z "$miss" ] || { echo "not in the sample:$miss"; return 1; }
}
it_check "portal.conf.sample has every key of docs/configuration.md" keys_missing
it_check "migrations in pkgdatadir/migrations" bash -c "ls '$d$pkgdatadir'/migrations/*.sql"
for site in nginx apache; do
	f="$d$sysconfdir/portal/$site/portal.conf"
	it_check "$site site file in sysconfdir/portal/$site" test -f "$f"
	it_check "$site site file has every path filled in" bash -c "! grep -v '^ *#' '$f' | grep -n '@[A-Z_]*@'"
done
it_check "installed Apache site runs the apps from libexecdir/portal" grep -q "ScriptAlias /health *$libexecdir/portal/portal-health.fcgi" "$d$sysconfdir/portal/apache/portal.conf"
it_check "no test programs installed" bash -c "! find '$d' -name 'test_*' -o -name 'fuzz_*' | grep -q ."
if [ "$(it_make_var "$b" prefix)" = /usr ]; then
	it_check "README layout: usr/sbin/portalctl" test -x "$d/usr/sbin/portalctl"
	it_check "README layout: usr/libexec/portal/portal-health.fcgi" test -x "$d/usr/libexec/portal/portal-health.fcgi"
	it_check "README layout: etc/portal/portal.conf.sample" test -f "$d/etc/portal/portal.conf.sample"
fi
if [ -x "$d$sbindir/portalctl" ]; then
	it_check "installed portalctl version" "$d$sbindir/portalctl" version
fi
# Every key the program knows is in the sample, and the sample has no unknown key.
sample="$d$sysconfdir/portal/portal.conf.sample"
if [ -f "$sample" ] && [ -x "$d$sbindir/portalctl" ]; then
	it_check "portalctl config check accepts the sample (uncommented)" bash -c \
		"sed -n 's/^# *\([A-Z][A-Z0-9_]*\) *= *\(.*\)$/\1 = \2/p' '$sample' >'$d/sample.conf';
		 PORTAL_CONFIG='$d/sample.conf' '$d$sbindir/portalctl' config check >/dev/null 2>'$d/check.err' ||
		 ! grep -qiE 'unknown|syntax' '$d/check.err' || { cat '$d/check.err'; false; }"
fi
it_check "make uninstall leaves no files" bash -c \
	"make -s -C '$b' uninstall DESTDIR='$d' && test -z \"\$(find '$d' -type f ! -name '*.conf' ! -name '*.err')\""
rm -rf "$d"

it_summary
