//! When each frame is due, in running time.
//!
//! Live: frame `n` of a run is due at `epoch + n * duration`, the epoch being the running
//! time of the run's first frame; a source that fell more than a frame behind starts a new
//! run at "now" (skipping, rather than bursting to catch up). Not live: frames are stamped
//! back to back from zero.

use gst::ClockTime;

#[derive(Debug, Default)]
pub(crate) struct Pacer {
    epoch: Option<ClockTime>,
    /// Frames since the epoch.
    n: u64,
    /// End of the last unpaced frame.
    unpaced_end: ClockTime,
    /// Set when frames were skipped; the next buffer is a discontinuity.
    skipped: bool,
}

impl Pacer {
    /// Starts a new run at the next frame, e.g. after the frame rate changed.
    pub(crate) fn restart(&mut self) {
        self.epoch = None;
        self.n = 0;
    }

    /// Running time at which the next live frame is due, given the current running time.
    pub(crate) fn next_live(&mut self, now: ClockTime, duration: ClockTime) -> ClockTime {
        let epoch = *self.epoch.get_or_insert(now);
        // Saturating: a frame due "at the end of time" is never waited for, not a panic.
        let mut due = epoch.saturating_add(duration.saturating_mul(self.n));
        if now > due.saturating_add(duration) {
            self.epoch = Some(now);
            self.n = 0;
            self.skipped = true;
            due = now;
        }
        self.n = self.n.saturating_add(1);
        due
    }

    /// Timestamp of the next frame when not live.
    pub(crate) fn next_unpaced(&mut self, duration: ClockTime) -> ClockTime {
        let pts = self.unpaced_end;
        self.unpaced_end = pts.saturating_add(duration);
        pts
    }

    /// Whether frames were skipped since the last call.
    pub(crate) fn take_discont(&mut self) -> bool {
        std::mem::take(&mut self.skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: ClockTime = ClockTime::from_mseconds(10);

    #[test]
    fn live_frames_are_due_a_duration_apart() {
        let mut p = Pacer::default();
        let start = ClockTime::from_seconds(5);
        assert_eq!(p.next_live(start, D), start);
        assert_eq!(
            p.next_live(start + ClockTime::from_mseconds(3), D),
            start + D
        );
        assert_eq!(p.next_live(start + D, D), start + D * 2);
        assert!(!p.take_discont());
    }

    #[test]
    fn falling_behind_skips_ahead_and_marks_a_discontinuity() {
        let mut p = Pacer::default();
        p.next_live(ClockTime::ZERO, D);
        let late = ClockTime::from_mseconds(55);
        assert_eq!(p.next_live(late, D), late);
        assert!(p.take_discont());
        assert!(!p.take_discont());
        assert_eq!(p.next_live(late, D), late + D);
    }

    #[test]
    fn restart_begins_a_new_run_now() {
        let mut p = Pacer::default();
        for i in 0..100 {
            p.next_live(D * i, D);
        }
        p.restart();
        let now = D * 100 + ClockTime::from_mseconds(1);
        let slow = ClockTime::from_mseconds(40);
        assert_eq!(p.next_live(now, slow), now);
        assert_eq!(p.next_live(now, slow), now + slow);
    }

    #[test]
    fn unpaced_frames_are_back_to_back_across_rate_changes() {
        let mut p = Pacer::default();
        assert_eq!(p.next_unpaced(D), ClockTime::ZERO);
        assert_eq!(p.next_unpaced(D), D);
        p.restart();
        let slow = ClockTime::from_mseconds(40);
        assert_eq!(p.next_unpaced(slow), D * 2);
        assert_eq!(p.next_unpaced(slow), D * 2 + slow);
    }
}
