#!/bin/bash
# Builds the benchmark in release mode and runs it; arguments go to gwd-bench
# (--quick, --seconds N, --sizes WxH,…,
#  --only frames,startup,sockets,encoders,lobby-start,lobby-density,api-hostile,
#  api-flood,capture,av-sync,audio-cpu,yuv-convert,yuv-frames,
#  --render-node NODE, --json FILE). Prints Markdown tables; writes JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
./scripts/cargo-build.sh --release
exec target/release/gwd-bench "$@"
