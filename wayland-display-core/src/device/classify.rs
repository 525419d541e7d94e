//! Discrete or integrated: the heuristics `auto` ranks GPUs by.
//!
//! sysfs has no flag for this, so the rules go by vendor:
//! - NVIDIA: discrete. Its integrated parts (Tegra) are not PCI devices and have no vendor id.
//! - Intel: integrated, except the device id ranges of its discrete families: DG1/SG1
//!   (0x4905–0x4909), Alchemist/Arc A and Flex (0x5690–0x56ff), Ponte Vecchio
//!   (0x0bd0–0x0bdb) and Battlemage/Arc B (0xe200–0xe2ff).
//! - AMD: APUs get a small VRAM carve-out, dedicated cards have gigabytes, so VRAM below
//!   2 GiB means integrated. An APU configured with a large carve-out counts as discrete,
//!   which ranks it correctly anyway. Unreadable VRAM size: unknown.
//! - Anything else: unknown.

use std::ops::RangeInclusive;

use super::gpu::{GpuKind, Vendor};

const INTEL_DISCRETE_IDS: [RangeInclusive<u16>; 4] = [
    0x4905..=0x4909,
    0x5690..=0x56ff,
    0x0bd0..=0x0bdb,
    0xe200..=0xe2ff,
];

const APU_VRAM_LIMIT: u64 = 2 << 30;

/// `vram_bytes` is only consulted for AMD, where it is `mem_info_vram_total`.
pub(super) fn gpu_kind(vendor: Vendor, device_id: Option<u16>, vram_bytes: Option<u64>) -> GpuKind {
    match vendor {
        Vendor::Nvidia => GpuKind::Discrete,
        Vendor::Intel => intel_kind(device_id),
        Vendor::Amd => amd_kind(vram_bytes),
        Vendor::Other(_) | Vendor::Unknown => GpuKind::Unknown,
    }
}

fn intel_kind(device_id: Option<u16>) -> GpuKind {
    match device_id {
        Some(id) if INTEL_DISCRETE_IDS.iter().any(|range| range.contains(&id)) => GpuKind::Discrete,
        Some(_) => GpuKind::Integrated,
        None => GpuKind::Unknown,
    }
}

fn amd_kind(vram_bytes: Option<u64>) -> GpuKind {
    match vram_bytes {
        Some(bytes) if bytes < APU_VRAM_LIMIT => GpuKind::Integrated,
        Some(_) => GpuKind::Discrete,
        None => GpuKind::Unknown,
    }
}

/// Lower is better for `auto`.
pub(super) fn preference_rank(kind: GpuKind) -> u8 {
    match kind {
        GpuKind::Discrete => 0,
        GpuKind::Unknown => 1,
        GpuKind::Integrated => 2,
    }
}
