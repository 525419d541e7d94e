//! What the host and a lobby worker say to each other: one JSON object per line, host to
//! worker on the worker's stdin, worker to host on its stdout. The first line the host
//! writes is the [`LobbySpec`]; a closed stdin means the host is gone.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use waylanddisplaycore::InputEvent;

/// Everything a worker needs to build and run one lobby.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct LobbySpec {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) fps: u32,
    /// The element's `render-node` value.
    pub(crate) render_node: String,
    /// Extra caps between the source and the encoder (Wolf's `video_producer_buffer_caps`),
    /// completed with the size and rate.
    pub(crate) buffer_caps: Option<String>,
    /// A gst-launch fragment that encodes, or `None` to pick like Wolf does.
    pub(crate) encoder_pipeline: Option<String>,
    /// A gst-launch fragment the encoded stream goes into.
    pub(crate) sink_pipeline: String,
    pub(crate) app: Option<AppSpec>,
    /// From start until the compositor announces its socket.
    pub(crate) start_timeout: Duration,
    /// What the app gets after SIGTERM before SIGKILL.
    pub(crate) stop_grace: Duration,
}

/// The largest output side a lobby renders.
pub(crate) const MAX_DIMENSION: u32 = 16384;
/// The highest frame rate a lobby runs at.
pub(crate) const MAX_FPS: u32 = 1000;

/// Why a lobby's mode cannot be rendered.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ModeError {
    #[error("{0}x{1} is not a size this host renders (1 to {MAX_DIMENSION} on each side)")]
    Size(u32, u32),
    #[error("{0} is not a frame rate (1 to {MAX_FPS})")]
    Rate(u32),
}

/// Checks a lobby's size and rate, the same for the API and `run`.
pub(crate) fn check_mode(width: u32, height: u32, fps: u32) -> Result<(), ModeError> {
    let side = 1..=MAX_DIMENSION;
    if !side.contains(&width) || !side.contains(&height) {
        return Err(ModeError::Size(width, height));
    }
    if !(1..=MAX_FPS).contains(&fps) {
        return Err(ModeError::Rate(fps));
    }
    Ok(())
}

/// The lobby's application: a command line run by `/bin/sh -c`, with extra environment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct AppSpec {
    pub(crate) command: String,
    pub(crate) env: Vec<(String, String)>,
}

/// Input events the host writes to a worker before the worker says it took some
/// ([`FromWorker::InputTaken`]): what the worker's own queue holds at most.
pub(crate) const INPUT_WINDOW: usize = 1024;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ToWorker {
    Input { events: Vec<InputEvent> },
    Screenshot { path: PathBuf },
    Stop,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum FromWorker {
    /// The compositor listens (the app is about to start).
    Socket {
        wayland_display: String,
        runtime_dir: PathBuf,
        render_node: String,
    },
    /// The app runs (or there is none) and frames flow.
    Ready {
        app_pid: Option<u32>,
        encoder: String,
    },
    Stats {
        frames: u64,
        fps: f64,
    },
    /// The worker handed this many of the input events written to it to the pipeline:
    /// room for as many more.
    InputTaken {
        events: u64,
    },
    Screenshot {
        error: Option<String>,
    },
    Failed {
        error: String,
    },
    Stopped,
}
