//! Drawing the space and the cursor into a framebuffer, for any renderer.

use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::element::surface::WaylandSurfaceRenderElement;
use smithay::backend::renderer::sync::SyncPoint;
use smithay::backend::renderer::{Color32F, ImportAll, ImportMem, Renderer, Texture};
use smithay::desktop::space::render_output;
use smithay::desktop::{Space, Window};
use smithay::output::Output;

use super::RenderError;
use super::cursor::CursorElement;

/// Opaque black: what is shown where no window is.
const CLEAR_COLOR: Color32F = Color32F::new(0.0, 0.0, 0.0, 1.0);

/// Redraws what changed in the last `age` frames (everything for age 0) into
/// `framebuffer`. Returns the point at which the drawing is complete.
pub(crate) fn compose<R>(
    renderer: &mut R,
    framebuffer: &mut R::Framebuffer<'_>,
    age: usize,
    space: &Space<Window>,
    output: &Output,
    cursor: &[CursorElement<R>],
    damage: &mut OutputDamageTracker,
) -> Result<SyncPoint, RenderError>
where
    R: Renderer + ImportAll + ImportMem,
    R::TextureId: Texture + Clone + Send + 'static,
    WaylandSurfaceRenderElement<R>: smithay::backend::renderer::element::RenderElement<R>,
{
    let result = render_output(
        output,
        renderer,
        framebuffer,
        1.0,
        age,
        [space],
        cursor,
        damage,
        CLEAR_COLOR,
    )
    .map_err(|err| RenderError::Draw(format!("{err:?}")))?;
    Ok(result.sync)
}
