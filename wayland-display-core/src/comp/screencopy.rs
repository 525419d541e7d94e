//! Screen captures waiting for a picture, and copying the rendered picture into a client's
//! shm buffer: `zwlr_screencopy_frame_v1.copy` (`handlers/screencopy.rs`) and
//! `ext_image_copy_capture_frame_v1.capture` (`handlers/image_copy_capture.rs`).
//!
//! A copy is served by the next frame produced, and the event loop produces one for it at
//! the end of the dispatch that queued it (`serve_screencopies`) rather than waiting for
//! the element: a paused pipeline asks for no frames, and a capture must not hang on it.
//! A frame repeated unchanged costs nothing, so this is one render at most. A
//! `copy_with_damage` waits, as the protocol says, until the picture changes; it costs
//! nothing while it waits, and each client may have [`MAX_PENDING_PER_CLIENT`] copies
//! waiting (more are answered `failed`).

use std::time::Duration;

use smithay::reexports::wayland_protocols::ext::image_copy_capture::v1::server::{
    ext_image_copy_capture_frame_v1::{ExtImageCopyCaptureFrameV1, FailureReason},
    ext_image_copy_capture_session_v1::ExtImageCopyCaptureSessionV1,
};
use smithay::reexports::wayland_protocols_wlr::screencopy::v1::server::zwlr_screencopy_frame_v1::{
    self, ZwlrScreencopyFrameV1,
};
use smithay::reexports::wayland_server::Resource;
use smithay::reexports::wayland_server::backend::ClientId;
use smithay::reexports::wayland_server::protocol::wl_buffer::WlBuffer;
use smithay::reexports::wayland_server::protocol::wl_output::Transform;
use smithay::wayland::shm::{BufferData, with_buffer_contents_mut};

use crate::comp::State;
use crate::comp::handlers::CaptureSession;
use crate::render::{Frame, OutputFormat};

/// Copies one client may have waiting (a recorder keeps one in flight, a screenshot tool
/// one per output); enough for any real client, and a bound on what a hostile one queues.
pub(crate) const MAX_PENDING_PER_CLIENT: usize = 4;

const BYTES_PER_PIXEL: u32 = 4;

/// A rectangle of the output in its pixels, inside the output when it was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl Region {
    /// `x, y, width, height` clamped to an output of `out_w` x `out_h`; `None` when
    /// nothing of it is on the output (or the size is not positive).
    pub(crate) fn clamped(
        x: i32,
        y: i32,
        width: i32,
        height: i32,
        out_w: i32,
        out_h: i32,
    ) -> Option<Self> {
        if width <= 0 || height <= 0 {
            return None;
        }
        // In i64, where no sum of two i32 overflows.
        let (x, y) = (i64::from(x), i64::from(y));
        let x0 = x.max(0);
        let y0 = y.max(0);
        let x1 = x.checked_add(i64::from(width))?.min(i64::from(out_w));
        let y1 = y.checked_add(i64::from(height))?.min(i64::from(out_h));
        let width = u32::try_from(x1.checked_sub(x0)?).ok().filter(|&w| w > 0)?;
        let height = u32::try_from(y1.checked_sub(y0)?).ok().filter(|&h| h > 0)?;
        Some(Self {
            x: u32::try_from(x0).ok()?,
            y: u32::try_from(y0).ok()?,
            width,
            height,
        })
    }

    /// A region given in logical coordinates (`x, y, width, height`), as the output
    /// pixels it covers at `scale` (rounded outwards, so nothing of it is left out),
    /// clamped to an output of `out_w` x `out_h` pixels.
    // After the clamp, every value is inside the output, whose size is an `i32`.
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn from_logical(
        (x, y, width, height): (i32, i32, i32, i32),
        scale: f64,
        out_w: i32,
        out_h: i32,
    ) -> Option<Self> {
        if width <= 0 || height <= 0 {
            return None;
        }
        let start = |v: i32, out: i32| (f64::from(v) * scale).floor().clamp(0.0, f64::from(out));
        let end = |v: i32, len: i32, out: i32| {
            ((f64::from(v) + f64::from(len)) * scale)
                .ceil()
                .clamp(0.0, f64::from(out))
        };
        let (x0, y0) = (start(x, out_w), start(y, out_h));
        let (x1, y1) = (end(x, width, out_w), end(y, height, out_h));
        Self::clamped(
            x0 as i32,
            y0 as i32,
            (x1 - x0) as i32,
            (y1 - y0) as i32,
            out_w,
            out_h,
        )
    }

    /// Bytes per row of the buffer the client must give.
    pub(crate) fn stride(self) -> u32 {
        self.width.saturating_mul(BYTES_PER_PIXEL)
    }
}

/// Who asked for a copy, and how the answer is sent.
pub(crate) enum CopyTarget {
    /// A `zwlr_screencopy_frame_v1`; `with_damage` for `copy_with_damage`.
    Wlr {
        frame: ZwlrScreencopyFrameV1,
        with_damage: bool,
    },
    /// An `ext_image_copy_capture_frame_v1` of this session, which remembers the picture
    /// it delivered last (the next frame waits for a newer one).
    Ext {
        frame: ExtImageCopyCaptureFrameV1,
        session: ExtImageCopyCaptureSessionV1,
    },
}

impl CopyTarget {
    fn is_alive(&self) -> bool {
        match self {
            Self::Wlr { frame, .. } => frame.is_alive(),
            Self::Ext { frame, .. } => frame.is_alive(),
        }
    }

    pub(crate) fn failed(&self) {
        match self {
            Self::Wlr { frame, .. } => frame.failed(),
            Self::Ext { frame, .. } => frame.failed(FailureReason::Unknown),
        }
    }
}

/// When a copy may be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// With the current picture.
    No,
    /// Once the picture changed after the copy was queued.
    ForChange,
    /// Once there is a picture newer than frame number `after` (none: at once).
    ForNewerThan(Option<u64>),
}

/// One copy asked for and not yet answered.
pub(crate) struct PendingCopy {
    client: ClientId,
    target: CopyTarget,
    buffer: WlBuffer,
    region: Region,
    overlay_cursor: bool,
    wait: Wait,
}

impl PendingCopy {
    pub(crate) fn new(
        client: ClientId,
        target: CopyTarget,
        buffer: WlBuffer,
        region: Region,
        overlay_cursor: bool,
        wait: Wait,
    ) -> Self {
        Self {
            client,
            target,
            buffer,
            region,
            overlay_cursor,
            wait,
        }
    }
}

/// The copies waiting for a picture.
#[derive(Default)]
pub(crate) struct Screencopies {
    pending: Vec<PendingCopy>,
}

impl State {
    /// The whole output as a capture region (`None` only for an empty output).
    pub(crate) fn whole_output_region(&self) -> Option<Region> {
        let size = self.output_pixel_size();
        Region::clamped(0, 0, size.w, size.h, size.w, size.h)
    }

    /// Queues a checked copy, or answers `failed` if its client has too many waiting.
    pub(crate) fn queue_screencopy(&mut self, mut copy: PendingCopy) {
        let pending = &mut self.screencopies.pending;
        pending.retain(|p| p.target.is_alive());
        let waiting = pending.iter().filter(|p| p.client == copy.client).count();
        if waiting >= MAX_PENDING_PER_CLIENT {
            tracing::debug!(client = ?copy.client, "too many screen copies waiting; failing one");
            copy.target.failed();
            return;
        }
        if copy.wait == Wait::ForChange {
            // No frame drawn yet: the first one is news.
            copy.wait = Wait::ForNewerThan(self.renderer.repeat_last().map(|frame| frame.seq));
        }
        pending.push(copy);
    }

    /// Answers every waiting copy that the current picture can serve; called by the event
    /// loop after each dispatch and after each frame.
    pub(crate) fn serve_screencopies(&mut self) {
        // A destroyed frame (or its client's) needs no answer.
        self.screencopies.pending.retain(|p| p.target.is_alive());
        if self.screencopies.pending.is_empty() {
            return;
        }
        let changed = self.changed.is_marked();
        let last_seq = self.renderer.repeat_last().map(|frame| frame.seq);
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.screencopies.pending)
            .into_iter()
            .partition(|p| match p.wait {
                Wait::No | Wait::ForChange | Wait::ForNewerThan(None) => true,
                Wait::ForNewerThan(Some(after)) => {
                    changed || last_seq.is_some_and(|last| last > after)
                }
            });
        self.screencopies.pending = waiting;
        if ready.is_empty() {
            return;
        }
        let with_cursor = self.produce_rgb_frame();
        let cursor_shown = self.cursor_shown();
        let mut bare = None;
        for copy in ready {
            let picture = if copy.overlay_cursor || !cursor_shown {
                &with_cursor
            } else {
                &*bare.get_or_insert_with(|| self.produce_frame_without_cursor())
            };
            match picture {
                Ok(picture) => self.finish_copy(&copy, picture),
                Err(err) => {
                    tracing::debug!(%err, "no picture for a screen copy");
                    copy.target.failed();
                }
            }
        }
    }

    /// Copies `picture` into the copy's buffer and says so, or says it failed.
    fn finish_copy(&self, copy: &PendingCopy, picture: &Frame) {
        if !copy.buffer.is_alive() {
            copy.target.failed();
            return;
        }
        let copied = picture.with_pixels(|pixels| {
            with_buffer_contents_mut(&copy.buffer, |ptr, len, data| {
                write_region(pixels, picture, copy.region, ptr, len, &data)
            })
        });
        let outcome = match copied {
            Ok(Ok(outcome)) => outcome,
            // A pool the client shrank under the buffer: Smithay has posted `wl_shm`'s
            // error to it; `failed` tells whatever is left of it.
            Ok(Err(err)) => Err(format!("client buffer: {err}")),
            Err(err) => Err(err.to_string()),
        };
        if let Err(why) = outcome {
            tracing::debug!(%why, "screen copy failed");
            copy.target.failed();
            return;
        }
        let now = Duration::from(self.clock.now());
        let secs = now.as_secs();
        let hi = u32::try_from(secs.checked_shr(32).unwrap_or(0)).unwrap_or(u32::MAX);
        let lo = u32::try_from(secs & u64::from(u32::MAX)).unwrap_or(u32::MAX);
        let (width, height) = (copy.region.width, copy.region.height);
        // The whole region as damage: damage may be larger than what changed, never
        // smaller, and the renderer's damage is of its own images, not of this client's
        // last copy.
        match &copy.target {
            CopyTarget::Wlr { frame, with_damage } => {
                frame.flags(zwlr_screencopy_frame_v1::Flags::empty());
                if *with_damage {
                    frame.damage(0, 0, width, height);
                }
                frame.ready(hi, lo, now.subsec_nanos());
            }
            CopyTarget::Ext { frame, session } => {
                // The stream's picture now, not `picture` (a picture without the cursor
                // is followed by one with it): the session's next frame waits for a change.
                let shown = self.renderer.repeat_last().map(|frame| frame.seq);
                if let Some(data) = session.data::<CaptureSession>() {
                    data.delivered(shown);
                }
                frame.transform(Transform::Normal);
                frame.damage(
                    0,
                    0,
                    i32::try_from(width).unwrap_or(i32::MAX),
                    i32::try_from(height).unwrap_or(i32::MAX),
                );
                frame.presentation_time(hi, lo, now.subsec_nanos());
                frame.ready();
            }
        }
    }
}

/// Why a copy could not be made, for the log.
type CopyError = String;

/// Writes `region` of the picture (`pixels`, laid out as `picture` says) into the shm
/// buffer `data` inside the pool at `pool` (`len` bytes), converting to the buffer's
/// XRGB8888.
fn write_region(
    pixels: &[u8],
    picture: &Frame,
    region: Region,
    pool: *mut u8,
    len: usize,
    data: &BufferData,
) -> Result<(), CopyError> {
    let too_big = || "the region does not fit".to_owned();
    let usize_of = |v: u32| usize::try_from(v).map_err(|_| too_big());
    // The picture may have another size than when the capture was asked (a mode change).
    let right = region.x.checked_add(region.width).ok_or_else(too_big)?;
    let bottom = region.y.checked_add(region.height).ok_or_else(too_big)?;
    if right > picture.width || bottom > picture.height {
        return Err("the output changed size since the capture was asked".to_owned());
    }
    let row_bytes = usize_of(region.stride())?;
    let src_stride = usize_of(picture.stride)?;
    let src_x = usize_of(region.x.saturating_mul(BYTES_PER_PIXEL))?;
    // The buffer's layout was checked when the copy was asked; the pool's size is checked
    // now, as the client may have resized it since (only ever larger).
    let offset = usize::try_from(data.offset).map_err(|_| "negative buffer offset".to_owned())?;
    let dst_stride = usize::try_from(data.stride).map_err(|_| "negative stride".to_owned())?;
    if dst_stride < row_bytes {
        return Err("stride smaller than a row".to_owned());
    }
    let rows = usize_of(region.height)?;
    let end = rows
        .checked_sub(1)
        .and_then(|last| last.checked_mul(dst_stride))
        .and_then(|last_row| last_row.checked_add(offset))
        .and_then(|start| start.checked_add(row_bytes))
        .ok_or_else(too_big)?;
    if end > len {
        return Err("the buffer lies outside its pool".to_owned());
    }
    let swap = swaps_red_blue(picture.format);
    let mut row = vec![0u8; row_bytes];
    for i in 0..rows {
        let src_start = usize_of(region.y)?
            .checked_add(i)
            .and_then(|y| y.checked_mul(src_stride))
            .and_then(|start| start.checked_add(src_x))
            .ok_or_else(too_big)?;
        let src = src_start
            .checked_add(row_bytes)
            .and_then(|src_end| pixels.get(src_start..src_end))
            .ok_or_else(|| "the picture is smaller than its size says".to_owned())?;
        row.copy_from_slice(src);
        if swap {
            swap_red_blue(&mut row);
        }
        let dst_start = i
            .checked_mul(dst_stride)
            .and_then(|at| at.checked_add(offset))
            .ok_or_else(too_big)?;
        // SAFETY: `dst_start + row_bytes <= end <= len` (checked above, the last row
        // starting furthest), and Smithay's `pool` is valid for `len` bytes during the call
        // (a client truncating the file under us is caught by Smithay's SIGBUS handler).
        // The client's memory is written through a raw pointer, never a reference, as the
        // client may touch it meanwhile.
        unsafe {
            pool.add(dst_start)
                .copy_from_nonoverlapping(row.as_ptr(), row_bytes);
        }
    }
    Ok(())
}

/// Whether rows of the picture need red and blue swapped for the buffer's XRGB8888
/// (BGRx in memory): RGBx and RGBA pictures do.
fn swaps_red_blue(picture: OutputFormat) -> bool {
    matches!(picture, OutputFormat::Rgbx | OutputFormat::Rgba)
}

fn swap_red_blue(row: &mut [u8]) {
    for pixel in row.chunks_exact_mut(4) {
        pixel.swap(0, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_is_clamped_to_the_output() {
        let r = |x, y, w, h| Region::clamped(x, y, w, h, 640, 480);
        let whole = Some(Region {
            x: 0,
            y: 0,
            width: 640,
            height: 480,
        });
        assert_eq!(r(0, 0, 640, 480), whole);
        assert_eq!(r(-10, -10, 2000, 2000), whole);
        assert_eq!(
            r(600, 400, 100, 100),
            Some(Region {
                x: 600,
                y: 400,
                width: 40,
                height: 80
            })
        );
        assert_eq!(
            r(10, 20, 30, 40),
            Some(Region {
                x: 10,
                y: 20,
                width: 30,
                height: 40
            })
        );
    }

    #[test]
    fn a_region_off_the_output_or_empty_is_none() {
        let r = |x, y, w, h| Region::clamped(x, y, w, h, 640, 480);
        assert_eq!(r(640, 0, 10, 10), None);
        assert_eq!(r(0, 480, 10, 10), None);
        assert_eq!(r(-20, 0, 20, 10), None);
        assert_eq!(r(0, 0, 0, 10), None);
        assert_eq!(r(0, 0, 10, -1), None);
        assert_eq!(r(i32::MAX, i32::MAX, i32::MAX, i32::MAX), None);
        assert_eq!(r(i32::MIN, i32::MIN, i32::MAX, i32::MAX), None);
    }

    #[test]
    fn a_logical_region_covers_its_output_pixels() {
        let r = |x, y, w, h, scale| Region::from_logical((x, y, w, h), scale, 640, 480);
        let region = |x, y, width, height| {
            Some(Region {
                x,
                y,
                width,
                height,
            })
        };
        assert_eq!(r(10, 20, 30, 40, 1.0), region(10, 20, 30, 40));
        assert_eq!(r(10, 20, 30, 40, 2.0), region(20, 40, 60, 80));
        // 1.5: 15.0..60.0 by 45.0..105.0, whole.
        assert_eq!(r(10, 30, 30, 40, 1.5), region(15, 45, 45, 60));
        // 1.25: 1.25..2.5 rounds out to 1..3.
        assert_eq!(r(1, 0, 1, 1, 1.25), region(1, 0, 2, 2));
        assert_eq!(r(0, 0, 320, 240, 2.0), region(0, 0, 640, 480));
        assert_eq!(r(-5, -5, 1000, 1000, 2.0), region(0, 0, 640, 480));
        assert_eq!(r(320, 0, 10, 10, 2.0), None);
        assert_eq!(r(i32::MIN, i32::MIN, i32::MAX, i32::MAX, 4.0), None);
        assert_eq!(r(-(1 << 30), 0, i32::MAX, 10, 4.0), region(0, 0, 640, 40));
    }

    #[test]
    fn rgb_pictures_are_swapped_into_xrgb8888() {
        assert!(!swaps_red_blue(OutputFormat::Bgrx));
        assert!(!swaps_red_blue(OutputFormat::Bgra));
        assert!(swaps_red_blue(OutputFormat::Rgbx));
        assert!(swaps_red_blue(OutputFormat::Rgba));
        let mut row = [1, 2, 3, 4, 5, 6, 7, 8];
        swap_red_blue(&mut row);
        assert_eq!(row, [3, 2, 1, 4, 7, 6, 5, 8]);
    }
}
