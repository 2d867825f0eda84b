//! The checker every section and every policy kind uses: it reads one raw value, applies
//! its default and range, and records a problem by key path instead of stopping, so one run
//! of `validate` reports every problem of a file.
//!
//! The scenario's sections and the policy kinds (`crate::policy::*`) check with it; the messages
//! have one shape everywhere ("`name` = v is out of range; expected ...").

use super::path::{at, Path, Problem, Seg};
use super::values::DurationDist;
use super::written::{Dur, DurDist, ShapedDist};

/// The standard normal quantile at 0.95 (a lognormal from its median and p95).
pub const Z95: f64 = 1.644_853_626_951_472_2;

/// Largest count or limit accepted (far beyond any simulated horizon).
pub const MAX_COUNT: i64 = 1_000_000;

/// A refused number as a message shows it: as written for everyday magnitudes, in
/// exponent form from 1e15 on (`1e300`, not three hundred zeros).
fn shown(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e15 {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// Collects problems while building the checked scenario.
#[derive(Debug, Default)]
pub struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    /// Records a problem found elsewhere (already named by its key path).
    pub fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// Every problem recorded, in the order found; empty when all was well.
    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// Whether no problem was recorded.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Records a problem at `path`.
    pub fn fail(&mut self, path: Path, message: impl Into<String>) {
        self.problems.push(Problem {
            path,
            message: message.into(),
        });
    }

    /// A probability: finite and in [0, 1].
    pub fn prob(&mut self, path: Path, name: &str, v: Option<f64>, default: f64) -> f64 {
        let v = v.unwrap_or(default);
        if !(0.0..=1.0).contains(&v) {
            self.fail(
                path,
                format!(
                    "{name} = {} is not a probability; expected a number in [0, 1]",
                    shown(v)
                ),
            );
            return default;
        }
        v
    }

    /// A finite number >= `min` (or > `min` when `strict`).
    pub fn number(
        &mut self,
        path: Path,
        name: &str,
        v: Option<f64>,
        default: f64,
        min: f64,
        strict: bool,
    ) -> f64 {
        let v = v.unwrap_or(default);
        let ok = v.is_finite() && if strict { v > min } else { v >= min };
        if !ok {
            let rel = if strict { ">" } else { ">=" };
            self.fail(
                path,
                format!(
                    "{name} = {} is out of range; expected a number {rel} {min}",
                    shown(v)
                ),
            );
            return default;
        }
        positive_zero(v)
    }

    /// A finite number in [min, max].
    pub fn within(
        &mut self,
        path: Path,
        name: &str,
        v: Option<f64>,
        default: f64,
        (min, max): (f64, f64),
    ) -> f64 {
        let v = v.unwrap_or(default);
        if !(v.is_finite() && v >= min && v <= max) {
            self.fail(
                path,
                format!(
                    "{name} = {} is out of range; expected a number from {min} to {max}",
                    shown(v)
                ),
            );
            return default;
        }
        positive_zero(v)
    }

    /// A signed integer in [min, max].
    pub fn signed(
        &mut self,
        path: Path,
        name: &str,
        v: Option<i64>,
        default: i64,
        (min, max): (i64, i64),
    ) -> i64 {
        let Some(v) = v else { return default };
        if v < min || v > max {
            self.fail(
                path,
                format!("{name} = {v} is out of range; expected an integer from {min} to {max}"),
            );
            return default;
        }
        v
    }

    /// An integer in [min, max].
    pub fn int(
        &mut self,
        path: Path,
        name: &str,
        v: Option<i64>,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        let Some(v) = v else { return default };
        if v < min as i64 || v > max as i64 {
            self.fail(
                path,
                format!("{name} = {v} is out of range; expected an integer from {min} to {max}"),
            );
            return default;
        }
        v as u64
    }

    /// A strictly positive duration.
    pub fn positive(&mut self, path: Path, name: &str, v: Option<Dur>, default: u64) -> u64 {
        let v = v.map(|d| d.0).unwrap_or(default);
        if v == 0 {
            self.fail(path, format!("{name} must be longer than zero"));
            return default.max(1);
        }
        v
    }

    /// A latency limit given as a duration, in milliseconds (unset stays unset).
    pub fn latency(&mut self, path: Path, name: &str, v: Option<Dur>) -> Option<f64> {
        v.map(|d| self.positive(path, name, Some(d), 1) as f64)
    }

    /// A duration distribution as written, with its shape checked.
    pub fn dist(&mut self, path: Path, name: &str, d: &DurDist) -> DurationDist {
        match d {
            DurDist::Fixed(Dur(ms)) => DurationDist::Fixed(*ms),
            DurDist::Shaped(ShapedDist::Exponential(Dur(mean))) => {
                if *mean == 0 {
                    self.fail(
                        path,
                        format!("{name}: the exponential mean must be longer than zero"),
                    );
                }
                DurationDist::Exponential {
                    mean_ms: (*mean).max(1) as f64,
                }
            }
            DurDist::Shaped(ShapedDist::Uniform([Dur(lo), Dur(hi)])) => {
                if lo > hi {
                    self.fail(
                        path,
                        format!("{name}: uniform bounds are reversed; expected [low, high]"),
                    );
                }
                DurationDist::Uniform {
                    low_ms: *lo.min(hi),
                    high_ms: *hi.max(lo),
                }
            }
            DurDist::Shaped(ShapedDist::Lognormal { median, p95 }) => {
                if median.0 == 0 || p95.0 <= median.0 {
                    self.fail(path, format!("{name}: a lognormal needs 0 < median < p95"));
                    return DurationDist::Fixed(median.0);
                }
                let mu = (median.0 as f64).ln();
                let sigma = ((p95.0 as f64).ln() - mu) / Z95;
                DurationDist::LogNormal { mu, sigma }
            }
        }
    }

    /// Rejects fields set on a table where its `kind` gives them no meaning.
    pub fn only(
        &mut self,
        base: &[Seg],
        kind: &str,
        set: &[(&'static str, bool)],
        allowed: &[&str],
    ) {
        for (name, is_set) in set {
            if *is_set && !allowed.contains(name) {
                self.fail(at(base, name), does_not_apply(name, kind, allowed));
            }
        }
    }
}

/// "`name` does not apply to kind `kind`; expected only a, b" (or "it takes no
/// parameters"): one message for a key of another kind, in policies, faults and rollouts.
pub fn does_not_apply(name: &str, kind: &str, allowed: &[&str]) -> String {
    let expected = if allowed.is_empty() {
        "it takes no parameters".to_string()
    } else {
        format!("expected only {}", allowed.join(", "))
    };
    format!("`{name}` does not apply to kind `{kind}`; {expected}")
}

/// The checks of one table, where the key path and the name in messages
/// (`service.request_rate`, or `window` in a policy) both come from the key, written once.
pub struct Table<'c> {
    c: &'c mut Checker,
    path: Path,
    prefix: &'static str,
}

impl Checker {
    /// The checks of the table at `path`, whose keys messages name `prefix.key` (or `key`
    /// when `prefix` is empty).
    pub fn table(&mut self, path: &[Seg], prefix: &'static str) -> Table<'_> {
        Table {
            c: self,
            path: path.to_vec(),
            prefix,
        }
    }
}

/// The most requests per second a service (or a `low_traffic` fault) may be given: a
/// day's requests then stay far inside the 64-bit counters (10^16 a second overflowed them
/// and the results were silently wrong).
pub const MAX_REQUEST_RATE: f64 = 1e9;

impl Table<'_> {
    /// `key` as messages name it, with the table's prefix (`train.latent[0].rate_per_week`).
    pub fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// Records a problem at `key`.
    pub fn fail(&mut self, key: &'static str, message: impl Into<String>) {
        self.c.fail(at(&self.path, key), message);
    }

    /// A rate of requests per second at `key`: above 0 and at most [`MAX_REQUEST_RATE`].
    pub fn request_rate(&mut self, key: &'static str, v: Option<f64>, default: f64) -> f64 {
        let r = self.number(key, v, default, 0.0, true);
        if r > MAX_REQUEST_RATE {
            let name = self.name(key);
            self.fail(
                key,
                format!(
                    "{name} = {r} requests per second is more than the request counters hold \
                     over a run; expected at most 1e9"
                ),
            );
            return default;
        }
        r
    }

    /// [`Checker::prob`] of `key`.
    pub fn prob(&mut self, key: &'static str, v: Option<f64>, default: f64) -> f64 {
        let name = self.name(key);
        self.c.prob(at(&self.path, key), &name, v, default)
    }

    /// [`Checker::number`] of `key`.
    pub fn number(
        &mut self,
        key: &'static str,
        v: Option<f64>,
        default: f64,
        min: f64,
        strict: bool,
    ) -> f64 {
        let name = self.name(key);
        self.c
            .number(at(&self.path, key), &name, v, default, min, strict)
    }

    /// [`Checker::within`] of `key`.
    pub fn within(
        &mut self,
        key: &'static str,
        v: Option<f64>,
        default: f64,
        range: (f64, f64),
    ) -> f64 {
        let name = self.name(key);
        self.c.within(at(&self.path, key), &name, v, default, range)
    }

    /// [`Checker::int`] of `key`.
    pub fn int(
        &mut self,
        key: &'static str,
        v: Option<i64>,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        let name = self.name(key);
        self.c.int(at(&self.path, key), &name, v, default, min, max)
    }

    /// [`Checker::positive`] of `key`.
    pub fn positive(&mut self, key: &'static str, v: Option<Dur>, default: u64) -> u64 {
        let name = self.name(key);
        self.c.positive(at(&self.path, key), &name, v, default)
    }

    /// [`Checker::dist`] of `key`, or `default` when it is not set.
    pub fn dist(
        &mut self,
        key: &'static str,
        v: &Option<DurDist>,
        default: DurationDist,
    ) -> DurationDist {
        match v {
            Some(d) => {
                let name = self.name(key);
                self.c.dist(at(&self.path, key), &name, d)
            }
            None => default,
        }
    }
}

/// `-0.0` read as `0.0`: it passes `>= 0` checks, yet a rate of `-0.0` makes an
/// exponential gap of minus infinity (a Poisson fault at `rate_per_hour = -0.0` looped
/// for ever). Every other value as it is.
fn positive_zero(v: f64) -> f64 {
    if v == 0.0 {
        0.0
    } else {
        v
    }
}
