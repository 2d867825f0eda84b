//! The on-call human behind a manual checkpoint: how long a page waits for an
//! acknowledgement and how often the call is right, at night, on weekends and when tired.
//!
//! Ack time is the scenario's distribution times `night_factor` between 22:00 and 07:00,
//! times `weekend_factor` on a weekend day, times `1 + fatigue * n` where `n` counts the
//! pages of the last 24 hours (the run's own and the background pages of the rest of the
//! on-call's services). The wrong-call probability `1 - right_call` grows by the same
//! fatigue factor, up to a coin toss.

use crate::check::Human;
use rand::Rng;

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: i64 = 24 * 3_600_000;
/// Model time 0 is a Thursday 00:00 (`model::START_IN_WEEK_MS`): day 0 is this many days
/// after a Monday.
const START_WEEKDAY: u64 = 3;

/// The human of one run.
#[derive(Debug, Clone)]
pub struct HumanModel<'a> {
    human: &'a Human,
    weekend: bool,
    /// Times of every page the on-call got (negative: the day before the run).
    pages: Vec<i64>,
}

impl<'a> HumanModel<'a> {
    /// A human on a weekday or weekend day, with these earlier and background pages.
    pub fn new(human: &'a Human, weekend: bool, mut background: Vec<i64>) -> Self {
        background.sort_unstable();
        HumanModel {
            human,
            weekend,
            pages: background,
        }
    }

    /// Whether `t_ms` (from 00:00 of the run's day) is night: 22:00 to 07:00.
    pub fn is_night(t_ms: u64) -> bool {
        let hour = (t_ms / HOUR_MS) % 24;
        !(7..22).contains(&hour)
    }

    /// Whether a page at `t_ms` into a run that starts at model time `clock_ms` comes on
    /// a weekend day. A one-release run (`clock_ms` 0) is on `[human] day`; a release
    /// train's slot knows its day of the week from its clock (Saturday and Sunday).
    fn weekend_at(&self, clock_ms: u64, t_ms: u64) -> bool {
        if clock_ms == 0 {
            return self.weekend;
        }
        let day = (clock_ms + t_ms) / DAY_MS as u64 + START_WEEKDAY;
        day % 7 >= 5
    }

    /// Pages in the 24 hours up to and including `t_ms`.
    pub fn recent_pages(&self, t_ms: u64) -> usize {
        let t = t_ms as i64;
        self.pages
            .iter()
            .filter(|&&p| p > t - DAY_MS && p <= t)
            .count()
    }

    fn tiredness(&self, t_ms: u64) -> f64 {
        1.0 + self.human.fatigue * self.recent_pages(t_ms) as f64
    }

    /// Records a page at `t_ms` into a run that starts at model time `clock_ms` (0 for a
    /// one-release run, a release train's slot at its clock time: see `World::clock_ms`)
    /// and draws how long it waits for an acknowledgement. Night and weekend are those of
    /// the clock: a slot that starts at 20:00 pages at 03:00 seven hours in.
    pub fn page<R: Rng + ?Sized>(&mut self, rng: &mut R, t_ms: u64, clock_ms: u64) -> u64 {
        let mut factor = self.tiredness(t_ms);
        if Self::is_night(clock_ms + t_ms) {
            factor *= self.human.night_factor;
        }
        if self.weekend_at(clock_ms, t_ms) {
            factor *= self.human.weekend_factor;
        }
        self.pages.push(t_ms as i64);
        (self.human.ack.sample(rng) as f64 * factor).round() as u64
    }

    /// Probability that the human makes the right call at `t_ms`.
    pub fn right_probability(&self, t_ms: u64) -> f64 {
        let wrong = ((1.0 - self.human.right_call) * self.tiredness(t_ms)).min(0.5);
        1.0 - wrong
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{parse, DurationDist};
    use crate::sim::rng::{stream, Stream};

    fn human() -> Human {
        let mut h = parse("", "t").expect("defaults").human;
        h.ack = DurationDist::Fixed(600_000);
        h
    }

    #[test]
    fn night_and_weekend_stretch_the_ack_time() {
        let h = human();
        let mut rng = stream(1, Stream::Human);
        let mut day = HumanModel::new(&h, false, vec![]);
        assert_eq!(day.page(&mut rng, 12 * HOUR_MS, 0), 600_000);
        let mut night = HumanModel::new(&h, false, vec![]);
        assert_eq!(night.page(&mut rng, 3 * HOUR_MS, 0), 1_800_000);
        let mut weekend_night = HumanModel::new(&h, true, vec![]);
        assert_eq!(weekend_night.page(&mut rng, 23 * HOUR_MS, 0), 3_600_000);
        assert!(HumanModel::is_night(22 * HOUR_MS) && !HumanModel::is_night(7 * HOUR_MS));
    }

    #[test]
    fn a_slot_pages_at_its_clock_time() {
        // Ack 10 min; night x3, weekend x2.
        let h = human();
        let mut rng = stream(1, Stream::Human);
        let mut m = HumanModel::new(&h, false, vec![]);
        let day = 24 * HOUR_MS;
        // A slot starting on Monday 20:00 (model day 4, model time 0 a Thursday): a page
        // 7 h in comes at Tuesday 03:00, a night page; one 2 h in at 22:00, night too;
        // one 1 h in at 21:00, not.
        let monday_20h = 4 * day + 20 * HOUR_MS;
        assert_eq!(m.page(&mut rng, 7 * HOUR_MS, monday_20h), 3 * 600_000);
        let mut m = HumanModel::new(&h, false, vec![]);
        assert_eq!(m.page(&mut rng, 2 * HOUR_MS, monday_20h), 3 * 600_000);
        let mut m = HumanModel::new(&h, false, vec![]);
        assert_eq!(m.page(&mut rng, HOUR_MS, monday_20h), 600_000);
        // A slot starting on Friday 23:00 (day 8) pages on Saturday 10:00 eleven hours in:
        // a weekend day, whatever `day` says; Friday 12:00 is a weekday even for a
        // weekend human (the clock decides in a train).
        let friday_23h = 8 * day + 23 * HOUR_MS;
        let mut m = HumanModel::new(&h, false, vec![]);
        assert_eq!(m.page(&mut rng, 11 * HOUR_MS, friday_23h), 2 * 600_000);
        let mut m = HumanModel::new(&h, true, vec![]);
        assert_eq!(m.page(&mut rng, 13 * HOUR_MS, 8 * day - HOUR_MS), 600_000);
        // Sunday 03:00: both.
        let mut m = HumanModel::new(&h, false, vec![]);
        assert_eq!(m.page(&mut rng, 4 * HOUR_MS, friday_23h + day), 6 * 600_000);
    }

    #[test]
    fn fatigue_grows_with_pages_of_the_last_day() {
        let h = human();
        let mut rng = stream(2, Stream::Human);
        // Five pages yesterday evening, one of them more than 24 h before noon.
        let m = HumanModel::new(
            &h,
            false,
            vec![
                -13 * 3_600_000,
                -10 * 3_600_000,
                -5 * 3_600_000,
                -3 * 3_600_000,
                -1,
            ],
        );
        assert_eq!(m.recent_pages(12 * HOUR_MS), 4);
        let mut m = m;
        // 10 min x (1 + 0.1 x 4) = 14 min
        assert_eq!(m.page(&mut rng, 12 * HOUR_MS, 0), 840_000);
        // Now 5 recent pages: wrong calls 0.1 x 1.5.
        assert!((m.right_probability(12 * HOUR_MS) - 0.85).abs() < 1e-12);
        // A day later they have all aged out.
        assert_eq!(m.recent_pages(40 * HOUR_MS), 0);
    }
}
