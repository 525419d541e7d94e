//! `/metrics` in Prometheus' text format.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::Host;
use super::registry::LobbyState;

pub(crate) fn render(host: &Host) -> String {
    let mut out = String::new();
    let counts = host.registry.counts();
    let _ = writeln!(
        out,
        "# HELP gwd_lobbies Lobbies by state.\n# TYPE gwd_lobbies gauge"
    );
    for state in LobbyState::ALL {
        let n = counts.get(&state).copied().unwrap_or(0);
        let _ = writeln!(out, "gwd_lobbies{{state=\"{}\"}} {n}", state.name());
    }
    let counters = &host.registry.counters;
    for (name, help, value) in [
        (
            "gwd_lobbies_created_total",
            "Lobbies created.",
            &counters.created,
        ),
        (
            "gwd_lobbies_failed_total",
            "Lobbies that failed.",
            &counters.failed,
        ),
        (
            "gwd_lobbies_stopped_total",
            "Lobbies stopped on request.",
            &counters.stopped,
        ),
        (
            "gwd_sockets_swept_total",
            "Stale socket files and locks removed.",
            &counters.swept,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            value.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP gwd_lobby_frames_total Frames produced by a running lobby.\n# TYPE gwd_lobby_frames_total counter"
    );
    let lobbies = host.registry.list();
    for lobby in lobbies.iter().filter(|l| !l.state.ended()) {
        let _ = writeln!(
            out,
            "gwd_lobby_frames_total{{lobby=\"{}\"}} {}",
            lobby.id, lobby.frames
        );
    }
    let _ = writeln!(
        out,
        "# HELP gwd_lobby_fps Frame rate of a running lobby.\n# TYPE gwd_lobby_fps gauge"
    );
    for lobby in lobbies.iter().filter(|l| !l.state.ended()) {
        let _ = writeln!(
            out,
            "gwd_lobby_fps{{lobby=\"{}\"}} {:.2}",
            lobby.id, lobby.fps
        );
    }
    let _ = writeln!(
        out,
        "# HELP gwd_uptime_seconds Time since the host started.\n# TYPE gwd_uptime_seconds gauge\ngwd_uptime_seconds {:.1}",
        host.started.elapsed().as_secs_f64()
    );
    out
}
