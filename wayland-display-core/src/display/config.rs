//! What a caller chooses when starting a compositor, and what the compositor thread is
//! set up with.

use std::os::unix::net::UnixListener;
use std::time::Duration;

use crate::device::RenderTarget;
use crate::render::{OutputFormat, RenderBackend, YuvConversion};
use crate::socket::SocketSpec;
use crate::xwayland::XwaylandMode;

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

/// How many output pixels a logical pixel takes (the output's scale): at 2, a 3840x2160
/// stream shows a desktop laid out at 1920x1080 sizes, drawn at full resolution by clients
/// that follow the scale. A multiple of 1/120 (what fractional-scale-v1 can say) from
/// [`MIN`](Self::MIN) to [`MAX`](Self::MAX).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputScale(f64);

/// A scale outside what the output takes.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("scale {0}: expected a number from 1 to 4")]
pub struct ScaleOutOfRange(pub f64);

impl OutputScale {
    pub const MIN: f64 = 1.0;
    pub const MAX: f64 = 4.0;
    /// fractional-scale-v1 sends scales in 120ths.
    const STEPS: f64 = 120.0;

    /// `scale`, rounded to the nearest 1/120.
    pub fn new(scale: f64) -> Result<Self, ScaleOutOfRange> {
        if !(Self::MIN..=Self::MAX).contains(&scale) {
            return Err(ScaleOutOfRange(scale));
        }
        Ok(Self((scale * Self::STEPS).round() / Self::STEPS))
    }

    pub fn get(self) -> f64 {
        self.0
    }

    /// Whether one logical pixel is a whole number of output pixels.
    pub(crate) fn is_integer(self) -> bool {
        self.0.fract() == 0.0
    }

    /// The size of the output laid out at this scale, as Smithay rounds it for layers and
    /// `xdg_output`.
    // A size divided by at least 1 stays inside `i32`.
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn logical_size(self, (w, h): (i32, i32)) -> (i32, i32) {
        let l = |v: i32| (f64::from(v) / self.0).round() as i32;
        (l(w).max(1), l(h).max(1))
    }
}

impl Default for OutputScale {
    fn default() -> Self {
        Self(1.0)
    }
}

impl std::str::FromStr for OutputScale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("scale {s:?}: expected a number from 1 to 4"))?;
        Self::new(v).map_err(|err| err.to_string())
    }
}

impl std::fmt::Display for OutputScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
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

/// What one client may make the compositor hold. A client that goes over a limit gets a
/// `wl_display.error` that names it and is disconnected (logged as a warning with its pid);
/// the other clients are not affected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// Objects a client may hold, enforced on its highest object id (clients allocate ids
    /// densely, so the id bounds both the live objects and the size of the object table).
    /// Real clients stay in the low thousands (a browser with many tabs: wl_buffers,
    /// subsurfaces, callbacks); the default leaves tens of times that while keeping one
    /// client's table to a few megabytes.
    pub max_objects: u32,
    /// File descriptors received from a client and not yet used by a request. A request
    /// carries at most a few and libwayland sends at most 28 per message, with the bytes of
    /// the requests that use them; more than four such batches outstanding is hoarding.
    pub max_pending_fds: u32,
    /// How long a request may stay half-received before its client is disconnected; a
    /// client stuck mid-message holds its buffer and fds and may be a slow attack. Zero
    /// never disconnects.
    pub stall_timeout: Duration,
    /// Live `wl_surface`s per client. Smithay's bookkeeping makes tearing down `n`
    /// surfaces cost `n²`, so this also bounds how long a disconnect can stall the
    /// compositor. At most [`MAX_SURFACES_CEILING`](Self::MAX_SURFACES_CEILING): client
    /// coordinates are bounded to ±2^16, and sums along a surface tree as deep as this
    /// must stay inside `i32`.
    pub max_surfaces: u32,
    /// `wl_shm` pools and buffers a client may hold at once. Each pool is one mapping in
    /// the compositor, kept while the pool or any buffer from it lives, and the kernel
    /// allows a process about 65 000 mappings in all (`vm.max_map_count`). (Smithay does
    /// not let a server see which pool a request creates, so pool bytes cannot be summed
    /// per client; mappings and the size of each pool bound what a client can make us map.)
    pub max_shm_mappings: u32,
    /// The size of one `wl_shm` pool, in bytes.
    pub max_shm_pool_bytes: u64,
}

impl ClientLimits {
    /// See [`max_surfaces`](Self::max_surfaces).
    pub const MAX_SURFACES_CEILING: u32 = 16_384;

    /// The defaults: 100 000 objects, 128 pending fds, a 10 s stall timeout, 4096 surfaces
    /// (toolkits use a handful per window, browsers a few hundred), 1024 shm pools and
    /// buffers (clients keep two or three buffers per surface) and pools of up to 1 GiB
    /// (four 8K XRGB buffers take 530 MiB).
    pub const DEFAULT: Self = Self {
        max_objects: 100_000,
        max_pending_fds: 128,
        stall_timeout: Duration::from_secs(10),
        max_surfaces: 4096,
        max_shm_mappings: 1024,
        max_shm_pool_bytes: 1 << 30,
    };
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How parentless toplevels are shown (dialogs and fixed-size windows keep their own
/// size either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WindowMode {
    /// Maximized to the output, as a kiosk compositor does: clients keep their decorations
    /// and browsers their address bar.
    #[default]
    Maximized,
    /// Fullscreen: clients hide their own chrome.
    Fullscreen,
}

impl std::str::FromStr for WindowMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "maximized" => Ok(Self::Maximized),
            "fullscreen" => Ok(Self::Fullscreen),
            other => Err(format!(
                "window mode {other:?}: expected \"maximized\" or \"fullscreen\""
            )),
        }
    }
}

impl std::fmt::Display for WindowMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Maximized => "maximized",
            Self::Fullscreen => "fullscreen",
        })
    }
}

/// How windows are laid out on the output (see `comp/policy.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowPolicy {
    pub mode: WindowMode,
    /// A fullscreen surface smaller than the output is scaled up to fit it, keeping its
    /// aspect ratio (as gamescope does for games of a fixed resolution), instead of being
    /// centred on black.
    pub scale_to_fit: bool,
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
    /// Where YUV frames are converted when GLES renders: by default a shader on a GPU,
    /// the CPU on llvmpipe.
    pub yuv_conversion: YuvConversion,
    pub client_limits: ClientLimits,
    pub window: WindowPolicy,
    /// The output's scale: clients lay out at the mode divided by it.
    pub scale: OutputScale,
    /// The built-in Xwayland: an X display allocated with the compositor (`DISPLAY`,
    /// [`WaylandDisplay::x11_display`](crate::WaylandDisplay::x11_display)), served on
    /// demand or at once.
    pub xwayland: XwaylandMode,
    /// Offer the protocols that let a client act as the user or see more than its own
    /// windows: screen capture (wlr-screencopy, ext-image-copy-capture), reading and setting
    /// the clipboard without focus (wlr and ext data control), typing (virtual keyboard,
    /// input method), pointing (wlr virtual pointer) and listing and controlling every
    /// window (wlr foreign toplevel management). On by default: a lobby is one
    /// user's session, its apps are the user's own, and streaming tools rely on them. Off,
    /// their globals are not offered at all.
    pub privileged_protocols: bool,
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
            yuv_conversion: YuvConversion::default(),
            client_limits: ClientLimits::DEFAULT,
            window: WindowPolicy::default(),
            scale: OutputScale::default(),
            xwayland: XwaylandMode::default(),
            privileged_protocols: true,
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
    /// See [`DisplayConfig::yuv_conversion`].
    pub(crate) yuv_conversion: YuvConversion,
    pub(crate) client_limits: ClientLimits,
    pub(crate) window: WindowPolicy,
    pub(crate) scale: OutputScale,
    /// See [`DisplayConfig::privileged_protocols`].
    pub(crate) privileged_protocols: bool,
    pub(crate) x11: Option<super::X11Setup>,
}
