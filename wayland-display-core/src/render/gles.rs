//! GLES rendering through an EGL device: a GPU's render node, or Mesa's software device
//! (llvmpipe), which runs the same code on a machine without a GPU.
//!
//! For system-memory output, frames are drawn into an offscreen texture and read back into
//! output images; YUV frames are converted from that texture by a shader and read back
//! plane by plane (`gles_yuv.rs`). For DMABuf output (a render node only), RGB frames are
//! drawn straight into GBM buffers allocated on the node, NV12 frames converted by the
//! shader into them, and they go downstream without a copy.

use std::fs::File;
use std::path::{Path, PathBuf};

use smithay::backend::allocator::dmabuf::{AsDmabuf, Dmabuf, DmabufFlags};
use smithay::backend::allocator::format::FormatSet;
use smithay::backend::allocator::gbm::{GbmAllocator, GbmBufferFlags, GbmDevice};
use smithay::backend::allocator::{Allocator, Buffer as _, Fourcc, Modifier};
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
use super::gles_yuv::{PlanePass, YuvReadback, YuvShader, plane_passes, to_i32};
use super::pool::{Content, OutputPool};
use super::yuv::{Colorimetry, Rows, Source, YuvOutput};
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
        /// For YUV output: the shader and plane textures that convert the picture.
        yuv: Option<YuvReadback>,
    },
    DmaBuf {
        pool: OutputPool<DmabufImage>,
        modifier: Modifier,
        /// For NV12 output: where the picture is composed before the shader converts it.
        yuv: Option<DmabufYuv>,
    },
}

/// NV12 DMABuf output: the picture is composed into an RGBA texture (kept, so only damage
/// is redrawn), then converted whole into each buffer's planes.
struct DmabufYuv {
    shader: YuvShader,
    passes: Vec<PlanePass>,
    texture: Option<GlesTexture>,
    /// RGB pictures for snapshots and screen captures.
    rgb: OutputPool<OutputImage>,
}

/// What a call to [`GlesOutput::render`] makes.
pub(crate) enum Want<'a> {
    /// The frame in the target's format (RGB for system memory; RGB or NV12 DMABufs).
    Target,
    /// An RGB picture in system memory.
    Rgb,
    /// A YUV frame in system memory, in one of these images (converted by the shader; only
    /// when [`GlesOutput::converts_yuv`]).
    Yuv(&'a mut YuvOutput),
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
    /// Whether YUV frames are converted here by the shader.
    shader_yuv: bool,
    /// Whether NV12 DMABufs can be allocated and drawn into (see `probe_nv12`).
    nv12_dmabuf: bool,
}

impl GlesOutput {
    /// A renderer on `device`; `shader_yuv`: YUV frames are converted by the shader
    /// (`gles_yuv.rs`), else on the CPU by the caller, and no NV12 DMABufs are offered.
    pub(crate) fn new(
        device: &GlDevice,
        output: &Output,
        format: OutputFormat,
        shader_yuv: bool,
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
                yuv: None,
            },
            size: (width as i32, height as i32).into(),
            shader_yuv,
            nv12_dmabuf: false,
        }
        .probe_nv12())
    }

    /// Decides whether NV12 DMABufs are offered: GBM must allocate them linear on the
    /// node and EGL must draw into their planes (`R8` and `GR88` views).
    fn probe_nv12(mut self) -> Self {
        if !self.shader_yuv {
            return self;
        }
        let Some(gbm) = self.gbm.as_mut() else {
            return self;
        };
        let renderable = self.renderer.egl_context().dmabuf_render_formats();
        let drawable = [Fourcc::R8, Fourcc::Gr88].into_iter().all(|code| {
            renderable.contains(&smithay::backend::allocator::Format {
                code,
                modifier: Modifier::Linear,
            })
        });
        if !drawable {
            tracing::info!("EGL cannot draw into R8/GR88 DMABufs; no NV12 DMABuf output");
            return self;
        }
        match allocate_dmabuf(gbm, 64, 64, OutputFormat::Nv12, Modifier::Linear) {
            Ok(_) => self.nv12_dmabuf = true,
            Err(err) => tracing::info!(%err, "no NV12 DMABuf output"),
        }
        self
    }

    /// The (fourcc, modifiers) DMABuf output can be negotiated in. Only linear buffers for
    /// now: every consumer imports them, and an RGB one is always a single plane. NV12
    /// last, when the node can make it (converted by a shader).
    pub(crate) fn dmabuf_formats(&self) -> Vec<(u32, Vec<u64>)> {
        if self.gbm.is_none() {
            return Vec::new();
        }
        let renderable = self.renderer.egl_context().dmabuf_render_formats();
        let linear = vec![u64::from(Modifier::Linear)];
        let mut formats: Vec<(u32, Vec<u64>)> = OutputFormat::ALL
            .into_iter()
            .filter(|f| {
                renderable.contains(&smithay::backend::allocator::Format {
                    code: f.fourcc(),
                    modifier: Modifier::Linear,
                })
            })
            .map(|f| (f.fourcc() as u32, linear.clone()))
            .collect();
        if self.nv12_dmabuf {
            formats.push((OutputFormat::Nv12.fourcc() as u32, linear));
        }
        formats
    }

    /// Whether output frames are NV12 DMABufs (and RGB pictures only drawn on request).
    pub(crate) fn yuv_dmabuf(&self) -> bool {
        matches!(self.target, Target::DmaBuf { yuv: Some(_), .. })
    }

    /// Whether YUV output in system memory is converted here, on the GPU.
    pub(crate) fn converts_yuv(&self) -> bool {
        matches!(self.target, Target::System { yuv: Some(_), .. })
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
            OutputTarget::System(_) | OutputTarget::Yuv { .. } => {
                let yuv = match target.yuv(height).filter(|_| self.shader_yuv) {
                    Some((format, colorimetry)) => Some(YuvReadback::new(
                        &mut self.renderer,
                        format,
                        colorimetry,
                        (width, height),
                    )?),
                    None => None,
                };
                Target::System {
                    pool: OutputPool::new(target.format().render_format(), width, height),
                    texture: None,
                    yuv,
                }
            }
            OutputTarget::DmaBuf {
                format,
                modifier,
                colorimetry,
            } => {
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
                let yuv = match plane_passes(
                    format,
                    colorimetry.unwrap_or_else(|| Colorimetry::for_height(height)),
                ) {
                    Some(passes) => Some(DmabufYuv {
                        shader: YuvShader::new(&mut self.renderer)?,
                        passes,
                        texture: None,
                        rgb: OutputPool::new(OutputFormat::Bgrx, width, height),
                    }),
                    None => None,
                };
                Target::DmaBuf {
                    pool: OutputPool::new(format, width, height),
                    modifier: Modifier::from(modifier),
                    yuv,
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

    /// Draws the current state into what `want` asks for.
    pub(crate) fn render(
        &mut self,
        space: &Space<Window>,
        output: &Output,
        cursor: &Cursor,
        cursor_state: &CursorState<'_>,
        scaled: Option<&Scaled<'_>>,
        want: Want<'_>,
    ) -> Result<Frame, RenderError> {
        let scale = output.current_scale().fractional_scale();
        let cursor_elements = cursor.elements(&mut self.renderer, cursor_state, scale);
        let (elements, space) = overlay(&mut self.renderer, cursor_elements, space, scaled);
        let scene = Scene {
            space,
            output,
            elements: &elements,
        };
        let renderer = &mut self.renderer;
        let damage = &mut self.damage;
        let size = self.size;
        match (&mut self.target, want) {
            (Target::System { pool, texture, yuv }, Want::Target | Want::Rgb) => {
                let (mut picture, changed) =
                    compose_offscreen(renderer, damage, texture, size, &scene)?;
                // The pool's previous frame is the texture's previous one unless YUV frames
                // were composed in between.
                let changed = yuv.is_none().then_some(changed);
                read_rgb(renderer, &mut picture, pool, size, changed)
            }
            (
                Target::System {
                    texture,
                    yuv: Some(readback),
                    ..
                },
                Want::Yuv(out),
            ) => {
                let (picture, _) = compose_offscreen(renderer, damage, texture, size, &scene)?;
                let slot = out.acquire()?;
                let image = out.pool.image_mut(slot)?;
                if let Err(err) = readback.convert(renderer, &picture, image) {
                    out.pool.forget(slot);
                    return Err(err);
                }
                out.pool.filled(slot, Content::Yuv(Source::Gpu), None)
            }
            (Target::System { yuv: None, .. }, Want::Yuv(_)) => Err(RenderError::Draw(
                "YUV frames asked of a renderer set up for RGB".to_owned(),
            )),
            (Target::DmaBuf { yuv: Some(y), .. }, Want::Rgb) => {
                let (mut picture, _) =
                    compose_offscreen(renderer, damage, &mut y.texture, size, &scene)?;
                read_rgb(renderer, &mut picture, &mut y.rgb, size, None)
            }
            (
                Target::DmaBuf {
                    pool,
                    yuv: Some(y),
                    modifier,
                },
                Want::Target,
            ) => {
                let Some(gbm) = self.gbm.as_mut() else {
                    return Err(RenderError::Draw(
                        "no GBM device for DMABuf output".to_owned(),
                    ));
                };
                let (picture, _) =
                    compose_offscreen(renderer, damage, &mut y.texture, size, &scene)?;
                let (format, (width, height)) = (pool.format(), pool.size());
                let (slot, _) =
                    pool.acquire(|| allocate_dmabuf(gbm, width, height, format, *modifier))?;
                let image = pool.image_mut(slot)?;
                if image.plane_views.len() != y.passes.len() {
                    return Err(RenderError::Draw(format!(
                        "a {format:?} buffer with {} plane views for {} passes",
                        image.plane_views.len(),
                        y.passes.len()
                    )));
                }
                let mut last = None;
                for (pass, view) in y.passes.iter().zip(image.plane_views.iter_mut()) {
                    let mut target = renderer
                        .bind(view)
                        .map_err(|err| RenderError::Draw(format!("bind a plane view: {err}")))?;
                    last = Some(y.shader.draw_plane(
                        renderer,
                        &picture,
                        &mut target,
                        pass,
                        (width, height),
                    )?);
                }
                // Passes run in order on one context: the last one done means all are.
                if let Some(sync) = last {
                    sync.wait().map_err(|_| {
                        RenderError::Draw("waiting for the GPU was interrupted".to_owned())
                    })?;
                }
                pool.filled(slot, Content::Yuv(Source::Gpu), None)
            }
            (Target::DmaBuf { .. }, Want::Yuv(_)) => Err(RenderError::Draw(
                "system-memory YUV frames asked of a renderer set up for DMABufs".to_owned(),
            )),
            (
                Target::DmaBuf {
                    pool,
                    modifier,
                    yuv: None,
                },
                Want::Target | Want::Rgb,
            ) => {
                let Some(gbm) = self.gbm.as_mut() else {
                    return Err(RenderError::Draw(
                        "no GBM device for DMABuf output".to_owned(),
                    ));
                };
                let (format, (width, height)) = (pool.format(), pool.size());
                let (slot, age) =
                    pool.acquire(|| allocate_dmabuf(gbm, width, height, format, *modifier))?;
                let image = pool.image_mut(slot)?;
                let mut target = renderer
                    .bind(&mut image.dmabuf)
                    .map_err(|err| RenderError::Draw(format!("bind DMABuf: {err}")))?;
                let (sync, changed) = compose(
                    renderer,
                    &mut target,
                    age,
                    scene.space,
                    scene.output,
                    scene.elements,
                    damage,
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

/// Composes `scene` into the offscreen texture in `slot` (made on first use), redrawing
/// only what changed since the frame it holds; returns the texture and the rows changed.
/// A failed frame leaves no texture, so the next one is drawn whole.
fn compose_offscreen(
    renderer: &mut GlesRenderer,
    damage: &mut OutputDamageTracker,
    slot: &mut Option<GlesTexture>,
    size: Size<i32, Buffer>,
    scene: &Scene<'_>,
) -> Result<(GlesTexture, Rows), RenderError> {
    let (age, mut texture) = match slot.take() {
        Some(texture) => (1, texture),
        None => {
            let texture = Offscreen::<GlesTexture>::create_buffer(renderer, Fourcc::Abgr8888, size)
                .map_err(|err| RenderError::Draw(format!("offscreen texture: {err}")))?;
            (0, texture)
        }
    };
    let mut target = renderer
        .bind(&mut texture)
        .map_err(|err| RenderError::Draw(format!("bind: {err}")))?;
    // No wait: what reads the texture next is queued after the drawing on this context.
    let (_drawn, changed) = compose(
        renderer,
        &mut target,
        age,
        scene.space,
        scene.output,
        scene.elements,
        damage,
    )?;
    drop(target);
    *slot = Some(texture.clone());
    Ok((texture, changed))
}

/// Reads the composed `picture` back into a free image of `pool`, which records `changed`
/// as the rows that differ from its previous frame (`None`: not known).
fn read_rgb(
    renderer: &mut GlesRenderer,
    picture: &mut GlesTexture,
    pool: &mut OutputPool<OutputImage>,
    size: Size<i32, Buffer>,
    changed: Option<Rows>,
) -> Result<Frame, RenderError> {
    let gl_err =
        |what: &str, err: &dyn std::fmt::Display| RenderError::Draw(format!("{what}: {err}"));
    let target = renderer.bind(picture).map_err(|e| gl_err("bind", &e))?;
    let mapping = renderer
        .copy_framebuffer(&target, Rectangle::from_size(size), pool.format().fourcc())
        .map_err(|e| gl_err("read back", &e))?;
    drop(target);
    let flipped = mapping.flipped();
    let pixels = renderer
        .map_texture(&mapping)
        .map_err(|e| gl_err("map", &e))?;
    let (slot, _) = pool.acquire_system()?;
    let image = &mut pool.image_mut(slot)?.image;
    copy_rows(pixels, image, flipped)?;
    pool.rendered(slot, changed)
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
    if !format.is_yuv() {
        if dmabuf.num_planes() != 1 {
            return Err(RenderError::Draw(format!(
                "the driver gave a {}-plane buffer for a linear {format:?} frame",
                dmabuf.num_planes()
            )));
        }
        return Ok(DmabufImage {
            dmabuf,
            plane_views: Vec::new(),
        });
    }
    let plane_views = plane_views(&dmabuf, width, height)?;
    Ok(DmabufImage {
        dmabuf,
        plane_views,
    })
}

/// An NV12 buffer's planes as one-plane buffers GLES can draw into: Y as `R8` at the
/// picture's size, the interleaved chroma as `GR88` (U in the first byte) at half size,
/// each with the plane's own fd, offset and stride.
fn plane_views(dmabuf: &Dmabuf, width: u32, height: u32) -> Result<Vec<Dmabuf>, RenderError> {
    if dmabuf.num_planes() != 2 {
        return Err(RenderError::Draw(format!(
            "the driver gave a {}-plane buffer for an NV12 frame",
            dmabuf.num_planes()
        )));
    }
    let size = |w: u32, h: u32| Ok::<_, RenderError>((to_i32(w)?, to_i32(h)?));
    let views = [
        (Fourcc::R8, size(width, height)?),
        (Fourcc::Gr88, size(width.div_ceil(2), height.div_ceil(2))?),
    ];
    let modifier = dmabuf.format().modifier;
    dmabuf
        .handles()
        .zip(dmabuf.offsets())
        .zip(dmabuf.strides())
        .zip(views)
        .map(|(((fd, offset), stride), (fourcc, size))| {
            let fd = fd.try_clone_to_owned().map_err(|err| {
                RenderError::Draw(format!("duplicating an NV12 plane's fd: {err}"))
            })?;
            let mut builder = Dmabuf::builder(size, fourcc, modifier, DmabufFlags::empty());
            builder.add_plane(fd, 0, offset, stride);
            builder
                .build()
                .ok_or_else(|| RenderError::Draw("an NV12 plane view without its plane".to_owned()))
        })
        .collect()
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
