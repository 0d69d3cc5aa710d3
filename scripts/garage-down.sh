#!/usr/bin/env bash
# Stops the Garage started by scripts/garage-up.sh (its data stays).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${QUICHAT_GARAGE_DIR:-$root/.cache/garage}"
if [[ -f "$dir/garage.pid" ]]; then
  kill "$(cat "$dir/garage.pid")" 2>/dev/null || true
  rm -f "$dir/garage.pid"
fi
