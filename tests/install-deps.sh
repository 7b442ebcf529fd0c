#!/bin/sh
# SPDX-License-Identifier: MIT
# Install everything tvtokend needs to build and test, on Debian 12 (as root).
# Used by demo.sh and run-all.sh (and so by .ci/run): the one list of packages.
set -eu

packages="
	gcc pkg-config meson ninja-build
	libcurl4-openssl-dev libevent-dev libjson-c-dev libsystemd-dev libinih-dev
	libcmocka-dev libssl-dev
	clang libclang-rt-14-dev libfuzzer-14-dev
	ca-certificates curl openssl binutils util-linux mount procps python3-minimal jq
	etcd-server etcd-client
	python3-mypy bash-completion zsh scdoc groff-base man-db
	git
	debhelper dh-python dpkg-dev fakeroot lintian
	systemd
"

missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
		exit 1
	fi
	echo "install-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
