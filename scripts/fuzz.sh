#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/fuzz_targets for FUZZ_SECONDS each
# (default 8; the targets in `short` below get their own few seconds, to
# keep CI's fuzz budget small), starting from the committed seeds in
# fuzz/corpus/<target>/ (read-only: what a run finds goes to a scratch
# directory). A crash fails the run and leaves its input in
# fuzz/artifacts/<target>/. CI runs this from .ci/run. Needs the nightly
# toolchain and cargo-fuzz (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# Nightly Rust is needed; a machine without it (rustup cannot fetch a
# toolchain here) says so and skips, rather than failing the whole run.
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "SKIPPED fuzzing: no nightly Rust toolchain on this machine"
  exit 0
fi
# Targets added after the budget was set: seconds each, unless FUZZ_SECONDS
# says how long every target runs.
short="com_objects=10 redis_url=5 locale_round_trip=5 redis_hash=5"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^libsess-fuzz$')
(cd fuzz && cargo +nightly fuzz build)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in $targets; do
  seconds=${FUZZ_SECONDS:-8}
  for s in $short; do
    if [ "${s%%=*}" = "$t" ]; then seconds=${FUZZ_SECONDS:-${s#*=}}; fi
  done
  mkdir -p "$scratch/$t"
  echo "== fuzz $t (${seconds}s)"
  log="$scratch/$t.log"
  if ! (cd fuzz && cargo +nightly fuzz run "$t" "$scratch/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1; then
    tail -n 80 "$log"
    echo "fuzz target $t failed (input in fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done )' "$log" || true
done
echo "fuzz: all targets ran without a crash"
