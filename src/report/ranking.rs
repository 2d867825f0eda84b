//! Which services of a system the report details: nobody reads 300 per-service bars, so a
//! system's report charts and tabulates, per policy, only the services where that policy
//! did the most harm. The rule is one place, here, and the report states it; the full
//! per-service numbers stay in `summary.csv` (rows named `POLICY@SERVICE`) and `runs.csv`.

use super::metrics::MetricInfo;
use super::tables::EstimateTable;
use super::Table;
use std::cmp::Ordering;

/// How many services per policy a system's report details. A system of at most this many
/// services keeps every service.
pub const TOP_SERVICES: usize = 10;

/// The harm a service is ranked by, most important first, each compared by its mean per
/// run, more first: the healthy releases the policy rolled back there (the harm the
/// automation itself did), the rollback storms the service took part in, then the
/// requests that failed there (a bad release let through, or a rollback's churn).
pub const HARM: [&str; 3] = [
    "false_positive_rollbacks",
    "rollback_storms",
    "failed_requests",
];

/// The metrics of the ranked table, after the service's name.
const COLUMNS: [&str; 5] = [
    "false_positive_rollbacks",
    "wrong_service_rollbacks",
    "rollback_storms",
    "failed_requests",
    "rollbacks",
];

/// The services a system's report details, per policy, in rank order.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// How many services the system has (distinct names of its `POLICY@SERVICE` rows).
    pub services: usize,
    /// Each system policy (a row not named `POLICY@SERVICE`) with its detailed services,
    /// most harm first.
    pub top: Vec<(String, Vec<String>)>,
    /// At most this many per policy.
    pub n: usize,
}

impl Ranking {
    /// The ranking of a summary's per-service rows, `n` per policy; `None` for a single
    /// service's summary (no `POLICY@SERVICE` rows).
    pub fn of(t: &EstimateTable, n: usize) -> Option<Ranking> {
        let mut names: Vec<&str> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for p in &t.policies {
            if let Some((_, s)) = p.split_once('@') {
                if seen.insert(s) {
                    names.push(s);
                }
            }
        }
        if names.is_empty() {
            return None;
        }
        let key = |p: &str, s: &str| -> Vec<f64> {
            HARM.iter()
                .map(|m| t.get(&format!("{p}@{s}"), m).map_or(0.0, |e| e.mean))
                .collect()
        };
        let top = t
            .policies
            .iter()
            .filter(|p| !p.contains('@'))
            .map(|p| {
                let mut ranked: Vec<(&str, Vec<f64>)> = names
                    .iter()
                    .filter(|s| t.policies.iter().any(|q| q == &format!("{p}@{s}")))
                    .map(|s| (*s, key(p, s)))
                    .collect();
                ranked.sort_by(|(a, ka), (b, kb)| {
                    ka.iter()
                        .zip(kb)
                        .map(|(x, y)| y.total_cmp(x))
                        .find(|o| *o != Ordering::Equal)
                        .unwrap_or(Ordering::Equal)
                        .then_with(|| a.cmp(b))
                });
                let kept = ranked
                    .into_iter()
                    .take(n)
                    .map(|(s, _)| s.to_string())
                    .collect();
                (p.clone(), kept)
            })
            .collect();
        Some(Ranking {
            services: names.len(),
            top,
            n,
        })
    }

    /// Whether every service is detailed (the system has at most `n`).
    pub fn complete(&self) -> bool {
        self.services <= self.n
    }

    /// The services detailed under `policy`, most harm first (empty for an unknown one).
    pub fn kept(&self, policy: &str) -> &[String] {
        self.top
            .iter()
            .find(|(p, _)| p == policy)
            .map_or(&[], |(_, kept)| kept.as_slice())
    }

    /// The sentence that says how many services there are, which are detailed and how
    /// they were ranked, and where every service's numbers are.
    pub fn rule(&self) -> String {
        let which = if self.complete() {
            format!(
                "A system of at most {} services keeps every service, ranked for each policy",
                self.n
            )
        } else {
            format!(
                "The charts and tables above are the whole system's; only the {} services \
                 with the most harm under each policy are detailed, here and in the \
                 service graphs below, ranked",
                self.n
            )
        };
        format!(
            "The system has {} services. {which} by healthy releases rolled back per run \
             (false-positive rollbacks: the harm the automation did), then rollback storms \
             the service took part in, then failed requests per run, ties by name. Every \
             service's numbers under every policy are in summary.csv (rows named \
             POLICY@SERVICE) and, run by run, in runs.csv.",
            self.services
        )
    }

    /// The ranked services as a table: policy, rank, service and the harm metrics' means.
    pub(crate) fn table(&self, t: &EstimateTable) -> Table {
        let mut header = vec!["policy".to_string(), "rank".into(), "service".into()];
        header.extend(COLUMNS.iter().map(|m| MetricInfo::of(m).axis_label()));
        let rows = self
            .top
            .iter()
            .flat_map(|(p, kept)| {
                kept.iter().enumerate().map(move |(i, s)| {
                    let mut r = vec![p.clone(), (i + 1).to_string(), s.clone()];
                    r.extend(COLUMNS.iter().map(|m| {
                        let mi = MetricInfo::of(m);
                        t.get(&format!("{p}@{s}"), m)
                            .map_or("-".into(), |e| mi.value(e.mean))
                    }));
                    r
                })
            })
            .collect();
        Table { header, rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::rows::SummaryRow;

    fn row(policy: &str, metric: &str, mean: f64) -> SummaryRow {
        SummaryRow {
            policy: policy.into(),
            metric: metric.into(),
            mean: Some(mean),
            ci95_low: None,
            ci95_high: None,
            n: 1,
        }
    }

    /// Two policies over services s0..s{k-1}: under `a` service i rolled back i healthy
    /// releases; under `b` none, and i failed requests, so failures rank there.
    fn table(k: usize) -> EstimateTable {
        let mut rows = vec![row("a", "failed_requests", 1.0), row("b", "rollbacks", 0.0)];
        for i in 0..k {
            let s = format!("s{i}");
            rows.push(row(&format!("a@{s}"), "false_positive_rollbacks", i as f64));
            rows.push(row(&format!("a@{s}"), "failed_requests", 5.0));
            rows.push(row(&format!("b@{s}"), "false_positive_rollbacks", 0.0));
            rows.push(row(&format!("b@{s}"), "failed_requests", (i % 4) as f64));
        }
        EstimateTable::from_summary(&rows, &["a".into(), "b".into()])
    }

    #[test]
    fn each_policy_keeps_its_own_worst_services_in_rank_order() {
        let r = Ranking::of(&table(12), 3).expect("a system");
        assert_eq!(r.services, 12);
        assert!(!r.complete());
        assert_eq!(
            r.top[0],
            ("a".into(), vec!["s11".into(), "s10".into(), "s9".into()])
        );
        // Ties on failures (s3, s7, s11 all have 3) broken by name.
        assert_eq!(
            r.top[1],
            ("b".into(), vec!["s11".into(), "s3".into(), "s7".into()])
        );
        assert_eq!(r.kept("b"), ["s11", "s3", "s7"]);
        assert!(r.kept("zzz").is_empty());
        let mut t = table(12);
        t.retain_policies(|p| p.starts_with('b'));
        let kept: Vec<&str> = t.policies.iter().map(|p| p.as_str()).collect();
        assert_eq!(kept[..3], ["b", "b@s0", "b@s1"]);
        assert_eq!(t.get("a@s3", "failed_requests"), None);
        assert_eq!(t.get("b@s3", "failed_requests").map(|e| e.mean), Some(3.0));
        let tab = r.table(&table(12));
        assert_eq!(tab.rows.len(), 6);
        assert_eq!(tab.rows[0][..4], ["a", "1", "s11", "11.0"]);
        assert!(r
            .rule()
            .starts_with("The system has 12 services. The charts and tables"));
    }

    #[test]
    fn a_small_system_keeps_every_service_and_a_single_service_has_no_ranking() {
        let r = Ranking::of(&table(3), TOP_SERVICES).expect("a system");
        assert!(r.complete());
        assert_eq!(r.kept("a"), ["s2", "s1", "s0"]);
        assert_eq!(r.kept("b").len(), 3);
        assert!(r.rule().contains("keeps every service"));
        let single = EstimateTable::from_summary(&[row("a", "rollbacks", 1.0)], &["a".into()]);
        assert_eq!(Ranking::of(&single, TOP_SERVICES), None);
    }
}
