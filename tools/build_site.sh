#!/usr/bin/env bash
# Builds the static site: the page of `micrograd serve` with its computing
# done by this crate compiled to WebAssembly (web/), no server behind it.
#
#     tools/build_site.sh [DIR]     # DIR: site/ by default; serve it with any static host
#
# DIR gets index.html (src/page/page.html with the module's loader), the
# module's bindings micrograd.js and micrograd_bg.wasm: nothing fetched from
# elsewhere. The compiler: rustup's wasm32-unknown-unknown target where
# rustup can add it (the ordinary route); else Debian's rustc-web, whose std
# is built from source (rust-web-src, -Zbuild-std) and linked by lld-19's
# wasm-ld (installed here when run as root). wasm-bindgen-cli, at the
# version in Cargo.lock, is installed once into target/wasm-bindgen-cli.
# Exits 2 when there is no compiler for the target and it cannot install one.
# The first route leaves the target added to rustup's active toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-site}
triple=wasm32-unknown-unknown
targetdir=target/wasm
say() { echo "build_site: $*" >&2; }

# BUILD_SITE_ROUTE=debian takes the second route even where rustup works
route=${BUILD_SITE_ROUTE:-}
if [ "$route" != debian ] && command -v rustup >/dev/null && rustup target add "$triple" >/dev/null 2>&1; then
  say "rustup's $triple target"
  cargo build --release --target "$triple" --target-dir "$targetdir" -p micrograd-web
else
  debian=(rustc-web cargo-web rust-web-src lld-19)
  if ! [ -x /usr/bin/cargo ] || ! [ -x /usr/bin/wasm-ld-19 ] || ! compgen -G "/usr/src/rustc-*/library" >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "rustup cannot add $triple here: installing Debian's ${debian[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debian[@]}" >/dev/null
    else
      say "error: rustup cannot add $triple here; install Debian's ${debian[*]} (as root)," \
          "or a rustup toolchain with: rustup target add $triple"
      exit 2 # no compiler for the target: ./test skips the site's tests
    fi
  fi
  say "Debian's rustc-web with -Zbuild-std (a cold build takes about 3 minutes)"
  PATH="/usr/bin:$PATH" RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C linker=wasm-ld-19" \
    cargo build --release --target "$triple" --target-dir "$targetdir" -p micrograd-web \
    -Zbuild-std=std,panic_abort
fi

# wasm-bindgen's command must be the version of the wasm-bindgen crate linked in
version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
bindgen=target/wasm-bindgen-cli/bin/wasm-bindgen
if ! [ -x "$bindgen" ] || ! "$bindgen" --version | grep -qF " $version"; then
  say "installing wasm-bindgen-cli $version into target/wasm-bindgen-cli (about 6 minutes, once)"
  cargo install -q wasm-bindgen-cli --version "$version" --root target/wasm-bindgen-cli
fi

rm -rf "$out"
mkdir -p "$out"
"$bindgen" --target web --no-typescript --out-dir "$out" --out-name micrograd \
  "$targetdir/$triple/release/micrograd_web.wasm"
loader='<script>window.micrograd = import("./micrograd.js").then(async (m) => { await m.default(); return m.call; });</script>'
marker="<!-- static site: the engine's loader goes here -->"
grep -qF "$marker" src/page/page.html || { say "error: src/page/page.html has lost its loader marker"; exit 1; }
awk -v m="$marker" -v l="$loader" '$0 == m { print l; next } { print }' src/page/page.html > "$out/index.html"
say "wrote $out/: $(cd "$out" && ls | tr '\n' ' ')($(wc -c < "$out/micrograd_bg.wasm") bytes of wasm, $(gzip -9c "$out/micrograd_bg.wasm" | wc -c) gzipped)"
