//! The pass-through path: when one client buffer is the whole picture, a frame is that
//! buffer copied into an output image (only what changed since that image last held it),
//! with the cursor blended on top, instead of a composition.
//!
//! The copy is the one copy this path makes. Handing the client's shm memory downstream
//! without it is not safe: a client may shrink its pool at any time, and a read of the
//! lost pages then raises SIGBUS in whatever thread reads them (an encoder), where no
//! guard catches it. Smithay guards only reads made inside `with_buffer_contents`, which
//! is where this copy happens.

use smithay::backend::renderer::utils::{Buffer, CommitCounter, with_renderer_surface_state};
use smithay::desktop::{PopupManager, Space, Window, layer_map_for_output};
use smithay::output::Output;
use smithay::reexports::wayland_server::Resource;
use smithay::reexports::wayland_server::backend::ObjectId;
use smithay::reexports::wayland_server::protocol::wl_shm;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{Physical, Point, Rectangle, Size, Transform};
use smithay::wayland::compositor;
use smithay::wayland::shm::{BufferAccessError, BufferData, with_buffer_contents};

use super::cursor::Overlay;
use super::frame::OutputImage;
use super::pool::{Content, OutputPool};
use super::yuv::{Colorimetry, PlanarImage, Rows, Source, YuvOutput};
use super::{Frame, OutputFormat, RenderError};

/// What an output image filled by this path holds, so the next copy into it can be
/// limited to what changed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CopyTag {
    surface: ObjectId,
    commit: CommitCounter,
    /// Where the cursor was blended in, if it was.
    cursor: Option<Rectangle<i32, Physical>>,
}

#[cfg(test)]
impl CopyTag {
    pub(crate) fn for_tests() -> Self {
        Self {
            surface: ObjectId::null(),
            commit: CommitCounter::default(),
            cursor: None,
        }
    }
}

/// Above this share of the output, one copy of everything beats many partial ones.
const FULL_COPY_SHARE: f64 = 0.5;

/// The surface whose buffer is the whole output, if there is one: the only window, placed
/// at the output's origin, without popups or subsurfaces, and no layer surface on the
/// output (one above would be hidden; one below would show through a translucent buffer). Its buffer is checked when it is
/// copied. Composition over the black background gives the same colour bytes as the
/// buffer for `XRGB8888` and for premultiplied `ARGB8888` alike, so no opacity is needed.
pub(crate) fn single_surface(space: &Space<Window>, output: &Output) -> Option<WlSurface> {
    if layer_map_for_output(output).len() > 0 {
        return None;
    }
    let mut windows = space.elements();
    let window = windows.next()?;
    if windows.next().is_some() {
        return None;
    }
    let origin = space.element_location(window)? - window.geometry().loc;
    let output_origin = space.output_geometry(output)?.loc;
    if origin != output_origin {
        return None;
    }
    let surface = window.toplevel()?.wl_surface().clone();
    if PopupManager::popups_for_surface(&surface).next().is_some()
        || !compositor::get_children(&surface).is_empty()
    {
        return None;
    }
    Some(surface)
}

/// The client buffer a frame is taken from, and the regions that changed in it since the
/// copy `previous` was made from (`None`: everything).
struct Plan {
    buffer: Buffer,
    commit: CommitCounter,
    damage: Option<Vec<Rectangle<i32, Physical>>>,
}

/// What to take from `surface`, if its buffer qualifies: on an output of `scale`, a buffer
/// with the output's pixels whose surface has the logical size (a buffer scale equal to the
/// output's, or (fractional-scale-v1) a viewport from the whole buffer to that size).
/// Everything is taken under the surface state's lock.
fn plan(
    surface: &WlSurface,
    scale: f64,
    output_size: Size<i32, Physical>,
    previous: Option<&CopyTag>,
) -> Option<Plan> {
    with_renderer_surface_state(surface, |state| {
        let view = state.view()?;
        // In logical units: the buffer's pixels divided by its scale.
        let size = state.buffer_size()?;
        let buffer_scale = state.buffer_scale();
        let pixels = (
            size.w.saturating_mul(buffer_scale),
            size.h.saturating_mul(buffer_scale),
        );
        let whole = pixels == (output_size.w, output_size.h);
        let plain = state.buffer_transform() == Transform::Normal;
        let shown = view.dst.to_f64().to_physical(scale);
        let one_to_one = view.src == Rectangle::from_size(size.to_f64())
            && (shown.w, shown.h) == (f64::from(output_size.w), f64::from(output_size.h))
            && view.offset == Point::default();
        if !(whole && plain && one_to_one) {
            return None;
        }
        let buffer = state.buffer()?.clone();
        let commit = state.current_commit();
        let damage = previous.map(|tag| {
            state
                .damage_since(Some(tag.commit))
                .iter()
                .map(|r| {
                    Rectangle::<i32, Physical>::new(
                        (r.loc.x, r.loc.y).into(),
                        (r.size.w, r.size.h).into(),
                    )
                })
                .collect::<Vec<_>>()
        });
        Some(Plan {
            buffer,
            commit,
            damage,
        })
    })
    .flatten()
}

/// The part of the output the cursor covers, if it is drawn by this path.
fn cursor_rect(
    cursor: &Overlay<'_>,
    output_size: Size<i32, Physical>,
) -> Option<Rectangle<i32, Physical>> {
    match cursor {
        Overlay::Image {
            width: w,
            height: h,
            at,
            ..
        } => Rectangle::new(*at, (*w as i32, *h as i32).into())
            .intersection(Rectangle::from_size(output_size)),
        Overlay::None | Overlay::NeedsRenderer => None,
    }
}

/// Copies `surface`'s buffer into a free output image of `pool` and blends the cursor in.
/// `Ok(None)`: the buffer does not qualify (size, format, scale, viewport, not shm; see
/// [`plan`]), and the renderer has to draw the frame.
pub(crate) fn copy_frame(
    pool: &mut OutputPool<OutputImage>,
    surface: &WlSurface,
    scale: f64,
    cursor: &Overlay<'_>,
) -> Result<Option<Frame>, RenderError> {
    if pool.format() != OutputFormat::Bgrx || matches!(cursor, Overlay::NeedsRenderer) {
        return Ok(None);
    }
    let (width, height) = pool.size();
    let output_size = Size::<i32, Physical>::from((width as i32, height as i32));
    let (slot, _) = pool.acquire_system()?;
    let previous = match pool.content(slot) {
        Content::Copied(tag) if tag.surface == surface.id() => Some(tag.clone()),
        _ => None,
    };
    let Some(Plan {
        buffer,
        commit,
        damage,
    }) = plan(surface, scale, output_size, previous.as_ref())
    else {
        return Ok(None);
    };
    let new_cursor = cursor_rect(cursor, output_size);
    // Regions to take from the client: what it changed, and where the cursor was.
    let regions: Option<Vec<Rectangle<i32, Physical>>> = damage.map(|mut rects| {
        rects.extend(previous.as_ref().and_then(|t| t.cursor));
        rects
    });
    let area: i64 = regions
        .iter()
        .flatten()
        .map(|r| i64::from(r.size.w) * i64::from(r.size.h))
        .sum();
    let full = i64::from(width) * i64::from(height);
    let regions = regions.filter(|_| (area as f64) < FULL_COPY_SHARE * full as f64);

    let image = pool.image_mut(slot)?;
    let copied = with_buffer_contents(&buffer, |ptr, len, data| {
        let Some(src) = ShmSource::new(ptr, len, &data, output_size) else {
            return false;
        };
        match &regions {
            Some(rects) => {
                for rect in rects {
                    src.copy_rect(image, *rect);
                }
            }
            None => src.copy_all(image),
        }
        true
    });
    match copied {
        Ok(true) => {}
        // Not shm (a DMABuf, a single-pixel buffer), the wrong layout, or a pool the client
        // shrank (Smithay has posted the protocol error): the renderer deals with it.
        Ok(false) | Err(BufferAccessError::NotManaged | BufferAccessError::BadMap) => {
            return Ok(None);
        }
        Err(err) => return Err(RenderError::Draw(format!("client buffer: {err}"))),
    }
    if let (
        Overlay::Image {
            pixels,
            width: w,
            at,
            ..
        },
        Some(rect),
    ) = (cursor, new_cursor)
    {
        let stride = image.stride();
        blend_over(image.bytes_mut(), stride, 0, pixels, *w, *at, rect);
    }
    let tag = CopyTag {
        surface: surface.id(),
        commit,
        cursor: new_cursor,
    };
    pool.copied(slot, tag).map(Some)
}

/// Like [`copy_frame`] for YUV output: converts what changed in `surface`'s buffer since a
/// free YUV image last held it straight from the client's memory (one read, no RGB copy);
/// only the rows under the cursor go through a small RGB copy to have it blended in.
pub(crate) fn convert_frame(
    yuv: &mut YuvOutput,
    surface: &WlSurface,
    scale: f64,
    cursor: &Overlay<'_>,
) -> Result<Option<Frame>, RenderError> {
    if matches!(cursor, Overlay::NeedsRenderer) {
        return Ok(None);
    }
    let (width, height) = yuv.pool.size();
    let output_size = Size::<i32, Physical>::from((width as i32, height as i32));
    let slot = yuv.acquire()?;
    let previous = match yuv.source(slot) {
        Some(Source::Client(tag)) if tag.surface == surface.id() => Some(tag.clone()),
        _ => None,
    };
    let Some(Plan {
        buffer,
        commit,
        damage,
    }) = plan(surface, scale, output_size, previous.as_ref())
    else {
        return Ok(None);
    };
    let new_cursor = cursor_rect(cursor, output_size);
    let rows_of = |r: &Rectangle<i32, Physical>| {
        let start = usize::try_from(r.loc.y).unwrap_or(0);
        start..start.saturating_add(usize::try_from(r.size.h).unwrap_or(0))
    };
    let height = height as usize;
    let mut rows = Rows::default();
    match damage {
        Some(rects) => {
            for r in rects
                .iter()
                .chain(previous.as_ref().and_then(|t| t.cursor.as_ref()))
                .chain(new_cursor.as_ref())
            {
                rows.add(rows_of(r));
            }
        }
        None => rows = Rows::all(height),
    }
    // The cursor's rows, as whole chroma blocks: converted from a copy with it blended in.
    let cursor_band = new_cursor.map(|r| {
        let rows = rows_of(&r);
        (rows.start & !1)..rows.end.saturating_add(1).min(height.saturating_add(1)) & !1
    });
    let colorimetry = yuv.colorimetry;
    let image = yuv.pool.image_mut(slot)?;
    let converted = with_buffer_contents(&buffer, |ptr, len, data| {
        let Some(src) = ShmSource::new(ptr, len, &data, output_size) else {
            return Ok(false);
        };
        for band in rows.bands(height) {
            let under = cursor_band
                .clone()
                .map(|c| c.start.max(band.start)..c.end.min(band.end).min(height))
                .filter(|c| !c.is_empty());
            let Some(under) = under else {
                src.convert(image, band, colorimetry)?;
                continue;
            };
            src.convert(image, band.start..under.start, colorimetry)?;
            if let (
                Overlay::Image {
                    pixels,
                    width: w,
                    at,
                    ..
                },
                Some(rect),
            ) = (cursor, new_cursor)
            {
                let mut patch = src.rows_copy(under.clone());
                let stride = src.row_bytes;
                blend_over(
                    &mut patch,
                    stride,
                    under.start as i32,
                    pixels,
                    *w,
                    *at,
                    rect,
                );
                image.convert_rows(&patch, stride, under.clone(), colorimetry)?;
            }
            src.convert(image, under.end..band.end, colorimetry)?;
        }
        Ok::<bool, RenderError>(true)
    });
    match converted {
        Ok(Ok(true)) => {}
        Ok(Err(err)) => {
            yuv.pool.forget(slot);
            return Err(err);
        }
        Ok(Ok(false)) | Err(BufferAccessError::NotManaged | BufferAccessError::BadMap) => {
            return Ok(None);
        }
        Err(err) => return Err(RenderError::Draw(format!("client buffer: {err}"))),
    }
    let tag = CopyTag {
        surface: surface.id(),
        commit,
        cursor: new_cursor,
    };
    tracing::trace!(rows = rows.count(), "converted a client buffer to YUV");
    yuv.pool
        .filled(slot, Content::Yuv(Source::Client(tag)), None)
        .map(Some)
}

/// A validated view of one shm buffer of the output's size, in a 32-bit RGB layout whose
/// colour bytes are BGRx's.
struct ShmSource {
    ptr: *const u8,
    /// Bytes of the mapping from `ptr` on.
    available: usize,
    stride: usize,
    row_bytes: usize,
    height: usize,
}

impl ShmSource {
    fn new(
        pool: *const u8,
        len: usize,
        data: &BufferData,
        size: Size<i32, Physical>,
    ) -> Option<Self> {
        if !matches!(
            data.format,
            wl_shm::Format::Argb8888 | wl_shm::Format::Xrgb8888
        ) || (data.width, data.height) != (size.w, size.h)
            || data.offset < 0
            || data.height <= 0
            || data.stride < data.width.checked_mul(4)?
        {
            return None;
        }
        let (offset, stride) = (data.offset as usize, data.stride as usize);
        let row_bytes = data.width as usize * 4;
        let height = data.height as usize;
        let end = offset
            .checked_add(stride.checked_mul(height - 1)?)?
            .checked_add(row_bytes)?;
        if end > len {
            return None;
        }
        // SAFETY: `offset` is within the pool (checked above: offset < end <= len).
        let ptr = unsafe { pool.add(offset) };
        Some(Self {
            ptr,
            available: len - offset,
            stride,
            row_bytes,
            height,
        })
    }

    /// Rows `rows` (within the buffer) as one slice, from the first row's first pixel to
    /// the last row's last (or to its stride's end, where the mapping has it).
    fn rows(&self, rows: std::ops::Range<usize>) -> Option<&[u8]> {
        if rows.is_empty() || rows.end > self.height {
            return None;
        }
        let start = rows.start * self.stride;
        let needed = (rows.len() - 1) * self.stride + self.row_bytes;
        let len = (rows.len() * self.stride).min(self.available - start);
        if len < needed {
            return None;
        }
        // SAFETY: `start + len <= available`, the bytes of the mapping from `ptr` on (checked
        // in `new`), valid while the caller is inside `with_buffer_contents`, whose SIGBUS
        // guard covers a pool the client shrinks meanwhile. A client may write the memory
        // while it is read, as it may while a renderer imports it (Smithay's renderers
        // read it through slices the same way): what it gets is its own torn picture; we
        // never write it.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.add(start), len) })
    }

    /// Converts rows `rows` of the buffer into the same rows of `image`.
    fn convert(
        &self,
        image: &mut PlanarImage,
        rows: std::ops::Range<usize>,
        colorimetry: Colorimetry,
    ) -> Result<(), RenderError> {
        if rows.is_empty() {
            return Ok(());
        }
        let src = self
            .rows(rows.clone())
            .ok_or_else(|| RenderError::Draw("client buffer rows out of range".to_owned()))?;
        image.convert_rows(src, self.stride, rows, colorimetry)
    }

    /// Rows `rows` copied out, `row_bytes` apart (empty rows if out of range).
    fn rows_copy(&self, rows: std::ops::Range<usize>) -> Vec<u8> {
        let mut out = vec![0; rows.len() * self.row_bytes];
        for (i, row) in rows.enumerate() {
            if let (Some(from), Some(to)) = (
                self.rows(row..row + 1),
                out.get_mut(i * self.row_bytes..(i + 1) * self.row_bytes),
            ) {
                to.copy_from_slice(&from[..self.row_bytes]);
            }
        }
        out
    }

    fn copy_all(&self, image: &mut OutputImage) {
        let dst_stride = image.stride();
        let dst = image.bytes_mut();
        if dst_stride == self.stride && dst.len() >= self.stride * self.height {
            let len = self.stride * (self.height - 1) + self.row_bytes;
            // SAFETY: the source range was checked against the pool's mapping in `new`;
            // the destination holds at least `len` bytes; they cannot overlap (one is the
            // client's pool, the other our image). Raw pointers, not slices: the client
            // may write its memory concurrently, which is its own bug, not ours.
            unsafe { std::ptr::copy_nonoverlapping(self.ptr, dst.as_mut_ptr(), len) };
            return;
        }
        self.copy_rect(image, self.bounds());
    }

    fn bounds(&self) -> Rectangle<i32, Physical> {
        Rectangle::from_size(((self.row_bytes / 4) as i32, self.height as i32).into())
    }

    /// Copies `rect` (clipped to the buffer) into the same place of `image`.
    fn copy_rect(&self, image: &mut OutputImage, rect: Rectangle<i32, Physical>) {
        let Some(rect) = rect.intersection(self.bounds()) else {
            return;
        };
        let (x, y) = (rect.loc.x as usize, rect.loc.y as usize);
        let (w, h) = (rect.size.w as usize, rect.size.h as usize);
        let dst_stride = image.stride();
        let dst = image.bytes_mut();
        for row in y..y + h {
            let at = row * dst_stride + x * 4;
            let Some(out) = dst.get_mut(at..at + w * 4) else {
                return;
            };
            // SAFETY: row < height and x + w <= width, so the source bytes lie within the
            // range `new` checked against the mapping; `out` has exactly w * 4 bytes.
            unsafe {
                let from = self.ptr.add(row * self.stride + x * 4);
                std::ptr::copy_nonoverlapping(from, out.as_mut_ptr(), w * 4);
            }
        }
    }
}

/// Pixman's rounding of `a * b / 255`, so blended pixels match the renderer's exactly.
fn mul_un8(a: u8, b: u8) -> u8 {
    let t = u32::from(a) * u32::from(b) + 0x80;
    (((t >> 8) + t) >> 8) as u8
}

/// Blends premultiplied ARGB8888 `pixels` (`width` per row) placed at `at` over `dst`,
/// BGRx rows `dst_stride` apart whose first is the output's row `first_row`, within `clip`
/// (the part of the cursor on the output): Porter-Duff OVER. Rows outside `dst` are left.
fn blend_over(
    dst: &mut [u8],
    dst_stride: usize,
    first_row: i32,
    pixels: &[u8],
    width: usize,
    at: Point<i32, Physical>,
    clip: Rectangle<i32, Physical>,
) {
    for y in clip.loc.y.max(first_row)..clip.loc.y + clip.size.h {
        for x in clip.loc.x..clip.loc.x + clip.size.w {
            let (sx, sy) = ((x - at.x) as usize, (y - at.y) as usize);
            let s = (sy * width + sx) * 4;
            let d = (y - first_row) as usize * dst_stride + x as usize * 4;
            let (Some(src), Some(out)) = (pixels.get(s..s + 4), dst.get_mut(d..d + 4)) else {
                continue;
            };
            let keep = 255 - src[3];
            for c in 0..3 {
                out[c] = src[c].saturating_add(mul_un8(out[c], keep));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_un8_matches_exact_rounding() {
        for a in 0..=255u32 {
            for b in 0..=255u32 {
                let exact = ((a * b) as f64 / 255.0).round() as u8;
                assert_eq!(mul_un8(a as u8, b as u8), exact, "{a} * {b}");
            }
        }
    }

    #[test]
    fn blend_over_keeps_opaque_and_transparent_pixels_exact() {
        let mut image = OutputImage::new(OutputFormat::Bgrx, 4, 2).unwrap();
        image.bytes_mut().fill(100);
        // One opaque red, one transparent, one half-transparent premultiplied white.
        let pixels = [0, 0, 255, 255, 0, 0, 0, 0, 128, 128, 128, 128];
        let at = Point::from((1, 1));
        let clip = Rectangle::new(at, (3, 1).into());
        let stride = image.stride();
        blend_over(image.bytes_mut(), stride, 0, &pixels, 3, at, clip);
        let row = &image.bytes()[16..32];
        assert_eq!(&row[0..3], &[100, 100, 100]);
        assert_eq!(&row[4..7], &[0, 0, 255]);
        assert_eq!(&row[8..11], &[100, 100, 100]);
        assert_eq!(&row[12..15], &[178, 178, 178]);
    }
}
