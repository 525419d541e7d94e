//! `zwp_virtual_keyboard_v1.keymap`: Smithay has xkbcommon map `size` bytes of the
//! client's fd and parse them. A size beyond the file, or a file the client truncates
//! while it is read, would fault the compositor on the mapping (SIGBUS), a huge size
//! would have it parse gigabytes, and a size of 0 panics in xkbcommon-rs (`size - 1`). The keymap is read here with `pread` (which stops at the
//! file's end instead of faulting) into a memfd of our own, and Smithay maps that one.

use std::io::Write;
use std::os::fd::OwnedFd;

use smithay::input::keyboard::xkb;
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

/// The first `size` bytes of `fd`, a keymap that compiles, in a memfd only the compositor
/// can change.
fn copy_keymap(fd: &OwnedFd, size: u32) -> Result<OwnedFd, String> {
    if size == 0 {
        return Err("empty".to_owned());
    }
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
    compiles(&text)?;
    let copy = rustix::fs::memfd_create("virtual-keymap", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|err| format!("no memfd: {err}"))?;
    let mut file = std::fs::File::from(copy);
    file.write_all(&text)
        .map_err(|err| format!("could not copy: {err}"))?;
    Ok(OwnedFd::from(file))
}

/// Whether `text` compiles as Smithay will compile it: its first `len - 1` bytes (the last
/// is the protocol's terminating NUL), with no NUL among them.
fn compiles(text: &[u8]) -> Result<(), String> {
    let body = text.split_last().map_or(&[][..], |(_, body)| body);
    if body.contains(&0) {
        return Err("a NUL inside the keymap".to_owned());
    }
    let body = String::from_utf8(body.to_vec()).map_err(|_| "not UTF-8".to_owned())?;
    let mut context = xkb::Context::new(xkb::CONTEXT_NO_FLAGS);
    context.set_log_level(xkb::LogLevel::Critical);
    xkb::Keymap::new_from_string(
        &context,
        body,
        xkb::KEYMAP_FORMAT_TEXT_V1,
        xkb::KEYMAP_COMPILE_NO_FLAGS,
    )
    .map(|_| ())
    .ok_or_else(|| "does not compile".to_owned())
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

    /// The smallest keymap libxkbcommon compiles, as clients send it (NUL-terminated).
    const KEYMAP: &[u8] = b"xkb_keymap { xkb_keycodes { }; xkb_types { }; \
xkb_compatibility { }; xkb_symbols { }; };\0";

    #[test]
    fn keymaps_are_copied_only_when_the_file_holds_them_and_they_compile() {
        let fd = memfd_with(KEYMAP);
        let size = u32::try_from(KEYMAP.len()).unwrap();
        let copy = copy_keymap(&fd, size).unwrap();
        let mut back = vec![0u8; KEYMAP.len()];
        assert_eq!(
            rustix::io::pread(&copy, &mut back, 0).unwrap(),
            KEYMAP.len()
        );
        assert_eq!(back, KEYMAP);
        assert!(
            copy_keymap(&fd, size + 1)
                .unwrap_err()
                .contains("ends after")
        );
        assert_eq!(copy_keymap(&fd, size - 3).unwrap_err(), "does not compile");
        let garbage = memfd_with(b"not a keymap\0");
        assert_eq!(copy_keymap(&garbage, 13).unwrap_err(), "does not compile");
        let inner_nul = memfd_with(b"xkb\0keymap\0");
        assert!(copy_keymap(&inner_nul, 11).unwrap_err().contains("NUL"));
        assert!(
            copy_keymap(&fd, KEYMAP_LIMIT + 1)
                .unwrap_err()
                .contains("limit")
        );
        assert_eq!(copy_keymap(&fd, 0).unwrap_err(), "empty");
        let (pipe, _w) = rustix::pipe::pipe().unwrap();
        assert!(copy_keymap(&pipe, 4).unwrap_err().contains("unreadable"));
    }
}
