#!/usr/bin/env bash
# The whole test suite: the Rust unit and integration tests (these also
# build and run the C examples and the demo web app over HTTP), then the
# browser test (Playwright driving headless Chromium against the demo, then
# against Apache httpd with mod_sess). The HTTP scenarios against Apache are
# cargo tests (tests/http_demo.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each part's header says when it began.
part() { echo "== $* (at ${SECONDS} s)"; }
bash scripts/install-deps.sh
part "the Rust tests (cargo test)"
cargo test
part "the C++ binding"
# The C++ binding (bindings/cpp): its doctest suite, under valgrind.
make -C bindings/cpp valgrind
# The Python binding (bindings/python): pip-installed into a venv under
# target/ with its test extra (pytest, and mypy, which its typing test
# runs), then its pytest suite (run from here, so the installed package is
# the one imported).
part "the Python binding"
python3 -m venv target/venv-bindings
target/venv-bindings/bin/pip install -q "./bindings/python[test]"
target/venv-bindings/bin/pytest -q -p no:cacheprovider bindings/python/tests
part "the browser test"
(cd tests/browser && node --test)
# The browser test again, against Apache httpd with hosts/apache/mod_sess.
(cd tests/browser && SERVER=apache node --test)
part "done"
