//! The life of one lobby, shared by the host's worker and `run`: start the pipeline, start
//! the app once the socket is announced (never before), then react to the bus, the app,
//! commands and the clock until the lobby ends, stopped or failed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use gst::prelude::*;

use gstwaylanddisplaysrc::clipboard_event;

use super::inbox::Inbox;
use super::pipeline;
use super::protocol::{AudioServer, AudioSpec, FromWorker, LobbySpec, ToWorker};
use super::runner::Sockets;
use super::session::Session;
use crate::audio::{LobbySink, SinkOwner};
use crate::encoder;
use crate::time::Deadline;

/// What wakes the lobby up.
pub(crate) enum Event {
    Bus(gst::Message),
    Command(ToWorker),
    /// Input waits in the inbox.
    Input,
    /// Nobody will send commands any more: the host is gone.
    CommandsClosed,
    Signal(i32),
}

/// Where progress goes: the host's pipe, or the terminal.
pub(crate) trait Report {
    fn report(&mut self, message: FromWorker);
}

/// What ends a lobby besides a stop.
pub(crate) struct Policy {
    /// `run`: the app exiting ends the recording. The host: it fails the lobby.
    pub(crate) app_exit_is_failure: bool,
    /// `run --duration`.
    pub(crate) duration: Option<Duration>,
    /// `run --screenshot`: written just before the end.
    pub(crate) screenshot_at_end: Option<PathBuf>,
    /// End with EOS (and wait for it) so that files are finished.
    pub(crate) finish_with_eos: bool,
}

/// How a lobby ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Stopped,
    Failed(String),
}

enum Phase {
    /// Waiting for the `wayland.src` announcement.
    Starting {
        deadline: Deadline,
    },
    Running {
        since: Instant,
    },
    /// EOS sent; waiting for it to come out of the pipeline.
    Finishing {
        deadline: Deadline,
    },
}

const TICK: Duration = Duration::from_millis(100);
const STATS_EVERY: Duration = Duration::from_secs(5);
const EOS_WAIT: Duration = Duration::from_secs(10);
/// Events waiting for the lobby (bus messages, control messages, signals): their senders
/// wait while it is full, which the loop below empties quickly.
const EVENT_QUEUE: usize = 64;

/// The channel that wakes the lobby up.
pub(crate) fn events() -> (SyncSender<Event>, Receiver<Event>) {
    std::sync::mpsc::sync_channel(EVENT_QUEUE)
}

pub(crate) fn drive(
    spec: &LobbySpec,
    policy: &Policy,
    events: (SyncSender<Event>, Receiver<Event>),
    inbox: &Inbox,
    report: &mut dyn Report,
) -> Outcome {
    let outcome = run(spec, policy, events, inbox, report);
    report.report(match &outcome {
        Outcome::Stopped => FromWorker::Stopped,
        Outcome::Failed(error) => FromWorker::Failed {
            error: error.clone(),
        },
    });
    outcome
}

fn run(
    spec: &LobbySpec,
    policy: &Policy,
    (tx, rx): (SyncSender<Event>, Receiver<Event>),
    inbox: &Inbox,
    report: &mut dyn Report,
) -> Outcome {
    let encoder = match encoder::pick(spec.encoder_pipeline.as_deref()) {
        Ok(encoder) => encoder,
        Err(err) => return Outcome::Failed(err),
    };
    let started = start_session(spec, &encoder.fragment, (&tx, &rx), report);
    // The pipeline's bus thread holds its own sender: once it and the others are gone, the
    // lobby has lost its event sources.
    drop(tx);
    let mut session = match started {
        Ok(session) => session,
        Err(err) => return Outcome::Failed(err),
    };
    let mut phase = Phase::Starting {
        deadline: Deadline::after(spec.start_timeout),
    };
    let mut stats = (Instant::now(), 0u64);
    // Clipboard reads asked of the element and not answered yet: where each goes.
    let mut clipboard_reads: HashMap<u64, PathBuf> = HashMap::new();

    let outcome = loop {
        // Waiting input is delivered a batch per turn, each turn looking at the events
        // first: a stop is never behind more than one batch.
        deliver_input(&session, inbox, report);
        let wait = if inbox.is_empty() {
            TICK
        } else {
            Duration::ZERO
        };
        match rx.recv_timeout(wait) {
            // Messages of a pipeline built before this one (dropped for its audio) are
            // left: its socket announcement or errors are not this lobby's.
            Ok(Event::Bus(msg)) if !session.owns(&msg) => {}
            Ok(Event::Bus(msg)) => match msg.view() {
                gst::MessageView::Application(app) => {
                    if let Some(s) = app
                        .structure()
                        .filter(|s| s.name() == clipboard_event::REPLY)
                    {
                        clipboard_answered(s, &mut clipboard_reads, report);
                        continue;
                    }
                    let Some(s) = app.structure().filter(|s| s.name() == "wayland.src") else {
                        continue;
                    };
                    if !matches!(phase, Phase::Starting { .. }) {
                        continue;
                    }
                    match app_started(spec, &mut session, s, &encoder.element, report) {
                        Ok(()) => {
                            phase = Phase::Running {
                                since: Instant::now(),
                            }
                        }
                        Err(err) => break Outcome::Failed(err),
                    }
                }
                gst::MessageView::Error(err) => {
                    // Whatever the audio branch raises costs the audio only; its later
                    // errors (a source posts more than one as it dies) are the same failure.
                    if from_audio(err) {
                        if session.audio().is_some() {
                            let error = describe_error(err);
                            tracing::warn!(%error, "the lobby's audio failed; its video goes on");
                            session.fail_audio();
                            report.report(FromWorker::Audio {
                                sink: None,
                                error: Some(error),
                            });
                        }
                        continue;
                    }
                    break Outcome::Failed(describe_error(err));
                }
                gst::MessageView::Eos(_) => break Outcome::Stopped,
                gst::MessageView::Warning(w) => {
                    tracing::warn!(source = ?w.src().map(|s| s.path_string()), "{}", w.error());
                }
                _ => {}
            },
            Ok(Event::Command(ToWorker::Stop)) => break finish(&session, policy, &mut phase),
            Ok(Event::Command(ToWorker::Input { events })) => {
                if let Err(full) = inbox.push(events) {
                    tracing::warn!(capacity = full.capacity, "input beyond the window; dropped");
                }
            }
            Ok(Event::Input) => {}
            Ok(Event::Command(ToWorker::Screenshot { path })) => {
                let error = session.screenshot(&path).err();
                report.report(FromWorker::Screenshot { error });
            }
            Ok(Event::Command(ToWorker::ClipboardGet {
                request,
                path,
                mime_type,
            })) => {
                if clipboard_reads.len() >= MAX_CLIPBOARD_READS {
                    report.report(FromWorker::Clipboard {
                        request,
                        mime_type: None,
                        error: Some(format!(
                            "{MAX_CLIPBOARD_READS} clipboard reads are waiting already"
                        )),
                    });
                } else {
                    clipboard_reads.insert(request, path);
                    session.ask_clipboard(request, mime_type.as_deref());
                }
            }
            Ok(Event::Command(ToWorker::ClipboardSet {
                request,
                path,
                mime_type,
            })) => {
                let error = read_bounded(&path)
                    .and_then(|data| session.set_clipboard(&mime_type, data))
                    .err();
                report.report(FromWorker::Clipboard {
                    request,
                    mime_type: Some(mime_type),
                    error,
                });
            }
            Ok(Event::CommandsClosed) => {
                tracing::info!("the host is gone; stopping the lobby");
                break Outcome::Stopped;
            }
            Ok(Event::Signal(signal)) => {
                tracing::info!(signal, "signal received; stopping the lobby");
                break finish(&session, policy, &mut phase);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                break Outcome::Failed("the lobby lost its event sources".to_owned());
            }
        }

        // Checks that need no event.
        match phase {
            Phase::Starting { deadline } if deadline.passed() => {
                break Outcome::Failed(format!(
                    "start-up took longer than {} s (the compositor did not announce its socket)",
                    spec.start_timeout.as_secs_f64()
                ));
            }
            Phase::Running { since } => {
                if let Some(exit) = session.app_exited() {
                    if policy.app_exit_is_failure {
                        break Outcome::Failed(exit.to_string());
                    }
                    tracing::info!("{exit}; finishing");
                    if let Some(done) = begin_finish(&session, policy, &mut phase) {
                        break done;
                    }
                } else if policy.duration.is_some_and(|d| since.elapsed() >= d)
                    && let Some(done) = begin_finish(&session, policy, &mut phase)
                {
                    break done;
                }
            }
            Phase::Finishing { deadline } if deadline.passed() => {
                break Outcome::Failed("the pipeline did not finish its stream in time".to_owned());
            }
            _ => {}
        }
        if stats.0.elapsed() >= STATS_EVERY {
            let frames = session.frames();
            let fps = rate(frames.saturating_sub(stats.1), stats.0.elapsed());
            report.report(FromWorker::Stats { frames, fps });
            stats = (Instant::now(), frames);
        }
    };
    session.stop();
    outcome
}

/// Loads the lobby's sink (if it has audio), builds the pipeline and starts it. Audio that
/// cannot be had (no server, a refused sink, a source that fails to start) is reported and
/// left out; the lobby starts without it.
fn start_session(
    spec: &LobbySpec,
    encoder_fragment: &str,
    (tx, rx): (&SyncSender<Event>, &Receiver<Event>),
    report: &mut dyn Report,
) -> Result<Session, String> {
    let mut audio_failed = |error: String| {
        tracing::warn!(%error, "the lobby runs without audio");
        report.report(FromWorker::Audio {
            sink: None,
            error: Some(error),
        });
    };
    let sink = spec
        .audio
        .as_ref()
        .and_then(|audio| match load_sink(spec, audio) {
            Ok(sink) => Some(sink),
            Err(err) => {
                audio_failed(err);
                None
            }
        });
    let sink_name = sink.as_ref().map(|s| s.name().to_owned());
    let audio = sink.as_ref().and(spec.audio.as_ref());
    let description = pipeline::description(spec, encoder_fragment, audio);
    tracing::debug!(%description, "lobby pipeline");
    let session = Session::build(spec, &description, tx.clone(), sink)?;
    match session.play() {
        Ok(()) => {
            session.audio_recording();
            if let Some(sink) = sink_name {
                report.report(FromWorker::Audio {
                    sink: Some(sink),
                    error: None,
                });
            }
            Ok(session)
        }
        Err(err) => {
            // The bus usually holds the reason.
            let (detail, audio) = first_error(rx).unwrap_or((err, false));
            if !audio || sink_name.is_none() {
                return Err(detail);
            }
            drop(session);
            audio_failed(detail);
            let description = pipeline::description(spec, encoder_fragment, None);
            let session = Session::build(spec, &description, tx.clone(), None)?;
            session
                .play()
                .map_err(|err| first_error(rx).map_or(err, |(detail, _)| detail))?;
            Ok(session)
        }
    }
}

/// The lobby's null sink on its server.
fn load_sink(spec: &LobbySpec, audio: &AudioSpec) -> Result<LobbySink, String> {
    let server = match &audio.server {
        AudioServer::Address(server) => server,
        AudioServer::Unavailable(why) => return Err(why.clone()),
    };
    let owner = SinkOwner::this_process(&audio.instance, &spec.id).map_err(|e| e.to_string())?;
    LobbySink::load(server, owner, audio.channels).map_err(|e| e.to_string())
}

/// Whether an error comes from the audio branch.
fn from_audio(err: &gst::message::Error) -> bool {
    err.src()
        .is_some_and(|src| crate::audio::branch::is_audio_element(&src.name()))
}

/// Hands the next batch of waiting input to the compositor and tells the host it has room
/// for as many more.
fn deliver_input(session: &Session, inbox: &Inbox, report: &mut dyn Report) {
    let (events, taken) = inbox.take();
    if taken > 0 {
        session.input(&events);
        report.report(FromWorker::InputTaken { events: taken });
    }
}

/// Announces the socket, starts the app with it, and says the lobby is ready.
fn app_started(
    spec: &LobbySpec,
    session: &mut Session,
    announcement: &gst::StructureRef,
    encoder: &str,
    report: &mut dyn Report,
) -> Result<(), String> {
    let wayland_display = announcement
        .get::<String>("WAYLAND_DISPLAY")
        .map_err(|_| "the compositor's announcement has no WAYLAND_DISPLAY".to_owned())?;
    let runtime_dir = announcement
        .get::<String>("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .map_err(|_| "the compositor's announcement has no XDG_RUNTIME_DIR".to_owned())?;
    // Present exactly when the compositor allocated an X display (Xwayland not off).
    let x_display = announcement
        .get_optional::<String>("DISPLAY")
        .map_err(|err| format!("the compositor's announcement has an unreadable DISPLAY: {err}"))?;
    report.report(FromWorker::Socket {
        wayland_display: wayland_display.clone(),
        runtime_dir: runtime_dir.clone(),
        render_node: spec.render_node.clone(),
        x_display: x_display.clone(),
    });
    let (app_pid, container) = match &spec.app {
        Some(runner) => {
            let sockets = Sockets {
                wayland_display: &wayland_display,
                runtime_dir: &runtime_dir,
                x_display: x_display.as_deref(),
                // The session fills in its sink.
                audio: None,
            };
            let app = session
                .start_app(spec, runner, &sockets)
                .map_err(|err| err.to_string())?;
            (app.pid(), app.container().map(str::to_owned))
        }
        None => (None, None),
    };
    report.report(FromWorker::Ready {
        app_pid,
        container,
        encoder: encoder.to_owned(),
    });
    Ok(())
}

/// Ends a running lobby on request: the screenshot, then EOS if files must be finished.
fn finish(session: &Session, policy: &Policy, phase: &mut Phase) -> Outcome {
    begin_finish(session, policy, phase).unwrap_or(Outcome::Stopped)
}

/// Starts the end; `Some` when it is over at once, `None` while EOS travels.
fn begin_finish(session: &Session, policy: &Policy, phase: &mut Phase) -> Option<Outcome> {
    if let Some(path) = &policy.screenshot_at_end
        && let Err(err) = session.screenshot(path)
    {
        return Some(Outcome::Failed(format!("screenshot: {err}")));
    }
    if policy.finish_with_eos && !matches!(phase, Phase::Starting { .. }) {
        session.send_eos();
        *phase = Phase::Finishing {
            deadline: Deadline::after(EOS_WAIT),
        };
        None
    } else {
        Some(Outcome::Stopped)
    }
}

/// The first error on the bus, and whether the audio branch raised it.
fn first_error(rx: &Receiver<Event>) -> Option<(String, bool)> {
    let deadline = Deadline::after(Duration::from_secs(1));
    while let Some(left) = deadline.left() {
        match rx.recv_timeout(left) {
            Ok(Event::Bus(msg)) => {
                if let gst::MessageView::Error(err) = msg.view() {
                    return Some((describe_error(err), from_audio(err)));
                }
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Frames per second over `elapsed`.
fn rate(frames: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    // Frame counts stay far below 2^53, where f64 would round.
    #[allow(clippy::cast_precision_loss)]
    let frames = frames as f64;
    if seconds > 0.0 { frames / seconds } else { 0.0 }
}

fn describe_error(err: &gst::message::Error) -> String {
    let source = err
        .src()
        .map(|s| s.name().to_string())
        .unwrap_or_else(|| "the pipeline".to_owned());
    match err.debug() {
        Some(debug) => format!("{source}: {} ({debug})", err.error()),
        None => format!("{source}: {}", err.error()),
    }
}

/// Clipboard reads a worker keeps waiting at once; the host asks for fewer.
const MAX_CLIPBOARD_READS: usize = 16;

/// The element answered a clipboard read: its content goes to the file the host named.
fn clipboard_answered(
    answer: &gst::StructureRef,
    reads: &mut HashMap<u64, PathBuf>,
    report: &mut dyn Report,
) {
    let Some((request, path)) = answer
        .get::<u64>("id")
        .ok()
        .and_then(|id| reads.remove_entry(&id))
    else {
        return;
    };
    let result = if let Ok(error) = answer.get::<String>("error") {
        Err(error)
    } else {
        match (
            answer.get::<String>("mime-type"),
            answer.get::<gst::Buffer>("data"),
        ) {
            (Ok(mime_type), Ok(data)) => data
                .map_readable()
                .map_err(|_| "the clipboard's data cannot be read".to_owned())
                .and_then(|map| {
                    std::fs::write(&path, map.as_slice())
                        .map_err(|err| format!("writing {}: {err}", path.display()))
                })
                .map(|()| mime_type),
            _ => Err("the element's answer has no data".to_owned()),
        }
    };
    let (mime_type, error) = match result {
        Ok(mime_type) => (Some(mime_type), None),
        Err(error) => (None, Some(error)),
    };
    report.report(FromWorker::Clipboard {
        request,
        mime_type,
        error,
    });
}

/// The content the host wrote for a clipboard set, no larger than the clipboard takes.
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let limit = waylanddisplaycore::clipboard::MAX_CLIPBOARD_BYTES;
    let file = std::fs::File::open(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let mut data = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap)
        .read_to_end(&mut data)
        .map_err(|err| format!("{}: {err}", path.display()))?;
    if data.len() > limit {
        return Err(format!("the clipboard takes at most {limit} bytes"));
    }
    Ok(data)
}
