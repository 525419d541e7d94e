#!/bin/bash
# Runs on the GPU machine: why GStreamer's nvcodec does (not) register NVENC there, and a
# lobby encoded with nvh264enc when it does.
B=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"
exec > >(tee "$OUT/nvenc.log") 2>&1
. "$B/env.sh"
ls /usr/local/nvidia/lib64 | grep -E 'cuda|encode|nvcuvid|egl' | head -20
ldconfig -p | grep -E 'libcuda|nvidia-encode|nvcuvid' | head
rm -f "$GST_REGISTRY"
GST_DEBUG=2,nvcodec:6,cudaloader:6,nvenc:6,cudacontext:6,GST_PLUGIN_LOADING:5 timeout 60 gst-inspect-1.0 nvcodec 2>&1 |
  grep -i -E 'nvcodec|cuda|nvenc|error|fail|warn' | cut -c1-300 | head -60
if gst-inspect-1.0 nvh264enc >/dev/null 2>&1; then
  timeout 60 gst-wayland-display run --width 1920 --height 1080 --fps 60 --render-node software \
    --encoder nvh264enc --duration 5 --output /tmp/nvenc.mkv --screenshot "$OUT/nvenc.png" \
    -- wayland-test-client --animate 2>&1 | tail -15
  echo "rc=${PIPESTATUS[0]}"; ls -l /tmp/nvenc.mkv; cp /tmp/nvenc.mkv "$OUT/"
fi
