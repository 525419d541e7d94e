//! Turning a [`RenderTarget`] into the renderer and device that will be used.
//!
//! Rules:
//! - `auto`: among GPUs whose render node exists under `<dev>/dri`, the best by kind
//!   (discrete, then unknown, then integrated); ties go to the boot GPU, then to node order.
//!   None: software. sysfs often lists GPUs whose nodes were not passed into a container,
//!   so presence in `/dev` is checked rather than assumed.
//! - `software`, `llvmpipe`: as asked, no device.
//! - a path: it must exist. If it is an enumerated render node (or the primary node of an
//!   enumerated GPU, which renders on that GPU's render node), that GPU is used. A path
//!   sysfs does not list is accepted only if it is a character device, and renders with the
//!   GPU unknown. Enumerated nodes are not checked for being character devices: sysfs
//!   already vouches for them, and test trees use plain files.
//! - `vendor:…`, `pci:…`: the matching GPU (for a vendor, the best by the `auto` order,
//!   preferring ones whose node exists); its render node must exist.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use super::DeviceRoots;
use super::classify::preference_rank;
use super::error::DeviceError;
use super::gpu::{GpuDevice, GpuKind};
use super::pci::normalize_bus_id;
use super::sysfs::enumerate;
use super::target::RenderTarget;

/// The renderer actually used, and why it was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderChoice {
    pub renderer: RendererKind,
    /// The render node in use; `None` when rendering without a GPU.
    pub node: Option<PathBuf>,
    /// What sysfs says about the GPU in use; `None` for software or a node sysfs lacks.
    pub device: Option<GpuDevice>,
    /// One sentence for logs and the bus: what was picked and why.
    pub reason: String,
    /// Set when the choice is not what was asked for.
    pub fallback: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RendererKind {
    /// Pixman on the CPU, frames in system memory.
    Software,
    /// GLES on Mesa's software EGL device (llvmpipe).
    SoftwareGl,
    /// GLES on the render node in [`RenderChoice::node`].
    Gpu,
}

impl fmt::Display for RendererKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Software => "software",
            Self::SoftwareGl => "llvmpipe",
            Self::Gpu => "gpu",
        })
    }
}

impl RenderTarget {
    /// Decides what renders, looking at this machine's `/sys` and `/dev`.
    pub fn resolve(&self) -> Result<RenderChoice, DeviceError> {
        self.resolve_in(&DeviceRoots::default())
    }

    /// [`resolve`](Self::resolve) against other roots, such as a fake tree.
    pub fn resolve_in(&self, roots: &DeviceRoots) -> Result<RenderChoice, DeviceError> {
        match self {
            Self::Software => Ok(software(
                RendererKind::Software,
                "software rendering (Pixman) was requested",
            )),
            Self::SoftwareGl => Ok(software(
                RendererKind::SoftwareGl,
                "llvmpipe was requested: GLES on Mesa's software EGL device",
            )),
            Self::Auto => Ok(resolve_auto(roots)),
            Self::Node(path) => resolve_node(path, roots),
            Self::Vendor(vendor) => {
                let devices = enumerate(roots);
                let matching = devices.iter().filter(|d| d.vendor == *vendor);
                pick_matching(self, matching.collect(), &devices)
            }
            Self::Pci(bus_id) => {
                let devices = enumerate(roots);
                // A target built in code rather than parsed may hold the short form.
                let wanted = normalize_bus_id(bus_id).unwrap_or_else(|| bus_id.clone());
                let matching = devices
                    .iter()
                    .filter(|d| d.pci_bus_id.as_deref() == Some(wanted.as_str()));
                pick_matching(self, matching.collect(), &devices)
            }
        }
    }
}

fn software(renderer: RendererKind, reason: &str) -> RenderChoice {
    RenderChoice {
        renderer,
        node: None,
        device: None,
        reason: reason.to_owned(),
        fallback: false,
    }
}

fn gpu(device: &GpuDevice, reason: String) -> RenderChoice {
    RenderChoice {
        renderer: RendererKind::Gpu,
        node: Some(device.render_node.clone()),
        device: Some(device.clone()),
        reason,
        fallback: false,
    }
}

fn resolve_auto(roots: &DeviceRoots) -> RenderChoice {
    let devices = enumerate(roots);
    let (present, absent): (Vec<&GpuDevice>, Vec<&GpuDevice>) =
        devices.iter().partition(|d| exists(&d.render_node));
    let absent_note = if absent.is_empty() {
        String::new()
    } else {
        format!(
            "; sysfs also lists {}, whose render node does not exist under {} (not passed \
             into this container?)",
            list(absent.iter().copied()),
            roots.dri_dir().display()
        )
    };
    if let Some(picked) = best(&present) {
        return gpu(
            picked,
            format!("{}{absent_note}", auto_reason(picked, &present)),
        );
    }
    let why = if devices.is_empty() {
        format!(
            "auto: no DRM render nodes found under {}",
            roots.drm_class_dir().display()
        )
    } else {
        format!("auto: no usable GPU{absent_note}")
    };
    software(
        RendererKind::Software,
        &format!("{why}, rendering in software"),
    )
}

/// The `auto` order: kind first, then the boot GPU, then the earliest node.
fn best<'a>(candidates: &[&'a GpuDevice]) -> Option<&'a GpuDevice> {
    candidates
        .iter()
        .copied()
        .min_by_key(|d| (preference_rank(d.kind), !d.boot_vga))
}

fn auto_reason(picked: &GpuDevice, present: &[&GpuDevice]) -> String {
    let others: Vec<&GpuDevice> = present
        .iter()
        .copied()
        .filter(|d| d.render_node != picked.render_node)
        .collect();
    if others.is_empty() {
        return format!("auto: picked the only usable GPU, {picked}");
    }
    let tie = others.iter().any(|d| d.kind == picked.kind);
    let why = match (tie, picked.boot_vga) {
        (false, _) => "",
        (true, true) => ", the boot GPU,",
        (true, false) => ", the first in node order,",
    };
    let over: Vec<String> = others
        .iter()
        .map(|d| format!("the {} {d}", kind_noun(d.kind)))
        .collect();
    format!(
        "auto: picked the {} GPU {picked}{why} over {}",
        kind_noun(picked.kind),
        over.join(" and ")
    )
}

fn kind_noun(kind: GpuKind) -> &'static str {
    match kind {
        GpuKind::Discrete => "discrete",
        GpuKind::Integrated => "integrated",
        GpuKind::Unknown => "unclassified",
    }
}

fn list<'a>(devices: impl Iterator<Item = &'a GpuDevice>) -> String {
    let items: Vec<String> = devices.map(ToString::to_string).collect();
    items.join("; ")
}

/// For `vendor:` and `pci:`: the best match whose node exists, else an error naming the
/// missing node of the best match, else an error listing what exists.
fn pick_matching(
    target: &RenderTarget,
    matching: Vec<&GpuDevice>,
    devices: &[GpuDevice],
) -> Result<RenderChoice, DeviceError> {
    let present: Vec<&GpuDevice> = matching
        .iter()
        .copied()
        .filter(|d| exists(&d.render_node))
        .collect();
    if let Some(picked) = best(&present) {
        return Ok(gpu(picked, format!("{target}: picked {picked}")));
    }
    match best(&matching) {
        Some(absent) => Err(DeviceError::NodeMissing {
            path: absent.render_node.clone(),
            available: devices.to_vec(),
        }),
        None => Err(DeviceError::NoMatch {
            wanted: target.to_string(),
            available: devices.to_vec(),
        }),
    }
}

fn resolve_node(path: &Path, roots: &DeviceRoots) -> Result<RenderChoice, DeviceError> {
    let devices = enumerate(roots);
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if is_missing(&err) => {
            return Err(DeviceError::NodeMissing {
                path: path.to_owned(),
                available: devices,
            });
        }
        Err(source) => {
            return Err(DeviceError::NodeUnreadable {
                path: path.to_owned(),
                source,
                available: devices,
            });
        }
    };
    if let Some(device) = devices.iter().find(|d| same_file(path, &d.render_node)) {
        return Ok(gpu(
            device,
            format!("{} was requested: {device}", path.display()),
        ));
    }
    let by_primary = devices.iter().find(|d| {
        d.primary_node
            .as_deref()
            .is_some_and(|p| same_file(path, p))
    });
    if let Some(device) = by_primary {
        let reason = format!(
            "{} was requested, which is the primary node of {device}; rendering on its \
             render node",
            path.display()
        );
        return Ok(gpu(device, reason));
    }
    if !metadata.file_type().is_char_device() {
        return Err(DeviceError::NotADevice {
            path: path.to_owned(),
            available: devices,
        });
    }
    Ok(RenderChoice {
        renderer: RendererKind::Gpu,
        node: Some(path.to_owned()),
        device: None,
        reason: format!(
            "{} was requested; sysfs does not list it under {}, so its GPU is unknown",
            path.display(),
            roots.drm_class_dir().display()
        ),
        fallback: false,
    })
}

/// A path component that is a file (ENOTDIR) means the node is just as absent.
fn is_missing(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn exists(path: &Path) -> bool {
    fs::metadata(path).is_ok()
}

/// Symlinks such as `/dev/dri/by-path/…-render` name the same node as their target.
fn same_file(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    a == b || canonical(a) == canonical(b)
}
