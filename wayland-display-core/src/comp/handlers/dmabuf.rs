use smithay::backend::allocator::dmabuf::Dmabuf;
use smithay::delegate_dmabuf;
use smithay::wayland::dmabuf::{
    DmabufFeedbackBuilder, DmabufGlobal, DmabufHandler, DmabufState, ImportNotifier,
};

use crate::comp::State;

impl DmabufHandler for State {
    fn dmabuf_state(&mut self) -> &mut DmabufState {
        &mut self.dmabuf_state
    }

    fn dmabuf_imported(
        &mut self,
        _global: &DmabufGlobal,
        dmabuf: Dmabuf,
        notifier: ImportNotifier,
    ) {
        if self.renderer.import_client_dmabuf(&dmabuf) {
            let _ = notifier.successful::<State>();
        } else {
            notifier.failed();
        }
    }
}

impl State {
    /// Offers `zwp_linux_dmabuf_v1` (v4, with feedback naming the render node) when a GPU
    /// renders; without one, clients have no device to allocate DMABufs on.
    pub(crate) fn offer_dmabuf(&mut self) {
        let Some((device, formats)) = self.renderer.client_dmabuf() else {
            return;
        };
        match DmabufFeedbackBuilder::new(device, formats).build() {
            Ok(feedback) => {
                let global = self
                    .dmabuf_state
                    .create_global_with_default_feedback::<State>(&self.dh, &feedback);
                self.dmabuf_global = Some(global);
            }
            Err(err) => tracing::warn!(?err, "no linux-dmabuf for clients"),
        }
    }
}

delegate_dmabuf!(State);
