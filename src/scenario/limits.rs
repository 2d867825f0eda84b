//! Bounds on the work a valid scenario implies, checked after validation, so that a
//! scenario that validates also runs in bounded time and memory; and names that reports
//! can show. Each refusal names the key, the limit and how to raise it.
//!
//! The work limits can be raised in the scenario's `[limits]` table, for a user who
//! really means a year of 1 ms scrapes:
//!
//! ```toml
//! [limits]
//! ticks_per_run = 50_000_000      # default 5,000,000: duration / scrape_interval
//! fault_windows_per_run = 100_000 # default 10,000: expected fault occurrences per run
//! faults = 1_000                  # default 200: [[faults]] entries
//! service_ticks_per_run = 100_000_000 # default 20,000,000: services x scrape ticks
//! services = 20_000               # default 10,000: a system's services, copies included
//! call_ticks_per_run = 200_000_000 # default 100,000,000: a system's calls x scrape ticks
//! ```
//!
//! Names (the service's, every fault's and every policy's) are at most
//! [`MAX_NAME_CHARS`] characters with no control character (a NUL broke the charts, 65,536
//! characters the summary table); this is not a work limit and cannot be raised.

use super::span::{Problem, Seg};
use super::Scenario;
use serde::Deserialize;

/// The scenario's `[limits]` table: every key optional, defaults in [`Limits::default`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub ticks_per_run: Option<u64>,
    pub fault_windows_per_run: Option<u64>,
    pub faults: Option<u64>,
    pub service_ticks_per_run: Option<u64>,
    pub services: Option<u64>,
    pub call_ticks_per_run: Option<u64>,
}

/// The work one run may imply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Scrape ticks per run (`duration / scrape_interval`): each is a step of the engine.
    /// 5,000,000 is a year of 6 s scrapes; the shipped scenarios need at most 5,760.
    pub ticks_per_run: u64,
    /// Expected fault occurrences per run, over every fault (a Poisson fault's
    /// `rate_per_hour` times its window, one per `at` or `probability` fault); each is
    /// drawn and kept in memory before the run starts.
    pub fault_windows_per_run: u64,
    /// `[[faults]]` entries.
    pub faults: u64,
    /// In a system, scrape ticks of every service per run (services x ticks): each service
    /// steps through every tick of the run. 20,000,000 is a week of 660 services at 30 s
    /// scrapes; the shipped fleet needs 6,048,000.
    pub service_ticks_per_run: u64,
    /// Services of a system, each entry's `count` copies included: each is checked as its
    /// own scenario, simulated and reported (a service per row of the summaries). 10,000
    /// is 33 times the shipped fleet.
    pub services: u64,
    /// In a system, calls of every service per run (the calls, each entry's copies
    /// included, x scrape ticks): each call's effect on its caller is read every tick.
    /// 100,000,000 is 2.4 times the shipped fleet's.
    pub call_ticks_per_run: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ticks_per_run: 5_000_000,
            fault_windows_per_run: 10_000,
            faults: 200,
            service_ticks_per_run: 20_000_000,
            services: 10_000,
            call_ticks_per_run: 100_000_000,
        }
    }
}

impl Limits {
    /// The defaults, overridden by the scenario's `[limits]`.
    pub fn of(raw: Option<&RawLimits>) -> Self {
        let d = Limits::default();
        let Some(r) = raw else { return d };
        Limits {
            ticks_per_run: r.ticks_per_run.unwrap_or(d.ticks_per_run),
            fault_windows_per_run: r.fault_windows_per_run.unwrap_or(d.fault_windows_per_run),
            faults: r.faults.unwrap_or(d.faults),
            service_ticks_per_run: r.service_ticks_per_run.unwrap_or(d.service_ticks_per_run),
            services: r.services.unwrap_or(d.services),
            call_ticks_per_run: r.call_ticks_per_run.unwrap_or(d.call_ticks_per_run),
        }
    }
}

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// How deep tables and arrays may nest in a scenario file (a scenario needs four levels).
pub const MAX_TOML_DEPTH: usize = 64;

/// The message for a file nested past [`MAX_TOML_DEPTH`].
pub const TOO_DEEP: &str =
    "nested more than 64 levels deep (tables, arrays or dotted keys); a scenario needs a few";

fn path(segs: &[Seg]) -> Vec<Seg> {
    segs.to_vec()
}

/// Every problem of `s` against `limits`, each with the key path it is about.
pub fn check(s: &Scenario, limits: &Limits) -> Vec<Problem> {
    use Seg::{Index, Key};
    let mut problems = Vec::new();

    let ticks = s.duration_ms / s.scrape_interval_ms.max(1);
    if ticks > limits.ticks_per_run {
        problems.push(Problem {
            path: path(&[Key("simulation"), Key("scrape_interval")]),
            message: format!(
                "duration / scrape_interval is {ticks} scrape ticks per run, over the limit of {}; \
                 a longer scrape_interval or a shorter duration keeps runs fast; {}",
                limits.ticks_per_run,
                raise("ticks_per_run", ticks)
            ),
        });
    }

    if let Some(system) = &s.system {
        let n = system.services.len() as u64;
        let work = n.saturating_mul(ticks);
        if work > limits.service_ticks_per_run {
            problems.push(Problem {
                path: path(&[Key("services")]),
                message: format!(
                    "{n} services x {ticks} scrape ticks is {work} service-ticks per run, over \
                     the limit of {}; fewer services (or `count`), a longer scrape_interval or a \
                     shorter duration keeps runs fast; {}",
                    limits.service_ticks_per_run,
                    raise("service_ticks_per_run", work)
                ),
            });
        }
        let calls: u64 = system.services.iter().map(|s| s.calls.len() as u64).sum();
        let work = calls.saturating_mul(ticks);
        if work > limits.call_ticks_per_run {
            problems.push(Problem {
                path: path(&[Key("services")]),
                message: format!(
                    "{calls} calls x {ticks} scrape ticks is {work} call-ticks per run, over the \
                     limit of {}; fewer calls, a longer scrape_interval or a shorter duration \
                     keeps runs fast; {}",
                    limits.call_ticks_per_run,
                    raise("call_ticks_per_run", work)
                ),
            });
        }
    }

    if s.faults.len() as u64 > limits.faults {
        problems.push(Problem {
            path: path(&[Key("faults"), Index(limits.faults as usize)]),
            message: format!(
                "{} [[faults]], over the limit of {}; {}",
                s.faults.len(),
                limits.faults,
                raise("faults", s.faults.len() as u64)
            ),
        });
    }

    // Expected fault occurrences per run; the fault that takes the total over the limit
    // is named.
    let mut expected = 0.0f64;
    for (i, f) in s.faults.iter().enumerate() {
        let (n, key) = match f.schedule {
            super::Schedule::Injected => (0.0, "inject_only"),
            super::Schedule::At(_) => (1.0, "at"),
            super::Schedule::Once { .. } => (1.0, "probability"),
            super::Schedule::Poisson {
                rate_per_ms,
                window: (lo, hi),
            } => (rate_per_ms * hi.saturating_sub(lo) as f64, "rate_per_hour"),
        };
        expected += n;
        if expected > limits.fault_windows_per_run as f64 {
            let needed = expected.ceil().min(u64::MAX as f64) as u64;
            problems.push(Problem {
                path: path(&[Key("faults"), Index(i), Key(key)]),
                message: format!(
                    "with fault {:?}, faults occur {expected:.0} times per run on average \
                     (a Poisson fault: rate_per_hour times its window), over the limit of {} \
                     fault windows per run; {}",
                    f.name,
                    limits.fault_windows_per_run,
                    raise("fault_windows_per_run", needed)
                ),
            });
            break;
        }
    }

    let mut name = |p: Vec<Seg>, what: &str, n: &str, bad: fn(&str) -> Option<String>| {
        if let Some(why) = bad(n) {
            problems.push(Problem {
                path: p,
                message: format!("{what} {why}"),
            });
        }
    };
    name(
        path(&[Key("service"), Key("name")]),
        "the service's name",
        &s.service.name,
        bad_name,
    );
    for (i, f) in s.faults.iter().enumerate() {
        name(
            path(&[Key("faults"), Index(i), Key("name")]),
            "a fault's name",
            &f.name,
            bad_name,
        );
    }
    for (i, p) in s.policies.iter().enumerate() {
        name(
            path(&[Key("policies"), Index(i), Key("name")]),
            "a policy's name",
            &p.name,
            bad_policy_name,
        );
    }
    problems
}

/// `s` itself when it is within `limits`, else its problems.
pub fn within(s: Scenario, limits: &Limits) -> Result<Scenario, Vec<Problem>> {
    let problems = check(&s, limits);
    if problems.is_empty() {
        Ok(s)
    } else {
        Err(problems)
    }
}

/// How a refusal says to raise the limit `key` to `needed`.
pub fn raise(key: &str, needed: u64) -> String {
    format!(
        "if you mean it, raise it with [limits] {key} = {needed} (see README, Limits and safety)"
    )
}

/// Why `name` cannot name a policy: [`bad_name`], or an `@`, which the summaries' rows
/// `POLICY@SERVICE` and the objective's `METRIC@POLICY` read as a separator (a policy
/// `a@b` made a single service's report rank services); `None` when it can.
pub fn bad_policy_name(name: &str) -> Option<String> {
    bad_name(name).or_else(|| at_sign(name))
}

/// Why `name` cannot name a service of a system: [`bad_policy_name`]'s reasons, or
/// `system`, the name of the whole system's rows in `runs.csv` (a service `system` gave
/// two rows of that name per run); `None` when it can.
pub fn bad_service_name(name: &str) -> Option<String> {
    if name == "system" {
        return Some(
            "\"system\" names the whole system's rows in runs.csv and the summaries; \
             expected another name"
                .to_string(),
        );
    }
    bad_policy_name(name)
}

/// Why `zone` cannot name a service's zone; `None` when it can. An empty zone groups
/// nothing a fault could name, and shows as nothing in the service graph.
pub fn bad_zone(zone: &str) -> Option<String> {
    if zone.trim().is_empty() {
        return Some("is empty; expected a zone's name, or no `zone` key".to_string());
    }
    bad_name(zone)
}

fn at_sign(name: &str) -> Option<String> {
    name.contains('@').then(|| {
        format!(
            "{name:?} contains '@', which separates a policy from its service in the \
             summaries (POLICY@SERVICE); expected a name without '@'"
        )
    })
}

/// Why `name` cannot be shown in tables, charts and file names; `None` when it can.
pub fn bad_name(name: &str) -> Option<String> {
    let n = name.chars().count();
    if n > MAX_NAME_CHARS {
        return Some(format!(
            "is {n} characters long; expected at most {MAX_NAME_CHARS}"
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(format!(
            "contains the control character {c:?}; expected printable characters only"
        ));
    }
    None
}

/// The problem of a file nested too deep at byte `offset`.
pub fn too_deep_at(text: &str, offset: usize) -> super::Located {
    let (line, col) = super::span::line_col(text, offset);
    super::Located {
        line,
        col,
        message: TOO_DEEP.to_string(),
    }
}

/// The byte offset of the first table, array or dotted key nested deeper than
/// [`MAX_TOML_DEPTH`] in `text`, if any: found by scanning the text (no recursion), so a
/// file nested 20,000 levels deep is located instead of reported at 1:1.
pub fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize; // open brackets and braces
    let mut key_dots = 0usize; // dots in the current line's key or table header
    let mut in_key = true; // before the `=` of a key/value line, or inside a header
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                let triple = b[i..].starts_with(if c == b'"' { b"\"\"\"" } else { b"'''" });
                let close: &[u8] = if triple {
                    if c == b'"' {
                        b"\"\"\""
                    } else {
                        b"'''"
                    }
                } else if c == b'"' {
                    b"\""
                } else {
                    b"'"
                };
                i += close.len();
                while i < b.len() && !b[i..].starts_with(close) {
                    if c == b'"' && b[i] == b'\\' {
                        i += 1;
                    }
                    if !triple && b[i.min(b.len() - 1)] == b'\n' {
                        break;
                    }
                    i += 1;
                }
                i += close.len();
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_TOML_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'=' if in_key => in_key = false,
            b'.' if in_key => {
                key_dots += 1;
                if key_dots + 1 > MAX_TOML_DEPTH {
                    return Some(i);
                }
            }
            b'\n' if depth == 0 => {
                in_key = true;
                key_dots = 0;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_printable() {
        assert_eq!(bad_name("error-rate 2% (5m)"), None);
        assert_eq!(bad_name(&"é".repeat(MAX_NAME_CHARS)), None);
        assert!(bad_name(&"x".repeat(65_536))
            .is_some_and(|m| m == "is 65536 characters long; expected at most 100"));
        assert!(bad_name("a\0b").is_some_and(|m| m.contains("'\\0'")));
        assert!(bad_name("a\nb").is_some());
    }

    #[test]
    fn deep_nesting_is_found_where_it_goes_past_the_limit() {
        let ok = format!(
            "a = {}{}\n",
            "[".repeat(MAX_TOML_DEPTH),
            "]".repeat(MAX_TOML_DEPTH)
        );
        assert_eq!(too_deep(&ok), None);
        let deep = format!("a = {}{}\n", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(too_deep(&deep), Some(4 + MAX_TOML_DEPTH));
        let dotted = format!("x = 1\n{} = 1\n", vec!["a"; 20_000].join("."));
        // The 64th dot makes the 65th level: byte 6 + 2 * 64 - 1.
        assert_eq!(too_deep(&dotted), Some(6 + 2 * MAX_TOML_DEPTH - 1));
        let header = format!("[{}]\n", vec!["a"; 20_000].join("."));
        assert!(too_deep(&header).is_some());
        // Dots and brackets inside strings and comments do not count.
        let quoted = format!(
            "a = \"{}\" # {}\nb = 'x.y.z'\nc = \"\"\"\n{}\"\"\"\n",
            "[".repeat(100),
            ".".repeat(100),
            "{".repeat(100)
        );
        assert_eq!(too_deep(&quoted), None);
        // A shipped scenario is nowhere near.
        let text = std::fs::read_to_string("scenarios/controllers.toml").unwrap_or_default();
        assert_eq!(too_deep(&text), None);
    }
}
