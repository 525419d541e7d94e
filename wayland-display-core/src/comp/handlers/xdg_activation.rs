use std::time::Duration;

use smithay::delegate_xdg_activation;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::wayland::xdg_activation::{
    XdgActivationHandler, XdgActivationState, XdgActivationToken, XdgActivationTokenData,
};

use crate::comp::State;

/// How long a token stays good: long enough for a launched app to start and map its
/// window, short enough that a forgotten one cannot steal focus much later.
const TOKEN_LIFETIME: Duration = Duration::from_secs(30);
/// Tokens one client may hold at once; a client asking for more gets tokens that activate
/// nothing (the protocol has no error for this).
const TOKENS_PER_CLIENT: usize = 16;
/// Tokens all clients together may hold, so that clients reconnecting in a loop cannot
/// grow the table either.
const TOKENS_TOTAL: usize = 256;

impl XdgActivationHandler for State {
    fn activation_state(&mut self) -> &mut XdgActivationState {
        &mut self.xdg_activation_state
    }

    fn token_created(&mut self, _token: XdgActivationToken, data: XdgActivationTokenData) -> bool {
        let tokens = &mut self.xdg_activation_state;
        tokens.retain_tokens(|_, held| held.timestamp.elapsed() < TOKEN_LIFETIME);
        let total = tokens.tokens().count();
        let of_client = tokens
            .tokens()
            .filter(|(_, held)| held.client_id == data.client_id)
            .count();
        let valid = of_client < TOKENS_PER_CLIENT && total < TOKENS_TOTAL;
        if !valid {
            tracing::debug!(
                client = ?data.client_id,
                of_client,
                total,
                "activation token refused: too many held"
            );
        }
        valid
    }

    /// A valid token raises its window and gives it the keyboard (the policy's "focus
    /// follows the newest or activated toplevel"). Tokens are single-use.
    fn request_activation(
        &mut self,
        token: XdgActivationToken,
        data: XdgActivationTokenData,
        surface: WlSurface,
    ) {
        self.xdg_activation_state.remove_token(&token);
        if data.timestamp.elapsed() >= TOKEN_LIFETIME {
            tracing::debug!("activation with an expired token ignored");
            return;
        }
        self.activate_window(&surface);
    }
}

delegate_xdg_activation!(State);
