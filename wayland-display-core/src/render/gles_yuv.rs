//! YUV frames drawn on the GPU: the composed picture (an RGBA texture) converted by a
//! shader, one pass per plane, each into a render target of its own: an 8-bit texture read
//! back into system memory, or, on a render node, a one-plane view of an NV12 DMABuf (Y as
//! `R8`, the interleaved chroma as `GR88`), which goes downstream without a copy.
//!
//! Luma is drawn at the picture's size, sampling each pixel at its centre. Chroma is drawn
//! at half size (rounded up), sampling with linear filtering at the centre of each 2x2
//! block, where the filter's weights are a quarter each: every sample is the block's
//! average, as on the CPU path (`render/yuv.rs`, `chroma-site=jpeg`). On an odd edge the
//! sample point lies half a pixel outside the picture and the texture clamps to its edge,
//! which averages the pixels the block has.

use smithay::backend::renderer::gles::{
    GlesError, GlesRenderer, GlesTarget, GlesTexProgram, GlesTexture, Uniform, UniformName,
    UniformType, ffi,
};
use smithay::backend::renderer::sync::SyncPoint;
use smithay::backend::renderer::{Bind, Frame as _, Renderer as _, Texture as _};
use smithay::utils::{Buffer, Physical, Rectangle, Size, Transform};

use super::RenderError;
use super::frame::OutputFormat;
use super::yuv::{Colorimetry, PlanarImage, YuvMatrix, YuvValueRange};

/// Smithay's texture-shader interface (`compile_custom_texture_shader`) with the body
/// replaced: each output channel is a row of the colour matrix applied to the sample's RGB,
/// plus an offset. High precision where there is any: a half-float texture coordinate
/// cannot address pixels one by one across a 1920-pixel picture.
const SHADER: &str = r"#version 100
//_DEFINES_
#if defined(EXTERNAL)
#extension GL_OES_EGL_image_external : require
#endif
#ifdef GL_FRAGMENT_PRECISION_HIGH
precision highp float;
#else
precision mediump float;
#endif
#if defined(EXTERNAL)
uniform samplerExternalOES tex;
#else
uniform sampler2D tex;
#endif
uniform float alpha;
uniform vec4 first;
uniform vec4 second;
varying vec2 v_coords;
void main() {
    vec3 rgb = texture2D(tex, v_coords).rgb;
    gl_FragColor = vec4(dot(rgb, first.rgb) + first.a, dot(rgb, second.rgb) + second.a, 0.0, alpha);
}
";

/// What one pass writes into its plane's first two channels: a matrix row each (weights
/// of R, G and B, then an offset, in units of the channel's full scale).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PlanePass {
    pub(crate) channels: [[f32; 4]; 2],
    /// Chroma, drawn at half size.
    pub(crate) subsampled: bool,
    /// Channels the plane has: 1 (`R8`) or 2 (`GR88`, U then V in memory).
    pub(crate) components: usize,
}

impl PlanePass {
    /// The plane's size for a `width` x `height` picture.
    pub(crate) fn size(&self, width: u32, height: u32) -> (u32, u32) {
        if self.subsampled {
            (width.div_ceil(2), height.div_ceil(2))
        } else {
            (width, height)
        }
    }
}

/// The matrix rows (Y, U, V) of `c`, from the standard's Kr and Kb; the offsets put black
/// at 16 (video range) or 0, and grey's chroma at 128.
fn matrix_rows(c: Colorimetry) -> [[f32; 4]; 3] {
    let (kr, kb) = match c.matrix {
        YuvMatrix::Bt601 => (0.299f32, 0.114f32),
        YuvMatrix::Bt709 => (0.2126, 0.0722),
    };
    let kg = 1.0 - kr - kb;
    let (y_scale, c_scale, y_offset) = match c.range {
        YuvValueRange::Limited => (219.0 / 255.0, 224.0 / 255.0, 16.0 / 255.0),
        YuvValueRange::Full => (1.0, 1.0, 0.0),
    };
    let c_offset = 128.0 / 255.0;
    let (u_div, v_div) = (2.0 * (1.0 - kb), 2.0 * (1.0 - kr));
    [
        [kr * y_scale, kg * y_scale, kb * y_scale, y_offset],
        [
            -kr / u_div * c_scale,
            -kg / u_div * c_scale,
            (1.0 - kb) / u_div * c_scale,
            c_offset,
        ],
        [
            (1.0 - kr) / v_div * c_scale,
            -kg / v_div * c_scale,
            -kb / v_div * c_scale,
            c_offset,
        ],
    ]
}

/// The passes that make a frame of `format`, in plane order: NV12 is Y, then UV
/// interleaved; I420 is Y, U, V. `None` for an RGB format.
pub(crate) fn plane_passes(format: OutputFormat, c: Colorimetry) -> Option<Vec<PlanePass>> {
    let [y, u, v] = matrix_rows(c);
    let none = [0.0; 4];
    let luma = PlanePass {
        channels: [y, none],
        subsampled: false,
        components: 1,
    };
    let chroma = |channels, components| PlanePass {
        channels,
        subsampled: true,
        components,
    };
    match format {
        OutputFormat::Nv12 => Some(vec![luma, chroma([u, v], 2)]),
        OutputFormat::I420 => Some(vec![luma, chroma([u, none], 1), chroma([v, none], 1)]),
        _ => None,
    }
}

/// The compiled conversion shader.
pub(crate) struct YuvShader {
    program: GlesTexProgram,
}

impl YuvShader {
    pub(crate) fn new(renderer: &mut GlesRenderer) -> Result<Self, RenderError> {
        let program = renderer
            .compile_custom_texture_shader(
                SHADER,
                &[
                    UniformName::new("first", UniformType::_4f),
                    UniformName::new("second", UniformType::_4f),
                ],
            )
            .map_err(|err| RenderError::Init(format!("compiling the YUV shader: {err}")))?;
        Ok(Self { program })
    }

    /// Draws `pass` over all of `target` (a plane of a `width` x `height` picture) from
    /// `picture`, the RGBA texture the frame was composed into. The drawing is queued;
    /// the sync point says when it is done.
    pub(crate) fn draw_plane(
        &self,
        renderer: &mut GlesRenderer,
        picture: &GlesTexture,
        target: &mut GlesTarget<'_>,
        pass: &PlanePass,
        (width, height): (u32, u32),
    ) -> Result<SyncPoint, RenderError> {
        let failed = |err: GlesError| RenderError::Draw(format!("YUV shader pass: {err}"));
        let (pw, ph) = pass.size(width, height);
        let plane: Size<i32, Physical> = (to_i32(pw)?, to_i32(ph)?).into();
        let span = if pass.subsampled { 2.0 } else { 1.0 };
        // The source rectangle covers whole 2x2 blocks: one column or row past an odd
        // edge, which the clamped texture fills with the edge.
        let src = Rectangle::<f64, Buffer>::from_size(
            (f64::from(pw) * span, f64::from(ph) * span).into(),
        );
        let dst = Rectangle::from_size(plane);
        clamp_to_edge(renderer, picture)?;
        let mut frame = renderer
            .render(target, plane, Transform::Normal)
            .map_err(failed)?;
        let [first, second] = pass.channels;
        // Opaque over the whole plane: no blending, every pixel written.
        frame
            .render_texture_from_to(
                picture,
                src,
                dst,
                &[dst],
                &[dst],
                Transform::Normal,
                1.0,
                Some(&self.program),
                &[Uniform::new("first", first), Uniform::new("second", second)],
            )
            .map_err(failed)?;
        frame.finish().map_err(failed)
    }
}

/// A plane or picture dimension as GL and Smithay take it.
pub(crate) fn to_i32(value: u32) -> Result<i32, RenderError> {
    i32::try_from(value).map_err(|_| RenderError::Draw(format!("plane size {value} too big")))
}

/// Sampling past the edge must repeat the edge, not wrap around (GL's default); Smithay
/// sets this only on textures it uploads.
fn clamp_to_edge(renderer: &mut GlesRenderer, texture: &GlesTexture) -> Result<(), RenderError> {
    let id = texture.tex_id();
    renderer
        .with_context(|gl| {
            // SAFETY: `id` is a live texture of this context (`texture` holds it); the
            // binding is put back to none, as Smithay leaves it between draws.
            unsafe {
                gl.BindTexture(ffi::TEXTURE_2D, id);
                gl.TexParameteri(
                    ffi::TEXTURE_2D,
                    ffi::TEXTURE_WRAP_S,
                    ffi::CLAMP_TO_EDGE as i32,
                );
                gl.TexParameteri(
                    ffi::TEXTURE_2D,
                    ffi::TEXTURE_WRAP_T,
                    ffi::CLAMP_TO_EDGE as i32,
                );
                gl.BindTexture(ffi::TEXTURE_2D, 0);
            }
        })
        .map_err(|err| RenderError::Draw(format!("YUV shader pass: {err}")))
}

// GLES 3 (or GL_EXT_texture_rg) names the generated GLES 2 bindings lack.
const GL_RED: ffi::types::GLenum = 0x1903;
const GL_RG: ffi::types::GLenum = 0x8227;
const GL_R8: ffi::types::GLenum = 0x8229;
const GL_RG8: ffi::types::GLenum = 0x822B;

/// One plane's render target for system-memory output: an `R8` or `RG8` texture, read
/// back after each frame.
struct PlaneTexture {
    texture: GlesTexture,
    components: usize,
    size: (u32, u32),
}

/// The plane textures of system-memory YUV frames and the shader that fills them.
pub(crate) struct YuvReadback {
    shader: YuvShader,
    passes: Vec<PlanePass>,
    planes: Vec<PlaneTexture>,
    /// Tight rows read back, for a plane whose rows are padded in the frame.
    tight: Vec<u8>,
    /// RGBA pixels, for a driver that reads nothing narrower.
    rgba: Vec<u8>,
}

impl YuvReadback {
    pub(crate) fn new(
        renderer: &mut GlesRenderer,
        format: OutputFormat,
        colorimetry: Colorimetry,
        (width, height): (u32, u32),
    ) -> Result<Self, RenderError> {
        let passes = plane_passes(format, colorimetry)
            .ok_or_else(|| RenderError::Init(format!("{format:?} is not a YUV format")))?;
        let shader = YuvShader::new(renderer)?;
        let planes = passes
            .iter()
            .map(|pass| plane_texture(renderer, pass, pass.size(width, height)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            shader,
            passes,
            planes,
            tight: Vec::new(),
            rgba: Vec::new(),
        })
    }

    /// Converts `picture` (composed at `size`) into `image`, every plane whole.
    pub(crate) fn convert(
        &mut self,
        renderer: &mut GlesRenderer,
        picture: &GlesTexture,
        image: &mut PlanarImage,
    ) -> Result<(), RenderError> {
        let size = picture.size();
        let size = (
            u32::try_from(size.w).unwrap_or(0),
            u32::try_from(size.h).unwrap_or(0),
        );
        for (pass, plane) in self.passes.iter().zip(&mut self.planes) {
            let mut target = renderer
                .bind(&mut plane.texture)
                .map_err(|err| RenderError::Draw(format!("binding a YUV plane: {err}")))?;
            // Read back on the same context below, which runs after the drawing: no wait.
            let _queued = self
                .shader
                .draw_plane(renderer, picture, &mut target, pass, size)?;
        }
        let layout = image.layout().planes().to_vec();
        for (index, (plane, at)) in self.planes.iter().zip(layout).enumerate() {
            let (w, h) = (plane.size.0 as usize, plane.size.1 as usize);
            let row = w.saturating_mul(plane.components);
            let len = row.saturating_mul(h);
            let stride = at.stride as usize;
            let bytes = image.plane_mut(index)?;
            let short =
                || RenderError::Draw("a YUV plane is smaller than its read-back".to_owned());
            if stride == row {
                // Rows unpadded (widths that are multiples of 4 or 8): straight in.
                let dst = bytes.get_mut(..len).ok_or_else(short)?;
                read_plane(renderer, plane, dst, &mut self.rgba)?;
                continue;
            }
            self.tight.resize(len, 0);
            read_plane(renderer, plane, &mut self.tight, &mut self.rgba)?;
            for (y, src) in self.tight.chunks_exact(row).enumerate() {
                let start = y.saturating_mul(stride);
                let dst = bytes
                    .get_mut(start..start.saturating_add(row))
                    .ok_or_else(short)?;
                dst.copy_from_slice(src);
            }
        }
        Ok(())
    }
}

/// An 8-bit, one- or two-channel texture a pass draws into.
fn plane_texture(
    renderer: &mut GlesRenderer,
    pass: &PlanePass,
    (width, height): (u32, u32),
) -> Result<PlaneTexture, RenderError> {
    let (internal, format) = if pass.components == 1 {
        (GL_R8, GL_RED)
    } else {
        (GL_RG8, GL_RG)
    };
    let (w, h) = (to_i32(width)?, to_i32(height)?);
    let id = renderer
        .with_context(|gl| {
            let mut id = 0;
            // SAFETY: plain texture creation on the renderer's current context; the
            // binding is put back to none.
            unsafe {
                gl.GenTextures(1, &mut id);
                gl.BindTexture(ffi::TEXTURE_2D, id);
                for param in [ffi::TEXTURE_MIN_FILTER, ffi::TEXTURE_MAG_FILTER] {
                    gl.TexParameteri(ffi::TEXTURE_2D, param, ffi::NEAREST as i32);
                }
                gl.TexImage2D(
                    ffi::TEXTURE_2D,
                    0,
                    internal as i32,
                    w,
                    h,
                    0,
                    format,
                    ffi::UNSIGNED_BYTE,
                    std::ptr::null(),
                );
                let error = gl.GetError();
                gl.BindTexture(ffi::TEXTURE_2D, 0);
                (id, error)
            }
        })
        .map_err(|err| RenderError::Init(format!("YUV plane texture: {err}")))?;
    let (id, error) = id;
    // SAFETY: `id` names the texture just made on this renderer's context; the
    // `GlesTexture` takes it over and deletes it when dropped.
    let texture =
        unsafe { GlesTexture::from_raw(renderer, Some(internal), true, id, (w, h).into()) };
    if error != ffi::NO_ERROR {
        return Err(RenderError::Init(format!(
            "this GL context has no {}-channel 8-bit textures (GL error {error:#x}): GLES 3 or \
             GL_EXT_texture_rg is needed for YUV output",
            pass.components
        )));
    }
    Ok(PlaneTexture {
        texture,
        components: pass.components,
        size: (width, height),
    })
}

/// Reads `plane` into `dst` (its size: rows tight), top row first (Smithay draws the
/// picture's top into the framebuffer's first row, as it does for buffers that are scanned
/// out). Where the driver reads only RGBA, that goes through `rgba` and the plane's
/// channels are kept.
fn read_plane(
    renderer: &mut GlesRenderer,
    plane: &PlaneTexture,
    dst: &mut [u8],
    rgba: &mut Vec<u8>,
) -> Result<(), RenderError> {
    let pixels = (plane.size.0 as usize).saturating_mul(plane.size.1 as usize);
    let keep = plane.components;
    if dst.len() != pixels.saturating_mul(keep) {
        return Err(RenderError::Draw(format!(
            "reading a YUV plane back: {} bytes for {pixels} pixels",
            dst.len()
        )));
    }
    let id = plane.texture.tex_id();
    let (gw, gh) = (to_i32(plane.size.0)?, to_i32(plane.size.1)?);
    let wanted = if keep == 1 { GL_RED } else { GL_RG };
    let read_rgba = renderer
        .with_context(|gl| {
            // SAFETY: a framebuffer of our own around our texture, read into `dst` (the
            // plane's own format, exactly its size, checked above) or into `rgba` (sized
            // here for RGBA), then deleted; the framebuffer binding is put back as it was.
            unsafe {
                let mut previous = 0;
                gl.GetIntegerv(ffi::FRAMEBUFFER_BINDING, &mut previous);
                let mut fbo = 0;
                gl.GenFramebuffers(1, &mut fbo);
                gl.BindFramebuffer(ffi::FRAMEBUFFER, fbo);
                gl.FramebufferTexture2D(
                    ffi::FRAMEBUFFER,
                    ffi::COLOR_ATTACHMENT0,
                    ffi::TEXTURE_2D,
                    id,
                    0,
                );
                let status = gl.CheckFramebufferStatus(ffi::FRAMEBUFFER);
                let mut result = Err(format!("framebuffer incomplete ({status:#x})"));
                if status == ffi::FRAMEBUFFER_COMPLETE {
                    // GLES reads RGBA always, and one more format the driver picks (the
                    // texture's own on Mesa and NVIDIA, which saves a copy).
                    let mut format = 0;
                    let mut kind = 0;
                    gl.GetIntegerv(ffi::IMPLEMENTATION_COLOR_READ_FORMAT, &mut format);
                    gl.GetIntegerv(ffi::IMPLEMENTATION_COLOR_READ_TYPE, &mut kind);
                    let direct = format as u32 == wanted && kind as u32 == ffi::UNSIGNED_BYTE;
                    let (read_format, out) = if direct {
                        (wanted, dst.as_mut_ptr())
                    } else {
                        rgba.clear();
                        rgba.resize(pixels.saturating_mul(4), 0);
                        (ffi::RGBA, rgba.as_mut_ptr())
                    };
                    gl.PixelStorei(ffi::PACK_ALIGNMENT, 1);
                    gl.ReadPixels(0, 0, gw, gh, read_format, ffi::UNSIGNED_BYTE, out.cast());
                    gl.PixelStorei(ffi::PACK_ALIGNMENT, 4);
                    let error = gl.GetError();
                    result = if error != ffi::NO_ERROR {
                        Err(format!("GL error {error:#x}"))
                    } else {
                        Ok(!direct)
                    };
                }
                gl.BindFramebuffer(ffi::FRAMEBUFFER, previous as u32);
                gl.DeleteFramebuffers(1, &fbo);
                result
            }
        })
        .map_err(|err| RenderError::Draw(format!("reading a YUV plane back: {err}")))?
        .map_err(|err| RenderError::Draw(format!("reading a YUV plane back: {err}")))?;
    if read_rgba {
        for (out, px) in dst.chunks_exact_mut(keep).zip(rgba.chunks_exact(4)) {
            out.copy_from_slice(&px[..keep]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// White, black and grey come out at the range's ends and in the middle, with no
    /// chroma; the rows are the standard's.
    #[test]
    fn matrix_rows_put_black_white_and_grey_where_the_range_says() {
        for matrix in [YuvMatrix::Bt601, YuvMatrix::Bt709] {
            for (range, black, white) in [
                (YuvValueRange::Limited, 16.0, 235.0),
                (YuvValueRange::Full, 0.0, 255.0),
            ] {
                let [y, u, v] = matrix_rows(Colorimetry { matrix, range });
                let at = |row: [f32; 4], rgb: f32| (row[0] + row[1] + row[2]) * rgb + row[3];
                assert!((at(y, 0.0) * 255.0 - black).abs() < 1e-3);
                assert!((at(y, 1.0) * 255.0 - white).abs() < 1e-3);
                for grey in [0.0, 0.5, 1.0] {
                    assert!((at(u, grey) * 255.0 - 128.0).abs() < 1e-3);
                    assert!((at(v, grey) * 255.0 - 128.0).abs() < 1e-3);
                }
            }
        }
        // Pure blue is the U extreme: 240 in video range, 255.5 (clamped) in full.
        let [_, u, _] = matrix_rows(Colorimetry::BT709);
        assert!((u[2] * 255.0 + u[3] * 255.0 - 240.0).abs() < 1e-3);
    }

    #[test]
    fn passes_follow_the_formats_planes() {
        let nv12 = plane_passes(OutputFormat::Nv12, Colorimetry::BT601).unwrap();
        assert_eq!(
            nv12.iter()
                .map(|p| (p.subsampled, p.components))
                .collect::<Vec<_>>(),
            [(false, 1), (true, 2)]
        );
        let i420 = plane_passes(OutputFormat::I420, Colorimetry::BT601).unwrap();
        assert_eq!(i420.len(), 3);
        assert_eq!(i420[1].channels[0], nv12[1].channels[0]);
        assert_eq!(i420[2].channels[0], nv12[1].channels[1]);
        assert_eq!(i420[1].size(33, 17), (17, 9));
        assert!(plane_passes(OutputFormat::Bgrx, Colorimetry::BT601).is_none());
    }
}
