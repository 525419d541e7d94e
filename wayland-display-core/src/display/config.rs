//! What a caller chooses when starting a compositor, and what the compositor thread is
//! set up with.

use std::os::unix::net::UnixListener;
use std::time::Duration;

use crate::device::RenderTarget;
use crate::render::{OutputFormat, RenderBackend};
use crate::socket::SocketSpec;

/// Output size and refresh rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoMode {
    pub width: u32,
    pub height: u32,
    /// Refresh rate in millihertz (60 fps = 60000), as `wl_output` announces it.
    pub refresh_mhz: u32,
}

impl VideoMode {
    /// A mode from a frame rate given as a fraction, as GStreamer caps carry it.
    pub fn from_fps(width: u32, height: u32, fps_num: i32, fps_den: i32) -> Self {
        let refresh_mhz = if fps_num > 0 && fps_den > 0 {
            let mhz = i64::from(fps_num)
                .checked_mul(1000)
                .and_then(|v| v.checked_div(i64::from(fps_den)))
                .unwrap_or(i64::MAX)
                .max(1);
            u32::try_from(mhz).unwrap_or(u32::MAX)
        } else {
            0
        };
        Self {
            width,
            height,
            refresh_mhz,
        }
    }

    /// The size in Smithay's signed pixels (modes beyond `i32::MAX` saturate; callers
    /// check modes long before that).
    pub(crate) fn size_px(&self) -> (i32, i32) {
        let px = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        (px(self.width), px(self.height))
    }
}

impl Default for VideoMode {
    fn default() -> Self {
        Self {
            width: 1920,
            height: 1080,
            refresh_mhz: 60_000,
        }
    }
}

/// Bounds on how long the handle waits for the compositor thread.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// From spawning the thread until it serves clients.
    pub start: Duration,
    /// For one frame to be drawn.
    pub frame: Duration,
    /// For the answer to any other request (a mode change, a device, a sync).
    pub reply: Duration,
    /// For the thread to finish once told to stop.
    pub stop: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            start: Duration::from_secs(10),
            frame: Duration::from_secs(5),
            reply: Duration::from_secs(5),
            stop: Duration::from_secs(5),
        }
    }
}

/// How to start a compositor.
#[derive(Clone, Debug)]
pub struct DisplayConfig {
    pub socket: SocketSpec,
    pub render_target: RenderTarget,
    pub mode: VideoMode,
    pub format: OutputFormat,
    pub timeouts: Timeouts,
    /// When one client buffer covers the whole output, copy what changed in it instead of
    /// compositing (the same pixels, less work). `false` always composites, for
    /// comparisons.
    pub passthrough: bool,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        Self {
            socket: SocketSpec::default(),
            render_target: RenderTarget::default(),
            mode: VideoMode::default(),
            format: OutputFormat::default(),
            timeouts: Timeouts::default(),
            passthrough: true,
        }
    }
}

/// Everything the compositor thread starts from, handed over whole.
pub(crate) struct Setup {
    pub(crate) listener: UnixListener,
    pub(crate) backend: RenderBackend,
    /// Replace a GLES renderer that fails by Pixman (the user asked for `auto`).
    pub(crate) fallback: bool,
    pub(crate) mode: VideoMode,
    pub(crate) format: OutputFormat,
    /// See [`DisplayConfig::passthrough`].
    pub(crate) passthrough: bool,
}
