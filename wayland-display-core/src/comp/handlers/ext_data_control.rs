use smithay::delegate_ext_data_control;
use smithay::reexports::wayland_server::DisplayHandle;
use smithay::wayland::selection::ext_data_control::{DataControlHandler, DataControlState};
use smithay::wayland::selection::primary_selection::PrimarySelectionState;

use crate::comp::State;

// ext_data_control_manager_v1, the standardised wlroots data control: clipboard managers
// read and set the clipboard and the primary selection without a focused surface. A
// privileged protocol.
impl DataControlHandler for State {
    fn data_control_state(&self) -> &DataControlState {
        &self.ext_data_control_state
    }
}

/// The state, its global withdrawn at once unless `offered`: Smithay's handler trait needs
/// a state to exist, and no client has connected yet to see the global come and go.
pub(crate) fn new_state(
    dh: &DisplayHandle,
    primary: &PrimarySelectionState,
    offered: bool,
) -> DataControlState {
    let state = DataControlState::new::<State, _>(dh, Some(primary), |_| true);
    if !offered {
        dh.remove_global::<State>(state.global());
    }
    state
}

delegate_ext_data_control!(State);
