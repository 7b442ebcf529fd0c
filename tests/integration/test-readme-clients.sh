#!/bin/bash
# The client examples in README.md work as printed: the C program (built
# against libtvtoken) and the Python standard-library snippet each get the
# token the broker serves.
. "$IT_LIB"

readme=$README
extract() { sed -n "/<!-- $1:begin -->/,/<!-- $1:end -->/p" "$readme" | sed '1,2d;$d' | sed '$d'; }

extract c-example >"$T/example.c"
grep -q 'tvtoken_get' "$T/example.c" || fail "no C example found in README.md"
$CC_FOR_TESTS -o "$T/example" "$T/example.c" -I"$LIB_SRC" -L"$LIB_BUILD" -ltvtoken ||
	fail "the README's C example does not compile"

extract client-snippet >"$T/snippet.py"
grep -q 'def get_token' "$T/snippet.py" || fail "no Python snippet found in README.md"
lines=$(wc -l <"$T/snippet.py")
[ "$lines" -le 15 ] || fail "the Python snippet has $lines lines (at most 15)"

mock_start
write_config
daemon_start
wait_state valid 10
want=$(ctl token)

out=$(TVTOKEN_SOCKET=$SOCK LD_LIBRARY_PATH=$LIB_BUILD "$T/example") || fail "the C example failed: $out"
case $out in "generation 1 expires "*Z) ;; *) fail "C example printed [$out]" ;; esac
ok "C example: $out"

got=$(TVTOKEN_SOCKET=$SOCK /usr/bin/python3 -c "
import sys; sys.path.insert(0, '$T'); from snippet import get_token
print(get_token()['accessToken'])") || fail "the Python snippet failed"
assert_eq "$got" "$want" "token from the Python snippet"
ok "Python snippet got the served token"
daemon_stop
assert_no_secrets "$T/daemon.log"
