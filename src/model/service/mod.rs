//! A service in one run: its faults, its data store, its traffic, and the truth of its
//! versions at every instant. It is a value the engine holds in a collection, so a system
//! of services adds services without touching the loop.

use super::blocks::{Blocks, BLOCK_TICKS};
use super::data::DataState;
use super::faults::{ActiveFaults, FaultWindow};
use super::release::Release;
use super::system::Upstream;
use super::traffic::{Split, Traffic};
use super::{Effects, GaugeTruth, ServiceModel, VersionTruth};
use crate::scenario::{MigrationWhen, Scenario};
use crate::sim::agenda::{Agenda, Event};
use crate::sim::rng::sample::TailCache;

/// One service and its state in one run.
#[derive(Clone)]
pub struct Service<'a, 'w> {
    /// Its index in the engine's services (its events carry it).
    pub index: usize,
    /// The release rolling out on it (its index in the engine's releases).
    pub release: usize,
    scenario: &'a Scenario,
    /// The service's fixed parameters.
    pub model: &'a ServiceModel,
    faults: ActiveFaults<'w>,
    /// The record store, when the scenario has `[data]`.
    pub data: Option<DataState<'a>>,
    traffic: Traffic<'a>,
    /// The baseline error rate drawn for the current scrape interval (its drift path
    /// moves once per interval, at the tick).
    baseline: f64,
    slo_tail: [TailCache; 2],
    /// What its callees do to its requests (in a system; none otherwise).
    upstream: Option<Upstream>,
    /// Its request rate over the scenario's mean rate: in a system, callers' retries add
    /// attempts beyond the calls (1 otherwise, which leaves every rate bit for bit).
    load: f64,
    /// The model time at which the run starts (0 but in a release train's slot).
    clock_ms: u64,
}

/// The truth of one scrape interval `[t, t + dt)` of a service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Requests and truly failed requests, per version (old, new).
    pub served: Split,
    /// Each version's truth, before the data store's errors.
    pub truth: [VersionTruth; 2],
    /// Each version's probability to fail a request on an unreadable read.
    pub data_error: [f64; 2],
    /// The onset of a bad release's defect, once the interval is past it.
    pub onset_ms: Option<u64>,
}

impl Interval {
    /// Requests served.
    #[inline]
    pub fn total(&self) -> u64 {
        self.served.requests[0] + self.served.requests[1]
    }

    /// Requests that truly failed.
    #[inline]
    pub fn failed(&self) -> u64 {
        self.served.errors[0] + self.served.errors[1]
    }

    /// An interval's truth whose counts are drawn elsewhere (a block drawn at once, a
    /// pooled block): no requests, no data store errors.
    pub fn uncounted(truth: [VersionTruth; 2], onset_ms: Option<u64>) -> Self {
        Interval {
            served: Split {
                requests: [0; 2],
                errors: [0; 2],
            },
            truth,
            data_error: [0.0; 2],
            onset_ms,
        }
    }

    /// Each version's truth with the data store's errors.
    pub fn with_data(&self) -> [VersionTruth; 2] {
        let v = |i: usize| VersionTruth {
            error_prob: either(self.truth[i].error_prob, self.data_error[i]),
            ..self.truth[i]
        };
        [v(0), v(1)]
    }
}

/// A block of intervals drawn at once (see [`Service::skip_block`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    /// Requests served and truly failed over the stretch.
    pub requests: u64,
    pub failed: u64,
    /// Its intervals.
    pub ticks: u64,
    /// The onset of a bad release's defect, once the stretch is past it.
    pub onset_ms: Option<u64>,
}

/// The truth of a service at one instant (see [`Service::truth_at`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moment {
    /// Each version's truth (old, new), before the data store's errors.
    pub truth: [VersionTruth; 2],
    /// The onset of a bad release's defect, once the instant is past it: an observation
    /// between two ticks may act on a defect the ticks have not yet counted.
    pub onset_ms: Option<u64>,
}

/// The probability that a request fails for one of two independent causes.
fn either(p: f64, q: f64) -> f64 {
    1.0 - (1.0 - p) * (1.0 - q)
}

/// What a service's truth at one instant depends on besides the request rate and the
/// baseline error rate (see [`Service::truth`]): computed once, it gives the truth at
/// any baseline, or one version's error probability alone.
#[derive(Debug, Clone, Copy)]
struct Conditions {
    effects: Effects,
    /// How far a bad new version's defect has developed (0 for a good one).
    intensity: f64,
    onset_ms: Option<u64>,
}

impl Conditions {
    /// Each version's truth (old, new) at `rate` and `baseline`.
    #[inline]
    fn truth(&self, model: &ServiceModel, rate: f64, baseline: f64) -> [VersionTruth; 2] {
        let shared = model.shared_error(baseline, &self.effects, rate);
        let mut truth = [
            model.version(shared, &self.effects, 0.0),
            model.version(shared, &self.effects, self.intensity),
        ];
        truth[1].error_prob = self.defect_overload(model, rate, truth[1].error_prob);
        truth
    }

    /// Version `v`'s error probability of [`Self::truth`] alone, computed as it does.
    #[inline]
    fn error_prob(&self, model: &ServiceModel, rate: f64, baseline: f64, v: usize) -> f64 {
        let shared = model.shared_error(baseline, &self.effects, rate);
        if v == 0 {
            model.version_error(shared, 0.0)
        } else {
            self.defect_overload(model, rate, model.version_error(shared, self.intensity))
        }
    }

    /// A CPU defect: past its capacity, the new version (error probability `p`) fails
    /// more than the old.
    #[inline]
    fn defect_overload(&self, model: &ServiceModel, rate: f64, p: f64) -> f64 {
        let cost = model.cpu_cost(self.intensity);
        if cost > 1.0 {
            if let Some(rho) = model.utilisation(rate, self.effects.capacity_loss, 1.0) {
                return either(p, ServiceModel::own_overload(rho, cost));
            }
        }
        p
    }
}

/// How the service truly did in an interval, for the SLO.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceLevel {
    /// Share of requests that failed.
    pub error_ratio: f64,
    /// Share of requests slower than the SLO's latency.
    pub slow: f64,
}

impl<'a, 'w> Service<'a, 'w> {
    /// Service `index` of `scenario`, with the world's fault occurrences `faults`, in the
    /// run whose seed is `seed`, its traffic drawn in `blocks` if given.
    pub fn new(
        index: usize,
        scenario: &'a Scenario,
        model: &'a ServiceModel,
        faults: &'w [FaultWindow],
        seed: u64,
        blocks: Option<&'a Blocks>,
    ) -> Self {
        Service {
            index,
            release: index,
            scenario,
            model,
            faults: ActiveFaults::new(faults),
            data: scenario.data.as_ref().map(DataState::new),
            traffic: Traffic::new(seed, scenario, blocks),
            baseline: scenario.service.baseline_error_rate,
            slo_tail: [TailCache::default(); 2],
            upstream: None,
            load: 1.0,
            clock_ms: 0,
        }
    }

    /// The same, its run starting at model time `clock_ms` (a train's slot at its time of
    /// day and week): its traffic is the model's rate at `clock_ms + t`.
    pub fn with_clock(mut self, clock_ms: u64) -> Self {
        self.clock_ms = clock_ms;
        self.traffic = self.traffic.with_clock(clock_ms);
        self
    }

    /// The same, in a run where nothing reads its intervals' requests and errors but the
    /// scorer's sums (see [`Traffic::counts_unread`]): a constant block's counts are then
    /// handed over at once, with the same totals and draws.
    pub fn counts_unread(mut self) -> Self {
        self.traffic = self.traffic.counts_unread();
        self
    }

    /// The model time at which its run starts (0 for a one-release run): the on-call's
    /// clock too, whose night and weekend a page meets.
    pub fn clock_ms(&self) -> u64 {
        self.clock_ms
    }

    /// Schedules what is known at time 0: the fault occurrences and timed migrations.
    pub fn schedule(&self, agenda: &mut Agenda) {
        let service = self.index;
        for (fault, f) in self.faults.windows().iter().enumerate() {
            agenda.at(f.start_ms, Event::FaultStart { service, fault });
            agenda.at(f.end_ms, Event::FaultEnd { service, fault });
        }
        if let Some(d) = &self.scenario.data {
            for (migration, m) in d.migrations.iter().enumerate() {
                if let MigrationWhen::At(t) = m.when {
                    agenda.at(t, Event::Migration { service, migration });
                }
            }
        }
    }

    /// Every fault occurrence so far.
    pub fn fault_windows(&self) -> &[FaultWindow] {
        self.faults.windows()
    }

    /// The combined effect of the active faults.
    #[inline]
    pub fn effects(&self) -> &Effects {
        self.faults.effects()
    }

    /// The truth of each version (old, new) at the instant `t`, with `release` as it
    /// stands: the faults active now, the defect's intensity at `t` (a slow leak ramps
    /// continuously), the flag and fix state, the request rate at `t` (for overload), and
    /// the baseline error rate drawn for the scrape interval that holds `t` (the drift
    /// moves once per interval). Pure: it draws nothing, so observations may ask for it at
    /// any instant without changing any stream. At the instant an interval starts it equals
    /// that interval's truth ([`Self::interval`]).
    #[inline]
    pub fn truth_at(&self, t: u64, release: &Release) -> Moment {
        // The rate matters only for overload; a probe asks often, and the rate costs a cosine.
        let rate = if self.model.overloads() {
            self.model.rate_at(self.clock_ms + t) * self.load
        } else {
            0.0
        };
        let (truth, onset_ms) = self.truth(t, rate, self.baseline, release);
        Moment { truth, onset_ms }
    }

    /// The truth of each version at `t` given the request rate and the baseline error rate,
    /// and the onset of a bad release's defect once `t` is past it.
    #[inline]
    fn truth(
        &self,
        t: u64,
        rate: f64,
        baseline: f64,
        release: &Release,
    ) -> ([VersionTruth; 2], Option<u64>) {
        let at = self.conditions(t, release);
        (at.truth(self.model, rate, baseline), at.onset_ms)
    }

    /// What the truth at `t` depends on besides the rate and the baseline: the faults'
    /// effects (and the callees'), and how far a bad release's defect has developed.
    #[inline]
    fn conditions(&self, t: u64, release: &Release) -> Conditions {
        let effects = match &self.upstream {
            None => *self.faults.effects(),
            Some(u) => u.apply(self.faults.effects()),
        };
        let (intensity, onset_ms) = match release.defect_age_ms(t) {
            Some(age) => {
                let onset = self.scenario.release.bad.onset_ms;
                let start = t - age;
                let reached = (t >= start + onset).then_some(start + onset);
                (self.model.intensity(age), reached)
            }
            None => (0.0, None),
        };
        Conditions {
            effects,
            intensity,
            onset_ms,
        }
    }

    /// The gauges of each version (old, new) at `t` with `release` as it stands (the rate
    /// at `t`, the replicas lost, the defect's CPU cost); `None` without a capacity. Pure,
    /// and asked only when something reads the gauges.
    pub fn gauges(&self, t: u64, release: &Release) -> Option<[GaugeTruth; 2]> {
        let model = self.model;
        let rate = model.rate_at(self.clock_ms + t) * self.load;
        let loss = self.faults.effects().capacity_loss;
        let intensity = release
            .defect_age_ms(t)
            .map_or(0.0, |age| model.intensity(age));
        let old = model.utilisation(rate, loss, 1.0)?;
        let new = model.utilisation(rate, loss, model.cpu_cost(intensity))?;
        Some([model.gauges(old), model.gauges(new)])
    }

    /// Sets what its callees do to its requests from now on (a system's engine sets it at
    /// each tick, after the callees' own ticks).
    pub fn set_upstream(&mut self, upstream: Upstream) {
        self.upstream = Some(upstream);
    }

    /// Sets its request rate to `load` times the scenario's from its next interval on (a
    /// system's engine sets it at each tick, before the service's own tick, when callers
    /// retry its calls).
    pub fn set_load(&mut self, load: f64) {
        self.load = load;
    }

    /// Fault occurrence `i` starts (`on`) or ends at `t`.
    pub fn set_fault(&mut self, t: u64, i: usize, on: bool, agenda: &mut Agenda) {
        let faults = &self.scenario.faults;
        let f = &faults[self.faults.windows()[i].fault];
        agenda.note(t, if on { "fault_start" } else { "fault_end" }, || {
            f.name.clone()
        });
        self.faults.set(i, on, faults);
    }

    /// Adds a fault occurrence injected live and schedules it.
    pub fn inject(&mut self, window: FaultWindow, agenda: &mut Agenda) {
        let fault = self.faults.push(window);
        let service = self.index;
        agenda.at(window.start_ms, Event::FaultStart { service, fault });
        agenda.at(window.end_ms, Event::FaultEnd { service, fault });
    }

    /// Migration `i` starts at `t`.
    pub fn migrate(&mut self, t: u64, i: usize, agenda: &mut Agenda) {
        if let Some(d) = &mut self.data {
            d.start_migration(i);
        }
        let s = self.scenario;
        agenda.note(t, "migration", || {
            s.data
                .as_ref()
                .map(|d| d.migrations[i].name.clone())
                .unwrap_or_default()
        });
    }

    /// The migrations coupled to the release run just before its new code, once.
    pub fn coupled_migrations(&mut self, t: u64, agenda: &mut Agenda) {
        let s = self.scenario;
        for (i, m) in s.data.iter().flat_map(|d| d.migrations.iter()).enumerate() {
            if m.when == MigrationWhen::WithRelease {
                self.migrate(t, i, agenda);
            }
        }
    }

    /// The release is being rolled back (backfills that stop on rollback stop).
    pub fn on_rollback(&mut self) {
        if let Some(d) = &mut self.data {
            d.on_rollback();
        }
    }

    /// Whether rolling back now crosses a destructive migration.
    pub fn rollback_unsafe(&self) -> bool {
        self.data.as_ref().is_some_and(|d| d.rollback_unsafe())
    }

    /// The truth of `[t, t + dt)` with `release` at its current share: what arrives, how
    /// it splits, what fails, and what the data store does.
    #[inline]
    pub fn interval(&mut self, t: u64, dt: u64, release: &Release) -> Interval {
        let s = self.scenario;
        let model = self.model;
        let share = release.share;
        let (mut served, truth, onset_ms) = if self.traffic.blocks().is_some() {
            self.block_interval(t, dt, release)
        } else {
            self.traffic.enter_keyed(t / dt);
            let rate = model.rate_at(self.clock_ms + t) * self.load;
            let total = self
                .traffic
                .arrivals(rate * dt as f64 / 1000.0, s.signals.request_dispersion);
            self.baseline = self.traffic.baseline(s.service.baseline_error_rate);
            let (truth, onset_ms) = self.truth(t, rate, self.baseline, release);
            (self.traffic.split(total, share, &truth), truth, onset_ms)
        };
        // Reads of formats a version does not know: errors, lost writes or corruption.
        let mut data_error = [0.0; 2];
        if let Some(d) = &mut self.data {
            let spec = d.spec();
            let mut writer_new = spec.new;
            if release.flag_off {
                writer_new.writes = spec.old.writes;
            }
            data_error = [
                d.error_probability(&spec.old),
                d.error_probability(&writer_new),
            ];
            let failed = d.tick(
                &mut self.traffic.data,
                t,
                dt,
                served.requests,
                [spec.old, writer_new],
            );
            // A request that fails for two reasons fails once.
            for (v, f) in failed.into_iter().enumerate() {
                served.errors[v] = (served.errors[v] + f).min(served.requests[v]);
            }
        }
        Interval {
            served,
            truth,
            data_error,
            onset_ms,
        }
    }

    /// The requests, errors and truth of [`Self::interval`] for traffic drawn in blocks
    /// (never with callees: see [`super::blocks`]).
    fn block_interval(
        &mut self,
        t: u64,
        dt: u64,
        release: &Release,
    ) -> (Split, [VersionTruth; 2], Option<u64>) {
        let i = t / dt;
        if !self.traffic.in_block(i) {
            self.traffic.start_block(i / BLOCK_TICKS as u64);
        }
        let rate = if self.model.overloads() {
            self.model.rate_at(self.clock_ms + t) * self.load
        } else {
            0.0
        };
        let base = self.scenario.service.baseline_error_rate;
        self.baseline = self.traffic.baseline_at(i, base);
        let (truth, onset_ms) = self.truth(t, rate, self.baseline, release);
        let served = self.traffic.block_interval(i, release.share, &truth);
        (served, truth, onset_ms)
    }

    /// Whether `t` starts a block of its traffic (see [`super::blocks`]): then the engine
    /// calls [`Self::start_block`] before the interval.
    #[inline]
    pub fn starts_block(&self, t: u64) -> bool {
        self.traffic
            .blocks()
            .is_some_and(|b| (t / b.dt_ms()) % BLOCK_TICKS as u64 == 0)
    }

    /// The block starting at `t` (see [`Self::starts_block`]) draws its request total,
    /// and, when its truth is constant with `release` as it stands (one version serves
    /// every request, no ramp, no overload, the faults and the defect's intensity the same
    /// at its first and last interval), its baselines and errors; returns whether it is
    /// constant, which [`Self::skip_block`] requires.
    pub fn start_block(&mut self, t: u64, release: &Release) -> bool {
        let Some(blocks) = self.traffic.blocks() else {
            return false;
        };
        let dt = blocks.dt_ms();
        let b = t / dt / BLOCK_TICKS as u64;
        self.traffic.start_block(b);
        let share = release.share;
        if self.upstream.is_some()
            || self.model.overloads()
            || release.ramping()
            || !(share == 0.0 || share == 1.0)
        {
            return false;
        }
        let (_, end) = blocks.range(b);
        let last = (end.max(1) - 1) * dt;
        let x = self.baseline;
        if self.truth(t, 0.0, x, release) != self.truth(last.max(t), 0.0, x, release) {
            return false;
        }
        let version = usize::from(share == 1.0);
        let base = self.scenario.service.baseline_error_rate;
        let mut p = [0.0; BLOCK_TICKS];
        let len = self.traffic.draw_baselines(base).len();
        let at = self.conditions(t, release);
        let xs = self.traffic.baselines();
        match xs.first() {
            // Without drift every baseline is the same: the error probability once.
            Some(&x) if self.traffic.drift_is_flat() => {
                p[..len].fill(at.error_prob(self.model, 0.0, x, version));
            }
            _ => {
                let mut last = (f64::NAN, 0.0);
                for (pk, &x) in p.iter_mut().zip(xs) {
                    if x != last.0 {
                        last = (x, at.error_prob(self.model, 0.0, x, version));
                    }
                    *pk = last.1;
                }
            }
        }
        self.traffic.set_constant(version, share, &p[..len]);
        true
    }

    /// The whole of a constant block that starts at `t` (see [`Self::start_block`]) at
    /// once (never with a data store, whose reads and writes are drawn per interval): its
    /// totals, and each interval's service level handed to `level` as the interval would
    /// have been scored, one by one (the drift moves the baseline in each).
    pub fn skip_block(
        &mut self,
        t: u64,
        release: &Release,
        mut level: impl FnMut(&ServiceLevel),
    ) -> Stretch {
        let share = release.share;
        let base = self.scenario.service.baseline_error_rate;
        let (first, end) = match self.traffic.blocks() {
            Some(b) => (t / b.dt_ms(), b.range(t / b.dt_ms() / BLOCK_TICKS as u64).1),
            None => (0, 0),
        };
        // Every interval's truth is the block's first, but for the serving version's error
        // probability, which moves with the drifting baseline and was computed for each
        // interval when the block started: the truth and its service level are computed
        // once, and only the error ratio is computed again per interval, as
        // `Self::level` computes it (the other version's term is `0 × p`, exactly 0).
        let x = self.traffic.baseline_at(first, base);
        let (truth, onset) = self.truth(t, 0.0, x, release);
        let iv = Interval::uncounted(truth, onset);
        let at = self.level(&iv, share);
        let ps = self.traffic.constant_error_probs();
        for i in first..end {
            let p = ps.get((i - first) as usize).copied();
            level(&ServiceLevel {
                error_ratio: p.map_or(at.error_ratio, |p| either(p, 0.0)),
                ..at
            });
        }
        self.baseline = self.traffic.baseline_at(end.max(first + 1) - 1, base);
        let (requests, failed) = self.traffic.skip_block();
        Stretch {
            requests,
            failed,
            ticks: end - first,
            onset_ms: onset,
        }
    }

    /// The true service level of an interval at `share` on the new version.
    #[inline]
    pub fn level(&mut self, iv: &Interval, share: f64) -> ServiceLevel {
        let sigma = self.model.latency_sigma;
        let slo_ms = self.scenario.slo.latency_p99_ms;
        let [old, new] = iv.truth;
        let error_ratio = (1.0 - share) * either(old.error_prob, iv.data_error[0])
            + share * either(new.error_prob, iv.data_error[1]);
        let [tail_old, tail_new] = &mut self.slo_tail;
        let slow = if share >= 1.0 {
            tail_new.get(new.latency_mu, sigma, slo_ms)
        } else if share <= 0.0 {
            tail_old.get(old.latency_mu, sigma, slo_ms)
        } else {
            (1.0 - share) * tail_old.get(old.latency_mu, sigma, slo_ms)
                + share * tail_new.get(new.latency_mu, sigma, slo_ms)
        };
        ServiceLevel { error_ratio, slow }
    }
}

mod pooled;
#[cfg(test)]
mod tests;
