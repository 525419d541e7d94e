//! Software rendering: Pixman draws straight into the output images handed downstream.

use smithay::backend::renderer::Bind;
use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::pixman::PixmanRenderer;
use smithay::desktop::{Space, Window};
use smithay::output::Output;

use super::compose::{Scaled, compose, overlay};
use super::cursor::{Cursor, CursorState};
use super::frame::OutputImage;
use super::pool::OutputPool;
use super::{Frame, OutputFormat, RenderError};

pub(crate) struct PixmanOutput {
    renderer: PixmanRenderer,
    damage: OutputDamageTracker,
    pool: OutputPool<OutputImage>,
}

impl PixmanOutput {
    pub(crate) fn new(output: &Output, format: OutputFormat) -> Result<Self, RenderError> {
        let renderer = PixmanRenderer::new().map_err(|err| RenderError::Init(err.to_string()))?;
        let (width, height) = super::output_size(output);
        Ok(Self {
            renderer,
            damage: OutputDamageTracker::from_output(output),
            pool: OutputPool::new(format, width, height),
        })
    }

    pub(crate) fn reconfigure(&mut self, output: &Output, format: OutputFormat) {
        let (width, height) = super::output_size(output);
        self.pool = OutputPool::new(format, width, height);
        self.damage = OutputDamageTracker::from_output(output);
    }

    pub(crate) fn forget_damage(&mut self, output: &Output) {
        self.damage = OutputDamageTracker::from_output(output);
    }

    pub(crate) fn pool_mut(&mut self) -> &mut OutputPool<OutputImage> {
        &mut self.pool
    }

    pub(crate) fn pool(&self) -> &OutputPool<OutputImage> {
        &self.pool
    }

    pub(crate) fn repeat_last(&self) -> Option<Frame> {
        self.pool.last_frame()
    }

    /// Redraws, into a free output image, only what changed since that image was drawn.
    pub(crate) fn render(
        &mut self,
        space: &Space<Window>,
        output: &Output,
        cursor: &Cursor,
        cursor_state: &CursorState<'_>,
        scaled: Option<&Scaled<'_>>,
    ) -> Result<Frame, RenderError> {
        let scale = output.current_scale().fractional_scale();
        let cursor_elements = cursor.elements(&mut self.renderer, cursor_state, scale);
        let (elements, space) = overlay(&mut self.renderer, cursor_elements, space, scaled);
        let (slot, age) = self.pool.acquire_system()?;
        let image = &mut self.pool.image_mut(slot)?.image;
        let mut target = self
            .renderer
            .bind(image)
            .map_err(|err| RenderError::Draw(err.to_string()))?;
        // Pixman draws synchronously: the image is complete when compose returns.
        let (_done, changed) = compose(
            &mut self.renderer,
            &mut target,
            age,
            space,
            output,
            &elements,
            &mut self.damage,
        )?;
        drop(target);
        self.pool.rendered(slot, Some(changed))
    }
}
