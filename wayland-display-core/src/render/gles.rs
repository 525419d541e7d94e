//! GLES rendering through an EGL device: a GPU's render node, or Mesa's software device
//! (llvmpipe), which runs the same code on a machine without a GPU. Frames are drawn into
//! an offscreen texture and read back into system-memory output images.

use std::path::{Path, PathBuf};

use smithay::backend::allocator::Fourcc;
use smithay::backend::egl::{EGLContext, EGLDevice, EGLDisplay};
use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::gles::{GlesRenderer, GlesTexture};
use smithay::backend::renderer::{Bind, ExportMem, Offscreen, TextureMapping};
use smithay::desktop::{Space, Window};
use smithay::output::Output;
use smithay::utils::{Buffer, Rectangle, Size};

use super::compose::compose;
use super::cursor::{Cursor, CursorState};
use super::pool::OutputPool;
use super::{Frame, OutputFormat, RenderError};

/// Which EGL device renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlDevice {
    /// Mesa's software device (`EGL_MESA_device_software`, llvmpipe).
    Software,
    /// The EGL device of this DRM render node.
    Node(PathBuf),
}

pub(crate) struct GlesOutput {
    renderer: GlesRenderer,
    damage: OutputDamageTracker,
    pool: OutputPool,
    format: OutputFormat,
    size: Size<i32, Buffer>,
    /// Offscreen framebuffer; its contents persist, so each frame redraws only damage.
    target: Option<GlesTexture>,
}

impl GlesOutput {
    pub(crate) fn new(
        device: &GlDevice,
        output: &Output,
        format: OutputFormat,
    ) -> Result<Self, RenderError> {
        let egl_device = find_device(device)?;
        // SAFETY: EGLDisplay::new requires that nobody else terminates the EGLDisplay made
        // for the same native display. It is made on the platform-device display of one
        // EGL device; GStreamer's GL elements, the only other EGL user in a pipeline, open
        // their own (default, GBM or surfaceless) displays.
        let display = unsafe { EGLDisplay::new(egl_device) }
            .map_err(|err| RenderError::Init(format!("EGL display on {device:?}: {err}")))?;
        let context = EGLContext::new(&display)
            .map_err(|err| RenderError::Init(format!("EGL context on {device:?}: {err}")))?;
        // SAFETY: the context was just created and is owned by the renderer from now on;
        // it is only ever made current on this (the compositor's) thread.
        let renderer = unsafe { GlesRenderer::new(context) }
            .map_err(|err| RenderError::Init(format!("GLES renderer on {device:?}: {err}")))?;
        let (width, height) = super::output_size(output);
        Ok(Self {
            renderer,
            damage: OutputDamageTracker::from_output(output),
            pool: OutputPool::new(format, width, height),
            format,
            size: (width as i32, height as i32).into(),
            target: None,
        })
    }

    pub(crate) fn reconfigure(&mut self, output: &Output, format: OutputFormat) {
        let (width, height) = super::output_size(output);
        self.pool = OutputPool::new(format, width, height);
        self.damage = OutputDamageTracker::from_output(output);
        self.format = format;
        self.size = (width as i32, height as i32).into();
        self.target = None;
    }

    pub(crate) fn repeat_last(&self) -> Option<Frame> {
        self.pool.last_frame()
    }

    pub(crate) fn render(
        &mut self,
        space: &Space<Window>,
        output: &Output,
        cursor: &Cursor,
        cursor_state: &CursorState<'_>,
    ) -> Result<Frame, RenderError> {
        let cursor_elements = cursor.elements(&mut self.renderer, cursor_state);
        let (age, mut texture) = match self.target.take() {
            Some(texture) => (1, texture),
            None => {
                let texture = Offscreen::<GlesTexture>::create_buffer(
                    &mut self.renderer,
                    Fourcc::Abgr8888,
                    self.size,
                )
                .map_err(|err| RenderError::Draw(format!("offscreen texture: {err}")))?;
                (0, texture)
            }
        };
        let drawn = self.draw_and_read(&mut texture, age, space, output, &cursor_elements);
        // The texture keeps its contents for the next frame only if this one completed.
        if drawn.is_ok() {
            self.target = Some(texture);
        }
        drawn
    }

    fn draw_and_read(
        &mut self,
        texture: &mut GlesTexture,
        age: usize,
        space: &Space<Window>,
        output: &Output,
        cursor_elements: &[super::cursor::CursorElement<GlesRenderer>],
    ) -> Result<Frame, RenderError> {
        let gl_err =
            |what: &str, err: &dyn std::fmt::Display| RenderError::Draw(format!("{what}: {err}"));
        let mut target = self
            .renderer
            .bind(texture)
            .map_err(|e| gl_err("bind", &e))?;
        compose(
            &mut self.renderer,
            &mut target,
            age,
            space,
            output,
            cursor_elements,
            &mut self.damage,
        )?;
        let region = Rectangle::from_size(self.size);
        let mapping = self
            .renderer
            .copy_framebuffer(&target, region, self.format.fourcc())
            .map_err(|e| gl_err("read back", &e))?;
        let flipped = mapping.flipped();
        let pixels = self
            .renderer
            .map_texture(&mapping)
            .map_err(|e| gl_err("map", &e))?;
        let (slot, _) = self.pool.acquire()?;
        let image = self.pool.image_mut(slot)?;
        copy_rows(pixels, image, flipped)?;
        drop(target);
        self.pool.rendered(slot)
    }
}

/// Copies tightly packed rows into a (possibly padded) output image. `flipped` is
/// Smithay's "flipped compared to GL's bottom-left origin", i.e. rows are top-down.
fn copy_rows(
    pixels: &[u8],
    image: &mut smithay::reexports::pixman::Image<'static, 'static>,
    flipped: bool,
) -> Result<(), RenderError> {
    let (width, height, stride) = (image.width(), image.height(), image.stride());
    let row = width * 4;
    if pixels.len() < row * height {
        return Err(RenderError::Draw(format!(
            "read back {} bytes for a {width}x{height} frame",
            pixels.len()
        )));
    }
    // SAFETY: the image owns stride * height bytes at data(), and `&mut image` proves no
    // frame shares it while we write.
    let dst = unsafe { std::slice::from_raw_parts_mut(image.data() as *mut u8, stride * height) };
    for y in 0..height {
        let src_y = if flipped { y } else { height - 1 - y };
        dst[y * stride..y * stride + row].copy_from_slice(&pixels[src_y * row..src_y * row + row]);
    }
    Ok(())
}

fn find_device(wanted: &GlDevice) -> Result<EGLDevice, RenderError> {
    let devices: Vec<EGLDevice> = EGLDevice::enumerate()
        .map_err(|err| {
            RenderError::Init(format!(
                "cannot enumerate EGL devices (is libEGL from Mesa installed?): {err}"
            ))
        })?
        .collect();
    let found = devices.iter().position(|d| match wanted {
        GlDevice::Software => d.is_software(),
        GlDevice::Node(path) => same_node(d, path),
    });
    match found {
        Some(i) => Ok(devices
            .into_iter()
            .nth(i)
            .ok_or_else(|| RenderError::Init("EGL device vanished".to_owned()))?),
        None => Err(RenderError::Init(format!(
            "no EGL device for {}; EGL devices present: {}",
            match wanted {
                GlDevice::Software =>
                    "Mesa's software renderer (EGL_MESA_device_software)".to_owned(),
                GlDevice::Node(path) => path.display().to_string(),
            },
            describe(&devices)
        ))),
    }
}

fn same_node(device: &EGLDevice, path: &Path) -> bool {
    let wanted = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    [device.render_device_path(), device.drm_device_path()]
        .into_iter()
        .flatten()
        .any(|p| std::fs::canonicalize(&p).unwrap_or(p) == wanted)
}

fn describe(devices: &[EGLDevice]) -> String {
    if devices.is_empty() {
        return "none".to_owned();
    }
    devices
        .iter()
        .map(|d| {
            if d.is_software() {
                "software".to_owned()
            } else {
                d.render_device_path()
                    .or_else(|_| d.drm_device_path())
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "unnamed device".to_owned())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
