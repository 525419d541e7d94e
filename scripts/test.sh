#!/bin/bash
# Installs what is needed, builds, lints and runs the whole test suite (Debian 12, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo fmt --all --check
# The one build: wlcs, the benchmark and meson below reuse it as it is.
./scripts/cargo-build.sh
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked

# Protocol conformance: wlcs over the tests listed in tests/wlcs/expected-pass.txt.
./scripts/wlcs.sh

# Benchmarks are not tests: this only checks that the quick run works and prints its tables.
benchjson=$(mktemp /tmp/gwd-bench-XXXXXX.json)
target/debug/gwd-bench --quick --json "$benchjson"
test -s "$benchjson"
rm -f "$benchjson"

# The distribution route: meson builds (reusing cargo's build), installs and loads the plugin.
mesondir=$(mktemp -d /tmp/gwd-meson-XXXXXX)
trap 'rm -rf "$mesondir"' EXIT
meson setup "$mesondir" --prefix=/usr -Dbuildtype=debug -Dcargo-target-dir="$PWD/target" \
  -Dcargo-build-all=true >/dev/null
meson compile -C "$mesondir" >/dev/null
DESTDIR="$mesondir/dest" meson install -C "$mesondir" >/dev/null
test -f "$mesondir/dest/usr/lib/$(gcc -print-multiarch)/gstreamer-1.0/libgstwaylanddisplaysrc.so"
"$mesondir/dest/usr/bin/gst-wayland-display" --version
meson test -C "$mesondir" gst-inspect
