//! YUV output (I420, NV12) in system memory: frames drawn in BGRx, or a client's buffer on
//! the pass-through path, converted into a pool of planar images, only the rows that
//! changed since an image last held a frame.
//!
//! Conversion is the `yuv` crate's SIMD code, chosen by measurement (`gwd-bench --only
//! yuv-convert`, docs/BENCHMARKS.md): 0.23× `videoconvert`'s time at 1080p. Chroma is the
//! average of each 2x2 block, so it sits at the block's centre (GStreamer's
//! `chroma-site=jpeg`), and rows are converted in bands that start on an even row.

use std::ops::Range;
use std::sync::Arc;

use yuv::{
    BufferStoreMut, YuvBiPlanarImageMut, YuvConversionMode, YuvPlanarImageMut, YuvRange,
    YuvStandardMatrix,
};

use super::RenderError;
use super::frame::{Frame, FrameMemory, FramePlane, OutputFormat};
use super::pool::{Content, OutputPool, PoolImage};

/// The YUV matrix (ITU-R BT.601 or BT.709).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum YuvMatrix {
    Bt601,
    Bt709,
}

/// Whether YUV values use the video range (Y 16–235, chroma 16–240) or all of 0–255.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum YuvValueRange {
    Limited,
    Full,
}

/// How YUV frames encode colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Colorimetry {
    pub matrix: YuvMatrix,
    pub range: YuvValueRange,
}

impl Colorimetry {
    pub const BT601: Self = Self {
        matrix: YuvMatrix::Bt601,
        range: YuvValueRange::Limited,
    };
    pub const BT709: Self = Self {
        matrix: YuvMatrix::Bt709,
        range: YuvValueRange::Limited,
    };

    /// What a player assumes when nothing says otherwise: BT.601 for standard definition
    /// (under 720 lines), BT.709 from 720 lines up, video range.
    pub fn for_height(height: u32) -> Self {
        if height < 720 {
            Self::BT601
        } else {
            Self::BT709
        }
    }

    fn matrix(self) -> YuvStandardMatrix {
        match self.matrix {
            YuvMatrix::Bt601 => YuvStandardMatrix::Bt601,
            YuvMatrix::Bt709 => YuvStandardMatrix::Bt709,
        }
    }

    fn range(self) -> YuvRange {
        match self.range {
            YuvValueRange::Limited => YuvRange::Limited,
            YuvValueRange::Full => YuvRange::Full,
        }
    }
}

/// Where the planes of a YUV image are: GStreamer's default layout for the format and
/// size (rows padded to 4 bytes, planes back to back), so a consumer that ignores
/// `GstVideoMeta` reads it right too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlanarLayout {
    width: usize,
    height: usize,
    planes: Vec<FramePlane>,
    len: usize,
}

fn round_up(value: usize, to: usize) -> Option<usize> {
    value.checked_next_multiple_of(to)
}

impl PlanarLayout {
    /// `None` for an RGB format or a size whose layout does not fit in memory.
    pub(crate) fn new(format: OutputFormat, width: u32, height: u32) -> Option<Self> {
        let nv12 = match format {
            OutputFormat::I420 => false,
            OutputFormat::Nv12 => true,
            _ => return None,
        };
        let (w, h) = (usize::try_from(width).ok()?, usize::try_from(height).ok()?);
        let chroma_rows = round_up(h, 2)? / 2;
        let y_stride = round_up(w, 4)?;
        let y_len = y_stride.checked_mul(round_up(h, 2)?)?;
        let (planes, len) = if nv12 {
            let uv_len = y_stride.checked_mul(chroma_rows)?;
            let planes = vec![(0, y_stride), (y_len, y_stride)];
            (planes, y_len.checked_add(uv_len)?)
        } else {
            let c_stride = round_up(round_up(w, 2)? / 2, 4)?;
            let c_len = c_stride.checked_mul(chroma_rows)?;
            let v = y_len.checked_add(c_len)?;
            let planes = vec![(0, y_stride), (y_len, c_stride), (v, c_stride)];
            (planes, v.checked_add(c_len)?)
        };
        let planes = planes
            .into_iter()
            .map(|(offset, stride)| {
                Some(FramePlane {
                    offset,
                    stride: u32::try_from(stride).ok()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            width: w,
            height: h,
            planes,
            len,
        })
    }

    pub(crate) fn planes(&self) -> &[FramePlane] {
        &self.planes
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// One YUV output image. Written only through `&mut`, which the pool gets only while no
/// [`Frame`] shares it.
#[derive(Debug)]
pub(crate) struct PlanarImage {
    bytes: Vec<u8>,
    layout: PlanarLayout,
}

impl PlanarImage {
    /// `None` when the memory cannot be had (caps may ask for any size): an error for
    /// the caller, not an abort.
    pub(crate) fn new(layout: PlanarLayout) -> Option<Self> {
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(layout.len).ok()?;
        // Zeroes: nothing shows a fresh image before it is converted whole.
        bytes.resize(layout.len, 0);
        Some(Self { bytes, layout })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn layout(&self) -> &PlanarLayout {
        &self.layout
    }

    /// Plane `index`'s bytes: from its offset to the next plane's (or the end).
    pub(crate) fn plane_mut(&mut self, index: usize) -> Result<&mut [u8], RenderError> {
        let planes = &self.layout.planes;
        let start = planes.get(index).ok_or_else(short)?.offset;
        let end = planes.get(index + 1).map_or(self.bytes.len(), |p| p.offset);
        self.bytes.get_mut(start..end).ok_or_else(short)
    }

    /// Converts `rows` of a BGRx picture into the same rows of this image. `src` starts at
    /// the picture's row `rows.start` and holds every row of the band, `stride` bytes
    /// apart (the last may end after its pixels). `rows.start` must be even.
    pub(crate) fn convert_rows(
        &mut self,
        src: &[u8],
        stride: usize,
        rows: Range<usize>,
        colorimetry: Colorimetry,
    ) -> Result<(), RenderError> {
        let layout = &self.layout;
        let rows = rows.start..rows.end.min(layout.height);
        if rows.is_empty() {
            return Ok(());
        }
        if rows.start % 2 != 0 {
            return Err(RenderError::Draw(format!(
                "a YUV band must start on an even row, not {}",
                rows.start
            )));
        }
        let pixels = layout.width.saturating_mul(4);
        let count = rows.len();
        // The crate reads rows in pairs of whole strides: a band whose last row ends at its
        // pixels (a client buffer at the end of its pool) has that pair converted from a
        // copy.
        let whole = stride.saturating_mul(count);
        if src.len() >= whole || stride == pixels {
            return self.convert_band(src, stride, rows, colorimetry);
        }
        let tail_rows = if count % 2 == 0 { 2 } else { 1 };
        let head = count.saturating_sub(tail_rows);
        let split = rows.start + head;
        if head > 0 {
            let head_src = src.get(..stride.saturating_mul(head)).ok_or_else(short)?;
            self.convert_band(head_src, stride, rows.start..split, colorimetry)?;
        }
        let mut tail = vec![0; pixels.saturating_mul(tail_rows)];
        for (i, out) in tail.chunks_exact_mut(pixels).enumerate() {
            let at = stride.saturating_mul(head + i);
            let row = src.get(at..at.saturating_add(pixels)).ok_or_else(short)?;
            out.copy_from_slice(row);
        }
        self.convert_band(&tail, pixels, split..rows.end, colorimetry)
    }

    /// One band whose source holds whole strides (or whose stride is its pixels).
    fn convert_band(
        &mut self,
        src: &[u8],
        stride: usize,
        rows: Range<usize>,
        colorimetry: Colorimetry,
    ) -> Result<(), RenderError> {
        let layout = &self.layout;
        let count = rows.len();
        let pixels = layout.width.saturating_mul(4);
        let src_len = stride
            .saturating_mul(count.saturating_sub(1))
            .saturating_add(pixels);
        let src = src
            .get(..src_len.max(stride.saturating_mul(count)).min(src.len()))
            .filter(|s| s.len() >= src_len)
            .ok_or_else(short)?;
        let (width, height) = (dim(layout.width)?, dim(count)?);
        let stride_u32 = dim(stride)?;
        // The crate converts every row of the planes it is given (the height only checks
        // them), so each plane is cut to the band's rows.
        let c_rows = rows.start / 2..rows.end.div_ceil(2);
        fn band<'a>(
            bytes: &'a mut [u8],
            p: &FramePlane,
            rows: &Range<usize>,
        ) -> Option<&'a mut [u8]> {
            let s = p.stride as usize;
            bytes.get_mut(rows.start * s..rows.end * s)
        }
        let mode = YuvConversionMode::Balanced;
        let (range, matrix) = (colorimetry.range(), colorimetry.matrix());
        let planes = layout.planes.as_slice();
        let result = match planes {
            [yp, uvp] => {
                let (y_all, uv_all) = self
                    .bytes
                    .split_at_mut_checked(uvp.offset)
                    .ok_or_else(short)?;
                let mut image = YuvBiPlanarImageMut {
                    y_plane: BufferStoreMut::Borrowed(band(y_all, yp, &rows).ok_or_else(short)?),
                    y_stride: yp.stride,
                    uv_plane: BufferStoreMut::Borrowed(
                        band(uv_all, uvp, &c_rows).ok_or_else(short)?,
                    ),
                    uv_stride: uvp.stride,
                    width,
                    height,
                };
                yuv::bgra_to_yuv_nv12(&mut image, src, stride_u32, range, matrix, mode)
            }
            [yp, up, vp] => {
                let (y_all, chroma) = self
                    .bytes
                    .split_at_mut_checked(up.offset)
                    .ok_or_else(short)?;
                let (u_all, v_all) = chroma
                    .split_at_mut_checked(vp.offset.saturating_sub(up.offset))
                    .ok_or_else(short)?;
                let mut image = YuvPlanarImageMut {
                    y_plane: BufferStoreMut::Borrowed(band(y_all, yp, &rows).ok_or_else(short)?),
                    y_stride: yp.stride,
                    u_plane: BufferStoreMut::Borrowed(band(u_all, up, &c_rows).ok_or_else(short)?),
                    u_stride: up.stride,
                    v_plane: BufferStoreMut::Borrowed(band(v_all, vp, &c_rows).ok_or_else(short)?),
                    v_stride: vp.stride,
                    width,
                    height,
                };
                yuv::bgra_to_yuv420(&mut image, src, stride_u32, range, matrix, mode)
            }
            _ => return Err(short()),
        };
        result.map_err(|err| RenderError::Draw(format!("YUV conversion: {err}")))
    }
}

fn short() -> RenderError {
    RenderError::Draw("YUV conversion: a plane or the source is shorter than its band".to_owned())
}

fn dim(value: usize) -> Result<u32, RenderError> {
    u32::try_from(value).map_err(|_| RenderError::Draw(format!("YUV conversion: {value} too big")))
}

impl PoolImage for PlanarImage {
    fn memory(image: &Arc<Self>) -> FrameMemory {
        FrameMemory::Planar(image.clone())
    }

    fn stride(&self) -> u32 {
        self.layout.planes.first().map_or(0, |p| p.stride)
    }
}

/// Sorted, disjoint row ranges of a picture; what changed between two frames.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rows(Vec<Range<usize>>);

impl Rows {
    pub(crate) fn all(height: usize) -> Self {
        let mut rows = Self::default();
        rows.add(0..height);
        rows
    }

    /// Adds rows `range`.
    pub(crate) fn add(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        self.0.push(range);
        self.0.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(self.0.len());
        for r in self.0.drain(..) {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        self.0 = merged;
    }

    pub(crate) fn extend(&mut self, other: &Rows) {
        for r in &other.0 {
            self.add(r.clone());
        }
    }

    /// The bands to convert: each range widened to whole 2x2 chroma blocks (even start,
    /// even end) within `height`, overlapping ones merged.
    pub(crate) fn bands(&self, height: usize) -> Vec<Range<usize>> {
        let mut out = Rows::default();
        for r in &self.0 {
            let start = r.start.min(height) & !1;
            let end = r.end.saturating_add(1).min(height.saturating_add(1)) & !1;
            out.add(start..end.min(height).max(start));
        }
        out.0
    }

    pub(crate) fn count(&self) -> usize {
        self.0.iter().map(Range::len).sum()
    }
}

/// What a YUV image holds: the conversion of which picture.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Source {
    /// The renderer's BGRx frame of this number.
    Rendered(u64),
    /// A client buffer converted directly (`passthrough.rs`).
    Client(super::passthrough::CopyTag),
    /// A composed picture the GPU converted whole (`gles_yuv.rs`): nothing later builds
    /// on it.
    Gpu,
}

/// The YUV pool and its colorimetry.
pub(crate) struct YuvOutput {
    pub(crate) pool: OutputPool<PlanarImage>,
    pub(crate) colorimetry: Colorimetry,
    layout: PlanarLayout,
}

impl YuvOutput {
    pub(crate) fn new(
        format: OutputFormat,
        width: u32,
        height: u32,
        colorimetry: Colorimetry,
    ) -> Result<Self, RenderError> {
        let layout = PlanarLayout::new(format, width, height).ok_or(RenderError::Alloc {
            width,
            height,
            format,
        })?;
        let mut pool = OutputPool::new(format, width, height);
        pool.colorimetry = Some(colorimetry);
        Ok(Self {
            pool,
            colorimetry,
            layout,
        })
    }

    pub(crate) fn height(&self) -> usize {
        self.layout.height
    }

    /// A free image, new when all are in use downstream.
    pub(crate) fn acquire(&mut self) -> Result<usize, RenderError> {
        let layout = self.layout.clone();
        let (width, height, format) = (dim(layout.width)?, dim(layout.height)?, self.pool.format());
        self.pool
            .acquire(|| {
                PlanarImage::new(layout).ok_or(RenderError::Alloc {
                    width,
                    height,
                    format,
                })
            })
            .map(|(slot, _)| slot)
    }

    /// What `slot` holds, when it holds a known picture.
    pub(crate) fn source(&self, slot: usize) -> Option<&Source> {
        match self.pool.content(slot) {
            Content::Yuv(source) => Some(source),
            _ => None,
        }
    }

    /// Converts `frame` (a BGRx frame the renderer drew, number `frame.seq`) into a free
    /// image: only `changed(since)` rows when the image holds an earlier rendered frame
    /// `since` and the renderer still knows what changed after it.
    pub(crate) fn convert_rendered(
        &mut self,
        frame: &Frame,
        changed: impl FnOnce(u64) -> Option<Rows>,
    ) -> Result<Frame, RenderError> {
        let slot = self.acquire()?;
        let height = self.height();
        let rows = match self.source(slot) {
            Some(Source::Rendered(since)) if *since == frame.seq => Rows::default(),
            Some(Source::Rendered(since)) => changed(*since).unwrap_or_else(|| Rows::all(height)),
            _ => Rows::all(height),
        };
        let colorimetry = self.colorimetry;
        let stride = frame.stride as usize;
        let image = self.pool.image_mut(slot)?;
        tracing::trace!(rows = rows.count(), "converting a rendered frame to YUV");
        let converted = frame.with_pixels(|pixels| -> Result<(), RenderError> {
            for band in rows.bands(height) {
                let src = pixels.get(band.start * stride..).ok_or_else(short)?;
                image.convert_rows(src, stride, band, colorimetry)?;
            }
            Ok(())
        });
        if let Err(err) = converted.and_then(|inner| inner) {
            // Part old, part new: converted whole next time.
            self.pool.forget(slot);
            return Err(err);
        }
        self.pool
            .filled(slot, Content::Yuv(Source::Rendered(frame.seq)), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_gstreamers_defaults() {
        // gst_video_info_set_format's I420 and NV12 layouts at odd and even sizes.
        let i420 = PlanarLayout::new(OutputFormat::I420, 1920, 1080).unwrap();
        let offsets: Vec<_> = i420.planes().iter().map(|p| (p.offset, p.stride)).collect();
        assert_eq!(
            offsets,
            [
                (0, 1920),
                (1920 * 1080, 960),
                (1920 * 1080 + 960 * 540, 960)
            ]
        );
        assert_eq!(i420.len(), 1920 * 1080 * 3 / 2);
        let odd = PlanarLayout::new(OutputFormat::I420, 33, 17).unwrap();
        let offsets: Vec<_> = odd.planes().iter().map(|p| (p.offset, p.stride)).collect();
        assert_eq!(offsets, [(0, 36), (36 * 18, 20), (36 * 18 + 20 * 9, 20)]);
        assert_eq!(odd.len(), 36 * 18 + 2 * 20 * 9);
        let nv12 = PlanarLayout::new(OutputFormat::Nv12, 33, 17).unwrap();
        let offsets: Vec<_> = nv12.planes().iter().map(|p| (p.offset, p.stride)).collect();
        assert_eq!(offsets, [(0, 36), (36 * 18, 36)]);
        assert_eq!(nv12.len(), 36 * 18 + 36 * 9);
        assert!(PlanarLayout::new(OutputFormat::Bgrx, 2, 2).is_none());
        // Sizes whose planes overflow the address space are refused, not wrapped.
        assert!(PlanarLayout::new(OutputFormat::I420, u32::MAX, u32::MAX).is_none());
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn bands_cover_whole_chroma_blocks() {
        let mut rows = Rows::default();
        rows.add(5..6);
        rows.add(9..12);
        assert_eq!(rows.bands(100), [4..6, 8..12]);
        rows.add(6..9);
        assert_eq!(rows.bands(100), [4..12]);
        let mut tail = Rows::default();
        tail.add(16..17);
        assert_eq!(tail.bands(17), [16..17]);
        assert_eq!(Rows::all(7).bands(7), [0..7]);
        assert_eq!(Rows::default().bands(7), Vec::<Range<usize>>::new());
        let mut beyond = Rows::default();
        beyond.add(40..50);
        assert!(beyond.bands(20).iter().all(|b| b.is_empty() || b.end <= 20));
    }

    /// Solid BGRx colours come out as the standard's values.
    #[test]
    fn converts_known_colours() {
        let (w, h) = (6usize, 4usize);
        let mut image =
            PlanarImage::new(PlanarLayout::new(OutputFormat::I420, 6, 4).unwrap()).unwrap();
        // White over black over red, in bands.
        let mut src = vec![0u8; w * 4 * h];
        for (i, px) in src.chunks_exact_mut(4).enumerate() {
            let row = i / w;
            px.copy_from_slice(match row {
                0 | 1 => &[255, 255, 255, 255],
                _ => &[0, 0, 255, 255],
            });
        }
        image
            .convert_rows(&src, w * 4, 0..h, Colorimetry::BT709)
            .unwrap();
        let planes = image.layout().planes().to_vec();
        let y = image.bytes();
        assert!((i32::from(y[0]) - 235).abs() <= 1, "white Y {}", y[0]);
        let red_y = y[planes[0].stride as usize * 2];
        assert!((i32::from(red_y) - 63).abs() <= 1, "BT.709 red Y {red_y}");
        let red_v = y[planes[2].offset + planes[2].stride as usize];
        assert!((i32::from(red_v) - 240).abs() <= 1, "BT.709 red V {red_v}");
        image
            .convert_rows(&src, w * 4, 0..h, Colorimetry::BT601)
            .unwrap();
        let red_y = image.bytes()[planes[0].stride as usize * 2];
        assert!((i32::from(red_y) - 81).abs() <= 1, "BT.601 red Y {red_y}");
    }

    /// A source whose last row ends at its pixels (stride wider than the row) converts
    /// like one with whole strides.
    #[test]
    fn a_short_last_row_converts_the_same() {
        let (w, h, stride) = (10usize, 5usize, 64usize);
        let mut src = vec![0u8; stride * h];
        for (i, b) in src.iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        for format in OutputFormat::YUV {
            let layout = PlanarLayout::new(format, w as u32, h as u32).unwrap();
            let mut whole = PlanarImage::new(layout.clone()).unwrap();
            whole
                .convert_rows(&src, stride, 0..h, Colorimetry::BT709)
                .unwrap();
            let mut cut = PlanarImage::new(layout).unwrap();
            let end = stride * (h - 1) + w * 4;
            cut.convert_rows(&src[..end], stride, 0..h, Colorimetry::BT709)
                .unwrap();
            assert_eq!(whole.bytes(), cut.bytes(), "{format:?}");
            // And a band from row 2 on.
            let mut band = PlanarImage::new(whole.layout().clone()).unwrap();
            band.convert_rows(&src[..end], stride, 0..h, Colorimetry::BT709)
                .unwrap();
            band.convert_rows(&src[2 * stride..end], stride, 2..h, Colorimetry::BT709)
                .unwrap();
            assert_eq!(whole.bytes(), band.bytes(), "{format:?} band");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 64,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Any size, stride and set of changed rows: converting only those rows' bands
        /// into an image that held the old picture gives what converting the new picture
        /// whole gives, and a source cut right after its last pixel converts the same.
        #[test]
        fn converting_changed_rows_equals_converting_everything(
            w in 1usize..40,
            h in 1usize..40,
            pad in 0usize..12,
            seed in proptest::prelude::any::<u32>(),
            changes in proptest::collection::vec((0usize..40, 1usize..8), 0..4),
            nv12 in proptest::prelude::any::<bool>(),
        ) {
            let format = if nv12 { OutputFormat::Nv12 } else { OutputFormat::I420 };
            let stride = w * 4 + pad;
            let pixel = |i: usize, s: u32| (i as u32).wrapping_mul(2_654_435_761).wrapping_add(s).to_le_bytes()[1];
            let old: Vec<u8> = (0..stride * h).map(|i| pixel(i, seed)).collect();
            let mut new = old.clone();
            let mut rows = Rows::default();
            for (start, len) in changes {
                let range = start.min(h)..(start + len).min(h);
                for row in range.clone() {
                    let first = row * stride;
                    for (i, byte) in new[first..first + w * 4].iter_mut().enumerate() {
                        *byte = pixel(first + i, seed ^ 0x5555);
                    }
                }
                rows.add(range);
            }
            let layout = PlanarLayout::new(format, w as u32, h as u32).unwrap();
            let mut whole = PlanarImage::new(layout.clone()).unwrap();
            whole.convert_rows(&new, stride, 0..h, Colorimetry::BT709).unwrap();
            let mut partial = PlanarImage::new(layout).unwrap();
            partial.convert_rows(&old, stride, 0..h, Colorimetry::BT709).unwrap();
            let cut = &new[..stride * (h - 1) + w * 4];
            for band in rows.bands(h) {
                partial
                    .convert_rows(&cut[band.start * stride..], stride, band, Colorimetry::BT709)
                    .unwrap();
            }
            proptest::prop_assert_eq!(whole.bytes(), partial.bytes());
        }
    }

    #[test]
    fn odd_band_starts_are_refused() {
        let mut image =
            PlanarImage::new(PlanarLayout::new(OutputFormat::Nv12, 4, 4).unwrap()).unwrap();
        let src = vec![0u8; 64];
        assert!(
            image
                .convert_rows(&src, 16, 1..3, Colorimetry::BT709)
                .is_err()
        );
    }
}
