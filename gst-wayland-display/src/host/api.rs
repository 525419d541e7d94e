//! The HTTP API: Wolf's lobby endpoints plus events, input, screenshots, health and
//! metrics. Every error is a non-2xx status with `{"success": false, "error": "…"}`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::registry::{Entry, LobbyInfo, LobbyState, now};
use super::request::{Body, CreateLobby, Input, LobbyId};
use super::{Host, metrics, supervisor};
use crate::lobby::protocol::ToWorker;

/// Bodies larger than this are refused: no request needs more.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    /// Ends the connection after this reply: its peer is not one to keep.
    close: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            close: false,
        }
    }

    /// This error, ending the connection once sent (unauthenticated peers, bodies that
    /// never came: a connection in such a state is not worth its file descriptor).
    pub(crate) fn closing(self) -> Self {
        Self {
            close: true,
            ..self
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn not_found(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no lobby with id {id:?}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(json!({ "success": false, "error": self.message }));
        if self.close {
            (self.status, [(header::CONNECTION, "close")], body).into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(body: Value) -> ApiResult {
    Ok(axum::Json(body).into_response())
}

pub(crate) fn router(host: Arc<Host>) -> Router {
    Router::new()
        .route("/api/v1/lobbies/create", post(create))
        .route("/api/v1/lobbies/stop", post(stop))
        .route("/api/v1/lobbies/input", post(input_events))
        .route("/api/v1/lobbies", get(list))
        .route("/api/v1/lobbies/{id}", get(get_one))
        .route("/api/v1/lobbies/{id}/screenshot", get(screenshot))
        .route("/api/v1/events", get(events))
        .route("/api/v1/system/health", get(health))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(host)
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A fresh lobby id: random, so ids of a restarted host never repeat earlier ones.
fn new_id() -> String {
    let mut bytes = [0u8; 8];
    if rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty()).is_err() {
        // Unique within this run all the same.
        bytes = (now().to_bits() ^ NEXT_ID.fetch_add(1, Ordering::Relaxed)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn create(State(host): State<Arc<Host>>, Body(request): Body<CreateLobby>) -> ApiResult {
    if host.shutting_down() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the host is shutting down",
        ));
    }
    let id = new_id();
    let profile_id = request.profile_id.clone();
    let multi_user = request.multi_user.unwrap_or(true);
    let stop_when_everyone_leaves = request.stop_when_everyone_leaves.unwrap_or(true);
    let pin = request.pin.clone();
    let runner_render_node = request.video_settings.runner_render_node.clone();
    let spec = request
        .into_spec(id.clone(), &host.config.defaults)
        .map_err(ApiError::bad_request)?;
    let (commands, receiver) = mpsc::unbounded_channel();
    let info = LobbyInfo {
        profile_id,
        multi_user,
        stop_when_everyone_leaves,
        pin,
        runner_render_node,
        width: spec.width,
        height: spec.height,
        refresh_rate: spec.fps,
        render_node: spec.render_node.clone(),
        ..LobbyInfo::new(id.clone(), spec.name.clone())
    };
    let max = host.config.max_lobbies.get();
    host.registry
        .admit(
            Entry::new(info, Some(commands)),
            usize::try_from(max).unwrap_or(usize::MAX),
        )
        .map_err(|running| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "{running} lobbies are running, the most this host allows \
                     (--max-lobbies / max_lobbies = {max}); stop one or raise the limit"
                ),
            )
        })?;
    host.save_record(&id);
    supervisor::launch(&host, spec, receiver);
    ok(json!({ "success": true, "lobby_id": id }))
}

async fn stop(State(host): State<Arc<Host>>, Body(request): Body<LobbyId>) -> ApiResult {
    let LobbyId { lobby_id } = request;
    let state = supervisor::stop(&host, &lobby_id).ok_or_else(|| ApiError::not_found(&lobby_id))?;
    ok(json!({ "success": true, "lobby_id": lobby_id, "state": state }))
}

async fn list(State(host): State<Arc<Host>>) -> ApiResult {
    ok(json!({ "success": true, "lobbies": host.registry.list() }))
}

async fn get_one(State(host): State<Arc<Host>>, Path(id): Path<String>) -> ApiResult {
    let lobby = host
        .registry
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id))?;
    ok(json!({ "success": true, "lobby": lobby }))
}

fn require_ready(host: &Host, id: &str) -> Result<(), ApiError> {
    let lobby = host
        .registry
        .get(id)
        .ok_or_else(|| ApiError::not_found(id))?;
    if lobby.state != LobbyState::Ready {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("lobby {id} is {}, not ready", lobby.state.name()),
        ));
    }
    Ok(())
}

async fn input_events(State(host): State<Arc<Host>>, Body(input): Body<Input>) -> ApiResult {
    let Input { lobby_id, events } = input;
    require_ready(&host, &lobby_id)?;
    let count = events.len();
    host.registry
        .command(&lobby_id, ToWorker::Input { events })
        .map_err(|err| ApiError::new(StatusCode::CONFLICT, err))?;
    ok(json!({ "success": true, "events": count }))
}

static SHOTS: AtomicU64 = AtomicU64::new(0);

async fn screenshot(State(host): State<Arc<Host>>, Path(id): Path<String>) -> ApiResult {
    require_ready(&host, &id)?;
    let path = host.config.state_dir.join("shots").join(format!(
        "{id}-{}.png",
        SHOTS.fetch_add(1, Ordering::Relaxed)
    ));
    let (tx, rx) = oneshot::channel();
    host.registry
        .update(&id, |e| e.screenshots.push_back(tx))
        .ok_or_else(|| ApiError::not_found(&id))?;
    host.registry
        .command(&id, ToWorker::Screenshot { path: path.clone() })
        .map_err(|err| ApiError::new(StatusCode::CONFLICT, err))?;
    let outcome = tokio::time::timeout(SCREENSHOT_TIMEOUT, rx).await;
    let result = match outcome {
        Ok(Ok(Ok(()))) => std::fs::read(&path).map_err(|err| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading the screenshot: {err}"),
            )
        }),
        Ok(Ok(Err(err))) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("screenshot failed: {err}"),
        )),
        Ok(Err(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "the lobby ended before the screenshot",
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "the lobby did not take the screenshot in time",
        )),
    };
    let _ = std::fs::remove_file(&path);
    let png = result?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

async fn events(
    State(host): State<Arc<Host>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = host.registry.subscribe();
    let shutdown = host.shutdown_watch();
    // A comment first: it tells a client the subscription is live (parsers ignore it).
    let hello = futures_util::stream::once(async { Ok(Event::default().comment("connected")) });
    let stream = futures_util::stream::unfold(
        (receiver, shutdown),
        |(mut receiver, mut shutdown)| async move {
            let event = tokio::select! {
                // The stream ends with the host, so a graceful shutdown does not wait on it.
                _ = shutdown.changed() => return None,
                received = receiver.recv() => match received {
                    Ok(event) => {
                        let mut data = serde_json::to_value(&event.lobby).unwrap_or(Value::Null);
                        if let Value::Object(map) = &mut data {
                            map.insert("lobby_id".to_owned(), Value::String(event.lobby.id.clone()));
                        }
                        Event::default().event(event.lobby.state.name()).data(data.to_string())
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        Event::default().event("lagged").data(json!({ "missed": missed }).to_string())
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
            };
            Some((Ok(event), (receiver, shutdown)))
        },
    );
    Sse::new(futures_util::StreamExt::chain(hello, stream))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn health(State(host): State<Arc<Host>>) -> ApiResult {
    let counts = host.registry.counts();
    let lobbies: serde_json::Map<String, Value> = LobbyState::ALL
        .iter()
        .map(|s| {
            (
                s.name().to_owned(),
                json!(counts.get(s).copied().unwrap_or(0)),
            )
        })
        .collect();
    ok(json!({
        "success": true,
        "status": if host.shutting_down() { "stopping" } else { "ok" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": host.started.elapsed().as_secs_f64(),
        "lobbies": lobbies,
    }))
}

async fn metrics_text(State(host): State<Arc<Host>>) -> ApiResult {
    let text = metrics::render(&host).map_err(|err| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the metrics: {err}"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response())
}
