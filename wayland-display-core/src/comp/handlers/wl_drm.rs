//! `wl_drm`: what older EGL clients (Mesa before linux-dmabuf feedback, old egl-wayland)
//! use to find the render node and to share buffers as PRIME fds.

use smithay::backend::allocator::dmabuf::{Dmabuf, DmabufFlags};
use smithay::backend::allocator::{Fourcc, Modifier};
use smithay::reexports::wayland_server::{
    Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource,
};

use crate::comp::State;
use crate::comp::guard::COORD_LIMIT;
use crate::comp::protocols::wl_drm::wl_drm::{self, WlDrm};

/// What every client binding `wl_drm` is told.
pub(crate) struct WlDrmGlobalData {
    pub(crate) device: String,
    pub(crate) formats: Vec<u32>,
}

impl GlobalDispatch<WlDrm, WlDrmGlobalData> for State {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<WlDrm>,
        global: &WlDrmGlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        let drm = data_init.init(resource, ());
        drm.device(global.device.clone());
        if drm.version() >= 2 {
            drm.capabilities(wl_drm::Capability::Prime as u32);
        }
        for format in &global.formats {
            drm.format(*format);
        }
    }
}

impl Dispatch<WlDrm, ()> for State {
    fn request(
        state: &mut Self,
        _client: &Client,
        drm: &WlDrm,
        request: wl_drm::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        match request {
            // Render nodes need no DRM authentication; say yes at once.
            wl_drm::Request::Authenticate { .. } => drm.authenticated(),
            wl_drm::Request::CreateBuffer { id, .. }
            | wl_drm::Request::CreatePlanarBuffer { id, .. } => {
                data_init.post_error(
                    id,
                    wl_drm::Error::InvalidName,
                    "GEM flink names are not supported; share buffers as PRIME fds",
                );
            }
            wl_drm::Request::CreatePrimeBuffer {
                id,
                name,
                width,
                height,
                format,
                offset0,
                stride0,
                offset1,
                stride1,
                offset2,
                stride2,
            } => {
                let planes = [(offset0, stride0), (offset1, stride1), (offset2, stride2)];
                let dmabuf = prime_dmabuf(name, width, height, format, &planes);
                match dmabuf {
                    Some(dmabuf) if state.renderer.import_client_dmabuf(&dmabuf) => {
                        data_init.init(id, dmabuf);
                    }
                    _ => data_init.post_error(
                        id,
                        wl_drm::Error::InvalidFormat,
                        format!("cannot use a {width}x{height} PRIME buffer of format {format:#x}"),
                    ),
                }
            }
        }
    }
}

/// A DMABuf of one to three planes in one PRIME fd (implicit modifier, as wl_drm has none).
fn prime_dmabuf(
    fd: std::os::fd::OwnedFd,
    width: i32,
    height: i32,
    format: u32,
    planes: &[(i32, i32)],
) -> Option<Dmabuf> {
    // Smithay's sizes must not be negative (a debug assertion).
    if width <= 0 || height <= 0 || width > COORD_LIMIT || height > COORD_LIMIT {
        return None;
    }
    let fourcc = Fourcc::try_from(format).ok()?;
    let mut builder = Dmabuf::builder(
        (width, height),
        fourcc,
        Modifier::Invalid,
        DmabufFlags::empty(),
    );
    for (idx, &(offset, stride)) in planes.iter().enumerate() {
        if idx > 0 && stride <= 0 {
            break;
        }
        // Every plane lives in the one fd; each plane owns its own duplicate of it.
        builder.add_plane(
            fd.try_clone().ok()?,
            u32::try_from(idx).ok()?,
            u32::try_from(offset).ok()?,
            u32::try_from(stride).ok()?,
        );
    }
    builder.build()
}

impl State {
    /// Offers `wl_drm` naming `device` (a render node) with these formats.
    pub(crate) fn offer_wl_drm(&mut self, device: String, formats: Vec<u32>) {
        self.dh
            .create_global::<State, WlDrm, _>(2, WlDrmGlobalData { device, formats });
    }
}

#[cfg(test)]
mod tests {
    use smithay::backend::allocator::Buffer;

    use super::*;

    fn fd() -> std::os::fd::OwnedFd {
        rustix::fs::memfd_create("prime", rustix::fs::MemfdFlags::CLOEXEC).unwrap()
    }

    const XR24: u32 = u32::from_le_bytes(*b"XR24");
    const NV12: u32 = u32::from_le_bytes(*b"NV12");

    #[test]
    fn single_plane_prime_buffer() {
        let d = prime_dmabuf(fd(), 64, 48, XR24, &[(0, 256), (0, 0), (0, 0)]).unwrap();
        assert_eq!(d.num_planes(), 1);
        assert_eq!(d.format().code, Fourcc::Xrgb8888);
        assert_eq!(d.format().modifier, Modifier::Invalid);
        assert_eq!((d.width(), d.height()), (64, 48));
        assert_eq!(d.strides().collect::<Vec<_>>(), [256]);
    }

    #[test]
    fn planar_prime_buffer_uses_one_fd_for_every_plane() {
        let d = prime_dmabuf(fd(), 64, 48, NV12, &[(0, 64), (64 * 48, 64), (0, 0)]).unwrap();
        assert_eq!(d.num_planes(), 2);
        assert_eq!(d.offsets().collect::<Vec<_>>(), [0, 64 * 48]);
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(prime_dmabuf(fd(), 64, 48, XR24, &[(-4, 256), (0, 0), (0, 0)]).is_none());
        assert!(prime_dmabuf(fd(), 64, 48, XR24, &[(0, -1), (0, 0), (0, 0)]).is_none());
        assert!(prime_dmabuf(fd(), 64, 48, 0x1234_5678, &[(0, 256), (0, 0), (0, 0)]).is_none());
        assert!(prime_dmabuf(fd(), -64, 48, XR24, &[(0, 256), (0, 0), (0, 0)]).is_none());
        assert!(prime_dmabuf(fd(), 64, i32::MAX, XR24, &[(0, 256), (0, 0), (0, 0)]).is_none());
    }
}
