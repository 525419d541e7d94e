//! Who holds the clipboard, and reading or setting it for the lobby's owner
//! (`WaylandDisplay::clipboard` / `set_clipboard`). A Wayland client's selection is read
//! through Smithay, an X11 client's through the window manager, and one the owner set is
//! held by the compositor itself and written to whoever pastes it.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use smithay::wayland::selection::SelectionTarget;
use smithay::wayland::selection::data_device::{
    request_data_device_client_selection, set_data_device_selection,
};

use crate::clipboard::{self, ClipboardContent, ClipboardError};
use crate::comp::State;

/// The clipboard's owner and the types it offers.
#[derive(Clone, Debug, Default)]
pub(crate) enum Clipboard {
    #[default]
    Empty,
    /// A Wayland client's selection.
    Client(Vec<String>),
    /// An X11 client's, which the compositor holds for Wayland clients.
    X11(Vec<String>),
    /// What the lobby's owner set, held by the compositor.
    Owner(Arc<ClipboardContent>),
}

impl Clipboard {
    /// The types Wayland clients see offered, if a Wayland client or the owner holds it
    /// (what a late Xwayland is told about).
    pub(crate) fn wayland_types(&self) -> Option<Vec<String>> {
        match self {
            Self::Client(types) => Some(types.clone()),
            Self::Owner(content) => Some(content.offered_types()),
            Self::Empty | Self::X11(_) => None,
        }
    }
}

/// What reading the clipboard gives the caller: the content at once, or a pipe the
/// holding client writes into, to be read off the compositor thread.
pub(crate) enum ClipboardRead {
    Ready(Arc<ClipboardContent>),
    Pipe { mime_type: String, fd: OwnedFd },
}

impl State {
    /// Starts reading the clipboard as one of `wanted` (text, then PNG, when empty).
    pub(crate) fn read_clipboard(
        &mut self,
        wanted: &[String],
    ) -> Result<ClipboardRead, ClipboardError> {
        match self.clipboard.clone() {
            Clipboard::Empty => Err(ClipboardError::Empty),
            Clipboard::Owner(content) => {
                clipboard::pick_type(&content.offered_types(), wanted)?;
                Ok(ClipboardRead::Ready(content))
            }
            Clipboard::Client(types) => {
                let mime_type = clipboard::pick_type(&types, wanted)?;
                let (read, write) = clipboard::pipe()?;
                request_data_device_client_selection(&self.seat, mime_type.clone(), write)
                    .map_err(|err| ClipboardError::Io(err.to_string()))?;
                Ok(ClipboardRead::Pipe {
                    mime_type,
                    fd: read,
                })
            }
            Clipboard::X11(types) => {
                let mime_type = clipboard::pick_type(&types, wanted)?;
                let (read, write) = clipboard::pipe()?;
                self.read_x11_selection(mime_type.clone(), write)?;
                Ok(ClipboardRead::Pipe {
                    mime_type,
                    fd: read,
                })
            }
        }
    }

    fn read_x11_selection(&mut self, mime_type: String, fd: OwnedFd) -> Result<(), ClipboardError> {
        let handle = self
            .loop_handle
            .clone()
            .ok_or_else(|| ClipboardError::Io("the X11 selection cannot be read now".to_owned()))?;
        let wm = self
            .x11
            .as_mut()
            .and_then(|x11| x11.wm.as_mut())
            .ok_or_else(|| ClipboardError::Io("Xwayland is gone".to_owned()))?;
        wm.send_selection(SelectionTarget::Clipboard, mime_type, fd, handle)
            .map_err(|err| ClipboardError::Io(err.to_string()))
    }

    /// Makes `content` the clipboard, held by the compositor, for Wayland and X11 clients.
    pub(crate) fn set_clipboard(&mut self, content: ClipboardContent) {
        let content = Arc::new(content);
        let types = content.offered_types();
        set_data_device_selection(&self.dh, &self.seat, types.clone(), ());
        if let Some(wm) = self.x11.as_mut().and_then(|x11| x11.wm.as_mut())
            && let Err(err) = wm.new_selection(SelectionTarget::Clipboard, Some(types))
        {
            tracing::debug!(%err, "could not offer the clipboard to X11");
        }
        self.clipboard = Clipboard::Owner(content);
    }

    /// A client pastes what the compositor holds: the owner's content, or an X11 client's.
    pub(crate) fn paste_held_clipboard(&mut self, mime_type: String, fd: OwnedFd) {
        match self.clipboard.clone() {
            Clipboard::Owner(content) => {
                if content.offered_types().contains(&mime_type) {
                    clipboard::write_pipe(fd, content);
                }
            }
            Clipboard::X11(_) => {
                if let Err(err) = self.read_x11_selection(mime_type, fd) {
                    tracing::debug!(%err, "could not read the X11 selection");
                }
            }
            Clipboard::Client(_) | Clipboard::Empty => {}
        }
    }
}
