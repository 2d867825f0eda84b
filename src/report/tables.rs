//! The rows of the input files arranged for lookup: estimates by (policy, metric), sweep
//! points by parameter value. Charts, findings and tables all read these, so they agree.
//!
//! Lookups are hashed, so building a report costs time linear in the rows: a sweep of
//! 10,000 points (750,000 rows) scanned every row for every table cell and chart cell.

use super::inputs::{ComparisonRow, SummaryRow, SweepRow};
use std::collections::HashMap;

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

/// The index of `name` in `names`, which it joins (at the end) when new; `index` maps each
/// name to its index, so a table is linear in its rows.
fn index_of(names: &mut Vec<String>, index: &mut HashMap<String, usize>, name: &str) -> usize {
    if let Some(&i) = index.get(name) {
        return i;
    }
    names.push(name.to_string());
    index.insert(name.to_string(), names.len() - 1);
    names.len() - 1
}

/// Estimates by policy and metric, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EstimateTable {
    pub policies: Vec<String>,
    pub metrics: Vec<String>,
    /// By (policy index, metric index).
    cells: HashMap<(usize, usize), Est>,
    policy_index: HashMap<String, usize>,
    metric_index: HashMap<String, usize>,
}

impl EstimateTable {
    /// The table of `summary.csv`; `order` puts policies in the manifest's order.
    pub fn from_summary(rows: &[SummaryRow], order: &[String]) -> Self {
        Self::from_rows(order, rows, |r| {
            (&r.policy, &r.metric, r.mean, [r.ci95_low, r.ci95_high], r.n)
        })
    }

    /// The table of `comparison.csv` (differences against the baseline).
    pub fn from_comparison(rows: &[ComparisonRow], order: &[String]) -> Self {
        Self::from_rows(order, rows, |r| {
            (
                &r.policy,
                &r.metric,
                r.mean_difference,
                [r.ci95_low, r.ci95_high],
                r.n,
            )
        })
    }

    /// The table of rows that `cell` reads as (policy, metric, mean, [low, high], n); a
    /// row with no mean (no run had a value) is left out.
    fn from_rows<R>(
        order: &[String],
        rows: &[R],
        cell: impl Fn(&R) -> (&String, &String, Option<f64>, [Option<f64>; 2], u64),
    ) -> Self {
        let mut t = EstimateTable::with_order(order);
        for r in rows {
            let (policy, metric, mean, [low, high], n) = cell(r);
            if let Some(mean) = mean {
                t.insert(policy, metric, Est { mean, low, high, n });
            }
        }
        t.retain_present();
        t
    }

    /// An empty table with the policies of `order` (the first of a repeated name counts).
    fn with_order(order: &[String]) -> Self {
        let mut t = EstimateTable::default();
        for p in order {
            index_of(&mut t.policies, &mut t.policy_index, p);
        }
        t
    }

    fn insert(&mut self, policy: &str, metric: &str, e: Est) {
        let p = index_of(&mut self.policies, &mut self.policy_index, policy);
        let m = index_of(&mut self.metrics, &mut self.metric_index, metric);
        self.cells.insert((p, m), e);
    }

    /// Drops policies named in the manifest that have no row (e.g. a baseline).
    fn retain_present(&mut self) {
        let mut present = vec![false; self.policies.len()];
        for &(p, _) in self.cells.keys() {
            present[p] = true;
        }
        self.keep(&present);
    }

    /// Keeps only the policies (rows named `policy` or `policy@service`) for which `keep`
    /// holds, in their order: a system's report charts the services it details, not
    /// every service of a fleet.
    pub fn retain_policies(&mut self, keep: impl Fn(&str) -> bool) {
        let flags: Vec<bool> = self.policies.iter().map(|p| keep(p)).collect();
        self.keep(&flags);
    }

    /// Keeps the policies whose index is flagged, cells and indices renumbered.
    fn keep(&mut self, flags: &[bool]) {
        let mut map = vec![usize::MAX; self.policies.len()];
        let mut kept = Vec::new();
        for (i, name) in self.policies.iter().enumerate() {
            if flags[i] {
                map[i] = kept.len();
                kept.push(name.clone());
            }
        }
        self.policies = kept;
        self.policy_index = self
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i))
            .collect();
        self.cells = self
            .cells
            .drain()
            .filter(|((p, _), _)| map[*p] != usize::MAX)
            .map(|((p, m), e)| ((map[p], m), e))
            .collect();
    }

    /// The estimate of `metric` for `policy`, if the file had a mean for it.
    pub fn get(&self, policy: &str, metric: &str) -> Option<Est> {
        let p = self.policy_index.get(policy)?;
        let m = self.metric_index.get(metric)?;
        self.cells.get(&(*p, *m)).copied()
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
    /// Indices into `rows` of each (policy, metric), in row order.
    by_series: HashMap<(String, String), Vec<usize>>,
    /// Index into `rows` of each (policy, metric, value, value2).
    by_cell: HashMap<CellKey, usize>,
    /// In a system's sweep, whose rows these are: `system` or a service's name (its
    /// charts are named and titled for it); `None` for a single service.
    pub scope: Option<String>,
}

/// A sweep cell's key: policy, metric and the parameter values' bits (-0 read as 0).
type CellKey = (String, String, u64, Option<u64>);

fn bits(v: f64) -> u64 {
    if v == 0.0 {
        0f64.to_bits()
    } else {
        v.to_bits()
    }
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
        let named: std::collections::HashSet<&str> =
            rows.iter().map(|r| r.policy.as_str()).collect();
        let mut policies: Vec<String> = Vec::new();
        let mut seen_policies = std::collections::HashSet::new();
        for p in order
            .iter()
            .map(String::as_str)
            .chain(rows.iter().map(|r| r.policy.as_str()))
        {
            if named.contains(p) && seen_policies.insert(p) {
                policies.push(p.to_string());
            }
        }
        let mut metrics: Vec<String> = Vec::new();
        let mut seen_metrics = std::collections::HashSet::new();
        for r in rows {
            if seen_metrics.insert(r.metric.as_str()) {
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
        let mut by_series: HashMap<(String, String), Vec<usize>> = HashMap::new();
        let mut by_cell = HashMap::new();
        for (i, c) in cells.iter().enumerate() {
            by_series
                .entry((c.policy.clone(), c.metric.clone()))
                .or_default()
                .push(i);
            // The first of duplicate cells wins, as a scan in row order found it.
            by_cell
                .entry((
                    c.policy.clone(),
                    c.metric.clone(),
                    bits(c.value),
                    c.value2.map(bits),
                ))
                .or_insert(i);
        }
        Some(Sweep {
            param: first.param.clone(),
            param2: first.param2.clone(),
            policies,
            metrics,
            rows: cells,
            by_series,
            by_cell,
            scope: None,
        })
    }

    /// A chart's id for this sweep: `id` itself, or for a service of a system
    /// `id-SERVICE`, so each service's chart has its own file.
    pub fn chart_id(&self, id: &str) -> String {
        match self.scope.as_deref() {
            Some(s) if s != "system" => format!("{id}-{s}"),
            _ => id.to_string(),
        }
    }

    /// Whose outcomes a chart title names: "" for a single service, else " of the
    /// system" or " of SERVICE".
    pub fn of_whom(&self) -> String {
        match self.scope.as_deref() {
            None => String::new(),
            Some("system") => " of the system".into(),
            Some(s) => format!(" of {s}"),
        }
    }

    /// The rows of one policy and metric, in increasing value.
    fn series(&self, policy: &str, metric: &str) -> impl Iterator<Item = &SweepCell> {
        self.by_series
            .get(&(policy.to_string(), metric.to_string()))
            .into_iter()
            .flatten()
            .map(|&i| &self.rows[i])
    }

    /// The (value, estimate) curve of one policy and metric, in increasing value.
    pub fn curve(&self, policy: &str, metric: &str) -> Vec<(f64, Est)> {
        self.series(policy, metric)
            .filter_map(|c| c.est.map(|e| (c.value, e)))
            .collect()
    }

    /// The estimate of one policy and metric at (value, value2), `value2` `None` for a
    /// sweep of one parameter.
    pub fn cell(&self, policy: &str, metric: &str, value: f64, value2: Option<f64>) -> Option<Est> {
        let key = (
            policy.to_string(),
            metric.to_string(),
            bits(value),
            value2.map(bits),
        );
        self.by_cell.get(&key).and_then(|&i| self.rows[i].est)
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
        self.cell(policy, metric, value, Some(value2))
    }

    /// Whether one policy's `metric` changes across the sweep (policies the swept parameter
    /// does not touch draw a flat line, useful as a reference but not worth a heat map).
    pub fn varies(&self, policy: &str, metric: &str) -> bool {
        let vals: Vec<f64> = self
            .series(policy, metric)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(point: u64, x: f64, y: Option<f64>, policy: &str, metric: &str, mean: f64) -> SweepRow {
        SweepRow {
            point,
            param: "policies.gate.error_rate_above".into(),
            value: x,
            param2: y.map(|_| "policies.gate.for_s".into()),
            value2: y,
            policy: policy.into(),
            service: None,
            metric: metric.into(),
            mean: Some(mean),
            ci95_low: None,
            ci95_high: None,
            n: 10,
        }
    }

    /// The hashed lookups answer exactly what a scan of the rows in order answers, for
    /// every cell of a 2-D sweep given out of order, with a duplicate cell and -0.
    #[test]
    fn indexed_sweep_lookups_equal_a_scan() {
        let mut rows = Vec::new();
        for (point, (i, j)) in [(2, 1), (0, 0), (1, 2), (2, 2), (0, 1), (1, 0)]
            .into_iter()
            .enumerate()
        {
            for (k, p) in ["gate", "none"].into_iter().enumerate() {
                for (l, m) in ["downtime_s", "failed_requests"].into_iter().enumerate() {
                    let x = if i == 0 { -0.0 } else { i as f64 / 100.0 };
                    let mean = (i * 7 + j * 3 + k + l) as f64;
                    rows.push(row(point as u64, x, Some(j as f64 * 30.0), p, m, mean));
                }
            }
        }
        rows.push(row(9, 0.02, Some(60.0), "gate", "downtime_s", 999.0));
        let s = Sweep::new(&rows, &["none".to_string()]).unwrap();
        assert_eq!(s.policies, ["none", "gate"]);
        assert_eq!(s.metrics, ["downtime_s", "failed_requests"]);
        let scan = |p: &str, m: &str, x: f64, y: Option<f64>| {
            s.rows
                .iter()
                .find(|c| c.value == x && c.value2 == y && c.policy == p && c.metric == m)
                .and_then(|c| c.est)
        };
        let (xs, ys) = s.axes();
        assert_eq!(xs, [0.0, 0.01, 0.02]);
        for p in ["gate", "none", "other"] {
            for m in ["downtime_s", "failed_requests", "other"] {
                for &x in xs.iter().chain(&[0.5]) {
                    for &y in ys.iter().chain(&[1.0]) {
                        assert_eq!(s.at(p, m, x, y), scan(p, m, x, Some(y)), "{p} {m} {x} {y}");
                    }
                    assert_eq!(s.cell(p, m, x, None), None);
                }
                let curve: Vec<(f64, Est)> = s
                    .rows
                    .iter()
                    .filter(|c| c.policy == p && c.metric == m)
                    .filter_map(|c| c.est.map(|e| (c.value, e)))
                    .collect();
                assert_eq!(s.curve(p, m), curve);
            }
        }
        assert_eq!(
            s.at("gate", "downtime_s", 0.02, 60.0).map(|e| e.mean),
            Some(20.0),
            "the first of a duplicated cell"
        );
        assert_eq!(
            s.at("gate", "downtime_s", -0.0, 0.0).map(|e| e.mean),
            Some(0.0)
        );
        assert!(s.varies("gate", "downtime_s"));
    }

    #[test]
    fn estimate_tables_keep_the_last_row_of_a_cell_and_drop_absent_policies() {
        let r = |p: &str, m: &str, mean: f64| SummaryRow {
            policy: p.into(),
            metric: m.into(),
            mean: Some(mean),
            ci95_low: None,
            ci95_high: None,
            n: 1,
        };
        let order = ["baseline".to_string(), "b".to_string(), "a".to_string()];
        let t = EstimateTable::from_summary(
            &[
                r("a", "x", 1.0),
                r("b", "x", 2.0),
                r("a", "x", 3.0),
                r("c", "y", 4.0),
            ],
            &order,
        );
        assert_eq!(t.policies, ["b", "a", "c"]);
        assert_eq!(t.metrics, ["x", "y"]);
        assert_eq!(t.get("a", "x").map(|e| e.mean), Some(3.0));
        assert_eq!(t.get("c", "y").map(|e| e.mean), Some(4.0));
        assert_eq!(t.get("c", "x"), None);
        assert_eq!(t.get("baseline", "x"), None);
        assert!(t.varies("y"));
    }
}
