#!/bin/bash
# api-session.sh: one lobby's life through the host's API with curl over its Unix socket:
# create, wait until ready, send input, take a screenshot, read the metrics, stop.
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
id=$(api POST /api/v1/lobbies/create -d "$body" | field lobby_id)
echo "created lobby $id"
trap 'api POST /api/v1/lobbies/stop -d "{\"lobby_id\": \"$id\"}" >/dev/null 2>&1 || true' EXIT

state=
for _ in $(seq 200); do
  lobby=$(api GET "/api/v1/lobbies/$id")   # {"success": true, "lobby": {…}}
  state=$(field lobby.state <<<"$lobby")
  case $state in
    ready) break ;;
    failed | stopped)
      echo "lobby $state: $(field lobby.error <<<"$lobby")" >&2
      exit 1
      ;;
  esac
  sleep 0.1
done
[ "$state" = ready ] || { echo "lobby still $state after 20 s" >&2; exit 1; }
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
