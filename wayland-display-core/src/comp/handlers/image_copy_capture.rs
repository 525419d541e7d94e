//! `ext_image_copy_capture_manager_v1` with `ext_output_image_capture_source_manager_v1`:
//! the standard successor of wlr-screencopy (xdg-desktop-portal-wlr, newer capture tools).
//! A session captures the whole output into shm buffers the session describes; its first
//! frame is the current picture, each later one waits for the picture to change. The
//! copies are `comp/screencopy.rs`'s, as for wlr-screencopy.

use std::sync::Mutex;

use smithay::output::Output;
use smithay::reexports::wayland_protocols::ext::image_capture_source::v1::server::{
    ext_image_capture_source_v1::{self, ExtImageCaptureSourceV1},
    ext_output_image_capture_source_manager_v1::{self, ExtOutputImageCaptureSourceManagerV1},
};
use smithay::reexports::wayland_protocols::ext::image_copy_capture::v1::server::{
    ext_image_copy_capture_cursor_session_v1::{self, ExtImageCopyCaptureCursorSessionV1},
    ext_image_copy_capture_frame_v1::{self, ExtImageCopyCaptureFrameV1, FailureReason},
    ext_image_copy_capture_manager_v1::{self, ExtImageCopyCaptureManagerV1, Options},
    ext_image_copy_capture_session_v1::{self, ExtImageCopyCaptureSessionV1},
};
use smithay::reexports::wayland_server::protocol::wl_buffer::WlBuffer;
use smithay::reexports::wayland_server::protocol::wl_shm;
use smithay::reexports::wayland_server::{
    Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource,
};

use super::screencopy::check_buffer;
use crate::comp::State;
use crate::comp::screencopy::{CopyTarget, PendingCopy, Region, Wait};

/// A source: whether it is this compositor's output.
pub(crate) struct CaptureSource {
    ours: bool,
}

/// One capture session: what its buffers must be, whether it draws the cursor, its
/// current frame (one at a time) and the picture it delivered last.
pub(crate) struct CaptureSession {
    /// `None`: the session was stopped at once (not our output).
    region: Option<Region>,
    paint_cursors: bool,
    state: Mutex<SessionState>,
}

#[derive(Default)]
struct SessionState {
    frame: Option<ExtImageCopyCaptureFrameV1>,
    /// The stream's frame number when the last frame was delivered.
    delivered: Option<u64>,
    /// Whether a frame was delivered at all (the first waits for nothing).
    started: bool,
}

impl CaptureSession {
    fn lock(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records that a frame went out while the stream showed frame number `shown`.
    pub(crate) fn delivered(&self, shown: Option<u64>) {
        let mut state = self.lock();
        state.delivered = shown;
        state.started = true;
    }
}

/// One frame of a session.
pub(crate) struct CaptureFrame {
    session: ExtImageCopyCaptureSessionV1,
    state: Mutex<FrameState>,
}

#[derive(Default)]
struct FrameState {
    buffer: Option<WlBuffer>,
    captured: bool,
}

impl State {
    /// Offers `ext-image-copy-capture` of the output (privileged, as wlr-screencopy).
    pub(crate) fn offer_image_copy_capture(&mut self) {
        self.dh
            .create_global::<State, ExtOutputImageCaptureSourceManagerV1, _>(1, ());
        self.dh
            .create_global::<State, ExtImageCopyCaptureManagerV1, _>(1, ());
    }
}

impl GlobalDispatch<ExtOutputImageCaptureSourceManagerV1, ()> for State {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ExtOutputImageCaptureSourceManagerV1>,
        _global: &(),
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }
}

impl Dispatch<ExtOutputImageCaptureSourceManagerV1, ()> for State {
    fn request(
        state: &mut Self,
        _client: &Client,
        _manager: &ExtOutputImageCaptureSourceManagerV1,
        request: ext_output_image_capture_source_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let ext_output_image_capture_source_manager_v1::Request::CreateSource {
            source,
            output,
        } = request
        {
            let ours = Output::from_resource(&output).as_ref() == Some(&state.output);
            data_init.init(source, CaptureSource { ours });
        }
    }
}

impl Dispatch<ExtImageCaptureSourceV1, CaptureSource> for State {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _source: &ExtImageCaptureSourceV1,
        _request: ext_image_capture_source_v1::Request,
        _data: &CaptureSource,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        // Only `destroy`, which the server library handles.
    }
}

impl GlobalDispatch<ExtImageCopyCaptureManagerV1, ()> for State {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ExtImageCopyCaptureManagerV1>,
        _global: &(),
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }
}

impl Dispatch<ExtImageCopyCaptureManagerV1, ()> for State {
    fn request(
        state: &mut Self,
        _client: &Client,
        manager: &ExtImageCopyCaptureManagerV1,
        request: ext_image_copy_capture_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        match request {
            ext_image_copy_capture_manager_v1::Request::CreateSession {
                session,
                source,
                options,
            } => {
                let Ok(options) = options.into_result() else {
                    manager.post_error(
                        ext_image_copy_capture_manager_v1::Error::InvalidOption,
                        "unknown session options",
                    );
                    return;
                };
                let ours = source.data::<CaptureSource>().is_some_and(|s| s.ours);
                let region = state.whole_output_region().filter(|_| ours);
                let data = CaptureSession {
                    region,
                    paint_cursors: options.contains(Options::PaintCursors),
                    state: Mutex::new(SessionState::default()),
                };
                let session = data_init.init(session, data);
                match region {
                    Some(region) => {
                        session.buffer_size(region.width, region.height);
                        session.shm_format(wl_shm::Format::Xrgb8888);
                        session.done();
                    }
                    None => session.stopped(),
                }
            }
            ext_image_copy_capture_manager_v1::Request::CreatePointerCursorSession {
                session,
                ..
            } => {
                // The cursor is drawn into the picture (`paint_cursors`), never offered
                // as an image of its own: its capture sessions stop at once.
                data_init.init(session, ());
            }
            _ => {}
        }
    }
}

impl Dispatch<ExtImageCopyCaptureCursorSessionV1, ()> for State {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _cursor: &ExtImageCopyCaptureCursorSessionV1,
        request: ext_image_copy_capture_cursor_session_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let ext_image_copy_capture_cursor_session_v1::Request::GetCaptureSession { session } =
            request
        {
            let data = CaptureSession {
                region: None,
                paint_cursors: false,
                state: Mutex::new(SessionState::default()),
            };
            data_init.init(session, data).stopped();
        }
    }
}

impl Dispatch<ExtImageCopyCaptureSessionV1, CaptureSession> for State {
    fn request(
        _state: &mut Self,
        _client: &Client,
        session: &ExtImageCopyCaptureSessionV1,
        request: ext_image_copy_capture_session_v1::Request,
        data: &CaptureSession,
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let ext_image_copy_capture_session_v1::Request::CreateFrame { frame } = request {
            let mut session_state = data.lock();
            if session_state.frame.as_ref().is_some_and(Resource::is_alive) {
                drop(session_state);
                session.post_error(
                    ext_image_copy_capture_session_v1::Error::DuplicateFrame,
                    "the session already has a frame",
                );
                return;
            }
            let frame = data_init.init(
                frame,
                CaptureFrame {
                    session: session.clone(),
                    state: Mutex::new(FrameState::default()),
                },
            );
            session_state.frame = Some(frame);
        }
    }
}

impl Dispatch<ExtImageCopyCaptureFrameV1, CaptureFrame> for State {
    fn request(
        state: &mut Self,
        client: &Client,
        frame: &ExtImageCopyCaptureFrameV1,
        request: ext_image_copy_capture_frame_v1::Request,
        data: &CaptureFrame,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        let mut frame_state = data
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let already = |frame: &ExtImageCopyCaptureFrameV1| {
            frame.post_error(
                ext_image_copy_capture_frame_v1::Error::AlreadyCaptured,
                "the frame was already captured",
            );
        };
        match request {
            ext_image_copy_capture_frame_v1::Request::AttachBuffer { buffer } => {
                if frame_state.captured {
                    return already(frame);
                }
                frame_state.buffer = Some(buffer);
            }
            ext_image_copy_capture_frame_v1::Request::DamageBuffer {
                x,
                y,
                width,
                height,
            } => {
                if frame_state.captured {
                    return already(frame);
                }
                // What the client says changed in its buffer: the whole region is written
                // anyway, so only its validity matters.
                if x < 0 || y < 0 || width <= 0 || height <= 0 {
                    frame.post_error(
                        ext_image_copy_capture_frame_v1::Error::InvalidBufferDamage,
                        "damage must have a non-negative position and a positive size",
                    );
                }
            }
            ext_image_copy_capture_frame_v1::Request::Capture => {
                if frame_state.captured {
                    return already(frame);
                }
                let Some(buffer) = frame_state.buffer.clone() else {
                    frame.post_error(
                        ext_image_copy_capture_frame_v1::Error::NoBuffer,
                        "capture without an attached buffer",
                    );
                    return;
                };
                frame_state.captured = true;
                drop(frame_state);
                state.capture_session_frame(client, frame, &data.session, &buffer);
            }
            _ => {}
        }
    }
}

impl State {
    /// Queues a frame's copy, or fails it: the session stopped or was destroyed, the
    /// output changed size since the session began (the session stops: its clients start
    /// a new one), or the buffer is not what the session described.
    fn capture_session_frame(
        &mut self,
        client: &Client,
        frame: &ExtImageCopyCaptureFrameV1,
        session: &ExtImageCopyCaptureSessionV1,
        buffer: &WlBuffer,
    ) {
        let Some(data) = session
            .data::<CaptureSession>()
            .filter(|_| session.is_alive())
        else {
            frame.failed(FailureReason::Stopped);
            return;
        };
        let Some(region) = data.region else {
            frame.failed(FailureReason::Stopped);
            return;
        };
        if self.whole_output_region() != Some(region) {
            frame.failed(FailureReason::Stopped);
            session.stopped();
            return;
        }
        if check_buffer(buffer, region).is_err() {
            frame.failed(FailureReason::BufferConstraints);
            return;
        }
        let wait = {
            let session_state = data.lock();
            if session_state.started {
                Wait::ForNewerThan(session_state.delivered)
            } else {
                Wait::No
            }
        };
        let target = CopyTarget::Ext {
            frame: frame.clone(),
            session: session.clone(),
        };
        self.queue_screencopy(PendingCopy::new(
            client.id(),
            target,
            buffer.clone(),
            region,
            data.paint_cursors,
            wait,
        ));
    }
}
