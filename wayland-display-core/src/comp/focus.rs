//! What has keyboard focus: a Wayland surface, or an X11 window (through its Xwayland
//! `wl_surface`, which also gets X's input focus and `WM_TAKE_FOCUS`, as a window manager
//! must give it: Xwayland delivers keys to the X focus, not to the Wayland one).

use std::borrow::Cow;

use smithay::backend::input::KeyState;
use smithay::desktop::PopupKind;
use smithay::input::Seat;
use smithay::input::keyboard::{KeyboardTarget, KeysymHandle, ModifiersState};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{IsAlive, Serial};
use smithay::wayland::seat::WaylandFocus;
use smithay::xwayland::X11Surface;

use crate::comp::State;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum KeyboardFocus {
    Wayland(WlSurface),
    X11 {
        // Boxed: an X11Surface is several times the size of a WlSurface.
        window: Box<X11Surface>,
        surface: WlSurface,
    },
}

impl KeyboardFocus {
    pub(crate) fn surface(&self) -> &WlSurface {
        match self {
            Self::Wayland(surface) | Self::X11 { surface, .. } => surface,
        }
    }
}

impl IsAlive for KeyboardFocus {
    fn alive(&self) -> bool {
        match self {
            Self::Wayland(surface) => surface.alive(),
            Self::X11 { window, surface } => window.alive() && surface.alive(),
        }
    }
}

impl WaylandFocus for KeyboardFocus {
    fn wl_surface(&self) -> Option<Cow<'_, WlSurface>> {
        Some(Cow::Borrowed(self.surface()))
    }
}

impl From<PopupKind> for KeyboardFocus {
    fn from(popup: PopupKind) -> Self {
        Self::Wayland(popup.wl_surface().clone())
    }
}

impl From<KeyboardFocus> for WlSurface {
    fn from(focus: KeyboardFocus) -> Self {
        match focus {
            KeyboardFocus::Wayland(surface) | KeyboardFocus::X11 { surface, .. } => surface,
        }
    }
}

impl KeyboardTarget<State> for KeyboardFocus {
    fn enter(
        &self,
        seat: &Seat<State>,
        data: &mut State,
        keys: Vec<KeysymHandle<'_>>,
        serial: Serial,
    ) {
        match self {
            Self::Wayland(surface) => KeyboardTarget::enter(surface, seat, data, keys, serial),
            // Sets X's focus, then enters its wl_surface.
            Self::X11 { window, .. } => KeyboardTarget::enter(&**window, seat, data, keys, serial),
        }
    }

    fn leave(&self, seat: &Seat<State>, data: &mut State, serial: Serial) {
        match self {
            Self::Wayland(surface) => KeyboardTarget::leave(surface, seat, data, serial),
            Self::X11 { window, .. } => KeyboardTarget::leave(&**window, seat, data, serial),
        }
    }

    fn key(
        &self,
        seat: &Seat<State>,
        data: &mut State,
        key: KeysymHandle<'_>,
        state: KeyState,
        serial: Serial,
        time: u32,
    ) {
        match self {
            Self::Wayland(surface) => {
                KeyboardTarget::key(surface, seat, data, key, state, serial, time);
            }
            Self::X11 { window, .. } => {
                KeyboardTarget::key(&**window, seat, data, key, state, serial, time);
            }
        }
    }

    fn modifiers(
        &self,
        seat: &Seat<State>,
        data: &mut State,
        modifiers: ModifiersState,
        serial: Serial,
    ) {
        match self {
            Self::Wayland(surface) => {
                KeyboardTarget::modifiers(surface, seat, data, modifiers, serial);
            }
            Self::X11 { window, .. } => {
                KeyboardTarget::modifiers(&**window, seat, data, modifiers, serial);
            }
        }
    }
}
