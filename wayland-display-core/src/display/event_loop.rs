//! The compositor thread: one calloop event loop serving the listening socket, the
//! clients and the handle's commands until told to stop.

use std::ffi::CString;
use std::io::ErrorKind;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use smithay::reexports::calloop::generic::Generic;
use smithay::reexports::calloop::timer::{TimeoutAction, Timer};
use smithay::reexports::calloop::{
    EventLoop, Interest, LoopHandle, Mode, PostAction, RegistrationToken, channel,
};
use smithay::reexports::wayland_server::Display;
use smithay::reexports::wayland_server::backend::{ClientId, DisconnectReason};
use wayland_backend::protocol::WL_DISPLAY_INTERFACE;
use wayland_backend::server::ClientLimits as BackendLimits;

use super::config::{ClientLimits, Setup};
use super::input_gate::InputGate;
use super::thread::{Command, Ready, Started};
use crate::comp::schedule::FrameDue;
use crate::comp::{PictureChanged, State, add_evdev_device, new_evdev_context};
use crate::render::{Frame, RenderError};
use crate::{DisplayError, InputEvent};

/// The thread's ends of what connects it to the handle.
pub(crate) struct Link {
    pub(crate) commands: channel::Channel<Command>,
    pub(crate) frames: SyncSender<Result<Frame, RenderError>>,
    pub(crate) changed: PictureChanged,
    /// Marked when a frame newer than the last one sent to the handle was made for someone
    /// else (a screen capture, a snapshot): the handle's cached frame is stale then.
    pub(crate) stale: PictureChanged,
    /// When the next frame is due, for scheduling frame callbacks.
    pub(crate) due: FrameDue,
    /// Told of every input event handled.
    pub(crate) input: Arc<InputGate>,
}

/// The first pause of accepting when descriptors run out; each failed retry doubles it,
/// up to [`ACCEPT_PAUSE_MAX`]. Short enough that a client connecting just after the
/// pressure ends hardly notices, long enough that a full process costs nothing.
const ACCEPT_PAUSE_FIRST: Duration = Duration::from_millis(50);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// What the event loop's sources share besides the compositor state.
pub(crate) struct LoopData {
    pub(crate) state: State,
    pub(super) handle: LoopHandle<'static, LoopData>,
    /// Created with the first evdev device.
    evdev: Option<smithay::reexports::input::Libinput>,
    /// Every client accepted (dead ones are pruned on each accept), and Xwayland.
    pub(super) clients: Vec<ClientId>,
    /// The X display until its first client connects (on-demand Xwayland).
    pub(super) x11_waiting: Option<super::xwayland_loop::Waiting>,
    frame_requested: bool,
    /// See [`Link::stale`]; `sent` is the number of the last frame sent to the handle.
    stale: PictureChanged,
    sent: Option<u64>,
    stop: bool,
    input: Arc<InputGate>,
    /// The listening socket's source, disabled while accepting is paused.
    listener: Option<RegistrationToken>,
    /// While accepting is paused: since when, and the current pause.
    accept_paused: Option<(Instant, Duration)>,
    /// Clients disconnected outside dispatching; the loop cleans them up next.
    reap: Vec<ClientId>,
}

/// Serves clients and commands until told to stop; `ready` hears once it serves.
pub(crate) fn run(setup: Setup, link: Link, ready: &SyncSender<Ready>) -> Result<(), DisplayError> {
    let setup_err =
        |what: &str, err: &dyn std::fmt::Display| DisplayError::Setup(format!("{what}: {err}"));
    let mut event_loop: EventLoop<'static, LoopData> =
        EventLoop::try_new().map_err(|e| setup_err("event loop", &e))?;
    let mut display: Display<State> =
        Display::new().map_err(|e| setup_err("wayland display", &e))?;
    let (state, fell_back) = State::new(&display.handle(), &setup, link.changed, link.due)?;
    let handle = event_loop.handle();
    let mut data = LoopData {
        state,
        handle: handle.clone(),
        evdev: None,
        clients: Vec::new(),
        frame_requested: false,
        stale: link.stale,
        sent: None,
        stop: false,
        input: link.input,
        listener: None,
        accept_paused: None,
        reap: Vec::new(),
        x11_waiting: None,
    };
    data.state.loop_handle = Some(handle.clone());
    let limits = data.state.client_limits;
    tracing::debug!(?limits, "client limits");
    display
        .handle()
        .backend_handle()
        .set_client_limits(backend_limits(&limits));

    let listener = handle
        .insert_source(
            Generic::new(setup.listener, Interest::READ, Mode::Level),
            |_, listener, data: &mut LoopData| Ok(accept_clients(listener, data)),
        )
        .map_err(|e| setup_err("listening socket", &e.error))?;
    data.listener = Some(listener);
    if let Some(interval) = stall_check_interval(limits.stall_timeout) {
        handle
            .insert_source(Timer::from_duration(interval), move |_, _, data| {
                drop_stalled_clients(data, limits.stall_timeout);
                TimeoutAction::ToDuration(interval)
            })
            .map_err(|e| setup_err("stall timer", &e.error))?;
    }
    // Only wakes the loop; clients are dispatched after every wake-up, below.
    let display_fd = display
        .backend()
        .poll_fd()
        .try_clone_to_owned()
        .map_err(|e| setup_err("display fd", &e))?;
    handle
        .insert_source(
            Generic::new(display_fd, Interest::READ, Mode::Level),
            |_, _, _: &mut LoopData| Ok(PostAction::Continue),
        )
        .map_err(|e| setup_err("display fd", &e.error))?;
    handle
        .insert_source(link.commands, |event, _, data: &mut LoopData| match event {
            channel::Event::Msg(command) => handle_command(command, data),
            channel::Event::Closed => data.stop = true,
        })
        .map_err(|e| setup_err("command channel", &e.error))?;

    if let Some(x11) = setup.x11 {
        super::xwayland_loop::arm(&mut data, x11)?;
    }

    let dmabuf_formats = data.state.renderer.dmabuf_formats();
    let _ = ready.try_send(Ok(Started {
        fell_back,
        dmabuf_formats,
    }));
    while !data.stop {
        event_loop
            .dispatch(None, &mut data)
            .map_err(|e| setup_err("event loop", &e))?;
        display
            .dispatch_clients(&mut data.state)
            .map_err(|e| setup_err("dispatching clients", &e))?;
        for client in std::mem::take(&mut data.reap) {
            // A client killed outside dispatching keeps its socket, buffers and objects
            // until it is dispatched once more.
            let _ = display
                .backend()
                .dispatch_single_client(&mut data.state, client);
        }
        super::xwayland_loop::check(&mut data);
        if std::mem::take(&mut data.frame_requested) {
            let frame = data.state.produce_frame();
            if let Ok(frame) = &frame {
                data.sent = Some(frame.seq);
            }
            data.stale.clear();
            // The requester may have given up and gone; nothing to do then.
            let _ = link.frames.try_send(frame);
        }
        // After the frame, which serves what waits for the next picture.
        data.state.serve_screencopies();
        mark_if_stale(&data);
        if let Err(err) = display.flush_clients() {
            tracing::debug!(%err, "flushing clients");
        }
    }
    tracing::debug!("compositor stopping");
    data.state.stop_xwayland("the compositor stops");
    disconnect_clients(&mut display, &mut data);
    Ok(())
}

/// Disconnects every client through the protocol machinery before the display goes.
/// Dropping the display alone skips the objects' destructors, and Smithay's seat keeps
/// its keyboards and pointers (and through their focus, surfaces, buffers and the
/// clients' shm pools: an fd and a mapping per client) in reference cycles that only
/// those destructors break.
fn disconnect_clients(display: &mut Display<State>, data: &mut LoopData) {
    let handle = display.handle();
    let mut last = None;
    for client in data.clients.drain(..) {
        handle
            .backend_handle()
            .kill_client(client.clone(), DisconnectReason::ConnectionClosed);
        last = Some(client);
    }
    // dispatch_clients() only cleans up when some client has pending events;
    // dispatch_single_client() always runs the destructors of every dead client.
    if let Some(client) = last {
        let _ = display
            .backend()
            .dispatch_single_client(&mut data.state, client);
    }
    let _ = display.flush_clients();
}

/// Marks the handle's cached frame stale when a newer one was made since it was sent.
fn mark_if_stale(data: &LoopData) {
    if data.sent.is_some() && data.state.renderer.repeat_last().map(|f| f.seq) != data.sent {
        data.stale.mark();
    }
}

fn handle_command(command: Command, data: &mut LoopData) {
    match command {
        Command::Frame => data.frame_requested = true,
        Command::SetMode(mode, target, reply) => {
            let _ = reply.try_send(data.state.set_mode(mode, target));
        }
        Command::SetScale(scale, reply) => {
            data.state.set_scale(scale);
            let _ = reply.try_send(());
        }
        Command::Input(InputEvent::VirtualDevicesReady { path }) => {
            if let Err(err) = add_device(data, Path::new(&path)) {
                tracing::warn!(%err, "input device not used");
            }
            data.input.leave();
        }
        Command::Input(event) => {
            data.state.handle_input(event);
            data.input.leave();
        }
        Command::AddDevice(path, reply) => {
            let _ = reply.try_send(add_device(data, &path));
        }
        Command::AddClient(stream, reply) => {
            let result = add_client(data, stream);
            let _ = reply.try_send(result);
        }
        Command::PlaceWindow {
            client,
            surface,
            at,
            reply,
        } => {
            let _ = reply.try_send(data.state.place_window(&client, surface, at.into()));
        }
        Command::Sync(reply) => {
            let _ = reply.try_send(());
        }
        Command::Snapshot(reply) => {
            let snapshot = data.state.produce_rgb_frame();
            // Before the reply: a caller that asks for a frame as soon as it has the
            // snapshot must find its cached frame stale already.
            mark_if_stale(data);
            let _ = reply.try_send(snapshot);
        }
        Command::ReadClipboard(wanted, reply) => {
            let _ = reply.try_send(data.state.read_clipboard(&wanted));
        }
        Command::SetClipboard(content) => data.state.set_clipboard(content),
        Command::Stop => data.stop = true,
        #[cfg(test)]
        #[allow(clippy::panic)]
        Command::Panic => panic!("injected test panic"),
    }
}

fn add_device(data: &mut LoopData, path: &Path) -> Result<(), String> {
    if data.evdev.is_none() {
        let (context, backend) = new_evdev_context();
        data.handle
            .insert_source(backend, |event, _, data: &mut LoopData| {
                data.state.handle_evdev(event)
            })
            .map_err(|e| format!("could not watch libinput: {}", e.error))?;
        data.evdev = Some(context);
    }
    match data.evdev.as_mut() {
        Some(context) => add_evdev_device(context, path),
        None => Err("libinput is not available".to_owned()),
    }
}

fn add_client(data: &mut LoopData, stream: UnixStream) -> Result<ClientId, String> {
    stream
        .set_nonblocking(true)
        .map_err(|err| format!("could not make the client socket non-blocking: {err}"))?;
    let mut dh = data.state.dh.clone();
    let client_data = data.state.new_client_data(&stream);
    let client = dh
        .insert_client(stream, client_data)
        .map_err(|err| format!("could not add the client: {err}"))?;
    data.clients.push(client.id());
    Ok(client.id())
}

/// Accepts every waiting client. When accepting fails for want of descriptors or memory,
/// the listener pauses (see [`pause_accepting`]): a level-triggered listener that keeps
/// failing would otherwise wake the loop at once, forever.
fn accept_clients(listener: &UnixListener, data: &mut LoopData) -> PostAction {
    let mut dh = data.state.dh.clone();
    data.clients
        .retain(|id| dh.backend_handle().get_client_data(id.clone()).is_ok());
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                accepting_again(data);
                let client_data = data.state.new_client_data(&stream);
                match dh.insert_client(stream, client_data) {
                    Ok(client) => data.clients.push(client.id()),
                    Err(err) => tracing::warn!(%err, "could not add a client"),
                }
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                accepting_again(data);
                return PostAction::Continue;
            }
            // A signal, or a peer that gave up before being accepted: try the next one.
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) => {}
            Err(err) => return pause_accepting(data, &err),
        }
    }
}

/// Disables the listener and re-enables it after a pause that doubles with every failed
/// retry; one warning per episode. EMFILE and ENFILE end when clients leave, ENOBUFS and
/// ENOMEM when memory frees up; anything else is retried the same way rather than spun on.
fn pause_accepting(data: &mut LoopData, err: &std::io::Error) -> PostAction {
    let Some(token) = data.listener else {
        return PostAction::Continue;
    };
    let (since, pause) = match data.accept_paused {
        Some((since, pause)) => (since, pause.saturating_mul(2).min(ACCEPT_PAUSE_MAX)),
        None => {
            tracing::warn!(
                %err,
                "cannot accept clients; the listener pauses and retries every \
                 {ACCEPT_PAUSE_FIRST:?} to {ACCEPT_PAUSE_MAX:?} until it works again \
                 (when out of descriptors: clients leaving free them, or raise RLIMIT_NOFILE)"
            );
            (Instant::now(), ACCEPT_PAUSE_FIRST)
        }
    };
    data.accept_paused = Some((since, pause));
    let resume = data
        .handle
        .insert_source(Timer::from_duration(pause), move |_, _, data| {
            if let Err(err) = data.handle.enable(&token) {
                tracing::error!(%err, "could not resume accepting clients");
            }
            TimeoutAction::Drop
        });
    match resume {
        Ok(_) => PostAction::Disable,
        Err(err) => {
            tracing::error!(error = %err.error, "could not pause accepting clients");
            PostAction::Continue
        }
    }
}

/// Ends a pause episode, if one was running.
fn accepting_again(data: &mut LoopData) {
    if let Some((since, _)) = data.accept_paused.take() {
        tracing::info!(paused = ?since.elapsed(), "accepting clients again");
    }
}

/// `wl_display.error.invalid_method`: wayland-server generates no `wl_display` module.
const WL_DISPLAY_INVALID_METHOD: u32 = 1;

fn backend_limits(limits: &ClientLimits) -> BackendLimits {
    BackendLimits {
        max_pending_fds: usize::try_from(limits.max_pending_fds).unwrap_or(usize::MAX),
        max_objects: limits.max_objects,
    }
}

/// How often to look for stalled clients: within half the timeout, but no more than ten
/// times a second and at least once a second. `None`: the timeout is off.
fn stall_check_interval(timeout: Duration) -> Option<Duration> {
    if timeout.is_zero() {
        return None;
    }
    let half = timeout.checked_div(2).unwrap_or(timeout);
    Some(half.clamp(Duration::from_millis(100), Duration::from_secs(1)))
}

/// Disconnects clients whose next request has been incomplete for `timeout`. They get a
/// `wl_display.error` (`invalid_method`: a request that never completes is a malformed
/// one) although one stuck mid-message rarely reads it: the error is what the log and the
/// disconnect reason report, the same as for every other limit.
fn drop_stalled_clients(data: &mut LoopData, timeout: Duration) {
    let handle = data.state.dh.backend_handle();
    data.clients
        .retain(|id| handle.get_client_data(id.clone()).is_ok());
    for client in &data.clients {
        let stalled = handle
            .incomplete_message_since(client.clone())
            .is_some_and(|since| since.elapsed() >= timeout);
        if !stalled {
            continue;
        }
        let Ok(display) = handle.object_for_protocol_id(client.clone(), &WL_DISPLAY_INTERFACE, 1)
        else {
            continue;
        };
        let text = format!(
            "request incomplete for longer than the stall timeout of {} ms",
            timeout.as_millis()
        );
        handle.post_error(
            display,
            WL_DISPLAY_INVALID_METHOD,
            CString::new(text).unwrap_or_default(),
        );
        data.reap.push(client.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalled_clients_are_looked_for_within_half_the_timeout_but_not_too_often() {
        let ms = Duration::from_millis;
        assert_eq!(stall_check_interval(Duration::ZERO), None);
        assert_eq!(stall_check_interval(ms(10)), Some(ms(100)));
        assert_eq!(stall_check_interval(ms(500)), Some(ms(250)));
        assert_eq!(
            stall_check_interval(Duration::from_secs(10)),
            Some(ms(1000))
        );
    }

    #[test]
    fn limits_reach_the_backend_unchanged() {
        let limits = backend_limits(&ClientLimits::DEFAULT);
        assert_eq!(limits.max_objects, 100_000);
        assert_eq!(limits.max_pending_fds, 128);
    }
}
