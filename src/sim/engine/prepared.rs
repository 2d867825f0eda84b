//! What every replication of a scenario shares: the service model, the blocks its traffic
//! is drawn in, each service of a system prepared as its own scenario with the classes of
//! the system's calls, and the caller's stop flag. Computed once per experiment, read by
//! every replication.

use crate::model::blocks::Blocks;
use crate::model::system::{CallClasses, Demand};
use crate::model::{tabulate_swings, ServiceModel};
use crate::scenario::Scenario;
use std::sync::atomic::{AtomicBool, Ordering};

/// What every replication of a scenario shares, computed once per experiment.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    pub scenario: &'a Scenario,
    pub(super) model: ServiceModel,
    /// The caller's stop flag (Ctrl-C): once set, replications end at once, cut short.
    pub(super) stop: Option<&'a AtomicBool>,
    /// Each service of a system, prepared as its own scenario (empty for one service).
    pub(super) services: Vec<Prepared<'a>>,
    /// The system's calls grouped by what they make of their callee (empty for one
    /// service): each class's effect is computed once per interval, not once per call.
    pub(super) classes: CallClasses,
    /// The services whose request rate follows their callers' retries, and what it adds
    /// up (empty for one service, or when no call retries).
    pub(super) demand: Demand,
    /// The blocks a single service's traffic is drawn in, where they are exact (see
    /// `model::blocks`; never for a service of a system).
    pub(super) blocks: Option<Blocks>,
    /// Whether it is a service of a system whose traffic is drawn from sub-streams keyed
    /// by block, pooled where nobody observes it (see `model::blocks`, "In a system"):
    /// always, but for [`Prepared::scrape_by_scrape`].
    pub(super) keyed: bool,
}

/// Events between two looks at the stop flag: a replication notices a stop within about
/// a millisecond, and the look costs nothing measurable.
pub(super) const STOP_EVERY: u32 = 4096;

impl<'a> Prepared<'a> {
    /// Precomputes the service model of `scenario`.
    pub fn new(scenario: &'a Scenario) -> Self {
        Prepared::build(scenario, true)
    }

    /// The same, with every interval's traffic drawn one by one from sequential streams,
    /// never in blocks (see `model::blocks`): the reference the block path is measured
    /// and tested against (its distributions are the same; its draws are not). A system's
    /// services then draw from sequential streams, interval by interval, never pooled.
    pub fn scrape_by_scrape(scenario: &'a Scenario) -> Self {
        Prepared::build(scenario, false)
    }

    /// [`Prepared::new`], with blocks where `blocks` allows them (not for the services of
    /// a system, whose load its callers change at every tick).
    fn build(scenario: &'a Scenario, blocks: bool) -> Self {
        let (mut services, classes, demand): (Vec<Prepared<'a>>, _, _) = match &scenario.system {
            Some(system) => {
                let classes = CallClasses::new(system);
                let demand = Demand::new(system, &classes);
                let services = system
                    .services
                    .iter()
                    .map(|s| Prepared {
                        keyed: blocks,
                        ..Prepared::build(&s.scenario, false)
                    })
                    .collect();
                (services, classes, demand)
            }
            None => (Vec::new(), CallClasses::default(), Demand::default()),
        };
        // A system's services compute their rates at every tick, mostly the same swing.
        tabulate_swings(
            services.iter_mut().map(|s| &mut s.model),
            scenario.scrape_interval_ms,
            scenario.duration_ms,
        );
        let model = ServiceModel::new(scenario);
        let blocks = if blocks && scenario.system.is_none() {
            Blocks::new(&model, scenario)
        } else {
            None
        };
        Prepared {
            scenario,
            model,
            stop: None,
            services,
            classes,
            demand,
            blocks,
            keyed: false,
        }
    }

    /// The same, with replications that end early, cut short, once `stop` is set, so
    /// Ctrl-C stops even one long run promptly. A record made while the flag was set is
    /// incomplete: the caller drops it (see [`Prepared::stopped`]).
    pub fn with_stop(scenario: &'a Scenario, stop: Option<&'a AtomicBool>) -> Self {
        let mut p = Prepared::new(scenario);
        p.stop = stop;
        for s in &mut p.services {
            s.stop = stop;
        }
        p
    }

    /// Whether the stop flag is set. Read after a replication: unset, the replication ran
    /// to its horizon (the flag is only ever set, never cleared).
    pub fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }
}
