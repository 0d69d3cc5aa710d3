#!/usr/bin/env bash
# Runs every quichat-bench scenario at sizes that take about ten minutes
# on a 2-core machine, in release mode. Each scenario starts its own
# quichat-server (target/release/quichat-server, or $QUICHAT_BENCH_SERVER_BIN
# for a before/after comparison) on a fresh temporary data dir, and reports
# its figures beside a baseline measured in the same run.
#
# Usage: scripts/bench.sh [OUT_DIR]     (default: target/bench)
#
# Writes OUT_DIR/<scenario>.json (every figure), OUT_DIR/<scenario>.txt (the
# tables) and OUT_DIR/plots/*.svg. When PostgreSQL answers at
# $QUICHAT_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres),
# `messages` runs once more on a fresh database there
# (OUT_DIR/messages-postgres.*); QUICHAT_BENCH_SKIP_POSTGRES=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

out="${1:-target/bench}"
mkdir -p "$out/plots"

cargo build --release -p quichat-server -p quichat-bench

bench=target/release/quichat-bench
common=()
if [[ -n "${QUICHAT_BENCH_SERVER_BIN:-}" ]]; then
  common+=(--server-bin "$QUICHAT_BENCH_SERVER_BIN")
fi

# run NAME PLOT_DIR ARGS...: one scenario, its JSON and tables saved.
run() {
  local name="$1" plots="$2"
  shift 2
  printf '\n==> %s\n' "$name" >&2
  mkdir -p "$plots"
  "$bench" "${common[@]}" --json-out "$out/$name.json" --plot "$plots" "$@" \
    | tee "$out/$name.txt"
}

start=$SECONDS
run messages "$out/plots" messages --duration 30 --sweep --sweep-secs 10 --db-secs 15
run connections "$out/plots" connections --count 20000 --endpoints 16 --idle-secs 10
run hol "$out/plots" hol --samples 1000 --upload-mib 256
run media "$out/plots" media --mib 256 --repeat 3
run fanout "$out/plots" fanout --members 32 --messages 4000

pg="${QUICHAT_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
if [[ -z "${QUICHAT_BENCH_SKIP_POSTGRES:-}" ]]; then
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -d "$pg"; then
    run messages-postgres "$out/plots/postgres" --postgres "$pg" \
      messages --duration 20 --sweep --sweep-secs 8 --db-secs 10
  else
    echo "PostgreSQL not reachable at $pg: skipping messages-postgres" >&2
  fi
fi

printf '\nall scenarios done in %d s; results in %s\n' "$((SECONDS - start))" "$out" >&2
