//! What is known about one GPU: the types [`enumerate`](super::enumerate) fills in.

use std::fmt;
use std::path::PathBuf;

/// One DRM render node and the GPU behind it. Every field sysfs may fail to provide is
/// optional, so a half-readable node is still listed rather than dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuDevice {
    /// `<dev>/dri/renderD128`: what a renderer opens.
    pub render_node: PathBuf,
    /// `<dev>/dri/card0`: the modesetting node of the same GPU, which containers also need.
    pub primary_node: Option<PathBuf>,
    pub vendor_id: Option<u16>,
    pub device_id: Option<u16>,
    pub vendor: Vendor,
    /// The kernel driver bound to the GPU, such as `nvidia`, `amdgpu` or `i915`.
    pub driver: Option<String>,
    /// Full form with domain, such as `0000:01:00.0`.
    pub pci_bus_id: Option<String>,
    /// The marketing name from the PCI id database, such as `NVIDIA GeForce RTX 3080`.
    pub name: Option<String>,
    /// The firmware used this GPU for the boot console.
    pub boot_vga: bool,
    pub kind: GpuKind,
}

/// GPU makers the selectors know by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vendor {
    Nvidia,
    Amd,
    Intel,
    /// Any other PCI vendor id.
    Other(u16),
    /// sysfs did not say.
    Unknown,
}

/// Whether the GPU has its own memory: decides what `auto` prefers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GpuKind {
    Discrete,
    Integrated,
    Unknown,
}

pub(super) const NVIDIA_ID: u16 = 0x10de;
pub(super) const AMD_ID: u16 = 0x1002;
pub(super) const INTEL_ID: u16 = 0x8086;

impl Vendor {
    pub fn from_pci_id(id: Option<u16>) -> Self {
        match id {
            Some(NVIDIA_ID) => Self::Nvidia,
            Some(AMD_ID) => Self::Amd,
            Some(INTEL_ID) => Self::Intel,
            Some(other) => Self::Other(other),
            None => Self::Unknown,
        }
    }

    /// The word used in `vendor:<keyword>`, for the vendors that have one.
    pub fn keyword(self) -> Option<&'static str> {
        match self {
            Self::Nvidia => Some("nvidia"),
            Self::Amd => Some("amd"),
            Self::Intel => Some("intel"),
            Self::Other(_) | Self::Unknown => None,
        }
    }

    pub(super) fn from_keyword(word: &str) -> Option<Self> {
        [Self::Nvidia, Self::Amd, Self::Intel]
            .into_iter()
            .find(|vendor| {
                vendor
                    .keyword()
                    .is_some_and(|k| k.eq_ignore_ascii_case(word))
            })
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nvidia => f.write_str("NVIDIA"),
            Self::Amd => f.write_str("AMD"),
            Self::Intel => f.write_str("Intel"),
            Self::Other(id) => write!(f, "vendor {id:#06x}"),
            Self::Unknown => f.write_str("unknown vendor"),
        }
    }
}

impl fmt::Display for GpuKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Discrete => "discrete",
            Self::Integrated => "integrated",
            Self::Unknown => "unknown kind",
        })
    }
}

impl GpuDevice {
    /// The name when the database knows it, else whatever ids sysfs gave.
    pub fn model(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match (self.vendor, self.device_id) {
            (Vendor::Unknown, _) => "unknown device".to_owned(),
            (vendor, Some(device)) => format!("{vendor} device {device:#06x}"),
            (vendor, None) => format!("{vendor} device"),
        }
    }
}

/// One line for logs, errors and device listings, such as
/// `/dev/dri/renderD128 (NVIDIA GeForce RTX 3080, nvidia, pci 0000:01:00.0, discrete)`.
impl fmt::Display for GpuDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.render_node.display(), self.model())?;
        if let Some(driver) = &self.driver {
            write!(f, ", {driver}")?;
        }
        if let Some(bus_id) = &self.pci_bus_id {
            write!(f, ", pci {bus_id}")?;
        }
        write!(f, ", {}", self.kind)?;
        if self.boot_vga {
            f.write_str(", boot GPU")?;
        }
        f.write_str(")")
    }
}
