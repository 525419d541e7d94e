use smithay::reexports::wayland_protocols::wp::viewporter::server::wp_viewporter::WpViewporter;
use smithay::reexports::wayland_server::{delegate_dispatch, delegate_global_dispatch};
use smithay::wayland::viewporter::ViewporterState;

use crate::comp::State;

// What `delegate_viewporter!` would add but for `wp_viewport`, which `guard::viewporter`
// dispatches.
delegate_global_dispatch!(State: [WpViewporter: ()] => ViewporterState);
delegate_dispatch!(State: [WpViewporter: ()] => ViewporterState);
