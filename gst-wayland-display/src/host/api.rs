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
use tokio::sync::oneshot;

use super::records::Record;
use super::registry::{Entry, LobbyInfo, LobbyState, now};
use super::request::{Body, CreateLobby, Input, LobbyId};
use super::{Host, lanes, metrics, supervisor};
use crate::lobby::protocol::ToWorker;

/// Bodies larger than this are refused: no request needs more.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(10);
/// Screenshots in flight for one lobby (its worker takes them one after the other).
const MAX_LOBBY_SCREENSHOTS: usize = 2;
/// Screenshots in flight on the whole host: each is a PNG read into memory.
pub(crate) const MAX_SCREENSHOTS: usize = 8;

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
    let (link, worker) = lanes::link();
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
    let max_running = usize::try_from(max).unwrap_or(usize::MAX);
    let at_cap = |running: usize| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{running} lobbies are running, the most this host allows \
                 (--max-lobbies / max_lobbies = {max}); stop one or raise the limit"
            ),
        )
    };
    // Early, so that a burst at the cap costs no disk writes; `admit` has the last word.
    let running = host.registry.running();
    if running >= max_running {
        return Err(at_cap(running));
    }
    let entry = Entry::new(info, Some(link));
    // Recorded before anything starts: a lobby the host cannot write down is one a restart
    // could not clean up after, so it is refused, and nothing of it is left.
    write_record(&host, entry.record()).await?;
    host.registry.admit(entry, max_running).map_err(|running| {
        host.records.remove(&id);
        at_cap(running)
    })?;
    supervisor::launch(&host, spec, worker);
    ok(json!({ "success": true, "lobby_id": id }))
}

/// Writes a new lobby's record off the async threads (it syncs to disk); a disk that has
/// no room is 507 Insufficient Storage.
async fn write_record(host: &Arc<Host>, record: Record) -> Result<(), ApiError> {
    let writer = host.clone();
    match tokio::task::spawn_blocking(move || writer.records.write(&record)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::warn!(%err, "lobby refused: its record cannot be written");
            Err(ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                err.to_string(),
            ))
        }
        Err(err) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("writing the lobby record did not finish: {err}"),
        )),
    }
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
    let lane = host
        .registry
        .input(&lobby_id)
        .map_err(|err| ApiError::new(StatusCode::CONFLICT, err))?;
    lane.push(events).map_err(|full| {
        host.registry.counters.input_refused.inc();
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "lobby {lobby_id}'s input queue is full ({} events waiting for the lobby); \
                 slow down and retry",
                full.capacity
            ),
        )
    })?;
    ok(json!({ "success": true, "events": count }))
}

static SHOTS: AtomicU64 = AtomicU64::new(0);

async fn screenshot(State(host): State<Arc<Host>>, Path(id): Path<String>) -> ApiResult {
    require_ready(&host, &id)?;
    let _slot = host.screenshots.try_acquire().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{MAX_SCREENSHOTS} screenshots are being taken, the most this host takes at \
                 once; retry in a moment"
            ),
        )
    })?;
    let path = host.config.state_dir.join("shots").join(format!(
        "{id}-{}.png",
        SHOTS.fetch_add(1, Ordering::Relaxed)
    ));
    let (tx, rx) = oneshot::channel();
    // The waiter and its request go together, so the worker's answers meet their waiters
    // in order.
    host.registry
        .update(&id, |e| {
            if e.screenshots.len() >= MAX_LOBBY_SCREENSHOTS {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "lobby {id} is taking {MAX_LOBBY_SCREENSHOTS} screenshots already; \
                         retry when one is done"
                    ),
                ));
            }
            let link = e.link.as_ref().ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    format!("lobby {id} is {}", e.info.state.name()),
                )
            })?;
            link.control(ToWorker::Screenshot { path: path.clone() })
                .map_err(|err| ApiError::new(StatusCode::CONFLICT, format!("lobby {id}: {err}")))?;
            e.screenshots.push_back(tx);
            Ok(())
        })
        .ok_or_else(|| ApiError::not_found(&id))??;
    let outcome = tokio::time::timeout(SCREENSHOT_TIMEOUT, rx).await;
    let taken = matches!(outcome, Ok(Ok(Ok(()))));
    // Read (when taken) and removed in any case, off the async threads.
    let read = tokio::task::spawn_blocking(move || {
        let png = taken.then(|| std::fs::read(&path));
        let _ = std::fs::remove_file(&path);
        png
    })
    .await;
    let result = match (outcome, read) {
        (Ok(Ok(Ok(()))), Ok(Some(Ok(png)))) => Ok(png),
        (Ok(Ok(Ok(()))), Ok(Some(Err(err)))) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the screenshot: {err}"),
        )),
        (Ok(Ok(Ok(()))), _) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reading the screenshot did not finish",
        )),
        (Ok(Ok(Err(err))), _) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("screenshot failed: {err}"),
        )),
        (Ok(Err(_)), _) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "the lobby ended before the screenshot",
        )),
        (Err(_), _) => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "the lobby did not take the screenshot in time",
        )),
    };
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
    // While records cannot be written, creates fail: the host is degraded until there is
    // room again.
    let problem = if host.shutting_down() || !host.records.failing() {
        None
    } else {
        let records = host.clone();
        tokio::task::spawn_blocking(move || records.records.problem())
            .await
            .unwrap_or_else(|err| Some(format!("checking the state directory failed: {err}")))
    };
    let status = match (&problem, host.shutting_down()) {
        (_, true) => "stopping",
        (Some(_), false) => "degraded",
        (None, false) => "ok",
    };
    ok(json!({
        "success": true,
        "status": status,
        "reason": problem,
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
