//! A docker lobby's app: one container, created and started once the compositor listens,
//! its output copied into the lobby's log, its exit watched. Dropping it removes the
//! container (with its anonymous volumes) whatever happened before; if the worker is killed
//! outright, the host removes it by its labels.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, RemoveContainerOptions, StopContainerOptions,
    WaitContainerOptions,
};
use futures_util::StreamExt;

use crate::docker::spec::{ContainerSpec, LobbyParts};
use crate::docker::{self, DockerError, bounded, status_of};

/// Lines of the container's output kept for the failure message.
const TAIL_LINES: usize = 20;
/// Longest line kept (a binary blob on stdout must not fill memory).
const MAX_LINE: usize = 4096;

/// How a container ended.
#[derive(Clone, Debug)]
pub(crate) struct ContainerExit {
    pub(crate) name: String,
    /// `None` when the engine would not say (the wait itself failed).
    pub(crate) code: Option<i64>,
    pub(crate) detail: Option<String>,
    pub(crate) last_lines: Vec<String>,
}

impl std::fmt::Display for ContainerExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "container {} ", self.name)?;
        match self.code {
            Some(code) => write!(f, "exited with status {code}")?,
            None => write!(f, "is gone")?,
        }
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        if self.last_lines.is_empty() {
            write!(f, "; it wrote nothing")
        } else {
            write!(f, "; its last lines: {}", self.last_lines.join(" | "))
        }
    }
}

pub(crate) struct ContainerApp {
    runtime: tokio::runtime::Runtime,
    docker: Docker,
    id: String,
    name: String,
    exit: Arc<Mutex<Option<ContainerExit>>>,
    tail: Arc<Mutex<VecDeque<String>>>,
    removed: bool,
}

impl ContainerApp {
    /// Creates and starts the lobby's container. It never pulls: an image missing here
    /// fails the lobby with [`DockerError::ImageMissing`].
    pub(crate) fn start(spec: &ContainerSpec, lobby: &LobbyParts<'_>) -> Result<Self, DockerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("lobby-docker")
            .enable_all()
            .build()
            .map_err(DockerError::Runtime)?;
        let docker = runtime.block_on(docker::connect())?;
        let name = spec.container_name(lobby.lobby_id);
        let body: ContainerCreateBody =
            serde_json::from_value(spec.create_body(lobby)).map_err(DockerError::CreateBody)?;
        let id = runtime.block_on(create(&docker, &spec.image, &name, body))?;
        // From here on, Drop removes the container whatever fails next.
        let app = Self {
            runtime,
            docker,
            id,
            name,
            exit: Arc::new(Mutex::new(None)),
            tail: Arc::new(Mutex::new(VecDeque::new())),
            removed: false,
        };
        app.runtime.block_on(bounded(
            &format!("starting container {}", app.name),
            app.docker.start_container(&app.id, None),
        ))?;
        tracing::info!(container = %app.name, image = %spec.image, "container started");
        app.runtime.spawn(copy_output(
            app.docker.clone(),
            app.id.clone(),
            app.tail.clone(),
        ));
        app.runtime.spawn(watch_exit(
            app.docker.clone(),
            app.id.clone(),
            app.name.clone(),
            app.exit.clone(),
            app.tail.clone(),
        ));
        Ok(app)
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// How the container ended, once it has.
    pub(crate) fn exited(&self) -> Option<ContainerExit> {
        self.exit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `docker stop` with `grace` (SIGTERM, then SIGKILL), then removal.
    pub(crate) fn terminate(&mut self, grace: Duration) {
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptions {
            t: Some(seconds),
            ..StopContainerOptions::default()
        };
        let stop = self.docker.stop_container(&self.id, Some(options));
        let limit = grace.saturating_add(docker::CALL_TIMEOUT);
        // The timer belongs to the runtime: made inside it.
        match self
            .runtime
            .block_on(async { tokio::time::timeout(limit, stop).await })
        {
            Ok(Ok(())) => {}
            // 304: already stopped; 404: already gone.
            Ok(Err(err)) if matches!(status_of(&err), Some(304 | 404)) => {}
            Ok(Err(err)) => tracing::warn!(container = %self.name, %err, "stopping the container"),
            Err(_) => tracing::warn!(container = %self.name, "the container did not stop in time"),
        }
        self.remove();
    }

    fn remove(&mut self) {
        if self.removed {
            return;
        }
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..RemoveContainerOptions::default()
        };
        let what = format!("removing container {}", self.name);
        let removal = bounded(&what, self.docker.remove_container(&self.id, Some(options)));
        match self.runtime.block_on(removal) {
            Ok(()) => tracing::info!(container = %self.name, "container removed"),
            Err(DockerError::Call { source, .. })
                if matches!(status_of(&source), Some(404 | 409)) => {}
            // The host removes it by its labels when the worker has exited.
            Err(err) => tracing::warn!(%err, "the container is left to the host"),
        }
        self.removed = true;
    }
}

impl Drop for ContainerApp {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Creates the container after checking the image is here.
async fn create(
    docker: &Docker,
    image: &str,
    name: &str,
    body: ContainerCreateBody,
) -> Result<String, DockerError> {
    let what = format!("inspecting image {image:?}");
    match bounded(&what, docker.inspect_image(image)).await {
        Ok(_) => {}
        Err(DockerError::Call { source, .. }) if status_of(&source) == Some(404) => {
            return Err(DockerError::ImageMissing(image.to_owned()));
        }
        Err(err) => return Err(err),
    }
    let options = CreateContainerOptions {
        name: Some(name.to_owned()),
        ..CreateContainerOptions::default()
    };
    let created = bounded(
        &format!("creating container {name}"),
        docker.create_container(Some(options), body),
    )
    .await?;
    for warning in created.warnings {
        tracing::warn!(container = name, %warning, "the Docker Engine warns");
    }
    Ok(created.id)
}

/// Copies the container's output into the lobby's log (the worker's stderr), line by line,
/// keeping the last lines for the failure message.
async fn copy_output(docker: Docker, id: String, tail: Arc<Mutex<VecDeque<String>>>) {
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..LogsOptions::default()
    };
    let mut output = docker.logs(&id, Some(options));
    let mut pending: Vec<u8> = Vec::new();
    let keep = |line: &[u8]| {
        let text = String::from_utf8_lossy(line).trim_end().to_owned();
        let _ = writeln!(std::io::stderr(), "[app] {text}");
        let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
        if tail.len() >= TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text);
    };
    while let Some(Ok(chunk)) = output.next().await {
        pending.extend_from_slice(chunk.as_ref());
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            keep(&line[..line.len().saturating_sub(1)]);
        }
        if pending.len() > MAX_LINE {
            keep(&pending);
            pending.clear();
        }
    }
    if !pending.is_empty() {
        keep(&pending);
    }
}

/// Waits for the container to stop running and records how it ended.
async fn watch_exit(
    docker: Docker,
    id: String,
    name: String,
    exit: Arc<Mutex<Option<ContainerExit>>>,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let options = WaitContainerOptions {
        condition: "not-running".to_owned(),
    };
    let mut waits = docker.wait_container(&id, Some(options));
    let (code, detail) = match waits.next().await {
        Some(Ok(response)) => (Some(response.status_code), None),
        Some(Err(bollard::errors::Error::DockerContainerWaitError { error, code })) => {
            (Some(code), (!error.is_empty()).then_some(error))
        }
        Some(Err(err)) => (None, Some(err.to_string())),
        None => (
            None,
            Some("the Engine ended the wait without an answer".to_owned()),
        ),
    };
    // Output written just before the exit is still on its way.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let last_lines = tail
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .cloned()
        .collect();
    *exit.lock().unwrap_or_else(PoisonError::into_inner) = Some(ContainerExit {
        name,
        code,
        detail,
        last_lines,
    });
}
