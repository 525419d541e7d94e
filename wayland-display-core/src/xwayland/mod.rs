//! The built-in Xwayland: an X display allocated beside the Wayland socket, and the
//! `Xwayland` process serving it, started with the compositor or when the first X11
//! client connects.
//!
//! - [`display`]: the display number, `/tmp/.X{N}-lock` and the listening sockets, by the
//!   X servers' own rule: a lock naming a live process is never touched, one naming a dead
//!   process is reclaimed;
//! - [`process`]: the `Xwayland` process, its sockets and its readiness, owned so that it
//!   is killed and reaped however the compositor ends.

pub(crate) mod display;
pub(crate) mod process;

use std::fmt;
use std::str::FromStr;

pub use display::{X11_LOCK_DIR, X11_SOCKET_DIR};

/// When the built-in Xwayland runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XwaylandMode {
    /// An X display is allocated with the compositor; `Xwayland` starts when the first X11
    /// client connects to it. Costs nothing for Wayland-only apps.
    #[default]
    OnDemand,
    /// `Xwayland` starts with the compositor: a missing binary fails the start.
    On,
    /// No X display.
    Off,
}

impl FromStr for XwaylandMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on-demand" | "" => Ok(Self::OnDemand),
            "on" => Ok(Self::On),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "xwayland {other:?}: expected \"on-demand\", \"on\" or \"off\""
            )),
        }
    }
}

impl fmt::Display for XwaylandMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OnDemand => "on-demand",
            Self::On => "on",
            Self::Off => "off",
        })
    }
}

/// Why X11 is not available.
#[derive(Debug, thiserror::Error)]
pub enum XwaylandError {
    #[error(
        "Xwayland was asked for but no executable \"Xwayland\" is on PATH \
         (Debian: apt-get install xwayland)"
    )]
    NotInstalled,
    #[error("no free X display between :{first} and :{last} in {dir}")]
    NoFreeDisplay { first: u32, last: u32, dir: String },
    #[error("could not set up X display :{display}: {err}")]
    Display { display: u32, err: std::io::Error },
    #[error("could not start Xwayland: {0}")]
    Spawn(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print_the_same_words() {
        for mode in [XwaylandMode::OnDemand, XwaylandMode::On, XwaylandMode::Off] {
            assert_eq!(mode.to_string().parse::<XwaylandMode>(), Ok(mode));
        }
        assert_eq!(" ON ".parse::<XwaylandMode>(), Ok(XwaylandMode::On));
        assert!("yes".parse::<XwaylandMode>().is_err());
    }
}
