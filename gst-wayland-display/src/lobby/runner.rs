//! The lobby's running app, whichever runner started it: a process group or a container.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use waylanddisplaycore::device::{DeviceRoots, RenderTarget};

use super::app::{AppError, AppProcess};
use super::container::{ContainerApp, ContainerExit};
use super::protocol::{LobbySpec, Runner};
use crate::docker::DockerError;
use crate::docker::spec::LobbyParts;

#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error(transparent)]
    Process(#[from] AppError),
    #[error(transparent)]
    Docker(#[from] DockerError),
}

pub(crate) enum RunningApp {
    Process(AppProcess),
    Container(ContainerApp),
}

/// How the app ended.
#[derive(Debug)]
pub(crate) enum AppExit {
    Process(ExitStatus),
    Container(ContainerExit),
}

impl std::fmt::Display for AppExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Process(status) => match (status.code(), status.signal()) {
                (Some(127), _) => write!(
                    f,
                    "the app exited (exit status 127: the shell could not find a command)"
                ),
                (Some(code), _) => write!(f, "the app exited (exit status {code})"),
                (None, Some(signal)) => write!(f, "the app exited (killed by signal {signal})"),
                _ => write!(f, "the app exited ({status})"),
            },
            Self::Container(exit) => write!(f, "the app's {exit}"),
        }
    }
}

/// Where the lobby's compositor listens, as its announcement said.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sockets<'a> {
    /// The Wayland socket's name in `runtime_dir`.
    pub(crate) wayland_display: &'a str,
    pub(crate) runtime_dir: &'a Path,
    /// The X display (`:N`), unless the lobby's Xwayland is off.
    pub(crate) x_display: Option<&'a str>,
    /// Where the app plays, while the lobby has audio.
    pub(crate) audio: Option<AppAudio<'a>>,
}

/// The lobby's sound server (an address as `PULSE_SERVER` takes it) and its sink.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AppAudio<'a> {
    pub(crate) server: &'a str,
    pub(crate) sink: &'a str,
}

impl RunningApp {
    /// Starts the lobby's app on its sockets.
    pub(crate) fn start(
        spec: &LobbySpec,
        runner: &Runner,
        sockets: &Sockets<'_>,
    ) -> Result<Self, StartError> {
        let Sockets {
            wayland_display,
            runtime_dir,
            x_display,
            audio,
        } = *sockets;
        match runner {
            Runner::Process(app) => Ok(Self::Process(AppProcess::spawn(app, sockets)?)),
            Runner::Docker(container) => {
                let node = container
                    .render_node
                    .as_deref()
                    .unwrap_or(&spec.render_node);
                let (gpu_devices, nvidia) = gpu_of(node);
                let socket = runtime_dir.join(wayland_display);
                open_to_container_users(&socket);
                let lobby = LobbyParts {
                    lobby_id: &spec.id,
                    wayland_socket: &socket,
                    wayland_display,
                    x_display,
                    width: spec.width,
                    height: spec.height,
                    fps: spec.fps,
                    gpu_devices: &gpu_devices,
                    nvidia,
                    audio,
                };
                Ok(Self::Container(ContainerApp::start(container, &lobby)?))
            }
        }
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        match self {
            Self::Process(app) => Some(app.pid()),
            Self::Container(_) => None,
        }
    }

    pub(crate) fn container(&self) -> Option<&str> {
        match self {
            Self::Process(_) => None,
            Self::Container(app) => Some(app.name()),
        }
    }

    pub(crate) fn exited(&mut self) -> Option<AppExit> {
        match self {
            Self::Process(app) => app.exited().map(AppExit::Process),
            Self::Container(app) => app.exited().map(AppExit::Container),
        }
    }

    /// Stops the app: SIGTERM, `grace`, SIGKILL (a container is then removed).
    pub(crate) fn terminate(&mut self, grace: Duration) {
        match self {
            Self::Process(app) => app.terminate(grace),
            Self::Container(app) => app.terminate(grace),
        }
    }
}

/// Lets whatever user the container's app runs as (Games on Whales images drop to their
/// `PUID`) connect to the lobby's socket, which the container sees as a lone bind-mounted
/// file: mode 0666, but only when the socket is private on this host anyway, i.e. some
/// directory above it keeps other users out (`XDG_RUNTIME_DIR` is 0700).
fn open_to_container_users(socket: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let private = socket
        .ancestors()
        .skip(1)
        .any(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 == 0));
    if !private {
        tracing::warn!(
            socket = %socket.display(),
            "the runtime directory is open to other users: the socket keeps its mode, so the \
             container's app must run as this user to connect"
        );
        return;
    }
    if let Err(err) = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666)) {
        tracing::warn!(socket = %socket.display(), %err, "cannot open the socket to the container's user");
    }
}

/// The device files of the GPU `render_node` picks (as the element picks it; none in
/// software), and whether it is NVIDIA's.
fn gpu_of(render_node: &str) -> (Vec<PathBuf>, bool) {
    let roots = DeviceRoots::default();
    let Ok(choice) = render_node
        .parse::<RenderTarget>()
        .map_err(|err| err.to_string())
        .and_then(|target| target.resolve_in(&roots).map_err(|err| err.to_string()))
    else {
        return (Vec::new(), false);
    };
    let nvidia = choice
        .device
        .as_ref()
        .is_some_and(|d| d.vendor == waylanddisplaycore::device::Vendor::Nvidia);
    (choice.container_devices(&roots), nvidia)
}
