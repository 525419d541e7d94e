use smithay::delegate_output;
use smithay::output::Output;
use smithay::reexports::wayland_server::protocol::wl_output::WlOutput;
use smithay::wayland::output::OutputHandler;

use crate::comp::State;

impl OutputHandler for State {
    /// Foreign toplevel handles tell their client which of its wl_outputs a window is on.
    fn output_bound(&mut self, _output: Output, _wl_output: WlOutput) {
        self.update_foreign_toplevels();
    }
}

delegate_output!(State);
