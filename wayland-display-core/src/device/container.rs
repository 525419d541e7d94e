//! The device files an application container needs to render on a GPU.

use std::fs;
use std::path::{Path, PathBuf};

use super::DeviceRoots;
use super::gpu::{GpuDevice, Vendor};
use super::select::RenderChoice;
use super::sysfs::node_number;

/// Shared by every NVIDIA GPU; the proprietary driver's userspace opens them next to the
/// card's own `nvidiaN`.
const NVIDIA_CONTROL_NODES: [&str; 4] = [
    "nvidiactl",
    "nvidia-modeset",
    "nvidia-uvm",
    "nvidia-uvm-tools",
];

/// The render node, the primary node and, for NVIDIA, the `/dev/nvidia*` nodes this GPU
/// needs, in that order. Only paths that exist under `roots.dev` are listed, so the result
/// can be passed to a container runtime as is.
pub fn container_devices(device: &GpuDevice, roots: &DeviceRoots) -> Vec<PathBuf> {
    let mut paths = vec![device.render_node.clone()];
    paths.extend(device.primary_node.clone());
    if device.vendor == Vendor::Nvidia {
        paths.extend(nvidia_card_nodes(device, roots));
        paths.extend(NVIDIA_CONTROL_NODES.iter().map(|name| roots.dev.join(name)));
    }
    paths.retain(|path| path.exists());
    paths
}

impl RenderChoice {
    /// [`container_devices`] for the GPU in use; just the node when sysfs did not list it,
    /// nothing when rendering in software.
    pub fn container_devices(&self, roots: &DeviceRoots) -> Vec<PathBuf> {
        match (&self.device, &self.node) {
            (Some(device), _) => container_devices(device, roots),
            (None, Some(node)) if node.exists() => vec![node.clone()],
            (None, _) => Vec::new(),
        }
    }
}

/// The card's own `nvidiaN`. The driver reports N per bus id in `/proc`; when that cannot
/// be read, every card node is listed, since granting a sibling GPU is better than a
/// container that cannot start.
fn nvidia_card_nodes(device: &GpuDevice, roots: &DeviceRoots) -> Vec<PathBuf> {
    let minor = device
        .pci_bus_id
        .as_deref()
        .and_then(|bus_id| nvidia_device_minor(&roots.proc, bus_id));
    match minor {
        Some(minor) => vec![roots.dev.join(format!("nvidia{minor}"))],
        None => all_nvidia_card_nodes(&roots.dev),
    }
}

/// `Device Minor: N` from `<proc>/driver/nvidia/gpus/<bus id>/information`.
fn nvidia_device_minor(proc_root: &Path, bus_id: &str) -> Option<u32> {
    let info_path = proc_root
        .join("driver/nvidia/gpus")
        .join(bus_id)
        .join("information");
    let info = fs::read_to_string(info_path).ok()?;
    info.lines()
        .find_map(|line| line.trim().strip_prefix("Device Minor:"))
        .and_then(|value| value.trim().parse().ok())
}

/// Every `nvidia<digits>` in `dev`, in numeric order.
fn all_nvidia_card_nodes(dev: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dev) else {
        return Vec::new();
    };
    let mut numbered: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            Some((node_number(&name, "nvidia")?, entry.path()))
        })
        .collect();
    numbered.sort();
    numbered.into_iter().map(|(_, path)| path).collect()
}
