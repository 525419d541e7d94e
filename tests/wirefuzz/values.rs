//! Argument values by type: mostly plausible ones, so that a connection lives long enough to
//! reach deep states, and in a request marked wild the edges where parsers and arithmetic
//! break (zero, -1, the extremes, sizes that overflow when multiplied, non-UTF-8 text).

use crate::rng::Rng;

const EDGE_INTS: &[i32] = &[
    0,
    1,
    -1,
    2,
    -2,
    i32::MIN,
    i32::MAX,
    i32::MIN + 1,
    i32::MAX - 1,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    -0x1_0000,
    1 << 24,
    1 << 30,
    -(1 << 30),
    0x4000_0000 / 4,
    46341, // its square overflows i32
    65536 * 4,
];

/// Sizes, positions and strides a real client would use.
const SIZES: &[i32] = &[
    1, 2, 4, 8, 10, 16, 32, 64, 100, 128, 240, 256, 320, 480, 512, 640, 720, 1024, 1080, 1280,
    1920, 2048, 4096, 8192,
];

/// Formats of `wl_shm`, DRM fourccs and modifiers' halves.
const FORMATS: &[u32] = &[
    0,           // wl_shm argb8888
    1,           // wl_shm xrgb8888
    0x3432_5241, // AR24
    0x3432_5258, // XR24
    0x3432_4241, // AB24
    0x3432_4258, // XB24
    0x3031_3241, // AR30
    0x3231_564e, // NV12
    0x2020_3852, // R8
    0x3631_4752, // RG16
    0x00ff_ffff,
    0xffff_ffff,
];

const WORDS: &[&[u8]] = &[
    b"",
    b"a",
    b"wayland-test-client",
    b"org.example.App",
    b"text/plain",
    b"text/plain;charset=utf-8",
    b"UTF8_STRING",
    b"wl_compositor",
    b"xdg_wm_base",
    b" ",
    b"../../../../etc/passwd",
    b"%s%s%s%n",
    b"\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x99\x82",
];

pub struct Values<'a> {
    pub rng: &'a mut Rng,
    /// Unsigned values the compositor sent lately (serials, mostly).
    pub seen: &'a [u32],
    pub wild: bool,
    /// Allowed to break the protocol (a null string where none is allowed).
    pub broken: bool,
}

impl Values<'_> {
    pub fn int(&mut self) -> i32 {
        let roll = self.rng.below(100);
        if !self.wild {
            return match roll {
                0..=39 => self.rng.range(-1, 64) as i32,
                40..=89 => *self.rng.pick(SIZES).unwrap_or(&1),
                _ => self.rng.range(0, 4096) as i32,
            };
        }
        match roll {
            0..=19 => self.rng.range(-2, 64) as i32,
            20..=54 => *self.rng.pick(EDGE_INTS).unwrap_or(&0),
            55..=69 => {
                let size = *self.rng.pick(SIZES).unwrap_or(&1);
                if self.rng.chance(30) {
                    -size
                } else {
                    size.saturating_mul(4)
                }
            }
            70..=79 => self.seen_value() as i32,
            _ => self.rng.next_u32() as i32,
        }
    }

    pub fn uint(&mut self) -> u32 {
        let roll = self.rng.below(100);
        match roll {
            0..=24 if !self.seen.is_empty() => self.seen_value(),
            0..=39 => self.rng.range(0, 10) as u32,
            40..=54 => 1 << self.rng.below(32),
            55..=69 => *self.rng.pick(FORMATS).unwrap_or(&0),
            70..=84 => *self.rng.pick(SIZES).unwrap_or(&1) as u32,
            _ if !self.wild => self.rng.range(0, 64) as u32,
            85..=94 => *self.rng.pick(EDGE_INTS).unwrap_or(&0) as u32,
            _ => self.rng.next_u32(),
        }
    }

    /// 24.8 fixed point, as raw bits.
    pub fn fixed(&mut self) -> i32 {
        if !self.wild || self.rng.chance(50) {
            let whole = if self.wild {
                self.int()
            } else {
                self.rng.range(-16, 2048) as i32
            };
            whole.saturating_mul(256)
                | if self.rng.chance(20) {
                    self.rng.below(256) as i32
                } else {
                    0
                }
        } else {
            *self.rng.pick(EDGE_INTS).unwrap_or(&0)
        }
    }

    /// The bytes of a string (the writer adds the NUL); `None` is the null string, which
    /// only a broken request sends where null is not allowed.
    pub fn string(&mut self, nullable: bool) -> Option<Vec<u8>> {
        let null_percent = match (nullable, self.broken) {
            (true, _) => 10,
            (false, true) => 50,
            (false, false) => 0,
        };
        if self.rng.chance(null_percent) {
            return None;
        }
        let roll = self.rng.below(100);
        Some(match roll {
            0..=59 => self.rng.pick(WORDS).map(|w| w.to_vec()).unwrap_or_default(),
            60..=79 => {
                let len = self.rng.below(64);
                (0..len).map(|_| self.rng.range(0x20, 0x7e) as u8).collect()
            }
            _ if !self.wild => b"gwd-wire-fuzz".to_vec(),
            80..=89 => {
                // Not UTF-8, with NULs inside now and then.
                let len = 1 + self.rng.below(32);
                (0..len).map(|_| self.rng.below(256) as u8).collect()
            }
            _ => vec![b'x'; 256 + self.rng.below(2800)],
        })
    }

    pub fn array(&mut self) -> Vec<u8> {
        match self.rng.below(100) {
            0..=29 => Vec::new(),
            30..=69 => {
                let len = 1 + self.rng.below(64);
                (0..len).map(|_| self.rng.below(256) as u8).collect()
            }
            70..=84 => (0..1 + self.rng.below(16))
                .flat_map(|_| self.uint().to_ne_bytes())
                .collect(),
            _ if !self.wild => vec![0; 4],
            // About the size of a small keymap, within one message.
            _ => vec![self.rng.below(256) as u8; 1000 + self.rng.below(2900)],
        }
    }

    /// A memfd size: mostly what an image needs, sometimes nothing or a huge sparse file.
    pub fn memfd_size(&mut self) -> u64 {
        match self.rng.below(100) {
            0..=59 => {
                let w = *self.rng.pick(SIZES).unwrap_or(&1) as u64;
                let h = *self.rng.pick(SIZES).unwrap_or(&1) as u64;
                (w * h * 4).min(64 << 20)
            }
            60..=69 => 0,
            70..=79 => 1 + self.rng.below(4096) as u64,
            _ if !self.wild => 4096,
            80..=89 => 1 << 31,
            _ => (1 << 32) + 4096,
        }
    }

    fn seen_value(&mut self) -> u32 {
        self.rng.pick(self.seen).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tame_values_stay_plausible() {
        let mut rng = Rng::new(3);
        let mut v = Values {
            rng: &mut rng,
            seen: &[],
            wild: false,
            broken: false,
        };
        for _ in 0..1000 {
            assert!((-1..=8192).contains(&v.int()));
            assert!(v.string(false).is_some());
            assert!(v.memfd_size() <= 64 << 20);
        }
    }
}
