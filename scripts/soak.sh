#!/usr/bin/env bash
# Soak test: MINUTES (default 10) of mixed load against a real, release
# quichat-server started by quichat-bench (`quichat-bench soak`): connects
# and disconnects, text messages and bursts, uploads, downloads, voice
# notes and device revocations, by several users at once, every choice
# seeded. Then it checks that every acknowledged message is in the history
# exactly once, that every voice note was transcribed, that the server's
# RSS is back within 32 MiB of its baseline and that every connection is
# closed; it exits 1 when a check fails. BENCHMARKS.md and bench/README.md
# say what each figure means.
#
# Usage: scripts/soak.sh [MINUTES] [extra quichat-bench soak options]
#   e.g. scripts/soak.sh 30 --seed 42 --users 12
#
# Writes target/soak/soak.json (every figure), soak.txt (the tables) and
# soak-rss.svg (RSS over time). The server runs on SQLite in a temporary
# directory; SOAK_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres runs
# it on a fresh PostgreSQL database there instead. Voice notes need the
# Whisper model: QUICHAT_TEST_WHISPER_MODEL, or fetched with
# scripts/fetch-test-model.sh (QUICHAT_TEST_SKIP_WHISPER=1: no voice notes).
# The server gets deploy/'s allocator setting (MALLOC_MMAP_THRESHOLD_, see
# docs/DEPLOY.md); SOAK_GLIBC_DEFAULTS=1 runs it with glibc's defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

minutes="${1:-10}"
shift || true
out="${SOAK_OUT:-target/soak}"
mkdir -p "$out"

cargo build --release --locked -p quichat-server -p quichat-bench

args=(--json-out "$out/soak.json" --plot "$out")
if [[ -z "${SOAK_GLIBC_DEFAULTS:-}" ]]; then
  args+=(--server-env MALLOC_MMAP_THRESHOLD_=1048576)
fi
if [[ -n "${SOAK_POSTGRES:-}" ]]; then
  args+=(--postgres "$SOAK_POSTGRES")
fi
voice=()
if [[ -n "${QUICHAT_TEST_SKIP_WHISPER:-}" && "${QUICHAT_TEST_SKIP_WHISPER}" != 0 ]]; then
  voice=(--no-voice)
else
  model="${QUICHAT_TEST_WHISPER_MODEL:-$(scripts/fetch-test-model.sh)}"
  args+=(--whisper-model "$model")
fi

target/release/quichat-bench "${args[@]}" soak --minutes "$minutes" "${voice[@]}" "$@" \
  | tee "$out/soak.txt"
