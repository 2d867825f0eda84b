//! `warm_up`: new pods look slow and failing for their first minutes. The pods that began
//! to serve together form a cohort, and each scrape shows the cohorts' mean decay.

use super::SignalFaults;

/// New pods that began to serve together (at a deploy or a step) and their share of all
/// traffic, warming up from `start_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Cohort {
    pub(super) start_ms: u64,
    pub(super) share: f64,
}

/// The mean of `e^(-age/decay)` over an interval of `dt_ms` that starts at `age_ms`: how
/// warm-up shows in one scrape (exact for the exponential decay).
pub fn mean_decay(age_ms: u64, dt_ms: u64, decay_ms: u64) -> f64 {
    let (a, d, tau) = (age_ms as f64, dt_ms.max(1) as f64, decay_ms.max(1) as f64);
    tau / d * ((-a / tau).exp() - (-(a + d) / tau).exp())
}

impl SignalFaults {
    /// Follows the new version's share: a rise is a cohort of new pods (a deploy is a rise
    /// from 0), a fall removes pods of every cohort alike.
    pub(super) fn track(&mut self, t: u64, share: f64) {
        if self.decay_max_ms == 0 {
            return;
        }
        if share > self.share {
            self.cohorts.push(Cohort {
                start_ms: t,
                share: share - self.share,
            });
        } else if share < self.share {
            if share <= 0.0 {
                self.cohorts.clear();
            } else {
                let kept = share / self.share;
                self.cohorts.iter_mut().for_each(|c| c.share *= kept);
            }
        }
        self.share = share;
        // Past 40 decays a cohort's warm-up is below e^-40: gone.
        let horizon = self.decay_max_ms.saturating_mul(40);
        self.cohorts.retain(|c| t - c.start_ms < horizon);
    }

    /// The weight of warm-up in the new version's scrape of `[t, t + dt)` for a decay of
    /// `decay_ms`: each cohort's share of the version's traffic times its mean decay.
    pub fn warm_weight(&self, t: u64, dt: u64, decay_ms: u64) -> f64 {
        if self.share <= 0.0 {
            return 0.0;
        }
        let w: f64 = self
            .cohorts
            .iter()
            .map(|c| c.share / self.share * mean_decay(t - c.start_ms, dt, decay_ms))
            .sum();
        w.min(1.0)
    }
}
