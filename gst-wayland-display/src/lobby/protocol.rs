//! What the host and a lobby worker say to each other: one JSON object per line, host to
//! worker on the worker's stdin, worker to host on its stdout. The first line the host
//! writes is the [`LobbySpec`]; a closed stdin means the host is gone.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use waylanddisplaycore::{InputEvent, WindowMode};

use crate::docker::spec::ContainerSpec;

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
    pub(crate) app: Option<Runner>,
    /// From start until the compositor announces its socket.
    pub(crate) start_timeout: Duration,
    /// What the app gets after SIGTERM before SIGKILL.
    pub(crate) stop_grace: Duration,
    /// The element's `window-mode` (written as its name).
    #[serde(default, with = "window_mode_name")]
    pub(crate) window_mode: WindowMode,
    /// The element's `scale-to-fit`.
    #[serde(default)]
    pub(crate) scale_to_fit: bool,
    /// The element's `scale` (checked by the host: from 1 to 4).
    #[serde(default = "unit_scale")]
    pub(crate) scale: f64,
    /// The element's `xwayland` (written as its name).
    #[serde(default, with = "xwayland_name")]
    pub(crate) xwayland: XwaylandMode,
    /// The element's `privileged-protocols` (on unless said otherwise, as the element).
    #[serde(default = "privileged_by_default")]
    pub(crate) privileged_protocols: bool,
    /// The lobby's sound, if it has any.
    #[serde(default)]
    pub(crate) audio: Option<AudioSpec>,
}

/// A lobby's audio: a null sink on a sound server for its app, recorded and encoded to Opus
/// into `pipeline`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct AudioSpec {
    pub(crate) server: AudioServer,
    /// Who the sink belongs to (the host instance, or `run`).
    pub(crate) instance: String,
    /// 1 to [`crate::audio::MAX_CHANNELS`].
    pub(crate) channels: u8,
    /// A gst-launch fragment the Opus stream goes into; it may name an element of the
    /// video's sink (`mux.`).
    pub(crate) pipeline: String,
}

/// The sound server a lobby's sink goes on, or why there is none (the lobby then runs
/// without audio and says why).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AudioServer {
    Address(String),
    Unavailable(String),
}

fn privileged_by_default() -> bool {
    true
}

fn unit_scale() -> f64 {
    1.0
}

/// When the compositor starts its Xwayland: the element's `xwayland` property.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum XwaylandMode {
    /// When the first X11 client connects (the display and its socket exist from the start).
    #[default]
    OnDemand,
    /// With the compositor.
    On,
    /// No X display at all.
    Off,
}

impl std::str::FromStr for XwaylandMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on-demand" => Ok(Self::OnDemand),
            "on" => Ok(Self::On),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "xwayland {other:?}: expected \"on-demand\", \"on\" or \"off\""
            )),
        }
    }
}

impl std::fmt::Display for XwaylandMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::OnDemand => "on-demand",
            Self::On => "on",
            Self::Off => "off",
        })
    }
}

/// An Xwayland mode on the wire as the element's property names it.
mod xwayland_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::XwaylandMode;

    pub(super) fn serialize<S: Serializer>(mode: &XwaylandMode, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(mode)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<XwaylandMode, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The display number of an X `DISPLAY` naming a local display, `:N` (no host, no
/// screen): its socket is `/tmp/.X11-unix/XN`.
pub(crate) fn local_display_number(display: &str) -> Option<u32> {
    let digits = display.strip_prefix(':')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A window mode on the wire as the element's property names it.
mod window_mode_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use waylanddisplaycore::WindowMode;

    pub(super) fn serialize<S: Serializer>(mode: &WindowMode, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(mode)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<WindowMode, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
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

/// How a lobby's application runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Runner {
    Process(AppSpec),
    Docker(ContainerSpec),
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
    Input {
        events: Vec<InputEvent>,
    },
    Screenshot {
        path: PathBuf,
    },
    /// Write the clipboard (one of `mime_type`, or text before PNG) to `path`.
    ClipboardGet {
        request: u64,
        path: PathBuf,
        mime_type: Option<String>,
    },
    /// Make the content of `path`, of type `mime_type`, the clipboard.
    ClipboardSet {
        request: u64,
        path: PathBuf,
        mime_type: String,
    },
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
        /// The lobby's X display (`:N`), unless its Xwayland is off.
        #[serde(default)]
        x_display: Option<String>,
    },
    /// The app runs (or there is none) and frames flow.
    Ready {
        app_pid: Option<u32>,
        /// The app's container, for docker lobbies.
        #[serde(default)]
        container: Option<String>,
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
    /// The answer to a clipboard request: the type written (for a get), or why not.
    Clipboard {
        request: u64,
        mime_type: Option<String>,
        error: Option<String>,
    },
    /// The lobby's audio: its sink once loaded, or why the lobby has no audio (any more).
    Audio {
        sink: Option<String>,
        error: Option<String>,
    },
    Failed {
        error: String,
    },
    Stopped,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xwayland_modes_read_as_the_property_writes_them() {
        for mode in [XwaylandMode::OnDemand, XwaylandMode::On, XwaylandMode::Off] {
            assert_eq!(mode.to_string().parse(), Ok(mode));
        }
        assert_eq!(" On-Demand ".parse(), Ok(XwaylandMode::OnDemand));
        assert!("ondemand".parse::<XwaylandMode>().is_err());
        assert!("".parse::<XwaylandMode>().is_err());
        assert_eq!(XwaylandMode::default(), XwaylandMode::OnDemand);
    }

    #[test]
    fn a_spec_without_xwayland_is_on_demand() {
        let spec = serde_json::json!({
            "id": "a", "name": "a", "width": 1, "height": 1, "fps": 1,
            "render_node": "software", "buffer_caps": null, "encoder_pipeline": null,
            "sink_pipeline": "fakesink", "app": null,
            "start_timeout": {"secs": 1, "nanos": 0}, "stop_grace": {"secs": 1, "nanos": 0},
        });
        let spec: LobbySpec = serde_json::from_value(spec).unwrap();
        assert_eq!(spec.xwayland, XwaylandMode::OnDemand);
        let line = r#"{"type": "socket", "wayland_display": "w", "runtime_dir": "/r", "render_node": "software"}"#;
        let FromWorker::Socket { x_display, .. } = serde_json::from_str(line).unwrap() else {
            panic!("not a socket report");
        };
        assert_eq!(x_display, None);
    }

    #[test]
    fn only_plain_local_displays_have_a_number() {
        assert_eq!(local_display_number(":0"), Some(0));
        assert_eq!(local_display_number(":42"), Some(42));
        for other in [
            "",
            ":",
            "0",
            ":+1",
            ":-1",
            ":1.0",
            "host:1",
            ": 1",
            ":99999999999",
        ] {
            assert_eq!(local_display_number(other), None, "{other:?}");
        }
    }
}

/// Property tests of the host-worker protocol (docs/RELIABILITY.md): any line is a message
/// or an error, never a panic; every message is one line and reads back as itself.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;
    use crate::input_agreement::{event, same_events};

    /// Cases per property; each takes well under a second in a debug build.
    const CASES: u32 = 8192;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Strings as they come from requests: anything, newlines and NUL included.
    fn text() -> impl Strategy<Value = String> {
        ".{0,16}"
    }

    fn duration() -> impl Strategy<Value = Duration> {
        (any::<u64>(), 0..1_000_000_000u32).prop_map(|(s, n)| Duration::new(s, n))
    }

    fn spec() -> impl Strategy<Value = LobbySpec> {
        (
            (
                text(),
                text(),
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                text(),
            ),
            (
                prop::option::of(text()),
                prop::option::of(text()),
                text(),
                prop::option::of((text(), prop::collection::vec((text(), text()), 0..3))),
            ),
            (
                duration(),
                duration(),
                any::<bool>(),
                any::<bool>(),
                prop::sample::select(vec![
                    XwaylandMode::OnDemand,
                    XwaylandMode::On,
                    XwaylandMode::Off,
                ]),
                any::<bool>(),
            ),
            prop::option::of((prop::bool::ANY, text(), text(), any::<u8>(), text())),
        )
            .prop_map(
                |(
                    (id, name, width, height, fps, render_node),
                    (buffer_caps, encoder_pipeline, sink_pipeline, app),
                    (
                        start_timeout,
                        stop_grace,
                        fullscreen,
                        scale_to_fit,
                        xwayland,
                        privileged_protocols,
                    ),
                    audio,
                )| LobbySpec {
                    id,
                    name,
                    width,
                    height,
                    fps,
                    render_node,
                    buffer_caps,
                    encoder_pipeline,
                    sink_pipeline,
                    app: app.map(|(command, env)| Runner::Process(AppSpec { command, env })),
                    start_timeout,
                    stop_grace,
                    window_mode: if fullscreen {
                        WindowMode::Fullscreen
                    } else {
                        WindowMode::Maximized
                    },
                    scale_to_fit,
                    scale: 1.0,
                    xwayland,
                    privileged_protocols,
                    audio: audio.map(|(reachable, server, instance, channels, pipeline)| {
                        AudioSpec {
                            server: if reachable {
                                AudioServer::Address(server)
                            } else {
                                AudioServer::Unavailable(server)
                            },
                            instance,
                            channels,
                            pipeline,
                        }
                    }),
                },
            )
    }

    fn to_worker() -> impl Strategy<Value = ToWorker> {
        prop_oneof![
            prop::collection::vec(event(), 0..4).prop_map(|events| ToWorker::Input { events }),
            text().prop_map(|path| ToWorker::Screenshot { path: path.into() }),
            (any::<u64>(), text(), prop::option::of(text())).prop_map(
                |(request, path, mime_type)| ToWorker::ClipboardGet {
                    request,
                    path: path.into(),
                    mime_type
                }
            ),
            (any::<u64>(), text(), text()).prop_map(|(request, path, mime_type)| {
                ToWorker::ClipboardSet {
                    request,
                    path: path.into(),
                    mime_type,
                }
            }),
            Just(ToWorker::Stop),
        ]
    }

    /// What a worker reports. Its frame rate is always finite (`driver::rate`): JSON has no
    /// NaN.
    fn from_worker() -> impl Strategy<Value = FromWorker> {
        prop_oneof![
            (prop::option::of(text()), prop::option::of(text()))
                .prop_map(|(sink, error)| FromWorker::Audio { sink, error }),
            (text(), text(), text(), prop::option::of(text())).prop_map(
                |(wayland_display, dir, render_node, x_display)| FromWorker::Socket {
                    wayland_display,
                    runtime_dir: dir.into(),
                    render_node,
                    x_display,
                }
            ),
            (
                prop::option::of(any::<u32>()),
                prop::option::of(text()),
                text()
            )
                .prop_map(|(app_pid, container, encoder)| FromWorker::Ready {
                    app_pid,
                    container,
                    encoder
                }),
            (any::<u64>(), any::<f64>())
                .prop_map(|(frames, fps)| FromWorker::Stats { frames, fps }),
            prop::option::of(text()).prop_map(|error| FromWorker::Screenshot { error }),
            (
                any::<u64>(),
                prop::option::of(text()),
                prop::option::of(text())
            )
                .prop_map(|(request, mime_type, error)| FromWorker::Clipboard {
                    request,
                    mime_type,
                    error
                }),
            text().prop_map(|error| FromWorker::Failed { error }),
            Just(FromWorker::Stopped),
        ]
    }

    fn same_to_worker(a: &ToWorker, b: &ToWorker) -> bool {
        match (a, b) {
            (ToWorker::Input { events: a }, ToWorker::Input { events: b }) => same_events(a, b),
            _ => a == b,
        }
    }

    fn same_from_worker(a: &FromWorker, b: &FromWorker) -> bool {
        match (a, b) {
            (
                FromWorker::Stats { frames, fps },
                FromWorker::Stats {
                    frames: frames_b,
                    fps: fps_b,
                },
            ) => frames == frames_b && fps.to_bits() == fps_b.to_bits(),
            _ => a == b,
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// Any line, and valid lines with bytes spliced in, is a message or an error on
        /// both sides of the pipe.
        #[test]
        fn any_line_is_a_message_or_an_error(
            bytes in prop::collection::vec(any::<u8>(), 0..48),
            message in from_worker(),
            command in to_worker(),
            at in any::<prop::sample::Index>(),
        ) {
            let lines = [
                serde_json::to_string(&message).unwrap(),
                serde_json::to_string(&command).unwrap(),
            ];
            for line in lines {
                let mut line = line.into_bytes();
                let at = at.index(line.len() + 1);
                line.splice(at..at, bytes.iter().copied());
                for line in [&line, &bytes] {
                    let line = String::from_utf8_lossy(line);
                    let _ = serde_json::from_str::<LobbySpec>(&line);
                    let _ = serde_json::from_str::<ToWorker>(&line);
                    let _ = serde_json::from_str::<FromWorker>(&line);
                }
            }
        }

        /// Every message is one line (whatever its strings hold) and reads back exactly.
        #[test]
        fn messages_are_one_line_and_read_back(
            spec in spec(),
            command in to_worker(),
            report in from_worker(),
        ) {
            let line = serde_json::to_string(&spec).unwrap();
            prop_assert!(!line.contains('\n'));
            prop_assert_eq!(serde_json::from_str::<LobbySpec>(&line).unwrap(), spec);

            let line = serde_json::to_string(&command).unwrap();
            prop_assert!(!line.contains('\n'));
            let again = serde_json::from_str::<ToWorker>(&line).unwrap();
            prop_assert!(same_to_worker(&again, &command), "{} gave {:?}", line, again);

            let line = serde_json::to_string(&report).unwrap();
            prop_assert!(!line.contains('\n'));
            let again = serde_json::from_str::<FromWorker>(&line).unwrap();
            prop_assert!(same_from_worker(&again, &report), "{} gave {:?}", line, again);
        }

        /// `check_mode` takes exactly the sizes and rates it says.
        #[test]
        fn check_mode_takes_what_it_says(
            width in any::<u32>(),
            height in any::<u32>(),
            fps in any::<u32>(),
        ) {
            let result = check_mode(width, height, fps);
            let side = |v: u32| (1..=MAX_DIMENSION).contains(&v);
            match result {
                Ok(()) => prop_assert!(side(width) && side(height) && (1..=MAX_FPS).contains(&fps)),
                Err(ModeError::Size(w, h)) => {
                    prop_assert!((w, h) == (width, height) && !(side(w) && side(h)));
                }
                Err(ModeError::Rate(r)) => {
                    let sized = side(width) && side(height);
                    prop_assert!(r == fps && sized && !(1..=MAX_FPS).contains(&r));
                }
            }
        }
    }
}
