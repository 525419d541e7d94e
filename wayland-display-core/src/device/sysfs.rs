//! Enumerating DRM render nodes from sysfs.
//!
//! sysfs content is input like any other: files may be missing, empty, unreadable, not
//! UTF-8 or nonsense (containers, odd drivers, fake trees). Each fact is read on its own
//! and becomes `None` when unusable, so one bad file costs one field, never the node.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::DeviceRoots;
use super::classify::gpu_kind;
use super::gpu::{GpuDevice, Vendor};
use super::names::marketing_name;
use super::pci::normalize_bus_id;

/// sysfs attributes are a page at most; anything longer is not what we are looking for.
const MAX_ATTRIBUTE_BYTES: u64 = 4096;

/// The DRM render nodes sysfs lists under `<sysfs>/class/drm`, sorted by node number.
/// No sysfs, or no GPU, gives an empty list.
pub fn enumerate(roots: &DeviceRoots) -> Vec<GpuDevice> {
    let class_dir = roots.drm_class_dir();
    let entries = match fs::read_dir(&class_dir) {
        Ok(entries) => entries,
        Err(err) => {
            tracing::debug!(dir = %class_dir.display(), %err, "no DRM class directory");
            return Vec::new();
        }
    };
    let mut nodes: Vec<(u32, String)> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter_map(|name| render_minor(&name).map(|minor| (minor, name)))
        .collect();
    // Numeric order, so renderD1000 comes after renderD129 (and equal numbers, which only a
    // broken tree has, still sort deterministically).
    nodes.sort();
    nodes
        .into_iter()
        .map(|(_, name)| read_device(roots, &class_dir, &name))
        .collect()
}

/// 128 for `renderD128`; `None` for card nodes, connectors and anything else.
fn render_minor(name: &str) -> Option<u32> {
    node_number(name, "renderD")
}

/// 0 for `card0`; `None` for connectors such as `card0-DP-1`.
fn card_minor(name: &str) -> Option<u32> {
    node_number(name, "card")
}

/// N for `<prefix>N`, where N is all digits (so `card0-DP-1` is not a card node).
pub(super) fn node_number(name: &str, prefix: &str) -> Option<u32> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn read_device(roots: &DeviceRoots, class_dir: &Path, node_name: &str) -> GpuDevice {
    // A symlink to the PCI device in real sysfs; reads go through it, so a plain directory
    // in a fake tree behaves the same.
    let device_dir = class_dir.join(node_name).join("device");
    let vendor_id = read_hex_u16(&device_dir.join("vendor"));
    let device_id = read_hex_u16(&device_dir.join("device"));
    let vendor = Vendor::from_pci_id(vendor_id);
    let vram = match vendor {
        Vendor::Amd => read_u64(&device_dir.join("mem_info_vram_total")),
        _ => None,
    };
    GpuDevice {
        render_node: roots.dri_dir().join(node_name),
        primary_node: primary_node(&device_dir, roots),
        vendor_id,
        device_id,
        vendor,
        driver: link_target_name(&device_dir.join("driver")),
        pci_bus_id: pci_bus_id(&device_dir),
        name: vendor_id
            .zip(device_id)
            .and_then(|(v, d)| marketing_name(roots.pci_ids.as_deref(), v, d)),
        boot_vga: read_text(&device_dir.join("boot_vga")).as_deref() == Some("1"),
        kind: gpu_kind(vendor, device_id, vram),
    }
}

/// The attribute's text with surrounding whitespace removed; `None` if it cannot be read,
/// is too long, not UTF-8 or empty. A cut-off read is rejected rather than parsed, since
/// its prefix could look valid.
fn read_text(path: &Path) -> Option<String> {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(MAX_ATTRIBUTE_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > MAX_ATTRIBUTE_BYTES {
        return None;
    }
    let text = String::from_utf8(bytes).ok()?;
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// PCI ids are written as `0x10de`.
fn read_hex_u16(path: &Path) -> Option<u16> {
    let text = read_text(path)?;
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(&text);
    u16::from_str_radix(digits, 16).ok()
}

fn read_u64(path: &Path) -> Option<u64> {
    read_text(path)?.parse().ok()
}

/// The basename of a symlink's target, such as `nvidia` for the `driver` link.
fn link_target_name(link: &Path) -> Option<String> {
    let target = fs::read_link(link).ok()?;
    target.file_name()?.to_str().map(str::to_owned)
}

/// The device directory is named after the bus id in real sysfs; elsewhere (fake trees, a
/// copied sysfs) the `uevent` file still says it.
fn pci_bus_id(device_dir: &Path) -> Option<String> {
    let from_dir_name = fs::canonicalize(device_dir).ok().and_then(|dir| {
        dir.file_name()
            .and_then(|name| name.to_str())
            .and_then(normalize_bus_id)
    });
    from_dir_name.or_else(|| {
        read_text(&device_dir.join("uevent"))?
            .lines()
            .find_map(|line| line.trim().strip_prefix("PCI_SLOT_NAME="))
            .and_then(normalize_bus_id)
    })
}

/// `<dev>/dri/cardN` for the lowest-numbered `cardN` the GPU has in `<device>/drm/`.
fn primary_node(device_dir: &Path, roots: &DeviceRoots) -> Option<PathBuf> {
    let entries = fs::read_dir(device_dir.join("drm")).ok()?;
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter_map(|name| card_minor(&name).map(|minor| (minor, name)))
        .min()
        .map(|(_, name)| roots.dri_dir().join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_recognised_strictly() {
        assert_eq!(render_minor("renderD128"), Some(128));
        assert_eq!(render_minor("renderD"), None);
        assert_eq!(render_minor("renderD12x"), None);
        assert_eq!(render_minor("renderD+1"), None);
        assert_eq!(render_minor("card0"), None);
        assert_eq!(card_minor("card1"), Some(1));
        assert_eq!(card_minor("card0-DP-1"), None);
        assert_eq!(card_minor("card"), None);
    }
}
