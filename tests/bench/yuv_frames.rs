//! `yuv-frames`: what an I420 or NV12 frame costs when the compositor converts it (only the
//! rows that changed, straight from the client's buffer on the pass-through path), against
//! BGRx output converted by `videoconvert`, in the same run: at each size, idle, with a
//! full-screen client animating and with one changing only a 16-row band, paced at 60 fps.

use serde_json::json;

use crate::frames::{self, Client, raw_caps};
use crate::report::{Table, col};
use crate::{Options, floor_ms};

/// What the pipeline hands `fakesink`, and how.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    /// BGRx, no conversion: what `frames` measures, the cost of a frame before any.
    Bgrx,
    /// BGRx converted by `videoconvert`: how I420 was made before the element could.
    Videoconvert,
    /// I420 from the element.
    I420,
    /// NV12 from the element.
    Nv12,
}

impl Output {
    fn label(self) -> &'static str {
        match self {
            Self::Bgrx => "BGRx (no conversion)",
            Self::Videoconvert => "BGRx ! videoconvert ! I420",
            Self::I420 => "I420 from the element",
            Self::Nv12 => "NV12 from the element",
        }
    }

    /// What follows `waylanddisplaysrc !` up to the sink.
    fn downstream(self, size: (u32, u32)) -> String {
        match self {
            Self::Bgrx => raw_caps("BGRx", size),
            Self::Videoconvert => format!(
                "{} ! videoconvert ! video/x-raw,format=I420",
                raw_caps("BGRx", size)
            ),
            Self::I420 => raw_caps("I420", size),
            Self::Nv12 => raw_caps("NV12", size),
        }
    }
}

const ALL: [Output; 4] = [
    Output::Videoconvert,
    Output::I420,
    Output::Nv12,
    Output::Bgrx,
];

/// Each client with the outputs measured for it; the composition path only for I420 and
/// the `videoconvert` run it is compared with.
const SCENARIOS: [(Client, &[Output]); 4] = [
    (Client::Idle, &ALL),
    (Client::FullScreen, &ALL),
    (Client::FullScreenBand, &ALL),
    (
        Client::FullScreenComposed,
        &[Output::Videoconvert, Output::I420],
    ),
];

pub fn run(opts: &Options) -> Table {
    let mut table = Table::new(
        "yuv_frames",
        format!(
            "I420/NV12 frame cost, converted by the element or by videoconvert, 60 fps, \
             render-node={}, yuv-conversion={}",
            opts.render_node, opts.yuv_conversion
        ),
        vec![
            col("size", "size", 0),
            col("client", "client", 0),
            col("output", "output", 0),
            col("fps", "buffers/s", 1),
            col("cpu_ms_per_frame", "CPU per buffer (ms)", 3),
            col("x_memcpy", "× memcpy", 2),
            col("cpu_percent", "process CPU %", 0),
            col("x_videoconvert", "ratio to BGRx ! videoconvert", 2),
        ],
    );
    table.notes.push(format!(
        "Pipelines: `waylanddisplaysrc is-live=true passthrough=P ! CAPS ! fakesink sync=false` \
         with CAPS `video/x-raw,format=I420|NV12,width=W,height=H,framerate=60/1` (the element \
         converts; default colorimetry: bt601 under 720 lines, bt709 from 720), \
         `video/x-raw,format=BGRx,… ! videoconvert ! video/x-raw,format=I420` (the old way), \
         or BGRx alone (no conversion, for reference). CPU is this whole process per buffer \
         reaching the sink, {:.1} s after {:.1} s of warm-up; × memcpy compares it with \
         copying one BGRx frame of the same size. The ratio divides an I420/NV12 row's CPU \
         per buffer by that of `BGRx ! videoconvert ! I420` with the same client and path, \
         measured just before it. The 16-row band client also changes its frame counter in \
         the top-left pixel, so row 0 changes too.",
        opts.seconds.as_secs_f64(),
        opts.warmup.as_secs_f64()
    ));
    for &size in &opts.sizes {
        let floor = floor_ms(size);
        for (client, outputs) in SCENARIOS {
            let mut videoconvert_ms = None;
            for &output in outputs {
                let running = frames::launch(opts, client, true, &output.downstream(size), false);
                let row = frames::measure(opts, &running);
                drop(running);
                let cpu = row.cpu_ms_per_frame;
                if output == Output::Videoconvert {
                    videoconvert_ms = Some(cpu);
                }
                let ratio = match output {
                    Output::I420 | Output::Nv12 => videoconvert_ms.map(|v| cpu / v),
                    Output::Bgrx | Output::Videoconvert => None,
                };
                table.push(json!({
                    "size": format!("{}x{}", size.0, size.1),
                    "width": size.0,
                    "height": size.1,
                    "client": client.label(),
                    "output": output.label(),
                    "pacing": "60 fps",
                    "fps": row.fps,
                    "cpu_ms_per_frame": cpu,
                    "memcpy_ms": floor,
                    "x_memcpy": cpu / floor,
                    "cpu_percent": row.cpu_percent,
                    "client_cpu_percent": row.client_cpu_percent,
                    "x_videoconvert": ratio,
                }));
            }
        }
    }
    table
}
