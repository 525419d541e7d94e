use smithay::delegate_viewporter;

use crate::comp::State;

delegate_viewporter!(State);
