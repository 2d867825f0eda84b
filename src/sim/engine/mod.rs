//! The engine: one replication of one policy against one run's world, from time 0 to the
//! horizon. It holds the agenda (the event queue) and dispatches each event to the stage
//! it concerns, in one direction:
//!
//! model (the truth of each service and release) -> signals (what can be observed) ->
//! policy and response (decisions become actions on the model) -> outcome (the scorer).
//!
//! Services and releases are values in collections; events carry their indices.

use super::agenda::{Agenda, Event};
use super::command::Timed;
use super::queue::Phase as At;
use super::trace::Trace;
use super::world::World;
use crate::model::release::{Phase, Release, ReleaseSpec};
use crate::model::service::Service;
use crate::model::system::CalleeState;
use crate::outcome::{RunRecord, Scorer};
use crate::response::{Response, Run};
use crate::scenario::{MigrationWhen, PolicyRule, PolicySpec};
use crate::signals::exposition::Exposition;
use crate::signals::Signals;

mod live;
mod pooled;
mod prepared;
mod sample;
mod skip;
mod system;
pub use live::{Live, LiveEnd, LiveView};
pub use prepared::Prepared;
use prepared::STOP_EVERY;
pub use system::{
    replicate_system, replicate_system_events, replicate_system_release, replicate_system_traced,
};

struct Replication<'a, 'w> {
    p: &'a Prepared<'a>,
    world: &'w World,
    agenda: Agenda,
    services: Vec<Service<'a, 'w>>,
    releases: Vec<Release>,
    signals: Signals,
    response: Response<'a>,
    scorer: Scorer,
    /// Game-day metrics exposed to the team; `None` otherwise.
    exposition: Option<Box<Exposition>>,
    /// Events before this instant have been processed.
    now_ms: u64,
    /// The instant the current [`Self::advance`] stops before.
    until_ms: u64,
    /// Whether this replication is one service of a system: only then does it keep what
    /// its callers see of it (`last`, `seen_error`); a single service skips that work.
    in_system: bool,
    /// Whether its release deploys at all: in a system's release train, only the service
    /// whose release it is deploys; the others serve their current version all along.
    deploys: bool,
    /// The last interval's truth of service 0, as its callers see it (in a system).
    last: CalleeState,
    /// The error ratio of the last scrape delivered (both versions), while a release of
    /// service 0 exists: what a dependency-aware caller may see of it.
    seen_error: Option<f64>,
    /// Whether its policy reads scrapes: only then are scrapes drawn in an untraced run,
    /// so only then does `seen_error` follow them (a timeline draws scrapes for its rows,
    /// which must not change what a dependency-aware caller sees).
    reads_scrapes: bool,
    /// When the current release of service 0 last started to deploy (public knowledge).
    deployed_ms: Option<u64>,
    /// Per service, while nobody reads its health checks: the number of its next check.
    /// Those checks are not scheduled at all (a check draws at its own position in the
    /// health stream, so skipping them moves no other draw); an event that makes the
    /// policy watch again schedules them anew (see [`Self::unpark_probes`]).
    parked_probes: Vec<Option<u64>>,
    /// Whether any entry of `parked_probes` is set.
    probes_parked: bool,
    /// The instant of each service's next scrape tick. Ticks recur every scrape interval
    /// all run long, so they wait here instead of in the queue; they fire exactly where
    /// the queue would fire them: in the Sample phase of their instant (the only events
    /// of that phase), in service order.
    next_ticks: Vec<u64>,
    /// Whether a caller that holds on its dependencies reads `seen_error` (in a system,
    /// when its policy reads scrapes): then its scrapes are observed while its release
    /// exists, and its blocks are not pooled (see `pooled.rs`).
    seen_by_callers: bool,
    /// The rows of a pooled block of a traced service, written when its counts are drawn.
    pooled_rows: Vec<pooled::PooledRow>,
}

/// Runs `spec` against `world` and scores the outcome.
pub fn replicate(p: &Prepared<'_>, world: &World, spec: &PolicySpec) -> RunRecord {
    replicate_with(p, world, spec, None).0
}

/// Like [`replicate`], with the time the release was last promoted (reached all of
/// production), if it was: where a release train's lead time for changes ends.
pub fn replicate_promoted(
    p: &Prepared<'_>,
    world: &World,
    spec: &PolicySpec,
) -> (RunRecord, Option<u64>) {
    let mut r = Replication::new(p, world, spec, None, false);
    r.start();
    r.advance(p.scenario.duration_ms);
    let promoted = r.releases.first().and_then(|x| x.promoted_ms);
    (r.finish().0, promoted)
}

/// Like [`replicate`], and records the timeline. The outcome is the same: recording draws
/// observations the policy may not need, from streams that only feed observations.
pub fn replicate_traced(p: &Prepared<'_>, world: &World, spec: &PolicySpec) -> (RunRecord, Trace) {
    let (r, t) = replicate_with(p, world, spec, Some(Trace::default()));
    (r, t.unwrap_or_default())
}

/// Replays a recorded game: `spec` with the team's commands at their instants, pages
/// left to the team (as in the game), traced. Equal to the game, event for event.
pub fn replicate_scripted(
    p: &Prepared<'_>,
    world: &World,
    spec: &PolicySpec,
    script: &[Timed],
) -> (RunRecord, Trace) {
    let mut r = Replication::new(p, world, spec, Some(Trace::default()), true);
    for c in script {
        r.agenda
            .at_in(c.at_ms, At::Command, Event::Command(c.command));
    }
    r.start();
    r.advance(p.scenario.duration_ms);
    let (record, trace) = r.finish();
    (record, trace.unwrap_or_default())
}

fn replicate_with(
    p: &Prepared<'_>,
    world: &World,
    spec: &PolicySpec,
    trace: Option<Trace>,
) -> (RunRecord, Option<Trace>) {
    let mut r = Replication::new(p, world, spec, trace, false);
    r.start();
    r.advance(p.scenario.duration_ms);
    r.finish()
}

impl<'a, 'w> Replication<'a, 'w> {
    /// A replication at time 0 (nothing scheduled yet: see [`Self::start`]); `live` sends
    /// pages to a team and keeps the exposed metrics of a game day.
    fn new(
        p: &'a Prepared<'a>,
        world: &'w World,
        spec: &'a PolicySpec,
        trace: Option<Trace>,
        live: bool,
    ) -> Self {
        let s = p.scenario;
        let response = Response::new(world.seed, s, spec, live);
        let mut needs = response.needs();
        let reads_scrapes = needs.scrapes;
        // Rows (a timeline's or a game's) show every scrape; a trace of events only draws
        // nothing the run would not draw, so it is the untraced run, event for event.
        let rows = live || trace.as_ref().is_some_and(|t| !t.events_only);
        if rows {
            needs.scrapes = true;
            needs.latency = true;
        }
        if rows && s.service.capacity_rps.is_some() {
            // A trace records the gauges for its replay, a game exposes them (their own
            // stream: nothing moves).
            needs.gauges = true;
        }
        if live {
            needs.health_checks = true;
        }
        let oracle_after_ms = match spec.rule {
            PolicyRule::Oracle { reaction_ms } if world.release_bad => {
                Some(s.release.bad.onset_ms + reaction_ms)
            }
            _ => None,
        };
        let after_promotion = s
            .data
            .iter()
            .flat_map(|d| d.migrations.iter())
            .enumerate()
            .filter_map(|(i, m)| match m.when {
                MigrationWhen::AfterPromotion { delay_ms } => Some((delay_ms, i)),
                _ => None,
            })
            .collect();
        let release = ReleaseSpec {
            service: 0,
            bad: world.release_bad,
            gates_every_step: response.gates_every_step(),
            passes_early: response.passes_steps_early(),
            bake_ms: s.release.bake_ms,
            oracle_after_ms,
            after_promotion,
        };
        let sigma = p.model.latency_sigma;
        // Nothing but the scorer's sums reads an interval's counts: no scrape drawn (a
        // trace and a game draw them all), no data store drawing from them.
        let counts_unread = !needs.scrapes && trace.is_none() && !live && s.data.is_none();
        // A train's slot at another time of day or week draws in blocks too: each block's
        // means are the model's at the slot's clock (see `model::blocks`).
        let service = Service::new(0, s, &p.model, &world.faults, world.seed, p.blocks.as_ref())
            .with_clock(world.clock_ms);
        let service = if p.keyed {
            service.keyed_by_block()
        } else {
            service
        };
        Replication {
            p,
            world,
            agenda: Agenda::new(trace),
            services: vec![if counts_unread {
                service.counts_unread()
            } else {
                service
            }],
            releases: vec![Release::new(0, release, &spec.rollout, s.service.replicas)],
            signals: {
                let signals = Signals::new(world.seed, s, needs, sigma).with_faults(
                    world.seed,
                    s,
                    world.faults.iter().map(|w| (w.fault, w.start_ms, w.end_ms)),
                );
                if p.blocks.is_some() || p.keyed {
                    signals.in_blocks()
                } else {
                    signals
                }
            },
            response,
            scorer: Scorer::new(
                RunRecord::new(
                    world.run,
                    world.seed,
                    &spec.name,
                    world.release_bad,
                    world.faults.len() as u32,
                ),
                s.slo.error_rate,
            ),
            exposition: live.then(|| Box::new(Exposition::new(world.seed, sigma))),
            now_ms: 0,
            until_ms: 0,
            in_system: false,
            deploys: true,
            last: CalleeState::default(),
            seen_error: None,
            reads_scrapes,
            deployed_ms: None,
            parked_probes: vec![None; 1], // one per service, as `services`
            probes_parked: false,
            next_ticks: vec![u64::MAX; 1],
            seen_by_callers: false,
            pooled_rows: Vec::new(),
        }
    }

    /// The response and what it acts on for release `r`.
    fn run(&mut self, r: usize) -> (&mut Response<'a>, Run<'_, 'a, 'w>) {
        let release = &mut self.releases[r];
        let service = &mut self.services[release.service()];
        let run = Run {
            release,
            service,
            scorer: &mut self.scorer,
            agenda: &mut self.agenda,
        };
        (&mut self.response, run)
    }

    /// Schedules what is known at time 0: faults, migrations, the deploys, the samplers.
    fn start(&mut self) {
        for s in &self.services {
            s.schedule(&mut self.agenda);
        }
        for r in self.releases.iter().filter(|_| self.deploys) {
            let release = r.index;
            self.agenda
                .at(self.p.scenario.release.at_ms, Event::Deploy { release });
        }
        for s in &self.services {
            let service = s.index;
            self.next_ticks[service] = 0;
            if !self.signals.needs().health_checks {
                continue;
            }
            if self.exposition.is_some() {
                self.agenda
                    .at_in(0, At::Probe, Event::HealthCheck { service });
            } else {
                // No release exists before its deploy, so no policy reads a check yet: they
                // wait parked from check 0 (as check 0 would park itself), and no check
                // queued at 0 keeps the first block of traffic from being fast-forwarded.
                self.parked_probes[service] = Some(0);
                self.probes_parked = true;
            }
        }
    }

    /// Processes every event before `until` (and before the horizon).
    fn advance(&mut self, until: u64) {
        let until = until.min(self.p.scenario.duration_ms);
        self.until_ms = until;
        let mut events = 0u32;
        loop {
            // The next tick (the earliest; the first service of an instant) and whether it
            // comes before the queue's next event: by time, then phase.
            let (mut tick_ms, mut service) = (u64::MAX, 0);
            for (s, &t) in self.next_ticks.iter().enumerate() {
                if t < tick_ms {
                    (tick_ms, service) = (t, s);
                }
            }
            let queued = self.agenda.queue.peek_key();
            let tick_first = queued.is_none_or(|key| (tick_ms, At::Sample) < key);
            let t = match queued {
                Some((t, _)) if !tick_first => t,
                _ => tick_ms,
            };
            if t >= until {
                break;
            }
            events = events.wrapping_add(1);
            if events % STOP_EVERY == 0 && self.p.stopped() {
                break;
            }
            let ev = if tick_first {
                Event::Tick { service }
            } else {
                let Some((_, ev)) = self.agenda.queue.pop() else {
                    break;
                };
                ev
            };
            self.now_ms = t;
            self.dispatch(t, ev);
        }
        self.now_ms = self.now_ms.max(until);
    }

    /// Hands event `ev` at `t` to the stage it concerns.
    fn dispatch(&mut self, t: u64, ev: Event) {
        match ev {
            Event::Tick { service } if self.p.keyed => self.tick_keyed(t, service),
            Event::Tick { service } => self.tick(t, service),
            Event::HealthCheck { service } => self.health_check(t, service),
            Event::Deploy { release } => {
                // A team may have re-deployed by hand before the pipeline's retry.
                if self.releases[release].phase == Phase::Idle {
                    self.deploy(t, release)
                }
            }
            Event::FaultStart { service, fault } => {
                self.services[service].set_fault(t, fault, true, &mut self.agenda)
            }
            Event::FaultEnd { service, fault } => {
                self.services[service].set_fault(t, fault, false, &mut self.agenda)
            }
            Event::Migration { service, migration } => {
                self.services[service].migrate(t, migration, &mut self.agenda)
            }
            Event::Command(c) => {
                self.command(t, c);
            }
            Event::Share { release, .. }
            | Event::Promote { release, .. }
            | Event::HumanAnswer { release, .. }
            | Event::ApprovalDue { release, .. }
            | Event::RollbackDone { release, .. }
            | Event::Oracle { release, .. }
            | Event::FixDeployed { release, .. }
            | Event::HoldExpires { release, .. } => {
                let (response, run) = self.run(release);
                response.on_event(t, ev, run);
            }
        }
        if self.probes_parked {
            self.unpark_probes(t);
        }
    }

    /// Schedules again the parked health checks of every service whose new version the
    /// policy now watches, from the first check at or after `t` (a check at `t` itself
    /// fires after the event that woke it: probes are the last phase of an instant), as
    /// if they had never stopped.
    fn unpark_probes(&mut self, t: u64) {
        let interval = self.p.scenario.health_check.interval_ms;
        let mut still = false;
        for (s, parked) in self.parked_probes.iter_mut().enumerate() {
            let Some(next) = *parked else {
                continue;
            };
            let release = &self.releases[self.services[s].release];
            if release.exists() && self.response.watching(release) {
                let k = next.max(t.div_ceil(interval));
                self.agenda
                    .at_in(k * interval, At::Probe, Event::HealthCheck { service: s });
                *parked = None;
            } else {
                still = true;
            }
        }
        self.probes_parked = still;
    }

    /// Takes over the state `shared` reached in a stretch where nothing depends on the
    /// policy (a system's run before its first deploy: no release exists, no observation
    /// is drawn): its agenda (with its timeline), services, clock, what its callers saw of
    /// it and its score so far, under this replication's policy. Its own release,
    /// signals, response and parked health checks stay as they started, as they would
    /// have stayed through that stretch.
    fn resume(&mut self, shared: &Replication<'a, 'w>) {
        let policy = self.scorer.policy().to_string();
        self.agenda = shared.agenda.clone();
        self.services = shared.services.clone();
        self.scorer = shared.scorer.clone().with_policy(&policy);
        self.now_ms = shared.now_ms;
        self.until_ms = shared.until_ms;
        self.next_ticks = shared.next_ticks.clone();
        self.last = shared.last;
        self.seen_error = shared.seen_error;
        self.deployed_ms = shared.deployed_ms;
    }

    /// The record of the run and its timeline.
    fn finish(self) -> (RunRecord, Option<Trace>) {
        let data = self.services[0].data.as_ref();
        (
            self.scorer.finish(&self.releases[0], data),
            self.agenda.trace,
        )
    }

    /// A deploy of release `r` starts at `t`.
    fn deploy(&mut self, t: u64, r: usize) {
        self.deployed_ms = Some(t);
        let (response, run) = self.run(r);
        let first = run.release.deploy(t, run.agenda);
        run.scorer.deployed(run.release.attempt);
        response.on_deploy();
        if first {
            // Coupled migrations run just before the new code, once.
            run.service.coupled_migrations(t, run.agenda);
        }
        self.signals.forget();
    }
}

#[cfg(test)]
mod tests;
