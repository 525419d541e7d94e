#!/bin/bash
# wolf-producer.sh OUT.mkv [APP ARGS…]: the split Wolf uses. A producer pipeline owns the
# compositor and publishes raw frames under a session name; consumers (one per client
# stream) pick them up and encode. Wolf connects the two with interpipe; Debian ships the
# inter elements (gst-plugins-bad), which play the same part here, in one gst-launch.
#
# The producer line is Wolf's, property spelling included (render_node: GObject accepts
# '_' for '-'), with its buffer caps for system memory.
#
#   RENDER_NODE=software examples/pipelines/wolf-producer.sh /tmp/session.mkv weston-terminal
. "$(dirname "$0")/common.sh"
out=${1:?usage: wolf-producer.sh OUT.mkv [APP ARGS…]}
shift
session=${SESSION_ID:-lobby-$$}
render_node=${RENDER_NODE:-software}

start_app_on_socket "$@"
gst-launch-1.0 -e \
  waylanddisplaysrc name=wolf_wayland_source render_node="$render_node" \
    socket-name="$SOCKET" num-buffers="$FRAMES" \
  ! "video/x-raw, width=$WIDTH, height=$HEIGHT, framerate=$FPS/1" \
  ! intervideosink name="${session}_video" channel="${session}_video" \
  intervideosrc channel="${session}_video" num-buffers="$FRAMES" \
  ! "video/x-raw, width=$WIDTH, height=$HEIGHT, framerate=$FPS/1" \
  ! videoconvert ! video/x-raw,format=I420 \
  ! x264enc tune=zerolatency speed-preset=ultrafast \
  ! h264parse ! matroskamux ! filesink location="$out"
