//! Which device renders: the `render-node` vocabulary and its resolution.
//!
//! Only software rendering (Pixman) exists so far; GPU nodes are recognised, checked and
//! reported, and rendering falls back to software with the reason stated.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// What the user asked to render on.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum RenderTarget {
    /// The best device present; software when there is none.
    #[default]
    Auto,
    Software,
    /// A DRM node such as `/dev/dri/renderD128`.
    Node(PathBuf),
}

impl FromStr for RenderTarget {
    type Err = DeviceError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("auto") {
            Ok(Self::Auto)
        } else if trimmed.eq_ignore_ascii_case("software") {
            Ok(Self::Software)
        } else if trimmed.starts_with('/') {
            Ok(Self::Node(PathBuf::from(trimmed)))
        } else {
            Err(DeviceError::UnknownValue {
                value: value.to_owned(),
            })
        }
    }
}

impl fmt::Display for RenderTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Software => f.write_str("software"),
            Self::Node(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The renderer actually used, and why it was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderChoice {
    pub renderer: RendererKind,
    /// The node asked for, if any.
    pub node: Option<PathBuf>,
    pub reason: String,
    /// Set when the choice is not what was asked for.
    pub fallback: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RendererKind {
    /// Pixman on the CPU, frames in system memory.
    Software,
}

impl fmt::Display for RendererKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Software => f.write_str("software"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "unknown render-node value {value:?}: use \"auto\", \"software\" or a device path such \
         as /dev/dri/renderD128"
    )]
    UnknownValue { value: String },
    #[error("render node {path} does not exist; {}", describe_available(.available))]
    NodeMissing {
        path: PathBuf,
        available: Vec<PathBuf>,
    },
    #[error("{path} is not a character device, so it cannot be a DRM render node; {}", describe_available(.available))]
    NotADevice {
        path: PathBuf,
        available: Vec<PathBuf>,
    },
}

fn describe_available(available: &[PathBuf]) -> String {
    if available.is_empty() {
        "this machine has no DRM render nodes, use render-node=software (or auto)".to_owned()
    } else {
        let list: Vec<_> = available.iter().map(|p| p.display().to_string()).collect();
        format!(
            "render nodes present: {}; or use render-node=software",
            list.join(", ")
        )
    }
}

/// DRM render nodes (`renderD*`) in `dev_dri`, sorted.
pub fn render_nodes(dev_dri: &Path) -> Vec<PathBuf> {
    let mut nodes: Vec<PathBuf> = std::fs::read_dir(dev_dri)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.starts_with("renderD"))
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    nodes.sort();
    nodes
}

impl RenderTarget {
    /// Decides what renders, checking that an explicit node exists.
    pub fn resolve(&self) -> Result<RenderChoice, DeviceError> {
        self.resolve_in(Path::new("/dev/dri"))
    }

    pub fn resolve_in(&self, dev_dri: &Path) -> Result<RenderChoice, DeviceError> {
        match self {
            Self::Software => Ok(RenderChoice {
                renderer: RendererKind::Software,
                node: None,
                reason: "software rendering was requested".to_owned(),
                fallback: false,
            }),
            Self::Auto => Ok(RenderChoice {
                renderer: RendererKind::Software,
                node: None,
                reason: "auto: GPU rendering is not available in this build, rendering in software"
                    .to_owned(),
                fallback: false,
            }),
            Self::Node(path) => {
                use std::os::unix::fs::FileTypeExt;
                match std::fs::metadata(path) {
                    Ok(m) if m.file_type().is_char_device() => Ok(RenderChoice {
                        renderer: RendererKind::Software,
                        node: Some(path.clone()),
                        reason: format!(
                            "{} exists but GPU rendering is not available in this build; \
                             rendering in software",
                            path.display()
                        ),
                        fallback: true,
                    }),
                    Ok(_) => Err(DeviceError::NotADevice {
                        path: path.clone(),
                        available: render_nodes(dev_dri),
                    }),
                    Err(_) => Err(DeviceError::NodeMissing {
                        path: path.clone(),
                        available: render_nodes(dev_dri),
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keywords_case_insensitively() {
        assert_eq!("".parse::<RenderTarget>().unwrap(), RenderTarget::Auto);
        assert_eq!("AUTO".parse::<RenderTarget>().unwrap(), RenderTarget::Auto);
        assert_eq!(
            "Software".parse::<RenderTarget>().unwrap(),
            RenderTarget::Software
        );
        assert_eq!(
            "/dev/dri/renderD128".parse::<RenderTarget>().unwrap(),
            RenderTarget::Node("/dev/dri/renderD128".into())
        );
        assert!(matches!(
            "gpu0".parse::<RenderTarget>(),
            Err(DeviceError::UnknownValue { .. })
        ));
    }

    #[test]
    fn missing_node_names_path_and_alternatives() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::File::create(dir.path().join("renderD129")).unwrap();
        let err = RenderTarget::Node("/dev/dri/does-not-exist".into())
            .resolve_in(dir.path())
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/dev/dri/does-not-exist"), "{text}");
        assert!(text.contains("renderD129"), "{text}");

        let err = RenderTarget::Node("/dev/dri/does-not-exist".into())
            .resolve_in(&dir.path().join("empty"))
            .unwrap_err();
        assert!(err.to_string().contains("render-node=software"), "{err}");
    }

    #[test]
    fn regular_file_is_not_a_node() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("renderD128");
        std::fs::File::create(&file).unwrap();
        let err = RenderTarget::Node(file).resolve_in(dir.path()).unwrap_err();
        assert!(matches!(err, DeviceError::NotADevice { .. }));
    }

    #[test]
    fn auto_and_software_render_in_software() {
        for target in [RenderTarget::Auto, RenderTarget::Software] {
            let choice = target.resolve().unwrap();
            assert_eq!(choice.renderer, RendererKind::Software);
            assert!(!choice.fallback);
        }
    }
}
