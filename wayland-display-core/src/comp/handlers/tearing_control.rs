//! `wp_tearing_control_v1` (staging), which Smithay lacks: a surface's hint that it would
//! rather show frames at once, torn, than wait for vblank. The output here is a video
//! stream produced at its own pace, so the hint changes nothing yet; it is kept per surface
//! as the protocol's double-buffered state (a [`Hint`] in the surface's cached
//! state, current after its commit) for a frame scheduler to read.

use std::cell::Cell;

use smithay::reexports::wayland_protocols::wp::tearing_control::v1::server::{
    wp_tearing_control_manager_v1::{self, WpTearingControlManagerV1},
    wp_tearing_control_v1::{self, PresentationHint, WpTearingControlV1},
};
use smithay::reexports::wayland_server::backend::{ClientId, GlobalId};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::{
    Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource, WEnum,
};
use smithay::wayland::compositor::{Cacheable, with_states};

use crate::comp::State;

/// The global's version (the protocol has one).
const VERSION: u32 = 1;

/// Whether a surface would take torn frames; double-buffered, applied at its commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Hint {
    #[default]
    Vsync,
    Async,
}

impl Cacheable for Hint {
    fn commit(&mut self, _dh: &DisplayHandle) -> Self {
        *self
    }

    fn merge_into(self, into: &mut Self, _dh: &DisplayHandle) {
        *into = self;
    }
}

/// Marks a surface that has a tearing-control object: the protocol allows one.
#[derive(Default)]
struct HasControl(Cell<bool>);

fn has_control<T>(surface: &WlSurface, f: impl FnOnce(&Cell<bool>) -> T) -> T {
    with_states(surface, |states| {
        f(&states.data_map.get_or_insert(HasControl::default).0)
    })
}

fn set_pending(surface: &WlSurface, hint: Hint) {
    with_states(surface, |states| {
        *states.cached_state.get::<Hint>().pending() = hint;
    });
}

pub(crate) fn new_global(dh: &DisplayHandle) -> GlobalId {
    dh.create_global::<State, WpTearingControlManagerV1, _>(VERSION, ())
}

impl GlobalDispatch<WpTearingControlManagerV1, ()> for State {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<WpTearingControlManagerV1>,
        _global_data: &(),
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }
}

impl Dispatch<WpTearingControlManagerV1, ()> for State {
    fn request(
        _state: &mut Self,
        _client: &Client,
        manager: &WpTearingControlManagerV1,
        request: wp_tearing_control_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        match request {
            wp_tearing_control_manager_v1::Request::GetTearingControl { id, surface } => {
                if has_control(&surface, |has| has.replace(true)) {
                    // The new object stays uninitialised: the client is being disconnected.
                    manager.post_error(
                        wp_tearing_control_manager_v1::Error::TearingControlExists,
                        "the surface already has a tearing control object",
                    );
                    return;
                }
                data_init.init(id, surface);
            }
            wp_tearing_control_manager_v1::Request::Destroy => {}
            _ => {}
        }
    }
}

impl Dispatch<WpTearingControlV1, WlSurface> for State {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _control: &WpTearingControlV1,
        request: wp_tearing_control_v1::Request,
        surface: &WlSurface,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        match request {
            wp_tearing_control_v1::Request::SetPresentationHint { hint } => {
                // A request for a surface already destroyed has nothing left to change.
                if !surface.is_alive() {
                    return;
                }
                let hint = match hint {
                    WEnum::Value(PresentationHint::Vsync) => Hint::Vsync,
                    WEnum::Value(PresentationHint::Async) => Hint::Async,
                    // The protocol defines no error for an unknown hint: keep the last one.
                    WEnum::Value(_) | WEnum::Unknown(_) => {
                        tracing::debug!(?hint, "unknown presentation hint ignored");
                        return;
                    }
                };
                set_pending(surface, hint);
            }
            wp_tearing_control_v1::Request::Destroy => {}
            _ => {}
        }
    }

    /// The protocol: the hint reverts to vsync at the surface's next commit, and the
    /// surface may get a new tearing-control object.
    fn destroyed(
        _state: &mut Self,
        _client: ClientId,
        _control: &WpTearingControlV1,
        surface: &WlSurface,
    ) {
        if surface.is_alive() {
            set_pending(surface, Hint::Vsync);
            has_control(surface, |has| has.set(false));
        }
    }
}
