#!/bin/sh
# SPDX-License-Identifier: MIT
# Write a throwaway CA and a server certificate it signed, for 127.0.0.1 and
# localhost, valid for one day: DIR/ca.pem, DIR/server.pem, DIR/server.key.
# The CA's key is not kept. Needs the openssl command.
# usage: make-cert.sh DIR
set -eu

if [ $# -ne 1 ]; then
	echo "usage: make-cert.sh DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.make-cert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
umask 077

run() {
	if ! "$@" >"$tmp/out" 2>&1; then
		cat "$tmp/out" >&2
		echo "make-cert.sh: $1 $2 failed" >&2
		exit 1
	fi
}

run openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 1 \
	-subj "/CN=mock-tradovate throwaway CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign"

run openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/server.key" -out "$tmp/server.csr" -subj "/CN=localhost"

cat >"$tmp/server.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT

run openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
	-set_serial "0x$(openssl rand -hex 8)" -days 1 \
	-extfile "$tmp/server.ext" -out "$tmp/server.pem"

chmod 0644 "$tmp/ca.pem" "$tmp/server.pem"
chmod 0600 "$tmp/server.key"
mv -f "$tmp/ca.pem" "$dir/ca.pem"
mv -f "$tmp/server.pem" "$dir/server.pem"
mv -f "$tmp/server.key" "$dir/server.key"
