//! How a metric reads to a person: its label, its unit, which direction is better, and how
//! its numbers are written, so that charts, tables and findings all say the same thing.

use crate::outcome::{MetricKind, RunRecord};

/// Which direction of a metric is good, so findings can say "best" and "worst" only where
/// that makes sense (fewer failed requests is better; more total requests is neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Neither,
}

/// What a person needs to read a metric: a label and a unit, and whether it is a share of
/// runs (written as a percentage) or a mean per run.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInfo {
    /// The column name in the CSV files.
    pub name: String,
    /// A short label for titles and tables, e.g. "False-positive rollbacks".
    pub label: String,
    /// The unit shown after numbers and on axes, e.g. "s per run" or "% of runs".
    pub unit: String,
    /// Proportions are stored in [0, 1] and shown as percentages.
    pub percent: bool,
    pub better: Better,
}

impl MetricInfo {
    /// The description of `name`; unknown metrics (written by a newer rollsim) fall back to
    /// their column name, so a report never fails on a metric it does not know.
    pub fn of(name: &str) -> MetricInfo {
        use Better::*;
        let (label, unit, better) = match name {
            "release_bad" => ("Bad releases", "% of runs", Neither),
            "deploy_attempts" => ("Deploy attempts", "per run", Neither),
            "rollbacks" => ("Rollbacks", "per run", Neither),
            "false_positive_rollbacks" => ("False-positive rollbacks", "per run", Lower),
            "true_positive_rollbacks" => ("True-positive rollbacks", "per run", Neither),
            "misattributed_rollbacks" => ("Rollbacks blamed on a fault", "per run", Lower),
            "missed_bad_release" => ("Missed bad releases", "% of runs", Lower),
            "rollback_loops" => ("Rollback loops", "per run", Lower),
            "downtime_s" => ("Downtime", "s per run", Lower),
            "failed_requests" => ("Failed requests", "per run", Lower),
            "total_requests" => ("Total requests", "per run", Neither),
            "faults" => ("Faults", "per run", Neither),
            "time_to_detect_s" => ("Time to detect", "s", Lower),
            "time_to_recover_s" => ("Time to recover", "s", Lower),
            "roll_forwards" => ("Roll-forwards", "per run", Neither),
            "flags_off" => ("Flags turned off", "per run", Neither),
            "rollback_refused_unsafe" => ("Unsafe rollbacks refused", "per run", Neither),
            "new_format_records" => ("Records the old version cannot read", "per run", Neither),
            "unreadable_reads" => ("Unreadable reads", "per run", Lower),
            "corrupted_records" => ("Corrupted records", "per run", Lower),
            "lost_writes" => ("Lost writes", "per run", Lower),
            "data_harm_detected_s" => ("Time until data harm shows", "s", Lower),
            "pages" => ("Pages to a human", "per run", Lower),
            "human_minutes" => ("Human minutes", "per run", Lower),
            "rollbacks_suppressed" => ("Rollbacks suppressed by a guard", "per run", Neither),
            // A system of services (`RunRecord::SYSTEM_METRICS`).
            "wrong_service_rollbacks" => ("Wrong-service rollbacks", "per run", Lower),
            "infra_misattributed_rollbacks" => {
                ("Rollbacks blamed on infrastructure", "per run", Lower)
            }
            "rollback_storms" => ("Rollback storms", "per run", Lower),
            "largest_storm" => ("Largest storm", "services", Lower),
            "entry_failed_requests" => ("Users' failed requests", "per run", Lower),
            "time_to_bad_service_rollback_s" => ("Time to roll back the bad service", "s", Lower),
            "rollbacks_held" => ("Rollbacks held for a dependency", "per run", Neither),
            // `rollsim replay`: per deploy (or per day), over recorded incidents.
            "decisions" => ("Decisions", "per deploy", Neither),
            "false_positive_decisions" => ("False-positive decisions", "per deploy", Lower),
            "missed_incidents" => ("Missed incidents", "share of incidents", Lower),
            "detection_delay_s" => ("Detection delay", "s", Lower),
            other => (other, "", Neither),
        };
        let percent = RunRecord::METRICS
            .iter()
            .any(|(m, k)| *m == name && *k == MetricKind::Proportion);
        MetricInfo {
            name: name.to_string(),
            label: label.to_string(),
            unit: unit.to_string(),
            percent,
            better,
        }
    }

    /// The label with its unit, for an axis: "Downtime (s per run)".
    pub fn axis_label(&self) -> String {
        if self.unit.is_empty() {
            self.label.clone()
        } else {
            format!("{} ({})", self.label, self.unit)
        }
    }

    /// A value in display units (percent for proportions).
    pub fn scale(&self, x: f64) -> f64 {
        if self.percent {
            x * 100.0
        } else {
            x
        }
    }

    /// A value for text: "19.8%" for a proportion, "836" or "0.078" otherwise.
    pub fn value(&self, x: f64) -> String {
        if self.percent {
            let s = format!("{:.1}%", x * 100.0);
            if s == "-0.0%" {
                "0.0%".into()
            } else {
                s
            }
        } else {
            num(x)
        }
    }

    /// "836 [748, 924] per run": a mean with its 95% interval and unit.
    pub fn estimate(&self, mean: f64, low: Option<f64>, high: Option<f64>) -> String {
        let unit = if self.percent {
            " of runs".to_string()
        } else if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        match (low, high) {
            (Some(l), Some(h)) => format!(
                "{} [{}, {}]{unit}",
                self.value(mean),
                self.value(l),
                self.value(h)
            ),
            _ => format!("{}{unit}", self.value(mean)),
        }
    }
}

/// A number for text and tables with as many digits as a reader can use: no decimals from
/// 1000 on, one from 10, three below (the terminal table's rule), and no "-0".
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let s = if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    };
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// A short number for axis ticks: "12k", "1.5M", "0.05", with trailing zeros removed.
pub fn tick(x: f64) -> String {
    fn trim(s: String) -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
    let a = x.abs();
    let s = if a >= 1e6 {
        format!("{}M", trim(format!("{:.2}", x / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", x / 1e3)))
    } else if a >= 100.0 || a == 0.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        trim(format!("{x:.2}"))
    } else {
        trim(format!("{x:.4}"))
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportions_read_as_percent_of_runs() {
        let m = MetricInfo::of("missed_bad_release");
        assert!(m.percent);
        assert_eq!(
            m.estimate(0.198, Some(0.174), Some(0.224)),
            "19.8% [17.4%, 22.4%] of runs"
        );
        let d = MetricInfo::of("failed_requests");
        assert_eq!(
            d.estimate(836.2, Some(748.0), Some(924.4)),
            "836.2 [748.0, 924.4] per run"
        );
        assert_eq!(
            MetricInfo::of("something_new").axis_label(),
            "something_new"
        );
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(12_000.0), "12k");
        assert_eq!(tick(1_500_000.0), "1.5M");
        assert_eq!(tick(0.05), "0.05");
        assert_eq!(tick(250.0), "250");
        assert_eq!(tick(-0.0), "0");
        assert_eq!(num(-0.0001), "0.000");
    }
}
