//! The true behaviour of the service: request rate, error probability and latency of each
//! version under the active faults. Pure functions of the state; no randomness, no I/O.
//!
//! Latency of a version is log-normal, fixed by the service's p50 and p99; a slow version
//! or a slow network shifts its log-mean. Error probabilities of independent causes combine
//! as `1 - Π(1 - p_i)`.

pub mod blocks;
pub mod data;
pub mod faults;
pub mod release;
pub mod rollout;
pub mod service;
pub mod system;
pub mod traffic;

use crate::scenario::{BadRelease, FaultEffect, Scenario};
use crate::sim::rng::sample::{lognormal_tail, Z99};
use std::collections::HashMap;
use std::sync::Arc;

/// The combined effect of the faults active at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effects {
    /// Latency multiplier for every version.
    pub latency_factor: f64,
    /// Share of requests lost in the network (fail for every version).
    pub packet_loss: f64,
    /// Share of replicas (and capacity) gone.
    pub capacity_loss: f64,
    /// Share of requests a failing dependency breaks.
    pub dependency_error: f64,
    /// Health-check failure probability forced by a flapping probe (0 when none).
    pub flapping: f64,
    /// Whether scrapes are lost in a metrics pipeline gap.
    pub metrics_gap: bool,
    /// Whether any infrastructure fault is active (for misattributed rollbacks).
    pub any: bool,
}

impl Default for Effects {
    fn default() -> Self {
        Effects {
            latency_factor: 1.0,
            packet_loss: 0.0,
            capacity_loss: 0.0,
            dependency_error: 0.0,
            flapping: 0.0,
            metrics_gap: false,
            any: false,
        }
    }
}

impl Effects {
    /// Combines the effects of all active faults.
    pub fn combine<'a>(active: impl Iterator<Item = &'a FaultEffect>) -> Effects {
        let mut e = Effects::default();
        for f in active {
            if let FaultEffect::Signal(_) = f {
                // The signal's faults leave the truth alone.
                continue;
            }
            e.any = true;
            match *f {
                FaultEffect::InfraLatency {
                    latency_factor,
                    packet_loss,
                } => {
                    e.latency_factor *= latency_factor;
                    e.packet_loss = 1.0 - (1.0 - e.packet_loss) * (1.0 - packet_loss);
                }
                FaultEffect::NodeLoss { capacity_loss } => {
                    e.capacity_loss = 1.0 - (1.0 - e.capacity_loss) * (1.0 - capacity_loss);
                }
                FaultEffect::DependencyOutage { error_rate } => {
                    e.dependency_error = 1.0 - (1.0 - e.dependency_error) * (1.0 - error_rate);
                }
                FaultEffect::FlappingHealthCheck {
                    failure_probability,
                } => e.flapping = e.flapping.max(failure_probability),
                FaultEffect::MetricsGap => e.metrics_gap = true,
                FaultEffect::Signal(_) => {}
            }
        }
        e
    }
}

/// The truth about one version at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VersionTruth {
    /// Probability that one request fails.
    pub error_prob: f64,
    /// Log-mean of the latency in milliseconds.
    pub latency_mu: f64,
}

/// The service's fixed parameters, precomputed for the per-tick hot path.
#[derive(Debug, Clone)]
pub struct ServiceModel {
    rate: f64,
    amplitude: f64,
    peak_ms: f64,
    weekly: f64,
    /// Peak of the weekly swing, in ms after the simulated week's Monday 00:00.
    week_peak_ms: f64,
    /// Log-mean of healthy latency (ms).
    pub latency_mu: f64,
    /// Log-sd of latency, common to all versions.
    pub latency_sigma: f64,
    capacity_total: Option<f64>,
    /// CPU a replica burns idle, as a share of its cores.
    cpu_baseline: f64,
    /// Requests one replica queues at most.
    queue_limit: f64,
    bad: BadRelease,
    /// The swing factor of every scrape instant of a run, when tabulated (see
    /// [`tabulate_swings`]): shared by the models that swing alike.
    swing: Option<Arc<SwingTable>>,
}

/// The swing factor `1 + a cos(day phase) + w cos(week phase)` of the instants `0, dt,
/// 2 dt, ...` of a run, each computed as [`ServiceModel::rate_at`] computes it: every
/// service of a system computes the same factor at the same tick, a cosine or two each.
#[derive(Debug)]
struct SwingTable {
    dt_ms: u64,
    factors: Vec<f64>,
}

/// Above this many scrape ticks per run no swing is tabulated (8 bytes a tick per distinct
/// swing; the shipped fleet needs 20,160): the factors are computed at each tick.
const TABULATE_UP_TO: u64 = 1 << 20;

/// Gives every model of `models` whose rate swings the table of its swing's factor at
/// each scrape instant `k dt` before `horizon_ms`, one table per distinct swing (daily
/// and weekly amplitude and peak), so a system's services look their rate factor up
/// instead of computing the same cosines. [`ServiceModel::rate_at`] returns the same
/// numbers, bit for bit: a factor is the one it computes, then multiplied by the rate.
pub fn tabulate_swings<'m>(
    models: impl IntoIterator<Item = &'m mut ServiceModel>,
    dt_ms: u64,
    horizon_ms: u64,
) {
    let ticks = horizon_ms.div_ceil(dt_ms.max(1));
    if dt_ms == 0 || ticks > TABULATE_UP_TO {
        return;
    }
    let mut tables: HashMap<[u64; 4], Arc<SwingTable>> = HashMap::new();
    for m in models {
        if !m.rate_varies() {
            continue;
        }
        let key = [m.amplitude, m.peak_ms, m.weekly, m.week_peak_ms].map(f64::to_bits);
        let table = tables.entry(key).or_insert_with(|| {
            Arc::new(SwingTable {
                dt_ms,
                factors: (0..ticks).map(|k| m.factor(k * dt_ms)).collect(),
            })
        });
        m.swing = Some(Arc::clone(table));
    }
}

/// The gauges of one version over one interval, as its pods truly are: the CPU share
/// busy, the utilisation (demand over capacity) and the requests waiting per replica.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaugeTruth {
    pub cpu: f64,
    pub saturation: f64,
    pub queue_length: f64,
}

/// Mean requests waiting at one replica of utilisation `rho`, an M/M/1 queue:
/// `L_q = rho^2 / (1 - rho)`, capped at `limit`; at `rho >= 1` the queue is full (the
/// requests it rejects are the overload errors).
#[inline]
pub fn queue_length(rho: f64, limit: f64) -> f64 {
    if rho >= 1.0 {
        limit
    } else {
        (rho * rho / (1.0 - rho)).min(limit)
    }
}

const DAY_MS: f64 = 86_400_000.0;
const WEEK_MS: f64 = 7.0 * DAY_MS;
/// The simulation starts on a Thursday at 00:00 (1970-01-01, as traces record it): its
/// time 0 is this far into its week, counted from Monday 00:00.
pub const START_IN_WEEK_MS: f64 = 3.0 * DAY_MS;

/// A phase turning by a fixed step: its cosine and sine, advanced by one complex product.
struct Rotor {
    cos: f64,
    sin: f64,
    step_cos: f64,
    step_sin: f64,
}

impl Rotor {
    fn new(phase: f64, step: f64) -> Self {
        let (sin, cos) = phase.sin_cos();
        let (step_sin, step_cos) = step.sin_cos();
        Rotor {
            cos,
            sin,
            step_cos,
            step_sin,
        }
    }

    #[inline]
    fn turn(&mut self) {
        let (c, s) = (self.cos, self.sin);
        self.cos = c * self.step_cos - s * self.step_sin;
        self.sin = s * self.step_cos + c * self.step_sin;
    }
}

impl ServiceModel {
    /// Precomputes the model of the scenario's service.
    pub fn new(s: &Scenario) -> Self {
        let latency_mu = s.service.latency_p50_ms.ln();
        let latency_sigma = (s.service.latency_p99_ms.ln() - latency_mu) / Z99;
        ServiceModel {
            rate: s.service.request_rate,
            amplitude: s.service.diurnal_amplitude,
            peak_ms: s.service.peak_hour * 3_600_000.0,
            weekly: s.service.weekly_amplitude,
            week_peak_ms: s.service.peak_weekday * DAY_MS,
            latency_mu,
            latency_sigma,
            capacity_total: s
                .service
                .capacity_rps
                .map(|c| c * f64::from(s.service.replicas)),
            cpu_baseline: s.service.cpu_baseline,
            queue_limit: s.service.queue_limit,
            bad: s.release.bad.clone(),
            swing: None,
        }
    }

    /// Mean request rate (per second) at simulated time `t_ms`; the run starts at 00:00
    /// on a Thursday. The daily and the weekly cosines add up: `rate × (1 + a cos(day
    /// phase) + w cos(week phase))`, whose mean over a week is `rate` exactly.
    #[inline]
    pub fn rate_at(&self, t_ms: u64) -> f64 {
        if self.amplitude == 0.0 && self.weekly == 0.0 {
            return self.rate;
        }
        if let Some(s) = self.swing.as_deref() {
            // A scrape instant of the run: its factor tabulated (the same number).
            let k = t_ms / s.dt_ms;
            if k * s.dt_ms == t_ms {
                if let Some(&factor) = s.factors.get(k as usize) {
                    return self.rate * factor;
                }
            }
        }
        self.rate * self.factor(t_ms)
    }

    /// The swing factor at `t_ms`: `1 + a cos(day phase) + w cos(week phase)`.
    #[inline]
    fn factor(&self, t_ms: u64) -> f64 {
        let phase = (t_ms as f64 - self.peak_ms) / DAY_MS * std::f64::consts::TAU;
        let mut factor = 1.0 + self.amplitude * phase.cos();
        if self.weekly != 0.0 {
            let week = (t_ms as f64 + START_IN_WEEK_MS - self.week_peak_ms) / WEEK_MS
                * std::f64::consts::TAU;
            factor += self.weekly * week.cos();
        }
        factor
    }

    /// Whether the request rate varies with the time of day or week.
    #[inline]
    pub fn rate_varies(&self) -> bool {
        self.amplitude != 0.0 || self.weekly != 0.0
    }

    /// [`Self::rate_at`] of the instants `t0_ms`, `t0_ms + dt_ms`, ... written to `out`, in
    /// order: each cosine's phase turns by one step per instant (a complex product) instead
    /// of being computed anew, so a block of intervals at any clock time costs two cosines
    /// per swing instead of one per instant. Equal to `rate_at` within about `1e-13`
    /// relative over a block (tested): the means differ in rounding, not in distribution.
    pub fn rates_from(&self, t0_ms: u64, dt_ms: u64, out: &mut [f64]) {
        if !self.rate_varies() {
            out.fill(self.rate);
            return;
        }
        let tau = std::f64::consts::TAU;
        let t0 = t0_ms as f64;
        let step = dt_ms as f64;
        let mut day = Rotor::new((t0 - self.peak_ms) / DAY_MS * tau, step / DAY_MS * tau);
        let mut week = Rotor::new(
            (t0 + START_IN_WEEK_MS - self.week_peak_ms) / WEEK_MS * tau,
            step / WEEK_MS * tau,
        );
        for x in out.iter_mut() {
            let mut factor = 1.0 + self.amplitude * day.cos;
            if self.weekly != 0.0 {
                factor += self.weekly * week.cos;
            }
            *x = self.rate * factor;
            day.turn();
            week.turn();
        }
    }

    /// Whether the request rate bears on the error probability (a capacity is set, so
    /// traffic beyond it fails): without one, the truth of an instant needs no rate.
    #[inline]
    pub fn overloads(&self) -> bool {
        self.capacity_total.is_some()
    }

    /// Probability that a request fails for causes every version shares: the (drifting)
    /// baseline, the network, a dependency, and overload when capacity is short.
    #[inline]
    pub fn shared_error(&self, baseline: f64, effects: &Effects, rate: f64) -> f64 {
        let overload = match self.capacity_total {
            Some(cap) if rate > 0.0 => (1.0 - cap * (1.0 - effects.capacity_loss) / rate).max(0.0),
            _ => 0.0,
        };
        1.0 - (1.0 - baseline)
            * (1.0 - effects.packet_loss)
            * (1.0 - effects.dependency_error)
            * (1.0 - overload)
    }

    /// The truth of a version given the shared error and, for a bad new version, how far
    /// its defect has developed (`intensity` in [0, 1]; 0 for a good or old version).
    #[inline]
    pub fn version(&self, shared_error: f64, effects: &Effects, intensity: f64) -> VersionTruth {
        // No fault slows the service most of the time: skip the logarithm then (ln 1 = 0).
        let mut latency_mu = if effects.latency_factor == 1.0 {
            self.latency_mu
        } else {
            self.latency_mu + effects.latency_factor.ln()
        };
        if intensity > 0.0 {
            latency_mu +=
                (1.0 + self.bad.fraction * (self.bad.latency_factor - 1.0) * intensity).ln();
        }
        VersionTruth {
            error_prob: self.version_error(shared_error, intensity),
            latency_mu,
        }
    }

    /// The error probability of [`Self::version`] alone (no latency, so no logarithm):
    /// what a block whose truth holds still needs again at each interval's baseline.
    #[inline]
    pub fn version_error(&self, shared_error: f64, intensity: f64) -> f64 {
        if intensity > 0.0 {
            let extra = self.bad.fraction * self.bad.error_rate * intensity;
            1.0 - (1.0 - shared_error) * (1.0 - extra)
        } else {
            shared_error
        }
    }

    /// How far a bad version's defect has developed `since_serving_ms` after it began to
    /// serve: 0 before the onset, then a linear ramp to 1.
    #[inline]
    pub fn intensity(&self, since_serving_ms: u64) -> f64 {
        if since_serving_ms < self.bad.onset_ms {
            return 0.0;
        }
        let s = since_serving_ms - self.bad.onset_ms;
        if self.bad.ramp_ms == 0 {
            1.0
        } else {
            (s as f64 / self.bad.ramp_ms as f64).min(1.0)
        }
    }

    /// The CPU cost of a request of the new version relative to the old one's, when a bad
    /// version's defect has developed to `intensity` (1 for a good or old version):
    /// `1 + fraction x (cpu_factor - 1) x intensity`, as its latency.
    #[inline]
    pub fn cpu_cost(&self, intensity: f64) -> f64 {
        if intensity > 0.0 && self.bad.cpu_factor != 1.0 {
            1.0 + self.bad.fraction * (self.bad.cpu_factor - 1.0) * intensity
        } else {
            1.0
        }
    }

    /// The utilisation of a version whose requests cost `cost` (relative CPU) at `rate`
    /// requests per second on the whole service with `capacity_loss` of its replicas gone:
    /// `rho = rate x cost / (replicas x capacity_rps x (1 - capacity_loss))`. Each version
    /// runs on its share of the replicas and takes that share of the requests, so the
    /// share cancels. `None` without a capacity.
    #[inline]
    pub fn utilisation(&self, rate: f64, capacity_loss: f64, cost: f64) -> Option<f64> {
        let cap = self.capacity_total? * (1.0 - capacity_loss);
        Some(if cap > 0.0 {
            rate * cost / cap
        } else if rate > 0.0 {
            f64::INFINITY
        } else {
            0.0
        })
    }

    /// The gauges of a version at utilisation `rho`: CPU `min(1, cpu_baseline + rho)`,
    /// saturation `rho`, queue length [`queue_length`].
    #[inline]
    pub fn gauges(&self, rho: f64) -> GaugeTruth {
        GaugeTruth {
            cpu: (self.cpu_baseline + rho).min(1.0),
            saturation: rho,
            queue_length: queue_length(rho, self.queue_limit),
        }
    }

    /// The share of the new version's requests that its own overload fails beyond the
    /// overload every version shares, when its requests cost `cost` at utilisation `rho`
    /// of the old: it serves `min(1, 1/(rho cost))` of them where the old serves
    /// `min(1, 1/rho)`. 0 when `cost <= 1`.
    #[inline]
    pub fn own_overload(rho: f64, cost: f64) -> f64 {
        if cost <= 1.0 || rho <= 0.0 {
            return 0.0;
        }
        let served = |r: f64| if r <= 1.0 { 1.0 } else { 1.0 / r };
        1.0 - served(rho * cost) / served(rho)
    }

    /// Probability that a request of latency log-mean `mu` takes longer than `x_ms`.
    pub fn latency_tail(&self, mu: f64, x_ms: f64) -> f64 {
        lognormal_tail(mu, self.latency_sigma, x_ms)
    }

    /// The true p99 latency (ms) of a version with log-mean `mu`.
    pub fn p99(&self, mu: f64) -> f64 {
        (mu + self.latency_sigma * Z99).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    fn model(extra: &str) -> ServiceModel {
        let s = parse(
            &format!("[service]\nlatency_p50 = \"50ms\"\nlatency_p99 = \"250ms\"\n{extra}"),
            "t",
        )
        .unwrap();
        ServiceModel::new(&s)
    }

    #[test]
    fn latency_quantiles_match_the_configuration() {
        let m = model("");
        assert!((m.p99(m.latency_mu) - 250.0).abs() < 1e-9);
        assert!((m.latency_tail(m.latency_mu, 250.0) - 0.01).abs() < 1e-9);
        assert!((m.latency_tail(m.latency_mu, 50.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn diurnal_rate_peaks_at_peak_hour_and_averages_to_rate() {
        let m = model("request_rate = 100.0\ndiurnal_amplitude = 0.5\npeak_hour = 14.0\n");
        assert!((m.rate_at(14 * 3_600_000) - 150.0).abs() < 1e-9);
        assert!((m.rate_at(2 * 3_600_000) - 50.0).abs() < 1e-9);
        let mean: f64 = (0..86_400).map(|s| m.rate_at(s * 1000)).sum::<f64>() / 86_400.0;
        assert!((mean - 100.0).abs() < 1e-6);
    }

    #[test]
    fn weekly_rate_peaks_on_its_weekday_and_averages_to_rate() {
        // Peak on Wednesday 12:00 (2.5 days after Monday 00:00); the run starts on a
        // Thursday, so Wednesday 12:00 is 6.5 days in, and the trough, half a week later
        // (Sunday 00:00), 3 days in.
        let m = model(
            "request_rate = 100.0\ndiurnal_amplitude = 0.2\npeak_hour = 12.0\nweekly_amplitude = 0.3\npeak_weekday = 2.5\n",
        );
        let h = 3_600_000;
        // At noon the daily cosine is at its peak, at midnight at its trough.
        assert!((m.rate_at(6 * 24 * h + 12 * h) - 150.0).abs() < 1e-9);
        assert!((m.rate_at(3 * 24 * h) - 50.0).abs() < 1e-9);
        // Mean over a week (and over any whole number of weeks) is the rate.
        let week_s = 7 * 86_400;
        let mean: f64 = (0..week_s).map(|s| m.rate_at(s * 1000)).sum::<f64>() / week_s as f64;
        assert!((mean - 100.0).abs() < 1e-6, "{mean}");
        // Over one day the weekly term does not average out: its closed form is
        // 1 + 0.3 × (mean of the week's cosine over that day).
        let day_mean: f64 =
            (0..86_400).map(|s| m.rate_at(s * 1000)).sum::<f64>() / 86_400.0 / 100.0;
        let tau = std::f64::consts::TAU;
        let (a, b) = ((3.0 - 2.5) / 7.0 * tau, (4.0 - 2.5) / 7.0 * tau);
        let want = 1.0 + 0.3 * (b.sin() - a.sin()) / (b - a);
        // (A sum over whole seconds is off the integral by about half a second of slope.)
        assert!((day_mean - want).abs() < 1e-5, "{day_mean} vs {want}");
    }

    #[test]
    fn rates_from_a_clock_time_equal_rate_at_each_instant() {
        let m = model(
            "request_rate = 100.0\ndiurnal_amplitude = 0.4\npeak_hour = 13.0\nweekly_amplitude = 0.3\npeak_weekday = 1.5\n",
        );
        // A train's slot at an odd millisecond of its fifth week, a block of 60 at 15 s.
        let t0 = 4 * 7 * 86_400_000 + 3 * 86_400_000 + 37_123_457;
        let mut out = [0.0; 60];
        m.rates_from(t0, 15_000, &mut out);
        for (i, &r) in out.iter().enumerate() {
            let want = m.rate_at(t0 + i as u64 * 15_000);
            assert!((r - want).abs() <= 1e-13 * want, "{i}: {r} vs {want}");
        }
        // A constant rate is written as it is.
        let flat = model("request_rate = 30.0\n");
        assert!(!flat.rate_varies());
        flat.rates_from(t0, 15_000, &mut out);
        assert!(out.iter().all(|&r| r == 30.0));
    }

    #[test]
    fn a_tabulated_swing_gives_rate_at_bit_for_bit() {
        let swing = "diurnal_amplitude = 0.6\npeak_hour = 14.0\nweekly_amplitude = 0.2\n";
        let plain = model(&format!("request_rate = 10.0\n{swing}"));
        let (mut a, mut b) = (
            plain.clone(),
            model(&format!("request_rate = 40.0\n{swing}")),
        );
        let other = model("request_rate = 10.0\ndiurnal_amplitude = 0.5\n");
        let mut c = other.clone();
        let mut flat = model("request_rate = 10.0\n");
        tabulate_swings([&mut a, &mut b, &mut c, &mut flat], 30_000, 7 * 86_400_000);
        // One table per distinct swing (the rate is not part of it), none for a flat rate.
        let table = |m: &ServiceModel| m.swing.clone().expect("a table");
        assert!(Arc::ptr_eq(&table(&a), &table(&b)));
        assert!(!Arc::ptr_eq(&table(&a), &table(&c)));
        assert!(flat.swing.is_none());
        assert_eq!(table(&a).factors.len(), 20_160);
        // Every instant, on the scrape grid or not, inside the table or past it: the very
        // number computed without it.
        for t in (0..8 * 86_400_000u64)
            .step_by(29_997)
            .chain([30_000, 604_770_000])
        {
            assert_eq!(a.rate_at(t).to_bits(), plain.rate_at(t).to_bits(), "{t}");
            assert_eq!(c.rate_at(t).to_bits(), other.rate_at(t).to_bits(), "{t}");
        }
        for k in 0..20_160u64 {
            let t = k * 30_000;
            assert_eq!(a.rate_at(t).to_bits(), plain.rate_at(t).to_bits(), "{t}");
        }
    }

    #[test]
    fn slow_leak_ramps_after_onset() {
        let m = model("[release.bad]\nonset = \"1h\"\nramp = \"2h\"\nerror_rate = 0.1\n");
        assert_eq!(m.intensity(0), 0.0);
        assert_eq!(m.intensity(3_600_000), 0.0);
        assert!((m.intensity(2 * 3_600_000) - 0.5).abs() < 1e-12);
        assert_eq!(m.intensity(10 * 3_600_000), 1.0);
    }

    #[test]
    fn gauges_follow_the_utilisation_by_the_closed_forms() {
        // 10 replicas x 50 rps = 500 rps; 400 rps with 20% of the replicas gone: rho = 1.
        let m =
            model("replicas = 10\ncapacity_rps = 50.0\ncpu_baseline = 0.1\nqueue_limit = 40.0\n");
        assert_eq!(m.utilisation(400.0, 0.2, 1.0), Some(400.0 / 400.0));
        let rho = m.utilisation(300.0, 0.0, 1.0).expect("a capacity");
        assert!((rho - 0.6).abs() < 1e-12);
        let g = m.gauges(rho);
        assert!((g.cpu - 0.7).abs() < 1e-12);
        assert_eq!(g.saturation, rho);
        // M/M/1: 0.36 / 0.4 = 0.9 waiting.
        assert!((g.queue_length - 0.9).abs() < 1e-12);
        // Past capacity: CPU full, the queue at its limit; near it, capped by the limit.
        let over = m.gauges(1.2);
        assert_eq!((over.cpu, over.queue_length), (1.0, 40.0));
        assert_eq!(queue_length(0.99, 40.0), 40.0);
        assert!((queue_length(0.9, 40.0) - 8.1).abs() < 1e-9);
        // No capacity, no gauges.
        assert_eq!(model("").utilisation(300.0, 0.0, 1.0), None);
    }

    #[test]
    fn a_cpu_defect_raises_the_cost_and_past_capacity_the_errors() {
        let m = model("capacity_rps = 10.0\n[release.bad]\ncpu_factor = 1.5\nfraction = 0.5\n");
        assert_eq!(m.cpu_cost(0.0), 1.0);
        assert!((m.cpu_cost(1.0) - 1.25).abs() < 1e-12);
        assert!((m.cpu_cost(0.5) - 1.125).abs() < 1e-12);
        // Under capacity either way: nothing fails.
        assert_eq!(ServiceModel::own_overload(0.5, 1.25), 0.0);
        // rho 0.9 x 1.25 = 1.125: serves 1/1.125 of its requests, the old all of them.
        assert!((ServiceModel::own_overload(0.9, 1.25) - (1.0 - 1.0 / 1.125)).abs() < 1e-12);
        // Both over: the share beyond the old's own overload, 1 - (1/2.5) / (1/2) = 0.2.
        assert!((ServiceModel::own_overload(2.0, 1.25) - 0.2).abs() < 1e-12);
        assert_eq!(ServiceModel::own_overload(2.0, 1.0), 0.0);
    }

    #[test]
    fn independent_causes_combine() {
        let m = model("");
        let e = Effects {
            packet_loss: 0.1,
            dependency_error: 0.2,
            ..Effects::default()
        };
        let shared = m.shared_error(0.0, &e, 10.0);
        assert!((shared - (1.0 - 0.9 * 0.8)).abs() < 1e-12);
    }
}
