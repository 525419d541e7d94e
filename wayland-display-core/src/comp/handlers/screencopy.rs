//! `zwlr_screencopy_manager_v1` (version 3): what `grim` and other wlroots capture tools
//! use to copy the output into a buffer of their own. Smithay has none; the requests are
//! checked here and the copies made by `comp/screencopy.rs` from the rendered picture.

use std::sync::atomic::{AtomicBool, Ordering};

use smithay::output::Output;
use smithay::reexports::wayland_protocols_wlr::screencopy::v1::server::{
    zwlr_screencopy_frame_v1::{self, ZwlrScreencopyFrameV1},
    zwlr_screencopy_manager_v1::{self, ZwlrScreencopyManagerV1},
};
use smithay::reexports::wayland_server::protocol::wl_buffer::WlBuffer;
use smithay::reexports::wayland_server::protocol::wl_output::WlOutput;
use smithay::reexports::wayland_server::protocol::wl_shm;
use smithay::reexports::wayland_server::{
    Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource,
};
use smithay::wayland::shm::with_buffer_contents;

use crate::comp::State;
use crate::comp::screencopy::{CopyTarget, PendingCopy, Region, Wait};

/// The version offered: 3 adds `linux_dmabuf` and `buffer_done`.
const VERSION: u32 = 3;

/// What one `zwlr_screencopy_frame_v1` captures, fixed when it is created.
pub(crate) struct CaptureRequest {
    /// `None`: the region asked for lies outside the output (the frame has failed).
    pub(crate) region: Option<Region>,
    pub(crate) overlay_cursor: bool,
    /// A frame copies once; a second copy is `already_used`.
    used: AtomicBool,
}

impl State {
    /// Offers screen capture to every client (a privileged protocol: see
    /// `DisplayConfig::privileged_protocols`).
    pub(crate) fn offer_screencopy(&mut self) {
        self.dh
            .create_global::<State, ZwlrScreencopyManagerV1, _>(VERSION, ());
    }
}

impl GlobalDispatch<ZwlrScreencopyManagerV1, ()> for State {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ZwlrScreencopyManagerV1>,
        _global: &(),
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }
}

impl Dispatch<ZwlrScreencopyManagerV1, ()> for State {
    fn request(
        state: &mut Self,
        _client: &Client,
        _manager: &ZwlrScreencopyManagerV1,
        request: zwlr_screencopy_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        let (frame, overlay_cursor, output, region) = match request {
            zwlr_screencopy_manager_v1::Request::CaptureOutput {
                frame,
                overlay_cursor,
                output,
            } => (frame, overlay_cursor, output, None),
            zwlr_screencopy_manager_v1::Request::CaptureOutputRegion {
                frame,
                overlay_cursor,
                output,
                x,
                y,
                width,
                height,
            } => (frame, overlay_cursor, output, Some((x, y, width, height))),
            zwlr_screencopy_manager_v1::Request::Destroy => return,
            _ => return,
        };
        let region = state.capture_region(&output, region);
        let request = CaptureRequest {
            region,
            overlay_cursor: overlay_cursor != 0,
            used: AtomicBool::new(false),
        };
        let frame = data_init.init(frame, request);
        let Some(region) = region else {
            frame.failed();
            return;
        };
        // One shm format only: grim 1.4 copies into a buffer for every `buffer` event
        // without waiting for `buffer_done`, so a second offer makes it copy twice.
        frame.buffer(
            wl_shm::Format::Xrgb8888,
            region.width,
            region.height,
            region.stride(),
        );
        if frame.version() >= 3 {
            frame.buffer_done();
        }
    }
}

impl State {
    /// The part of the output a capture copies, in its pixels: all of it, or the region
    /// asked for (in logical coordinates, as `xdg_output` gives the output's) clamped to it.
    /// `None` for another compositor's output or a region that misses the output.
    fn capture_region(
        &self,
        output: &WlOutput,
        region: Option<(i32, i32, i32, i32)>,
    ) -> Option<Region> {
        if Output::from_resource(output).as_ref() != Some(&self.output) {
            return None;
        }
        match region {
            None => self.whole_output_region(),
            Some(region) => {
                let size = self.output_pixel_size();
                Region::from_logical(region, self.scale.get(), size.w, size.h)
            }
        }
    }
}

impl Dispatch<ZwlrScreencopyFrameV1, CaptureRequest> for State {
    fn request(
        state: &mut Self,
        client: &Client,
        frame: &ZwlrScreencopyFrameV1,
        request: zwlr_screencopy_frame_v1::Request,
        data: &CaptureRequest,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        let (buffer, with_damage) = match request {
            zwlr_screencopy_frame_v1::Request::Copy { buffer } => (buffer, false),
            zwlr_screencopy_frame_v1::Request::CopyWithDamage { buffer } => (buffer, true),
            zwlr_screencopy_frame_v1::Request::Destroy => return,
            _ => return,
        };
        if data.used.swap(true, Ordering::Relaxed) {
            frame.post_error(
                zwlr_screencopy_frame_v1::Error::AlreadyUsed,
                "this frame has already been copied",
            );
            return;
        }
        let Some(region) = data.region else {
            frame.failed();
            return;
        };
        if let Err(why) = check_buffer(&buffer, region) {
            frame.post_error(zwlr_screencopy_frame_v1::Error::InvalidBuffer, why);
            return;
        }
        let target = CopyTarget::Wlr {
            frame: frame.clone(),
            with_damage,
        };
        let wait = if with_damage {
            Wait::ForChange
        } else {
            Wait::No
        };
        state.queue_screencopy(PendingCopy::new(
            client.id(),
            target,
            buffer,
            region,
            data.overlay_cursor,
            wait,
        ));
    }
}

/// Whether `buffer` is the one the frame's `buffer` event described: shm, XRGB8888, the
/// region's size, its stride.
pub(super) fn check_buffer(buffer: &WlBuffer, region: Region) -> Result<(), String> {
    let data = with_buffer_contents(buffer, |_, _, data| data)
        .map_err(|_| "not an shm buffer (only wl_shm buffers are offered)".to_owned())?;
    let format_ok = data.format == wl_shm::Format::Xrgb8888;
    let size_ok = u32::try_from(data.width).ok() == Some(region.width)
        && u32::try_from(data.height).ok() == Some(region.height);
    let stride_ok = u32::try_from(data.stride).ok() == Some(region.stride());
    if format_ok && size_ok && stride_ok {
        Ok(())
    } else {
        Err(format!(
            "a {}x{} buffer with stride {} in {:?}; the frame needs {}x{}, stride {}, \
             XRGB8888",
            data.width,
            data.height,
            data.stride,
            data.format,
            region.width,
            region.height,
            region.stride()
        ))
    }
}
