use smithay::delegate_presentation;

use crate::comp::State;

delegate_presentation!(State);
