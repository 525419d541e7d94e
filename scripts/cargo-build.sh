#!/bin/bash
# scripts/cargo-build.sh [CARGO ARGS…]: the one workspace build that the tests, clippy's
# neighbours, wlcs, the benchmark and meson (with -Dcargo-build-all=true) share.
#
# Cargo unifies dependency features over the packages it is asked to build, so
# `cargo build -p gwd-wlcs` or `-p gst-plugin-wayland-display` compiles smithay and the
# GStreamer crates again with other features. Building the whole workspace with all its
# targets every time gives one feature set, and every call after the first is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
exec cargo build --workspace --all-targets --locked "$@"
