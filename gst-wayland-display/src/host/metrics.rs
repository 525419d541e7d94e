//! `/metrics`, in the OpenMetrics text format Prometheus scrapes.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Host;
use super::registry::LobbyState;

pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

/// The host's metrics as they stand now. The lifetime counters are the registry's own (the
/// registered clones share their values); per-state and per-lobby figures are read at this
/// moment.
pub(crate) fn render(host: &Host) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();

    let by_state = Family::<Labels, Gauge>::default();
    let counts = host.registry.counts();
    for state in LobbyState::ALL {
        let n = counts.get(&state).copied().unwrap_or(0);
        by_state
            .get_or_create(&vec![("state", state.name().to_owned())])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    registry.register("gwd_lobbies", "Lobbies by state", by_state);

    let counters = &host.registry.counters;
    for (name, help, counter) in [
        ("gwd_lobbies_created", "Lobbies created", &counters.created),
        (
            "gwd_lobbies_failed",
            "Lobbies that failed",
            &counters.failed,
        ),
        (
            "gwd_lobbies_stopped",
            "Lobbies stopped on request",
            &counters.stopped,
        ),
        (
            "gwd_lobbies_recovered",
            "Lobbies of a previous run ended at start-up",
            &counters.recovered,
        ),
        (
            "gwd_sockets_swept",
            "Stale socket files and locks removed",
            &counters.swept,
        ),
        (
            "gwd_containers_swept",
            "Containers of ended lobbies or of a previous run removed by the host",
            &counters.containers_swept,
        ),
        (
            "gwd_x11_displays_swept",
            "X displays (lock and socket) of killed workers removed by the host",
            &counters.x11_displays_swept,
        ),
        (
            "gwd_audio_sinks_swept",
            "Null sinks of killed workers or of a previous run unloaded by the host",
            &counters.sinks_swept,
        ),
        (
            "gwd_input_refused",
            "Input requests refused because their lobby's input queue was full",
            &counters.input_refused,
        ),
        (
            "gwd_api_connections_evicted",
            "API connections closed at the cap before they sent a request",
            &host.http_counters.evicted,
        ),
        (
            "gwd_api_connections_refused",
            "API connections closed on arrival because every open one was busy",
            &host.http_counters.refused,
        ),
        (
            "gwd_api_accept_exhausted",
            "API accepts that failed for lack of file descriptors or memory",
            &host.http_counters.fd_exhausted,
        ),
    ] {
        registry.register(name, help, counter.clone());
    }

    let frames = Family::<Labels, Counter>::default();
    let fps = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let audio = Family::<Labels, Gauge>::default();
    let with_audio = Gauge::<i64>::default();
    for lobby in host.registry.list().iter().filter(|l| !l.state.ended()) {
        let labels = vec![("lobby", lobby.id.clone())];
        frames.get_or_create(&labels).inc_by(lobby.frames);
        fps.get_or_create(&labels).set(lobby.fps);
        // 1 while the lobby streams its sink, 0 once its audio failed; no series for a
        // lobby without audio.
        if let Some(info) = &lobby.audio {
            let sink = info.sink.clone().unwrap_or_default();
            let playing = info.sink.is_some() && info.error.is_none();
            audio
                .get_or_create(&vec![("lobby", lobby.id.clone()), ("sink", sink)])
                .set(i64::from(playing));
            with_audio.inc();
        }
    }
    registry.register(
        "gwd_lobby_audio",
        "Whether a running lobby with audio streams its sink (labelled with the sink)",
        audio,
    );
    registry.register(
        "gwd_lobbies_with_audio",
        "Running lobbies created with audio",
        with_audio,
    );
    registry.register(
        "gwd_lobby_frames",
        "Frames produced by a running lobby",
        frames,
    );
    registry.register("gwd_lobby_fps", "Frame rate of a running lobby", fps);

    let uptime = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
    uptime.set(host.started.elapsed().as_secs_f64());
    registry.register("gwd_uptime_seconds", "Time since the host started", uptime);

    let mut out = String::new();
    encode(&mut out, &registry)?;
    Ok(out)
}
