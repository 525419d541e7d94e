#!/bin/bash
# Installs everything building, testing and the demo need on Debian 12 (as root).
# Quick when all is present: apt runs only for missing packages.
set -euo pipefail

packages=(
  # build (meson + ninja: the distribution route in meson.build)
  build-essential pkg-config curl ca-certificates meson ninja-build
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libwayland-dev libxkbcommon-dev
  libinput-dev libudev-dev libgbm-dev libdrm-dev libpixman-1-dev libegl-dev
  # the protocol XML zxdg_shell_v6 is generated from (third_party/smithay, xdg/v6.rs)
  wayland-protocols
  # run and test (libegl-mesa0 + libgl1-mesa-dri: GLES on llvmpipe without a GPU;
  # pci.ids: GPU names)
  xkb-data util-linux procps pci.ids libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  weston wayland-utils
  # the window policy's real client: a video player that ignores its first configures
  mpv
  # screen capture through wlr-screencopy (tests/tests/screencopy.rs)
  grim
  # the built-in Xwayland (tests/tests/xwayland.rs): the X server, X11 apps (xterm, GTK 3
  # through python3-gi), the clipboard on both sides (xclip, wl-clipboard)
  xwayland xterm xclip wl-clipboard gir1.2-gtk-3.0
  # named cursors (cursor-shape-v1) are drawn from an Xcursor theme
  adwaita-icon-theme
  # the desktop protocols (tests/tests/desktop_protocols.rs): typing through the virtual
  # keyboard
  wtype
  # layer shell (tests/tests/layer_shell.rs): a real background-layer client
  swaybg
  # conformance: the Wayland Conformance Test Suite runner (scripts/wlcs.sh)
  wlcs
  python3 python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  # examples: systemd-analyze checks the unit
  systemd
  # audio (issue 15): the private sound server, libpulse for the host's client side
  # (libpulse-binding), pulsesrc for capture, and apps that play into a lobby's sink in
  # the tests (paplay, gst-launch-1.0 … ! pulsesink)
  pulseaudio pulseaudio-utils libpulse-dev gstreamer1.0-pulseaudio
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Rust: the toolchain on PATH, else rustup's, else install rustup (needs sh.rustup.rs).
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if ! command -v cargo >/dev/null; then
  echo "setup: installing Rust with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --component clippy,rustfmt
  . "$HOME/.cargo/env"
fi
need=1.92
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "setup: rustc $have is older than $need; run 'rustup update stable'" >&2
  exit 1
fi
for tool in clippy rustfmt; do
  if ! cargo "${tool/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$tool"
  fi
done
