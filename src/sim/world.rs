//! The ground truth of one run, drawn before any policy acts and shared by all of them.

use super::rng::{run_seed, stream, Stream};
use crate::model::faults::{realize, FaultWindow};
use crate::scenario::Scenario;
use rand::Rng;

/// What is true in run `run`, whatever the policy does.
#[derive(Debug, Clone, PartialEq)]
pub struct World {
    pub run: u64,
    pub seed: u64,
    /// Whether the new version is bad.
    pub release_bad: bool,
    /// Every fault occurrence, in scenario order.
    pub faults: Vec<FaultWindow>,
    /// The model time at which the run starts: 0 for a run (00:00 on a Thursday); a
    /// release train's slot starts at its own clock time, so its traffic follows the
    /// day and the week (see [`crate::model::ServiceModel::rate_at`]).
    pub clock_ms: u64,
}

impl World {
    /// The truth of run `run` of an experiment with master seed `master_seed`: the one
    /// way every command (run, sweep, trace, game day, calibrate) picks a run's world, so
    /// run `k` of one is run `k` of all of them.
    pub fn for_run(scenario: &Scenario, master_seed: u64, run: u64) -> World {
        World::draw(scenario, run, run_seed(master_seed, run))
    }

    /// Draws the truth of the run whose seed is `seed`.
    pub fn draw(scenario: &Scenario, run: u64, seed: u64) -> World {
        let release_bad =
            stream(seed, Stream::Release).random::<f64>() < scenario.release.bad_probability;
        let faults = realize(
            &scenario.faults,
            scenario.duration_ms,
            &mut stream(seed, Stream::Faults),
        );
        World {
            run,
            seed,
            release_bad,
            faults,
            clock_ms: 0,
        }
    }
}
