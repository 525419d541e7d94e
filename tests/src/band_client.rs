//! What `wayland-test-client --animate --damage band` shows: its quadrants pattern with a
//! band of inverted rows that moves each frame, its frame counter in the top-left pixel,
//! and the compositor's arrow over it. The pass-through and YUV tests compute every frame
//! they receive from this.

/// The client's size in these tests (its output's mode).
pub const W: i32 = 320;
pub const H: i32 = 240;
/// Frame `n` inverts rows `band_top(n)` onwards, `BAND_ROWS` of them.
pub const BAND_ROWS: i32 = 16;
const BAND_STEP: i32 = 7;

pub fn band_top(n: u32) -> i32 {
    (n as i32 * BAND_STEP) % (H - BAND_ROWS)
}

/// The client's quadrants pattern, as (B, G, R).
pub fn pattern(x: i32, y: i32) -> [u8; 3] {
    match (x < W / 2, y < H / 2) {
        (true, true) => [0, 0, 255],
        (false, true) => [0, 255, 0],
        (true, false) => [255, 0, 0],
        (false, false) => [255, 255, 255],
    }
}

/// The picture with the band at `top`, the counter pixel holding `n`, and the arrow
/// (`builtin_cursor()`) at `pointer`, as (B, G, R) pixels row by row.
pub fn picture(
    top: i32,
    n: u32,
    pointer: (i32, i32),
    arrow: &(usize, usize, Vec<u8>),
) -> Vec<[u8; 3]> {
    let mut picture = Vec::with_capacity((W * H) as usize);
    for y in 0..H {
        for x in 0..W {
            let mut px = pattern(x, y);
            if (top..top + BAND_ROWS).contains(&y) {
                px = px.map(|c| !c);
            }
            picture.push(px);
        }
    }
    picture[0] = [n as u8, (n >> 8) as u8, (n >> 16) as u8];
    // The arrow is opaque or transparent, pixel by pixel: no rounding to agree on.
    let (aw, ah, pixels) = arrow;
    for ay in 0..*ah as i32 {
        for ax in 0..*aw as i32 {
            let (x, y) = (pointer.0 + ax, pointer.1 + ay);
            let at = (ay as usize * aw + ax as usize) * 4;
            if x < W && y < H && pixels[at + 3] == 255 {
                picture[(y * W + x) as usize] = [pixels[at], pixels[at + 1], pixels[at + 2]];
            }
        }
    }
    picture
}

/// Frame `n` of the client with the pointer at `pointer`.
pub fn expected(n: u32, pointer: (i32, i32), arrow: &(usize, usize, Vec<u8>)) -> Vec<[u8; 3]> {
    picture(band_top(n), n, pointer, arrow)
}

/// `picture` as tightly packed BGRx.
pub fn to_bgrx(picture: &[[u8; 3]]) -> Vec<u8> {
    picture
        .iter()
        .flat_map(|&[b, g, r]| [b, g, r, 0xff])
        .collect()
}

/// The pointer position before frame `i` of a test's sequence: it moves every frame,
/// across the whole output.
pub fn pointer_at(i: u32) -> (i32, i32) {
    (20 + (i as i32 * 37) % 300, 10 + (i as i32 * 23) % 230)
}

/// Moves the pointer to where it is before frame `i` of the sequence and takes that frame.
pub fn frame_at(
    display: &waylanddisplaycore::WaylandDisplay,
    i: u32,
) -> ((i32, i32), waylanddisplaycore::Frame) {
    let pointer = pointer_at(i);
    display
        .input(waylanddisplaycore::InputEvent::MouseMoveAbsolute {
            pointer_x: f64::from(pointer.0),
            pointer_y: f64::from(pointer.1),
        })
        .unwrap();
    (pointer, display.frame().unwrap())
}
