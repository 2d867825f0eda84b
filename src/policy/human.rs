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

    /// Records a page at `t_ms` and draws how long it waits for an acknowledgement.
    pub fn page<R: Rng + ?Sized>(&mut self, rng: &mut R, t_ms: u64) -> u64 {
        let mut factor = self.tiredness(t_ms);
        if Self::is_night(t_ms) {
            factor *= self.human.night_factor;
        }
        if self.weekend {
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
        assert_eq!(day.page(&mut rng, 12 * HOUR_MS), 600_000);
        let mut night = HumanModel::new(&h, false, vec![]);
        assert_eq!(night.page(&mut rng, 3 * HOUR_MS), 1_800_000);
        let mut weekend_night = HumanModel::new(&h, true, vec![]);
        assert_eq!(weekend_night.page(&mut rng, 23 * HOUR_MS), 3_600_000);
        assert!(HumanModel::is_night(22 * HOUR_MS) && !HumanModel::is_night(7 * HOUR_MS));
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
        assert_eq!(m.page(&mut rng, 12 * HOUR_MS), 840_000);
        // Now 5 recent pages: wrong calls 0.1 x 1.5.
        assert!((m.right_probability(12 * HOUR_MS) - 0.85).abs() < 1e-12);
        // A day later they have all aged out.
        assert_eq!(m.recent_pages(40 * HOUR_MS), 0);
    }
}
