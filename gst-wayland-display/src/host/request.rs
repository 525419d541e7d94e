//! The API's request bodies, in Wolf's shapes so that its clients can switch over. Unknown
//! fields are ignored; wrong types are rejected with the field's path.

use std::collections::BTreeMap;
use std::error::Error;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use waylanddisplaycore::InputEvent;

use super::api::{ApiError, BODY_LIMIT};
use super::config::DEFAULT_BODY_TIMEOUT;
use super::http::BodyTimeout;
use crate::lobby::protocol::{AppSpec, LobbySpec, ModeError, check_mode};

/// A JSON request body of type `T`. It is read by axum's own JSON extractor, minus its
/// `Content-Type` check (`curl -d` and some control planes label JSON as form data), and
/// rejected with the path of the field that is wrong.
pub(crate) struct Body<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        // A body that does not arrive costs its connection a deadline, not forever.
        let deadline = request
            .extensions()
            .get::<BodyTimeout>()
            .map_or(DEFAULT_BODY_TIMEOUT.duration(), |t| t.0);
        let read = tokio::time::timeout(deadline, Bytes::from_request(request, state)).await;
        let Ok(read) = read else {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s (--body-timeout)",
                    deadline.as_secs_f64()
                ),
            )
            .closing());
        };
        let bytes = read.map_err(|rejection| {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("the request body is larger than {BODY_LIMIT} bytes")
            } else {
                format!("cannot read the request body: {}", rejection.body_text())
            };
            ApiError::new(status, message)
        })?;
        parse(&bytes).map(Body).map_err(ApiError::bad_request)
    }
}

/// Parses a JSON body, naming the field an error is in.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    axum::Json::<T>::from_bytes(body)
        .map(|axum::Json(value)| value)
        .map_err(|rejection| describe(&rejection))
}

/// The rejection in our words: where the extractor's path-tracking error is in its chain,
/// its path and cause; otherwise JSON's own message.
fn describe(rejection: &JsonRejection) -> String {
    let mut cause: Option<&(dyn Error + 'static)> = Some(rejection);
    while let Some(err) = cause {
        if let Some(err) = err.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            let path = err.path().to_string();
            return if path.is_empty() || path == "." {
                format!("invalid JSON body: {}", err.inner())
            } else {
                format!("invalid JSON body at {path}: {}", err.inner())
            };
        }
        if let Some(err) = err.downcast_ref::<serde_json::Error>() {
            return format!("invalid JSON body: {err}");
        }
        cause = err.source();
    }
    format!("invalid JSON body: {}", rejection.body_text())
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreateLobby {
    #[serde(default)]
    pub(crate) profile_id: Option<String>,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) multi_user: Option<bool>,
    #[serde(default)]
    pub(crate) stop_when_everyone_leaves: Option<bool>,
    /// Wolf's PIN: digits as numbers.
    #[serde(default)]
    pub(crate) pin: Option<Vec<i16>>,
    pub(crate) video_settings: VideoSettings,
    /// Checked for its type only: this host streams no audio.
    #[serde(default, rename = "audio_settings")]
    pub(crate) _audio_settings: Option<serde_json::Value>,
    pub(crate) runner: Runner,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VideoSettings {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) refresh_rate: u32,
    #[serde(default)]
    pub(crate) wayland_render_node: Option<String>,
    /// The node the app's container uses; the host runs apps as plain processes, so this is
    /// only recorded.
    #[serde(default)]
    pub(crate) runner_render_node: Option<String>,
    #[serde(default)]
    pub(crate) video_producer_buffer_caps: Option<String>,
    /// A gst-launch fragment that encodes (ours; not Wolf's).
    #[serde(default)]
    pub(crate) encoder_pipeline: Option<String>,
    /// A gst-launch fragment the encoded stream goes into (ours; not Wolf's).
    #[serde(default)]
    pub(crate) sink_pipeline: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Runner {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) run_cmd: Option<String>,
    #[serde(default)]
    pub(crate) env: Option<Env>,
}

/// Wolf writes environments as `["KEY=value", …]`; a `{"KEY": "value"}` map is taken too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Env {
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

#[derive(Debug, Deserialize)]
pub(crate) struct LobbyId {
    pub(crate) lobby_id: String,
}

/// Input for a lobby, checked here against the one input vocabulary and forwarded as is.
#[derive(Debug, Deserialize)]
pub(crate) struct Input {
    pub(crate) lobby_id: String,
    pub(crate) events: Vec<InputEvent>,
}

/// Host-wide defaults a request does not set.
#[derive(Clone, Debug)]
pub(crate) struct Defaults {
    pub(crate) render_node: String,
    pub(crate) encoder_pipeline: Option<String>,
    pub(crate) sink_pipeline: String,
    pub(crate) start_timeout: Duration,
    pub(crate) stop_grace: Duration,
}

impl CreateLobby {
    /// The worker's spec, or what is wrong with the request.
    pub(crate) fn into_spec(self, id: String, defaults: &Defaults) -> Result<LobbySpec, String> {
        let video = &self.video_settings;
        check_mode(video.width, video.height, video.refresh_rate).map_err(|err| match err {
            ModeError::Size(..) => format!("video_settings: {err}"),
            ModeError::Rate(_) => format!("video_settings.refresh_rate: {err}"),
        })?;
        if self.runner.kind != "process" {
            return Err(format!(
                "runner.type {:?} is not supported: this host runs apps as processes (\"process\")",
                self.runner.kind
            ));
        }
        let command = self
            .runner
            .run_cmd
            .filter(|cmd| !cmd.trim().is_empty())
            .ok_or_else(|| "runner.run_cmd is required and must not be empty".to_owned())?;
        let env = match self.runner.env {
            None => Vec::new(),
            Some(Env::Map(map)) => map.into_iter().collect(),
            Some(Env::List(list)) => list
                .into_iter()
                .map(|entry| match entry.split_once('=') {
                    Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
                    _ => Err(format!("runner.env: {entry:?} is not KEY=value")),
                })
                .collect::<Result<_, _>>()?,
        };
        let render_node = video
            .wayland_render_node
            .clone()
            .unwrap_or_else(|| defaults.render_node.clone());
        // Parsed here so that a bad value is a 400 now, not a failed lobby later.
        render_node
            .parse::<waylanddisplaycore::RenderTarget>()
            .map_err(|err| format!("video_settings.wayland_render_node: {err}"))?;
        Ok(LobbySpec {
            id,
            name: self.name,
            width: video.width,
            height: video.height,
            fps: video.refresh_rate,
            render_node,
            buffer_caps: video.video_producer_buffer_caps.clone(),
            encoder_pipeline: video
                .encoder_pipeline
                .clone()
                .or_else(|| defaults.encoder_pipeline.clone()),
            sink_pipeline: video
                .sink_pipeline
                .clone()
                .unwrap_or_else(|| defaults.sink_pipeline.clone()),
            app: Some(AppSpec { command, env }),
            start_timeout: defaults.start_timeout,
            stop_grace: defaults.stop_grace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            render_node: "auto".into(),
            encoder_pipeline: None,
            sink_pipeline: "fakesink".into(),
            start_timeout: Duration::from_secs(10),
            stop_grace: Duration::from_secs(3),
        }
    }

    /// A request as Wolf's clients send it, extra fields included.
    const WOLF: &str = r#"{
        "profile_id": "moonlight-profile-id", "name": "Firefox", "multi_user": true,
        "stop_when_everyone_leaves": false, "pin": [1, 2, 3, 4],
        "icon_png_path": "/etc/wolf/icon.png", "runner_state_folder": "profile/firefox",
        "video_settings": {"width": 1920, "height": 1080, "refresh_rate": 60,
            "wayland_render_node": "software", "runner_render_node": "/dev/dri/renderD128",
            "video_producer_buffer_caps": "video/x-raw"},
        "audio_settings": {"channel_count": 2},
        "client_settings": {"run_uid": 1000},
        "runner": {"type": "process", "run_cmd": "weston-terminal", "env": ["A=1", "B=x=y"]}
    }"#;

    #[test]
    fn wolf_requests_are_accepted() {
        let request: CreateLobby = parse(WOLF.as_bytes()).unwrap();
        assert_eq!(request.pin, Some(vec![1, 2, 3, 4]));
        let spec = request.into_spec("id".into(), &defaults()).unwrap();
        assert_eq!((spec.width, spec.height, spec.fps), (1920, 1080, 60));
        assert_eq!(spec.render_node, "software");
        let app = spec.app.unwrap();
        assert_eq!(app.command, "weston-terminal");
        assert_eq!(
            app.env,
            [("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        let body = WOLF.replace("\"width\": 1920", "\"width\": \"1920\"");
        let err = parse::<CreateLobby>(body.as_bytes()).unwrap_err();
        assert!(err.contains("video_settings.width"), "{err}");
        let err = parse::<CreateLobby>(b"{not json").unwrap_err();
        assert!(err.contains("invalid JSON"), "{err}");
        let err = parse::<CreateLobby>(b"{}").unwrap_err();
        assert!(err.contains("missing field"), "{err}");
    }

    #[test]
    fn requests_this_host_cannot_serve_are_refused() {
        for (from, to, needle) in [
            (
                "\"type\": \"process\"",
                "\"type\": \"docker\"",
                "runner.type",
            ),
            (
                "\"run_cmd\": \"weston-terminal\"",
                "\"run_cmd\": \" \"",
                "run_cmd",
            ),
            ("\"width\": 1920", "\"width\": 0", "0x1080"),
            (
                "\"refresh_rate\": 60",
                "\"refresh_rate\": 0",
                "refresh_rate",
            ),
            (
                "\"wayland_render_node\": \"software\"",
                "\"wayland_render_node\": \"gpu0\"",
                "wayland_render_node",
            ),
            (
                "\"env\": [\"A=1\", \"B=x=y\"]",
                "\"env\": [\"novalue\"]",
                "KEY=value",
            ),
        ] {
            let body = WOLF.replace(from, to);
            let request: CreateLobby = parse(body.as_bytes()).unwrap();
            let err = request.into_spec("id".into(), &defaults()).unwrap_err();
            assert!(err.contains(needle), "{to}: {err}");
        }
    }
}
