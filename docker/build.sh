#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The build recipe of docker/Dockerfile, the same as the README's "Building
# by hand": the module out of tree against Debian's nginx-dev
# (/usr/share/nginx/src), the worker and webhookctl with the Makefile, then
# installed at the paths the Debian packages use, under $DESTDIR:
#
#   usr/lib/nginx/modules/ngx_http_webhook_module.so
#   usr/share/nginx/modules-available/mod-http-webhook.conf
#   etc/nginx/modules-enabled/50-mod-http-webhook.conf  (symlink to it)
#   usr/bin/webhook-worker, usr/bin/webhookctl
#
# usage: [DESTDIR=/tmp/x] docker/build.sh [--deps | --deps-only]
#   --deps       first apt-get install the build dependencies (as root)
#   --deps-only  only that (a cache layer of the image)
# Builds in the tree the script sits in (its build/ directory).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
destdir=${DESTDIR:-}
jobs=${JOBS:-$(nproc)}
ngx_src=${NGX_SRC:-/usr/share/nginx/src}

build_deps=(
    build-essential make
    nginx nginx-dev
    libjansson-dev libssl-dev libhiredis-dev libpcre2-dev
    libcurl4-openssl-dev libnode-dev g++
)

case "${1:-}" in
--deps | --deps-only)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${build_deps[@]}"
    rm -rf /var/lib/apt/lists/*
    [ "$1" = --deps-only ] && exit 0
    ;;
"") ;;
*)
    echo "usage: [DESTDIR=DIR] $0 [--deps | --deps-only]" >&2
    exit 2
    ;;
esac

if [ ! -f "$ngx_src/conf_flags" ]; then
    echo "build.sh: $ngx_src/conf_flags not found: apt-get install nginx-dev" >&2
    exit 1
fi

build=$src/build
mkdir -p "$build"

echo "build.sh: configuring nginx's tree for the module ($build/nginx)"
(
    cd "$ngx_src"
    # shellcheck disable=SC1091
    . ./conf_flags
    ./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$src" \
        --builddir="$build/nginx" >"$build/configure.log" 2>&1
) || { tail -20 "$build/configure.log" >&2; exit 1; }

echo "build.sh: building the module"
make -s -j"$jobs" -f "$build/nginx/Makefile" -C "$ngx_src" modules

echo "build.sh: building webhook-worker and webhookctl"
make -s -j"$jobs" -C "$src" worker

for f in "$build/nginx/ngx_http_webhook_module.so" "$build/webhook-worker" \
    "$build/webhookctl"
do
    [ -f "$f" ] || { echo "build.sh: $f was not built" >&2; exit 1; }
done

echo "build.sh: installing under ${destdir:-/}"
install -D -m 0644 "$build/nginx/ngx_http_webhook_module.so" \
    "$destdir/usr/lib/nginx/modules/ngx_http_webhook_module.so"
install -d "$destdir/usr/share/nginx/modules-available" \
    "$destdir/etc/nginx/modules-enabled"
echo "load_module modules/ngx_http_webhook_module.so;" \
    >"$destdir/usr/share/nginx/modules-available/mod-http-webhook.conf"
ln -sfn /usr/share/nginx/modules-available/mod-http-webhook.conf \
    "$destdir/etc/nginx/modules-enabled/50-mod-http-webhook.conf"
install -D -m 0755 "$build/webhook-worker" "$destdir/usr/bin/webhook-worker"
install -D -m 0755 "$build/webhookctl" "$destdir/usr/bin/webhookctl"
