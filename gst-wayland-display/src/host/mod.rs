//! `gst-wayland-display serve`: the lobby host. One worker process per lobby, supervised;
//! HTTP+JSON on a private Unix socket (TCP with a bearer token if asked for); records in a
//! state directory so that a restart after a crash ends what the previous run left.

mod api;
mod listen;
mod metrics;
mod records;
mod registry;
mod request;
mod supervisor;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;
use tokio::sync::watch;
use waylanddisplaycore::socket;

use records::{Records, same_process};
use registry::{Entry, LobbyInfo, LobbyState, Registry};
use request::Defaults;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// A TOML file with any of the options below (command-line options win).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The API's Unix socket (default: $XDG_RUNTIME_DIR/gst-wayland-display.sock).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Also serve the API over TCP on this address; needs a token.
    #[arg(long)]
    listen_tcp: Option<SocketAddr>,
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
    /// render-node for lobbies that do not name one.
    #[arg(long)]
    render_node: Option<String>,
    /// gst-launch fragment that encodes, for lobbies that do not give one.
    #[arg(long)]
    encoder_pipeline: Option<String>,
    /// gst-launch fragment the encoded stream goes into, for lobbies that do not give one.
    #[arg(long)]
    sink_pipeline: Option<String>,
    /// Seconds a lobby may take to become ready.
    #[arg(long)]
    start_timeout: Option<f64>,
    /// Seconds an app gets to exit after SIGTERM before SIGKILL.
    #[arg(long)]
    stop_grace: Option<f64>,
    /// Seconds between sweeps of stale sockets in the runtime directory.
    #[arg(long)]
    sweep_interval: Option<f64>,
}

/// The config file: the same options as the command line.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    socket: Option<PathBuf>,
    listen_tcp: Option<SocketAddr>,
    token: Option<String>,
    token_file: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    runtime_dir: Option<PathBuf>,
    render_node: Option<String>,
    encoder_pipeline: Option<String>,
    sink_pipeline: Option<String>,
    start_timeout: Option<f64>,
    stop_grace: Option<f64>,
    sweep_interval: Option<f64>,
}

pub(crate) struct Config {
    pub(crate) socket: PathBuf,
    pub(crate) tcp: Option<(SocketAddr, Arc<str>)>,
    pub(crate) state_dir: PathBuf,
    pub(crate) runtime_dir: PathBuf,
    pub(crate) defaults: Defaults,
    pub(crate) sweep_interval: Duration,
}

fn seconds(value: Option<f64>, default: f64, what: &str) -> anyhow::Result<Duration> {
    let value = value.unwrap_or(default);
    if !(value.is_finite() && value > 0.0) {
        bail!("{what} must be a positive number of seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

impl Config {
    fn load(args: &ServeArgs) -> anyhow::Result<Self> {
        let file: FileConfig = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let env_dir = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let runtime_dir = args
            .runtime_dir
            .clone()
            .or(file.runtime_dir)
            .or_else(|| env_dir("XDG_RUNTIME_DIR"))
            .context("no runtime directory: set XDG_RUNTIME_DIR or pass --runtime-dir")?;
        let state_dir = args
            .state_dir
            .clone()
            .or(file.state_dir)
            .or_else(|| env_dir("XDG_STATE_HOME").map(|d| d.join("gst-wayland-display")))
            .or_else(|| env_dir("HOME").map(|d| d.join(".local/state/gst-wayland-display")))
            .context("no state directory: pass --state-dir")?;
        let socket = args
            .socket
            .clone()
            .or(file.socket)
            .unwrap_or_else(|| runtime_dir.join("gst-wayland-display.sock"));
        let tcp = match args.listen_tcp.or(file.listen_tcp) {
            None => None,
            Some(addr) => {
                let token = match args.token_file.as_ref().or(file.token_file.as_ref()) {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .with_context(|| format!("reading the token file {}", path.display()))?
                            .trim()
                            .to_owned(),
                    ),
                    None => file.token.or_else(|| std::env::var("GWD_API_TOKEN").ok()),
                }
                .filter(|t| !t.is_empty())
                .context("TCP needs a bearer token: --token-file, `token` in the config, or GWD_API_TOKEN")?;
                Some((addr, Arc::from(token)))
            }
        };
        let start_timeout = seconds(
            args.start_timeout.or(file.start_timeout),
            20.0,
            "start_timeout",
        )?;
        let stop_grace = seconds(args.stop_grace.or(file.stop_grace), 3.0, "stop_grace")?;
        Ok(Self {
            socket,
            tcp,
            state_dir,
            runtime_dir,
            defaults: Defaults {
                render_node: args
                    .render_node
                    .clone()
                    .or(file.render_node)
                    .unwrap_or_else(|| "auto".to_owned()),
                encoder_pipeline: args.encoder_pipeline.clone().or(file.encoder_pipeline),
                sink_pipeline: args
                    .sink_pipeline
                    .clone()
                    .or(file.sink_pipeline)
                    .unwrap_or_else(|| "fakesink sync=false".to_owned()),
                start_timeout_ms: start_timeout.as_millis() as u64,
                stop_grace_ms: stop_grace.as_millis() as u64,
            },
            sweep_interval: seconds(
                args.sweep_interval.or(file.sweep_interval),
                60.0,
                "sweep_interval",
            )?,
        })
    }
}

pub(crate) struct Host {
    pub(crate) registry: Registry,
    pub(crate) records: Records,
    pub(crate) config: Config,
    /// This program: workers are `<exe> lobby`.
    pub(crate) exe: PathBuf,
    pub(crate) started: Instant,
    shutting_down: AtomicBool,
    shutdown: watch::Sender<bool>,
}

impl Host {
    pub(crate) fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    pub(crate) fn shutdown_watch(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn save_record(&self, id: &str) {
        if let Some(record) = supervisor::record_of(self, id)
            && let Err(err) = self.records.write(&record)
        {
            tracing::warn!(lobby = %id, %err, "cannot write the lobby record");
        }
    }

    /// Removes stale sockets from the runtime directory (never live ones).
    pub(crate) async fn sweep(&self, why: &str) {
        let dir = self.config.runtime_dir.clone();
        let report = tokio::task::spawn_blocking(move || socket::sweep(&dir)).await;
        match report {
            Ok(Ok(report)) => {
                let removed = report.removed.len() as u64;
                if removed > 0 {
                    tracing::info!(why, removed, "swept stale Wayland sockets");
                }
                self.registry
                    .counters
                    .swept
                    .fetch_add(removed, Ordering::Relaxed);
            }
            Ok(Err(err)) => tracing::warn!(%err, "sweep failed"),
            Err(err) => tracing::warn!(%err, "sweep did not run"),
        }
    }

    /// Ends what a previous run left: lobbies it recorded are reported failed, their
    /// worker and app killed if they still run.
    fn recover(&self) {
        let (records, corrupt) = self.records.load_all();
        for c in corrupt {
            tracing::warn!(path = %c.path.display(), moved_to = ?c.moved_to, error = %c.error, "corrupt lobby record moved aside");
        }
        for record in records {
            if let Some(pid) = record.worker_pid {
                if same_process(pid, record.worker_started) {
                    tracing::warn!(lobby = %record.id, pid, "killing the worker of a previous run");
                }
                supervisor::kill_worker(pid, record.worker_started);
            }
            if let Some(pid) = record.app_pid {
                supervisor::kill_app_group(pid, record.app_started);
            }
            self.registry.insert(Entry {
                info: LobbyInfo {
                    id: record.id.clone(),
                    name: record.name.clone(),
                    profile_id: None,
                    multi_user: false,
                    stop_when_everyone_leaves: false,
                    pin: None,
                    runner_render_node: None,
                    state: LobbyState::Starting,
                    width: 0,
                    height: 0,
                    refresh_rate: 0,
                    wayland_display: record.wayland_display.clone(),
                    runtime_dir: record.runtime_dir.clone(),
                    render_node: String::new(),
                    encoder: None,
                    worker_pid: record.worker_pid,
                    app_pid: record.app_pid,
                    error: None,
                    frames: 0,
                    fps: 0.0,
                    created_at: record.created_at,
                    ready_at: None,
                    ended_at: None,
                },
                commands: None,
                screenshots: Default::default(),
                stop_requested: false,
                reported_error: None,
                reported_stopped: false,
                worker_started: record.worker_started,
                app_started: record.app_started,
            });
            self.registry.update(&record.id, |e| {
                e.info.state = LobbyState::Failed;
                e.info.error = Some("the host restarted while the lobby ran".to_owned());
            });
            self.records.remove(&record.id);
        }
    }

    fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
        let _ = self.shutdown.send(true);
    }

    /// Stops every lobby and waits (bounded) until all have ended.
    async fn stop_all(self: &Arc<Self>) {
        let running: Vec<String> = self
            .registry
            .list()
            .into_iter()
            .filter(|l| !l.state.ended())
            .map(|l| l.id)
            .collect();
        for id in &running {
            supervisor::stop(self, id);
        }
        let limit =
            Duration::from_millis(self.config.defaults.stop_grace_ms) + Duration::from_secs(10);
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && self.registry.list().iter().any(|l| !l.state.ended()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

fn private_dir(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("creating {}", path.display()))
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    for dir in [
        config.state_dir.clone(),
        config.state_dir.join("logs"),
        config.state_dir.join("shots"),
    ] {
        private_dir(&dir)?;
    }
    if !config.runtime_dir.is_dir() {
        bail!(
            "runtime directory {} does not exist",
            config.runtime_dir.display()
        );
    }
    let records = Records::open(&config.state_dir)
        .with_context(|| format!("opening {}", config.state_dir.display()))?;
    let (shutdown, _) = watch::channel(false);
    let host = Arc::new(Host {
        registry: Registry::new(),
        records,
        exe: std::env::current_exe().context("finding this program for the workers")?,
        started: Instant::now(),
        shutting_down: AtomicBool::new(false),
        shutdown,
        config,
    });
    host.recover();
    host.sweep("start-up").await;

    let (unix, _socket_guard) = listen::bind_unix(&host.config.socket)?;
    let router = api::router(host.clone());
    println!(
        "gst-wayland-display: serving on {}",
        host.config.socket.display()
    );
    let mut servers = vec![spawn_server(unix, router.clone(), host.shutdown_watch())];
    if let Some((addr, token)) = host.config.tcp.clone() {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let bound = listener.local_addr().unwrap_or(addr);
        println!("gst-wayland-display: serving on http://{bound} (bearer token required)");
        let tcp_router = router.layer(axum::middleware::from_fn_with_state(
            token,
            listen::require_token,
        ));
        servers.push(spawn_server(listener, tcp_router, host.shutdown_watch()));
    }
    let sweeper = {
        let host = host.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(host.config.sweep_interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                host.sweep("periodic").await;
            }
        })
    };

    wait_for_signal().await?;
    println!("gst-wayland-display: stopping");
    host.begin_shutdown();
    host.stop_all().await;
    sweeper.abort();
    for server in servers {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(%err, "API server ended with an error"),
            Err(err) => tracing::warn!(%err, "API server task failed"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Serves `router` on `listener` until the host shuts down.
fn spawn_server<L>(
    listener: L,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<std::io::Result<()>>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            })
            .await
    })
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
