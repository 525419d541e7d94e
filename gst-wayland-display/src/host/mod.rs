//! `gst-wayland-display serve`: the lobby host. One worker process per lobby, supervised;
//! HTTP+JSON on a private Unix socket (TCP with a bearer token if asked for); records in a
//! state directory so that a restart after a crash ends what the previous run left.

mod api;
mod clipboard;
mod config;
mod http;
mod lanes;
mod listen;
mod memory;
mod metrics;
mod records;
mod registry;
pub(crate) mod request;
mod supervisor;
mod x11;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::watch;
use waylanddisplaycore::socket;

use crate::audio::SoundServer;
use crate::lobby::protocol::AudioServer;
use crate::time::Deadline;

use config::Config;
pub(crate) use config::ServeOptions;
pub(crate) use records::start_time;
use records::{Record, Records, same_process};
use registry::{Entry, LobbyInfo, LobbyState, Registry, now};

/// How long shutting down waits for lobbies beyond their apps' stop grace.
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(10);
/// How long start-up waits for the workers of a previous run it killed to be gone.
const RECOVERY_KILL_WAIT: Duration = Duration::from_secs(2);

pub(crate) struct Host {
    pub(crate) registry: Registry,
    pub(crate) records: Records,
    pub(crate) config: Config,
    /// This program: workers are `<exe> lobby`.
    pub(crate) exe: PathBuf,
    pub(crate) started: Instant,
    shutting_down: AtomicBool,
    shutdown: watch::Sender<bool>,
    pub(crate) http_counters: Arc<http::HttpCounters>,
    /// Screenshots in flight, host-wide.
    pub(crate) screenshots: tokio::sync::Semaphore,
    /// Clipboard transfers in flight, host-wide.
    pub(crate) clipboards: tokio::sync::Semaphore,
}

impl Host {
    pub(crate) fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    pub(crate) fn shutdown_watch(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Rewrites a running lobby's record. A failure leaves the previous record (a restart
    /// still finds the lobby) and shows in health until a write succeeds.
    pub(crate) fn save_record(&self, id: &str) {
        if let Some(record) = supervisor::record_of(self, id)
            && let Err(err) = self.records.write(&record)
        {
            tracing::warn!(lobby = %id, %err, "the lobby record is out of date");
        }
    }

    /// Removes stale sockets from the runtime directory (never live ones).
    pub(crate) async fn sweep(&self, why: &str) {
        let dir = self.config.runtime_dir.clone();
        let report = tokio::task::spawn_blocking(move || socket::sweep(&dir)).await;
        match report {
            Ok(Ok(report)) => {
                let removed = u64::try_from(report.removed.len()).unwrap_or(u64::MAX);
                if removed > 0 {
                    tracing::info!(why, removed, "swept stale Wayland sockets");
                }
                self.registry.counters.swept.inc_by(removed);
            }
            Ok(Err(err)) => tracing::warn!(%err, "sweep failed"),
            Err(err) => tracing::warn!(%err, "sweep did not run"),
        }
    }

    /// Removes the X displays a dead worker left (see `x11`) and kills their Xwayland if
    /// it is still there.
    pub(crate) async fn sweep_x_displays(&self, worker: x11::DeadWorker, why: &str) {
        let swept = tokio::task::spawn_blocking(move || {
            x11::sweep_dead_worker(Path::new(x11::X_ROOT), Path::new("/proc"), worker)
        })
        .await;
        match swept {
            Ok(Ok(swept)) => {
                if !swept.displays.is_empty() || !swept.killed.is_empty() {
                    tracing::warn!(
                        why,
                        worker = worker.pid,
                        displays = ?swept.displays,
                        xwayland_killed = ?swept.killed,
                        "removed X displays a dead worker left"
                    );
                }
                let count = u64::try_from(swept.displays.len()).unwrap_or(u64::MAX);
                self.registry.counters.x11_displays_swept.inc_by(count);
            }
            Ok(Err(err)) => tracing::warn!(why, %err, "X display sweep failed"),
            Err(err) => tracing::warn!(why, %err, "X display sweep did not run"),
        }
    }

    /// Removes the containers this host labelled: a lobby's (`lobby`), or all of them (at
    /// start-up, when none of this run exists yet). Containers it did not label are never
    /// touched. Without a reachable engine there is nothing this host could have left.
    pub(crate) async fn remove_containers(&self, lobby: Option<&str>, why: &str) {
        let instance = &self.config.defaults.instance;
        let docker = match crate::docker::connect().await {
            Ok(docker) => docker,
            Err(err) => {
                if lobby.is_some() || std::env::var_os("DOCKER_HOST").is_some() {
                    tracing::warn!(why, %err, "cannot check for containers left behind");
                } else {
                    tracing::debug!(why, %err, "no Docker Engine; no containers to check");
                }
                return;
            }
        };
        match crate::docker::remove_labelled(&docker, instance, lobby).await {
            Ok(removed) => {
                if !removed.is_empty() {
                    tracing::warn!(why, ?removed, "removed containers left behind");
                }
                let count = u64::try_from(removed.len()).unwrap_or(u64::MAX);
                self.registry.counters.containers_swept.inc_by(count);
            }
            Err(err) => tracing::warn!(why, %err, "removing containers left behind failed"),
        }
    }

    /// Unloads the sinks this host instance loaded: a lobby's (`lobby`), or all of them (at
    /// start-up, when none of this run exists yet). Sinks without its owner properties are
    /// never touched.
    pub(crate) async fn sweep_sinks(&self, lobby: Option<&str>, why: &str) {
        let AudioServer::Address(server) = self.config.defaults.audio_server.clone() else {
            return;
        };
        let instance = self.config.defaults.instance.clone();
        let lobby = lobby.map(str::to_owned);
        let swept = tokio::task::spawn_blocking(move || {
            crate::audio::sink::sweep(&server, &instance, lobby.as_deref())
        })
        .await;
        match swept {
            Ok(Ok(sinks)) => {
                if !sinks.is_empty() {
                    tracing::warn!(why, ?sinks, "unloaded sinks left behind");
                }
                let count = u64::try_from(sinks.len()).unwrap_or(u64::MAX);
                self.registry.counters.sinks_swept.inc_by(count);
            }
            Ok(Err(err)) => tracing::warn!(why, %err, "cannot check for sinks left behind"),
            Err(err) => tracing::warn!(why, %err, "the sink sweep did not run"),
        }
    }

    /// Ends what a previous run left: lobbies it recorded are reported failed, their
    /// worker and app killed if they still run. Returns their workers, whose X displays
    /// are to be swept once they are gone.
    fn recover(&self) -> Vec<x11::DeadWorker> {
        let mut workers = Vec::new();
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
                workers.push(x11::DeadWorker {
                    pid,
                    started: record.worker_started,
                });
            }
            if let Some(pid) = record.app_pid {
                supervisor::kill_app_group(pid, record.app_started);
            }
            self.registry.restore(restored(&record));
            self.records.remove(&record.id);
        }
        workers
    }

    /// Sweeps the X displays of a previous run's workers, once those just killed are gone
    /// (bounded: one still there then is skipped, as a live pid always is).
    async fn sweep_previous_x_displays(&self, workers: Vec<x11::DeadWorker>) {
        if workers.is_empty() {
            return;
        }
        let deadline = Deadline::after(RECOVERY_KILL_WAIT);
        let running = |w: &x11::DeadWorker| {
            same_process(w.pid, w.started) && x11::alive(Path::new("/proc"), w.pid)
        };
        while !deadline.passed() && workers.iter().any(running) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for worker in workers {
            self.sweep_x_displays(worker, "start-up").await;
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
        let deadline = Deadline::after(
            self.config
                .defaults
                .stop_grace
                .saturating_add(SHUTDOWN_MARGIN),
        );
        while !deadline.passed() && self.registry.list().iter().any(|l| !l.state.ended()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub(crate) fn run(options: ServeOptions) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(options)?;
    // Started here, on the main thread, which lives as long as the host: the private server
    // is told to end with it. It outlives the runtime below, so lobbies stop before it does.
    let sound = SoundServer::from_env_or_start(&config.runtime_dir, &config.defaults.instance);
    config.defaults.audio_server = match &sound {
        Ok(server) => AudioServer::Address(server.address().to_owned()),
        Err(err) => {
            tracing::warn!(%err, "no sound server: lobbies will run without audio");
            AudioServer::Unavailable(err.to_string())
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let served = runtime.block_on(serve(config));
    drop(runtime);
    drop(sound);
    served
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
        config.state_dir.join("clips"),
    ] {
        private_dir(&dir)?;
    }
    // Clipboard contents a previous run left mid-transfer (it was killed): nobody will
    // read them, and they may be private.
    clipboard::remove_leftovers(&config.state_dir.join("clips"));
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
        http_counters: Arc::default(),
        screenshots: tokio::sync::Semaphore::new(api::MAX_SCREENSHOTS),
        clipboards: tokio::sync::Semaphore::new(clipboard::MAX_TRANSFERS),
        config,
    });
    let previous_workers = host.recover();
    host.sweep("start-up").await;
    host.sweep_previous_x_displays(previous_workers).await;
    host.remove_containers(None, "start-up").await;
    host.sweep_sinks(None, "start-up").await;

    let (unix, _socket_guard) = listen::bind_unix(&host.config.socket)?;
    let router = api::router(host.clone());
    println!(
        "gst-wayland-display: serving on {}",
        host.config.socket.display()
    );
    let listeners = if host.config.tcp.is_some() { 2 } else { 1 };
    let limits = fitted_to_fd_limit(host.config.http, listeners);
    let mut servers = vec![tokio::spawn(http::serve(
        "unix",
        unix,
        router.clone(),
        limits,
        host.http_counters.clone(),
        host.shutdown_watch(),
    ))];
    if let Some((addr, token)) = host.config.tcp.clone() {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let bound = listener.local_addr().unwrap_or(addr);
        println!("gst-wayland-display: serving on http://{bound} (bearer token required)");
        let tcp_router = router.layer(axum::middleware::from_fn_with_state(
            Arc::new(listen::Token::new(&token)),
            listen::require_token,
        ));
        servers.push(tokio::spawn(http::serve(
            "tcp",
            listener,
            tcp_router,
            limits,
            host.http_counters.clone(),
            host.shutdown_watch(),
        )));
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
        if let Err(err) = server.await {
            tracing::warn!(%err, "API server task failed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `limits` with the connection cap lowered, if need be, so that the listeners' connections
/// together take at most half of the open-file limit: the rest is for lobbies and logs.
fn fitted_to_fd_limit(limits: http::HttpLimits, listeners: u64) -> http::HttpLimits {
    let Some(soft) = crate::fd_limit::current_soft() else {
        return limits;
    };
    let room = (soft / 2).checked_div(listeners).unwrap_or(soft).max(1);
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    if limits.max_connections <= room {
        return limits;
    }
    tracing::warn!(
        open_file_limit = soft,
        configured = limits.max_connections,
        used = room,
        "--max-connections lowered to fit the open-file limit"
    );
    http::HttpLimits {
        max_connections: room,
        ..limits
    }
}

/// The listing of a lobby a previous run recorded: failed, since the host went while it ran.
fn restored(record: &Record) -> Entry {
    let info = LobbyInfo {
        state: LobbyState::Failed,
        error: Some("the host restarted while the lobby ran".to_owned()),
        wayland_display: record.wayland_display.clone(),
        runtime_dir: record.runtime_dir.clone(),
        worker_pid: record.worker_pid,
        app_pid: record.app_pid,
        created_at: record.created_at,
        ended_at: Some(now()),
        ..LobbyInfo::new(record.id.clone(), record.name.clone())
    };
    Entry {
        worker_started: record.worker_started,
        app_started: record.app_started,
        ..Entry::new(info, None)
    }
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
