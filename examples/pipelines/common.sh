# Sourced by the pipeline examples: finds the plugin, names the socket, starts the app.
#
# The element creates its Wayland socket when the pipeline goes to READY. Naming it
# (socket-name=) lets the script start the application as soon as that path appears,
# without parsing gst-launch's bus messages.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(cd "$here/../.." && pwd)

# An installed plugin wins; from a checkout, use cargo's build.
if ! gst-inspect-1.0 waylanddisplaysrc >/dev/null 2>&1; then
  for dir in "$checkout/target/debug" "$checkout/target/release"; do
    if [ -f "$dir/libgstwaylanddisplaysrc.so" ]; then
      export GST_PLUGIN_PATH="$dir${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
      break
    fi
  done
  gst-inspect-1.0 waylanddisplaysrc >/dev/null 2>&1 || {
    echo "waylanddisplaysrc not found: install the plugin or run 'cargo build' first" >&2
    exit 1
  }
fi

: "${XDG_RUNTIME_DIR:?set XDG_RUNTIME_DIR (where the Wayland socket goes)}"
WIDTH=${WIDTH:-1280}
HEIGHT=${HEIGHT:-720}
FPS=${FPS:-30}
SECONDS_TO_RUN=${SECONDS_TO_RUN:-5}
FRAMES=$((FPS * SECONDS_TO_RUN))
SOCKET=${SOCKET:-wayland-example-$$}

app_pid=
stop_app() {
  if [ -n "$app_pid" ]; then
    kill -TERM "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
  fi
}
trap stop_app EXIT

# start_app_on_socket CMD ARGS…: in the background, waits (up to 10 s) for the socket,
# then runs CMD with WAYLAND_DISPLAY set (exec: $app_pid is the app); stopped on exit.
start_app_on_socket() {
  [ $# -gt 0 ] || return 0
  bash -c '
    socket=$1; shift
    for _ in $(seq 100); do
      [ -S "$XDG_RUNTIME_DIR/$socket" ] && exec env WAYLAND_DISPLAY="$socket" "$@"
      sleep 0.1
    done
    echo "the compositor did not create $XDG_RUNTIME_DIR/$socket within 10 s" >&2
    exit 1
  ' start-app "$SOCKET" "$@" &
  app_pid=$!
}
