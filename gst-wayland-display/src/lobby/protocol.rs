//! What the host and a lobby worker say to each other: one JSON object per line, host to
//! worker on the worker's stdin, worker to host on its stdout. The first line the host
//! writes is the [`LobbySpec`]; a closed stdin means the host is gone.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
    pub(crate) start_timeout_ms: u64,
    pub(crate) stop_grace_ms: u64,
}

/// The lobby's application: a command line run by `/bin/sh -c`, with extra environment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct AppSpec {
    pub(crate) command: String,
    pub(crate) env: Vec<(String, String)>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ToWorker {
    Input { events: Vec<serde_json::Value> },
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
    Screenshot {
        error: Option<String>,
    },
    Failed {
        error: String,
    },
    Stopped,
}
