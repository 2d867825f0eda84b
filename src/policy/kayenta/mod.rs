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

mod judge;
mod spec;

pub use judge::{
    classify, mann_whitney, score, wilcoxon_diff, AllTied, Classification, Label, Settings,
    CONFIDENCE, NODATA_THRESHOLD, TOLERANCE,
};
pub use spec::{Direction, KayentaMetric, KayentaSpec, NanStrategy, Raw};

use super::{Decision, Needs, Policy, Scrape};

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
            gauges: false,
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
mod tests;
