#!/bin/bash
# Runs on the GPU machine from the bundle bundle.sh made: bash .gpu/check.sh (OUT set by the
# device tool, else ./gpu-out). Every step is bounded and reports; none stops the others.
B=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/gpu-out}; mkdir -p "$OUT"
exec > >(tee "$OUT/check.log") 2>&1
step() { echo; echo "=== $*"; }
step probe
uname -r; head -2 /etc/os-release; nvidia-smi -L 2>&1 | head -3
ls -l /dev/dri 2>&1; ls /sys/class/drm 2>&1 | head; ls -d /sys/module/nvidia* 2>&1
. "$B/env.sh"
env | grep -E '^(GBM|__EGL|LD_LIB)' 
step plugins
timeout 60 gst-inspect-1.0 waylanddisplaysrc 2>&1 | grep -E 'Version|render-node|^  [a-z-]+ *:' | head -30
timeout 30 gst-inspect-1.0 nvh264enc 2>&1 | head -5
nvenc=nvh264enc
gst-inspect-1.0 nvh264enc >/dev/null 2>&1 || { echo "no nvh264enc: lobbies encode with x264enc"; nvenc=x264enc; }
step devices
timeout 20 gst-wayland-display devices 2>&1
lobby() { # NAME NODE ENCODER APP...: a 4 s lobby with a screenshot
  local name=$1 node=$2 enc=$3; shift 3
  step "lobby $name: render-node=$node encoder=$enc app: $*"
  timeout 60 gst-wayland-display run --log info,waylanddisplaycore=debug --width 640 --height 480 \
    --fps 30 --render-node "$node" --encoder "$enc" --duration 4 --output "/tmp/$name.mkv" \
    --screenshot "$OUT/$name.png" -- "$@" 2>&1 | grep -v -E 'TRACE' | tail -40
  echo "rc=${PIPESTATUS[0]}"; ls -l "/tmp/$name.mkv" "$OUT/$name.png" 2>&1
}
lobby software software x264enc wayland-test-client --pattern quadrants
lobby gpu-shm auto "$nvenc" wayland-test-client --pattern quadrants
cp /tmp/gpu-shm.mkv "$OUT/" 2>/dev/null
lobby gpu-egl auto "$nvenc" weston-simple-egl
lobby gpu-dmabuf auto "$nvenc" weston-simple-dmabuf-egl
lobby gpu-info auto x264enc wayland-info
step "element: DMABuf output"
GST_DEBUG=waylanddisplaysrc:4 timeout 30 gst-launch-1.0 -q waylanddisplaysrc render-node=auto num-buffers=30 \
  ! 'video/x-raw(memory:DMABuf),width=320,height=240,framerate=30/1' ! fakesink 2>&1 | tail -15
echo "rc=${PIPESTATUS[0]}"
step "element: NV12 DMABuf output (the YUV shader into R8/GR88 plane views; never run on a GPU before)"
if gst-inspect-1.0 --version | grep -qE 'GStreamer 1\.(2[4-9]|[3-9][0-9])'; then nv12='format=DMA_DRM,drm-format=NV12'; else nv12='format=NV12'; fi
GST_DEBUG=waylanddisplaysrc:4 timeout 30 gst-launch-1.0 -q waylanddisplaysrc render-node=auto num-buffers=30 \
  ! "video/x-raw(memory:DMABuf),$nv12,width=320,height=240,framerate=30/1" ! fakesink 2>&1 | tail -15
echo "rc=${PIPESTATUS[0]}"
step "NV12 DMABufs from the shader, every frame read back and checked against the reference"
GWD_TEST_CLIENT="$B/bin/wayland-test-client" timeout 120 "$B/bin/yuv_output" --ignored \
  --exact nv12_dmabufs_from_a_render_node_match_the_reference 2>&1 | tail -20
echo "rc=${PIPESTATUS[0]}"
step "element: I420 in system memory converted by the shader, 60 frames 1080p"
timeout 60 gst-launch-1.0 waylanddisplaysrc render-node=auto num-buffers=60 \
  ! video/x-raw,format=I420,width=1920,height=1080,framerate=60/1 ! fakesink 2>&1 | tail -5
echo "rc=${PIPESTATUS[0]}"
step "element: system memory on the GPU, 60 frames 1080p"
timeout 60 gst-launch-1.0 waylanddisplaysrc render-node=auto num-buffers=60 \
  ! video/x-raw,format=BGRx,width=1920,height=1080,framerate=60/1 ! fakesink 2>&1 | tail -5
echo "rc=${PIPESTATUS[0]}"
step "gwd-bench yuv-frames at 1080p: the YUV shader against the CPU on the render node (last: the longest step)"
for m in gpu cpu; do
  timeout 150 gwd-bench --render-node auto --yuv-conversion "$m" --only yuv-frames \
    --sizes 1920x1080 --seconds 2 --json "$OUT/bench-yuv-$m.json" 2>&1 | grep -E '^(#|\|)'
  echo "rc=${PIPESTATUS[0]}"
done
