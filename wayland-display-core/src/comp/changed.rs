//! The one answer to "did the picture change since the last frame?".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the picture may have changed since the last frame was drawn. The compositor
/// marks it on every change that shows (commits, windows appearing or moving, the cursor,
/// a mode change), the handle when it sends input, and the thread when it ends; it is
/// cleared just before a frame is drawn. While it is clear, a frame request is answered
/// with the previous frame, without drawing and without waking the compositor thread.
#[derive(Clone, Debug)]
pub(crate) struct PictureChanged(Arc<AtomicBool>);

impl PictureChanged {
    /// Starts marked: nothing has been drawn yet.
    pub(crate) fn new() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }

    pub(crate) fn mark(&self) {
        // Release/Acquire: whoever sees the mark also sees the change behind it.
        self.0.store(true, Ordering::Release);
    }

    pub(crate) fn is_marked(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Called just before drawing: whatever changes after this marks it again.
    pub(crate) fn clear(&self) {
        self.0.store(false, Ordering::Release);
    }
}
