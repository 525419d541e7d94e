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
        Ok(Self {
            socket,
            tcp,
            state_dir,
            runtime_dir,
            defaults: Defaults {
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
}
