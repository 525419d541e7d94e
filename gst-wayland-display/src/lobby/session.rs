//! A running lobby's resources: the pipeline (and with it the compositor and its socket),
//! the thread that forwards its bus, and the application. Dropping it releases all of
//! them, in that order of safety: app, pipeline, bus thread.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use gst::prelude::*;
use waylanddisplaycore::InputEvent;

use super::driver::Event;
use super::protocol::{LobbySpec, Runner, XwaylandMode};
use super::runner::{AppAudio, AppExit, RunningApp, Sockets, StartError};
use crate::audio::LobbySink;
use crate::audio::branch;
use crate::time::Deadline;

/// How long ending a lobby waits for a failed audio source to stop.
const AUDIO_STOP_WAIT: Duration = Duration::from_secs(2);

pub(crate) struct Session {
    pipeline: gst::Pipeline,
    src: gst::Element,
    frames: Arc<AtomicU64>,
    bus: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    app: Option<RunningApp>,
    grace: Duration,
    /// The lobby's sink, unloaded after the pipeline that records it has stopped.
    audio: Option<LobbySink>,
    /// The thread taking a failed audio branch down (`branch::stop`).
    audio_stop: Option<JoinHandle<()>>,
}

impl Session {
    /// Builds the pipeline (with an audio branch recording `audio`'s monitor, when given:
    /// the description must have one); bus messages go to `events` from now on.
    pub(crate) fn build(
        spec: &LobbySpec,
        description: &str,
        events: SyncSender<Event>,
        audio: Option<LobbySink>,
    ) -> Result<Self, String> {
        let pipeline = gst::parse::launch(description)
            .map_err(|err| format!("cannot build the pipeline: {err}"))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| "the pipeline description is not a pipeline".to_owned())?;
        if let Some(sink) = &audio {
            branch::configure(&pipeline, sink.server(), &sink.monitor())?;
        }
        let src = pipeline
            .by_name("src")
            .ok_or_else(|| "the pipeline has no waylanddisplaysrc named src".to_owned())?;
        src.set_property("render-node", spec.render_node.as_str());
        src.set_property("window-mode", spec.window_mode.to_string());
        src.set_property("scale-to-fit", spec.scale_to_fit);
        src.set_property("scale", spec.scale);
        src.set_property("privileged-protocols", spec.privileged_protocols);
        set_xwayland(&src, spec.xwayland)?;

        let frames = Arc::new(AtomicU64::new(0));
        let counter = frames.clone();
        if let Some(pad) = src.static_pad("src") {
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                counter.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        }
        let bus = pipeline
            .bus()
            .ok_or_else(|| "the pipeline has no bus".to_owned())?;
        let running = Arc::new(AtomicBool::new(true));
        let keep = running.clone();
        let thread = std::thread::Builder::new()
            .name("lobby-bus".to_owned())
            .spawn(move || {
                while keep.load(Ordering::Relaxed) {
                    if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100))
                        && !forward(&events, Event::Bus(msg), &keep)
                    {
                        return;
                    }
                }
            })
            .map_err(|err| format!("cannot start the bus thread: {err}"))?;
        Ok(Self {
            pipeline,
            src,
            frames,
            bus: Some((running, thread)),
            app: None,
            grace: spec.stop_grace,
            audio,
            audio_stop: None,
        })
    }

    /// Whether `message` comes from this session's pipeline (not from one built before it
    /// and dropped, whose last messages may still be queued).
    pub(crate) fn owns(&self, message: &gst::Message) -> bool {
        let mut object = message.src().cloned();
        while let Some(current) = object {
            if current == *self.pipeline.upcast_ref::<gst::Object>() {
                return true;
            }
            object = current.parent();
        }
        false
    }

    /// Called once the pipeline is set playing (its audio source has connected its record
    /// stream while getting ready): see [`LobbySink::restart_clock`].
    pub(crate) fn audio_recording(&self) {
        if let (Some(sink), Some(source)) = (&self.audio, self.pipeline.by_name(branch::SOURCE)) {
            sink.restart_clock(source);
        }
    }

    /// The server and sink the app plays into, while the lobby has audio.
    pub(crate) fn audio(&self) -> Option<&LobbySink> {
        self.audio.as_ref()
    }

    /// The audio failed (its server went away): capture stops, the audio stream ends, the
    /// sink is unloaded if the server still answers; the video goes on.
    pub(crate) fn fail_audio(&mut self) {
        self.audio_stop = branch::stop(&self.pipeline);
        self.audio = None;
    }

    pub(crate) fn play(&self) -> Result<(), String> {
        self.pipeline
            .set_state(gst::State::Playing)
            .map(|_| ())
            .map_err(|_| "the pipeline refused to start".to_owned())
    }

    /// Starts the app on the compositor's socket; it is stopped with the session.
    pub(crate) fn start_app(
        &mut self,
        spec: &LobbySpec,
        runner: &Runner,
        sockets: &Sockets<'_>,
    ) -> Result<&RunningApp, StartError> {
        let sockets = Sockets {
            audio: self.audio.as_ref().map(|sink| AppAudio {
                server: sink.server(),
                sink: sink.name(),
            }),
            ..*sockets
        };
        let app = RunningApp::start(spec, runner, &sockets)?;
        Ok(self.app.insert(app))
    }

    /// How the app ended, once it has.
    pub(crate) fn app_exited(&mut self) -> Option<AppExit> {
        self.app.as_mut().and_then(RunningApp::exited)
    }

    pub(crate) fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Delivers input events to the compositor, as the element's custom upstream events.
    pub(crate) fn input(&self, events: &[InputEvent]) {
        for event in events {
            let structure = gstwaylanddisplaysrc::input_event::to_structure(event);
            self.src
                .send_event(gst::event::CustomUpstream::new(structure));
        }
    }

    /// Asks the element for the clipboard; it answers on the bus (`wayland.clipboard`,
    /// with `request` as its id).
    pub(crate) fn ask_clipboard(&self, request: u64, mime_type: Option<&str>) {
        let mut ask = gst::Structure::builder(gstwaylanddisplaysrc::clipboard_event::GET)
            .field("id", request);
        if let Some(mime_type) = mime_type {
            ask = ask.field("mime-type", mime_type);
        }
        self.src
            .send_event(gst::event::CustomUpstream::new(ask.build()));
    }

    /// Makes `data` the clipboard.
    pub(crate) fn set_clipboard(&self, mime_type: &str, data: Vec<u8>) -> Result<(), String> {
        let set = gst::Structure::builder(gstwaylanddisplaysrc::clipboard_event::SET)
            .field("mime-type", mime_type)
            .field("data", gst::Buffer::from_mut_slice(data))
            .build();
        if self.src.send_event(gst::event::CustomUpstream::new(set)) {
            Ok(())
        } else {
            Err("the compositor did not take the clipboard".to_owned())
        }
    }

    /// Writes the current picture to `path` as PNG: the source's RGB snapshot, drawn
    /// now, so it shows everything the compositor had received from the app when asked,
    /// exactly (the stream may be YUV, or on a GPU).
    pub(crate) fn screenshot(&self, path: &Path) -> Result<(), String> {
        let sample = self
            .src
            .emit_by_name::<Option<gst::Sample>>(gstwaylanddisplaysrc::SNAPSHOT_SIGNAL, &[])
            .ok_or_else(|| "the compositor gave no picture (see the log)".to_owned())?;
        let png_caps = gst::Caps::builder("image/png").build();
        let png =
            gst_video::convert_sample(&sample, &png_caps, Some(gst::ClockTime::from_seconds(5)))
                .map_err(|err| format!("cannot convert the frame to PNG: {err}"))?;
        let buffer = png
            .buffer()
            .ok_or_else(|| "the PNG conversion gave no data".to_owned())?;
        let map = buffer
            .map_readable()
            .map_err(|err| format!("cannot read the PNG: {err}"))?;
        std::fs::write(path, map.as_slice())
            .map_err(|err| format!("cannot write {}: {err}", path.display()))
    }

    /// Ends the stream so muxers can finish their files; the EOS arrives on the bus.
    pub(crate) fn send_eos(&self) {
        self.pipeline.send_event(gst::event::Eos::new());
    }

    /// Stops the app (grace, then SIGKILL), the pipeline and the bus thread. Idempotent.
    pub(crate) fn stop(&mut self) {
        if let Some(mut app) = self.app.take() {
            app.terminate(self.grace);
        }
        if let Some(stopping) = self.audio_stop.take() {
            // Bounded: a source stuck in its server's library is left to the process exit
            // rather than keep the lobby from ending.
            let deadline = Deadline::after(AUDIO_STOP_WAIT);
            while !stopping.is_finished() && !deadline.passed() {
                std::thread::sleep(Duration::from_millis(10));
            }
            if stopping.is_finished() {
                let _ = stopping.join();
            } else {
                tracing::warn!("the failed audio source did not stop in time");
            }
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        self.audio = None;
        if let Some((running, thread)) = self.bus.take() {
            running.store(false, Ordering::Relaxed);
            let _ = thread.join();
        }
    }
}

/// Sets the element's `xwayland`. An element without the property has no Xwayland: that
/// is what `off` asks and what the default can live without (the app gets no `DISPLAY`),
/// but a lobby that asked for `on` must not start as if it had one.
fn set_xwayland(src: &gst::Element, mode: XwaylandMode) -> Result<(), String> {
    let Some(property) = src.find_property("xwayland") else {
        return match mode {
            XwaylandMode::On => {
                Err("xwayland \"on\": this waylanddisplaysrc has no Xwayland".to_owned())
            }
            XwaylandMode::OnDemand | XwaylandMode::Off => Ok(()),
        };
    };
    // Checked, because setting a value of another type aborts instead of failing.
    if property.value_type() != gst::glib::Type::STRING
        || !property.flags().contains(gst::glib::ParamFlags::WRITABLE)
    {
        return Err(format!(
            "waylanddisplaysrc's xwayland is not a writable string (it is a {})",
            property.value_type()
        ));
    }
    src.set_property("xwayland", mode.to_string());
    Ok(())
}

/// Sends `event` to the lobby, waiting while its queue is full; gives up (false) when the
/// lobby is gone or no longer listens (`keep` cleared: it is stopping, and joins this
/// thread, so waiting on would never end).
fn forward(events: &SyncSender<Event>, mut event: Event, keep: &AtomicBool) -> bool {
    loop {
        match events.try_send(event) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(back)) => {
                if !keep.load(Ordering::Relaxed) {
                    return false;
                }
                event = back;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop();
    }
}
