//! The scenario's `[train]`: a run becomes a train of releases over days or weeks, with
//! causes of bad releases, latent infrastructure causes that outlive a release, reviews
//! after rollbacks, a freeze and a deploy queue.
//!
//! ```toml
//! [train]
//! horizon = "8w"
//! releases_per_day = 1
//! arrivals = "schedule"              # or "poisson"
//! working_hours = [9, 17]
//! code_defect_probability = 0.04
//! config_change_probability = 0.02
//! reviews = ["every_rollback", "misattributed_only", "none"]
//!
//! [train.review]
//! time = { uniform = ["1h", "4h"] }
//! find_probability = 0.8
//! hold_releases = true
//! notice_probability = 1.0          # misattributed_only: the team notices a fine release
//!
//! [train.freeze]
//! rollbacks = 3
//! window = "7d"
//! duration = "1d"
//!
//! [[train.latent]]
//! name = "flaky-network"
//! fault = "network"                  # a [[faults]] entry with inject_only = true
//! rate_per_week = 0.5                # or at = "10d"
//! shows_probability = 0.6
//! ```
//!
//! Each release of the train is simulated as the scenario's one release (its
//! `[simulation] duration` is the release's slot in the pipeline); `[release]` gives what a
//! bad release does, the train gives how often one is bad and why.

use super::raw::{Dur, DurDist};
use super::span::{Problem, Seg};
use super::DurationDist;
use crate::check::{at, idx, Checker, Path};
use serde::Deserialize;

/// `[train]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTrain {
    pub horizon: Option<Dur>,
    pub releases_per_day: Option<f64>,
    pub arrivals: Option<String>,
    pub working_hours: Option<Vec<i64>>,
    pub weekends: Option<bool>,
    pub code_defect_probability: Option<f64>,
    pub config_change_probability: Option<f64>,
    pub reviews: Option<Vec<String>>,
    /// In a system: the services that release, in turn (a name may repeat).
    pub services: Option<Vec<String>>,
    pub review: Option<RawReview>,
    pub freeze: Option<RawFreeze>,
    #[serde(default)]
    pub latent: Vec<RawLatent>,
}

/// `[train.review]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawReview {
    pub time: Option<DurDist>,
    pub find_probability: Option<f64>,
    pub hold_releases: Option<bool>,
    pub notice_probability: Option<f64>,
}

/// `[train.freeze]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFreeze {
    pub rollbacks: Option<i64>,
    pub window: Option<Dur>,
    pub duration: Option<Dur>,
}

/// One `[[train.latent]]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLatent {
    pub name: Option<String>,
    pub fault: Option<String>,
    pub rate_per_week: Option<f64>,
    pub at: Option<Dur>,
    pub shows_probability: Option<f64>,
}

/// How merges arrive within working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrivals {
    /// Evenly spaced: release k of a working day merges at `start + (k + 1/2) * len / n`.
    Schedule,
    /// A Poisson process at `releases_per_day / len` within working hours.
    Poisson,
}

/// When a review follows a release's rollback: the team's practice, compared side by side
/// (every policy runs under every review policy of the train).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReviewPolicy {
    /// Review every release that was rolled back.
    EveryRollback,
    /// Review only a rollback of a release that was in truth fine (the team notices).
    MisattributedOnly,
    /// Never review.
    None,
}

impl ReviewPolicy {
    /// The name written in the scenario and in every output.
    pub fn name(self) -> &'static str {
        match self {
            ReviewPolicy::EveryRollback => "every_rollback",
            ReviewPolicy::MisattributedOnly => "misattributed_only",
            ReviewPolicy::None => "none",
        }
    }

    /// The policy of a written name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            ReviewPolicy::EveryRollback,
            ReviewPolicy::MisattributedOnly,
            ReviewPolicy::None,
        ]
        .into_iter()
        .find(|r| r.name() == s)
    }
}

/// A review's cost and power.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// Engineer time one review takes.
    pub time: DurationDist,
    /// Probability that a review finds the real cause (a latent cause, then fixed).
    pub find_probability: f64,
    /// Whether releases wait in the queue until the review ends.
    pub hold_releases: bool,
    /// Under `misattributed_only`: probability that the team notices a rolled-back
    /// release was in truth fine (and so reviews it).
    pub notice_probability: f64,
}

/// A deploy freeze: after `rollbacks` rolled-back releases within `window_ms`, no deploy
/// starts for `duration_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freeze {
    pub rollbacks: u32,
    pub window_ms: u64,
    pub duration_ms: u64,
}

/// When a latent cause appears.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Appears {
    /// Once, at this train time.
    At(u64),
    /// As a Poisson process with this rate per millisecond (again after each fix).
    Rate(f64),
}

/// An infrastructure cause that outlives a release: present from its appearance until a
/// review finds and fixes it; while present, a release deployed shows it (its fault is
/// active through the release's slot) with `shows_probability`.
#[derive(Debug, Clone, PartialEq)]
pub struct Latent {
    pub name: String,
    /// Index of its fault in the scenario's `faults` (an `inject_only` fault).
    pub fault: usize,
    pub appears: Appears,
    pub shows_probability: f64,
}

/// The checked `[train]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Train {
    pub horizon_ms: u64,
    pub releases_per_day: f64,
    pub arrivals: Arrivals,
    /// Working hours `[start, end)` in hours of the day; merges and deploy starts only then.
    pub working_hours: (u32, u32),
    /// Whether Saturday and Sunday (days 5 and 6 of each week; day 0 is a Monday) work.
    pub weekends: bool,
    pub code_defect_probability: f64,
    pub config_change_probability: f64,
    pub reviews: Vec<ReviewPolicy>,
    pub review: Review,
    pub freeze: Option<Freeze>,
    pub latent: Vec<Latent>,
    /// In a system of services: the services that release, in turn (indices in
    /// [`super::System::services`]; release `k` of the train releases
    /// `services[k % services.len()]`, so a service named twice releases twice as
    /// often). Empty for a single service.
    pub services: Vec<usize>,
}

const DAY_MS: u64 = 86_400_000;
const WEEK_MS: u64 = 7 * DAY_MS;

impl Train {
    /// Whether train time `t` falls on a working day.
    pub fn working_day(&self, t: u64) -> bool {
        self.weekends || (t / DAY_MS) % 7 < 5
    }

    /// The working hours of the day holding `t`, as train times `[start, end)`.
    pub fn hours_of_day(&self, t: u64) -> (u64, u64) {
        let day = t / DAY_MS * DAY_MS;
        (
            day + u64::from(self.working_hours.0) * 3_600_000,
            day + u64::from(self.working_hours.1) * 3_600_000,
        )
    }

    /// The first instant at or after `t` inside working hours of a working day.
    pub fn next_working(&self, t: u64) -> u64 {
        let mut t = t;
        loop {
            let (start, end) = self.hours_of_day(t);
            if self.working_day(t) {
                if t < start {
                    return start;
                }
                if t < end {
                    return t;
                }
            }
            t = t / DAY_MS * DAY_MS + DAY_MS;
        }
    }

    /// Whole or partial weeks of the horizon.
    pub fn weeks(&self) -> u64 {
        self.horizon_ms.div_ceil(WEEK_MS)
    }

    /// The horizon in weeks (fractional).
    pub fn horizon_weeks(&self) -> f64 {
        self.horizon_ms as f64 / WEEK_MS as f64
    }
}

/// Checks `[train]`; `faults` are the scenario's faults as (name, inject_only).
pub(super) fn check(
    c: &mut Checker,
    raw: &RawTrain,
    faults: &[(String, bool)],
    release_bad_given: bool,
) -> Train {
    let root: Path = vec![Seg::Key("train")];
    let mut t = c.table(&root, "train");
    let horizon_ms = t.positive("horizon", raw.horizon, 8 * WEEK_MS);
    let releases_per_day = t.number("releases_per_day", raw.releases_per_day, 1.0, 0.0, true);
    if releases_per_day > 1000.0 {
        t.fail(
            "releases_per_day",
            format!(
                "train.releases_per_day = {releases_per_day} is too many; expected at most 1000"
            ),
        );
    }
    let releases = horizon_ms as f64 / DAY_MS as f64 * releases_per_day;
    if releases > 100_000.0 {
        t.fail(
            "releases_per_day",
            format!(
                "train.horizon x train.releases_per_day is {releases:.0} releases; expected at most 100000 in one train"
            ),
        );
    }
    let arrivals = match raw.arrivals.as_deref() {
        None | Some("schedule") => Arrivals::Schedule,
        Some("poisson") => Arrivals::Poisson,
        Some(other) => {
            t.fail(
                "arrivals",
                format!(
                    "train.arrivals = {other:?} is unknown; expected \"schedule\" or \"poisson\""
                ),
            );
            Arrivals::Schedule
        }
    };
    let working_hours = match raw.working_hours.as_deref() {
        None => (9, 17),
        Some(&[a, b]) if (0..24).contains(&a) && a < b && b <= 24 => (a as u32, b as u32),
        Some(_) => {
            t.fail(
                "working_hours",
                "train.working_hours must be [start, end] hours with 0 <= start < end <= 24",
            );
            (9, 17)
        }
    };
    let code_defect_probability =
        t.prob("code_defect_probability", raw.code_defect_probability, 0.05);
    let config_change_probability = t.prob(
        "config_change_probability",
        raw.config_change_probability,
        0.0,
    );
    if code_defect_probability + config_change_probability > 1.0 {
        t.fail(
            "config_change_probability",
            "train.code_defect_probability + train.config_change_probability is over 1",
        );
    }
    if release_bad_given {
        t.fail(
            "code_defect_probability",
            "a train draws each release's truth from train.code_defect_probability and \
             train.config_change_probability; remove release.bad_probability",
        );
    }
    let mut reviews = Vec::new();
    for r in raw.reviews.as_deref().unwrap_or(&[]) {
        match ReviewPolicy::parse(r) {
            Some(p) if reviews.contains(&p) => t.fail(
                "reviews",
                format!("train.reviews names {r:?} twice"),
            ),
            Some(p) => reviews.push(p),
            None => t.fail(
                "reviews",
                format!(
                    "train.reviews: unknown review policy {r:?}; expected \"every_rollback\", \"misattributed_only\" or \"none\""
                ),
            ),
        }
    }
    if reviews.is_empty() && raw.reviews.is_none() {
        reviews.push(ReviewPolicy::EveryRollback);
    } else if reviews.is_empty() {
        t.fail(
            "reviews",
            "train.reviews is empty; expected at least one review policy",
        );
    }

    let rr = raw.review.clone().unwrap_or_default();
    let mut t = c.table(&at(&root, "review"), "train.review");
    let review = Review {
        time: t.dist("time", &rr.time, DurationDist::Fixed(2 * 3_600_000)),
        find_probability: t.prob("find_probability", rr.find_probability, 0.8),
        hold_releases: rr.hold_releases.unwrap_or(true),
        notice_probability: t.prob("notice_probability", rr.notice_probability, 1.0),
    };

    let freeze = raw.freeze.as_ref().map(|f| {
        let mut t = c.table(&at(&root, "freeze"), "train.freeze");
        Freeze {
            rollbacks: t.int("rollbacks", f.rollbacks, 3, 1, 1000) as u32,
            window_ms: t.positive("window", f.window, WEEK_MS),
            duration_ms: t.positive("duration", f.duration, DAY_MS),
        }
    });

    let base = at(&root, "latent");
    if raw.latent.len() > 16 {
        c.fail(
            base.clone(),
            format!(
                "[[train.latent]] has {} entries; expected at most 16",
                raw.latent.len()
            ),
        );
    }
    let mut latent = Vec::new();
    for (i, l) in raw.latent.iter().enumerate() {
        let path = idx(&base, i);
        let mut t = c.table(&path, "train.latent");
        let fault = match l.fault.as_deref() {
            None => {
                t.fail("fault", "train.latent needs fault = \"NAME\" of an inject_only [[faults]] entry (what the cause does while it shows)");
                0
            }
            Some(name) => match faults.iter().position(|(n, _)| n == name) {
                None => {
                    let names: Vec<&str> = faults.iter().map(|f| f.0.as_str()).collect();
                    t.fail(
                        "fault",
                        format!("train.latent.fault = {name:?} names no [[faults]] entry; the faults are {names:?}"),
                    );
                    0
                }
                Some(k) if !faults[k].1 => {
                    t.fail(
                        "fault",
                        format!("train.latent.fault = {name:?} must be inject_only = true (the train decides when it is active)"),
                    );
                    k
                }
                Some(k) => k,
            },
        };
        let appears = match (l.rate_per_week, l.at) {
            (Some(r), None) => {
                let r = t.number("rate_per_week", Some(r), 1.0, 0.0, true);
                // Every appearance is drawn and kept, as the releases are.
                let appearances = r * horizon_ms as f64 / WEEK_MS as f64;
                if appearances > 100_000.0 {
                    let name = t.name("rate_per_week");
                    t.fail(
                        "rate_per_week",
                        format!(
                            "{name} x train.horizon is {appearances:.0} appearances; \
                             expected at most 100000 in one train"
                        ),
                    );
                }
                Appears::Rate(r / WEEK_MS as f64)
            }
            (None, Some(d)) => Appears::At(d.0),
            (None, None) => Appears::At(0),
            (Some(_), Some(_)) => {
                t.fail("at", "train.latent: give rate_per_week or at, not both");
                Appears::At(0)
            }
        };
        latent.push(Latent {
            name: l.name.clone().unwrap_or_else(|| format!("latent-{i}")),
            fault,
            appears,
            shows_probability: t.prob("shows_probability", l.shows_probability, 1.0),
        });
    }
    Train {
        horizon_ms,
        releases_per_day,
        arrivals,
        working_hours,
        weekends: raw.weekends.unwrap_or(false),
        code_defect_probability,
        config_change_probability,
        reviews,
        review,
        freeze,
        latent,
        services: Vec::new(),
    }
}

/// Refuses `train.services` in a file without `[[services]]`, at the key.
pub(super) fn refuse_services() -> Problem {
    Problem {
        path: vec![Seg::Key("train"), Seg::Key("services")],
        message: "train.services names the services of a system that release in turn; this file has no [[services]] (remove train.services)".into(),
    }
}

/// The services of a system that release on the train, in turn: `names` resolved among
/// the system's `services` (every service in file order when `names` is `None`).
pub(super) fn resolve_services(
    c: &mut Checker,
    names: Option<&[String]>,
    services: &[&str],
) -> Vec<usize> {
    let root: Path = vec![Seg::Key("train"), Seg::Key("services")];
    let Some(names) = names else {
        return (0..services.len()).collect();
    };
    if names.is_empty() {
        c.fail(
            root,
            "train.services is empty; expected the names of the services that release",
        );
        return Vec::new();
    }
    let mut out = Vec::with_capacity(names.len());
    for (j, name) in names.iter().enumerate() {
        match services.iter().position(|s| s == name) {
            Some(i) => out.push(i),
            None => c.fail(
                idx(&root, j),
                format!(
                    "train.services names unknown service {name:?}; expected one of the [[services]] names{}",
                    super::suggest::hint(name, services.iter().copied())
                ),
            ),
        }
    }
    out
}
