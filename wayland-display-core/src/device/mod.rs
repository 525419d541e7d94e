//! Which device renders: the GPUs this machine has, the `render-node` vocabulary, and the
//! choice between them.
//!
//! Everything is read from sysfs, `/dev` and `/proc` under injectable [`DeviceRoots`], so
//! the whole module is tested against fake trees on machines without any GPU.
//!
//! - [`enumerate`] lists the DRM render nodes with what sysfs says about their GPU.
//! - [`RenderTarget`] is what the user asked for (`auto`, `software`, `llvmpipe`, a path,
//!   `vendor:…`, `pci:…`); [`RenderTarget::resolve`] turns it into a [`RenderChoice`].
//! - [`container_devices`] lists the device files an application container needs for a GPU.

mod classify;
mod container;
mod error;
mod gpu;
mod names;
mod pci;
mod select;
mod sysfs;
mod target;

#[cfg(test)]
pub(crate) mod tests;

use std::path::PathBuf;

pub use container::container_devices;
pub use error::DeviceError;
pub use gpu::{GpuDevice, GpuKind, Vendor};
pub use select::{RenderChoice, RendererKind};
pub use sysfs::enumerate;
pub use target::RenderTarget;

/// Where the kernel's views of the machine are mounted. Tests point these at fake trees;
/// a container that mounts the host's sysfs elsewhere can too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRoots {
    pub sysfs: PathBuf,
    pub dev: PathBuf,
    pub proc: PathBuf,
    /// The PCI id database for GPU names; `None` looks where distributions install it
    /// (Debian's `pci.ids` package: `/usr/share/misc/pci.ids`).
    pub pci_ids: Option<PathBuf>,
}

impl Default for DeviceRoots {
    fn default() -> Self {
        Self {
            sysfs: PathBuf::from("/sys"),
            dev: PathBuf::from("/dev"),
            proc: PathBuf::from("/proc"),
            pci_ids: None,
        }
    }
}

impl DeviceRoots {
    /// `<root>/sys`, `<root>/dev`, `<root>/proc` and `<root>/pci.ids`: one fake machine
    /// in one directory.
    pub fn under(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            sysfs: root.join("sys"),
            dev: root.join("dev"),
            proc: root.join("proc"),
            pci_ids: Some(root.join("pci.ids")),
        }
    }

    /// The sysfs directory DRM nodes are listed in.
    pub fn drm_class_dir(&self) -> PathBuf {
        self.sysfs.join("class").join("drm")
    }

    /// The directory the DRM device files live in.
    pub fn dri_dir(&self) -> PathBuf {
        self.dev.join("dri")
    }
}
