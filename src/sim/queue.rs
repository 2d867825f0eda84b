//! The event queue: events ordered by (time, phase, insertion sequence).
//!
//! At one millisecond, every [`Phase::Change`] event (deploys, traffic steps, faults)
//! fires before any [`Phase::Sample`] event (scrape ticks: the scrapes due reach the
//! policy, then the truth of the interval that starts is drawn), and every tick before any
//! [`Phase::Probe`] (health checks), so an observation always sees the state of its own
//! instant, whatever order the events were scheduled in. Within a phase, events fire in
//! the order they were scheduled, so a run never depends on how a heap breaks ties.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// When, within one instant, an event fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// A command from outside the simulation (a game-day team's action, replayed from its
    /// recording): fires before anything else of its instant, which is exactly when a live
    /// command applies (after every event before its instant, before any at it).
    Command = 0,
    /// Changes the state.
    Change = 1,
    /// Draws the truth of the scrape interval that starts (after every change of the same
    /// instant), once the scrapes due have reached the policy.
    Sample = 2,
    /// Probes the truth (fires after every change and every tick of the same instant, so
    /// a probe reads the interval that starts at its instant, not the one that ended).
    Probe = 3,
}

#[derive(Clone)]
struct Entry<E> {
    time_ms: u64,
    phase: Phase,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    fn key(&self) -> (u64, Phase, u64) {
        (self.time_ms, self.phase, self.seq)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse so the earliest key comes out first.
        other.key().cmp(&self.key())
    }
}

/// A priority queue of events in simulated time.
#[derive(Clone)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::with_capacity(16),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules a state change at `time_ms`.
    pub fn push(&mut self, time_ms: u64, event: E) {
        self.push_in(time_ms, Phase::Change, event);
    }

    /// Schedules `event` at `time_ms` in the given phase of that instant.
    pub fn push_in(&mut self, time_ms: u64, phase: Phase, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            time_ms,
            phase,
            seq,
            event,
        });
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.time_ms)
    }

    /// The time and phase of the earliest event, if any.
    pub fn peek_key(&self) -> Option<(u64, Phase)> {
        self.heap.peek().map(|e| (e.time_ms, e.phase))
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.heap.pop().map(|e| (e.time_ms, e.event))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_fire_before_samples_of_the_same_instant() {
        let mut q = EventQueue::default();
        q.push_in(10, Phase::Sample, "tick");
        q.push(10, "deploy");
        q.push_in(5, Phase::Sample, "early tick");
        q.push(10, "step");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|e| e.1).collect();
        assert_eq!(order, vec!["early tick", "deploy", "step", "tick"]);
    }

    #[test]
    fn probes_fire_after_the_ticks_of_the_same_instant() {
        let mut q = EventQueue::default();
        // A 20 s probe scheduled at 40 s, a 15 s tick scheduled later, at 45 s.
        q.push_in(60, Phase::Probe, "probe");
        q.push_in(60, Phase::Sample, "tick");
        q.push(60, "deploy");
        q.push_in(60, Phase::Command, "rollback");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|e| e.1).collect();
        assert_eq!(order, vec!["rollback", "deploy", "tick", "probe"]);
    }

    #[test]
    fn same_time_events_fire_in_insertion_order() {
        let mut q = EventQueue::default();
        q.push(10, "b1");
        q.push(5, "a");
        q.push(10, "b2");
        q.push(10, "b3");
        q.push(7, "x");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![(5, "a"), (7, "x"), (10, "b1"), (10, "b2"), (10, "b3")]
        );
    }
}
