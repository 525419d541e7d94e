//! `gst-wayland-display lobby`: the per-lobby worker the host starts. The first line on
//! stdin is the lobby's spec; commands follow, one JSON object per line; reports go to
//! stdout the same way. A closed stdin or SIGTERM (also sent when the host dies) stops the
//! lobby cleanly; SIGKILL leaves the host to clean up.

use std::io::{BufRead, LineWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use anyhow::Context;
use rustix::process::Signal;

use super::app;
use super::driver::{self, Event, Outcome, Policy, Report};
use super::inbox::Inbox;
use super::protocol::{FromWorker, LobbySpec, ToWorker};

#[derive(clap::Args)]
pub(crate) struct LobbyArgs {}

struct PipeReport(LineWriter<std::io::Stdout>);

impl Report for PipeReport {
    fn report(&mut self, message: FromWorker) {
        if let Ok(line) = serde_json::to_string(&message) {
            // The host reads line by line; a vanished host is noticed on stdin.
            let _ = writeln!(self.0, "{line}");
            let _ = self.0.flush();
        }
    }
}

pub(crate) fn run(_args: &LobbyArgs) -> anyhow::Result<ExitCode> {
    app::become_subreaper();
    // The host's death must end the lobby even if our stdin is held open elsewhere.
    if let Err(err) = rustix::process::set_parent_process_death_signal(Some(Signal::TERM)) {
        tracing::warn!(%err, "no parent-death signal");
    }
    let mut report = PipeReport(LineWriter::new(std::io::stdout()));
    let mut stdin = std::io::stdin().lock();
    let mut first = String::new();
    stdin
        .read_line(&mut first)
        .context("reading the lobby spec")?;
    let spec: LobbySpec = match serde_json::from_str(&first) {
        Ok(spec) => spec,
        Err(err) => {
            report.report(FromWorker::Failed {
                error: format!("the host sent an unreadable lobby spec: {err}"),
            });
            return Ok(ExitCode::from(2));
        }
    };
    drop(stdin);
    gst::init().context("initialising GStreamer")?;
    gstwaylanddisplaysrc::plugin_register_static().context("registering waylanddisplaysrc")?;

    let (tx, rx) = driver::events();
    let inbox = Arc::new(Inbox::new());
    let commands = tx.clone();
    let input = inbox.clone();
    std::thread::Builder::new()
        .name("lobby-commands".to_owned())
        .spawn(move || read_commands(&commands, &input))
        .context("starting the command reader")?;
    forward_signals(tx.clone())?;

    let policy = Policy {
        app_exit_is_failure: true,
        duration: None,
        screenshot_at_end: None,
        finish_with_eos: false,
    };
    Ok(
        match driver::drive(&spec, &policy, (tx, rx), &inbox, &mut report) {
            Outcome::Stopped => ExitCode::SUCCESS,
            Outcome::Failed(_) => ExitCode::FAILURE,
        },
    )
}

/// Reads the host's commands: input into the inbox, the rest to the lobby's events. Input
/// never blocks this thread (the host keeps within the inbox), so a stop behind a flood of
/// input is read as soon as it arrives.
fn read_commands(events: &SyncSender<Event>, inbox: &Inbox) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let sent = match serde_json::from_str::<ToWorker>(&line) {
            Ok(ToWorker::Input { events: input }) => {
                match inbox.push(input) {
                    // A wake-up; when the channel is full the lobby is awake anyway.
                    Ok(true) => {
                        let _ = events.try_send(Event::Input);
                    }
                    Ok(false) => {}
                    Err(full) => tracing::warn!(
                        capacity = full.capacity,
                        "the host sent more input than the worker holds; dropped"
                    ),
                }
                Ok(())
            }
            Ok(command) => events.send(Event::Command(command)),
            Err(err) => {
                tracing::warn!(%err, "unreadable command from the host");
                Ok(())
            }
        };
        if sent.is_err() {
            return;
        }
    }
    let _ = events.send(Event::CommandsClosed);
}

/// SIGTERM and SIGINT become events, so the lobby is torn down rather than abandoned.
pub(crate) fn forward_signals(tx: SyncSender<Event>) -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .context("installing signal handlers")?;
    std::thread::Builder::new()
        .name("lobby-signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                if tx.send(Event::Signal(signal)).is_err() {
                    return;
                }
            }
        })
        .context("starting the signal thread")?;
    Ok(())
}
