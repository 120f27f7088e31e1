#!/usr/bin/env bash
# Sanitizers (nightly Rust; CI runs this from .ci/run):
#  1. AddressSanitizer: libsess.a built with -Zsanitizer=address, the C
#     examples (examples-c/*.c, as tests/c_examples.rs picks them) compiled
#     with -fsanitize=address against it and run; the demo server built so,
#     under the HTTP scenarios (tests/http_demo.rs); the C++ binding's tests
#     built with ASan and UBSan; then the Rust library's unit tests and the
#     concurrency tests (tests/session_lifecycle.rs); then Apache httpd's
#     HTTP scenarios (tests/http_demo.rs) with mod_sess and the tests'
#     modules built with gcc's -fsanitize=address (Apache loads the ASan
#     runtime through LD_PRELOAD; any report fails the step).
#  2. ThreadSanitizer on the concurrency tests (std rebuilt instrumented:
#     -Zbuild-std, needs the nightly rust-src component).
#  3. Miri over the unit tests of unsafe code Miri can run (no C, no
#     sockets, no coarse clock): Contents' key cast, objects' reference
#     counts, the FFI layer's boundary, byte and versioned-struct readers.
#     (The whole library under Miri takes far longer than CI allows.)
# Each step uses its own target directory under target/, so the normal
# build is untouched. SANITIZE_STEPS=asan,tsan,miri picks steps (default all).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# Nightly Rust is needed; a machine without it (rustup cannot fetch a
# toolchain here) says so and skips, rather than failing the whole run.
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "SKIPPED the sanitizers: no nightly Rust toolchain on this machine"
  exit 0
fi
steps=",${SANITIZE_STEPS:-asan,tsan,miri},"
triple=x86_64-unknown-linux-gnu

for c in rust-src miri; do
  rustup +nightly component list --installed 2>/dev/null | grep -q "^$c" \
    || rustup +nightly component add "$c"
done

# ASan's reports for processes the tests start go to files in a directory:
# any there fails the step (the directory is then removed).
no_reports() {
  if compgen -G "$1/asan.*" >/dev/null; then
    cat "$1"/asan.*
    exit 1
  fi
  rm -rf "$1"
}

if [[ $steps == *,asan,* ]]; then
  echo "== ASan: libsess.a and the C examples (at ${SECONDS} s)"
  asan_flags="-Zsanitizer=address -Cforce-frame-pointers=yes"
  RUSTFLAGS="$asan_flags" cargo +nightly build --lib --target "$triple" \
    --target-dir target/asan
  lib=target/asan/$triple/debug/libsess.a
  out=target/asan/c-examples
  mkdir -p "$out"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
  for src in examples-c/*.c; do
    name=$(basename "$src" .c)
    case $name in bench* | server*) continue ;; esac
    clang -std=c99 -Wall -Wextra -Werror -pedantic -g -fsanitize=address \
      -fno-omit-frame-pointer -Iinclude -o "$out/$name" "$src" "$lib" \
      -lpthread -ldl -lm
    echo "-- $name"
    # A hang fails the step (10 minutes: each takes seconds) rather than CI.
    timeout 600 "$out/$name" >"$out/$name.log" 2>&1 || { cat "$out/$name.log"; exit 1; }
  done

  echo "== ASan: the demo server (examples-c/server_demo.c), the HTTP scenarios (at ${SECONDS} s)"
  clang -std=c99 -Wall -Wextra -Werror -pedantic -g -fsanitize=address \
    -fno-omit-frame-pointer -Iinclude -o "$out/server_demo" examples-c/server_demo.c "$lib" \
    -lpthread -ldl -lm
  reports=$(mktemp -d)
  # The tests stop the server with SIGKILL: no leak check, memory errors only.
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:log_path=$reports/asan \
    DEMO_BIN=$PWD/$out/server_demo cargo test --test http_demo -- --skip apache
  no_reports "$reports"

  echo "== ASan and UBSan: the C++ binding's tests (bindings/cpp) (at ${SECONDS} s)"
  make -C bindings/cpp sanitize

  echo "== ASan: Rust unit tests and concurrency tests (at ${SECONDS} s)"
  RUSTFLAGS="$asan_flags" RUSTDOCFLAGS="$asan_flags" \
    cargo +nightly test --target "$triple" --target-dir target/asan \
    --lib --test session_lifecycle

  echo "== ASan: mod_sess in Apache httpd, the HTTP scenarios (at ${SECONDS} s)"
  reports=$(mktemp -d)
  chmod 1777 "$reports" # Apache's children write there as its User (nobody under root)
  SESS_APACHE_ASAN=$reports cargo test --test http_demo apache
  no_reports "$reports"
fi

if [[ $steps == *,tsan,* ]]; then
  echo "== TSan: concurrency tests and the LMDB lock table's wake-ups (std rebuilt with -Zbuild-std) (at ${SECONDS} s)"
  TSAN_OPTIONS=halt_on_error=1 RUSTFLAGS="-Zsanitizer=thread" \
    cargo +nightly test -Zbuild-std --target "$triple" --target-dir target/tsan \
    --lib --test session_lifecycle -- no_lost_updates the_expiry_thread read_only_units \
    store::lmdb::locks
fi

if [[ $steps == *,miri,* ]]; then
  echo "== Miri: the word reads of short texts, Contents' key cast, objects' reference counts, the FFI's struct and byte readers, C bool fields, the COM objects under a hostile host and calls back in (at ${SECONDS} s)"
  MIRIFLAGS="-Zmiri-disable-isolation" cargo +nightly miri test \
    --target-dir target/miri --lib -- ascii state::contents variant::change_type::tests::objects \
    variant::tests ffi::tests ffi::app::tests::option_structs ffi::app::tests::an_older_struct \
    c_bool_fields ffi::com::tests::hostile ffi::com::tests::reentry
fi
echo "sanitizers: all passed"
