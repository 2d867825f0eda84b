//! `sequential`: an anytime-valid canary judge. It compares the new version with the old
//! one on the same scrapes and rolls back when an e-process (a nonnegative supermartingale
//! while the release is as good as the old one) reaches `1 / alpha`. By Ville's inequality
//! the probability that a good release is ever rolled back by it is at most `alpha`, however
//! long and however often the canary is watched: the false-rollback rate is chosen, not
//! measured afterwards.
//!
//! # Parameters
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `alpha` | 0.05 | the bound on the probability of ever rolling back a good release (per deploy) |
//! | `min_effect` | 1.5 | the smallest error-ratio regression worth catching (new / old error probability; 1.5 = 50% more errors) |
//! | `metrics` | `["error_rate", "latency_p99"]` | which e-processes to run: the errors of each version (`error_rate`), which version's p99 is higher (`latency_p99`) |
//! | `promote_early` | `false` | leave a canary step before its pause ends once the error ratio's confidence sequence lies below `min_effect` |
//!
//! # Errors: a conditional binomial e-process, one-sided by its mixture
//!
//! In scrape `i` the new version served `n_i` requests with `X_i` errors and the old one
//! `o_i` requests with `Y_i` errors; `E_i = X_i + Y_i`, `s_i = n_i / (n_i + o_i)`. A scrape
//! where a version served nothing, or nobody failed, or that was lost, carries no
//! information and is skipped.
//!
//! - **Null.** Within a scrape, a request of either version fails with the same probability
//!   `p_i`, whatever `p_i` is: drift of the baseline, a dependency outage, packet loss or
//!   overload move both versions together. For Poisson error counts (rare errors),
//!   `X_i | E_i ~ Binomial(E_i, s_i)`: `p_i` cancels. For binomial counts `X_i | E_i` is
//!   hypergeometric, which is smaller than `Binomial(E_i, s_i)` in the convex order
//!   (Hoeffding 1963, "Probability inequalities for sums of bounded random variables",
//!   theorem 4), so the expectation of the convex likelihood ratios below is at most their
//!   binomial expectation, 1 (checked exactly in the unit tests).
//! - **Alternative.** The new version's error probability is `rho` times the old one's; then
//!   `X_i | E_i ~ Binomial(E_i, theta_i)` with `theta_i = rho s_i / (1 - s_i + rho s_i)`. The
//!   likelihood ratio of `rho` against 1 is
//!   `l_i(rho) = rho^X_i / (1 + s_i (rho - 1))^E_i`, and
//!   `E_null[l_i(rho)] = sum_x C(E,x) s^x (1-s)^(E-x) rho^x / (1-s+s rho)^E = 1`, so
//!   `L_t(rho) = prod_{i<=t} l_i(rho)` is a nonnegative martingale with `L_0 = 1`.
//! - **One-sided.** For `rho >= 1`, `l_i(rho)` is nondecreasing (and convex) in `X_i`; when
//!   the new version is in truth no worse (`rho* <= 1`), `X_i` is stochastically smaller
//!   than under `rho* = 1` (for binomial counts, Fisher's noncentral hypergeometric with an
//!   odds ratio below 1 against the central one: a family ordered by its likelihood ratio),
//!   so `E[l_i(rho)] <= 1`: `L_t(rho)` is a supermartingale for the whole composite null
//!   "no worse than the old version". A mixture over `rho >= min_effect >= 1`
//!   only keeps that; a two-sided mixture (some `rho < 1`) would be valid for `rho* = 1`
//!   alone and would also fire on a release that is better.
//! - **Mixture.** `M_t = sum_k w_k L_t(rho_k)` over the grid `rho_k = min_effect ×
//!   sqrt(2)^k`, `k = 0..=20` (up to 1024 × `min_effect`). The weights are a Beta(1, 1)
//!   mixture on the new version's share of the errors at an even split,
//!   `theta = rho / (1 + rho)`, truncated to `rho >= min_effect`, each grid cell's mass put
//!   at its lower end (the conservative side): `w_k = (theta(rho_(k+1)) - theta(rho_k)) /
//!   (1 - theta(min_effect))`, and the last point takes the tail `1 - theta(rho_20)`. The
//!   weights sum to 1, so `M_t` is itself a mixture of martingales: a nonnegative
//!   supermartingale with `M_0 = 1`. A discrete mixture is not an approximation of the
//!   guarantee, only of the power; it is needed because the canary's share changes from
//!   step to step, so the Beta mixture has no conjugate closed form here. The test of
//!   Lindon and Malek ("Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022:
//!   Poisson counting processes sharing a time-varying multiplicative effect, so that the
//!   next event's version is multinomial with the traffic allocation), which Netflix runs
//!   on its canaries (Lindon, Sanden, Shirikian, "Rapid Regression Detection in Software
//!   Deployments through Sequential Testing", KDD 2022), mixes a Dirichlet at a fixed
//!   allocation; this is its two-version case with the allocation observed per scrape and
//!   the mixture kept to regressions.
//!
//! # Latency: a sign test
//!
//! A scrape gives one p99 per version; `Z_i = 1` when the new version's is higher, 0 when
//! lower; ties and missing values are skipped. The assumption: when the two versions are
//! alike, the two scraped p99s of a scrape are independent, continuous and symmetric about
//! the same centre (on the log scale). That is exactly rollsim's signal model (the true
//! log-p99 plus a centred normal sampling error whose spread depends on each version's
//! requests, `sim::rng::sample::scraped_p99`), so `P(Z_i = 1) = 1/2` whatever the two request
//! counts. On recorded data it is an assumption: a p99 read from coarse histogram buckets
//! of a version that served few requests can be biased, not only noisy. The alternative
//! `q = P(Z_i = 1) >= 1/2` is mixed with the Beta(1, 1) density restricted to `[1/2, 1]`
//! (one-sided as above: each ratio `(2q)^Z (2(1-q))^(1-Z)` is nondecreasing in `Z`), whose
//! closed form after `N` informative scrapes with `S` ones is
//! `B_N = 2^(N+1) P(Binomial(N+1, 1/2) <= S) / ((N+1) C(N, S))`.
//! The sign test has no effect size: it asks whether the new version's p99 is higher more
//! often than not, which a consistent regression of any size eventually shows.
//!
//! # Both, and the confidence sequence
//!
//! With both metrics the judge watches their mean `(M_t + B_t) / 2`: a mean of
//! supermartingales on the same scrapes is one, so no Bonferroni split of `alpha` is needed
//! and the judge rolls back when the mean reaches `1 / alpha` (Ville's inequality; Howard,
//! Ramdas, McAuliffe, Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence
//! sequences", Annals of Statistics 2021, section 2). Inverting the error test at every
//! `rho_0` gives a confidence sequence for the error ratio; [`Sequential::no_regression`]
//! tells whether its upper end is below `min_effect`, by duality the e-process of the
//! null `rho >= min_effect` against the alternatives `min_effect / sqrt(2)^j`, `j = 1..=20`
//! (equal weights), having reached `1 / alpha`; that side is exact for Poisson counts (rare
//! errors) and, unlike the rollback side, not checked against the binomial case.
//!
//! # What it is and is not robust to
//!
//! Robust: anything both versions share within a scrape (drift, dependency outages, packet
//! loss, overload, traffic level and dispersion, since the judge conditions on the request
//! and error counts), lost scrapes (skipped), any number of looks, canary steps (each
//! scrape uses its own observed split). Not robust: a fault that hits one version more than
//! the other (the canary's pods on a bad node, cold caches of new pods, a canary in another
//! zone) is a regression to this judge; errors correlated within a scrape beyond binomial
//! (one client retrying a failing call a hundred times) overstate the evidence. With little
//! canary traffic and a low baseline error rate there are few errors to compare, and the
//! judge is slow: the price of a bounded false-rollback rate.
//!
//! # Early promotion
//!
//! With `promote_early = true` the judge answers [`Decision::Advance`] at every scrape once
//! [`Sequential::no_regression`] holds, and declares [`Policy::passes_steps_early`], so
//! the engine leaves the current step at once instead of at the end of its pause
//! (`model::release::Release::step_passed`); a step analysis or an approval still waits
//! for its own gate, and the bake at 100% is kept. The evidence is kept across steps, so
//! once it holds every later step passes at its first scrape. By the same duality as above
//! the probability that a release at least `min_effect` times worse is ever promoted early
//! is at most `alpha` (for Poisson counts); the judge keeps watching it for a rollback
//! until the promotion. Only errors decide it: the sign test has no effect size to exclude,
//! so `metrics = ["latency_p99"]` alone never promotes early.

use super::{Decision, Needs, Policy, Scrape};
use crate::check::{at, idx, Checker, Seg};
use crate::policy::PolicyRule;

/// `alpha` when the scenario gives none.
pub const DEFAULT_ALPHA: f64 = 0.05;
/// `min_effect` when the scenario gives none: 50% more errors than the old version.
pub const DEFAULT_MIN_EFFECT: f64 = 1.5;
/// Points of each ratio grid, spaced by [`RATIO_STEP`].
pub const GRID_POINTS: usize = 21;
/// The ratio between neighbouring grid points.
pub const RATIO_STEP: f64 = std::f64::consts::SQRT_2;

/// A signal the judge compares between the versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequentialMetric {
    /// Errors of each version in each scrape (the conditional binomial e-process).
    ErrorRate,
    /// Which version's scraped p99 is higher in each scrape (the sign test).
    LatencyP99,
}

/// The checked parameters of a `sequential` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct SequentialSpec {
    /// The bound on the probability of ever rolling back a good release, in (0, 1).
    pub alpha: f64,
    /// The smallest error ratio (new / old) the error test's alternatives start at, >= 1.
    pub min_effect: f64,
    /// The e-processes run, each at most once, at least one.
    pub metrics: Vec<SequentialMetric>,
    /// Leave a step before its pause once the confidence sequence excludes `min_effect`.
    pub promote_early: bool,
}

impl Default for SequentialSpec {
    fn default() -> Self {
        SequentialSpec {
            alpha: DEFAULT_ALPHA,
            min_effect: DEFAULT_MIN_EFFECT,
            metrics: vec![SequentialMetric::ErrorRate, SequentialMetric::LatencyP99],
            promote_early: false,
        }
    }
}

/// A `sequential` entry's own keys.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    pub alpha: Option<f64>,
    pub min_effect: Option<f64>,
    pub metrics: Option<Vec<SequentialMetric>>,
    pub promote_early: Option<bool>,
}

impl Raw {
    /// `alpha` in (0, 1), `min_effect` a ratio in [1, 1e6], `metrics` one or both of
    /// `error_rate` and `latency_p99`, each once; `promote_early` needs `error_rate` (the
    /// only metric with an effect size to exclude).
    pub fn check(&self, c: &mut Checker, path: &[Seg]) -> PolicyRule {
        let defaults = SequentialSpec::default();
        let mut alpha = self.alpha.unwrap_or(defaults.alpha);
        if !(alpha > 0.0 && alpha < 1.0) {
            c.fail(
                at(path, "alpha"),
                format!(
                    "alpha = {alpha} is not in (0, 1); expected the bound on the false-rollback probability, such as 0.05"
                ),
            );
            alpha = defaults.alpha;
        }
        let mut min_effect = self.min_effect.unwrap_or(defaults.min_effect);
        if !(min_effect.is_finite() && (1.0..=1e6).contains(&min_effect)) {
            c.fail(
                at(path, "min_effect"),
                format!(
                    "min_effect = {min_effect} is not a ratio in [1, 1000000]; expected the smallest error ratio worth catching, such as 1.5 (50% more errors)"
                ),
            );
            min_effect = defaults.min_effect;
        }
        let names = self.metrics.clone().unwrap_or(defaults.metrics);
        if names.is_empty() {
            c.fail(
                at(path, "metrics"),
                "metrics is empty; expected one or both of \"error_rate\", \"latency_p99\"",
            );
        }
        let mut metrics = Vec::new();
        for (i, m) in names.into_iter().enumerate() {
            if metrics.contains(&m) {
                c.fail(
                    idx(&at(path, "metrics"), i),
                    "metric listed twice; expected each of \"error_rate\", \"latency_p99\" at most once",
                );
            } else {
                metrics.push(m);
            }
        }
        let promote_early = self.promote_early.unwrap_or(defaults.promote_early);
        if promote_early && !metrics.contains(&SequentialMetric::ErrorRate) {
            c.fail(
                at(path, "promote_early"),
                "promote_early = true needs \"error_rate\" in metrics; expected metrics to include it (the latency sign test has no effect size to exclude)",
            );
        }
        PolicyRule::Sequential(SequentialSpec {
            alpha,
            min_effect,
            metrics,
            promote_early,
        })
    }
}

/// `ln(sum exp(x))`, `-inf` for an empty or all `-inf` input.
fn log_sum_exp(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    max + xs.map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// A discrete mixture of conditional-binomial likelihood ratios of error ratios `rho_k`
/// against one reference ratio `rho_0`: `sum_k w_k prod_i l_i(rho_k) / l_i(rho_0)`.
#[derive(Debug, Clone)]
pub struct RatioMixture {
    /// `(rho_k, ln w_k)`.
    points: Vec<(f64, f64)>,
    reference: f64,
    /// `ln prod_i l_i(rho_k) / l_i(rho_0)` per point.
    log_lr: Vec<f64>,
}

impl RatioMixture {
    /// A mixture of the ratios `points` (`(rho, weight)`, weights summing to at most 1)
    /// against `reference`.
    pub fn new(points: &[(f64, f64)], reference: f64) -> Self {
        RatioMixture {
            points: points.iter().map(|&(r, w)| (r, w.ln())).collect(),
            reference,
            log_lr: vec![0.0; points.len()],
        }
    }

    /// The regression test: ratios from `min_effect` up, weighted by the truncated Beta(1, 1)
    /// mixture of the module docs, against `rho_0 = 1`.
    pub fn regression(min_effect: f64) -> Self {
        let theta = |r: f64| r / (1.0 + r);
        let rhos: Vec<f64> = (0..GRID_POINTS)
            .map(|k| min_effect * RATIO_STEP.powi(k as i32))
            .collect();
        let mass = 1.0 - theta(min_effect);
        let points: Vec<(f64, f64)> = rhos
            .iter()
            .enumerate()
            .map(|(k, &r)| {
                let upper = rhos.get(k + 1).map_or(1.0, |&n| theta(n));
                (r, (upper - theta(r)) / mass)
            })
            .collect();
        RatioMixture::new(&points, 1.0)
    }

    /// The no-regression test: ratios below `min_effect`, equally weighted, against
    /// `rho_0 = min_effect`.
    pub fn no_regression(min_effect: f64) -> Self {
        let w = 1.0 / (GRID_POINTS - 1) as f64;
        let points: Vec<(f64, f64)> = (1..GRID_POINTS)
            .map(|j| (min_effect / RATIO_STEP.powi(j as i32), w))
            .collect();
        RatioMixture::new(&points, min_effect)
    }

    /// Adds a scrape: `x` of the `e` errors were the new version's, which served the share
    /// `s` of the requests.
    pub fn observe(&mut self, x: u64, e: u64, s: f64) {
        let (x, e) = (x as f64, e as f64);
        let log_l = |rho: f64| x * rho.ln() - e * (1.0 + s * (rho - 1.0)).ln();
        let base = log_l(self.reference);
        for (lr, &(rho, _)) in self.log_lr.iter_mut().zip(&self.points) {
            *lr += log_l(rho) - base;
        }
    }

    /// `ln M_t`.
    pub fn log_value(&self) -> f64 {
        log_sum_exp(self.points.iter().zip(&self.log_lr).map(|(p, l)| p.1 + l))
    }

    /// Back to `M_0 = 1`.
    pub fn reset(&mut self) {
        self.log_lr.iter_mut().for_each(|l| *l = 0.0);
    }
}

/// The sign test on which version's p99 is higher, mixed over `q` in `[1/2, 1]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignTest {
    /// Informative scrapes.
    pub n: u64,
    /// Of which the new version's p99 was the higher.
    pub higher: u64,
}

impl SignTest {
    /// Adds a scrape's two p99s (ties carry no information and are skipped).
    pub fn observe(&mut self, new_ms: f64, old_ms: f64) {
        if new_ms > old_ms {
            self.n += 1;
            self.higher += 1;
        } else if new_ms < old_ms {
            self.n += 1;
        }
    }

    /// `ln B_N = (N+1) ln 2 + ln P(Binomial(N+1, 1/2) <= S) - ln(N+1) - ln C(N, S)`.
    pub fn log_value(&self) -> f64 {
        use statrs::function::{beta::beta_reg, gamma::ln_gamma};
        if self.n == 0 {
            return 0.0; // B_0 = 1
        }
        let (n, s) = (self.n as f64, self.higher as f64);
        // P(Binomial(N+1, 1/2) <= S) = 1 - I_{1/2}(S+1, N-S+1) = I_{1/2}(N-S+1, S+1)
        let tail = beta_reg(n - s + 1.0, s + 1.0, 0.5);
        let ln_choose = ln_gamma(n + 1.0) - ln_gamma(s + 1.0) - ln_gamma(n - s + 1.0);
        (n + 1.0) * std::f64::consts::LN_2 + tail.ln() - (n + 1.0).ln() - ln_choose
    }
}

/// The anytime-valid canary judge of the module docs.
#[derive(Debug, Clone)]
pub struct Sequential {
    spec: SequentialSpec,
    errors: RatioMixture,
    no_regression: RatioMixture,
    latency: SignTest,
    fired: bool,
    /// The no-regression e-process has reached `1 / alpha` (once is enough: a confidence
    /// sequence may be intersected over time).
    cleared: bool,
}

impl Sequential {
    pub fn new(spec: SequentialSpec) -> Self {
        Sequential {
            errors: RatioMixture::regression(spec.min_effect),
            no_regression: RatioMixture::no_regression(spec.min_effect),
            latency: SignTest::default(),
            fired: false,
            cleared: false,
            spec,
        }
    }

    fn watches(&self, m: SequentialMetric) -> bool {
        self.spec.metrics.contains(&m)
    }

    /// `ln` of the judged e-value: the mean of the e-processes of the watched metrics.
    pub fn log_e_value(&self) -> f64 {
        let mut logs = Vec::with_capacity(2);
        if self.watches(SequentialMetric::ErrorRate) {
            logs.push(self.errors.log_value());
        }
        if self.watches(SequentialMetric::LatencyP99) {
            logs.push(self.latency.log_value());
        }
        log_sum_exp(logs.iter().copied()) - (logs.len().max(1) as f64).ln()
    }

    /// Whether the error ratio's confidence sequence lies below `min_effect` (module docs),
    /// now or at any scrape since the deploy.
    pub fn no_regression(&self) -> bool {
        self.cleared || self.no_regression.log_value() >= -self.spec.alpha.ln()
    }
}

impl Policy for Sequential {
    fn needs(&self) -> Needs {
        Needs {
            scrapes: true,
            latency: self.watches(SequentialMetric::LatencyP99),
            health_checks: false,
            gauges: false,
        }
    }

    fn reset(&mut self) {
        self.errors.reset();
        self.no_regression.reset();
        self.latency = SignTest::default();
        self.fired = false;
        self.cleared = false;
    }

    fn passes_steps_early(&self) -> bool {
        self.spec.promote_early
    }

    fn on_scrape(&mut self, scrape: &Scrape) -> Decision {
        if self.fired {
            return Decision::Continue;
        }
        let (Some(new), Some(old)) = (scrape.new, scrape.old) else {
            return Decision::Continue;
        };
        if new.requests == 0 || old.requests == 0 {
            return Decision::Continue;
        }
        let errors = new.errors + old.errors;
        if self.watches(SequentialMetric::ErrorRate) && errors > 0 {
            let s = new.requests as f64 / (new.requests + old.requests) as f64;
            self.errors.observe(new.errors, errors, s);
            self.no_regression.observe(new.errors, errors, s);
            self.cleared = self.no_regression();
        }
        if self.watches(SequentialMetric::LatencyP99) {
            if let (Some(n), Some(o)) = (new.latency_p99_ms, old.latency_p99_ms) {
                self.latency.observe(n, o);
            }
        }
        if self.log_e_value() >= -self.spec.alpha.ln() {
            self.fired = true;
            Decision::Rollback
        } else if self.spec.promote_early && self.no_regression() {
            Decision::Advance
        } else {
            Decision::Continue
        }
    }
}

#[cfg(test)]
mod tests;
