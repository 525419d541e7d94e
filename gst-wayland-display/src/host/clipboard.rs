//! `GET`/`POST /api/v1/lobbies/{id}/clipboard`: the lobby's clipboard for its owner (Helix
//! routes its sandboxes' clipboard this way). The content travels host → worker →
//! element → compositor as a file in the state directory, as screenshots do, so the
//! line protocol carries only its name.
//!
//! The JSON shape, both ways: `{"type": "text", "data": "…"}` for text, `{"type": "image",
//! "mime_type": "image/png", "data": "<base64>"}` for images (and other types as
//! `"type": "data"`); an empty clipboard reads as `{"type": "empty"}`.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::oneshot;
use waylanddisplaycore::clipboard::{
    CLIPBOARD_TIMEOUT, MAX_CLIPBOARD_BYTES, PNG, TEXT, TEXT_TYPES, valid_type,
};

use super::Host;
use super::api::{ApiError, ApiResult, require_ready};
use super::request::Body;
use crate::lobby::protocol::ToWorker;

/// Clipboard transfers in flight on the whole host: each holds its content in memory.
pub(crate) const MAX_TRANSFERS: usize = 4;
/// Requests in flight for one lobby.
const MAX_LOBBY_TRANSFERS: usize = 2;
/// A body carries at most the clipboard's limit, in base64, with room for the JSON.
pub(crate) const BODY_LIMIT: usize = MAX_CLIPBOARD_BYTES / 3 * 4 + 64 * 1024;
/// The worker answers within the compositor's own bound, plus the trip.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(CLIPBOARD_TIMEOUT.as_secs() + 5);
/// What the element says when there is nothing to read (`ClipboardError::Empty`).
const EMPTY: &str = "the clipboard is empty";

static TRANSFERS: AtomicU64 = AtomicU64::new(0);

/// What a worker answered for one request: the type read, or why not.
pub(crate) type Waiter = oneshot::Sender<Result<Option<String>, String>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetClipboard {
    #[serde(rename = "type")]
    kind: Kind,
    data: String,
    #[serde(default)]
    mime_type: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Text,
    Image,
    Data,
}

pub(crate) async fn get(
    State(host): State<Arc<Host>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let wanted = wanted_type(query.as_deref())?;
    let (path, outcome) = transfer(&host, &id, None, |request, path| ToWorker::ClipboardGet {
        request,
        path,
        mime_type: wanted,
    })
    .await?;
    let read = tokio::task::spawn_blocking({
        let path = path.clone();
        move || {
            let data = std::fs::read(&path);
            let _ = std::fs::remove_file(&path);
            data
        }
    })
    .await;
    let mime_type = match outcome {
        Ok(Some(mime_type)) => mime_type,
        Ok(None) => return Err(internal("the worker named no type")),
        Err(error) if error == EMPTY => return super::api::ok(json!({"type": "empty"})),
        Err(error) => return Err(ApiError::new(StatusCode::BAD_GATEWAY, error)),
    };
    let data = match read {
        Ok(Ok(data)) => data,
        Ok(Err(err)) => return Err(internal(format!("reading the clipboard: {err}"))),
        Err(_) => return Err(internal("reading the clipboard did not finish")),
    };
    let body = if TEXT_TYPES.contains(&mime_type.as_str()) {
        match String::from_utf8(data) {
            Ok(text) => json!({"type": "text", "mime_type": mime_type, "data": text}),
            Err(err) => {
                json!({"type": "data", "mime_type": mime_type, "data": STANDARD.encode(err.into_bytes())})
            }
        }
    } else {
        let kind = if mime_type.starts_with("image/") {
            "image"
        } else {
            "data"
        };
        json!({"type": kind, "mime_type": mime_type, "data": STANDARD.encode(data)})
    };
    super::api::ok(body)
}

pub(crate) async fn set(
    State(host): State<Arc<Host>>,
    Path(id): Path<String>,
    Body(body): Body<SetClipboard>,
) -> ApiResult {
    let (mime_type, data) = content(body)?;
    let (path, outcome) = transfer(&host, &id, Some(data), |request, path| {
        ToWorker::ClipboardSet {
            request,
            path,
            mime_type,
        }
    })
    .await?;
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(&path)).await;
    match outcome {
        Ok(_) => super::api::ok(json!({"success": true})),
        Err(error) => Err(ApiError::new(StatusCode::BAD_GATEWAY, error)),
    }
}

/// The type and bytes a set carries, checked.
fn content(body: SetClipboard) -> Result<(String, Vec<u8>), ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
    let (mime_type, data) = match body.kind {
        Kind::Text => (
            body.mime_type.unwrap_or_else(|| TEXT.to_owned()),
            body.data.into_bytes(),
        ),
        Kind::Image | Kind::Data => {
            let mime_type = match (body.kind, body.mime_type) {
                (_, Some(mime_type)) => mime_type,
                (Kind::Image, None) => PNG.to_owned(),
                _ => return Err(bad("type \"data\" needs a mime_type".to_owned())),
            };
            let data = STANDARD
                .decode(body.data.as_bytes())
                .map_err(|err| bad(format!("data is not base64: {err}")))?;
            (mime_type, data)
        }
    };
    if !valid_type(&mime_type) {
        return Err(bad(format!("{mime_type:?} is not a MIME type")));
    }
    if body.kind == Kind::Text && !TEXT_TYPES.contains(&mime_type.as_str()) {
        return Err(bad(format!(
            "type \"text\" takes a text type, not {mime_type:?}"
        )));
    }
    if data.len() > MAX_CLIPBOARD_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the clipboard takes at most {MAX_CLIPBOARD_BYTES} bytes"),
        ));
    }
    Ok((mime_type, data))
}

/// `?type=text|image|<MIME type>`: what to read; none means text before PNG.
fn wanted_type(query: Option<&str>) -> Result<Option<String>, ApiError> {
    let mut wanted = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key != "type" {
            continue;
        }
        wanted = Some(match value.as_ref() {
            "text" => TEXT.to_owned(),
            "image" => PNG.to_owned(),
            other if valid_type(other) => other.to_owned(),
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("type {other:?} is neither text, image nor a MIME type"),
                ));
            }
        });
    }
    Ok(wanted)
}

/// Sends one clipboard request to the lobby's worker (with `data` written to its file
/// first) and waits, bounded, for the answer. Returns the file and the answer.
async fn transfer(
    host: &Arc<Host>,
    id: &str,
    data: Option<Vec<u8>>,
    command: impl FnOnce(u64, PathBuf) -> ToWorker,
) -> Result<(PathBuf, Result<Option<String>, String>), ApiError> {
    require_ready(host, id)?;
    let _slot = host.clipboards.try_acquire().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{MAX_TRANSFERS} clipboard transfers are under way, the most this host runs \
                 at once; retry in a moment"
            ),
        )
    })?;
    let request = TRANSFERS.fetch_add(1, Ordering::Relaxed);
    let dir = host.config.state_dir.join("clips");
    let path = dir.join(format!("{id}-{request}"));
    {
        let (dir, path) = (dir.clone(), path.clone());
        let written = tokio::task::spawn_blocking(move || {
            // The host made it private at start; a removed one comes back the same.
            if !dir.is_dir() {
                std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
            }
            std::fs::write(&path, data.unwrap_or_default())
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(internal(format!("writing the clipboard file: {err}"))),
            Err(_) => return Err(internal("writing the clipboard file did not finish")),
        }
    }
    let (tx, rx) = oneshot::channel();
    let sent = host
        .registry
        .update(id, |e| {
            if e.clipboards.len() >= MAX_LOBBY_TRANSFERS {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "lobby {id} has {MAX_LOBBY_TRANSFERS} clipboard transfers under way; \
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
            link.control(command(request, path.clone()))
                .map_err(|err| ApiError::new(StatusCode::CONFLICT, format!("lobby {id}: {err}")))?;
            e.clipboards.insert(request, tx);
            Ok(())
        })
        .ok_or_else(|| ApiError::not_found(id));
    if let Err(err) | Ok(Err(err)) = sent {
        let _ = std::fs::remove_file(&path);
        return Err(err);
    }
    let outcome = match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => Err("the lobby ended before the clipboard was transferred".to_owned()),
        Err(_) => {
            host.registry.update(id, |e| e.clipboards.remove(&request));
            Err("the lobby did not transfer the clipboard in time".to_owned())
        }
    };
    Ok((path, outcome))
}

/// Removes the files in `dir` (the state directory's `clips/`, which only this host
/// writes). Failures are logged: a leftover is no reason not to start.
pub(crate) fn remove_leftovers(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_file())
            && let Err(err) = std::fs::remove_file(&path)
        {
            tracing::warn!(path = %path.display(), %err, "could not remove a clipboard leftover");
        }
    }
}

fn internal(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
}
