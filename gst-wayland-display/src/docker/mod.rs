//! The Docker Engine, through its API (bollard): the connection, the labels that mark what
//! this host created, and the removal of labelled containers. A lobby's own container is
//! `lobby::container`; what it is made of is [`spec`].

pub(crate) mod spec;

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};

/// Every container this host creates carries its instance (see `host::instance`) …
pub(crate) const LABEL_HOST: &str = "gst-wayland-display.host";
/// … and its lobby. Containers without both are never touched.
pub(crate) const LABEL_LOBBY: &str = "gst-wayland-display.lobby";

/// How long one Engine call may take before the host gives up on it (image inspection,
/// create, remove: all quick on a healthy engine).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub(crate) enum DockerError {
    #[error(
        "cannot reach the Docker Engine ({host}): {source}; set DOCKER_HOST if it is not \
         at unix:///var/run/docker.sock"
    )]
    Connect { host: String, source: BollardError },
    #[error(
        "image {0:?} is not on this host (this host never pulls: docker pull or docker load it first)"
    )]
    ImageMissing(String),
    #[error("cannot start the Docker client: {0}")]
    Runtime(std::io::Error),
    #[error("runner.base_create_json does not fit the Engine's create request: {0}")]
    CreateBody(serde_json::Error),
    #[error("{what}: {source}")]
    Call { what: String, source: BollardError },
    #[error("{what}: the Docker Engine did not answer within {} s", .after.as_secs())]
    Timeout { what: String, after: Duration },
}

impl DockerError {
    pub(crate) fn call(what: impl Into<String>) -> impl FnOnce(BollardError) -> Self {
        let what = what.into();
        move |source| Self::Call { what, source }
    }
}

/// The Engine's status for a failed call, when it answered one.
pub(crate) fn status_of(err: &BollardError) -> Option<u16> {
    match err {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The engine `DOCKER_HOST` names (else the local socket), speaking the newest API version
/// both sides know.
pub(crate) async fn connect() -> Result<Docker, DockerError> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let connect_error = |source| DockerError::Connect {
        host: host.clone(),
        source,
    };
    let docker = Docker::connect_with_defaults().map_err(connect_error)?;
    let negotiated = tokio::time::timeout(CALL_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| DockerError::Timeout {
            what: format!("connecting to the Docker Engine ({host})"),
            after: CALL_TIMEOUT,
        })?;
    negotiated.map_err(connect_error)
}

/// Runs one Engine call under [`CALL_TIMEOUT`].
pub(crate) async fn bounded<T>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, BollardError>>,
) -> Result<T, DockerError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result.map_err(DockerError::call(what)),
        Err(_) => Err(DockerError::Timeout {
            what: what.to_owned(),
            after: CALL_TIMEOUT,
        }),
    }
}

/// Removes (forcibly, with their anonymous volumes) the containers labelled with this
/// host `instance` and, when given, `lobby`; answers their names.
pub(crate) async fn remove_labelled(
    docker: &Docker,
    instance: &str,
    lobby: Option<&str>,
) -> Result<Vec<String>, DockerError> {
    let mut labels = vec![format!("{LABEL_HOST}={instance}")];
    if let Some(lobby) = lobby {
        labels.push(format!("{LABEL_LOBBY}={lobby}"));
    } else {
        labels.push(LABEL_LOBBY.to_owned());
    }
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".to_owned(), labels)])),
        ..ListContainersOptions::default()
    };
    let found = bounded(
        "listing this host's containers",
        docker.list_containers(Some(options)),
    )
    .await?;
    let mut removed = Vec::new();
    for container in found {
        let Some(id) = container.id else { continue };
        let name = container
            .names
            .and_then(|names| names.into_iter().next())
            .map_or_else(|| id.clone(), |n| n.trim_start_matches('/').to_owned());
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..RemoveContainerOptions::default()
        };
        match bounded(
            &format!("removing container {name}"),
            docker.remove_container(&id, Some(options)),
        )
        .await
        {
            Ok(()) => removed.push(name),
            // Gone or going meanwhile (its own worker removes it): what was asked for is done.
            Err(DockerError::Call { source, .. })
                if matches!(status_of(&source), Some(404 | 409)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(removed)
}
