#!/usr/bin/env bash
# Starts (or reuses) a single-node Garage S3 server for tests and local
# development, and writes the settings clients need to $DIR/env.
#
#   eval "$(scripts/garage-up.sh)"     # exports QUICHAT_TEST_S3_*
#
# Settings (environment): QUICHAT_GARAGE_DIR (state dir, default .cache/garage
# in the repository), QUICHAT_GARAGE_S3_PORT (3900), QUICHAT_GARAGE_RPC_PORT
# (3901), QUICHAT_GARAGE_ADMIN_PORT (3903), QUICHAT_GARAGE_BUCKET
# (quichat-test). Needs the `garage` binary (cargo install garage --locked).
# Stop it with scripts/garage-down.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${QUICHAT_GARAGE_DIR:-$root/.cache/garage}"
s3_port="${QUICHAT_GARAGE_S3_PORT:-3900}"
rpc_port="${QUICHAT_GARAGE_RPC_PORT:-3901}"
admin_port="${QUICHAT_GARAGE_ADMIN_PORT:-3903}"
bucket="${QUICHAT_GARAGE_BUCKET:-quichat-test}"
key_name="quichat-test-key"

garage_bin="$(command -v garage || true)"
if [[ -z "$garage_bin" && -x "$HOME/.cargo/bin/garage" ]]; then garage_bin="$HOME/.cargo/bin/garage"; fi
if [[ -z "$garage_bin" ]]; then
  echo "garage-up: the garage binary is missing; install it with: cargo install garage --locked" >&2
  exit 1
fi

mkdir -p "$dir/meta" "$dir/data"
chmod 700 "$dir"
cfg="$dir/garage.toml"
g() { "$garage_bin" -c "$cfg" "$@"; }

if [[ ! -f "$cfg" ]]; then
  secret="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
  admin_token="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
  cat > "$cfg" <<CFG
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$secret"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
admin_token = "$admin_token"
CFG
  chmod 600 "$cfg"
fi

if ! g status >/dev/null 2>&1; then
  nohup "$garage_bin" -c "$cfg" server > "$dir/garage.log" 2>&1 &
  echo $! > "$dir/garage.pid"
  for _ in $(seq 1 100); do
    g status >/dev/null 2>&1 && break
    sleep 0.2
  done
  g status >/dev/null 2>&1 || { echo "garage-up: garage did not start; see $dir/garage.log" >&2; exit 1; }
fi

# One-time cluster setup: layout, key, bucket.
# (Capture first: with pipefail, `grep -q` closing the pipe early would
# make the pipeline fail.)
layout="$(g layout show 2>/dev/null || true)"
if ! grep -q "Current cluster layout version: [1-9]" <<<"$layout"; then
  node_id="$(g node id -q | cut -d@ -f1)"
  g layout assign -z dc1 -c 1G "$node_id" >/dev/null
  g layout apply --version 1 >/dev/null
fi
for _ in $(seq 1 50); do
  g bucket list >/dev/null 2>&1 && break
  sleep 0.2
done
if [[ ! -f "$dir/env" ]]; then
  info="$(g key info "$key_name" --show-secret 2>/dev/null || g key create "$key_name")"
  key_id="$(printf '%s\n' "$info" | awk -F': *' '/Key ID/ {print $2; exit}')"
  secret_key="$(printf '%s\n' "$info" | awk -F': *' '/Secret key/ {print $2; exit}')"
  [[ -n "$key_id" && -n "$secret_key" ]] || { echo "garage-up: cannot read key from: $info" >&2; exit 1; }
  g bucket info "$bucket" >/dev/null 2>&1 || g bucket create "$bucket" >/dev/null
  g bucket allow --read --write --owner "$bucket" --key "$key_name" >/dev/null
  umask 077
  cat > "$dir/env" <<ENV
export QUICHAT_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
export QUICHAT_TEST_S3_REGION=garage
export QUICHAT_TEST_S3_BUCKET=$bucket
export QUICHAT_TEST_S3_ACCESS_KEY_ID=$key_id
export QUICHAT_TEST_S3_SECRET_ACCESS_KEY=$secret_key
ENV
fi
cat "$dir/env"
