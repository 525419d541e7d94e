use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_allocators::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_src::CreateSuccess;
use gst_base::subclass::prelude::*;
use waylanddisplaycore::clipboard::ClipboardContent;
use waylanddisplaycore::device::DeviceError;
use waylanddisplaycore::socket::{SocketError, SocketSpec};
use waylanddisplaycore::{
    ClientLimits, Colorimetry, DisplayConfig, DisplayError, DmabufPlane, Frame, InputEvent,
    OutputFormat, OutputScale, OutputTarget, RenderChoice, RenderTarget, VideoMode, WaylandDisplay,
    WindowMode, WindowPolicy, XwaylandMode, YuvConversion,
};

use super::clipboard_event::{self, ClipboardRequest};
use super::dmabuf_caps;
use super::input_event::{self, ParseError};
use super::pacing::Pacer;
use super::yuv_caps;
use crate::gst_log::{CAT, dispatch};

/// Name of the application message that announces the socket, as upstream posts it.
pub const READY_MESSAGE: &str = "wayland.src";
/// The action signal that returns the current picture as an RGB `GstSample`.
pub const SNAPSHOT_SIGNAL: &str = "snapshot";

const DEFAULT_RENDER_NODE: &str = "auto";
const DEFAULT_WIDTH: i32 = 1920;
const DEFAULT_HEIGHT: i32 = 1080;
const DEFAULT_FPS: i32 = 60;
const DEFAULT_IS_LIVE: bool = true;
const DEFAULT_PASSTHROUGH: bool = true;
const DEFAULT_WINDOW_MODE: &str = "maximized";
const DEFAULT_YUV_CONVERSION: &str = "auto";
const DEFAULT_SCALE_TO_FIT: bool = false;
const DEFAULT_SCALE: f64 = 1.0;
const DEFAULT_PRIVILEGED_PROTOCOLS: bool = true;
const DEFAULT_XWAYLAND: &str = "on-demand";
// Per-client limits: the core's defaults, with the reasons at `ClientLimits`.
const DEFAULT_CLIENT_MAX_OBJECTS: u32 = ClientLimits::DEFAULT.max_objects;
const DEFAULT_CLIENT_MAX_PENDING_FDS: u32 = ClientLimits::DEFAULT.max_pending_fds;
const DEFAULT_CLIENT_STALL_TIMEOUT_MS: u32 = 10_000;
const DEFAULT_CLIENT_MAX_SURFACES: u32 = ClientLimits::DEFAULT.max_surfaces;
const DEFAULT_CLIENT_MAX_SHM_MAPPINGS: u32 = ClientLimits::DEFAULT.max_shm_mappings;
const DEFAULT_CLIENT_MAX_SHM_POOL_MB: u32 = 1024;
const MIB: u64 = 1 << 20;

#[derive(Clone, Debug)]
struct Settings {
    render_node: String,
    socket_name: Option<String>,
    mouse: Option<String>,
    keyboard: Option<String>,
    is_live: bool,
    passthrough: bool,
    yuv_conversion: YuvConversion,
    client_limits: ClientLimits,
    window: WindowPolicy,
    scale: OutputScale,
    xwayland: XwaylandMode,
    privileged_protocols: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            render_node: DEFAULT_RENDER_NODE.to_owned(),
            socket_name: None,
            mouse: None,
            keyboard: None,
            is_live: DEFAULT_IS_LIVE,
            passthrough: DEFAULT_PASSTHROUGH,
            yuv_conversion: YuvConversion::default(),
            window: WindowPolicy {
                mode: WindowMode::Maximized,
                scale_to_fit: DEFAULT_SCALE_TO_FIT,
            },
            scale: OutputScale::default(),
            xwayland: XwaylandMode::OnDemand,
            privileged_protocols: DEFAULT_PRIVILEGED_PROTOCOLS,
            client_limits: ClientLimits {
                max_objects: DEFAULT_CLIENT_MAX_OBJECTS,
                max_pending_fds: DEFAULT_CLIENT_MAX_PENDING_FDS,
                stall_timeout: std::time::Duration::from_millis(u64::from(
                    DEFAULT_CLIENT_STALL_TIMEOUT_MS,
                )),
                max_surfaces: DEFAULT_CLIENT_MAX_SURFACES,
                max_shm_mappings: DEFAULT_CLIENT_MAX_SHM_MAPPINGS,
                max_shm_pool_bytes: u64::from(DEFAULT_CLIENT_MAX_SHM_POOL_MB).saturating_mul(MIB),
            },
        }
    }
}

/// Everything that exists between `start` and `stop`.
struct Running {
    display: Arc<WaylandDisplay>,
    negotiated: Option<Negotiated>,
    /// Frames pushed so far (buffer offsets).
    pushed: u64,
    pacer: Pacer,
    /// Wraps DMABuf frames; made once, on the first one.
    dmabuf_allocator: Option<gst_allocators::DmaBufAllocator>,
    /// The `wayland.src` announcement, until the first caps are in force (then posted).
    announce: Option<gst::Structure>,
}

#[derive(Default)]
struct ClockWait {
    id: Option<gst::SingleShotClockId>,
    flushing: bool,
}

#[derive(Default)]
pub struct WaylandDisplaySrc {
    settings: Mutex<Settings>,
    running: Mutex<Option<Running>>,
    clock_wait: Mutex<ClockWait>,
}

#[glib::object_subclass]
impl ObjectSubclass for WaylandDisplaySrc {
    const NAME: &'static str = "GstWaylandDisplaySrc";
    type Type = super::WaylandDisplaySrc;
    type ParentType = gst_base::PushSrc;
}

/// Locks, recovering the data if a panic elsewhere poisoned the lock: the element must keep
/// answering (and shut down cleanly) rather than panic in turn.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the caps settled on. Kept apart from `gst_video::VideoInfo`, which cannot describe
/// `DMA_DRM` caps.
#[derive(Clone, Debug)]
struct Negotiated {
    width: u32,
    height: u32,
    fps: gst::Fraction,
    target: OutputTarget,
}

impl Negotiated {
    fn from_caps(caps: &gst::CapsRef) -> Option<Self> {
        let s = caps.structure(0)?;
        let width = u32::try_from(s.get::<i32>("width").ok()?).ok()?;
        let height = u32::try_from(s.get::<i32>("height").ok()?).ok()?;
        let fps = s.get::<gst::Fraction>("framerate").ok()?;
        // YUV caps name their colorimetry, or leave the default for the height.
        let colorimetry = || match s.get::<&str>("colorimetry") {
            Ok(value) => yuv_caps::parse_colorimetry(value),
            Err(_) => Some(Colorimetry::for_height(height)),
        };
        let target = match dmabuf_caps::negotiated_dmabuf(caps) {
            Some((fourcc, modifier)) => {
                let format = OutputFormat::from_fourcc(fourcc)?;
                OutputTarget::DmaBuf {
                    format,
                    modifier,
                    colorimetry: if format.is_yuv() {
                        Some(colorimetry()?)
                    } else {
                        None
                    },
                }
            }
            None => {
                let format = OutputFormat::from_gst_name(s.get::<&str>("format").ok()?)?;
                if format.is_yuv() {
                    let colorimetry = colorimetry()?;
                    OutputTarget::Yuv {
                        format,
                        colorimetry,
                    }
                } else {
                    OutputTarget::System(format)
                }
            }
        };
        Some(Self {
            width,
            height,
            fps,
            target,
        })
    }

    fn frame_duration(&self) -> Option<gst::ClockTime> {
        let (num, den) = (
            u64::try_from(self.fps.numer()).ok()?,
            u64::try_from(self.fps.denom()).ok()?,
        );
        if num == 0 {
            return None;
        }
        gst::ClockTime::SECOND.mul_div_floor(den, num)
    }

    fn video_format(&self) -> gst_video::VideoFormat {
        gst_video::VideoFormat::from_string(self.target.format().gst_name())
    }
}

impl ObjectImpl for WaylandDisplaySrc {
    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![
                // For screenshots: the picture in RGB, exact even when the stream is YUV.
                glib::subclass::Signal::builder(SNAPSHOT_SIGNAL)
                    .action()
                    .return_type::<Option<gst::Sample>>()
                    .class_handler(|args| {
                        let sample = args
                            .first()
                            .and_then(|v| v.get::<super::WaylandDisplaySrc>().ok())
                            .and_then(|src| src.imp().snapshot());
                        Some(sample.to_value())
                    })
                    .build(),
            ]
        });
        SIGNALS.as_ref()
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("render-node")
                    .nick("Render node")
                    .blurb(
                        "Where to render: \"auto\" (default; empty means the same: a discrete GPU \
                         over an integrated one, else software), \"software\" (Pixman), \
                         \"llvmpipe\" (GLES on Mesa's software EGL device), a DRM node such as \
                         /dev/dri/renderD128, \"vendor:nvidia|amd|intel\" or \"pci:0000:01:00.0\"",
                    )
                    .default_value(Some(DEFAULT_RENDER_NODE))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("render-node-in-use")
                    .nick("Render node in use")
                    .blurb(
                        "What renders while the element runs: \"software\", \"llvmpipe\" or the \
                         DRM render node; null when stopped",
                    )
                    .read_only()
                    .build(),
                glib::ParamSpecString::builder("socket-name")
                    .nick("Socket name")
                    .blurb(
                        "Wayland socket to create in XDG_RUNTIME_DIR (e.g. wayland-lobby-42) or an \
                         absolute path; unset picks the first free wayland-N",
                    )
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("mouse")
                    .nick("Mouse device")
                    .blurb("evdev device to read pointer input from (e.g. /dev/input/event3)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("keyboard")
                    .nick("Keyboard device")
                    .blurb("evdev device to read keyboard input from (e.g. /dev/input/event4)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("is-live")
                    .nick("Is live")
                    .blurb(
                        "Pace frames by the clock at the negotiated framerate (true) or produce \
                         them as fast as downstream takes them (false)",
                    )
                    .default_value(DEFAULT_IS_LIVE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("passthrough")
                    .nick("Pass-through")
                    .blurb(
                        "When one client buffer covers the whole output, copy what changed in it \
                         instead of compositing (same pixels, less CPU); false always composites",
                    )
                    .default_value(DEFAULT_PASSTHROUGH)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("yuv-conversion")
                    .nick("YUV conversion")
                    .blurb(
                        "Where I420/NV12 frames are converted when GLES renders: \"auto\" \
                         (default: a shader on a GPU render node, the CPU on llvmpipe), \
                         \"gpu\" (a shader always) or \"cpu\" (the CPU always; no NV12 \
                         DMABufs)",
                    )
                    .default_value(Some(DEFAULT_YUV_CONVERSION))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("window-mode")
                    .nick("Window mode")
                    .blurb(
                        "How windows without a parent are shown: \"maximized\" (default; they \
                         keep their decorations) or \"fullscreen\"; dialogs and fixed-size \
                         windows keep their own size, centred, either way",
                    )
                    .default_value(Some(DEFAULT_WINDOW_MODE))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("scale-to-fit")
                    .nick("Scale to fit")
                    .blurb(
                        "Scale a fullscreen window smaller than the output up to fit it, \
                         keeping its aspect ratio (centred, black bars), with pointer and \
                         touch input mapped back to it; false centres it on black at its size",
                    )
                    .default_value(DEFAULT_SCALE_TO_FIT)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("scale")
                    .nick("Scale")
                    .blurb(
                        "The output's scale: windows are laid out at the caps' size divided by \
                         it (2 shows a 3840x2160 stream as a 1920x1080 desktop, drawn sharp by \
                         clients that follow wl_output.scale or fractional-scale-v1), and \
                         absolute pointer positions are the stream's pixels; a multiple of \
                         1/120, applied to a running compositor at once",
                    )
                    .minimum(OutputScale::MIN)
                    .maximum(OutputScale::MAX)
                    .default_value(DEFAULT_SCALE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("xwayland")
                    .nick("Xwayland")
                    .blurb(
                        "X11 apps through a built-in Xwayland: \"on-demand\" (default; an X \
                         display is allocated and Xwayland starts when the first X11 client \
                         connects), \"on\" (started with the compositor; a missing Xwayland \
                         is an error) or \"off\"; DISPLAY is in the wayland.src message",
                    )
                    .default_value(Some(DEFAULT_XWAYLAND))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("privileged-protocols")
                    .nick("Privileged protocols")
                    .blurb(
                        "Offer the protocols that let a client act as the user: clipboard \
                         access without focus (wlr and ext data control), virtual keyboard, \
                         wlr virtual pointer, wlr foreign toplevel management; false leaves \
                         their globals out",
                    )
                    .default_value(DEFAULT_PRIVILEGED_PROTOCOLS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("client-max-objects")
                    .nick("Objects per client")
                    .blurb(
                        "Wayland objects one client may hold (its highest object id); a client \
                         going over gets a no_memory protocol error and is disconnected",
                    )
                    .minimum(1)
                    .default_value(DEFAULT_CLIENT_MAX_OBJECTS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("client-max-pending-fds")
                    .nick("Pending file descriptors per client")
                    .blurb(
                        "File descriptors one client may have sent that no request has used \
                         yet; more is hoarding, answered with a no_memory protocol error and a \
                         disconnect",
                    )
                    .default_value(DEFAULT_CLIENT_MAX_PENDING_FDS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("client-stall-timeout")
                    .nick("Stall timeout (ms)")
                    .blurb(
                        "Milliseconds a client's request may stay half-sent before the client \
                         is disconnected; 0 never disconnects",
                    )
                    .default_value(DEFAULT_CLIENT_STALL_TIMEOUT_MS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("client-max-surfaces")
                    .nick("Surfaces per client")
                    .blurb("wl_surfaces one client may hold at once")
                    .minimum(1)
                    .maximum(ClientLimits::MAX_SURFACES_CEILING)
                    .default_value(DEFAULT_CLIENT_MAX_SURFACES)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("client-max-shm-mappings")
                    .nick("Shared-memory pools and buffers per client")
                    .blurb(
                        "wl_shm pools and buffers one client may hold at once (each pool is \
                         a mapping in the compositor while it or a buffer of it lives)",
                    )
                    .minimum(1)
                    .default_value(DEFAULT_CLIENT_MAX_SHM_MAPPINGS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("client-max-shm-pool-mb")
                    .nick("Largest shared-memory pool (MiB)")
                    .blurb("MiB one wl_shm pool may have")
                    .minimum(1)
                    .default_value(DEFAULT_CLIENT_MAX_SHM_POOL_MB)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        let string = || value.get::<Option<String>>().ok().flatten();
        // Unset or empty: the default.
        let or_default = |default: &str| {
            string()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        match pspec.name() {
            "render-node" => {
                settings.render_node = string().unwrap_or_else(|| DEFAULT_RENDER_NODE.to_owned())
            }
            "socket-name" => settings.socket_name = string().filter(|s| !s.is_empty()),
            "mouse" => settings.mouse = string().filter(|s| !s.is_empty()),
            "keyboard" => settings.keyboard = string().filter(|s| !s.is_empty()),
            "passthrough" => settings.passthrough = value.get().unwrap_or(DEFAULT_PASSTHROUGH),
            "yuv-conversion" => {
                let asked = or_default(DEFAULT_YUV_CONVERSION);
                self.set_parsed("yuv-conversion", &asked, &mut settings.yuv_conversion);
            }
            "window-mode" => {
                let asked = or_default(DEFAULT_WINDOW_MODE);
                self.set_parsed("window-mode", &asked, &mut settings.window.mode);
            }
            "scale-to-fit" => {
                settings.window.scale_to_fit = value.get().unwrap_or(DEFAULT_SCALE_TO_FIT);
            }
            "scale" => {
                let asked = value.get().unwrap_or(DEFAULT_SCALE);
                match OutputScale::new(asked) {
                    Ok(scale) => {
                        settings.scale = scale;
                        drop(settings);
                        self.apply_scale(scale);
                    }
                    Err(err) => {
                        gst::warning!(CAT, imp = self, "{err}; scale stays {}", settings.scale)
                    }
                }
            }
            "privileged-protocols" => {
                settings.privileged_protocols = value.get().unwrap_or(DEFAULT_PRIVILEGED_PROTOCOLS);
            }
            "xwayland" => {
                let asked = string().unwrap_or_else(|| DEFAULT_XWAYLAND.to_owned());
                self.set_parsed("xwayland", &asked, &mut settings.xwayland);
            }
            "client-max-objects" => {
                settings.client_limits.max_objects =
                    value.get().unwrap_or(DEFAULT_CLIENT_MAX_OBJECTS);
            }
            "client-max-pending-fds" => {
                settings.client_limits.max_pending_fds =
                    value.get().unwrap_or(DEFAULT_CLIENT_MAX_PENDING_FDS);
            }
            "client-stall-timeout" => {
                let ms: u32 = value.get().unwrap_or(DEFAULT_CLIENT_STALL_TIMEOUT_MS);
                settings.client_limits.stall_timeout =
                    std::time::Duration::from_millis(u64::from(ms));
            }
            "client-max-surfaces" => {
                settings.client_limits.max_surfaces =
                    value.get().unwrap_or(DEFAULT_CLIENT_MAX_SURFACES);
            }
            "client-max-shm-mappings" => {
                settings.client_limits.max_shm_mappings =
                    value.get().unwrap_or(DEFAULT_CLIENT_MAX_SHM_MAPPINGS);
            }
            "client-max-shm-pool-mb" => {
                let mb: u32 = value.get().unwrap_or(DEFAULT_CLIENT_MAX_SHM_POOL_MB);
                settings.client_limits.max_shm_pool_bytes = u64::from(mb).saturating_mul(MIB);
            }
            "is-live" => {
                settings.is_live = value.get().unwrap_or(DEFAULT_IS_LIVE);
                let is_live = settings.is_live;
                drop(settings);
                self.obj().set_live(is_live);
            }
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "render-node-in-use" {
            return lock(&self.running)
                .as_ref()
                .map(|r| render_in_use(r.display.render_choice()))
                .to_value();
        }
        let settings = lock(&self.settings);
        match pspec.name() {
            "render-node" => settings.render_node.to_value(),
            "socket-name" => settings.socket_name.to_value(),
            "mouse" => settings.mouse.to_value(),
            "keyboard" => settings.keyboard.to_value(),
            "is-live" => settings.is_live.to_value(),
            "passthrough" => settings.passthrough.to_value(),
            "yuv-conversion" => settings.yuv_conversion.to_string().to_value(),
            "window-mode" => settings.window.mode.to_string().to_value(),
            "xwayland" => settings.xwayland.to_string().to_value(),
            "scale-to-fit" => settings.window.scale_to_fit.to_value(),
            "scale" => settings.scale.get().to_value(),
            "privileged-protocols" => settings.privileged_protocols.to_value(),
            "client-max-objects" => settings.client_limits.max_objects.to_value(),
            "client-max-pending-fds" => settings.client_limits.max_pending_fds.to_value(),
            "client-stall-timeout" => {
                let ms = settings.client_limits.stall_timeout.as_millis();
                u32::try_from(ms).unwrap_or(u32::MAX).to_value()
            }
            "client-max-surfaces" => settings.client_limits.max_surfaces.to_value(),
            "client-max-shm-mappings" => settings.client_limits.max_shm_mappings.to_value(),
            "client-max-shm-pool-mb" => {
                let mb = settings.client_limits.max_shm_pool_bytes.checked_div(MIB);
                u32::try_from(mb.unwrap_or_default())
                    .unwrap_or(u32::MAX)
                    .to_value()
            }
            _ => pspec.default_value().clone(),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.set_live(true);
        obj.set_format(gst::Format::Time);
        obj.set_automatic_eos(false);
    }
}

impl GstObjectImpl for WaylandDisplaySrc {}

impl ElementImpl for WaylandDisplaySrc {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Wayland display source",
                "Source/Video",
                "A headless Wayland compositor whose output is this element's video",
                "gst-wayland-display developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = dmabuf_caps::template_caps();
            gst::PadTemplate::new(
                "src",
                gst::PadDirection::Src,
                gst::PadPresence::Always,
                &caps,
            )
            .map(|t| vec![t])
            .unwrap_or_default()
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady
            && let Err(err) = self.start_compositor()
        {
            self.post_error_message(err);
            return Err(gst::StateChangeError);
        }
        let result = self.parent_change_state(transition);
        if transition == gst::StateChange::ReadyToNull
            || (result.is_err() && transition == gst::StateChange::NullToReady)
        {
            self.stop_compositor();
        }
        result
    }

    fn send_event(&self, event: gst::Event) -> bool {
        // Applications send input with gst_element_send_event(); BaseSrc would ignore it.
        if self.handle_input_event(&event) {
            return true;
        }
        self.parent_send_event(event)
    }
}

impl BaseSrcImpl for WaylandDisplaySrc {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        // The compositor outlives READY<->PAUSED cycles; each streaming session counts
        // and paces its frames afresh.
        if let Some(running) = lock(&self.running).as_mut() {
            running.pacer = Pacer::default();
            running.pushed = 0;
        }
        Ok(())
    }

    fn is_seekable(&self) -> bool {
        false
    }

    fn fixate(&self, mut caps: gst::Caps) -> gst::Caps {
        caps.truncate();
        if let Some(s) = caps.make_mut().structure_mut(0) {
            s.fixate_field_nearest_int("width", DEFAULT_WIDTH);
            s.fixate_field_nearest_int("height", DEFAULT_HEIGHT);
            s.fixate_field_nearest_fraction("framerate", gst::Fraction::new(DEFAULT_FPS, 1));
            yuv_caps::fixate_colorimetry(s);
        }
        self.parent_fixate(caps)
    }

    fn caps(&self, filter: Option<&gst::Caps>) -> Option<gst::Caps> {
        let dmabuf_formats = lock(&self.running)
            .as_ref()
            .map(|r| r.display.dmabuf_formats().to_vec())
            .unwrap_or_default();
        let caps = dmabuf_caps::offered_caps(&dmabuf_formats, dmabuf_caps::CapsStyle::running());
        Some(match filter {
            Some(filter) => filter.intersect_with_mode(&caps, gst::CapsIntersectMode::First),
            None => caps,
        })
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let negotiated = Negotiated::from_caps(caps)
            .ok_or_else(|| gst::loggable_error!(CAT, "cannot produce {caps}"))?;
        let mode = VideoMode::from_fps(
            negotiated.width,
            negotiated.height,
            negotiated.fps.numer(),
            negotiated.fps.denom(),
        );
        let mut guard = lock(&self.running);
        let Some(running) = guard.as_mut() else {
            return Err(gst::loggable_error!(CAT, "caps set while stopped"));
        };
        tracing::dispatcher::with_default(&dispatch(), || {
            running.display.set_mode(mode, negotiated.target)
        })
        .map_err(|err| gst::loggable_error!(CAT, "could not produce {caps}: {err}"))?;
        gst::debug!(CAT, imp = self, "output is now {caps}");
        running.negotiated = Some(negotiated);
        running.pacer.restart();
        // Apps started on the announcement see the negotiated mode in their first
        // wl_output.mode and configure: it is in force now. Posted without our lock held
        // (bus handlers may call back into the element).
        let announce = running.announce.take();
        drop(guard);
        if let Some(announce) = announce {
            self.announce(announce);
        }
        Ok(())
    }

    fn query(&self, query: &mut gst::QueryRef) -> bool {
        if let gst::QueryViewMut::Latency(q) = query.view_mut() {
            let is_live = lock(&self.settings).is_live;
            let duration = lock(&self.running)
                .as_ref()
                .and_then(|r| r.negotiated.as_ref().and_then(Negotiated::frame_duration));
            return match (is_live, duration) {
                // A frame is stamped with the moment it is due and ready within its interval;
                // produced later, it just shows newer content, so there is no upper bound.
                (true, Some(d)) => {
                    q.set(true, d, gst::ClockTime::NONE);
                    true
                }
                (true, None) => false,
                (false, _) => {
                    q.set(false, gst::ClockTime::ZERO, gst::ClockTime::NONE);
                    true
                }
            };
        }
        BaseSrcImplExt::parent_query(self, query)
    }

    fn event(&self, event: &gst::Event) -> bool {
        if self.handle_input_event(event) {
            return true;
        }
        self.parent_event(event)
    }

    fn unlock(&self) -> Result<(), gst::ErrorMessage> {
        let mut wait = lock(&self.clock_wait);
        wait.flushing = true;
        if let Some(id) = wait.id.take() {
            id.unschedule();
        }
        Ok(())
    }

    fn unlock_stop(&self) -> Result<(), gst::ErrorMessage> {
        lock(&self.clock_wait).flushing = false;
        Ok(())
    }
}

impl PushSrcImpl for WaylandDisplaySrc {
    fn create(
        &self,
        _buffer: Option<&mut gst::BufferRef>,
    ) -> Result<CreateSuccess, gst::FlowError> {
        let is_live = lock(&self.settings).is_live;
        let (display, negotiated) = {
            let running = lock(&self.running);
            let running = running.as_ref().ok_or(gst::FlowError::Flushing)?;
            let negotiated = running
                .negotiated
                .clone()
                .ok_or(gst::FlowError::NotNegotiated)?;
            (running.display.clone(), negotiated)
        };
        let duration = negotiated
            .frame_duration()
            .ok_or(gst::FlowError::NotNegotiated)?;
        let pts = if is_live {
            self.wait_for_next_frame(duration)?
        } else {
            self.next_unpaced_time(duration)
        };
        if let Some(next) = pts.and_then(|due| self.monotonic_time_of(due.saturating_add(duration)))
        {
            // Clients are told to draw just in time for the next frame.
            display.set_next_frame_due(next);
        }

        let frame =
            tracing::dispatcher::with_default(&dispatch(), || display.frame()).map_err(|err| {
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::Failed,
                    ("The Wayland compositor failed: {}", err),
                    ["{:?}", err]
                );
                gst::FlowError::Error
            })?;
        if frame.width != negotiated.width || frame.height != negotiated.height {
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                (
                    "Frame is {}x{} but caps say {}x{}",
                    frame.width,
                    frame.height,
                    negotiated.width,
                    negotiated.height
                )
            );
            return Err(gst::FlowError::Error);
        }
        let buffer = self.wrap_frame(frame, &negotiated, pts, duration)?;
        Ok(CreateSuccess::NewBuffer(buffer))
    }
}

impl WaylandDisplaySrc {
    /// Sets `setting` to the string property `name`'s value `asked`; a value that does
    /// not parse leaves the previous one, with a warning, since a property cannot refuse
    /// a value.
    fn set_parsed<T>(&self, name: &str, asked: &str, setting: &mut T)
    where
        T: std::str::FromStr + std::fmt::Display,
        T::Err: std::fmt::Display,
    {
        match asked.parse::<T>() {
            Ok(value) => *setting = value,
            Err(err) => gst::warning!(CAT, imp = self, "{err}; {name} stays {setting}"),
        }
    }

    /// Starts the compositor; its socket is announced (`wayland.src`) once the first caps
    /// are negotiated, so that an app started on the announcement sees the output's real
    /// mode from its first event. Done on NULL to READY (not in BaseSrc::start) so that a
    /// failure is reported once, with its cause, rather than also as BaseSrc's generic
    /// "failed to start"; the socket exists from then on.
    /// A new scale for a compositor that runs already (one that starts later takes it
    /// from the settings).
    fn apply_scale(&self, scale: OutputScale) {
        let display = lock(&self.running).as_ref().map(|r| Arc::clone(&r.display));
        if let Some(display) = display
            && let Err(err) = display.set_scale(scale)
        {
            gst::warning!(CAT, imp = self, "could not change the scale: {err}");
        }
    }

    fn start_compositor(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let render_target: RenderTarget = settings
            .render_node
            .parse()
            .map_err(|err: DeviceError| device_error_message(&err))?;
        let socket = match &settings.socket_name {
            Some(name) => SocketSpec::named(name.clone()),
            None => SocketSpec::auto(),
        };
        let config = DisplayConfig {
            socket,
            render_target,
            mode: VideoMode::default(),
            format: OutputFormat::default(),
            passthrough: settings.passthrough,
            yuv_conversion: settings.yuv_conversion,
            window: settings.window,
            scale: settings.scale,
            client_limits: settings.client_limits,
            xwayland: settings.xwayland,
            privileged_protocols: settings.privileged_protocols,
            ..DisplayConfig::default()
        };
        let display =
            tracing::dispatcher::with_default(&dispatch(), || WaylandDisplay::new(config))
                .map_err(|err| start_error_message(&err))?;

        // Say on the bus what renders and why: an INFO message, or a WARNING when it is
        // not what was asked for.
        let choice = display.render_choice().clone();
        if choice.fallback {
            gst::element_imp_warning!(self, gst::ResourceError::Settings, ("{}", choice.reason));
        } else {
            // gst-launch prints only the debug text of INFO messages, so it carries the
            // reason too.
            gst::element_imp_info!(
                self,
                gst::ResourceError::Settings,
                ("{}", choice.reason),
                ["{}", choice.reason]
            );
        }
        for device in [&settings.mouse, &settings.keyboard].into_iter().flatten() {
            self.add_input_device(&display, device);
        }

        let mut announce = gst::Structure::builder(READY_MESSAGE)
            .field("WAYLAND_DISPLAY", display.socket_name())
            .field(
                "XDG_RUNTIME_DIR",
                display.runtime_dir().to_string_lossy().as_ref(),
            )
            .build();
        if let Some(x11) = display.x11_display() {
            announce.set("DISPLAY", x11);
        }
        gst::info!(
            CAT,
            imp = self,
            "listening on {}",
            display.socket_path().display()
        );
        *lock(&self.running) = Some(Running {
            display: Arc::new(display),
            negotiated: None,
            pushed: 0,
            pacer: Pacer::default(),
            dmabuf_allocator: None,
            announce: Some(announce),
        });
        Ok(())
    }

    /// Posts the `wayland.src` announcement: the socket apps may now be started on.
    fn announce(&self, announce: gst::Structure) {
        let obj = self.obj();
        if obj
            .post_message(
                gst::message::Application::builder(announce)
                    .src(&*obj)
                    .build(),
            )
            .is_err()
        {
            gst::debug!(CAT, imp = self, "no bus to announce the socket on");
        }
    }

    fn stop_compositor(&self) {
        // Dropping the display stops the compositor and removes the socket.
        let running = lock(&self.running).take();
        drop(running);
    }

    /// Turns a frame into a buffer that shares its memory (no copy): the image itself, or
    /// the DMABuf's planes.
    fn wrap_frame(
        &self,
        frame: Frame,
        negotiated: &Negotiated,
        pts: Option<gst::ClockTime>,
        duration: gst::ClockTime,
    ) -> Result<gst::Buffer, gst::FlowError> {
        let (width, height) = (frame.width, frame.height);
        let (mut buffer, offsets, strides) = match frame.dmabuf_planes() {
            Some(planes) => self.dmabuf_buffer(&frame, &planes)?,
            None => {
                let planes = frame.planes();
                let offsets = planes.iter().map(|p| p.offset).collect();
                let strides = planes
                    .iter()
                    .map(|p| stride_of(p.stride))
                    .collect::<Result<_, _>>()?;
                (gst::Buffer::from_slice(frame), offsets, strides)
            }
        };
        let (offset, discont) = {
            let mut running = lock(&self.running);
            let running = running.as_mut().ok_or(gst::FlowError::Flushing)?;
            let offset = running.pushed;
            running.pushed = offset.saturating_add(1);
            (offset, running.pacer.take_discont())
        };
        let Some(b) = buffer.get_mut() else {
            return Err(gst::FlowError::Error);
        };
        // With do-timestamp, BaseSrc stamps the buffer itself.
        if !self.obj().does_timestamp() {
            b.set_pts(pts);
        }
        b.set_duration(duration);
        b.set_offset(offset);
        b.set_offset_end(offset.saturating_add(1));
        if discont {
            b.set_flags(gst::BufferFlags::DISCONT);
        }
        gst_video::VideoMeta::add_full(
            b,
            gst_video::VideoFrameFlags::empty(),
            negotiated.video_format(),
            width,
            height,
            &offsets,
            &strides,
        )
        .map_err(|err| {
            gst::element_imp_error!(self, gst::CoreError::Failed, ("Adding video meta: {}", err));
            gst::FlowError::Error
        })?;
        Ok(buffer)
    }

    /// A buffer of DMABuf memories for the frame's planes, and the frame itself kept alive
    /// (so the compositor does not draw into it) for as long as the buffer lives. Planes
    /// of one buffer (NV12's, through fds that name the same DMABuf) share one memory;
    /// each plane's offset counts from the buffer's start, as `GstVideoMeta` reads it.
    fn dmabuf_buffer(
        &self,
        frame: &Frame,
        planes: &[DmabufPlane<'_>],
    ) -> Result<(gst::Buffer, Vec<usize>, Vec<i32>), gst::FlowError> {
        let fail = |what: &str, err: &dyn std::fmt::Display| {
            gst::element_imp_error!(self, gst::ResourceError::Failed, ("{}: {}", what, err));
            gst::FlowError::Error
        };
        let allocator = lock(&self.running)
            .as_mut()
            .ok_or(gst::FlowError::Flushing)?
            .dmabuf_allocator
            .get_or_insert_with(gst_allocators::DmaBufAllocator::new)
            .clone();
        let mut buffer = gst::Buffer::new();
        let mut offsets = Vec::with_capacity(planes.len());
        let mut strides = Vec::with_capacity(planes.len());
        {
            let Some(b) = buffer.get_mut() else {
                return Err(gst::FlowError::Error);
            };
            // (device, inode) of each memory appended, and where it starts in the buffer.
            let mut memories: Vec<((u64, u64), usize)> = Vec::with_capacity(planes.len());
            let mut end = 0usize;
            for plane in planes {
                let stat =
                    rustix::fs::fstat(plane.fd).map_err(|e| fail("Identifying a DMABuf", &e))?;
                let id = (stat.st_dev, stat.st_ino);
                let base = match memories.iter().find(|(known, _)| *known == id) {
                    Some((_, base)) => *base,
                    None => {
                        let fd = plane
                            .fd
                            .try_clone_to_owned()
                            .map_err(|e| fail("Duplicating a DMABuf fd", &e))?;
                        let size = rustix::fs::seek(&fd, rustix::fs::SeekFrom::End(0))
                            .map_err(|e| fail("Sizing a DMABuf", &e))?;
                        let size =
                            usize::try_from(size).map_err(|e| fail("Sizing a DMABuf", &e))?;
                        // SAFETY: `fd` is a DMABuf of `size` bytes that we own (a fresh
                        // duplicate); the memory takes it over and closes it.
                        let memory = unsafe { allocator.alloc_dmabuf(fd, size) }
                            .map_err(|e| fail("Wrapping a DMABuf", &e))?;
                        b.append_memory(memory);
                        let base = end;
                        end = end
                            .checked_add(size)
                            .ok_or_else(|| fail("Sizing a DMABuf", &"too big"))?;
                        memories.push((id, base));
                        base
                    }
                };
                let offset = usize::try_from(plane.offset)
                    .ok()
                    .and_then(|o| base.checked_add(o))
                    .ok_or_else(|| fail("Placing a DMABuf plane", &"offset too big"))?;
                offsets.push(offset);
                strides.push(stride_of(plane.stride)?);
            }
            gst::ParentBufferMeta::add(b, &gst::Buffer::from_slice(frame.clone()));
        }
        Ok((buffer, offsets, strides))
    }

    /// When running time `running` comes on the monotonic clock, for a live source whose
    /// pipeline clock runs (frames that are not paced have no due times).
    fn monotonic_time_of(&self, running: gst::ClockTime) -> Option<std::time::Instant> {
        if !lock(&self.settings).is_live {
            return None;
        }
        let obj = self.obj();
        let (clock, base_time) = (obj.clock()?, obj.base_time()?);
        let left = base_time
            .saturating_add(running)
            .saturating_sub(clock.time());
        std::time::Instant::now().checked_add(std::time::Duration::from_nanos(left.nseconds()))
    }

    /// Running time of the next frame when not live: frames are stamped back to back.
    fn next_unpaced_time(&self, duration: gst::ClockTime) -> Option<gst::ClockTime> {
        let mut running = lock(&self.running);
        Some(running.as_mut()?.pacer.next_unpaced(duration))
    }

    /// Waits until the next frame is due on the pipeline clock and returns its running
    /// time (see [`Pacer`]).
    fn wait_for_next_frame(
        &self,
        duration: gst::ClockTime,
    ) -> Result<Option<gst::ClockTime>, gst::FlowError> {
        let obj = self.obj();
        let (Some(clock), Some(base_time)) = (obj.clock(), obj.base_time()) else {
            // No clock yet (not PLAYING in a pipeline): stamp nothing, don't wait.
            return Ok(None);
        };
        let now = clock.time().saturating_sub(base_time);
        let due = {
            let mut running = lock(&self.running);
            let running = running.as_mut().ok_or(gst::FlowError::Flushing)?;
            running.pacer.next_live(now, duration)
        };
        let id = clock.new_single_shot_id(base_time.saturating_add(due));
        {
            let mut wait = lock(&self.clock_wait);
            if wait.flushing {
                return Err(gst::FlowError::Flushing);
            }
            wait.id = Some(id.clone());
        }
        let (result, _jitter) = id.wait();
        lock(&self.clock_wait).id = None;
        match result {
            Ok(_) | Err(gst::ClockError::Early) => Ok(Some(due)),
            Err(gst::ClockError::Unscheduled) => Err(gst::FlowError::Flushing),
            Err(err) => {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Clock,
                    ("Clock wait failed: {:?}", err)
                );
                Err(gst::FlowError::Error)
            }
        }
    }

    /// Reads input from an evdev device; a device that cannot be used is a warning, not a
    /// failure: the picture still streams.
    fn add_input_device(&self, display: &WaylandDisplay, path: &str) {
        let result =
            tracing::dispatcher::with_default(&dispatch(), || display.add_input_device(path));
        if let Err(err) = result {
            gst::element_imp_warning!(
                self,
                gst::ResourceError::OpenRead,
                ("Input device {} not used: {}", path, err),
                ["{:?}", err]
            );
        }
    }

    /// Delivers one of the element's input events to the compositor. Returns whether the
    /// event was one of ours (malformed ones included: they are logged and dropped).
    /// The current picture in RGB with the cursor, drawn now (`snapshot` signal); `None`
    /// when the compositor is not running or the picture cannot be had (logged).
    fn snapshot(&self) -> Option<gst::Sample> {
        let display = lock(&self.running)
            .as_ref()
            .map(|r| Arc::clone(&r.display))?;
        let frame = tracing::dispatcher::with_default(&dispatch(), || display.snapshot())
            .inspect_err(|err| gst::warning!(CAT, imp = self, "no snapshot: {err}"))
            .ok()?;
        let format = gst_video::VideoFormat::from_string(frame.format.gst_name());
        let info = gst_video::VideoInfo::builder(format, frame.width, frame.height)
            .build()
            .inspect_err(|err| gst::warning!(CAT, imp = self, "no snapshot: {err}"))
            .ok()?;
        let (width, height, stride) = (frame.width, frame.height, stride_of(frame.stride).ok()?);
        let mut buffer = if frame.dmabuf_planes().is_some() {
            let pixels = frame
                .copy_pixels()
                .inspect_err(|err| gst::warning!(CAT, imp = self, "no snapshot: {err}"))
                .ok()?;
            gst::Buffer::from_mut_slice(pixels)
        } else {
            gst::Buffer::from_slice(frame)
        };
        gst_video::VideoMeta::add_full(
            buffer.get_mut()?,
            gst_video::VideoFrameFlags::empty(),
            format,
            width,
            height,
            &[0],
            &[stride],
        )
        .ok()?;
        let caps = info.to_caps().ok()?;
        Some(gst::Sample::builder().buffer(&buffer).caps(&caps).build())
    }

    fn handle_input_event(&self, event: &gst::Event) -> bool {
        let gst::EventView::CustomUpstream(custom) = event.view() else {
            return false;
        };
        let Some(structure) = custom.structure() else {
            return false;
        };
        if let Some(request) = clipboard_event::from_structure(structure) {
            self.handle_clipboard(request);
            return true;
        }
        let parsed = match input_event::from_structure(structure) {
            Ok(parsed) => parsed,
            Err(ParseError::NotInput) => return false,
            Err(err) => {
                gst::warning!(CAT, imp = self, "{err}; event dropped");
                return true;
            }
        };
        let display = lock(&self.running).as_ref().map(|r| r.display.clone());
        let Some(display) = display else {
            gst::debug!(CAT, imp = self, "not running; input event dropped");
            return true;
        };
        match parsed {
            // A device that cannot be used is said on the bus, as for the properties.
            InputEvent::VirtualDevicesReady { path } => self.add_input_device(&display, &path),
            input => {
                if let Err(err) = display.input(input) {
                    gst::warning!(CAT, imp = self, "input event dropped: {err}");
                }
            }
        }
        true
    }
}

impl WaylandDisplaySrc {
    /// Sets the clipboard at once, or reads it on a thread of its own (a client may take
    /// seconds to hand it over) and answers on the bus.
    fn handle_clipboard(&self, request: Result<ClipboardRequest, String>) {
        let display = lock(&self.running).as_ref().map(|r| r.display.clone());
        let request = match (request, display) {
            (Err(err), _) => {
                gst::warning!(CAT, imp = self, "{err}; event dropped");
                return;
            }
            (Ok(request), None) => {
                gst::debug!(CAT, imp = self, "not running; clipboard event dropped");
                if let ClipboardRequest::Get { id, .. } = request {
                    self.post_clipboard(id, Err("the compositor is not running".to_owned()));
                }
                return;
            }
            (Ok(request), Some(display)) => (request, display),
        };
        match request {
            (ClipboardRequest::Set(content), display) => {
                if let Err(err) = display.set_clipboard(content) {
                    gst::warning!(CAT, imp = self, "clipboard not set: {err}");
                }
            }
            (ClipboardRequest::Get { wanted, id }, display) => {
                let element = self.obj().downgrade();
                let spawned = std::thread::Builder::new()
                    .name("wl-clipboard-read".to_owned())
                    .spawn(move || {
                        let result = display.clipboard(&wanted).map_err(|err| err.to_string());
                        if let Some(element) = element.upgrade() {
                            element.imp().post_clipboard(id, result);
                        }
                    });
                if let Err(err) = spawned {
                    self.post_clipboard(id, Err(format!("could not start reading: {err}")));
                }
            }
        }
    }

    fn post_clipboard(&self, id: Option<u64>, result: Result<ClipboardContent, String>) {
        let obj = self.obj();
        let message = gst::message::Application::builder(clipboard_event::reply(id, result))
            .src(&*obj)
            .build();
        if obj.post_message(message).is_err() {
            gst::debug!(CAT, imp = self, "no bus for the clipboard's answer");
        }
    }
}

/// A row stride as `GstVideoMeta` takes it.
fn stride_of(stride: u32) -> Result<i32, gst::FlowError> {
    i32::try_from(stride).map_err(|_| {
        gst::error!(
            CAT,
            "a frame stride of {stride} bytes is beyond GstVideoMeta's range"
        );
        gst::FlowError::Error
    })
}

fn render_in_use(choice: &RenderChoice) -> String {
    match (&choice.renderer, &choice.node) {
        (_, Some(node)) => node.display().to_string(),
        (kind, None) => kind.to_string(),
    }
}

fn device_error_message(err: &DeviceError) -> gst::ErrorMessage {
    let domain = match err {
        DeviceError::NodeMissing { .. } => gst::ResourceError::NotFound,
        _ => gst::ResourceError::Settings,
    };
    gst::error_msg!(domain, ("Cannot use render-node: {}", err), ["{:?}", err])
}

fn start_error_message(err: &DisplayError) -> gst::ErrorMessage {
    let domain = match err {
        DisplayError::Device(err) => return device_error_message(err),
        DisplayError::Socket(SocketError::InUse { .. }) => gst::ResourceError::Busy,
        DisplayError::Socket(SocketError::Exhausted { .. }) => gst::ResourceError::NoSpaceLeft,
        DisplayError::Socket(SocketError::InvalidName { .. } | SocketError::PathTooLong { .. }) => {
            gst::ResourceError::Settings
        }
        DisplayError::Socket(_) => gst::ResourceError::OpenReadWrite,
        _ => gst::ResourceError::Failed,
    };
    gst::error_msg!(
        domain,
        ("Could not start the Wayland compositor: {}", err),
        ["{:?}", err]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiated(caps: &str) -> Option<Negotiated> {
        gst::init().unwrap();
        Negotiated::from_caps(&caps.parse::<gst::Caps>().unwrap())
    }

    #[test]
    fn caps_of_every_kind_become_an_output_target() {
        let n =
            negotiated("video/x-raw, format=RGBA, width=64, height=48, framerate=30/1").unwrap();
        assert_eq!((n.width, n.height), (64, 48));
        assert_eq!(n.target, OutputTarget::System(OutputFormat::Rgba));
        assert_eq!(
            n.frame_duration(),
            Some(gst::ClockTime::from_nseconds(33_333_333))
        );

        let n = negotiated(
            "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=XR24, width=64, height=48, framerate=60/1",
        )
        .unwrap();
        assert_eq!(
            n.target,
            OutputTarget::DmaBuf {
                format: OutputFormat::Bgrx,
                modifier: 0,
                colorimetry: None
            }
        );
        assert_eq!(n.video_format(), gst_video::VideoFormat::Bgrx);

        let n =
            negotiated("video/x-raw(memory:DMABuf), format=BGRA, width=8, height=8, framerate=1/1")
                .unwrap();
        assert_eq!(
            n.target,
            OutputTarget::DmaBuf {
                format: OutputFormat::Bgra,
                modifier: 0,
                colorimetry: None
            }
        );
    }

    #[test]
    fn nv12_dmabuf_caps_carry_their_colorimetry() {
        let n = negotiated("video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=1920, height=1080, framerate=60/1").unwrap();
        assert_eq!(
            n.target,
            OutputTarget::DmaBuf {
                format: OutputFormat::Nv12,
                modifier: 0,
                colorimetry: Some(Colorimetry::BT709)
            }
        );
        assert_eq!(n.video_format(), gst_video::VideoFormat::Nv12);
        let n = negotiated("video/x-raw(memory:DMABuf), format=NV12, width=64, height=48, framerate=60/1, colorimetry=1:3:5:1").unwrap();
        assert_eq!(
            n.target,
            OutputTarget::DmaBuf {
                format: OutputFormat::Nv12,
                modifier: 0,
                colorimetry: Some(Colorimetry {
                    matrix: waylanddisplaycore::YuvMatrix::Bt709,
                    range: waylanddisplaycore::YuvValueRange::Full
                })
            }
        );
    }

    #[test]
    fn yuv_caps_carry_their_colorimetry() {
        let n =
            negotiated("video/x-raw, format=NV12, width=64, height=48, framerate=30/1").unwrap();
        assert_eq!(
            n.target,
            OutputTarget::Yuv {
                format: OutputFormat::Nv12,
                colorimetry: Colorimetry::BT601
            }
        );
        assert_eq!(n.video_format(), gst_video::VideoFormat::Nv12);
        let n = negotiated(
            "video/x-raw, format=I420, width=64, height=48, framerate=30/1, colorimetry=(string)1:3:5:1",
        )
        .unwrap();
        assert_eq!(
            n.target,
            OutputTarget::Yuv {
                format: OutputFormat::I420,
                colorimetry: Colorimetry {
                    matrix: waylanddisplaycore::YuvMatrix::Bt709,
                    range: waylanddisplaycore::YuvValueRange::Full,
                }
            }
        );
        let n =
            negotiated("video/x-raw, format=I420, width=1280, height=720, framerate=30/1").unwrap();
        assert_eq!(
            n.target,
            OutputTarget::Yuv {
                format: OutputFormat::I420,
                colorimetry: Colorimetry::BT709
            }
        );
    }

    #[test]
    fn caps_we_cannot_produce_are_refused() {
        assert!(
            negotiated("video/x-raw, format=YUY2, width=64, height=48, framerate=30/1").is_none()
        );
        assert!(
            negotiated(
                "video/x-raw, format=I420, width=64, height=48, framerate=30/1, colorimetry=bt2020"
            )
            .is_none()
        );
        assert!(negotiated("video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=64, height=48, framerate=30/1, colorimetry=bt2020").is_none());
        assert!(negotiated("video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=YU12, width=64, height=48, framerate=30/1").is_none());
        assert!(negotiated("video/x-raw, format=RGBA, width=64, framerate=30/1").is_none());
    }
}
