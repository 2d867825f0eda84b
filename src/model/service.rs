//! A service in one run: its faults, its data store, its traffic, and the truth of its
//! versions at every instant. It is a value the engine holds in a collection, so a system
//! of services adds services without touching the loop.

use super::data::DataState;
use super::faults::{ActiveFaults, FaultWindow};
use super::release::Release;
use super::traffic::{Split, Traffic};
use super::{Effects, ServiceModel, VersionTruth};
use crate::scenario::{MigrationWhen, Scenario};
use crate::sim::agenda::{Agenda, Event};
use crate::sim::rng::sample::TailCache;

/// One service and its state in one run.
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
    traffic: Traffic,
    /// The truth of the new version, as of the last interval.
    truth_new: VersionTruth,
    slo_tail: [TailCache; 2],
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
    pub fn total(&self) -> u64 {
        self.served.requests[0] + self.served.requests[1]
    }

    /// Requests that truly failed.
    pub fn failed(&self) -> u64 {
        self.served.errors[0] + self.served.errors[1]
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

/// The probability that a request fails for one of two independent causes.
fn either(p: f64, q: f64) -> f64 {
    1.0 - (1.0 - p) * (1.0 - q)
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
    /// run whose seed is `seed`.
    pub fn new(
        index: usize,
        scenario: &'a Scenario,
        model: &'a ServiceModel,
        faults: &'w [FaultWindow],
        seed: u64,
    ) -> Self {
        Service {
            index,
            release: index,
            scenario,
            model,
            faults: ActiveFaults::new(faults),
            data: scenario.data.as_ref().map(DataState::new),
            traffic: Traffic::new(seed, scenario),
            truth_new: VersionTruth {
                error_prob: 0.0,
                latency_mu: model.latency_mu,
            },
            slo_tail: [TailCache::default(); 2],
        }
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
    pub fn effects(&self) -> &Effects {
        self.faults.effects()
    }

    /// The truth of the new version as of the last interval.
    pub fn truth_new(&self) -> VersionTruth {
        self.truth_new
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
    pub fn interval(&mut self, t: u64, dt: u64, release: &Release) -> Interval {
        let s = self.scenario;
        let model = self.model;
        let share = release.share;
        let rate = model.rate_at(t);
        let total = self
            .traffic
            .arrivals(rate * dt as f64 / 1000.0, s.signals.request_dispersion);
        let baseline = self.traffic.baseline(s.service.baseline_error_rate);
        let effects = *self.faults.effects();
        let shared = model.shared_error(baseline, &effects, rate);
        let (intensity, onset_ms) = match release.defect_age_ms(t) {
            Some(age) => {
                let onset = s.release.bad.onset_ms;
                let start = t - age;
                let reached = (t >= start + onset).then_some(start + onset);
                (model.intensity(age), reached)
            }
            None => (0.0, None),
        };
        let truth = [
            model.version(shared, &effects, 0.0),
            model.version(shared, &effects, intensity),
        ];
        self.truth_new = truth[1];
        let mut served = self.traffic.split(total, share, &truth);
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

    /// The true service level of an interval at `share` on the new version.
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
