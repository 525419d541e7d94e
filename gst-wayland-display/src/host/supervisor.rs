//! One task per lobby worker: spawn it, feed it its spec and commands, read its reports,
//! reap it, and clean up whatever it left (its app's process group, its socket) before the
//! lobby's final state is announced.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustix::process::{Signal, kill_process, kill_process_group};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{ChildStdout, Command};

use super::Host;
use super::lanes::{self, InputLane, WorkerEnd};
use super::records::{Record, same_process, start_time};
use super::registry::{LobbyState, now};
use super::request::Defaults;
use super::x11::DeadWorker;
use crate::fd_limit;
use crate::lobby::app::pid_of;
use crate::lobby::protocol::{FromWorker, LobbySpec, Runner, ToWorker};

/// Extra time given to a worker beyond its own limits before it is killed.
const MARGIN: Duration = Duration::from_secs(5);

/// How long a lobby may take to become ready before the watchdog kills its worker.
pub(crate) fn start_limit(defaults: &Defaults) -> Duration {
    defaults.start_timeout.saturating_add(MARGIN)
}

pub(crate) fn launch(host: &Arc<Host>, spec: LobbySpec, worker: WorkerEnd) {
    let host = host.clone();
    tokio::spawn(async move { supervise(host, spec, worker).await });
}

async fn supervise(host: Arc<Host>, spec: LobbySpec, worker: WorkerEnd) {
    let id = spec.id.clone();
    let log_path = host.config.state_dir.join("logs").join(format!("{id}.log"));
    let log = match std::fs::File::create(&log_path) {
        Ok(file) => Stdio::from(file),
        Err(err) => {
            tracing::warn!(%err, path = %log_path.display(), "no worker log");
            Stdio::null()
        }
    };
    let mut command = Command::new(&host.exe);
    command
        .arg("lobby")
        .env("XDG_RUNTIME_DIR", &host.config.runtime_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        // Its own group: a Ctrl-C meant for the host does not hit the workers directly.
        .process_group(0)
        .kill_on_drop(true);
    if let Some(soft) = fd_limit::original_soft() {
        command.env(fd_limit::ORIGINAL_SOFT_ENV, soft.to_string());
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            end(
                &host,
                &id,
                LobbyState::Failed,
                Some(format!(
                    "cannot start the lobby worker {}: {err}",
                    host.exe.display()
                )),
            );
            return;
        }
    };
    let pid = child.id();
    let started = pid.and_then(start_time);
    host.registry.update(&id, |e| {
        e.info.worker_pid = pid;
        e.worker_started = started;
    });
    host.save_record(&id);

    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill().await;
        end(
            &host,
            &id,
            LobbyState::Failed,
            Some("the lobby worker has no pipes".to_owned()),
        );
        return;
    };
    let spec_line = match serde_json::to_string(&spec) {
        Ok(line) => line,
        Err(err) => {
            let _ = child.kill().await;
            end(
                &host,
                &id,
                LobbyState::Failed,
                Some(format!("cannot write the lobby spec: {err}")),
            );
            return;
        }
    };
    let input = worker.input.clone();
    tokio::spawn(lanes::feed(stdin, spec_line, worker));
    let reader = tokio::spawn(read_reports(host.clone(), id.clone(), stdout, input));
    // The spec's timeout is the host's default (requests cannot set it); this is
    // `start_limit`, which a waiting create also uses.
    let start_limit = spec.start_timeout.saturating_add(MARGIN);
    let watchdog = tokio::spawn(start_watchdog(host.clone(), id.clone(), start_limit));

    let status = child.wait().await;
    watchdog.abort();
    // Reports written just before the exit are still in the pipe.
    let _ = reader.await;
    if matches!(spec.app, Some(Runner::Docker(_))) {
        // The worker removes its container; one it could not (it was killed) goes here,
        // before the lobby is announced ended.
        host.remove_containers(Some(&id), &format!("lobby {id} ended"))
            .await;
    }
    if spec.audio.is_some() {
        // The worker unloads its sink; one it could not (it was killed) goes here.
        host.sweep_sinks(Some(&id), &format!("lobby {id} ended"))
            .await;
    }
    finish(&host, &id, status.ok()).await;
}

async fn read_reports(host: Arc<Host>, id: String, stdout: ChildStdout, input: Arc<InputLane>) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str::<FromWorker>(&line) {
            // Many a second under load: no need for the registry's lock.
            Ok(FromWorker::InputTaken { events }) => input.taken(events),
            Ok(report) => on_report(&host, &id, report),
            Err(err) => tracing::warn!(lobby = %id, %err, line, "unreadable report from a worker"),
        }
    }
}

fn on_report(host: &Host, id: &str, report: FromWorker) {
    let mut save = false;
    host.registry.update(id, |e| match report {
        FromWorker::Socket {
            wayland_display,
            runtime_dir,
            render_node,
            x_display,
        } => {
            e.info.wayland_display = Some(wayland_display);
            e.info.x_display = x_display;
            e.info.runtime_dir = Some(runtime_dir);
            e.info.render_node = render_node;
            save = true;
        }
        FromWorker::Ready {
            app_pid,
            container,
            encoder,
        } => {
            e.info.app_pid = app_pid;
            e.info.container = container;
            e.app_started = app_pid.and_then(start_time);
            e.info.encoder = Some(encoder);
            if e.info.state == LobbyState::Starting {
                e.info.state = LobbyState::Ready;
                e.info.ready_at = Some(now());
            }
            save = true;
        }
        FromWorker::Stats { frames, fps } => {
            e.info.frames = frames;
            e.info.fps = fps;
        }
        FromWorker::Screenshot { error } => {
            if let Some(waiter) = e.screenshots.pop_front() {
                let _ = waiter.send(error.map_or(Ok(()), Err));
            }
        }
        FromWorker::Clipboard {
            request,
            mime_type,
            error,
        } => {
            if let Some(waiter) = e.clipboards.remove(&request) {
                let _ = waiter.send(error.map_or(Ok(mime_type), Err));
            }
        }
        FromWorker::Audio { sink, error } => {
            if let Some(audio) = &mut e.info.audio {
                if sink.is_some() {
                    audio.sink = sink;
                }
                if error.is_some() {
                    audio.error = error;
                }
            }
        }
        FromWorker::Failed { error } => e.reported_error = Some(error),
        FromWorker::Stopped => e.reported_stopped = true,
        FromWorker::InputTaken { .. } => {}
    });
    if save {
        host.save_record(id);
    }
}

/// Kills a worker that has not become ready in time (it enforces its own start-up limit;
/// this catches a worker hung before it could).
async fn start_watchdog(host: Arc<Host>, id: String, limit: Duration) {
    tokio::time::sleep(limit).await;
    let hung = host.registry.update(&id, |e| {
        if e.info.state == LobbyState::Starting && e.reported_error.is_none() {
            e.reported_error = Some(format!(
                "start-up timed out: the lobby was not ready after {} s",
                limit.as_secs_f64()
            ));
            Some((e.info.worker_pid, e.worker_started))
        } else {
            None
        }
    });
    if let Some(Some((Some(pid), started))) = hung {
        kill_worker(pid, started);
    }
}

/// SIGKILLs a worker if `pid` is still that worker.
pub(crate) fn kill_worker(pid: u32, started: Option<u64>) {
    if same_process(pid, started)
        && let Some(pid) = pid_of(pid)
    {
        let _ = kill_process(pid, Signal::KILL);
    }
}

/// SIGKILLs an app's process group if its leader is still that app. Orphans of a group
/// whose leader is gone cannot be told from other processes and are left alone.
pub(crate) fn kill_app_group(pid: u32, started: Option<u64>) {
    if same_process(pid, started)
        && let Some(pgid) = pid_of(pid)
    {
        let _ = kill_process_group(pgid, Signal::KILL);
    }
}

/// After the worker exited for whatever reason: end its app, sweep the sockets and the X
/// display it may have left, forget the record, then announce the final state.
async fn finish(host: &Arc<Host>, id: &str, status: Option<ExitStatus>) {
    let decided = host.registry.update(id, |e| {
        let (state, error) = if let Some(error) = e.reported_error.clone() {
            (LobbyState::Failed, Some(error))
        } else if e.reported_stopped || e.stop_requested {
            (LobbyState::Stopped, None)
        } else {
            (
                LobbyState::Failed,
                Some(format!("the lobby's worker died ({})", describe(status))),
            )
        };
        let worker = e.info.worker_pid.map(|pid| DeadWorker {
            pid,
            started: e.worker_started,
        });
        (state, error, e.info.app_pid, e.app_started, worker)
    });
    let Some((state, error, app_pid, app_started, worker)) = decided else {
        return;
    };
    if let Some(pid) = app_pid {
        kill_app_group(pid, app_started);
    }
    if let Some(worker) = worker {
        host.sweep_x_displays(worker, &format!("lobby {id} ended"))
            .await;
    }
    host.sweep(&format!("lobby {id} ended")).await;
    host.records.remove(id);
    end(host, id, state, error);
}

fn end(host: &Host, id: &str, state: LobbyState, error: Option<String>) {
    if let Some(error) = &error {
        tracing::warn!(lobby = %id, %error, "lobby failed");
    } else {
        tracing::info!(lobby = %id, "lobby {}", state.name());
    }
    host.registry.update(id, |e| {
        e.info.error = error;
        e.info.state = state;
    });
    host.records.remove(id);
    // Logs live as long as their lobby is listed.
    for old in host.registry.take_forgotten() {
        let _ = std::fs::remove_file(
            host.config
                .state_dir
                .join("logs")
                .join(format!("{old}.log")),
        );
    }
}

fn describe(status: Option<ExitStatus>) -> String {
    match status {
        None => "its exit status is unknown".to_owned(),
        Some(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(9)) => "killed by SIGKILL".to_owned(),
            (None, Some(15)) => "killed by SIGTERM".to_owned(),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            _ => status.to_string(),
        },
    }
}

/// Asks a lobby to stop; kills its worker if it has not exited in time.
pub(crate) fn stop(host: &Arc<Host>, id: &str) -> Option<LobbyState> {
    let state = host.registry.update(id, |e| {
        if !e.info.state.ended() {
            e.stop_requested = true;
            e.info.state = LobbyState::Stopping;
        }
        e.info.state
    })?;
    if state == LobbyState::Stopping {
        if let Err(err) = host.registry.control(id, ToWorker::Stop) {
            tracing::warn!(lobby = %id, %err, "cannot ask the worker to stop");
        }
        let host = host.clone();
        let id = id.to_owned();
        let limit = host.config.defaults.stop_grace.saturating_add(MARGIN);
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            let worker = host.registry.update(&id, |e| {
                (!e.info.state.ended()).then_some((e.info.worker_pid, e.worker_started))
            });
            if let Some(Some((Some(pid), started))) = worker {
                tracing::warn!(lobby = %id, "worker did not stop in time; killing it");
                kill_worker(pid, started);
            }
        });
    }
    Some(state)
}

/// The record of a lobby as it stands now.
pub(crate) fn record_of(host: &Host, id: &str) -> Option<Record> {
    host.registry.update(id, |e| e.record())
}
