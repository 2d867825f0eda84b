//! Numbers in the units a person reads at a glance: durations as `12m30s`, rates as
//! `7.8%`, large counts as `19.6k`. One place, so the terminal table, the verdict and
//! the report write a value the same way.

/// How a metric's values are written for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds, written as a duration (`1m48s`).
    Seconds,
    /// Minutes, written as a duration.
    Minutes,
    /// A share of runs, or events per run read as a rate per release: `7.8%`.
    Percent,
    /// A count or amount per run: `19.6k`, `0.35`.
    Count,
}

impl Unit {
    /// The unit of a metric column of `summary.csv` (unknown names read as counts).
    pub fn of(metric: &str) -> Unit {
        match metric {
            m if m.ends_with("_s") => Unit::Seconds,
            "human_minutes" => Unit::Minutes,
            "release_bad"
            | "missed_bad_release"
            | "missed_incidents"
            | "rollbacks"
            | "false_positive_rollbacks"
            | "true_positive_rollbacks"
            | "misattributed_rollbacks" => Unit::Percent,
            _ => Unit::Count,
        }
    }

    /// A value in this unit; `-` when it is not a number.
    pub fn format(self, x: f64) -> String {
        if !x.is_finite() {
            return "-".into();
        }
        match self {
            Unit::Seconds => duration(x),
            Unit::Minutes => duration(x * 60.0),
            Unit::Percent => percent(x),
            Unit::Count => count(x),
        }
    }
}

/// A duration in at most two units: `850ms`, `4.5s`, `45s`, `12m30s`, `1h43m`, `2d3h`.
pub fn duration(s: f64) -> String {
    let s = s.max(0.0);
    if s == 0.0 {
        return "0s".into();
    }
    if s < 1.0 {
        return format!("{}ms", (s * 1000.0).round() as u64);
    }
    if s < 10.0 {
        let t = format!("{s:.1}");
        return format!("{}s", t.trim_end_matches(".0"));
    }
    let whole = s.round() as u64;
    if whole < 60 {
        return format!("{whole}s");
    }
    if whole < 3600 {
        return two_units(whole / 60, "m", whole % 60, "s");
    }
    let minutes = (s / 60.0).round() as u64;
    if minutes < 24 * 60 {
        return two_units(minutes / 60, "h", minutes % 60, "m");
    }
    let hours = (s / 3600.0).round() as u64;
    let (d, h) = (hours / 24, hours % 24);
    if h == 0 {
        format!("{d}d")
    } else {
        format!("{d}d{h}h")
    }
}

/// `5m`, or `5m07s` when the smaller unit is not zero (two digits, as on a clock).
fn two_units(big: u64, big_unit: &str, small: u64, small_unit: &str) -> String {
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit}{small:02}{small_unit}")
    }
}

/// A fraction as a percentage with one decimal (`7.8%`, `100%`), none from 1000% up
/// (`1877%`: a tenth of a percent says nothing there), no `-0.0%`.
pub fn percent(x: f64) -> String {
    let p = x * 100.0;
    let s = if p.abs() >= 999.95 || (p.abs() >= 99.95 && (p - p.round()).abs() < 0.05) {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
    };
    let s = if s == "-0.0" { "0.0".to_string() } else { s };
    format!("{s}%")
}

/// A count or amount per run with three significant digits: `0.35`, `12.4`, `845`,
/// `19.6k`, `2.30M`.
pub fn count(x: f64) -> String {
    let a = x.abs();
    let s = if a >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if a >= 1e5 {
        format!("{:.0}k", x / 1e3)
    } else if a >= 1e4 {
        format!("{:.1}k", x / 1e3)
    } else if a >= 1e3 {
        format!("{:.2}k", x / 1e3)
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{x:.2}")
    };
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// A signed difference in a metric's unit: `+1m05s`, `-2.1%`, `-340`.
pub fn signed(unit: Unit, x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let body = unit.format(x.abs());
    if unit.format(x.abs()) == unit.format(0.0) {
        return body;
    }
    if x < 0.0 {
        format!("-{body}")
    } else {
        format!("+{body}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration(750.0), "12m30s");
        assert_eq!(duration(108.4), "1m48s");
        assert_eq!(duration(120.0), "2m");
        assert_eq!(duration(6202.0), "1h43m");
        assert_eq!(duration(7200.0), "2h");
        assert_eq!(duration(4.46), "4.5s");
        assert_eq!(duration(4.0), "4s");
        assert_eq!(duration(0.25), "250ms");
        assert_eq!(duration(0.0), "0s");
        assert_eq!(duration(59.6), "1m");
        assert_eq!(duration(3.0 * 86400.0 + 5.0 * 3600.0), "3d5h");
    }

    #[test]
    fn rates_and_counts_are_short() {
        assert_eq!(percent(0.078), "7.8%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(-0.00001), "0.0%");
        assert_eq!(percent(4.4), "440%");
        assert_eq!(percent(18.773), "1877%");
        assert_eq!(percent(-10.0), "-1000%");
        assert_eq!(percent(9.9994), "999.9%");
        assert_eq!(count(19_555.0), "19.6k");
        assert_eq!(count(2_303_738.0), "2.30M");
        assert_eq!(count(8673.0), "8.67k");
        assert_eq!(count(0.35), "0.35");
        assert_eq!(count(0.0), "0");
        assert_eq!(signed(Unit::Seconds, -65.0), "-1m05s");
        assert_eq!(signed(Unit::Percent, 0.021), "+2.1%");
        assert_eq!(signed(Unit::Count, 0.0), "0");
        assert_eq!(Unit::of("downtime_s"), Unit::Seconds);
        assert_eq!(Unit::of("false_positive_rollbacks"), Unit::Percent);
        assert_eq!(Unit::of("failed_requests"), Unit::Count);
    }
}
