//! Why a `render-node` value cannot be used. Every message says what was asked and what the
//! machine has instead, so the user can fix the setting without reading docs.

use std::path::PathBuf;

use super::gpu::GpuDevice;

const ACCEPTED_FORMS: &str = "use \"auto\" (or an empty value), \"software\", \"llvmpipe\", \
     a device path such as /dev/dri/renderD128, \"vendor:nvidia\", \"vendor:amd\", \
     \"vendor:intel\", or \"pci:<bus id>\" such as pci:0000:01:00.0";

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown render-node value {value:?}: {ACCEPTED_FORMS}")]
    UnknownValue { value: String },
    #[error("render node {} does not exist; {}", .path.display(), describe_available(.available))]
    NodeMissing {
        path: PathBuf,
        available: Vec<GpuDevice>,
    },
    #[error(
        "{} is not a character device, so it cannot be a DRM render node; {}",
        .path.display(),
        describe_available(.available)
    )]
    NotADevice {
        path: PathBuf,
        available: Vec<GpuDevice>,
    },
    #[error(
        "cannot inspect render node {}: {source}; {}",
        .path.display(),
        describe_available(.available)
    )]
    NodeUnreadable {
        path: PathBuf,
        source: std::io::Error,
        available: Vec<GpuDevice>,
    },
    #[error("no GPU matches render-node={wanted}; {}", describe_available(.available))]
    NoMatch {
        wanted: String,
        available: Vec<GpuDevice>,
    },
}

fn describe_available(available: &[GpuDevice]) -> String {
    if available.is_empty() {
        return "this machine has no DRM render nodes, use render-node=software (or auto)"
            .to_owned();
    }
    let list: Vec<String> = available.iter().map(ToString::to_string).collect();
    format!(
        "render nodes present: {}; or use render-node=software",
        list.join("; ")
    )
}
