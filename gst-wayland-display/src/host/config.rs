//! The host's configuration: one set of options, read from the command line and from a TOML
//! file (`--config`; flags win), checked once into a [`Config`].

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use super::http::HttpLimits;
use super::request::Defaults;
use crate::lobby::protocol::AudioServer;
use crate::time::Seconds;

const DEFAULT_RENDER_NODE: &str = "auto";
const DEFAULT_SINK_PIPELINE: &str = "fakesink sync=false";
const DEFAULT_START_TIMEOUT: Seconds = Seconds::from_secs(20);
const DEFAULT_STOP_GRACE: Seconds = Seconds::from_secs(3);
const DEFAULT_SWEEP_INTERVAL: Seconds = Seconds::from_secs(60);
const DEFAULT_HEADER_TIMEOUT: Seconds = Seconds::from_secs(10);
pub(super) const DEFAULT_BODY_TIMEOUT: Seconds = Seconds::from_secs(10);
/// Per listener; far more than a control plane keeps open, far fewer than the fds a host
/// gets once its soft limit is raised.
const DEFAULT_MAX_CONNECTIONS: NonZeroU32 = match NonZeroU32::new(512) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};
/// Room for a busy GPU host; the encoder sessions a GPU allows usually bind first.
const DEFAULT_MAX_LOBBIES: NonZeroU32 = match NonZeroU32::new(64) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// Every option of `serve`, as a flag and as a key of the config file.
#[derive(clap::Args, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ServeOptions {
    /// A TOML file with any of the options below (command-line options win).
    #[arg(long)]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// The API's Unix socket (default: $XDG_RUNTIME_DIR/gst-wayland-display.sock).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Also serve the API over TCP on this address; needs a token.
    #[arg(long)]
    listen_tcp: Option<SocketAddr>,
    /// The bearer token TCP requests must carry; only in the config file, so that it does
    /// not show in process listings.
    #[arg(skip)]
    token: Option<String>,
    /// A file holding the bearer token TCP requests must carry (or $GWD_API_TOKEN).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Where lobby records, worker logs and screenshots go
    /// (default: $XDG_STATE_HOME/gst-wayland-display).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Where lobbies put their Wayland sockets (default: $XDG_RUNTIME_DIR).
    #[arg(long)]
    runtime_dir: Option<PathBuf>,
    /// render-node for lobbies that do not name one (default: auto).
    #[arg(long)]
    render_node: Option<String>,
    /// gst-launch fragment that encodes, for lobbies that do not give one.
    #[arg(long)]
    encoder_pipeline: Option<String>,
    /// gst-launch fragment the encoded stream goes into, for lobbies that do not give one.
    #[arg(long)]
    sink_pipeline: Option<String>,
    /// gst-launch fragment a lobby's Opus stream goes into, for lobbies with audio that do
    /// not give one (default: dropped).
    #[arg(long)]
    audio_pipeline: Option<String>,
    /// Seconds a lobby may take to become ready (default: 20).
    #[arg(long, allow_negative_numbers = true)]
    start_timeout: Option<Seconds>,
    /// Seconds an app gets to exit after SIGTERM before SIGKILL (default: 3).
    #[arg(long, allow_negative_numbers = true)]
    stop_grace: Option<Seconds>,
    /// Seconds between sweeps of stale sockets in the runtime directory (default: 60).
    #[arg(long, allow_negative_numbers = true)]
    sweep_interval: Option<Seconds>,
    /// Lobbies that may run at once (starting, ready or stopping); more are refused with
    /// 503 (default: 64).
    #[arg(long)]
    max_lobbies: Option<NonZeroU32>,
    /// Seconds a connection gets to send a request's headers, counted from when it opens or
    /// its previous response went out; idle connections are closed then (default: 10).
    #[arg(long, allow_negative_numbers = true)]
    header_timeout: Option<Seconds>,
    /// Seconds a request body gets to arrive after its headers (default: 10).
    #[arg(long, allow_negative_numbers = true)]
    body_timeout: Option<Seconds>,
    /// Connections each API listener keeps open at once; at the cap the oldest one that has
    /// not sent a request is closed to make room (default: 512).
    #[arg(long)]
    max_connections: Option<NonZeroU32>,
}

impl ServeOptions {
    /// These options, with `base`'s where these have none.
    fn or(self, base: Self) -> Self {
        Self {
            config: self.config.or(base.config),
            socket: self.socket.or(base.socket),
            listen_tcp: self.listen_tcp.or(base.listen_tcp),
            token: self.token.or(base.token),
            token_file: self.token_file.or(base.token_file),
            state_dir: self.state_dir.or(base.state_dir),
            runtime_dir: self.runtime_dir.or(base.runtime_dir),
            render_node: self.render_node.or(base.render_node),
            encoder_pipeline: self.encoder_pipeline.or(base.encoder_pipeline),
            sink_pipeline: self.sink_pipeline.or(base.sink_pipeline),
            audio_pipeline: self.audio_pipeline.or(base.audio_pipeline),
            start_timeout: self.start_timeout.or(base.start_timeout),
            stop_grace: self.stop_grace.or(base.stop_grace),
            sweep_interval: self.sweep_interval.or(base.sweep_interval),
            max_lobbies: self.max_lobbies.or(base.max_lobbies),
            header_timeout: self.header_timeout.or(base.header_timeout),
            body_timeout: self.body_timeout.or(base.body_timeout),
            max_connections: self.max_connections.or(base.max_connections),
        }
    }

    fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("in {}", path.display()))
    }
}

/// The name this host gives itself on what it creates outside its own directories (the
/// labels of its containers): derived from its state directory, so a restart finds what its
/// previous run created, and two hosts (which cannot share a state directory) never touch
/// each other's.
fn instance_of(state_dir: &Path) -> String {
    use sha2::Digest;
    let path = std::path::absolute(state_dir).unwrap_or_else(|_| state_dir.to_owned());
    let digest = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The host's settings, checked.
pub(crate) struct Config {
    pub(crate) socket: PathBuf,
    pub(crate) tcp: Option<(SocketAddr, Arc<str>)>,
    pub(crate) state_dir: PathBuf,
    pub(crate) runtime_dir: PathBuf,
    pub(crate) defaults: Defaults,
    pub(crate) sweep_interval: Duration,
    pub(crate) max_lobbies: NonZeroU32,
    pub(crate) http: HttpLimits,
}

impl Config {
    pub(crate) fn load(flags: ServeOptions) -> anyhow::Result<Self> {
        let options = match &flags.config {
            Some(path) => {
                let file = ServeOptions::from_file(path)?;
                flags.or(file)
            }
            None => flags,
        };
        let env_dir = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let runtime_dir = options
            .runtime_dir
            .or_else(|| env_dir("XDG_RUNTIME_DIR"))
            .context("no runtime directory: set XDG_RUNTIME_DIR or pass --runtime-dir")?;
        let state_dir = options
            .state_dir
            .or_else(|| env_dir("XDG_STATE_HOME").map(|d| d.join("gst-wayland-display")))
            .or_else(|| env_dir("HOME").map(|d| d.join(".local/state/gst-wayland-display")))
            .context("no state directory: pass --state-dir")?;
        // The defaults go into every lobby: a bad one is a config error now, not a 400 for
        // every request later.
        if let Some(node) = &options.render_node {
            no_nul("render_node", node)?;
            node.parse::<waylanddisplaycore::RenderTarget>()
                .context("render_node")?;
        }
        for (key, value) in [
            ("encoder_pipeline", &options.encoder_pipeline),
            ("sink_pipeline", &options.sink_pipeline),
            ("audio_pipeline", &options.audio_pipeline),
        ] {
            if let Some(value) = value {
                no_nul(key, value)?;
            }
        }
        let socket = options
            .socket
            .unwrap_or_else(|| runtime_dir.join("gst-wayland-display.sock"));
        let tcp = match options.listen_tcp {
            None => None,
            Some(addr) => {
                let token = match &options.token_file {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .with_context(|| format!("reading the token file {}", path.display()))?
                            .trim()
                            .to_owned(),
                    ),
                    None => options
                        .token
                        .or_else(|| std::env::var("GWD_API_TOKEN").ok()),
                }
                .filter(|t| !t.is_empty())
                .context(
                    "TCP needs a bearer token: --token-file, `token` in the config, or GWD_API_TOKEN",
                )?;
                Some((addr, Arc::from(token)))
            }
        };
        let instance = instance_of(&state_dir);
        Ok(Self {
            socket,
            tcp,
            state_dir,
            runtime_dir,
            defaults: Defaults {
                instance,
                render_node: options
                    .render_node
                    .unwrap_or_else(|| DEFAULT_RENDER_NODE.to_owned()),
                encoder_pipeline: options.encoder_pipeline,
                sink_pipeline: options
                    .sink_pipeline
                    .unwrap_or_else(|| DEFAULT_SINK_PIPELINE.to_owned()),
                start_timeout: options
                    .start_timeout
                    .unwrap_or(DEFAULT_START_TIMEOUT)
                    .duration(),
                stop_grace: options.stop_grace.unwrap_or(DEFAULT_STOP_GRACE).duration(),
                // Known once the host has its sound server (`host::run`).
                audio_server: AudioServer::Unavailable("the host has not started yet".to_owned()),
                audio_pipeline: options
                    .audio_pipeline
                    .unwrap_or_else(|| crate::audio::branch::DEFAULT_FRAGMENT.to_owned()),
            },
            sweep_interval: options
                .sweep_interval
                .unwrap_or(DEFAULT_SWEEP_INTERVAL)
                .duration(),
            max_lobbies: options.max_lobbies.unwrap_or(DEFAULT_MAX_LOBBIES),
            http: HttpLimits {
                header_timeout: options
                    .header_timeout
                    .unwrap_or(DEFAULT_HEADER_TIMEOUT)
                    .duration(),
                body_timeout: options
                    .body_timeout
                    .unwrap_or(DEFAULT_BODY_TIMEOUT)
                    .duration(),
                max_connections: usize::try_from(
                    options
                        .max_connections
                        .unwrap_or(DEFAULT_MAX_CONNECTIONS)
                        .get(),
                )
                .unwrap_or(usize::MAX),
            },
        })
    }
}

/// GStreamer takes C strings: a NUL byte would cut a value short.
fn no_nul(key: &str, value: &str) -> anyhow::Result<()> {
    anyhow::ensure!(!value.contains('\0'), "{key} must not contain a NUL byte");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        options: ServeOptions,
    }

    fn flags(args: &[&str]) -> Result<ServeOptions, String> {
        Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .map(|c| c.options)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("host.toml");
        std::fs::write(
            &file,
            "runtime_dir = \"/file/rt\"\nstate_dir = \"/file/state\"\nstart_timeout = 7\nstop_grace = 0.5\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let config =
            Config::load(flags(&["--config", path, "--state-dir", "/flag/state"]).unwrap())
                .unwrap();
        assert_eq!(config.runtime_dir, Path::new("/file/rt"));
        assert_eq!(config.state_dir, Path::new("/flag/state"));
        assert_eq!(
            config.socket,
            Path::new("/file/rt/gst-wayland-display.sock")
        );
        assert_eq!(config.defaults.start_timeout, Duration::from_secs(7));
        assert_eq!(config.defaults.stop_grace, Duration::from_millis(500));
        assert_eq!(config.sweep_interval, Duration::from_secs(60));
        assert_eq!(config.defaults.render_node, "auto");
    }

    #[test]
    fn bad_durations_are_readable_errors_from_flags_and_files() {
        for value in ["-1", "nan", "1e30", "0"] {
            let err = flags(&["--start-timeout", value]).unwrap_err();
            assert!(
                err.contains("start-timeout") && err.contains(value),
                "{err}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        for value in ["-1", "nan", "1e30"] {
            let file = dir.path().join("host.toml");
            std::fs::write(&file, format!("start_timeout = {value}\n")).unwrap();
            let options = flags(&["--config", file.to_str().unwrap()]).unwrap();
            let err = format!("{:#}", Config::load(options).err().unwrap());
            assert!(
                err.contains("start_timeout") && err.contains("seconds"),
                "{err}"
            );
        }
        let file = dir.path().join("typo.toml");
        std::fs::write(&file, "start_timeot = 3\n").unwrap();
        let options = flags(&["--config", file.to_str().unwrap()]).unwrap();
        let err = format!("{:#}", Config::load(options).err().unwrap());
        assert!(err.contains("start_timeot"), "{err}");
    }

    /// Host-wide defaults that no lobby could use are refused when the host starts, not
    /// answered 400 for every request (TOML's "\u0000" reaches GStreamer as a C string).
    #[test]
    fn unusable_defaults_are_config_errors() {
        for (text, needle) in [
            (
                "sink_pipeline = \"fakesink\\u0000\"\n",
                "sink_pipeline must not contain a NUL",
            ),
            (
                "encoder_pipeline = \"x264enc\\u0000\"\n",
                "encoder_pipeline must not",
            ),
            (
                "render_node = \"/dev/dri/renderD128\\u0000\"\n",
                "render_node must not",
            ),
            (
                "render_node = \"gpu0\"\n",
                "render_node: unknown render-node value",
            ),
        ] {
            let mut options: ServeOptions = toml::from_str(text).unwrap();
            options.runtime_dir = Some("/rt".into());
            options.state_dir = Some("/state".into());
            let err = format!("{:#}", Config::load(options).err().unwrap());
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}

/// Property tests of the config file (docs/RELIABILITY.md): any text is options or an
/// error, never a panic; durations are judged as `Seconds` judges them, with the key in the
/// error; a config says what it is read as.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    /// Cases per property; each takes well under a second in a debug build.
    const CASES: u32 = 4096;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    const KEYS: &[&str] = &[
        "socket",
        "listen_tcp",
        "token",
        "token_file",
        "state_dir",
        "runtime_dir",
        "render_node",
        "encoder_pipeline",
        "sink_pipeline",
        "audio_pipeline",
        "start_timeout",
        "stop_grace",
        "sweep_interval",
        "max_lobbies",
        "header_timeout",
        "body_timeout",
        "max_connections",
        "config",
        "start_timeot",
    ];

    const DURATIONS: &[&str] = &[
        "start_timeout",
        "stop_grace",
        "sweep_interval",
        "header_timeout",
        "body_timeout",
    ];

    /// A TOML basic string holding `text`.
    fn quote(text: &str) -> String {
        let mut quoted = String::from("\"");
        for c in text.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    }

    /// A TOML value, or something that is almost one.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|v| v.to_string()),
            prop::num::f64::ANY.prop_map(|v| format!("{v:?}")),
            (-12i32..12, 0.0..10.0f64).prop_map(|(e, m)| format!("{m}e{e}")),
            prop::sample::select(vec![
                "inf",
                "-inf",
                "nan",
                "+nan",
                "-0.0",
                "0",
                "1e400",
                "1e-400",
                "1_000",
                "0x10",
                "0o7",
                "0b1",
                "1979-05-27T07:32:00Z",
                "07:32:00",
                "true",
                "false",
                "[]",
                "[1, 2]",
                "{}",
                "{ a = 1 }",
                "\"\"",
                "''",
                "\"\\u0000\"",
                "'''x'''",
                "99999999999999999999",
                "\"127.0.0.1:0\"",
                "\"[::1]:8080\"",
                "\"software\"",
                "\"/nonexistent/token\"",
            ])
            .prop_map(str::to_owned),
            ".{0,12}".prop_map(|s| quote(&s)),
            "[^\n]{0,12}",
        ]
    }

    /// Lines of `key = value`, table headers and noise.
    fn document() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            6 => (prop::sample::select(KEYS.to_vec()), value())
                .prop_map(|(k, v)| format!("{k} = {v}")),
            1 => Just("[serve]".to_owned()),
            1 => Just("# a comment".to_owned()),
            1 => "[^\n]{0,16}",
        ];
        prop::collection::vec(line, 0..6).prop_map(|lines| lines.join("\n"))
    }

    /// Options from TOML, loaded without the environment's directories.
    fn load(text: &str) -> Option<anyhow::Result<Config>> {
        let mut options: ServeOptions = toml::from_str(text).ok()?;
        options.runtime_dir.get_or_insert_with(|| "/rt".into());
        options.state_dir.get_or_insert_with(|| "/state".into());
        // Reading a random file could block (a FIFO, /dev/zero): only this one is read.
        if options.token_file.is_some() {
            options.token_file = Some("/nonexistent/token".into());
        }
        Some(Config::load(options))
    }

    proptest! {
        #![proptest_config(config())]

        /// Any text, and TOML-ish documents over the real keys: options or an error, and
        /// options always load to a config or an error.
        #[test]
        fn any_text_is_options_or_an_error(text in prop_oneof![".{0,64}", document()]) {
            match toml::from_str::<ServeOptions>(&text) {
                Ok(_) => {
                    if let Some(Err(err)) = load(&text) {
                        let message = format!("{err:#}");
                        prop_assert!(!message.is_empty());
                    }
                }
                Err(err) => prop_assert!(!err.to_string().is_empty()),
            }
        }

        /// A duration key takes exactly what `Seconds` takes; its error names the key and
        /// says what a number of seconds must be.
        #[test]
        fn durations_are_judged_with_the_key_named(
            key in prop::sample::select(DURATIONS.to_vec()),
            number in prop_oneof![
                prop::num::f64::ANY.prop_map(|v| format!("{v:?}")),
                (-400i32..400, 0.0..10.0f64).prop_map(|(e, m)| format!("{m}e{e}")),
                any::<i64>().prop_map(|v| v.to_string()),
                prop::sample::select(vec![
                    "inf", "-inf", "nan", "-0.0", "0", "1e-10", "31536000", "31536001",
                ])
                    .prop_map(str::to_owned),
            ],
        ) {
            let text = format!("{key} = {number}\n");
            let parsed = toml::from_str::<ServeOptions>(&text);
            // What TOML reads the number as, by a table that has nothing to check.
            let read = toml::from_str::<std::collections::BTreeMap<String, f64>>(&text)
                .ok()
                .and_then(|t| t.get(key).copied());
            match (parsed, read) {
                (Ok(options), Some(value)) => {
                    let got = match key {
                        "start_timeout" => options.start_timeout,
                        "stop_grace" => options.stop_grace,
                        "sweep_interval" => options.sweep_interval,
                        "header_timeout" => options.header_timeout,
                        _ => options.body_timeout,
                    };
                    prop_assert!(got.is_some());
                    prop_assert_eq!(got, Seconds::new(value).ok());
                }
                (Err(err), Some(value)) => {
                    prop_assert!(Seconds::new(value).is_err(), "{}: {}", text, err);
                    let message = err.to_string();
                    prop_assert!(
                        message.contains(key) && message.contains("second"),
                        "{}",
                        message,
                    );
                }
                (Err(_), None) => {}
                (Ok(_), None) => prop_assert!(false, "{} was taken but is no number", text),
            }
        }

        /// A config of valid values is read as exactly those values.
        #[test]
        fn valid_configs_say_what_they_are(
            socket in "/[^\u{0}]{0,12}",
            render_node in prop::sample::select(vec![
                "auto", "software", "llvmpipe", "vendor:amd", "pci:01:00.0", "/dev/dri/renderD129",
            ]),
            sink in "[^\u{0}]{1,16}",
            token in "[a-zA-Z0-9._~+/-]{1,16}",
            port in any::<u16>(),
            start in 1u32..=31_536_000,
            grace_ms in 1u32..100_000,
            max_lobbies in 1u32..=u32::MAX,
        ) {
            let grace = f64::from(grace_ms) / 1000.0;
            let text = format!(
                "socket = {}\nrender_node = {}\nsink_pipeline = {}\ntoken = {}\n\
                 listen_tcp = \"127.0.0.1:{port}\"\nstart_timeout = {start}\n\
                 stop_grace = {grace:?}\nmax_lobbies = {max_lobbies}\n\
                 runtime_dir = \"/rt\"\nstate_dir = \"/state\"\n",
                quote(&socket), quote(render_node), quote(&sink), quote(&token),
            );
            let options: ServeOptions = toml::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            let config = Config::load(options)
                .map_err(|e| TestCaseError::fail(format!("{text}: {e:#}")))?;
            prop_assert_eq!(config.socket, PathBuf::from(&socket));
            prop_assert_eq!(config.defaults.render_node.as_str(), render_node);
            prop_assert_eq!(config.defaults.sink_pipeline, sink);
            let tcp = config.tcp.as_ref().map(|(addr, t)| (addr.port(), t.to_string()));
            prop_assert_eq!(tcp, Some((port, token)));
            prop_assert_eq!(config.defaults.start_timeout, Duration::from_secs(u64::from(start)));
            prop_assert_eq!(
                Some(config.defaults.stop_grace),
                Seconds::new(grace).ok().map(Seconds::duration),
            );
            prop_assert_eq!(config.max_lobbies.get(), max_lobbies);
        }
    }
}
