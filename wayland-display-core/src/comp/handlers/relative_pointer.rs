use smithay::delegate_relative_pointer;

use crate::comp::State;

delegate_relative_pointer!(State);
