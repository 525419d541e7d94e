use std::time::Duration;

use crate::device::DeviceError;
use crate::render::RenderError;
use crate::socket::SocketError;
use crate::xwayland::XwaylandError;

/// Why the compositor could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    #[error(transparent)]
    Socket(#[from] SocketError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Xwayland(#[from] XwaylandError),
    #[error("could not set up the keyboard: {0} (is the xkb-data package installed?)")]
    Keyboard(String),
    #[error("{0}")]
    InputDevice(String),
    #[error("could not set up the compositor: {0}")]
    Setup(String),
    #[error("could not start the compositor thread: {0}")]
    Spawn(std::io::Error),
    #[error("the compositor did not start within {0:?}")]
    StartTimeout(Duration),
    #[error("the compositor did not produce a frame within {0:?}")]
    FrameTimeout(Duration),
    #[error("the compositor did not answer {request} within {after:?}")]
    ReplyTimeout {
        request: &'static str,
        after: Duration,
    },
    #[error("the compositor thread panicked: {0}")]
    Panicked(String),
    #[error("{0}")]
    Client(String),
    #[error("no such window: {0}")]
    NoWindow(String),
    #[error("the compositor stopped: {0}")]
    Stopped(String),
    #[error(transparent)]
    Clipboard(#[from] crate::clipboard::ClipboardError),
}
