#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's operator install steps, as printed, on a copy of the tree
# into a scratch root: "meson setup" with the tests off (they need cmocka
# and more), build, "meson install" (DESTDIR), systemd-sysusers and
# journalctl --update-catalog on that root, and the example config copied
# into an /etc/tvtokend that does not exist yet. Then the installed files:
# binaries, units, user and group, catalog, config, pkg-config, and the
# Varlink interface file, which must be what the installed daemon's
# GetInterfaceDescription returns.
#
# usage: test-operator-install.sh SOURCE_ROOT
. "$(dirname "$0")/lib.sh"

src=$1
R=$T/root
# A root as a fresh system has it: /etc, but no /etc/tvtokend.
mkdir -p "$R/etc"
copy_tree "$src" "$T/src"

# The steps, with the commands that act on the system pointed at $R instead.
readme_block operator-install >"$T/steps.sh"
grep -q 'meson setup' "$T/steps.sh" || fail "no install steps found in README.md"
edit()
{
	grep -q -- "$1" "$T/steps.sh" || fail "the README's install steps no longer have \"$1\""
	sed -i -e "s|$1|$2|g" "$T/steps.sh"
}
edit '^systemd-sysusers' 'systemd-sysusers --root="$R"'
edit 'journalctl --update-catalog' 'journalctl --root="$R" --update-catalog'
edit 'systemctl daemon-reload' 'true'
edit ' /usr/share/' ' "$R"/usr/share/'
edit ' /etc/' ' "$R"/etc/'
# $EDITOR fills in the account, as the operator would.
cat >"$T/editor" <<'ED'
#!/bin/sh
printf '%s\n' '[Tradovate]' 'Name=alice' 'AppId=app' 'ClientId=42' >>"$1"
ED
chmod +x "$T/editor"
[ ! -e "$R/etc/tvtokend" ] || fail "the scratch root is not fresh"
(
	cd "$T/src" &&
	export R DESTDIR=$R EDITOR=$T/editor &&
	bounded 900 bash -e -o pipefail "$T/steps.sh"
) >"$T/steps.log" 2>&1 || { tail -n 40 "$T/steps.log" >&2; fail "the README's install steps failed"; }
ok "the README's install steps ran"

assert_eq "$(meson introspect --buildoptions "$T/src/build" | jq -r '.[] | select(.name == "tests") | .value')" false \
	"the tests option of the README's build (the tests need cmocka)"

# What was installed.
libdir=$(meson introspect --buildoptions "$T/src/build" | jq -r '.[] | select(.name == "libdir") | .value')
"$R/usr/sbin/tvtokend" --version | grep -q '^tvtokend ' || fail "the installed tvtokend does not run"
LD_LIBRARY_PATH=$R/usr/$libdir "$R/usr/bin/tvtokenctl" --help >/dev/null 2>&1 ||
	fail "the installed tvtokenctl does not run"
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /usr/lib/systemd/system)
for u in tvtokend.service tvtokend.socket tvtokend@.service tvtokend@.socket; do
	[ -f "$R$unitdir/$u" ] || fail "$u is not in $unitdir"
done
grep -qx 'ExecStart=/usr/sbin/tvtokend' "$R$unitdir/tvtokend.service" || fail "ExecStart= of the installed unit"
grep -q '^tvtokend:' "$R/etc/passwd" || fail "systemd-sysusers created no user tvtokend"
grep -q '^tvtoken:' "$R/etc/group" || fail "systemd-sysusers created no group tvtoken"
journalctl --root="$R" --list-catalog 2>/dev/null | grep -q ' tvtokend: ' || fail "the catalog is not in the database"
assert_eq "$(stat -c %a "$R/etc/tvtokend/tvtokend.conf")" 644 "mode of the installed config"
tail -n 4 "$R/etc/tvtokend/tvtokend.conf" | grep -qx 'Name=alice' || fail "the edit did not reach the installed config"
[ -s "$R/usr/include/tvtoken.h" ] || fail "no header installed"
pc=$(PKG_CONFIG_LIBDIR=$R/usr/$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$R pkg-config --cflags --libs tvtoken) ||
	fail "pkg-config finds no tvtoken in the installed tree"
ok "installed: binaries, units, user and group, catalog, config, header, pkg-config ($pc)"

# The installed interface file is what the installed daemon describes.
vf=$R/usr/share/varlink/io.tvtokend.Broker.varlink
[ -s "$vf" ] || fail "no Varlink interface file installed"
mock_start
conf=$(installed_config "$R")
"$R/usr/sbin/tvtokend" --config "$conf" --log=stderr >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS+=("$DAEMON_PID")
wait_until 10 '[ -S "$SOCK" ]' || fail "the installed tvtokend did not start"
wait_until 10 'vl "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{\"interface\":\"io.tvtokend.Broker\"}}" >"$T/reply" 2>/dev/null' ||
	fail "no reply from the installed tvtokend"
jq -j .parameters.description <"$T/reply" >"$T/description"
cmp "$T/description" "$vf" || fail "the installed interface file differs from GetInterfaceDescription"
ok "share/varlink/io.tvtokend.Broker.varlink is what GetInterfaceDescription returns"

# The README's C example, built with pkg-config against the installed tree.
readme_block c-example >"$T/example.c"
# shellcheck disable=SC2086
cc -o "$T/example" "$T/example.c" $pc || fail "the C example does not build against the installed tree"
wait_until 10 '[ "$(status_field state)" = valid ]' || fail "the installed daemon got no token"
out=$(TVTOKEN_SOCKET=$SOCK LD_LIBRARY_PATH=$R/usr/$libdir "$T/example") || fail "the C example failed: $out"
case $out in "generation 1 expires "*Z) ;; *) fail "the C example printed [$out]" ;; esac
ok "a client built with pkg-config against the installed tree: $out"
daemon_stop
assert_no_secrets "$T/daemon.log"
