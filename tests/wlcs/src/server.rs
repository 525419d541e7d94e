//! The display server wlcs starts and stops around every test.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wayland_sys::client::{wl_display, wl_display_get_fd, wl_proxy, wl_proxy_get_id};
use wayland_sys::ffi_dispatch;
use waylanddisplaycore::socket::SocketSpec;
use waylanddisplaycore::{
    ClientHandle, DisplayConfig, RenderTarget, VideoMode, WaylandDisplay, XwaylandMode,
};
use wlcs::ffi_display_server_api::WlcsIntegrationDescriptor;

use crate::devices::{Pointer, Touch};
use crate::extensions::DESCRIPTOR;

const OUTPUT: (u32, u32) = (1920, 1080);
/// Frames are asked for at this pace, as a pipeline would, so that clients get their
/// frame callbacks and presentation feedback.
const FRAME_INTERVAL: Duration = Duration::from_millis(16);

pub struct GwdServer {
    running: Option<Running>,
    /// Clients by the fd number wlcs got for them: `position_window_absolute` names a
    /// client by its `wl_display`, whose fd is that number.
    clients: Mutex<HashMap<RawFd, ClientHandle>>,
}

/// A started compositor; dropping it stops everything and removes its directory.
struct Running {
    display: Arc<WaylandDisplay>,
    _frames: FramePacer,
    _dir: RuntimeDir,
}

impl wlcs::Wlcs for GwdServer {
    type Pointer = Pointer;
    type Touch = Touch;

    fn new() -> Self {
        let filter = std::env::var("GWD_WLCS_LOG").unwrap_or_else(|_| "warn".to_owned());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
        Self {
            running: None,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn start(&mut self) {
        match Running::start() {
            Ok(running) => self.running = Some(running),
            // wlcs gives no way to fail here; the test fails at its first client.
            Err(err) => tracing::error!(%err, "the compositor did not start"),
        }
    }

    fn stop(&mut self) {
        self.running = None;
        if let Ok(mut clients) = self.clients.lock() {
            clients.clear();
        }
    }

    fn create_client_socket(&self) -> std::io::Result<OwnedFd> {
        let running = self
            .running
            .as_ref()
            .ok_or_else(|| std::io::Error::other("the compositor is not running"))?;
        let (ours, theirs) = UnixStream::pair()?;
        let client = running
            .display
            .add_client(ours)
            .map_err(std::io::Error::other)?;
        let fd = OwnedFd::from(theirs);
        if let Ok(mut clients) = self.clients.lock() {
            clients.insert(fd.as_raw_fd(), client);
        }
        Ok(fd)
    }

    fn position_window_absolute(
        &self,
        display: *mut wl_display,
        surface: *mut wl_proxy,
        x: i32,
        y: i32,
    ) {
        let Some(running) = &self.running else {
            tracing::error!("position_window_absolute without a compositor");
            return;
        };
        // SAFETY: wlcs passes its live client display and one of that client's surfaces.
        let (fd, id) = unsafe {
            (
                ffi_dispatch!(wayland_client_handle(), wl_display_get_fd, display),
                ffi_dispatch!(wayland_client_handle(), wl_proxy_get_id, surface),
            )
        };
        let client = self.clients.lock().ok().and_then(|c| c.get(&fd).cloned());
        let Some(client) = client else {
            tracing::error!(
                fd,
                "position_window_absolute for a client we did not create"
            );
            return;
        };
        if let Err(err) = running.display.place_window(&client, id, x, y) {
            tracing::error!(%err, x, y, "position_window_absolute");
        }
    }

    fn create_pointer(&mut self) -> Option<Pointer> {
        let display = Arc::downgrade(&self.running.as_ref()?.display);
        Some(Pointer { display })
    }

    fn create_touch(&mut self) -> Option<Touch> {
        let display = Arc::downgrade(&self.running.as_ref()?.display);
        Some(Touch {
            display,
            id: Touch::next_id(),
            output: (f64::from(OUTPUT.0), f64::from(OUTPUT.1)),
        })
    }

    fn get_descriptor(&self) -> &WlcsIntegrationDescriptor {
        &DESCRIPTOR
    }
}

impl Running {
    fn start() -> Result<Self, String> {
        let dir = RuntimeDir::create()?;
        let config = DisplayConfig {
            socket: SocketSpec {
                runtime_dir: Some(dir.0.clone()),
                ..SocketSpec::auto()
            },
            render_target: RenderTarget::Software,
            mode: VideoMode::from_fps(OUTPUT.0, OUTPUT.1, 60, 1),
            // Wayland conformance only: no X display to allocate for each of its tests.
            xwayland: XwaylandMode::Off,
            ..Default::default()
        };
        let display = Arc::new(WaylandDisplay::new(config).map_err(|e| e.to_string())?);
        let frames = FramePacer::start(display.clone())?;
        Ok(Self {
            display,
            _frames: frames,
            _dir: dir,
        })
    }
}

/// The thread asking for frames.
struct FramePacer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FramePacer {
    fn start(display: Arc<WaylandDisplay>) -> Result<Self, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("wlcs-frames".to_owned())
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    if let Err(err) = display.frame() {
                        tracing::error!(%err, "frame");
                        return;
                    }
                    std::thread::sleep(FRAME_INTERVAL);
                }
            })
            .map_err(|e| format!("could not start the frame thread: {e}"))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for FramePacer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A private `XDG_RUNTIME_DIR` for the compositor's listening socket.
struct RuntimeDir(PathBuf);

impl RuntimeDir {
    fn create() -> Result<Self, String> {
        use std::sync::atomic::AtomicU32;
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "gwd-wlcs-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&path)
            .map_err(|e| format!("could not create {}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
