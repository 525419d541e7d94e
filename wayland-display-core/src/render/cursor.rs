//! The pointer as drawn into frames: the client's cursor surface, or a built-in arrow for
//! named cursors (a headless host has no cursor theme to load).

use std::sync::Mutex;

use smithay::backend::allocator::Fourcc;
use smithay::backend::renderer::element::Kind;
use smithay::backend::renderer::element::memory::{
    MemoryRenderBuffer, MemoryRenderBufferRenderElement,
};
use smithay::backend::renderer::element::surface::{
    WaylandSurfaceRenderElement, render_elements_from_surface_tree,
};
use smithay::backend::renderer::element::utils::RescaleRenderElement;
use smithay::backend::renderer::{ImportAll, ImportMem, Renderer};
use smithay::input::pointer::{CursorImageAttributes, CursorImageStatus};
use smithay::reexports::wayland_server::Resource;
use smithay::render_elements;
use smithay::utils::{Logical, Physical, Point, Transform};
use smithay::wayland::compositor::with_states;

// Also what a window drawn scaled (scale-to-fit) is made of, which the frame draws as
// elements of its own above the black background, in place of the space.
render_elements! {
    pub CursorElement<R> where R: ImportAll + ImportMem;
    Surface=WaylandSurfaceRenderElement<R>,
    Arrow=MemoryRenderBufferRenderElement<R>,
    Scaled=RescaleRenderElement<WaylandSurfaceRenderElement<R>>,
}

/// What the cursor looks like and where it is, as the compositor state knows it.
pub struct CursorState<'a> {
    pub visible: bool,
    pub status: &'a CursorImageStatus,
    pub location: Point<f64, Logical>,
}

pub(crate) struct Cursor {
    arrow: MemoryRenderBuffer,
    /// The same arrow for the pass-through path, which blends it on the CPU.
    arrow_pixels: Vec<u8>,
}

/// The cursor as the pass-through path sees it.
pub(crate) enum Overlay<'a> {
    None,
    /// Premultiplied ARGB8888 pixels, `width` x `height`, tightly packed, whose top-left
    /// corner goes at `at` on the output.
    Image {
        pixels: &'a [u8],
        width: usize,
        height: usize,
        at: Point<i32, Physical>,
    },
    /// A client's cursor surface: only the renderer draws those.
    NeedsRenderer,
}

const ARROW_W: usize = 12;
const ARROW_H: usize = 19;

impl Cursor {
    pub(crate) fn new() -> Self {
        let pixels = arrow_pixels();
        Self {
            arrow: MemoryRenderBuffer::from_slice(
                &pixels,
                Fourcc::Argb8888,
                (ARROW_W as i32, ARROW_H as i32),
                1,
                Transform::Normal,
                None,
            ),
            arrow_pixels: pixels,
        }
    }

    /// What the pass-through path has to draw over the client's buffer. Placed exactly as
    /// the renderer places the arrow, so both paths give the same pixels.
    pub(crate) fn overlay(&self, state: &CursorState<'_>) -> Overlay<'_> {
        if !state.visible {
            return Overlay::None;
        }
        match state.status {
            CursorImageStatus::Hidden => Overlay::None,
            CursorImageStatus::Named(_) => Overlay::Image {
                pixels: &self.arrow_pixels,
                width: ARROW_W,
                height: ARROW_H,
                at: state.location.to_physical(1.0).to_i32_round(),
            },
            CursorImageStatus::Surface(surface) if !surface.is_alive() => Overlay::None,
            CursorImageStatus::Surface(_) => Overlay::NeedsRenderer,
        }
    }

    pub(crate) fn elements<R>(
        &self,
        renderer: &mut R,
        state: &CursorState<'_>,
    ) -> Vec<CursorElement<R>>
    where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Send + Clone + 'static,
    {
        if !state.visible {
            return Vec::new();
        }
        match state.status {
            CursorImageStatus::Hidden => Vec::new(),
            CursorImageStatus::Named(_) => {
                let at = state.location.to_physical(1.0);
                match MemoryRenderBufferRenderElement::from_buffer(
                    renderer,
                    at,
                    &self.arrow,
                    None,
                    None,
                    None,
                    Kind::Cursor,
                ) {
                    Ok(element) => vec![CursorElement::Arrow(element)],
                    Err(err) => {
                        tracing::warn!(%err, "could not draw the cursor");
                        Vec::new()
                    }
                }
            }
            CursorImageStatus::Surface(surface) => {
                if !surface.is_alive() {
                    return Vec::new();
                }
                let hotspot = with_states(surface, |states| {
                    states
                        .data_map
                        .get::<Mutex<CursorImageAttributes>>()
                        .and_then(|attrs| attrs.lock().ok().map(|a| a.hotspot))
                        .unwrap_or_default()
                });
                // A client's hotspot, bounded like every other client coordinate so the
                // cursor's geometry stays inside `i32`.
                let bound = |v: i32| v.clamp(-crate::comp::COORD_LIMIT, crate::comp::COORD_LIMIT);
                let hotspot = Point::<i32, Logical>::from((bound(hotspot.x), bound(hotspot.y)));
                let at = (state.location - hotspot.to_f64())
                    .to_physical(1.0)
                    .to_i32_round();
                render_elements_from_surface_tree(renderer, surface, at, 1.0, 1.0, Kind::Cursor)
            }
        }
    }
}

/// The arrow drawn for named cursors, as (width, height, pixels): premultiplied ARGB8888
/// (bytes B, G, R, A), rows tightly packed, the hotspot at the top-left pixel.
pub fn builtin_cursor() -> (usize, usize, Vec<u8>) {
    (ARROW_W, ARROW_H, arrow_pixels())
}

/// A classic left-pointing arrow: black outline, white fill, ARGB8888 in memory order.
fn arrow_pixels() -> Vec<u8> {
    const SHAPE: [&str; ARROW_H] = [
        "X           ",
        "XX          ",
        "X.X         ",
        "X..X        ",
        "X...X       ",
        "X....X      ",
        "X.....X     ",
        "X......X    ",
        "X.......X   ",
        "X........X  ",
        "X.........X ",
        "X..........X",
        "X......XXXXX",
        "X...X..X    ",
        "X..XX..X    ",
        "X.X  X..X   ",
        "XX   X..X   ",
        "X     X..X  ",
        "      XXXX  ",
    ];
    let mut pixels = Vec::with_capacity(ARROW_W * ARROW_H * 4);
    for row in SHAPE {
        for c in row.bytes().chain(std::iter::repeat(b' ')).take(ARROW_W) {
            // B, G, R, A
            let px: [u8; 4] = match c {
                b'X' => [0, 0, 0, 255],
                b'.' => [255, 255, 255, 255],
                _ => [0, 0, 0, 0],
            };
            pixels.extend_from_slice(&px);
        }
    }
    pixels
}
