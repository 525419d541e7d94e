use smithay::delegate_input_method_manager;
use smithay::desktop::{PopupKind, PopupManager, find_popup_root_surface};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{Logical, Rectangle};
use smithay::wayland::input_method::{InputMethodHandler, PopupSurface};

use crate::comp::State;

/// An input-method client (an on-screen keyboard, an IME) takes over from the compositor's
/// built-in one while it is bound; its candidate popups are placed by its text input's
/// cursor rectangle, relative to the window that has the text input.
impl InputMethodHandler for State {
    fn new_popup(&mut self, surface: PopupSurface) {
        if let Err(err) = self.popups.track_popup(PopupKind::InputMethod(surface)) {
            tracing::debug!(?err, "input method popup died before it was tracked");
        }
        self.changed.mark();
    }

    fn popup_repositioned(&mut self, _surface: PopupSurface) {
        self.changed.mark();
    }

    fn dismiss_popup(&mut self, surface: PopupSurface) {
        let kind = PopupKind::InputMethod(surface);
        if let Ok(root) = find_popup_root_surface(&kind) {
            // A root already gone took its popups with it.
            let _ = PopupManager::dismiss_popup(&root, &kind);
        }
        self.changed.mark();
    }

    fn parent_geometry(&self, parent: &WlSurface) -> Rectangle<i32, Logical> {
        self.window_of(parent)
            .and_then(|window| {
                let location = self.space.element_location(&window)?;
                Some(Rectangle::new(location, window.geometry().size))
            })
            .unwrap_or_default()
    }
}

delegate_input_method_manager!(State);
