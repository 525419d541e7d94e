#!/usr/bin/python3
"""Input for the apps in a waylanddisplaysrc pipeline, sent with gst_element_send_event.

    examples/send-input.py [--events FILE] -- APP ARGS...

Starts `waylanddisplaysrc ! fakesink`, runs APP on the compositor's socket once the
element announces it (the `wayland.src` application message), sends the events, and
stops. Each event is a custom upstream event whose structure is the input event, e.g.
`KeyboardKey, key=(uint)30, pressed=(boolean)true` (the element's README lists them all);
FILE holds one such structure per line (blank lines and '#' comments are skipped).
Without --events it clicks the middle of the output and types "a".
"""

import argparse
import os
import subprocess
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

DEMO = [
    "MouseMoveAbsolute, pointer_x=(double)160, pointer_y=(double)120",
    "MouseButton, button=(uint)272, pressed=(boolean)true",
    "MouseButton, button=(uint)272, pressed=(boolean)false",
    "KeyboardKey, key=(uint)30, pressed=(boolean)true",
    "KeyboardKey, key=(uint)30, pressed=(boolean)false",
]
# Bounds for each wait: the socket, the app's first frame, the app's exit.
ANNOUNCE_TIMEOUT_S = 10
SETTLE_S = 1.0
EXIT_TIMEOUT_S = 5


def parse_events(path):
    if path is None:
        return DEMO
    with open(path, encoding="utf-8") as f:
        lines = (line.strip() for line in f)
        return [line for line in lines if line and not line.startswith("#")]


def wait_for_socket(bus):
    """The WAYLAND_DISPLAY and XDG_RUNTIME_DIR the element announces."""
    deadline = time.monotonic() + ANNOUNCE_TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        msg = bus.timed_pop_filtered(
            int(left * Gst.SECOND), Gst.MessageType.APPLICATION | Gst.MessageType.ERROR
        )
        if msg is None:
            break
        if msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            sys.exit(f"send-input: the pipeline failed: {err.message} ({debug})")
        s = msg.get_structure()
        if s is not None and s.get_name() == "wayland.src":
            return s.get_string("WAYLAND_DISPLAY"), s.get_string("XDG_RUNTIME_DIR")
    sys.exit(f"send-input: no wayland.src message within {ANNOUNCE_TIMEOUT_S} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", help="a file of event structures, one per line")
    parser.add_argument("app", nargs="+", help="the application and its arguments")
    args = parser.parse_args()
    events = parse_events(args.events)

    Gst.init(None)
    pipeline = Gst.parse_launch(
        "waylanddisplaysrc name=src render-node=software"
        " ! video/x-raw,width=320,height=240,framerate=30/1 ! fakesink"
    )
    src = pipeline.get_by_name("src")
    app = None
    try:
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            sys.exit("send-input: the pipeline would not start")
        display, runtime_dir = wait_for_socket(pipeline.get_bus())
        env = dict(os.environ, WAYLAND_DISPLAY=display, XDG_RUNTIME_DIR=runtime_dir)
        app = subprocess.Popen(args.app, env=env)
        time.sleep(SETTLE_S)  # let the app map its window, so that it has focus

        for text in events:
            structure = Gst.Structure.new_from_string(text)
            if structure is None:
                sys.exit(f"send-input: not a GStreamer structure: {text!r}")
            event = Gst.Event.new_custom(Gst.EventType.CUSTOM_UPSTREAM, structure)
            # True: the element took it (a malformed input event is logged and dropped).
            if not src.send_event(event):
                sys.exit(f"send-input: the element refused {text!r}")
            print(f"sent {text}", flush=True)
        time.sleep(SETTLE_S)
    finally:
        if app is not None:
            app.terminate()
            try:
                app.wait(EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
        pipeline.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
