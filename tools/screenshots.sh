#!/usr/bin/env bash
# The README's pictures of `micrograd serve`, both modes, taken by headless
# Chromium: tools/screenshots.sh (writes docs/serve-expression.png and
# docs/serve-training.png; needs the chromium package).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
out=$(mktemp)
target/release/micrograd serve --port 0 > "$out" &
server=$!
trap 'kill $server; rm -f "$out"' EXIT
until grep -q http "$out"; do sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$out")
shot() {
  local profile
  profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --virtual-time-budget=30000 \
    --window-size="$1" --screenshot="$2" "$3" 2>/dev/null
  rm -rf "$profile"
  echo "wrote $2"
}
mkdir -p docs
shot 1400,900 docs/serve-expression.png "${url}?run=step&n=4"
shot 1400,1400 docs/serve-training.png "${url}?mode=train&data=moons&steps=60&point=5"
