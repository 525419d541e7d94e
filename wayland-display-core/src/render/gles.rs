//! GLES rendering through an EGL device: a GPU's render node, or Mesa's software device
//! (llvmpipe), which runs the same code on a machine without a GPU.
//!
//! For system-memory output, frames are drawn into an offscreen texture and read back into
//! output images. For DMABuf output (a render node only), they are drawn straight into
//! GBM buffers allocated on the node, which go downstream without a copy.

use std::fs::File;
use std::path::{Path, PathBuf};

use smithay::backend::allocator::dmabuf::{AsDmabuf, Dmabuf};
use smithay::backend::allocator::format::FormatSet;
use smithay::backend::allocator::gbm::{GbmAllocator, GbmBufferFlags, GbmDevice};
use smithay::backend::allocator::{Allocator, Fourcc, Modifier};
use smithay::backend::egl::{EGLContext, EGLDevice, EGLDisplay};
use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::gles::{GlesRenderer, GlesTexture};
use smithay::backend::renderer::{Bind, ExportMem, ImportDma, Offscreen, TextureMapping};
use smithay::desktop::{Space, Window};
use smithay::output::Output;
use smithay::utils::{Buffer, Rectangle, Size};

use super::compose::{Scaled, compose, overlay};
use super::cursor::{Cursor, CursorState};
use super::frame::{DmabufImage, OutputImage};
use super::pool::OutputPool;
use super::{Frame, OutputFormat, OutputTarget, RenderError};

/// What clients need to share GPU buffers with us.
pub(crate) struct ClientDmabuf {
    pub(crate) node: PathBuf,
    /// The node's device number (`st_rdev`), as linux-dmabuf feedback names devices.
    pub(crate) device: u64,
    pub(crate) formats: FormatSet,
}

/// Which EGL device renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlDevice {
    /// Mesa's software device (`EGL_MESA_device_software`, llvmpipe).
    Software,
    /// The EGL device of this DRM render node.
    Node(PathBuf),
}

/// What frames are drawn into.
enum Target {
    System {
        pool: OutputPool<OutputImage>,
        /// Offscreen framebuffer; its contents persist, so each frame redraws only damage.
        texture: Option<GlesTexture>,
    },
    DmaBuf {
        pool: OutputPool<DmabufImage>,
        modifier: Modifier,
    },
}

pub(crate) struct GlesOutput {
    renderer: GlesRenderer,
    /// Present when rendering on a render node: allocates DMABuf output buffers there.
    gbm: Option<GbmAllocator<File>>,
    /// The render node, announced to clients as the device for their DMABufs.
    node: Option<PathBuf>,
    damage: OutputDamageTracker,
    target: Target,
    size: Size<i32, Buffer>,
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
        let (gbm, node) = match device {
            GlDevice::Node(path) => (open_gbm(path), Some(path.clone())),
            GlDevice::Software => (None, None),
        };
        let (width, height) = super::output_size(output);
        Ok(Self {
            renderer,
            gbm,
            node,
            damage: OutputDamageTracker::from_output(output),
            target: Target::System {
                pool: OutputPool::new(format, width, height),
                texture: None,
            },
            size: (width as i32, height as i32).into(),
        })
    }

    /// The (fourcc, modifiers) DMABuf output can be negotiated in. Only linear buffers for
    /// now: every consumer imports them, and they are always a single plane.
    pub(crate) fn dmabuf_formats(&self) -> Vec<(u32, Vec<u64>)> {
        if self.gbm.is_none() {
            return Vec::new();
        }
        let renderable = self.renderer.egl_context().dmabuf_render_formats();
        OutputFormat::ALL
            .into_iter()
            .filter(|f| {
                renderable.contains(&smithay::backend::allocator::Format {
                    code: f.fourcc(),
                    modifier: Modifier::Linear,
                })
            })
            .map(|f| (f.fourcc() as u32, vec![u64::from(Modifier::Linear)]))
            .collect()
    }

    /// The render node and the formats clients may send DMABufs in; `None` without a
    /// render node (llvmpipe: clients have nothing to allocate on).
    pub(crate) fn client_dmabuf(&self) -> Option<ClientDmabuf> {
        let node = self.node.clone()?;
        let device = rustix::fs::stat(&node).ok()?.st_rdev;
        Some(ClientDmabuf {
            node,
            device,
            formats: ImportDma::dmabuf_formats(&self.renderer),
        })
    }

    /// Whether a client's DMABuf can be drawn (imported into a texture).
    pub(crate) fn import_client_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        match self.renderer.import_dmabuf(dmabuf, None) {
            Ok(_) => true,
            Err(err) => {
                tracing::debug!(%err, "client DMABuf refused");
                false
            }
        }
    }

    pub(crate) fn reconfigure(
        &mut self,
        output: &Output,
        target: OutputTarget,
    ) -> Result<(), RenderError> {
        let (width, height) = super::output_size(output);
        self.target = match target {
            OutputTarget::System(format) | OutputTarget::Yuv { format, .. } => Target::System {
                pool: OutputPool::new(format, width, height),
                texture: None,
            },
            OutputTarget::DmaBuf { format, modifier } => {
                if self.gbm.is_none() {
                    return Err(RenderError::Init(
                        "DMABuf output needs a GPU render node; this renderer has none".to_owned(),
                    ));
                }
                let offered = self.dmabuf_formats();
                if !offered
                    .iter()
                    .any(|(f, m)| *f == format.fourcc() as u32 && m.contains(&modifier))
                {
                    return Err(RenderError::Init(format!(
                        "DMABuf output in {format:?} with modifier {modifier:#x} is not offered"
                    )));
                }
                Target::DmaBuf {
                    pool: OutputPool::new(format, width, height),
                    modifier: Modifier::from(modifier),
                }
            }
        };
        self.damage = OutputDamageTracker::from_output(output);
        self.size = (width as i32, height as i32).into();
        Ok(())
    }

    pub(crate) fn forget_damage(&mut self, output: &Output) {
        self.damage = OutputDamageTracker::from_output(output);
    }

    /// The system-memory images, for the pass-through path; `None` for DMABuf output,
    /// which only the GPU writes.
    pub(crate) fn system_pool_mut(&mut self) -> Option<&mut OutputPool<OutputImage>> {
        match &mut self.target {
            Target::System { pool, .. } => Some(pool),
            Target::DmaBuf { .. } => None,
        }
    }

    /// The system-memory images, whose history YUV conversion reads.
    pub(crate) fn system_pool(&self) -> Option<&OutputPool<OutputImage>> {
        match &self.target {
            Target::System { pool, .. } => Some(pool),
            Target::DmaBuf { .. } => None,
        }
    }

    pub(crate) fn repeat_last(&self) -> Option<Frame> {
        match &self.target {
            Target::System { pool, .. } => pool.last_frame(),
            Target::DmaBuf { pool, .. } => pool.last_frame(),
        }
    }

    pub(crate) fn render(
        &mut self,
        space: &Space<Window>,
        output: &Output,
        cursor: &Cursor,
        cursor_state: &CursorState<'_>,
        scaled: Option<&Scaled<'_>>,
    ) -> Result<Frame, RenderError> {
        let scale = output.current_scale().fractional_scale();
        let cursor_elements = cursor.elements(&mut self.renderer, cursor_state, scale);
        let (elements, space) = overlay(&mut self.renderer, cursor_elements, space, scaled);
        let scene = Scene {
            space,
            output,
            elements: &elements,
        };
        match &mut self.target {
            Target::System { pool, texture } => {
                let (age, mut tex) = match texture.take() {
                    Some(tex) => (1, tex),
                    None => {
                        let tex = Offscreen::<GlesTexture>::create_buffer(
                            &mut self.renderer,
                            Fourcc::Abgr8888,
                            self.size,
                        )
                        .map_err(|err| RenderError::Draw(format!("offscreen texture: {err}")))?;
                        (0, tex)
                    }
                };
                let drawn = draw_and_read(
                    &mut self.renderer,
                    &mut self.damage,
                    &mut tex,
                    age,
                    &scene,
                    pool,
                    self.size,
                );
                // The texture keeps its contents for the next frame only if this one completed.
                if drawn.is_ok() {
                    *texture = Some(tex);
                }
                drawn
            }
            Target::DmaBuf { pool, modifier } => {
                let Some(gbm) = self.gbm.as_mut() else {
                    return Err(RenderError::Draw(
                        "no GBM device for DMABuf output".to_owned(),
                    ));
                };
                let (format, (width, height)) = (pool.format(), pool.size());
                let (slot, age) =
                    pool.acquire(|| allocate_dmabuf(gbm, width, height, format, *modifier))?;
                let image = pool.image_mut(slot)?;
                let mut target = self
                    .renderer
                    .bind(&mut image.dmabuf)
                    .map_err(|err| RenderError::Draw(format!("bind DMABuf: {err}")))?;
                let (sync, changed) = compose(
                    &mut self.renderer,
                    &mut target,
                    age,
                    scene.space,
                    scene.output,
                    scene.elements,
                    &mut self.damage,
                )?;
                drop(target);
                // Downstream may read the buffer as soon as it has it: finish drawing first.
                sync.wait().map_err(|_| {
                    RenderError::Draw("waiting for the GPU was interrupted".to_owned())
                })?;
                pool.rendered(slot, Some(changed))
            }
        }
    }
}

/// What one frame shows.
struct Scene<'a> {
    /// `None` when a window is drawn scaled instead (it is among `elements` then).
    space: Option<&'a Space<Window>>,
    output: &'a Output,
    /// Front first: the cursor, then a scaled window.
    elements: &'a [super::cursor::CursorElement<GlesRenderer>],
}

fn draw_and_read(
    renderer: &mut GlesRenderer,
    damage: &mut OutputDamageTracker,
    texture: &mut GlesTexture,
    age: usize,
    scene: &Scene<'_>,
    pool: &mut OutputPool<OutputImage>,
    size: Size<i32, Buffer>,
) -> Result<Frame, RenderError> {
    let gl_err =
        |what: &str, err: &dyn std::fmt::Display| RenderError::Draw(format!("{what}: {err}"));
    let mut target = renderer.bind(texture).map_err(|e| gl_err("bind", &e))?;
    // No wait: the read-back below is queued after the drawing on the same context.
    let (_drawn, changed) = compose(
        renderer,
        &mut target,
        age,
        scene.space,
        scene.output,
        scene.elements,
        damage,
    )?;
    let mapping = renderer
        .copy_framebuffer(&target, Rectangle::from_size(size), pool.format().fourcc())
        .map_err(|e| gl_err("read back", &e))?;
    let flipped = mapping.flipped();
    let pixels = renderer
        .map_texture(&mapping)
        .map_err(|e| gl_err("map", &e))?;
    let (slot, _) = pool.acquire_system()?;
    let image = &mut pool.image_mut(slot)?.image;
    copy_rows(pixels, image, flipped)?;
    drop(target);
    // The texture's previous frame is the pool's previous one: `changed` is relative to it.
    pool.rendered(slot, Some(changed))
}

/// A single-plane GBM buffer on the render node, exported as a DMABuf.
fn allocate_dmabuf(
    gbm: &mut GbmAllocator<File>,
    width: u32,
    height: u32,
    format: OutputFormat,
    modifier: Modifier,
) -> Result<DmabufImage, RenderError> {
    let buffer = gbm
        .create_buffer(width, height, format.fourcc(), &[modifier])
        .map_err(|err| {
            RenderError::Draw(format!(
                "GBM allocation of {width}x{height} {format:?}: {err}"
            ))
        })?;
    let dmabuf = buffer
        .export()
        .map_err(|err| RenderError::Draw(format!("exporting the GBM buffer as a DMABuf: {err}")))?;
    if dmabuf.num_planes() != 1 {
        return Err(RenderError::Draw(format!(
            "the driver gave a {}-plane buffer for a linear {format:?} frame",
            dmabuf.num_planes()
        )));
    }
    Ok(DmabufImage { dmabuf })
}

/// GBM on the render node, or `None` (logged) when it cannot be opened: the renderer still
/// works, only DMABuf output is not offered.
fn open_gbm(node: &Path) -> Option<GbmAllocator<File>> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(node)
    {
        Ok(file) => file,
        Err(err) => {
            tracing::warn!(node = %node.display(), %err, "cannot open the render node for GBM; no DMABuf output");
            return None;
        }
    };
    match GbmDevice::new(file) {
        Ok(device) => Some(GbmAllocator::new(device, GbmBufferFlags::RENDERING)),
        Err(err) => {
            tracing::warn!(node = %node.display(), %err, "no GBM on the render node; no DMABuf output");
            None
        }
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
