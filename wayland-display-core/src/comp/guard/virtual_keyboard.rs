//! `zwp_virtual_keyboard_v1.keymap`: Smithay has xkbcommon map `size` bytes of the
//! client's fd and parse them. A size beyond the file, or a file the client truncates
//! while it is read, would fault the compositor on the mapping (SIGBUS), and a huge size
//! would have it parse gigabytes. The keymap is read here with `pread` (which stops at the
//! file's end instead of faulting) into a memfd of our own, and Smithay maps that one.

use std::io::Write;
use std::os::fd::OwnedFd;

use smithay::reexports::wayland_protocols_misc::zwp_virtual_keyboard_v1::server::zwp_virtual_keyboard_v1::{
    self, ZwpVirtualKeyboardV1,
};
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::wayland::virtual_keyboard::{VirtualKeyboardManagerState, VirtualKeyboardUserData};

use super::guarded;
use crate::comp::State;

/// The largest keymap a virtual keyboard may load: a full desktop keymap is about 64 KiB
/// as text.
pub(crate) const KEYMAP_LIMIT: u32 = 1 << 20;

fn check_keyboard(
    _state: &mut State,
    _client: &Client,
    keyboard: &ZwpVirtualKeyboardV1,
    request: zwp_virtual_keyboard_v1::Request,
    _data: &VirtualKeyboardUserData<State>,
) -> Option<zwp_virtual_keyboard_v1::Request> {
    match request {
        zwp_virtual_keyboard_v1::Request::Keymap { format, fd, size } => {
            match copy_keymap(&fd, size) {
                Ok(fd) => Some(zwp_virtual_keyboard_v1::Request::Keymap { format, fd, size }),
                Err(why) => {
                    // The protocol's one error; without a keymap the keyboard is unusable.
                    keyboard.post_error(
                        zwp_virtual_keyboard_v1::Error::NoKeymap,
                        format!("keymap of {size} bytes refused: {why}"),
                    );
                    None
                }
            }
        }
        request => Some(request),
    }
}

/// The first `size` bytes of `fd`, in a memfd only the compositor can change.
fn copy_keymap(fd: &OwnedFd, size: u32) -> Result<OwnedFd, String> {
    if size > KEYMAP_LIMIT {
        return Err(format!("over the limit of {KEYMAP_LIMIT}"));
    }
    let len = usize::try_from(size).map_err(|err| err.to_string())?;
    let mut text = vec![0u8; len];
    let mut read = 0usize;
    while let Some(rest) = text.get_mut(read..).filter(|rest| !rest.is_empty()) {
        let offset = u64::try_from(read).map_err(|err| err.to_string())?;
        match rustix::io::pread(fd, rest, offset) {
            Ok(0) => return Err(format!("the file ends after {read} bytes")),
            Ok(n) => read = read.saturating_add(n),
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(format!("unreadable: {err}")),
        }
    }
    let copy = rustix::fs::memfd_create("virtual-keymap", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|err| format!("no memfd: {err}"))?;
    let mut file = std::fs::File::from(copy);
    file.write_all(&text)
        .map_err(|err| format!("could not copy: {err}"))?;
    Ok(OwnedFd::from(file))
}

guarded!(
    ZwpVirtualKeyboardV1,
    VirtualKeyboardUserData<State> => VirtualKeyboardManagerState,
    check_keyboard
);

#[cfg(test)]
mod tests {
    use super::*;

    fn memfd_with(bytes: &[u8]) -> OwnedFd {
        let fd = rustix::fs::memfd_create("test", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes).unwrap();
        OwnedFd::from(file)
    }

    #[test]
    fn keymaps_are_copied_only_when_the_file_holds_them() {
        let fd = memfd_with(b"xkb_keymap { };\0");
        let copy = copy_keymap(&fd, 16).unwrap();
        let mut back = [0u8; 16];
        assert_eq!(rustix::io::pread(&copy, &mut back, 0).unwrap(), 16);
        assert_eq!(&back, b"xkb_keymap { };\0");
        assert!(copy_keymap(&fd, 17).unwrap_err().contains("ends after 16"));
        assert!(
            copy_keymap(&fd, KEYMAP_LIMIT + 1)
                .unwrap_err()
                .contains("limit")
        );
        let (pipe, _w) = rustix::pipe::pipe().unwrap();
        assert!(copy_keymap(&pipe, 4).unwrap_err().contains("unreadable"));
    }
}
