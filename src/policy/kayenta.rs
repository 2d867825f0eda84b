//! `kayenta`: a Kayenta canary judge (Spinnaker automated canary analysis with the
//! NetflixACAJudge) run every `interval`, comparing the new version (canary, "experiment")
//! with the old version (baseline, "control").
//!
//! # Parameters (Kayenta name → rollsim key, default)
//!
//! | Kayenta | rollsim key | default |
//! |---|---|---|
//! | `analysisIntervalMins` | `interval` | `"10m"` (Kayenta: the whole lifetime, one judgement; 10m fits the default canary's 10-minute steps) |
//! | `lookbackMins` | `lookback` | unset: each judgement covers everything since the start |
//! | `scoreThresholds.pass` | `pass` | 75 |
//! | `scoreThresholds.marginal` | `marginal` | 50 |
//! | metrics of the canary config | `metrics` | `["error_rate", "latency_p99"]` |
//! | `analysisConfigurations.canary.critical` | `critical` | `[]` (metric names) |
//! | `analysisConfigurations.canary.direction` | `direction` | `"either"` |
//! | `analysisConfigurations.canary.nanStrategy` | `nan_strategy` | `"none"` (missing → 0) |
//! | `effectSize.allowedIncrease` / `allowedDecrease` | `allowed_increase` / `allowed_decrease` | 1.0 / 1.0 |
//! | `effectSize.criticalIncrease` / `criticalDecrease` | `critical_increase` / `critical_decrease` | 1.0 / 1.0 |
//! | tolerance, confidence | (fixed by the judge) | 0.25, 0.98 |
//!
//! Each metric's values are one per scrape: the error ratio (errors / requests) and the
//! scraped p99 of each version; a lost scrape, or one where the version served nothing, is
//! NaN (what a metrics store returns for a missing point).
//!
//! # Semantics, from Kayenta's source (spinnaker/kayenta)
//!
//! - `kayenta-judge/.../NetflixACAJudge.scala: classifyMetric`: defaults of the per-metric
//!   configuration (direction `either`, nanStrategy `none`, effect size `meanRatio` with
//!   thresholds 1.0), NaN handling (`none` replaces NaN by 0, `remove` drops it), and the
//!   classifier `MannWhitneyClassifier(tolerance = 0.25, confLevel = 0.98, ...)`.
//! - `judge/classifiers/metric/MannWhitneyClassifier.scala: classify`: an empty series is
//!   Nodata with `remove` (flagged critical for a critical metric), Pass otherwise; identical
//!   series, or a single distinct value over both, Pass; otherwise the Mann-Whitney test of
//!   experiment vs control: High when direction allows an increase, the confidence
//!   interval's lower end is above `tolerance × |estimate|` and the mean ratio (experiment /
//!   control, NaN when either mean is 0, which skips this test) is `>= allowedIncrease`; Low
//!   symmetrically; else Pass. A critical metric classified High with ratio `>=
//!   criticalIncrease` (or Low with ratio `<= criticalDecrease`) is a critical failure. When
//!   each series holds a single value, Gaussian noise of standard deviation `1e-5 × value`
//!   is added first (here from a fixed-seed stream, so judgements stay deterministic).
//! - `kayenta-mannwhitney/.../MannWhitney.scala`: the confidence interval and
//!   Hodges-Lehmann estimate by inverting the normal approximation of the Wilcoxon rank-sum
//!   statistic with tie and continuity corrections (R's `wilcox.test(conf.int = TRUE)`),
//!   roots found by the module's `BrentSolver.java` (tolerance 1e-4); an all-tied sample is
//!   an error (classification Error).
//! - `judge/scorers/WeightedSumScorer.scala`: score = Pass / (Pass + High + Low) × 100 over
//!   the metrics (one group; Nodata and Error are left out; a group with nothing left scores
//!   100), rounded to 2 decimals; 0 when a critical metric is not Pass or when >= 50% of the
//!   metrics are Nodata (`NODATA_THRESHOLD`).
//! - `kayenta-standalone-canary-analysis/.../MonitorCanaryTask.java`: a judgement with
//!   `score <= marginal` ends the canary analysis as failed at once: the policy rolls back.
//!
//! # Model choices
//!
//! - Kayenta compares a canary with a baseline while both serve traffic; in Spinnaker the
//!   canary stage ends before the full rollout. Here the judge stops for the deploy (no
//!   further judgement, no rollback) at the first scrape in which the old version serves no
//!   request while the new one does: the rollout has reached 100% and there is no baseline
//!   left. Before that, a scrape in which a version served nothing, or a lost scrape, is a
//!   NaN point of its series. With an all-at-once rollout the judge never judges.
//! - The baseline is the whole old version, not a baseline cluster of the canary's size,
//!   so the two series come from different request counts.
//! - The final judgement's check against `pass` (at the end of a standalone analysis'
//!   lifetime) is not modelled, since the release is promoted by the rollout plan;
//!   judgements are taken when a scrape reaches the policy, every `interval` after the
//!   first scrape of the deploy.

use super::{Decision, Needs, Policy, Scrape};
use crate::scenario::{Direction, KayentaMetric, KayentaSpec, NanStrategy};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `MannWhitneyClassifier` as `NetflixACAJudge` builds it.
pub const TOLERANCE: f64 = 0.25;
pub const CONFIDENCE: f64 = 0.98;
/// `WeightedSumScorer.NODATA_THRESHOLD`, percent.
pub const NODATA_THRESHOLD: f64 = 50.0;

/// A metric's classification (`MetricClassificationLabel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Pass,
    High,
    Low,
    Nodata,
    Error,
}

/// A classification with its critical flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub label: Label,
    pub critical: bool,
}

/// The comparison settings of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub direction: Direction,
    pub nan_strategy: NanStrategy,
    pub critical: bool,
    pub allowed_decrease: f64,
    pub allowed_increase: f64,
    pub critical_decrease: f64,
    pub critical_increase: f64,
}

/// The all-observations-tied case of `wilcoxonDiff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllTied;

/// Average ranks (1-based), ties sharing the mean of their ranks.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// `MannWhitney.wilcoxonDiff`: the standardised rank-sum statistic of `x - mu` against `y`,
/// minus `quantile`.
pub fn wilcoxon_diff(mu: f64, quantile: f64, x: &[f64], y: &[f64]) -> Result<f64, AllTied> {
    let nx = x.len() as f64;
    let ny = y.len() as f64;
    let all: Vec<f64> = x.iter().map(|v| v - mu).chain(y.iter().copied()).collect();
    let dr = ranks(&all);
    let dz = dr[..x.len()].iter().sum::<f64>() - nx * (nx + 1.0) / 2.0 - nx * ny / 2.0;
    let correction = if dz > 0.0 {
        0.5
    } else if dz < 0.0 {
        -0.5
    } else {
        0.0
    };
    // tie groups: equal ranks
    let mut sorted = dr.clone();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        ties += t.powi(3) - t;
        i = j + 1;
    }
    let n = nx + ny;
    let sigma = ((nx * ny / 12.0) * ((n + 1.0) - ties / (n * (n - 1.0)))).sqrt();
    if sigma == 0.0 || sigma.is_nan() {
        return Err(AllTied);
    }
    Ok((dz - correction) / sigma - quantile)
}

/// `Precision.equals(x, 0)`: within one ulp of zero.
fn is_zero(x: f64) -> bool {
    x.abs() <= f64::from_bits(1)
}

/// Kayenta's `BrentSolver.solve` (a zeroin port), line for line.
fn brent<F>(ax: f64, bx: f64, fa: f64, fb: f64, mut f: F) -> Result<f64, AllTied>
where
    F: FnMut(f64) -> Result<f64, AllTied>,
{
    const MAX_ITERATIONS: i32 = 1000;
    const TOLERANCE: f64 = 1e-4;
    const EPSILON: f64 = 2.220446049250313e-16;
    let (mut a, mut b, mut fa, mut fb) = (ax, bx, fa, fb);
    let mut c = a;
    let mut fc = fa;
    if is_zero(fa) {
        return Ok(a);
    }
    if is_zero(fb) {
        return Ok(b);
    }
    for _ in 0..=MAX_ITERATIONS {
        let prev_step = b - a;
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol_act = 2.0 * EPSILON * b.abs() + TOLERANCE / 2.0;
        let mut new_step = (c - b) / 2.0;
        if new_step.abs() <= tol_act || is_zero(fb) {
            return Ok(b);
        }
        if prev_step.abs() >= tol_act && fa.abs() > fb.abs() {
            let cb = c - b;
            let (mut p, mut q);
            if a == c {
                let t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else {
                q = fa / fc;
                let t1 = fb / fc;
                let t2 = fb / fa;
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0));
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if p < (0.75 * cb * q - (tol_act * q).abs() / 2.0) && p < (prev_step * q / 2.0).abs() {
                new_step = p / q;
            }
        }
        if new_step.abs() < tol_act {
            new_step = if new_step > 0.0 { tol_act } else { -tol_act };
        }
        a = b;
        fa = fb;
        b += new_step;
        fb = f(b)?;
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            c = a;
            fc = fa;
        }
    }
    Ok(b)
}

/// The two-sided Mann-Whitney confidence interval and estimate of the shift `x - y`
/// (`MannWhitney.mannWhitneyUTest`): `(low, high, estimate)`.
pub fn mann_whitney(x: &[f64], y: &[f64], confidence: f64) -> Result<(f64, f64, f64), AllTied> {
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mu_min = min(x) - max(y);
    let mu_max = max(x) - min(y);
    let z = statrs_quantile((1.0 - confidence) / 2.0);
    let f = |zq: f64| move |mu: f64| wilcoxon_diff(mu, zq, x, y);
    let root = |zq: f64| -> Result<f64, AllTied> {
        let lower = wilcoxon_diff(mu_min, zq, x, y)?;
        let upper = wilcoxon_diff(mu_max, zq, x, y)?;
        if lower <= 0.0 {
            Ok(mu_min)
        } else if upper >= 0.0 {
            Ok(mu_max)
        } else {
            brent(mu_min, mu_max, lower, upper, f(zq))
        }
    };
    let low = root(-z)?;
    let high = root(z)?;
    let f_lower = wilcoxon_diff(mu_min, 0.0, x, y)?;
    let f_upper = wilcoxon_diff(mu_max, 0.0, x, y)?;
    let estimate = brent(mu_min, mu_max, f_lower, f_upper, f(0.0))?;
    Ok((low, high, estimate))
}

/// The standard normal quantile.
fn statrs_quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal as StdNormal};
    match StdNormal::new(0.0, 1.0) {
        Ok(n) => n.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// `EffectSizes.meanRatio(control, experiment)`: NaN when either mean is 0.
fn mean_ratio(control: &[f64], experiment: &[f64]) -> f64 {
    let (c, e) = (mean(control), mean(experiment));
    if c == 0.0 || e == 0.0 {
        f64::NAN
    } else {
        e / c
    }
}

/// `MannWhitneyClassifier.addGaussianNoise`, from a fixed-seed stream.
fn add_noise(values: &[f64], rng: &mut ChaCha8Rng) -> Vec<f64> {
    let sd = values.first().copied().unwrap_or(0.0) * 1e-5;
    match Normal::new(0.0, sd) {
        Ok(n) => values.iter().map(|v| v + n.sample(rng)).collect(),
        Err(_) => values.to_vec(),
    }
}

fn distinct(v: &[f64]) -> usize {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.dedup();
    s.len()
}

/// `NetflixACAJudge.classifyMetric` + `MannWhitneyClassifier.classify` on raw series
/// (NaN = missing).
pub fn classify(control: &[f64], experiment: &[f64], s: &Settings) -> Classification {
    let prep = |v: &[f64]| -> Vec<f64> {
        match s.nan_strategy {
            NanStrategy::Remove => v.iter().copied().filter(|x| !x.is_nan()).collect(),
            NanStrategy::None => v
                .iter()
                .map(|x| if x.is_nan() { 0.0 } else { *x })
                .collect(),
        }
    };
    let control = prep(control);
    let experiment = prep(experiment);
    let pass = Classification {
        label: Label::Pass,
        critical: false,
    };
    if experiment.is_empty() || control.is_empty() {
        return match s.nan_strategy {
            NanStrategy::Remove => Classification {
                label: Label::Nodata,
                critical: s.critical,
            },
            NanStrategy::None => pass,
        };
    }
    let mut se = experiment.clone();
    let mut sc = control.clone();
    se.sort_by(f64::total_cmp);
    sc.sort_by(f64::total_cmp);
    if se == sc {
        return pass;
    }
    let mut union = experiment.clone();
    union.extend_from_slice(&control);
    if distinct(&union) == 1 {
        return pass;
    }
    let (experiment, control) = if distinct(&experiment) == 1 && distinct(&control) == 1 {
        let mut rng = ChaCha8Rng::seed_from_u64(0x006b_6179_656e_7461);
        (
            add_noise(&experiment, &mut rng),
            add_noise(&control, &mut rng),
        )
    } else {
        (experiment, control)
    };
    let Ok((low, high, estimate)) = mann_whitney(&experiment, &control, CONFIDENCE) else {
        return Classification {
            label: Label::Error,
            critical: false,
        };
    };
    let effect = mean_ratio(&control, &experiment);
    let bound = TOLERANCE * estimate.abs();
    let high_ok = matches!(s.direction, Direction::Increase | Direction::Either)
        && low > bound
        && (effect.is_nan() || effect >= s.allowed_increase);
    let low_ok = matches!(s.direction, Direction::Decrease | Direction::Either)
        && high < -bound
        && (effect.is_nan() || effect <= s.allowed_decrease);
    if high_ok {
        let critical = s.critical && (effect.is_nan() || effect >= s.critical_increase);
        Classification {
            label: Label::High,
            critical,
        }
    } else if low_ok {
        let critical = s.critical && (effect.is_nan() || effect <= s.critical_decrease);
        Classification {
            label: Label::Low,
            critical,
        }
    } else {
        pass
    }
}

/// `WeightedSumScorer.score` for one group holding every metric.
pub fn score(results: &[Classification]) -> f64 {
    if results.is_empty() {
        return 100.0;
    }
    if results.iter().any(|r| r.critical && r.label != Label::Pass) {
        return 0.0;
    }
    let count = |l: Label| results.iter().filter(|r| r.label == l).count();
    let nodata = count(Label::Nodata) as f64 / results.len() as f64 * 100.0;
    if nodata >= NODATA_THRESHOLD {
        return 0.0;
    }
    let pass = count(Label::Pass);
    let total = pass + count(Label::High) + count(Label::Low);
    let s = if total == 0 {
        100.0
    } else {
        pass as f64 / total as f64 * 100.0
    };
    (s * 100.0).round() / 100.0
}

#[derive(Debug, Clone, Copy)]
struct Row {
    at_ms: u64,
    /// (error ratio, p99) of the new and the old version; NaN when missing.
    new: (f64, f64),
    old: (f64, f64),
}

fn values(s: &Option<super::VersionSample>) -> (f64, f64) {
    match s {
        Some(v) => (
            if v.requests > 0 {
                v.errors as f64 / v.requests as f64
            } else {
                f64::NAN
            },
            v.latency_p99_ms.unwrap_or(f64::NAN),
        ),
        None => (f64::NAN, f64::NAN),
    }
}

/// A canary judge run every `interval`.
#[derive(Debug, Clone)]
pub struct Kayenta {
    spec: KayentaSpec,
    rows: Vec<Row>,
    next_ms: Option<u64>,
    last_score: Option<f64>,
    failed: bool,
    /// The canary stage has ended: no baseline left to compare with.
    over: bool,
}

impl Kayenta {
    pub fn new(spec: KayentaSpec) -> Self {
        Kayenta {
            spec,
            rows: Vec::new(),
            next_ms: None,
            last_score: None,
            failed: false,
            over: false,
        }
    }

    /// The score of the last judgement.
    pub fn last_score(&self) -> Option<f64> {
        self.last_score
    }

    fn judge(&self, now: u64) -> f64 {
        let from = self.spec.lookback_ms.map(|l| now.saturating_sub(l));
        let rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| match from {
                Some(f) => r.at_ms > f,
                None => true,
            })
            .collect();
        let results: Vec<Classification> = self
            .spec
            .metrics
            .iter()
            .map(|&(m, critical)| {
                let pick = |v: (f64, f64)| match m {
                    KayentaMetric::ErrorRate => v.0,
                    KayentaMetric::LatencyP99 => v.1,
                };
                let control: Vec<f64> = rows.iter().map(|r| pick(r.old)).collect();
                let experiment: Vec<f64> = rows.iter().map(|r| pick(r.new)).collect();
                let s = Settings {
                    direction: self.spec.direction,
                    nan_strategy: self.spec.nan_strategy,
                    critical,
                    allowed_decrease: self.spec.allowed_decrease,
                    allowed_increase: self.spec.allowed_increase,
                    critical_decrease: self.spec.critical_decrease,
                    critical_increase: self.spec.critical_increase,
                };
                classify(&control, &experiment, &s)
            })
            .collect();
        score(&results)
    }
}

impl Policy for Kayenta {
    fn needs(&self) -> Needs {
        Needs {
            scrapes: true,
            latency: self
                .spec
                .metrics
                .iter()
                .any(|(m, _)| *m == KayentaMetric::LatencyP99),
            health_checks: false,
        }
    }

    fn reset(&mut self) {
        self.rows.clear();
        self.next_ms = None;
        self.last_score = None;
        self.failed = false;
        self.over = false;
    }

    fn on_scrape(&mut self, scrape: &Scrape) -> Decision {
        if self.failed || self.over {
            return Decision::Continue;
        }
        // The canary stage is over once the baseline serves nothing while the canary serves.
        if let (Some(new), Some(old)) = (&scrape.new, &scrape.old) {
            if old.requests == 0 && new.requests > 0 {
                self.over = true;
                return Decision::Continue;
            }
        }
        let now = scrape.at_ms;
        self.rows.push(Row {
            at_ms: now,
            new: values(&scrape.new),
            old: values(&scrape.old),
        });
        if let Some(l) = self.spec.lookback_ms {
            // keep what the next judgement can still look at
            let keep_from = now.saturating_sub(l.max(self.spec.interval_ms));
            self.rows.retain(|r| r.at_ms > keep_from);
        }
        let interval = self.spec.interval_ms;
        let next = *self.next_ms.get_or_insert(now + interval);
        if now < next {
            return Decision::Continue;
        }
        let mut n = next;
        while n <= now {
            n += interval;
        }
        self.next_ms = Some(n);
        let s = self.judge(now);
        self.last_score = Some(s);
        if s <= self.spec.marginal {
            self.failed = true;
            Decision::Rollback
        } else {
            Decision::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::VersionSample;
    use super::*;

    fn settings(critical: bool) -> Settings {
        Settings {
            direction: Direction::Either,
            nan_strategy: NanStrategy::None,
            critical,
            allowed_decrease: 1.0,
            allowed_increase: 1.0,
            critical_decrease: 1.0,
            critical_increase: 1.0,
        }
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_quantile_matches_kayenta_test() {
        // MannWhitneySuite "Test zQuant"
        assert!(close(statrs_quantile(0.01), -2.326348, 1e-6));
    }

    #[test]
    fn mann_whitney_matches_kayenta_tests() {
        // MannWhitneySuite "Mann-Whitney Confidence Interval & Estimate" (confidence 0.95)
        let (lo, hi, est) =
            match mann_whitney(&[10.0, 20.0, 30.0, 40.0], &[1.0, 2.0, 3.0, 4.0], 0.95) {
                Ok(r) => r,
                Err(_) => panic!("all tied"),
            };
        assert!(close(lo, 6.0, 1e-6), "{lo}");
        assert!(close(hi, 39.0, 1e-6), "{hi}");
        assert!(close(est, 22.5, 1e-6), "{est}");

        // "Tie out with R Version": wilcox.test(experiment, control, conf.int = TRUE)
        let control = [
            1.5, 6.0, 5.0, 2.5, 2.5, 2.0, 2.0, 3.5, 3.0, 3.0, 3.0, 2.0, 3.0, 8.0, 4.0, 2.5, 3.0,
            2.5, 2.5, 2.0, 2.5, 2.0, 2.0, 2.5, 3.5, 3.0, 1.5, 5.0, 2.5, 5.5, 2.0, 2.5, 3.5, 2.0,
            2.5, 4.0, 2.0, 2.0, 2.0, 2.0, 5.5, 4.5, 4.0, 3.0, 3.0, 3.5, 2.5, 3.0, 2.5, 4.0, 6.0,
            2.0, 5.0, 6.0, 3.5, 3.0, 54.5, 3.0, 5.0, 6.0, 3.5, 4.5, 2.5, 2.0, 6.0, 5.0, 2.5, 3.5,
            2.0, 3.0, 2.5, 3.5, 3.5, 2.5, 3.0, 4.5, 3.0, 15.5, 5.0, 2.5, 3.0, 4.0, 3.5, 4.0, 4.0,
            2.0, 4.5, 2.5, 4.0, 3.0,
        ];
        let experiment = [
            2.5, 2.5, 2.0, 2.5, 3.5, 2.0, 3.5, 1.5, 3.0, 3.0, 2.5, 3.5, 2.0, 2.5, 2.0, 2.0, 5.0,
            3.0, 2.0, 1.5, 2.0, 4.0, 3.0, 2.5, 3.0, 2.0, 2.0, 2.0, 2.5, 3.5, 1.5, 1.5, 3.5, 2.0,
            2.5, 2.5, 3.0, 3.5, 2.5, 6.5, 2.5, 4.0, 2.5, 3.0, 2.5, 6.5, 2.5, 3.0, 1.5, 2.0, 2.5,
            3.0, 7.5, 1.5, 2.0, 4.0, 2.5, 2.0, 2.5, 3.5, 4.0, 2.5, 3.0, 2.5, 2.0, 3.5, 3.0, 16.5,
            3.0, 3.0, 7.0, 4.5, 5.0, 2.0, 3.5, 6.0, 1.5, 3.0, 2.5, 4.0, 3.0, 1.5, 5.0, 3.0, 2.5,
            5.5, 3.0, 1.5, 2.5, 6.0,
        ];
        let (lo, hi, est) = match mann_whitney(&experiment, &control, 0.95) {
            Ok(r) => r,
            Err(_) => panic!("all tied"),
        };
        assert!(close(lo, -0.500002521696696, 1e-6), "{lo}");
        assert!(close(hi, -3.486287505871302e-5, 1e-6), "{hi}");
        assert!(close(est, -0.4999393907180323, 1e-4), "{est}");
    }

    #[test]
    fn all_tied_is_an_error() {
        assert_eq!(
            wilcoxon_diff(0.0, 0.0, &[1.0, 1.0], &[1.0, 1.0]),
            Err(AllTied)
        );
    }

    #[test]
    fn classification_rules() {
        let s = settings(false);
        let base = [1.0, 1.1, 0.9, 1.0, 1.2, 0.8, 1.05, 0.95, 1.0, 1.1];
        let doubled: Vec<f64> = base.iter().map(|v| v * 2.0).collect();
        let halved: Vec<f64> = base.iter().map(|v| v * 0.5).collect();
        let c = |ctl: &[f64], exp: &[f64], s: &Settings| classify(ctl, exp, s).label;
        assert_eq!(c(&base, &doubled, &s), Label::High);
        assert_eq!(c(&base, &halved, &s), Label::Low);
        assert_eq!(c(&base, &base, &s), Label::Pass); // identical
        let shifted: Vec<f64> = base.iter().map(|v| v * 1.01).collect();
        assert_eq!(c(&base, &shifted, &s), Label::Pass); // within tolerance
                                                         // direction
        let inc = Settings {
            direction: Direction::Increase,
            ..s
        };
        assert_eq!(c(&base, &halved, &inc), Label::Pass);
        // effect size: a doubling below allowedIncrease 2.5 passes
        let lax = Settings {
            allowed_increase: 2.5,
            ..s
        };
        assert_eq!(c(&base, &doubled, &lax), Label::Pass);
        // NaN: replaced by 0 ("none"), or removed; all removed is Nodata
        let nan = [f64::NAN; 4];
        assert_eq!(c(&nan, &nan, &s), Label::Pass);
        let remove = Settings {
            nan_strategy: NanStrategy::Remove,
            critical: true,
            ..s
        };
        assert_eq!(
            classify(&nan, &base, &remove),
            Classification {
                label: Label::Nodata,
                critical: true
            }
        );
        // single values on each side: noise breaks the ties, a clear increase is High
        assert_eq!(c(&[0.01; 8], &[0.05; 8], &s), Label::High);
        // a single distinct value over both series passes
        assert_eq!(c(&[0.0; 8], &[0.0; 6], &s), Label::Pass);
        // critical: High with mean ratio >= criticalIncrease is a critical failure
        let crit = classify(&base, &doubled, &settings(true));
        assert_eq!(
            crit,
            Classification {
                label: Label::High,
                critical: true
            }
        );
    }

    #[test]
    fn scores() {
        let p = Classification {
            label: Label::Pass,
            critical: false,
        };
        let h = Classification {
            label: Label::High,
            critical: false,
        };
        let n = Classification {
            label: Label::Nodata,
            critical: false,
        };
        let e = Classification {
            label: Label::Error,
            critical: false,
        };
        assert_eq!(score(&[p, p]), 100.0);
        assert_eq!(score(&[p, h]), 50.0);
        assert_eq!(score(&[p, p, h]), 66.67);
        // Nodata and Error are left out of the ratio; >= 50% Nodata scores 0
        assert_eq!(score(&[p, p, h, n]), 66.67);
        assert_eq!(score(&[p, n]), 0.0);
        assert_eq!(score(&[p, e]), 100.0);
        // a critical metric that is not Pass scores 0
        let hc = Classification {
            label: Label::High,
            critical: true,
        };
        assert_eq!(score(&[p, p, p, hc]), 0.0);
    }

    fn spec(marginal: f64) -> KayentaSpec {
        KayentaSpec {
            interval_ms: 300_000,
            lookback_ms: None,
            pass: 75.0,
            marginal,
            metrics: vec![
                (KayentaMetric::ErrorRate, false),
                (KayentaMetric::LatencyP99, false),
            ],
            direction: Direction::Increase,
            nan_strategy: NanStrategy::None,
            allowed_decrease: 1.0,
            allowed_increase: 1.0,
            critical_decrease: 1.0,
            critical_increase: 1.0,
        }
    }

    fn feed(p: &mut Kayenta, new_errors: impl Fn(u64) -> u64, scrapes: u64) -> Option<u64> {
        for k in 1..=scrapes {
            let jitter = (k * 7919 % 13) as f64;
            let old = VersionSample {
                requests: 1000,
                errors: 5 + k % 3,
                latency_p99_ms: Some(200.0 + jitter),
            };
            let new = VersionSample {
                requests: 100,
                errors: new_errors(k),
                latency_p99_ms: Some(200.0 + (jitter * 3.0) % 13.0),
            };
            let d = p.on_scrape(&Scrape {
                at_ms: k * 15_000,
                new: Some(new),
                old: Some(old),
            });
            if d == Decision::Rollback {
                return Some(k * 15_000);
            }
        }
        None
    }

    #[test]
    fn a_judgement_at_or_below_marginal_rolls_back() {
        // canary errors 10x the baseline's: error_rate High, latency Pass: score 50
        let mut p = Kayenta::new(spec(50.0));
        let at = feed(&mut p, |k| 5 + k % 4, 60);
        assert_eq!(p.last_score(), Some(50.0));
        // first judgement one interval after the first scrape
        assert_eq!(at, Some(15_000 + 300_000));
        // marginal 40: 50 is above it, the canary goes on
        let mut p = Kayenta::new(spec(40.0));
        assert_eq!(feed(&mut p, |k| 5 + k % 4, 60), None);
        // a healthy canary scores 100
        let mut p = Kayenta::new(spec(50.0));
        assert_eq!(feed(&mut p, |k| k % 2, 60), None);
        assert_eq!(p.last_score(), Some(100.0));
    }

    #[test]
    fn judging_stops_when_the_baseline_serves_nothing() {
        let mut p = Kayenta::new(spec(50.0));
        let sample = |requests, errors| {
            Some(VersionSample {
                requests,
                errors,
                latency_p99_ms: Some(200.0),
            })
        };
        // the rollout is at 100%: the canary fails 50% of requests, the baseline serves none
        for k in 1..=60u64 {
            let d = p.on_scrape(&Scrape {
                at_ms: k * 15_000,
                new: sample(1000, 500),
                old: sample(0, 0),
            });
            assert_eq!(d, Decision::Continue);
        }
        assert_eq!(p.last_score(), None);
        // a new deploy judges again
        p.reset();
        assert_eq!(feed(&mut p, |k| 5 + k % 4, 60), Some(15_000 + 300_000));
    }
}
