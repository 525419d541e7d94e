//! `KeyboardText`: Unicode text for the focused client, as a streaming client or an agent
//! sends it. A client with an enabled text input (text-input-v3) gets it committed as
//! text, as from an input method: the compositor is that input method while no
//! input-method client is bound. Any other client gets key presses on a keymap made for
//! the text, sent just before them and replaced by the seat's own right after (as
//! virtual-keyboard tools such as wtype do), so every character arrives whatever the
//! client's layout.

use smithay::backend::input::KeyState;
use smithay::input::keyboard::{Keycode, XkbConfig, xkb};
use smithay::wayland::text_input::TextInputSeat;

use crate::comp::State;

/// xkb keycodes a keymap for text uses: 8 is the lowest xkb allows, and X11 clients (through
/// Xwayland) cannot see codes above 255. Code 8 is left out, as X servers do.
const FIRST_CODE: u32 = 9;
const LAST_CODE: u32 = 255;

impl State {
    pub(crate) fn keyboard_text(&mut self, text: &str) {
        if text.is_empty() || self.commit_to_text_input(text) {
            return;
        }
        self.type_text(text);
    }

    /// Commits `text` to the focused client's enabled text input; false if it has none.
    fn commit_to_text_input(&mut self, text: &str) -> bool {
        let text_input = self.seat.text_input().clone();
        let mut committed = false;
        text_input.with_active_text_input(|input, _| {
            input.commit_string(Some(text.to_owned()));
            committed = true;
        });
        if committed {
            text_input.done(false);
            tracing::debug!(bytes = text.len(), "text committed to the text input");
        }
        committed
    }

    /// Types `text` as key presses, a keymap per up to 247 distinct characters.
    fn type_text(&mut self, text: &str) {
        let Some(keyboard) = self.seat.get_keyboard() else {
            return;
        };
        if keyboard.current_focus().is_none() {
            tracing::debug!("text dropped: no client has the keyboard");
            return;
        }
        for chunk in chunks(text) {
            if let Err(err) = keyboard.set_keymap_from_string(self, chunk.keymap()) {
                tracing::warn!(?err, "text dropped: its keymap did not compile");
                break;
            }
            for &code in &chunk.codes {
                self.keyboard_key(Keycode::new(code), KeyState::Pressed);
                self.keyboard_key(Keycode::new(code), KeyState::Released);
            }
        }
        if let Err(err) = keyboard.set_xkb_config(self, XkbConfig::default()) {
            tracing::warn!(?err, "the seat's keymap could not be restored");
        }
    }
}

/// A run of text typed on one keymap: the keysym of each code from [`FIRST_CODE`] on, and
/// the codes to press.
#[derive(Debug, Default, PartialEq)]
struct Chunk {
    keysyms: Vec<xkb::Keysym>,
    codes: Vec<u32>,
}

impl Chunk {
    /// The keymap, in xkb's text format, with one keysym on each code.
    fn keymap(&self) -> String {
        let last = FIRST_CODE.saturating_add(u32::try_from(self.keysyms.len()).unwrap_or(0));
        let mut keycodes = String::new();
        let mut symbols = String::new();
        for (code, keysym) in (FIRST_CODE..last).zip(&self.keysyms) {
            keycodes.push_str(&format!("    <K{code}> = {code};\n"));
            symbols.push_str(&format!(
                "    key <K{code}> {{ [ {} ] }};\n",
                xkb::keysym_get_name(*keysym)
            ));
        }
        format!(
            "xkb_keymap {{\n\
             xkb_keycodes \"gwd-text\" {{\n    minimum = 8;\n    maximum = 255;\n{keycodes}}};\n\
             xkb_types \"gwd-text\" {{ include \"complete\" }};\n\
             xkb_compatibility \"gwd-text\" {{ include \"complete\" }};\n\
             xkb_symbols \"gwd-text\" {{\n{symbols}}};\n\
             }};\n"
        )
    }
}

/// The keysym that types `c`, if any: control characters other than newline and tab type
/// nothing.
fn keysym_of(c: char) -> Option<xkb::Keysym> {
    match c {
        '\n' | '\r' => Some(xkb::Keysym::Return),
        '\t' => Some(xkb::Keysym::Tab),
        c if c.is_control() => None,
        c => {
            let keysym = xkb::utf32_to_keysym(u32::from(c));
            (keysym != xkb::Keysym::NoSymbol).then_some(keysym)
        }
    }
}

/// `text` split into runs whose distinct characters fit on one keymap.
fn chunks(text: &str) -> Vec<Chunk> {
    let slots = usize::try_from(LAST_CODE.saturating_sub(FIRST_CODE).saturating_add(1))
        .unwrap_or(usize::MAX);
    let mut chunks = Vec::new();
    let mut chunk = Chunk::default();
    for keysym in text.chars().filter_map(keysym_of) {
        let index = match chunk.keysyms.iter().position(|k| *k == keysym) {
            Some(index) => index,
            None => {
                if chunk.keysyms.len() >= slots {
                    chunks.push(std::mem::take(&mut chunk));
                }
                chunk.keysyms.push(keysym);
                chunk.keysyms.len().saturating_sub(1)
            }
        };
        let offset = u32::try_from(index).unwrap_or(0);
        chunk.codes.push(FIRST_CODE.saturating_add(offset));
    }
    if !chunk.codes.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn each_distinct_character_gets_one_code_and_repeats_reuse_it() {
        let chunks = chunks("héllo ✓");
        assert_eq!(chunks.len(), 1);
        let chunk = &chunks[0];
        // h é l o space ✓; the second l reuses its code.
        assert_eq!(chunk.keysyms.len(), 6);
        assert_eq!(chunk.codes, vec![9, 10, 11, 11, 12, 13, 14]);
        let names: Vec<String> = chunk
            .keysyms
            .iter()
            .map(|k| xkb::keysym_get_name(*k))
            .collect();
        // ✓ has a legacy keysym of its own; characters without one get `U+XXXX` keysyms.
        assert_eq!(names, ["h", "eacute", "l", "o", "space", "checkmark"]);
    }

    #[test]
    fn control_characters_type_nothing_but_newline_and_tab_are_keys() {
        let chunks = chunks("a\u{7}\tb\n");
        let names: Vec<String> = chunks[0]
            .keysyms
            .iter()
            .map(|k| xkb::keysym_get_name(*k))
            .collect();
        assert_eq!(names, ["a", "Tab", "b", "Return"]);
        assert!(super::chunks("\u{1}\u{2}").is_empty());
    }

    #[test]
    fn more_distinct_characters_than_codes_take_several_keymaps() {
        // 300 distinct CJK characters: 247 on the first keymap, 53 on the second.
        let text: String = (0x4e00u32..0x4e00 + 300)
            .filter_map(char::from_u32)
            .collect();
        let chunks = chunks(&text);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].keysyms.len(), 247);
        assert_eq!(chunks[1].keysyms.len(), 53);
        assert_eq!(*chunks[0].codes.last().unwrap(), LAST_CODE);
        assert_eq!(chunks[1].codes[0], FIRST_CODE);
    }

    #[test]
    fn the_keymap_compiles_and_maps_each_code_to_its_character() {
        let chunks = chunks("héllo ✓\n");
        let context = xkb::Context::new(xkb::CONTEXT_NO_FLAGS);
        let keymap = xkb::Keymap::new_from_string(
            &context,
            chunks[0].keymap(),
            xkb::KEYMAP_FORMAT_TEXT_V1,
            xkb::KEYMAP_COMPILE_NO_FLAGS,
        )
        .expect("the keymap compiles");
        let state = xkb::State::new(&keymap);
        let typed: String = chunks[0]
            .codes
            .iter()
            .map(|code| state.key_get_utf8(xkb::Keycode::new(*code)))
            .collect();
        // Return types "\r" in xkb's UTF-8.
        assert_eq!(typed, "héllo ✓\r");
    }
}
