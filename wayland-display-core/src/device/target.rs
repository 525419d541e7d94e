//! The `render-node` vocabulary: what a user may ask to render on.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::error::DeviceError;
use super::gpu::Vendor;
use super::pci::normalize_bus_id;

/// What the user asked to render on.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum RenderTarget {
    /// The best GPU present (discrete over integrated); software when there is none.
    #[default]
    Auto,
    /// Pixman on the CPU.
    Software,
    /// GLES on Mesa's software EGL device (llvmpipe): the GPU code path without a GPU.
    SoftwareGl,
    /// A DRM node such as `/dev/dri/renderD128`.
    Node(PathBuf),
    /// The best GPU of this maker.
    Vendor(Vendor),
    /// The GPU at this PCI bus id, in the full `0000:01:00.0` form.
    Pci(String),
}

impl FromStr for RenderTarget {
    type Err = DeviceError;

    /// Keywords are case-insensitive and surrounding whitespace is ignored; paths are kept
    /// as written (less the whitespace).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let trimmed = value.trim();
        let unknown = || DeviceError::UnknownValue {
            value: value.to_owned(),
        };
        if trimmed.starts_with('/') {
            return Ok(Self::Node(PathBuf::from(trimmed)));
        }
        let lower = trimmed.to_ascii_lowercase();
        match lower.as_str() {
            "" | "auto" => Ok(Self::Auto),
            "software" => Ok(Self::Software),
            "llvmpipe" => Ok(Self::SoftwareGl),
            _ => {
                if let Some(vendor) = lower.strip_prefix("vendor:") {
                    parse_vendor(vendor.trim())
                        .map(Self::Vendor)
                        .ok_or_else(unknown)
                } else if let Some(bus_id) = lower.strip_prefix("pci:") {
                    normalize_bus_id(bus_id.trim())
                        .map(Self::Pci)
                        .ok_or_else(unknown)
                } else {
                    Err(unknown())
                }
            }
        }
    }
}

/// A maker's keyword, or a raw PCI vendor id such as `0x1af4` for makers without one.
fn parse_vendor(text: &str) -> Option<Vendor> {
    if let Some(vendor) = Vendor::from_keyword(text) {
        return Some(vendor);
    }
    let digits = text.strip_prefix("0x")?;
    // Hex digits only: `from_str_radix` would also take a sign (`0x+1af4`).
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let id = u16::from_str_radix(digits, 16).ok()?;
    Some(Vendor::from_pci_id(Some(id)))
}

/// The canonical spelling, which parses back to the same target (except
/// `Vendor(Vendor::Unknown)`, which only code can build and no string names).
impl fmt::Display for RenderTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Software => f.write_str("software"),
            Self::SoftwareGl => f.write_str("llvmpipe"),
            Self::Node(path) => write!(f, "{}", path.display()),
            Self::Vendor(vendor) => match (vendor.keyword(), vendor) {
                (Some(keyword), _) => write!(f, "vendor:{keyword}"),
                (None, Vendor::Other(id)) => write!(f, "vendor:{id:#06x}"),
                (None, _) => f.write_str("vendor:unknown"),
            },
            Self::Pci(bus_id) => write!(f, "pci:{bus_id}"),
        }
    }
}
