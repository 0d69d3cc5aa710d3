#!/usr/bin/env bash
# Writes the seed inputs of every fuzz target into fuzz/corpus/<target>/
# (seed-* files; `cargo fuzz cmin` renames what it keeps to content hashes).
#   proto targets: valid encodings from proto/examples/fuzz_seeds.rs
#   audio targets: tiny valid recordings made with sox and opusenc (the
#                  tools the audio tests use: apt-get install sox
#                  libsox-fmt-all opus-tools)
# Run from anywhere; only needed to rebuild the corpus from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run --quiet --locked -p quichat-proto --example fuzz_seeds -- fuzz/corpus

for tool in sox opusenc; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install sox libsox-fmt-all opus-tools)" >&2; exit 1; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tone() { sox -n -r "$1" -c "$2" "${@:4}" "$tmp/$3" synth 0.03 sine 440 sine 660 gain -3; }
tone 8000 1 s16.wav -b 16
tone 8000 2 u8-stereo.wav -b 8 -e unsigned-integer
tone 11025 1 s24.wav -b 24
tone 8000 1 f32.wav -b 32 -e floating-point
tone 8000 1 alaw.wav -e a-law
tone 8000 1 ulaw.wav -e u-law
tone 8000 1 tone.flac
tone 8000 1 tone.mp3
tone 8000 1 tone.ogg
sox -n -r 16000 -c 1 -b 16 "$tmp/for-opus.wav" synth 0.06 sine 440
opusenc --quiet --bitrate 8 "$tmp/for-opus.wav" "$tmp/mono.opus"
sox -n -r 16000 -c 2 -b 16 "$tmp/for-opus2.wav" synth 0.06 sine 440 sine 660
opusenc --quiet --bitrate 12 "$tmp/for-opus2.wav" "$tmp/stereo.opus"
rm "$tmp"/for-opus*.wav
for target in audio_probe audio_decode; do
  mkdir -p "fuzz/corpus/$target"
  for f in "$tmp"/*; do cp "$f" "fuzz/corpus/$target/seed-$(basename "$f")"; done
done
du -sh fuzz/corpus/*
