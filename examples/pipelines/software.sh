#!/bin/bash
# software.sh OUT.mp4 [APP ARGS…]: an application rendered on the CPU (Pixman), encoded
# with x264 into an MP4 file. WIDTH, HEIGHT, FPS and SECONDS_TO_RUN set the stream.
#
#   examples/pipelines/software.sh /tmp/term.mp4 weston-terminal
. "$(dirname "$0")/common.sh"
out=${1:?usage: software.sh OUT.mp4 [APP ARGS…]}
shift

start_app_on_socket "$@"
# num-buffers ends the stream; -e turns that into a clean EOS so mp4mux writes its index.
gst-launch-1.0 -e \
  waylanddisplaysrc render-node=software socket-name="$SOCKET" num-buffers="$FRAMES" \
  ! "video/x-raw,width=$WIDTH,height=$HEIGHT,framerate=$FPS/1" \
  ! videoconvert ! video/x-raw,format=I420 \
  ! x264enc tune=zerolatency speed-preset=ultrafast \
  ! h264parse ! mp4mux ! filesink location="$out"
