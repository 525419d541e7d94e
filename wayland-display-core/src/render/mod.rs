//! Turning the space of windows into output frames: damage-tracked Pixman rendering into a
//! small pool of system-memory images that downstream can keep while we draw the next one.

mod cursor;
mod frame;
mod pool;

use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::pixman::PixmanRenderer;
use smithay::backend::renderer::{Bind, Color32F};
use smithay::desktop::space::render_output;
use smithay::desktop::{Space, Window};
use smithay::output::Output;

pub use cursor::CursorState;
pub use frame::{Frame, OutputFormat};
use pool::OutputPool;

/// Opaque black: what is shown where no window is.
const CLEAR_COLOR: Color32F = Color32F::new(0.0, 0.0, 0.0, 1.0);

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("could not create the Pixman software renderer: {0}")]
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

pub(crate) struct Renderer {
    pixman: PixmanRenderer,
    damage: OutputDamageTracker,
    pool: OutputPool,
    cursor: cursor::Cursor,
}

impl Renderer {
    pub(crate) fn new(output: &Output, format: OutputFormat) -> Result<Self, RenderError> {
        let pixman = PixmanRenderer::new().map_err(|err| RenderError::Init(err.to_string()))?;
        let (width, height) = output_size(output);
        Ok(Self {
            pixman,
            damage: OutputDamageTracker::from_output(output),
            pool: OutputPool::new(format, width, height),
            cursor: cursor::Cursor::new(),
        })
    }

    /// Starts over after a mode or format change: old images stay with whoever holds them.
    pub(crate) fn reconfigure(&mut self, output: &Output, format: OutputFormat) {
        let (width, height) = output_size(output);
        self.pool = OutputPool::new(format, width, height);
        self.damage = OutputDamageTracker::from_output(output);
    }

    /// The last frame again, if nothing changed since: no drawing, no copy.
    pub(crate) fn repeat_last(&self) -> Option<Frame> {
        self.pool.last_frame()
    }

    /// Draws the current state into a free output image, redrawing only what changed since
    /// that image was last drawn.
    pub(crate) fn render(
        &mut self,
        space: &Space<Window>,
        output: &Output,
        cursor: &CursorState,
    ) -> Result<Frame, RenderError> {
        let cursor_elements = self.cursor.elements(&mut self.pixman, cursor);
        let (slot, age) = self.pool.acquire()?;
        let image = self.pool.image_mut(slot)?;
        let mut target = self
            .pixman
            .bind(image)
            .map_err(|err| RenderError::Draw(err.to_string()))?;
        render_output(
            output,
            &mut self.pixman,
            &mut target,
            1.0,
            age,
            [space],
            &cursor_elements,
            &mut self.damage,
            CLEAR_COLOR,
        )
        .map_err(|err| RenderError::Draw(format!("{err:?}")))?;
        drop(target);
        self.pool.rendered(slot)
    }
}

fn output_size(output: &Output) -> (u32, u32) {
    output
        .current_mode()
        .map(|m| (m.size.w.max(1) as u32, m.size.h.max(1) as u32))
        .unwrap_or((1, 1))
}
