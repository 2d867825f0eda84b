//! Which services of a system the report details: nobody reads 300 per-service bars, so a
//! system's report charts and tabulates, per policy, only the services where that policy
//! did the most harm; the terminal table of `run` and `compare` prints the same services
//! ([`Ranking::terminal_rows`]). The rule is one place, here, and the report states it; the full
//! per-service numbers stay in `summary.csv` (rows named `POLICY@SERVICE`) and `runs.csv`.

use super::metrics::MetricInfo;
use super::rows::SummaryRow;
use super::tables::EstimateTable;
use super::Table;
use crate::experiment::Summary;
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
        // The rows by name once: a scan of every row per (policy, service) made the ranking
        // of a 10,000-service system take seconds.
        let rows: std::collections::HashSet<&str> = t.policies.iter().map(String::as_str).collect();
        let top = t
            .policies
            .iter()
            .filter(|p| !p.contains('@'))
            .map(|p| {
                let mut ranked: Vec<(&str, Vec<f64>)> = names
                    .iter()
                    .filter(|s| rows.contains(format!("{p}@{s}").as_str()))
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

    /// The rows the terminal table of a big system prints (`run`, `compare`, and so each
    /// example's `summary.txt`): what the report details, by the same ranking. For a
    /// summary of a system of more than [`TOP_SERVICES`] services, the row indices into
    /// `s.policies` of each system row of `order`, in that order, each followed by its
    /// ranked services, and the line that ends the table; `None` (every row printed) for
    /// a single service or a system of at most [`TOP_SERVICES`].
    pub fn terminal_rows(s: &Summary, order: &[usize]) -> Option<(Vec<usize>, String)> {
        let names: Vec<String> = order
            .iter()
            .map(|&i| s.policies[i].policy.clone())
            .collect();
        let t = EstimateTable::from_summary(&SummaryRow::of(s), &names);
        let ranking = Ranking::of(&t, TOP_SERVICES).filter(|r| !r.complete())?;
        let index: std::collections::HashMap<&str, usize> = s
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.policy.as_str(), i))
            .collect();
        let mut rows = Vec::new();
        for &i in order {
            let policy = &s.policies[i].policy;
            if policy.contains('@') {
                continue;
            }
            rows.push(i);
            rows.extend(
                ranking
                    .kept(policy)
                    .iter()
                    .filter_map(|svc| index.get(format!("{policy}@{svc}").as_str())),
            );
        }
        let service_row = |i: &usize| s.policies[*i].policy.contains('@');
        let services = (0..s.policies.len()).filter(service_row).count();
        let shown = rows.iter().filter(|i| service_row(i)).count();
        // Two lines of at most 100 columns: the rule (the report's, in short), then how
        // many rows it left out and where they all are.
        let end = format!(
            "service rows: each policy's {} most harmed, by false+ rollbacks, then storms, \
             then failed requests\n{} of {services} service rows left out; summary.csv has \
             them all",
            ranking.n,
            services - shown,
        );
        Some((rows, end))
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

    /// [`table`]'s summary as the experiment returns it: rows for `a`, `b` and each
    /// service of each.
    fn summary(k: usize) -> Summary {
        use crate::experiment::stats::Estimate;
        use crate::experiment::PolicySummary;
        let est = |mean: f64| Estimate {
            mean,
            ci95_low: mean,
            ci95_high: mean,
            n: 8,
        };
        let mut policies = Vec::new();
        for p in ["a", "b"] {
            policies.push(PolicySummary {
                policy: p.into(),
                metrics: vec![("failed_requests", est(1.0))],
            });
            for i in 0..k {
                let (fp, failed) = match p {
                    "a" => (i as f64, 5.0),
                    _ => (0.0, (i % 4) as f64),
                };
                policies.push(PolicySummary {
                    policy: format!("{p}@s{i}"),
                    metrics: vec![
                        ("false_positive_rollbacks", est(fp)),
                        ("failed_requests", est(failed)),
                    ],
                });
            }
        }
        Summary { policies }
    }

    #[test]
    fn a_big_systems_terminal_table_keeps_what_the_report_details() {
        let s = summary(12);
        // Rows: a (0), a@s0..a@s11 (1..=12), b (13), b@s0..b@s11 (14..=25).
        let order: Vec<usize> = (0..s.policies.len()).collect();
        let (rows, end) = Ranking::terminal_rows(&s, &order).expect("over 10 services");
        let names: Vec<&str> = rows
            .iter()
            .map(|&i| s.policies[i].policy.as_str())
            .collect();
        let report = Ranking::of(&table(12), TOP_SERVICES).expect("a system");
        let mut want = vec!["a".to_string()];
        want.extend(report.kept("a").iter().map(|svc| format!("a@{svc}")));
        want.push("b".into());
        want.extend(report.kept("b").iter().map(|svc| format!("b@{svc}")));
        assert_eq!(names, want);
        assert_eq!(names[..3], ["a", "a@s11", "a@s10"]);
        assert_eq!(names[11..15], ["b", "b@s11", "b@s3", "b@s7"]);
        assert_eq!(
            end,
            "service rows: each policy's 10 most harmed, by false+ rollbacks, then storms, then \
             failed requests\n4 of 24 service rows left out; summary.csv has them all"
        );
        assert!(end.lines().all(|l| l.chars().count() <= 100));
        // Ranked by a metric (compare), b first: each system row keeps its services.
        let (rows, _) = Ranking::terminal_rows(&s, &[13, 0]).expect("over 10 services");
        assert_eq!(s.policies[rows[0]].policy, "b");
        assert_eq!(s.policies[rows[11]].policy, "a");
        // Ten services or fewer, or a single service: every row, as the order gives them.
        assert_eq!(Ranking::terminal_rows(&summary(10), &order[..22]), None);
        let single = Summary {
            policies: summary(0).policies,
        };
        assert_eq!(Ranking::terminal_rows(&single, &[0, 1]), None);
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
