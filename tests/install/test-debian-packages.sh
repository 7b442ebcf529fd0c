#!/bin/bash
# SPDX-License-Identifier: MIT
# The Debian packaging: "dpkg-buildpackage -us -uc -b" builds tvtokend,
# libtvtoken0, libtvtoken-dev and tvtokenctl from a copy of the tree
# (dh_missing fails the build if meson installs a file no package takes);
# lintian finds no error; the packages, unpacked into a fresh root, hold
# what they should: binaries that run, units installed disabled, the user
# and group through systemd-sysusers, the journal catalog, the config
# directories, the Varlink interface file (what the packaged daemon
# returns), and a -dev package that pkg-config and a client build against.
# Nothing is installed on this machine.
#
# usage: test-debian-packages.sh SOURCE_ROOT
. "$(dirname "$0")/lib.sh"

src=$1
for p in dpkg-buildpackage dpkg-parsechangelog dpkg-architecture dpkg-deb lintian dh; do
	command -v "$p" >/dev/null ||
		fail "$p is missing: tests/install-deps.sh installs what this test needs"
done
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
pkg=$T/pkg
copy_tree "$src" "$pkg/tvtokend-$version"

(cd "$pkg/tvtokend-$version" && bounded 1200 dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
	{ tail -n 60 "$T/build.log" >&2; fail "dpkg-buildpackage failed"; }
for p in tvtokend libtvtoken0 libtvtoken-dev tvtokenctl; do
	[ -s "$pkg/${p}_${version}_$arch.deb" ] || fail "no package $p"
done
[ -s "$pkg/python3-tvtoken_${version}_all.deb" ] || fail "no package python3-tvtoken"
ok "dpkg-buildpackage built tvtokend, libtvtoken0, libtvtoken-dev, tvtokenctl and python3-tvtoken $version"

rc=0
bounded 600 lintian --fail-on error "$pkg/tvtokend_${version}_$arch.changes" >"$T/lintian.log" 2>&1 || rc=$?
grep -E '^[EWIX]: ' "$T/lintian.log" || true
[ "$rc" -eq 0 ] || fail "lintian found errors (status $rc): $(grep '^E: ' "$T/lintian.log")"
ok "lintian: no errors ($(grep -c '^W: ' "$T/lintian.log") warnings, listed above)"

# Unpacked into a fresh root, as dpkg would install them (minus the maintainer scripts).
R=$T/root
mkdir -p "$R/etc"
for p in tvtokend libtvtoken0 libtvtoken-dev tvtokenctl; do
	dpkg-deb -x "$pkg/${p}_${version}_$arch.deb" "$R" || fail "cannot unpack $p"
done
dpkg-deb -x "$pkg/python3-tvtoken_${version}_all.deb" "$R" || fail "cannot unpack python3-tvtoken"
for f in usr/share/man/man8/tvtokend.8.gz usr/share/man/man5/tvtokend.conf.5.gz \
	usr/share/man/man1/tvtokenctl.1.gz usr/share/man/man3/libtvtoken.3.gz usr/share/man/man3/tvtoken_get.3.gz \
	usr/share/bash-completion/completions/tvtokenctl usr/share/zsh/vendor-completions/_tvtokenctl \
	usr/lib/python3/dist-packages/tvtoken.py; do
	[ -s "$R/$f" ] || fail "no /$f in the packages"
done
PYTHONPATH=$R/usr/lib/python3/dist-packages /usr/bin/python3 -c 'import tvtoken' ||
	fail "the packaged Python module does not import"
assert_eq "$("$R/usr/sbin/tvtokend" --version)" "tvtokend $version" "the packaged tvtokend --version"
assert_eq "$(LD_LIBRARY_PATH=$R/usr/lib/$ma "$R/usr/bin/tvtokenctl" --version)" "tvtokenctl $version" \
	"the packaged tvtokenctl --version"
for u in tvtokend.service tvtokend.socket tvtokend@.service tvtokend@.socket; do
	[ -f "$R/lib/systemd/system/$u" ] || fail "no unit $u"
done
grep -qx 'ExecStart=/usr/sbin/tvtokend' "$R/lib/systemd/system/tvtokend.service" || fail "ExecStart= of the packaged unit"
[ -s "$R/usr/share/doc/tvtokend/examples/tvtokend.conf" ] || fail "no example config"
[ ! -e "$R/etc/tvtokend/tvtokend.conf" ] || fail "a config that does not load is shipped in /etc"
assert_eq "$(dpkg-deb -c "$pkg/tvtokend_${version}_$arch.deb" | awk '$6 ~ /^\.\/etc\/./ { print $1, $2, $6 }')" \
	"$(printf '%s\n' 'drwxr-xr-x root/root ./etc/tvtokend/' 'drwx------ root/root ./etc/tvtokend/credentials/')" \
	"what tvtokend ships in /etc"
systemd-sysusers --root="$R" >/dev/null 2>&1 || fail "systemd-sysusers fails on the packaged sysusers file"
grep -q '^tvtokend:' "$R/etc/passwd" && grep -q '^tvtoken:' "$R/etc/group" ||
	fail "the packaged sysusers file creates no user tvtokend and group tvtoken"
journalctl --root="$R" --update-catalog && journalctl --root="$R" --list-catalog | grep -q ' tvtokend: ' ||
	fail "the packaged catalog does not load"
assert_eq "$(dpkg-deb -f "$pkg/tvtokend_${version}_$arch.deb" Depends | tr ',' '\n' | grep -c 'libevent-core-2')" 1 \
	"tvtokend depends on libevent's core library"
! dpkg-deb -f "$pkg/tvtokend_${version}_$arch.deb" Depends | grep -q 'libevent-2' ||
	fail "tvtokend depends on the whole of libevent"
ok "unpacked: binaries run, units, catalog, sysusers, /etc/tvtokend and its 0700 credentials directory"

# Maintainer scripts: the user before the units; the units not enabled.
mkdir "$T/control"
dpkg-deb -e "$pkg/tvtokend_${version}_$arch.deb" "$T/control"
post=$T/control/postinst
grep -n 'systemd-sysusers .*tvtokend.conf' "$post" >/dev/null || fail "the postinst does not create the user"
[ "$(grep -n 'systemd-sysusers' "$post" | head -n 1 | cut -d: -f1)" -lt "$(grep -n 'deb-systemd-invoke' "$post" | head -n 1 | cut -d: -f1)" ] ||
	fail "the postinst starts units before it creates the user"
for u in tvtokend.service tvtokend.socket; do
	grep -q "deb-systemd-helper debian-installed '$u'" "$post" || fail "$u is enabled at installation"
done
! grep -q 'new installations run enable' "$post" || fail "the postinst enables units on a new installation"
ok "postinst: systemd-sysusers first, units installed disabled"

# The packaged daemon serves; its interface file is what it describes.
mock_start
conf=$(installed_config "$R")
"$R/usr/sbin/tvtokend" --config "$conf" --log=stderr >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS+=("$DAEMON_PID")
wait_until 10 '[ -S "$SOCK" ]' || fail "the packaged tvtokend did not start"
wait_until 10 '[ "$(status_field state)" = valid ]' || fail "the packaged tvtokend got no token"
vl '{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"io.tvtokend.Broker"}}' \
	>"$T/reply" || fail "no GetInterfaceDescription reply"
jq -j .parameters.description <"$T/reply" >"$T/description"
cmp "$T/description" "$R/usr/share/varlink/io.tvtokend.Broker.varlink" ||
	fail "the packaged interface file differs from GetInterfaceDescription"
ok "the packaged daemon serves a token; its interface file is what it describes"

# A client built against the -dev package with pkg-config.
pc=$(PKG_CONFIG_LIBDIR=$R/usr/lib/$ma/pkgconfig PKG_CONFIG_SYSROOT_DIR=$R pkg-config --cflags --libs tvtoken) ||
	fail "pkg-config finds no tvtoken in libtvtoken-dev"
readme_block c-example >"$T/example.c"
# shellcheck disable=SC2086
cc -o "$T/example" "$T/example.c" $pc || fail "the README's C example does not build against libtvtoken-dev"
out=$(TVTOKEN_SOCKET=$SOCK LD_LIBRARY_PATH=$R/usr/lib/$ma "$T/example") || fail "the client failed: $out"
case $out in "generation 1 expires "*Z) ;; *) fail "the client printed [$out]" ;; esac
ok "a client built with pkg-config against libtvtoken-dev: $out"
daemon_stop
assert_no_secrets "$T/daemon.log"
