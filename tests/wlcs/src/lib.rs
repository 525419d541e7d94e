//! A wlcs integration module: the Wayland Conformance Test Suite drives the compositor
//! core (the same `State` and protocol handlers the element runs, without GStreamer)
//! through `wlcs_server_integration`. Run it with
//! `/usr/lib/x86_64-linux-gnu/wlcs/wlcs target/debug/libgwd_wlcs.so`; `scripts/wlcs.sh`
//! runs the expected-pass list. `GWD_WLCS_LOG` (an env-filter, e.g. `debug`) turns on
//! the compositor's logs on stderr.

mod devices;
mod extensions;
mod server;

use wlcs::ffi_display_server_api::WlcsServerIntegration;
use wlcs::ffi_wrappers::wlcs_server;

use server::GwdServer;

wlcs::wlcs_server_integration!(GwdServer);
