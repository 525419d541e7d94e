#!/bin/bash
# api-session.sh: one lobby's life through the host's API with curl over its Unix socket:
# create (which waits until the lobby is ready), send input, take a screenshot, read the metrics, stop.
#
#   gst-wayland-display serve &                       # or: systemctl start gst-wayland-display
#   APP=weston-terminal examples/api-session.sh
#
# GWD_SOCKET: the API socket (default $XDG_RUNTIME_DIR/gst-wayland-display.sock);
# APP: the command the lobby runs; OUT_DIR: where the screenshot goes (default .).
set -euo pipefail

sock=${GWD_SOCKET:-${XDG_RUNTIME_DIR:?set XDG_RUNTIME_DIR or GWD_SOCKET}/gst-wayland-display.sock}
app=${APP:-weston-terminal}
out_dir=${OUT_DIR:-.}

# api METHOD PATH [JSON]: the answer's body on stdout; a non-2xx answer prints the
# host's {"success": false, "error": …} and fails.
api() {
  local method=$1 path=$2
  shift 2
  curl --silent --show-error --fail-with-body --max-time 30 --unix-socket "$sock" \
    -X "$method" "http://localhost$path" "$@"
}
# field PATH: the value at PATH (dot-separated keys) of the JSON object on stdin.
field() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print("" if value is None else value)' "$1"
}

body=$(python3 -c 'import json, sys; print(json.dumps({
  "name": "api-session",
  "video_settings": {"width": 640, "height": 480, "refresh_rate": 30},
  "runner": {"type": "process", "run_cmd": sys.argv[1]}}))' "$app")
# The create answers once the lobby is ready (200), or once it has failed (500, with the
# cause): no polling. (`?wait=false` would answer at once, the lobby still starting.)
created=$(api POST /api/v1/lobbies/create -d "$body") || {
  echo "the lobby did not start: $created" >&2
  exit 1
}
id=$(field lobby_id <<<"$created")
echo "created lobby $id"
trap 'api POST /api/v1/lobbies/stop -d "{\"lobby_id\": \"$id\"}" >/dev/null 2>&1 || true' EXIT

lobby=$(api GET "/api/v1/lobbies/$id")   # {"success": true, "lobby": {…}}
state=$(field lobby.state <<<"$lobby")
[ "$state" = ready ] || { echo "lobby $state, not ready" >&2; exit 1; }
echo "ready: WAYLAND_DISPLAY=$(field lobby.wayland_display <<<"$lobby") encoder=$(field lobby.encoder <<<"$lobby")"

api POST /api/v1/lobbies/input -d "{\"lobby_id\": \"$id\", \"events\": [
  {\"type\": \"MouseMoveAbsolute\", \"pointer_x\": 320, \"pointer_y\": 240},
  {\"type\": \"MouseButton\", \"button\": 272, \"pressed\": true},
  {\"type\": \"MouseButton\", \"button\": 272, \"pressed\": false},
  {\"type\": \"KeyboardKey\", \"key\": 30, \"pressed\": true},
  {\"type\": \"KeyboardKey\", \"key\": 30, \"pressed\": false}]}" >/dev/null
echo "sent input"

api GET "/api/v1/lobbies/$id/screenshot" -o "$out_dir/screenshot.png"
echo "wrote $out_dir/screenshot.png"

api GET /metrics | grep '^gwd_lobbies' || true

api POST /api/v1/lobbies/stop -d "{\"lobby_id\": \"$id\"}" >/dev/null
trap - EXIT
for _ in $(seq 100); do
  state=$(api GET "/api/v1/lobbies/$id" | field lobby.state)
  [ "$state" = stopped ] && break
  sleep 0.1
done
echo "lobby $state"
[ "$state" = stopped ]
