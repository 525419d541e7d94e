//! Drawing the space and the cursor into a framebuffer, for any renderer.

use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::element::AsRenderElements;
use smithay::backend::renderer::element::surface::WaylandSurfaceRenderElement;
use smithay::backend::renderer::element::utils::RescaleRenderElement;
use smithay::backend::renderer::sync::SyncPoint;
use smithay::backend::renderer::{Color32F, ImportAll, ImportMem, Renderer, Texture};
use smithay::desktop::space::render_output;
use smithay::desktop::{Space, Window};
use smithay::output::Output;
use smithay::utils::{Physical, Point, Scale};

use super::RenderError;
use super::cursor::CursorElement;
use super::yuv::Rows;

/// Opaque black: what is shown where no window is.
const CLEAR_COLOR: Color32F = Color32F::new(0.0, 0.0, 0.0, 1.0);

/// A window drawn scaled (scale-to-fit) in place of the space.
pub(crate) struct Scaled<'a> {
    pub(crate) window: &'a Window,
    /// Where the window's origin goes on the output.
    pub(crate) origin: Point<i32, Physical>,
    /// How much larger than its logical size the window is shown.
    pub(crate) scale: f64,
    /// The output's own scale, which surfaces are drawn at before that.
    pub(crate) output_scale: f64,
}

impl Scaled<'_> {
    /// The window's surfaces (popups and subsurfaces included) at their own size from
    /// `origin`, each then scaled about `origin`: a surface element's size is its
    /// buffer's, whatever scale it is made with, so the scaling has to wrap it.
    fn elements<R>(&self, renderer: &mut R) -> Vec<CursorElement<R>>
    where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Texture + Clone + Send + 'static,
    {
        AsRenderElements::<R>::render_elements::<WaylandSurfaceRenderElement<R>>(
            self.window,
            renderer,
            self.origin,
            Scale::from(self.output_scale),
            1.0,
        )
        .into_iter()
        .map(|element| {
            CursorElement::Scaled(RescaleRenderElement::from_element(
                element,
                self.origin,
                Scale::from(self.scale),
            ))
        })
        .collect()
    }
}

/// What one frame shows on top of the black background: the cursor above either the
/// space or a window drawn scaled.
pub(crate) fn overlay<'s, R>(
    renderer: &mut R,
    mut cursor: Vec<CursorElement<R>>,
    space: &'s Space<Window>,
    scaled: Option<&Scaled<'_>>,
) -> (Vec<CursorElement<R>>, Option<&'s Space<Window>>)
where
    R: Renderer + ImportAll + ImportMem,
    R::TextureId: Texture + Clone + Send + 'static,
{
    match scaled {
        Some(scaled) => {
            cursor.extend(scaled.elements(renderer));
            (cursor, None)
        }
        None => (cursor, Some(space)),
    }
}

/// Redraws what changed in the last `age` frames (everything for age 0) into
/// `framebuffer`: `elements` (front first) over the `space`, if one is given. Returns the
/// point at which the drawing is complete.
pub(crate) fn compose<R>(
    renderer: &mut R,
    framebuffer: &mut R::Framebuffer<'_>,
    age: usize,
    space: Option<&Space<Window>>,
    output: &Output,
    elements: &[CursorElement<R>],
    damage: &mut OutputDamageTracker,
) -> Result<(SyncPoint, Rows), RenderError>
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
        space,
        elements,
        damage,
        CLEAR_COLOR,
    )
    .map_err(|err| RenderError::Draw(format!("{err:?}")))?;
    // What was redrawn: everything that changed since the image's frame, so at least what
    // changed since the frame before (nothing when the tracker found no damage).
    let mut rows = Rows::default();
    for rect in result.damage.into_iter().flatten() {
        let start = usize::try_from(rect.loc.y).unwrap_or(0);
        let end = usize::try_from(rect.loc.y.saturating_add(rect.size.h)).unwrap_or(0);
        rows.add(start..end);
    }
    Ok((result.sync, rows))
}
