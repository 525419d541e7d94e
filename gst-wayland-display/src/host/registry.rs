//! Every lobby the host knows, its state (`starting → ready → stopping → stopped`, or
//! `failed` with the cause), and the broadcast of each state change.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use serde::Serialize;
use tokio::sync::{broadcast, oneshot};

use subtle::ConstantTimeEq;

use super::lanes::{InputLane, WorkerLink};
use super::records::Record;
use super::request::{Env, Runner};
use crate::lobby::protocol::ToWorker;

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LobbyState {
    Starting,
    Ready,
    Stopping,
    Stopped,
    Failed,
}

impl LobbyState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    pub(crate) fn ended(self) -> bool {
        matches!(self, Self::Stopped | Self::Failed)
    }

    pub(crate) const ALL: [LobbyState; 5] = [
        Self::Starting,
        Self::Ready,
        Self::Stopping,
        Self::Stopped,
        Self::Failed,
    ];
}

/// What the API shows of a lobby (listings, the event stream). Never the PIN: only
/// whether there is one.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LobbyInfo {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The request's `profile_id`, under Wolf's name for it.
    pub(crate) started_by_profile_id: Option<String>,
    /// Wolf's session settings, kept and shown for its clients.
    pub(crate) multi_user: bool,
    pub(crate) stop_when_everyone_leaves: bool,
    /// Whether stopping the lobby needs its PIN.
    pub(crate) pin_required: bool,
    /// How the app was asked to run; `None` for lobbies of a previous run (their records do
    /// not keep it).
    pub(crate) runner: Option<RunnerInfo>,
    pub(crate) runner_render_node: Option<String>,
    pub(crate) state: LobbyState,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) refresh_rate: u32,
    pub(crate) wayland_display: Option<String>,
    /// The lobby's X display (`:N`), unless its Xwayland is off.
    pub(crate) x_display: Option<String>,
    pub(crate) runtime_dir: Option<PathBuf>,
    pub(crate) render_node: String,
    pub(crate) encoder: Option<String>,
    pub(crate) worker_pid: Option<u32>,
    pub(crate) app_pid: Option<u32>,
    /// The app's container (docker lobbies).
    pub(crate) container: Option<String>,
    /// The lobby's sound; `None` for a lobby created without audio.
    pub(crate) audio: Option<AudioInfo>,
    pub(crate) error: Option<String>,
    pub(crate) frames: u64,
    pub(crate) fps: f64,
    /// Seconds since the Unix epoch.
    pub(crate) created_at: f64,
    pub(crate) ready_at: Option<f64>,
    pub(crate) ended_at: Option<f64>,
}

impl LobbyInfo {
    /// A lobby as the host first lists it: `starting`, created now, nothing else known.
    pub(crate) fn new(id: String, name: String) -> Self {
        Self {
            id,
            name,
            started_by_profile_id: None,
            multi_user: false,
            stop_when_everyone_leaves: false,
            pin_required: false,
            runner: None,
            runner_render_node: None,
            state: LobbyState::Starting,
            width: 0,
            height: 0,
            refresh_rate: 0,
            wayland_display: None,
            x_display: None,
            runtime_dir: None,
            render_node: String::new(),
            encoder: None,
            worker_pid: None,
            app_pid: None,
            container: None,
            audio: None,
            error: None,
            frames: 0,
            fps: 0.0,
            created_at: now(),
            ready_at: None,
            ended_at: None,
        }
    }
}

/// A lobby's audio as listings show it.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub(crate) struct AudioInfo {
    pub(crate) channels: u8,
    /// The null sink its app plays into, once loaded.
    pub(crate) sink: Option<String>,
    /// Why the lobby has no audio (any more); its video goes on.
    pub(crate) error: Option<String>,
}

/// A lobby's runner as listings show it, in Wolf's shape: Helix finds the lobby of one of
/// its sessions by `HELIX_SESSION_ID=…` in `env`. Built from the request before it becomes
/// the worker's spec.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(crate) struct RunnerInfo {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) run_cmd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) image: Option<String>,
    /// `["KEY=value", …]`, as Wolf lists it, whichever form the request used.
    pub(crate) env: Vec<String>,
}

impl RunnerInfo {
    pub(crate) fn of(runner: &Runner) -> Self {
        let given = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        let env = match &runner.env {
            None => Vec::new(),
            Some(Env::List(list)) => list.clone(),
            Some(Env::Map(map)) => map.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        };
        let docker = runner.kind == "docker";
        Self {
            kind: runner.kind.clone(),
            run_cmd: if docker { None } else { given(&runner.run_cmd) },
            name: if docker { given(&runner.name) } else { None },
            image: if docker { given(&runner.image) } else { None },
            env,
        }
    }
}

/// A lobby's PIN, kept for checking and never shown: no `Debug` digits, not serialized, not
/// in records.
pub(crate) struct Pin(Vec<i16>);

impl Pin {
    pub(crate) fn new(digits: Vec<i16>) -> Self {
        Self(digits)
    }

    /// Whether `given` is this PIN, compared in constant time (the length is not secret:
    /// Wolf's PINs are four digits).
    pub(crate) fn matches(&self, given: Option<&[i16]>) -> bool {
        given.is_some_and(|given| bool::from(self.0.as_slice().ct_eq(given)))
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(…)")
    }
}

/// What the memory report needs of a running lobby.
pub(crate) struct LobbyProcesses {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) render_node: String,
    /// Whether its pipeline exists (the element announced its socket).
    pub(crate) has_pipeline: bool,
    /// (pid, start time) of the worker and of the app, each the leader of its own group.
    pub(crate) worker: Option<(u32, Option<u64>)>,
    pub(crate) app: Option<(u32, Option<u64>)>,
}

/// One state change, as the event stream sends it.
#[derive(Clone, Debug)]
pub(crate) struct LobbyEvent {
    pub(crate) lobby: LobbyInfo,
}

pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub(crate) struct Entry {
    pub(crate) info: LobbyInfo,
    /// To the worker's stdin; `None` once it is gone.
    pub(crate) link: Option<WorkerLink>,
    pub(crate) screenshots: VecDeque<oneshot::Sender<Result<(), String>>>,
    /// Clipboard requests sent to the worker, by request number.
    pub(crate) clipboards: HashMap<u64, super::clipboard::Waiter>,
    pub(crate) stop_requested: bool,
    /// What the worker said went wrong, if it said so before it exited.
    pub(crate) reported_error: Option<String>,
    pub(crate) reported_stopped: bool,
    /// Process start times, to recognise our processes (pids are reused).
    pub(crate) worker_started: Option<u64>,
    pub(crate) app_started: Option<u64>,
    /// The PIN the lobby was created with; stopping it needs the same.
    pub(crate) pin: Option<Pin>,
}

impl Entry {
    /// The host's entry for a lobby; `link` reaches its worker while it runs.
    pub(crate) fn new(info: LobbyInfo, link: Option<WorkerLink>) -> Self {
        Self {
            info,
            link,
            screenshots: VecDeque::new(),
            clipboards: HashMap::new(),
            stop_requested: false,
            reported_error: None,
            reported_stopped: false,
            worker_started: None,
            app_started: None,
            pin: None,
        }
    }

    /// What the host records of this lobby as it stands now.
    pub(crate) fn record(&self) -> Record {
        Record {
            id: self.info.id.clone(),
            name: self.info.name.clone(),
            created_at: self.info.created_at,
            worker_pid: self.info.worker_pid,
            worker_started: self.worker_started,
            app_pid: self.info.app_pid,
            app_started: self.app_started,
            wayland_display: self.info.wayland_display.clone(),
            runtime_dir: self.info.runtime_dir.clone(),
        }
    }
}

/// Ended lobbies kept for listing; older ones are forgotten.
const KEEP_ENDED: usize = 256;

/// What the host counts since it started (shown by `/metrics`).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) created: Counter,
    pub(crate) failed: Counter,
    pub(crate) stopped: Counter,
    /// Lobbies of a previous run found at start-up and ended.
    pub(crate) recovered: Counter,
    pub(crate) swept: Counter,
    /// Containers a killed worker or a previous run left, removed by the host.
    pub(crate) containers_swept: Counter,
    /// X displays (lock and socket) a killed worker left, removed by the host.
    pub(crate) x11_displays_swept: Counter,
    /// Null sinks a killed worker or a previous run left, unloaded by the host.
    pub(crate) sinks_swept: Counter,
    /// Input requests refused because their lobby's queue was full.
    pub(crate) input_refused: Counter,
}

pub(crate) struct Registry {
    lobbies: Mutex<HashMap<String, Entry>>,
    ended: Mutex<VecDeque<String>>,
    /// Ended lobbies dropped from the listing whose files the host has yet to delete.
    forgotten: Mutex<Vec<String>>,
    events: broadcast::Sender<LobbyEvent>,
    pub(crate) counters: Counters,
}

impl Registry {
    pub(crate) fn new() -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            lobbies: Mutex::new(HashMap::new()),
            ended: Mutex::new(VecDeque::new()),
            forgotten: Mutex::new(Vec::new()),
            events,
            counters: Counters::default(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.lobbies.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<LobbyEvent> {
        self.events.subscribe()
    }

    /// Adds a lobby just created unless `max` lobbies already run (starting, ready or
    /// stopping); then it answers how many run. Counting and adding under one lock, so a
    /// burst of creates cannot overshoot.
    pub(crate) fn admit(&self, entry: Entry, max: usize) -> Result<(), usize> {
        let lobby = entry.info.clone();
        {
            let mut lobbies = self.lock();
            let running = running_in(&lobbies);
            if running >= max {
                return Err(running);
            }
            lobbies.insert(lobby.id.clone(), entry);
        }
        self.counters.created.inc();
        let _ = self.events.send(LobbyEvent { lobby });
        Ok(())
    }

    /// Lobbies starting, ready or stopping.
    pub(crate) fn running(&self) -> usize {
        running_in(&self.lock())
    }

    /// Lists a lobby of a previous run, already ended: not created by this run, so not
    /// counted as created (nor as failed here), but listed like any ended lobby.
    pub(crate) fn restore(&self, entry: Entry) {
        let id = entry.info.id.clone();
        let ended = entry.info.state.ended();
        self.lock().insert(id.clone(), entry);
        self.counters.recovered.inc();
        if ended {
            self.remember_ended(&id);
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<LobbyInfo> {
        self.lock().get(id).map(|e| e.info.clone())
    }

    /// Whether `given` opens lobby `id`: its PIN, or anything if it has none. `None` if
    /// there is no such lobby.
    pub(crate) fn pin_matches(&self, id: &str, given: Option<&[i16]>) -> Option<bool> {
        let lobbies = self.lock();
        let entry = lobbies.get(id)?;
        Some(entry.pin.as_ref().is_none_or(|pin| pin.matches(given)))
    }

    /// The processes of every lobby that has not ended.
    pub(crate) fn processes(&self) -> Vec<LobbyProcesses> {
        let mut running: Vec<(f64, LobbyProcesses)> = self
            .lock()
            .values()
            .filter(|e| !e.info.state.ended())
            .map(|e| {
                (
                    e.info.created_at,
                    LobbyProcesses {
                        id: e.info.id.clone(),
                        name: e.info.name.clone(),
                        render_node: e.info.render_node.clone(),
                        has_pipeline: e.info.wayland_display.is_some(),
                        worker: e.info.worker_pid.map(|pid| (pid, e.worker_started)),
                        app: e.info.app_pid.map(|pid| (pid, e.app_started)),
                    },
                )
            })
            .collect();
        running.sort_by(|a, b| a.0.total_cmp(&b.0));
        running.into_iter().map(|(_, p)| p).collect()
    }

    pub(crate) fn list(&self) -> Vec<LobbyInfo> {
        let mut all: Vec<LobbyInfo> = self.lock().values().map(|e| e.info.clone()).collect();
        all.sort_by(|a, b| a.created_at.total_cmp(&b.created_at));
        all
    }

    /// Changes a lobby under the lock; sends an event if its state changed.
    pub(crate) fn update<R>(&self, id: &str, change: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        let (result, event, ended) = {
            let mut lobbies = self.lock();
            let entry = lobbies.get_mut(id)?;
            let before = entry.info.state;
            let result = change(entry);
            let after = entry.info.state;
            if after != before && after.ended() {
                entry.info.ended_at = Some(now());
                entry.link = None;
                for waiter in entry.screenshots.drain(..) {
                    let _ = waiter.send(Err("the lobby ended".to_owned()));
                }
                for (_, waiter) in entry.clipboards.drain() {
                    let _ = waiter.send(Err("the lobby ended".to_owned()));
                }
            }
            let event = (after != before).then(|| LobbyEvent {
                lobby: entry.info.clone(),
            });
            (result, event, after != before && after.ended())
        };
        if let Some(event) = event {
            match event.lobby.state {
                LobbyState::Failed => {
                    self.counters.failed.inc();
                }
                LobbyState::Stopped => {
                    self.counters.stopped.inc();
                }
                _ => {}
            }
            let _ = self.events.send(event);
        }
        if ended {
            self.remember_ended(id);
        }
        Some(result)
    }

    fn remember_ended(&self, id: &str) {
        let forget: Vec<String> = {
            let mut ended = self.ended.lock().unwrap_or_else(|p| p.into_inner());
            ended.push_back(id.to_owned());
            let excess = ended.len().saturating_sub(KEEP_ENDED);
            ended.drain(..excess).collect()
        };
        if !forget.is_empty() {
            let mut lobbies = self.lock();
            for id in &forget {
                lobbies.remove(id);
            }
            drop(lobbies);
            self.forgotten
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(forget);
        }
    }

    /// Lobbies no longer listed, whose leftovers (logs) can go.
    pub(crate) fn take_forgotten(&self) -> Vec<String> {
        std::mem::take(&mut *self.forgotten.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The link to a lobby's worker, while it runs.
    fn link<R>(&self, id: &str, with: impl FnOnce(&WorkerLink) -> R) -> Result<R, String> {
        let lobbies = self.lock();
        let entry = lobbies
            .get(id)
            .ok_or_else(|| format!("no lobby with id {id:?}"))?;
        let link = entry
            .link
            .as_ref()
            .ok_or_else(|| format!("lobby {id} is {}", entry.info.state.name()))?;
        Ok(with(link))
    }

    /// Sends a control message to a lobby's worker, ahead of any input waiting.
    pub(crate) fn control(&self, id: &str, command: ToWorker) -> Result<(), String> {
        self.link(id, |link| link.control(command))?
            .map_err(|err| format!("lobby {id}: {err}"))
    }

    /// The queue of input on its way to a lobby's worker.
    pub(crate) fn input(&self, id: &str) -> Result<std::sync::Arc<InputLane>, String> {
        self.link(id, WorkerLink::input)
    }

    pub(crate) fn counts(&self) -> HashMap<LobbyState, usize> {
        let mut counts = HashMap::new();
        for entry in self.lock().values() {
            let n = counts.entry(entry.info.state).or_insert(0usize);
            *n = n.saturating_add(1);
        }
        counts
    }
}

fn running_in(lobbies: &HashMap<String, Entry>) -> usize {
    lobbies.values().filter(|e| !e.info.state.ended()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry {
        let info = LobbyInfo {
            multi_user: true,
            stop_when_everyone_leaves: true,
            width: 1,
            height: 1,
            refresh_rate: 1,
            render_node: "software".into(),
            ..LobbyInfo::new(id.to_owned(), id.to_owned())
        };
        Entry::new(info, None)
    }

    #[test]
    fn state_changes_are_broadcast_and_ended_lobbies_are_kept_a_while() {
        let registry = Registry::new();
        let mut events = registry.subscribe();
        registry.admit(entry("a"), usize::MAX).unwrap();
        assert_eq!(events.try_recv().unwrap().lobby.state, LobbyState::Starting);
        registry.update("a", |e| e.info.state = LobbyState::Ready);
        assert_eq!(events.try_recv().unwrap().lobby.state, LobbyState::Ready);
        // No change, no event.
        registry.update("a", |e| e.info.frames = 10);
        assert!(events.try_recv().is_err());
        registry.update("a", |e| e.info.state = LobbyState::Stopped);
        let ended = events.try_recv().unwrap().lobby;
        assert!(ended.ended_at.is_some());
        assert!(registry.control("a", ToWorker::Stop).is_err());

        for i in 0..KEEP_ENDED + 5 {
            let id = format!("x{i}");
            registry.admit(entry(&id), usize::MAX).unwrap();
            registry.update(&id, |e| e.info.state = LobbyState::Failed);
        }
        assert_eq!(registry.list().len(), KEEP_ENDED);
        let forgotten = registry.take_forgotten();
        assert_eq!(forgotten.len(), 6);
        assert_eq!(forgotten[0], "a");
        assert!(registry.take_forgotten().is_empty());
        assert_eq!(registry.counters.created.get(), 1 + KEEP_ENDED as u64 + 5);
    }

    #[test]
    fn pins_open_only_their_lobby_and_never_show() {
        let registry = Registry::new();
        let locked = Entry {
            pin: Some(Pin::new(vec![7, 3, 9, 1])),
            ..entry("locked")
        };
        registry.admit(locked, usize::MAX).unwrap();
        registry.admit(entry("open"), usize::MAX).unwrap();
        assert_eq!(
            registry.pin_matches("locked", Some(&[7, 3, 9, 1])),
            Some(true)
        );
        for wrong in [
            None,
            Some(&[7, 3, 9][..]),
            Some(&[7, 3, 9, 2][..]),
            Some(&[][..]),
        ] {
            assert_eq!(
                registry.pin_matches("locked", wrong),
                Some(false),
                "{wrong:?}"
            );
        }
        assert_eq!(registry.pin_matches("open", None), Some(true));
        assert_eq!(registry.pin_matches("open", Some(&[1])), Some(true));
        assert_eq!(registry.pin_matches("nobody", None), None);
        assert_eq!(format!("{:?}", Pin::new(vec![7, 3, 9, 1])), "Pin(…)");
    }

    #[test]
    fn runners_are_listed_in_wolfs_shape() {
        let runner: Runner = serde_json::from_value(serde_json::json!({
            "type": "process", "run_cmd": "weston-terminal", "env": {"B": "2", "A": "1=x"},
            "name": "ignored for processes"
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(RunnerInfo::of(&runner)).unwrap(),
            serde_json::json!({"type": "process", "run_cmd": "weston-terminal", "env": ["A=1=x", "B=2"]})
        );
        let runner: Runner = serde_json::from_value(serde_json::json!({
            "type": "docker", "name": "zed-external-01", "image": "", "env": ["HELIX_SESSION_ID=ses_1"],
            "mounts": ["/a:/b"]
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(RunnerInfo::of(&runner)).unwrap(),
            serde_json::json!({"type": "docker", "name": "zed-external-01", "env": ["HELIX_SESSION_ID=ses_1"]})
        );
    }

    #[test]
    fn restored_lobbies_are_listed_but_not_counted_as_created() {
        let registry = Registry::new();
        let mut old = entry("old");
        old.info.state = LobbyState::Failed;
        registry.restore(old);
        assert_eq!(
            registry.get("old").map(|l| l.state),
            Some(LobbyState::Failed)
        );
        assert_eq!(registry.counters.created.get(), 0);
        assert_eq!(registry.counters.failed.get(), 0);
        assert_eq!(registry.counters.recovered.get(), 1);
    }
}
