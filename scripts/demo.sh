#!/bin/bash
# Installs what is needed, builds, and runs a demo lobby on the software renderer:
# `gst-wayland-display run` streams a weston-terminal running top, encoded with x264, and
# the sound its shell plays (a 440 Hz tone into the lobby's own sink), encoded with Opus,
# into demo-output/demo.mp4, plus a PNG screenshot of the last frame (Debian 12, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo build --locked -p gst-wayland-display
out=demo-output
rm -rf "$out" && mkdir -p "$out"
seconds=${DEMO_SECONDS:-10}

# weston-terminal runs its "shell" without arguments, so give it a script to run.
shell=$(mktemp /tmp/gwd-demo-shell-XXXXXX)
trap 'rm -f "$shell"' EXIT
cat >"$shell" <<'SH'
#!/bin/sh
echo "gst-wayland-display demo: this terminal is a Wayland client of waylanddisplaysrc"
uname -a
# The lobby's sound: PULSE_SERVER and PULSE_SINK name its own sink.
gst-launch-1.0 -q audiotestsrc is-live=true freq=440 volume=0.2 ! pulsesink >/dev/null 2>&1 &
exec top -d 0.5
SH
chmod +x "$shell"

./target/debug/gst-wayland-display run --render-node software \
  --width 1280 --height 720 --fps 30 --duration "$seconds" \
  --output "$out/demo.mp4" --screenshot "$out/screenshot.png" \
  -- weston-terminal --shell="$shell"
