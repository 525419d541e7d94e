//! Turning the space of windows into output frames: damage-tracked rendering with Pixman
//! (software) or GLES (an EGL device), into a small pool of system-memory images that
//! downstream can keep while the next frame is drawn.

// Pixel loops work on sizes checked where they enter: modes by the caller, client buffers
// in `ShmSource::new` (checked offset/stride/size against the mapping). Inside, indexing
// goes through `get`/slices and unsafe copies state their bounds, so the crate's overflow
// lints would only ask for `checked_*` on every pixel.
#![allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

mod compose;
mod cursor;
mod frame;
mod gles;
mod gles_yuv;
mod passthrough;
mod pixman;
mod pool;
mod yuv;

use smithay::backend::allocator::dmabuf::Dmabuf;
use smithay::desktop::{Space, Window};
use smithay::output::Output;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;

pub(crate) use compose::Scaled;
pub use cursor::{CursorState, builtin_cursor};
pub use frame::{DmabufPlane, Frame, FramePlane, FrameSource, OutputFormat, PlaneCopy};
pub use gles::GlDevice;
pub use yuv::{Colorimetry, YuvMatrix, YuvValueRange};

use cursor::Cursor;
pub(crate) use gles::ClientDmabuf;
use gles::{GlesOutput, Want};
use pixman::PixmanOutput;
use yuv::YuvOutput;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("could not set up rendering: {0}")]
    Init(String),
    #[error("could not allocate a {width}x{height} {format:?} output image")]
    Alloc {
        width: u32,
        height: u32,
        format: OutputFormat,
    },
    #[error("rendering failed: {0}")]
    Draw(String),
}

/// What output frames are made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputTarget {
    /// Images in system memory; a YUV format has the colorimetry
    /// [`Colorimetry::for_height`] gives.
    System(OutputFormat),
    /// YUV images in system memory with this colorimetry.
    Yuv {
        format: OutputFormat,
        colorimetry: Colorimetry,
    },
    /// GPU buffers handed out as DMABufs, with this DRM format modifier; an NV12 one
    /// with this colorimetry (`None`: [`Colorimetry::for_height`]).
    DmaBuf {
        format: OutputFormat,
        modifier: u64,
        colorimetry: Option<Colorimetry>,
    },
}

impl From<OutputFormat> for OutputTarget {
    fn from(format: OutputFormat) -> Self {
        Self::System(format)
    }
}

impl OutputTarget {
    pub fn format(self) -> OutputFormat {
        match self {
            Self::System(format) | Self::Yuv { format, .. } | Self::DmaBuf { format, .. } => format,
        }
    }

    /// The YUV format and colorimetry of frames `height` lines high, if they are YUV.
    fn yuv(self, height: u32) -> Option<(OutputFormat, Colorimetry)> {
        match self {
            Self::Yuv {
                format,
                colorimetry,
            } => Some((format, colorimetry)),
            Self::System(format) if format.is_yuv() => {
                Some((format, Colorimetry::for_height(height)))
            }
            Self::System(_) | Self::DmaBuf { .. } => None,
        }
    }
}

/// Where YUV frames are converted when GLES renders (Pixman always converts on the CPU).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum YuvConversion {
    /// A shader on a GPU render node; the CPU on Mesa's software device (llvmpipe), where a
    /// shader pass costs more CPU than converting only the rows that changed
    /// (docs/BENCHMARKS.md).
    #[default]
    Auto,
    /// A shader whenever GLES renders, llvmpipe included.
    Gpu,
    /// The CPU always: YUV frames in system memory only, no NV12 DMABufs.
    Cpu,
}

impl YuvConversion {
    /// Whether a GLES renderer on `device` converts with its shader.
    pub(crate) fn on_gpu(self, device: &GlDevice) -> bool {
        match self {
            Self::Auto => matches!(device, GlDevice::Node(_)),
            Self::Gpu => true,
            Self::Cpu => false,
        }
    }
}

impl std::str::FromStr for YuvConversion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "gpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(format!(
                "YUV conversion {other:?}: expected \"auto\", \"gpu\" or \"cpu\""
            )),
        }
    }
}

impl std::fmt::Display for YuvConversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
        })
    }
}

/// How a renderer makes frames, beyond its backend and target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RenderOptions {
    /// Whether a frame may be a copy of the one client buffer covering the output.
    pub(crate) passthrough: bool,
    pub(crate) yuv_conversion: YuvConversion,
}

/// Which renderer to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderBackend {
    Pixman,
    Gles(GlDevice),
}

// One per compositor, never moved on a hot path: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Pixman(PixmanOutput),
    Gles(GlesOutput),
}

pub(crate) struct Renderer {
    backend: Backend,
    cursor: Cursor,
    /// Whether a frame may be a copy of the one client buffer covering the output.
    passthrough: bool,
    /// For YUV output: the images frames are converted into (the backend draws BGRx).
    yuv: Option<YuvOutput>,
}

impl Renderer {
    pub(crate) fn new(
        backend: &RenderBackend,
        output: &Output,
        target: OutputTarget,
        options: RenderOptions,
    ) -> Result<Self, RenderError> {
        let drawn = target.format().render_format();
        let backend = match backend {
            RenderBackend::Pixman => Backend::Pixman(PixmanOutput::new(output, drawn)?),
            RenderBackend::Gles(device) => Backend::Gles(GlesOutput::new(
                device,
                output,
                drawn,
                options.yuv_conversion.on_gpu(device),
            )?),
        };
        let mut renderer = Self {
            backend,
            cursor: Cursor::new(),
            passthrough: options.passthrough,
            yuv: None,
        };
        if target != OutputTarget::System(drawn) {
            renderer.reconfigure(output, target)?;
        }
        Ok(renderer)
    }

    /// Starts over after a mode or target change: old images stay with whoever holds them.
    pub(crate) fn reconfigure(
        &mut self,
        output: &Output,
        target: OutputTarget,
    ) -> Result<(), RenderError> {
        let (width, height) = output_size(output);
        self.yuv = match target.yuv(height) {
            Some((format, colorimetry)) => {
                Some(YuvOutput::new(format, width, height, colorimetry)?)
            }
            None => None,
        };
        match &mut self.backend {
            Backend::Pixman(b) => match target {
                OutputTarget::System(format) | OutputTarget::Yuv { format, .. } => {
                    b.reconfigure(output, format.render_format());
                    Ok(())
                }
                OutputTarget::DmaBuf { .. } => Err(RenderError::Init(
                    "DMABuf output needs a GPU render node; software rendering gives system memory"
                        .to_owned(),
                )),
            },
            Backend::Gles(b) => b.reconfigure(output, target),
        }
    }

    /// See [`GlesOutput::client_dmabuf`].
    pub(crate) fn client_dmabuf(&self) -> Option<ClientDmabuf> {
        match &self.backend {
            Backend::Pixman(_) => None,
            Backend::Gles(b) => b.client_dmabuf(),
        }
    }

    pub(crate) fn import_client_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        match &mut self.backend {
            Backend::Pixman(_) => false,
            Backend::Gles(b) => b.import_client_dmabuf(dmabuf),
        }
    }

    /// The (fourcc, modifiers) DMABuf output is offered in; empty without a GPU.
    pub(crate) fn dmabuf_formats(&self) -> Vec<(u32, Vec<u64>)> {
        match &self.backend {
            Backend::Pixman(_) => Vec::new(),
            Backend::Gles(b) => b.dmabuf_formats(),
        }
    }

    /// Forgets what earlier frames drew, so the next frame is drawn whole (after a frame
    /// that failed part-way).
    pub(crate) fn forget_damage(&mut self, output: &Output) {
        match &mut self.backend {
            Backend::Pixman(b) => b.forget_damage(output),
            Backend::Gles(b) => b.forget_damage(output),
        }
    }

    /// The last output frame again, if nothing changed since: no drawing, no copy.
    pub(crate) fn repeat_last(&self) -> Option<Frame> {
        if let Some(yuv) = &self.yuv {
            return yuv.pool.last_frame();
        }
        match &self.backend {
            Backend::Pixman(b) => b.repeat_last(),
            Backend::Gles(b) => b.repeat_last(),
        }
    }

    /// Whether output frames are YUV (and [`render`](Self::render)'s RGB pictures only a
    /// step towards them or drawn on request).
    pub(crate) fn yuv_output(&self) -> bool {
        self.yuv.is_some() || matches!(&self.backend, Backend::Gles(b) if b.yuv_dmabuf())
    }

    /// The output frame for the current state: [`render`](Self::render)'s picture, or for
    /// YUV output, that picture converted (on the CPU only the rows that changed since the
    /// image converted into last held a picture; on the GPU whole), or the one client
    /// buffer that is the whole picture converted directly.
    pub(crate) fn render_output(
        &mut self,
        space: &Space<Window>,
        output: &Output,
        cursor: &CursorState<'_>,
        scaled: Option<&Scaled<'_>>,
    ) -> Result<Frame, RenderError> {
        if !self.yuv_output() {
            return self.render(space, output, cursor, scaled);
        }
        let scale = output.current_scale().fractional_scale();
        self.cursor.prepare(cursor.status, scale);
        if self.yuv.is_none() {
            // NV12 DMABufs, converted on the GPU.
            return self.draw(space, output, cursor, scaled);
        }
        if let Some(surface) = self.passthrough_surface(space, output, scaled)
            && let Some(yuv) = self.yuv.as_mut()
            && let Some(frame) = passthrough::convert_frame(
                yuv,
                &surface,
                scale,
                &self.cursor.overlay(cursor, scale),
            )?
        {
            return Ok(frame);
        }
        if let (Backend::Gles(b), Some(yuv)) = (&mut self.backend, self.yuv.as_mut())
            && b.converts_yuv()
        {
            return b.render(space, output, &self.cursor, cursor, scaled, Want::Yuv(yuv));
        }
        let picture = self.draw(space, output, cursor, scaled)?;
        let Some(yuv) = self.yuv.as_mut() else {
            return Ok(picture);
        };
        let history = match &self.backend {
            Backend::Pixman(b) => Some(b.pool()),
            Backend::Gles(b) => b.system_pool(),
        };
        yuv.convert_rendered(&picture, |since| history?.changed_since(since))
    }

    /// Draws the current state in RGB, redrawing only what changed; or, when one client
    /// buffer is the whole picture, copies what changed in it. A window drawn `scaled` is
    /// composed (never copied: its buffer is not the output's size).
    pub(crate) fn render(
        &mut self,
        space: &Space<Window>,
        output: &Output,
        cursor: &CursorState<'_>,
        scaled: Option<&Scaled<'_>>,
    ) -> Result<Frame, RenderError> {
        let scale = output.current_scale().fractional_scale();
        self.cursor.prepare(cursor.status, scale);
        if self.yuv_output() {
            // The RGB images' history must stay the renderer's own for conversions to
            // rely on it: no copied frames among them.
            return match &mut self.backend {
                Backend::Pixman(b) => b.render(space, output, &self.cursor, cursor, scaled),
                Backend::Gles(b) => {
                    b.render(space, output, &self.cursor, cursor, scaled, Want::Rgb)
                }
            };
        }
        if let Some(surface) = self.passthrough_surface(space, output, scaled) {
            let pool = match &mut self.backend {
                Backend::Pixman(b) => Some(b.pool_mut()),
                Backend::Gles(b) => b.system_pool_mut(),
            };
            if let Some(pool) = pool
                && let Some(frame) = passthrough::copy_frame(
                    pool,
                    &surface,
                    scale,
                    &self.cursor.overlay(cursor, scale),
                )?
            {
                return Ok(frame);
            }
        }
        self.draw(space, output, cursor, scaled)
    }

    /// The one client surface whose buffer may be the frame, when the pass-through path
    /// is on and no window is drawn scaled.
    fn passthrough_surface(
        &self,
        space: &Space<Window>,
        output: &Output,
        scaled: Option<&Scaled<'_>>,
    ) -> Option<WlSurface> {
        if !self.passthrough || scaled.is_some() {
            return None;
        }
        passthrough::single_surface(space, output)
    }

    /// Composes the space (the cursor prepared) into the target's format.
    fn draw(
        &mut self,
        space: &Space<Window>,
        output: &Output,
        cursor: &CursorState<'_>,
        scaled: Option<&Scaled<'_>>,
    ) -> Result<Frame, RenderError> {
        match &mut self.backend {
            Backend::Pixman(b) => b.render(space, output, &self.cursor, cursor, scaled),
            Backend::Gles(b) => b.render(space, output, &self.cursor, cursor, scaled, Want::Target),
        }
    }
}

fn output_size(output: &Output) -> (u32, u32) {
    output
        .current_mode()
        .map(|m| (m.size.w.max(1) as u32, m.size.h.max(1) as u32))
        .unwrap_or((1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuv_conversion_picks_the_shader_on_gpus_only_by_default() {
        let node = GlDevice::Node("/dev/dri/renderD128".into());
        assert!(YuvConversion::Auto.on_gpu(&node));
        assert!(!YuvConversion::Auto.on_gpu(&GlDevice::Software));
        assert!(YuvConversion::Gpu.on_gpu(&GlDevice::Software));
        assert!(!YuvConversion::Cpu.on_gpu(&node));
        for c in [YuvConversion::Auto, YuvConversion::Gpu, YuvConversion::Cpu] {
            assert_eq!(c.to_string().parse::<YuvConversion>(), Ok(c));
        }
        assert_eq!(" GPU ".parse::<YuvConversion>(), Ok(YuvConversion::Gpu));
        assert!("shader".parse::<YuvConversion>().is_err());
    }
}
