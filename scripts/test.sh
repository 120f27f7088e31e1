#!/usr/bin/env bash
# The whole test suite: the Rust unit and integration tests (these also
# build and run the C examples and the demo web app over HTTP), then the
# browser test (Playwright driving headless Chromium against the demo, then
# against Apache httpd with mod_sess). The HTTP scenarios against Apache are
# cargo tests (tests/http_demo.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo test
(cd tests/browser && node --test)
# The browser test again, against Apache httpd with hosts/apache/mod_sess.
(cd tests/browser && SERVER=apache node --test)
