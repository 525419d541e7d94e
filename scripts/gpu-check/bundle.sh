#!/bin/bash
# scripts/gpu-check/bundle.sh DIR: packs into DIR.tar.gz what check.sh needs on a GPU
# machine that has no GStreamer, Wayland or Debian packages (the workplace's lent NVIDIA
# machine): our stripped binaries, plugin and GPU-only test, gst-launch, the plugins a lobby
# pipeline uses (NVENC among them), weston's EGL/DMABuf clients, xkb data, and every library
# they link except glibc's and the GL vendor-neutral dispatch the driver brings. Built from
# target/debug (run scripts/cargo-build.sh first).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-.gpu}
rm -rf "$out"; mkdir -p "$out"/{bin,lib,plugins,share}
multi=/usr/lib/x86_64-linux-gnu
for f in gst-wayland-display wayland-test-client gwd-bench; do strip -o "$out/bin/$f" target/debug/$f; done
strip -o "$out/plugins/libgstwaylanddisplaysrc.so" target/debug/libgstwaylanddisplaysrc.so
# The GPU-only integration test (ignored in CI): NV12 DMABufs checked against the reference.
yuv_test=$(cargo test --workspace --locked --no-run --test yuv_output 2>&1 |
  sed -n 's/.*Executable tests\/yuv_output.rs (\(.*\))/\1/p' | head -1)
strip -o "$out/bin/yuv_output" "$yuv_test"
cp /usr/bin/gst-launch-1.0 /usr/bin/gst-inspect-1.0 /usr/bin/weston-simple-egl \
  /usr/bin/weston-simple-dmabuf-egl /usr/bin/weston-simple-shm /usr/bin/wayland-info "$out/bin/"
cp $multi/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner "$out/bin/"
for p in coreelements app videoconvertscale videorate isomp4 matroska videoparsersbad \
  nvcodec x264 png typefindfunctions playback; do
  cp $multi/gstreamer-1.0/libgst$p.so "$out/plugins/"
done
cp -r /usr/share/X11/xkb "$out/share/xkb"
# The closure of every ELF file above, minus glibc (the machine's own, which is newer) and
# libEGL/libGL dispatch (glvnd, which must be the one matching the machine's driver).
skip='^(libc|libm|libdl|librt|libpthread|ld-linux-x86-64|libresolv|libutil)\.so'
for f in "$out"/bin/* "$out"/plugins/*; do ldd "$f" 2>/dev/null; done |
  awk '/=> \//{print $3}' | sort -u | while read -r lib; do
    name=$(basename "$lib")
    [[ $name =~ $skip ]] && continue
    cp -L "$lib" "$out/lib/$name"
  done
cp scripts/gpu-check/*.sh "$out/"
du -sh "$out"
# The device tool carries at most 64 MiB: the bundle travels compressed (about a third).
tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
rm -rf "$out"
du -sh "$out.tar.gz"
