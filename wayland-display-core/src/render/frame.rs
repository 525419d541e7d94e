//! Frames handed out of the compositor: shared, read-only views of an output image.

use std::os::fd::BorrowedFd;
use std::sync::Arc;

use smithay::backend::allocator::dmabuf::{Dmabuf, DmabufMappingMode, DmabufSyncFlags};
use smithay::backend::allocator::{Buffer, Fourcc, Modifier};
use smithay::reexports::pixman::{self, FormatCode};

use super::RenderError;
use super::yuv::{Colorimetry, PlanarImage};

/// Pixel layouts an output frame can have, named as GStreamer names them (byte order in
/// memory), each with its DRM fourcc (a little-endian 32-bit word for the RGB ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// The renderer's native layout.
    #[default]
    Bgrx,
    Rgbx,
    Bgra,
    Rgba,
    /// Planar 4:2:0 YUV (Y, then U, then V), what software encoders take: drawn in BGRx,
    /// then converted (`render/yuv.rs`).
    I420,
    /// Semi-planar 4:2:0 YUV (Y, then interleaved UV), what hardware encoders take.
    Nv12,
}

impl OutputFormat {
    /// The layouts the renderer draws in.
    pub const ALL: [OutputFormat; 4] = [Self::Bgrx, Self::Rgbx, Self::Bgra, Self::Rgba];
    /// The YUV layouts frames are converted into.
    pub const YUV: [OutputFormat; 2] = [Self::I420, Self::Nv12];

    pub fn fourcc(self) -> Fourcc {
        match self {
            Self::Bgrx => Fourcc::Xrgb8888,
            Self::Rgbx => Fourcc::Xbgr8888,
            Self::Bgra => Fourcc::Argb8888,
            Self::Rgba => Fourcc::Abgr8888,
            Self::I420 => Fourcc::Yuv420,
            Self::Nv12 => Fourcc::Nv12,
        }
    }

    pub fn gst_name(self) -> &'static str {
        match self {
            Self::Bgrx => "BGRx",
            Self::Rgbx => "RGBx",
            Self::Bgra => "BGRA",
            Self::Rgba => "RGBA",
            Self::I420 => "I420",
            Self::Nv12 => "NV12",
        }
    }

    pub fn from_gst_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain(Self::YUV)
            .find(|f| f.gst_name() == name)
    }

    pub fn is_yuv(self) -> bool {
        matches!(self, Self::I420 | Self::Nv12)
    }

    /// The layout the renderer draws a frame of this format in.
    pub fn render_format(self) -> Self {
        if self.is_yuv() { Self::Bgrx } else { self }
    }

    /// The layout of a DMABuf fourcc: GPU output buffers are RGB, or NV12 converted by a
    /// shader.
    pub fn from_fourcc(fourcc: u32) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain([Self::Nv12])
            .find(|f| f.fourcc() as u32 == fourcc)
    }

    /// Pixman's code for the layout drawn in ([`render_format`](Self::render_format)).
    pub(crate) fn pixman(self) -> FormatCode {
        match self.render_format() {
            Self::Rgbx => FormatCode::X8B8G8R8,
            Self::Bgra => FormatCode::A8R8G8B8,
            Self::Rgba => FormatCode::A8B8G8R8,
            Self::Bgrx | Self::I420 | Self::Nv12 => FormatCode::X8R8G8B8,
        }
    }
}

/// One output image. Pixman owns the pixels; they are written only through `&mut`, which
/// the pool gets only while no [`Frame`] shares the image.
#[derive(Debug)]
pub(crate) struct OutputImage {
    pub(crate) image: pixman::Image<'static, 'static>,
    len: usize,
}

impl OutputImage {
    pub(crate) fn new(format: OutputFormat, width: u32, height: u32) -> Option<Self> {
        let image =
            pixman::Image::new(format.pixman(), width as usize, height as usize, true).ok()?;
        let len = image.stride() * image.height();
        Some(Self { image, len })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the image owns `len` bytes at `data()` (stride * height) for as long as it
        // lives, and `&self` rules out the `&mut` through which rendering writes.
        unsafe { std::slice::from_raw_parts(self.image.data() as *const u8, self.len) }
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` proves nothing else reads or writes them.
        unsafe { std::slice::from_raw_parts_mut(self.image.data() as *mut u8, self.len) }
    }

    pub(crate) fn stride(&self) -> usize {
        self.image.stride()
    }
}

/// One GPU output buffer, exported as a DMABuf. Like [`OutputImage`], the GPU writes it
/// only while no [`Frame`] shares it.
#[derive(Debug)]
pub(crate) struct DmabufImage {
    pub(crate) dmabuf: Dmabuf,
    /// For a YUV buffer: each plane as a one-plane buffer of its own (`R8`, `GR88`), which
    /// is what GLES can draw into.
    pub(crate) plane_views: Vec<Dmabuf>,
}

/// Where a frame's pixels are.
#[derive(Clone, Debug)]
pub(crate) enum FrameMemory {
    System(Arc<OutputImage>),
    Planar(Arc<PlanarImage>),
    DmaBuf(Arc<DmabufImage>),
}

/// Where one plane of a system-memory frame is in [`Frame::data`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramePlane {
    pub offset: usize,
    pub stride: u32,
}

/// One plane of a DMABuf frame.
#[derive(Debug)]
pub struct DmabufPlane<'a> {
    pub fd: BorrowedFd<'a>,
    pub offset: u32,
    pub stride: u32,
}

/// How a frame's pixels were made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameSource {
    /// Composited by the renderer from the windows and the cursor.
    Composed,
    /// Copied from the one client buffer that covers the whole output (the pass-through
    /// path), with the cursor blended on top.
    ClientBuffer,
}

/// A rendered output frame. Cloning is cheap; the pixels stay valid and unchanged while
/// any clone lives, and the compositor draws into other buffers meanwhile.
#[derive(Clone, Debug)]
pub struct Frame {
    pub(crate) memory: FrameMemory,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub stride: u32,
    /// Counts rendered frames; equal for a frame handed out again unchanged.
    pub seq: u64,
    /// True when this is the previous frame handed out again because nothing changed.
    pub repeated: bool,
    pub source: FrameSource,
    /// How YUV values map to colours; `None` for RGB frames.
    pub colorimetry: Option<Colorimetry>,
}

impl Frame {
    /// The pixels of a system-memory frame; empty for a DMABuf frame.
    pub fn data(&self) -> &[u8] {
        match &self.memory {
            FrameMemory::System(image) => image.bytes(),
            FrameMemory::Planar(image) => image.bytes(),
            FrameMemory::DmaBuf(_) => &[],
        }
    }

    /// The planes of a system-memory frame within [`data`](Self::data): one for RGB, three
    /// for I420, two for NV12; empty for a DMABuf frame (see
    /// [`dmabuf_planes`](Self::dmabuf_planes)).
    pub fn planes(&self) -> Vec<FramePlane> {
        match &self.memory {
            FrameMemory::System(_) => vec![FramePlane {
                offset: 0,
                stride: self.stride,
            }],
            FrameMemory::Planar(image) => image.layout().planes().to_vec(),
            FrameMemory::DmaBuf(_) => Vec::new(),
        }
    }

    /// Runs `read` over the frame's pixels (rows `stride` bytes apart). A DMABuf frame is
    /// mapped for the call (the GPU path exports linear buffers only, so the mapping is the
    /// picture as is), between the kernel's begin/end CPU access calls, which wait for the
    /// GPU to finish writing it.
    pub(crate) fn with_pixels<T>(&self, read: impl FnOnce(&[u8]) -> T) -> Result<T, RenderError> {
        let image = match &self.memory {
            FrameMemory::System(image) => return Ok(read(image.bytes())),
            FrameMemory::DmaBuf(image) if !self.format.is_yuv() => image,
            FrameMemory::Planar(_) | FrameMemory::DmaBuf(_) => {
                return Err(RenderError::Draw(
                    "reading a YUV frame as RGB pixels".to_owned(),
                ));
            }
        };
        let dmabuf = linear(image)?;
        let mapping = dmabuf
            .map_plane(0, DmabufMappingMode::READ)
            .map_err(|e| failed("map", &e))?;
        dmabuf
            .sync_plane(0, DmabufSyncFlags::START | DmabufSyncFlags::READ)
            .map_err(|e| failed("begin access", &e))?;
        // SAFETY: the mapping holds `length()` readable bytes until it is dropped, after
        // this call; nothing writes the image while a `Frame` shares it (the pool's rule).
        let bytes =
            unsafe { std::slice::from_raw_parts(mapping.ptr() as *const u8, mapping.length()) };
        let out = read(bytes);
        if let Err(err) = dmabuf.sync_plane(0, DmabufSyncFlags::END | DmabufSyncFlags::READ) {
            tracing::debug!(%err, "ending CPU access to a DMABuf frame");
        }
        Ok(out)
    }

    /// A copy of the frame's bytes (rows `stride` apart), read from a DMABuf if need be.
    pub fn copy_pixels(&self) -> Result<Vec<u8>, RenderError> {
        self.with_pixels(<[u8]>::to_vec)
    }

    /// Each plane's rows copied out, in plane order: from system memory, or from a linear
    /// DMABuf (an NV12 one included), each plane's buffer mapped whole from its start (a
    /// plane's offset need not fall on a page, which mapping the plane alone would need)
    /// between the kernel's begin/end CPU access calls.
    pub fn copy_planes(&self) -> Result<Vec<PlaneCopy>, RenderError> {
        let rows = |index: usize| {
            if index > 0 && self.format.is_yuv() {
                self.height.div_ceil(2)
            } else {
                self.height
            }
        };
        let FrameMemory::DmaBuf(image) = &self.memory else {
            let data = self.data();
            return Ok(self
                .planes()
                .iter()
                .enumerate()
                .map(|(index, p)| {
                    let len = (p.stride as usize).saturating_mul(rows(index) as usize);
                    let end = p.offset.saturating_add(len).min(data.len());
                    PlaneCopy {
                        bytes: data.get(p.offset..end).unwrap_or_default().to_vec(),
                        stride: p.stride,
                    }
                })
                .collect());
        };
        let dmabuf = linear(image)?;
        let mut out = Vec::new();
        for (index, ((fd, offset), stride)) in dmabuf
            .handles()
            .zip(dmabuf.offsets())
            .zip(dmabuf.strides())
            .enumerate()
        {
            let mapping = WholeMapping::new(fd).map_err(|e| failed("map", &e))?;
            dmabuf
                .sync_plane(index, DmabufSyncFlags::START | DmabufSyncFlags::READ)
                .map_err(|e| failed("begin access", &e))?;
            let len = (stride as usize).saturating_mul(rows(index) as usize);
            let start = (offset as usize).min(mapping.bytes().len());
            let end = start.saturating_add(len).min(mapping.bytes().len());
            out.push(PlaneCopy {
                bytes: mapping.bytes().get(start..end).unwrap_or_default().to_vec(),
                stride,
            });
            if let Err(err) = dmabuf.sync_plane(index, DmabufSyncFlags::END | DmabufSyncFlags::READ)
            {
                tracing::debug!(%err, "ending CPU access to a DMABuf frame");
            }
        }
        Ok(out)
    }

    /// The DRM format modifier of a DMABuf frame; `None` for system memory.
    pub fn modifier(&self) -> Option<u64> {
        match &self.memory {
            FrameMemory::System(_) | FrameMemory::Planar(_) => None,
            FrameMemory::DmaBuf(image) => Some(u64::from(image.dmabuf.format().modifier)),
        }
    }

    /// The planes of a DMABuf frame; `None` for system memory.
    pub fn dmabuf_planes(&self) -> Option<Vec<DmabufPlane<'_>>> {
        let FrameMemory::DmaBuf(image) = &self.memory else {
            return None;
        };
        let d = &image.dmabuf;
        Some(
            d.handles()
                .zip(d.offsets())
                .zip(d.strides())
                .map(|((fd, offset), stride)| DmabufPlane { fd, offset, stride })
                .collect(),
        )
    }

    /// The pixel at (x, y) of an RGB frame as the four bytes in memory order.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height || self.format.is_yuv() {
            return None;
        }
        let at = (y * self.stride + x * 4) as usize;
        let px = self.data().get(at..at + 4)?;
        Some([px[0], px[1], px[2], px[3]])
    }

    /// Whether two frames share the same pixels (no copy was made between them).
    pub fn same_memory(&self, other: &Frame) -> bool {
        match (&self.memory, &other.memory) {
            (FrameMemory::System(a), FrameMemory::System(b)) => Arc::ptr_eq(a, b),
            (FrameMemory::Planar(a), FrameMemory::Planar(b)) => Arc::ptr_eq(a, b),
            (FrameMemory::DmaBuf(a), FrameMemory::DmaBuf(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// A DMABuf frame's buffer, if the CPU can read it as is (linear).
fn linear(image: &DmabufImage) -> Result<&Dmabuf, RenderError> {
    if image.dmabuf.format().modifier != Modifier::Linear {
        return Err(RenderError::Draw(
            "reading a DMABuf frame: only linear buffers can be read".to_owned(),
        ));
    }
    Ok(&image.dmabuf)
}

fn failed(what: &str, err: &dyn std::fmt::Display) -> RenderError {
    RenderError::Draw(format!("reading a DMABuf frame: {what}: {err}"))
}

/// One plane of a frame copied into system memory ([`Frame::copy_planes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaneCopy {
    /// The plane's rows, `stride` bytes apart, from its first.
    pub bytes: Vec<u8>,
    pub stride: u32,
}

/// A read-only mapping of a whole DMABuf, unmapped when dropped.
struct WholeMapping {
    ptr: *mut std::ffi::c_void,
    len: usize,
}

impl WholeMapping {
    fn new(fd: BorrowedFd<'_>) -> std::io::Result<Self> {
        let size = rustix::fs::seek(fd, rustix::fs::SeekFrom::End(0))?;
        rustix::fs::seek(fd, rustix::fs::SeekFrom::Start(0))?;
        let len = usize::try_from(size)
            .map_err(|_| std::io::Error::other("a DMABuf larger than the address space"))?;
        if len == 0 {
            return Err(std::io::Error::other("an empty DMABuf"));
        }
        // SAFETY: a fresh shared read-only mapping of `len` bytes of the fd from its start,
        // owned by the value returned, which unmaps it on drop.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::SHARED,
                fd,
                0,
            )
        }?;
        Ok(Self { ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until `self` is dropped.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for WholeMapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are the mapping made in `new`, not yet unmapped.
        if let Err(err) = unsafe { rustix::mm::munmap(self.ptr, self.len) } {
            tracing::debug!(%err, "unmapping a DMABuf");
        }
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self.data()
    }
}
