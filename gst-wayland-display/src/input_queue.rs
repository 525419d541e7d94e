//! A bounded queue of input events waiting for a lobby, shared by the host (before the
//! worker's pipe) and the worker (before the pipeline). Pointer motion that waits behind
//! more pointer motion is folded into it: only where the pointer ends up matters, so a
//! backlog of motion costs one event, not thousands.

use std::collections::VecDeque;

use waylanddisplaycore::InputEvent;

/// An event waiting, and how many events given to [`Pending::push`] it stands for.
#[derive(Debug, PartialEq)]
struct Queued {
    event: InputEvent,
    weight: u64,
}

/// A batch that did not fit: nothing of it was queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Full {
    pub(crate) capacity: usize,
}

#[derive(Debug)]
pub(crate) struct Pending {
    queue: VecDeque<Queued>,
    capacity: usize,
}

/// What `b` following `a` amounts to, if one event can say it: the later absolute position,
/// or the two relative moves added (unless the sum leaves the finite numbers).
fn folded(a: &InputEvent, b: &InputEvent) -> Option<InputEvent> {
    match (a, b) {
        (InputEvent::MouseMoveAbsolute { .. }, InputEvent::MouseMoveAbsolute { .. }) => {
            Some(b.clone())
        }
        (
            InputEvent::MouseMoveRelative {
                pointer_x: ax,
                pointer_y: ay,
            },
            InputEvent::MouseMoveRelative {
                pointer_x: bx,
                pointer_y: by,
            },
        ) => {
            let (x, y) = (ax + bx, ay + by);
            (x.is_finite() && y.is_finite()).then_some(InputEvent::MouseMoveRelative {
                pointer_x: x,
                pointer_y: y,
            })
        }
        _ => None,
    }
}

/// `next` folded into `last` if it can be; otherwise `next` back.
fn fold_into(last: Option<&mut Queued>, next: Queued) -> Option<Queued> {
    let Some(last) = last else {
        return Some(next);
    };
    match folded(&last.event, &next.event) {
        Some(event) => {
            last.event = event;
            last.weight = last.weight.saturating_add(next.weight);
            None
        }
        None => Some(next),
    }
}

impl Pending {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            capacity,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues all of `events` (folded) or, if they would not fit, none of them.
    pub(crate) fn push(&mut self, events: Vec<InputEvent>) -> Result<(), Full> {
        let mut batch: Vec<Queued> = Vec::with_capacity(events.len());
        for event in events {
            let next = Queued { event, weight: 1 };
            if let Some(next) = fold_into(batch.last_mut(), next) {
                batch.push(next);
            }
        }
        let joins = match (self.queue.back(), batch.first()) {
            (Some(last), Some(first)) => folded(&last.event, &first.event).is_some(),
            _ => false,
        };
        let adds = batch.len().saturating_sub(usize::from(joins));
        if self.queue.len().saturating_add(adds) > self.capacity {
            return Err(Full {
                capacity: self.capacity,
            });
        }
        for next in batch {
            if let Some(next) = fold_into(self.queue.back_mut(), next) {
                self.queue.push_back(next);
            }
        }
        Ok(())
    }

    /// Up to `max` events from the front, and how many pushed events they stand for.
    pub(crate) fn take(&mut self, max: usize) -> (Vec<InputEvent>, u64) {
        let n = max.min(self.queue.len());
        let mut weight = 0u64;
        let events = self
            .queue
            .drain(..n)
            .map(|q| {
                weight = weight.saturating_add(q.weight);
                q.event
            })
            .collect();
        (events, weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(x: f64, y: f64) -> InputEvent {
        InputEvent::MouseMoveRelative {
            pointer_x: x,
            pointer_y: y,
        }
    }

    fn abs(x: f64, y: f64) -> InputEvent {
        InputEvent::MouseMoveAbsolute {
            pointer_x: x,
            pointer_y: y,
        }
    }

    fn key(pressed: bool) -> InputEvent {
        InputEvent::KeyboardKey { key: 30, pressed }
    }

    #[test]
    fn waiting_motion_is_folded_and_everything_else_kept_in_order() {
        let mut pending = Pending::new(16);
        pending
            .push(vec![
                rel(1.0, 2.0),
                rel(3.0, -1.0),
                abs(5.0, 5.0),
                abs(7.0, 8.0),
            ])
            .unwrap();
        // Folds into what already waits, too.
        pending
            .push(vec![abs(9.0, 9.0), key(true), key(false)])
            .unwrap();
        pending.push(vec![rel(1.0, 1.0)]).unwrap();
        assert_eq!(pending.len(), 5);
        let (events, weight) = pending.take(usize::MAX);
        assert_eq!(
            events,
            [
                rel(4.0, 1.0),
                abs(9.0, 9.0),
                key(true),
                key(false),
                rel(1.0, 1.0)
            ]
        );
        assert_eq!(weight, 8);
        assert!(pending.is_empty());
    }

    #[test]
    fn sums_that_leave_the_finite_numbers_are_not_folded() {
        let mut pending = Pending::new(16);
        pending
            .push(vec![rel(f64::MAX, 0.0), rel(f64::MAX, 0.0)])
            .unwrap();
        assert_eq!(pending.len(), 2);
    }

    #[test]
    fn a_batch_that_does_not_fit_is_refused_whole() {
        let mut pending = Pending::new(3);
        pending.push(vec![key(true), key(false)]).unwrap();
        assert_eq!(
            pending.push(vec![key(true), key(false)]),
            Err(Full { capacity: 3 })
        );
        assert_eq!(pending.len(), 2);
        // Motion that folds into the last waiting event takes no room.
        pending.push(vec![abs(1.0, 1.0)]).unwrap();
        pending.push(vec![abs(2.0, 2.0), abs(3.0, 3.0)]).unwrap();
        assert_eq!(pending.len(), 3);
        let (first, weight) = pending.take(2);
        assert_eq!(first, [key(true), key(false)]);
        assert_eq!(weight, 2);
        assert_eq!(pending.take(5), (vec![abs(3.0, 3.0)], 3));
    }
}
