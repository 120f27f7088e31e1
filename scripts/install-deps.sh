#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine:
# a C toolchain, make, valgrind, Redis (server and CLI: the Redis store's
# tests, the web farm, a private Cluster), openssl (the TLS test's
# certificates), Apache httpd and apxs (hosts/apache), Chromium and Node for
# the browser test, and the browser test's npm packages (playwright-core,
# which downloads nothing); then starts Redis on 127.0.0.1:6379 if nothing
# answers there. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
missing=()
have cc || missing+=(gcc)
have c++ || missing+=(g++)
have make || missing+=(make)
have pkg-config || missing+=(pkg-config)  # tests/install.rs
have readelf || missing+=(binutils)       # tests/install.rs (the SONAME)
have valgrind || missing+=(valgrind)
# clang: the C examples under AddressSanitizer (scripts/sanitize.sh).
have clang || missing+=(clang)
have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-tools)
have openssl || missing+=(openssl)
have chromium || missing+=(chromium)
have node || missing+=(nodejs)
have npm || missing+=(npm)
# The bindings' tests: doctest (C++), python3 with venv and pip (Python).
[ -f /usr/include/doctest/doctest.h ] || missing+=(doctest-dev)
have python3 || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# Apache httpd and apxs: hosts/apache/mod_sess and its tests.
have apache2 || have httpd || [ -x /usr/sbin/apache2 ] || missing+=(apache2)
have apxs || missing+=(apache2-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing: ${missing[*]} (install them, or run this as root)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
