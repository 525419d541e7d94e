//! The compositor thread: one calloop event loop serving the listening socket, the
//! clients and the handle's commands until told to stop.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use smithay::reexports::calloop::generic::Generic;
use smithay::reexports::calloop::{EventLoop, Interest, LoopHandle, Mode, PostAction, channel};
use smithay::reexports::wayland_server::Display;
use smithay::reexports::wayland_server::backend::{ClientId, DisconnectReason};

use super::config::Setup;
use super::input_gate::InputGate;
use super::thread::{Command, Ready, Started};
use crate::comp::{PictureChanged, State, add_evdev_device, new_evdev_context};
use crate::render::{Frame, RenderError};
use crate::{DisplayError, InputEvent};

/// The thread's ends of what connects it to the handle.
pub(crate) struct Link {
    pub(crate) commands: channel::Channel<Command>,
    pub(crate) frames: SyncSender<Result<Frame, RenderError>>,
    pub(crate) changed: PictureChanged,
    /// Told of every input event handled.
    pub(crate) input: Arc<InputGate>,
}

/// What the event loop's sources share besides the compositor state.
struct LoopData {
    state: State,
    handle: LoopHandle<'static, LoopData>,
    /// Created with the first evdev device.
    evdev: Option<smithay::reexports::input::Libinput>,
    /// Every client accepted (dead ones are pruned on each accept).
    clients: Vec<ClientId>,
    frame_requested: bool,
    stop: bool,
    input: Arc<InputGate>,
}

/// Serves clients and commands until told to stop; `ready` hears once it serves.
pub(crate) fn run(setup: Setup, link: Link, ready: &SyncSender<Ready>) -> Result<(), DisplayError> {
    let setup_err =
        |what: &str, err: &dyn std::fmt::Display| DisplayError::Setup(format!("{what}: {err}"));
    let mut event_loop: EventLoop<'static, LoopData> =
        EventLoop::try_new().map_err(|e| setup_err("event loop", &e))?;
    let mut display: Display<State> =
        Display::new().map_err(|e| setup_err("wayland display", &e))?;
    let (state, fell_back) = State::new(&display.handle(), &setup, link.changed)?;
    let handle = event_loop.handle();
    let mut data = LoopData {
        state,
        handle: handle.clone(),
        evdev: None,
        clients: Vec::new(),
        frame_requested: false,
        stop: false,
        input: link.input,
    };

    handle
        .insert_source(
            Generic::new(setup.listener, Interest::READ, Mode::Level),
            |_, listener, data: &mut LoopData| {
                accept_clients(listener, data);
                Ok(PostAction::Continue)
            },
        )
        .map_err(|e| setup_err("listening socket", &e.error))?;
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
        if std::mem::take(&mut data.frame_requested) {
            // The requester may have given up and gone; nothing to do then.
            let _ = link.frames.try_send(data.state.produce_frame());
        }
        if let Err(err) = display.flush_clients() {
            tracing::debug!(%err, "flushing clients");
        }
    }
    tracing::debug!("compositor stopping");
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

fn handle_command(command: Command, data: &mut LoopData) {
    match command {
        Command::Frame => data.frame_requested = true,
        Command::SetMode(mode, target, reply) => {
            let _ = reply.try_send(data.state.set_mode(mode, target));
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
    let client = dh
        .insert_client(stream, data.state.new_client_data())
        .map_err(|err| format!("could not add the client: {err}"))?;
    data.clients.push(client.id());
    Ok(client.id())
}

fn accept_clients(listener: &UnixListener, data: &mut LoopData) {
    let mut dh = data.state.dh.clone();
    data.clients
        .retain(|id| dh.backend_handle().get_client_data(id.clone()).is_ok());
    loop {
        match listener.accept() {
            Ok((stream, _)) => match dh.insert_client(stream, data.state.new_client_data()) {
                Ok(client) => data.clients.push(client.id()),
                Err(err) => tracing::warn!(%err, "could not add a client"),
            },
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(err) => {
                tracing::warn!(%err, "accepting a client failed");
                return;
            }
        }
    }
}
