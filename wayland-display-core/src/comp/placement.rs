//! Where windows sit on the output, for callers that arrange them themselves.

use smithay::reexports::wayland_server::Resource;
use smithay::reexports::wayland_server::backend::ClientId;
use smithay::utils::{Logical, Point};

use crate::comp::State;

impl State {
    /// Moves the toplevel whose `wl_surface` is object `surface` of `client` to `at`,
    /// keeping its place in the stack.
    pub(crate) fn place_window(
        &mut self,
        client: &ClientId,
        surface: u32,
        at: Point<i32, Logical>,
    ) -> Result<(), String> {
        let window = self
            .space
            .elements()
            .find(|w| {
                w.toplevel().is_some_and(|t| {
                    let s = t.wl_surface();
                    s.id().protocol_id() == surface && s.client().is_some_and(|c| &c.id() == client)
                })
            })
            .cloned();
        let Some(window) = window else {
            return self.place_layer(client, surface, at);
        };
        if let Some(toplevel) = window.toplevel() {
            self.pin(toplevel.wl_surface());
        }
        self.space.map_element(window, at, false);
        self.changed.mark();
        Ok(())
    }

    /// `place_window` for a layer surface: pinned at `at` in place of its anchoring.
    fn place_layer(
        &mut self,
        client: &ClientId,
        surface: u32,
        at: Point<i32, Logical>,
    ) -> Result<(), String> {
        let mut map = smithay::desktop::layer_map_for_output(&self.output);
        let layer = map
            .layers()
            .find(|l| {
                let s = l.wl_surface();
                s.id().protocol_id() == surface && s.client().is_some_and(|c| &c.id() == client)
            })
            .cloned()
            .ok_or_else(|| {
                format!(
                    "wl_surface@{surface} of that client is neither a toplevel nor a layer surface"
                )
            })?;
        map.pin_layer(&layer, Some(at));
        drop(map);
        self.changed.mark();
        Ok(())
    }
}
