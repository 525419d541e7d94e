//! Drives the seat's pointer through `zwlr_virtual_pointer_manager_v1`, as wlrctl or a
//! remote-desktop server does, for the desktop-protocol tests.
//!
//! `wayland-virtual-pointer STEP…`, each step one event and a frame:
//! `abs X Y W H` (the position X/W, Y/H of the output), `rel DX DY`, `button CODE` (press
//! and release), `scroll V` (vertical, wheel). It waits until the compositor has handled
//! them all, prints `done` and exits; any error exits non-zero.

use std::process::ExitCode;

use wayland_client::globals::{GlobalListContents, registry_queue_init};
use wayland_client::protocol::wl_pointer::{Axis, AxisSource, ButtonState};
use wayland_client::protocol::wl_registry::WlRegistry;
use wayland_client::{Connection, Dispatch, Proxy, QueueHandle, delegate_noop};
use wayland_protocols_wlr::virtual_pointer::v1::client::{
    zwlr_virtual_pointer_manager_v1::ZwlrVirtualPointerManagerV1,
    zwlr_virtual_pointer_v1::ZwlrVirtualPointerV1,
};

const USAGE: &str =
    "usage: wayland-virtual-pointer [abs X Y W H | rel DX DY | button CODE | scroll V]…";

enum Step {
    Abs(u32, u32, u32, u32),
    Rel(f64, f64),
    Button(u32),
    Scroll(f64),
}

fn parse(args: &[String]) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut it = args.iter();
    let mut num = |what: &str| -> Result<String, String> {
        it.next().cloned().ok_or(format!("{what} is missing"))
    };
    loop {
        let Ok(step) = num("a step") else {
            return Ok(steps);
        };
        let uint = |v: String| v.parse::<u32>().map_err(|e| format!("{v}: {e}"));
        let float = |v: String| v.parse::<f64>().map_err(|e| format!("{v}: {e}"));
        steps.push(match step.as_str() {
            "abs" => Step::Abs(
                uint(num("X")?)?,
                uint(num("Y")?)?,
                uint(num("W")?)?,
                uint(num("H")?)?,
            ),
            "rel" => Step::Rel(float(num("DX")?)?, float(num("DY")?)?),
            "button" => Step::Button(uint(num("CODE")?)?),
            "scroll" => Step::Scroll(float(num("V")?)?),
            other => return Err(format!("unknown step {other}")),
        });
    }
}

struct App;

impl Dispatch<WlRegistry, GlobalListContents> for App {
    fn event(
        _: &mut Self,
        _: &WlRegistry,
        _: <WlRegistry as Proxy>::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

delegate_noop!(App: ZwlrVirtualPointerManagerV1);
delegate_noop!(App: ZwlrVirtualPointerV1);

fn run(steps: &[Step]) -> Result<(), String> {
    let conn = Connection::connect_to_env().map_err(|e| format!("connect: {e}"))?;
    let (globals, mut queue) =
        registry_queue_init::<App>(&conn).map_err(|e| format!("registry: {e}"))?;
    let qh = queue.handle();
    let manager: ZwlrVirtualPointerManagerV1 = globals
        .bind(&qh, 1..=2, ())
        .map_err(|e| format!("bind zwlr_virtual_pointer_manager_v1: {e}"))?;
    let pointer = manager.create_virtual_pointer(None, &qh, ());
    for (time, step) in (0u32..).zip(steps) {
        match *step {
            Step::Abs(x, y, w, h) => pointer.motion_absolute(time, x, y, w, h),
            Step::Rel(dx, dy) => pointer.motion(time, dx, dy),
            Step::Button(code) => {
                pointer.button(time, code, ButtonState::Pressed);
                pointer.frame();
                pointer.button(time, code, ButtonState::Released);
            }
            Step::Scroll(v) => {
                pointer.axis_source(AxisSource::Wheel);
                pointer.axis(time, Axis::VerticalScroll, v);
            }
        }
        pointer.frame();
    }
    pointer.destroy();
    manager.destroy();
    // Every request is handled once the compositor answers the sync after them.
    queue
        .roundtrip(&mut App)
        .map_err(|e| format!("roundtrip: {e}"))?;
    println!("done");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps = match parse(&args) {
        Ok(steps) if !steps.is_empty() => steps,
        Ok(_) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
        Err(msg) => {
            eprintln!("wayland-virtual-pointer: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&steps) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("wayland-virtual-pointer: {msg}");
            ExitCode::FAILURE
        }
    }
}
