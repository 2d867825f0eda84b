//! The rows of the input files arranged for lookup: estimates by (policy, metric), sweep
//! points by parameter value. Charts, findings and tables all read these, so they agree.

use super::inputs::{ComparisonRow, SummaryRow, SweepRow};

/// A mean with its 95% interval over `n` values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Est {
    pub mean: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub n: u64,
}

impl Est {
    /// The interval, or the mean alone when the file gave none.
    pub fn bounds(&self) -> (f64, f64) {
        (
            self.low.unwrap_or(self.mean).min(self.mean),
            self.high.unwrap_or(self.mean).max(self.mean),
        )
    }

    /// Whether the intervals of two estimates overlap: then the data cannot tell them apart
    /// at 95%, and a finding must not call one better.
    pub fn overlaps(&self, other: &Est) -> bool {
        let (a0, a1) = self.bounds();
        let (b0, b1) = other.bounds();
        a0 <= b1 && b0 <= a1
    }
}

/// Estimates by policy and metric, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EstimateTable {
    pub policies: Vec<String>,
    pub metrics: Vec<String>,
    cells: Vec<(usize, usize, Est)>,
}

impl EstimateTable {
    /// The table of `summary.csv`; `order` puts policies in the manifest's order.
    pub fn from_summary(rows: &[SummaryRow], order: &[String]) -> Self {
        let mut t = EstimateTable {
            policies: order.to_vec(),
            ..Default::default()
        };
        for r in rows {
            if let Some(mean) = r.mean {
                t.insert(
                    &r.policy,
                    &r.metric,
                    Est {
                        mean,
                        low: r.ci95_low,
                        high: r.ci95_high,
                        n: r.n,
                    },
                );
            }
        }
        t.retain_present();
        t
    }

    /// The table of `comparison.csv` (differences against the baseline).
    pub fn from_comparison(rows: &[ComparisonRow], order: &[String]) -> Self {
        let mut t = EstimateTable {
            policies: order.to_vec(),
            ..Default::default()
        };
        for r in rows {
            if let Some(mean) = r.mean_difference {
                t.insert(
                    &r.policy,
                    &r.metric,
                    Est {
                        mean,
                        low: r.ci95_low,
                        high: r.ci95_high,
                        n: r.n,
                    },
                );
            }
        }
        t.retain_present();
        t
    }

    fn insert(&mut self, policy: &str, metric: &str, e: Est) {
        let p = match self.policies.iter().position(|x| x == policy) {
            Some(i) => i,
            None => {
                self.policies.push(policy.to_string());
                self.policies.len() - 1
            }
        };
        let m = match self.metrics.iter().position(|x| x == metric) {
            Some(i) => i,
            None => {
                self.metrics.push(metric.to_string());
                self.metrics.len() - 1
            }
        };
        self.cells.retain(|(a, b, _)| !(*a == p && *b == m));
        self.cells.push((p, m, e));
    }

    /// Drops policies named in the manifest that have no row (e.g. a baseline).
    fn retain_present(&mut self) {
        let present: Vec<bool> = (0..self.policies.len())
            .map(|p| self.cells.iter().any(|c| c.0 == p))
            .collect();
        let mut map = vec![usize::MAX; self.policies.len()];
        let mut kept = Vec::new();
        for (i, name) in self.policies.iter().enumerate() {
            if present[i] {
                map[i] = kept.len();
                kept.push(name.clone());
            }
        }
        self.policies = kept;
        for c in &mut self.cells {
            c.0 = map[c.0];
        }
    }

    /// The estimate of `metric` for `policy`, if the file had a mean for it.
    pub fn get(&self, policy: &str, metric: &str) -> Option<Est> {
        let p = self.policies.iter().position(|x| x == policy)?;
        let m = self.metrics.iter().position(|x| x == metric)?;
        self.cells
            .iter()
            .find(|(a, b, _)| *a == p && *b == m)
            .map(|c| c.2)
    }

    /// Whether any policy has a non-zero mean for `metric`; a metric that is zero for every
    /// policy (no data migrations, no bad release) is left out of charts: a row of empty
    /// panels says nothing the summary table does not.
    pub fn varies(&self, metric: &str) -> bool {
        self.policies
            .iter()
            .any(|p| self.get(p, metric).is_some_and(|e| e.mean != 0.0))
    }
}

/// A sweep, arranged by point: the parameter values and every (policy, metric) estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub param: String,
    pub param2: Option<String>,
    pub policies: Vec<String>,
    pub metrics: Vec<String>,
    /// (point, value, value2, policy, metric, estimate), sorted by value then value2.
    pub rows: Vec<SweepCell>,
}

/// One (sweep point, policy, metric) estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepCell {
    pub point: u64,
    pub value: f64,
    pub value2: Option<f64>,
    pub policy: String,
    pub metric: String,
    pub est: Option<Est>,
}

impl Sweep {
    /// Arranges `rows` (already checked to be one sweep); `None` when there are no rows.
    pub fn new(rows: &[SweepRow], order: &[String]) -> Option<Sweep> {
        let first = rows.first()?;
        let mut policies: Vec<String> = order
            .iter()
            .filter(|p| rows.iter().any(|r| &r.policy == *p))
            .cloned()
            .collect();
        let mut metrics: Vec<String> = Vec::new();
        for r in rows {
            if !policies.contains(&r.policy) {
                policies.push(r.policy.clone());
            }
            if !metrics.contains(&r.metric) {
                metrics.push(r.metric.clone());
            }
        }
        let mut cells: Vec<SweepCell> = rows
            .iter()
            .map(|r| SweepCell {
                point: r.point,
                value: r.value,
                value2: r.value2,
                policy: r.policy.clone(),
                metric: r.metric.clone(),
                est: r.mean.map(|mean| Est {
                    mean,
                    low: r.ci95_low,
                    high: r.ci95_high,
                    n: r.n,
                }),
            })
            .collect();
        cells.sort_by(|a, b| {
            a.value
                .total_cmp(&b.value)
                .then(a.value2.unwrap_or(0.0).total_cmp(&b.value2.unwrap_or(0.0)))
        });
        Some(Sweep {
            param: first.param.clone(),
            param2: first.param2.clone(),
            policies,
            metrics,
            rows: cells,
        })
    }

    /// The (value, estimate) curve of one policy and metric, in increasing value.
    pub fn curve(&self, policy: &str, metric: &str) -> Vec<(f64, Est)> {
        self.rows
            .iter()
            .filter(|c| c.policy == policy && c.metric == metric)
            .filter_map(|c| c.est.map(|e| (c.value, e)))
            .collect()
    }

    /// The distinct values of the first and second parameter, sorted.
    pub fn axes(&self) -> (Vec<f64>, Vec<f64>) {
        let mut xs: Vec<f64> = self.rows.iter().map(|c| c.value).collect();
        let mut ys: Vec<f64> = self.rows.iter().filter_map(|c| c.value2).collect();
        for v in [&mut xs, &mut ys] {
            v.sort_by(f64::total_cmp);
            v.dedup();
        }
        (xs, ys)
    }

    /// The estimate at (value, value2) for one policy and metric.
    pub fn at(&self, policy: &str, metric: &str, value: f64, value2: f64) -> Option<Est> {
        self.rows
            .iter()
            .find(|c| {
                c.policy == policy
                    && c.metric == metric
                    && c.value == value
                    && c.value2 == Some(value2)
            })
            .and_then(|c| c.est)
    }

    /// Whether one policy's `metric` changes across the sweep (policies the swept parameter
    /// does not touch draw a flat line, useful as a reference but not worth a heat map).
    pub fn varies(&self, policy: &str, metric: &str) -> bool {
        let vals: Vec<f64> = self
            .rows
            .iter()
            .filter(|c| c.policy == policy && c.metric == metric)
            .filter_map(|c| c.est.map(|e| e.mean))
            .collect();
        vals.iter()
            .any(|v| (v - vals[0]).abs() > 1e-12 * vals[0].abs().max(1.0))
    }

    /// The short name of the swept parameter: `policies.gate.error_rate_above` reads as
    /// `error_rate_above`.
    pub fn short(param: &str) -> &str {
        param.rsplit('.').next().unwrap_or(param)
    }
}
