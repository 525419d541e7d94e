//! The API's request bodies, in Wolf's shapes so that its clients can switch over. Unknown
//! fields are ignored; wrong types are rejected with the field's path.

use std::collections::BTreeMap;
use std::error::Error;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use waylanddisplaycore::InputEvent;

use super::api::{ApiError, BODY_LIMIT};
use super::config::DEFAULT_BODY_TIMEOUT;
use super::http::BodyTimeout;
use crate::docker::spec::{ContainerSpec, Device, Mount, Port};
use crate::lobby::protocol::{
    AppSpec, AudioServer, AudioSpec, LobbySpec, ModeError, Runner as AppRunner, XwaylandMode,
    check_mode,
};

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
                format!(
                    "the request body is larger than this endpoint takes ({BODY_LIMIT} bytes; \
                     the clipboard's {} bytes)",
                    super::clipboard::BODY_LIMIT
                )
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

/// Wolf's clients send `""` for every string they leave to the host (Helix sends empty
/// render nodes and buffer caps, counting on Wolf's defaults), so an empty or blank string
/// is read as if the field were left out. Without this, `""` as caps became `", width=…"`
/// and the lobby failed with a pipeline syntax error.
fn blank_is_default<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()))
}

/// An empty PIN (`[]`) is no PIN, as an empty string is no value.
fn empty_pin_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i16>>, D::Error> {
    Ok(Option::<Vec<i16>>::deserialize(d)?.filter(|pin| !pin.is_empty()))
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreateLobby {
    #[serde(default, deserialize_with = "blank_is_default")]
    pub(crate) profile_id: Option<String>,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) multi_user: Option<bool>,
    #[serde(default)]
    pub(crate) stop_when_everyone_leaves: Option<bool>,
    /// Wolf's PIN: digits as numbers. Stopping the lobby then needs it; it is never shown.
    #[serde(default, deserialize_with = "empty_pin_is_none")]
    pub(crate) pin: Option<Vec<i16>>,
    pub(crate) video_settings: VideoSettings,
    /// The lobby's sound; a lobby created without it has none.
    #[serde(default)]
    pub(crate) audio_settings: Option<AudioSettings>,
    pub(crate) runner: Runner,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VideoSettings {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) refresh_rate: u32,
    #[serde(default, deserialize_with = "blank_is_default")]
    pub(crate) wayland_render_node: Option<String>,
    /// The GPU a docker runner's container gets when it is not the lobby's own (a
    /// `render-node` value); process runners only record it.
    #[serde(default, deserialize_with = "blank_is_default")]
    pub(crate) runner_render_node: Option<String>,
    #[serde(default, deserialize_with = "blank_is_default")]
    pub(crate) video_producer_buffer_caps: Option<String>,
    /// A gst-launch fragment that encodes (ours; not Wolf's).
    #[serde(default, deserialize_with = "blank_is_default")]
    pub(crate) encoder_pipeline: Option<String>,
    /// A gst-launch fragment the encoded stream goes into (ours; not Wolf's).
    #[serde(default, deserialize_with = "blank_is_default")]
    pub(crate) sink_pipeline: Option<String>,
    /// The element's `window-mode`: "maximized" (default) or "fullscreen" (ours).
    #[serde(default, deserialize_with = "blank_is_default")]
    pub(crate) window_mode: Option<String>,
    /// The element's `scale-to-fit` (ours).
    #[serde(default)]
    pub(crate) scale_to_fit: Option<bool>,
    /// The element's `scale`: from 1 (default) to 4 (ours).
    #[serde(default)]
    pub(crate) scale: Option<f64>,
    /// The element's `xwayland`: "on-demand" (default), "on" or "off" (ours).
    #[serde(default, deserialize_with = "blank_is_default")]
    pub(crate) xwayland: Option<String>,
    /// The element's `privileged-protocols` (ours; default true).
    #[serde(default)]
    pub(crate) privileged_protocols: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AudioSettings {
    /// Wolf's: 2 (stereo), 6 (5.1) or 8 (7.1); anything from 1 to 8 (default 2).
    #[serde(default)]
    pub(crate) channel_count: Option<u32>,
    /// A gst-launch fragment the Opus stream goes into (ours; not Wolf's). It may name an
    /// element of the video's `sink_pipeline` (`mux.`).
    #[serde(default, deserialize_with = "blank_is_default")]
    pub(crate) audio_pipeline: Option<String>,
}

impl AudioSettings {
    fn into_spec(self, defaults: &Defaults) -> Result<AudioSpec, String> {
        let channels = self.channel_count.unwrap_or(2);
        let channels = u8::try_from(channels)
            .ok()
            .filter(|c| (1..=crate::audio::MAX_CHANNELS).contains(c))
            .ok_or_else(|| {
                format!(
                    "audio_settings.channel_count: {channels} is not a channel count \
                     (1 to {})",
                    crate::audio::MAX_CHANNELS
                )
            })?;
        let pipeline = self
            .audio_pipeline
            .unwrap_or_else(|| defaults.audio_pipeline.clone());
        no_nul("audio_settings.audio_pipeline", &pipeline)?;
        Ok(AudioSpec {
            server: defaults.audio_server.clone(),
            instance: defaults.instance.clone(),
            channels,
            pipeline,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Runner {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) run_cmd: Option<String>,
    #[serde(default)]
    pub(crate) env: Option<Env>,
    /// Docker runners (Wolf's fields): the container's name prefix and image …
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) image: Option<String>,
    /// … `"src:dst[:mode]"`, `"host[:container[:permissions]]"`, `"host:container[:udp]"` …
    #[serde(default)]
    pub(crate) mounts: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) devices: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) ports: Option<Vec<String>>,
    /// … and the Engine create request they are merged into, as JSON text.
    #[serde(default)]
    pub(crate) base_create_json: Option<String>,
}

/// Wolf writes environments as `["KEY=value", …]`; a `{"KEY": "value"}` map is taken too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Env {
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

/// A request naming a lobby (stop), with the lobby's PIN if it was created with one.
#[derive(Debug, Deserialize)]
pub(crate) struct LobbyId {
    pub(crate) lobby_id: String,
    #[serde(default)]
    pub(crate) pin: Option<Vec<i16>>,
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
    /// This host's name on what it labels (`host::config::instance_of`).
    pub(crate) instance: String,
    pub(crate) render_node: String,
    pub(crate) encoder_pipeline: Option<String>,
    pub(crate) sink_pipeline: String,
    pub(crate) start_timeout: Duration,
    pub(crate) stop_grace: Duration,
    /// The sound server lobbies with audio get a sink on, or why there is none.
    pub(crate) audio_server: AudioServer,
    /// Where a lobby's Opus stream goes when its request does not say.
    pub(crate) audio_pipeline: String,
}

impl CreateLobby {
    /// The worker's spec, or what is wrong with the request.
    pub(crate) fn into_spec(self, id: String, defaults: &Defaults) -> Result<LobbySpec, String> {
        let video = &self.video_settings;
        check_mode(video.width, video.height, video.refresh_rate).map_err(|err| match err {
            ModeError::Size(..) => format!("video_settings: {err}"),
            ModeError::Rate(_) => format!("video_settings.refresh_rate: {err}"),
        })?;
        let runner_node = video
            .runner_render_node
            .clone()
            .filter(|node| !node.trim().is_empty());
        let app = self.runner.into_app(defaults, runner_node)?;
        let audio = self
            .audio_settings
            .map(|audio| audio.into_spec(defaults))
            .transpose()?;
        let render_node = video
            .wayland_render_node
            .clone()
            .unwrap_or_else(|| defaults.render_node.clone());
        // Checked here so that a bad value is a 400 now, not a failed lobby later.
        no_nul("video_settings.wayland_render_node", &render_node)?;
        render_node
            .parse::<waylanddisplaycore::RenderTarget>()
            .map_err(|err| format!("video_settings.wayland_render_node: {err}"))?;
        let buffer_caps = video.video_producer_buffer_caps.clone();
        let encoder_pipeline = video
            .encoder_pipeline
            .clone()
            .or_else(|| defaults.encoder_pipeline.clone());
        let sink_pipeline = video
            .sink_pipeline
            .clone()
            .unwrap_or_else(|| defaults.sink_pipeline.clone());
        for (field, value) in [
            ("video_settings.video_producer_buffer_caps", &buffer_caps),
            ("video_settings.encoder_pipeline", &encoder_pipeline),
        ] {
            if let Some(value) = value {
                no_nul(field, value)?;
            }
        }
        no_nul("video_settings.sink_pipeline", &sink_pipeline)?;
        let window_mode = video
            .window_mode
            .as_deref()
            .map(str::parse::<waylanddisplaycore::WindowMode>)
            .transpose()
            .map_err(|err| format!("video_settings.window_mode: {err}"))?
            .unwrap_or_default();
        let scale_to_fit = video.scale_to_fit.unwrap_or(false);
        let scale = video
            .scale
            .map(waylanddisplaycore::OutputScale::new)
            .transpose()
            .map_err(|err| format!("video_settings.scale: {err}"))?
            .unwrap_or_default()
            .get();
        let privileged_protocols = video.privileged_protocols.unwrap_or(true);
        let xwayland = video
            .xwayland
            .as_deref()
            .map(str::parse::<XwaylandMode>)
            .transpose()
            .map_err(|err| format!("video_settings.xwayland: {err}"))?
            .unwrap_or_default();
        Ok(LobbySpec {
            id,
            name: self.name,
            width: video.width,
            height: video.height,
            fps: video.refresh_rate,
            render_node,
            buffer_caps,
            encoder_pipeline,
            sink_pipeline,
            app: Some(app),
            start_timeout: defaults.start_timeout,
            stop_grace: defaults.stop_grace,
            window_mode,
            scale_to_fit,
            scale,
            xwayland,
            privileged_protocols,
            audio,
        })
    }
}

impl Runner {
    /// How the app runs: a command line, or a container.
    /// `render_node`: the container's GPU when it is not the lobby's own.
    fn into_app(
        self,
        defaults: &Defaults,
        render_node: Option<String>,
    ) -> Result<AppRunner, String> {
        let env = parse_env(self.env)?;
        match self.kind.as_str() {
            "process" => {
                let command = self
                    .run_cmd
                    .filter(|cmd| !cmd.trim().is_empty())
                    .ok_or_else(|| "runner.run_cmd is required and must not be empty".to_owned())?;
                no_nul("runner.run_cmd", &command)?;
                Ok(AppRunner::Process(AppSpec { command, env }))
            }
            "docker" => {
                let image = self
                    .image
                    .filter(|image| !image.trim().is_empty())
                    .ok_or_else(|| "runner.image is required for a docker runner".to_owned())?;
                no_nul("runner.image", &image)?;
                if let Some(node) = &render_node {
                    no_nul("video_settings.runner_render_node", node)?;
                    node.parse::<waylanddisplaycore::RenderTarget>()
                        .map_err(|err| format!("video_settings.runner_render_node: {err}"))?;
                }
                let name = self.name.unwrap_or_default();
                no_nul("runner.name", &name)?;
                let mounts = parse_list("mounts", self.mounts, Mount::parse)?;
                let devices = parse_list("devices", self.devices, Device::parse)?;
                let ports = parse_list("ports", self.ports, Port::parse)?;
                let base = match self.base_create_json.as_deref().map(str::trim) {
                    None | Some("") => serde_json::Map::new(),
                    Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
                        Ok(serde_json::Value::Object(map)) => map,
                        Ok(_) => {
                            return Err("runner.base_create_json must be a JSON object".to_owned());
                        }
                        Err(err) => {
                            return Err(format!("runner.base_create_json is not JSON: {err}"));
                        }
                    },
                };
                Ok(AppRunner::Docker(ContainerSpec {
                    name,
                    image,
                    mounts,
                    env,
                    devices,
                    ports,
                    base,
                    instance: defaults.instance.clone(),
                    render_node,
                }))
            }
            other => Err(format!(
                "runner.type {other:?} is not supported: this host runs apps as processes \
                 (\"process\") or Docker containers (\"docker\")"
            )),
        }
    }
}

/// Each of a runner's list of Wolf strings, parsed; errors name the entry.
fn parse_list<T>(
    field: &str,
    values: Option<Vec<String>>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    values
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let at = format!("runner.{field}[{i}]");
            no_nul(&at, value)?;
            parse(value).map_err(|err| format!("{at}: {err}"))
        })
        .collect()
}

/// Wolf's `["KEY=value", …]` or a map, checked for what exec and Docker can pass on.
fn parse_env(env: Option<Env>) -> Result<Vec<(String, String)>, String> {
    let env: Vec<(String, String)> = match env {
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
    for (key, value) in &env {
        check_env(key, value)?;
    }
    Ok(env)
}

/// GStreamer descriptions, properties and exec all take C strings: a NUL byte would cut a
/// value short (GLib's bindings abort a debug build on it), so it is refused up front.
fn no_nul(field: &str, value: &str) -> Result<(), String> {
    if value.contains('\0') {
        Err(format!("{field} must not contain a NUL byte"))
    } else {
        Ok(())
    }
}

/// An environment entry exec can pass on as `KEY=value`: a key that is not empty and has no
/// `=` (else the app would see another variable than the one asked for), no NUL anywhere.
fn check_env(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.contains(['=', '\0']) {
        return Err(format!(
            "runner.env: {key:?} is not a variable name \
                 (it must not be empty or contain '=' or NUL)"
        ));
    }
    no_nul(&format!("runner.env.{key}"), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            instance: "test".into(),
            render_node: "auto".into(),
            encoder_pipeline: None,
            sink_pipeline: "fakesink".into(),
            start_timeout: Duration::from_secs(10),
            stop_grace: Duration::from_secs(3),
            audio_server: AudioServer::Address("unix:/tmp/test-pulse".into()),
            audio_pipeline: "fakesink".into(),
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
        let Some(AppRunner::Process(app)) = spec.app else {
            panic!("not a process: {:?}", spec.app)
        };
        assert_eq!(app.command, "weston-terminal");
        assert_eq!(
            app.env,
            [("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
    }

    /// Helix's create body (see tests/fixtures/README.md).
    const HELIX: &str = include_str!("../../tests/fixtures/helix-create-lobby.json");

    #[test]
    fn helix_requests_take_the_defaults_for_their_empty_strings() {
        let request: CreateLobby = parse(HELIX.as_bytes()).unwrap();
        assert_eq!(request.profile_id.as_deref(), Some("helix-sessions"));
        assert_eq!(request.pin, Some(vec![7, 3, 9, 1]));
        let video = &request.video_settings;
        assert_eq!(video.wayland_render_node, None);
        assert_eq!(video.runner_render_node, None);
        assert_eq!(video.video_producer_buffer_caps, None);
        let runner = &request.runner;
        assert_eq!(runner.kind, "docker");
        assert!(
            runner
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("zed-external-"))
        );
        assert_eq!(runner.image.as_deref(), Some("helix-sway:3f9c2a1"));
        let Some(Env::List(env)) = &runner.env else {
            panic!("Helix sends its environment as a list: {:?}", runner.env);
        };
        assert_eq!(env.len(), 21);
        assert!(env.iter().any(|e| e.starts_with("HELIX_SESSION_ID=ses_")));

        // As it is: a container, every empty string the host's default.
        let spec = request.into_spec("id".into(), &defaults()).unwrap();
        assert_eq!(spec.render_node, defaults().render_node);
        assert_eq!(spec.buffer_caps, None);
        let Some(AppRunner::Docker(container)) = spec.app else {
            panic!("not a container: {:?}", spec.app)
        };
        assert_eq!(container.image, "helix-sway:3f9c2a1");
        assert_eq!(container.env.len(), 21);
        assert_eq!(container.render_node, None);
        assert!(container.base.contains_key("HostConfig"));

        // With a process runner in its place, the rest becomes the host's defaults.
        let body = HELIX.replace(
            r#""runner":{"type":"docker""#,
            r#""runner":{"type":"process","run_cmd":"weston-simple-shm""#,
        );
        let request: CreateLobby = parse(body.as_bytes()).unwrap();
        let spec = request.into_spec("id".into(), &defaults()).unwrap();
        assert_eq!(spec.render_node, defaults().render_node);
        assert_eq!(spec.buffer_caps, None);
        assert_eq!(spec.encoder_pipeline, defaults().encoder_pipeline);
        assert_eq!(spec.sink_pipeline, defaults().sink_pipeline);
        assert_eq!((spec.width, spec.height, spec.fps), (1920, 1080, 60));
        let Some(AppRunner::Process(app)) = spec.app else {
            panic!("not a process: {:?}", spec.app)
        };
        assert_eq!(app.command, "weston-simple-shm");
        assert_eq!(app.env.len(), 21);
        assert!(app.env.contains(&("RUN_SWAY".into(), "1".into())));
    }

    #[test]
    fn stop_requests_carry_the_pin() {
        let stop: LobbyId = parse(br#"{"lobby_id": "a", "pin": [7, 3, 9, 1]}"#).unwrap();
        assert_eq!(stop.pin, Some(vec![7, 3, 9, 1]));
        let stop: LobbyId = parse(br#"{"lobby_id": "a"}"#).unwrap();
        assert_eq!(stop.pin, None);
    }

    #[test]
    fn docker_runners_become_containers() {
        let body = WOLF.replace(
            r#""runner": {"type": "process", "run_cmd": "weston-terminal", "env": ["A=1", "B=x=y"]}"#,
            r#""runner": {"type": "docker", "name": "Sway", "image": "ghcr.io/x/sway:edge",
                "mounts": ["/srv:/srv:ro"], "env": ["RUN_SWAY=1"], "devices": ["/dev/fuse"],
                "ports": ["8080:80"],
                "base_create_json": "{\"HostConfig\": {\"IpcMode\": \"host\"}}"}"#,
        );
        let request: CreateLobby = parse(body.as_bytes()).unwrap();
        let spec = request.into_spec("id".into(), &defaults()).unwrap();
        let Some(AppRunner::Docker(container)) = spec.app else {
            panic!("not a container: {:?}", spec.app)
        };
        assert_eq!(container.image, "ghcr.io/x/sway:edge");
        assert_eq!(container.instance, "test");
        assert_eq!(container.mounts[0].mode, "ro");
        assert_eq!(container.env, [("RUN_SWAY".into(), "1".into())]);
        assert_eq!(container.base["HostConfig"]["IpcMode"], "host");

        for (field, value, needle) in [
            ("image", r#""""#, "runner.image is required"),
            ("mounts", r#"["/a:/b", "nocolon"]"#, "runner.mounts[1]"),
            ("devices", r#"["dev/rel"]"#, "runner.devices[0]"),
            ("ports", r#"["80:99999"]"#, "runner.ports[0]"),
            ("base_create_json", r#""[1]""#, "must be a JSON object"),
            ("base_create_json", r#""{no""#, "is not JSON"),
            (
                "image",
                r#""a\u0000b""#,
                "runner.image must not contain a NUL byte",
            ),
        ] {
            let mut value_body: serde_json::Value = serde_json::from_str(&body).unwrap();
            value_body["runner"][field] = serde_json::from_str(value).unwrap();
            let request: CreateLobby = parse(value_body.to_string().as_bytes()).unwrap();
            let err = request.into_spec("id".into(), &defaults()).unwrap_err();
            assert!(err.contains(needle), "{field}={value}: {err}");
        }
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
            ("\"type\": \"process\"", "\"type\": \"vm\"", "runner.type"),
            (
                "\"type\": \"process\"",
                "\"type\": \"docker\"",
                "runner.image is required",
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
            // Found by props::nul_bytes_and_bad_environment_names_are_refused: the app
            // would have seen A="B=x"; NUL bytes would reach GStreamer and exec.
            (
                "\"env\": [\"A=1\", \"B=x=y\"]",
                "\"env\": {\"A=B\": \"x\"}",
                "not a variable name",
            ),
            (
                "\"env\": [\"A=1\", \"B=x=y\"]",
                "\"env\": {\"\": \"x\"}",
                "not a variable name",
            ),
            (
                "\"run_cmd\": \"weston-terminal\"",
                "\"run_cmd\": \"weston\\u0000-terminal\"",
                "runner.run_cmd must not contain a NUL byte",
            ),
            (
                "\"video_producer_buffer_caps\": \"video/x-raw\"",
                "\"video_producer_buffer_caps\": \"video/x-raw\\u0000\"",
                "video_producer_buffer_caps must not contain a NUL byte",
            ),
        ] {
            let body = WOLF.replace(from, to);
            let request: CreateLobby = parse(body.as_bytes()).unwrap();
            let err = request.into_spec("id".into(), &defaults()).unwrap_err();
            assert!(err.contains(needle), "{to}: {err}");
        }
    }
}

/// Property tests of the API's bodies (docs/RELIABILITY.md): any bytes are a request or a
/// 4xx answer, never a panic; valid requests become exactly the spec they describe; sizes,
/// rates, NUL bytes and environment names out of bounds are refused with the field's name.
#[cfg(test)]
mod props {
    use axum::response::IntoResponse;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::lobby::protocol::{MAX_DIMENSION, MAX_FPS};

    /// Cases per property; each takes well under a second in a debug build.
    const CASES: u32 = 4096;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    fn defaults() -> Defaults {
        Defaults {
            instance: "test".into(),
            render_node: "auto".into(),
            encoder_pipeline: Some("x264enc".into()),
            sink_pipeline: "fakesink".into(),
            start_timeout: Duration::from_secs(10),
            stop_grace: Duration::from_secs(3),
            audio_server: AudioServer::Address("unix:/tmp/test-pulse".into()),
            audio_pipeline: "fakesink".into(),
        }
    }

    /// Any JSON value, nested a little.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Text that C strings can carry.
    fn text() -> impl Strategy<Value = String> {
        "[^\u{0}]{0,16}"
    }

    fn render_node() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "auto",
            "",
            "  ",
            " Software ",
            "llvmpipe",
            "vendor:nvidia",
            "VENDOR:0x1af4",
            "pci:01:00.0",
            "/dev/dri/renderD128",
        ])
        .prop_map(str::to_owned)
    }

    /// A request this host can serve, and the spec it must become.
    #[derive(Clone, Debug)]
    struct Valid {
        name: String,
        width: u32,
        height: u32,
        fps: u32,
        render_node: Option<String>,
        caps: Option<String>,
        encoder: Option<String>,
        sink: Option<String>,
        command: String,
        env: Vec<(String, String)>,
        env_as_map: bool,
        window_mode: Option<String>,
        scale_to_fit: Option<bool>,
        xwayland: Option<String>,
        privileged_protocols: Option<bool>,
        /// `audio_settings`: its channel count and pipeline, each maybe left out.
        audio: Option<(Option<u32>, Option<String>)>,
    }

    /// Window modes as clients write them, blanks (the default) included.
    fn window_mode() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "",
            " ",
            "maximized",
            "fullscreen",
            "Fullscreen",
            " MAXIMIZED ",
        ])
        .prop_map(str::to_owned)
    }

    /// Xwayland modes as clients write them, blanks (the default) included.
    fn xwayland() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["", " ", "on-demand", "on", "off", "Off", " ON "])
            .prop_map(str::to_owned)
    }

    fn valid() -> impl Strategy<Value = Valid> {
        (
            (text(), 1..=MAX_DIMENSION, 1..=MAX_DIMENSION, 1..=MAX_FPS),
            (
                prop::option::of(render_node()),
                prop::option::of(optional_text()),
                prop::option::of(optional_text()),
                prop::option::of(optional_text()),
            ),
            (
                "[a-z][^\u{0}]{0,16}",
                prop::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,8}", text(), 0..4),
                any::<bool>(),
            ),
            (
                prop::option::of(window_mode()),
                prop::option::of(any::<bool>()),
                prop::option::of(xwayland()),
                prop::option::of(any::<bool>()),
            ),
            prop::option::of((
                prop::option::of(1..=u32::from(crate::audio::MAX_CHANNELS)),
                prop::option::of(optional_text()),
            )),
        )
            .prop_map(
                |(
                    (name, width, height, fps),
                    (render_node, caps, encoder, sink),
                    (command, env, env_as_map),
                    (window_mode, scale_to_fit, xwayland, privileged_protocols),
                    audio,
                )| Valid {
                    name,
                    width,
                    height,
                    fps,
                    render_node,
                    caps,
                    encoder,
                    sink,
                    command,
                    env: env.into_iter().collect(),
                    env_as_map,
                    window_mode,
                    scale_to_fit,
                    xwayland,
                    privileged_protocols,
                    audio,
                },
            )
    }

    impl Valid {
        fn body(&self) -> Value {
            let mut video = json!({
                "width": self.width,
                "height": self.height,
                "refresh_rate": self.fps,
            });
            for (key, value) in [
                ("wayland_render_node", &self.render_node),
                ("video_producer_buffer_caps", &self.caps),
                ("encoder_pipeline", &self.encoder),
                ("sink_pipeline", &self.sink),
                ("window_mode", &self.window_mode),
                ("xwayland", &self.xwayland),
            ] {
                if let Some(value) = value {
                    video[key] = json!(value);
                }
            }
            if let Some(scale) = self.scale_to_fit {
                video["scale_to_fit"] = json!(scale);
            }
            if let Some(privileged) = self.privileged_protocols {
                video["privileged_protocols"] = json!(privileged);
            }
            let env = if self.env_as_map {
                json!(self.env.iter().cloned().collect::<BTreeMap<_, _>>())
            } else {
                json!(
                    self.env
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                )
            };
            let mut body = json!({
                "name": self.name,
                "video_settings": video,
                "runner": {"type": "process", "run_cmd": self.command, "env": env},
                "client_settings": {"ignored": true},
            });
            if let Some((channels, pipeline)) = &self.audio {
                let mut audio = json!({});
                if let Some(channels) = channels {
                    audio["channel_count"] = json!(channels);
                }
                if let Some(pipeline) = pipeline {
                    audio["audio_pipeline"] = json!(pipeline);
                }
                body["audio_settings"] = audio;
            }
            body
        }

        fn spec(&self, defaults: &Defaults) -> LobbySpec {
            LobbySpec {
                id: "id".into(),
                name: self.name.clone(),
                width: self.width,
                height: self.height,
                fps: self.fps,
                render_node: given(&self.render_node)
                    .unwrap_or_else(|| defaults.render_node.clone()),
                buffer_caps: given(&self.caps),
                encoder_pipeline: given(&self.encoder)
                    .or_else(|| defaults.encoder_pipeline.clone()),
                sink_pipeline: given(&self.sink).unwrap_or_else(|| defaults.sink_pipeline.clone()),
                app: Some(AppRunner::Process(AppSpec {
                    command: self.command.clone(),
                    env: self.env.clone(),
                })),
                start_timeout: defaults.start_timeout,
                stop_grace: defaults.stop_grace,
                window_mode: match given(&self.window_mode) {
                    Some(mode) if mode.trim().eq_ignore_ascii_case("fullscreen") => {
                        waylanddisplaycore::WindowMode::Fullscreen
                    }
                    _ => waylanddisplaycore::WindowMode::Maximized,
                },
                scale_to_fit: self.scale_to_fit.unwrap_or(false),
                scale: 1.0,
                privileged_protocols: self.privileged_protocols.unwrap_or(true),
                xwayland: match given(&self.xwayland) {
                    Some(mode) => match mode.trim().to_ascii_lowercase().as_str() {
                        "on" => XwaylandMode::On,
                        "off" => XwaylandMode::Off,
                        _ => XwaylandMode::OnDemand,
                    },
                    None => XwaylandMode::OnDemand,
                },
                audio: self.audio.as_ref().map(|(channels, pipeline)| AudioSpec {
                    server: defaults.audio_server.clone(),
                    instance: defaults.instance.clone(),
                    channels: channels.and_then(|c| u8::try_from(c).ok()).unwrap_or(2),
                    pipeline: given(pipeline).unwrap_or_else(|| defaults.audio_pipeline.clone()),
                }),
            }
        }
    }

    /// A value as the host takes it: empty or blank is not given.
    fn given(value: &Option<String>) -> Option<String> {
        value.clone().filter(|v| !v.trim().is_empty())
    }

    /// Strings as Wolf's clients fill in what they leave to the host, or any text.
    fn optional_text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            prop::sample::select(vec![" ", "\t", "  \n "]).prop_map(str::to_owned),
            text(),
        ]
    }

    /// What the API answers for `bytes` as a body of type `T`: the parsed value, or the
    /// status of its error.
    fn extract<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StatusCode> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let request = Request::new(axum::body::Body::from(bytes.to_vec()));
        runtime
            .block_on(Body::<T>::from_request(request, &()))
            .map(|Body(value)| value)
            .map_err(|err| err.into_response().status())
    }

    /// The answer to a create request that got past the extractor.
    fn create(request: CreateLobby) -> Result<LobbySpec, StatusCode> {
        request
            .into_spec("id".into(), &defaults())
            .map_err(|err| ApiError::bad_request(err).into_response().status())
    }

    proptest! {
        #![proptest_config(config())]

        /// Any bytes, alone or spliced into a valid body, are a request or a 4xx answer.
        #[test]
        fn any_bytes_are_a_request_or_a_4xx(
            bytes in prop::collection::vec(any::<u8>(), 0..48),
            valid in valid(),
            at in any::<prop::sample::Index>(),
        ) {
            let mut spliced = valid.body().to_string().into_bytes();
            let at = at.index(spliced.len() + 1);
            spliced.splice(at..at, bytes.iter().copied());
            for body in [&bytes, &spliced] {
                match extract::<CreateLobby>(body) {
                    Ok(request) => {
                        if let Err(status) = create(request) {
                            prop_assert!(status.is_client_error(), "{}", status);
                        }
                    }
                    Err(status) => prop_assert!(status.is_client_error(), "{}", status),
                }
                for status in [
                    extract::<LobbyId>(body).err(),
                    extract::<Input>(body).err(),
                ]
                .into_iter()
                .flatten()
                {
                    prop_assert!(status.is_client_error(), "{}", status);
                }
            }
        }

        /// Any JSON value, and valid bodies with one part replaced by any JSON, are a
        /// request or an error (which names a field when one is wrong).
        #[test]
        fn any_json_is_a_request_or_an_error(
            value in json_value(),
            valid in valid(),
            part in prop::sample::select(vec![
                "/name", "/video_settings", "/video_settings/width", "/video_settings/refresh_rate",
                "/video_settings/wayland_render_node", "/video_settings/window_mode",
                "/video_settings/scale_to_fit", "/video_settings/scale",
                "/video_settings/xwayland",
                "/video_settings/privileged_protocols", "/runner",
                "/runner/type", "/runner/env",
                "/runner/run_cmd", "/pin", "/audio_settings",
                "/audio_settings/channel_count", "/audio_settings/audio_pipeline",
            ]),
        ) {
            let mut body = valid.body();
            if let Some(slot) = body.pointer_mut(part) {
                *slot = value.clone();
            } else if let Some((parent, key)) = part.rsplit_once('/')
                && let Some(Value::Object(map)) = body.pointer_mut(parent)
            {
                map.insert(key.to_owned(), value.clone());
            }
            for body in [value, body] {
                let text = body.to_string();
                match parse::<CreateLobby>(text.as_bytes()) {
                    Ok(request) => {
                        if let Err(err) = request.into_spec("id".into(), &defaults()) {
                            prop_assert!(!err.is_empty());
                        }
                    }
                    Err(err) => prop_assert!(err.starts_with("invalid JSON body"), "{}", err),
                }
                let _ = parse::<Input>(text.as_bytes());
                let _ = parse::<LobbyId>(text.as_bytes());
            }
        }

        /// A valid request becomes exactly the spec it describes, host defaults filling in
        /// what it leaves out.
        #[test]
        fn valid_requests_become_what_they_say(valid in valid()) {
            let body = valid.body().to_string();
            let request = extract::<CreateLobby>(body.as_bytes());
            prop_assert!(request.is_ok(), "{}: {:?}", body, request.err());
            let spec = request.map_err(|s| TestCaseError::fail(s.to_string()))?
                .into_spec("id".into(), &defaults());
            prop_assert_eq!(spec, Ok(valid.spec(&defaults())));
        }

        /// An empty or blank string in any optional string field is the host's default,
        /// exactly as if the field were left out (Helix sends `""` for all it leaves to the
        /// host), and an empty PIN is no PIN.
        #[test]
        fn blank_strings_are_the_defaults(
            valid in valid(),
            blank in prop::sample::select(vec!["", " ", "\t", " \n "]),
            blanked in prop::collection::vec(any::<bool>(), 9),
        ) {
            let mut body = valid.body();
            let mut left_out = valid.clone();
            let fields = [
                "/video_settings/wayland_render_node",
                "/video_settings/runner_render_node",
                "/video_settings/video_producer_buffer_caps",
                "/video_settings/encoder_pipeline",
                "/video_settings/sink_pipeline",
                "/profile_id",
                "/pin",
                "/video_settings/window_mode",
                "/video_settings/xwayland",
            ];
            for (field, blank_it) in fields.iter().zip(&blanked) {
                if !blank_it {
                    continue;
                }
                let (parent, key) = field.rsplit_once('/').unwrap();
                let value = if key == "pin" { json!([]) } else { json!(blank) };
                // `""` points at the whole body.
                if let Some(Value::Object(map)) = body.pointer_mut(parent) {
                    map.insert(key.to_owned(), value);
                }
                match key {
                    "wayland_render_node" => left_out.render_node = None,
                    "video_producer_buffer_caps" => left_out.caps = None,
                    "encoder_pipeline" => left_out.encoder = None,
                    "sink_pipeline" => left_out.sink = None,
                    "window_mode" => left_out.window_mode = None,
                    "xwayland" => left_out.xwayland = None,
                    _ => {}
                }
            }
            let request = parse::<CreateLobby>(body.to_string().as_bytes())
                .map_err(TestCaseError::fail)?;
            prop_assert!(request.profile_id.is_none(), "{}", body);
            prop_assert!(request.pin.is_none(), "{}", body);
            if blanked[1] {
                prop_assert!(request.video_settings.runner_render_node.is_none(), "{}", body);
            }
            prop_assert_eq!(
                request.into_spec("id".into(), &defaults()),
                Ok(left_out.spec(&defaults()))
            );
        }

        /// A window mode other than the two is refused naming the field; the two are taken
        /// in any case, with blanks around.
        #[test]
        fn window_modes_are_the_two_or_refused(valid in valid(), mode in text()) {
            let mut body = valid.body();
            body["video_settings"]["window_mode"] = json!(mode);
            let request = parse::<CreateLobby>(body.to_string().as_bytes())
                .map_err(TestCaseError::fail)?;
            let spec = request.into_spec("id".into(), &defaults());
            match mode.trim().to_ascii_lowercase().as_str() {
                "" | "maximized" => prop_assert_eq!(
                    spec.map(|s| s.window_mode),
                    Ok(waylanddisplaycore::WindowMode::Maximized)
                ),
                "fullscreen" => prop_assert_eq!(
                    spec.map(|s| s.window_mode),
                    Ok(waylanddisplaycore::WindowMode::Fullscreen)
                ),
                _ => {
                    let err = spec.err().unwrap_or_default();
                    prop_assert!(err.starts_with("video_settings.window_mode"), "{}", err);
                }
            }
        }

        /// A scale from 1 to 4 is taken (to the nearest 1/120), anything else refused naming
        /// the field; none is 1.
        #[test]
        fn scales_from_one_to_four_are_taken(
            valid in valid(),
            scale in prop_oneof![0.0f64..6.0, Just(1.0), Just(4.0), Just(-0.0), any::<f64>()],
        ) {
            let spec = create(parse::<CreateLobby>(valid.body().to_string().as_bytes()).unwrap());
            prop_assert_eq!(spec.map(|s| s.scale), Ok(1.0));
            let mut body = valid.body();
            body["video_settings"]["scale"] = json!(scale);
            // JSON has no NaN or infinity: serde_json writes null, which is no scale.
            let request = parse::<CreateLobby>(body.to_string().as_bytes())
                .map_err(TestCaseError::fail)?;
            let spec = request.into_spec("id".into(), &defaults());
            if !scale.is_finite() {
                prop_assert_eq!(spec.map(|s| s.scale), Ok(1.0));
            } else if (1.0..=4.0).contains(&scale) {
                let got = spec.map(|s| s.scale).map_err(TestCaseError::fail)?;
                prop_assert!((got - scale).abs() <= 1.0 / 240.0, "{} became {}", scale, got);
                let steps = got * 120.0;
                prop_assert!((steps - steps.round()).abs() < 1e-9, "{} is no multiple of 1/120", got);
            } else {
                let err = spec.err().unwrap_or_default();
                prop_assert!(err.starts_with("video_settings.scale"), "{}", err);
            }
        }

        /// An Xwayland mode other than the three is refused naming the field; the three
        /// are taken in any case, with blanks around, and a blank is the default.
        #[test]
        fn xwayland_modes_are_the_three_or_refused(valid in valid(), mode in prop_oneof![xwayland(), text()]) {
            let mut body = valid.body();
            body["video_settings"]["xwayland"] = json!(mode);
            let request = parse::<CreateLobby>(body.to_string().as_bytes())
                .map_err(TestCaseError::fail)?;
            let spec = request.into_spec("id".into(), &defaults());
            let expected = match mode.trim().to_ascii_lowercase().as_str() {
                "" | "on-demand" => Some(XwaylandMode::OnDemand),
                "on" => Some(XwaylandMode::On),
                "off" => Some(XwaylandMode::Off),
                _ => None,
            };
            match expected {
                Some(expected) => prop_assert_eq!(spec.map(|s| s.xwayland), Ok(expected)),
                None => {
                    let err = spec.err().unwrap_or_default();
                    prop_assert!(err.starts_with("video_settings.xwayland"), "{}", err);
                }
            }
        }

        /// Any size and rate: taken exactly when each side is 1 to 16384 and the rate 1 to
        /// 1000, otherwise refused naming the size or the rate. Numbers that are no `u32`
        /// are refused by the parser with the field's path.
        #[test]
        fn modes_out_of_range_are_refused(
            valid in valid(),
            width in prop_oneof![any::<u32>(), 0..=MAX_DIMENSION + 1],
            height in prop_oneof![any::<u32>(), 0..=MAX_DIMENSION + 1],
            fps in prop_oneof![any::<u32>(), 0..=MAX_FPS + 1],
            not_u32 in prop_oneof![
                (i128::from(u32::MAX) + 1..=i128::from(u64::MAX)).prop_map(|n| n.to_string()),
                (i128::from(i64::MIN)..0).prop_map(|n| n.to_string()),
                any::<f64>().prop_map(|f| format!("{f:?}")),
                Just("1e400".to_owned()),
                Just("\"60\"".to_owned()),
                Just("null".to_owned()),
            ],
            field in prop::sample::select(vec!["width", "height", "refresh_rate"]),
        ) {
            let mut body = valid.body();
            body["video_settings"]["width"] = json!(width);
            body["video_settings"]["height"] = json!(height);
            body["video_settings"]["refresh_rate"] = json!(fps);
            let spec = create(parse::<CreateLobby>(body.to_string().as_bytes()).unwrap());
            let side = 1..=MAX_DIMENSION;
            let fits = side.contains(&width)
                && side.contains(&height)
                && (1..=MAX_FPS).contains(&fps);
            prop_assert_eq!(spec.is_ok(), fits, "{}x{}@{}", width, height, fps);
            if !fits {
                let request = parse::<CreateLobby>(body.to_string().as_bytes()).unwrap();
                let err = request.into_spec("id".into(), &defaults()).unwrap_err();
                prop_assert!(err.starts_with("video_settings"), "{}", err);
            }

            let mut body = valid.body();
            body["video_settings"][field] = json!("NUMBER");
            let text = body.to_string().replace("\"NUMBER\"", &not_u32);
            let err = parse::<CreateLobby>(text.as_bytes()).map(|_| ()).unwrap_err();
            let path = format!("video_settings.{field}");
            prop_assert!(err.contains(&path), "{}: {}", not_u32, err);
        }

        /// A NUL byte in anything the worker hands to GStreamer or exec, and environment
        /// names that are empty or hold `=`, are refused with the field's name.
        #[test]
        fn nul_bytes_and_bad_environment_names_are_refused(
            valid in valid(),
            (before, after) in (text(), text()),
            field in 0usize..7,
        ) {
            let nul = format!("{before}\0{after}");
            let mut body = valid.body();
            let (slot, needle): (&mut Value, &str) = match field {
                0 => (&mut body["runner"]["run_cmd"], "runner.run_cmd"),
                1 => (&mut body["video_settings"]["wayland_render_node"], "wayland_render_node"),
                2 => (
                    &mut body["video_settings"]["video_producer_buffer_caps"],
                    "video_producer_buffer_caps",
                ),
                3 => (&mut body["video_settings"]["encoder_pipeline"], "encoder_pipeline"),
                4 => (&mut body["video_settings"]["sink_pipeline"], "sink_pipeline"),
                5 => (&mut body["runner"]["env"], "runner.env"),
                _ => (&mut body["runner"]["env"], "runner.env"),
            };
            *slot = match field {
                5 => json!({ format!("{before}={after}"): "x" }),
                6 => json!({ "": after }),
                _ => json!(nul),
            };
            let request = parse::<CreateLobby>(body.to_string().as_bytes()).unwrap();
            let err = request.into_spec("id".into(), &defaults());
            prop_assert!(err.as_ref().is_err_and(|e| e.contains(needle)), "{}: {:?}", body, err);
        }
    }
}
