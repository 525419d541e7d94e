#!/bin/bash
# Installs what is needed, builds, and runs a demo lobby on the software renderer:
# waylanddisplaysrc streams a weston-terminal running top, encoded with x264 into
# demo-output/demo.mp4, plus one PNG screenshot per second (Debian 12, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo build --locked -p gst-plugin-wayland-display
out=demo-output
rm -rf "$out" && mkdir -p "$out"
export GST_PLUGIN_PATH="$PWD/target/debug"
XDG_RUNTIME_DIR=$(mktemp -d /tmp/gwd-demo-XXXXXX)
export XDG_RUNTIME_DIR
socket=wayland-demo
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$XDG_RUNTIME_DIR"
}
trap cleanup EXIT

seconds=${DEMO_SECONDS:-10}
frames=$((seconds * 30))
echo "demo: streaming ${seconds}s of 1280x720@30 from socket $socket"
gst-launch-1.0 -e waylanddisplaysrc render-node=software socket-name="$socket" num-buffers="$frames" \
  ! video/x-raw,width=1280,height=720,framerate=30/1 ! tee name=t \
  t. ! queue ! videoconvert ! x264enc tune=zerolatency speed-preset=veryfast ! h264parse \
     ! mp4mux ! filesink location="$out/demo.mp4" \
  t. ! queue ! videorate ! video/x-raw,framerate=1/1 ! videoconvert ! pngenc \
     ! multifilesink location="$out/screenshot-%02d.png" \
  >"$out/gst-launch.log" 2>&1 &
pipeline=$!
pids+=("$pipeline")

# The socket exists once the element announced it; apps must not start before that.
for _ in $(seq 100); do [ -S "$XDG_RUNTIME_DIR/$socket" ] && break; sleep 0.1; done
[ -S "$XDG_RUNTIME_DIR/$socket" ] || { cat "$out/gst-launch.log"; echo "demo: no socket" >&2; exit 1; }

# weston-terminal runs its "shell" without arguments, so give it a script to run.
cat >"$XDG_RUNTIME_DIR/demo-shell" <<'SH'
#!/bin/sh
echo "gst-wayland-display demo: this terminal is a Wayland client of waylanddisplaysrc"
uname -a
exec top -d 0.5
SH
chmod +x "$XDG_RUNTIME_DIR/demo-shell"
WAYLAND_DISPLAY=$socket weston-terminal --shell="$XDG_RUNTIME_DIR/demo-shell" >/dev/null 2>&1 &
pids+=($!)

if ! wait "$pipeline"; then
  cat "$out/gst-launch.log"
  echo "demo: the pipeline failed" >&2
  exit 1
fi
echo "demo: wrote $out/demo.mp4 ($(stat -c %s "$out/demo.mp4") bytes) and $(ls "$out"/screenshot-*.png | wc -l) screenshots:"
ls -1 "$out"/screenshot-*.png | tail -1
command -v gst-discoverer-1.0 >/dev/null && gst-discoverer-1.0 "$out/demo.mp4" | grep -E 'Duration|video' || true
