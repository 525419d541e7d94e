//! A few output buffers reused in turn, each remembering which frame it last held so the
//! damage tracker redraws only what changed since then. The same bookkeeping serves
//! system-memory images and GPU DMABufs.

use std::collections::VecDeque;
use std::sync::Arc;

use super::RenderError;
use super::frame::{DmabufImage, Frame, FrameMemory, FrameSource, OutputFormat, OutputImage};
use super::passthrough::CopyTag;
use super::yuv::{Colorimetry, Rows, Source};

/// What a pool holds.
pub(crate) trait PoolImage: Sized {
    fn memory(image: &Arc<Self>) -> FrameMemory;
    /// Bytes per row of the first plane.
    fn stride(&self) -> u32;
}

impl PoolImage for OutputImage {
    fn memory(image: &Arc<Self>) -> FrameMemory {
        FrameMemory::System(image.clone())
    }

    fn stride(&self) -> u32 {
        self.image.stride() as u32
    }
}

impl PoolImage for DmabufImage {
    fn memory(image: &Arc<Self>) -> FrameMemory {
        FrameMemory::DmaBuf(image.clone())
    }

    fn stride(&self) -> u32 {
        self.dmabuf.strides().next().unwrap_or(0)
    }
}

/// Free images kept for reuse; more than this are released once downstream returns them.
const IDLE_KEEP: usize = 3;

/// Frames whose changed rows are remembered, for converting into images that held an
/// older one; further back, an image is converted whole.
const HISTORY: usize = 16;

/// What an image holds, which decides how much of it the next frame must redraw.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Content {
    /// Nothing known (new image): everything is drawn.
    Fresh,
    /// A frame the renderer drew; its damage tracker knows what changed since.
    Composed,
    /// A client buffer copied by the pass-through path.
    Copied(CopyTag),
    /// A YUV conversion of a picture.
    Yuv(Source),
}

struct Slot<I> {
    image: Arc<I>,
    /// Number of the frame whose content the image holds.
    rendered: u64,
    content: Content,
}

impl<I> Slot<I> {
    /// No [`Frame`] shares the image (the pool never makes weak references).
    fn is_free(&self) -> bool {
        Arc::strong_count(&self.image) == 1
    }
}

pub(crate) struct OutputPool<I> {
    format: OutputFormat,
    width: u32,
    height: u32,
    slots: Vec<Slot<I>>,
    /// Frames rendered so far; the newest image holds frame number `rendered`.
    rendered: u64,
    /// For the latest frames (number, rows that changed from the one before, `None` when
    /// unknown), newest last.
    history: VecDeque<(u64, Option<Rows>)>,
    /// How a YUV pool's frames encode colours.
    pub(crate) colorimetry: Option<Colorimetry>,
}

impl<I: PoolImage> OutputPool<I> {
    pub(crate) fn new(format: OutputFormat, width: u32, height: u32) -> Self {
        Self {
            format,
            width,
            height,
            slots: Vec::new(),
            rendered: 0,
            history: VecDeque::new(),
            colorimetry: None,
        }
    }

    pub(crate) fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub(crate) fn format(&self) -> OutputFormat {
        self.format
    }

    /// A free image and its age in frames for the renderer's damage tracker (0: draw
    /// everything); a new one from `alloc` when all are in use downstream. Frames copied
    /// by the pass-through path count in the age, which only widens the damage.
    pub(crate) fn acquire(
        &mut self,
        alloc: impl FnOnce() -> Result<I, RenderError>,
    ) -> Result<(usize, usize), RenderError> {
        self.trim_idle();
        // The freshest free image needs the least redrawing.
        let best = (0..self.slots.len())
            .filter(|&i| self.slots[i].is_free())
            .max_by_key(|&i| self.slots[i].rendered);
        if let Some(i) = best {
            let slot = &self.slots[i];
            let age = match slot.content {
                Content::Composed => (self.rendered + 1 - slot.rendered) as usize,
                Content::Fresh | Content::Copied(_) | Content::Yuv(_) => 0,
            };
            return Ok((i, age));
        }
        self.slots.push(Slot {
            image: Arc::new(alloc()?),
            rendered: 0,
            content: Content::Fresh,
        });
        Ok((self.slots.len() - 1, 0))
    }

    /// Releases free images beyond [`IDLE_KEEP`], oldest first, never the newest one (it
    /// is what an unchanged frame repeats).
    fn trim_idle(&mut self) {
        loop {
            let free = self.slots.iter().filter(|s| s.is_free()).count();
            if free <= IDLE_KEEP {
                return;
            }
            let oldest = (0..self.slots.len())
                .filter(|&i| self.slots[i].is_free() && self.slots[i].rendered != self.rendered)
                .min_by_key(|&i| self.slots[i].rendered);
            match oldest {
                Some(i) => {
                    self.slots.swap_remove(i);
                }
                None => return,
            }
        }
    }

    pub(crate) fn image_mut(&mut self, slot: usize) -> Result<&mut I, RenderError> {
        self.slots
            .get_mut(slot)
            .and_then(|s| Arc::get_mut(&mut s.image))
            .ok_or_else(|| RenderError::Draw("output image is in use downstream".to_owned()))
    }

    /// Forgets what `slot` holds, after a failed write left it part old and part new: it
    /// is drawn whole next time.
    pub(crate) fn forget(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.content = Content::Fresh;
        }
    }

    /// What `slot` holds.
    pub(crate) fn content(&self, slot: usize) -> &Content {
        self.slots.get(slot).map_or(&Content::Fresh, |s| &s.content)
    }

    /// Records that `slot` now holds the newest frame, drawn by the renderer, which
    /// changed `changed` rows from the frame before (`None`: unknown), and hands that
    /// frame out.
    pub(crate) fn rendered(
        &mut self,
        slot: usize,
        changed: Option<Rows>,
    ) -> Result<Frame, RenderError> {
        self.filled(slot, Content::Composed, changed)
    }

    /// Like [`rendered`](Self::rendered), for a frame the pass-through path copied.
    pub(crate) fn copied(&mut self, slot: usize, tag: CopyTag) -> Result<Frame, RenderError> {
        self.filled(slot, Content::Copied(tag), None)
    }

    /// Records that `slot` now holds the newest frame, made as `content` says.
    pub(crate) fn filled(
        &mut self,
        slot: usize,
        content: Content,
        changed: Option<Rows>,
    ) -> Result<Frame, RenderError> {
        let s = self
            .slots
            .get_mut(slot)
            .ok_or_else(|| RenderError::Draw("output image vanished".to_owned()))?;
        self.rendered += 1;
        s.rendered = self.rendered;
        s.content = content;
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back((self.rendered, changed));
        Ok(self.frame(slot, false))
    }

    /// The rows that changed after frame `since` up to the newest one; `None` when that
    /// is no longer (or was never) known.
    pub(crate) fn changed_since(&self, since: u64) -> Option<Rows> {
        if since > self.rendered {
            return None;
        }
        let mut rows = Rows::default();
        let mut expect = since + 1;
        for (seq, changed) in &self.history {
            if *seq < expect {
                continue;
            }
            if *seq != expect {
                return None;
            }
            rows.extend(changed.as_ref()?);
            expect += 1;
        }
        (expect == self.rendered + 1).then_some(rows)
    }

    /// The newest frame again, if there is one.
    pub(crate) fn last_frame(&self) -> Option<Frame> {
        if self.rendered == 0 {
            return None;
        }
        let slot = self
            .slots
            .iter()
            .position(|s| s.rendered == self.rendered)?;
        Some(self.frame(slot, true))
    }

    fn frame(&self, slot: usize, repeated: bool) -> Frame {
        let s = &self.slots[slot];
        Frame {
            memory: I::memory(&s.image),
            format: self.format,
            width: self.width,
            height: self.height,
            stride: s.image.stride(),
            seq: s.rendered,
            repeated,
            source: match s.content {
                Content::Copied(_) | Content::Yuv(Source::Client(_)) => FrameSource::ClientBuffer,
                Content::Fresh
                | Content::Composed
                | Content::Yuv(Source::Rendered(_) | Source::Gpu) => FrameSource::Composed,
            },
            colorimetry: self.colorimetry,
        }
    }
}

impl OutputPool<OutputImage> {
    /// [`acquire`](Self::acquire) allocating system-memory images.
    pub(crate) fn acquire_system(&mut self) -> Result<(usize, usize), RenderError> {
        let (format, width, height) = (self.format, self.width, self.height);
        self.acquire(|| {
            OutputImage::new(format, width, height).ok_or(RenderError::Alloc {
                width,
                height,
                format,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pool = OutputPool<OutputImage>;

    #[test]
    fn reuses_free_images_and_reports_ages() {
        let mut pool = Pool::new(OutputFormat::Bgrx, 8, 4);
        let (a, age) = pool.acquire_system().unwrap();
        assert_eq!(age, 0);
        let first = pool.rendered(a, None).unwrap();
        assert_eq!(first.data().len(), 8 * 4 * 4);

        // Downstream holds the first frame: the next one goes to a new image.
        let (b, age) = pool.acquire_system().unwrap();
        assert_ne!(a, b);
        assert_eq!(age, 0);
        let second = pool.rendered(b, None).unwrap();

        // Both released: the newest image is reused, one frame old.
        drop((first, second));
        let (c, age) = pool.acquire_system().unwrap();
        assert_eq!(c, b);
        assert_eq!(age, 1);
    }

    #[test]
    fn last_frame_shares_memory() {
        let mut pool = Pool::new(OutputFormat::Rgba, 2, 2);
        assert!(pool.last_frame().is_none());
        let (a, _) = pool.acquire_system().unwrap();
        let frame = pool.rendered(a, None).unwrap();
        let again = pool.last_frame().unwrap();
        assert!(again.repeated);
        assert!(frame.same_memory(&again));
        assert_eq!(frame.seq, again.seq);
    }

    #[test]
    fn copied_images_are_redrawn_whole_and_marked() {
        use crate::render::frame::FrameSource;
        let mut pool = Pool::new(OutputFormat::Bgrx, 2, 2);
        let (a, _) = pool.acquire_system().unwrap();
        let frame = pool.rendered(a, None).unwrap();
        assert_eq!(frame.source, FrameSource::Composed);
        drop(frame);
        let (b, age) = pool.acquire_system().unwrap();
        assert_eq!((b, age), (a, 1));
        let frame = pool.copied(b, CopyTag::for_tests()).unwrap();
        assert_eq!(frame.source, FrameSource::ClientBuffer);
        assert!(matches!(pool.content(b), Content::Copied(_)));
        assert_eq!(pool.last_frame().unwrap().source, FrameSource::ClientBuffer);
        drop(frame);
        // The renderer's damage tracker never saw the copied frame: it must draw it all.
        let (c, age) = pool.acquire_system().unwrap();
        assert_eq!((c, age), (b, 0));
    }

    #[test]
    fn changed_rows_are_remembered_for_recent_frames() {
        let mut pool = Pool::new(OutputFormat::Bgrx, 2, 40);
        let rows = |r: std::ops::Range<usize>| {
            let mut rows = Rows::default();
            rows.add(r);
            rows
        };
        for changed in [Some(rows(0..2)), Some(rows(10..12)), Some(rows(4..6))] {
            let (i, _) = pool.acquire_system().unwrap();
            pool.rendered(i, changed).unwrap();
        }
        let mut expect = rows(10..12);
        expect.add(4..6);
        assert_eq!(pool.changed_since(1), Some(expect));
        assert_eq!(pool.changed_since(3), Some(Rows::default()));
        assert_eq!(pool.changed_since(4), None);
        // An unknown step (a copied frame) makes everything before it unknown.
        let (i, _) = pool.acquire_system().unwrap();
        pool.copied(i, CopyTag::for_tests()).unwrap();
        assert_eq!(pool.changed_since(3), None);
        assert_eq!(pool.changed_since(4), Some(Rows::default()));
        // Older than the history: unknown.
        for _ in 0..=HISTORY {
            let (i, _) = pool.acquire_system().unwrap();
            pool.rendered(i, Some(Rows::default())).unwrap();
        }
        assert_eq!(pool.changed_since(4), None);
        assert_eq!(pool.changed_since(5), Some(Rows::default()));
    }

    #[test]
    fn a_forgotten_image_is_drawn_whole() {
        let mut pool = Pool::new(OutputFormat::Bgrx, 2, 2);
        let (a, _) = pool.acquire_system().unwrap();
        drop(pool.rendered(a, None).unwrap());
        assert_eq!(pool.acquire_system().unwrap(), (a, 1));
        pool.forget(a);
        assert_eq!(pool.content(a), &Content::Fresh);
        assert_eq!(pool.acquire_system().unwrap(), (a, 0));
    }

    #[test]
    fn idle_images_are_trimmed() {
        let mut pool = Pool::new(OutputFormat::Bgrx, 2, 2);
        let held: Vec<_> = (0..6)
            .map(|_| {
                let (i, _) = pool.acquire_system().unwrap();
                pool.rendered(i, None).unwrap()
            })
            .collect();
        assert_eq!(pool.slots.len(), 6);
        drop(held);
        pool.acquire_system().unwrap();
        assert_eq!(pool.slots.len(), IDLE_KEEP);
    }
}
