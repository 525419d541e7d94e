#!/bin/bash
# auto.sh OUT.mkv [APP ARGS…]: render-node=auto (a discrete GPU over an integrated one,
# else the CPU) and the first H.264 encoder present, as the lobby host picks them.
# The element posts what it chose as a bus INFO message (gst-launch prints it).
#
#   examples/pipelines/auto.sh /tmp/app.mkv vkcube
. "$(dirname "$0")/common.sh"
out=${1:?usage: auto.sh OUT.mkv [APP ARGS…]}
shift

encoder=
for candidate in nvh264enc vah264enc qsvh264enc x264enc; do
  if gst-inspect-1.0 --exists "$candidate"; then
    encoder=$candidate
    break
  fi
done
[ -n "$encoder" ] || { echo "no H.264 encoder installed" >&2; exit 1; }
# Hardware encoders take NV12; x264enc I420.
if [ "$encoder" = x264enc ]; then
  encode="video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast"
else
  encode="video/x-raw,format=NV12 ! $encoder"
fi
echo "encoding with $encoder"

start_app_on_socket "$@"
# With a GPU the source offers DMABuf first; videoconvert takes system memory, so caps
# negotiation picks that. A GPU-side converter (vapostproc, cudaconvert) would keep the
# frames on the GPU.
# shellcheck disable=SC2086 # $encode is a pipeline fragment
gst-launch-1.0 -e \
  waylanddisplaysrc render-node=auto socket-name="$SOCKET" num-buffers="$FRAMES" \
  ! "video/x-raw,width=$WIDTH,height=$HEIGHT,framerate=$FPS/1" \
  ! videoconvert ! $encode \
  ! h264parse ! matroskamux ! filesink location="$out"
