#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/) for SECONDS each
# (default 60) on the nightly toolchain, then minimises each corpus
# (`cargo fuzz cmin`) so the committed fuzz/corpus/ stays small. Installs
# cargo-fuzz when it is missing. Prints, per target, the executions run
# and whether it crashed; exits non-zero if any target crashed (the input
# is left in fuzz/artifacts/<target>/, reproduce it with
# `cargo +nightly fuzz run -O -a <target> fuzz/artifacts/<target>/<file>`).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Extra libFuzzer flags: FUZZ_FLAGS="-rss_limit_mb=4096" scripts/fuzz.sh 300
# CI does not run this (it needs nightly); it replays the committed corpora
# on stable instead (proto/tests/fuzz_corpus.rs, audio/tests/fuzz_corpus.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
  echo "usage: $0 [SECONDS] [TARGET...]" >&2
  exit 2
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "error: the nightly toolchain is missing: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if (( $# )); then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

# -O: optimised; -a: with debug assertions, so integer overflows panic as
# they do in the stable corpus replay (dev profile): the first fuzzing
# found a shift overflow in symphonia that only shows that way.
echo "==> building ${targets[*]}"
cargo +nightly fuzz build -O -a

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
failed=0
summary=()
for t in "${targets[@]}"; do
  echo "==> fuzzing $t for ${seconds}s"
  # -timeout: one input taking longer is reported as a hang (a finding).
  set +e
  # shellcheck disable=SC2086
  cargo +nightly fuzz run -O -a "$t" -- -max_total_time="$seconds" -timeout=20 \
    -print_final_stats=1 ${FUZZ_FLAGS:-} >"$logs/$t.log" 2>&1
  rc=$?
  set -e
  runs="$(grep -oE 'Done [0-9]+ runs' "$logs/$t.log" | grep -oE '[0-9]+' | tail -n1 || true)"
  [[ -z "$runs" ]] && runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$logs/$t.log" | grep -oE '[0-9]+$' | tail -n1 || true)"
  if (( rc == 0 )); then
    result="no crash"
  else
    result="CRASH (exit $rc): $(grep -m1 -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY' "$logs/$t.log" || echo 'see the log')"
    failed=1
    cp "$logs/$t.log" "fuzz/artifacts/$t.log" 2>/dev/null || true
    tail -n 40 "$logs/$t.log" >&2
  fi
  summary+=("$(printf '%-14s %12s execs  %s' "$t" "${runs:-?}" "$result")")
  if (( rc == 0 )); then
    before="$(find "fuzz/corpus/$t" -type f | wc -l)"
    # Edge coverage only (-use_counters=0): hit-count buckets would keep
    # several times as many inputs for little gain; the committed corpus
    # stays well under 1 MB.
    cargo +nightly fuzz cmin -O -a "$t" -- -use_counters=0 -timeout=20 >"$logs/$t.cmin.log" 2>&1 \
      || { echo "cmin of $t failed:" >&2; tail -n 20 "$logs/$t.cmin.log" >&2; failed=1; }
    after="$(find "fuzz/corpus/$t" -type f | wc -l)"
    summary[-1]+="  (corpus $before -> $after after cmin)"
  fi
done

echo
echo "==> summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
du -sh fuzz/corpus
exit "$failed"
