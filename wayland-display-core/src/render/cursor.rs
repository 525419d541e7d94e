//! The pointer as drawn into frames: the client's cursor surface, or for named cursors
//! (`wl_pointer.set_cursor` with no surface, cursor-shape-v1) the shape from the installed
//! Xcursor theme, with a built-in arrow for the default shape and for any shape the host
//! has no theme for.

use std::collections::HashMap;
use std::sync::Mutex;

use smithay::input::pointer::CursorIcon;

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
use smithay::utils::{Buffer, Logical, Physical, Point, Transform};
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
    /// The built-in arrow at each buffer scale drawn so far.
    arrows: HashMap<i32, CursorImage>,
    /// Shapes looked up in the theme so far, per buffer scale; `None`: the theme has none
    /// (the arrow stands in).
    named: HashMap<(CursorIcon, i32), Option<CursorImage>>,
    theme: xcursor::CursorTheme,
}

/// One cursor picture, for the renderer and (the same pixels) for the pass-through path.
struct CursorImage {
    /// The pixels with their buffer scale, so that they are drawn at the cursor's logical
    /// size whatever the output's scale.
    buffer: MemoryRenderBuffer,
    /// Premultiplied ARGB8888, tightly packed.
    pixels: Vec<u8>,
    width: usize,
    height: usize,
    /// In the image's pixels.
    hotspot: Point<i32, Buffer>,
    /// Image pixels per logical pixel.
    buffer_scale: i32,
}

impl CursorImage {
    fn new(
        pixels: Vec<u8>,
        width: usize,
        height: usize,
        hotspot: (i32, i32),
        buffer_scale: i32,
    ) -> Option<Self> {
        let size = (i32::try_from(width).ok()?, i32::try_from(height).ok()?);
        Some(Self {
            buffer: MemoryRenderBuffer::from_slice(
                &pixels,
                Fourcc::Argb8888,
                size,
                buffer_scale,
                Transform::Normal,
                None,
            ),
            pixels,
            width,
            height,
            hotspot: hotspot.into(),
            buffer_scale,
        })
    }

    /// The output pixel its top-left corner goes at, for the pointer at `location` on an
    /// output of `scale`: the hotspot under the pointer, as the renderer draws it.
    fn origin(&self, location: Point<f64, Logical>, scale: f64) -> Point<i32, Physical> {
        let per_pixel = scale / f64::from(self.buffer_scale.max(1));
        let hotspot = Point::<f64, Physical>::from((
            f64::from(self.hotspot.x) * per_pixel,
            f64::from(self.hotspot.y) * per_pixel,
        ));
        let at = location.to_physical(scale);
        Point::<f64, Physical>::from((at.x - hotspot.x, at.y - hotspot.y)).to_i32_round()
    }
}

/// The buffer scale cursor images are drawn at on an output of `scale`: the next whole one
/// up, so they are never drawn larger than their pixels.
fn buffer_scale_for(scale: f64) -> i32 {
    smithay::output::Scale::Fractional(scale).integer_scale()
}

/// Themes draw cursors at several sizes; this is the one chosen (`XCURSOR_SIZE` overrides).
const CURSOR_SIZE: u32 = 24;
/// Larger images in a theme file are not used: a cursor is small.
const MAX_CURSOR_SIDE: u32 = 256;
/// Theme files larger than this are not read.
const MAX_THEME_FILE: u64 = 4 << 20;

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
        let theme = std::env::var("XCURSOR_THEME").unwrap_or_else(|_| "default".to_owned());
        Self {
            arrows: HashMap::new(),
            named: HashMap::new(),
            theme: xcursor::CursorTheme::load(&theme),
        }
    }

    /// Makes the picture about to be drawn for an output of `scale`, once per shape and
    /// scale.
    pub(crate) fn prepare(&mut self, status: &CursorImageStatus, scale: f64) {
        let CursorImageStatus::Named(icon) = status else {
            return;
        };
        let buffer_scale = buffer_scale_for(scale);
        if !self.arrows.contains_key(&buffer_scale)
            && let Some(arrow) = arrow_image(buffer_scale)
        {
            self.arrows.insert(buffer_scale, arrow);
        }
        if *icon == CursorIcon::Default || self.named.contains_key(&(*icon, buffer_scale)) {
            return;
        }
        let image = load_icon(&self.theme, *icon, buffer_scale);
        if image.is_none() {
            tracing::debug!(icon = icon.name(), "no theme cursor; drawing the arrow");
        }
        self.named.insert((*icon, buffer_scale), image);
    }

    /// The picture for a named shape: the theme's when loaded, else the arrow; `None`
    /// before [`prepare`](Self::prepare) made one.
    fn image(&self, icon: &CursorIcon, scale: f64) -> Option<&CursorImage> {
        let buffer_scale = buffer_scale_for(scale);
        self.named
            .get(&(*icon, buffer_scale))
            .and_then(Option::as_ref)
            .or_else(|| self.arrows.get(&buffer_scale))
    }

    /// What the pass-through path has to draw over the client's buffer, on an output of
    /// `scale`. Placed exactly as the renderer places it, so both paths give the same
    /// pixels; at a fractional scale the renderer resamples the picture, so it draws.
    pub(crate) fn overlay(&self, state: &CursorState<'_>, scale: f64) -> Overlay<'_> {
        if !state.visible {
            return Overlay::None;
        }
        match state.status {
            CursorImageStatus::Hidden => Overlay::None,
            CursorImageStatus::Named(icon) => match self.image(icon, scale) {
                Some(image) if f64::from(image.buffer_scale) == scale => Overlay::Image {
                    pixels: &image.pixels,
                    width: image.width,
                    height: image.height,
                    at: image.origin(state.location, scale),
                },
                _ => Overlay::NeedsRenderer,
            },
            CursorImageStatus::Surface(surface) if !surface.is_alive() => Overlay::None,
            CursorImageStatus::Surface(_) => Overlay::NeedsRenderer,
        }
    }

    /// The cursor's elements on an output of `scale`.
    pub(crate) fn elements<R>(
        &self,
        renderer: &mut R,
        state: &CursorState<'_>,
        scale: f64,
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
            CursorImageStatus::Named(icon) => {
                let Some(image) = self.image(icon, scale) else {
                    return Vec::new();
                };
                match MemoryRenderBufferRenderElement::from_buffer(
                    renderer,
                    image.origin(state.location, scale).to_f64(),
                    &image.buffer,
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
                    .to_physical(scale)
                    .to_i32_round();
                render_elements_from_surface_tree(renderer, surface, at, scale, 1.0, Kind::Cursor)
            }
        }
    }
}

/// The theme's picture of `icon` at the cursor size times `buffer_scale` (under its name or
/// an alias), if the theme has one that reads.
fn load_icon(
    theme: &xcursor::CursorTheme,
    icon: CursorIcon,
    buffer_scale: i32,
) -> Option<CursorImage> {
    let path = std::iter::once(icon.name())
        .chain(icon.alt_names().iter().copied())
        .find_map(|name| theme.load_icon(name))?;
    let file = std::fs::File::open(&path).ok()?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_THEME_FILE), &mut bytes).ok()?;
    let want = std::env::var("XCURSOR_SIZE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(CURSOR_SIZE)
        .saturating_mul(u32::try_from(buffer_scale).ok()?);
    let image = xcursor::parser::parse_xcursor(&bytes)?
        .into_iter()
        .filter(|i| i.width <= MAX_CURSOR_SIDE && i.height <= MAX_CURSOR_SIDE)
        .min_by_key(|i| (i.size.abs_diff(want), i.delay))?;
    let width = usize::try_from(image.width).ok()?;
    let height = usize::try_from(image.height).ok()?;
    if image.pixels_rgba.len() != width.checked_mul(height)?.checked_mul(4)? {
        return None;
    }
    let hotspot = (
        i32::try_from(image.xhot.min(image.width)).ok()?,
        i32::try_from(image.yhot.min(image.height)).ok()?,
    );
    // The crate's "rgba" is the file's own order: premultiplied ARGB32, little-endian.
    CursorImage::new(image.pixels_rgba, width, height, hotspot, buffer_scale)
}

/// The built-in arrow, each of its pixels `buffer_scale` x `buffer_scale` image pixels.
fn arrow_image(buffer_scale: i32) -> Option<CursorImage> {
    let k = usize::try_from(buffer_scale).ok().filter(|&k| k > 0)?;
    let small = arrow_pixels();
    let (width, height) = (ARROW_W.checked_mul(k)?, ARROW_H.checked_mul(k)?);
    let mut pixels = Vec::with_capacity(width.checked_mul(height)?.checked_mul(4)?);
    for row in small.chunks_exact(ARROW_W * 4) {
        let mut wide = Vec::with_capacity(width * 4);
        for pixel in row.chunks_exact(4) {
            for _ in 0..k {
                wide.extend_from_slice(pixel);
            }
        }
        for _ in 0..k {
            pixels.extend_from_slice(&wide);
        }
    }
    CursorImage::new(pixels, width, height, (0, 0), buffer_scale)
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
