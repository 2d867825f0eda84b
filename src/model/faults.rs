//! Fault schedules made concrete: for one run, the list of (start, end) windows of every
//! fault, drawn once from the run's fault stream before any policy acts.

use super::Effects;
use crate::scenario::{Fault, Schedule};
use rand::Rng;
use rand_distr::{Distribution, Exp};
use std::borrow::Cow;

/// One occurrence of a fault in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultWindow {
    /// Index of the fault in the scenario's list.
    pub fault: usize,
    pub start_ms: u64,
    /// Exclusive end, clipped to the horizon.
    pub end_ms: u64,
}

/// Draws every fault's occurrences in `[0, horizon_ms)`, in scenario order.
pub fn realize<R: Rng + ?Sized>(
    faults: &[Fault],
    horizon_ms: u64,
    rng: &mut R,
) -> Vec<FaultWindow> {
    let mut out = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        let mut starts = Vec::new();
        match f.schedule {
            Schedule::Injected => {}
            Schedule::At(t) => starts.push(t),
            Schedule::Once {
                probability,
                window: (lo, hi),
            } => {
                let u: f64 = rng.random();
                let t = rng.random_range(lo..hi.max(lo + 1));
                if u < probability {
                    starts.push(t);
                }
            }
            Schedule::Poisson {
                rate_per_ms,
                window: (lo, hi),
            } => {
                if let Ok(gap) = Exp::new(rate_per_ms) {
                    let mut t = lo as f64;
                    loop {
                        t += gap.sample(rng);
                        if t >= hi as f64 {
                            break;
                        }
                        starts.push(t as u64);
                    }
                }
            }
        }
        for start_ms in starts {
            let d = f.duration.sample(rng);
            out.push(FaultWindow {
                fault: i,
                start_ms,
                end_ms: start_ms.saturating_add(d).min(horizon_ms),
            });
        }
    }
    out
}

/// The fault occurrences of one service in one run (the world's, then those injected
/// live), which of them are active, and their combined effect.
#[derive(Debug, Clone)]
pub struct ActiveFaults<'w> {
    windows: Cow<'w, [FaultWindow]>,
    active: Vec<bool>,
    effects: Effects,
}

impl<'w> ActiveFaults<'w> {
    /// The world's occurrences, none active yet.
    pub fn new(windows: &'w [FaultWindow]) -> Self {
        ActiveFaults {
            windows: Cow::Borrowed(windows),
            active: vec![false; windows.len()],
            effects: Effects::default(),
        }
    }

    /// Every occurrence, in the order they were added.
    pub fn windows(&self) -> &[FaultWindow] {
        &self.windows
    }

    /// The combined effect of the active occurrences.
    pub fn effects(&self) -> &Effects {
        &self.effects
    }

    /// Occurrence `i` starts (`on`) or ends; `faults` are the scenario's.
    pub fn set(&mut self, i: usize, on: bool, faults: &[Fault]) {
        self.active[i] = on;
        self.effects = Effects::combine(
            self.windows
                .iter()
                .zip(&self.active)
                .filter(|(_, a)| **a)
                .map(|(w, _)| &faults[w.fault].effect),
        );
    }

    /// Adds an occurrence (a live inject); returns its index.
    pub fn push(&mut self, window: FaultWindow) -> usize {
        self.windows.to_mut().push(window);
        self.active.push(false);
        self.windows.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;
    use crate::sim::rng::{stream, Stream};

    #[test]
    fn poisson_faults_arrive_at_the_stated_rate() {
        let s = parse(
            "[[faults]]\nkind = \"dependency_outage\"\nrate_per_hour = 0.5\nduration = \"1m\"\n",
            "t",
        )
        .unwrap();
        let mut total = 0usize;
        let runs = 4000;
        for r in 0..runs {
            let mut rng = stream(r, Stream::Faults);
            total += realize(&s.faults, s.duration_ms, &mut rng).len();
        }
        // 24 h at 0.5/h: mean 12 per run; sd of the mean = sqrt(12/4000) ~ 0.055.
        let mean = total as f64 / runs as f64;
        assert!((mean - 12.0).abs() < 0.25, "mean arrivals {mean}");
    }

    #[test]
    fn once_faults_occur_with_their_probability() {
        let s = parse(
            "[[faults]]\nkind = \"node_loss\"\nprobability = 0.3\nwindow = [\"1h\", \"2h\"]\nduration = \"10m\"\n",
            "t",
        )
        .unwrap();
        let runs = 10_000;
        let mut hits = 0;
        for r in 0..runs {
            let w = realize(&s.faults, s.duration_ms, &mut stream(r, Stream::Faults));
            for f in &w {
                assert!(f.start_ms >= 3_600_000 && f.start_ms < 7_200_000);
                assert_eq!(f.end_ms - f.start_ms, 600_000);
            }
            hits += w.len();
        }
        let p = hits as f64 / runs as f64;
        // sd = sqrt(0.3*0.7/10000) ~ 0.0046
        assert!((p - 0.3).abs() < 0.02, "probability {p}");
    }
}
