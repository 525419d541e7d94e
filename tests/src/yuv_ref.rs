//! A scalar reference conversion BGRx → I420 and BGRx → NV12: what the compositor's SIMD
//! conversion (issue 16) is checked against, and the slowest row of `gwd-bench yuv-convert`.
//!
//! Integer formulas, 8-bit fixed point (coefficients in 1/256), with R, G, B the source
//! bytes and `>>` an arithmetic (flooring) shift:
//!
//! ```text
//! Y = ((yr·R + yg·G + yb·B + 128) >> 8) + Yoff                   (Yoff: 16 limited, 0 full)
//! U = ((ur·ΣR + ug·ΣG + ub·ΣB)·(4/n) + 512) >> 10) + 128
//! V = ((vr·ΣR + vg·ΣG + vb·ΣB)·(4/n) + 512) >> 10) + 128
//! ```
//!
//! where ΣR, ΣG, ΣB sum the n pixels (4; 2 or 1 on the right column or bottom row of an odd
//! width or height) of the chroma sample's 2x2 block: chroma is the block's average, rounded
//! once (half up). Every result is clamped to 0..=255 (only full range's U/V at pure blue or
//! red reach 256).
//!
//! | colorimetry         | yr  yg  yb | ur  ug  ub | vr  vg  vb  |
//! |---------------------|------------|------------|-------------|
//! | BT.601 limited      | 66 129  25 | -38 -74 112| 112 -94 -18 |
//! | BT.709 limited      | 47 157  16 | -26 -86 112| 112 -102 -10|
//! | BT.601 full (JPEG)  | 77 150  29 | -43 -85 128| 128 -107 -21|
//! | BT.709 full         | 54 184  18 | -29 -99 128| 128 -116 -12|
//!
//! Derivation (Kr, Kb: 0.299, 0.114 for BT.601; 0.2126, 0.0722 for BT.709; Kg = 1 − Kr − Kb):
//! Y's row is (Kr, Kg, Kb)·s_y, U's is (−Kr, −Kg, 1 − Kb)·s_c / (2(1 − Kb)) and V's
//! (1 − Kr, −Kg, −Kb)·s_c / (2(1 − Kr)), with s_y = 256·219/255 and s_c = 256·224/255 for
//! limited range, s_y = s_c = 256 for full range; each rounded to the nearest integer, then
//! nudged by one where needed so that U and V's rows sum to 0 (grey has no chroma) and Y's to
//! 220 limited / 256 full (white is 235 / 255): BT.709 limited's ug −86.68 → −86, BT.709
//! full's yg 183.09 → 184 (nudging yb 18.48 → 19 instead puts pure blue 2 away from
//! `videoconvert`, which rounds its coefficients and results down).
//!
//! GStreamer's `videoconvert` (1.22, `dither=none`, any `chroma-resampler`) gives the same
//! values within ±1 for solid colours (white, black, R, G, B, grey; see the tests): it rounds
//! its results down (its BT.709 full-range white is 254). On [`test_pattern`], with
//! `chroma-site=jpeg` on the I420 side (chroma at the centre of its 2x2 block, as here), it is
//! within ±2 everywhere, 0–2 below us, since it also converts each pixel before averaging.
//! Caps without `chroma-site` leave it unknown, which it treats the same as `jpeg`; at
//! `chroma-site=mpeg2` (chroma at the left column, [1 2 1]/4 across) its chroma differs by
//! the size of the edge next to text-like edges: an output made with this conversion should
//! say `chroma-site=jpeg` in its caps.

/// The YCbCr matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matrix {
    Bt601,
    Bt709,
}

/// Limited (16–235 Y, 16–240 chroma) or full (0–255) range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    Limited,
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colorimetry {
    pub matrix: Matrix,
    pub range: Range,
}

impl Colorimetry {
    pub const BT709: Self = Self {
        matrix: Matrix::Bt709,
        range: Range::Limited,
    };
    pub const BT601: Self = Self {
        matrix: Matrix::Bt601,
        range: Range::Limited,
    };
    pub const BT709_FULL: Self = Self {
        matrix: Matrix::Bt709,
        range: Range::Full,
    };
    pub const BT601_FULL: Self = Self {
        matrix: Matrix::Bt601,
        range: Range::Full,
    };
    pub const ALL: [Self; 4] = [Self::BT709, Self::BT601, Self::BT709_FULL, Self::BT601_FULL];
}

/// The fixed-point rows of the module's table, in R, G, B order, in 1/256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coefficients {
    pub y: [i32; 3],
    pub u: [i32; 3],
    pub v: [i32; 3],
    pub y_offset: i32,
}

pub const fn coefficients(c: Colorimetry) -> Coefficients {
    match (c.matrix, c.range) {
        (Matrix::Bt601, Range::Limited) => Coefficients {
            y: [66, 129, 25],
            u: [-38, -74, 112],
            v: [112, -94, -18],
            y_offset: 16,
        },
        (Matrix::Bt709, Range::Limited) => Coefficients {
            y: [47, 157, 16],
            u: [-26, -86, 112],
            v: [112, -102, -10],
            y_offset: 16,
        },
        (Matrix::Bt601, Range::Full) => Coefficients {
            y: [77, 150, 29],
            u: [-43, -85, 128],
            v: [128, -107, -21],
            y_offset: 0,
        },
        (Matrix::Bt709, Range::Full) => Coefficients {
            y: [54, 184, 18],
            u: [-29, -99, 128],
            v: [128, -116, -12],
            y_offset: 0,
        },
    }
}

/// A BGRx image in memory: byte 0 of each pixel is blue, byte 3 is ignored; row `r` starts
/// at `r * stride`, and `stride` may exceed `width * 4`.
#[derive(Clone, Copy, Debug)]
pub struct Bgrx<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    pub stride: usize,
}

impl<'a> Bgrx<'a> {
    /// Rows `[first, first + rows)`, as an image of their own (no copy).
    pub fn rows(&self, first: usize, rows: usize) -> Bgrx<'a> {
        assert!(first + rows <= self.height, "rows past the image");
        Bgrx {
            data: &self.data[first * self.stride..],
            width: self.width,
            height: rows,
            stride: self.stride,
        }
    }
}

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

#[inline]
fn luma(k: &Coefficients, b: u8, g: u8, r: u8) -> u8 {
    clamp(((k.y[0] * r as i32 + k.y[1] * g as i32 + k.y[2] * b as i32 + 128) >> 8) + k.y_offset)
}

/// The plane sizes of a 4:2:0 image: chroma width and height round up.
pub fn chroma_size(width: usize, height: usize) -> (usize, usize) {
    (width.div_ceil(2), height.div_ceil(2))
}

/// Walks `src` two rows at a time, writing luma into `y` and handing each chroma sample
/// (column, row, U, V) to `chroma`.
fn convert(
    src: &Bgrx,
    c: Colorimetry,
    y: &mut [u8],
    y_stride: usize,
    mut chroma: impl FnMut(usize, usize, u8, u8),
) {
    let k = coefficients(c);
    let (w, h) = (src.width, src.height);
    assert!(src.stride >= w * 4, "stride below width * 4");
    assert!(y_stride >= w, "Y stride below width");
    let (cw, ch) = chroma_size(w, h);
    for cy in 0..ch {
        let r0 = cy * 2;
        let rows = if r0 + 1 < h { 2 } else { 1 };
        for r in r0..r0 + rows {
            let line = &src.data[r * src.stride..][..w * 4];
            let out = &mut y[r * y_stride..][..w];
            for (px, o) in line.chunks_exact(4).zip(out.iter_mut()) {
                *o = luma(&k, px[0], px[1], px[2]);
            }
        }
        for cx in 0..cw {
            let c0 = cx * 2;
            let cols = if c0 + 1 < w { 2 } else { 1 };
            let (mut sr, mut sg, mut sb) = (0i32, 0i32, 0i32);
            for r in r0..r0 + rows {
                let px = &src.data[r * src.stride + c0 * 4..][..cols * 4];
                for p in px.chunks_exact(4) {
                    sb += p[0] as i32;
                    sg += p[1] as i32;
                    sr += p[2] as i32;
                }
            }
            // The sums of n pixels, scaled to four.
            let scale = 4 / (rows * cols) as i32;
            let (sr, sg, sb) = (sr * scale, sg * scale, sb * scale);
            let u = ((k.u[0] * sr + k.u[1] * sg + k.u[2] * sb + 512) >> 10) + 128;
            let v = ((k.v[0] * sr + k.v[1] * sg + k.v[2] * sb + 512) >> 10) + 128;
            chroma(cx, cy, clamp(u), clamp(v));
        }
    }
}

/// BGRx → I420 (planar Y, U, V; chroma half width and half height, rounded up) into
/// caller-owned planes with their own strides.
#[allow(clippy::too_many_arguments)]
pub fn bgrx_to_i420(
    src: &Bgrx,
    c: Colorimetry,
    y: &mut [u8],
    y_stride: usize,
    u: &mut [u8],
    u_stride: usize,
    v: &mut [u8],
    v_stride: usize,
) {
    convert(src, c, y, y_stride, |cx, cy, cu, cv| {
        u[cy * u_stride + cx] = cu;
        v[cy * v_stride + cx] = cv;
    });
}

/// BGRx → NV12 (planar Y, then U and V interleaved, U first) into caller-owned planes.
pub fn bgrx_to_nv12(
    src: &Bgrx,
    c: Colorimetry,
    y: &mut [u8],
    y_stride: usize,
    uv: &mut [u8],
    uv_stride: usize,
) {
    convert(src, c, y, y_stride, |cx, cy, cu, cv| {
        uv[cy * uv_stride + cx * 2] = cu;
        uv[cy * uv_stride + cx * 2 + 1] = cv;
    });
}

/// An I420 image with tight strides (Y: width, U and V: chroma width).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct I420 {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl I420 {
    pub fn new(width: usize, height: usize) -> Self {
        let (cw, ch) = chroma_size(width, height);
        Self {
            width,
            height,
            y: vec![0; width * height],
            u: vec![0; cw * ch],
            v: vec![0; cw * ch],
        }
    }

    pub fn from_bgrx(src: &Bgrx, c: Colorimetry) -> Self {
        let mut out = Self::new(src.width, src.height);
        let cw = chroma_size(src.width, src.height).0;
        bgrx_to_i420(
            src, c, &mut out.y, src.width, &mut out.u, cw, &mut out.v, cw,
        );
        out
    }
}

/// An NV12 image with tight strides (Y: width, UV: 2 × chroma width).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nv12 {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub uv: Vec<u8>,
}

impl Nv12 {
    pub fn new(width: usize, height: usize) -> Self {
        let (cw, ch) = chroma_size(width, height);
        Self {
            width,
            height,
            y: vec![0; width * height],
            uv: vec![0; cw * 2 * ch],
        }
    }

    pub fn from_bgrx(src: &Bgrx, c: Colorimetry) -> Self {
        let mut out = Self::new(src.width, src.height);
        let cw = chroma_size(src.width, src.height).0;
        bgrx_to_nv12(src, c, &mut out.y, src.width, &mut out.uv, cw * 2);
        out
    }
}

/// The largest |a − b| over a `width` x `height` window of two planes with their strides,
/// reading every `step`-th byte from `a_first`/`b_first` (step 2 picks U or V out of NV12).
#[allow(clippy::too_many_arguments)]
pub fn max_delta(
    a: &[u8],
    a_stride: usize,
    a_first: usize,
    b: &[u8],
    b_stride: usize,
    b_first: usize,
    step: (usize, usize),
    width: usize,
    height: usize,
) -> u8 {
    let mut max = 0;
    for r in 0..height {
        for x in 0..width {
            let va = a[r * a_stride + a_first + x * step.0];
            let vb = b[r * b_stride + b_first + x * step.1];
            max = max.max(va.abs_diff(vb));
        }
    }
    max
}

/// A deterministic BGRx picture that looks like a desktop: smooth gradients in all three
/// channels behind rows of text-like glyphs (one-pixel strokes, dark on light and light on
/// dark, at odd and even offsets), so that chroma blocks straddle hard edges. `stride` ≥
/// `width * 4`; the padding bytes hold 0xEE.
pub fn test_pattern(width: usize, height: usize, stride: usize) -> Vec<u8> {
    assert!(stride >= width * 4);
    let mut data = vec![0xEE; stride * height];
    // A small integer hash: the glyph shapes.
    let hash = |a: usize, b: usize| -> u32 {
        let mut h = (a as u32).wrapping_mul(0x9E37_79B1) ^ (b as u32).wrapping_mul(0x85EB_CA77);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        h ^ (h >> 12)
    };
    for r in 0..height {
        let row = &mut data[r * stride..][..width * 4];
        // Text lines 16 rows tall, every other band of 48 rows; glyph cells 8 wide, offset by
        // 3 columns on alternate lines.
        let line = r / 16;
        let in_text = (r / 48) % 2 == 1;
        let gy = r % 16;
        let shift = if line % 2 == 0 { 0 } else { 3 };
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let mut b = (x * 255 / width.max(1)) as u8;
            let mut g = (r * 255 / height.max(1)) as u8;
            let mut rr = (((x + r) * 255) / (width + height).max(1)) as u8;
            if in_text && (3..14).contains(&gy) {
                let xs = x + 8 - shift;
                let cell = xs / 8;
                let gx = xs % 8;
                // A 5x11 glyph in each 8x16 cell, some cells blank (spaces).
                let bits = hash(cell, line);
                if bits & 7 != 0 && (1..6).contains(&gx) {
                    let bit = ((gy - 3) * 5 + (gx - 1)) % 32;
                    if (bits >> bit) & 1 == 1 {
                        let light = line % 3 == 0;
                        (b, g, rr) = if light {
                            (250, 250, 245)
                        } else {
                            (20, 30, (cell * 37 % 200) as u8)
                        };
                    }
                }
            }
            px.copy_from_slice(&[b, g, rr, 0xFF]);
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use gst_video::prelude::*;

    use super::*;

    /// A colour (B, G, R) and the (Y, U, V) it became.
    type Sample = ((u8, u8, u8), (u8, u8, u8));

    /// `videoconvert` (GStreamer 1.22) on solid 4x2 BGRx frames, read back from I420:
    /// `gst-launch-1.0 videotestsrc num-buffers=1 pattern=solid-color foreground-color=C !
    ///  video/x-raw,format=BGRx,width=4,height=2 ! videoconvert dither=none !
    ///  "video/x-raw,format=I420,colorimetry=M" ! filesink location=o.yuv`
    /// with M = bt709, bt601, 1:3:5:1 (BT.709 full range) and 1:4:7:1 (BT.601 full range).
    /// Per colour (B, G, R): the (Y, U, V) it gave.
    const VIDEOCONVERT: [(Colorimetry, [Sample; 6]); 4] = [
        (
            Colorimetry::BT709,
            [
                ((255, 255, 255), (235, 127, 128)),
                ((0, 0, 0), (16, 128, 128)),
                ((0, 0, 255), (62, 102, 239)),
                ((0, 255, 0), (172, 41, 26)),
                ((255, 0, 0), (31, 239, 118)),
                ((128, 128, 128), (126, 127, 128)),
            ],
        ),
        (
            Colorimetry::BT601,
            [
                ((255, 255, 255), (235, 128, 128)),
                ((0, 0, 0), (16, 128, 128)),
                ((0, 0, 255), (81, 90, 239)),
                ((0, 255, 0), (144, 54, 34)),
                ((255, 0, 0), (40, 239, 110)),
                ((128, 128, 128), (126, 128, 128)),
            ],
        ),
        (
            Colorimetry::BT709_FULL,
            [
                ((255, 255, 255), (254, 128, 128)),
                ((0, 0, 0), (0, 128, 128)),
                ((0, 0, 255), (53, 99, 255)),
                ((0, 255, 0), (182, 29, 12)),
                ((255, 0, 0), (17, 255, 116)),
                ((128, 128, 128), (127, 128, 128)),
            ],
        ),
        (
            Colorimetry::BT601_FULL,
            [
                ((255, 255, 255), (255, 128, 128)),
                ((0, 0, 0), (0, 128, 128)),
                ((0, 0, 255), (76, 85, 255)),
                ((0, 255, 0), (149, 43, 21)),
                ((255, 0, 0), (28, 255, 107)),
                ((128, 128, 128), (128, 128, 128)),
            ],
        ),
    ];

    fn solid(w: usize, h: usize, stride: usize, (b, g, r): (u8, u8, u8)) -> Vec<u8> {
        let mut data = vec![0u8; stride * h];
        for row in data.chunks_exact_mut(stride) {
            for px in row[..w * 4].chunks_exact_mut(4) {
                px.copy_from_slice(&[b, g, r, 0]);
            }
        }
        data
    }

    #[test]
    fn known_colours_match_videoconvert_within_one() {
        for (c, colours) in VIDEOCONVERT {
            for (bgr, (ey, eu, ev)) in colours {
                let data = solid(4, 2, 16, bgr);
                let src = Bgrx {
                    data: &data,
                    width: 4,
                    height: 2,
                    stride: 16,
                };
                let out = I420::from_bgrx(&src, c);
                let (y, u, v) = (out.y[0], out.u[0], out.v[0]);
                assert!(out.y.iter().all(|&v| v == y));
                let ok = y.abs_diff(ey) <= 1 && u.abs_diff(eu) <= 1 && v.abs_diff(ev) <= 1;
                assert!(
                    ok,
                    "{c:?} {bgr:?}: ours {:?}, videoconvert {:?}",
                    (y, u, v),
                    (ey, eu, ev)
                );
            }
        }
    }

    #[test]
    fn exact_values() {
        // The textbook BT.601 figures, and the ends of each range.
        let white = solid(2, 2, 8, (255, 255, 255));
        let black = solid(2, 2, 8, (0, 0, 0));
        let red = solid(2, 2, 8, (0, 0, 255));
        let at = |d: &Vec<u8>, c| {
            let o = I420::from_bgrx(
                &Bgrx {
                    data: d,
                    width: 2,
                    height: 2,
                    stride: 8,
                },
                c,
            );
            (o.y[0], o.u[0], o.v[0])
        };
        for c in [Colorimetry::BT601, Colorimetry::BT709] {
            assert_eq!(at(&white, c), (235, 128, 128));
            assert_eq!(at(&black, c), (16, 128, 128));
        }
        for c in [Colorimetry::BT601_FULL, Colorimetry::BT709_FULL] {
            assert_eq!(at(&white, c), (255, 128, 128));
            assert_eq!(at(&black, c), (0, 128, 128));
        }
        assert_eq!(at(&red, Colorimetry::BT601), (82, 90, 240));
        assert_eq!(at(&red, Colorimetry::BT709), (63, 102, 240));
        // Full range's V at pure red is 256 before clamping.
        assert_eq!(at(&red, Colorimetry::BT601_FULL).2, 255);
    }

    #[test]
    fn coefficient_rows_sum_to_the_range() {
        for c in Colorimetry::ALL {
            let k = coefficients(c);
            let y: i32 = k.y.iter().sum();
            assert_eq!(y, if c.range == Range::Full { 256 } else { 220 });
            assert_eq!(k.u.iter().sum::<i32>(), 0);
            assert_eq!(k.v.iter().sum::<i32>(), 0);
        }
    }

    /// One chroma sample by hand: the average of the block's pixels, converted.
    fn block_chroma(c: Colorimetry, px: &[(u8, u8, u8)]) -> (u8, u8) {
        let k = coefficients(c);
        let n = px.len() as f64;
        let avg = |f: fn(&(u8, u8, u8)) -> u8| px.iter().map(|p| f(p) as f64).sum::<f64>() / n;
        let (b, g, r) = (avg(|p| p.0), avg(|p| p.1), avg(|p| p.2));
        let u = (k.u[0] as f64 * r + k.u[1] as f64 * g + k.u[2] as f64 * b) / 256.0 + 128.0;
        let v = (k.v[0] as f64 * r + k.v[1] as f64 * g + k.v[2] as f64 * b) / 256.0 + 128.0;
        let q = |x: f64| (x + 0.5).floor().clamp(0.0, 255.0) as u8;
        (q(u), q(v))
    }

    #[test]
    fn odd_sizes_stride_and_chroma_blocks() {
        for (w, h) in [(1, 1), (3, 1), (1, 3), (5, 3), (33, 17), (2, 5)] {
            let stride = w * 4 + 12;
            let data = test_pattern(w, h, stride);
            let src = Bgrx {
                data: &data,
                width: w,
                height: h,
                stride,
            };
            // The same pixels tight: the padding is never read.
            let mut tight = Vec::new();
            for r in 0..h {
                tight.extend_from_slice(&data[r * stride..][..w * 4]);
            }
            let tight_src = Bgrx {
                data: &tight,
                width: w,
                height: h,
                stride: w * 4,
            };
            for c in Colorimetry::ALL {
                let out = I420::from_bgrx(&src, c);
                assert_eq!(out, I420::from_bgrx(&tight_src, c));
                let (cw, ch) = chroma_size(w, h);
                assert_eq!((out.u.len(), out.v.len()), (cw * ch, cw * ch));
                for cy in 0..ch {
                    for cx in 0..cw {
                        let mut px = Vec::new();
                        for r in cy * 2..(cy * 2 + 2).min(h) {
                            for x in cx * 2..(cx * 2 + 2).min(w) {
                                let p = &data[r * stride + x * 4..];
                                px.push((p[0], p[1], p[2]));
                            }
                        }
                        let (u, v) = block_chroma(c, &px);
                        let i = cy * cw + cx;
                        // Exact but for ties the float rounding may resolve differently.
                        assert!(out.u[i].abs_diff(u) <= 1 && out.v[i].abs_diff(v) <= 1);
                    }
                }
                // NV12 is the same samples interleaved.
                let nv = Nv12::from_bgrx(&src, c);
                assert_eq!(nv.y, out.y);
                for i in 0..cw * ch {
                    assert_eq!((nv.uv[2 * i], nv.uv[2 * i + 1]), (out.u[i], out.v[i]));
                }
            }
        }
    }

    #[test]
    fn a_band_converts_as_in_the_whole_frame() {
        let (w, h, stride) = (64, 48, 64 * 4 + 32);
        let data = test_pattern(w, h, stride);
        let src = Bgrx {
            data: &data,
            width: w,
            height: h,
            stride,
        };
        let full = I420::from_bgrx(&src, Colorimetry::BT709);
        let mut part = I420::new(w, h);
        let (first, rows) = (24, 16);
        let cw = w / 2;
        bgrx_to_i420(
            &src.rows(first, rows),
            Colorimetry::BT709,
            &mut part.y[first * w..],
            w,
            &mut part.u[first / 2 * cw..],
            cw,
            &mut part.v[first / 2 * cw..],
            cw,
        );
        let band = first * w..(first + rows) * w;
        assert_eq!(part.y[band.clone()], full.y[band]);
        let cband = first / 2 * cw..(first + rows) / 2 * cw;
        assert_eq!(part.u[cband.clone()], full.u[cband.clone()]);
        assert_eq!(part.v[cband.clone()], full.v[cband]);
        // Nothing outside the band was written.
        assert!(part.y[..first * w].iter().all(|&v| v == 0));
    }

    /// `videoconvert`'s own converter on the test pattern, all four colorimetries, with
    /// dithering off and the I420 side at `chroma-site=jpeg` (chroma at the centre of its 2x2
    /// block, as here): within ±2 everywhere. It rounds its matrix's results down where we
    /// round to nearest, and converts each pixel before averaging where we average first, so
    /// it sits 0–2 below (±1 on ~98% of chroma samples; the resampler method changes nothing).
    /// At `chroma-site=mpeg2` (chroma at the left column, [1 2 1]/4 across) the difference is
    /// the size of the edge at text-like edges.
    #[test]
    fn pattern_matches_videoconverter() {
        gst::init().unwrap();
        let (w, h) = (98, 62);
        let stride = w * 4 + 64;
        let data = test_pattern(w, h, stride);
        let src = Bgrx {
            data: &data,
            width: w,
            height: h,
            stride,
        };
        let (cw, ch) = chroma_size(w, h);
        for c in Colorimetry::ALL {
            let ours = I420::from_bgrx(&src, c);
            let deltas = |t: &(Vec<u8>, [usize; 3], Vec<u8>, Vec<u8>)| {
                [
                    max_delta(&ours.y, w, 0, &t.0, t.1[0], 0, (1, 1), w, h),
                    max_delta(&ours.u, cw, 0, &t.2, t.1[1], 0, (1, 1), cw, ch),
                    max_delta(&ours.v, cw, 0, &t.3, t.1[2], 0, (1, 1), cw, ch),
                ]
            };
            let jpeg = deltas(&videoconvert_i420(&data, w, h, stride, c));
            assert!(jpeg.iter().all(|&d| d <= 2), "{c:?}: Δ Y, U, V {jpeg:?}");
            let mpeg2 = deltas(&videoconvert_i420_at(
                &data,
                w,
                h,
                stride,
                c,
                gst_video::VideoChromaSite::MPEG2,
            ));
            assert!(mpeg2[1] > 10, "{c:?}: mpeg2 siting Δ Y, U, V {mpeg2:?}");
        }
    }

    fn videoconvert_i420(
        data: &[u8],
        w: usize,
        h: usize,
        stride: usize,
        c: Colorimetry,
    ) -> (Vec<u8>, [usize; 3], Vec<u8>, Vec<u8>) {
        videoconvert_i420_at(data, w, h, stride, c, gst_video::VideoChromaSite::JPEG)
    }

    /// Y, strides, U, V from `gst_video::VideoConverter` (dither none, I420 chroma at `site`).
    fn videoconvert_i420_at(
        data: &[u8],
        w: usize,
        h: usize,
        stride: usize,
        c: Colorimetry,
        site: gst_video::VideoChromaSite,
    ) -> (Vec<u8>, [usize; 3], Vec<u8>, Vec<u8>) {
        let strides = [stride as i32];
        let in_info =
            gst_video::VideoInfo::builder(gst_video::VideoFormat::Bgrx, w as u32, h as u32)
                .stride(&strides)
                .offset(&[0])
                .build()
                .unwrap();
        let colorimetry = gst_video::VideoColorimetry::new(
            match c.range {
                Range::Limited => gst_video::VideoColorRange::Range16_235,
                Range::Full => gst_video::VideoColorRange::Range0_255,
            },
            match c.matrix {
                Matrix::Bt709 => gst_video::VideoColorMatrix::Bt709,
                Matrix::Bt601 => gst_video::VideoColorMatrix::Bt601,
            },
            gst_video::VideoTransferFunction::Bt709,
            gst_video::VideoColorPrimaries::Bt709,
        );
        let out_info =
            gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, w as u32, h as u32)
                .colorimetry(&colorimetry)
                .chroma_site(site)
                .build()
                .unwrap();
        let mut config = gst_video::VideoConverterConfig::new();
        config.set_dither_method(gst_video::VideoDitherMethod::None);
        config.set_threads(1);
        let conv = gst_video::VideoConverter::new(&in_info, &out_info, Some(config)).unwrap();
        let inbuf = gst::Buffer::from_slice(data.to_vec());
        let inframe = gst_video::VideoFrame::from_buffer_readable(inbuf, &in_info).unwrap();
        let outbuf = gst::Buffer::with_size(out_info.size()).unwrap();
        let mut outframe = gst_video::VideoFrame::from_buffer_writable(outbuf, &out_info).unwrap();
        conv.frame(&inframe, &mut outframe);
        let s = outframe.plane_stride();
        let strides = [s[0] as usize, s[1] as usize, s[2] as usize];
        (
            outframe.plane_data(0).unwrap().to_vec(),
            strides,
            outframe.plane_data(1).unwrap().to_vec(),
            outframe.plane_data(2).unwrap().to_vec(),
        )
    }
}
