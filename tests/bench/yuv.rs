//! `yuv-convert`: what BGRx → I420/NV12 costs with each candidate for the compositor's
//! conversion (issue 16), single-threaded, beside `videoconvert`'s converter and the scalar
//! reference (`gwd_tests::yuv_ref`) that every output is compared to: a whole frame, and a
//! 16-row band (rows [h/2, h/2 + 16), what a damaged terminal line costs).

use std::time::Instant;

use gst_video::prelude::*;
use gwd_tests::yuv_ref::{self, Bgrx, Colorimetry};
use serde_json::json;

use crate::Options;
use crate::report::{Table, col, percentile};

/// Source rows are padded, as a client's buffer's may be: every candidate must honour it.
const STRIDE_PAD: usize = 64;
const BAND_ROWS: usize = 16;

/// A conversion's planes, copied out for comparison: (bytes, stride, first byte, step).
struct Output {
    y: (Vec<u8>, usize),
    u: (Vec<u8>, usize, usize, usize),
    v: (Vec<u8>, usize, usize, usize),
}

impl Output {
    fn i420(y: (&[u8], usize), u: (&[u8], usize), v: (&[u8], usize)) -> Self {
        Self {
            y: (y.0.to_vec(), y.1),
            u: (u.0.to_vec(), u.1, 0, 1),
            v: (v.0.to_vec(), v.1, 0, 1),
        }
    }

    fn nv12(y: (&[u8], usize), uv: (&[u8], usize)) -> Self {
        Self {
            y: (y.0.to_vec(), y.1),
            u: (uv.0.to_vec(), uv.1, 0, 2),
            v: (uv.0.to_vec(), uv.1, 1, 2),
        }
    }

    /// Max |Δ| in Y, U, V against the reference over rows [first, first + rows).
    fn deltas(&self, reference: &yuv_ref::I420, first: usize, rows: usize) -> [u8; 3] {
        let w = reference.width;
        let (cw, _) = yuv_ref::chroma_size(w, reference.height);
        let (c0, c1) = (first / 2, (first + rows).div_ceil(2));
        let y = yuv_ref::max_delta(
            &self.y.0[first * self.y.1..],
            self.y.1,
            0,
            &reference.y[first * w..],
            w,
            0,
            (1, 1),
            w,
            rows,
        );
        let plane = |(data, stride, at, step): &(Vec<u8>, usize, usize, usize), r: &[u8]| {
            yuv_ref::max_delta(
                &data[c0 * stride..],
                *stride,
                *at,
                &r[c0 * cw..],
                cw,
                0,
                (*step, 1),
                cw,
                c1 - c0,
            )
        };
        [
            y,
            plane(&self.u, &reference.u),
            plane(&self.v, &reference.v),
        ]
    }
}

/// One library converting one format into its own reused planes.
trait Candidate {
    fn library(&self) -> String;
    fn format(&self) -> &'static str;
    /// How it converts a band without copying.
    fn band_how(&self) -> &'static str;
    /// Converts all of `src`, or only rows [first, first + BAND_ROWS) (first even).
    fn convert(&mut self, src: &Bgrx, band: Option<usize>) -> Result<(), String>;
    fn output(&self) -> Output;
    /// Zeroes the planes, so that what a band conversion did not write shows.
    fn clear(&mut self);
}

struct Planes {
    y: Vec<u8>,
    y_stride: usize,
    /// I420: U then V, each `c_stride` x ch; NV12: UV in `u`, `v` empty.
    u: Vec<u8>,
    v: Vec<u8>,
    c_stride: usize,
    nv12: bool,
}

impl Planes {
    fn new(w: usize, h: usize, nv12: bool) -> Self {
        let (cw, ch) = yuv_ref::chroma_size(w, h);
        let c_stride = if nv12 { cw * 2 } else { cw };
        Self {
            y: vec![0; w * h],
            y_stride: w,
            u: vec![0; c_stride * ch],
            v: if nv12 { Vec::new() } else { vec![0; cw * ch] },
            c_stride,
            nv12,
        }
    }

    fn format(&self) -> &'static str {
        if self.nv12 { "NV12" } else { "I420" }
    }

    fn clear(&mut self) {
        for p in [&mut self.y, &mut self.u, &mut self.v] {
            p.fill(0);
        }
    }

    fn output(&self) -> Output {
        if self.nv12 {
            Output::nv12((&self.y, self.y_stride), (&self.u, self.c_stride))
        } else {
            Output::i420(
                (&self.y, self.y_stride),
                (&self.u, self.c_stride),
                (&self.v, self.c_stride),
            )
        }
    }

    /// The source and planes cut to the rows converted: the band's are sub-slices.
    fn cut<'a>(
        &'a mut self,
        src: &Bgrx<'a>,
        band: Option<usize>,
    ) -> (Bgrx<'a>, &'a mut [u8], &'a mut [u8], &'a mut [u8]) {
        let (first, rows) = band.map_or((0, src.height), |f| (f, BAND_ROWS));
        let s = src.rows(first, rows);
        let c0 = first / 2 * self.c_stride;
        let v: &mut [u8] = if self.nv12 {
            &mut []
        } else {
            &mut self.v[c0..]
        };
        (
            s,
            &mut self.y[first * self.y_stride..],
            &mut self.u[c0..],
            v,
        )
    }
}

struct Reference(Planes);

impl Candidate for Reference {
    fn library(&self) -> String {
        "scalar reference (yuv_ref)".to_owned()
    }
    fn format(&self) -> &'static str {
        self.0.format()
    }
    fn band_how(&self) -> &'static str {
        "sub-slices"
    }
    fn convert(&mut self, src: &Bgrx, band: Option<usize>) -> Result<(), String> {
        let (ys, cs, nv12) = (self.0.y_stride, self.0.c_stride, self.0.nv12);
        let (s, y, u, v) = self.0.cut(src, band);
        if nv12 {
            yuv_ref::bgrx_to_nv12(&s, Colorimetry::BT709, y, ys, u, cs);
        } else {
            yuv_ref::bgrx_to_i420(&s, Colorimetry::BT709, y, ys, u, cs, v, cs);
        }
        Ok(())
    }
    fn output(&self) -> Output {
        self.0.output()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

/// The `yuv` crate (yuvutils-rs): BT.709 limited, `YuvConversionMode::Balanced` (its
/// default and most accurate mode short of the `professional_mode` feature).
struct YuvCrate(Planes);

impl Candidate for YuvCrate {
    fn library(&self) -> String {
        "yuv 0.8.20 (Balanced)".to_owned()
    }
    fn format(&self) -> &'static str {
        self.0.format()
    }
    fn band_how(&self) -> &'static str {
        "sub-slices"
    }
    fn convert(&mut self, src: &Bgrx, band: Option<usize>) -> Result<(), String> {
        use yuv::{
            BufferStoreMut, YuvBiPlanarImageMut, YuvConversionMode, YuvPlanarImageMut, YuvRange,
            YuvStandardMatrix,
        };
        let (ys, cs, nv12) = (self.0.y_stride, self.0.c_stride, self.0.nv12);
        let (s, y, u, v) = self.0.cut(src, band);
        let (width, height) = (s.width as u32, s.height as u32);
        // It converts every row of the slices it is given (the height only checks them), so
        // a band's must end with the band: whole rows of each plane.
        let ch = yuv_ref::chroma_size(s.width, s.height).1;
        let (src_len, y_len, c_len) = (s.stride * s.height, ys * s.height, cs * ch);
        let (y, u) = (&mut y[..y_len], &mut u[..c_len]);
        let v = if nv12 { v } else { &mut v[..c_len] };
        let rgba = &s.data[..src_len.min(s.data.len())];
        let (range, matrix, mode) = (
            YuvRange::Limited,
            YuvStandardMatrix::Bt709,
            YuvConversionMode::Balanced,
        );
        let result = if nv12 {
            let mut image = YuvBiPlanarImageMut {
                y_plane: BufferStoreMut::Borrowed(y),
                y_stride: ys as u32,
                uv_plane: BufferStoreMut::Borrowed(u),
                uv_stride: cs as u32,
                width,
                height,
            };
            yuv::bgra_to_yuv_nv12(&mut image, rgba, s.stride as u32, range, matrix, mode)
        } else {
            let mut image = YuvPlanarImageMut {
                y_plane: BufferStoreMut::Borrowed(y),
                y_stride: ys as u32,
                u_plane: BufferStoreMut::Borrowed(u),
                u_stride: cs as u32,
                v_plane: BufferStoreMut::Borrowed(v),
                v_stride: cs as u32,
                width,
                height,
            };
            yuv::bgra_to_yuv420(&mut image, rgba, s.stride as u32, range, matrix, mode)
        };
        result.map_err(|e| e.to_string())
    }
    fn output(&self) -> Output {
        self.0.output()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

/// AWS's `dcv-color-primitives`: `convert_image` Bgra → I420/NV12, `ColorSpace::Bt709`
/// (limited).
struct Dcv(Planes);

impl Candidate for Dcv {
    fn library(&self) -> String {
        format!(
            "dcv-color-primitives 1.0.0 ({})",
            dcv_color_primitives::describe_acceleration()
        )
    }
    fn format(&self) -> &'static str {
        self.0.format()
    }
    fn band_how(&self) -> &'static str {
        "sub-slices"
    }
    fn convert(&mut self, src: &Bgrx, band: Option<usize>) -> Result<(), String> {
        use dcv_color_primitives::{ColorSpace, ImageFormat, PixelFormat, convert_image};
        let (ys, cs, nv12) = (self.0.y_stride, self.0.c_stride, self.0.nv12);
        let (s, y, u, v) = self.0.cut(src, band);
        let src_format = ImageFormat {
            pixel_format: PixelFormat::Bgra,
            color_space: ColorSpace::Rgb,
            num_planes: 1,
        };
        let result = if nv12 {
            let dst_format = ImageFormat {
                pixel_format: PixelFormat::Nv12,
                color_space: ColorSpace::Bt709,
                num_planes: 2,
            };
            convert_image(
                s.width as u32,
                s.height as u32,
                &src_format,
                Some(&[s.stride]),
                &[s.data],
                &dst_format,
                Some(&[ys, cs]),
                &mut [y, u],
            )
        } else {
            let dst_format = ImageFormat {
                pixel_format: PixelFormat::I420,
                color_space: ColorSpace::Bt709,
                num_planes: 3,
            };
            convert_image(
                s.width as u32,
                s.height as u32,
                &src_format,
                Some(&[s.stride]),
                &[s.data],
                &dst_format,
                Some(&[ys, cs, cs]),
                &mut [y, u, v],
            )
        };
        result.map_err(|e| format!("{e:?}"))
    }
    fn output(&self) -> Output {
        self.0.output()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

/// `gst_video::VideoConverter` as `videoconvert` configures it (linear chroma resampler,
/// Bayer dither, 1 thread), BGRx → I420 BT.709. The band converts through a second
/// converter with src-y/dest-y set and border filling off, on the same frames.
struct VideoConvert {
    label: &'static str,
    full: gst_video::VideoConverter,
    band: Option<(usize, gst_video::VideoConverter)>,
    src: gst_video::VideoFrame<gst_video::video_frame::Readable>,
    dst: gst_video::VideoFrame<gst_video::video_frame::Writable>,
    band_rows: Option<usize>,
}

impl VideoConvert {
    /// `jpeg`: the I420 side says chroma-site=jpeg (the reference's siting); otherwise the
    /// siting caps without `chroma-site` get.
    fn new(src: &Bgrx, jpeg: bool, band_first: Option<usize>) -> Self {
        let (w, h) = (src.width as u32, src.height as u32);
        let strides = [src.stride as i32];
        let in_info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Bgrx, w, h)
            .stride(&strides)
            .offset(&[0])
            .build()
            .unwrap();
        let mut caps = gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("width", w as i32)
            .field("height", h as i32)
            .field("framerate", gst::Fraction::new(0, 1))
            .field("colorimetry", "bt709");
        if jpeg {
            caps = caps.field("chroma-site", "jpeg");
        }
        let out_info = gst_video::VideoInfo::from_caps(&caps.build()).unwrap();
        let config = |band: Option<usize>| {
            let mut c = gst_video::VideoConverterConfig::new();
            c.set_chroma_resampler_method(gst_video::VideoResamplerMethod::Linear);
            c.set_dither_method(gst_video::VideoDitherMethod::Bayer);
            c.set_threads(1);
            if let Some(first) = band {
                c.set_src_y(first as i32);
                c.set_src_height(Some(BAND_ROWS as i32));
                c.set_dest_y(first as i32);
                c.set_dest_height(Some(BAND_ROWS as i32));
                c.set_fill_border(false);
            }
            c
        };
        let full = gst_video::VideoConverter::new(&in_info, &out_info, Some(config(None))).unwrap();
        let band = band_first.map(|f| {
            (
                f,
                gst_video::VideoConverter::new(&in_info, &out_info, Some(config(Some(f)))).unwrap(),
            )
        });
        let len = (src.height - 1) * src.stride + src.width * 4;
        let inbuf = gst::Buffer::from_slice(src.data[..len].to_vec());
        let src = gst_video::VideoFrame::from_buffer_readable(inbuf, &in_info).unwrap();
        let outbuf = gst::Buffer::with_size(out_info.size()).unwrap();
        let dst = gst_video::VideoFrame::from_buffer_writable(outbuf, &out_info).unwrap();
        Self {
            label: if jpeg {
                "videoconvert, chroma-site=jpeg"
            } else {
                "videoconvert, no chroma-site in caps"
            },
            full,
            band,
            src,
            dst,
            band_rows: None,
        }
    }
}

impl Candidate for VideoConvert {
    fn library(&self) -> String {
        let site = self.dst.info().chroma_site();
        format!("{} ({site:?})", self.label)
    }
    fn format(&self) -> &'static str {
        "I420"
    }
    fn band_how(&self) -> &'static str {
        "src-y/dest-y config"
    }
    fn convert(&mut self, _src: &Bgrx, band: Option<usize>) -> Result<(), String> {
        // The frames were made from `src` up front: GStreamer reads its own buffer.
        self.band_rows = band;
        match (band, &self.band) {
            (None, _) => self.full.frame(&self.src, &mut self.dst),
            (Some(f), Some((first, conv))) if f == *first => conv.frame(&self.src, &mut self.dst),
            _ => return Err("no converter for this band".to_owned()),
        }
        Ok(())
    }
    fn output(&self) -> Output {
        let s = self.dst.plane_stride();
        Output::i420(
            (self.dst.plane_data(0).unwrap(), s[0] as usize),
            (self.dst.plane_data(1).unwrap(), s[1] as usize),
            (self.dst.plane_data(2).unwrap(), s[2] as usize),
        )
    }
    fn clear(&mut self) {
        for p in 0..3 {
            self.dst.plane_data_mut(p).unwrap().fill(0);
        }
    }
}

fn candidates(src: &Bgrx, band_first: Option<usize>) -> Vec<Box<dyn Candidate>> {
    let (w, h) = (src.width, src.height);
    let mut out: Vec<Box<dyn Candidate>> = vec![
        Box::new(VideoConvert::new(src, true, band_first)),
        Box::new(VideoConvert::new(src, false, band_first)),
    ];
    for nv12 in [false, true] {
        out.push(Box::new(YuvCrate(Planes::new(w, h, nv12))));
        out.push(Box::new(Dcv(Planes::new(w, h, nv12))));
        out.push(Box::new(Reference(Planes::new(w, h, nv12))));
    }
    out
}

/// The median of single calls over `opts.seconds`, after `opts.warmup`.
fn median_ms(opts: &Options, mut f: impl FnMut()) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < opts.warmup {
        f();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed() < opts.seconds || times.len() < 5 {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    percentile(&mut times, 0.5).unwrap_or(f64::NAN)
}

/// How many [`candidates`] there are.
fn candidates_len() -> usize {
    let data = [0u8; 8];
    candidates(
        &Bgrx {
            data: &data,
            width: 2,
            height: 1,
            stride: 8,
        },
        None,
    )
    .len()
}

/// Converts a 33x17 frame with padded rows with candidate `i`: "yes, Δ ≤ n" or why not.
fn odd_size_check(i: usize) -> String {
    let (w, h) = (33, 17);
    let stride = w * 4 + 12;
    let data = yuv_ref::test_pattern(w, h, stride);
    let src = Bgrx {
        data: &data,
        width: w,
        height: h,
        stride,
    };
    let reference = yuv_ref::I420::from_bgrx(&src, Colorimetry::BT709);
    let mut c = candidates(&src, None).swap_remove(i);
    c.clear();
    match c.convert(&src, None) {
        Ok(()) => {
            let d = c.output().deltas(&reference, 0, h);
            format!("yes, Δ ≤ {}", d.iter().max().unwrap_or(&0))
        }
        Err(e) => format!("no: {e}"),
    }
}

pub fn run(opts: &Options) -> Table {
    let mut table = Table::new(
        "yuv-convert",
        "BGRx → I420/NV12, BT.709 limited, one thread: whole frame and a 16-row band",
        vec![
            col("size", "size", 0),
            col("case", "case", 0),
            col("library", "library", 0),
            col("format", "format", 0),
            col("ms", "ms/frame (median)", 3),
            col("x_memcpy", "× memcpy", 2),
            col("dy", "max Δ Y", 0),
            col("du", "max Δ U", 0),
            col("dv", "max Δ V", 0),
            col("stride", "padded stride", 0),
            col("odd", "odd size (33x17)", 0),
            col("band_how", "band without copy", 0),
        ],
    );
    // Odd sizes, once per candidate.
    let odd: Vec<String> = (0..candidates_len()).map(odd_size_check).collect();

    for &(w, h) in &opts.sizes {
        let (w, h) = (w as usize, h as usize);
        let floor = crate::floor_ms((w as u32, h as u32));
        let stride = w * 4 + STRIDE_PAD;
        let data = yuv_ref::test_pattern(w, h, stride);
        let src = Bgrx {
            data: &data,
            width: w,
            height: h,
            stride,
        };
        let reference = yuv_ref::I420::from_bgrx(&src, Colorimetry::BT709);
        // h/2 rounded down to even, so that the band starts a chroma row.
        let first = (h / 2) & !1;
        for (i, mut c) in candidates(&src, Some(first)).into_iter().enumerate() {
            for band in [None, Some(first)] {
                let (r0, rows) = band.map_or((0, h), |f| (f, BAND_ROWS));
                c.clear();
                let mut failed = c.convert(&src, band).err();
                let ms = if failed.is_none() {
                    median_ms(opts, || {
                        if let Err(e) = c.convert(&src, band) {
                            failed = Some(e);
                        }
                    })
                } else {
                    f64::NAN
                };
                let d = c.output().deltas(&reference, r0, rows);
                let case = match band {
                    None => "full frame".to_owned(),
                    Some(f) => format!("rows {f}..{}", f + BAND_ROWS),
                };
                table.push(json!({
                    "size": format!("{w}x{h}"),
                    "case": case,
                    "library": c.library(),
                    "format": c.format(),
                    "ms": if ms.is_finite() { Some(ms) } else { None },
                    "x_memcpy": if ms.is_finite() { Some(ms / floor) } else { None },
                    "memcpy_ms": floor,
                    "dy": d[0],
                    "du": d[1],
                    "dv": d[2],
                    "stride": match &failed { None => "yes".to_owned(), Some(e) => format!("error: {e}") },
                    "odd": odd[i],
                    "band_how": c.band_how(),
                }));
            }
        }
    }
    table.notes.push(format!(
        "Source: yuv_ref::test_pattern (gradients behind rows of 1-pixel text-like glyphs), \
         rows padded by {STRIDE_PAD} bytes (stride = width × 4 + {STRIDE_PAD}); the same frame \
         for every library. Each figure is the median of single calls over --seconds after the \
         warm-up, on one thread (VideoConverter n-threads=1; yuv built without rayon). \
         × memcpy: over the copy of one whole BGRx frame of the size, measured in this run \
         (also for the band). max Δ: against the scalar reference (tests/src/yuv_ref.rs: 8-bit \
         fixed point, chroma the rounded 2x2 average) over the rows converted. The band: rows \
         [h/2, h/2 + {BAND_ROWS}) of the same frame, written into the same planes in place."
    ));
    table.notes.push(
        "videoconvert: gst_video::VideoConverter with the element's configuration (chroma \
         resampler linear, Bayer dither, 1 thread) into I420 caps with colorimetry=bt709, \
         once with chroma-site=jpeg (chroma at the 2x2 block's centre, as the reference) and \
         once without chroma-site (unknown, which it treats the same way); with \
         chroma-site=mpeg2 its chroma differs from a block average by up to an edge's size \
         (tests/src/yuv_ref.rs). It rounds down where the reference rounds to nearest, hence \
         its Δ of 2. The band goes through a second converter with src-y/dest-y/heights set \
         and fill-border off, on the same frames."
            .to_owned(),
    );
    table.notes.push(
        "yuv: bgra_to_yuv420 / bgra_to_yuv_nv12, YuvRange::Limited, YuvStandardMatrix::Bt709, \
         YuvConversionMode::Balanced (the default; Fast and Professional need features). It \
         converts every row of the slices it is handed (the height only checks them), so a \
         band's source and planes are cut to the band's rows. dcv: convert_image Bgra/Rgb → \
         I420|Nv12/Bt709 with explicit strides; it converts `height` rows from the slices' \
         start."
            .to_owned(),
    );
    table.notes.push(
        "Build cost, measured once (not by this program): a clean `cargo build -j1 -p yuv -p \
         dcv-color-primitives` in the dev profile, machine idle: yuv 0.8.20 (features avx, \
         sse) 62.3 s, its num-traits already in the tree; dcv-color-primitives 1.0.0 7.6 s, \
         plus 1.4 s for what it adds (itertools 0.14 as a build-dependency, spin), pastey \
         already in the tree. In a parallel workspace build on a busy machine: 135 s and \
         17 s. The dev profile builds dependencies at opt-level 2 and our crates at 1 (the \
         workspace Cargo.toml): the libraries here run at 2, the scalar reference at 1, \
         videoconvert is Debian's C."
            .to_owned(),
    );
    table
}
