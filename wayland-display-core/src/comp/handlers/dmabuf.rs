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
    /// Offers `zwp_linux_dmabuf_v1` (v4, with feedback naming the render node) and the
    /// legacy `wl_drm` when a GPU renders; without one, clients have no device to allocate
    /// GPU buffers on.
    pub(crate) fn offer_gpu_buffers(&mut self) {
        let Some(client) = self.renderer.client_dmabuf() else {
            return;
        };
        let mut fourccs: Vec<u32> = client.formats.iter().map(|f| f.code as u32).collect();
        fourccs.sort_unstable();
        fourccs.dedup();
        self.offer_wl_drm(client.node.display().to_string(), fourccs);
        match DmabufFeedbackBuilder::new(client.device, client.formats).build() {
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
