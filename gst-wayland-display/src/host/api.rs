//! The HTTP API: Wolf's lobby endpoints plus events, input, screenshots, health and
//! metrics. Every error is a non-2xx status with `{"success": false, "error": "…"}`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::{broadcast, oneshot};

use super::records::Record;
use super::registry::{AudioInfo, Entry, LobbyEvent, LobbyInfo, LobbyState, Pin, RunnerInfo, now};
use super::request::{Body, CreateLobby, Input, LobbyId};
use super::{Host, clipboard, lanes, memory, metrics, supervisor};
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

    pub(crate) fn not_found(id: &str) -> Self {
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

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) fn ok(body: Value) -> ApiResult {
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
        .route(
            "/api/v1/lobbies/{id}/clipboard",
            get(clipboard::get)
                .post(clipboard::set)
                .layer(DefaultBodyLimit::max(clipboard::BODY_LIMIT)),
        )
        .route("/api/v1/events", get(events))
        .route("/api/v1/system/health", get(health))
        .route("/api/v1/system/memory", get(memory_report))
        .route("/metrics", get(metrics_text))
        .route("/api/v1/lobbies/join", any(moonlight))
        .route("/api/v1/sessions", any(moonlight))
        .route("/api/v1/sessions/{*rest}", any(moonlight))
        .route("/api/v1/apps", any(moonlight))
        .route("/api/v1/apps/{*rest}", any(moonlight))
        .route("/api/v1/pair", any(moonlight))
        .route("/api/v1/pair/{*rest}", any(moonlight))
        .route("/api/v1/clients", any(moonlight))
        .route("/api/v1/clients/{*rest}", any(moonlight))
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

/// `?name=true|false` (or a bare `?name`, which is true) in a request's query; other
/// parameters are left alone.
fn flag(query: Option<&str>, name: &str) -> Result<Option<bool>, ApiError> {
    let Some(query) = query else {
        return Ok(None);
    };
    let mut found = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, "true"));
        if key != name {
            continue;
        }
        found = Some(match value {
            "true" | "1" | "" => true,
            "false" | "0" => false,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "?{name}= takes true or false, not {value:?}"
                )));
            }
        });
    }
    Ok(found)
}

async fn create(
    State(host): State<Arc<Host>>,
    RawQuery(query): RawQuery,
    Body(request): Body<CreateLobby>,
) -> ApiResult {
    // Wolf answers once the lobby runs, and its clients count on that; `?wait=false`
    // answers at once.
    let wait = flag(query.as_deref(), "wait")?.unwrap_or(true);
    if host.shutting_down() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the host is shutting down",
        ));
    }
    let id = new_id();
    let started_by_profile_id = request.profile_id.clone();
    let multi_user = request.multi_user.unwrap_or(true);
    let stop_when_everyone_leaves = request.stop_when_everyone_leaves.unwrap_or(true);
    let pin = request.pin.clone().map(Pin::new);
    let runner = RunnerInfo::of(&request.runner);
    let runner_render_node = request.video_settings.runner_render_node.clone();
    let spec = request
        .into_spec(id.clone(), &host.config.defaults)
        .map_err(ApiError::bad_request)?;
    let (link, worker) = lanes::link();
    let info = LobbyInfo {
        started_by_profile_id,
        multi_user,
        stop_when_everyone_leaves,
        pin_required: pin.is_some(),
        runner: Some(runner),
        runner_render_node,
        width: spec.width,
        height: spec.height,
        refresh_rate: spec.fps,
        render_node: spec.render_node.clone(),
        audio: spec.audio.as_ref().map(|audio| AudioInfo {
            channels: audio.channels,
            ..AudioInfo::default()
        }),
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
    let entry = Entry {
        pin,
        ..Entry::new(info, Some(link))
    };
    // Recorded before anything starts: a lobby the host cannot write down is one a restart
    // could not clean up after, so it is refused, and nothing of it is left.
    write_record(&host, entry.record()).await?;
    // Subscribed before the lobby exists, so none of its state changes can be missed.
    let events = wait.then(|| host.registry.subscribe());
    host.registry.admit(entry, max_running).map_err(|running| {
        host.records.remove(&id);
        at_cap(running)
    })?;
    supervisor::launch(&host, spec, worker);
    let Some(events) = events else {
        return ok(json!({ "success": true, "lobby_id": id, "state": "starting" }));
    };
    // A little past the supervisor's watchdog, so that a lobby that hangs is answered with
    // the watchdog's cause rather than a timeout of our own.
    let limit = supervisor::start_limit(&host.config.defaults).saturating_add(WAIT_MARGIN);
    match until_settled(&host, &id, events, limit).await {
        Ok(()) => ok(json!({ "success": true, "lobby_id": id, "state": "ready" })),
        Err(error) => Ok((
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({ "success": false, "error": error, "lobby_id": id })),
        )
            .into_response()),
    }
}

/// How much longer than the supervisor's start-up watchdog a waiting create waits.
const WAIT_MARGIN: Duration = Duration::from_secs(2);

/// Waits (at most `limit`) until lobby `id` is ready (`Ok`) or has ended (`Err` with the
/// cause), on the registry's state changes.
async fn until_settled(
    host: &Host,
    id: &str,
    mut events: tokio::sync::broadcast::Receiver<LobbyEvent>,
    limit: Duration,
) -> Result<(), String> {
    let settled = async {
        loop {
            let lobby = match events.recv().await {
                Ok(event) if event.lobby.id == id => Some(event.lobby),
                Ok(_) => None,
                // Events were dropped: the registry has the state they would have told.
                Err(broadcast::error::RecvError::Lagged(_)) => host.registry.get(id),
                Err(broadcast::error::RecvError::Closed) => {
                    return Err("the host is shutting down".to_owned());
                }
            };
            if let Some(outcome) = lobby.as_ref().and_then(outcome) {
                return outcome;
            }
        }
    };
    tokio::time::timeout(limit, settled)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "start-up timed out: the lobby was not ready after {} s",
                limit.as_secs_f64()
            ))
        })
}

/// What a create answers for a lobby in this state, once it has an answer.
fn outcome(lobby: &LobbyInfo) -> Option<Result<(), String>> {
    match lobby.state {
        LobbyState::Ready => Some(Ok(())),
        LobbyState::Failed => Some(Err(lobby
            .error
            .clone()
            .unwrap_or_else(|| "the lobby failed".to_owned()))),
        LobbyState::Stopped => Some(Err("the lobby was stopped before it was ready".to_owned())),
        LobbyState::Starting | LobbyState::Stopping => None,
    }
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

/// Refuses a request for a lobby created with a PIN unless it carries that PIN.
fn require_pin(host: &Host, id: &str, given: Option<&[i16]>, what: &str) -> Result<(), ApiError> {
    match host.registry.pin_matches(id, given) {
        None => Err(ApiError::not_found(id)),
        Some(true) => Ok(()),
        Some(false) => {
            // Neither the PIN given nor the lobby's goes into the log or the answer.
            tracing::warn!(lobby = %id, given = given.is_some(), "{what} refused: wrong or missing PIN");
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "lobby {id} was created with a PIN: {what} needs it (\"pin\": [digits]), \
                     and the one given is {}",
                    if given.is_some() { "wrong" } else { "missing" }
                ),
            ))
        }
    }
}

async fn stop(State(host): State<Arc<Host>>, Body(request): Body<LobbyId>) -> ApiResult {
    let LobbyId { lobby_id, pin } = request;
    require_pin(&host, &lobby_id, pin.as_deref(), "stopping it")?;
    let state = supervisor::stop(&host, &lobby_id).ok_or_else(|| ApiError::not_found(&lobby_id))?;
    ok(json!({ "success": true, "lobby_id": lobby_id, "state": state }))
}

/// Lobbies that have not ended (Wolf's clients count every one listed against their
/// limits); `?all=true` lists the ended ones the host still keeps as well.
async fn list(State(host): State<Arc<Host>>, RawQuery(query): RawQuery) -> ApiResult {
    let all = flag(query.as_deref(), "all")?.unwrap_or(false);
    let lobbies: Vec<LobbyInfo> = host
        .registry
        .list()
        .into_iter()
        .filter(|l| all || !l.state.ended())
        .collect();
    ok(json!({ "success": true, "lobbies": lobbies }))
}

async fn get_one(State(host): State<Arc<Host>>, Path(id): Path<String>) -> ApiResult {
    let lobby = host
        .registry
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id))?;
    ok(json!({ "success": true, "lobby": lobby }))
}

pub(crate) fn require_ready(host: &Host, id: &str) -> Result<(), ApiError> {
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

/// Wolf's Moonlight endpoints (sessions, apps, pairing, clients, joining a lobby): this
/// host has no Moonlight server, so they answer 501 rather than a success that did
/// nothing.
async fn moonlight() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not implemented: this host does not speak Moonlight: it streams each lobby through \
         the lobby's sink pipeline (video_settings.sink_pipeline), so there are no Moonlight \
         sessions, apps, pairings or clients, and no lobby to join",
    )
}

async fn memory_report(State(host): State<Arc<Host>>) -> ApiResult {
    let lobbies = host.registry.processes();
    // A pass over /proc (and sysfs for GPUs): off the async threads.
    let report =
        tokio::task::spawn_blocking(move || memory::report(&lobbies, &memory::Sources::default()))
            .await
            .map_err(|err| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("reading the memory figures did not finish: {err}"),
                )
            })?;
    Ok(axum::Json(report).into_response())
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
    let (status, overall_status) = match (&problem, host.shutting_down()) {
        (_, true) => ("stopping", "stopping"),
        (Some(_), false) => ("degraded", "degraded"),
        (None, false) => ("ok", "healthy"),
    };
    let running = host.registry.running();
    let max_running = usize::try_from(host.config.max_lobbies.get()).unwrap_or(usize::MAX);
    let uptime = host.started.elapsed();
    ok(json!({
        "success": true,
        "status": status,
        "reason": problem,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": uptime.as_secs_f64(),
        "lobbies": lobbies,
        // Wolf's names, for its clients (Helix).
        "overall_status": overall_status,
        "process_uptime_seconds": uptime.as_secs(),
        "total_thread_count": memory::own_threads(),
        // Wolf counts threads that missed their heartbeat; this host has no heartbeat
        // threads (its lobbies are processes, watched by their supervisors), so none.
        "stuck_thread_count": 0,
        "threads": [],
        "can_create_new_pipelines": overall_status == "healthy" && running < max_running,
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
