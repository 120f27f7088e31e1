#!/usr/bin/env bash
# The whole test suite: the Rust unit and integration tests (these also
# build and run the C examples and the demo web app over HTTP), then the
# browser test (Playwright driving headless Chromium against the demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo test
(cd tests/browser && node --test)
