//! Turning the space of windows into output frames: damage-tracked rendering with Pixman
//! (software) or GLES (an EGL device), into a small pool of system-memory images that
//! downstream can keep while the next frame is drawn.

mod compose;
mod cursor;
mod frame;
mod gles;
mod pixman;
mod pool;

use smithay::desktop::{Space, Window};
use smithay::output::Output;

pub use cursor::CursorState;
pub use frame::{Frame, OutputFormat};
pub use gles::GlDevice;

use cursor::Cursor;
use gles::GlesOutput;
use pixman::PixmanOutput;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("could not set up rendering: {0}")]
    Init(String),
    #[error("could not allocate a {width}x{height} {format:?} output image")]
    Alloc {
        width: u32,
        height: u32,
        format: OutputFormat,
    },
    #[error("rendering failed: {0}")]
    Draw(String),
}

/// Which renderer to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderBackend {
    Pixman,
    Gles(GlDevice),
}

// One per compositor, never moved on a hot path: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Pixman(PixmanOutput),
    Gles(GlesOutput),
}

pub(crate) struct Renderer {
    backend: Backend,
    cursor: Cursor,
}

impl Renderer {
    pub(crate) fn new(
        backend: &RenderBackend,
        output: &Output,
        format: OutputFormat,
    ) -> Result<Self, RenderError> {
        let backend = match backend {
            RenderBackend::Pixman => Backend::Pixman(PixmanOutput::new(output, format)?),
            RenderBackend::Gles(device) => Backend::Gles(GlesOutput::new(device, output, format)?),
        };
        Ok(Self {
            backend,
            cursor: Cursor::new(),
        })
    }

    /// Starts over after a mode or format change: old images stay with whoever holds them.
    pub(crate) fn reconfigure(&mut self, output: &Output, format: OutputFormat) {
        match &mut self.backend {
            Backend::Pixman(b) => b.reconfigure(output, format),
            Backend::Gles(b) => b.reconfigure(output, format),
        }
    }

    /// The last frame again, if nothing changed since: no drawing, no copy.
    pub(crate) fn repeat_last(&self) -> Option<Frame> {
        match &self.backend {
            Backend::Pixman(b) => b.repeat_last(),
            Backend::Gles(b) => b.repeat_last(),
        }
    }

    /// Draws the current state, redrawing only what changed.
    pub(crate) fn render(
        &mut self,
        space: &Space<Window>,
        output: &Output,
        cursor: &CursorState<'_>,
    ) -> Result<Frame, RenderError> {
        match &mut self.backend {
            Backend::Pixman(b) => b.render(space, output, &self.cursor, cursor),
            Backend::Gles(b) => b.render(space, output, &self.cursor, cursor),
        }
    }
}

fn output_size(output: &Output) -> (u32, u32) {
    output
        .current_mode()
        .map(|m| (m.size.w.max(1) as u32, m.size.h.max(1) as u32))
        .unwrap_or((1, 1))
}
